# SPDX-License-Identifier: MIT
"""Catch-up subscriptions: a recorded topic read from a sequence or a
time, its journal first, then live."""
import datetime
import time

import pytest

import shmbus


def recorded(bus, busd):
    name = busd.unique("rec")
    busd.ctl("create", name, "--topic", "--record", "--sync", "none",
             "--slots", "64")
    return name


def send(topic, first, count):
    for i in range(first, first + count):
        topic.send(b"m%d" % i)


def expect(sub, first, count):
    """The next count messages are m<first>.., sequences increasing."""
    sequences = []
    for i in range(first, first + count):
        msg = sub.receive(timeout=5)
        assert bytes(msg.payload) == b"m%d" % i
        sequences.append(msg.sequence)
        msg.release()
    assert sequences == sorted(set(sequences))
    return sequences


def test_from_sequence_then_live(bus, busd):
    name = recorded(bus, busd)
    with bus.topic(name) as t:
        send(t, 0, 200)  # more than the ring: the first are on disk only
        with bus.subscribe(name, from_sequence=0) as s:
            send(t, 200, 20)
            sequences = expect(s, 0, 220)
            assert s.try_receive() is None
        # From the middle: the same sequences on.
        with bus.subscribe(name, from_sequence=sequences[150]) as s:
            expect(s, 150, 70)


def test_from_time(bus, busd):
    name = recorded(bus, busd)
    with bus.topic(name) as t:
        send(t, 0, 30)
        time.sleep(0.05)
        mark = time.time()
        time.sleep(0.05)
        send(t, 30, 30)
        with bus.subscribe(name, from_time=mark) as s:
            expect(s, 30, 30)
        when = datetime.datetime.fromtimestamp(mark, datetime.timezone.utc)
        with bus.subscribe(name, from_time=when) as s:
            expect(s, 30, 30)
            assert s.try_receive() is None


def test_refusals(bus, busd):
    plain = busd.unique("t")
    bus.create_topic(plain)
    with pytest.raises(shmbus.Error) as e:
        bus.subscribe(plain, from_sequence=0)
    assert "not recorded" in e.value.detail
    name = recorded(bus, busd)
    with pytest.raises(ValueError):
        bus.subscribe(name, from_sequence=0, from_time=1.0)
    with pytest.raises(shmbus.InvalidArgument):
        bus.subscribe(name, history=1, from_sequence=0)
    with pytest.raises(shmbus.InvalidArgument):
        bus.subscribe(name + ".*", from_sequence=0)
    with pytest.raises(TypeError):
        bus.subscribe(name, from_time="yesterday")
