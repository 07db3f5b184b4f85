"""Every public name's docstring says what each parameter accepts and what it
raises (the API reference in docs/ is built from them by autodoc, Google
style through napoleon). A parameter added without its line, or a call that
reaches Windows without a Raises section, fails here, not in a reader's hands.
"""

import enum
import inspect
import re

import pytest

import wsapeer
import wsapeer.aio
import wsapeer.testing

MODULES = (wsapeer, wsapeer.aio, wsapeer.testing)

#: Public callables that raise nothing of their own: their docstrings need no
#: Raises section (each still documents its parameters).
RAISE_NOTHING = {
    "wsapeer.testing.ModelRecord",
    "wsapeer.testing.Violation",
    "wsapeer.testing.ContractModel.records",
    "wsapeer.testing.ContractModel.violations",
    "wsapeer.testing.ContractModel.open_tokens",
    "wsapeer.testing.ContractModel.impersonating",
    "wsapeer.testing.ContractModel",
    "wsapeer.SecurityInfo.close",
    "wsapeer.Operation.done",
    "wsapeer.Operation.cancel",
}

#: Classes wsapeer makes and hands out, never built by their users: their
#: docstrings describe what they hold (Attributes), not constructor arguments.
HANDED_OUT = {
    "wsapeer.Operation",
    "wsapeer.SecurityInfo",
    "wsapeer.WinsockErrorInfo",
    "wsapeer.testing.ContractModel",
    "wsapeer.testing.ModelRecord",
    "wsapeer.testing.Violation",
}


def _section(doc: str, title: str) -> str:
    """The indented body of a Google-style section, or "" if there is none."""
    match = re.search(rf"^{title}:\n((?:[ ]{{4}}.*\n|\n)+)", doc + "\n", re.M)
    return match.group(1) if match else ""


def _documented(doc: str) -> set:
    body = _section(doc, "Args")
    return set(re.findall(r"^ {4}\*{0,2}(\w+)(?: \([^)]*\))?:", body, re.M))


def _public_callables():
    seen = set()
    for module in MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            qualname = f"{module.__name__}.{name}"
            if id(obj) in seen or not callable(obj) or getattr(obj, "__module__", "") == "typing":
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                if issubclass(obj, (enum.Enum, BaseException)) or obj.__module__ == "typing":
                    continue
                yield qualname, obj, obj
                # Methods of wsapeer's own bases too (apply of the settings classes).
                members = {}
                for base in reversed(obj.__mro__):
                    if base.__module__.startswith("wsapeer"):
                        members.update(vars(base))
                for attr, member in members.items():
                    if attr.startswith("_"):
                        continue
                    func = (
                        member.__func__
                        if isinstance(member, (classmethod, staticmethod))
                        else member
                    )
                    if inspect.isfunction(func):
                        yield f"{qualname}.{attr}", func, getattr(obj, attr)
            elif inspect.isfunction(obj):
                yield qualname, obj, obj


CALLABLES = list(_public_callables())


def _parameters(obj) -> list:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.kind is not p.VAR_KEYWORD
    ]


def test_the_walk_finds_the_api():
    names = {qualname for qualname, _, _ in CALLABLES}
    assert {
        "wsapeer.set_peer_target_name",
        "wsapeer.PeerTargetName.apply",
        "wsapeer.IPsecSettings.apply_async",
        "wsapeer.aio.start_server",
        "wsapeer.testing.contract_model",
    } <= names
    assert len(names) > 50


@pytest.mark.parametrize(("qualname", "doc_owner", "obj"), CALLABLES, ids=[c[0] for c in CALLABLES])
def test_docstring_documents_parameters_and_errors(qualname, doc_owner, obj):
    doc = inspect.getdoc(doc_owner) or ""
    assert doc.strip(), f"{qualname} has no docstring"
    wanted = set() if qualname in HANDED_OUT else set(_parameters(obj))
    missing = wanted - _documented(doc)
    assert not missing, f"{qualname}: Args section lacks {sorted(missing)}"
    stray = _documented(doc) - wanted
    assert not stray, f"{qualname}: Args section names {sorted(stray)}, which it does not take"
    if qualname not in RAISE_NOTHING:
        assert _section(doc, "Raises").strip(), f"{qualname} has no Raises section"


def test_the_section_reader_is_not_fooled():
    doc = (
        "Summary.\n\nArgs:\n    sock: a socket.\n    peer (tuple): where.\n\n"
        "Raises:\n    ValueError: bad.\n"
    )
    assert _documented(doc) == {"sock", "peer"}
    assert _section(doc, "Raises").strip() == "ValueError: bad."
    assert _documented("Summary. sock: mentioned in prose only.") == set()
