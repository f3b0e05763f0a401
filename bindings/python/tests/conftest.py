# SPDX-License-Identifier: MIT
"""A private busd for the suite: its own BUS_RUNTIME_DIR and bus name,
started once and stopped by its pid, with nothing left in /dev/shm."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def scale():
    """BUS_TEST_SCALE: the sanitizer builds run fewer messages."""
    try:
        return float(os.environ.get("BUS_TEST_SCALE") or 1)
    except ValueError:
        return 1.0


def scaled(count, least=1000):
    return max(least, int(count * scale()))


def tool(variable):
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"{variable} not set: run through ctest")
    return path


class Busd:
    def __init__(self):
        self.busd = tool("BUS_TEST_BUSD")
        self.busctl = tool("BUS_TEST_BUSCTL")
        self.work = tempfile.mkdtemp(prefix="shmbus-python-")
        self.name = f"t-py-{os.getpid()}"
        self.run_dir = os.path.join(self.work, "run")
        os.mkdir(self.run_dir, 0o700)
        os.environ["BUS_RUNTIME_DIR"] = self.run_dir
        # Never reach a real system bus from a test.
        os.environ["BUS_SYSTEM_RUNTIME_DIR"] = os.path.join(self.work, "none")
        os.environ.pop("BUS_NAME", None)
        self.log = open(os.path.join(self.work, "busd.log"), "w+")
        # Recorded topics' journals under the work directory, never in
        # busd's default data_dir (/var/lib/shmbus when run as root).
        config = os.path.join(self.work, "busd.conf")
        with open(config, "w") as f:
            f.write("[bus]\ndata_dir = %s\n" % os.path.join(self.work,
                                                            "data"))
        self.process = subprocess.Popen(
            [self.busd, "-f", "-b", self.name, "-c", config],
            stderr=self.log)
        socket = os.path.join(self.run_dir, f"{self.name}.sock")
        for _ in range(200):
            if os.path.exists(socket):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.025)
        self.stop()
        raise RuntimeError("busd did not start: " + self.log_text())

    def log_text(self):
        self.log.seek(0)
        return self.log.read()

    def ctl(self, *args, input=None, timeout=20):
        return subprocess.run([self.busctl, "-b", self.name, *args],
                              input=input, capture_output=True,
                              timeout=timeout, check=True).stdout

    def unique(self, prefix="q"):
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def segments(self):
        return [n for n in os.listdir("/dev/shm")
                if n.startswith(f"shmbus.{self.name}")]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for name in self.segments():
            os.unlink(os.path.join("/dev/shm", name))
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture(scope="session")
def busd():
    daemon = Busd()
    yield daemon
    daemon.stop()


@pytest.fixture
def bus(busd):
    import shmbus
    connection = shmbus.connect(busd.name)
    yield connection
    connection.close()


def python_child(code, *args):
    """A child python (this interpreter, this environment) running code."""
    return subprocess.Popen([sys.executable, "-c", code, *args],
                            stdout=subprocess.PIPE, text=True)
