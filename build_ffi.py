"""cffi out-of-line API-mode builder for wsapeer._wsapeer.

What answers the secure socket calls is chosen here, when the extension is
built, and never at run time (as xattr and argon2-cffi-bindings do). The build
environment variable WSAPEER_FWPUCLNT names the implementation of the seam
declared in src/fwpuclnt.h:

    windows  the SDK calls into Fwpuclnt.dll: the default on Windows, and the only
             implementation release wheels are built with
    model    the contract model (src/model/), off until
             wsapeer.testing.contract_model() switches it on: the default elsewhere
    none     nothing: every call raises UnsupportedPlatformError
    echo     the benchmarks' no-op (benchmarks/echo.c): never installed

The cdef is the CDEF blocks of the shim's headers and of the implementation's,
so the interface is written once and the C compiler checks the shim against it.

    python build_ffi.py                         # builds the module in place
    python build_ffi.py --show sources --platform win32
    python build_ffi.py --emit-c out.c --platform win32   # cffi's C, not compiled
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
VARIABLE = "WSAPEER_FWPUCLNT"

# Paths relative to this file: setuptools wants relative source paths.
SHIM_SOURCES = ("src/_wsapeer.c", "src/marshal.c", "src/overlapped.c")
# The shim's interface (their CDEF blocks are the shared part of the cdef),
# then the headers its sources include.
SHIM_INTERFACE = ("src/wsapeer.h", "src/fwpuclnt.h")
SHIM_HEADERS = (
    *SHIM_INTERFACE,
    "src/win_layout.h",
    "src/byte_order.h",
    "src/secure_zero.h",
    "src/batch_block.h",
)


class Implementation(NamedTuple):
    sources: Tuple[str, ...]
    headers: Tuple[str, ...]  # the implementation's interface: CDEF blocks join the cdef
    include_dirs: Tuple[str, ...]
    windows_libraries: Tuple[str, ...]  # beyond ws2_32, which overlapped.c needs


IMPLEMENTATIONS: Dict[str, Implementation] = {
    "windows": Implementation(("src/fwpuclnt_windows.c",), (), (), ("fwpuclnt",)),
    "model": Implementation(
        ("src/model/model.c", "src/model/fwpuclnt_model.c"),
        ("src/model/model.h",),
        ("src/model",),
        (),
    ),
    "none": Implementation(("src/fwpuclnt_none.c",), (), (), ()),
    "echo": Implementation(("benchmarks/echo.c",), ("benchmarks/echo.h",), ("benchmarks",), ()),
}


class Plan(NamedTuple):
    implementation: str
    sources: List[str]
    interface: List[str]  # the headers whose CDEF blocks make the cdef
    headers: List[str]
    include_dirs: List[str]
    libraries: List[str]
    cdef: str


def choose(platform: str = sys.platform, environ: Optional[Mapping[str, str]] = None) -> str:
    """The implementation a build on platform gets, given the environment."""
    environ = os.environ if environ is None else environ
    name = environ.get(VARIABLE, "").strip().lower()
    if not name:
        return "windows" if platform == "win32" else "model"
    if name not in IMPLEMENTATIONS:
        raise SystemExit(f"{VARIABLE}={name!r}: expected one of {', '.join(IMPLEMENTATIONS)}")
    if name == "windows" and platform != "win32":
        raise SystemExit(f"{VARIABLE}=windows needs Windows (Fwpuclnt.dll); this is {platform}")
    return name


def cdef_of(headers: List[str]) -> str:
    """The CDEF blocks of these headers, in order."""
    blocks = []
    for header in headers:
        with open(os.path.join(HERE, header), encoding="utf-8") as f:
            text = f.read()
        begin = text.find("/* CDEF BEGIN */")
        if begin >= 0:
            end = text.index("/* CDEF END */")
            blocks.append(text[begin + len("/* CDEF BEGIN */") : end])
    return "\n".join(blocks)


def plan(platform: str = sys.platform, environ: Optional[Mapping[str, str]] = None) -> Plan:
    """Everything a build on platform compiles: sources, headers, cdef, libraries."""
    name = choose(platform, environ)
    chosen = IMPLEMENTATIONS[name]
    interface = [*SHIM_INTERFACE, *chosen.headers]
    return Plan(
        implementation=name,
        sources=[*SHIM_SOURCES, *chosen.sources],
        interface=interface,
        headers=[*SHIM_HEADERS, *chosen.headers],
        include_dirs=["src", *chosen.include_dirs],
        libraries=["ws2_32", *chosen.windows_libraries] if platform == "win32" else [],
        cdef=cdef_of(interface),
    )


def _ffibuilder(platform: str = sys.platform) -> FFI:
    chosen = plan(platform)
    builder = FFI()
    builder.cdef(chosen.cdef)
    builder.set_source(
        "wsapeer._wsapeer",
        "".join(f'#include "{os.path.basename(h)}"\n' for h in chosen.interface),
        sources=chosen.sources,
        include_dirs=chosen.include_dirs,
        depends=chosen.headers,
        libraries=chosen.libraries,
        py_limited_api=True,
    )
    return builder


ffibuilder = _ffibuilder()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--show",
        choices=list(Plan._fields),
        help="print what a build would use instead of building",
    )
    parser.add_argument(
        "--emit-c",
        metavar="FILE",
        help="write the C that cffi would compile (for --platform) instead of building",
    )
    parser.add_argument(
        "--platform", default=sys.platform, help="as sys.platform (with --show or --emit-c)"
    )
    args = parser.parse_args(argv)
    if args.emit_c:
        # tests/windows_python compiles this with mingw-w64 for Windows CPython.
        _ffibuilder(args.platform).emit_c_code(args.emit_c)
        return 0
    if args.show:
        value = getattr(plan(args.platform), args.show)
        print(value if isinstance(value, str) else "\n".join(value))
        return 0
    ffibuilder.compile(verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
