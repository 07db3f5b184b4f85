"""The typing stub of the compiled module is the one the header generates, and
names exactly what the compiled module has."""

import ast
import pathlib
import runpy

from wsapeer._wsapeer import lib

ROOT = pathlib.Path(__file__).parent.parent
STUB = ROOT / "wsapeer" / "_wsapeer.pyi"


def test_stub_is_generated_from_the_header():
    generator = runpy.run_path(str(ROOT / "tools" / "generate_stub.py"))
    assert STUB.read_text(encoding="utf-8") == generator["render"](), (
        "run python tools/generate_stub.py"
    )


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
