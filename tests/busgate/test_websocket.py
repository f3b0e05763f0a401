# SPDX-License-Identifier: MIT
"""STOMP over WebSocket with python3-websocket (websocket-client):
the upgrade and its subprotocols, framing (fragments, ping, close,
unmasked frames), and the same destinations and acks as over TCP."""
import socket
import time

import pytest
import websocket
from websocket import ABNF

from stomputil import connect


def ws_open(gateway, protocols=("v12.stomp", "v11.stomp"), path="/ws"):
    # websocket-client sends an Origin as a browser would, which busgate
    # refuses unless websocket_origins lists it; these clients are not
    # web pages.
    return websocket.create_connection(
        "ws://127.0.0.1:%d%s" % (gateway.ws_port, path),
        subprotocols=list(protocols), timeout=5, suppress_origin=True)


def frame_bytes(command, headers=(), body=b""):
    head = command + "\n" + "".join("%s:%s\n" % h for h in headers) + "\n"
    return head.encode() + body + b"\0"


class WsStomp:
    def __init__(self, gateway, **kw):
        self.ws = ws_open(gateway, **kw)
        self.pending = b""

    def send(self, command, headers=(), body=b""):
        self.ws.send(frame_bytes(command, headers, body), ABNF.OPCODE_BINARY)

    def frame(self):
        while True:
            while self.pending[:1] == b"\n":
                self.pending = self.pending[1:]
            end = self.pending.find(b"\0")
            if end >= 0:
                raw, self.pending = self.pending[:end], self.pending[end + 1:]
                head, _, body = raw.partition(b"\n\n")
                lines = head.decode().split("\n")
                return lines[0], dict(l.split(":", 1) for l in lines[1:]), body
            data = self.ws.recv()
            self.pending += data if isinstance(data, bytes) else data.encode()

    def connect(self):
        self.send("CONNECT", [("accept-version", "1.2"), ("host", "x")])
        cmd, headers, _ = self.frame()
        assert cmd == "CONNECTED", headers
        return headers


def test_upgrade_picks_v12(gateway):
    ws = ws_open(gateway, protocols=("v10.stomp", "v12.stomp"))
    assert ws.getsubprotocol() == "v12.stomp"
    ws.close()
    ws = ws_open(gateway, protocols=("v10.stomp",))
    assert ws.getsubprotocol() == "v10.stomp"
    ws.close()


def test_wrong_path_is_404(gateway):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        ws_open(gateway, path="/nope")
    assert e.value.status_code == 404


def test_queue_send_and_receive(gateway):
    c = WsStomp(gateway)
    assert c.connect()["version"] == "1.2"
    c.send("SUBSCRIBE", [("id", "w"), ("destination", "/queue/wsq"),
                         ("ack", "client-individual")])
    c.send("SEND", [("destination", "/queue/wsq"), ("receipt", "r"),
                    ("x-h", "v")], b"over websocket")
    cmd, headers, _ = c.frame()
    assert (cmd, headers["receipt-id"]) == ("RECEIPT", "r")
    cmd, headers, body = c.frame()
    assert cmd == "MESSAGE" and body == b"over websocket"
    assert headers["x-h"] == "v" and headers["destination"] == "/queue/wsq"
    c.send("NACK", [("id", headers["ack"])])
    cmd, headers, body = c.frame()
    assert body == b"over websocket" and headers["redelivered"] == "true"
    c.send("ACK", [("id", headers["ack"])])
    c.ws.close()


def test_tcp_and_websocket_clients_share_topics(gateway):
    tcp, got = connect(gateway)
    tcp.subscribe("/topic/mixed.*", id="t")
    c = WsStomp(gateway)
    c.connect()
    c.send("SUBSCRIBE", [("id", "w"), ("destination", "/topic/mixed.>"),
                         ("receipt", "s")])
    assert c.frame()[0] == "RECEIPT"
    c.send("SEND", [("destination", "/topic/mixed.a")], b"from ws")
    tcp.send("/topic/mixed.b", b"from tcp")
    bodies = sorted(c.frame()[2] for _ in range(2))
    assert bodies == [b"from tcp", b"from ws"]
    assert sorted(m.body for m in got.wait("messages", 2)) == [b"from tcp",
                                                              b"from ws"]
    c.ws.close()
    tcp.disconnect()


