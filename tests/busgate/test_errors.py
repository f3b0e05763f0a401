# SPDX-License-Identifier: MIT
"""Bad input: each gets an ERROR frame with a message header (where the
protocol allows) and a close, and busgate keeps serving: no crash, no
descriptor or memory left behind."""
import os
import socket
import time

import pytest

from conftest import scaled
from stomputil import Raw, connect


def error_then_close(gateway, data, expect, connect_first=True):
    raw = Raw(gateway.port)
    if connect_first:
        assert raw.connect()[0] == "CONNECTED"
    raw.send(data)
    frame = raw.frame()
    assert frame is not None, "closed without an ERROR frame"
    cmd, headers, body = frame
    assert cmd == "ERROR"
    assert expect in headers["message"] + body.decode("utf-8", "replace")
    assert raw.closed_within(3.0)
    raw.close()


CASES = [
    (b"FROB\n\n\0", "unknown command"),
    (b"SEND\ndestination\n\nx\0", "without ':'"),
    (b"SEND\ndestination:/queue/e\nbad:a\\tb\n\nx\0", "escape"),
    (b"SEND\ndestination:/queue/e\nbad:\xc3\x28\n\nx\0", "UTF-8"),
    (b"SEND\n\nx\0", "destination"),
    (b"SUBSCRIBE\ndestination:/queue/e\n\n\0", "'id'"),
    (b"SUBSCRIBE\nid:1\ndestination:/nowhere/e\n\n\0", "destinations are"),
    (b"SUBSCRIBE\nid:1\ndestination:/queue/e\nack:sometimes\n\n\0", "ack"),
    (b"ACK\nid:99-99\n\n\0", "no such message"),
    (b"COMMIT\ntransaction:none\n\n\0", "no such transaction"),
    (b"SEND\ndestination:/queue/e\ncontent-length:5\n\nab\0cdX", "NUL"),
    (b"SEND\ndestination:/queue/e\ncontent-length:x1\n\nab\0", "content-length"),
    (b"SEND\ndestination:/queue/e\n\n" + b"x" * 70000 + b"\0", "max_frame"),
    (b"SEND\ndestination:/queue/e\ncontent-length:100000\n\n", "max_frame"),
    (b"SEND\ndestination:/queue/" + b"n" * 70 + b"\n\nx\0", "bus name"),
    (b"SEND\ndestination:/queue/big\n\n" + b"y" * 9000 + b"\0", "max_message"),
]


@pytest.mark.parametrize("data,expect", CASES)
def test_bad_frame_gets_error_and_close(gateway, data, expect):
    error_then_close(gateway, data, expect)


def test_frame_before_connect(gateway):
    error_then_close(gateway, b"SEND\ndestination:/queue/e\n\nx\0",
                     "CONNECT first", connect_first=False)


def test_accept_version_with_spaces(gateway):
    raw = Raw(gateway.port)
    raw.send(b"CONNECT\naccept-version:1.0, 1.1 ,1.2\n\n\0")
    cmd, headers, _ = raw.frame()
    assert (cmd, headers["version"]) == ("CONNECTED", "1.2")
    raw.close()


def test_unsupported_version(gateway):
    error_then_close(gateway, b"CONNECT\naccept-version:2.0\n\n\0",
                     "version", connect_first=False)


def test_half_a_frame_and_a_stall(gateway):
    raw = Raw(gateway.port)
    raw.connect()
    raw.send(b"SEND\ndestination:/queue/stall\n\nhalf")
    cmd, headers, _ = raw.frame(timeout=5)
    assert cmd == "ERROR" and "in time" in headers["message"]
    assert raw.closed_within(3.0)
    raw.close()


