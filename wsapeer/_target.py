"""PeerTargetName and set_peer_target_name: WSASetSocketPeerTargetName from Python."""

from __future__ import annotations

import ipaddress
from typing import Any, Optional, Tuple, Union

from . import _errors
from ._address import Peer, PeerTuple, normalize_peer
from ._enums import SecurityProtocol, check_enum
from ._immutable import Immutable
from ._overlapped import Operation, start
from ._socket import SocketLike, check_target, handle_of
from ._strings import encode_utf16
from ._wsapeer import ffi, lib

_FUNCTION = "WSASetSocketPeerTargetName"


def _protocol(value: object) -> SecurityProtocol:
    return check_enum(value, SecurityProtocol, "security protocol")


def _encode_name(name: object) -> bytes:
    if isinstance(name, str) and not name:
        raise ValueError("target_name must not be empty")
    return encode_utf16(name, "target_name", lib.WSAPEER_MAX_NAME_UNITS)


class PeerTargetName(Immutable):
    """An immutable SOCKET_PEER_TARGET_NAME, marshalled once in C.

    ``bytes(t)`` is exactly what Windows receives; ``t.apply(sock)`` hands that
    buffer to WSASetSocketPeerTargetName without marshalling again, so a server
    can build one per peer and apply it to every connection.
    """

    __slots__ = ("__weakref__", "_buffer", "_bytes", "_name", "_peer", "_protocol", "_size")

    _name: str
    _peer: Peer
    _protocol: SecurityProtocol
    _buffer: Any
    _size: int
    _bytes: bytes

    def __init__(
        self,
        target_name: str,
        peer: Union[Tuple[Any, ...], None] = None,
        protocol: Union[SecurityProtocol, int] = SecurityProtocol.DEFAULT,
    ) -> None:
        encoded = _encode_name(target_name)
        normalized = normalize_peer(peer)
        proto = _protocol(protocol)
        units = len(encoded) // 2
        size = lib.wsapeer_ptn_size(units)
        # uint64_t elements: SOCKADDR_STORAGE inside wants 8-byte alignment.
        buffer = ffi.new("uint64_t[]", (size + 7) // 8)
        status = lib.wsapeer_ptn_marshal(
            buffer,
            size,
            proto,
            normalized.kind,
            normalized.packed or ffi.NULL,
            normalized.port,
            normalized.flowinfo,
            normalized.scope_id,
            encoded,
            units,
        )
        if status:
            _errors.raise_status(status, "marshalling SOCKET_PEER_TARGET_NAME")
        set_ = object.__setattr__
        set_(self, "_name", target_name)
        set_(self, "_peer", normalized)
        set_(self, "_protocol", proto)
        set_(self, "_buffer", buffer)
        set_(self, "_size", size)
        set_(self, "_bytes", ffi.buffer(buffer, size)[:])

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> PeerTargetName:
        """Rebuilds the object whose bytes(...) is data; ValueError if data is not one."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        raw = bytes(data)
        fields = ffi.new("wsapeer_ptn_fields *")
        status = lib.wsapeer_ptn_parse(raw, len(raw), fields)
        if status:
            raise ValueError(
                f"not a SOCKET_PEER_TARGET_NAME ({len(raw)} bytes): "
                + ffi.string(lib.wsapeer_strerror(status)).decode("ascii")
            )
        start = fields.name_offset
        try:
            name = raw[start : start + 2 * fields.name_units].decode("utf-16-le")
        except UnicodeDecodeError:
            raise ValueError("the name in the buffer is not valid UTF-16") from None
        address = bytes(fields.address)
        peer: Optional[PeerTuple]
        if fields.peer_kind == lib.WSAPEER_PEER_IPV4:
            peer = (str(ipaddress.IPv4Address(address[:4])), fields.port)
        elif fields.peer_kind == lib.WSAPEER_PEER_IPV6:
            peer = (
                str(ipaddress.IPv6Address(address)),
                fields.port,
                fields.flowinfo,
                fields.scope_id,
            )
        else:
            peer = None
        try:
            target = cls(name, peer, fields.protocol)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the buffer holds a value wsapeer refuses: {exc}") from None
        if target._bytes != raw:
            raise ValueError(
                "not the canonical SOCKET_PEER_TARGET_NAME wsapeer writes: a padding or "
                "unused byte is nonzero"
            )
        return target

    @property
    def target_name(self) -> str:
        return self._name

    @property
    def peer(self) -> Optional[PeerTuple]:
        """None, (host, port) or (host, port, flowinfo, scope_id), host normalized."""
        return self._peer.public

    @property
    def protocol(self) -> SecurityProtocol:
        return self._protocol

    @property
    def size(self) -> int:
        """The PeerTargetNameLen passed to Windows: 144 + 2 bytes per code unit."""
        return self._size

    def apply(self, sock: SocketLike) -> None:
        """Calls WSASetSocketPeerTargetName(sock, self) with the prepared buffer."""
        self._apply(handle_of(sock), sock)

    def apply_async(self, sock: SocketLike, routine: bool = False) -> Operation[None]:
        """Starts WSASetSocketPeerTargetName with an OVERLAPPED kept in C.

        routine=True completes through a C completion routine, which runs only
        while the starting thread waits (Operation.wait) on it."""
        handle = handle_of(sock)
        check_target(sock, self._peer, _FUNCTION)
        return start(lib.WSAPEER_MODEL_SET_PEER_TARGET_NAME, handle, self._buffer, self._size,
                     routine)  # fmt: skip

    def _apply(self, handle: int, sock: object) -> None:
        check_target(sock, self._peer, _FUNCTION)
        status = lib.wsapeer_set_peer_target_name(handle, self._buffer, self._size)
        if status:
            _errors.raise_status(status, _FUNCTION)

    def __bytes__(self) -> bytes:
        return self._bytes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PeerTargetName):
            return NotImplemented
        return self._bytes == other._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        parts = [repr(self._name)]
        if self._peer.kind != lib.WSAPEER_PEER_NONE:
            parts.append(f"peer={self.peer!r}")
        if self._protocol != SecurityProtocol.DEFAULT:
            parts.append(f"protocol=SecurityProtocol.{self._protocol.name}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self._name, self.peer, int(self._protocol)))


def set_peer_target_name(
    sock: SocketLike,
    target_name: str,
    peer: Union[Tuple[Any, ...], None] = None,
    protocol: Union[SecurityProtocol, int] = SecurityProtocol.DEFAULT,
) -> None:
    """Names the peer principal (an SPN) that IPsec must authenticate on sock.

    TCP: call before connect, with peer=None. UDP: once per peer address,
    before connect or the first sendto to it. Raises WinsockError with the
    code Windows returns, and UnsupportedPlatformError off Windows.
    """
    handle = handle_of(sock)  # a bad socket is reported before the name's problems
    PeerTargetName(target_name, peer, protocol)._apply(handle, sock)
