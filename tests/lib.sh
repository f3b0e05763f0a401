# SPDX-License-Identifier: MIT
#
# Sourced by every shell test that runs a private busd (not a test itself).
# The caller sets `name` (for messages) and passes BUSD and BUSCTL as $1
# and $2; before sourcing it may set
#   runtime_mode=0755   when a process of another user must reach the socket
#   needs_busctl=no     when the test runs busd alone
# It gets:
#   $work               a private directory, removed at exit
#   $BUS_RUNTIME_DIR    $work/run, where busd puts its socket
#   $bus                a bus name of its own; every segment of it (and of
#                       "$bus-*") is removed from /dev/shm at exit
#   start_busd, stop_busd, stop_pid, track_pid, stop_tracked,
#   wait_for_socket
#   ctl, ctl_input      busctl on $bus: $rc, $work/out, $work/err
#   busctl_run(_input)  the same without -b
#   fail, the expect_* checks, finish
# A test with more to clean defines on_exit(); it runs first at exit.
set -u

busd=${1:-}
busctl=${2:-}
if [ ! -x "$busd" ]; then
	echo "$name: busd not built; skipped"
	exit 77
fi
if [ "${needs_busctl:-yes}" != no ] && [ ! -x "$busctl" ]; then
	echo "$name: busctl not built; skipped"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-$name-XXXXXX") || exit 1
export BUS_RUNTIME_DIR="$work/run"
mkdir -m "${runtime_mode:-0700}" "$BUS_RUNTIME_DIR"
# Another user's busctl must be able to pass through $work too.
[ "${runtime_mode:-0700}" = 0700 ] || chmod 0755 "$work"
# Never reach a real system bus from a test.
export BUS_SYSTEM_RUNTIME_DIR="$work/no-system-bus"
unset BUS_NAME
bus="t-$name-$$"
busd_pid=
busd_log="$work/busd.log"
tracked_pids=
failures=0
checks=0
rc=0

# stop_pid PID: SIGTERM, SIGKILL after 10 s; reaps PID and returns its
# exit status (0 when PID is empty).
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		# A zombie answers kill -0 too; wait reaps it below.
		state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)
		[ "$state" = Z ] && break
		sleep 0.1
		i=$((i + 1))
	done
	if [ $i -ge 100 ]; then
		echo "$name: pid $1 ignored SIGTERM for 10 s: killed" >&2
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

# track_pid PID: a helper process this test started, stopped at exit
# or by stop_tracked.
track_pid() {
	tracked_pids="$tracked_pids $1"
}

stop_tracked() {
	for pid in $tracked_pids; do
		stop_pid "$pid"
	done
	tracked_pids=
}

stop_busd() {
	stop_pid "$busd_pid"
	status=$?
	busd_pid=
	return $status
}

# reboot_busd: busd killed with -9, then what a reboot takes with it: its
# segments in /dev/shm and its socket.  The data_dir stays.
reboot_busd() {
	kill -KILL "$busd_pid"
	wait "$busd_pid" 2>/dev/null
	busd_pid=
	rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]* \
		"$BUS_RUNTIME_DIR/$bus.sock"
}

# The segments of bus $1 (default $bus) in /dev/shm, one per line.
segments_of() {
	ls /dev/shm 2>/dev/null | grep -E "^shmbus\.${1:-$bus}(\$|[:%])" || true
}

cleanup() {
	command -v on_exit >/dev/null 2>&1 && on_exit
	stop_tracked
	stop_busd
	# A queue that still holds messages outlives busd's stop (it is kept
	# for the next busd): remove what this test's buses left.
	rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]* \
		/dev/shm/shmbus."$bus"-*
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_for_socket PATH: up to 5 s.
wait_for_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# start_busd_in DIR ARGS...: busd -f -b $bus ARGS in the background, its
# stderr in $busd_log; waits for its socket in DIR, exits on failure.
start_busd_in() {
	dir=$1
	shift
	"$busd" -f -b "$bus" "$@" 2>"$busd_log" &
	busd_pid=$!
	if ! wait_for_socket "$dir/$bus.sock"; then
		echo "FAIL: busd did not start: $(cat "$busd_log")" >&2
		exit 1
	fi
}

# start_busd ARGS...: the same in $BUS_RUNTIME_DIR.
start_busd() {
	start_busd_in "$BUS_RUNTIME_DIR" "$@"
}

# start_busd_with_conf ARGS...: busd -d with $conf as its config file.
start_busd_with_conf() {
	printf '%s\n' "$conf" >"$work/busd.conf"
	start_busd -d -c "$work/busd.conf" "$@"
}

# ctl_ok ARGS...: ctl, and a failed check when busctl fails.
ctl_ok() {
	checks=$((checks + 1))
	ctl "$@"
	[ "$rc" -eq 0 ] || fail "busctl $*: exit $rc"
}

