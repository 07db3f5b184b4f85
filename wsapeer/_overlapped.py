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
        """The Winsock function this operation calls."""
        return self._function

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

_TARGET_KINDS: frozenset[type] = frozenset()
_PTN = lib.WSAPEER_MODEL_SET_PEER_TARGET_NAME
_SETTINGS = lib.WSAPEER_MODEL_SET_SOCKET_SECURITY


def _handle(sock: object, index: int) -> int:
    from ._socket import handle_of

    try:
        return handle_of(sock)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"items[{index}]: {exc}") from None


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
    from ._socket import KIND_OF_FAMILY, SOCKET, check_peer_family, family_of
    from ._target import PeerTargetName

    global _TARGET_KINDS
    if not _TARGET_KINDS:
        _TARGET_KINDS = frozenset((PeerTargetName, SecuritySettings, IPsecSettings))

    ms = _milliseconds(timeout)
    count = len(items)
    if count == 0:
        return []
    # Column by column, at C speed where Python allows: a UDP server sends one
    # socket with many targets, a TCP server one target to many sockets.
    try:
        socks = [sock for sock, _ in items]
        targets = [target for _, target in items]
    except (TypeError, ValueError):
        index = next(i for i, item in enumerate(items) if type(item) is not tuple or len(item) != 2)
        raise TypeError(f"items[{index}] must be a (sock, target) pair") from None
    kinds = set(map(type, targets))
    if not kinds <= _TARGET_KINDS:
        index = next(i for i, t in enumerate(targets) if type(t) not in _TARGET_KINDS)
        raise TypeError(
            f"items[{index}]: target must be a PeerTargetName, SecuritySettings or "
            f"IPsecSettings, not {type(targets[index]).__name__}"
        )
    if len(kinds) == 1:
        functions = [_PTN if PeerTargetName in kinds else _SETTINGS]
    else:
        functions = [_PTN if type(t) is PeerTargetName else _SETTINGS for t in targets]
    first = socks[0]
    families = {getattr(t, "_family", 0) for t in targets} - {0}
    if socks.count(first) == count:  # identity first: one socket for every item
        handles = [_handle(first, 0)]
        if families and isinstance(first, SOCKET) and family_of(first) in KIND_OF_FAMILY:
            families.discard(family_of(first))
            pairs: Any = ((first, t) for t in targets) if families else ()
        else:
            pairs = ()
    else:
        handles = [_handle(sock, i) for i, sock in enumerate(socks)]
        pairs = zip(socks, targets) if families else ()
    for index, (sock, target) in enumerate(pairs):
        if type(target) is PeerTargetName and target._family:
            try:
                check_peer_family(sock, target._peer)
            except ValueError as exc:
                raise ValueError(f"items[{index}]: {exc}") from None
    statuses = ffi.new("int[]", count)
    status = lib.wsapeer_batch(
        count,
        functions,
        len(functions),
        handles,
        len(handles),
        [t._item for t in targets],
        statuses,
        ms,
    )
    if status:
        _errors.raise_status(status, "wsapeer_batch")
    results: List[Optional[_errors.WsapeerError]] = [None] * count
    codes = ffi.unpack(statuses, count)
    if any(codes):
        for index, code in enumerate(codes):
            if code:
                try:
                    _errors.raise_status(code, _FUNCTIONS[functions[index % len(functions)]])
                except _errors.WsapeerError as exc:
                    results[index] = exc
    return results
