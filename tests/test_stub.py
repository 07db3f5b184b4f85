"""The typing stub of the compiled module names exactly what the module has."""

import ast
import pathlib

from wsapeer._wsapeer import lib

STUB = pathlib.Path(__file__).parent.parent / "wsapeer" / "_wsapeer.pyi"


def test_stub_matches_compiled_module():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    [lib_class] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_Lib"]
    stubbed = set()
    for node in lib_class.body:
        if isinstance(node, ast.FunctionDef):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            stubbed.add(node.target.id)
    assert stubbed == set(dir(lib))
