"""PeerTargetName and set_peer_target_name (WSASetSocketPeerTargetName), and
delete_peer_target_name (WSADeleteSocketPeerTargetName), which undoes it."""

from __future__ import annotations

import codecs
import ipaddress
from socket import AF_INET6, inet_ntop, inet_pton
from typing import Any, List, Optional, Tuple, Union

from . import _calls, _errors
from ._address import Peer, PeerAddress, PeerArg, PeerTuple, marshal_sockaddr, normalize_peer
from ._checks import exact_str
from ._enums import ProtocolArg, SecurityProtocol, check_enum
from ._immutable import Marshalled
from ._overlapped import Operation, start
from ._socket import (
    FAMILY_OF_KIND,
    MAX_HANDLE,
    SOCKET,
    SocketLike,
    check_peer_family,
    family_of,
    handle_of,
)
from ._strings import encode_utf16, has_surrogate
from ._wsapeer import ffi, lib

_FUNCTION = _calls.NAMES[_calls.SET_PEER_TARGET_NAME]
_DELETE = _calls.NAMES[_calls.DELETE_PEER_TARGET_NAME]


_PROTOCOLS = {int(p): p for p in SecurityProtocol}


def _protocol(value: object) -> SecurityProtocol:
    if type(value) is int or type(value) is SecurityProtocol:
        known = _PROTOCOLS.get(value)  # type: ignore[call-overload,unused-ignore]
        if known is not None:
            return known
    return check_enum(value, SecurityProtocol, "security protocol")


def _encode_name(name: object) -> bytes:
    if not exact_str(name, "target_name"):
        raise ValueError("target_name must not be empty")
    return encode_utf16(name, "target_name", lib.WSAPEER_MAX_NAME_UNITS)


