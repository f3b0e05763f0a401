#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Catch-up subscriptions through a real busd (libbus/topic_catch_up.h):
# a subscriber from a sequence reads a recorded topic's journal, then the
# ring, every message once and in order, also while a publisher of
# another process streams across the switch; from a time between two
# batches; refused on a topic not recorded; busctl replay and dump by a
# topic's name; a corrupt journal file named with its offset (by sub
# --from and by dump NAME, with its real path); and after
# busd is killed and its segments removed (a reboot), from the start
# again: everything recorded.  A packed recorded topic (one publisher,
# records in a 4 KiB arena) gives back the right bytes from the disk and
# the ring, sizes varying, while its publisher streams across the switch.
# Under overwrite, a publisher lapping the subscriber while it reads the
# disk costs it nothing (it joins the ring later).
#
#   sh test_catch_up.sh BUSD BUSCTL
name=catch_up
. "$(dirname "$0")/lib.sh"

if ! command -v jq >/dev/null 2>&1; then
	echo "$name: jq not installed; skipped"
	exit 77
fi

cat >"$work/busd.conf" <<EOF
[bus]
data_dir = $work/data

[topic rec]
record = yes
sync = none
slots = 64

[topic stream]
record = yes
sync = none
slots = 64

[topic lapped]
record = yes
sync = none
slots = 64
slow_subscriber = overwrite

[topic times]
record = yes
slots = 64

[topic copy]
record = yes
sync = none
slots = 64

[topic small]
record = yes
sync = none
segment_bytes = 64K
slots = 64

[topic plain]
slots = 64

[topic packed]
record = yes
sync = none
slots = 64
max_publishers = 1
ring_bytes = 4096
EOF

# crash_and_reboot: busd killed, its segments and socket gone, started
# again on the same data_dir.
crash_and_reboot() {
	reboot_busd
	start_busd -c "$work/busd.conf"
}

# first_sequence TOPIC: the oldest sequence its journal holds.
first_sequence() {
	ctl dump "$1" --json -n 1
	jq -r .sequence "$work/out"
}

# check_stream FILE COUNT WHAT: FILE holds COUNT messages, payloads
# 1..COUNT in order, each sequence one past the one before (one publish
# loop at a time: no padded position).
check_stream() {
	checks=$((checks + 1))
	got=$(jq -r .payload "$1" | tr '\n' ' ')
	want=$(seq 1 "$2" | tr '\n' ' ')
	[ "$got" = "$want" ] ||
		fail "$3: payloads are not 1..$2 in order: $(echo "$got" |
			cut -c1-200)..."
	checks=$((checks + 1))
	jq -s -e '[.[].sequence] as $s |
		all(range(1; $s | length); $s[.] == $s[. - 1] + 1)' \
		"$1" >/dev/null ||
		fail "$3: sequences are not consecutive"
}

start_busd -c "$work/busd.conf"

# ---- from a sequence: the disk, then the ring ---------------------------
ctl_ok pub rec $(seq 1 1000)
first=$(first_sequence rec)
checks=$((checks + 1))
[ -n "$first" ] || fail "dump rec by name: no first sequence"
"$busctl" -b "$bus" sub rec --from "$first" -n 2000 --json --timeout 30 \
	>"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
track_pid "$sub_pid"
wait_subscribers rec 1
ctl_ok pub rec $(seq 1001 2000)
wait "$sub_pid"
rc=$?
cp "$work/sub.err" "$work/err"
expect_status 0 "sub --from $first: 2000 messages"
check_stream "$work/sub.out" 2000 "sub --from the first sequence"
checks=$((checks + 1))
[ "$(head -n 1000 "$work/sub.out" | jq -s '[.[] |
	select(.publish_time_ns == 0)] | length')" = 1000 ] ||
	fail "the first 1000 came from the disk (publish_time_ns 0)"

# From the middle: the same messages from there.
ctl sub rec --from $((first + 500)) -n 3 --timeout 10
expect_stdout "sub --from the middle" "501\n502\n503\n"

# ---- a publisher of another process streams across the switch ----------
ctl_ok pub stream $(seq 1 1000)
"$busctl" -b "$bus" pub stream $(seq 1001 3000) \
	>"$work/pub.out" 2>"$work/pub.err" &
pub_pid=$!
track_pid "$pub_pid"
ctl sub stream --from "$(first_sequence stream)" -n 3000 --json \
	--timeout 30
expect_status 0 "sub --from while a publisher streams"
check_stream "$work/out" 3000 "sub --from while a publisher streams"
wait "$pub_pid"
checks=$((checks + 1))
[ $? -eq 0 ] || fail "the streaming publisher failed: $(cat "$work/pub.err")"

