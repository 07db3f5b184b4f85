"""build_ffi.py chooses what answers the calls: Fwpuclnt.dll alone on Windows
unless a build asks otherwise on purpose, and the model elsewhere."""

import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
try:
    import build_ffi
finally:
    sys.path.pop(0)


@pytest.mark.parametrize(
    "platform, value, expected",
    [
        ("win32", None, "windows"),
        ("win32", "", "windows"),
        ("win32", "model", "model"),
        ("win32", "none", "none"),
        ("linux", None, "model"),
        ("linux", "none", "none"),
        ("darwin", " Echo ", "echo"),
    ],
)
def test_choice(platform, value, expected):
    environ = {} if value is None else {"WSAPEER_FWPUCLNT": value}
    assert build_ffi.choose(platform, environ) == expected


@pytest.mark.parametrize(
    "platform, value, match",
    [
        ("linux", "windows", "needs Windows"),
        ("win32", "windwos", "expected one of windows, model, none, echo"),
        ("win32", "1", "expected one of"),
    ],
)
def test_refused(platform, value, match):
    with pytest.raises(SystemExit, match=match):
        build_ffi.choose(platform, {"WSAPEER_FWPUCLNT": value})


def test_the_windows_release_build_has_nothing_but_the_real_calls():
    plan = build_ffi.plan("win32", {})
    assert plan.implementation == "windows"
    assert plan.sources == [*build_ffi.SHIM_SOURCES, "src/fwpuclnt_windows.c"]
    assert plan.libraries == ["ws2_32", "fwpuclnt"]
    code = re.sub(r"/\*.*?\*/", "", plan.cdef, flags=re.S)
    assert not re.findall(r"\w*(?:model|echo|endpoint|backend)\w*", code, re.I)
    assert "wsapeer_set_peer_target_name" in code


def test_every_implementation_defines_the_whole_seam():
    seam = re.findall(r"\b(wsapeer_fw_\w+)\(", (ROOT / "src" / "fwpuclnt.h").read_text())
    assert len(seam) == 8
    for name, implementation in build_ffi.IMPLEMENTATIONS.items():
        text = "".join((ROOT / source).read_text() for source in implementation.sources)
        for function in [*seam, "wsapeer_fwpuclnt"]:
            assert re.search(rf"^\w[\w ]*\*?\s*{function}\(", text, re.M), (name, function)
        assert f'return "{name}";' in text
