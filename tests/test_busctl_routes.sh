#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_routes.sh BUSD BUSCTL
#
# busctl with routing keys and headers against a private busd: pub --key
# and --header, consume and sub print them before the payload, a queue
# without header_room refuses them with a clear line, create
# --header-room; route ls, add, del and unroutable, and pub to an address
# (every target, no route, the unroutable target).  Exit 0 pass, 1 fail,
# 77 skip.
set -u

busd=${1:-}
busctl=${2:-}
if [ ! -x "$busd" ] || [ ! -x "$busctl" ]; then
	echo "test_busctl_routes: busd or busctl not built; skipped"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/shmbus-busctl-routes-XXXXXX") || exit 1
export BUS_RUNTIME_DIR="$work"
unset BUS_NAME
bus="test-busctl-routes-$$"
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
[queue keyed]
slots = 16
header_room = 128

[queue plain]
slots = 16

[queue red]
header_room = 64

[queue rest]
header_room = 64

[route reds]
from = orders
key = *.red
to = red, keyed

[topic ticks]
slots = 8
max_message = 32
slow_subscriber = overwrite
header_room = 64
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

# ---- keys and headers on a queue ---------------------------------------
ctl pub keyed --key orders.eu.red --header color=red --header n=1 hello
expect_ok "pub with a key and headers"
ctl pub keyed just-a-payload
expect_ok "pub without"
ctl consume keyed -n 2 --timeout 2
expect_stdout "consume prints key and headers" \
	"[key=orders.eu.red color=red n=1] hello\njust-a-payload\n"
ctl pub keyed --header only=header x
ctl consume keyed -n 1 --timeout 2
expect_stdout "a header without a key" "[only=header] x\n"

# ---- clear errors ----------------------------------------------------------
ctl pub plain --key a.b x
expect_error "a key without header_room" "header_room"
ctl pub keyed --key 'a.*' x
expect_error "a wildcard key" "keyed"
ctl pub keyed --header novalue x
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "--header without '=': expected usage (2)"
ctl consume plain -n 1 --timeout 0.2
checks=$((checks + 1))
[ ! -s "$work/out" ] || fail "a refused pub must send nothing"

# ---- create --header-room ------------------------------------------------
ctl create roomy --header-room 64
expect_ok "create --header-room"
ctl pub roomy --key k x
expect_ok "pub with a key to the new queue"
ctl consume roomy -n 1 --timeout 2
expect_stdout "consume from the new queue" "[key=k] x\n"

# ---- a topic ---------------------------------------------------------------
"$busctl" -b "$bus" sub ticks -n 2 --timeout 10 >"$work/sub.out" \
	2>"$work/sub.err" &
sub_pid=$!
wait_subscribers ticks 1
ctl pub ticks --key prices.eu --header src=test 1.5
expect_ok "pub a keyed message to a topic"
ctl pub ticks 2.5
wait "$sub_pid"
rc=$?
sub_pid=
checks=$((checks + 1))
printf '[key=prices.eu src=test] 1.5\n2.5\n' >"$work/want"
if [ "$rc" -ne 0 ] || ! cmp -s "$work/want" "$work/sub.out"; then
	cp "$work/sub.out" "$work/out"
	cp "$work/sub.err" "$work/err"
	fail "sub prints key and headers"
fi

# ---- routes -----------------------------------------------------------------
ctl route ls
expect_stdout "route ls" "route reds: orders [*.red] -> red,keyed\n"
ctl pub orders --key eu.red --header n=2 two-targets
expect_ok "pub to an address"
ctl consume red -n 1 --timeout 2
expect_stdout "the first target" "[key=eu.red n=2] two-targets\n"
ctl consume keyed -n 1 --timeout 2
expect_stdout "the second target" "[key=eu.red n=2] two-targets\n"
ctl pub orders --key eu.blue x
expect_error "no route" "no route"
ctl route unroutable orders rest
expect_ok "route unroutable"
ctl route add blues --from orders --key 'eu.blue' --to red
expect_ok "route add"
ctl route add blues --from orders --to red
expect_error "route add twice" "blues"
ctl route add bad --from orders --key 'a.>.b' --to red
expect_error "route add with a bad pattern" "pattern"
ctl route add incomplete --from orders
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "route add without --to: expected usage (2)"
ctl pub orders --key eu.blue blue-now
expect_ok "pub through the added route"
ctl pub orders --key us.green green
expect_ok "pub to the unroutable target"
ctl consume red -n 1 --timeout 2
expect_stdout "the added route" "[key=eu.blue] blue-now\n"
ctl consume rest -n 1 --timeout 2
expect_stdout "the unroutable target" "[key=us.green] green\n"
ctl route ls --json
checks=$((checks + 1))
grep -q '"name":"blues"' "$work/out" || fail "route ls --json lists blues"
ctl route del blues
expect_ok "route del"
ctl route del blues
expect_error "route del twice" "blues"
ctl route unroutable orders --delete
expect_ok "route unroutable --delete"
ctl route ls
expect_stdout "route ls after the deletes" \
	"route reds: orders [*.red] -> red,keyed\n"

if [ "$failures" -ne 0 ]; then
	echo "test_busctl_routes: $failures of $checks checks failed" >&2
	exit 1
fi
echo "test_busctl_routes: $checks checks passed"
exit 0
