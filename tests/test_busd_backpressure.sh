#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busd_backpressure.sh BUSD BUSCTL
#
# backpressure_waits counts messages that waited for room, once each,
# however many slices the producer waits them in (busctl pub waits in
# short slices so that a signal stops it): three messages that each wait
# about half a second count 3, for a queue and for a topic.
name=backpressure
. "$(dirname "$0")/lib.sh"

printf '[queue q]\nslots = 2\n[topic t]\nslots = 2\n' >"$work/busd.conf"
start_busd -c "$work/busd.conf"

ctl pub q one two
expect "filling q: $(cat "$work/err")" [ "$rc" -eq 0 ]
"$busctl" -b "$bus" pub q three four five --timeout 20 \
	>"$work/pub.out" 2>"$work/pub.err" &
pub=$!
for _ in 1 2 3; do
	sleep 0.6
	ctl consume q -n 1 --timeout 5
done
wait "$pub"
expect "pub q: exit $?: $(cat "$work/pub.err")" [ $? -eq 0 ]
ctl stat q --json
waits=$(sed -n 's/.*"backpressure_waits": *\([0-9]*\).*/\1/p' "$work/out")
expect "queue: backpressure_waits is '$waits', expected 3" [ "$waits" = 3 ]

# A topic holds its publisher back for a subscriber that lags a ring.
"$busctl" -b "$bus" sub t -n 5 --timeout 20 >"$work/sub.out" 2>&1 &
sub=$!
sleep 0.5
# The subscriber reads at once; to hold the publisher, stop it.
kill -STOP "$sub"
"$busctl" -b "$bus" pub t a b c d e --timeout 20 \
	>"$work/pub.out" 2>"$work/pub.err" &
pub=$!
sleep 1.5
kill -CONT "$sub"
wait "$pub"
wait "$sub"
ctl stat t --json
waits=$(sed -n 's/.*"backpressure_waits": *\([0-9]*\).*/\1/p' "$work/out")
expect "topic: backpressure_waits is '$waits', expected 1 to 3" \
	sh -c "[ '$waits' -ge 1 ] && [ '$waits' -le 3 ]" 2>/dev/null
finish
