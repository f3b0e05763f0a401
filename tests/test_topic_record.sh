#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Recorded topics (busd/topic_record.h) with a real busd: every message of
# a block and of an overwrite topic is in the journal, in order, although
# the ring is much smaller than what was published (the publishers' gate);
# after a kill -9 and a "reboot" (segments and socket removed) the topic
# continues its sequences, with no gap and no duplicate in the journal; a
# kill -9 and plain restart (the segment adopted) while a publisher
# streams leaves every published message in the journal exactly once;
# a message with a corrupt header is a gap in the journal (busctl dump
# shows it), which a catch-up counts lost without waiting for it; a busd
# killed while its recorder sleeps leaves the sleepers' count
# right after adoption; BUS_CONTROL_JOURNAL refuses a topic not recorded
# and hands over the directory of one recorded; a data_dir busd cannot use is a clear start-up
# error; retention by bytes deletes the oldest files; delete removes the
# journal.
#
#   sh test_topic_record.sh BUSD BUSCTL JOURNAL_REQUEST_CLIENT CORRUPT_PUBLISHER
name=topic_record
client=${3:-}
corrupter=${4:-}
. "$(dirname "$0")/lib.sh"

if [ ! -x "$client" ] || [ ! -x "$corrupter" ]; then
	echo "$name: journal_request_client or corrupt_publisher not built; skipped"
	exit 77
fi

