"""Benchmark smoke test: every contender runs, and all send the bytes they
should to the same endpoint. Timings are never asserted.

The endpoint (benchmarks/echo.c) exists only in the echo build, which run.py
makes for itself, so the check runs there, in a child process; this process
keeps the default build, where the contenders can still be listed.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from builds import CANNOT_BUILD

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import contenders as bench  # noqa: E402
import run  # noqa: E402


@pytest.fixture
def sockets():
    sockets = bench.open_sockets()
    yield sockets
    for s in sockets.values():
        s.close()


@pytest.mark.skipif(CANNOT_BUILD is not None, reason=str(CANNOT_BUILD))
def test_every_contender_sends_the_same_bytes(sockets, tmp_path):
    # cwd elsewhere: a wsapeer in the cwd would come before the echo build.
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--smoke"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for c in bench.contenders(sockets):
        assert re.search(rf"^ok +{c.key}:", result.stdout, re.MULTILINE), (c.key, result.stdout)
    assert re.search(r"^ok +same bytes:", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.skipif(
    sys.platform == "win32",
    reason="a contender reads the extension's symbols with ctypes: a Windows DLL exports none",
)
@pytest.mark.needs_model(
    reason="a contender calls wsapeer_set_peer_target_name, in test builds only"
)
def test_report_renders(sockets):
    contenders = bench.contenders(sockets)
    times = {c.key: [100.0, 110.0] for c in contenders}
    ratios = {c.key: [1.0, 1.1] for c in contenders}
    text = run.report(contenders, times, ratios, None, None, 2, "python benchmarks/run.py")
    assert "| floor: bare cffi call | 105 |" in text
    assert "## Targets" in text and "met" in text
    assert "WSAPEER_FWPUCLNT=echo" in text


@pytest.mark.needs_model(reason="benchmarks the contract model, in a child process")
def test_model_scaling_benchmark_runs(tmp_path):
    """The contract model's scaling benchmark runs at small sizes (its counts
    are checked inside); timings are reported, never asserted."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "model_scaling.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "## Goals" in result.stdout and "distinct peers in one apply_many" in result.stdout


def test_chart_draws_every_contender_and_goal(tmp_path):
    """The --chart SVG (matplotlib, the bench extra) names every contender."""
    pytest.importorskip("matplotlib")
    import chart

    titles = [("floor", "floor: bare cffi call"), ("apply", "PeerTargetName.apply(udp socket)")]
    out = tmp_path / "chart.svg"
    chart.draw(out, titles, {"floor": 1.0, "apply": 2.1}, {"floor": 1700.0, "apply": 3600.0},
               run.TARGETS)  # fmt: skip
    svg = out.read_text()
    assert svg.startswith("<?xml") and "PeerTargetName.apply(udp socket)" in svg
    again = tmp_path / "again.svg"
    chart.draw(again, titles, {"floor": 1.0, "apply": 2.1}, {"floor": 1700.0, "apply": 3600.0},
               run.TARGETS)  # fmt: skip
    assert again.read_text() == svg  # reproducible: no date, fixed ids
