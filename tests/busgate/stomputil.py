# SPDX-License-Identifier: MIT
"""Helpers of the busgate tests: a collecting stomp.py listener and a raw
STOMP client for the frames that stomp.py would never send."""
import socket
import threading
import time

import stomp


class Collector(stomp.ConnectionListener):
    def __init__(self):
        self.messages = []
        self.errors = []
        self.receipts = []
        self.cond = threading.Condition()

    def on_message(self, frame):
        with self.cond:
            self.messages.append(frame)
            self.cond.notify_all()

    def on_error(self, frame):
        with self.cond:
            self.errors.append(frame)
            self.cond.notify_all()

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.append(frame.headers["receipt-id"])
            self.cond.notify_all()

    def wait(self, what, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(getattr(self, what)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(getattr(self, what))

    def bodies(self):
        with self.cond:
            return [m.body for m in self.messages]


def connect(gateway, version="1.2", heartbeats=(0, 0), **kw):
    cls = {"1.0": stomp.Connection10, "1.1": stomp.Connection11,
           "1.2": stomp.Connection12}[version]
    args = {} if version == "1.0" else {"heartbeats": heartbeats}
    conn = cls([("127.0.0.1", gateway.port)], auto_decode=False, **args)
    listener = Collector()
    conn.set_listener("c", listener)
    conn.connect(wait=True, **kw)
    return conn, listener


def settle(seconds=0.2):
    time.sleep(seconds)


class Raw:
    """A STOMP client on a plain socket: bytes in, frames out."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def connect(self, version="1.2", heartbeat="0,0"):
        self.send(("CONNECT\naccept-version:%s\nhost:x\nheart-beat:%s\n\n\0"
                   % (version, heartbeat)).encode())
        return self.frame()

    def frame(self, timeout=5.0):
        """(command, headers, body), or None when the peer closed."""
        self.sock.settimeout(timeout)
        while True:
            while self.buf[:1] in (b"\n", b"\r"):
                self.buf = self.buf[1:]
            end = self.buf.find(b"\0")
            if end >= 0:
                raw, self.buf = self.buf[:end], self.buf[end + 1:]
                head, _, body = raw.partition(b"\n\n")
                lines = head.decode().split("\n")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers.setdefault(k, v)
                return lines[0], headers, body
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError("no frame within %.1f s" % timeout)
            if not chunk:
                return None
            self.buf += chunk

    def closed_within(self, timeout):
        """True when the peer closes within timeout (frames skipped)."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not chunk:
                return True
        return False

    def close(self):
        self.sock.close()
