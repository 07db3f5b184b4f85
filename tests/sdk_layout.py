"""Decoders and builders for the structures wsapeer hands to Fwpuclnt, written
from the SDK's layout alone.

Tests that check what the contract model recorded use these, never wsapeer's
own parser: a mistake made the same way in the library's marshaller and its
parser (a swapped byte order, say) reads back as the value that was meant, and
every round trip through the library passes. Nothing here imports wsapeer;
test_sdk_layout.py proves every decoder and builder against the known-answer
vectors in tests/data, which tests/windows/kat_vectors.c wrote with the real
SDK headers under Wine.

sent() picks a socket's records out of a contract model, for these decoders.

The decoders are strict on purpose: a wrong total size, a non-zero padding or
reserved byte, an odd byte count or a malformed UTF-16 string is a LayoutError,
so that an extra NUL, a length in the wrong unit or a stray byte cannot hide.
"""

from __future__ import annotations

import ipaddress
import os
import struct
import sys
import uuid
from typing import NamedTuple, Optional, Tuple, Union

# ---- the SDK's layout ------------------------------------------------------------
# Offsets and sizes as the SDK headers define them (mstcpip.h/ws2def.h/ws2ipdef.h,
# measured with mingw-w64 for x86_64 and i686: secure-sockets-facts.md, "Layouts").
# Written here once; the known-answer vectors confirm them (test_sdk_layout.py).

#: Windows' address family values (Linux's AF_INET6 is 10: never the host's).
AF_UNSPEC = 0
AF_INET = 2
AF_INET6 = 23

PROTOCOL_DEFAULT = 0
PROTOCOL_IPSEC = 1
PROTOCOL_IPSEC2 = 2

# SOCKADDR_IN / SOCKADDR_IN6: family little-endian; port and IPv6 flowinfo in
# network byte order; scope id little-endian (host order on Windows).
SA_FAMILY = 0
SA_PORT = 2
SIN_ADDR = 4
SIN_ZERO = 8
SOCKADDR_IN_SIZE = 16
SIN6_FLOWINFO = 4
SIN6_ADDR = 8
SIN6_SCOPE_ID = 24
SOCKADDR_IN6_SIZE = 28
SOCKADDR_STORAGE_SIZE = 128

# SOCKET_PEER_TARGET_NAME
PTN_PROTOCOL = 0
PTN_PADDING = 4  # 4 bytes: PeerAddress is 8-aligned
PTN_ADDRESS = 8
PTN_NAME_LEN = 136
PTN_STRINGS = 140
PTN_SIZE = 144  # sizeof: the 4 bytes past AllStrings are tail padding

# SOCKET_SECURITY_SETTINGS and SOCKET_SECURITY_SETTINGS_IPSEC
SETTINGS_PROTOCOL = 0
SETTINGS_FLAGS = 4
SETTINGS_SIZE = 8
IPSEC_FLAGS = 8
IPSEC_MM_POLICY_KEY = 12
IPSEC_QM_POLICY_KEY = 28
IPSEC_RESERVED = 44  # GUID, then 4 bytes of padding before Reserved2
IPSEC_RESERVED2 = 64
IPSEC_USER_LEN = 72
IPSEC_DOMAIN_LEN = 76
IPSEC_PASSWORD_LEN = 80
IPSEC_STRINGS = 84
IPSEC_SIZE = 88

# SOCKET_SECURITY_QUERY_TEMPLATE and SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2
QT_PROTOCOL = 0
QT_PADDING = 4
QT_ADDRESS = 8
QT_ACCESS_MASK = 136
QT_SIZE = 144
QT2_FLAGS = 140
QT2_FIELD_MASK = 144
QT2_SIZE = 152

GUID_SIZE = 16

#: sizeof of each structure, as the vectors' generator reports it.
SIZEOF = {
    "SOCKET_PEER_TARGET_NAME": PTN_SIZE,
    "SOCKET_SECURITY_SETTINGS": SETTINGS_SIZE,
    "SOCKET_SECURITY_SETTINGS_IPSEC": IPSEC_SIZE,
    "SOCKET_SECURITY_QUERY_TEMPLATE": QT_SIZE,
    "SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2": QT2_SIZE,
}


class LayoutError(ValueError):
    """The bytes are not a well-formed instance of the structure."""


Peer = Union[Tuple[str, int], Tuple[str, int, int, int]]


class PeerTarget(NamedTuple):
    """A decoded SOCKET_PEER_TARGET_NAME; compares equal to a plain
    (name, peer, protocol) tuple."""

    name: str
    peer: Optional[Peer]
    protocol: int