def test_fragments_ping_and_split_frames(gateway):
    c = WsStomp(gateway)
    c.connect()
    c.send("SUBSCRIBE", [("id", "f"), ("destination", "/queue/frag")])
    data = frame_bytes("SEND", [("destination", "/queue/frag"),
                                ("receipt", "fr")], b"abcdefghij" * 50)
    # One STOMP frame in three WebSocket fragments, a ping between them.
    c.ws.send_frame(ABNF.create_frame(data[:10], ABNF.OPCODE_TEXT, fin=0))
    c.ws.ping(b"hello")
    c.ws.send_frame(ABNF.create_frame(data[10:300], ABNF.OPCODE_CONT, fin=0))
    c.ws.send_frame(ABNF.create_frame(data[300:], ABNF.OPCODE_CONT, fin=1))
    op, payload = c.ws.recv_data(control_frame=True)
    assert (op, payload) == (ABNF.OPCODE_PONG, b"hello")
    assert c.frame()[0] == "RECEIPT"
    cmd, _, body = c.frame()
    assert cmd == "MESSAGE" and body == b"abcdefghij" * 50
    # Two STOMP frames in one WebSocket message.
    two = frame_bytes("SEND", [("destination", "/queue/frag")], b"1") + \
        frame_bytes("SEND", [("destination", "/queue/frag")], b"2")
    c.ws.send(two, ABNF.OPCODE_BINARY)
    assert [c.frame()[2] for _ in range(2)] == [b"1", b"2"]
    c.ws.close()


def test_close_handshake(gateway):
    c = WsStomp(gateway)
    c.connect()
    c.ws.send_close()
    op, payload = c.ws.recv_data(control_frame=True)
    assert op == ABNF.OPCODE_CLOSE
    c.ws.shutdown()


def test_unmasked_frame_closes_with_1002(gateway):
    s = socket.create_connection(("127.0.0.1", gateway.ws_port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: "
              b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Protocol: v12.stomp\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 101")
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in reply   # RFC 6455's example
    s.sendall(b"\x81\x05hello")                           # no mask
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data[:2] == b"\x88\x02" and data[2:4] == b"\x03\xea"   # 1002
    s.close()


def test_error_over_websocket(gateway):
    c = WsStomp(gateway)
    c.connect()
    c.send("SEND", [])
    cmd, headers, _ = c.frame()
    assert cmd == "ERROR" and "destination" in headers["message"]
    op, _ = c.ws.recv_data(control_frame=True)
    assert op == ABNF.OPCODE_CLOSE
    c.ws.close()


def test_websocket_client_killed_messages_redelivered(gateway):
    c = WsStomp(gateway)
    c.connect()
    c.send("SUBSCRIBE", [("id", "k"), ("destination", "/queue/wskill"),
                         ("ack", "client")])
    for i in range(2):
        c.send("SEND", [("destination", "/queue/wskill")], b"w%d" % i)
    assert [c.frame()[2] for _ in range(2)] == [b"w0", b"w1"]
    c.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\0\0\0\0\0\0\0")
    c.ws.sock.close()                                    # dies, no DISCONNECT
    tcp, got = connect(gateway)
    tcp.subscribe("/queue/wskill", id="s")
    ms = got.wait("messages", 2)
    assert sorted(m.body for m in ms) == [b"w0", b"w1"]
    assert all(m.headers.get("redelivered") == "true" for m in ms)
    tcp.disconnect()


def test_websocket_heartbeats_both_ways(gateway):
    c = WsStomp(gateway)
    c.send("CONNECT", [("accept-version", "1.2"), ("host", "x"),
                       ("heart-beat", "150,100")])
    cmd, headers, _ = c.frame()
    assert cmd == "CONNECTED" and headers["heart-beat"] == "100,100"
    start = time.monotonic()
    beats = 0
    closed = False
    while time.monotonic() - start < 3:
        try:
            op, data = c.ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            closed = True
            break
        if op == ABNF.OPCODE_CLOSE:
            closed = True
            break
        if data == b"\n":
            beats += 1
    # The gateway beat every 100 ms, then dropped us (silent for two of
    # our 150 ms intervals).
    assert beats >= 2
    assert closed and time.monotonic() - start >= 0.25
