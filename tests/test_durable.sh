#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Durable queues (busd/durable.h), one behaviour at a time: confirms,
# a reboot brings back exactly the messages not acked, in order, with their
# delivery counts; a plain restart adopts the segment and the journal
# carries on; a data_dir busd may not use is refused at start, naming it;
# a torn tail is cut, counted and logged; corruption in the middle is
# refused naming the file and offset; a full disk makes bus_flush() fail
# with a clear error and loses nothing confirmed (root only: a small
# tmpfs).
#
#   sh test_durable.sh BUSD BUSCTL DURABLE_CLIENT JOURNAL_POWERCUT
name=durable
client=${3:-}
powercut=${4:-}
. "$(dirname "$0")/lib.sh"

if [ ! -x "$client" ] || [ ! -x "$powercut" ]; then
	echo "$name: durable_client or journal_powercut not built; skipped"
	exit 77
fi

full_mount=
on_exit() {
	[ -n "$full_mount" ] && umount "$full_mount" 2>/dev/null
}

write_conf() {
	cat >"$work/busd.conf" <<EOF
[bus]
data_dir = $1

[queue orders]
durable = yes
sync = always
slots = 64

[queue small]
durable = yes
sync = none
segment_bytes = 64K
max_message = 1024
slots = 1024

[queue plain]

[queue fill]
durable = yes
sync = always
slots = 16384
max_message = 64
EOF
}

# crash [reboot]: busd killed; with reboot, its segments (and socket) go.
crash() {
	kill -KILL "$busd_pid"
	wait "$busd_pid" 2>/dev/null
	busd_pid=
	[ "${1:-}" = reboot ] &&
		rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]*
	rm -f "$BUS_RUNTIME_DIR/$bus.sock"
}

payloads() {
	ctl --json consume "$1" -n "$2" --timeout 2
	jq -r .payload "$work/out" | tr '\n' ' '
}

write_conf "$work/data"
start_busd -c "$work/busd.conf"

# ---- confirms ---------------------------------------------------------
ctl pub orders a b c --confirm
expect_ok "pub --confirm to a durable queue"
ctl pub plain x --confirm
expect_error "pub --confirm to a queue that is not durable" "not durable"
ctl stat orders
expect_in "^durable  *yes (sync always" out "stat shows the durable setting"
expect_in "^journal_bytes  *[1-9]" out "stat shows the bytes journaled"

# ---- reboot: exactly the unacked, in order, counts kept ---------------
ctl consume orders -n 1
expect_stdout "consume acks the first" "a\n"
ctl consume orders -n 1 --no-ack
expect_stdout "consume without ack" "b\n"
# The journal thread notes the new delivery count within milliseconds.
sleep 0.3
crash reboot
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "rebuilt from it, 2 messages held" "$busd_log" ||
	fail "busd says what it rebuilt"
ctl --json peek orders
checks=$((checks + 1))
[ "$(jq -r .payload "$work/out" | tr '\n' ' ')" = "b c " ] ||
	fail "after a reboot the queue holds b c, in order"
checks=$((checks + 1))
[ "$(jq -r 'select(.payload == "b") | .delivery_count' "$work/out")" = 2 ] ||
	fail "b kept its delivery count (2) across the reboot"
ctl stat orders
expect_in "^journal_recovered  *2" out "stat counts the messages put back"

# ---- plain restart: adopted, the journal carries on --------------------
ctl pub orders d --confirm
expect_ok "pub --confirm after the reboot"
crash
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "journal .*adopted" "$busd_log" ||
	fail "busd adopts the segment and its journal"
ctl consume orders -n 1
expect_stdout "the adopted queue delivers b" "b\n"
sleep 0.3
crash reboot
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
[ "$(payloads orders 2)" = "c d " ] ||
	fail "after restart and reboot the queue holds c d"