class Settings(NamedTuple):
    """A decoded SOCKET_SECURITY_SETTINGS(_IPSEC); absent strings and all-zero
    policy keys are None, as in the vectors."""

    protocol: int
    flags: int
    ipsec_flags: int = 0
    mm_policy_key: Optional[uuid.UUID] = None
    qm_policy_key: Optional[uuid.UUID] = None
    user_name: Optional[str] = None
    domain_name: Optional[str] = None
    password: Optional[str] = None


class QueryTemplate(NamedTuple):
    """A decoded SOCKET_SECURITY_QUERY_TEMPLATE(_IPSEC2)."""

    protocol: int
    peer: Optional[Peer]
    access_mask: int
    ipsec2: bool = False
    flags: int = 0
    field_mask: int = 0


# ---- helpers -------------------------------------------------------------------------


def _u16le(data: bytes, offset: int) -> int:
    return struct.unpack_from("<H", data, offset)[0]


def _u32le(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def _u16be(data: bytes, offset: int) -> int:
    return struct.unpack_from(">H", data, offset)[0]


def _u32be(data: bytes, offset: int) -> int:
    return struct.unpack_from(">I", data, offset)[0]


def _zero(data: bytes, start: int, end: int, what: str) -> None:
    if any(data[start:end]):
        raise LayoutError(f"{what} (bytes {start}..{end}) is not zero: {data[start:end].hex()}")


def _utf16(data: bytes, what: str) -> str:
    if len(data) % 2:
        raise LayoutError(f"{what} is an odd number of bytes ({len(data)})")
    try:
        text = data.decode("utf-16-le")  # strict: a lone surrogate is refused
    except UnicodeDecodeError as exc:
        raise LayoutError(f"{what} is not valid UTF-16LE: {exc}") from None
    if "\0" in text:
        # The SDK structures count their strings and carry no terminator.
        raise LayoutError(f"{what} contains a NUL at code unit {text.index(chr(0))}")
    return text


def _guid(data: bytes, offset: int) -> Optional[uuid.UUID]:
    raw = data[offset : offset + GUID_SIZE]
    return None if not any(raw) else uuid.UUID(bytes_le=raw)


def _protocol(value: int) -> int:
    if value not in (PROTOCOL_DEFAULT, PROTOCOL_IPSEC, PROTOCOL_IPSEC2):
        raise LayoutError(f"SecurityProtocol {value} is not DEFAULT, IPSEC or IPSEC2")
    return value


# ---- addresses ---------------------------------------------------------------------


def _read_sockaddr(data: bytes) -> Tuple[Peer, int]:
    """The peer at the start of data and the size of its SOCKADDR_IN(6)."""
    family = _u16le(data, SA_FAMILY)
    if family == AF_INET:
        if len(data) < SOCKADDR_IN_SIZE:
            raise LayoutError(f"SOCKADDR_IN is {SOCKADDR_IN_SIZE} bytes, got {len(data)}")
        port = _u16be(data, SA_PORT)
        _zero(data, SIN_ZERO, SOCKADDR_IN_SIZE, "sin_zero")
        host = str(ipaddress.IPv4Address(data[SIN_ADDR:SIN_ZERO]))
        return (host, port), SOCKADDR_IN_SIZE
    if family == AF_INET6:
        if len(data) < SOCKADDR_IN6_SIZE:
            raise LayoutError(f"SOCKADDR_IN6 is {SOCKADDR_IN6_SIZE} bytes, got {len(data)}")
        port = _u16be(data, SA_PORT)
        host = str(ipaddress.IPv6Address(data[SIN6_ADDR:SIN6_SCOPE_ID]))
        flowinfo = _u32be(data, SIN6_FLOWINFO)
        scope_id = _u32le(data, SIN6_SCOPE_ID)
        return (host, port, flowinfo, scope_id), SOCKADDR_IN6_SIZE
    raise LayoutError(f"address family {family} is neither AF_INET (2) nor AF_INET6 (23)")


def decode_sockaddr(data: bytes) -> Peer:
    """A SOCKADDR_IN or SOCKADDR_IN6 of exactly its size (what
    WSADeleteSocketPeerTargetName and WSAImpersonateSocketPeer receive):
    (host, port) or (host, port, flowinfo, scope_id)."""
    data = bytes(data)
    if len(data) < 2:
        raise LayoutError(f"a sockaddr needs at least its family, got {len(data)} bytes")
    peer, size = _read_sockaddr(data)
    if len(data) != size:
        raise LayoutError(f"the sockaddr is {size} bytes but {len(data)} were passed")
    return peer


def decode_sockaddr_storage(data: bytes) -> Optional[Peer]:
    """A SOCKADDR_STORAGE: None when all zero (no peer), else the peer, with
    everything past its SOCKADDR_IN(6) zero."""
    data = bytes(data)
    if len(data) != SOCKADDR_STORAGE_SIZE:
        raise LayoutError(f"SOCKADDR_STORAGE is {SOCKADDR_STORAGE_SIZE} bytes, got {len(data)}")
    if not any(data):
        return None
    peer, size = _read_sockaddr(data)
    _zero(data, size, SOCKADDR_STORAGE_SIZE, "the rest of SOCKADDR_STORAGE")
    return peer


def build_sockaddr(peer: Tuple[object, ...]) -> bytes:
    """A Windows SOCKADDR_IN or SOCKADDR_IN6 for (host, port[, flowinfo[, scope_id]])."""
    host, port, *rest = peer
    address = ipaddress.ip_address(host)
    if address.version == 4:
        if rest:
            raise ValueError("an IPv4 peer is (host, port)")
        return (
            struct.pack("<H", AF_INET)
            + struct.pack(">H", port)
            + address.packed
            + bytes(SOCKADDR_IN_SIZE - SIN_ZERO)
        )
    flowinfo, scope_id = [*rest, 0, 0][:2]
    return (
        struct.pack("<H", AF_INET6)
        + struct.pack(">HI", port, flowinfo)
        + address.packed
        + struct.pack("<I", scope_id)
    )


def _storage(peer: Optional[Tuple[object, ...]]) -> bytes:
    raw = b"" if peer is None else build_sockaddr(peer)
    return raw + bytes(SOCKADDR_STORAGE_SIZE - len(raw))


# ---- SOCKET_PEER_TARGET_NAME ----------------------------------------------------------


def decode_peer_target_name(data: bytes) -> PeerTarget:
    """(name, peer, protocol). PeerTargetNameStringLen counts UTF-16 code units
    for DEFAULT and IPSEC and bytes for IPSEC2 (the working code's convention,
    facts file); the buffer is exactly sizeof + the name's bytes."""
    data = bytes(data)
    if len(data) < PTN_SIZE:
        raise LayoutError(f"SOCKET_PEER_TARGET_NAME needs {PTN_SIZE} bytes, got {len(data)}")
    protocol = _protocol(_u32le(data, PTN_PROTOCOL))
    _zero(data, PTN_PADDING, PTN_ADDRESS, "the padding before PeerAddress")
    peer = decode_sockaddr_storage(data[PTN_ADDRESS:PTN_NAME_LEN])
    declared = _u32le(data, PTN_NAME_LEN)
    if protocol == PROTOCOL_IPSEC2:
        if declared % 2:
            raise LayoutError(f"an IPSEC2 name length counts bytes: {declared} is odd")
        name_bytes = declared
    else:
        name_bytes = 2 * declared
    if len(data) != PTN_SIZE + name_bytes:
        raise LayoutError(
            f"PeerTargetNameStringLen {declared} means {PTN_SIZE} + {name_bytes} bytes, "
            f"but the buffer is {len(data)}"
        )
    end = PTN_STRINGS + name_bytes
    name = _utf16(data[PTN_STRINGS:end], "the target name")
    _zero(data, end, len(data), "the tail padding")
    return PeerTarget(name, peer, protocol)


def build_peer_target_name(
    name: str, peer: Optional[Tuple[object, ...]] = None, protocol: int = PROTOCOL_DEFAULT
) -> bytes:
    encoded = name.encode("utf-16-le")
    declared = len(encoded) if protocol == PROTOCOL_IPSEC2 else len(encoded) // 2
    header = struct.pack("<II", protocol, 0) + _storage(peer) + struct.pack("<I", declared)
    return header + encoded + bytes(PTN_SIZE - PTN_STRINGS)


# ---- SOCKET_SECURITY_SETTINGS(_IPSEC) --------------------------------------------------


def decode_security_settings(data: bytes) -> Settings:
    """DEFAULT is the 8-byte SOCKET_SECURITY_SETTINGS; IPSEC and IPSEC2 are
    SOCKET_SECURITY_SETTINGS_IPSEC, whose string lengths count bytes and whose
    strings follow each other at offset 84 (user, domain, password, no NULs),
    the buffer being sizeof + their bytes."""
    data = bytes(data)
    if len(data) < SETTINGS_SIZE:
        raise LayoutError(f"SOCKET_SECURITY_SETTINGS needs {SETTINGS_SIZE} bytes, got {len(data)}")
    protocol = _protocol(_u32le(data, SETTINGS_PROTOCOL))
    flags = _u32le(data, SETTINGS_FLAGS)
    if protocol == PROTOCOL_DEFAULT:
        if len(data) != SETTINGS_SIZE:
            raise LayoutError(f"DEFAULT settings are {SETTINGS_SIZE} bytes, got {len(data)}")
        return Settings(protocol, flags)
    if len(data) < IPSEC_SIZE:
        raise LayoutError(f"SOCKET_SECURITY_SETTINGS_IPSEC needs {IPSEC_SIZE}, got {len(data)}")
    _zero(data, IPSEC_RESERVED, IPSEC_USER_LEN, "Reserved, its padding and Reserved2")
    lengths = [_u32le(data, o) for o in (IPSEC_USER_LEN, IPSEC_DOMAIN_LEN, IPSEC_PASSWORD_LEN)]
    if len(data) != IPSEC_SIZE + sum(lengths):
        raise LayoutError(
            f"string lengths {lengths} mean {IPSEC_SIZE} + {sum(lengths)} bytes, "
            f"but the buffer is {len(data)}"
        )
    strings = []
    offset = IPSEC_STRINGS
    for what, length in zip(("user name", "domain name", "password"), lengths):
        strings.append(_utf16(data[offset : offset + length], what) if length else None)
        offset += length
    _zero(data, offset, len(data), "the tail padding")
    return Settings(
        protocol,
        flags,
        _u32le(data, IPSEC_FLAGS),
        _guid(data, IPSEC_MM_POLICY_KEY),
        _guid(data, IPSEC_QM_POLICY_KEY),
        *strings,
    )


def build_security_settings(settings: Settings) -> bytes:
    if settings.protocol == PROTOCOL_DEFAULT:
        return struct.pack("<II", settings.protocol, settings.flags)
    strings = [
        (s or "").encode("utf-16-le")
        for s in (settings.user_name, settings.domain_name, settings.password)
    ]
    keys = [
        k.bytes_le if k is not None else bytes(GUID_SIZE)
        for k in (settings.mm_policy_key, settings.qm_policy_key)
    ]
    head = (
        struct.pack("<III", settings.protocol, settings.flags, settings.ipsec_flags)
        + b"".join(keys)
        + bytes(IPSEC_USER_LEN - IPSEC_RESERVED)
        + struct.pack("<III", *(len(s) for s in strings))
    )
    return head + b"".join(strings) + bytes(IPSEC_SIZE - IPSEC_STRINGS)


# ---- SOCKET_SECURITY_QUERY_TEMPLATE(_IPSEC2) ---------------------------------------


def decode_query_template(data: bytes) -> QueryTemplate:
    """The 144-byte template, or the 152-byte IPSEC2 one (whose SecurityProtocol
    must be IPSEC2); padding zero in both."""
    data = bytes(data)
    if len(data) not in (QT_SIZE, QT2_SIZE):
        raise LayoutError(f"a query template is {QT_SIZE} or {QT2_SIZE} bytes, got {len(data)}")
    protocol = _protocol(_u32le(data, QT_PROTOCOL))
    _zero(data, QT_PADDING, QT_ADDRESS, "the padding before PeerAddress")
    peer = decode_sockaddr_storage(data[QT_ADDRESS:QT_ACCESS_MASK])
    access_mask = _u32le(data, QT_ACCESS_MASK)
    if len(data) == QT_SIZE:
        _zero(data, QT2_FLAGS, QT_SIZE, "the tail padding")
        return QueryTemplate(protocol, peer, access_mask)
    if protocol != PROTOCOL_IPSEC2:
        raise LayoutError(f"the IPSEC2 template carries SecurityProtocol {protocol}")
    _zero(data, QT2_FIELD_MASK + 4, QT2_SIZE, "the tail padding")
    return QueryTemplate(
        protocol, peer, access_mask, True, _u32le(data, QT2_FLAGS), _u32le(data, QT2_FIELD_MASK)
    )


def build_query_template(template: QueryTemplate) -> bytes:
    raw = (
        struct.pack("<II", template.protocol, 0)
        + _storage(template.peer)
        + struct.pack("<I", template.access_mask)
    )
    if not template.ipsec2:
        return raw + bytes(QT_SIZE - QT2_FLAGS)
    return raw + struct.pack("<II", template.flags, template.field_mask) + bytes(4)


# ---- the contract model's records ----------------------------------------------------


def socket_ident(handle: int):
    """What the model's records key a live socket by besides its handle (None
    when the handle is closed): its inode on POSIX; on Windows the model's own
    reading of its file reference number (0 where there is none), since no
    Python call reads that number."""
    if sys.platform == "win32":
        from wsapeer._wsapeer import lib

        ident = int(lib.wsapeer_model_socket_ident(handle))
        return None if ident == 2**64 - 1 else ident  # no socket: closed
    try:
        return os.fstat(handle).st_ino
    except OSError:
        return None


def sent(model, sock, function: str) -> list:
    """The bytes the model accepted for sock's calls to function, oldest first,
    to be read with the decoders above (not with wsapeer's parser).

    Only this socket's: a closed socket's records stay, and the kernel may hand
    its handle number to the next one, which the record's ident tells apart."""
    handle = sock if isinstance(sock, int) else sock.fileno()
    ident = socket_ident(handle)
    return [
        r.data
        for r in model.records
        if (r.handle, r.ident, r.function) == (handle, ident, function)
    ]
