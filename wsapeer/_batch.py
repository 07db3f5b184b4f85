"""apply_many: many prepared calls in one C loop, the GIL released once."""

from __future__ import annotations

import itertools
import operator
import sys
from typing import Any, Iterable, List, Optional, Tuple, Union

from . import _calls, _errors
from ._overlapped import _milliseconds
from ._settings import IPsecSettings, SecuritySettings
from ._socket import KIND_OF_FAMILY, SOCKET, SocketLike, check_peer_family, family_of, handle_of
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

if sys.version_info >= (3, 11):
    _ExceptionGroup = ExceptionGroup  # noqa: F821 (a builtin since 3.11)
else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
    from exceptiongroup import ExceptionGroup as _ExceptionGroup

Item = Tuple[SocketLike, Any]
Target = Any  # PeerTargetName, SecuritySettings or IPsecSettings

_TARGET_KINDS = frozenset((PeerTargetName, SecuritySettings, IPsecSettings))
_SOCKETS_ONLY = {SOCKET}
_PTN = _calls.SET_PEER_TARGET_NAME
_SETTINGS = _calls.SET_SOCKET_SECURITY


def _item_handle(index: int, target: object, sock: object) -> Union[int, Exception]:
    """Item index's handle, or why it cannot be issued (its slot's exception)."""
    if type(target) not in _TARGET_KINDS:
        return TypeError(
            f"items[{index}]: target must be a PeerTargetName, SecuritySettings or "
            f"IPsecSettings, not {type(target).__name__}"
        )
    try:
        handle = handle_of(sock)
        if type(target) is PeerTargetName and target._family:
            check_peer_family(sock, target._peer)
    except (TypeError, ValueError) as exc:
        return type(exc)(f"items[{index}]: {exc}")
    return handle


def _columns(
    socks: List[Any], targets: List[Target]
) -> Optional[Tuple[List[int], List[int], bool]]:
    """(handles, functions, one target) when every item is valid, each list
    holding one entry shared by all items where it can; None when some item is
    not."""
    one = targets[0]
    same = all(map(operator.is_, targets, itertools.repeat(one)))  # a TCP server's batch
    kinds = {type(one)} if same else set(map(type, targets))
    if not kinds <= _TARGET_KINDS:
        return None
    if len(kinds) == 1:
        functions = [_PTN if PeerTargetName in kinds else _SETTINGS]
    else:
        functions = [_PTN if type(t) is PeerTargetName else _SETTINGS for t in targets]
    first = socks[0]
    if same:
        families = {getattr(one, "_family", 0)} - {0}
    elif len(kinds) == 1 and PeerTargetName in kinds:
        families = {t._family for t in targets} - {0}  # a slot read, no getattr call
    else:
        families = {getattr(t, "_family", 0) for t in targets} - {0}
    try:
        # One socket for every item only if it is the same object: distinct
        # objects that merely compare equal may be different sockets (or True and 1).
        if all(map(operator.is_, socks, itertools.repeat(first))):
            handles = [handle_of(first)]
            if families and isinstance(first, SOCKET) and family_of(first) in KIND_OF_FAMILY:
                families.discard(family_of(first))
                pairs: Any = ((first, t) for t in targets) if families else ()
            else:
                pairs = ()
        else:
            if set(map(type, socks)) == _SOCKETS_ONLY:  # a TCP server's connections
                handles = [sock.fileno() for sock in socks]
                if min(handles) < 0:
                    return None  # a closed one: each item says which
            else:
                handles = [handle_of(sock) for sock in socks]
            pairs = zip(socks, targets) if families else ()
        for sock, target in pairs:
            if type(target) is PeerTargetName and target._family:
                check_peer_family(sock, target._peer)
    except (TypeError, ValueError):
        return None
    return handles, functions, same


