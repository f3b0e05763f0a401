# SPDX-License-Identifier: MIT
"""Queues from Python: zero-copy loans and views, acks, keys and headers,
and the messages crossing to and from C programs (busctl)."""
import pytest

import shmbus


def make_queue(bus, busd, **settings):
    name = busd.unique()
    settings.setdefault("slots", 64)
    settings.setdefault("max_message", 1024)
    bus.create_queue(name, **settings)
    return name


def test_send_receive_ack_with_key_and_headers(bus, busd):
    name = make_queue(bus, busd, header_room=256)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        p.send(b"hello", key="orders.eu", headers={"colour": "red"})
        msg = c.receive(timeout=2)
        assert bytes(msg.payload) == b"hello"
        assert msg.key == "orders.eu"
        assert msg.headers == {"colour": "red"}
        assert msg.delivery_count == 1 and not msg.redelivered
        header = msg.header
        assert header["sequence"] == msg.sequence
        assert header["delivery_count"] == 1 and header["publish_time_ns"] > 0
        msg.ack()
        assert bus.stat(name)["acked"] == 1


def test_loan_commit_writes_in_place(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        with p.loan(timeout=1) as m:
            assert len(m.payload) == 1024 and not m.payload.readonly
            m.payload[:5] = b"world"
            m.commit(5)
        with c.receive(timeout=2) as msg:
            assert msg.payload.readonly
            assert msg.payload.tobytes() == b"world"
        assert bus.stat(name)["acked"] == 1


def test_loan_left_uncommitted_is_reused(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        with pytest.raises(RuntimeError):
            with p.loan() as m:
                m.payload[:3] = b"bad"
                raise RuntimeError("the producer changed its mind")
        assert c.try_receive() is None  # nothing was published
        with p.loan() as m:  # the kept slot again
            with pytest.raises(RuntimeError, match="one loan"):
                p.loan()
        p.send(b"good")  # goes into the kept loan
        with c.receive(timeout=2) as msg:
            assert bytes(msg.payload) == b"good"
        assert bus.stat(name)["enqueued"] == 1


def test_view_used_after_ack_raises(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        p.send(b"abcdef")
        msg = c.receive(timeout=2)
        view = msg.payload
        msg.ack()
        with pytest.raises(ValueError):
            view[0]
        with pytest.raises(ValueError):
            msg.payload
        with pytest.raises(ValueError):
            msg.ack()
        with pytest.raises(BufferError):
            memoryview(msg)


def test_ack_refuses_while_a_slice_is_alive(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        p.send(b"abcdef")
        msg = c.receive(timeout=2)
        part = msg.payload[2:4]
        with pytest.raises(BufferError):
            msg.ack()
        assert bytes(part) == b"cd"  # still the message's slot
        assert bus.stat(name)["leased"] == 1
        part.release()
        msg.ack()
        assert bus.stat(name)["leased"] == 0


def test_close_refuses_while_a_view_is_exported(bus, busd):
    name = make_queue(bus, busd)
    p = bus.queue(name, "producer")
    c = bus.queue(name, "consumer")
    p.send(b"abc")
    msg = c.receive(timeout=2)
    held = memoryview(msg)
    with pytest.raises(BufferError):
        c.close()
    with pytest.raises(BufferError):
        bus.close()
    held.release()
    c.close()
    with pytest.raises(ValueError):
        msg.payload  # closed with its handle
    with bus.queue(name, "consumer") as other:  # redelivered to others
        again = other.receive(timeout=2)
        assert bytes(again.payload) == b"abc" and again.redelivered
        again.ack()
    p.close()


def test_nack_redelivers_and_exception_in_with_nacks(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        p.send(b"again")
        with pytest.raises(KeyError):
            with c.receive(timeout=2):
                raise KeyError("failed to process")
        msg = c.receive(timeout=2)
        assert msg.redelivered and msg.delivery_count == 2
        msg.ack()


def test_iteration_and_batch(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        for i in range(10):
            p.send(b"%d" % i)
        batch = c.receive_batch(4, timeout=1)
        assert [bytes(m.payload) for m in batch] == [b"0", b"1", b"2", b"3"]
        for m in batch:
            m.ack()
        got = []
        for msg in c:
            with msg:
                got.append(int(bytes(msg.payload)))
            if len(got) == 6:
                break
        assert got == [4, 5, 6, 7, 8, 9]


def test_python_producer_to_c_consumer(bus, busd):
    name = make_queue(bus, busd)
    sent = [b"py-%03d" % i for i in range(50)]
    with bus.queue(name, "producer") as p:
        for payload in sent:
            p.send(payload)
    out = busd.ctl("consume", name, "-n", str(len(sent)))
    assert out.split(b"\n")[:-1] == sent


def test_c_producer_to_python_consumer(bus, busd):
    name = make_queue(bus, busd)
    sent = ["c-%03d" % i for i in range(50)]
    busd.ctl("pub", name, *sent)
    with bus.queue(name, "consumer") as c:
        got = []
        for _ in sent:
            with c.receive(timeout=2) as msg:
                got.append(msg.payload.tobytes().decode())
    assert got == sent


def test_ls_and_stat(bus, busd):
    name = make_queue(bus, busd)
    assert (name, "queue") in bus.ls()
    figures = bus.stat(name)
    assert figures["kind"] == "queue" and figures["capacity"] == 64
    with pytest.raises(shmbus.NotFound):
        bus.stat(busd.unique())


def test_full_queue_rejects_or_times_out(bus, busd):
    reject = make_queue(bus, busd, slots=4, max_unacked=4, overflow="reject")
    block = make_queue(bus, busd, slots=4, max_unacked=4)
    with bus.queue(reject, "producer") as r, bus.queue(block, "producer") as b:
        for _ in range(4):
            r.send(b"x")
            b.send(b"x")
        with pytest.raises(shmbus.Full):
            r.send(b"one too many")  # at once, whatever the timeout
        with pytest.raises(shmbus.Timeout):
            b.send(b"one too many", timeout=0.05)
    assert bus.stat(reject)["rejected"] == 1
    figures = bus.stat(block)
    assert figures["rejected"] == 0 and figures["backpressure_waits"] == 1


def test_flush_of_a_queue_that_is_not_durable_raises(bus, busd):
    name = make_queue(bus, busd)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        p.send(b"x")
        with pytest.raises(shmbus.Error, match="not durable"):
            p.flush(timeout=1)
        with pytest.raises(TypeError, match="producer"):
            c.flush()


def test_packed_spsc_queue_with_ring_bytes(bus, busd):
    # An spsc queue packs its messages into an arena of ring_bytes: a
    # large message and small keyed ones share it, each taking its size.
    name = make_queue(bus, busd, type="spsc", max_producers=1,
                      max_consumers=1, max_message=4096, header_room=64,
                      ring_bytes=16384)
    with bus.queue(name, "producer") as p, bus.queue(name, "consumer") as c:
        p.send(b"x" * 4096, key="big")
        for i in range(20):
            p.send(bytes([65 + i]) * (i + 1), key="k.%d" % i)
        msg = c.receive(timeout=2)
        assert bytes(msg.payload) == b"x" * 4096 and msg.key == "big"
        msg.ack()
        for i in range(20):
            with c.receive(timeout=2) as msg:
                assert bytes(msg.payload) == bytes([65 + i]) * (i + 1)
                assert msg.key == "k.%d" % i


def test_ring_bytes_refused_where_it_does_not_apply(bus, busd):
    # mpmc queues keep fixed cells; a size off a line is no arena.
    with pytest.raises(shmbus.Error, match="ring_bytes"):
        bus.create_queue(busd.unique(), ring_bytes=4096)
    with pytest.raises(shmbus.Error, match="multiple of 64"):
        bus.create_queue(busd.unique(), type="spsc", max_producers=1,
                         max_consumers=1, ring_bytes=1000)
