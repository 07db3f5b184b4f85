"""Sphinx configuration for wsapeer's documentation.

Built by .ci/run with warnings as errors (-W) and nitpicky references, then
again as doctests under the contract model, so no example or link can rot.
"""

import sys
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import wsapeer  # noqa: E402  (the installed build: what the API reference describes)

project = "wsapeer"
author = "wsapeer developers"
copyright = "wsapeer developers"
release = wsapeer.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.graphviz",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "wsapeer_docs",
]

html_theme = "furo"
html_title = f"wsapeer {release}"
exclude_patterns = ["_build", "_*.rst"]  # _under_model.rst is included, not a page

nitpicky = True
nitpick_ignore_regex = [
    # Private aliases spelled out in signatures; the public ones are documented.
    ("py:class", r"wsapeer\._.*"),
    ("py:class", r"(Settings|Protocol|SettingsFlags|IPsecFlags|Peer)Arg"),
    # TypeVars: no page of their own.
    ("py:(class|obj)", r"(wsapeer\.[\w.]+\.)?T"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # NamedTuple fields: no second description beside autodoc's


# The machines that build these docs reach PyPI and Debian, not
# docs.python.org: the Python names the pages link to are listed in
# _inventories/python.txt (sphobjinv's plain format), written here into the
# compressed objects.inv that intersphinx reads; links point at the real site.
def _inventory(plain: Path) -> str:
    """plain (four header lines, then one line per object) as objects.inv."""
    lines = plain.read_bytes().splitlines(keepends=True)
    out = Path(tempfile.mkdtemp(prefix="wsapeer-docs-")) / "objects.inv"
    out.write_bytes(b"".join(lines[:4]) + zlib.compress(b"".join(lines[4:])))
    return str(out)


intersphinx_mapping = {
    "python": ("https://docs.python.org/3", _inventory(HERE / "_inventories" / "python.txt")),
}

graphviz_output_format = "svg"

# Every example runs under the contract model in strict mode (pages whose
# examples enter the model themselves say so with a group of their own).
doctest_global_setup = """
import socket
import wsapeer
"""