write_conf() {
	cat >"$work/busd.conf" <<EOF
[bus]
data_dir = $1

[topic ticks]
record = yes
slots = 16

[topic quotes]
record = yes
slots = 16
slow_subscriber = overwrite
sync = none

[topic plain]

[topic big]
record = yes
sync = none
slots = 64
max_message = 1024
segment_bytes = 64K
retain_bytes = 1M
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

# journal TOPIC: "SEQUENCE PAYLOAD" lines of its journal, in $work/journal.
journal() {
	"$busctl" dump "$work/data/$1" 2>"$work/dump.err" |
		awk '{ print $1, $3 }' >"$work/journal"
}

# wait_journal TOPIC N: until its journal holds N messages (5 s at most).
wait_journal() {
	for _ in $(seq 100); do
		journal "$1"
		[ "$(wc -l <"$work/journal")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "the journal of $1 did not reach $2 messages"
}

# payloads_are FIRST LAST WHAT: the journal's payloads are FIRST..LAST.
payloads_are() {
	checks=$((checks + 1))
	awk '{ print $2 }' "$work/journal" >"$work/payloads"
	seq "$1" "$2" | cmp -s - "$work/payloads" ||
		fail "$3: the journal's payloads are not $1..$2 in order"
}

# sequences_consecutive WHAT: each sequence is one past the one before.
sequences_consecutive() {
	checks=$((checks + 1))
	awk 'NR > 1 && $1 != last + 1 { bad = 1 } { last = $1 }
	     END { exit bad }' "$work/journal" ||
		fail "$1: a gap or a duplicate in the journal's sequences"
}

write_conf "$work/data"
start_busd -c "$work/busd.conf"

# ---- every message, in order, under both policies ---------------------
ctl pub ticks $(seq 1 500)
expect_ok "pub 500 messages to a recorded block topic of 16 slots"
ctl pub quotes $(seq 1 500)
expect_ok "pub 500 messages to a recorded overwrite topic of 16 slots"
wait_journal ticks 500
payloads_are 1 500 "block topic"
sequences_consecutive "block topic"
wait_journal quotes 500
payloads_are 1 500 "overwrite topic"
sequences_consecutive "overwrite topic"
ctl stat ticks
expect_in "^journal_bytes  *[1-9]" out "stat shows the bytes recorded"
expect_in "^journal_lag  *0$" out "stat shows no lag once all is written"
expect_in "^record  *yes (sync interval" out "stat shows the record setting"
ctl --json stat quotes
jq_check '.settings.record == true and .settings.sync == "none"' \
	"stat --json shows the record settings"

# ---- BUS_CONTROL_JOURNAL ----------------------------------------------
"$client" "$bus" plain >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "JOURNAL of a topic not recorded fails"
expect_in "^error EOPNOTSUPP: topic 'plain' is not recorded" out \
	"JOURNAL says EOPNOTSUPP, with a sentence"
"$client" "$bus" nothing-here >"$work/out" 2>"$work/err"
rc=$?
expect_in "^error ENOENT" out "JOURNAL of an unknown name says ENOENT"
"$client" "$bus" ticks >"$work/out" 2>"$work/err"
rc=$?
expect_ok "JOURNAL of a recorded topic"
expect_in "^position 500$" out "JOURNAL gives journal_position"
expect_in "^00000000000000000000\.journal$" out \
	"the directory it hands over lists the journal's files"

# ---- reboot: the sequences carry on ------------------------------------
crash reboot
start_busd -c "$work/busd.conf"
ctl pub ticks after-reboot
expect_ok "pub after a reboot"
wait_journal ticks 501
sequences_consecutive "after a reboot"
checks=$((checks + 1))
[ "$(tail -n 1 "$work/journal")" = "500 after-reboot" ] ||
	fail "the first message after a reboot has sequence 500: $(tail -n 1 "$work/journal")"

# ---- kill -9 and restart while a publisher streams --------------------
seq 1 20000 | "$busctl" -b "$bus" pub quotes >"$work/stream.out" \
	2>"$work/stream.err" &
streamer=$!
# Killed once the stream is under way (it must have connected first).
for _ in $(seq 200); do
	busctl_run -b "$bus" --json stat quotes
	[ "$(json_value tail)" -gt 600 ] 2>/dev/null && break
	sleep 0.02
done
crash
sleep 0.2
start_busd -c "$work/busd.conf"
wait "$streamer"
status=$?
checks=$((checks + 1))
[ "$status" -eq 0 ] ||
	fail "the streaming publisher failed: $(cat "$work/stream.err")"
wait_journal quotes 20500
checks=$((checks + 1))
awk 'NR > 500 { print $2 }' "$work/journal" >"$work/payloads"
seq 1 20000 | cmp -s - "$work/payloads" ||
	fail "after kill -9 and restart the journal holds 1..20000 once each, in order"
sequences_consecutive "after kill -9 and restart"

# ---- busd killed while its recorder sleeps -------------------------------
# The journal thread sleeps counted in the topic's subscribers_sleeping
# (layout.h: its own bit, BUS_TOPIC_SLEEPING_RECORDER).  A busd killed
# there must leave nothing its successor cannot take back.  Until the
# count and its mark were one atomic operation, a kill between the raise
# and the flag (journal_reserved) left the count one too high forever:
# that state is made here by clearing the flag after the kill.
segment=/dev/shm/shmbus.$bus:ticks
# sleepers_word: subscribers_sleeping of ticks (topic control at 320,
# the word at 128 in it).
sleepers_word() {
	od -An -tu4 -j 448 -N 4 "$segment" | tr -d ' '
}
# Killed while it sleeps: idle, it sleeps all but a few microseconds of
# every 2 ms; tried again when the kill found it awake.
for _ in $(seq 10); do
	crash
	asleep=$(sleepers_word)
	[ "$asleep" != 0 ] && break
	start_busd -c "$work/busd.conf"
	sleep 0.1
done
checks=$((checks + 1))
[ "$asleep" = 2147483648 ] ||
	fail "busd's recorder sleeps counted as its own bit (word $asleep)"
# journal_reserved (at 64 + 12 in the control) cleared: the old window.
printf '\000\000\000\000' |
	dd of="$segment" bs=1 seek=396 count=4 conv=notrunc 2>/dev/null
start_busd -c "$work/busd.conf"
words=
for _ in $(seq 40); do
	words="$words $(sleepers_word)"
	sleep 0.01
done
checks=$((checks + 1))
case " $words " in
*" 2147483648 "*) ;;
*) fail "after adoption the recorder sleeps again, counted once:$words" ;;
esac
checks=$((checks + 1))
for word in $words; do
	[ "$word" = 0 ] || [ "$word" = 2147483648 ] || {
		fail "after adoption no sleeper is counted but the recorder:$words"
		break
	}
