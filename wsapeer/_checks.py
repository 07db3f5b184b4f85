"""Exact built-in values: what Python checks is what C receives.

A subclass of ``int`` or ``str`` can override the very methods a check calls
(``__eq__``, ``__lt__``, ``find``, ``__len__``...), so that the check sees one
value and cffi marshals another. Every parameter therefore takes the exact
built-in type (or, for enumerations, the exact wsapeer class), and anything
else is a TypeError that says why, before any C code runs.
"""

from __future__ import annotations

import enum


def kind_of(value: object) -> str:
    """How an error message names what it got: the type, and why it is refused."""
    name = type(value).__name__
    if isinstance(value, enum.Enum):
        return f"{value!r} (a member of {name})"
    if isinstance(value, bool):
        return "bool"
    for base in (int, str, float, tuple):
        if isinstance(value, base) and type(value) is not base:
            return (
                f"{name} (a subclass of {base.__name__}, refused: its methods could make "
                f"the check and the value Windows receives differ; pass {base.__name__}(value))"
            )
    return name


def exact_int(value: object, what: str, low: int, high: int) -> int:
    """value, an exact int (no bool, no subclass) in low..high."""
    if type(value) is not int:
        raise TypeError(f"{what} must be an int, not {kind_of(value)}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in {low}..{high}, got {value}")
    return value


def exact_str(value: object, what: str) -> str:
    """value, an exact str (no subclass)."""
    if type(value) is not str:
        raise TypeError(f"{what} must be a str, not {kind_of(value)}")
    return value


def exact_bool(value: object, what: str) -> bool:
    """value, True or False (bool cannot be subclassed, so the type is exact)."""
    if type(value) is not bool:
        raise TypeError(f"{what} must be a bool, not {kind_of(value)}")
    return value
