"""WSAImpersonateSocketPeer and WSARevertImpersonation, and the context manager
that pairs them."""

from __future__ import annotations

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


def impersonate_socket_peer(sock: SocketLike, peer: PeerArg = None) -> None:
    """WSAImpersonateSocketPeer: the calling thread runs as the peer until
    revert_impersonation(). Prefer the impersonate_peer() context manager."""
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
def impersonate_peer(sock: SocketLike, peer: PeerArg = None) -> Iterator[None]:
    """Runs the block as the socket's peer, and reverts on the way out, exceptions
    included.

    Impersonation is per thread: only the thread that entered the block runs
    as the peer, and it may not nest another impersonate_peer() inside.
    """
    if getattr(_impersonation, "active", False):
        raise RuntimeError(
            "this thread is already impersonating a socket peer; impersonate_peer() "
            "does not nest (revert first)"
        )
    impersonate_socket_peer(sock, peer)
    try:
        yield
    finally:
        revert_impersonation()
