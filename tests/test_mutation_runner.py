"""The mutation runner's decisions, without any build: a mutant is killed only
by a suite that passes on the unmutated tree, a failing baseline is the
runner's own failure, and a mutant of the docs runs the doctest build.
(tests/mutation/run runs them for real.)"""

from __future__ import annotations

import pathlib
import sys
from typing import List, Tuple

import pytest

MUTATION = pathlib.Path(__file__).resolve().parent / "mutation"
sys.path.insert(0, str(MUTATION))

import mutate  # noqa: E402
from mutants import MUTANTS, Mutant  # noqa: E402
from mutate import Outcome  # noqa: E402

ZEROING = ("tests/test_zeroing.py",)
PASS = Outcome("pass")


def mutant(path: str = "wsapeer/_x.py", key: str = "k", **fields: object) -> Mutant:
    return Mutant(key, path, "a", "b", "why " + key, **fields)  # type: ignore[arg-type]


# ---- which suites, which baselines ---------------------------------------------------


@pytest.mark.parametrize(
    "path, also",
    [
        ("docs/client.rst", ()),
        ("docs/conf.py", ()),
        ("README.md", ()),
        ("wsapeer/_socket.py", (("docs/api.rst", "a", "b"),)),
    ],
)
def test_a_mutant_of_the_docs_also_runs_the_doctest_build(path: str, also: tuple) -> None:
    m = mutant(path, tests=ZEROING, also=also)
    assert mutate.suites_of(m) == ("pytest", "docs")
    assert mutate.selections_of(m) == [("pytest", ZEROING), ("docs", ())]


@pytest.mark.parametrize("path", ["src/docs/x.c", "wsapeer/README.md", "tests/docs.py"])
def test_a_mutant_elsewhere_runs_only_its_suites(path: str) -> None:
    assert mutate.selections_of(mutant(path, suites=("wine",))) == [("wine", ())]


def test_a_docs_suite_named_is_not_run_twice() -> None:
    assert mutate.suites_of(mutant("docs/a.rst", suites=("docs",))) == ("docs",)


def test_an_unknown_suite_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown suites"):
        mutate.suites_of(mutant(suites=("pytset",)))


def test_only_pytest_and_the_docs_need_the_model_module() -> None:
    assert mutate.needs_module(["docs"]) and mutate.needs_module(["wine", "pytest"])
    assert not mutate.needs_module(["wine"])


def test_one_baseline_per_distinct_suite_run_in_first_use_order() -> None:
    chosen = [
        mutant(tests=ZEROING),
        mutant("src/a.c", suites=("wine",)),
        mutant("src/b.c", tests=ZEROING),
        mutant(tests=("tests/test_x.py", "tests/test_y.py")),
        mutant("src/c.c", suites=("wine",)),
        mutant("docs/a.rst", suites=("docs",)),
        mutant("README.md", tests=ZEROING),
    ]
    assert mutate.baseline_selections(chosen) == [
        ("pytest", ZEROING),
        ("wine", ()),
        ("pytest", ("tests/test_x.py", "tests/test_y.py")),
        ("docs", ()),
    ]


def test_no_wine_baseline_unless_a_mutant_needs_it() -> None:
    assert mutate.baseline_selections([mutant(tests=ZEROING)]) == [("pytest", ZEROING)]


# ---- which of test_shim.c's tests a Wine mutant runs ---------------------------------

SHIM = MUTATION.parent / "windows" / "test_shim.c"


def test_a_wine_mutant_runs_only_the_shim_tests_it_names() -> None:
    named = mutant("src/a.c", suites=("wine",), wine_tests=("test_batch", "test_op_run"))
    assert mutate.selections_of(named) == [("wine", ("test_batch", "test_op_run"))]
    assert mutate.describe(("wine", ("test_batch", "test_op_run"))) == (
        "the Wine suite (quick): test_batch test_op_run"
    )
    assert mutate.selections_of(mutant("src/a.c", suites=("wine",))) == [("wine", ())]
    assert mutate.describe(("wine", ())) == "the Wine suite (quick)"


def test_wine_mutants_naming_the_same_tests_share_one_baseline() -> None:
    chosen = [
        mutant("src/a.c", suites=("wine",), wine_tests=("test_batch",)),
        mutant("src/b.c", suites=("wine",), wine_tests=("test_op_run",)),
        mutant("src/c.c", suites=("wine",), wine_tests=("test_batch",)),
        mutant("src/d.c", suites=("wine",)),
    ]
    assert mutate.baseline_selections(chosen) == [
        ("wine", ("test_batch",)),
        ("wine", ("test_op_run",)),
        ("wine", ()),
    ]


