"""What this build of wsapeer answers with, for marks and skips (conftest.py
and the tests import it)."""

import shutil
import sys
import sysconfig

import wsapeer

#: Whether the build has the in-process contract model (WSAPEER_FWPUCLNT=model,
#: the default off Windows). A Windows release build has not: the suite runs
#: on one under tests/windows_python, where fwpuclnt.dll answers.
MODEL_BUILD = wsapeer.FWPUCLNT == "model"

#: The reason of needs_model(reason=...) for a test of what a model build does
#: outside contract_model(): every call raises UnsupportedPlatformError there,
#: while a Windows build calls Fwpuclnt.
OUTSIDE_THE_MODEL = (
    "expects UnsupportedPlatformError outside contract_model(), as a model build raises; "
    "a Windows build calls Fwpuclnt there"
)


def _cannot_build() -> "str | None":
    """Why this machine cannot build an extension at run time (tools/build_variant.py,
    benchmarks/run.py), or None: Windows needs setuptools and MSVC, which
    Windows CPython under Wine has not; elsewhere Python's own C compiler."""
    if sys.platform == "win32":
        try:
            from setuptools._distutils import _msvccompiler
        except ImportError:
            return "building an extension needs setuptools and MSVC; this Python has no setuptools"
        try:
            found = _msvccompiler._find_vcvarsall("x64")[0]
        except AttributeError:  # setuptools moved it: try the build, and fail if it fails
            return None
        return None if found else "building an extension needs MSVC; no vcvarsall.bat was found"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"building an extension needs a C compiler; {compiler!r} is not on PATH"
    return None


#: A skipif reason for tests that build an extension at run time (or None).
CANNOT_BUILD = _cannot_build()
