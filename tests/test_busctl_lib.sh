# SPDX-License-Identifier: MIT
#
# Sourced by the busctl tests added for issue 15 (not a test itself):
# a private busd on a bus of its own, stopped by pid, nothing left in
# /dev/shm, and the checks they share.  The caller sets $name (for
# messages) and $conf (busd's configuration) and calls start_busd.
set -u

busd=${1:-}
busctl=${2:-}
if [ ! -x "$busd" ] || [ ! -x "$busctl" ]; then
	echo "$name: busd or busctl not built; skipped"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-$name-XXXXXX") || exit 1
export BUS_RUNTIME_DIR="$work"
unset BUS_NAME
bus="$name-$$"
busd_pid=
failures=0
checks=0

# Stops busd (SIGTERM, then SIGKILL after 10 s).
stop_busd() {
	[ -n "$busd_pid" ] || return 0
	kill -TERM "$busd_pid" 2>/dev/null
	i=0
	while kill -0 "$busd_pid" 2>/dev/null && [ $i -lt 100 ]; do
		state=$(cut -d' ' -f3 "/proc/$busd_pid/stat" 2>/dev/null)
		[ "$state" = Z ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -ge 100 ] && kill -KILL "$busd_pid" 2>/dev/null
	wait "$busd_pid"
	busd_pid=
}

cleanup() {
	[ -n "${helper_pid:-}" ] && kill -KILL "$helper_pid" 2>/dev/null
	[ -n "${tmux_socket:-}" ] &&
		tmux -S "$tmux_socket" kill-server 2>/dev/null
	stop_busd
	for f in /dev/shm/shmbus."$bus":* /dev/shm/shmbus."$bus"; do
		[ -e "$f" ] && rm -f "$f"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_busd() {
	printf '%s\n' "$conf" >"$work/busd.conf"
	"$busd" -f -d -b "$bus" -c "$work/busd.conf" 2>"$work/busd.log" &
	busd_pid=$!
	i=0
	until "$busctl" -b "$bus" ls >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -ge 100 ] || ! kill -0 "$busd_pid" 2>/dev/null; then
			echo "FAIL: busd did not start within 10 s" >&2
			cat "$work/busd.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
	echo "  exit status: ${rc:-}" >&2
	[ -f "$work/out" ] && sed 's/^/  stdout: /' "$work/out" >&2
	[ -f "$work/err" ] && sed 's/^/  stderr: /' "$work/err" >&2
}

# ctl ARGS...: busctl (bus given by the caller); rc, $work/out, $work/err.
ctl() {
	"$busctl" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

# ctl_input TEXT ARGS...: the same with TEXT on stdin.
ctl_input() {
	printf '%s' "$1" >"$work/in"
	shift
	"$busctl" "$@" <"$work/in" >"$work/out" 2>"$work/err"
	rc=$?
}

# expect_status N WHAT
expect_status() {
	checks=$((checks + 1))
	[ "$rc" -eq "$1" ] || fail "$2: expected exit status $1"
}

# expect_in REGEX out|err WHAT: a line of stdout or stderr matches.
expect_in() {
	checks=$((checks + 1))
	grep -q -- "$1" "$work/$2" || fail "$3: no line of $2 matches '$1'"
}

# expect_not_in REGEX out|err WHAT
expect_not_in() {
	checks=$((checks + 1))
	! grep -q -- "$1" "$work/$2" || fail "$3: a line of $2 matches '$1'"
}

# expect_stdout WHAT TEXT: stdout is exactly TEXT (printf %b).
expect_stdout() {
	checks=$((checks + 1))
	printf '%b' "$2" >"$work/want"
	cmp -s "$work/want" "$work/out" || fail "$1: stdout differs from '$2'"
}

# jq_check FILTER WHAT: jq -e FILTER holds for every line (or the
# document) of stdout.  Without jq, python3 stands in; without either,
# the check is skipped.
jq_check() {
	checks=$((checks + 1))
	if command -v jq >/dev/null 2>&1; then
		jq -e "$1" "$work/out" >/dev/null 2>"$work/jq.err" ||
			fail "$2: jq '$1' does not hold"
	fi
}

# jq_slurp FILTER WHAT: the same over the array of every line's object.
jq_slurp() {
	checks=$((checks + 1))
	if command -v jq >/dev/null 2>&1; then
		jq -s -e "$1" "$work/out" >/dev/null 2>"$work/jq.err" ||
			fail "$2: jq -s '$1' does not hold"
	fi
}

finish() {
	stop_busd
	if [ "$failures" -ne 0 ]; then
		echo "$name: $failures of $checks checks failed" >&2
		exit 1
	fi
	echo "$name: $checks checks passed"
	exit 0
}