def test_the_wine_run_is_told_the_names_quick_mode_and_its_prefix() -> None:
    base = {"PATH": "/bin", "WSAPEER_FWPUCLNT": "model"}
    assert mutate.wine_environment(base, ("a", "b"), "/w/p") == {
        "PATH": "/bin",
        "WSAPEER_WINE_QUICK": "1",
        "WSAPEER_WINE_TESTS": "a b",
        "WSAPEER_WINE_PREFIX": "/w/p",
    }
    env = mutate.wine_environment({"WSAPEER_WINE_TESTS": "stale"}, (), "/w/p")
    assert "WSAPEER_WINE_TESTS" not in env  # no names: every test runs


def test_the_shim_tests_are_read_from_its_table() -> None:
    source = "static void test_a(void) {}\n    TEST(test_a),\n    TEST(test_b_c),\nTEST(x)\n"
    assert mutate.wine_test_names(source) == {"test_a", "test_b_c", "test_batch_block"}
    names = mutate.wine_test_names(SHIM.read_text(encoding="utf-8"))
    # The first and the last test, and test_tcp_before_connect once per family.
    assert {"test_marshal_matches_sdk", "test_zeroing_controls"} <= names
    assert {"test_tcp_before_connect_ipv4", "test_tcp_before_connect_ipv6"} <= names
    assert "test_tcp_before_connect" not in names


def test_a_wine_test_name_that_is_no_test_is_the_lists_error() -> None:
    names = {"test_batch", "test_op_run"}
    chosen = [
        mutant("src/a.c", key="typo", suites=("wine",), wine_tests=("test_bacth",)),
        mutant("src/b.c", key="fine", suites=("wine",), wine_tests=("test_batch",)),
        mutant("src/c.c", key="unrun", tests=ZEROING, wine_tests=("test_op_run",)),
        mutant("src/d.c", key="spaced", suites=("wine",), wine_tests=("test_batch test_op_run",)),
    ]
    assert mutate.wine_test_problems(chosen, names) == [
        "typo: no test in tests/windows/test_shim.c is named test_bacth",
        "unrun: names Wine tests but does not run the Wine suite",
        "spaced: no test in tests/windows/test_shim.c is named 'test_batch test_op_run'",
    ]


def test_every_standing_wine_test_name_is_a_test() -> None:
    names = mutate.wine_test_names(SHIM.read_text(encoding="utf-8"))
    assert mutate.wine_test_problems(MUTANTS, names) == []


def test_every_standing_mutant_of_the_docs_runs_the_doctest_build() -> None:
    docs = [m for m in MUTANTS if mutate.touches_docs(m)]
    assert len(docs) >= 4
    for m in docs:
        assert "docs" in mutate.suites_of(m), m.key


# ---- the model builds ------------------------------------------------------------------


def test_the_model_builds_go_through_ccache_when_there_is_one() -> None:
    env = mutate.build_environment({"PATH": "/bin"}, "/usr/bin/ccache", "gcc -pthread", "/w")
    assert env == {
        "PATH": "/bin",
        "CC": "/usr/bin/ccache gcc -pthread",
        "CCACHE_DIR": "/w/ccache",  # the run's own cache: nothing outside it is read
        "CCACHE_BASEDIR": "/w",  # each mutant's tree is elsewhere under /w
        "CCACHE_NOHASHDIR": "1",
    }
    # A compiler chosen in the environment stays the compiler.
    assert mutate.build_environment({"CC": "clang"}, "/c", "gcc", "/w")["CC"] == "/c clang"
    assert mutate.build_environment({"PATH": "/bin"}, None, "gcc", "/w") == {"PATH": "/bin"}


# ---- what a suite's exit means ---------------------------------------------------------


def test_pytest_outcomes() -> None:
    out = "F\nFAILED tests/test_zeroing.py::test_wiped - assert 1 == 0\n1 failed in 0.1s\n"
    assert mutate.classify_pytest(0, "1 passed", "") == PASS
    assert mutate.classify_pytest(1, out, "") == (
        "fail",
        "tests/test_zeroing.py::test_wiped - assert 1 == 0",
    )
    assert mutate.classify_pytest(1, "ERROR tests/test_a.py::test_b - boom\n", "")[0] == "fail"
    for code in (2, 3, 4, 5):  # interrupted, internal, usage, nothing collected
        assert mutate.classify_pytest(code, "", "")[0] == "error"


def test_wine_outcomes() -> None:
    assert mutate.classify_wine(0, "40 passed, 0 failed", "") == PASS
    assert mutate.classify_wine(1, "ok   a\nFAIL shim: orphaned query\n1 failed", "") == (
        "fail",
        "FAIL shim: orphaned query",
    )
    assert mutate.classify_wine(1, "FAIL build x86_64\n", "")[0] == "error"
    assert mutate.classify_wine(1, "", "wine64: not found\n")[0] == "error"


