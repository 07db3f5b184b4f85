"""Overlapped operations and batches: the C operation object, seen from Python."""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, List, Optional, TypeVar

from . import _errors
from ._calls import NAMES
from ._wsapeer import ffi, lib

T = TypeVar("T")
_MADE_HERE = object()


class Seen:
    """Whether anyone looked at an operation's outcome (contract_model's strict
    mode); the operation may be gone by the time the block ends."""

    __slots__ = ("function", "handle", "observed")

    def __init__(self, function: str, handle: int) -> None:
        self.function = function
        self.handle = handle
        self.observed = False


#: Set by wsapeer.testing while a contract_model() block runs, None otherwise:
#: operations started meanwhile are listed here. It changes no answer.
watch: Optional[List[Seen]] = None


def _milliseconds(timeout: Optional[float]) -> int:
    if timeout is None:
        return int(lib.WSAPEER_INFINITE)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}"
        )
    if timeout != timeout:  # NaN compares unequal to itself
        raise ValueError("timeout must be a number of seconds or None, not NaN")
    if timeout < 0:
        raise ValueError(f"timeout must not be negative, got {timeout}")
    if timeout == float("inf"):
        return int(lib.WSAPEER_INFINITE)
    return min(int(timeout * 1000), int(lib.WSAPEER_INFINITE) - 1)


class Operation(Generic[T]):
    """One overlapped call, owned by C: its OVERLAPPED, event and input copy
    live until Windows has finished with them.

    ``done()``, ``wait(timeout)`` (GIL released, alertable),
    ``result()`` (returns or raises ``WinsockError``) and ``cancel()``. Dropping
    an operation in flight cancels it; a ``with`` block waits for it. Off
    Windows the contract model answers at once, so operations are done when
    they are returned.
    """

    __slots__ = (
        "__weakref__", "_function", "_lock", "_op", "_result", "_routine", "_seen", "_take",
        "_taken",
    )  # fmt: skip

    def __init__(
        self,
        op: Any,
        function: int,
        take: Callable[[Any], T],
        routine: bool,
        *,
        _token: object = None,
        _seen: Optional[Seen] = None,
    ) -> None:
        if _token is not _MADE_HERE:
            raise TypeError(
                "Operation objects come from the *_async calls (e.g. PeerTargetName.apply_async); "
                "they are not made by hand"
            )
        self._op = op
        self._routine = routine
        self._function = NAMES[function]
        self._take = take
        self._lock = threading.Lock()
        self._taken = False
        self._result: Optional[T] = None
        self._seen = _seen

    @property
    def function(self) -> str:
        """The Winsock function this operation calls."""
        return self._function

    @property
    def routine(self) -> bool:
        """Whether it completes through a completion routine (routine=True): then
        only the thread that started it completes it, in wait() or done() (a
        poll waits alertably too)."""
        return self._routine

    @property
    def event_handle(self) -> int:
        """The Windows event signalled at completion (0 off Windows)."""
        return int(lib.wsapeer_op_event(self._op))

    def done(self) -> bool:
        """Whether the operation has completed (successfully or not)."""
        return bool(lib.wsapeer_op_done(self._op))

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits up to timeout seconds (None: until done); True when done."""
        status = lib.wsapeer_op_wait(self._op, _milliseconds(timeout))
        if status < 0:
            if status == lib.WSAPEER_E_THREAD:
                raise RuntimeError(
                    "a completion-routine operation completes only in the thread that "
                    "started it: wait for it there"
                )
            _errors.raise_status(status, self._function)
        if status and self._seen is not None:
            self._seen.observed = True
        return bool(status)

    def result(self) -> T:
        """What the call returned; raises WinsockError if it failed, and
        RuntimeError if it is not done yet."""
        with self._lock:
            if self._taken:
                return self._result  # type: ignore[return-value]
            status = lib.wsapeer_op_result(self._op)
            if status == lib.WSAPEER_WSA_IO_INCOMPLETE:
                raise RuntimeError(f"{self._function} has not completed yet: wait() first")
            if self._seen is not None:
                self._seen.observed = True
            if status:
                _errors.raise_status(status, self._function)
            self._result = self._take(self._op)
            self._taken = True
            return self._result

    def cancel(self) -> bool:
        """Asks Windows to cancel; True if the operation was still in flight."""
        return bool(lib.wsapeer_op_cancel(self._op))

    def __enter__(self) -> Operation[T]:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """Waits for the operation (cancelling it if the block left early); when
        the block itself raised nothing, raises the operation's error, if any."""
        if not self.done():
            self.cancel()
            self.wait()
        if exc_type is None:
            self.result()

    def __repr__(self) -> str:
        return f"<Operation {self._function} {'done' if self.done() else 'pending'}>"


def _watched(function: int, sock_handle: int) -> Optional[Seen]:
    """A new operation's entry in strict mode's watch, if a block is watching."""
    if watch is None:
        return None
    seen = Seen(NAMES[function], sock_handle)
    watch.append(seen)
    return seen


def _nothing(op: Any) -> None:
    return None


def start(
    function: int,
    sock_handle: int,
    buffer: Any,
    size: int,
    routine: bool = False,
    take: Callable[[Any], Any] = _nothing,
) -> Operation[Any]:
    """Creates and issues one operation; raises at once if it cannot be issued."""
    if not isinstance(routine, bool):
        raise TypeError(f"routine must be a bool, not {type(routine).__name__}")
    mode = lib.WSAPEER_OP_ROUTINE if routine else lib.WSAPEER_OP_EVENT
    raw = lib.wsapeer_op_new(function, sock_handle, buffer, size, mode)
    if raw == ffi.NULL:
        raise MemoryError(f"allocating an operation for {NAMES[function]}")
    op = ffi.gc(raw, lib.wsapeer_op_release)
    status = lib.wsapeer_op_start(op)
    if status < 0:
        ffi.release(op)
        _errors.raise_status(status, NAMES[function])
    return Operation(
        op, function, take, routine, _token=_MADE_HERE, _seen=_watched(function, sock_handle)
    )


#: Where wsapeer_op_run leaves a pending operation: per thread, because the
#: call releases the GIL and another thread's call would write a shared cell.
_cells = threading.local()


def run(function: int, sock_handle: int, buffer: Any, size: int) -> Optional[Operation[None]]:
    """Issues one call that returns nothing (not a query), for asyncio: None
    when it completed at once (raising its error, if any), else the pending
    Operation to wait for. One C call when Windows answers at once, as it
    mostly does; no Operation object is made then."""
    try:
        pending = _cells.pending
    except AttributeError:  # this thread's first: one cell per thread, never shared
        pending = _cells.pending = ffi.new("wsapeer_op **")
    status = lib.wsapeer_op_run(function, sock_handle, buffer, size, pending)
    if status == lib.WSAPEER_WSA_IO_PENDING:
        op = ffi.gc(pending[0], lib.wsapeer_op_release)
        seen = _watched(function, sock_handle)
        return Operation(op, function, _nothing, False, _token=_MADE_HERE, _seen=seen)
    if status:
        _errors.raise_status(status, NAMES[function])
    return None
