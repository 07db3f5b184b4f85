"""Socket security: SecuritySettings, IPsecSettings and WSASetSocketSecurity."""

from __future__ import annotations

import uuid
from typing import Any, Optional, Tuple, Union

from . import _calls, _errors
from ._checks import kind_of
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
        """Turns on secure sockets for ``sock`` with these settings (WSASetSocketSecurity).

        Once per socket: a client before connect (then it names the server with
        :func:`wsapeer.set_peer_target_name`), a server before bind (connections it
        accepts carry its security), a UDP socket right after it is created. The prepared
        structure is passed as it is, with no marshalling: build the settings once and
        apply them to every socket.

        Args:
            sock: the socket: a :class:`socket.socket` (or subclass), any object with a
                ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).

        Raises:
            TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``
                (a ``bool`` is refused), or its ``fileno()`` returned no ``int``.
            ValueError: the socket is closed (``fileno()`` is -1), or its handle is
                negative or too large for this platform's sockets.
            wsapeer.WinsockError: Windows (or the contract model) refused the call, e.g.
                WSAEINVAL (10022): the socket's security is already set, the socket is
                already bound, it is not AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM, or a
                setting is not valid; WSAEISCONN (10056): the socket is connected;
                WSAENOTSOCK (10038): the handle is not a socket.
            wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
                outside ``wsapeer.testing.contract_model()``, or in a build without
                Fwpuclnt. Nothing was done.
            wsapeer.WsapeerError: the call failed without reporting an error code.
        """
        handle = handle_of(sock)
        _errors.check(lib.wsapeer_set_socket_security(handle, self._buffer, self._size),
                      _SET_SECURITY)  # fmt: skip

    def apply_async(self, sock: SocketLike, routine: bool = False) -> Operation[None]:
        """Starts WSASetSocketSecurity on ``sock`` with an OVERLAPPED kept in C.

        The operation holds its own copy of the settings (a password included, wiped when
        the operation is freed), with its OVERLAPPED and event, until Windows has finished
        with them. Windows' answer is not raised here: the operation's
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
                negative or too large for this platform's sockets.
            MemoryError: the operation could not be allocated.
            wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
                outside ``wsapeer.testing.contract_model()``, or in a build without
                Fwpuclnt. Nothing was done.
        """
        handle = handle_of(sock)
        return start(_calls.SET_SOCKET_SECURITY, handle, self._buffer, self._size, routine)


