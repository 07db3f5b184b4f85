"""UTF-16 strings as Windows' UNICODE_STRING-backed fields take them."""

from __future__ import annotations

import codecs
import re

from ._checks import exact_str

_utf16 = codecs.utf_16_le_encode  # four times faster than str.encode("utf-16-le")
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, always a lone one
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units each


def has_surrogate(value: str) -> bool:
    """Whether value holds a surrogate code point (in a str, always a lone one)."""
    return _SURROGATE.search(value) is not None


def utf16_units(value: object, what: str, max_units: int) -> int:
    """value's length in UTF-16 code units, checked for what a UNICODE_STRING
    cannot hold, without making any copy of value (it may be a password, and a
    bytes object holding one would stay in Python's memory after it is freed).
    TypeError/ValueError never quote the value."""
    value = exact_str(value, what)  # a subclass's find() or __len__ could lie
    nul = value.find("\0")
    if nul >= 0:
        raise ValueError(f"{what} contains a NUL character at index {nul}")
    lone = _SURROGATE.search(value)
    if lone is not None:
        raise ValueError(
            f"{what} contains a lone surrogate at index {lone.start()}; it cannot be written "
            "as UTF-16"
        )
    units = len(value) + len(_ASTRAL.findall(value))
    if units > max_units:
        raise ValueError(
            f"{what} is {units} UTF-16 code units long; the most a UNICODE_STRING holds "
            f"is {max_units}"
        )
    return units


def encode_utf16(value: object, what: str, max_units: int) -> bytes:
    """UTF-16LE without terminator, checked as utf16_units checks it."""
    utf16_units(value, what, max_units)
    encoded: bytes = _utf16(value)[0]  # type: ignore[arg-type]
    return encoded
