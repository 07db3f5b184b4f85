"""The rest of the family: socket security, delete, query, impersonation."""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any, Iterator, List, Optional, Tuple, Union

from . import _errors
from ._address import Peer, normalize_peer
from ._enums import (
    IPsecFlags,
    SecurityInfoFlags,
    SecurityProtocol,
    SecuritySettingsFlags,
    check_enum,
    check_flags,
)
from ._immutable import Immutable
from ._overlapped import Operation, start
from ._socket import SocketLike, check_peer_family, handle_of
from ._strings import encode_utf16
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

_SET_SECURITY = "WSASetSocketSecurity"
_DELETE = "WSADeleteSocketPeerTargetName"
_QUERY = "WSAQuerySocketSecurity"
_IMPERSONATE = "WSAImpersonateSocketPeer"
_REVERT = "WSARevertImpersonation"

PeerArg = Union[None, Tuple[Any, ...]]


def _check(status: int, function: str) -> None:
    if status:
        _errors.raise_status(status, function)


class SecuritySettings(Immutable):
    """SOCKET_SECURITY_SETTINGS with protocol DEFAULT: the settings most
    applications should use (Windows picks IPsec and the policy)."""

    __slots__ = ("_buffer", "_bytes", "_flags", "_item", "_size")

    _flags: SecuritySettingsFlags
    _buffer: Any
    _bytes: bytes
    _size: int

    def __init__(
        self, flags: Union[SecuritySettingsFlags, int] = SecuritySettingsFlags.NONE
    ) -> None:
        checked = check_flags(flags, SecuritySettingsFlags, "flags")
        buffer = ffi.new("uint64_t[1]")
        _check(
            lib.wsapeer_settings_marshal(
                buffer, lib.WSAPEER_SETTINGS_SIZE, lib.WSAPEER_PROTOCOL_DEFAULT, checked, 0,
                ffi.NULL, ffi.NULL, ffi.NULL, 0, ffi.NULL, 0, ffi.NULL, 0,
            ),
            "marshalling SOCKET_SECURITY_SETTINGS",
        )  # fmt: skip
        object.__setattr__(self, "_flags", checked)
        object.__setattr__(self, "_buffer", buffer)
        object.__setattr__(self, "_bytes", ffi.buffer(buffer, lib.WSAPEER_SETTINGS_SIZE)[:])
        object.__setattr__(self, "_size", lib.WSAPEER_SETTINGS_SIZE)
        object.__setattr__(self, "_item", ffi.new("wsapeer_buffer *", (buffer, self._size)))

    @property
    def protocol(self) -> SecurityProtocol:
        """Always DEFAULT: Windows chooses (IPsec)."""
        return SecurityProtocol.DEFAULT

    @property
    def flags(self) -> SecuritySettingsFlags:
        """SecurityFlags: GUARANTEE_ENCRYPTION, ALLOW_INSECURE."""
        return self._flags

    @property
    def size(self) -> int:
        """SecuritySettingsLen: sizeof(SOCKET_SECURITY_SETTINGS)."""
        return self._size

    def apply(self, sock: SocketLike) -> None:
        """WSASetSocketSecurity(sock, self): once per socket, before bind or connect."""
        _apply_settings(sock, self._buffer, lib.WSAPEER_SETTINGS_SIZE)

    def apply_async(self, sock: SocketLike, routine: bool = False) -> Operation[None]:
        """Starts WSASetSocketSecurity(sock, self) with an OVERLAPPED kept in C."""
        return _apply_settings_async(sock, self._buffer, lib.WSAPEER_SETTINGS_SIZE, routine)

    def __bytes__(self) -> bytes:
        return self._bytes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecuritySettings):
            return NotImplemented
        return self._bytes == other._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        if not self._flags:
            return "SecuritySettings()"
        return f"SecuritySettings(flags={self._flags!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (int(self._flags),))


def _guid(value: object, what: str) -> Optional[bytes]:
    if value is None:
        return None
    if not isinstance(value, uuid.UUID):
        raise TypeError(f"{what} must be a uuid.UUID or None, not {type(value).__name__}")
    return value.bytes_le  # GUID's memory layout