def test_no_connect_frame_in_time(gateway):
    raw = Raw(gateway.port)
    cmd, headers, _ = raw.frame(timeout=5)
    assert cmd == "ERROR" and "CONNECT" in headers["message"]
    raw.close()


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_ten_thousand_connections_opened_and_dropped(gateway):
    pid = gateway.gate.pid
    # Warm up allocations, then take the baseline.
    conn, got = connect(gateway)
    conn.disconnect()
    time.sleep(0.2)
    fds, rss = open_fds(pid), rss_kib(pid)
    total = scaled(10000, 200)
    batch = 250
    done = 0
    while done < total:
        socks = []
        for i in range(min(batch, total - done)):
            if i % 4 == 3:
                # A WebSocket upgrade, whole or cut short.
                s = socket.create_connection(("127.0.0.1", gateway.ws_port))
                s.sendall(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\nSec-WebSocket-Version: "
                          b"13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25j"
                          b"ZQ==\r\n" + (b"\r\n\x81\x85ab" if i % 8 == 3
                                          else b""))
            elif i % 3 == 0:
                s = socket.create_connection(("127.0.0.1", gateway.port))
                s.sendall(b"CONNECT\naccept-version:1.2\n\n\0")
            elif i % 3 == 1:
                s = socket.create_connection(("127.0.0.1", gateway.port))
                s.sendall(b"CONNECT\naccept-version:1.2\n\n\0SUBSCRIBE\n"
                          b"id:1\ndestination:/queue/churn\n\n\0SEND\nde")
            else:
                s = socket.create_connection(("127.0.0.1", gateway.port))
            socks.append(s)
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\0\0\0\0\0\0\0")      # RST on close
            s.close()
        done += len(socks)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and open_fds(pid) > fds:
        time.sleep(0.05)
    assert open_fds(pid) <= fds, "descriptors left open"
    assert gateway.alive()
    # Still serving, and memory did not grow with the connections.
    conn, got = connect(gateway)
    conn.subscribe("/queue/after-churn", id="s")
    conn.send("/queue/after-churn", b"still here")
    assert [m.body for m in got.wait("messages", 1)] == [b"still here"]
    conn.disconnect()
    if not gateway.sanitized():
        assert rss_kib(pid) < rss + 64 * 1024, "RSS grew by %d KiB" % (
            rss_kib(pid) - rss)


def test_max_connections_refuses_the_next():
    from conftest import Gateway
    g = Gateway(extra_config="max_connections = 3\n").start()
    try:
        held = [Raw(g.port) for _ in range(3)]
        for raw in held:
            assert raw.connect()[0] == "CONNECTED"
        extra = Raw(g.port)
        assert extra.closed_within(3.0)
        extra.close()
        held.pop().close()
        time.sleep(0.2)
        again = Raw(g.port)
        assert again.connect()[0] == "CONNECTED"
        again.close()
        for raw in held:
            raw.close()
    finally:
        status = g.stop()
    assert status == 0


def test_receipt_still_sent_after_the_client_half_closes(gateway):
    raw = Raw(gateway.port)
    raw.connect()
    raw.send(b"SEND\ndestination:/queue/half-closed\nreceipt:owed\n\nx\0")
    raw.sock.shutdown(socket.SHUT_WR)
    cmd, headers, _ = raw.frame()
    assert (cmd, headers["receipt-id"]) == ("RECEIPT", "owed")
    assert raw.closed_within(3.0)
    raw.close()


def test_bad_config_is_refused_line_by_line(tmp_path):
    import subprocess
    conf = tmp_path / "busgate.conf"
    conf.write_text("[gateway]\nqueue_slots = 100\nbogus = 1\n"
                    "heartbeat = fast\n[other]\nlisten = x\n")
    out = subprocess.run([os.environ["BUSGATE"], "-c", str(conf)],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert "busgate.conf:3: unknown key 'bogus'" in out.stderr
    assert "busgate.conf:4: heartbeat = 'fast'" in out.stderr
    assert "busgate.conf:5: unknown section [other]" in out.stderr
    assert "powers of two" in out.stderr
