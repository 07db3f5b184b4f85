"""Socket arguments: a socket.socket, anything with fileno(), or a raw handle.

Python checks only what Windows does not: that the handle is one, and that a
peer's address family is the socket's. The conditions Windows documents (a
socket that is not AF_INET/AF_INET6 or not stream/datagram, a connected
socket, a datagram socket without a peer) are left to Windows, or to the
contract model, which raise the documented WinsockError for them.
"""

from __future__ import annotations

import _socket
import socket
from typing import Protocol, Union

from ._address import Peer
from ._checks import kind_of
from ._wsapeer import lib


class HasFileno(Protocol):
    def fileno(self) -> int: ...


SocketLike = Union[socket.socket, HasFileno, int]

#: The largest handle a socket of this platform can have (a SOCKET holds
#: 2**32 - 1 on 32-bit Windows): larger ones are refused before any call, on
#: every path, so that none is truncated into another socket's handle.
MAX_HANDLE: int = lib.wsapeer_max_socket()
SOCKET = socket.socket
#: The C-level family of a socket.socket: an int, without the IntEnum that
#: socket.socket.family builds on every access.
family_of = _socket.socket.family.__get__
#: The peer kind each inet family takes.
KIND_OF_FAMILY = {socket.AF_INET: lib.WSAPEER_PEER_IPV4, socket.AF_INET6: lib.WSAPEER_PEER_IPV6}
FAMILY_OF_KIND = {kind: family for family, kind in KIND_OF_FAMILY.items()}


def handle_of(sock: object) -> int:
    """The OS handle (SOCKET on Windows, fd elsewhere) behind sock."""
    kind = type(sock)
    if kind is SOCKET:  # the common case first, without isinstance chains
        handle = sock.fileno()  # type: ignore[attr-defined]
        if handle >= 0:
            return int(handle)
    elif kind is int and 0 <= sock <= MAX_HANDLE:  # type: ignore[operator]
        return sock  # type: ignore[return-value]
    if isinstance(sock, int):
        if type(sock) is not int:  # bool, or a subclass whose comparisons could lie
            raise TypeError(
                f"sock must be a socket, an object with fileno() or an int, not {kind_of(sock)}"
            )
        handle = sock
    else:
        fileno = getattr(sock, "fileno", None)
        if fileno is None:
            raise TypeError(
                f"sock must be a socket, an object with fileno() or an int, "
                f"not {type(sock).__name__}"
            )
        handle = fileno()
        if type(handle) is not int:
            raise TypeError(f"sock.fileno() returned {kind_of(handle)}, not int")
    if handle == -1:
        raise ValueError("the socket is closed (its fileno() is -1)")
    if handle < 0:
        raise ValueError(f"socket handle {handle} is not a valid handle")
    if handle > MAX_HANDLE:
        raise ValueError(
            f"socket handle {handle} does not fit this platform's sockets (at most {MAX_HANDLE})"
        )
    return int(handle)


def check_peer_family(sock: object, peer: Peer) -> None:
    """ValueError when peer's family is not the family of an inet socket.socket."""
    if peer.kind == lib.WSAPEER_PEER_NONE or not isinstance(sock, SOCKET):
        return
    kind = KIND_OF_FAMILY.get(family_of(sock))
    if kind is None or kind == peer.kind:
        return  # a non-inet socket is Windows' to refuse (WSAEINVAL)
    have = "IPv4" if peer.kind == lib.WSAPEER_PEER_IPV4 else "IPv6"
    want = "IPv4" if kind == lib.WSAPEER_PEER_IPV4 else "IPv6"
    hint = " (an IPv4 peer on an IPv6 socket is written ::ffff:a.b.c.d)" if want == "IPv6" else ""
    raise ValueError(f"peer is an {have} address but the socket is {want}{hint}")
