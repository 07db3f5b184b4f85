"""The typing stub of the compiled module is the one the cdef generates, and
names exactly what this build of the compiled module has."""

import ast
import pathlib
import runpy

import wsapeer
from wsapeer._wsapeer import lib

ROOT = pathlib.Path(__file__).parent.parent
STUB = ROOT / "wsapeer" / "_wsapeer.pyi"


def generator():
    return runpy.run_path(str(ROOT / "tools" / "generate_stub.py"))


def test_stub_is_generated_from_the_cdef():
    assert STUB.read_text(encoding="utf-8") == generator()["render"](), (
        "run python tools/generate_stub.py"
    )


def stubbed_names():
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    [lib_class] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_Lib"]
    stubbed = set()
    for node in lib_class.body:
        if isinstance(node, ast.FunctionDef):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            stubbed.add(node.target.id)
    return stubbed


def test_compiled_module_has_the_shared_interface_and_its_implementations_names():
    gen = generator()
    sections = gen["sections"]()
    expected = set(gen["names"](sections.pop("")))
    expected |= set(gen["names"](sections.get(wsapeer.FWPUCLNT, [])))
    assert set(dir(lib)) == expected
    every = set().union(*(set(gen["names"](lines)) for lines in sections.values()))
    assert stubbed_names() == expected | every