def _credential(value: object, what: str) -> bytes:
    if value is None:
        return b""
    return encode_utf16(value, what, lib.WSAPEER_MAX_STRING_BYTES // 2)


class IPsecSettings(Immutable):
    """SOCKET_SECURITY_SETTINGS_IPSEC: IPsec policy keys and credentials.

    The password is kept only in a C buffer, which is zeroed when the object
    is released; it never appears in repr, str, exceptions or pickles (objects
    holding one refuse to be pickled). Python's own str passed in cannot be
    wiped: drop your references to it as soon as you can.
    """

    __slots__ = (
        "_buffer", "_domain", "_flags", "_has_password", "_ipsec_flags", "_item", "_mm",
        "_protocol", "_qm", "_size", "_user",
    )  # fmt: skip

    _protocol: SecurityProtocol
    _flags: SecuritySettingsFlags
    _ipsec_flags: IPsecFlags
    _mm: Optional[uuid.UUID]
    _qm: Optional[uuid.UUID]
    _user: Optional[str]
    _domain: Optional[str]
    _has_password: bool
    _buffer: Any
    _size: int

    def __init__(
        self,
        protocol: Union[SecurityProtocol, int] = SecurityProtocol.IPSEC,
        flags: Union[SecuritySettingsFlags, int] = SecuritySettingsFlags.NONE,
        ipsec_flags: Union[IPsecFlags, int] = IPsecFlags.NONE,
        mm_policy_key: Optional[uuid.UUID] = None,
        qm_policy_key: Optional[uuid.UUID] = None,
        user_name: Optional[str] = None,
        domain_name: Optional[str] = None,
        password: Optional[str] = None,
    ) -> None:
        proto = check_enum(protocol, SecurityProtocol, "security protocol")
        if proto == SecurityProtocol.DEFAULT:
            raise ValueError(
                "SOCKET_SECURITY_SETTINGS_IPSEC takes protocol IPSEC or IPSEC2 (Windows "
                "documents DEFAULT as invalid here); use SecuritySettings for DEFAULT"
            )
        checked_flags = check_flags(flags, SecuritySettingsFlags, "flags")
        checked_ipsec = check_flags(ipsec_flags, IPsecFlags, "ipsec_flags")
        mm = _guid(mm_policy_key, "mm_policy_key")
        qm = _guid(qm_policy_key, "qm_policy_key")
        user = _credential(user_name, "user_name")
        domain = _credential(domain_name, "domain_name")
        secret = _credential(password, "password")
        size = lib.wsapeer_settings_size(proto, len(user), len(domain), len(secret))
        buffer = ffi.gc(lib.wsapeer_secret_alloc(size), lib.wsapeer_secret_free)
        if buffer == ffi.NULL:
            raise MemoryError("allocating SOCKET_SECURITY_SETTINGS_IPSEC")
        _check(
            lib.wsapeer_settings_marshal(
                buffer, size, proto, checked_flags, checked_ipsec, mm or ffi.NULL,
                qm or ffi.NULL, user or ffi.NULL, len(user), domain or ffi.NULL, len(domain),
                secret or ffi.NULL, len(secret),
            ),
            "marshalling SOCKET_SECURITY_SETTINGS_IPSEC",
        )  # fmt: skip
        del secret
        set_ = object.__setattr__
        set_(self, "_protocol", proto)
        set_(self, "_flags", checked_flags)
        set_(self, "_ipsec_flags", checked_ipsec)
        set_(self, "_mm", mm_policy_key)
        set_(self, "_qm", qm_policy_key)
        set_(self, "_user", user_name or None)
        set_(self, "_domain", domain_name or None)
        set_(self, "_has_password", bool(password))
        set_(self, "_buffer", buffer)
        set_(self, "_size", size)
        set_(self, "_item", ffi.new("wsapeer_buffer *", (buffer, size)))

    protocol = property(lambda self: self._protocol, doc="IPSEC or IPSEC2.")
    flags = property(lambda self: self._flags, doc="SecurityFlags: SecuritySettingsFlags.")
    ipsec_flags = property(lambda self: self._ipsec_flags, doc="IpsecFlags: IPsecFlags.")
    mm_policy_key = property(lambda self: self._mm, doc="AuthipMMPolicyKey, or None.")
    qm_policy_key = property(lambda self: self._qm, doc="AuthipQMPolicyKey, or None.")
    user_name = property(lambda self: self._user, doc="The user name, or None.")
    domain_name = property(lambda self: self._domain, doc="The domain name, or None.")

    @property
    def has_password(self) -> bool:
        """Whether a password was given (the password itself is not readable)."""
        return self._has_password

    @property
    def size(self) -> int:
        """SecuritySettingsLen: 88 bytes and the strings."""
        return self._size

    def apply(self, sock: SocketLike) -> None:
        """WSASetSocketSecurity(sock, self): once per socket, before bind or connect."""
        _apply_settings(sock, self._buffer, self._size)

    def apply_async(self, sock: SocketLike, routine: bool = False) -> Operation[None]:
        """Starts WSASetSocketSecurity(sock, self) with an OVERLAPPED kept in C (which
        copies the settings, password included, and wipes nothing of that copy
        but frees it with the operation)."""
        return _apply_settings_async(sock, self._buffer, self._size, routine)

    def __bytes__(self) -> bytes:
        """The Windows structure, password included: handle with care."""
        return bytes(ffi.buffer(self._buffer, self._size))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IPsecSettings):
            return NotImplemented
        mine = ffi.buffer(self._buffer, self._size)
        theirs = ffi.buffer(other._buffer, other._size)
        return self._size == other._size and mine[:] == theirs[:]

    def __hash__(self) -> int:
        return hash((self._protocol, self._flags, self._ipsec_flags, self._mm, self._qm,
                     self._user, self._domain, self._has_password))  # fmt: skip

    def __repr__(self) -> str:
        parts = [f"protocol=SecurityProtocol.{self._protocol.name}"]
        for name, value, default in (
            ("flags", self._flags, 0), ("ipsec_flags", self._ipsec_flags, 0),
            ("mm_policy_key", self._mm, None), ("qm_policy_key", self._qm, None),
            ("user_name", self._user, None), ("domain_name", self._domain, None),
        ):  # fmt: skip
            if value != default:
                parts.append(f"{name}={value!r}")
        if self._has_password:
            parts.append("password=<hidden>")
        return f"IPsecSettings({', '.join(parts)})"

    def __reduce__(self) -> Tuple[Any, ...]:
        if self._has_password:
            raise TypeError("IPsecSettings holding a password cannot be pickled")
        return (
            _unpickle_ipsec,
            (int(self._protocol), int(self._flags), int(self._ipsec_flags), self._mm,
             self._qm, self._user, self._domain),
        )  # fmt: skip


