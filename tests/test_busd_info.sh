#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_info.sh BUSD BUSCTL VERSION
#
# busctl info: busd's version, pid, configuration file (made absolute),
# uptime, connections and counts, in text and JSON.
name=info
version=${3:-}
. "$(dirname "$0")/lib.sh"

printf '[queue orders]\n[topic prices]\n' >"$work/busd.conf"
# A relative -c path: busd reports (and reloads) the absolute one.
busd_path=$(cd "$(dirname "$busd")" && pwd)/$(basename "$busd")
(cd "$work" && exec "$busd_path" -f -b "$bus" -c busd.conf) \
	2>"$work/busd.log" &
busd_pid=$!
wait_for_socket "$BUS_RUNTIME_DIR/$bus.sock" || {
	echo "FAIL: busd did not start: $(cat "$work/busd.log")" >&2
	exit 1
}
"$busctl" -b "$bus" sub prices --timeout 20 >/dev/null 2>&1 &
sub=$!
for _ in $(seq 100); do
	ctl stat prices --json
	grep -q '"subscribers": *1' "$work/out" && break
	sleep 0.05
done
sleep 1.1

ctl info
expect "busctl info: exit $rc: $(cat "$work/err")" [ "$rc" -eq 0 ]
expect "no version $version: $(cat "$work/out")" \
	grep -q "^busd: *version $version, pid $busd_pid$" "$work/out"
expect "no absolute config path: $(cat "$work/out")" \
	grep -q "^config: *$work/busd.conf$" "$work/out"
expect "no uptime of 1s or more: $(cat "$work/out")" \
	grep -q "^started: .*(up [1-9][0-9]*s)$" "$work/out"
expect "clients: not 2 (the subscriber and busctl): $(cat "$work/out")" \
	grep -q "^clients: *2$" "$work/out"
expect "queues: not 1" grep -q "^queues: *1$" "$work/out"
expect "topics: not 1" grep -q "^topics: *1$" "$work/out"

ctl info --json
expect "busctl info --json: exit $rc" [ "$rc" -eq 0 ]
expect "JSON: $(cat "$work/out")" \
	grep -q "\"version\": \"$version\", \"pid\": $busd_pid, \"config\": \"$work/busd.conf\"" \
	"$work/out"
expect "JSON counts: $(cat "$work/out")" \
	grep -q '"clients": 2, "queues": 1, "topics": 1}' "$work/out"
kill "$sub" 2>/dev/null
wait "$sub" 2>/dev/null
finish
