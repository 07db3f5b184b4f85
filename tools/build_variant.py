"""Builds the package with another Fwpuclnt implementation into a folder of its own.

    python tools/build_variant.py echo DEST     # DEST/wsapeer, built with WSAPEER_FWPUCLNT=echo

The benchmarks use it for the echo build and the tests for the none build;
neither is ever installed. CFLAGS and LDFLAGS in the environment pass through
(tests/sanitize/run builds the model under the sanitizers this way). Put DEST
first on sys.path (or PYTHONPATH) to import that build.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import build_ffi  # noqa: E402


def build(implementation: str, dest: pathlib.Path, quiet: bool = True) -> pathlib.Path:
    """Builds into dest; returns dest/wsapeer. Raises CalledProcessError on failure."""
    if implementation not in build_ffi.IMPLEMENTATIONS:
        raise SystemExit(f"unknown implementation {implementation!r}")
    work = dest / "build"
    # Outside the project: setuptools would read its pyproject.toml from the cwd.
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copy2(ROOT / "build_ffi.py", work)
    for folder in ("src", "benchmarks"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("*.py"))
    env = dict(os.environ, WSAPEER_FWPUCLNT=implementation)
    subprocess.run(
        [sys.executable, "build_ffi.py"],
        cwd=work,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.PIPE if quiet else None,
    )
    package = dest / "wsapeer"
    if package.exists():
        shutil.rmtree(package)
    shutil.copytree(
        ROOT / "wsapeer", package, ignore=shutil.ignore_patterns("*.so", "*.pyd", "_wsapeer.c")
    )
    [module] = [
        path
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        for path in (work / "wsapeer").glob(f"_wsapeer{suffix}")
    ]
    shutil.copy2(module, package)
    return package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("implementation", choices=list(build_ffi.IMPLEMENTATIONS))
    parser.add_argument("dest", type=pathlib.Path)
    args = parser.parse_args()
    try:
        package = build(args.implementation, args.dest)
    except subprocess.CalledProcessError as exc:
        sys.stderr.write((exc.stderr or b"").decode(errors="replace")[-4000:])
        return 1
    print(package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
