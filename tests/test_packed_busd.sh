#!/bin/sh
# SPDX-License-Identifier: MIT
#
# busd and busctl with packed messages (include/bus/layout.h, "Packed
# messages"): an spsc queue keeps payload, key and headers in its arena.
#
#  - a durable spsc queue with messages of very different sizes and keys
#    survives busd's kill -9 (the segment adopted) and a reboot (the arena
#    refilled from the journal, busd/durable_recover.c), in order, keys
#    kept; a journal larger than a smaller ring_bytes is refused at start,
#    naming the ring_bytes that would do, and is still whole afterwards;
#  - a dead letter from a packed spsc queue reaches its mpmc dead-letter
#    queue with payload and key (busd/queue_dead_letter.c);
#  - a recorded single-publisher topic's journal holds each record's
#    payload and key (busd/topic_record_ring.c);
#  - a config whose dead-letter queue's header_room is below the packed
#    source's extension limit (512 when header_room is 0) is refused;
#  - busctl create --ring-bytes (queues and topics), busctl stat (text
#    and JSON), a runtime
#    durable queue's ring_bytes kept across a reboot, and bad values
#    refused with clear text.
#
#   sh test_packed_busd.sh BUSD BUSCTL
name=packed_busd
. "$(dirname "$0")/lib.sh"

write_conf() {
	cat >"$work/busd.conf" <<EOF
[bus]
data_dir = $work/data

[queue jobs]
type = spsc
durable = yes
sync = always
slots = 64
max_message = 4096
header_room = 64
ring_bytes = $1

[queue dlq]
durable = yes
sync = always
max_message = 4096
header_room = 64

[topic rec]
max_publishers = 1
record = yes
sync = always
max_message = 4096
header_room = 64
ring_bytes = 16384

[queue work]
type = spsc
durable = yes
sync = always
max_message = 4096
header_room = 64
dead_letter = dlq
max_deliveries = 1
EOF
}

# crash [reboot]: busd killed; with reboot, its segments (and socket) go.
crash() {
	kill -KILL "$busd_pid"
	wait "$busd_pid" 2>/dev/null
	busd_pid=
	[ "${1:-}" = reboot ] &&
		rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]*
	rm -f "$BUS_RUNTIME_DIR/$bus.sock"
}

# A payload of N bytes of letter L.
bytes() {
	head -c "$1" /dev/zero | tr '\0' "$2"
}

# peek_is QUEUE WHAT EXPECTED: "length:key" of every queued message.
peek_is() {
	ctl --json peek "$1"
	got=$(jq -r '"\(.payload | length):\(.key // "")"' "$work/out" |
		tr '\n' ' ')
	checks=$((checks + 1))
	[ "$got" = "$3" ] || fail "$2: '$got', expected '$3'"
}

write_conf 65536
start_busd -c "$work/busd.conf"

ctl stat jobs
expect_in "^ring_bytes  *65536 (packed" out "stat shows the arena of jobs"
ctl --json stat jobs
expect_json "stat --json gives the arena" settings.ring_bytes 65536
ctl --json stat dlq
expect_json "an mpmc queue has no arena" settings.ring_bytes 0

# ---- sizes and keys across kill -9 and a reboot -----------------------
ctl pub jobs --key a.small "$(bytes 1 a)" --confirm
expect_ok "pub a 1-byte message with a key"
ctl pub jobs "$(bytes 3000 b)" --confirm
expect_ok "pub 3000 bytes without a key"
ctl pub jobs --key c.mid --header n=1 "$(bytes 200 c)" --confirm
expect_ok "pub 200 bytes with a key and a header"
ctl pub jobs --key d.large "$(bytes 4096 d)" --confirm
expect_ok "pub max_message bytes with a key"
peek_is jobs "jobs before any crash" "1:a.small 3000: 200:c.mid 4096:d.large "

crash
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "queue 'jobs': journal .*adopted" "$busd_log" ||
	fail "busd adopts jobs after kill -9"
peek_is jobs "jobs after kill -9" "1:a.small 3000: 200:c.mid 4096:d.large "
ctl consume jobs -n 1
expect_stdout "the adopted queue delivers a, its key kept" "[key=a.small] a\n"
ctl pub jobs --key e.tail "$(bytes 77 e)" --confirm
expect_ok "pub after the restart"
sleep 0.3

crash reboot
start_busd -c "$work/busd.conf"
checks=$((checks + 1))
grep -q "queue 'jobs': journal .*rebuilt from it, 4 messages held" \
	"$busd_log" || fail "busd refills jobs' arena from its journal"
peek_is jobs "jobs after a reboot" "3000: 200:c.mid 4096:d.large 77:e.tail "
ctl --json consume jobs -n 2
jq_slurp 'length == 2 and .[0].payload == "'"$(bytes 3000 b)"'" and
	.[1].key == "c.mid" and .[1].headers.n == "1"' \
	"the refilled messages are whole: payload, key, header"
# The producer goes on from the arena head busd left.
for i in 1 2 3 4 5 6 7 8; do
	ctl pub jobs --key "f.$i" "$(bytes $((i * 300)) f)" --confirm
done
peek_is jobs "producing after the refill" \
	"4096:d.large 77:e.tail 300:f.1 600:f.2 900:f.3 1200:f.4 1500:f.5 1800:f.6 2100:f.7 2400:f.8 "

