#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_metrics.sh BUSD BUSCTL
#
# busd's Prometheus endpoint ([bus] metrics): busd listens on a loopback
# port (port 0: a free one, which busd logs), and a scrape with curl shows
# the figures of what this test sent and received, in the text format
# (HELP and TYPE lines, one sample per queue or topic); queues created and
# deleted while scrapes run appear and go; bad metrics and log_level
# values are configuration errors naming file and line.  Needs curl: exit
# 77 (skip) without it.  Exit 0 pass, 1 fail.
name=test_metrics
if ! command -v curl >/dev/null 2>&1; then
	echo "$name: curl is missing; skipped"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
churn_pid=

on_exit() {
	stop_pid "$churn_pid"
}

# scrape [PATH]: the page into $work/page, the headers into $work/headers.
scrape() {
	curl -s -S --max-time 10 -D "$work/headers" -o "$work/page" \
		"http://127.0.0.1:$port${1:-/metrics}" 2>"$work/curl.err"
	rc=$?
}

# expect_sample 'NAME{LABELS}' VALUE: that sample has that value.
expect_sample() {
	checks=$((checks + 1))
	got=$(awk -v name="$1" '$1 == name { print $2 }' "$work/page")
	[ "$got" = "$2" ] || fail "$1: expected $2, scraped '$got'"
}

expect_page() {
	checks=$((checks + 1))
	grep -q -e "$1" "$work/page" || fail "$2: expected '$1' in the page"
}

# ---- configuration errors name the file and the line ----------------

expect_bad_config "metrics = 10.1.2.3:9464" "not loopback"
expect_bad_config "metrics = 127.0.0.1" "ADDRESS:PORT"
expect_bad_config "metrics = 127.0.0.1:70000" "ADDRESS:PORT"
expect_bad_config "metrics = example:9464" "not an IPv4 address"
expect_bad_config "log_level = loud" "log_level must be"

# ---- log levels, and journald's priority prefixes ----------------------

# With JOURNAL_STREAM naming busd's stderr, as systemd sets it for a
# service, each line starts with its syslog priority.
: >"$work/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$work/journal.log") \
	"$busd" -f -b "$bus-log" --log-level debug 2>>"$work/journal.log" &
log_pid=$!
for _ in $(seq 100); do
	[ -S "$BUS_RUNTIME_DIR/$bus-log.sock" ] && break
	sleep 0.05
done
stop_pid "$log_pid"
rm -f /dev/shm/shmbus."$bus-log" /dev/shm/shmbus."$bus-log":*
checks=$((checks + 1))
grep -q "^<6>busd\[$bus-log\]: serving bus" "$work/journal.log" ||
	fail "no '<6>' info line: $(cat "$work/journal.log")"
checks=$((checks + 1))
grep -q "^<7>busd\[$bus-log\]: debug: " "$work/journal.log" ||
	fail "no '<7>' debug line with --log-level debug"
checks=$((checks + 1))
grep -qv "^<[3467]>" "$work/journal.log" &&
	fail "a line without a priority: $(grep -v '^<[3467]>' \
		"$work/journal.log")"

"$busd" -f -b "$bus-log" --log-level loud >"$work/out" 2>"$work/err"
rc=$?
checks=$((checks + 1))
[ "$rc" -eq 2 ] || fail "--log-level loud: exit $rc, expected 2"

# ---- scrapes ---------------------------------------------------------

cat >"$work/busd.conf" <<EOF
[bus]
metrics = 127.0.0.1:0
log_level = info
[queue orders]
[topic prices]
EOF
"$busd" -f -b "$bus" -c "$work/busd.conf" 2>"$work/busd.log" &
busd_pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's|.*metrics at http://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' \
		"$work/busd.log")
	[ -n "$port" ] && [ -S "$BUS_RUNTIME_DIR/$bus.sock" ] && break
	sleep 0.05
done
if [ -z "$port" ] || [ "$port" = 0 ]; then
	echo "FAIL: busd did not log its metrics port" >&2
	cat "$work/busd.log" >&2
	exit 1
fi

ctl_ok pub orders one two three four
ctl_ok consume orders -n 1
ctl_ok consume orders -n 1 --no-ack
ctl_ok pub prices p1 p2

scrape
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "curl: exit $rc: $(cat "$work/curl.err")"
checks=$((checks + 1))
grep -qi '^content-type: text/plain; version=0.0.4' "$work/headers" ||
	fail "content type: $(grep -i content-type "$work/headers")"

