"""The password lives only in the settings' C buffer, and nowhere after the
object is gone: a scan of a child process's whole memory for its UTF-16 form
counts the copies (Linux: /proc/self/mem)."""

import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = [
    # A platform check, not a path check: under Wine, Z: maps / and the path
    # exists for Windows CPython too.
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or not pathlib.Path("/proc/self/mem").exists(),
        reason="scans a process's memory through /proc/self/mem (Linux)",
    ),
    pytest.mark.skipif(
        "libasan" in os.environ.get("LD_PRELOAD", ""),
        reason="AddressSanitizer's terabytes of shadow memory are no place for a scan",
    ),
]

CHILD = r"""
import gc
import sys

import wsapeer

# Built from code points: the str stores one byte per character, so its own
# memory never holds the UTF-16 form being looked for.
# Long enough (a 333-byte bytes object) that the scanner's own small objects
# do not happen to reuse, and so wipe, a copy left behind.
PASSWORD = "".join(chr(65 + (i * 7) % 26 + (i % 2) * 32) for i in range(150))
XOR = 0x5A  # the needle is kept XORed, so that it is not itself a copy
TABLE = bytes(b ^ XOR for b in range(256))
NEEDLE = bytes(b ^ XOR for ch in PASSWORD for b in (ord(ch), 0))


def copies():
    found = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    with open("/proc/self/mem", "rb", 0) as mem:
        for region in regions:
            if "r" not in region[1] or region[-1] in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            start, end = (int(x, 16) for x in region[0].split("-"))
            if end - start > 1 << 30:
                continue  # reserved address space, not memory a copy could be in
            chunk = bytearray(end - start)
            try:
                mem.seek(start)
                mem.readinto(chunk)
            except (OSError, ValueError, OverflowError):
                continue
            found += chunk.translate(TABLE).count(NEEDLE)
            chunk[:] = bytes(len(chunk))  # the raw copy read here must not count next time
    return found


print("before", copies())
first = wsapeer.IPsecSettings(user_name="svc", password=PASSWORD)
print("one object", copies())
second = wsapeer.IPsecSettings(user_name="svc", password=PASSWORD)
assert first == second and hash(first) == hash(second)
print("two objects compared", copies())
del first, second
gc.collect()
print("none", copies())
"""


def test_the_password_exists_only_in_live_settings_c_buffers(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr
    counts = dict(line.rsplit(" ", 1) for line in run.stdout.splitlines())
    assert {k: int(v) for k, v in counts.items()} == {
        "before": 0,
        "one object": 1,
        "two objects compared": 2,
        "none": 0,
    }


@pytest.mark.needs_model
def test_model_records_never_show_their_bytes():
    import socket

    import wsapeer
    from wsapeer.testing import contract_model

    with contract_model() as model, socket.socket() as s:
        wsapeer.set_socket_security(s, wsapeer.IPsecSettings(user_name="u", password="hunter2"))
        [record] = model.records
        assert "hunter2".encode("utf-16-le") in record.data  # the test's own view of the bytes
        text = repr(record)
        assert f"data=<{len(record.data)} bytes>" in text and "\\x00" not in text
        assert "h\\x00u" not in repr(model.records)
