"""Bases for objects whose state is fixed once C has marshalled it."""

from __future__ import annotations

from typing import Any, ClassVar, Hashable, Optional

from ._wsapeer import ffi, lib


class Immutable:
    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The slots hold what C receives (the buffer, its size, the prepared
        # item, the peer's family): a subclass that redefined one (a property
        # answering another size, say) would make wsapeer hand C a length its
        # buffer does not have. Subclassing stays possible; redefining them not.
        super().__init_subclass__(**kwargs)
        for base in cls.__mro__[1:]:
            if base.__module__.startswith("wsapeer."):
                for name in getattr(base, "__slots__", ()):
                    if name in cls.__dict__ and name != "__weakref__":
                        raise TypeError(
                            f"{cls.__name__} redefines {name}, which holds what wsapeer "
                            f"hands to C for a {base.__name__}"
                        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


class Marshalled(Immutable):
    """An immutable object whose value is the Windows structure C wrote into
    _buffer (_size bytes): equal when the structures are, hashed on them.

    Subclasses name their structure in STRUCTURE (objects of different
    structures never compare equal). One whose buffer holds a secret passes
    a hash key made of its public fields instead, so that the secret never
    becomes a Python bytes object on the way; equal buffers must give equal
    keys.
    """

    __slots__ = ("_buffer", "_hash", "_item", "_size")

    STRUCTURE: ClassVar[str]
    _buffer: Any
    _size: int
    _item: Any  # the wsapeer_buffer a batch takes, made once
    _hash: int

    def _set_buffer(self, buffer: Any, size: int, hash_key: Optional[Hashable] = None) -> None:
        if hash_key is None:
            hash_key = ffi.buffer(buffer, size)[:]
        set_ = object.__setattr__
        set_(self, "_buffer", buffer)
        set_(self, "_size", size)
        set_(self, "_item", ffi.new("wsapeer_buffer *", (buffer, size)))
        set_(self, "_hash", hash((self.STRUCTURE, size, hash_key)))

    def __bytes__(self) -> bytes:
        return bytes(ffi.buffer(self._buffer, self._size))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Marshalled):
            return NotImplemented
        return (
            self.STRUCTURE == other.STRUCTURE
            and self._size == other._size
            and lib.wsapeer_equal(self._buffer, other._buffer, self._size) == 1
        )

    def __hash__(self) -> int:
        return self._hash

    def __copy__(self) -> Marshalled:
        return self  # immutable: sharing is a copy, and duplicates no secret

    def __deepcopy__(self, memo: object) -> Marshalled:
        return self
