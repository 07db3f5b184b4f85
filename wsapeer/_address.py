"""Peer addresses: Python's socket-style tuples in, validated numeric fields out."""

from __future__ import annotations

import ipaddress
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any, NamedTuple, Optional, Tuple, Union

from . import _errors
from ._checks import exact_int, kind_of
from ._wsapeer import ffi, lib

#: A numeric IPv4 or IPv6 address (wsapeer does no DNS lookups).
Host = Union[str, ipaddress.IPv4Address, ipaddress.IPv6Address]
#: A peer as the socket module writes it: (host, port) for either family, or
#: (host, port, flowinfo, scope_id) for IPv6, as an AF_INET6 recvfrom() returns.
PeerAddress = Union[Tuple[Host, int], Tuple[Host, int, int, int]]
#: The normalized tuple PeerTargetName.peer shows.
PeerTuple = Union[Tuple[str, int], Tuple[str, int, int, int]]
#: A peer as callers pass it: None (TCP: the connected peer) or a PeerAddress.
PeerArg = Optional[PeerAddress]

_MAX_FLOWINFO = 0xFFFFF  # 20 bits, as CPython's socket module enforces
_MAX_SCOPE_ID = 0xFFFFFFFF


class Peer(NamedTuple):
    """A peer address reduced to what the shim writes."""

    kind: int  # lib.WSAPEER_PEER_*
    packed: bytes
    port: int
    flowinfo: int
    scope_id: int

    @property
    def public(self) -> Optional[PeerTuple]:
        """The normalized tuple PeerTargetName.peer shows."""
        if self.kind == lib.WSAPEER_PEER_IPV4:
            return (str(ipaddress.IPv4Address(self.packed)), self.port)
        if self.kind == lib.WSAPEER_PEER_IPV6:
            return (
                inet_ntop(AF_INET6, self.packed),  # as recvfrom() writes it
                self.port,
                self.flowinfo,
                self.scope_id,
            )
        return None


NO_PEER = Peer(lib.WSAPEER_PEER_NONE, b"", 0, 0, 0)
_V4, _V6 = lib.WSAPEER_PEER_IPV4, lib.WSAPEER_PEER_IPV6


def _plain_literal(peer: object) -> Optional[Peer]:
    """The common case without ipaddress: (str literal, int port), no zone, all in
    range. None for anything else, which the full path checks and explains."""
    if type(peer) is not tuple or len(peer) != 2:
        return None
    host, port = peer
    if type(host) is not str or type(port) is not int or not 0 <= port <= 0xFFFF:
        return None
    try:
        if "." in host and ":" not in host:
            return Peer(_V4, inet_pton(AF_INET, host), port, 0, 0)
        if ":" in host and "%" not in host:
            return Peer(_V6, inet_pton(AF_INET6, host), port, 0, 0)
    except OSError:
        pass
    return None


_check_int = exact_int


def _parse_host(host: object) -> Union[ipaddress.IPv4Address, ipaddress.IPv6Address]:
    # Exact types only: a subclass could override packed or scope_id, or a
    # str's methods, and so be checked as one address and written as another.
    if type(host) is ipaddress.IPv4Address or type(host) is ipaddress.IPv6Address:
        return host
    if type(host) is not str:
        raise TypeError(f"peer host must be a str or an ipaddress address, not {kind_of(host)}")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"peer host {host!r} is not a numeric IPv4 or IPv6 address; wsapeer does "
            "no DNS lookups (resolve the name first, e.g. with socket.getaddrinfo)"
        ) from None


def normalize_peer(peer: object) -> Peer:
    """Validates a peer given as Python's socket module takes it.

    None means no peer (the all-zero address TCP uses); otherwise (host, port)
    for IPv4 and (host, port[, flowinfo[, scope_id]]) for IPv6.
    """
    if peer is None:
        return NO_PEER
    fast = _plain_literal(peer)
    if fast is not None:
        return fast
    if not isinstance(peer, tuple):
        raise TypeError(
            f"peer must be None or a tuple (host, port[, flowinfo[, scope_id]]), "
            f"not {type(peer).__name__}"
        )
    # A tuple subclass (a namedtuple, say) is read through tuple's own slots:
    # its items as stored, whatever its __len__ or __getitem__ say.
    peer = tuple.__getitem__(peer, slice(None))
    if not 2 <= len(peer) <= 4:
        raise ValueError(
            f"peer must be (host, port) or (host, port, flowinfo[, scope_id]); "
            f"got a tuple of {len(peer)} items"
        )
    address = _parse_host(peer[0])
    port = _check_int(peer[1], "peer port", 0, 0xFFFF)
    if isinstance(address, ipaddress.IPv4Address):
        if len(peer) > 2:
            raise ValueError(
                "flowinfo and scope_id belong to IPv6 peers; an IPv4 peer is (host, port)"
            )
        return Peer(lib.WSAPEER_PEER_IPV4, address.packed, port, 0, 0)

    flowinfo = _check_int(peer[2], "peer flowinfo", 0, _MAX_FLOWINFO) if len(peer) > 2 else 0
    scope_id = _check_int(peer[3], "peer scope_id", 0, _MAX_SCOPE_ID) if len(peer) > 3 else 0
    zone = getattr(address, "scope_id", None)  # "fe80::1%3" (Python 3.9+)
    if zone is not None:
        if not (zone.isascii() and zone.isdigit()) or int(zone) > _MAX_SCOPE_ID:
            raise ValueError(
                f"peer host zone %{zone} is not a numeric scope id; pass the "
                "interface index as the tuple's scope_id"
            )
        if scope_id not in (0, int(zone)):
            raise ValueError(f"peer host zone %{zone} contradicts the tuple's scope_id {scope_id}")
        scope_id = int(zone)
        address = ipaddress.IPv6Address(address.packed)
    return Peer(lib.WSAPEER_PEER_IPV6, address.packed, port, flowinfo, scope_id)


def marshal_sockaddr(peer: Peer) -> Tuple[Any, int]:
    """A Windows SOCKADDR_IN or SOCKADDR_IN6 for peer, written by C: (buffer, size)."""
    buffer = ffi.new("uint64_t[4]")  # 32 bytes: room for a SOCKADDR_IN6, 8-aligned
    size = lib.wsapeer_sockaddr_marshal(
        buffer, 32, peer.kind, peer.packed, peer.port, peer.flowinfo, peer.scope_id
    )
    if size < 0:
        _errors.raise_status(size, "marshalling a sockaddr")
    return buffer, size
