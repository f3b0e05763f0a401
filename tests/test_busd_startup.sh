#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_startup.sh BUSD BUSCTL
#
# Start-up hygiene: -c with a directory is refused; a start that fails
# (a queue too large for /dev/shm, a busy metrics port) leaves nothing of
# the bus in /dev/shm, and the busy-port error names the configured port;
# a runtime directory that another user owns, or that everyone may write,
# is refused.
name=startup
. "$(dirname "$0")/lib.sh"

# refused WHAT EXPECTED ARGS...: busd exits 1 saying EXPECTED, leaving no
# segment of the bus behind.
refused() {
	what=$1
	expected=$2
	shift 2
	# A busd that wrongly starts must not hang the test.
	timeout 20 "$busd" -f -b "$bus" "$@" >"$work/out" 2>"$work/err"
	rc=$?
	expect "$what: exit $rc, expected 1" [ "$rc" -eq 1 ]
	expect "$what: expected '$expected' in: $(cat "$work/err")" \
		grep -q -e "$expected" "$work/err"
	expect "$what: left in /dev/shm: $(segments_of)" \
		[ -z "$(segments_of)" ]
}

mkdir "$work/conf.d"
refused "-c DIRECTORY" "conf.d is a directory, not a configuration file" \
	-c "$work/conf.d"

cat >"$work/huge.conf" <<EOT
[queue small]
[topic news]
[queue huge]
slots = 262144
max_message = 2097152
EOT
refused "a queue larger than /dev/shm" "/dev/shm has .* MiB free" \
	-c "$work/huge.conf"

if command -v python3 >/dev/null 2>&1; then
	# Hold a loopback port busy for a few seconds.
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(10)' >"$work/port" &
	holder=$!
	for _ in $(seq 100); do
		[ -s "$work/port" ] && break
		sleep 0.05
	done
	port=$(cat "$work/port")
	printf '[bus]\nmetrics = 127.0.0.1:%s\n[queue q]\n[topic t]\n' \
		"$port" >"$work/busy.conf"
	refused "a busy metrics port" "port $port" -c "$work/busy.conf"
	expect "the busy-port error says port 0: $(cat "$work/err")" \
		sh -c "! grep -q 'port 0' '$work/err'"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
else
	echo "$name: python3 missing; busy-port check skipped"
fi

mkdir -m 0777 "$work/open"
chmod 0777 "$work/open"
own_dir=$BUS_RUNTIME_DIR
export BUS_RUNTIME_DIR="$work/open"
refused "a runtime directory of mode 0777" "writable by everyone (mode 0777)"
if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 0755 "$work/theirs"
	chown 65534 "$work/theirs"
	theirs="$work/theirs"
else
	theirs=/ # root's
fi
export BUS_RUNTIME_DIR="$theirs"
refused "another user's runtime directory" "belongs to uid"
export BUS_RUNTIME_DIR="$own_dir"

# The same bus starts fine afterwards, and stops cleanly.
start_busd
stop_pid "$busd_pid"
busd_pid=
expect "a clean stop left: $(segments_of)" [ -z "$(segments_of)" ]
finish