done
ctl pub ticks after-adoption
expect_ok "pub after the recorder was killed asleep"
wait_journal ticks 502

# ---- a corrupt header: a gap in the journal -----------------------------
# busd cannot record the message (its length is past the cell), so the
# journal says so (a GAP record): dump shows it, and a catch-up counts it
# lost at once.  Without the record the catch-up waited for the hole just
# below its ring start until a later message reached the disk, or its
# timeout, and never counted it.
"$corrupter" "$bus" ticks >"$work/out" 2>"$work/err"
rc=$?
expect_ok "a publisher commits a corrupt header"
before=$(awk '$1 == "before" { print $2 }' "$work/out")
bad=$(awk '$1 == "corrupt" { print $2 }' "$work/out")
for _ in $(seq 100); do
	"$busctl" dump "$work/data/ticks" --from "$bad" >"$work/out" \
		2>"$work/err"
	grep -q "^gap $bad+1 corrupt " "$work/out" && break
	sleep 0.05
done
rc=0
expect_in "^gap $bad+1 corrupt 20[0-9-]*T" out "dump shows the gap"
"$busctl" --json dump "$work/data/ticks" --from "$bad" >"$work/out" \
	2>"$work/err"
jq_check "select(.record == \"gap\") | .first == $bad and .count == 1 and .reason == \"corrupt\"" \
	"dump --json shows the gap"
expect_in "position $bad has a corrupt header" busd.log \
	"busd logs the corrupt header"
"$busctl" -b "$bus" sub ticks --from "$before" -n 2 --timeout 10 \
	>"$work/bg.out" 2>"$work/bg.err" &
sub_pid=$!
wait_subscribers ticks 1
# Past "before" the catch-up meets the gap just below its ring start: it
# counts it lost and goes on to the ring, before anything else is
# published (a later message on disk would end its wait too).
lost=
for _ in $(seq 40); do
	busctl_run -b "$bus" --json stat ticks
	lost=$(jq -r '.subscriber_slots[0].lost' "$work/out")
	[ "$lost" = 1 ] && break
	sleep 0.05
done
checks=$((checks + 1))
[ "$lost" = 1 ] ||
	fail "the catch-up counts the gap lost without waiting for it ($lost)"
ctl pub ticks after-gap
wait "$sub_pid"
rc=$?
cp "$work/bg.out" "$work/out"
cp "$work/bg.err" "$work/err"
expect_status 0 "sub --from before the gap"
expect_stdout "sub --from before the gap: the message before, then the ring" \
	"before\nafter-gap\n"
expect_in "lost 1 message" err "sub --from reports the gap lost"

# ---- retention by bytes -------------------------------------------------
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "%04d%0996d\n", i, 0 }' \
	>"$work/big.in"
"$busctl" -b "$bus" pub big <"$work/big.in" >"$work/out" 2>"$work/err"
rc=$?
expect_ok "pub 3 MB to a recorded topic with retain_bytes = 1M"
kept=0
for _ in $(seq 50); do
	kept=$(du -sk "$work/data/big" | awk '{ print $1 }')
	[ "$kept" -le 1400 ] && break
	sleep 0.1
done
checks=$((checks + 1))
[ "$kept" -le 1400 ] || fail "retention kept $kept KiB of a 1 MiB limit"
checks=$((checks + 1))
[ -e "$work/data/big/00000000000000000000.journal" ] &&
	fail "retention deleted the oldest file"

# ---- delete removes the journal ---------------------------------------
ctl delete ticks
expect_ok "delete a recorded topic"
checks=$((checks + 1))
[ -e "$work/data/ticks" ] && fail "delete removed the topic's journal"
stop_busd

# ---- a data_dir busd may not use --------------------------------------
: >"$work/not-a-dir"
write_conf "$work/not-a-dir/data"
"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a data_dir it cannot make"
expect_in "data_dir $work/not-a-dir/data for recorded topics" err \
	"the refusal names the data_dir and recorded topics"

finish
