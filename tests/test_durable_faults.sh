#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Durable queues against the worst: busd killed with SIGKILL at a random
# moment while producers stream with confirms (bus_flush) and a consumer
# acks, then one of three kinds of restart, in turn: a "reboot" (every
# segment of the bus removed from /dev/shm); a power cut (the reboot, and
# the queue's newest journal file cut back to what its last sync mark says
# an fdatasync made durable, by journal_powercut, every other time with
# noise after it: a torn write; SIGKILL keeps the page cache, so without
# this a missing fdatasync would not show); a plain restart (busd adopts
# the segment).  The queue's sync setting alternates between interval and
# always from round to round.  Then busd starts again on the same
# data_dir.  The queue is small enough
# (4096 slots) that the producers reuse its cells over the rounds.
# After ROUNDS rounds (50; BUS_TEST_SCALE scales it, at least 5) every
# message whose confirm returned must be back, unless the consumer may
# have acked it, and no message may be corrupt.  No message whose ack was
# surely journaled may come back (a confirm returned for a batch sent
# 50 ms or more after the ack returned: the journal thread appends acks
# within about a millisecond, before the messages it copies later, and a
# sync covers what came before it), and none may come twice.  The test
# says how many rounds it ran (and of them power cuts), in how many a
# confirm returned, and how many confirmed messages it checked.
#
#   sh test_durable_faults.sh BUSD BUSCTL DURABLE_CLIENT JOURNAL_POWERCUT
name=durable_faults
client=${3:-}
powercut=${4:-}
. "$(dirname "$0")/lib.sh"

if [ ! -x "$client" ] || [ ! -x "$powercut" ]; then
	echo "$name: durable_client or journal_powercut not built; skipped"
	exit 77
fi

rounds=50
if [ -n "${BUS_TEST_SCALE:-}" ]; then
	rounds=$(awk -v s="$BUS_TEST_SCALE" 'BEGIN { r = int(50 * s);
		print r < 5 ? 5 : r }')
fi

# write_conf SYNC
write_conf() {
	printf '%s\n' "[bus]
data_dir = $work/data

[queue jobs]
durable = yes
sync = $1
slots = 4096
max_message = 64
max_unacked = 64" >"$work/busd.conf"
}

# reboot: what a power cut leaves of /dev/shm and the runtime directory
# (nothing of this bus; the stale socket would also fool wait_for_socket).
reboot() {
	rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]* \
		"$BUS_RUNTIME_DIR/$bus.sock"
}

# A random number of milliseconds in [$1, $2), from awk's generator
# seeded by the round and the pid.
random_ms() {
	awk -v a="$1" -v b="$2" -v seed="$3$$" \
		'BEGIN { srand(seed); print int(a + rand() * (b - a)) }'
}

