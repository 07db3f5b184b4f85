"""The mutation runner's decisions, without any build: a mutant is killed only
by a suite that passes on the unmutated tree, and a mutant of the docs runs
the doctest build. (tests/mutation/run runs them for real.)"""

from __future__ import annotations

import pathlib
import sys
import threading
from typing import List, Tuple

import pytest

MUTATION = pathlib.Path(__file__).resolve().parent / "mutation"
sys.path.insert(0, str(MUTATION))

import mutate  # noqa: E402
from mutants import MUTANTS, Mutant  # noqa: E402

ZEROING = ("tests/test_zeroing.py",)
PASS = mutate.Outcome("pass")


def mutant(key: str = "k", path: str = "wsapeer/_x.py", **fields: object) -> Mutant:
    return Mutant(key, path, "a", "b", "why " + key, **fields)  # type: ignore[arg-type]


# ---- which suites, which baselines ---------------------------------------------------


@pytest.mark.parametrize(
    "path, also",
    [
        ("docs/client.rst", ()),
        ("README.md", ()),
        ("wsapeer/_socket.py", (("docs/api.rst", "a", "b"),)),
    ],
)
def test_a_mutant_of_the_docs_runs_the_doctest_build(path: str, also: tuple) -> None:
    m = mutant(path=path, tests=ZEROING, also=also)
    assert mutate.suites_of(m) == ("pytest", "docs")
    assert mutate.selections_of(m) == [("pytest", ZEROING), ("docs", ())]


@pytest.mark.parametrize("path", ["src/docs/x.c", "wsapeer/README.md", "tests/docs.py"])
def test_a_mutant_elsewhere_runs_only_its_suites(path: str) -> None:
    assert mutate.suites_of(mutant(path=path, suites=("wine",))) == ("wine",)


def test_a_docs_suite_named_is_not_run_twice() -> None:
    assert mutate.suites_of(mutant(path="docs/a.rst", suites=("docs",))) == ("docs",)


def test_an_unknown_suite_is_an_error() -> None:
    with pytest.raises(ValueError):
        mutate.suites_of(mutant(suites=("pytset",)))


def test_only_pytest_and_the_docs_need_the_model_module() -> None:
    assert mutate.needs_module(["docs"]) and mutate.needs_module(["wine", "pytest"])
    assert not mutate.needs_module(["wine"])


def test_one_baseline_per_distinct_selection_in_first_use_order() -> None:
    chosen = [
        mutant(tests=ZEROING),
        mutant(path="src/a.c", suites=("wine",)),
        mutant(path="src/b.c", tests=ZEROING),
        mutant(tests=("tests/test_x.py", "tests/test_y.py")),
        mutant(path="src/c.c", suites=("wine",)),
        mutant(path="docs/a.rst", suites=("docs",)),
    ]
    assert mutate.baseline_selections(chosen) == [
        ("pytest", ZEROING),
        ("wine", ()),
        ("pytest", ("tests/test_x.py", "tests/test_y.py")),
        ("docs", ()),
    ]


def test_no_wine_or_docs_baseline_unless_a_mutant_needs_it() -> None:
    assert mutate.baseline_selections([mutant(tests=ZEROING)]) == [("pytest", ZEROING)]


def test_the_standing_docs_mutant_runs_the_doctest_build() -> None:
    [docs] = [m for m in MUTANTS if m.key == "docs-client-name-without-security"]
    assert mutate.selections_of(docs) == [("docs", ())]


# ---- what an exit status means ---------------------------------------------------------


def test_pytest_outcomes() -> None:
    out = "F\nFAILED tests/test_zeroing.py::test_wiped - assert 1 == 0\n1 failed in 0.1s\n"
    assert mutate.classify_pytest(0, "1 passed", "").status == "pass"
    assert mutate.classify_pytest(1, out, "") == (
        "fail",
        "tests/test_zeroing.py::test_wiped - assert 1 == 0",
    )
    for code in (2, 3, 4, 5):  # interrupted, internal, usage, nothing collected
        assert mutate.classify_pytest(code, "", "").status == "error"


