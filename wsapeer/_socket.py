"""Socket arguments: a socket.socket, anything with fileno(), or a raw handle."""

from __future__ import annotations

import socket
from typing import Optional, Protocol, Union

from . import _errors
from ._address import Peer
from ._wsapeer import lib


class HasFileno(Protocol):
    def fileno(self) -> int: ...


SocketLike = Union[socket.socket, HasFileno, int]

_MAX_HANDLE = 2**64 - 1
_FAMILIES = {socket.AF_INET: lib.WSAPEER_PEER_IPV4, socket.AF_INET6: lib.WSAPEER_PEER_IPV6}
_TYPES = (socket.SOCK_STREAM, socket.SOCK_DGRAM)


def handle_of(sock: object) -> int:
    """The OS handle (SOCKET on Windows, fd elsewhere) behind sock."""
    if isinstance(sock, bool):
        raise TypeError("sock must be a socket, an object with fileno() or an int, not bool")
    if isinstance(sock, int):
        handle = sock
    else:
        fileno = getattr(sock, "fileno", None)
        if fileno is None:
            raise TypeError(
                f"sock must be a socket, an object with fileno() or an int, "
                f"not {type(sock).__name__}"
            )
        handle = fileno()
        if isinstance(handle, bool) or not isinstance(handle, int):
            raise TypeError(f"sock.fileno() returned {type(handle).__name__}, not int")
    if handle == -1:
        raise ValueError("the socket is closed (its fileno() is -1)")
    if not 0 <= handle <= _MAX_HANDLE:
        raise ValueError(f"socket handle {handle} is not a valid handle")
    return handle


def socket_kind(sock: object, function: str) -> Optional[int]:
    """For a socket.socket, raises what Windows would if its family or type rule
    the call out, and returns its WSAPEER_PEER_* kind; None for other objects.

    Only socket.socket objects say their family and type without a system
    call; for other objects Windows (or the model) decides.
    """
    if not isinstance(sock, socket.socket):
        return None
    kind = _FAMILIES.get(sock.family)
    if kind is None:
        raise _errors.WinsockError(
            _errors.WSAEAFNOSUPPORT, function, f"socket family is {sock.family!r}"
        )
    if sock.type not in _TYPES:
        raise _errors.WinsockError(_errors.WSAEINVAL, function, f"socket type is {sock.type!r}")
    return kind


def is_datagram(sock: object) -> bool:
    return isinstance(sock, socket.socket) and sock.type == socket.SOCK_DGRAM


def check_peer_family(kind: Optional[int], peer: Peer) -> None:
    """ValueError when a peer's family is not the socket's (when that is known)."""
    if kind is None or peer.kind == lib.WSAPEER_PEER_NONE or peer.kind == kind:
        return
    have = "IPv4" if peer.kind == lib.WSAPEER_PEER_IPV4 else "IPv6"
    want = "IPv4" if kind == lib.WSAPEER_PEER_IPV4 else "IPv6"
    hint = " (an IPv4 peer on an IPv6 socket is written ::ffff:a.b.c.d)" if want == "IPv6" else ""
    raise ValueError(f"peer is an {have} address but the socket is {want}{hint}")


def check_target(sock: object, peer: Peer, function: str) -> None:
    """The checks of WSASetSocketPeerTargetName that Python can make for free."""
    kind = socket_kind(sock, function)
    check_peer_family(kind, peer)
    if is_datagram(sock) and peer.is_zero:
        raise _errors.WinsockError(
            _errors.WSAEINVAL,
            function,
            "a connectionless socket needs a nonzero peer address or port",
        )