: >"$work/acked"
: >"$work/journaled"
: >"$work/confirmed"
confirm_rounds=0
cut_rounds=0
round=1
while [ $round -le $rounds ]; do
	if [ $((round % 2)) -eq 0 ]; then
		write_conf always
	else
		write_conf interval
	fi
	start_busd -c "$work/busd.conf"
	first=$((round * 1000000))
	"$client" produce "$bus" jobs $first 8 >"$work/p.$round" \
		2>>"$work/client.err" &
	producer=$!
	"$client" produce "$bus" jobs $((first + 500000)) 32 \
		>"$work/q.$round" 2>>"$work/client.err" &
	producer2=$!
	consumer=
	if [ $((round % 2)) -eq 0 ]; then
		"$client" consume "$bus" jobs 1000 >"$work/c.$round" \
			2>>"$work/client.err" &
		consumer=$!
	fi
	sleep "0.$(printf '%03d' "$(random_ms 20 300 $round)")"
	kill -KILL "$busd_pid"
	wait "$busd_pid" 2>/dev/null
	busd_pid=
	kill -KILL $producer $producer2 $consumer 2>/dev/null
	wait $producer $producer2 $consumer 2>/dev/null
	# Every third round a plain restart: busd adopts the segment (and
	# the messages an earlier reboot rebuilt in it).
	[ $((round % 3)) -ne 0 ] && reboot
	if [ $((round % 3)) -eq 2 ]; then
		garbage=0
		[ $((cut_rounds % 2)) -eq 1 ] &&
			garbage=$(random_ms 1 200 $round)
		"$powercut" "$work/data/jobs" "$garbage" "$round" \
			>>"$work/cuts" 2>&1 ||
			fail "round $round: journal_powercut: $(tail -1 "$work/cuts")"
		cut_rounds=$((cut_rounds + 1))
	fi
	rm -f "$BUS_RUNTIME_DIR/$bus.sock"
	# Every id up to the last confirm of each producer.
	for f in "$work/p.$round" "$work/q.$round"; do
		base=$first
		[ "$f" = "$work/q.$round" ] && base=$((first + 500000))
		last=$(awk '$1 == "confirmed" { n = $2 } END { print n + 0 }' \
			"$f")
		[ "$last" -ge "$base" ] && seq "$base" "$last" \
			>>"$work/confirmed"
	done
	grep -q '^confirmed' "$work/p.$round" "$work/q.$round" &&
		confirm_rounds=$((confirm_rounds + 1))
	if [ -n "$consumer" ]; then
		awk '$1 == "acking" { print $2 }' "$work/c.$round" |
			sort -u >"$work/taken.$round"
		# An ack journaled in an earlier round: it must not come back.
		sort -u "$work/journaled" | comm -12 - "$work/taken.$round" \
			>"$work/back.$round"
		checks=$((checks + 1))
		[ -s "$work/back.$round" ] &&
			fail "round $round: acked ids came back: $(head -5 "$work/back.$round" | tr '\n' ' ')"
		cat "$work/taken.$round" >>"$work/acked"
		# The batch after the next-to-last confirm was sent after it.
		cutoff=$(awk '$1 == "confirmed" { prev[FILENAME] = last[FILENAME];
				last[FILENAME] = $3 }
			END { m = 0; for (f in prev) if (prev[f] > m) m = prev[f];
				printf "%.0f\n", m - 50000000 }' \
			"$work/p.$round" "$work/q.$round")
		awk -v cut="$cutoff" '$1 == "acked" && $3 < cut { print $2 }' \
			"$work/c.$round" >>"$work/journaled"
	fi
	round=$((round + 1))
done

# What must be back: confirmed and never (perhaps) acked.
sort -u "$work/acked" >"$work/acked.sorted"
sort -u "$work/confirmed" >"$work/confirmed.sorted"
comm -23 "$work/confirmed.sorted" "$work/acked.sorted" >"$work/expected"
confirmed=$(wc -l <"$work/confirmed.sorted")
expected=$(wc -l <"$work/expected")

start_busd -c "$work/busd.conf"
checks=$((checks + 1))
sort -u "$work/journaled" >"$work/journaled.sorted"
journaled=$(wc -l <"$work/journaled.sorted")
"$client" check "$bus" jobs "$work/expected" "$work/journaled.sorted" \
	>"$work/check.out" 2>"$work/check.err"
status=$?
if [ $status -ne 0 ]; then
	fail "after $rounds kill+reboot rounds: $(cat "$work/check.out") $(head -5 "$work/check.err")"
	tail -20 "$busd_log" >&2
fi
checks=$((checks + 1))
[ "$confirmed" -gt 0 ] || fail "no message was ever confirmed"
checks=$((checks + 1))
[ $((confirm_rounds * 4)) -ge "$rounds" ] ||
	fail "a confirm returned in only $confirm_rounds of $rounds rounds"
if grep -q corrupt "$work/client.err" 2>/dev/null; then
	checks=$((checks + 1))
	fail "a consumer saw a corrupt message"
fi
echo "$name: $rounds rounds of SIGKILL + reboot ($cut_rounds of them power cuts, $((cut_rounds / 2)) with noise after the cut), $confirm_rounds with a confirm; $confirmed messages confirmed, $expected still owed, $journaled acks surely journaled; $(cat "$work/check.out")"
finish
