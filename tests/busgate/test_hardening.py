# SPDX-License-Identifier: MIT
"""What a hostile or careless client must not do to busgate: overflow a
buffer with a long header, grow its memory without bound, keep a
half-sent frame open, drive the bus from a web page, or make it spin when
descriptors run out.  Each case failed before its fix."""
import os
import select
import socket
import struct
import threading
import time

import pytest

from conftest import Gateway
from stomputil import Raw

WS_UPGRADE = ("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n%s\r\n")


def ws_frame(payload, opcode=1, fin=True):
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    return head + b"\0\0\0\0" + payload


def ws_open(port, extra=""):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall((WS_UPGRADE % extra).encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer.split(b"\r\n")[0].decode()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_long_receipt_in_an_error_comes_back_whole(gateway):
    # An ERROR frame with a long receipt-id and a long detail once
    # overran a 2 KiB stack buffer.
    raw = Raw(gateway.port)
    assert raw.connect()[0] == "CONNECTED"
    receipt = "B" * 2000
    raw.send(("UNSUBSCRIBE\nid:%s\nreceipt:%s\n\n\0"
              % ("A" * 1024, receipt)).encode())
    frame = raw.frame()
    assert frame is not None and frame[0] == "ERROR"
    assert frame[1]["receipt-id"] == receipt
    assert len(frame[2]) == int(frame[1]["content-length"]) > 0
    raw.close()
    assert gateway.alive()


@pytest.mark.parametrize("length", [1995, 4000])
def test_long_receipt_before_login(gateway, length):
    # 1995 bytes wrote past the buffer (ASan saw it), 4000 were cut.
    raw = Raw(gateway.port)
    raw.send(("CONNECT\naccept-version:9.9\nreceipt:%s\n\n\0"
              % ("C" * length)).encode())
    frame = raw.frame()
    assert frame is not None and frame[0] == "ERROR"
    assert frame[1]["receipt-id"] == "C" * length
    raw.close()
    assert gateway.alive()


def test_long_receipt_gets_its_receipt_id(gateway):
    raw = Raw(gateway.port)
    assert raw.connect()[0] == "CONNECTED"
    # Escaped in 1.2: ':' goes as \c, and must come back as sent.
    receipt = "r:" * 2000
    raw.send(("BEGIN\ntransaction:t1\nreceipt:%s\n\n\0"
              % receipt.replace(":", "\\c")).encode())
    frame = raw.frame()
    assert frame[0] == "RECEIPT"
    assert frame[1]["receipt-id"] == receipt.replace(":", "\\c")
    raw.close()


def test_a_client_that_never_reads_is_not_read_either(gateway):
    # Every frame asks for a RECEIPT and the client reads none: once the
    # output is over output_limit (128 KiB here) busgate must stop
    # reading, so the client's sends block; then everything is answered.
    raw = Raw(gateway.port)
    assert raw.connect()[0] == "CONNECTED"
    sock = raw.sock
    pair = ("BEGIN\ntransaction:t\nreceipt:%s\n\n\0"
            "ABORT\ntransaction:t\nreceipt:%s\n\n\0"
            % ("r" * 450, "r" * 450)).encode()
    chunk = pair * 64
    before = rss_kib(gateway.gate.pid)
    sock.setblocking(False)
    sent, blocked, limit = 0, False, 48 << 20
    deadline = time.monotonic() + 60
    while sent < limit and time.monotonic() < deadline:
        _, writable, _ = select.select([], [sock], [], 2.0)
        if not writable:
            blocked = True
            break
        sent += sock.send(chunk[sent % len(chunk):])
    grown = rss_kib(gateway.gate.pid) - before
    assert blocked, "busgate read %d MiB without anyone reading" % (
        sent >> 20)
    assert sent < 24 << 20
    if not gateway.sanitized():
        assert grown < 16 << 10, "busgate grew %d KiB" % grown
    # Finish the pair cut in the middle, then read every receipt back.
    rest = (len(pair) - sent % len(pair)) % len(pair)
    tail = pair[len(pair) - rest:] + b"DISCONNECT\nreceipt:end\n\n\0"
    frames = sent // len(pair) * 2 + (2 if rest else 0)
    sock.setblocking(True)
    writer = threading.Thread(target=sock.sendall, args=(tail,))
    writer.start()
    receipts = 0
    while True:
        frame = raw.frame(timeout=20)
        assert frame is not None and frame[0] == "RECEIPT"
        if frame[1]["receipt-id"] == "end":
            break
        receipts += 1
    writer.join()
    assert receipts == frames
    raw.close()


def test_websocket_pings_without_reading_are_bounded(gateway):
    sock, status = ws_open(gateway.ws_port)
    assert "101" in status
    sock.sendall(ws_frame(b"CONNECT\naccept-version:1.2\nhost:x\n"
                          b"heart-beat:0,0\n\n\0"))
    assert b"CONNECTED" in sock.recv(4096)
    before = rss_kib(gateway.gate.pid)
    sock.setblocking(False)
    ping = ws_frame(b"p" * 125, opcode=9) * 256
    sent, blocked = 0, False
    deadline = time.monotonic() + 60
    while sent < (48 << 20) and time.monotonic() < deadline:
        _, writable, _ = select.select([], [sock], [], 2.0)
        if not writable:
            blocked = True
            break
        sent += sock.send(ping[sent % len(ping):])
    grown = rss_kib(gateway.gate.pid) - before
    assert blocked, "busgate read %d MiB of pings nobody reads" % (
        sent >> 20)
    if not gateway.sanitized():
        assert grown < 16 << 10, "busgate grew %d KiB" % grown
    # Still open: once the pongs are read, pings are taken again.
    received = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        readable, writable, _ = select.select([sock], [sock], [], 1.0)
        if readable:
            chunk = sock.recv(1 << 20)
            assert chunk, "busgate closed the connection"
            received += len(chunk)
        if writable and received:
            break
    assert received and writable
    sock.close()


def test_transaction_memory_is_limited():
    g = Gateway(extra_config="transaction_limit = 65536\n").start()
    try:
        raw = Raw(g.port)
        assert raw.connect()[0] == "CONNECTED"
        raw.send(b"BEGIN\ntransaction:t\n\n\0")
        body = b"x" * 8000
        for _ in range(12):
            raw.send(b"SEND\ndestination:/queue/tx\ntransaction:t\n"
                     b"content-length:8000\n\n" + body + b"\0")
        frame = raw.frame()
        assert frame is not None and frame[0] == "ERROR"
        assert "transaction" in frame[1]["message"]
        assert raw.closed_within(3.0)
        raw.close()
        # Under the budget a transaction still commits.
        raw = Raw(g.port)
        assert raw.connect()[0] == "CONNECTED"
        raw.send(b"BEGIN\ntransaction:t\n\n\0")
        for _ in range(4):
            raw.send(b"SEND\ndestination:/queue/tx\ntransaction:t\n"
                     b"content-length:8000\n\n" + body + b"\0")
        raw.send(b"COMMIT\ntransaction:t\nreceipt:c\n\n\0")
        frame = raw.frame()
        assert frame[0] == "RECEIPT" and frame[1]["receipt-id"] == "c"
        raw.close()
        assert g.alive()
    finally:
        assert g.stop() == 0


def test_a_partial_websocket_frame_times_out(gateway):
    # frame_timeout_ms is 600 in conftest.py.
    sock, status = ws_open(gateway.ws_port)
    assert "101" in status
    sock.sendall(ws_frame(b"CONNECT\naccept-version:1.2\nhost:x\n"
                          b"heart-beat:0,0\n\n\0"))
    assert b"CONNECTED" in sock.recv(4096)
    # A frame header that promises 60000 bytes, and 5 of them.
    sock.sendall(bytes([0x81, 0x80 | 126]) + struct.pack(">H", 60000) +
                 b"\0\0\0\0SEND\n")
    sock.settimeout(0.1)
    closed = False
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            if not sock.recv(4096):
                closed = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True
            break
    sock.close()
    assert closed


def test_websocket_origin_is_checked():
    g = Gateway(extra_config="websocket_origins = http://good.example "
                "https://also.example\n").start()
    try:
        sock, status = ws_open(g.ws_port, "Origin: http://evil.example\r\n")
        sock.close()
        assert "403" in status
        sock, status = ws_open(g.ws_port, "Origin: http://good.example\r\n")
        sock.close()
        assert "101" in status
        # Not a browser: no Origin, served.
        sock, status = ws_open(g.ws_port)
        sock.close()
        assert "101" in status
    finally:
        assert g.stop() == 0


def test_no_origin_is_allowed_by_default(gateway):
    sock, status = ws_open(gateway.ws_port, "Origin: http://localhost\r\n")
    sock.close()
    assert "403" in status


def test_out_of_descriptors_does_not_spin():
    g = Gateway(wrap=["prlimit", "--nofile=64:64"]).start()
    try:
        assert "max_connections" in g.log()
        socks = [socket.create_connection(("127.0.0.1", g.port))
                 for _ in range(80)]
        time.sleep(0.3)
        before = cpu_seconds(g.gate.pid)
        time.sleep(2)
        spent = cpu_seconds(g.gate.pid) - before
        assert spent < 0.5, "busgate spent %.2f s of CPU in 2 s" % spent
        for s in socks:
            s.close()
        time.sleep(0.3)
        # Room again: a client is served.
        raw = Raw(g.port)
        assert raw.connect()[0] == "CONNECTED"
        raw.close()
    finally:
        assert g.stop() == 0


def test_stomp10_content_length_with_a_space(gateway):
    raw = Raw(gateway.port)
    assert raw.connect(version="1.0")[0] == "CONNECTED"
    raw.send(b"SUBSCRIBE\nid:1\ndestination:/queue/cl10\nreceipt:s\n\n\0")
    assert raw.frame()[:2] == ("RECEIPT", {"receipt-id": "s"})
    raw.send(b"SEND\ndestination:/queue/cl10\ncontent-length: 5\n"
             b"receipt:r\n\nhello\0")
    assert raw.frame()[:2] == ("RECEIPT", {"receipt-id": "r"})
    frame = raw.frame()
    assert frame[0] == "MESSAGE" and frame[2] == b"hello"
    raw.close()


def test_websocket_close_with_one_byte_is_1002(gateway):
    sock, status = ws_open(gateway.ws_port)
    assert "101" in status
    sock.sendall(bytes([0x88, 0x81]) + b"\0\0\0\0" + b"x")
    data = b""
    sock.settimeout(3)
    while len(data) < 4:
        chunk = sock.recv(64)
        if not chunk:
            break
        data += chunk
    sock.close()
    assert data[:4] == b"\x88\x02\x03\xea"   # close, 1002


def test_a_bad_send_in_a_transaction_fails_when_sent(gateway):
    # Not at COMMIT, when the frames before it would already be done.
    raw = Raw(gateway.port)
    assert raw.connect()[0] == "CONNECTED"
    raw.send(b"BEGIN\ntransaction:t\n\n\0"
             b"SEND\ndestination:/nowhere/x\ntransaction:t\nreceipt:b\n\nx\0")
    frame = raw.frame()
    assert frame[0] == "ERROR" and frame[1]["receipt-id"] == "b"
    assert "destination" in frame[1]["message"]
    raw.close()


def bob_connect(port):
    raw = Raw(port)
    raw.send(b"CONNECT\naccept-version:1.2\nlogin:bob\npasscode:builder\n"
             b"heart-beat:0,0\n\n\0")
    assert raw.frame()[0] == "CONNECTED"
    return raw


@pytest.mark.skipif(os.geteuid() != 0, reason="acting as another user "
                    "needs root")
def test_a_login_stays_itself_after_busd_restarts():
    # libbus reconnects a handle to a restarted busd; one that busgate
    # made as another user must not reconnect as busgate's own (root).
    import crypt
    users = "bob:%s:nobody\n" % crypt.crypt(
        "builder", crypt.mksalt(crypt.METHOD_SHA512))
    g = Gateway(users=users)
    os.chmod(g.work, 0o755)
    os.chmod(g.run_dir, 0o755)
    g.start()
    try:
        out = g.busctl("create", "root-only", "--header-room", "1024",
                       "--mode", "0600")
        assert out.returncode == 0, out.stderr
        out = g.busctl("create", "anyone", "--header-room", "1024",
                       "--mode", "0666")
        assert out.returncode == 0, out.stderr
        idle = bob_connect(g.port)
        idle.send(b"SEND\ndestination:/queue/anyone\nreceipt:a\n\nx\0")
        assert idle.frame()[:2] == ("RECEIPT", {"receipt-id": "a"})
        g.restart_busd()
        raw = bob_connect(g.port)
        raw.send(b"SEND\ndestination:/queue/root-only\nreceipt:b\n\ny\0")
        frame = raw.frame()
        assert frame is not None and frame[0] == "ERROR", frame
        raw.close()
        idle.close()
        time.sleep(0.3)
        # Once no connection holds the old handle, bob connects afresh.
        raw = bob_connect(g.port)
        raw.send(b"SEND\ndestination:/queue/anyone\nreceipt:c\n\nz\0")
        assert raw.frame()[:2] == ("RECEIPT", {"receipt-id": "c"})
        raw.send(b"SEND\ndestination:/queue/root-only\nreceipt:d\n\ny\0")
        frame = raw.frame()
        assert frame is not None and frame[0] == "ERROR", frame
        raw.close()
        assert g.alive()
    finally:
        assert g.stop() == 0


def test_a_login_after_busd_restarted_reaches_the_new_busd():
    # The gateway's own identity (no users file): libbus reconnects, and
    # a connection made afresh after the release works too.
    g = Gateway().start()
    try:
        raw = Raw(g.port)
        assert raw.connect()[0] == "CONNECTED"
        raw.send(b"SEND\ndestination:/queue/before\nreceipt:a\n\nx\0")
        assert raw.frame()[:2] == ("RECEIPT", {"receipt-id": "a"})
        raw.send(b"DISCONNECT\nreceipt:d\n\n\0")
        assert raw.frame()[:2] == ("RECEIPT", {"receipt-id": "d"})
        assert raw.closed_within(3.0)
        raw.close()
        time.sleep(0.2)
        g.restart_busd()
        raw = Raw(g.port)
        assert raw.connect()[0] == "CONNECTED"
        raw.send(b"SEND\ndestination:/queue/after\nreceipt:b\n\ny\0")
        frame = raw.frame()
        assert frame[:2] == ("RECEIPT", {"receipt-id": "b"}), frame
        raw.close()
        assert g.alive()
    finally:
        assert g.stop() == 0