# busctl_run ARGS...: busctl ARGS (the caller names the bus, or tests
# where -b may go); rc, $work/out, $work/err.
busctl_run() {
	"$busctl" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

# busctl_run_input TEXT ARGS...: the same with TEXT on stdin.
busctl_run_input() {
	printf '%s' "$1" >"$work/in"
	shift
	"$busctl" "$@" <"$work/in" >"$work/out" 2>"$work/err"
	rc=$?
}

# ctl ARGS... and ctl_input TEXT ARGS...: the same on $bus.
ctl() {
	busctl_run -b "$bus" "$@"
}

ctl_input() {
	text=$1
	shift
	busctl_run_input "$text" -b "$bus" "$@"
}

# fail WHAT: counts a failure and shows the last busctl's output.
fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
	echo "  exit status: $rc" >&2
	[ -f "$work/out" ] && sed 's/^/  stdout: /' "$work/out" >&2
	[ -f "$work/err" ] && sed 's/^/  stderr: /' "$work/err" >&2
	return 0
}

# expect MESSAGE COMMAND...: a check that COMMAND succeeds.
expect() {
	message=$1
	shift
	checks=$((checks + 1))
	"$@" || fail "$message"
}

# expect_status N WHAT
expect_status() {
	checks=$((checks + 1))
	[ "$rc" -eq "$1" ] || fail "$2: expected exit status $1"
}

# expect_ok WHAT: exit 0 and nothing on stderr.
expect_ok() {
	checks=$((checks + 1))
	if [ "$rc" -ne 0 ]; then
		fail "$1: expected exit 0"
	elif [ -s "$work/err" ]; then
		fail "$1: expected nothing on stderr"
	fi
}

# expect_in REGEX out|err WHAT: a line of stdout or stderr matches.
expect_in() {
	checks=$((checks + 1))
	grep -q -e "$1" "$work/$2" || fail "$3: no line of $2 matches '$1'"
}

# expect_not_in REGEX out|err WHAT
expect_not_in() {
	checks=$((checks + 1))
	! grep -q -e "$1" "$work/$2" || fail "$3: a line of $2 matches '$1'"
}

# expect_stdout WHAT TEXT: stdout is exactly TEXT (printf %b).
expect_stdout() {
	checks=$((checks + 1))
	printf '%b' "$2" >"$work/want"
	cmp -s "$work/want" "$work/out" || fail "$1: stdout differs from '$2'"
}

# expect_error WHAT [WORD [STATUS]]: exit STATUS (default 1, busctl's
# failure; 2 is a usage error), nothing on stdout, one line on stderr
# (naming WORD when given and not empty).
expect_error() {
	checks=$((checks + 1))
	lines=$(wc -l <"$work/err")
	if [ "$rc" -ne "${3:-1}" ]; then
		fail "$1: expected exit ${3:-1}"
	elif [ -s "$work/out" ]; then
		fail "$1: expected nothing on stdout"
	elif [ "$lines" -ne 1 ]; then
		fail "$1: expected one line on stderr, got $lines"
	elif [ -n "${2:-}" ] && ! grep -q -- "$2" "$work/err"; then
		fail "$1: the error line does not name '$2'"
	fi
}

# json_value KEY: the value under KEY in $work/out (a JSON object), or
# nothing.
json_value() {
	jq -r ".$1 // empty" "$work/out" 2>/dev/null
}

# expect_json WHAT KEY VALUE
expect_json() {
	checks=$((checks + 1))
	value=$(json_value "$2")
	[ "$value" = "$3" ] || fail "$1: \"$2\" is '$value', expected $3"
}

# expect_bad_config LINE WORDS: busd refuses a [bus] section holding
# LINE, naming the file's line 2 and WORDS.
expect_bad_config() {
	printf '[bus]\n%s\n' "$1" >"$work/bad.conf"
	"$busd" -f -b "$bus-bad" -c "$work/bad.conf" >"$work/out" \
		2>"$work/err"
	rc=$?
	checks=$((checks + 1))
	if [ "$rc" -eq 0 ]; then
		fail "busd started with '$1'"
	elif ! grep -q "bad.conf:2: .*$2" "$work/err"; then
		fail "'$1': expected 'bad.conf:2: ...$2' in: $(cat "$work/err")"
	fi
}

# wait_subscribers TOPIC N [BUS]: until stat says N subscribers on $bus
# (or BUS), 5 s at most.
wait_subscribers() {
	i=0
	while [ $i -lt 50 ]; do
		busctl_run -b "${3:-$bus}" stat "$1" --json
		[ "$(json_value subscribers)" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "stat $1: $2 subscribers expected within 5 s"
}

# jq_check FILTER WHAT: jq -e FILTER holds for every line (or the
# document) of stdout.
jq_check() {
	checks=$((checks + 1))
	jq -e "$1" "$work/out" >/dev/null 2>"$work/jq.err" ||
		fail "$2: jq '$1' does not hold"
}

# jq_slurp FILTER WHAT: the same over the array of every line's object.
jq_slurp() {
	checks=$((checks + 1))
	jq -s -e "$1" "$work/out" >/dev/null 2>"$work/jq.err" ||
		fail "$2: jq -s '$1' does not hold"
}

# finish: stops busd, prints the tally, exits 0 only without failures.
finish() {
	stop_busd
	if [ "$failures" -ne 0 ]; then
		echo "$name: $failures of $checks checks failed" >&2
		exit 1
	fi
	echo "$name: $checks checks passed"
	exit 0
}