class SecuritySettings(_Settings):
    """SOCKET_SECURITY_SETTINGS with protocol DEFAULT: the settings most applications should use.

    Windows picks the protocol (IPsec) and the policy; settings it leaves open come from the
    system's or the administrator's policy. The 8-byte structure is marshalled once in C;
    the object is immutable, equal to another when their structures are, hashable and
    picklable. ``apply()`` (or :func:`wsapeer.set_socket_security`) hands it to
    WSASetSocketSecurity. Building one makes no call, so it works on every platform.

    Args:
        flags: the SecurityFlags: :class:`wsapeer.SecuritySettingsFlags` members combined
            with ``|``, or their plain ``int`` value (0 to 3). GUARANTEE_ENCRYPTION
            requires encryption; ALLOW_INSECURE allows clear text when security cannot be
            negotiated.

    Raises:
        TypeError: ``flags`` is not an ``int`` (a ``bool`` is refused) or is a member of
            another enumeration.
        ValueError: ``flags`` is negative or has bits SecuritySettingsFlags does not define.
    """

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
        """Always ``SecurityProtocol.DEFAULT``, with which Windows chooses (IPsec)."""
        return SecurityProtocol.DEFAULT

    @property
    def flags(self) -> SecuritySettingsFlags:
        """SecurityFlags, as :class:`wsapeer.SecuritySettingsFlags`."""
        return self._flags

    @property
    def size(self) -> int:
        """SecuritySettingsLen, 8 (the size of SOCKET_SECURITY_SETTINGS in bytes)."""
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
    if type(value) is not uuid.UUID:  # a subclass could override bytes_le
        raise TypeError(f"{what} must be a uuid.UUID or None, not {kind_of(value)}")
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
    """SOCKET_SECURITY_SETTINGS_IPSEC: settings for IPsec itself, with policy keys and credentials.

    For advanced applications that customize the IPsec policy of their traffic (a
    higher-priority policy, a domain's say, may still override these settings); most should
    use :class:`wsapeer.SecuritySettings`. The structure is marshalled once in C; the object
    is immutable, equal to another when their structures are, and hashable. ``apply()`` (or
    :func:`wsapeer.set_socket_security`) hands it to WSASetSocketSecurity. Building one makes
    no call, so it works on every platform.

    The password is kept only in a C buffer, which is zeroed when the object is released; it
    never appears in ``repr``, ``str``, exceptions or pickles (an object holding one refuses
    to be pickled), but ``bytes(settings)`` is the whole structure, password included: handle
    it with care. The ``str`` passed in is Python's and cannot be wiped: drop your references
    to it as soon as you can.

    Args:
        protocol: ``SecurityProtocol.IPSEC`` (the default) or ``SecurityProtocol.IPSEC2``
            (Windows 7 or later), or its plain ``int`` value (1 or 2).
        flags: the SecurityFlags, as for :class:`wsapeer.SecuritySettings`:
            :class:`wsapeer.SecuritySettingsFlags` members combined with ``|``, or their
            plain ``int`` value (0 to 3).
        ipsec_flags: the IpsecFlags: :class:`wsapeer.IPsecFlags` members combined with
            ``|``, or their plain ``int`` value (0 to 15). All but SKIP_FILTER_INSTANTIATION
            need Windows 7 or later.
        mm_policy_key: AuthipMMPolicyKey, the :class:`uuid.UUID` of the Windows Filtering
            Platform provider context of a custom AuthIP main-mode policy (added with
            FwpmProviderContextAdd0), or ``None`` for the zero GUID, which Windows ignores.
        qm_policy_key: AuthipQMPolicyKey, the same for a custom quick-mode policy, or
            ``None``.
        user_name: the user name of the credentials, a ``str`` of at most 32,767 UTF-16 code
            units without NUL characters or lone surrogates, or ``None`` (as is ``""``).
        domain_name: the domain name of the credentials, with the same limits, or ``None``.
        password: the password of the credentials, with the same limits, or ``None``. It is
            copied straight into a C buffer that is wiped when freed, and error messages
            never quote it.

    Raises:
        TypeError: ``protocol``, ``flags`` or ``ipsec_flags`` is not an ``int`` (a ``bool``
            is refused) or is a member of another enumeration; a policy key is neither a
            :class:`uuid.UUID` nor ``None``; ``user_name``, ``domain_name`` or ``password``
            is neither a ``str`` nor ``None``.
        ValueError: ``protocol`` is not 1 or 2 (DEFAULT belongs to
            :class:`wsapeer.SecuritySettings`); ``flags`` or ``ipsec_flags`` is negative or
            has bits its enumeration does not define; ``user_name``, ``domain_name`` or
            ``password`` contains a NUL or a lone surrogate, or is longer than 32,767 UTF-16
            code units.
        MemoryError: the C buffer for the structure or for the password could not be
            allocated.
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

    protocol = property(
        lambda self: self._protocol,
        doc="SecurityProtocol, ``SecurityProtocol.IPSEC`` or ``SecurityProtocol.IPSEC2``.",
    )
    flags = property(
        lambda self: self._flags, doc="SecurityFlags, as :class:`wsapeer.SecuritySettingsFlags`."
    )
    ipsec_flags = property(
        lambda self: self._ipsec_flags, doc="IpsecFlags, as :class:`wsapeer.IPsecFlags`."
    )
    mm_policy_key = property(
        lambda self: self._mm,
        doc="AuthipMMPolicyKey, the :class:`uuid.UUID` given or ``None`` (the zero GUID).",
    )
    qm_policy_key = property(
        lambda self: self._qm,
        doc="AuthipQMPolicyKey, the :class:`uuid.UUID` given or ``None`` (the zero GUID).",
    )
    user_name = property(
        lambda self: self._user, doc='The user name, or ``None`` (also when given as ``""``).'
    )
    domain_name = property(
        lambda self: self._domain,
        doc='The domain name, or ``None`` (also when given as ``""``).',
    )

    @property
    def has_password(self) -> bool:
        """Whether a non-empty password was given; the password itself cannot be read back."""
        return self._has_password

    @property
    def size(self) -> int:
        """SecuritySettingsLen, 88 bytes plus 2 per UTF-16 code unit of the three strings."""
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
    """Turns on secure sockets for ``sock`` (WSASetSocketSecurity).

    Once per socket: a client before connect (then it names the server with
    :func:`wsapeer.set_peer_target_name`; :func:`wsapeer.secure_client` makes both calls),
    a server before bind (connections it accepts carry its security), a UDP socket right
    after it is created.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`,
            or ``None`` for ``SecuritySettings()`` (protocol DEFAULT, no flags), which
            Windows treats as its defaults.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int`` (a
            ``bool`` is refused), or its ``fileno()`` returned no ``int``; ``settings`` is
            not a SecuritySettings, an IPsecSettings or ``None``.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets.
        wsapeer.WinsockError: Windows (or the contract model) refused the call, e.g.
            WSAEINVAL (10022): the socket's security is already set, the socket is already
            bound, it is not AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM, or a setting is
            not valid; WSAEISCONN (10056): the socket is connected; WSAENOTSOCK (10038): the
            handle is not a socket.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: the call failed without reporting an error code.
    """
    _settings(settings).apply(sock)


def set_socket_security_async(
    sock: SocketLike,
    settings: Union[SecuritySettings, IPsecSettings, None] = None,
    routine: bool = False,
) -> Operation[None]:
    """Starts :func:`wsapeer.set_socket_security` with an OVERLAPPED kept in C.

    The operation holds its own copy of the settings (a password included, wiped when the
    operation is freed), with its OVERLAPPED and event, until Windows has finished with
    them. Windows' answer is not raised here: the operation's
    :meth:`wsapeer.Operation.result` raises it.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`,
            or ``None`` for ``SecuritySettings()`` (protocol DEFAULT, no flags), which
            Windows treats as its defaults.
        routine: ``False`` (the default) to complete by signalling the operation's event;
            ``True`` to complete through a C completion routine, which runs only on the
            starting thread, while it waits on the operation (:meth:`wsapeer.Operation.wait`,
            also with a zero timeout). ``wsapeer.aio`` refuses such operations.

    Returns:
        The started :class:`wsapeer.Operation`, whose ``result()`` is ``None``.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int`` (a
            ``bool`` is refused), or its ``fileno()`` returned no ``int``; ``settings`` is
            not a SecuritySettings, an IPsecSettings or ``None``; ``routine`` is not a
            ``bool``.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets.
        MemoryError: the operation could not be allocated.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
    """
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
    """Secures a TCP client socket and names its server, before connect.

    Makes the two calls in the order of Windows' own sample client: WSASetSocketSecurity,
    then WSASetSocketPeerTargetName (with no peer address: the connected peer). The name
    is set for the settings' protocol (IPSEC or IPSEC2 for an IPsecSettings, DEFAULT
    otherwise) unless ``protocol`` says otherwise. Every argument is validated before
    either call, so a bad name never leaves a socket secured but unnamed; if Windows
    refuses the second call, though, the socket is left secured and unnamed: close it.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        target_name: the principal name IPsec must authenticate the server as, an SPN such
            as ``host/server.example.com``: a non-empty ``str`` of at most 32,767 UTF-16
            code units, without NUL characters or lone surrogates.
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`,
            or ``None`` for ``SecuritySettings()`` (protocol DEFAULT, no flags), which
            Windows treats as its defaults.
        protocol: ``None`` to name the target for the settings' protocol, or the
            :class:`wsapeer.SecurityProtocol` (or its plain ``int`` value, 0, 1 or 2) to
            name it for instead.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``target_name`` is not a ``str``;
            ``settings`` is not a SecuritySettings, an IPsecSettings or ``None``;
            ``protocol`` is not ``None`` or an ``int``, or is a member of another
            enumeration. A ``bool`` is refused wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``target_name`` is empty, contains a NUL
            or a lone surrogate, or is longer than 32,767 UTF-16 code units; ``protocol`` is
            not 0, 1 or 2.
        wsapeer.WinsockError: Windows (or the contract model) refused either call, e.g.
            WSAEISCONN (10056): the socket is connected; WSAEINVAL (10022): the socket's
            security is already set, the socket is already bound, it is not
            AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM, a setting is not valid, or the
            socket is a datagram socket (whose names need a peer address);
            WSAENOTSOCK (10038): the handle is not a socket.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: a call failed without reporting an error code.
    """
    chosen, target = _client_calls(target_name, settings, protocol)
    chosen.apply(sock)
    target.apply(sock)
