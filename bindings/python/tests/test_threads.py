# SPDX-License-Identifier: MIT
"""A thread that closes or acks while another thread is inside a call
with the GIL released: refused with RuntimeError, never a crash."""
import os
import signal
import threading
import time

import pytest

import shmbus
from conftest import python_child, scaled


class StoppedBusd:
    """busd stopped (SIGSTOP) for the block: every call that talks to it
    waits.  A timer sends SIGCONT after `most` seconds whatever happens,
    so that a failing test cannot leave the suite's busd stopped."""

    def __init__(self, busd, most=5.0):
        self.pid = busd.process.pid
        self.timer = threading.Timer(most, self.resume)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.resume()
        return False


def in_thread(call):
    """Starts call() in a thread; returns (thread, started, outcome)."""
    started = threading.Event()
    outcome = {}

    def run():
        started.set()
        try:
            outcome["result"] = call()
        except BaseException as error:  # reported by the test
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(5)
    return thread, outcome


def test_bus_close_refuses_while_a_call_runs_without_the_gil(busd):
    bus = shmbus.connect(busd.name)
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    with StoppedBusd(busd):
        thread, outcome = in_thread(lambda: bus.stat(name))
        time.sleep(0.3)  # into stat(), which waits for the stopped busd
        with pytest.raises(RuntimeError, match="another thread is in a call"):
            bus.close()
        assert not bus.closed
    thread.join(10)
    assert not thread.is_alive()
    assert outcome["result"]["kind"] == "queue"
    bus.close()
    assert bus.closed


def test_bus_close_refuses_while_an_open_runs_without_the_gil(busd):
    bus = shmbus.connect(busd.name)
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    with StoppedBusd(busd):
        thread, outcome = in_thread(lambda: bus.queue(name, "consumer"))
        time.sleep(0.3)
        with pytest.raises(RuntimeError, match="another thread is in a call"):
            bus.close()
    thread.join(10)
    queue = outcome["result"]
    assert not queue.closed  # attached to a Bus that is still open
    bus.close()
    assert queue.closed  # and closed with it


STAT_AND_CLOSE = """
import sys, threading, time, shmbus
bus = shmbus.connect(sys.argv[1])
name = sys.argv[2]
errors = []
stop = threading.Event()

def stats():
    while not stop.is_set():
        try:
            bus.stat(name)
        except ValueError:  # the Bus is closed
            return
        except BaseException as error:
            errors.append(error)
            return

thread = threading.Thread(target=stats)
thread.start()
refused = 0
deadline = time.monotonic() + 0.5
while True:
    try:
        bus.close()
        break
    except RuntimeError:  # stat() was running: this thread got the GIL
        refused += 1
    if time.monotonic() > deadline:
        stop.set()  # else stat() holds the Bus at every GIL hand-over
thread.join()
print("ok" if not errors else repr(errors), refused, flush=True)
"""


def test_stat_in_a_loop_while_another_thread_closes(bus, busd):
    """The reviewer's reproduction, which crashed with SIGSEGV: close()
    is refused while stat() runs, and the closed Bus raises ValueError."""
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    refused = 0
    for _ in range(scaled(2, least=1)):
        child = python_child(STAT_AND_CLOSE, busd.name, name)
        out, _ = child.communicate(timeout=30)
        assert child.returncode == 0, f"child died: {child.returncode}"
        word, count = out.split()
        assert word == "ok", out
        refused += int(count)
    assert refused > 0  # the race was run into


def make_request(bus, busd):
    """A service queue with one request in it, and a full reply queue
    (overflow block), so that a reply waits for room."""
    service, replies = busd.unique("svc"), busd.unique("rep")
    bus.create_queue(service, slots=64, max_message=64, header_room=128)
    bus.create_queue(replies, slots=2, max_unacked=2, max_message=64,
                    overflow="block")
    with bus.queue(service, "producer") as p:
        p.send(b"question", reply_to=replies, correlation_id=7)
    with bus.queue(replies, "producer") as filler:
        while True:
            try:
                filler.send(b"filler", timeout=0)
            except shmbus.Error:
                break
    return service, replies


def test_ack_refuses_while_another_thread_replies(bus, busd):
    service, replies = make_request(bus, busd)
    consumer = bus.queue(service, "consumer")
    request = consumer.receive(timeout=2)
    responder = bus.responder()
    thread, outcome = in_thread(
        lambda: responder.reply(request, b"answer", timeout=10))
    time.sleep(0.3)  # into reply(), waiting for room in the reply queue
    with pytest.raises(RuntimeError, match="replying"):
        request.ack()
    with pytest.raises(RuntimeError, match="replying"):
        request.nack()
    with pytest.raises(RuntimeError):
        consumer.close()
    assert request.live
    with bus.queue(replies, "consumer") as drain:  # room for the reply
        drain.receive(timeout=2).ack()
        thread.join(10)
        assert "error" not in outcome, outcome.get("error")
        request.ack()  # the reply is sent: now it may go
        answers = [drain.receive(timeout=2) for _ in range(2)]
        assert [bytes(m.payload) for m in answers] == [b"filler", b"answer"]
        assert answers[1].correlation_id == 7
        for m in answers:
            m.ack()
    consumer.close()
    responder.close()
    assert bus.stat(service)["leased"] == 0
