# SPDX-License-Identifier: MIT
"""A real busd and a real busgate for the STOMP tests.

Both run under a private BUS_RUNTIME_DIR with a bus name of their own,
listen on free loopback ports (busgate is given port 0 and logs the port
it got), are stopped by pid, and leave nothing in /dev/shm.  The paths of
the programs come from the environment (BUSD, BUSGATE, BUSCTL), as
tests/CMakeLists.txt sets them.
"""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

SCALE = float(os.environ.get("BUS_TEST_SCALE", "1") or "1")


def scaled(n, least=1):
    return max(least, int(n * SCALE))


class Gateway:
    def __init__(self, extra_config="", users=None, wrap=()):
        self.work = tempfile.mkdtemp(prefix="shmbus-busgate-")
        self.run_dir = os.path.join(self.work, "run")
        os.mkdir(self.run_dir, 0o700)
        self.bus = "t-gate-%d-%d" % (os.getpid(), int(time.time() * 1000) % 100000)
        self.env = dict(os.environ)
        self.env["BUS_RUNTIME_DIR"] = self.run_dir
        self.env["BUS_SYSTEM_RUNTIME_DIR"] = os.path.join(self.work, "nosys")
        self.env.pop("BUS_NAME", None)
        self.busd = self.gate = None
        self.users = users
        self.extra_config = extra_config
        self.wrap = list(wrap)  # a command busgate runs under (prlimit)

    def start_busd(self):
        busd_log = open(os.path.join(self.work, "busd.log"), "a")
        self.busd = subprocess.Popen(
            [os.environ["BUSD"], "-f", "-b", self.bus], env=self.env,
            stderr=busd_log, stdout=subprocess.DEVNULL)
        sock = os.path.join(self.run_dir, self.bus + ".sock")
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.025)
        else:
            raise RuntimeError("busd did not start")

    def restart_busd(self):
        """Stops busd by its pid and starts a new one on the same bus."""
        self.busd.send_signal(signal.SIGTERM)
        self.busd.wait(10)
        sock = os.path.join(self.run_dir, self.bus + ".sock")
        for _ in range(200):
            if not os.path.exists(sock):
                break
            time.sleep(0.025)
        self.start_busd()

    def start(self):
        self.start_busd()
        config = os.path.join(self.work, "busgate.conf")
        with open(config, "w") as f:
            f.write("[gateway]\nbus = %s\nlisten = 127.0.0.1:0\n"
                    "websocket = 127.0.0.1:0\nheartbeat = 100,100\n"
                    "frame_timeout_ms = 600\nconnect_timeout_ms = 1500\n"
                    "max_frame = 65536\nqueue_slots = 64\n"
                    "topic_slots = 64\nmax_message = 8192\n"
                    "header_room = 1024\noutput_limit = 131072\n"
                    % self.bus)
            if self.users is not None:
                users = os.path.join(self.work, "users")
                with open(users, "w") as u:
                    u.write(self.users)
                f.write("users = %s\n" % users)
            f.write(self.extra_config)
        self.gate_log = os.path.join(self.work, "busgate.log")
        self.gate = subprocess.Popen(
            self.wrap + [os.environ["BUSGATE"], "-c", config, "-v"],
            env=self.env,
            stderr=open(self.gate_log, "w"), stdout=subprocess.DEVNULL)
        for _ in range(200):
            text = open(self.gate_log).read()
            tcp = re.search(r"STOMP listening on \S+ port (\d+)", text)
            ws = re.search(r"WebSocket listening on \S+ port (\d+)", text)
            if tcp and ws:
                self.port, self.ws_port = int(tcp.group(1)), int(ws.group(1))
                return self
            if self.gate.poll() is not None:
                break
            time.sleep(0.025)
        raise RuntimeError("busgate did not start: " + open(self.gate_log).read())

    def busctl(self, *args):
        return subprocess.run([os.environ["BUSCTL"], "-b", self.bus] + list(args),
                              env=self.env, capture_output=True, text=True,
                              timeout=10)

    def alive(self):
        return self.gate.poll() is None

    def log(self):
        return open(self.gate_log).read()

    def stop(self):
        """Stops both; returns busgate's exit status (under ASan,
        LeakSanitizer makes it non-zero for a leak)."""
        for proc in (self.gate, self.busd):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for path in glob.glob("/dev/shm/shmbus.%s*" % self.bus):
            os.unlink(path)
        shutil.rmtree(self.work, ignore_errors=True)
        return self.gate.returncode if self.gate else None

    def sanitized(self):
        """True under ASan, whose quarantine holds freed memory (so RSS
        says nothing about leaks there; LeakSanitizer does at exit)."""
        with open("/proc/%d/maps" % self.gate.pid) as maps:
            return "libasan" in maps.read()


@pytest.fixture(scope="module")
def gateway():
    g = Gateway().start()
    yield g
    code = g.gate.poll()
    log = g.log()
    status = g.stop()
    assert code is None, "busgate exited during the tests (%s)" % code
    assert status == 0, "busgate's exit status %s:\n%s" % (status, log[-4000:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
