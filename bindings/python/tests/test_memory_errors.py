# SPDX-License-Identifier: MIT
"""100,000 messages without growth, and clear exceptions for bad input."""
import gc
import os
import sys
import tracemalloc

import pytest

import shmbus
from conftest import scaled


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_many_messages_no_growth(bus, busd):
    name = busd.unique()
    bus.create_queue(name, slots=256, max_message=256, header_room=64)
    payload = b"x" * 200
    count = scaled(100000, least=10000)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        def round_trips(n):
            for i in range(n):
                if i & 1:
                    with p.loan() as m:
                        m.payload[:200] = payload
                        m.commit(200)
                else:
                    p.send(payload, key="k.a", headers={"h": "v"})
                msg = c.receive(timeout=5)
                view = msg.payload
                assert view[199] == 120
                if i & 1:
                    msg.ack()
                else:
                    assert msg.key == "k.a"
                    with msg:
                        pass
                del view, msg

        round_trips(2000)  # warm caches and free lists
        gc.collect()
        refs_before = sys.getrefcount(payload)
        objects_before = len(gc.get_objects())
        rss_before = rss_kib()
        tracemalloc.start()
        snapshot_before = tracemalloc.take_snapshot()
        round_trips(count)
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot()
                    .compare_to(snapshot_before, "filename"))
        tracemalloc.stop()
        assert sys.getrefcount(payload) == refs_before
        assert len(gc.get_objects()) - objects_before < 100
        assert grown < 64 * 1024, f"Python allocations grew {grown} bytes"
        if "libasan" not in os.environ.get("LD_PRELOAD", ""):
            # ASan's quarantine holds freed memory back: RSS grows there.
            assert rss_kib() - rss_before < 8 * 1024
    figures = bus.stat(name)
    assert figures["acked"] == count + 2000 and figures["leased"] == 0


def test_bad_arguments_raise_clear_exceptions(bus, busd):
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64, header_room=32)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        with pytest.raises(TypeError):
            p.send("a str is not bytes")
        with pytest.raises(TypeError):
            p.send(12)
        with pytest.raises(ValueError, match="timeout"):
            c.receive(timeout=-1)
        with pytest.raises(TypeError, match="timeout"):
            c.receive(timeout="soon")
        with pytest.raises(ValueError):
            c.receive(timeout=float("nan"))
        with pytest.raises(shmbus.MessageTooLarge) as too_large:
            p.send(b"x" * 65)
        assert isinstance(too_large.value, ValueError)
        assert "max_message 64" in str(too_large.value)
        with pytest.raises(shmbus.MessageTooLarge):
            p.send(b"x", key=".".join(["abc"] * 20))  # beyond header_room
        with pytest.raises(shmbus.InvalidArgument):
            p.send(b"x", key="bad..key")
        with pytest.raises(TypeError):
            p.send(b"x", headers=["not", "a", "dict"])
        with pytest.raises(TypeError, match="producer"):
            c.send(b"x")
        with pytest.raises(TypeError, match="consumer"):
            p.receive(timeout=0)
        loan = p.loan()
        with pytest.raises(ValueError, match="capacity"):
            loan.commit(65)
        with pytest.raises(ValueError):
            loan.commit(-1)
        loan.commit(0)
        msg = c.receive(timeout=1)
        with pytest.raises(TypeError):
            msg.commit(1)
        with pytest.raises(TypeError):
            msg.payload[0] = 1  # read-only view
        msg.ack()
        with pytest.raises(ValueError):
            msg.nack()
        with pytest.raises(shmbus.Timeout):
            c.receive(timeout=0)
    with pytest.raises(ValueError, match="role"):
        bus.queue(name, "reader")
    with pytest.raises(ValueError, match="wait"):
        bus.queue(name, "consumer", wait="sometimes")
    with pytest.raises(TypeError):
        bus.queue(None, "consumer")
    with pytest.raises(shmbus.InvalidArgument):
        bus.queue("no/slash", "consumer")
    with pytest.raises(shmbus.NotFound) as missing:
        bus.queue(busd.unique(), "consumer")
    assert isinstance(missing.value, FileNotFoundError)
    assert missing.value.errno == 2 and missing.value.detail
    with pytest.raises(shmbus.Exists):
        bus.create_queue(name)
    with pytest.raises(TypeError, match="unknown setting"):
        bus.create_queue(busd.unique(), colour="red")
    with pytest.raises(ValueError, match="overflow"):
        bus.create_queue(busd.unique(), overflow="explode")
    with pytest.raises(shmbus.InvalidArgument):
        bus.create_queue(busd.unique(), slots=3)
    with pytest.raises(shmbus.Closed):
        shmbus.connect(busd.name + "-nobody")
    bus.close()
    with pytest.raises(ValueError, match="closed"):
        bus.ls()


def test_receive_batch_out_of_memory_strands_nothing(bus, busd):
    """Each allocation of receive_batch fails in turn: whatever fails,
    every message is handed back (nothing stays leased)."""
    testcapi = pytest.importorskip("_testcapi")
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    failed = 0
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        for nth in range(12):
            p.send(b"a")
            p.send(b"b")
            testcapi.set_nomemory(nth, nth + 1)
            try:
                batch = c.receive_batch(2, timeout=0)
            except MemoryError:
                batch = None
            finally:
                testcapi.remove_mem_hooks()
            if batch is None:
                failed += 1
                assert bus.stat(name)["leased"] == 0, f"allocation {nth}"
                batch = c.receive_batch(2, timeout=1)
            assert len(batch) >= 1
            for m in batch:
                m.ack()
            while (m := c.try_receive()) is not None:
                m.ack()
    assert failed >= 2  # both paths: the list, and a message