# ---- a journal larger than the arena: refused, kept -------------------
stop_busd
rm -f /dev/shm/shmbus."$bus" /dev/shm/shmbus."$bus"[:%]*
write_conf 8192
"$busd" -f -b "$bus" -c "$work/busd.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a journal larger than ring_bytes"
expect_in "raise ring_bytes to at least [0-9]" err \
	"the refusal names the ring_bytes that would do"
expect_in "journal is kept" err "the refusal says the journal is kept"
write_conf 65536
start_busd -c "$work/busd.conf"
peek_is jobs "every message back with ring_bytes restored" \
	"4096:d.large 77:e.tail 300:f.1 600:f.2 900:f.3 1200:f.4 1500:f.5 1800:f.6 2100:f.7 2400:f.8 "

# ---- a dead letter from a packed spsc queue ---------------------------
ctl pub work --key dead.key "$(bytes 2500 z)" --confirm
expect_ok "pub to work"
ctl consume work -n 1 --no-ack
expect_ok "consume work without an ack (max_deliveries 1: dead)"
moved=
for _ in $(seq 300); do
	ctl stat dlq
	if grep -q "^depth  *1" "$work/out"; then
		moved=yes
		break
	fi
	sleep 0.1
done
expect "busd moves the dead letter to dlq" [ -n "$moved" ]
peek_is dlq "the dead letter keeps payload and key" "2500:dead.key "
ctl --json peek dlq
jq_check '.payload == "'"$(bytes 2500 z)"'"' "the dead letter's bytes"

# ---- a dead-letter queue below a packed source's limit -----------------
cat >"$work/bad.conf" <<EOF
[queue dlq0]
max_message = 64

[queue src]
type = spsc
max_message = 64
ring_bytes = 8192
dead_letter = dlq0
max_deliveries = 2
EOF
"$busd" -f -b "$bus-bad" -c "$work/bad.conf" >"$work/out" 2>"$work/err"
rc=$?
expect_status 1 "busd refuses a dead-letter queue below the limit"
expect_in "header_room 512 (this spsc queue packs" err \
	"the refusal gives the packed limit"

# ---- a recorded packed topic: the recorder copies from the records ----
ctl stat rec
expect_in "^ring_bytes  *16384 (packed" out "stat shows the topic's arena"
for i in 1 2 3 4 5 6 7 8 9; do
	ctl pub rec --key "r.$i" "$(bytes $((i * 450)) r)"
done
recorded=
for _ in $(seq 300); do
	ctl dump rec --json
	if [ "$(wc -l <"$work/out")" -eq 9 ]; then
		recorded=yes
		break
	fi
	sleep 0.1
done
expect "busd records the nine messages of rec" [ -n "$recorded" ]
jq_slurp '[.[] | "\(.payload | length):\(.key)"] ==
	[range(1; 10) | "\(. * 450):r.\(.)"]' \
	"the journal holds each record's payload and key"

# ---- busctl create --ring-bytes ---------------------------------------
ctl create fast --type spsc --max-message 1024 --ring-bytes 16K
expect_ok "create an spsc queue with --ring-bytes 16K"
ctl stat fast
expect_in "^ring_bytes  *16384 (packed" out "stat shows 16384"
ctl create dflt --type spsc --max-message 2000
ctl --json stat dflt
checks=$((checks + 1))
[ "$(json_value settings.ring_bytes)" -gt 0 ] 2>/dev/null ||
	fail "an spsc queue of max_message over 1 KiB packs, with a default arena"
ctl create small --type spsc --max-message 100
ctl --json stat small
expect_json "an spsc queue of small messages keeps fixed cells" \
	settings.ring_bytes 0
ctl create many --ring-bytes 4096
expect_error "--ring-bytes for an mpmc queue" \
	"ring_bytes applies only to spsc queues"
ctl create odd --type spsc --ring-bytes 1000
expect_error "--ring-bytes not a multiple of 64" "multiple of 64"
ctl create tiny --type spsc --max-message 4096 --ring-bytes 64
expect_error "--ring-bytes below one message" "multiple of 64 from"
ctl create nonsense --type spsc --ring-bytes lots
expect_error "--ring-bytes that is no size" "bad --ring-bytes 'lots'" 2
ctl create feed --topic --max-publishers 1 --ring-bytes 8K
expect_ok "create a single-publisher topic with --ring-bytes 8K"
ctl --json stat feed
expect_json "stat --json gives the topic's arena" settings.ring_bytes 8192
ctl create fanin --topic --max-publishers 4 --ring-bytes 8K
expect_error "--ring-bytes for a topic with several publishers" \
	"max_publishers = 1"
ctl create huge --type spsc --ring-bytes 8G
expect_error "--ring-bytes past 32 bits" "bad --ring-bytes '8G'" 2
# A runtime durable queue keeps its ring_bytes across a reboot.
ctl create kept --type spsc --durable --max-message 512 --ring-bytes 12K
expect_ok "create a durable spsc queue with --ring-bytes"
ctl pub kept --key k "$(bytes 500 k)" --confirm
crash reboot
start_busd -c "$work/busd.conf"
ctl stat kept
expect_in "^ring_bytes  *12288 (packed" out \
	"a runtime durable queue keeps ring_bytes"
peek_is kept "and its message" "500:k "

finish
