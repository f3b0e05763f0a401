#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test_dashboard.sh BUSD BUSCTL ARTIFACT_DIR
#
# busd's live dashboard in a real browser.  A private busd with
# [bus] dashboard on a free loopback port (port 0, read from busd's log)
# and metrics on another; a queue and a topic with a paced producer and a
# consumer or subscriber each (busctl pub, consume, sub).  Then:
#   - headless chromium renders http://127.0.0.1:PORT/ for 5 s of
#     virtual time (--dump-dom): the queue's and topic's rows are there
#     with numbers (rates above 0, depth, one consumer or subscriber),
#     the status says live, and each reader has a histogram card;
#   - the same page at the metrics address's /;
#   - a screenshot (1280x900) is kept in ARTIFACT_DIR, whose path is
#     printed;
#   - /api/state is valid JSON, still answers while idle and half-sent
#     connections are open, and busd's control socket answers meanwhile;
#     it stays whole JSON while queues are created and deleted;
#   - bad dashboard values are configuration errors naming file and line.
# Exit 77 (skip) without chromium, curl or python3; 0 pass, 1 fail.
name=test_dashboard
artifacts=${3:-.}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	echo "$name: chromium is missing; skipped"
	exit 77
fi
for tool in curl python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$name: $tool is missing; skipped"
		exit 77
	fi
done

. "$(dirname "$0")/lib.sh"

# ---- configuration errors name the file and the line ----------------------

expect_bad_config "dashboard = 10.1.2.3:8080" "dashboard address '10.1.2.3' is not loopback"
expect_bad_config "dashboard = 127.0.0.1" "dashboard must be ADDRESS:PORT"
expect_bad_config "dashboard = example:80" "dashboard address 'example' is not an IPv4"

# ---- a bus with traffic -------------------------------------------------------

cat >"$work/busd.conf" <<CONF
[bus]
metrics = 127.0.0.1:0
dashboard = 127.0.0.1:0
CONF
"$busd" -f -b "$bus" -c "$work/busd.conf" 2>"$work/busd.log" &
busd_pid=$!
for _ in $(seq 100); do
	grep -q "serving bus" "$work/busd.log" 2>/dev/null && break
	sleep 0.05
done
port=$(sed -n 's|.*dashboard at http://127.0.0.1:\([0-9]*\)/$|\1|p' \
	"$work/busd.log" | tail -n 1)
