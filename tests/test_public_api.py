"""Every public name is documented, typed and exported on purpose."""

import inspect

import pytest

import wsapeer
import wsapeer.aio
import wsapeer.testing

MODULES = [wsapeer, wsapeer.aio, wsapeer.testing]


def public_members():
    for module in MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if (
                not (inspect.isclass(obj) or callable(obj))
                or getattr(obj, "__module__", "") == "typing"
            ):
                continue  # type aliases (PeerAddress, SocketLike) carry no docstring of their own
            yield f"{module.__name__}.{name}", obj
            if inspect.isclass(obj) and not issubclass(obj, int):
                for attr, value in vars(obj).items():
                    member = callable(value) or isinstance(value, property)
                    if member and not attr.startswith("_"):
                        yield f"{module.__name__}.{name}.{attr}", value


@pytest.mark.parametrize("qualname, obj", list(public_members()), ids=lambda x: str(x)[:60])
def test_documented(qualname, obj):
    assert (getattr(obj, "__doc__", None) or "").strip(), f"{qualname} has no docstring"


def test_all_is_complete():
    for module in MODULES:
        assert sorted(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert hasattr(module, name)


def test_py_typed_ships():
    from pathlib import Path

    package = Path(wsapeer.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_wsapeer.pyi").exists()
