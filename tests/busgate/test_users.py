# SPDX-License-Identifier: MIT
"""The users file: logins checked with crypt(3), each acting on the bus as
its unix user, so that the queues' owner, group and mode decide."""
import os
import pwd
import warnings

import pytest
import stomp

from conftest import Gateway
from stomputil import Raw, connect

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


def hashed(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


ME = pwd.getpwuid(os.geteuid()).pw_name
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def gateway():
    users = "# login:hash:user[:group]\nalice:%s:%s\n" % (hashed("wonder"), ME)
    if ROOT:
        users += "bob:%s:nobody\n" % hashed("builder")
    g = Gateway(users=users)
    # bob connects to busd's socket as nobody.
    os.chmod(g.work, 0o755)
    os.chmod(g.run_dir, 0o755)
    g.start()
    yield g
    alive = g.alive()
    status = g.stop()
    assert alive
    assert status == 0, "busgate's exit status %s" % status


def test_right_password_connects(gateway):
    conn, got = connect(gateway, username="alice", passcode="wonder")
    conn.subscribe("/queue/users-a", id="s")
    conn.send("/queue/users-a", b"hi")
    assert [m.body for m in got.wait("messages", 1)] == [b"hi"]
    conn.disconnect()


@pytest.mark.parametrize("login,passcode", [("alice", "wrong"),
                                            ("mallory", "wonder"),
                                            (None, None)])
def test_wrong_login_refused(gateway, login, passcode):
    raw = Raw(gateway.port)
    creds = "" if login is None else "login:%s\npasscode:%s\n" % (login,
                                                                passcode)
    raw.send(("CONNECT\naccept-version:1.2\n%s\n\0" % creds).encode())
    cmd, headers, _ = raw.frame()
    assert cmd == "ERROR" and headers["message"] == "access refused"
    assert raw.closed_within(3)
    raw.close()


@pytest.mark.skipif(not ROOT, reason="acting as another user needs root")
def test_queue_mode_decides_for_another_user(gateway):
    for name, mode in (("private-q", "0600"), ("shared-q", "0666")):
        out = gateway.busctl("create", name, "--header-room", "1024",
                             "--mode", mode)
        assert out.returncode == 0, out.stderr
    conn, got = connect(gateway, username="bob", passcode="builder")
    conn.subscribe("/queue/shared-q", id="s")
    conn.send("/queue/shared-q", b"allowed")
    assert [m.body for m in got.wait("messages", 1)] == [b"allowed"]
    conn.send("/queue/private-q", b"refused")
    err = got.wait("errors", 1)
    assert err and err[0].headers["message"] == "access refused"
    # bob may not create queues (admin rights) either.
    conn, got = connect(gateway, username="bob", passcode="builder")
    conn.send("/queue/bobs-new-queue", b"x")
    err = got.wait("errors", 1)
    assert err and err[0].headers["message"] == "access refused"
    # alice, as root here, reads the private queue.
    conn, got = connect(gateway, username="alice", passcode="wonder")
    conn.send("/queue/private-q", b"root's")
    conn.subscribe("/queue/private-q", id="p")
    assert [m.body for m in got.wait("messages", 1)] == [b"root's"]
    conn.disconnect()
