#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_ops.sh BUSD BUSCTL
#
# The operator's commands: peek shows queued messages in order without
# changing the queue or its figures; purge removes the queued ones, leaves
# leased ones with their consumer, and needs admin rights; top --once draws
# a plain first screen naming every queue and topic when TERM is dumb or
# unset.  The admin check runs as uid 65534 through setpriv(1) when we are
# root; otherwise that part is skipped.  Exit 0 pass, 1 fail, 77 skip.
name=test_busctl_ops
# An unprivileged busctl must reach the socket.
runtime_mode=0755
. "$(dirname "$0")/lib.sh"
holder_pid=

on_exit() {
	stop_pid "$holder_pid"
}

# expect_out TEXT WHAT: stdout is exactly TEXT (lines joined by \n).
expect_out() {
	checks=$((checks + 1))
	printf '%s\n' "$1" >"$work/want"
	cmp -s "$work/want" "$work/out" || fail "$2: expected stdout '$1'"
}

# The figures a queue's stat --json shows, for before/after comparisons.
snapshot() {
	ctl stat "$1" --json
	expect_ok "stat $1"
	cp "$work/out" "$work/$2"
}

cat >"$work/busd.conf" <<EOF
[queue orders]
mode = 0666
[topic prices]
EOF
start_busd -c "$work/busd.conf"

ctl pub orders m1 m2 m3 m4 m5
expect_ok "pub orders"

# A consumer holds m1 (leased, not acked) until it is stopped.
"$busctl" -b "$bus" consume orders --hold >"$work/held" 2>&1 &
holder_pid=$!
for _ in $(seq 100); do
	[ -s "$work/held" ] && break
	sleep 0.05
done
checks=$((checks + 1))
[ "$(cat "$work/held")" = m1 ] || fail "consume --hold: expected m1"

# ---- peek -----------------------------------------------------------

snapshot orders before
expect_in '"depth": 4' before "stat before peek"
expect_in '"leased": 1' before "stat before peek"

ctl peek orders
expect_ok "peek orders"
expect_out "m2
m3
m4
m5" "peek shows the queued messages in order, not the leased one"

ctl peek orders -n 2
expect_ok "peek -n 2"
expect_out "m2
m3" "peek -n 2"

ctl peek orders --count 1 --headers
expect_ok "peek --headers"
expect_in '^# sequence=[0-9]* producer=[0-9]* deliveries=1 length=2' out \
	"peek --headers"
expect_in '^m2$' out "peek --headers payload"

snapshot orders after
checks=$((checks + 1))
cmp -s "$work/before" "$work/after" ||
	fail "peek changed the queue's figures: $(diff "$work/before" \
		"$work/after" | tr '\n' ' ')"

ctl peek prices
expect_status 1 "peek of a topic"
expect_in "topic" err "peek of a topic says it is a topic"

ctl peek orders -n x
expect_status 2 "peek -n x"

# Peeks while a producer and a consumer are at work: every peek shows
# whole messages, in the order they were sent, and the consumer still gets
# each message once.
ctl create stream --slots 64
expect_ok "create stream"
seq 1 100000 | "$busctl" -b "$bus" pub stream 2>"$work/pub.err" &
pub_pid=$!
"$busctl" -b "$bus" consume stream -n 100000 --timeout 60 \
	>"$work/consumed" 2>"$work/consume.err" &
consume_pid=$!
peeks=0
bad_peeks=0
while kill -0 "$pub_pid" 2>/dev/null || kill -0 "$consume_pid" 2>/dev/null
do
	ctl peek stream -n 64
	if [ "$rc" -ne 0 ] || ! awk '$0 !~ /^[0-9]+$/ { exit 1 }
	     NR > 1 && $0 + 0 <= previous { exit 1 }
	     { previous = $0 + 0 }' "$work/out"; then
		bad_peeks=$((bad_peeks + 1))
		cp "$work/out" "$work/bad_peek"
	fi
	peeks=$((peeks + 1))
done
wait "$pub_pid"
pub_status=$?
wait "$consume_pid"
consume_status=$?
checks=$((checks + 1))
if [ "$pub_status" -ne 0 ] || [ "$consume_status" -ne 0 ]; then
	fail "pub ($pub_status) or consume ($consume_status) of stream:" \
		"$(cat "$work/pub.err" "$work/consume.err")"
fi
checks=$((checks + 1))
[ "$bad_peeks" -eq 0 ] ||
	fail "$bad_peeks of $peeks peeks were torn or out of order:" \
		"$(head -c 300 "$work/bad_peek")"
checks=$((checks + 1))
seq 1 100000 | cmp -s - "$work/consumed" ||
	fail "the consumer did not get 1..100000 once each in order"

# ---- purge ----------------------------------------------------------

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$busctl" -b "$bus" purge orders </dev/null \
		>"$work/out" 2>"$work/err"
	rc=$?
	expect_status 1 "purge without admin rights"
	expect_in "permission denied" err "purge without admin rights"
	expect_in "may not purge 'orders'" err "purge without admin rights"
	ctl peek orders
	expect_out "m2
m3
m4
m5" "a refused purge leaves the queue as it was"
else
	echo "test_busctl_ops: not root or no setpriv; admin check skipped"
fi

ctl purge orders
expect_ok "purge orders"
expect_out "purged 4 messages from queue 'orders'" "purge says how many"
ctl stat orders --json
expect_in '"depth": 0' out "purge empties the queue"
expect_in '"leased": 1' out "purge leaves the leased message"

ctl peek orders
expect_ok "peek after purge"
checks=$((checks + 1))
[ -s "$work/out" ] && fail "nothing is queued after purge"

# Stopping the holder makes m1 deliverable again: queued once more.
stop_pid "$holder_pid"
holder_pid=
ctl peek orders --headers
expect_in "deliveries=2 .*redelivered" out \
	"the redelivered message shows its count"
expect_in '^m1$' out "the held message is queued again"

ctl purge orders
expect_ok "purge the redelivered message"
expect_out "purged 1 message from queue 'orders'" "second purge"

ctl purge prices
expect_status 1 "purge of a topic"
ctl purge nosuch
expect_status 1 "purge of an unknown queue"
expect_in "no queue named 'nosuch'" err "purge of an unknown queue"

# ---- top ------------------------------------------------------------

ctl pub orders a b c
expect_ok "pub for top"
for term in dumb unset; do
	if [ "$term" = unset ]; then
		env -u TERM "$busctl" -b "$bus" top --once </dev/null \
			>"$work/out" 2>"$work/err"
	else
		TERM=$term "$busctl" -b "$bus" top --once --interval 100 \
			</dev/null >"$work/out" 2>"$work/err"
	fi
	rc=$?
	expect_ok "top --once (TERM $term)"
	expect_in "^NAME *KIND *IN/s *OUT/s *DEPTH" out \
		"top's header (TERM $term)"
	expect_in "^orders *queue *[0-9.]* *[0-9.]* *3 " out \
		"top shows the queue and its depth (TERM $term)"
	expect_in "^prices *topic " out "top shows the topic (TERM $term)"
	checks=$((checks + 1))
	if tr -d '\n' <"$work/out" | grep -q "$(printf '\033')"; then
		fail "top wrote escape codes with TERM $term"
	fi
done

ctl top --interval 1
expect_status 2 "top --interval below the minimum"

kill -TERM "$busd_pid"
wait "$busd_pid"
rc=$?
busd_pid=
checks=$((checks + 1))
[ "$rc" -eq 0 ] ||
	fail "busd exited with $rc: $(tail -n 20 "$work/busd.log")"

echo "$name: $peeks peeks while messages flowed"
finish
