#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl.sh BUSD BUSCTL
#
# busctl against a private busd: publish and consume round trips, stat
# --json keys, ls, create and delete, and the one-line errors with a
# non-zero exit for an unknown queue, a missing daemon, a message too large
# and a full queue.  Exit 0 pass, 1 fail, 77 skip.
name=test_busctl
. "$(dirname "$0")/lib.sh"

# leftovers: how many segments of the bus are in /dev/shm.
leftovers() {
	segments_of | wc -l
}

# A `consume --hold` left running by a failed check.
on_exit() {
	[ -n "${hold_pid:-}" ] && kill -KILL "$hold_pid" 2>/dev/null
	return 0
}

# ---- start a private busd ---------------------------------------------
cat >"$work/busd.conf" <<EOF
[bus]

[queue q]
type = mpmc
slots = 16
max_message = 32
overflow = reject
max_unacked = 8

[queue spsc-q]
type = spsc
slots = 4
max_message = 16
EOF

start_busd -d -c "$work/busd.conf"

# ---- round trips ------------------------------------------------------
ctl pub q hello world
expect_ok "pub with arguments"
expect_stdout "pub with arguments" ""

ctl_input "line one
line two
" pub q
expect_ok "pub from stdin"
expect_stdout "pub from stdin" ""

ctl pub q -- -dash
expect_ok "pub -- -dash"

ctl stat q --json
expect_ok "stat --json"
for key in depth capacity enqueued dequeued acked consumers; do
	checks=$((checks + 1))
	[ -n "$(json_value $key)" ] || fail "stat --json: no key \"$key\""
done
expect_json "stat --json" depth 5
expect_json "stat --json" capacity 16
expect_json "stat --json" enqueued 5
expect_json "stat --json" consumers 0
# No consumer took anything yet: the high-water mark is the depth now.
expect_json "stat --json" high_water 5

ctl consume q -n 5 --timeout 5
expect_ok "consume -n 5"
expect_stdout "consume -n 5" "hello\nworld\nline one\nline two\n-dash\n"

ctl stat q --json
expect_json "stat after consume" depth 0
expect_json "stat after consume" dequeued 5
expect_json "stat after consume" acked 5
# The consumer saw all five queued before its first take, and has exited:
# its mark lives on in the retired figures (max, not sum).
expect_json "stat after consume" high_water 5

ctl stat q
expect_ok "stat"
checks=$((checks + 1))
grep -q depth "$work/out" || fail "stat: no depth line"

ctl ls
expect_ok "ls"
checks=$((checks + 1))
if ! grep -q "^q\b" "$work/out" || ! grep -q "spsc-q" "$work/out"; then
	fail "ls: q and spsc-q not listed"
fi

ctl_input "a
b
c
" pub spsc-q
expect_ok "pub spsc"
ctl consume spsc-q -n 3 --timeout 5
expect_ok "consume spsc"
expect_stdout "consume spsc" "a\nb\nc\n"

# --no-ack holds the message only while busctl runs.
ctl pub q keep
ctl consume q -n 1 --no-ack --timeout 5
expect_ok "consume --no-ack"
expect_stdout "consume --no-ack" "keep\n"
ctl consume q -n 1 --timeout 5
expect_ok "consume after --no-ack"
expect_stdout "consume after --no-ack" "keep\n"

