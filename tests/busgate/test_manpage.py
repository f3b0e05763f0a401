# SPDX-License-Identifier: MIT
"""busgate/busgate.8 keeps up with the program: every option of busgate -h
and every key busgate/config.c accepts is in the man page."""
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "..", "busgate")


def page_text():
    text = open(os.path.join(SOURCE, "busgate.8")).read()
    return text.replace("\\-", "-").replace("\\&", "")


def test_every_option_is_documented():
    usage = subprocess.run([os.environ["BUSGATE"], "-h"], capture_output=True,
                           text=True, timeout=10).stdout
    options = set(re.findall(r"^\s+(-[a-z])\b", usage, re.M))
    assert {"-c", "-b", "-l", "-w", "-v"} <= options
    page = page_text()
    for option in options - {"-h"}:
        assert re.search(r"^\.B[IR]? *" + re.escape(option) + r"\b", page,
                         re.M), option


def test_every_config_key_is_documented():
    source = open(os.path.join(SOURCE, "config.c")).read()
    keys = set(re.findall(r'NUMBER_KEY\((\w+),', source)) - {"field"}
    keys |= set(re.findall(r'!strcmp\(key, "(\w+)"\)', source))
    assert {"bus", "listen", "websocket", "users", "max_frame",
            "heartbeat"} <= keys
    page = page_text()
    for key in keys:
        assert re.search(r"\b" + re.escape(key) + r"\b", page), key
