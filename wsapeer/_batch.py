"""apply_many: many prepared calls in one C loop, the GIL released once."""

from __future__ import annotations

import itertools
import operator
from typing import Any, List, Optional, Sequence, Tuple

from . import _calls, _errors
from ._overlapped import _milliseconds
from ._settings import IPsecSettings, SecuritySettings
from ._socket import KIND_OF_FAMILY, SOCKET, SocketLike, check_peer_family, family_of, handle_of
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

Item = Tuple[SocketLike, Any]

_TARGET_KINDS = frozenset((PeerTargetName, SecuritySettings, IPsecSettings))
_PTN = _calls.SET_PEER_TARGET_NAME
_SETTINGS = _calls.SET_SOCKET_SECURITY


def _handle(sock: object, index: int) -> int:
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
    # One socket for every item only if it is the same object: distinct objects
    # that merely compare equal may be different sockets (or True and 1).
    if all(map(operator.is_, socks, itertools.repeat(first))):
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
                    _errors.raise_status(code, _calls.NAMES[functions[index % len(functions)]])
                except _errors.WsapeerError as exc:
                    results[index] = exc
    return results