# ---- torn tail --------------------------------------------------------
ctl pub orders e --confirm
crash reboot
newest=$(ls "$work/data/orders"/*.journal | tail -1)
printf 'GARBAGE-GARBAGE-GARBAGE!' >>"$newest"
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "torn record" "$busd_log" || fail "busd logs the torn tail it cut"
ctl stat orders
expect_in "^journal_torn  *1" out "stat counts the torn record"
checks=$((checks + 1))
[ "$(payloads orders 1)" = "e " ] || fail "the torn tail costs no message"

# ---- corruption in the middle of a file -------------------------------
head -c 1000 /dev/zero | tr '\0' x >"$work/big"
for _ in $(seq 150); do cat "$work/big"; echo; done >"$work/lines"
ctl_input "$(cat "$work/lines")" pub small --confirm
expect_ok "150 messages of 1000 bytes into 64 KiB journal files"
crash reboot
first=$(ls "$work/data/small"/*.journal | head -1)
count=$(ls "$work/data/small"/*.journal | wc -l)
expect "small has several journal files" [ "$count" -gt 1 ]
printf 'Z' | dd of="$first" bs=1 seek=300 conv=notrunc 2>/dev/null
"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a journal corrupt in the middle"
expect_in "$(basename "$first").*offset" err \
	"the refusal names the file and the offset"
# The operator's way out: remove what is corrupt.
rm -rf "$work/data/small"
start_busd -c "$work/busd.conf"
stop_busd

# ---- a data_dir busd may not use --------------------------------------
: >"$work/not-a-dir"
write_conf "$work/not-a-dir/data"
"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a data_dir it cannot make"
expect_in "data_dir $work/not-a-dir/data" err \
	"the refusal names the data_dir"
if [ "$(id -u)" -ne 0 ]; then
	mkdir -m 0500 "$work/read-only"
	write_conf "$work/read-only"
	"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
	rc=$?
	expect_status 1 "busd refuses a data_dir it may not write"
	expect_in "data_dir $work/read-only" err \
		"the refusal names the data_dir"
fi

# ---- a full disk (root: a 256 KiB tmpfs) ------------------------------
mkdir "$work/full"
if [ "$(id -u)" -eq 0 ] &&
	mount -t tmpfs -o size=256k tmpfs "$work/full" 2>/dev/null; then
	full_mount="$work/full"
	write_conf "$work/full"
	start_busd -c "$work/busd.conf"
	"$client" produce "$bus" fill 1 4 >"$work/p.out" 2>"$work/p.err"
	rc=$?
	expect_status 3 "a producer's confirm fails when the disk is full"
	expect_in "flush: no room.*disk" "p.out" \
		"the confirm's error says the disk is full"
	last=$(awk '$1 == "confirmed" { n = $2 } END { print n + 0 }' \
		"$work/p.out")
	expect "some messages were confirmed before" [ "$last" -gt 0 ]
	# Room again: before it writes again busd cuts the newest file back
	# to its last sync mark (busd/durable_cut.h); what it confirms then
	# survives a power cut too.
	mount -o remount,size=8m "$work/full"
	again=
	for _ in $(seq 50); do
		if grep -q "'fill': writing its journal again" "$busd_log"; then
			again=yes
			break
		fi
		sleep 0.1
	done
	expect "busd writes the journal again once there is room" \
		[ -n "$again" ]
	"$client" produce "$bus" fill 100000 4 >"$work/p2.out" \
		2>"$work/p2.err" &
	producer=$!
	sleep 0.5
	kill -KILL "$producer"
	wait "$producer" 2>/dev/null
	last2=$(awk '$1 == "confirmed" { n = $2 } END { print n + 0 }' \
		"$work/p2.out")
	expect "messages are confirmed again once busd writes again" \
		[ "$last2" -ge 100000 ]
	crash reboot
	"$powercut" "$work/full/fill" 0 >"$work/out" 2>"$work/err"
	rc=$?
	expect_ok "power cut of fill's journal"
	{ seq 1 "$last"; seq 100000 "$last2"; } >"$work/expected"
	start_busd -c "$work/busd.conf"
	"$client" check "$bus" fill "$work/expected" >"$work/out" \
		2>"$work/err"
	rc=$?
	expect_status 0 "every message confirmed before the disk filled, and after it had room again, is back"
	stop_busd
else
	echo "$name: not root or no tmpfs mount: the full-disk case skipped"
fi
# ---- cells reused before the ack scan; rebuilt messages adopted --------
# (review h21b items 1 and 2) A 16-slot queue streams 50,000 messages to a
# consumer that acks each: every ack must reach the journal although the
# producers reuse each cell within the ack scan's period, so that after a
# reboot busd starts with the queue empty.  Then messages rebuilt by a
# reboot, adopted by a plain restart, must come back once each after the
# next reboot, not twice.
cat >"$work/busd2.conf" <<EOF
[bus]
data_dir = $work/data2

[queue reuse]
durable = yes
sync = none
slots = 16

[queue again]
durable = yes
sync = always
slots = 64
EOF
start_busd -c "$work/busd2.conf"
"$busctl" -b "$bus" consume reuse -n 50000 --timeout 10 \
	>"$work/reuse.out" 2>"$work/reuse.err" &
consumer=$!
seq 50000 >"$work/reuse.in"
"$busctl" -b "$bus" pub reuse <"$work/reuse.in" >/dev/null 2>"$work/err"
rc=$?
expect_ok "50,000 messages into a 16-slot durable queue"
wait $consumer
checks=$((checks + 1))
[ "$(wc -l <"$work/reuse.out")" -eq 50000 ] ||
	fail "the consumer took and acked all 50,000"
# The journal thread journals the last acks within milliseconds.
sleep 0.3
crash reboot
"$busd" -f -b "$bus" -c "$work/busd2.conf" 2>"$busd_log" &
busd_pid=$!
checks=$((checks + 1))
if wait_for_socket "$BUS_RUNTIME_DIR/$bus.sock"; then
	ctl stat reuse
	expect_in "^depth  *0" out "every ack of a reused cell was journaled"
else
	wait "$busd_pid"
	busd_pid=
	fail "busd starts after the reboot: $(cat "$busd_log")"
	rm -rf "$work/data2/reuse"
	start_busd -c "$work/busd2.conf"
fi
ctl pub again a b c --confirm
expect_ok "pub --confirm a b c"
crash reboot
start_busd -c "$work/busd2.conf"
crash
start_busd -c "$work/busd2.conf"
checks=$((checks + 1))
grep -q "journal .*adopted" "$busd_log" || fail "the rebuilt queue is adopted"
# The journal thread copies what it adopted within milliseconds.
sleep 0.3
crash reboot
start_busd -c "$work/busd2.conf"
ctl --json peek again
checks=$((checks + 1))
[ "$(jq -r .payload "$work/out" | tr '\n' ' ')" = "a b c " ] ||
	fail "rebuilt, adopted, rebuilt: a b c, each once"

# ---- redelivered after a reboot ----------------------------------------
# A message a consumer held (taken, never acked) when the power went may
# have been processed: it comes back with BUS_MESSAGE_REDELIVERED; the
# ones never taken come back without it.
"$busctl" -b "$bus" consume again -n 1 --hold >"$work/hold.out" 2>&1 &
holder=$!
for _ in $(seq 50); do
	grep -q . "$work/hold.out" && break
	sleep 0.1
done
checks=$((checks + 1))
[ "$(cat "$work/hold.out")" = a ] || fail "the holder takes a"
# The journal thread notes the take within milliseconds.
sleep 0.3
crash reboot
kill -KILL "$holder"
wait "$holder" 2>/dev/null
start_busd -c "$work/busd2.conf"
ctl --json peek again
checks=$((checks + 1))
[ "$(jq -r '"\(.payload)=\(.redelivered)"' "$work/out" | tr '\n' ' ')" = \
	"a=true b=false c=false " ] ||
	fail "after a reboot the held a is redelivered, b and c are not"

# ---- a time to live across a reboot ------------------------------------
# The journal keeps each message's expiry (as a wall-clock deadline): one
# with a long time to live comes back with it, one that expired while
# busd was down is dropped and counted, not delivered.
ctl consume again -n 3
expect_ok "consume a b c"
ctl pub again long --ttl 600000 --confirm
expect_ok "pub --ttl 600000 --confirm"
ctl pub again short --ttl 300 --confirm
expect_ok "pub --ttl 300 --confirm"
sleep 0.6
crash reboot
start_busd -c "$work/busd2.conf"
ctl --json peek again
checks=$((checks + 1))
[ "$(jq -r 'select(.payload == "long") | .expiry_ns > 0' "$work/out")" = \
	true ] || fail "long comes back with its expiry"
ctl consume again -n 2 --timeout 1
expect_stdout "only long is delivered after the reboot" "long\n"
ctl stat again
expect_in "^expired  *1" out "short expired and is counted"
stop_busd
finish