metrics_port=$(sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' \
	"$work/busd.log")
if [ -z "$port" ] || [ -z "$metrics_port" ]; then
	echo "FAIL: no dashboard or metrics port in busd's log:" >&2
	cat "$work/busd.log" >&2
	exit 1
fi
[ "$port" != "$metrics_port" ] || fail "one port for both: $port"

"$busctl" -b "$bus" create orders >/dev/null || fail "create orders"
"$busctl" -b "$bus" create prices --topic >/dev/null || fail "create prices"
"$busctl" -b "$bus" consume orders >/dev/null 2>"$work/consume.err" &
track_pid $!
"$busctl" -b "$bus" sub prices >/dev/null 2>"$work/sub.err" &
track_pid $!
# Paced: a few hundred messages a second, for as long as the test runs.
# Each loop ends at its first failed write once busctl pub is gone (by
# the error, should SIGPIPE be ignored where the test runs).
(while echo order; do sleep 0.002; done) |
	"$busctl" -b "$bus" pub orders 2>/dev/null &
track_pid $!
(while echo tick; do sleep 0.002; done) |
	"$busctl" -b "$bus" pub prices 2>/dev/null &
track_pid $!
sleep 1

# ---- the browser ---------------------------------------------------------------

# browse URL ARGS...: headless chromium as root, nothing fetched but URL.
browse() {
	url=$1
	shift
	profile=$(mktemp -d "$work/profile-XXXXXX")
	timeout 90 "$chromium" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --virtual-time-budget=5000 \
		"$@" "$url" 2>>"$work/chromium.log"
}

# check_dom FILE WHERE: the rendered page shows the bus's figures.
check_dom() {
	python3 - "$1" <<'PY' || fail "$2: the rendered page is wrong (above)"
import re, sys
dom = open(sys.argv[1]).read()
errors = []
def row(table, name):
    body = re.search(r'<table id="%s">(.*?)</table>' % table, dom, re.S)
    if not body:
        errors.append("no table " + table)
        return []
    tr = re.search(r'<tr data-name="%s">(.*?)</tr>' % name, body.group(1),
                   re.S)
    if not tr:
        errors.append("no row for %s in %s" % (name, table))
        return []
    return [re.sub(r"<[^>]*>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", tr.group(1), re.S)]
def number(text):
    return int(text.replace(",", "")) if re.fullmatch(r"[0-9,]+", text) \
        else None
q = row("queues", "orders")
if q:
    # queue, type, in/s, out/s, depth, leased, capacity, producers,
    # consumers, rejected, p50, p99, p99.9
    if q[1] != "mpmc": errors.append("orders type %r" % q[1])
    for i, what in ((2, "in msgs/s"), (3, "out msgs/s")):
        if not number(q[i]): errors.append("orders %s %r" % (what, q[i]))
    if number(q[4]) is None: errors.append("orders depth %r" % q[4])
    if number(q[6]) != 1024: errors.append("orders capacity %r" % q[6])
    if q[7] != "1" or q[8] != "1":
        errors.append("orders producers/consumers %r %r" % (q[7], q[8]))
    if not re.search(r"[0-9.]+ (ns|µs|ms|s)$", q[10]):
        errors.append("orders p50 %r" % q[10])
t = row("topics", "prices")
if t:
    # topic, in/s, out/s, max lag, capacity, publishers, subscribers, ...
    for i, what in ((1, "in msgs/s"), (2, "out msgs/s")):
        if not number(t[i]): errors.append("prices %s %r" % (what, t[i]))
    if t[5] != "1" or t[6] != "1":
        errors.append("prices publishers/subscribers %r %r" % (t[5], t[6]))
for name in ("orders", "prices"):
    card = re.search(r'<div class="plot" data-name="%s">(.*?)<canvas' % name,
                     dom, re.S)
    if not card or not re.search(r"received [0-9,]+", card.group(1)):
        errors.append("no histogram card for " + name)
if not re.search(r'<span id="status-text">live', dom):
    errors.append("status is not live")
if errors:
    print("\n".join(errors))
    print(dom[:4000])
    sys.exit(1)
PY
}

if browse "http://127.0.0.1:$port/" --dump-dom >"$work/dom.html"; then
	check_dom "$work/dom.html" "dashboard listener"
else
	fail "chromium --dump-dom failed: $(tail -5 "$work/chromium.log")"
fi
if browse "http://127.0.0.1:$metrics_port/" --dump-dom \
	>"$work/dom-metrics.html"; then
	check_dom "$work/dom-metrics.html" "metrics address"
else
	fail "chromium --dump-dom (metrics address) failed"
fi

mkdir -p "$artifacts"
shot=$(cd "$artifacts" && pwd)/dashboard.png
rm -f "$shot"
browse "http://127.0.0.1:$port/" --screenshot="$shot" \
	--window-size=1280,900 >/dev/null
if [ -s "$shot" ]; then
	echo "test_dashboard: screenshot at $shot"
else
	fail "no screenshot: $(tail -5 "$work/chromium.log")"
fi

# ---- the JSON, and clients that do not finish their request ------------------

python3 - "$port" >"$work/idle.log" 2>&1 <<'PY' &
import socket, sys, time
idle = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        for _ in range(4)]
half = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
half.sendall(b"GET /api/state HTTP/1.1\r\nHost: x\r\n")
time.sleep(8)
PY
idle_pid=$!
track_pid "$idle_pid"
sleep 0.5
if curl -s -S --max-time 5 -o "$work/state.json" \
	"http://127.0.0.1:$port/api/state" 2>"$work/curl.err"; then
	python3 -m json.tool "$work/state.json" >/dev/null ||
		fail "/api/state is not JSON"
	grep -q '"name": "orders"' "$work/state.json" ||
		fail "/api/state lacks orders"
else
	fail "/api/state with idle clients open: $(cat "$work/curl.err")"
fi
timeout 5 "$busctl" -b "$bus" ls >/dev/null 2>&1 ||
	fail "busd's control socket did not answer with idle web clients"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	-X POST "http://127.0.0.1:$port/api/state")
[ "$code" = 405 ] || fail "POST /api/state: HTTP $code, expected 405"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	"http://127.0.0.1:$port/nothing-here")
[ "$code" = 404 ] || fail "GET /nothing-here: HTTP $code, expected 404"
stop_pid "$idle_pid"

# Queues come and go while the state is read: every read is whole JSON and
# busd lives on (the snapshot is taken under the registry lock).
(for i in $(seq 30); do
	"$busctl" -b "$bus" create "churn$i" >/dev/null 2>&1
	"$busctl" -b "$bus" delete "churn$i" >/dev/null 2>&1
done) &
churn_pid=$!
track_pid "$churn_pid"
for i in $(seq 30); do
	curl -s --max-time 5 "http://127.0.0.1:$port/api/state" \
		>"$work/churn.json" 2>/dev/null ||
		{ fail "/api/state during churn: read $i failed"; break; }
	python3 -m json.tool "$work/churn.json" >/dev/null 2>&1 ||
		{ fail "/api/state during churn: read $i is not JSON"; break; }
done
wait "$churn_pid"
kill -0 "$busd_pid" 2>/dev/null || fail "busd died during the churn"

stop_tracked
# A clean stop, sanitizer reports included, is exit 0.
kill -TERM "$busd_pid"
wait "$busd_pid"
rc=$?
busd_pid=
[ "$rc" -eq 0 ] || fail "busd exited $rc on SIGTERM: $(tail -20 "$work/busd.log")"
finish
