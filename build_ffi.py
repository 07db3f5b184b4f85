"""cffi out-of-line API-mode builder for wsapeer._wsapeer.

The cdef is the CDEF block of src/wsapeer.h, so the interface is written once
and the C compiler checks the shim against it.
"""

from __future__ import annotations

import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = "src"  # relative: setuptools wants relative source paths
# model_dll.c is not here: it builds the model as fwpuclnt.dll for Wine only.
SOURCES = ["_wsapeer.c", "marshal.c", "model.c", "overlapped.c"]
HEADERS = ["wsapeer.h", "model.h", "win_layout.h", "byte_order.h", "secure_zero.h"]


def _cdef() -> str:
    with open(os.path.join(HERE, SRC, "wsapeer.h"), encoding="utf-8") as header:
        text = header.read()
    begin = text.index("/* CDEF BEGIN */") + len("/* CDEF BEGIN */")
    end = text.index("/* CDEF END */")
    return text[begin:end]


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "wsapeer._wsapeer",
    '#include "wsapeer.h"\n',
    sources=[os.path.join(SRC, name) for name in SOURCES],
    include_dirs=[SRC],
    depends=[os.path.join(SRC, name) for name in HEADERS],
    libraries=["ws2_32", "fwpuclnt"] if sys.platform == "win32" else [],
    py_limited_api=True,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
