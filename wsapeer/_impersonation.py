"""WSAImpersonateSocketPeer and WSARevertImpersonation, and the context manager
that pairs them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Iterator

from . import _calls, _errors
from ._address import PeerArg, marshal_sockaddr, normalize_peer
from ._socket import SocketLike, check_peer_family, handle_of
from ._wsapeer import ffi, lib

_IMPERSONATE = _calls.NAMES[_calls.IMPERSONATE_SOCKET_PEER]
_REVERT = _calls.NAMES[_calls.REVERT_IMPERSONATION]

_impersonation = threading.local()


def _refuse_in_event_loop(allow: bool) -> None:
    if not isinstance(allow, bool):
        raise TypeError(f"allow_in_event_loop must be a bool, not {type(allow).__name__}")
    if allow:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "impersonation is per thread, and this thread runs an event loop: every task that "
        "runs while the peer is impersonated (at any await) would run as the peer. "
        "Impersonate in a worker thread (loop.run_in_executor), or pass "
        "allow_in_event_loop=True if the block never awaits"
    )


def impersonate_socket_peer(
    sock: SocketLike, peer: PeerArg = None, *, allow_in_event_loop: bool = False
) -> None:
    """WSAImpersonateSocketPeer: the calling thread runs as the peer until
    revert_impersonation(). Prefer the impersonate_peer() context manager.

    Refused (RuntimeError) on a thread running an event loop unless
    allow_in_event_loop=True: other tasks would run as the peer."""
    _refuse_in_event_loop(allow_in_event_loop)
    handle = handle_of(sock)
    normalized = normalize_peer(peer)
    check_peer_family(sock, normalized)
    address: Any = ffi.NULL
    size = 0
    if normalized.kind != lib.WSAPEER_PEER_NONE:
        address, size = marshal_sockaddr(normalized)
    _errors.check(lib.wsapeer_impersonate_socket_peer(handle, address, size), _IMPERSONATE)
    _impersonation.active = True


def revert_impersonation() -> None:
    """WSARevertImpersonation: the calling thread stops impersonating (a no-op
    when it was not)."""
    _impersonation.active = False
    _errors.check(lib.wsapeer_revert_impersonation(), _REVERT)


@contextlib.contextmanager
def impersonate_peer(
    sock: SocketLike, peer: PeerArg = None, *, allow_in_event_loop: bool = False
) -> Iterator[None]:
    """Runs the block as the socket's peer, and reverts on the way out, exceptions
    included.

    Impersonation is per thread: only the thread that entered the block runs
    as the peer, and it may not nest another impersonate_peer() inside. On a
    thread running an event loop it is refused (RuntimeError) unless
    allow_in_event_loop=True: at any await inside the block, other tasks would
    run as the peer. Impersonate in a worker thread instead.
    """
    _refuse_in_event_loop(allow_in_event_loop)
    if getattr(_impersonation, "active", False):
        raise RuntimeError(
            "this thread is already impersonating a socket peer; impersonate_peer() "
            "does not nest (revert first)"
        )
    impersonate_socket_peer(sock, peer, allow_in_event_loop=True)
    try:
        yield
    finally:
        revert_impersonation()
