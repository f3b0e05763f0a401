# SPDX-License-Identifier: MIT
"""Topics, wildcard subscriptions, routing by key, request/reply."""
import threading

import pytest

import shmbus


def test_topic_subscribe_and_history(bus, busd):
    name = busd.unique("t")
    bus.create_topic(name, history=4)
    with bus.topic(name) as t:
        t.send(b"early")
        with bus.subscribe(name, history=1) as s:
            t.send(b"late")
            first = s.receive(timeout=2)
            assert bytes(first.payload) == b"early"
            view = first.payload
            second = s.receive(timeout=2)  # finishes the first
            with pytest.raises(ValueError):
                view[0]
            assert bytes(second.payload) == b"late"
            second.release()
            assert s.try_receive() is None
        assert t.last() == b"late"


def test_subscription_receive_refuses_while_previous_is_held(bus, busd):
    name = busd.unique("t")
    bus.create_topic(name)
    with bus.topic(name) as t, bus.subscribe(name) as s:
        t.send(b"one")
        t.send(b"two")
        msg = s.receive(timeout=2)
        held = memoryview(msg)[:2]
        with pytest.raises(BufferError):
            s.receive(timeout=2)
        assert bytes(held) == b"on"
        held.release()
        assert bytes(s.receive(timeout=2).payload) == b"two"


def test_wildcard_subscription(bus, busd):
    base = busd.unique("w")
    names = [f"{base}.eu", f"{base}.us", f"{base}.eu.fx"]
    for name in names:
        bus.create_topic(name)
    with bus.subscribe(f"{base}.*") as star, \
            bus.subscribe(f"{base}.>") as tail:
        assert star.topics == 2 and tail.topics == 3
        for name in names:
            with bus.topic(name) as t:
                t.send(name.encode())
        got = set()
        for _ in range(2):
            msg = star.receive(timeout=2)
            assert msg.topic == bytes(msg.payload).decode()
            got.add(msg.topic)
        assert got == set(names[:2])
        assert star.try_receive() is None
        assert {tail.receive(timeout=2).topic for _ in range(3)} == set(names)
    assert shmbus.subject_match("a.*", "a.b")
    assert not shmbus.subject_match("a.*", "a.b.c")


def test_routing_by_key(bus, busd):
    source = busd.unique("orders")
    red, blue = busd.unique("red"), busd.unique("blue")
    for name in (red, blue):
        bus.create_queue(name, slots=64, max_message=64, header_room=128)
    bus.add_route(busd.unique("r"), source, red, key="orders.red.*")
    bus.add_route(busd.unique("r"), source, [blue], key="orders.blue.>")
    with bus.address(source) as address:
        assert address.send(b"r1", key="orders.red.1") == 1
        assert address.send(b"b1", key="orders.blue.x.y") == 1
        with pytest.raises(shmbus.NotFound):
            address.send(b"nobody", key="orders.green.1")
    with bus.queue(red, "consumer") as r, bus.queue(blue, "consumer") as b:
        with r.receive(timeout=2) as msg:
            assert (bytes(msg.payload), msg.key) == (b"r1", "orders.red.1")
        with b.receive(timeout=2) as msg:
            assert (bytes(msg.payload), msg.key) == (b"b1", "orders.blue.x.y")
        assert r.try_receive() is None and b.try_receive() is None


def responder_thread(busd, service, count, ready):
    with shmbus.connect(busd.name) as own:
        with own.queue(service, "consumer") as requests, \
                own.responder() as responder:
            ready.set()
            for _ in range(count):
                with requests.receive(timeout=5) as msg:
                    responder.reply(msg, b"re:" + bytes(msg.payload))


def test_request_reply(bus, busd):
    service = busd.unique("svc")
    bus.create_queue(service, slots=64, max_message=256, header_room=64)
    with pytest.raises(shmbus.NoResponder):
        bus.request(service, b"anyone?", timeout=1)
    import asyncio
    with pytest.raises(shmbus.NoResponder):
        asyncio.run(bus.request_async(service, b"anyone?", timeout=1))
    ready = threading.Event()
    worker = threading.Thread(target=responder_thread,
                              args=(busd, service, 3, ready))
    worker.start()
    try:
        assert ready.wait(5)
        assert bus.request(service, b"ping", timeout=5) == b"re:ping"
        assert bus.request(service, b"pong", timeout=5) == b"re:pong"
        import asyncio
        reply = asyncio.run(bus.request_async(service, b"async", timeout=5))
        assert reply == b"re:async"
    finally:
        worker.join(10)
    assert not worker.is_alive()


def test_serve_loop(bus, busd):
    service = busd.unique("svc")
    bus.create_queue(service, slots=64, max_message=256, header_room=64)
    with shmbus.connect(busd.name) as other:
        reply_to = busd.unique("reply")
        other.create_queue(reply_to, slots=64, max_message=256)
        result = {}

        def client():
            result["reply"] = other.request(service, b"x", timeout=5,
                                            reply_to=reply_to)

        caller = threading.Thread(target=client)
        # The requester checks for a consumer at once: serve first.
        served = {}
        server = threading.Thread(target=lambda: served.setdefault(
            "n", bus.serve(service, lambda m: bytes(m.payload) * 2,
                           count=1, timeout=5)))
        server.start()
        for _ in range(200):
            if bus.stat(service)["consumers"]:
                break
            threading.Event().wait(0.01)
        caller.start()
        caller.join(10)
        server.join(10)
        assert result["reply"] == b"xx" and served["n"] == 1


def test_topic_loan_and_release_on_exception(bus, busd):
    name = busd.unique("t")
    bus.create_topic(name, max_message=128)
    with bus.topic(name) as t, bus.subscribe(name) as s:
        with t.loan(timeout=1) as m:
            m.payload[:4] = b"zero"
            m.commit(4)
        with pytest.raises(RuntimeError):
            with s.receive(timeout=2) as msg:
                assert bytes(msg.payload) == b"zero"
                raise RuntimeError("subscriber failed")
        assert not msg.live  # released, not nacked: topics do not redeliver
        assert s.try_receive() is None
        with pytest.raises(TypeError):
            t.loan().nack()
