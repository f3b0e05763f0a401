# SPDX-License-Identifier: MIT
"""busgate over TCP with stomp.py (Debian python3-stomp): destinations,
ack modes, redelivery, receipts, heart-beats, transactions, request/reply."""
import os
import signal
import subprocess
import sys
import time

from stomputil import Raw, connect, settle


def test_queue_carries_body_and_headers(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/basic", id="s1", ack="auto")
    body = b"bin\0ary\xff" * 10
    conn.send("/queue/basic", body, headers={
        "content-type": "application/octet-stream", "correlation-id": "c-42",
        "x-colour": "red:blue\\green"}, receipt="r-send")
    got.wait("receipts", 1)
    m = got.wait("messages", 1)[0]
    assert m.body == body
    assert m.headers["content-type"] == "application/octet-stream"
    assert m.headers["correlation-id"] == "c-42"
    assert m.headers["x-colour"] == "red:blue\\green"
    assert m.headers["destination"] == "/queue/basic"
    assert m.headers["subscription"] == "s1"
    assert m.headers["message-id"]
    assert got.receipts == ["r-send"]
    conn.disconnect()


def test_versions_10_11_12(gateway):
    for version in ("1.0", "1.1", "1.2"):
        conn, got = connect(gateway, version=version)
        queue = "/queue/v" + version.replace(".", "")
        if version == "1.0":
            conn.subscribe(queue, ack="auto")
        else:
            conn.subscribe(queue, id="x", ack="client")
        conn.send(queue, b"hello " + version.encode())
        m = got.wait("messages", 1)[0]
        assert m.body == b"hello " + version.encode()
        if version == "1.1":
            conn.ack(m.headers["message-id"], "x")
        elif version == "1.2":
            conn.ack(m.headers["ack"])
        conn.disconnect()


def test_topic_fans_out_and_wildcards(gateway):
    a, got_a = connect(gateway)
    b, got_b = connect(gateway)
    a.subscribe("/topic/prices.eu.fx", id="exact")
    b.subscribe("/topic/prices.*.fx", id="star")
    b.subscribe("/topic/prices.#", id="hash")
    c, got_c = connect(gateway)
    c.subscribe("/topic/prices.>", id="gt")
    settle()
    a.send("/topic/prices.eu.fx", b"one")
    a.send("/topic/prices.us", b"two")
    assert [m.body for m in got_a.wait("messages", 1)] == [b"one"]
    got_b.wait("messages", 3)
    star = [m.body for m in got_b.messages if m.headers["subscription"] == "star"]
    hashed = sorted(m.body for m in got_b.messages
                    if m.headers["subscription"] == "hash")
    assert star == [b"one"]
    assert hashed == [b"one", b"two"]
    assert sorted(m.body for m in got_c.wait("messages", 2)) == [b"one", b"two"]
    dest = {m.body: m.headers["destination"] for m in got_c.messages}
    assert dest == {b"one": "/topic/prices.eu.fx", b"two": "/topic/prices.us"}
    settle(0.1)
    assert len(got_a.messages) == 1 and len(got_b.messages) == 3
    for conn in (a, b, c):
        conn.disconnect()


def test_exchange_publishes_through_routes(gateway):
    out = gateway.busctl("create", "red-orders", "--header-room", "1024")
    if out.returncode:
        out = gateway.busctl("create", "red-orders")
    assert out.returncode == 0, out.stderr
    out = gateway.busctl("route", "add", "red", "--from", "orders",
                         "--key", "*.red", "--to", "red-orders")
    assert out.returncode == 0, out.stderr
    conn, got = connect(gateway)
    conn.subscribe("/queue/red-orders", id="r")
    conn.send("/exchange/orders/eu.red", b"routed", receipt="x1")
    got.wait("receipts", 1)
    assert [m.body for m in got.wait("messages", 1)] == [b"routed"]
    conn.send("/exchange/orders/eu.blue", b"nowhere")
    err = got.wait("errors", 1)
    assert err and "no route" in err[0].body.decode() + str(err[0].headers)


def test_client_ack_is_cumulative_and_rest_redelivered(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/cumulative", id="s", ack="client")
    for i in range(3):
        conn.send("/queue/cumulative", b"m%d" % i)
    ms = got.wait("messages", 3)
    assert [m.body for m in ms] == [b"m0", b"m1", b"m2"]
    conn.ack(ms[1].headers["ack"])          # acks m0 and m1
    conn.disconnect()
    conn, got = connect(gateway)
    conn.subscribe("/queue/cumulative", id="s", ack="auto")
    ms = got.wait("messages", 1)
    settle(0.2)
    assert [m.body for m in got.messages] == [b"m2"]
    assert ms[0].headers.get("redelivered") == "true"
    conn.disconnect()


def test_client_individual_ack_and_redelivery(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/individual", id="s", ack="client-individual")
    for i in range(3):
        conn.send("/queue/individual", b"m%d" % i)
    ms = got.wait("messages", 3)
    conn.ack(ms[1].headers["ack"])          # only m1
    conn.disconnect()
    conn, got = connect(gateway)
    conn.subscribe("/queue/individual", id="s", ack="auto")
    got.wait("messages", 2)
    settle(0.2)
    assert sorted(m.body for m in got.messages) == [b"m0", b"m2"]
    conn.disconnect()


def test_auto_ack_leaves_nothing(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/auto", id="s", ack="auto")
    conn.send("/queue/auto", b"once")
    got.wait("messages", 1)
    conn.disconnect()
    conn, got = connect(gateway)
    conn.subscribe("/queue/auto", id="s", ack="auto", receipt="sub")
    got.wait("receipts", 1)
    settle(0.3)
    assert got.messages == []
    conn.disconnect()


def test_nack_redelivers(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/nacked", id="s", ack="client-individual")
    conn.send("/queue/nacked", b"again")
    first = got.wait("messages", 1)[0]
    assert "redelivered" not in first.headers
    conn.nack(first.headers["ack"])
    second = got.wait("messages", 2)[1]
    assert second.body == b"again"
    assert second.headers.get("redelivered") == "true"
    conn.ack(second.headers["ack"])
    conn.disconnect()


def test_prefetch_bounds_unacked(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/prefetch", id="s", ack="client-individual",
                   headers={"prefetch-count": "2"})
    for i in range(5):
        conn.send("/queue/prefetch", b"p%d" % i)
    got.wait("messages", 2)
    settle(0.3)
    assert len(got.messages) == 2
    conn.ack(got.messages[0].headers["ack"])
    got.wait("messages", 3)
    settle(0.2)
    assert len(got.messages) == 3
    for m in got.messages[1:]:
        conn.ack(m.headers["ack"])
    got.wait("messages", 5)
    assert [m.body for m in got.messages] == [b"p%d" % i for i in range(5)]
    for m in got.messages[3:]:
        conn.ack(m.headers["ack"])
    conn.disconnect()


HOLDER = r"""
import sys, time, stomp
conn = stomp.Connection12([("127.0.0.1", int(sys.argv[1]))])
got = []
class L(stomp.ConnectionListener):
    def on_message(self, frame):
        got.append(frame)
conn.set_listener("", L())
conn.connect(wait=True)
conn.subscribe("/queue/killed", id="s", ack="client-individual")
while len(got) < 3:
    time.sleep(0.01)
print("holding", flush=True)
time.sleep(60)
"""


def test_killed_client_messages_redelivered(gateway):
    conn, got = connect(gateway)
    for i in range(3):
        conn.send("/queue/killed", b"k%d" % i)
    holder = subprocess.Popen(["/usr/bin/python3", "-c", HOLDER,
                               str(gateway.port)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"holding"
        conn.subscribe("/queue/killed", id="s", ack="client-individual")
        settle(0.2)
        assert got.messages == []       # the holder has them all
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        ms = got.wait("messages", 3)
        assert sorted(m.body for m in ms) == [b"k0", b"k1", b"k2"]
        assert all(m.headers.get("redelivered") == "true" for m in ms)
        for m in ms:
            conn.ack(m.headers["ack"])
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    conn.disconnect()


def test_receipts_for_each_frame(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/receipts", id="s", receipt="r1")
    conn.send("/queue/receipts", b"x", receipt="r2")
    conn.begin("t1")
    conn.commit("t1")
    conn.unsubscribe("s", receipt="r3")
    got.wait("receipts", 3)
    conn.disconnect(receipt="r4")
    # stomp.py's disconnect returns when its own listener saw the receipt;
    # ours may be called a moment later (seen under ASan's load).
    receipts = got.wait("receipts", 4)
    assert receipts[:3] == ["r1", "r2", "r3"]
    assert "r4" in receipts


def test_transactions_commit_and_abort(gateway):
    conn, got = connect(gateway)
    conn.subscribe("/queue/tx", id="s", ack="client-individual")
    conn.begin("a")
    conn.send("/queue/tx", b"t1", transaction="a")
    conn.send("/queue/tx", b"t2", transaction="a")
    conn.begin("b")
    conn.send("/queue/tx", b"dropped", transaction="b")
    conn.abort("b")
    settle(0.2)
    assert got.messages == []
    conn.commit("a", receipt="c")
    got.wait("receipts", 1)
    ms = got.wait("messages", 2)
    assert [m.body for m in ms] == [b"t1", b"t2"]
    # Acks inside a transaction happen at COMMIT; ABORT forgets them.
    conn.begin("c")
    conn.ack(ms[0].headers["ack"], transaction="c")
    conn.abort("c")
    conn.begin("d")
    conn.ack(ms[1].headers["ack"], transaction="d")
    conn.commit("d")
    conn.disconnect()
    conn, got = connect(gateway)
    conn.subscribe("/queue/tx", id="s", ack="auto")
    got.wait("messages", 1)
    settle(0.2)
    assert [m.body for m in got.messages] == [b"t1"]
    conn.disconnect()


def test_request_reply_through_temp_queue(gateway):
    server, requests = connect(gateway)
    server.subscribe("/queue/service", id="svc", ack="auto")
    client, replies = connect(gateway)
    client.send("/queue/service", b"ping", headers={
        "reply-to": "/temp-queue/answers", "correlation-id": "17"})
    req = requests.wait("messages", 1)[0]
    assert req.headers["reply-to"].startswith("/queue/")
    server.send(req.headers["reply-to"], b"pong",
                headers={"correlation-id": req.headers["correlation-id"]})
    rep = replies.wait("messages", 1)[0]
    assert rep.body == b"pong"
    assert rep.headers["correlation-id"] == "17"
    assert rep.headers["destination"] == "/temp-queue/answers"
    # Another connection's /temp-queue/answers is another queue.
    other, other_replies = connect(gateway)
    other.send("/queue/service", b"ping 2", headers={
        "reply-to": "/temp-queue/answers", "correlation-id": "18"})
    req2 = requests.wait("messages", 2)[1]
    assert req2.headers["reply-to"] != req.headers["reply-to"]
    server.send(req2.headers["reply-to"], b"pong 2",
                headers={"correlation-id": "18"})
    assert [m.body for m in other_replies.wait("messages", 1)] == [b"pong 2"]
    time.sleep(0.2)
    assert [m.body for m in replies.messages] == [b"pong"]
    # The temp queue goes with its connection.
    reply_queue = req.headers["reply-to"][len("/queue/"):]
    assert reply_queue in gateway.busctl("ls").stdout
    client.disconnect()
    deadline = time.monotonic() + 5
    while reply_queue in gateway.busctl("ls").stdout:
        assert time.monotonic() < deadline, "temp queue left behind"
        time.sleep(0.05)
    other.disconnect()
    server.disconnect()


def test_heartbeats_sent_when_asked(gateway):
    raw = Raw(gateway.port)
    cmd, headers, _ = raw.connect(heartbeat="0,100")
    assert cmd == "CONNECTED"
    assert headers["heart-beat"] == "100,100"
    raw.sock.settimeout(2)
    data = b""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and data.count(b"\n") < 3:
        data += raw.sock.recv(100)
    assert data.count(b"\n") >= 3     # one every 100 ms
    raw.close()


def test_silent_client_dropped_after_two_intervals(gateway):
    raw = Raw(gateway.port)
    cmd, _, _ = raw.connect(heartbeat="150,0")
    assert cmd == "CONNECTED"
    start = time.monotonic()
    assert raw.closed_within(3.0)
    assert time.monotonic() - start >= 0.25
    raw.close()
    # One that beats stays.
    raw = Raw(gateway.port)
    raw.connect(heartbeat="150,0")
    for _ in range(8):
        raw.send(b"\n")
        time.sleep(0.1)
    raw.send(b"SEND\ndestination:/queue/hb\nreceipt:alive\n\nx\0")
    cmd, headers, _ = raw.frame()
    assert (cmd, headers.get("receipt-id")) == ("RECEIPT", "alive")
    raw.close()


def test_stomp_responder_answers_a_bus_requester(gateway):
    # busctl request is a libbus requester: its reply-to and numeric
    # correlation id must survive the trip through STOMP and back.
    server, requests = connect(gateway)
    server.subscribe("/queue/bus-service", id="svc", ack="client-individual",
                     receipt="ready")
    requests.wait("receipts", 1)
    requester = subprocess.Popen(
        [os.environ["BUSCTL"], "-b", gateway.bus, "request", "bus-service",
         "question", "--timeout", "5"], env=gateway.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        req = requests.wait("messages", 1)[0]
        assert req.body == b"question"
        assert req.headers["reply-to"].startswith("/queue/")
        assert req.headers["correlation-id"].isdigit()
        server.send(req.headers["reply-to"], b"answer", headers={
            "correlation-id": req.headers["correlation-id"]})
        server.ack(req.headers["ack"])
        out, err = requester.communicate(timeout=10)
    finally:
        if requester.poll() is None:
            requester.kill()
            requester.wait()
    assert requester.returncode == 0, err
    assert b"answer" in out
    server.disconnect()


def test_ttl_and_expires(gateway):
    conn, got = connect(gateway)
    now_ms = int(time.time() * 1000)
    conn.send("/queue/expiring", b"short", headers={"ttl": "100"})
    conn.send("/queue/expiring", b"gone", headers={"expires": str(now_ms + 100)})
    conn.send("/queue/expiring", b"rabbit", headers={"expiration": "100"})
    conn.send("/queue/expiring", b"long", headers={"ttl": "60000"})
    conn.send("/queue/expiring", b"later",
              headers={"expires": str(now_ms + 60000)}, receipt="sent")
    got.wait("receipts", 1)
    time.sleep(0.4)
    conn.subscribe("/queue/expiring", id="s")
    got.wait("messages", 2)
    time.sleep(0.2)
    assert [m.body for m in got.messages] == [b"long", b"later"]
    conn.disconnect()


def test_nacked_past_max_deliveries_goes_to_dead_letters(gateway):
    for args in (("jobs-dead", "--header-room", "1024"),
                 ("jobs-dl", "--header-room", "1024", "--max-deliveries",
                  "2", "--dead-letter", "jobs-dead")):
        out = gateway.busctl("create", *args)
        assert out.returncode == 0, out.stderr
    conn, got = connect(gateway)
    conn.subscribe("/queue/jobs-dl", id="s", ack="client-individual")
    conn.subscribe("/queue/jobs-dead", id="d", ack="auto")
    conn.send("/queue/jobs-dl", b"poison", headers={"x-kind": "bad"})
    first = got.wait("messages", 1)[0]
    conn.nack(first.headers["ack"])
    second = got.wait("messages", 2)[1]
    assert second.headers["subscription"] == "s"
    conn.nack(second.headers["ack"])
    dead = got.wait("messages", 3)[2]
    assert dead.headers["subscription"] == "d" and dead.body == b"poison"
    assert dead.headers["x-kind"] == "bad"
    conn.disconnect()