def test_docs_outcomes() -> None:
    assert mutate.classify_docs(0, "", "") == PASS
    stderr = (
        "WARNING: ****\n"
        'File "_under_model.rst", line 12, in default (cleanup code)\n'
        "Failed example:\n"
        "    wsapeer.testing.ContractViolation: 1 contract violation(s):\n"
        "      - name-without-security: socket 4: WSASetSocketPeerTargetName #4: ...\n"
    )
    report = "Document: index\n---------------\nok\n\nDocument: udp\n-------------\n" + "*" * 70
    status, detail = mutate.classify_docs(1, "", stderr, report)
    assert status == "fail" and detail.startswith("docs/udp.rst: ")
    assert "name-without-security" in detail and 'File "_under_model.rst", line 12' in detail
    assert mutate.classify_docs(1, "", "x.rst:3: WARNING: undefined label\n")[0] == "fail"
    assert mutate.classify_docs(2, "", "Extension error")[0] == "error"
    assert mutate.classify_docs(1, "", "No module named sphinx")[0] == "error"


def test_a_mutant_is_killed_by_its_first_failing_suite() -> None:
    tried: List[str] = []

    def runs(*outcomes: Outcome):
        for i, outcome in enumerate(outcomes):
            tried.append(outcome.status)
            yield ("pytest", (f"t{i}",)), outcome

    assert mutate.judge(runs(PASS, Outcome("fail", "x"), PASS)) == (
        True,
        "killed by pytest t1: x",
    )
    assert tried == ["pass", "fail"]  # the suite after the kill never ran
    assert mutate.judge(runs(Outcome("error", "no build"))) == (False, "no build")
    assert mutate.judge(runs(PASS, PASS)) == (False, "")


# ---- what counts: the whole run, with fake suites ---------------------------------------


def run(chosen: List[Mutant], baselines: dict, kills: dict) -> Tuple[int, List[str], List[str]]:
    """(exit status, lines printed, mutants run) of run_all with fake suites."""
    lines: List[str] = []
    ran: List[str] = []

    def mutant_run(m: Mutant) -> Tuple[bool, str]:
        ran.append(m.key)
        return kills[m.key]

    ticks = iter(range(0, 10**6, 7))  # each reading of the clock: 7 s later
    clock = lambda: float(next(ticks))  # noqa: E731
    status = mutate.run_all(chosen, baselines.__getitem__, mutant_run, 1, lines.append, clock)
    return status, lines, ran


def test_a_failing_baseline_is_the_runners_failure_not_kills() -> None:
    chosen = [
        mutant(key="a", tests=ZEROING),
        mutant("src/a.c", key="b", suites=("wine",)),
        mutant("docs/a.rst", key="c", suites=("docs",)),
    ]
    baselines = {
        ("pytest", ZEROING): Outcome("fail", "tests/test_zeroing.py::test_wiped - boom"),
        ("wine", ()): PASS,
        ("docs", ()): Outcome("error", "sphinx-build could not run (exit 2)"),
    }
    status, lines, ran = run(chosen, baselines, {m.key: (True, "killed") for m in chosen})
    assert status != 0
    assert ran == []  # no mutant ran, so none can count as killed
    assert lines[0] == (
        "FAIL baseline: pytest tests/test_zeroing.py fails on the unmutated tree (flaky or "
        "failing, so it kills nothing): tests/test_zeroing.py::test_wiped - boom"
    )
    assert lines[1].startswith("FAIL baseline: the Sphinx doctest build of docs/ cannot run")
    assert not any(line.startswith("ok") for line in lines)
    assert lines[-1] == "0 passed, 3 failed"


def test_kills_count_only_after_every_baseline_passed() -> None:
    chosen = [mutant(key="a", tests=ZEROING), mutant("src/a.c", key="b", suites=("wine",))]
    baselines = {("pytest", ZEROING): PASS, ("wine", ()): PASS}
    kills = {"a": (True, "killed by pytest x"), "b": (False, "")}
    status, lines, ran = run(chosen, baselines, kills)
    assert status == 1 and sorted(ran) == ["a", "b"]
    # Each mutant's line says how long it took: the clock read before and after it.
    assert "ok   a: killed by pytest x [7 s]" in lines and "FAIL b: SURVIVED: why b [7 s]" in lines
    assert lines[-2] == ("mutation suite: 2 mutants in 42 s (baseline: 2 suite runs passed in 7 s)")
    assert lines[-1] == "1 passed, 1 failed"
    kills["b"] = (True, "killed by the Wine suite (quick): FAIL x")
    assert run(chosen, baselines, kills)[0] == 0
    assert run(chosen, baselines, kills)[1][-1] == "2 passed, 0 failed"


def test_one_failing_baseline_among_passing_ones_stops_everything() -> None:
    chosen = [mutant(key="a", tests=ZEROING), mutant("src/a.c", key="b", suites=("wine",))]
    baselines = {("pytest", ZEROING): PASS, ("wine", ()): Outcome("fail", "FAIL shim: x")}
    status, lines, ran = run(chosen, baselines, {"a": (True, ""), "b": (True, "")})
    assert status == 1 and ran == []
    assert lines[0].startswith("FAIL baseline: the Wine suite (quick) fails on the unmutated")
    assert lines[-1] == "0 passed, 2 failed"
