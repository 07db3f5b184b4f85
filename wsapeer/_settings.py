"""Socket security: SecuritySettings, IPsecSettings and WSASetSocketSecurity."""

from __future__ import annotations

import uuid
from typing import Any, Optional, Tuple, Union

from . import _calls, _errors
from ._enums import (
    IPsecFlags,
    IPsecFlagsArg,
    ProtocolArg,
    SecurityProtocol,
    SecuritySettingsFlags,
    SettingsFlagsArg,
    check_enum,
    check_flags,
)
from ._immutable import Marshalled
from ._overlapped import Operation, start
from ._socket import SocketLike, handle_of
from ._strings import encode_utf16, utf16_units
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

_SET_SECURITY = _calls.NAMES[_calls.SET_SOCKET_SECURITY]


class _Settings(Marshalled):
    """What both kinds of settings share: the call that applies them."""

    __slots__ = ()

    def apply(self, sock: SocketLike) -> None:
        """WSASetSocketSecurity(sock, self): once per socket, before bind or connect."""
        handle = handle_of(sock)
        _errors.check(lib.wsapeer_set_socket_security(handle, self._buffer, self._size),
                      _SET_SECURITY)  # fmt: skip

    def apply_async(self, sock: SocketLike, routine: bool = False) -> Operation[None]:
        """Starts WSASetSocketSecurity(sock, self) with an OVERLAPPED kept in C, which
        copies the settings (a password included) and wipes the copy when done."""
        handle = handle_of(sock)
        return start(_calls.SET_SOCKET_SECURITY, handle, self._buffer, self._size, routine)


class SecuritySettings(_Settings):
    """SOCKET_SECURITY_SETTINGS with protocol DEFAULT: the settings most
    applications should use (Windows picks IPsec and the policy)."""

    __slots__ = ("_flags",)

    STRUCTURE = "SOCKET_SECURITY_SETTINGS"
    _flags: SecuritySettingsFlags

    def __init__(self, flags: SettingsFlagsArg = SecuritySettingsFlags.NONE) -> None:
        checked = check_flags(flags, SecuritySettingsFlags, "flags")
        buffer = ffi.new("uint64_t[1]")
        _errors.check(
            lib.wsapeer_settings_marshal(
                buffer, lib.WSAPEER_SETTINGS_SIZE, lib.WSAPEER_PROTOCOL_DEFAULT, checked, 0,
                ffi.NULL, ffi.NULL, ffi.NULL, 0, ffi.NULL, 0, ffi.NULL, 0,
            ),
            "marshalling SOCKET_SECURITY_SETTINGS",
        )  # fmt: skip
        object.__setattr__(self, "_flags", checked)
        self._set_buffer(buffer, lib.WSAPEER_SETTINGS_SIZE)

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


