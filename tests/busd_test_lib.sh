# SPDX-License-Identifier: MIT
#
# Sourced by the shell tests of busd's operation (test_busd_*.sh): a
# private runtime directory and bus names, busd started in the foreground
# and stopped by pid, and nothing left in /dev/shm.  The caller sets
# `name` (for messages) and passes BUSD and BUSCTL as $1 and $2.
set -u

busd=${1:-}
busctl=${2:-}
if [ ! -x "$busd" ]; then
	echo "$name: busd not built; skipped"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-$name-XXXXXX") || exit 1
export BUS_RUNTIME_DIR="$work/run"
mkdir -m 0700 "$BUS_RUNTIME_DIR"
# Never reach a real system bus from a test.
export BUS_SYSTEM_RUNTIME_DIR="$work/no-system-bus"
unset BUS_NAME
bus="t-$name-$$"
busd_pid=
failures=0
checks=0
rc=0

stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	stop_pid "$busd_pid"
	for b in "$bus" "$bus-2"; do
		rm -f /dev/shm/shmbus."$b" /dev/shm/shmbus."$b":* \
			/dev/shm/shmbus."$b"%*
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# check CONDITION-COMMAND... MESSAGE: counts a check, fails with MESSAGE.
expect() {
	message=$1
	shift
	checks=$((checks + 1))
	"$@" || fail "$message"
}

# wait_for_socket PATH: up to 5 s.
wait_for_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# start_busd_in DIR LOG ARGS...: busd -f -b $bus ARGS in the background,
# its stderr in LOG; waits for its socket in DIR.
start_busd_in() {
	dir=$1
	log=$2
	shift 2
	"$busd" -f -b "$bus" "$@" 2>"$log" &
	busd_pid=$!
	if ! wait_for_socket "$dir/$bus.sock"; then
		echo "FAIL: busd did not start: $(cat "$log")" >&2
		exit 1
	fi
}

# start_busd LOG ARGS...: the same in $BUS_RUNTIME_DIR.
start_busd() {
	start_busd_in "$BUS_RUNTIME_DIR" "$@"
}

# ctl ARGS...: busctl -b $bus ARGS, output in $work/out and $work/err,
# exit status in $rc.
ctl() {
	"$busctl" -b "$bus" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

# The segments of bus $1 (default $bus) in /dev/shm, one per line.
segments_of() {
	ls /dev/shm 2>/dev/null | grep -E "^shmbus\.${1:-$bus}(\$|[:%])" || true
}

finish() {
	echo "$name: $checks checks, $failures failures"
	[ "$failures" -eq 0 ]
	exit $?
}