def _unpickle_ipsec(*args: Any) -> IPsecSettings:
    return IPsecSettings(*args)


def _apply_settings(sock: SocketLike, buffer: Any, size: int) -> None:
    handle = handle_of(sock)
    _check(lib.wsapeer_set_socket_security(handle, buffer, size), _SET_SECURITY)


def _apply_settings_async(
    sock: SocketLike, buffer: Any, size: int, routine: bool
) -> Operation[None]:
    handle = handle_of(sock)
    return start(lib.WSAPEER_MODEL_SET_SOCKET_SECURITY, handle, buffer, size, routine)


def _settings(
    settings: Union[SecuritySettings, IPsecSettings, None],
) -> Union[SecuritySettings, IPsecSettings]:
    if settings is None:
        return _DEFAULT_SETTINGS
    if not isinstance(settings, (SecuritySettings, IPsecSettings)):
        raise TypeError(
            f"settings must be SecuritySettings, IPsecSettings or None, "
            f"not {type(settings).__name__}"
        )
    return settings


def set_socket_security(
    sock: SocketLike, settings: Union[SecuritySettings, IPsecSettings, None] = None
) -> None:
    """Turns on secure sockets for sock (WSASetSocketSecurity).

    Once per socket: a client before connect, a server before bind, UDP right
    after the socket is created. settings=None sends SecuritySettings()
    (protocol DEFAULT, no flags), which Windows treats as its defaults.
    """
    _settings(settings).apply(sock)


def set_socket_security_async(
    sock: SocketLike,
    settings: Union[SecuritySettings, IPsecSettings, None] = None,
    routine: bool = False,
) -> Operation[None]:
    """set_socket_security with an OVERLAPPED kept in C: returns the Operation."""
    return _settings(settings).apply_async(sock, routine)


_DEFAULT_SETTINGS = SecuritySettings()


def secure_client(
    sock: SocketLike,
    target_name: str,
    settings: Union[SecuritySettings, IPsecSettings, None] = None,
    protocol: Union[SecurityProtocol, int] = SecurityProtocol.DEFAULT,
) -> None:
    """A TCP client's calls before connect, in the order Windows' sample makes
    them: WSASetSocketSecurity, then WSASetSocketPeerTargetName.

    The target name is validated before either call, so a bad name never
    leaves a socket secured but unnamed.
    """
    target = PeerTargetName(target_name, None, protocol)
    set_socket_security(sock, settings)
    target.apply(sock)


