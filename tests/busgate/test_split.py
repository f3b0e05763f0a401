# SPDX-License-Identifier: MIT
"""A frame that arrives a byte at a time over TCP (each byte its own
segment) is the same frame: CONNECT, a SEND with escaped headers and a
content-length body holding NUL and newline bytes, and its RECEIPT; the
message reaches the bus whole."""
import json
import socket
import time

from stomputil import Raw


def send_bytewise(raw, data):
    raw.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        raw.sock.sendall(data[i:i + 1])
        # Now and then a pause, so that the gateway reads partial frames.
        if i % 7 == 0:
            time.sleep(0.001)


def test_frames_split_at_every_byte(gateway):
    raw = Raw(gateway.port)
    send_bytewise(raw, b"CONNECT\naccept-version:1.2\nhost:x\n"
                       b"heart-beat:0,0\n\n\0")
    frame = raw.frame()
    assert frame is not None and frame[0] == "CONNECTED", frame

    body = b"a\0b\nc"
    send_bytewise(raw, b"SEND\ndestination:/queue/split\n"
                       b"k\\cey:v\\\\al\\nue\ncontent-length:%d\n"
                       b"receipt:r-1\n\n%s\0" % (len(body), body))
    frame = raw.frame()
    assert frame is not None, "closed instead of a RECEIPT"
    cmd, headers, _ = frame
    assert cmd == "RECEIPT" and headers["receipt-id"] == "r-1", frame

    out = gateway.busctl("--json", "peek", "split")
    assert out.returncode == 0, out.stderr
    message = json.loads(out.stdout.splitlines()[0])
    assert message["payload"] == "a\0b\nc" and message["length"] == 5
    # STOMP 1.2 escapes: \c is ':', \\ is '\', \n is a newline.
    assert message["headers"].get("k:ey") == "v\\al\nue", message
    raw.close()
