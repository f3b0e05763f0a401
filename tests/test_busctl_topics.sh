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
set -u

busd=${1:-}
busctl=${2:-}
if [ ! -x "$busd" ] || [ ! -x "$busctl" ]; then
	echo "test_busctl_topics: busd or busctl not built; skipped"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-busctl-topics-XXXXXX") || exit 1
export BUS_RUNTIME_DIR="$work"
unset BUS_NAME
bus="test-busctl-topics-$$"
busd_pid=
sub_pid=
failures=0
checks=0

cleanup() {
	[ -n "$sub_pid" ] && kill -KILL "$sub_pid" 2>/dev/null
	if [ -n "$busd_pid" ]; then
		kill -TERM "$busd_pid" 2>/dev/null
		wait "$busd_pid"
	fi
	for f in /dev/shm/shmbus."$bus":* /dev/shm/shmbus."$bus"; do
		[ -e "$f" ] && rm -f "$f"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
	echo "  exit status: $rc" >&2
	sed 's/^/  stdout: /' "$work/out" >&2
	sed 's/^/  stderr: /' "$work/err" >&2
}

# ctl ARGS...: busctl on our bus; sets rc, $work/out and $work/err.
ctl() {
	"$busctl" -b "$bus" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

expect_ok() {
	checks=$((checks + 1))
	if [ "$rc" -ne 0 ]; then
		fail "$1: expected exit 0"
	elif [ -s "$work/err" ]; then
		fail "$1: expected nothing on stderr"
	fi
}

expect_stdout() {
	checks=$((checks + 1))
	printf '%b' "$2" >"$work/want"
	if ! cmp -s "$work/want" "$work/out"; then
		fail "$1: stdout differs from '$2'"
	fi
}

# expect_error WHAT [WORD]: non-zero exit, nothing on stdout, one line on
# stderr (naming WORD when given).
expect_error() {
	checks=$((checks + 1))
	lines=$(wc -l <"$work/err")
	if [ "$rc" -eq 0 ]; then
		fail "$1: expected a non-zero exit"
	elif [ -s "$work/out" ]; then
		fail "$1: expected nothing on stdout"
	elif [ "$lines" -ne 1 ]; then
		fail "$1: expected one line on stderr, got $lines"
	elif [ $# -ge 2 ] && ! grep -q -- "$2" "$work/err"; then
		fail "$1: the error line does not name '$2'"
	fi
}

# json_value KEY: the number under KEY in $work/out (top level).
json_value() {
	tr -d ' \n' <"$work/out" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

expect_json() {
	checks=$((checks + 1))
	value=$(json_value "$2")
	if [ "$value" != "$3" ]; then
		fail "$1: \"$2\" is '$value', expected $3"
	fi
}

# wait_subscribers TOPIC N: until stat says N subscribers (5 s at most).
wait_subscribers() {
	i=0
	while [ $i -lt 50 ]; do
		ctl stat "$1" --json
		[ "$(json_value subscribers)" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "stat $1: $2 subscribers expected within 5 s"
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

"$busd" -f -d -b "$bus" -c "$work/busd.conf" 2>"$work/busd.log" &
busd_pid=$!
i=0
until "$busctl" -b "$bus" ls >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 100 ] || ! kill -0 "$busd_pid" 2>/dev/null; then
		echo "FAIL: busd did not start within 10 s" >&2
		exit 1
	fi
	sleep 0.1
done

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

if [ "$failures" -ne 0 ]; then
	echo "test_busctl_topics: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_busctl_topics: $checks checks passed"
exit 0
