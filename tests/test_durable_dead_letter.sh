#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A message moved from a durable queue to its (durable) dead-letter queue
# survives a power cut whatever the two queues' sync settings (review
# item 5): the source's ack of it must not reach the disk before the
# dead-letter queue's copy does.  src syncs every write; dlq syncs once a
# minute, so its copy of the message is never fdatasync'd in this test.
# After the move, busd is killed and both journals are cut back to their
# last sync marks (journal_powercut: what a power cut is sure to leave),
# then busd starts again: the message must be in src or in dlq.
#
#   sh test_durable_dead_letter.sh BUSD BUSCTL JOURNAL_POWERCUT
name=durable_dead_letter
powercut=${3:-}
. "$(dirname "$0")/lib.sh"

if [ ! -x "$powercut" ]; then
	echo "$name: journal_powercut not built; skipped"
	exit 77
fi

cat >"$work/busd.conf" <<CONF
[bus]
data_dir = $work/data

[queue dlq]
durable = yes
sync = interval
sync_interval_ms = 60000

[queue src]
durable = yes
sync = always
dead_letter = dlq
max_deliveries = 1
CONF

start_busd -c "$work/busd.conf"
ctl pub src first --confirm
expect_ok "pub --confirm first"
# Delivered once and never acked: when busctl goes, busd makes it DEAD
# (max_deliveries 1) and moves it to dlq.
ctl consume src -n 1 --no-ack
expect_stdout "consume takes first" "first\n"
moved=
for _ in $(seq 50); do
	ctl stat dlq
	if grep -q "^depth  *1" "$work/out"; then
		moved=yes
		break
	fi
	sleep 0.1
done
expect "busd moves first to dlq" [ -n "$moved" ]
# Time for the journal thread to see src's cell freed and write what it
# may of the ack (src syncs every write).
sleep 0.5

kill -KILL "$busd_pid"
wait "$busd_pid" 2>/dev/null
busd_pid=
rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]* \
	"$BUS_RUNTIME_DIR/$bus.sock"
"$powercut" "$work/data/src" 0 >"$work/out" 2>"$work/err"
rc=$?
expect_ok "power cut of src's journal"
"$powercut" "$work/data/dlq" 0 >"$work/out" 2>"$work/err"
rc=$?
expect_ok "power cut of dlq's journal"

start_busd -c "$work/busd.conf"
ctl peek src
cp "$work/out" "$work/src.out"
ctl peek dlq
cat "$work/out" >>"$work/src.out"
checks=$((checks + 1))
grep -qx first "$work/src.out" ||
	fail "after a power cut first is in neither src nor dlq: it was lost"
stop_busd
finish
