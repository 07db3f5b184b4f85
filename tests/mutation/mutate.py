"""Applies each mutant of mutants.py to a copy of the tree, rebuilds what it
touches, runs the suites that can reach it (stopping at the first failure),
and reports whether it was killed.

A failure counts as a kill only if the same run passes on the unmutated tree:
before any mutant, each suite and test selection the chosen mutants use runs
once on the unmutated tree (the baseline). If one fails there (a flaky or a
broken test), the runner says so, fails, and counts no kill at all: a test
that fails anyway proves nothing about a mutant.

A mutant that no longer applies (its text is gone or ambiguous) or that does
not build fails too: the list must stay true to the code.

What keeps the run short (CI has a time budget) never skips a mutant: each
runs only the tests it names (a Wine mutant's `wine_tests`, checked against
test_shim.c's table before anything is built), pytest stops at its first
failing test, model builds take what a mutant did not change from ccache,
and each worker thread reuses one Wine prefix.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set, Tuple

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from mutants import MUTANTS, Mutant  # noqa: E402

PYTEST_TIMEOUT = 300
WINE_TIMEOUT = 600
DOCS_TIMEOUT = 300

#: What a suite kind runs on a tree: "pytest" its mutant's `tests` on a model
#: build, "wine" tests/windows/run in quick mode (test_shim.exe running only
#: its mutant's `wine_tests`, or all if it names none), "docs" Sphinx's
#: doctest builder (every testcode block of docs/, under the strict model).
KINDS = ("pytest", "wine", "docs")
SHIM_TESTS = "tests/windows/test_shim.c"
#: The one other name a Wine mutant may give: tests/windows/run's native run
#: of tests/unit_c/test_batch_block.c (naming only it skips the Wine run).
UNIT_TEST = "test_batch_block"


class Outcome(NamedTuple):
    """One suite's run on one tree: status "pass", "fail" (a test failed:
    detail names it) or "error" (the suite could not run: detail says why)."""

    status: str
    detail: str = ""


#: A suite run as a baseline knows it: its kind and, for pytest and wine, the tests.
Selection = Tuple[str, Tuple[str, ...]]


def tail(text: str, lines: int = 12) -> str:
    return "\n".join("     " + line for line in text.strip().splitlines()[-lines:])


# ---- the decisions (pure: tests/test_mutation_runner.py checks them) ----------


def touches_docs(mutant: Mutant) -> bool:
    """Whether the mutant edits what Sphinx builds: docs/*.rst, docs/conf.py, the README."""
    return any(
        name.startswith("docs/") or name == "README.md"
        for name in (mutant.path, *(edit[0] for edit in mutant.also))
    )


def suites_of(mutant: Mutant) -> Tuple[str, ...]:
    """The suites that run for the mutant, in order: its own, then the doctest
    build for a mutant of the docs (the examples are the docs' tests)."""
    unknown = set(mutant.suites) - set(KINDS)
    if unknown:
        raise ValueError(f"{mutant.key}: unknown suites {sorted(unknown)}")
    if touches_docs(mutant) and "docs" not in mutant.suites:
        return (*mutant.suites, "docs")
    return tuple(mutant.suites)


def selections_of(mutant: Mutant) -> List[Selection]:
    named = {"pytest": tuple(mutant.tests), "wine": tuple(mutant.wine_tests)}
    return [(kind, named.get(kind, ())) for kind in suites_of(mutant)]


def wine_test_names(shim_source: str) -> Set[str]:
    """The names a Wine mutant may give: the tests test_shim.exe can be asked
    for (its table's TEST(...) lines) and the unit test."""
    return {UNIT_TEST, *re.findall(r"^    TEST\((test_\w+)\),$", shim_source, re.M)}


def wine_test_problems(mutants: Iterable[Mutant], names: Set[str]) -> List[str]:
    """One line per Wine test a mutant names that is no test (test_shim.exe
    would refuse it too, but only once built, as a failing baseline), or per
    mutant naming Wine tests that runs no Wine suite (names nothing runs)."""
    problems = []
    for mutant in mutants:
        if mutant.wine_tests and "wine" not in mutant.suites:
            problems.append(f"{mutant.key}: names Wine tests but does not run the Wine suite")
            continue
        problems += [
            f"{mutant.key}: no test in {SHIM_TESTS} is named "
            + (name if name.isidentifier() else repr(name))
            for name in mutant.wine_tests
            if name not in names
        ]
    return problems


def baseline_selections(mutants: Iterable[Mutant]) -> List[Selection]:
    """Every distinct suite run the mutants need, in first-use order: what the
    unmutated tree must pass before any failure can count as a kill."""
    seen: Dict[Selection, None] = {}
    for mutant in mutants:
        for selection in selections_of(mutant):
            seen.setdefault(selection, None)
    return list(seen)


def describe(selection: Selection) -> str:
    kind, tests = selection
    if kind == "pytest":
        return "pytest " + " ".join(tests)
    if kind == "wine":
        return "the Wine suite (quick)" + (": " + " ".join(tests) if tests else "")
    return "the Sphinx doctest build of docs/"


def classify_pytest(returncode: int, stdout: str, stderr: str) -> Outcome:
    if returncode == 0:
        return Outcome("pass")
    if returncode == 1:
        failed = [line for line in stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        return Outcome("fail", failed[0].split(" ", 1)[1] if failed else "a failure")
    return Outcome("error", f"pytest could not run (exit {returncode}):\n" + tail(stdout + stderr))


def classify_wine(returncode: int, stdout: str, stderr: str) -> Outcome:
    fails = [line for line in stdout.splitlines() if line.startswith(("FAIL", "     FAIL"))]
    if any(line.startswith("FAIL build") or "-Werror" in line for line in fails):
        return Outcome("error", "does not build for Windows:\n" + tail(stdout))
    if returncode == 0:
        return Outcome("pass")
    if fails:
        return Outcome("fail", fails[0].strip())
    return Outcome("error", "the Wine suite could not run:\n" + tail(stdout + stderr))


def classify_docs(returncode: int, stdout: str, stderr: str, report: str = "") -> Outcome:
    """sphinx-build's exit status 1 is a warning (-W) or a failed example: a
    failure; any other, a build that could not run. report: the builder's
    output.txt, which names the page of a failed example."""
    if returncode == 0:
        return Outcome("pass")
    output = stdout + stderr
    if returncode != 1 or "No module named sphinx" in output:
        return Outcome("error", f"sphinx-build could not run (exit {returncode}):\n" + tail(output))
    pages = re.findall(r"^Document: (\S+)\n-+\n\*{10}", report, re.M)
    lines = [line.strip() for line in output.splitlines() if line.strip().strip("*")]
    where = next((line for line in lines if line.startswith("File ")), "")
    raised = [line for line in lines if re.match(r"[\w.]+(Error|Violation|Exception)\b", line)]
    rules = [line for line in lines if re.match(r"- [a-z]+(-[a-z]+)+: socket", line)]
    found = [line[:160] for line in (where, *raised[-1:], *rules[:1]) if line]
    if not found:
        found = [line for line in lines if "WARNING" in line or "ERROR" in line][:1] or lines[:1]
    page = f"docs/{pages[0]}.rst: " if pages else ""
    return Outcome("fail", page + "; ".join(found) if found else f"{page}exit 1")


def judge(outcomes: Iterable[Tuple[Selection, Outcome]]) -> Tuple[bool, str]:
    """(killed, what happened) from a mutant's suite runs, consumed in order
    and only up to the first that fails: the rest need not run."""
    for selection, outcome in outcomes:
        if outcome.status == "fail":
            return True, f"killed by {describe(selection)}: {outcome.detail}"
        if outcome.status == "error":
            return False, outcome.detail
    return False, ""


def baseline_failures(results: Dict[Selection, Outcome]) -> List[str]:
    """One line per baseline that did not pass: the runner's own failure."""
    return [
        f"FAIL baseline: {describe(selection)} "
        + (
            f"fails on the unmutated tree (flaky or failing, so it kills nothing): {outcome.detail}"
            if outcome.status == "fail"
            else f"cannot run on the unmutated tree: {outcome.detail}"
        )
        for selection, outcome in results.items()
        if outcome.status != "pass"
    ]


def run_all(
    chosen: List[Mutant],
    baseline: Callable[[Selection], Outcome],
    mutant: Callable[[Mutant], Tuple[bool, str]],
    jobs: int,
    out: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Runs the baselines, then (only if all passed) the mutants; prints a line
    per failure or mutant (with the seconds it took), then "N passed, N failed"
    (a killed mutant is a pass). Returns the exit status."""

    def timed(m: Mutant) -> Tuple[bool, str, float]:
        began = clock()
        killed, what = mutant(m)
        return killed, what, clock() - began

    started = clock()
    selections = baseline_selections(chosen)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = dict(zip(selections, pool.map(baseline, selections)))
        baseline_seconds = clock() - started
        broken = baseline_failures(results)
        if broken:
            for line in broken:
                out(line)
            out(f"mutation suite: the baseline failed, so none of the {len(chosen)} mutants ran")
            out(f"0 passed, {len(chosen)} failed")
            return 1
        passed = failed = 0
        futures = {pool.submit(timed, m): m for m in chosen}
        for future in concurrent.futures.as_completed(futures):
            m = futures[future]
            killed, what, seconds = future.result()
            out(
                f"{'ok  ' if killed else 'FAIL'} {m.key}: {what or 'SURVIVED: ' + m.why}"
                f" [{seconds:.0f} s]"
            )
            passed += killed
            failed += not killed
    out(
        f"mutation suite: {len(chosen)} mutants in {clock() - started:.0f} s "
        f"(baseline: {len(selections)} suite runs passed in {baseline_seconds:.0f} s)"
    )
    out(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


# ---- the real runs --------------------------------------------------------------


def tracked_files() -> List[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split("\n")  # fmt: skip
    return [name for name in listed if name and (ROOT / name).is_file()]


def copy_tree(files: List[str], dest: pathlib.Path) -> None:
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def apply(mutant: Mutant, tree: pathlib.Path) -> str:
    """Applies the mutant; returns "" or why it cannot be applied."""
    for name, before, after in ((mutant.path, mutant.before, mutant.after), *mutant.also):
        path = tree / name
        text = path.read_text(encoding="utf-8")
        count = text.count(before)
        if count != 1:
            return f"its text occurs {count} times in {name} (must be exactly once)"
        path.write_text(text.replace(before, after), encoding="utf-8")
    return ""


def build_environment(
    base: Dict[str, str], ccache: Optional[str], cc: str, work: str
) -> Dict[str, str]:
    """The model builds' environment: through ccache if there is one, with a
    cache of the run's own, so that a mutant's build compiles what it changed
    and takes the rest (cffi's generated module above all) from the cache."""
    if ccache is None:
        return dict(base)
    return dict(
        base,
        CC=f"{ccache} {base.get('CC', cc)}",
        CCACHE_DIR=f"{work}/ccache",
        CCACHE_BASEDIR=work,
        CCACHE_NOHASHDIR="1",
    )


def build_model(tree: pathlib.Path, env: Dict[str, str]) -> Tuple[Optional[pathlib.Path], str]:
    """(the model build of the tree's own sources, "") or (None, why not)."""
    tool = tree / "tools" / "build_variant.py"
    build = subprocess.run(
        [sys.executable, str(tool), "model", str(tree / "_build")],
        env=env,
        capture_output=True,
        text=True,
    )
    if build.returncode:
        return None, "does not build:\n" + tail(build.stderr + build.stdout)
    [module] = [
        p
        for p in (tree / "_build" / "wsapeer").iterdir()
        if p.name.startswith("_wsapeer") and p.suffix in (".so", ".pyd")
    ]
    return module, ""


def install_module(
    tree: pathlib.Path, module: pathlib.Path, compiled: bool, env: Dict[str, str]
) -> str:
    """Puts the model build into tree/wsapeer: the unmutated one, or for a
    mutant of the C a build of the tree itself. Returns "" or why it failed."""
    if compiled:
        built, problem = build_model(tree, env)
        if built is None:
            return problem
        module = built
    shutil.copy2(module, tree / "wsapeer" / module.name)
    return ""


def run_suite(selection: Selection, tree: pathlib.Path) -> Outcome:
    """One suite on a prepared tree (its model build in tree/wsapeer). The
    Wine prefix of the worker thread, beside the tree, is kept for its next run."""
    kind, tests = selection
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    env.pop("WSAPEER_FWPUCLNT", None)
    try:
        if kind == "pytest":
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                 "-p", "no:warnings", "--tb=no", "-rfE", *tests],
                cwd=tree, env=env, capture_output=True, text=True, timeout=PYTEST_TIMEOUT,
            )  # fmt: skip
            return classify_pytest(result.returncode, result.stdout, result.stderr)
        if kind == "wine":
            prefix = tree.parent / f"wine-prefix-{threading.current_thread().name}"
            result = subprocess.run(
                ["bash", str(tree / "tests" / "windows" / "run")],
                cwd=tree, env=wine_environment(dict(os.environ), tests, str(prefix)),
                capture_output=True, text=True, timeout=WINE_TIMEOUT,
            )  # fmt: skip
            return classify_wine(result.returncode, result.stdout, result.stderr)
        out = tree / "_docs_doctest"
        result = subprocess.run(
            [sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going", "-n", "-b", "doctest",
             "docs", str(out)],
            cwd=tree, env=env, capture_output=True, text=True, timeout=DOCS_TIMEOUT,
        )  # fmt: skip
        report = out / "output.txt"
        text = report.read_text(encoding="utf-8") if report.is_file() else ""
        return classify_docs(result.returncode, result.stdout, result.stderr, text)
    except subprocess.TimeoutExpired as exc:
        return Outcome("error", f"{describe(selection)} timed out after {exc.timeout} s")


def wine_environment(base: Dict[str, str], tests: Tuple[str, ...], prefix: str) -> Dict[str, str]:
    """tests/windows/run's environment: quick mode, the tests named (if any),
    and the Wine prefix to reuse (one per worker thread: a run at a time)."""
    env = dict(base, WSAPEER_WINE_QUICK="1", WSAPEER_WINE_PREFIX=prefix)
    env.pop("WSAPEER_FWPUCLNT", None)
    env.pop("WSAPEER_WINE_TESTS", None)
    if tests:
        env["WSAPEER_WINE_TESTS"] = " ".join(tests)
    return env


def needs_module(kinds: Iterable[str]) -> bool:
    return any(kind in ("pytest", "docs") for kind in kinds)


def run_baseline(
    selection: Selection, files: List[str], module: pathlib.Path, work: pathlib.Path
) -> Outcome:
    """The selection on a fresh copy of the unmutated tree (its own, so that
    baselines running side by side share nothing)."""
    tree = pathlib.Path(tempfile.mkdtemp(prefix="baseline-", dir=work))
    try:
        copy_tree(files, tree)
        if needs_module([selection[0]]):
            install_module(tree, module, compiled=False, env={})
        return run_suite(selection, tree)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def run_mutant(
    mutant: Mutant,
    files: List[str],
    module: pathlib.Path,
    work: pathlib.Path,
    build_env: Dict[str, str],
) -> Tuple[bool, str]:
    """(killed, what happened; "" if it survived)."""
    tree = work / mutant.key
    try:
        copy_tree(files, tree)
        problem = apply(mutant, tree)
        if problem:
            return False, f"does not apply: {problem}"
        edited = (mutant.path, *(edit[0] for edit in mutant.also))
        compiled = any(name.endswith((".c", ".h")) for name in edited)
        if needs_module(suites_of(mutant)):
            problem = install_module(tree, module, compiled, build_env)
            if problem:
                return False, problem
        runs: Iterator[Tuple[Selection, Outcome]] = (
            (selection, run_suite(selection, tree)) for selection in selections_of(mutant)
        )
        return judge(runs)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def main(argv: List[str]) -> int:
    chosen = [m for m in MUTANTS if not argv or m.key in argv]
    unknown = set(argv) - {m.key for m in MUTANTS}
    if unknown:
        print(f"unknown mutants: {' '.join(sorted(unknown))}")
        return 2
    keys = [m.key for m in MUTANTS]
    if len(keys) != len(set(keys)):
        print("duplicate mutant keys")
        return 2
    for m in chosen:
        suites_of(m)  # an unknown suite kind is the list's error, before any build
    problems = wine_test_problems(chosen, wine_test_names((ROOT / SHIM_TESTS).read_text("utf-8")))
    if problems:
        print("\n".join(problems))
        return 2
    files = tracked_files()
    ccache = shutil.which("ccache")
    if ccache is None:
        print("note: no ccache, so each mutant of the C rebuilds all of the model build")
    with tempfile.TemporaryDirectory(prefix="wsapeer-mutants-") as scratch:
        work = pathlib.Path(scratch)
        cc = sysconfig.get_config_var("CC") or "cc"
        build_env = build_environment(dict(os.environ), ccache, cc, str(work))
        # One build of the unmutated extension serves the baselines and every
        # mutant that does not touch the C (and fills the cache for those that do).
        clean = work / "_baseline"
        copy_tree(files, clean)
        module, problem = build_model(clean, build_env)
        if module is None:
            print(f"FAIL the unmutated tree {problem}")
            return 1
        jobs = max(1, min(2, os.cpu_count() or 1))
        return run_all(
            chosen,
            lambda selection: run_baseline(selection, files, module, work),
            lambda mutant: run_mutant(mutant, files, module, work, build_env),
            jobs,
            lambda line: print(line, flush=True),
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
