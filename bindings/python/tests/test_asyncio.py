# SPDX-License-Identifier: MIT
"""asyncio: receive_async and async for on the waitset's fd."""
import asyncio

import pytest

import shmbus


def test_receive_async_wakes_on_send(bus, busd):
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    p = bus.queue(name, "producer")
    c = bus.queue(name, "consumer")

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, p.send, b"later")
        started = loop.time()
        msg = await c.receive_async(timeout=5)
        waited = loop.time() - started
        with msg:
            assert bytes(msg.payload) == b"later"
        assert waited >= 0.04
        with pytest.raises(shmbus.Timeout):
            await c.receive_async(timeout=0.05)
        for i in range(3):
            p.send(b"%d" % i)
        got = []
        async for msg in c:
            with msg:
                got.append(bytes(msg.payload))
            if len(got) == 3:
                break
        return got

    assert asyncio.run(main()) == [b"0", b"1", b"2"]
    p.close()
    c.close()


def test_two_subscriptions_awaited_together(bus, busd):
    a, b = busd.unique("ta"), busd.unique("tb")
    bus.create_topic(a)
    bus.create_topic(b)
    ta, tb = bus.topic(a), bus.topic(b)
    sa, sb = bus.subscribe(a), bus.subscribe(b)

    async def one(sub):
        msg = await sub.receive_async(timeout=5)
        data = bytes(msg.payload)
        msg.release()
        return data

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, tb.send, b"b")
        loop.call_later(0.04, ta.send, b"a")
        return await asyncio.gather(one(sa), one(sb))

    assert asyncio.run(main()) == [b"a", b"b"]
    for handle in (ta, tb, sa, sb):
        handle.close()


def test_wildcard_receive_async_sees_a_new_topic(bus, busd):
    base = busd.unique("aw")
    sub = bus.subscribe(f"{base}.>")
    assert sub.topics == 0

    async def main():
        loop = asyncio.get_running_loop()

        def create_and_publish():
            bus.create_topic(f"{base}.new")
            with bus.topic(f"{base}.new") as t:
                t.send(b"fresh")

        loop.call_later(0.02, create_and_publish)
        msg = await sub.receive_async(timeout=5)
        with msg:
            return msg.topic, bytes(msg.payload)

    assert asyncio.run(main()) == (f"{base}.new", b"fresh")
    sub.close()


def test_second_waiter_on_a_handle_is_refused(bus, busd):
    """One add_reader callback per fd: a second coroutine awaiting the
    same handle would silently replace the first one's wake-up."""
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    p = bus.queue(name, "producer")
    c = bus.queue(name, "consumer")

    async def first():
        msg = await c.receive_async(timeout=5)
        with msg:
            return bytes(msg.payload)

    async def main():
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(first())
        await asyncio.sleep(0.05)  # the first waits on the fd now
        with pytest.raises(RuntimeError, match="another coroutine"):
            await c.receive_async(timeout=1)
        loop.call_later(0.02, p.send, b"woken")
        got = await asyncio.wait_for(waiting, 5)
        p.send(b"again")  # the handle is free for the next waiter
        msg = await c.receive_async(timeout=5)
        with msg:
            return got, bytes(msg.payload)

    assert asyncio.run(main()) == (b"woken", b"again")
    p.close()
    c.close()