def _sockaddr(peer: Peer) -> Tuple[Any, int]:
    buffer = ffi.new("uint64_t[4]")  # 32 bytes: room for a SOCKADDR_IN6
    size = lib.wsapeer_sockaddr_marshal(
        buffer, 32, peer.kind, peer.packed, peer.port, peer.flowinfo, peer.scope_id
    )
    if size < 0:
        _errors.raise_status(size, "marshalling a sockaddr")
    return buffer, size


def _delete_args(sock: SocketLike, peer: Tuple[Any, ...]) -> Tuple[int, Any, int]:
    handle = handle_of(sock)
    if peer is None:
        raise ValueError("delete_peer_target_name needs the peer address whose name to remove")
    normalized = normalize_peer(peer)
    check_peer_family(sock, normalized)
    buffer, size = _sockaddr(normalized)
    return handle, buffer, size


def delete_peer_target_name(sock: SocketLike, peer: Tuple[Any, ...]) -> None:
    """Removes the target name set for a UDP peer (WSADeleteSocketPeerTargetName)."""
    handle, buffer, size = _delete_args(sock, peer)
    _check(lib.wsapeer_delete_peer_target_name(handle, buffer, size), _DELETE)


def delete_peer_target_name_async(
    sock: SocketLike, peer: Tuple[Any, ...], routine: bool = False
) -> Operation[None]:
    """delete_peer_target_name with an OVERLAPPED kept in C: returns the Operation."""
    handle, buffer, size = _delete_args(sock, peer)
    return start(lib.WSAPEER_MODEL_DELETE_PEER_TARGET_NAME, handle, buffer, size, routine)


class SecurityInfo:
    """What WSAQuerySocketSecurity reported. Owns the peer token handles.

    Each token handle is closed exactly once: by close(), at the end of a
    ``with`` block, or when the object is collected, whichever comes first.
    """

    __slots__ = (
        "__weakref__",
        "_flags",
        "_lock",
        "_mm",
        "_negotiation",
        "_protocol",
        "_qm",
        "_sa_context",
        "_tokens",
    )  # fmt: skip

    def __init__(self, info: Any) -> None:
        self._lock = threading.Lock()
        try:
            self._protocol: Union[SecurityProtocol, int] = SecurityProtocol(info.protocol)
        except ValueError:
            self._protocol = info.protocol  # a protocol this wsapeer predates
        self._flags = SecurityInfoFlags(info.flags)  # unknown bits kept
        self._tokens: Optional[List[Any]] = [
            ffi.gc(ffi.cast("void *", handle), lib.wsapeer_token_release) if handle else None
            for handle in (info.application_token, info.machine_token)
        ]
        if info.ipsec2:
            self._mm: Optional[int] = info.mm_sa_id
            self._qm: Optional[int] = info.qm_sa_id
            self._negotiation: Optional[int] = info.negotiation_winerror
            self._sa_context: Optional[uuid.UUID] = uuid.UUID(
                bytes_le=bytes(info.sa_lookup_context)
            )
        else:
            self._mm = self._qm = self._negotiation = None
            self._sa_context = None

    @property
    def protocol(self) -> Union[SecurityProtocol, int]:
        """The protocol securing the traffic (an int if this wsapeer predates it)."""
        return self._protocol

    @property
    def flags(self) -> SecurityInfoFlags:
        """SECURED, ENCRYPTED, IMPERSONATED; bits Windows adds later are kept."""
        return self._flags

    @property
    def secured(self) -> bool:
        """Whether a security protocol protects the traffic (SECURED is set)."""
        return bool(self._flags & SecurityInfoFlags.SECURED)

    def _token(self, index: int) -> Optional[int]:
        with self._lock:
            if self._tokens is None:
                raise ValueError("the SecurityInfo is closed; its token handles are gone")
            token = self._tokens[index]
            return None if token is None else int(ffi.cast("uintptr_t", token))

    @property
    def peer_application_token(self) -> Optional[int]:
        """HANDLE of the peer application's access token, or None; owned by this object."""
        return self._token(0)

    @property
    def peer_machine_token(self) -> Optional[int]:
        """HANDLE of the peer machine's access token, or None; owned by this object."""
        return self._token(1)

    mm_sa_id = property(lambda self: self._mm, doc="IPSEC2 queries only, else None")
    qm_sa_id = property(lambda self: self._qm, doc="IPSEC2 queries only, else None")
    negotiation_winerror = property(lambda self: self._negotiation, doc="IPSEC2 only")
    sa_lookup_context = property(lambda self: self._sa_context, doc="IPSEC2 only")

    @property
    def closed(self) -> bool:
        """Whether close() ran: the token handles are gone."""
        return self._tokens is None

    def close(self) -> None:
        """Closes the token handles now (CloseHandle); later calls do nothing."""
        with self._lock:
            tokens, self._tokens = self._tokens, None
        for token in tokens or ():
            if token is not None:
                ffi.release(token)

    def __enter__(self) -> SecurityInfo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SecurityInfo protocol={self._protocol!r} flags={self._flags!r}>"


