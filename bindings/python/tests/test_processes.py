# SPDX-License-Identifier: MIT
"""Processes and threads: a consumer killed with SIGKILL, fork, the GIL
released while waiting, cancel from another thread."""
import os
import signal
import threading
import time

import pytest

import shmbus
from conftest import python_child

HOLDER = """
import sys, time, shmbus
bus = shmbus.connect(sys.argv[1])
q = bus.queue(sys.argv[2], "consumer")
held = [q.receive(timeout=5) for _ in range(int(sys.argv[3]))]
print(" ".join(bytes(m.payload).decode() for m in held), flush=True)
time.sleep(60)
"""


def test_consumer_killed_holding_messages_redelivers_them(bus, busd):
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    with bus.queue(name, "producer") as p:
        for i in range(8):
            p.send(b"m%d" % i)
    child = python_child(HOLDER, busd.name, name, "5")
    try:
        line = child.stdout.readline().split()
        assert line == ["m0", "m1", "m2", "m3", "m4"]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with bus.queue(name, "consumer") as c:
        got = {}
        deadline = time.monotonic() + 10
        while len(got) < 8 and time.monotonic() < deadline:
            msg = c.receive(timeout=max(0.0, deadline - time.monotonic()))
            got[bytes(msg.payload).decode()] = msg.redelivered
            msg.ack()
    assert sorted(got) == ["m%d" % i for i in range(8)]
    assert [k for k, again in got.items() if again] == \
        ["m0", "m1", "m2", "m3", "m4"]
    assert bus.stat(name)["redelivered"] == 5


def test_child_of_fork_must_connect_again(bus, busd):
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    p = bus.queue(name, "producer")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            p.send(b"from the child")
        except RuntimeError:
            try:
                with shmbus.connect(busd.name) as own, \
                        own.queue(name, "producer") as mine:
                    mine.send(b"child")
                    code = 0
            except BaseException:
                code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with bus.queue(name, "consumer") as c:
        with c.receive(timeout=2) as msg:
            assert bytes(msg.payload) == b"child"
        assert c.try_receive() is None
    p.close()


def test_child_of_fork_leaves_the_parents_messages_alone(bus, busd):
    """The parent holds a received message when it forks: the child's
    nack, cancel, uncancel and reply to it are refused, and dropping the message or
    closing its handle there hands nothing back; the parent still acks it
    and nothing is redelivered."""
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    with bus.queue(name, "producer") as p:
        p.send(b"held")
    c = bus.queue(name, "consumer")
    msg = c.receive(timeout=2)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            own = shmbus.connect(busd.name)
            responder = own.responder()
            for call in (msg.nack, c.cancel, c.uncancel,
                         lambda: responder.reply(msg, b"x", timeout=0)):
                try:
                    call()
                    code = 1
                except RuntimeError:
                    pass
            responder.close()
            own.close()
            del msg  # collected: nacked, were it the parent's
            import gc
            gc.collect()
            c.close()
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    stats = bus.stat(name)
    assert (stats["nacked"], stats["leased"]) == (0, 1)
    assert bytes(msg.payload) == b"held"
    msg.ack()
    with bus.queue(name, "producer") as p:
        p.send(b"next")
    with c.receive(timeout=2) as after:  # not cancelled by the child
        assert bytes(after.payload) == b"next"
    with bus.queue(name, "consumer") as other:
        with pytest.raises(shmbus.Timeout):
            other.receive(timeout=0.3)
    stats = bus.stat(name)
    assert (stats["acked"], stats["redelivered"], stats["leased"]) == \
        (2, 0, 0)
    c.close()


def test_gil_released_while_waiting_and_cancel(bus, busd):
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    c = bus.queue(name, "consumer", wait="futex")
    outcome = {}

    def wait_forever():
        try:
            c.receive()
        except shmbus.Cancelled as error:
            outcome["error"] = error

    waiter = threading.Thread(target=wait_forever)
    waiter.start()
    # Until the other thread waits in C with the GIL released, the handle
    # is free; from then on a second thread's call is refused.
    deadline = time.monotonic() + 10
    while True:
        try:
            assert c.try_receive() is None
        except RuntimeError as error:
            assert "another thread" in str(error)  # one thread per handle
            break
        assert time.monotonic() < deadline, "the waiter never waited"
        time.sleep(0.01)
    # That RuntimeError came from this thread's try_receive() while the
    # waiter was inside receive() (busy is set only around the wait with
    # the GIL released): the GIL was free for this thread meanwhile.
    assert waiter.is_alive()
    c.cancel()
    waiter.join(5)
    assert not waiter.is_alive() and "error" in outcome
    c.uncancel()
    c.close()


