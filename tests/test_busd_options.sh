#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_options.sh BUSD BUSCTL VERSION
#
# busd --help and --version (the project's VERSION, also in the metrics'
# shmbus_build_info), -t (check the configuration: "configuration OK"
# and 0, or the error with file:line and 1), and the log file
# (--log-file, [bus] log_file, reopened on SIGHUP).
name=options
version=${3:-}
. "$(dirname "$0")/lib.sh"

"$busd" --help >"$work/out" 2>"$work/err"
rc=$?
expect "--help: exit $rc" [ "$rc" -eq 0 ]
for option in --bus --config --log-level --log-file --test-config \
	--version --help --foreground; do
	expect "--help does not list $option" grep -q -e "$option" "$work/out"
done

"$busd" --version >"$work/out" 2>"$work/err"
rc=$?
expect "--version: exit $rc" [ "$rc" -eq 0 ]
expect "--version says '$(cat "$work/out")', expected $version" \
	grep -qx "busd (shmbus) $version" "$work/out"

printf '[bus]\nlog_level = info\n[queue orders]\n[topic prices]\n' \
	>"$work/good.conf"
"$busd" -t -c "$work/good.conf" >"$work/out" 2>"$work/err"
rc=$?
expect "-t on a good file: exit $rc: $(cat "$work/err")" [ "$rc" -eq 0 ]
expect "-t on a good file: no 'configuration OK': $(cat "$work/out")" \
	grep -q "configuration OK" "$work/out"
expect "-t made a segment: $(segments_of default)" \
	[ ! -S "$BUS_RUNTIME_DIR/default.sock" ]

printf '[queue orders]\nslots = 3\n' >"$work/bad.conf"
"$busd" -t -c "$work/bad.conf" >"$work/out" 2>"$work/err"
rc=$?
expect "-t on a bad file: exit $rc" [ "$rc" -eq 1 ]
expect "-t on a bad file: no file:line in: $(cat "$work/err")" \
	grep -q "bad.conf:1: " "$work/err"
expect "-t on a bad file said OK" sh -c "! grep -q OK '$work/out'"

# Lines inih would not report, each named by its line (config_lines/).
printf '[queue a\nslots = 8\n[bus]\nlog_level = info\000x\n[queue %0300d]\n' 7 \
	>"$work/broken.conf"
"$busd" -t -c "$work/broken.conf" >"$work/out" 2>"$work/err"
rc=$?
expect "-t on broken lines: exit $rc" [ "$rc" -eq 1 ]
expect "-t: no sentence for a section without ']': $(cat "$work/err")" \
	grep -q "broken.conf:1: section line has no closing" "$work/err"
expect "-t: no sentence for a NUL byte: $(cat "$work/err")" \
	grep -q "broken.conf:4: line holds a NUL byte" "$work/err"
expect "-t: no sentence for an overlong line: $(cat "$work/err")" \
	grep -q "broken.conf:5: line is longer than" "$work/err"

# --log-file: the log goes there, not to stderr; SIGHUP opens it again
# (logrotate moves the file, then signals).
busd_log="$work/stderr.log"
start_busd --log-file "$work/busd.log"
expect "--log-file: nothing in the file" \
	grep -q "serving bus '$bus'" "$work/busd.log"
expect "--log-file: the log still goes to stderr: $(cat "$work/stderr.log")" \
	[ ! -s "$work/stderr.log" ]
mv "$work/busd.log" "$work/busd.log.1"
kill -HUP "$busd_pid"
for _ in $(seq 100); do
	[ -s "$work/busd.log" ] && break
	sleep 0.05
done
expect "SIGHUP did not open the log file again" \
	grep -q "reload" "$work/busd.log"

# The build-info metric, where curl can scrape it.
stop_pid "$busd_pid"
busd_pid=
if command -v curl >/dev/null 2>&1; then
	printf '[bus]\nmetrics = 127.0.0.1:0\nlog_file = %s\n' \
		"$work/metrics.log" >"$work/metrics.conf"
	start_busd -c "$work/metrics.conf"
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's|.*metrics at http://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' \
			"$work/metrics.log")
		[ -n "$port" ] && break
		sleep 0.05
	done
	expect "[bus] log_file: no metrics line in it" [ -n "$port" ]
	curl -s --max-time 10 "http://127.0.0.1:$port/metrics" \
		>"$work/page" 2>/dev/null
	expect "no shmbus_build_info{version=\"$version\"} 1 in the page" \
		grep -qx "shmbus_build_info{version=\"$version\"} 1" \
		"$work/page"
	stop_pid "$busd_pid"
	busd_pid=
else
	echo "$name: curl missing; build-info check skipped"
fi
finish