def apply_many(
    items: Iterable[Item], timeout: Optional[float] = None, *, raise_on_error: bool = False
) -> List[Optional[Exception]]:
    """Applies many prepared targets at once: one C loop issues them, one wait collects them.

    Each item is a ``(sock, target)`` pair whose target is a :class:`wsapeer.PeerTargetName`
    (WSASetSocketPeerTargetName), :class:`wsapeer.SecuritySettings` or
    :class:`wsapeer.IPsecSettings` (WSASetSocketSecurity): many UDP peers on one socket, or one
    target on many TCP sockets. Every item that can be issued is issued in one C loop, and all
    of them are awaited with the GIL released once. Off Windows the contract model answers
    every call at once.

    One failing item neither hides nor aborts the others: an item that cannot be issued (a
    closed socket, a peer of the other address family, a sock or target of the wrong type)
    gets its ``TypeError`` or ``ValueError`` in its own slot and the rest are issued, and a
    call Windows refuses is that item's :class:`wsapeer.WinsockError`. Items still in flight when
    ``timeout`` ends are cancelled and report ``WSA_OPERATION_ABORTED`` (995), or
    ``WSA_IO_INCOMPLETE`` (996) while Windows has not let them go (their memory is freed when
    it does). The call itself raises only when it is malformed (before anything is issued),
    where nothing answers the calls, or, with ``raise_on_error=True``, once every item is done.

    Args:
        items: any iterable of ``(sock, target)`` pairs, a generator included, consumed once
            before anything is issued. ``sock`` is a :class:`socket.socket`, an object with
            ``fileno()`` or a raw handle (an int); items share a socket only if they hold the
            same object (distinct objects that compare equal may be different sockets).
        timeout: the most seconds to wait for all the items together (an int or a float);
            ``None`` (the default) or ``inf`` waits until every item is done.
        raise_on_error: ``True`` raises the failures as an ``ExceptionGroup`` once every item
            has finished, instead of returning them (with none, the list is returned as
            usual); ``False`` (the default) only returns them.

    Returns:
        One entry per item, in order, ``None`` where the call succeeded, else that item's
        exception; the :class:`wsapeer.WinsockError` Windows (or the contract model) reported,
        or the ``TypeError`` or ``ValueError`` saying why the item could not be issued (rarely
        another :class:`wsapeer.WsapeerError` or a ``MemoryError`` the shim reported for it).
        An empty list for no items.

    Raises:
        TypeError: before anything is issued, when ``items`` is not iterable or holds something
            that is not a pair, when ``timeout`` is neither a number nor ``None`` (a bool
            included), or when ``raise_on_error`` is not a bool.
        ValueError: before anything is issued, when ``timeout`` is negative or NaN.
        ExceptionGroup: with ``raise_on_error=True``, once every item has finished, when any
            item failed: it holds the failed items' exceptions in item order, the objects the
            list would have held (on Python 3.9 and 3.10, the ``exceptiongroup`` backport's).
        wsapeer.UnsupportedPlatformError: once for the whole call, not per item, when at least
            one item can be issued on a platform without Fwpuclnt, or off Windows outside
            :func:`wsapeer.testing.contract_model`: then nothing was done. If a
            ``contract_model()`` block ends in another thread while the batch runs, the
            items issued before that were made and say ``None``, and each one after it
            holds an UnsupportedPlatformError in its own slot.
    """
    ms = _milliseconds(timeout)
    if not isinstance(raise_on_error, bool):
        raise TypeError(f"raise_on_error must be a bool, not {type(raise_on_error).__name__}")
    if type(items) is list:
        listed = items
    else:
        try:
            iterator = iter(items)
        except TypeError:
            raise TypeError(
                f"items must be an iterable of (sock, target) pairs, not {type(items).__name__}"
            ) from None
        listed = list(iterator)  # what the caller's generator raises is its own
    count = len(listed)
    if count == 0:
        return []
    # Column by column, at C speed where Python allows: a UDP server sends one
    # socket with many targets, a TCP server one target to many sockets.
    try:
        socks = [sock for sock, _ in listed]
        targets = [target for _, target in listed]
    except (TypeError, ValueError):
        index = next(i for i, item in enumerate(listed) if not _is_pair(item))
        raise TypeError(f"items[{index}] must be a (sock, target) pair") from None
    results: List[Optional[Exception]] = [None] * count
    columns = _columns(socks, targets)
    inputs = None
    if columns is not None:
        handles, functions, same = columns
        issued: Optional[List[int]] = None
        if same:
            inputs = [targets[0]._item] * count
    else:  # some items cannot be issued: each says why in its slot
        issued, handles = [], []
        for index, (sock, target) in enumerate(zip(socks, targets)):
            handle = _item_handle(index, target, sock)
            if isinstance(handle, Exception):
                results[index] = handle
            else:
                issued.append(index)
                handles.append(handle)
        functions = [_PTN if type(targets[i]) is PeerTargetName else _SETTINGS for i in issued]
        targets = [targets[i] for i in issued]
    if targets:
        _issue(handles, functions, targets, ms, results, issued, inputs)
    if raise_on_error:
        failed = [exc for exc in results if exc is not None]
        if failed:
            raise _ExceptionGroup(f"apply_many: {len(failed)} of {count} items failed", failed)
    return results


def _is_pair(item: object) -> bool:
    try:
        _, _ = item  # type: ignore[misc]
    except (TypeError, ValueError):
        return False
    return True


def _issue(
    handles: List[int],
    functions: List[int],
    targets: List[Target],
    ms: int,
    results: List[Optional[Exception]],
    positions: Optional[List[int]],
    inputs: Optional[List[Any]] = None,
) -> None:
    """One C batch over targets; each status lands in results at its item's
    position (positions[i], or i when every item was issued)."""
    count = len(targets)
    statuses = ffi.new("int[]", count)
    status = lib.wsapeer_batch(
        count,
        functions,
        len(functions),
        handles,
        len(handles),
        [t._item for t in targets] if inputs is None else inputs,
        statuses,
        ms,
    )
    if status:
        _errors.raise_status(status, "wsapeer_batch")
    codes = ffi.unpack(statuses, count)
    if any(codes):
        for index, code in enumerate(codes):
            if code:
                function = _calls.NAMES[functions[index % len(functions)]]
                try:
                    _errors.raise_status(code, function)
                except (_errors.WsapeerError, ValueError, MemoryError) as exc:
                    # Issued: whatever it was, it belongs to its item, never the batch.
                    results[index if positions is None else positions[index]] = exc