class PeerTargetName(Marshalled):
    """A peer target name, validated and marshalled once in C into a SOCKET_PEER_TARGET_NAME.

    ``bytes(t)`` is exactly the buffer Windows receives (144 bytes and the name in UTF-16,
    no terminator, every padding byte zero); :meth:`wsapeer.PeerTargetName.apply` hands
    that buffer to WSASetSocketPeerTargetName without marshalling again, so a server can
    build one per peer and apply it to every connection. The object is immutable: equal
    when the buffers are, hashed on them, copied by sharing, and pickled by its arguments.
    Building one makes no call, so it works on every platform.

    Args:
        target_name: the principal name IPsec must authenticate the peer as, an SPN such
            as ``host/server.example.com``: a non-empty ``str`` of at most 32,767 UTF-16
            code units, without NUL characters or lone surrogates.
        peer: ``None`` (TCP: the all-zero address; the connected peer is implied) or the UDP
            peer the name is for, as the socket module writes addresses: ``(host, port)``
            for IPv4, ``(host, port[, flowinfo[, scope_id]])`` for IPv6. ``host`` is
            numeric (wsapeer does no DNS lookups): a ``str``, an
            :class:`ipaddress.IPv4Address` or an :class:`ipaddress.IPv6Address`; an IPv6
            zone written ``%N`` is taken as the scope id.
        protocol: the :class:`wsapeer.SecurityProtocol` the name is for, or its plain
            ``int`` value (0, 1 or 2). Use the protocol of the socket's settings.

    Raises:
        TypeError: ``target_name`` is not a ``str``; ``peer`` is neither ``None`` nor a
            tuple, its host is neither a ``str`` nor an ipaddress address, or its port,
            flowinfo or scope_id is not an ``int``; ``protocol`` is not an ``int`` or is a
            member of another enumeration. A ``bool`` is refused where an ``int`` is wanted.
        ValueError: ``target_name`` is empty, contains a NUL or a lone surrogate, or is
            longer than 32,767 UTF-16 code units; ``peer`` does not have 2 to 4 items (2
            for IPv4), its host is not a numeric IPv4 or IPv6 address, its port is outside
            0..65535, its flowinfo outside 0..0xFFFFF or its scope_id outside
            0..0xFFFFFFFF, or its IPv6 zone is not numeric or contradicts its scope_id;
            ``protocol`` is not 0, 1 or 2.
    """

    __slots__ = ("__weakref__", "_family", "_name", "_peer", "_protocol")

    STRUCTURE = "SOCKET_PEER_TARGET_NAME"
    _name: str
    _family: int
    _peer: Peer
    _protocol: SecurityProtocol

    def __init__(
        self,
        target_name: str,
        peer: PeerArg = None,
        protocol: ProtocolArg = SecurityProtocol.DEFAULT,
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
        # The socket family the peer needs (0: any), for apply's one check.
        set_(self, "_family", FAMILY_OF_KIND.get(normalized.kind, 0))
        self._set_buffer(buffer, size)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> PeerTargetName:
        """Rebuilds the PeerTargetName whose ``bytes()`` is ``data``: the inverse of ``bytes(t)``.

        Every field is checked: a buffer wsapeer would not have written is refused, with the
        field and offset that are wrong. Makes no call.

        Args:
            data: a SOCKET_PEER_TARGET_NAME as ``bytes``, ``bytearray`` or ``memoryview``.

        Returns:
            A new object of this class, equal to the one that wrote ``data``.

        Raises:
            TypeError: ``data`` is not ``bytes``, ``bytearray`` or ``memoryview``.
            ValueError: ``data`` is not a SOCKET_PEER_TARGET_NAME as wsapeer writes it: its
                size is not what its length field says, its protocol or address family is
                unknown, its name is not valid UTF-16, it holds a value the constructor
                refuses (an empty name, say), or a padding or unused byte is nonzero.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        raw = bytes(data)
        fields = ffi.new("wsapeer_ptn_fields *")
        status = lib.wsapeer_ptn_parse(raw, len(raw), fields)
        if status:
            raise ValueError(
                f"not a SOCKET_PEER_TARGET_NAME ({len(raw)} bytes): "
                + ffi.string(lib.wsapeer_strerror(status)).decode("ascii")
                + _what_is_wrong(raw, fields, status)
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
                inet_ntop(AF_INET6, address),
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
        canonical = bytes(target)
        if canonical != raw:
            at = next(i for i, (a, b) in enumerate(zip(canonical, raw)) if a != b)
            raise ValueError(
                "not the canonical SOCKET_PEER_TARGET_NAME wsapeer writes: a padding or "
                f"unused byte is nonzero (byte {at}, in "
                f"{_field_at(fields.peer_kind, at, 2 * fields.name_units)})"
            )
        return target

    @property
    def target_name(self) -> str:
        """The principal name the peer must authenticate as, e.g. ``host/server.example.com``."""
        return self._name

    @property
    def peer(self) -> Optional[PeerTuple]:
        """The peer the name is for, normalized, or ``None`` (TCP).

        ``(host, port)`` for IPv4, ``(host, port, flowinfo, scope_id)`` for IPv6, ``host``
        a ``str`` written as ``recvfrom()`` writes it (an IPv6 zone moved into
        ``scope_id``).
        """
        return self._peer.public

    @property
    def protocol(self) -> SecurityProtocol:
        """The :class:`wsapeer.SecurityProtocol` the name is set for."""
        return self._protocol

    @property
    def size(self) -> int:
        """PeerTargetNameLen, the buffer's size in bytes (144, plus 2 per UTF-16 code unit)."""
        return self._size

    def apply(self, sock: SocketLike) -> None:
        """Names this target's peer principal on ``sock``: WSASetSocketPeerTargetName.

        Passes the prepared buffer as it is. The hot path of a server: beyond the call
        itself it costs a ``fileno()`` and, for a target with a peer, one read of the
        socket's family. TCP: after :func:`wsapeer.set_socket_security` and before
        connect. UDP: before connect or the first ``sendto`` to the peer.

        Args:
            sock: the socket: a :class:`socket.socket` (or subclass), any object with a
                ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).

        Raises:
            TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``
                (a ``bool`` is refused), or its ``fileno()`` returned no ``int``.
            ValueError: the socket is closed (``fileno()`` is -1), or its handle is
                negative or too large for this platform's sockets; or this target's peer is
                of the other address family than ``sock`` (checked when ``sock`` is a
                :class:`socket.socket`).
            wsapeer.WinsockError: Windows (or the contract model) refused the call, e.g.
                WSAEISCONN (10056): the socket is connected; WSAEINVAL (10022): the socket
                is not AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM, or a datagram socket
                was given no peer; WSAENOTSOCK (10038): the handle is not a socket.
            wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
                outside ``wsapeer.testing.contract_model()``, or in a build without
                Fwpuclnt. Nothing was done.
            wsapeer.WsapeerError: the call failed without reporting an error code.
        """
        if type(sock) is SOCKET:
            handle = sock.fileno()
            if handle < 0 or (self._family and family_of(sock) != self._family):
                return self._apply_to(handle_of(sock), sock)
        elif type(sock) is int and 0 <= sock <= MAX_HANDLE:
            handle = sock
        else:
            return self._apply_to(handle_of(sock), sock)
        status = _set_item(handle, self._item)
        if status:
            _errors.raise_status(status, _FUNCTION)
        return None

    def _apply_to(self, handle: int, sock: object) -> None:
        """apply() with every check, for the cases its fast path hands over."""
        check_peer_family(sock, self._peer)
        status = _set_item(handle, self._item)
        if status:
            _errors.raise_status(status, _FUNCTION)

    def apply_async(self, sock: SocketLike, routine: bool = False) -> Operation[None]:
        """Starts WSASetSocketPeerTargetName on ``sock`` with an OVERLAPPED kept in C.

        The operation holds its own copy of the buffer, with its OVERLAPPED and event, until
        Windows has finished with them. Windows' answer is not raised here: the operation's
        :meth:`wsapeer.Operation.result` raises it. Off Windows the contract model answers
        at once, so the operation comes back done.

        Args:
            sock: the socket: a :class:`socket.socket` (or subclass), any object with a
                ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
            routine: ``False`` (the default) to complete by signalling the operation's
                event; ``True`` to complete through a C completion routine, which runs only
                on the starting thread, while it waits on the operation
                (:meth:`wsapeer.Operation.wait`, also with a zero timeout). ``wsapeer.aio``
                refuses such operations.

        Returns:
            The started :class:`wsapeer.Operation`, whose ``result()`` is ``None``.

        Raises:
            TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``
                (a ``bool`` is refused), or its ``fileno()`` returned no ``int``;
                ``routine`` is not a ``bool``.
            ValueError: the socket is closed (``fileno()`` is -1), or its handle is
                negative or too large for this platform's sockets; or this target's peer is
                of the other address family than ``sock`` (checked when ``sock`` is a
                :class:`socket.socket`).
            MemoryError: the operation could not be allocated.
            wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
                outside ``wsapeer.testing.contract_model()``, or in a build without
                Fwpuclnt. Nothing was done.
        """
        handle = handle_of(sock)
        check_peer_family(sock, self._peer)
        return start(_calls.SET_PEER_TARGET_NAME, handle, self._buffer, self._size, routine)

    def __repr__(self) -> str:
        parts = [repr(self._name)]
        if self._peer.kind != lib.WSAPEER_PEER_NONE:
            parts.append(f"peer={self.peer!r}")
        if self._protocol != SecurityProtocol.DEFAULT:
            parts.append(f"protocol=SecurityProtocol.{self._protocol.name}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self._name, self.peer, int(self._protocol)))


def _layout(peer_kind: int) -> List[Tuple[str, int, int]]:
    """(name, offset, size) of each field, as C lays the structure out."""
    out = ffi.new("wsapeer_field[16]")
    count = lib.wsapeer_ptn_layout(peer_kind, out, 16)
    return [(ffi.string(f.name).decode("ascii"), f.offset, f.size) for f in out[0:count]]


def _field_at(peer_kind: int, offset: int, name_bytes: int = 0) -> str:
    for name, begin, size in _layout(peer_kind):
        if size == 0:  # AllStrings: the name, then the tail padding of sizeof
            if offset < begin + name_bytes:
                return f"{name} at offset {begin}"
            return f"the tail padding after the name, at offset {begin + name_bytes}"
        if begin <= offset < begin + size:
            return f"{name} at offset {begin}"
    return f"offset {offset}"


def _what_is_wrong(raw: bytes, fields: Any, status: int) -> str:
    """Which field a buffer that failed to parse gets wrong, and where."""
    layout = {name: start for name, start, _ in _layout(lib.WSAPEER_PEER_NONE)}
    header = lib.WSAPEER_PTN_HEADER_SIZE
    if len(raw) < header:
        return f": shorter than the {header}-byte header"
    length_at = layout["PeerTargetNameStringLen"]
    if status == lib.WSAPEER_E_BUFFER:
        return (
            f": PeerTargetNameStringLen at offset {length_at} declares "
            f"{fields.name_units} UTF-16 code units, so the buffer must be "
            f"{lib.wsapeer_ptn_size(fields.name_units)} bytes"
        )
    if fields.protocol > lib.WSAPEER_PROTOCOL_IPSEC2:
        return (
            f": SecurityProtocol at offset {layout['SecurityProtocol']} is {fields.protocol}; "
            "expected 0 (DEFAULT), 1 (IPSEC) or 2 (IPSEC2)"
        )
    family = int.from_bytes(raw[layout["PeerAddress"] : layout["PeerAddress"] + 2], "little")
    if family not in (0, 2, 23):
        return (
            f": the PeerAddress family at offset {layout['PeerAddress']} is {family}; "
            "expected 0 (no peer), 2 (AF_INET) or 23 (Windows' AF_INET6)"
        )
    return (
        f": PeerTargetNameStringLen at offset {length_at} is {fields.name_length_field}, "
        f"not a name length from 1 to {lib.WSAPEER_MAX_NAME_UNITS} code units (in bytes, "
        "and even, for IPSEC2)"
    )


def set_peer_target_name(
    sock: SocketLike,
    target_name: str,
    peer: PeerArg = None,
    protocol: ProtocolArg = SecurityProtocol.DEFAULT,
) -> None:
    """Names the peer principal (an SPN) that IPsec must authenticate on ``sock``.

    Calls WSASetSocketPeerTargetName, so that a client cannot be fooled by a trusted man in
    the middle. TCP: after :func:`wsapeer.set_socket_security` and before connect, with
    ``peer=None`` (:func:`wsapeer.secure_client` makes both calls). UDP: once per peer
    address, before connect or the first ``sendto`` to that peer;
    :func:`wsapeer.delete_peer_target_name` removes one.

    The arguments are checked as :class:`wsapeer.PeerTargetName` checks them. A target
    named again is kept prepared (in a bounded cache), so a server that names the same peers
    over and over pays for no marshalling; a :class:`wsapeer.PeerTargetName` built once and
    applied does the same explicitly.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        target_name: the principal name IPsec must authenticate the peer as, an SPN such as
            ``host/server.example.com``: a non-empty ``str`` of at most 32,767 UTF-16 code
            units, without NUL characters or lone surrogates.
        peer: ``None`` (TCP: the all-zero address; the connected peer is implied) or the UDP
            peer the name is for, as the socket module writes addresses: ``(host, port)``
            for IPv4, ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's
            family. ``host`` is numeric (wsapeer does no DNS lookups): a ``str``, an
            :class:`ipaddress.IPv4Address` or an :class:`ipaddress.IPv6Address`; an IPv6
            zone written ``%N`` is taken as the scope id.
        protocol: the :class:`wsapeer.SecurityProtocol` the name is for, or its plain
            ``int`` value (0, 1 or 2): the protocol of the socket's settings.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``target_name`` is not a ``str``; ``peer``
            is neither ``None`` nor a tuple, its host is neither a ``str`` nor an ipaddress
            address, or its port, flowinfo or scope_id is not an ``int``; ``protocol`` is
            not an ``int`` or is a member of another enumeration. A ``bool`` is refused
            wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``target_name`` is empty, contains a NUL
            or a lone surrogate, or is longer than 32,767 UTF-16 code units; ``peer`` does
            not have 2 to 4 items (2 for IPv4), its host is not a numeric IPv4 or IPv6
            address, its port is outside 0..65535, its flowinfo outside 0..0xFFFFF or its
            scope_id outside 0..0xFFFFFFFF, or its IPv6 zone is not numeric or contradicts
            its scope_id; ``peer`` is of the other address family than ``sock`` (checked when
            ``sock`` is a :class:`socket.socket`); ``protocol`` is not 0, 1 or 2.
        wsapeer.WinsockError: Windows (or the contract model) refused the call, e.g.
            WSAEISCONN (10056): the socket is connected; WSAEINVAL (10022): the socket is not
            AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM, or a datagram socket was given no
            peer; WSAENOTSOCK (10038): the handle is not a socket.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: the call failed without reporting an error code.
    """
    # Straight-line on purpose: this runs per connection. A target seen twice
    # is kept (immutable, so sharing is safe) and applied like a prepared one;
    # a new one goes straight to C (which parses an IPv4 address and encodes
    # the name) when it is a common valid case, checked as strictly as
    # PeerTargetName checks it; anything else takes the full path, which says
    # what is wrong.
    if type(sock) is SOCKET:
        handle = sock.fileno()
        if handle < 0:
            handle = handle_of(sock)  # raises: closed
    else:
        handle = handle_of(sock)
    key: Any = None
    if type(target_name) is str and (type(protocol) is _SP or type(protocol) is int):
        if peer is None:
            key = (target_name, protocol)  # types checked: True == 1 cannot alias
        elif type(peer) is tuple and len(peer) == 2:
            host: Any
            host, port = peer
            if type(host) is str and type(port) is int:
                key = (target_name, host, port, protocol)
    if key is not None:
        known = _known.get(key)
        if known is None:
            status = _NOT_TAKEN
            # A lone surrogate goes the full path, which refuses it: C cannot
            # see one on Windows, where cffi copies the str into 16-bit
            # wchar_t and two lone halves look like one valid pair.
            if (
                target_name
                and "\0" not in target_name
                and (target_name.isascii() or not has_surrogate(target_name))
                and 0 <= protocol <= 2
            ):
                if peer is None:
                    status = _text(handle, protocol, _NULL, 0, target_name)
                elif 0 <= port <= 0xFFFF and "\0" not in host:  # C reads up to a NUL
                    family = family_of(sock) if isinstance(sock, SOCKET) else 0
                    if family != _AF_INET6:
                        status = _text(handle, protocol, host, port, target_name)
                    if status == _NOT_TAKEN and family != _AF_INET:
                        status = _ipv6(handle, protocol, host, port, target_name)
            if status != _NOT_TAKEN:
                if len(_known) >= _KEEP:
                    _known.clear()
                _known[key] = _ONCE
                if status:
                    _errors.raise_status(status, _FUNCTION)
                return None
        elif known is _ONCE:  # the second time: kept from now on
            known = PeerTargetName(target_name, peer, protocol)
            _known[key] = known
            return known._apply_to(handle, sock)
        else:
            if (
                known._family
                and type(sock) is not int
                and (type(sock) is not SOCKET or family_of(sock) != known._family)
            ):
                check_peer_family(sock, known._peer)
            status = _set_item(handle, known._item)
            if status:
                _errors.raise_status(status, _FUNCTION)
            return None
    PeerTargetName(target_name, peer, protocol)._apply_to(handle, sock)


def set_peer_target_name_async(
    sock: SocketLike,
    target_name: str,
    peer: PeerArg = None,
    protocol: ProtocolArg = SecurityProtocol.DEFAULT,
    routine: bool = False,
) -> Operation[None]:
    """Starts :func:`wsapeer.set_peer_target_name` with an OVERLAPPED kept in C.

    The same call and arguments, issued as an overlapped operation: see
    :meth:`wsapeer.PeerTargetName.apply_async`. Windows' answer is not raised here: the
    operation's :meth:`wsapeer.Operation.result` raises it.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        target_name: the principal name IPsec must authenticate the peer as, an SPN such as
            ``host/server.example.com``: a non-empty ``str`` of at most 32,767 UTF-16 code
            units, without NUL characters or lone surrogates.
        peer: ``None`` (TCP: the all-zero address; the connected peer is implied) or the UDP
            peer the name is for, as the socket module writes addresses: ``(host, port)``
            for IPv4, ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's
            family. ``host`` is numeric (wsapeer does no DNS lookups): a ``str``, an
            :class:`ipaddress.IPv4Address` or an :class:`ipaddress.IPv6Address`; an IPv6
            zone written ``%N`` is taken as the scope id.
        protocol: the :class:`wsapeer.SecurityProtocol` the name is for, or its plain
            ``int`` value (0, 1 or 2): the protocol of the socket's settings.
        routine: ``False`` (the default) to complete by signalling the operation's event;
            ``True`` to complete through a C completion routine, which runs only on the
            starting thread, while it waits on the operation (:meth:`wsapeer.Operation.wait`,
            also with a zero timeout). ``wsapeer.aio`` refuses such operations.

    Returns:
        The started :class:`wsapeer.Operation`, whose ``result()`` is ``None``.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``target_name`` is not a ``str``; ``peer``
            is neither ``None`` nor a tuple, its host is neither a ``str`` nor an ipaddress
            address, or its port, flowinfo or scope_id is not an ``int``; ``protocol`` is
            not an ``int`` or is a member of another enumeration; ``routine`` is not a
            ``bool``. A ``bool`` is refused wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``target_name`` is empty, contains a NUL
            or a lone surrogate, or is longer than 32,767 UTF-16 code units; ``peer`` does
            not have 2 to 4 items (2 for IPv4), its host is not a numeric IPv4 or IPv6
            address, its port is outside 0..65535, its flowinfo outside 0..0xFFFFF or its
            scope_id outside 0..0xFFFFFFFF, or its IPv6 zone is not numeric or contradicts
            its scope_id; ``peer`` is of the other address family than ``sock`` (checked when
            ``sock`` is a :class:`socket.socket`); ``protocol`` is not 0, 1 or 2.
        MemoryError: the operation could not be allocated.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
    """
    return PeerTargetName(target_name, peer, protocol).apply_async(sock, routine)


def _delete_args(sock: SocketLike, peer: PeerArg) -> Tuple[int, Any, int]:
    handle = handle_of(sock)
    if peer is None:
        raise ValueError("delete_peer_target_name needs the peer address whose name to remove")
    normalized = normalize_peer(peer)
    check_peer_family(sock, normalized)
    buffer, size = marshal_sockaddr(normalized)
    return handle, buffer, size


def delete_peer_target_name(sock: SocketLike, peer: PeerAddress) -> None:
    """Removes the target name set for one UDP peer on ``sock`` (WSADeleteSocketPeerTargetName).

    Undoes :func:`wsapeer.set_peer_target_name` for that peer address, e.g. when the
    peer leaves.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        peer: the peer whose name to remove, as it was named: ``(host, port)`` for IPv4,
            ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's family, with
            a numeric ``host`` (a ``str``, an :class:`ipaddress.IPv4Address` or an
            :class:`ipaddress.IPv6Address`). ``None`` is refused: it names no peer.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``peer`` is not a tuple, its host is
            neither a ``str`` nor an ipaddress address, or its port, flowinfo or scope_id
            is not an ``int``. A ``bool`` is refused wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``peer`` is ``None``, does not have 2 to
            4 items (2 for IPv4), or holds a host, port, flowinfo, scope_id or zone that
            :class:`wsapeer.PeerTargetName` refuses; ``peer`` is of the other address family
            than ``sock`` (checked when ``sock`` is a :class:`socket.socket`).
        wsapeer.WinsockError: Windows (or the contract model) refused the call, e.g.
            WSAEINVAL (10022): no target name was set for that peer, or the socket is not
            AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM; WSAENOTSOCK (10038): the handle
            is not a socket.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: the call failed without reporting an error code.
    """
    handle, buffer, size = _delete_args(sock, peer)
    _errors.check(lib.wsapeer_delete_peer_target_name(handle, buffer, size), _DELETE)


def delete_peer_target_name_async(
    sock: SocketLike, peer: PeerAddress, routine: bool = False
) -> Operation[None]:
    """Starts :func:`wsapeer.delete_peer_target_name` with an OVERLAPPED kept in C.

    The operation holds its own copy of the address, with its OVERLAPPED and event, until
    Windows has finished with them. Windows' answer is not raised here: the operation's
    :meth:`wsapeer.Operation.result` raises it.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        peer: the peer whose name to remove, as for :func:`wsapeer.delete_peer_target_name`.
        routine: ``False`` (the default) to complete by signalling the operation's event;
            ``True`` to complete through a C completion routine, which runs only on the
            starting thread, while it waits on the operation (:meth:`wsapeer.Operation.wait`,
            also with a zero timeout). ``wsapeer.aio`` refuses such operations.

    Returns:
        The started :class:`wsapeer.Operation`, whose ``result()`` is ``None``.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``peer`` is not a tuple, or holds a value
            of the wrong type; ``routine`` is not a ``bool``.
        ValueError: the socket is closed, or its handle is negative or too large;
            ``peer`` is ``None`` or holds a value out of range; ``peer`` is of the other
            address family than ``sock`` (checked when ``sock`` is a :class:`socket.socket`).
        MemoryError: the operation could not be allocated.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
    """
    handle, buffer, size = _delete_args(sock, peer)
    return start(_calls.DELETE_PEER_TARGET_NAME, handle, buffer, size, routine)


def _ipv6(handle: int, protocol: int, host: str, port: int, target_name: str) -> int:
    """The one-shot path for an IPv6 peer (host, port): the call's status, or
    _NOT_TAKEN when the host is not a plain IPv6 address or the name cannot be
    encoded (the full path then says why)."""
    if ":" not in host or "%" in host:
        return _NOT_TAKEN
    try:
        packed = inet_pton(_AF_INET6, host)
        encoded = _utf16(target_name)[0]
    except (OSError, UnicodeEncodeError):
        return _NOT_TAKEN
    units = len(encoded) >> 1
    if not 0 < units <= _MAX_UNITS:
        return _NOT_TAKEN
    return int(_direct(handle, protocol, _V6, packed, port, 0, 0, encoded, units))


# Keys set_peer_target_name has seen: _ONCE the first time, then the target,
# kept. Bounded: cleared when full (a server's working set is far smaller; a
# scan of many peers just takes the direct path).
_KEEP = 1024
_ONCE: Any = object()
_known: dict[Tuple[Any, ...], Any] = {}
_set_item = lib.wsapeer_set_peer_target_name_item
_text = lib.wsapeer_set_peer_target_name_text
_NOT_TAKEN = lib.WSAPEER_E_FORMAT
_direct = lib.wsapeer_set_peer_target_name_direct
_utf16 = codecs.utf_16_le_encode
_NULL = ffi.NULL
_MAX_UNITS = lib.WSAPEER_MAX_NAME_UNITS
_V4, _V6 = lib.WSAPEER_PEER_IPV4, lib.WSAPEER_PEER_IPV6
_AF_INET, _AF_INET6 = FAMILY_OF_KIND[_V4], FAMILY_OF_KIND[_V6]
_SP = SecurityProtocol
