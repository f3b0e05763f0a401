#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Durable queues created at run time (busd/durable_store.h): busctl
# create --durable keeps the queue's settings and access in
# DATA_DIR/NAME/queue.conf, so that after a reboot (busd killed, its
# segments gone) busd makes the queue again, with its messages, though
# the configuration does not list it; the configuration wins when it
# does; a corrupt file stops busd's start naming the file; busctl delete
# removes it.
#
#   sh test_durable_runtime.sh BUSD BUSCTL
name=durable_runtime
. "$(dirname "$0")/lib.sh"

write_conf() {
	printf '[bus]\ndata_dir = %s\n\n[queue listed]\ndurable = yes\n%s\n' \
		"$work/data" "${1:-}" >"$work/busd.conf"
}


write_conf
start_busd -c "$work/busd.conf"
ctl create rt --durable --sync always --slots 64 --mode 0640
expect_ok "create --durable at run time"
expect "the settings are kept beside the journal" \
	[ -f "$work/data/rt/queue.conf" ]
ctl pub rt a b c --confirm
expect_ok "pub --confirm a b c"

# ---- a reboot: made again, messages and all ----------------------------
reboot_busd
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "queue 'rt': created at run time, made again from" "$busd_log" ||
	fail "busd says it made rt again from its file"
ctl peek rt
expect_stdout "rt holds a b c after the reboot" "a\nb\nc\n"
ctl stat rt
expect_in "^durable  *yes (sync always" out "rt keeps its sync setting"
expect_in "^capacity  *64" out "rt keeps its slots"
expect_in "^mode  *0640" out "rt keeps its mode"

# ---- a plain restart adopts it; the file stays -------------------------
ctl consume rt -n 1
expect_stdout "consume takes a" "a\n"
sleep 0.3
kill -KILL "$busd_pid"
wait "$busd_pid" 2>/dev/null
busd_pid=
rm -f "$BUS_RUNTIME_DIR/$bus.sock"
start_busd -c "$work/busd.conf"
reboot_busd
start_busd -c "$work/busd.conf"
ctl peek rt
expect_stdout "after a restart and a reboot rt holds b c" "b\nc\n"

# ---- the configuration wins --------------------------------------------
reboot_busd
write_conf "[queue rt]
durable = yes
sync = none
slots = 64"
start_busd -c "$work/busd.conf"
ctl stat rt
expect_in "^durable  *yes (sync none" out "the configuration's settings win"
checks=$((checks + 1))
grep -q "made again from" "$busd_log" &&
	fail "a configured queue is not made from its file"
ctl peek rt
expect_stdout "the configured rt holds b c from the journal" "b\nc\n"
stop_busd
write_conf

# ---- a corrupt file stops the start, naming it -------------------------
rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]*
cp "$work/data/rt/queue.conf" "$work/queue.conf.good"
sed 's/^slots = .*/slots = many/' "$work/queue.conf.good" \
	>"$work/data/rt/queue.conf"
"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a corrupt queue.conf"
expect_in "$work/data/rt/queue.conf: line [0-9]*: slots cannot be 'many'" \
	err "the refusal names the file, the line and the key"
grep -v '^mode' "$work/queue.conf.good" >"$work/data/rt/queue.conf"
"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a queue.conf without a key"
expect_in "queue.conf: no 'mode' key" err "the refusal names the key missing"
cp "$work/queue.conf.good" "$work/data/rt/queue.conf"

# ---- busctl delete removes it -------------------------------------------
start_busd -c "$work/busd.conf"
ctl delete rt
expect_ok "delete rt"
expect "delete removes the journal and its settings" \
	[ ! -e "$work/data/rt" ]
reboot_busd
start_busd -c "$work/busd.conf"
ctl stat rt
expect_error "rt stays deleted after a reboot" "rt"
stop_busd
finish
