#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""perf/python_bench.py: the Python binding beside Python's own IPC, in
one run, between two Python processes.

    /usr/bin/python3 perf/python_bench.py [--build DIR] [--quick]

Starts its own busd (DIR/busd/busd, DIR default build/) on a private
runtime directory and imports shmbus from DIR/bindings/python.  Cases:

  round trip  64-byte ping-pong: the bus (busy-poll and spin-then-futex
              waits), multiprocessing.Pipe, multiprocessing.Queue, and an
              AF_UNIX SOCK_SEQPACKET socketpair.  One sample per round trip.
  streaming   one way, 64 bytes: messages per second to a consumer that
              acks each (the bus; per message and with receive_batch),
              against the same three peers.
  receive     the cost of receive + msg.payload + ack of a queued message
              of 64 B and of 1 MiB (zero copy), and of 1 MiB with
              bytes(msg.payload) (a copy), one sample per message.

Prints min/p50/p99/p99.9/max per case and the ratio lines of the issue's
targets: the bus's busy round trip p50 <= 0.2x multiprocessing.Pipe's, and
the zero-copy receive of 1 MiB within 1.5x of 64 B.
"""
import argparse
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAYLOAD = b"p" * 64
MIB = 1 << 20


def percentiles(samples):
    s = sorted(samples)
    n = len(s)

    def at(q):
        return s[min(n - 1, int(q * n))]

    return dict(min=s[0], p50=at(0.50), p99=at(0.99), p999=at(0.999),
                max=s[-1], n=n)


def row(name, stats, unit="ns"):
    print(f"{name:<28} {stats['min']:>10,.0f} {stats['p50']:>10,.0f} "
          f"{stats['p99']:>10,.0f} {stats['p999']:>11,.0f} "
          f"{stats['max']:>12,.0f}  {unit} (n={stats['n']})", flush=True)


# ---- busd ---------------------------------------------------------------

class Busd:
    def __init__(self, build):
        self.work = tempfile.mkdtemp(prefix="shmbus-pybench-")
        self.name = f"pybench-{os.getpid()}"
        run = os.path.join(self.work, "run")
        os.mkdir(run, 0o700)
        os.environ["BUS_RUNTIME_DIR"] = run
        os.environ["BUS_SYSTEM_RUNTIME_DIR"] = os.path.join(self.work, "no")
        busd = os.path.join(build, "busd", "busd")
        self.log = open(os.path.join(self.work, "busd.log"), "w")
        self.process = subprocess.Popen([busd, "-f", "-b", self.name],
                                        stderr=self.log)
        for _ in range(200):
            if os.path.exists(os.path.join(run, f"{self.name}.sock")):
                return
            time.sleep(0.025)
        self.stop()
        raise SystemExit("python_bench: busd did not start")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        for name in os.listdir("/dev/shm"):
            if name.startswith(f"shmbus.{self.name}"):
                os.unlink(os.path.join("/dev/shm", name))
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


# ---- round trips ----------------------------------------------------------

def bus_echo(bus_name, ping, pong, wait, count, ready):
    import shmbus
    bus = shmbus.connect(bus_name)
    requests = bus.queue(ping, "consumer", wait=wait)
    replies = bus.queue(pong, "producer", wait=wait, timestamps=False)
    ready.set()
    for _ in range(count):
        msg = requests.receive()
        replies.send(msg.payload)
        msg.ack()
    bus.close()


def bus_round_trip(bus, bus_name, wait, count):
    import shmbus  # noqa: F401
    ping, pong = f"ping-{wait}", f"pong-{wait}"
    for name in (ping, pong):
        bus.create_queue(name, type="spsc", slots=64, max_message=64,
                         max_producers=1, max_consumers=1,
                         max_unacked=64)
    ready = mp.Event()
    child = mp.Process(target=bus_echo,
                       args=(bus_name, ping, pong, wait, count, ready))
    child.start()
    ready.wait()
    requests = bus.queue(ping, "producer", wait=wait, timestamps=False)
    replies = bus.queue(pong, "consumer", wait=wait)
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        requests.send(PAYLOAD)
        msg = replies.receive()
        msg.ack()
        samples.append(clock() - start)
    child.join()
    requests.close()
    replies.close()
    return samples


def pipe_echo(conn, count):
    for _ in range(count):
        conn.send_bytes(conn.recv_bytes())


def pipe_round_trip(count):
    here, there = mp.Pipe()
    child = mp.Process(target=pipe_echo, args=(there, count))
    child.start()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        here.send_bytes(PAYLOAD)
        here.recv_bytes()
        samples.append(clock() - start)
    child.join()
    return samples


def queue_echo(inbox, outbox, count):
    for _ in range(count):
        outbox.put(inbox.get())


def queue_round_trip(count):
    inbox, outbox = mp.Queue(), mp.Queue()
    child = mp.Process(target=queue_echo, args=(inbox, outbox, count))
    child.start()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        inbox.put(PAYLOAD)
        outbox.get()
        samples.append(clock() - start)
    child.join()
    return samples


def socket_echo(sock, count):
    for _ in range(count):
        sock.send(sock.recv(64))


def socket_round_trip(count):
    here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    child = mp.Process(target=socket_echo, args=(there, count))
    child.start()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        here.send(PAYLOAD)
        here.recv(64)
        samples.append(clock() - start)
    child.join()
    return samples


# ---- streaming --------------------------------------------------------------

def bus_sink(bus_name, name, count, batch, ready, done):
    import shmbus
    bus = shmbus.connect(bus_name)
    queue = bus.queue(name, "consumer")
    ready.set()
    got = 0
    while got < count:
        if batch:
            messages = queue.receive_batch(64)
            for msg in messages:
                msg.ack()
            got += len(messages)
        else:
            queue.receive().ack()
            got += 1
    done.set()
    bus.close()


def bus_stream(bus, bus_name, count, batch):
    name = f"stream-{int(batch)}"
    bus.create_queue(name, type="spsc", slots=1024, max_message=64,
                         max_producers=1, max_consumers=1,
                     max_unacked=64)
    ready, done = mp.Event(), mp.Event()
    child = mp.Process(target=bus_sink,
                       args=(bus_name, name, count, batch, ready, done))
    child.start()
    ready.wait()
    queue = bus.queue(name, "producer", timestamps=False)
    start = time.perf_counter()
    for _ in range(count):
        queue.send(PAYLOAD)
    done.wait()
    elapsed = time.perf_counter() - start
    child.join()
    queue.close()
    return count / elapsed


def pipe_sink(conn, count):
    for _ in range(count):
        conn.recv_bytes()
    conn.send_bytes(b"done")


def pipe_stream(count):
    here, there = mp.Pipe()
    child = mp.Process(target=pipe_sink, args=(there, count))
    child.start()
    start = time.perf_counter()
    for _ in range(count):
        here.send_bytes(PAYLOAD)
    here.recv_bytes()
    elapsed = time.perf_counter() - start
    child.join()
    return count / elapsed


def queue_sink(inbox, outbox, count):
    for _ in range(count):
        inbox.get()
    outbox.put(b"done")


def queue_stream(count):
    inbox, outbox = mp.Queue(), mp.Queue()
    child = mp.Process(target=queue_sink, args=(inbox, outbox, count))
    child.start()
    start = time.perf_counter()
    for _ in range(count):
        inbox.put(PAYLOAD)
    outbox.get()
    elapsed = time.perf_counter() - start
    child.join()
    return count / elapsed


def socket_sink(sock, count):
    for _ in range(count):
        sock.recv(64)
    sock.send(b"done")


def socket_stream(count):
    here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    child = mp.Process(target=socket_sink, args=(there, count))
    child.start()
    start = time.perf_counter()
    for _ in range(count):
        here.send(PAYLOAD)
    here.recv(64)
    elapsed = time.perf_counter() - start
    child.join()
    return count / elapsed


# ---- receive cost by size -----------------------------------------------------

def receive_cost(bus, size, copy, rounds):
    """Fill a queue with 64 messages of size bytes (written once, so every
    page is touched before timing), then time each receive + payload +
    ack; repeat."""
    name = f"size-{size}-{int(copy)}"
    bus.create_queue(name, slots=64, max_message=max(size, 64),
                     max_unacked=64)
    producer = bus.queue(name, "producer", timestamps=False)
    consumer = bus.queue(name, "consumer")
    data = b"s" * size
    clock = time.perf_counter_ns
    samples = []
    for _ in range(rounds):
        for _ in range(64):
            producer.send(data)
        for _ in range(64):
            start = clock()
            msg = consumer.receive(0)
            if copy:
                payload = bytes(msg.payload)
            else:
                payload = msg.payload
            assert len(payload) == size
            del payload
            msg.ack()
            samples.append(clock() - start)
    producer.close()
    consumer.close()
    return samples


# ---- main ---------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(args.build, "bindings", "python"))
    import shmbus
    mp.set_start_method("fork")

    rt = 3000 if args.quick else 20000
    stream = 20000 if args.quick else 200000
    rounds = 20 if args.quick else 100
    daemon = Busd(args.build)
    try:
        bus = shmbus.connect(daemon.name)
        print(f"python_bench: {sys.executable} {sys.version.split()[0]}, "
              f"shmbus from {os.path.dirname(shmbus.__file__)}, "
              f"{os.cpu_count()} CPUs")
        print(f"{'case':<28} {'min':>10} {'p50':>10} {'p99':>10} "
              f"{'p99.9':>11} {'max':>12}")
        print("-- round trip, 64 B, two processes")
        results = {}
        for label, run in [
                ("bus busy", lambda: bus_round_trip(bus, daemon.name,
                                                    "busy", rt)),
                ("bus spin-futex", lambda: bus_round_trip(
                    bus, daemon.name, "spin-futex", rt)),
                ("multiprocessing.Pipe", lambda: pipe_round_trip(rt)),
                ("multiprocessing.Queue", lambda: queue_round_trip(rt)),
                ("unix socket (seqpacket)", lambda: socket_round_trip(rt))]:
            results[label] = percentiles(run())
            row(label, results[label])
        print("-- streaming, 64 B, one way (messages per second)")
        rates = {}
        for label, run in [
                ("bus (receive, ack)", lambda: bus_stream(
                    bus, daemon.name, stream, False)),
                ("bus (receive_batch)", lambda: bus_stream(
                    bus, daemon.name, stream, True)),
                ("multiprocessing.Pipe", lambda: pipe_stream(stream)),
                ("multiprocessing.Queue", lambda: queue_stream(stream)),
                ("unix socket (seqpacket)", lambda: socket_stream(stream))]:
            rates[label] = run()
            print(f"{label:<28} {rates[label]:>14,.0f} msgs/s", flush=True)
        print("-- receive + payload + ack of a queued message")
        cost = {}
        for label, size, copy in [("64 B, zero copy", 64, False),
                                  ("1 MiB, zero copy", MIB, False),
                                  ("64 B, bytes(payload)", 64, True),
                                  ("1 MiB, bytes(payload)", MIB, True)]:
            cost[label] = percentiles(receive_cost(bus, size, copy, rounds))
            row(label, cost[label])
        pipe = results["multiprocessing.Pipe"]["p50"]
        print("-- ratios (targets from issue 18)")
        ratio = results["bus busy"]["p50"] / pipe
        print(f"ratio python busy round trip p50 / multiprocessing.Pipe p50 "
              f"= {ratio:.3f} (target <= 0.2): "
              f"{'met' if ratio <= 0.2 else 'missed'}")
        ratio = results["bus spin-futex"]["p50"] / pipe
        print(f"ratio python spin-futex round trip p50 / "
              f"multiprocessing.Pipe p50 = {ratio:.3f}")
        ratio = (cost["1 MiB, zero copy"]["p50"] /
                 cost["64 B, zero copy"]["p50"])
        print(f"ratio zero-copy receive p50 1 MiB / 64 B = {ratio:.2f} "
              f"(target <= 1.5): {'met' if ratio <= 1.5 else 'missed'}")
        ratio = (cost["1 MiB, bytes(payload)"]["p50"] /
                 cost["1 MiB, zero copy"]["p50"])
        print(f"ratio 1 MiB receive p50 with bytes(payload) / zero copy "
              f"= {ratio:.1f}")
        ratio = rates["bus (receive, ack)"] / rates["multiprocessing.Pipe"]
        print(f"ratio streaming bus / multiprocessing.Pipe = {ratio:.2f}")
        bus.close()
    finally:
        daemon.stop()


if __name__ == "__main__":
    main()