expect_page '^# HELP shmbus_queue_enqueued_total ' "HELP line"
expect_page '^# TYPE shmbus_queue_enqueued_total counter$' "TYPE counter"
expect_page '^# TYPE shmbus_queue_depth gauge$' "TYPE gauge"
expect_sample "shmbus_bus_info{bus=\"$bus\"}" 1
expect_sample 'shmbus_queues' 1
expect_sample 'shmbus_topics' 1
expect_sample 'shmbus_queue_enqueued_total{queue="orders"}' 4
# The --no-ack consumer exited: its message was delivered and redelivered
# is not counted until someone takes it again.
expect_sample 'shmbus_queue_dequeued_total{queue="orders"}' 2
expect_sample 'shmbus_queue_acked_total{queue="orders"}' 1
expect_sample 'shmbus_queue_depth{queue="orders"}' 3
expect_sample 'shmbus_queue_leased{queue="orders"}' 0
expect_sample 'shmbus_queue_capacity{queue="orders"}' 1024
expect_sample 'shmbus_queue_consumers{queue="orders"}' 0
expect_sample 'shmbus_topic_published_total{topic="prices"}' 2
expect_sample 'shmbus_topic_subscribers{topic="prices"}' 0
expect_sample 'shmbus_queue_backpressure_waits_total{queue="orders"}' 0
# Four were queued before the first consume took one; both consumers have
# exited, so the mark comes from the retired figures.
expect_page '^# TYPE shmbus_queue_high_water gauge$' "TYPE high_water"
expect_sample 'shmbus_queue_high_water{queue="orders"}' 4
expect_page '^# TYPE shmbus_topic_high_water gauge$' "TYPE topic high_water"
expect_sample 'shmbus_topic_high_water{topic="prices"}' 0
# Both receives were of stamped messages: a summary of two.
expect_page '^# TYPE shmbus_queue_latency_seconds summary$' "TYPE summary"
expect_sample 'shmbus_queue_latency_seconds_count{queue="orders"}' 2

# Every sample belongs to a family announced before it.
checks=$((checks + 1))
awk '/^# TYPE / { typed[$3] = 1; next }
     /^#/ { next }
     { name = $1; sub(/\{.*/, "", name); family = name;
       sub(/_(count|sum|bucket)$/, "", family);
       if (!(name in typed) && !(family in typed)) {
               print name; bad = 1 } }
     END { exit bad }' "$work/page" >"$work/untyped" ||
	fail "samples without a TYPE line: $(cat "$work/untyped")"

scrape /nothing
checks=$((checks + 1))
head -n 1 "$work/headers" | grep -q ' 404' ||
	fail "another path: $(head -n 1 "$work/headers")"

# ---- queues come and go while scrapes run -----------------------------

(
	i=0
	while [ "$i" -lt 20 ]; do
		"$busctl" -b "$bus" create "churn$i" --slots 64 >/dev/null &&
			"$busctl" -b "$bus" delete "churn$i" >/dev/null ||
			exit 1
		i=$((i + 1))
	done
) &
churn_pid=$!
scrapes=0
while kill -0 "$churn_pid" 2>/dev/null; do
	scrape
	if [ "$rc" -ne 0 ]; then
		fail "scrape during create/delete: curl exit $rc"
		break
	fi
	scrapes=$((scrapes + 1))
done
wait "$churn_pid"
churn_status=$?
churn_pid=
checks=$((checks + 1))
[ "$churn_status" -eq 0 ] || fail "create/delete while scraping failed"

ctl_ok create later --slots 16
ctl_ok pub later x
scrape
expect_sample 'shmbus_queue_enqueued_total{queue="later"}' 1
expect_sample 'shmbus_queue_capacity{queue="later"}' 16
expect_sample 'shmbus_queues' 2
ctl_ok delete later
scrape
checks=$((checks + 1))
grep -q 'queue="later"' "$work/page" && fail "a deleted queue is scraped"

kill -TERM "$busd_pid"
wait "$busd_pid"
busd_status=$?
busd_pid=
checks=$((checks + 1))
[ "$busd_status" -eq 0 ] ||
	fail "busd exited with $busd_status: $(tail -n 20 "$work/busd.log")"
checks=$((checks + 1))
grep -qi "error\|warning" "$work/busd.log" &&
	fail "busd complained: $(grep "error\|warning" "$work/busd.log")"

echo "$name: $scrapes scrapes during churn"
finish
