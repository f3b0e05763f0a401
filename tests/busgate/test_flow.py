# SPDX-License-Identifier: MIT
"""Flow control through busgate: a SEND into a full queue waits (the
connection is not read meanwhile) rather than fail or drop, a queue whose
policy is reject answers ERROR, and a client that does not read its
socket stops its subscriptions until it drains.  Nothing is lost or
duplicated."""
import threading
import time

from conftest import scaled
from stomputil import Raw, connect


def test_send_into_full_queue_waits_and_loses_nothing(gateway):
    out = gateway.busctl("create", "tiny", "--slots", "4", "--max-message",
                         "256", "--header-room", "256")
    assert out.returncode == 0, out.stderr
    count = scaled(300, 60)
    producer = Raw(gateway.port)
    producer.connect()
    frames = b"".join(b"SEND\ndestination:/queue/tiny\n\nm%05d\0" % i
                      for i in range(count))
    producer.send(frames + b"SEND\ndestination:/queue/tiny\nreceipt:last\n"
                  b"\nend\0")
    time.sleep(0.3)
    # Four fit; the rest wait in the gateway and the socket, and the
    # producer hears nothing yet (no ERROR, no RECEIPT).
    producer.sock.setblocking(False)
    try:
        early = producer.sock.recv(1)
        raise AssertionError("the producer heard %r (or was closed) before "
                             "room was made" % early)
    except BlockingIOError:
        pass
    producer.sock.setblocking(True)
    consumer, got = connect(gateway)
    consumer.subscribe("/queue/tiny", id="s", ack="client-individual")
    bodies = []
    while len(bodies) < count + 1:
        ms = got.wait("messages", len(bodies) + 1)
        assert len(ms) > len(bodies), "stuck at %d" % len(bodies)
        for m in ms[len(bodies):]:
            consumer.ack(m.headers["ack"])
            bodies.append(m.body)
    assert bodies == [b"m%05d" % i for i in range(count)] + [b"end"]
    cmd, headers, _ = producer.frame()
    assert (cmd, headers["receipt-id"]) == ("RECEIPT", "last")
    producer.close()
    consumer.disconnect()


def test_reject_policy_is_an_error(gateway):
    out = gateway.busctl("create", "rejecting", "--slots", "2",
                         "--overflow", "reject", "--header-room", "256")
    assert out.returncode == 0, out.stderr
    raw = Raw(gateway.port)
    raw.connect()
    raw.send(b"".join(b"SEND\ndestination:/queue/rejecting\n\nx\0"
                      for _ in range(3)))
    cmd, headers, body = raw.frame()
    assert cmd == "ERROR" and "refused" in headers["message"]
    assert raw.closed_within(3)
    raw.close()


def test_slow_reader_pauses_and_resumes(gateway):
    count = scaled(2000, 300)
    body = b"z" * 4000
    reader = Raw(gateway.port)
    reader.connect()
    reader.send(b"SUBSCRIBE\nid:s\ndestination:/queue/slow\nreceipt:r\n\n\0")
    assert reader.frame()[0] == "RECEIPT"
    sender, _ = connect(gateway)

    def produce():
        for i in range(count):
            sender.send("/queue/slow", b"%06d" % i + body)

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(1.0)                 # the reader reads nothing meanwhile
    got = []
    while len(got) < count:
        cmd, headers, payload = reader.frame(timeout=10)
        assert cmd == "MESSAGE"
        got.append(payload[:6])
    thread.join()
    assert got == [b"%06d" % i for i in range(count)]
    assert "deliveries paused" in gateway.log()
    assert gateway.alive()
    reader.close()
    sender.disconnect()


def test_more_subscriptions_than_one_waitset_arms():
    # A waitset fd covers 128 futex words; a connection past that is
    # polled every millisecond instead, and still gets every message.
    # Its own gateway makes tiny queues on first use (no busctl per queue).
    from conftest import Gateway
    count = 130
    g = Gateway(extra_config="queue_slots = 2\nmax_message = 64\n"
                             "header_room = 64\n").start()
    try:
        conn, got = connect(g)
        for i in range(count):
            conn.subscribe("/queue/many-%d" % i, id=str(i))
        conn.send("/queue/many-0", b"first", receipt="r")
        got.wait("receipts", 1)
        conn.send("/queue/many-%d" % (count - 1), b"last")
        ms = got.wait("messages", 2)
        assert sorted(m.body for m in ms) == [b"first", b"last"]
        assert "polled every millisecond" in g.log()
        conn.disconnect()
    finally:
        status = g.stop()
    assert status == 0
