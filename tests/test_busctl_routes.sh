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
name=test_busctl_routes
. "$(dirname "$0")/lib.sh"
sub_pid=

# A subscriber left running by a failed check.
on_exit() {
	[ -n "$sub_pid" ] && kill -KILL "$sub_pid" 2>/dev/null
	return 0
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

start_busd -d -c "$work/busd.conf"

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
expect_error "a wildcard key" "keyed" 2
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

finish