def test_wine_outcomes() -> None:
    assert mutate.classify_wine(0, "40 passed, 0 failed", "").status == "pass"
    assert mutate.classify_wine(1, "FAIL shim: orphaned query\n1 failed", "") == (
        "fail",
        "FAIL shim: orphaned query",
    )
    assert mutate.classify_wine(1, "FAIL build x86_64\n", "").status == "error"
    assert mutate.classify_wine(1, "", "wine64: not found\n").status == "error"


def test_docs_outcomes() -> None:
    assert mutate.classify_docs(0, "", "").status == "pass"
    outcome = mutate.classify_docs(1, "", "client.rst:45: WARNING: 1 failure\n")
    assert outcome == ("fail", "client.rst:45: WARNING: 1 failure")
    assert mutate.classify_docs(1, "", "No module named sphinx").status == "error"


def test_a_mutant_is_killed_by_its_first_failing_suite_only() -> None:
    ran: List[str] = []

    def runs(*outcomes: Tuple[str, mutate.Outcome]):  # type: ignore[no-untyped-def]
        for kind, outcome in outcomes:
            ran.append(kind)
            yield (kind, ()), outcome

    killed, what = mutate.judge(
        runs(("pytest", PASS), ("docs", mutate.Outcome("fail", "x")), ("wine", PASS))
    )
    assert killed and "doctest" in what and what.endswith(": x")
    assert ran == ["pytest", "docs"]  # the suites after a kill need not run
    assert mutate.judge(runs(("pytest", mutate.Outcome("error", "no build")))) == (
        False,
        "no build",
    )
    assert mutate.judge(runs(("pytest", PASS), ("wine", PASS))) == (False, "")


# ---- what counts: the whole run, with stand-ins for the suites ----------------------


def run_all(chosen: List[Mutant], baseline: dict, kills: dict) -> Tuple[int, List[str], List[str]]:
    lines: List[str] = []
    mutants_run: List[str] = []
    lock = threading.Lock()

    def run_mutant(m: Mutant) -> Tuple[bool, str]:
        with lock:
            mutants_run.append(m.key)
        return kills[m.key], "killed by a stand-in" if kills[m.key] else ""

    status = mutate.run_all(
        chosen, lambda sel: baseline.get(sel, PASS), run_mutant, 2, lines.append
    )
    return status, lines, mutants_run


def test_a_failing_baseline_is_the_runners_failure_not_kills() -> None:
    chosen = [mutant("z", tests=ZEROING), mutant("w", path="src/a.c", suites=("wine",))]
    failing = {("pytest", ZEROING): mutate.Outcome("fail", "tests/test_zeroing.py::t - boom")}
    status, lines, ran = run_all(chosen, failing, {"z": True, "w": True})
    assert status != 0
    assert ran == []  # no mutant ran: none of their failures would prove anything
    assert lines[-1] == "0 passed, 2 failed"
    [why] = [line for line in lines if "baseline" in line and "zeroing" in line]
    assert "tests/test_zeroing.py::t - boom" in why and "unmutated" in why


def test_a_baseline_that_cannot_run_fails_the_runner_too() -> None:
    chosen = [mutant("w", path="src/a.c", suites=("wine",))]
    broken = {("wine", ()): mutate.Outcome("error", "the Wine suite could not run")}
    status, lines, ran = run_all(chosen, broken, {"w": True})
    assert (status, ran, lines[-1]) == (1, [], "0 passed, 1 failed")
    assert any("Wine" in line and "could not run" in line for line in lines)


def test_kills_count_after_a_passing_baseline() -> None:
    chosen = [mutant("a"), mutant("b"), mutant("c", path="docs/x.rst", suites=("docs",))]
    status, lines, ran = run_all(chosen, {}, {"a": True, "b": False, "c": True})
    assert sorted(ran) == ["a", "b", "c"]
    assert (status, lines[-1]) == (1, "2 passed, 1 failed")
    assert "FAIL b: SURVIVED: why b" in lines
    status, lines, _ = run_all(chosen[:1], {}, {"a": True})
    assert (status, lines[-1]) == (0, "1 passed, 0 failed")
