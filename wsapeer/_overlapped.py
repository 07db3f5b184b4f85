"""Overlapped operations and batches: the C operation object, seen from Python."""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, List, Optional, TypeVar

from . import _errors
from ._calls import NAMES
from ._checks import kind_of
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
    if type(timeout) is not int and type(timeout) is not float:  # no bool, no lying subclass
        raise TypeError(f"timeout must be a number of seconds or None, not {kind_of(timeout)}")
    if timeout != timeout:  # NaN compares unequal to itself
        raise ValueError("timeout must be a number of seconds or None, not NaN")
    if timeout < 0:
        raise ValueError(f"timeout must not be negative, got {timeout}")
    if timeout == float("inf"):
        return int(lib.WSAPEER_INFINITE)
    longest = int(lib.WSAPEER_INFINITE) - 1  # INFINITE itself means no limit
    if timeout >= longest / 1000:  # also keeps timeout * 1000 from overflowing a float
        return longest
    return int(timeout * 1000)


class Operation(Generic[T]):
    """One overlapped call, in flight or done, as the ``*_async`` calls return it.

    The operation is owned by C: its OVERLAPPED, its event and its copy of the call's input
    (settings with a password included, wiped before they are freed) live until Windows has
    finished with them, even when this object goes first. Dropping an operation still in
    flight cancels it, and its memory is freed only once Windows lets go of it: Windows never
    writes into freed memory. A query's operation that is dropped before anyone took its
    result closes the peer token handles it received.

    :meth:`wsapeer.Operation.done` polls, :meth:`wsapeer.Operation.wait` blocks (the GIL
    released, alertably), :meth:`wsapeer.Operation.result` returns the outcome or raises the
    call's error, and :meth:`wsapeer.Operation.cancel` asks Windows to stop. ``with op:``
    waits for the operation when the block ends (cancelling it first if it is still in
    flight) and, when the block itself raised nothing, raises the operation's error. Off
    Windows the contract model answers at once, so operations come back done.

    Raises:
        TypeError: when constructed directly: operations come from the ``*_async`` calls.
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
        """The name of the Winsock function the operation calls, e.g. ``"WSASetSocketSecurity"``."""
        return self._function

    @property
    def routine(self) -> bool:
        """Whether the operation completes through a C completion routine (``routine=True``).

        Such an operation completes only on the thread that started it, while that thread
        waits on it: in :meth:`wsapeer.Operation.wait`, or in
        :meth:`wsapeer.Operation.done`, whose poll is an alertable wait with a zero timeout.
        """
        return self._routine

    @property
    def event_handle(self) -> int:
        """The Windows event (a HANDLE, as an ``int``) signalled at completion; 0 off Windows.

        Owned by the operation: wait on it, never close it. An operation that was already
        done when it was returned may never signal it, so ask :meth:`wsapeer.Operation.done`
        before waiting on the handle.
        """
        return int(lib.wsapeer_op_event(self._op))

    def done(self) -> bool:
        """Whether the operation has completed, successfully or not. Never blocks.

        For a routine-mode operation on the thread that started it, the poll is an alertable
        wait with a zero timeout, so polling alone lets the completion routine run.

        Returns:
            ``True`` once the operation is done, else ``False``.
        """
        return bool(lib.wsapeer_op_done(self._op))

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Waits up to ``timeout`` seconds for the operation to complete.

        Releases the GIL and waits alertably, so that completion routines queued to this
        thread run (also with a zero timeout).

        Args:
            timeout: the longest wait in seconds, an ``int`` or ``float`` >= 0 (0 polls), or
                ``None`` (or ``math.inf``) to wait until the operation is done. It is
                counted in whole milliseconds, and at most ``2**32 - 2`` of them (about 49.7
                days).

        Returns:
            ``True`` if the operation is done, ``False`` if the timeout passed first.

        Raises:
            TypeError: ``timeout`` is neither a number nor ``None`` (a ``bool`` is refused).
            ValueError: ``timeout`` is negative or NaN.
            RuntimeError: the operation completes through a completion routine
                (``routine=True``) and this is not the thread that started it.
            wsapeer.WsapeerError: the wait itself failed (Windows only).
        """
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
        """The call's outcome: what it returned, or its error raised.

        The outcome stays: later calls return the same value, or raise the same error again.

        Returns:
            ``None`` for every call but the query; for
            :func:`wsapeer.query_socket_security_async`, the :class:`wsapeer.SecurityInfo`
            (the same object on every call), which owns the peer's token handles.

        Raises:
            RuntimeError: the operation has not completed yet: wait for it first.
            wsapeer.WinsockError: the call failed: the error Windows (or the contract model)
                reported, with the codes the synchronous call documents, or
                WSA_OPERATION_ABORTED (995) when the operation was cancelled first.
            wsapeer.WsapeerError: the call failed without reporting an error code.
        """
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
        """Asks Windows to cancel the operation (CancelIoEx), and returns at once.

        Cancellation is not immediate: wait for the operation, whose
        :meth:`wsapeer.Operation.result` then raises WSA_OPERATION_ABORTED (995), unless
        the call completed first. Off Windows operations are done when returned, so there
        is nothing to cancel.

        Returns:
            ``True`` if the operation was still in flight and Windows took the request.
        """
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
