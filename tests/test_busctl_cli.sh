#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_busctl_cli.sh BUSD BUSCTL
#
# busctl as scripts and operators use it (issue 15), against a private
# busd: help for every command, -b and --json anywhere, ls's header row,
# --json of ls, stat, top, peek, consume and sub, latencies in human
# units, pub going on past a bad message, --key with wildcards, --ttl,
# --reply, --correlation, request, sub --with-topic and the '[' escape.
# Exit 0 pass, 1 fail, 77 skip.
name=test_busctl_cli
. "$(dirname "$0")/lib.sh"

# A helper left running by a failed check.
on_exit() {
	[ -n "${helper_pid:-}" ] && kill -KILL "$helper_pid" 2>/dev/null
	return 0
}
conf='[bus]'
start_busd_with_conf
b="-b $bus"

# ---- help ----------------------------------------------------------------
busctl_run --help
expect_status 0 "--help"
commands=$(sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' "$work/out")
checks=$((checks + 1))
[ "$(echo "$commands" | wc -w)" -ge 14 ] || fail "--help lists the commands"
# The summary once ran --header-room into --owner's text.
expect_not_in "header-room" out "--help is a summary, one line a command"
for c in $commands; do
	busctl_run help "$c"
	expect_status 0 "help $c"
	expect_in "^Usage: busctl $c" out "help $c: usage line"
	expect_in "^Examples:" out "help $c: examples"
	cp "$work/out" "$work/help"
	busctl_run "$c" --help
	expect_status 0 "$c --help"
	checks=$((checks + 1))
	cmp -s "$work/help" "$work/out" || fail "$c --help is not help $c"
done
busctl_run help create
expect_in "^  --header-room BYTES  *room for routing keys" out \
	"help create: --header-room with its own text"
expect_in "^  --owner USER  *who owns it" out "help create: --owner"
busctl_run help nosuch
expect_status 2 "help of an unknown command"

# ---- global options anywhere, ls's header ----------------------------------
busctl_run ls -b "$bus"
expect_status 0 "ls -b NAME after the command"
expect_stdout "ls of an empty bus is its header row" \
	"NAME KIND       DEPTH HIGH_WATER   CAPACITY\n"
busctl_run ls --json -b "$bus"
expect_stdout "ls --json of an empty bus" "[]\n"
busctl_run --json ls --bus="$bus"
expect_stdout "--json before the command, --bus=NAME" "[]\n"
busctl_run ls -b
expect_status 2 "-b without a name"

busctl_run create orders --slots 8 --max-message 16 --header-room 128 \
	--ttl 60000 -b "$bus"
expect_status 0 "create -b after the options"
busctl_run create prices.eu --topic --header-room 64 --history 4 $b
busctl_run create prices.us --topic $b
busctl_run ls $b
expect_in "^NAME  *KIND  *DEPTH  *HIGH_WATER  *CAPACITY$" out "ls header"
expect_in "^orders  *queue  *0  *0  *8$" out "ls row"

# ---- stat --json: name, kind and settings ---------------------------------
busctl_run stat orders --json $b
expect_status 0 "stat --json"
jq_check '.name == "orders" and .kind == "queue"' "stat --json name, kind"
jq_check '.settings.slots == 8 and .settings.max_message == 16 and
	.settings.header_room == 128 and .settings.ttl_ms == 60000 and
	.settings.overflow == "block" and .settings.dead_letter == null and
	.mode == "0660"' "stat --json settings"
busctl_run stat prices.eu --json $b
jq_check '.kind == "topic" and .settings.history == 4 and
	.settings.slow_subscriber == "block" and .settings.header_room == 64' \
	"stat --json of a topic"

# ---- pub: each failure reported, the rest sent ---------------------------
busctl_run pub orders one 12345678901234567 three $b
expect_status 1 "pub with one message too large"
expect_in "pub orders: argument 2 has 17 bytes, max_message is 16" err \
	"pub names the argument that failed"
expect_in "1 of 3 messages failed" err "pub counts the failures"
busctl_run_input "four
12345678901234567890
five
" pub orders $b
expect_status 1 "pub from stdin with a line too large"
expect_in "pub orders: line 2 has 20 bytes" err "pub names the line"
busctl_run consume orders -n 4 --timeout 5 $b
expect_stdout "pub went on past the bad messages" "one\nthree\nfour\nfive\n"
# Through an address, a failed commit leaves a loan open: pub must still
# send the messages after it.
busctl_run route add to-orders --from orders-in --to orders $b
busctl_run pub orders-in six 12345678901234567 seven $b
expect_status 1 "pub through an address with one message too large"
expect_in "pub orders-in: argument 2 (17 bytes)" err \
	"pub through an address names the argument"
busctl_run consume orders -n 2 --timeout 5 $b
expect_stdout "pub through an address went on" "six\nseven\n"
busctl_run route del to-orders $b

busctl_run pub orders --key 'a.*' x $b
expect_status 2 "pub --key with a wildcard"
expect_in "cannot contain wildcards" err "--key 'a.*' says why"
expect_not_in "invalid argument" err "--key 'a.*' is not 'invalid argument'"

# ---- consume --json, --ttl, --reply, escapes ------------------------------
busctl_run pub orders --key eu.red --header n=1 --reply prices.us --ttl 60000 \
	'[x] y' $b
expect_status 0 "pub --key --header --reply --ttl"
busctl_run peek orders --json $b
jq_check '.queue == "orders" and .payload == "[x] y" and .sequence >= 0 and
	.key == "eu.red" and .headers.n == "1" and .reply_to == "prices.us"' \
	"peek --json, with the key, headers and reply-to"
busctl_run peek orders --headers $b
expect_in "^# sequence=[0-9]* producer=[0-9]* deliveries=[0-9]* length=5" out \
	"peek --headers: the fields"
expect_in '^\[key=eu.red reply-to=prices.us n=1\] \\\[x\] y$' out \
	"peek --headers: the key and headers, as consume prints them"
busctl_run consume orders -n 1 --json $b
expect_status 0 "consume --json"
jq_check '.queue == "orders" and .key == "eu.red" and .headers.n == "1" and
	.reply_to == "prices.us" and .expiry_ns > 0 and .delivery_count == 1
	and .encoding == "utf8" and .payload == "[x] y" and
	(.publish_time_ns | type) == "number"' "consume --json fields"
busctl_run pub orders '[not a prefix' '\back' $b
busctl_run consume orders -n 2 $b
expect_stdout "a leading [ or \\ is escaped" '\\[not a prefix\n\\\\back\n'
printf 'a\377b\n' >"$work/in"
"$busctl" $b pub orders <"$work/in" >/dev/null 2>&1
busctl_run consume orders -n 1 --json $b
jq_check '.encoding == "base64" and .payload == "Yf9i"' \
	"a payload that is not UTF-8 is base64"

busctl_run pub orders --ttl 1 short-lived $b
sleep 0.2
busctl_run consume orders --timeout 0.3 $b
expect_stdout "a message past its --ttl is never delivered" ""
busctl_run stat orders --json $b
jq_check '.expired >= 1' "the expired message is counted"

# ---- latencies in human units ----------------------------------------------
busctl_run stat orders $b
expect_in "^latency  *[0-9]* receives: min [0-9.]* [nµm]*s p50 [0-9.]* [nµm]*s " \
	out "stat's latency in human units"
busctl_run stat orders --json $b
jq_check '(.latency.p50_ns | type) == "number" and
	(.latency.p50_ns | floor) == .latency.p50_ns' "JSON keeps integer ns"

# ---- sub: --json, --with-topic ---------------------------------------------
"$busctl" $b sub 'prices.>' -n 2 --json --timeout 10 >"$work/sub.json" \
	2>"$work/sub.err" &
helper_pid=$!
"$busctl" $b sub 'prices.>' -n 2 --with-topic --timeout 10 \
	>"$work/sub.txt" 2>&1 &
sub2_pid=$!
i=0
until "$busctl" $b stat prices.us --json 2>/dev/null |
	grep -q '"subscribers": 2'; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.05
done
busctl_run pub prices.eu --key eu.fx 1.5 $b
busctl_run pub prices.us 2.5 $b
wait "$helper_pid"
helper_pid=
wait "$sub2_pid"
cp "$work/sub.json" "$work/out"
jq_slurp 'map(select(.payload == "1.5"))[0] | .topic == "prices.eu" and
	.key == "eu.fx"' "sub --json names the topic of a wildcard's message"
jq_slurp 'map(select(.payload == "2.5"))[0] | .topic == "prices.us"' \
	"sub --json: the other topic"
cp "$work/sub.txt" "$work/out"
expect_in "^prices.eu	\[key=eu.fx\] 1.5$" out "sub --with-topic"
expect_in "^prices.us	2.5$" out "sub --with-topic, the other topic"

# ---- top --json --------------------------------------------------------------
busctl_run pub orders a b c $b
busctl_run top --json -n 2 --interval 100 --sort depth $b
expect_status 0 "top --json -n 2"
checks=$((checks + 1))
[ "$(wc -l <"$work/out")" -eq 2 ] || fail "top --json -n 2: two lines"
jq_check '.rows[0].name == "orders" and .rows[0].depth == 3 and
	(.rows | map(.name) | index("prices.eu")) != null' \
	"top --json rows, sorted by depth"
busctl_run top --json $b
checks=$((checks + 1))
[ "$(wc -l <"$work/out")" -eq 1 ] || fail "top --json: one snapshot"
busctl_run top --sort size $b
expect_status 2 "top --sort of an unknown column"

# ---- request ---------------------------------------------------------------
busctl_run create service --header-room 64 $b
# A responder in shell: consume the request, reply to its reply-to name
# with its correlation id.
(
	"$busctl" $b consume service -n 1 --json --timeout 10 >"$work/req" &&
	"$busctl" $b pub "$(jq -r .reply_to "$work/req")" \
		--correlation "$(jq -r .correlation_id "$work/req")" \
		"pong $(jq -r .payload "$work/req")"
) &
helper_pid=$!
i=0
until "$busctl" $b stat service --json 2>/dev/null |
	grep -q '"consumers": 1'; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.05
done
if command -v jq >/dev/null 2>&1; then
	busctl_run request service ping --timeout 10 $b
	expect_status 0 "request"
	expect_stdout "request prints the reply" "pong ping\n"
fi
wait "$helper_pid"
helper_pid=
busctl_run request service ping --timeout 0.2 $b
expect_status 1 "request without a responder"
expect_in "nothing consumes from" err "request says why"
busctl_run ls $b
expect_not_in "busctl-reply" out "request deletes its reply queue"

finish