WAITER = """
import sys, shmbus
bus = shmbus.connect(sys.argv[1])
q = bus.queue(sys.argv[2], "consumer", wait=sys.argv[3])
try:
    print("waiting", flush=True)
except KeyboardInterrupt:
    print("too early", flush=True)
    sys.exit(1)
try:
    q.receive()
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("wait", ["futex", "busy"])
def test_ctrl_c_interrupts_a_blocked_receive(bus, busd, wait):
    name = busd.unique()
    bus.create_queue(name, slots=64, max_message=64)
    child = python_child(WAITER, busd.name, name, wait)
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # into receive(), microseconds after the print
        child.send_signal(signal.SIGINT)
        assert child.stdout.readline().strip() == "interrupted"
        assert child.wait(5) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


BLOCKED_CALL = """
import signal, sys, threading, time, shmbus
bus = shmbus.connect(sys.argv[1])
kind, first, second, elsewhere = sys.argv[2:6]
if elsewhere == "yes":
    # SIGINT goes to another thread: the kernel interrupts no wait of
    # this one, whose call must look for it itself.
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
if kind == "reply":
    request = bus.queue(first, "consumer").receive(timeout=5)
    responder = bus.responder()
    call = lambda: responder.reply(request, b"answer", timeout=None)
elif kind == "request":
    requester = bus.requester(first, second)
    call = lambda: requester.request(b"question", timeout=None)
else:
    address = bus.address(first)
    try:  # opens the target (a busd call, which a signal does not end)
        address.send(b"more", timeout=0)
    except shmbus.Full:
        pass
    call = lambda: address.send(b"more", timeout=None)
print("waiting", flush=True)
try:
    call()
    print("returned", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
except BaseException as error:
    print("raised", repr(error), flush=True)
"""


def full_queue(bus, busd, prefix):
    """A queue that blocks its producers: full, overflow block."""
    name = busd.unique(prefix)
    bus.create_queue(name, slots=2, max_unacked=2, max_message=64,
                    overflow="block")
    with bus.queue(name, "producer") as p:
        while True:
            try:
                p.send(b"filler", timeout=0)
            except shmbus.Error:
                return name


# A request or routed send is one call with the whole timeout (it must not
# be repeated): a SIGINT reaches it only through the -EINTR of its wait,
# in the thread that takes the signal.  A reply waits in slices.
@pytest.mark.parametrize("kind,elsewhere", [
    ("reply", "no"), ("reply", "yes"), ("request", "no"), ("address", "no")])
def test_ctrl_c_interrupts_reply_request_and_routed_send(bus, busd, kind,
                                                         elsewhere):
    """timeout=None: each waits until Ctrl-C, which ends it."""
    first = second = "-"
    held = None
    if kind == "reply":
        first = busd.unique("svc")
        bus.create_queue(first, slots=64, max_message=64, header_room=128)
        with bus.queue(first, "producer") as p:
            p.send(b"question", reply_to=full_queue(bus, busd, "rep"))
    elif kind == "request":
        first, second = busd.unique("svc"), busd.unique("rep")
        bus.create_queue(first, slots=64, max_message=64, header_room=128)
        bus.create_queue(second, slots=64, max_message=64)
        held = bus.queue(first, "consumer")  # a responder that never replies
    else:
        first = busd.unique("src")
        bus.add_route(busd.unique("r"), first, full_queue(bus, busd, "dst"))
    child = python_child(BLOCKED_CALL, busd.name, kind, first, second,
                         elsewhere)
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # into the call, microseconds after the print
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=5)
        assert out.strip() == "interrupted"
        assert child.returncode == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if held is not None:
            held.close()