def _query_args(
    sock: SocketLike, peer: PeerArg, access_mask: int, ipsec2: bool
) -> Tuple[int, Any, int]:
    handle = handle_of(sock)
    if isinstance(access_mask, bool) or not isinstance(access_mask, int):
        raise TypeError(f"access_mask must be an int, not {type(access_mask).__name__}")
    if not 0 <= access_mask <= 0xFFFFFFFF:
        raise ValueError(f"access_mask must be in 0..0xFFFFFFFF, got {access_mask}")
    if not isinstance(ipsec2, bool):
        raise TypeError(f"ipsec2 must be a bool, not {type(ipsec2).__name__}")
    normalized = normalize_peer(peer)
    check_peer_family(sock, normalized)
    if peer is None and not access_mask and not ipsec2:
        return handle, ffi.NULL, 0  # TCP's default information
    size = lib.WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE if ipsec2 else lib.WSAPEER_QUERY_TEMPLATE_SIZE
    template = ffi.new("uint64_t[]", (size + 7) // 8)
    protocol = SecurityProtocol.IPSEC2 if ipsec2 else SecurityProtocol.DEFAULT
    field_mask = 0x3 if ipsec2 else 0  # SOCKET_QUERY_IPSEC2_FIELD_MASK_MM_SA_ID | _QM_SA_ID
    _check(
        lib.wsapeer_query_template_marshal(
            template, size, protocol, int(ipsec2), normalized.kind,
            normalized.packed or ffi.NULL, normalized.port, normalized.flowinfo,
            normalized.scope_id, access_mask, 0, field_mask,
        ),
        "marshalling SOCKET_SECURITY_QUERY_TEMPLATE",
    )  # fmt: skip
    return handle, template, size


def query_socket_security(
    sock: SocketLike,
    peer: PeerArg = None,
    access_mask: int = 0,
    ipsec2: bool = False,
) -> SecurityInfo:
    """WSAQuerySocketSecurity: whether the connection is secured, and the peer's tokens.

    TCP: call after connect/accept; peer is ignored. UDP: pass the peer.
    access_mask (e.g. TOKEN_QUERY) asks for the peer's token handles, which
    the returned SecurityInfo owns. ipsec2=True asks for the IPSEC2 fields.
    """
    handle, template, size = _query_args(sock, peer, access_mask, ipsec2)
    out = ffi.new("wsapeer_query_info *")
    _check(lib.wsapeer_query_socket_security(handle, template, size, int(ipsec2), out), _QUERY)
    return SecurityInfo(out)


def _take_info(op: Any) -> SecurityInfo:
    out = ffi.new("wsapeer_query_info *")
    _check(lib.wsapeer_op_query_info(op, out), _QUERY)
    return SecurityInfo(out)


def query_socket_security_async(
    sock: SocketLike,
    peer: PeerArg = None,
    access_mask: int = 0,
    ipsec2: bool = False,
    routine: bool = False,
) -> Operation[SecurityInfo]:
    """query_socket_security with an OVERLAPPED kept in C: the Operation's
    result() is the SecurityInfo (whose tokens, if nobody asks for the
    result, the operation closes when it is released)."""
    handle, template, size = _query_args(sock, peer, access_mask, ipsec2)
    return start(lib.WSAPEER_MODEL_QUERY_SOCKET_SECURITY, handle, template, size, routine,
                 _take_info)  # fmt: skip


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
        address, size = _sockaddr(normalized)
    _check(lib.wsapeer_impersonate_socket_peer(handle, address, size), _IMPERSONATE)
    _impersonation.active = True


def revert_impersonation() -> None:
    """WSARevertImpersonation: the calling thread stops impersonating (a no-op
    when it was not)."""
    _impersonation.active = False
    _check(lib.wsapeer_revert_impersonation(), _REVERT)


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
