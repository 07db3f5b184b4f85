"""Benchmark smoke test: every contender runs, and all send the bytes they
should to the same endpoint. Timings are never asserted."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import contenders as bench

from wsapeer._wsapeer import lib


@pytest.fixture
def endpoint():
    previous = bench.select_endpoint()
    sockets = bench.open_sockets()
    yield sockets
    lib.wsapeer_backend_select(previous)
    for s in sockets.values():
        s.close()


def test_every_contender_sends_the_same_bytes(endpoint):
    contenders = bench.contenders(endpoint)
    assert {c.key for c in contenders} >= {"floor", "apply", "one_shot_v4", "apply_many",
                                           "ctypes", "struct"}  # fmt: skip
    for c in contenders:
        before = lib.wsapeer_endpoint_calls()
        n = bench.ROTATION if c.key == "one_shot_v4_new" else bench.BATCH
        c.run(n)
        assert lib.wsapeer_endpoint_calls() - before == n, c.key
        assert bench.last_sent() == c.reference, c.key
    ipv4 = [c.reference for c in contenders if c.key in ("floor", "apply", "ctypes", "struct")]
    assert len(set(ipv4)) == 1  # the alternatives marshal byte for byte what wsapeer does


def test_report_renders(endpoint):
    import run

    contenders = bench.contenders(endpoint)
    times = {c.key: [100.0, 110.0] for c in contenders}
    ratios = {c.key: [1.0, 1.1] for c in contenders}
    text = run.report(contenders, times, ratios, None, None, 2, "python benchmarks/run.py")
    assert "| floor: bare cffi call | 105 |" in text
    assert "## Targets" in text and "met" in text
