# SPDX-License-Identifier: MIT
"""ctest's entry to the Python binding's pytest suite.

    run.py [BUS_SANITIZE_THREAD]

Run by Debian's /usr/bin/python3 (the interpreter the extension is built
for); CMake passes PYTHONPATH, BUS_TEST_BUSD and BUS_TEST_BUSCTL.  Exits 77
(skipped) under ThreadSanitizer: Debian's python is not instrumented, so
TSan would report its threads' every access; the ASan build runs the suite
with the ASan runtime preloaded instead.
"""
import os
import sys
import tempfile

if len(sys.argv) > 1 and sys.argv[1].upper() in ("ON", "1", "TRUE", "YES"):
    print("python: skipped under BUS_SANITIZE_THREAD (an uninstrumented "
          "interpreter cannot load a TSan extension); the ASan and plain "
          "builds run it")
    sys.exit(77)
if os.environ.get("BUS_TEST_PYTHON_SKIP"):
    print("python: skipped: " + os.environ["BUS_TEST_PYTHON_SKIP"])
    sys.exit(77)
try:
    import pytest
except ImportError:
    print("python: pytest is missing for %s: install python3-pytest "
          "(scripts/install-deps.sh); skipped" % sys.executable)
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
# pytest keeps its last tmp_path folders under /tmp/pytest-of-USER unless
# given a base of its own: this one goes with the run.
with tempfile.TemporaryDirectory(prefix="shmbus-pytest-") as base:
    status = pytest.main([here, "-q", "-p", "no:cacheprovider",
                          "--rootdir", here, "--basetemp", base])
sys.exit(status)