def _password_units(value: object) -> int:
    """The password's length in UTF-16 code units, checked with no copy of it."""
    if value is None:
        return 0
    return utf16_units(value, "password", lib.WSAPEER_MAX_STRING_BYTES // 2)


def _password_buffer(value: Optional[str], units: int) -> Any:
    """The password as UTF-16LE in a C buffer that is wiped when freed: cffi
    writes the str straight into C memory (wchar_t), which C converts and this
    function wipes, so no Python object ever holds the encoded password."""
    if not units:
        return ffi.NULL
    secret = ffi.gc(lib.wsapeer_secret_alloc(2 * units), lib.wsapeer_secret_free)
    wide = ffi.new("wchar_t[]", value)
    try:
        if (
            secret == ffi.NULL
            or lib.wsapeer_utf16le_from_wide(secret, 2 * units, wide, len(wide) - 1) != 2 * units
        ):
            raise MemoryError("copying the password into its C buffer")
    finally:
        ffi.memmove(wide, bytes(ffi.sizeof(wide)), ffi.sizeof(wide))
    return secret


class IPsecSettings(_Settings):
    """SOCKET_SECURITY_SETTINGS_IPSEC: IPsec policy keys and credentials.

    The password is kept only in a C buffer, which is zeroed when the object
    is released; it never appears in repr, str, exceptions or pickles (objects
    holding one refuse to be pickled). Python's own str passed in cannot be
    wiped: drop your references to it as soon as you can.
    """

    __slots__ = (
        "_domain", "_flags", "_has_password", "_ipsec_flags", "_mm", "_protocol", "_qm", "_user",
    )  # fmt: skip

    STRUCTURE = "SOCKET_SECURITY_SETTINGS_IPSEC"
    _protocol: SecurityProtocol
    _flags: SecuritySettingsFlags
    _ipsec_flags: IPsecFlags
    _mm: Optional[uuid.UUID]
    _qm: Optional[uuid.UUID]
    _user: Optional[str]
    _domain: Optional[str]
    _has_password: bool

    def __init__(
        self,
        protocol: ProtocolArg = SecurityProtocol.IPSEC,
        flags: SettingsFlagsArg = SecuritySettingsFlags.NONE,
        ipsec_flags: IPsecFlagsArg = IPsecFlags.NONE,
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
        units = _password_units(password)
        secret = _password_buffer(password, units)
        size = lib.wsapeer_settings_size(proto, len(user), len(domain), 2 * units)
        buffer = ffi.gc(lib.wsapeer_secret_alloc(size), lib.wsapeer_secret_free)
        if buffer == ffi.NULL:
            raise MemoryError("allocating SOCKET_SECURITY_SETTINGS_IPSEC")
        _errors.check(
            lib.wsapeer_settings_marshal(
                buffer, size, proto, checked_flags, checked_ipsec, mm or ffi.NULL,
                qm or ffi.NULL, user or ffi.NULL, len(user), domain or ffi.NULL, len(domain),
                secret, 2 * units,
            ),
            "marshalling SOCKET_SECURITY_SETTINGS_IPSEC",
        )  # fmt: skip
        if units:
            ffi.release(secret)  # wiped and freed now, not whenever it is collected
        set_ = object.__setattr__
        set_(self, "_protocol", proto)
        set_(self, "_flags", checked_flags)
        set_(self, "_ipsec_flags", checked_ipsec)
        set_(self, "_mm", mm_policy_key)
        set_(self, "_qm", qm_policy_key)
        set_(self, "_user", user_name or None)
        set_(self, "_domain", domain_name or None)
        set_(self, "_has_password", bool(password))
        # Hashed on what is public: the password stays in C.
        self._set_buffer(buffer, size, (proto, checked_flags, checked_ipsec, mm, qm, user, domain))

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

    def __bytes__(self) -> bytes:
        """The Windows structure, password included: handle with care."""
        return super().__bytes__()

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


_DEFAULT_SETTINGS = SecuritySettings()


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


def _client_calls(
    target_name: str,
    settings: Union[SecuritySettings, IPsecSettings, None],
    protocol: Optional[ProtocolArg],
) -> Tuple[Union[SecuritySettings, IPsecSettings], PeerTargetName]:
    """What a TCP client applies before connect, both checked before either
    call: the settings, and the target named for the settings' protocol
    unless protocol says otherwise."""
    chosen = _settings(settings)
    return chosen, PeerTargetName(
        target_name, None, chosen.protocol if protocol is None else protocol
    )


def secure_client(
    sock: SocketLike,
    target_name: str,
    settings: Union[SecuritySettings, IPsecSettings, None] = None,
    protocol: Optional[ProtocolArg] = None,
) -> None:
    """A TCP client's calls before connect, in the order Windows' sample makes
    them: WSASetSocketSecurity, then WSASetSocketPeerTargetName.

    The name is set for the settings' protocol (IPSEC or IPSEC2 for
    IPsecSettings, DEFAULT otherwise) unless protocol says otherwise. It is
    validated before either call, so a bad name never leaves a socket secured
    but unnamed.
    """
    chosen, target = _client_calls(target_name, settings, protocol)
    chosen.apply(sock)
    target.apply(sock)
