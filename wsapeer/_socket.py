"""Socket arguments: a socket.socket, anything with fileno(), or a raw handle."""

from __future__ import annotations

import socket
from typing import Protocol, Union

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


def check_target(sock: object, peer: Peer, function: str) -> None:
    """Raises what Windows would for a socket.socket whose family or type rule it out.

    Only socket.socket objects say their family and type without a system
    call; for other objects Windows (or the model) decides.
    """
    if not isinstance(sock, socket.socket):
        return
    kind = _FAMILIES.get(sock.family)
    if kind is None:
        raise _errors.WinsockError(
            _errors.WSAEAFNOSUPPORT, function, f"socket family is {sock.family!r}"
        )
    if sock.type not in _TYPES:
        raise _errors.WinsockError(_errors.WSAEINVAL, function, f"socket type is {sock.type!r}")
    if peer.kind != lib.WSAPEER_PEER_NONE and peer.kind != kind:
        have = "IPv4" if peer.kind == lib.WSAPEER_PEER_IPV4 else "IPv6"
        want = "IPv4" if kind == lib.WSAPEER_PEER_IPV4 else "IPv6"
        hint = (
            " (an IPv4 peer on an IPv6 socket is written ::ffff:a.b.c.d)" if want == "IPv6" else ""
        )
        raise ValueError(f"peer is an {have} address but the socket is {want}{hint}")
    if sock.type == socket.SOCK_DGRAM and peer.is_zero:
        raise _errors.WinsockError(
            _errors.WSAEINVAL,
            function,
            "a connectionless socket needs a nonzero peer address or port",
        )