# --hold keeps the message unacked until busctl is killed.
# hold SIGNAL: holds one message, then is killed with SIGNAL; the message
# must be delivered again.
hold() {
	ctl pub q "held-$1"
	# Removed first: the background shell truncates it in its own time.
	rm -f "$work/hold"
	"$busctl" -b "$bus" consume q --no-ack --hold </dev/null \
		>"$work/hold" 2>"$work/hold-err" &
	hold_pid=$!
	i=0
	while [ ! -s "$work/hold" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	cp "$work/hold" "$work/out"
	rc=0
	expect_stdout "consume --hold ($1)" "held-$1\n"
	checks=$((checks + 1))
	kill -0 "$hold_pid" 2>/dev/null ||
		fail "consume --hold ($1): exited instead of holding"
	# Held, so nothing is left to receive.
	ctl consume q -n 1 --timeout 0.3
	checks=$((checks + 1))
	[ -s "$work/out" ] && fail "consume while --hold holds: got a message"
	kill -"$1" "$hold_pid"
	wait "$hold_pid"
	rc=$?
	hold_pid=
	checks=$((checks + 1))
	if [ "$1" = KILL ]; then
		[ "$rc" -eq 137 ] || fail "consume --hold: not killed by -9"
	else
		[ "$rc" -eq 0 ] || fail "consume --hold: SIG$1 should end it with 0"
	fi
	# kill -9: busd notices the death and hands the message back.
	ctl consume q -n 1 --timeout 5
	expect_ok "consume after consume --hold was killed ($1)"
	expect_stdout "consume after consume --hold was killed ($1)" \
		"held-$1\n"
}
hold KILL
hold TERM

# An empty queue: -n with a timeout ends in an error, prints nothing.
ctl consume q -n 1 --timeout 1
checks=$((checks + 1))
[ "$rc" -ne 0 ] || fail "consume on empty queue: expected a non-zero exit"
[ -s "$work/out" ] && fail "consume on empty queue: printed something"

# ---- create and delete -------------------------------------------------
ctl create newq --slots 64 --max-message 64
expect_ok "create"
ctl ls
checks=$((checks + 1))
grep -q newq "$work/out" || fail "ls after create: newq missing"
ctl pub newq x
expect_ok "pub to created queue"
ctl consume newq -n 1 --timeout 5
expect_stdout "consume from created queue" "x\n"
ctl create newq
expect_error "create an existing queue" newq
ctl delete newq
expect_ok "delete"
ctl ls
checks=$((checks + 1))
grep -q newq "$work/out" && fail "ls after delete: newq still there"

# ---- errors ------------------------------------------------------------
ctl pub nosuch x
expect_error "pub to unknown queue" nosuch
ctl consume nosuch -n 1 --timeout 1
expect_error "consume from unknown queue" nosuch
ctl stat nosuch
expect_error "stat of unknown queue" nosuch
ctl delete nosuch
expect_error "delete unknown queue" nosuch

ctl pub q 123456789012345678901234567890123
expect_error "pub too large"
ctl stat q --json
expect_json "too large was not queued" depth 0

ctl_input "1
2
3
4
5
6
7
8
9
10
11
12
13
14
15
16
17
" pub q
# The 17th line finds no room: pub names it, sends the rest (none here)
# and ends with how many failed.
checks=$((checks + 1))
if [ "$rc" -ne 1 ] || [ -s "$work/out" ] ||
	! grep -q "pub q: line 17: .*full" "$work/err" ||
	! grep -q "1 of 17 messages failed" "$work/err"; then
	fail "pub to a full queue: expected line 17 reported and a count"
fi
ctl consume q -n 16 --timeout 5
expect_ok "drain the full queue"
expect_stdout "drain the full queue" \
	"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n"

ctl pub 'bad/name' x
expect_error "pub to a bad name"

"$busctl" -b "$bus" frobnicate >"$work/out" 2>"$work/err"
rc=$?
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "unknown command: expected exit 2"

"$busctl" -b "$bus-none" pub q x >"$work/out" 2>"$work/err"
rc=$?
expect_error "no daemon for the bus" "$bus-none"

# ---- stop --------------------------------------------------------------
stop_busd
rc=$?
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "busd: SIGTERM should end it with exit 0"
checks=$((checks + 1))
[ "$(leftovers)" -eq 0 ] || fail "busd left segments in /dev/shm"

ctl ls
expect_error "ls after busd stopped" "$bus"

echo "test_busctl: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
