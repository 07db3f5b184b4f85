"""Applies each mutant of mutants.py to a copy of the tree, rebuilds what it
touches, runs the suites that can reach it (stopping at the first failure),
and reports whether it was killed.

A mutant that no longer applies (its text is gone or ambiguous) or that does
not build fails too: the list must stay true to the code.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Tuple

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tools"))

import build_variant  # noqa: E402
from mutants import MUTANTS, Mutant  # noqa: E402

PYTEST_TIMEOUT = 300
WINE_TIMEOUT = 600


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


def tail(text: str, lines: int = 12) -> str:
    return "\n".join("     " + line for line in text.strip().splitlines()[-lines:])


def run_mutant(
    mutant: Mutant, files: List[str], module: pathlib.Path, work: pathlib.Path
) -> Tuple[bool, str]:
    """(killed, what happened)."""
    tree = work / mutant.key
    copy_tree(files, tree)
    problem = apply(mutant, tree)
    if problem:
        return False, f"does not apply: {problem}"
    compiled = any(
        name.endswith((".c", ".h")) for name in (mutant.path, *(edit[0] for edit in mutant.also))
    )
    if "pytest" in mutant.suites:
        if compiled:
            tool = tree / "tools" / "build_variant.py"
            build = subprocess.run(
                [sys.executable, str(tool), "model", str(tree / "_build")],
                capture_output=True,
                text=True,
            )
            if build.returncode:
                return False, "does not build:\n" + tail(build.stderr + build.stdout)
            [built] = [
                p
                for p in (tree / "_build" / "wsapeer").iterdir()
                if p.name.startswith("_wsapeer") and p.suffix in (".so", ".pyd")
            ]
            shutil.copy2(built, tree / "wsapeer" / built.name)
        else:
            shutil.copy2(module, tree / "wsapeer" / module.name)
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
        env.pop("WSAPEER_FWPUCLNT", None)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
             "-p", "no:warnings", "--tb=no", *mutant.tests],
            cwd=tree, env=env, capture_output=True, text=True, timeout=PYTEST_TIMEOUT,
        )  # fmt: skip
        if result.returncode == 1:
            failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
            return True, "killed by pytest: " + (failed[0][7:] if failed else "a failure")
        if result.returncode != 0:
            return False, f"pytest could not run (exit {result.returncode}):\n" + tail(
                result.stdout + result.stderr
            )
    if "wine" in mutant.suites:
        env = dict(os.environ, WSAPEER_WINE_QUICK="1")
        env.pop("WSAPEER_FWPUCLNT", None)
        result = subprocess.run(
            ["bash", str(tree / "tests" / "windows" / "run")],
            cwd=tree, env=env, capture_output=True, text=True, timeout=WINE_TIMEOUT,
        )  # fmt: skip
        fails = [
            line for line in result.stdout.splitlines() if line.startswith(("FAIL", "     FAIL"))
        ]
        if any(line.startswith("FAIL build") or "-Werror" in line for line in fails):
            return False, "does not build for Windows:\n" + tail(result.stdout)
        if result.returncode != 0 and fails:
            return True, "killed by the Wine suite: " + fails[0].strip()
        if result.returncode != 0:
            return False, "the Wine suite could not run:\n" + tail(result.stdout + result.stderr)
    return False, "SURVIVED: " + mutant.why


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
    started = time.monotonic()
    files = tracked_files()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="wsapeer-mutants-") as scratch:
        work = pathlib.Path(scratch)
        # One build of the unmutated extension serves every Python-only mutant.
        baseline = work / "_baseline"
        copy_tree(files, baseline)
        package = build_variant.build("model", baseline / "_build")
        [module] = [
            p
            for p in package.iterdir()
            if p.name.startswith("_wsapeer") and p.suffix in (".so", ".pyd")
        ]
        jobs = max(1, min(2, os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            futures = {pool.submit(run_mutant, m, files, module, work): m for m in chosen}
            for future in concurrent.futures.as_completed(futures):
                mutant = futures[future]
                try:
                    killed, what = future.result()
                except subprocess.TimeoutExpired as exc:
                    killed, what = False, f"timed out after {exc.timeout} s"
                shutil.rmtree(work / mutant.key, ignore_errors=True)
                print(f"{'ok  ' if killed else 'FAIL'} {mutant.key}: {what}", flush=True)
                passed += killed
                failed += not killed
    print(f"mutation suite: {len(chosen)} mutants in {time.monotonic() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
