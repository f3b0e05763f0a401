#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_topics.sh BUSD BUSCTL
#
# busctl with topics against a private busd: sub prints exactly the
# payloads published after it subscribed (or the history it asked for),
# pub finds out by itself that a name is a topic, stat shows subscribers
# with their lag, create --topic and delete, and one-line errors.  Exit 0
# pass, 1 fail, 77 skip.
name=test_busctl_topics
. "$(dirname "$0")/lib.sh"
sub_pid=

# A subscriber left running by a failed check.
on_exit() {
	[ -n "$sub_pid" ] && kill -KILL "$sub_pid" 2>/dev/null
	return 0
}

# ---- start a private busd ---------------------------------------------
cat >"$work/busd.conf" <<EOF
[queue q]
slots = 16

[topic news]
slots = 8
max_message = 16
history = 4
EOF

start_busd -d -c "$work/busd.conf"

# ---- sub sees what is published after it subscribed --------------------
ctl pub news before
expect_ok "pub to a topic nobody reads"

"$busctl" -b "$bus" sub news -n 3 --timeout 10 >"$work/sub.out" \
	2>"$work/sub.err" &
sub_pid=$!
wait_subscribers news 1
ctl stat news
expect_ok "stat of a topic"
checks=$((checks + 1))
grep -q '^slot .*lag' "$work/out" || fail "stat: no subscriber table"
grep -q '^subscribers  *1$' "$work/out" || fail "stat: not 1 subscriber"

printf 'one\ntwo\nthree\n' >"$work/in"
"$busctl" -b "$bus" pub news <"$work/in" >"$work/out" 2>"$work/err"
rc=$?
expect_ok "pub to a topic from stdin"
wait "$sub_pid"
rc=$?
sub_pid=
cp "$work/sub.out" "$work/out"
cp "$work/sub.err" "$work/err"
expect_ok "sub -n 3"
expect_stdout "sub -n 3" "one\ntwo\nthree\n"

# ---- history ------------------------------------------------------------
ctl sub news -n 2 --history 2 --timeout 5
expect_ok "sub --history 2"
expect_stdout "sub --history 2" "two\nthree\n"

ctl sub news --history 5
expect_error "sub --history above the topic's" "history"

# ---- timeouts -----------------------------------------------------------
ctl sub news --timeout 0.2
expect_ok "sub --timeout with nothing new"
expect_stdout "sub --timeout with nothing new" ""

ctl sub news -n 2 --history 1 --timeout 0.2
checks=$((checks + 1))
[ "$rc" -eq 1 ] || fail "sub -n 2 short: expected exit 1"
grep -q "timed out after 1 of 2" "$work/err" ||
	fail "sub -n 2 short: no timeout line"
expect_stdout "sub -n 2 short" "three\n"

# ---- stat --json ----------------------------------------------------------
ctl stat news --json
expect_ok "stat --json of a topic"
expect_json "stat --json" published 4
expect_json "stat --json" subscribers 0
expect_json "stat --json" capacity 8
expect_json "stat --json" lost 0
checks=$((checks + 1))
grep -q '"subscriber_slots"' "$work/out" ||
	fail "stat --json: no subscriber_slots"

# ---- create, ls, delete -------------------------------------------------
ctl create alerts --topic --slots 16 --slow-subscriber overwrite
expect_ok "create --topic"
ctl ls
expect_ok "ls"
checks=$((checks + 1))
grep -q '^alerts  *topic ' "$work/out" || fail "ls: alerts is no topic"
grep -q '^q  *queue ' "$work/out" || fail "ls: q is no queue"
ctl stat alerts
checks=$((checks + 1))
grep -q '^slow_subscriber  *overwrite$' "$work/out" ||
	fail "stat alerts: not overwrite"
ctl create alerts --topic
expect_error "create --topic of a taken name" "already exists"
ctl create q2 --topic --overflow reject
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "create --topic --overflow: expected usage (2)"
ctl create q2 --max-subscribers 3
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "create --max-subscribers: expected usage (2)"
ctl delete alerts
expect_ok "delete a topic"
ctl sub alerts --timeout 0.1
expect_error "sub a deleted topic" "alerts"

# ---- sub PATTERN: every matching topic, those created later too ----------
"$busctl" -b "$bus" sub 'news.*' -n 2 --timeout 10 >"$work/sub.out" \
	2>"$work/sub.err" &
sub_pid=$!
sleep 0.2
ctl create news.eu --topic
expect_ok "create news.eu for a pattern"
wait_subscribers news.eu 1
ctl pub news.eu bonjour
expect_ok "pub news.eu"
ctl pub news not-news-dot-anything
ctl create news.us --topic
wait_subscribers news.us 1
ctl pub news.us hello
expect_ok "pub news.us"
wait "$sub_pid"
rc=$?
sub_pid=
cp "$work/sub.out" "$work/out"
cp "$work/sub.err" "$work/err"
expect_ok "sub 'news.*'"
expect_stdout "sub 'news.*'" "bonjour\nhello\n"
ctl sub 'news.>.x' --timeout 0.1
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "sub with '>' not last: expected usage (2)"

# ---- one namespace, clear errors -----------------------------------------
ctl sub q --timeout 0.1
expect_error "sub a queue" "is a queue"
ctl pub news 12345678901234567
expect_error "pub too large to a topic" "max_message is 16"
ctl pub q still-a-queue
expect_ok "pub to a queue"
ctl consume q -n 1 --timeout 2
expect_stdout "consume after pub to a queue" "still-a-queue\n"

finish
