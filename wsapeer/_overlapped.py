"""Overlapped operations and batches: the C operation object, seen from Python."""

from __future__ import annotations

import threading
from typing import Any, Callable, Generic, List, Optional, Sequence, Tuple, TypeVar

from . import _errors
from ._socket import SocketLike
from ._wsapeer import ffi, lib

T = TypeVar("T")

_FUNCTIONS = {
    lib.WSAPEER_MODEL_SET_PEER_TARGET_NAME: "WSASetSocketPeerTargetName",
    lib.WSAPEER_MODEL_SET_SOCKET_SECURITY: "WSASetSocketSecurity",
    lib.WSAPEER_MODEL_DELETE_PEER_TARGET_NAME: "WSADeleteSocketPeerTargetName",
    lib.WSAPEER_MODEL_QUERY_SOCKET_SECURITY: "WSAQuerySocketSecurity",
}


def _milliseconds(timeout: Optional[float]) -> int:
    if timeout is None:
        return int(lib.WSAPEER_INFINITE)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, not {type(timeout).__name__}"
        )
    if timeout < 0:
        raise ValueError(f"timeout must not be negative, got {timeout}")
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

    __slots__ = ("__weakref__", "_function", "_lock", "_op", "_result", "_take", "_taken")

    def __init__(self, op: Any, function: int, take: Callable[[Any], T]) -> None:
        self._op = op
        self._function = _FUNCTIONS[function]
        self._take = take
        self._lock = threading.Lock()
        self._taken = False
        self._result: Optional[T] = None

    @property
    def function(self) -> str:
        return self._function

    @property
    def event_handle(self) -> int:
        """The Windows event signalled at completion (0 off Windows)."""
        return int(lib.wsapeer_op_event(self._op))

    def done(self) -> bool:
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
        return bool(status)

    def result(self) -> T:
        """What the call returned; raises WinsockError if it failed, and
        RuntimeError if it is not done yet."""
        with self._lock:
            if self._taken:
                return self._result  # type: ignore[return-value]
            status = lib.wsapeer_op_result(self._op)
            if status == lib.WSAPEER_IO_INCOMPLETE:
                raise RuntimeError(f"{self._function} has not completed yet: wait() first")
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

    def __exit__(self, *exc: object) -> None:
        if not self.done():
            self.cancel()
            self.wait()

    def __repr__(self) -> str:
        return f"<Operation {self._function} {'done' if self.done() else 'pending'}>"


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
        raise MemoryError(f"allocating an operation for {_FUNCTIONS[function]}")
    op = ffi.gc(raw, lib.wsapeer_op_release)
    status = lib.wsapeer_op_start(op)
    if status < 0:
        ffi.release(op)
        _errors.raise_status(status, _FUNCTIONS[function])
    return Operation(op, function, take)


Item = Tuple[SocketLike, Any]


def apply_many(
    items: Sequence[Item], timeout: Optional[float] = None
) -> List[Optional[_errors.WsapeerError]]:
    """Applies many prepared objects at once: ``[(sock, target), ...]`` where each
    target is a PeerTargetName, SecuritySettings or IPsecSettings.

    Every call is issued in one C loop and awaited with the GIL released once.
    Returns one entry per item, in order: None where the call succeeded, else
    the WinsockError (or UnsupportedPlatformError) it raised. One failing item
    neither hides nor aborts the others. Items cancelled at the timeout report
    WSA_OPERATION_ABORTED (995). Bad arguments raise before anything is issued.
    """
    from ._security import IPsecSettings, SecuritySettings
    from ._socket import check_target, handle_of, socket_kind
    from ._target import PeerTargetName

    count = len(items)
    ms = _milliseconds(timeout)
    functions = ffi.new("int[]", count)
    handles = ffi.new("uint64_t[]", count)
    buffers = ffi.new("void *[]", count)
    sizes = ffi.new("size_t[]", count)
    results: List[Optional[_errors.WsapeerError]] = [None] * count
    send: List[int] = []
    for index, item in enumerate(items):
        try:
            sock, target = item
        except (TypeError, ValueError):
            raise TypeError(f"items[{index}] must be a (sock, target) pair") from None
        try:
            handle = handle_of(sock)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"items[{index}]: {exc}") from None
        try:
            if isinstance(target, PeerTargetName):
                check_target(sock, target._peer, "WSASetSocketPeerTargetName")
                function = lib.WSAPEER_MODEL_SET_PEER_TARGET_NAME
            elif isinstance(target, (SecuritySettings, IPsecSettings)):
                socket_kind(sock, "WSASetSocketSecurity")
                function = lib.WSAPEER_MODEL_SET_SOCKET_SECURITY
            else:
                raise TypeError(
                    f"items[{index}]: target must be a PeerTargetName, SecuritySettings or "
                    f"IPsecSettings, not {type(target).__name__}"
                )
        except _errors.WinsockError as exc:
            results[index] = exc  # what Windows would say, without asking it
            continue
        except ValueError as exc:
            raise ValueError(f"items[{index}]: {exc}") from None
        slot = len(send)
        functions[slot] = function
        handles[slot] = handle
        buffers[slot] = target._buffer
        sizes[slot] = target.size
        send.append(index)
    statuses = ffi.new("int[]", max(len(send), 1))
    status = lib.wsapeer_batch(len(send), functions, handles, buffers, sizes, statuses, ms)
    if status:
        _errors.raise_status(status, "wsapeer_batch")
    for slot, index in enumerate(send):
        code = statuses[slot]
        if code:
            name = _FUNCTIONS[functions[slot]]
            try:
                _errors.raise_status(code, name)
            except _errors.WsapeerError as exc:
                results[index] = exc
    return results
