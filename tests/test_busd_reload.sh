#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_reload.sh BUSD BUSCTL
#
# SIGHUP reads the configuration again: busd keeps running, makes the new
# queue and topic, applies the new log level, access rules and routes, and
# logs what it did and what needs a restart (a changed queue's settings).
# A file with errors changes nothing.
name=reload
. "$(dirname "$0")/lib.sh"

conf="$work/busd.conf"
cat >"$conf" <<EOT
[bus]
log_level = info
[queue orders]
slots = 64
EOT
start_busd -c "$conf"
ctl pub orders kept
expect "pub before reload: $(cat "$work/err")" [ "$rc" -eq 0 ]

cat >"$conf" <<EOT
[bus]
log_level = debug
[queue orders]
slots = 128
mode = 0640
[queue invoices]
[topic prices]
[route to-invoices]
from = billing
to = invoices
EOT
kill -HUP "$busd_pid"
for _ in $(seq 100); do
	grep -q "reload: done" "$work/busd.log" && break
	sleep 0.05
done
expect "busd died on SIGHUP" kill -0 "$busd_pid"
ctl stat invoices
expect "the new queue is missing after SIGHUP: $(cat "$work/err")" \
	[ "$rc" -eq 0 ]
ctl stat prices
expect "the new topic is missing after SIGHUP: $(cat "$work/err")" \
	[ "$rc" -eq 0 ]
ctl stat orders
expect "orders lost its mode change: $(cat "$work/out")" \
	grep -q "0640" "$work/out"
ctl consume orders -n 1 --timeout 2
expect "orders lost its message: $(cat "$work/err")" \
	grep -qx kept "$work/out"
ctl route ls
expect "the new route is missing: $(cat "$work/out")" \
	grep -q "to-invoices" "$work/out"
expect "no 'log_level is now debug' line: $(cat "$work/busd.log")" \
	grep -q "reload: log_level is now debug" "$work/busd.log"
expect "no line for the created queue" \
	grep -q "reload: created queue 'invoices'" "$work/busd.log"
expect "no restart warning for orders' slots" \
	grep -q "warning: reload: queue 'orders': its settings changed" \
	"$work/busd.log"
expect "no summary line" \
	grep -q "reload: done: .* applied, 1 needs a restart" "$work/busd.log"

# A broken file changes nothing and busd stays.
printf '[queue broken\n' >>"$conf"
kill -HUP "$busd_pid"
for _ in $(seq 100); do
	grep -q "nothing changed" "$work/busd.log" && break
	sleep 0.05
done
expect "no 'nothing changed' after a broken file: $(tail -3 "$work/busd.log")" \
	grep -q "has errors (above); nothing changed" "$work/busd.log"
expect "the error does not name the file and line" \
	grep -q "busd.conf:11: " "$work/busd.log"
expect "busd died on a broken file" kill -0 "$busd_pid"
ctl stat invoices
expect "invoices went after a broken reload" [ "$rc" -eq 0 ]
finish