# ---- overwrite: the publisher laps the subscriber while it reads the disk --
# The subscriber's output is held back (a pipe nobody reads until the
# publisher is done), so it is still on the disk when the publisher laps
# its ring start many times over.  It joins the ring later, at what busd
# has recorded (a late join): every message once, none reported lost.
ctl_ok pub lapped $(seq 1 1000)
first=$(first_sequence lapped)
(sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$work/sub.pid" \
	"$busctl" -b "$bus" sub lapped --from "$first" -n 20000 --json \
	--timeout 60 2>"$work/sub.err"; echo $? >"$work/sub.rc") |
	(while [ ! -e "$work/go" ]; do sleep 0.05; done
	 cat >"$work/sub.out") &
sub_pid=$!
track_pid "$sub_pid"
wait_subscribers lapped 1
track_pid "$(cat "$work/sub.pid")"
ctl_ok pub lapped $(seq 1001 20000)
touch "$work/go"
wait "$sub_pid"
checks=$((checks + 1))
[ "$(cat "$work/sub.rc")" = 0 ] ||
	fail "sub --from an overwrite topic lapped while it read the disk: exit $(cat "$work/sub.rc"): $(cat "$work/sub.err")"
check_stream "$work/sub.out" 20000 "sub --from while a publisher laps it"
checks=$((checks + 1))
if grep -q "lost" "$work/sub.err"; then
	fail "the lapped catch-up reported a loss: $(cat "$work/sub.err")"
fi

# ---- from a time between two batches --------------------------------------
ctl_ok pub times a1 a2 a3
sleep 0.3
mark=$(date +%s.%N)
sleep 0.3
ctl_ok pub times b1 b2 b3
ctl sub times --from "@$mark" -n 3 --timeout 10
expect_stdout "sub --from @TIME between two batches" "b1\nb2\nb3\n"
ctl sub times --from -1h -n 6 --timeout 10
expect_stdout "sub --from -1h" "a1\na2\na3\nb1\nb2\nb3\n"
ctl sub times --from "@$(($(date +%s) + 3600))" -n 1 --timeout 0.3
expect_status 1 "sub --from a time to come: nothing yet"

# ---- a packed recorded topic: the right bytes from the disk and the ring --
# sized FROM TO: payload N, then N % 200 bytes of filler.
sized() {
	awk -v from="$1" -v to="$2" 'BEGIN {
		for (i = from; i <= to; i++) {
			s = i
			for (k = 0; k < i % 200; k++)
				s = s "x"
			print s
		}
	}'
}
sized 1 1000 >"$work/packed.want"
sized 1001 3000 >>"$work/packed.want"
ctl_ok pub packed $(sized 1 1000)
"$busctl" -b "$bus" pub packed $(sized 1001 3000) \
	>"$work/pub.out" 2>"$work/pub.err" &
pub_pid=$!
track_pid "$pub_pid"
ctl sub packed --from "$(first_sequence packed)" -n 3000 --json --timeout 30
expect_status 0 "sub --from a packed topic while its publisher streams"
checks=$((checks + 1))
jq -r .payload "$work/out" | cmp -s - "$work/packed.want" ||
	fail "packed: payloads differ from what was published: $(jq -r \
		.payload "$work/out" | diff - "$work/packed.want" | head -n 4)"
wait "$pub_pid"
checks=$((checks + 1))
[ $? -eq 0 ] ||
	fail "the packed topic's publisher failed: $(cat "$work/pub.err")"

# ---- refusals ------------------------------------------------------------
ctl sub plain --from 0 -n 1 --timeout 1
expect_error "sub --from on a topic not recorded" "not recorded"
ctl sub 'rec.*' --from 0 -n 1 --timeout 1
expect_error "sub --from on a pattern" "pattern"
ctl sub rec --from 0 --history 1 -n 1 --timeout 1
expect_error "sub --from with --history" "history"
ctl sub rec --from yesterday
expect_error "sub --from a word" "bad --from" 2

# ---- replay and dump by name -----------------------------------------------
ctl replay rec --into copy --from "$first" --to $((first + 9))
expect_ok "replay rec (by name) --into copy"
i=0
while [ $i -lt 50 ]; do
	ctl dump copy --json
	[ "$(wc -l <"$work/out")" -ge 10 ] && break
	sleep 0.1
	i=$((i + 1))
done
check_stream "$work/out" 10 "dump copy (by name) after the replay"
ctl dump plain
expect_error "dump of a topic not recorded, by name" "not recorded"

# ---- a reboot: everything recorded is read from the start -----------------
crash_and_reboot
ctl sub rec --from "$first" -n 2000 --json --timeout 30
expect_status 0 "sub --from after a reboot"
check_stream "$work/out" 2000 "sub --from after a reboot"
ctl_ok pub rec 2001
ctl sub rec --from "$first" -n 2001 --json --timeout 30
checks=$((checks + 1))
[ "$(tail -n 1 "$work/out" | jq -r .payload)" = 2001 ] ||
	fail "after a reboot the disk, then the ring: the last one is new"

# ---- a corrupt journal file: named with its offset, then passed over ----
# (last: busd refuses to start on a corrupt journal)
ctl_ok pub small $(seq 1 3000)
i=0
while [ $i -lt 50 ] &&
	[ "$(ls "$work/data/small"/*.journal 2>/dev/null | wc -l)" -lt 2 ]; do
	sleep 0.1
	i=$((i + 1))
done
oldest=$(ls "$work/data/small"/*.journal | head -n 1)
ctl sub small --from 0 -n 3000 --timeout 10
expect_status 0 "sub --from 0 of a journal of several files"
printf 'garbage!' | dd of="$oldest" bs=1 seek=4096 conv=notrunc 2>/dev/null
ctl sub small --from 0 -n 3000 --timeout 3
checks=$((checks + 1))
[ "$rc" -eq 1 ] && grep -q "$oldest: offset [0-9]" "$work/err" ||
	fail "sub --from over a corrupt file names the file and offset"
checks=$((checks + 1))
[ "$(tail -n 1 "$work/out")" = 3000 ] ||
	fail "sub --from goes on after the corrupt file, to the last message"
expect_in "lost [0-9]* messages" err \
	"what the corrupt file held is reported lost"
# busctl reads the journal through the descriptor busd hands over
# (/proc/self/fd/N): its error names the real directory all the same.
ctl dump small
checks=$((checks + 1))
[ "$rc" -eq 1 ] && grep -q "dump small: corrupt journal: $oldest: offset [0-9]" \
	"$work/err" || fail "dump by name names the corrupt file by its real path"
expect_not_in "/proc/self/fd" err "dump by name never names /proc/self/fd"

finish
