"""The enumerations and flags of mstcpip.h, and the checks that take them."""

from __future__ import annotations

import contextlib
import enum
from typing import Literal, TypeVar, Union

from ._wsapeer import lib


class SecurityProtocol(enum.IntEnum):
    """SOCKET_SECURITY_PROTOCOL (mstcpip.h): the security protocol a setting, name or query is for.

    Every parameter that takes one also takes its plain ``int`` value (0, 1 or 2), as C
    code writes it; a member of another enumeration is refused. mstcpip.h's
    SOCKET_SECURITY_PROTOCOL_INVALID is not a member: its value depends on the SDK version.
    """

    #: SOCKET_SECURITY_PROTOCOL_DEFAULT (0). Windows chooses the protocol (IPsec) and the
    #: policy: what most applications should use (:class:`wsapeer.SecuritySettings`).
    DEFAULT = lib.WSAPEER_PROTOCOL_DEFAULT
    #: SOCKET_SECURITY_PROTOCOL_IPSEC (1). IPsec, with the policy keys and credentials of
    #: SOCKET_SECURITY_SETTINGS_IPSEC (:class:`wsapeer.IPsecSettings`).
    IPSEC = lib.WSAPEER_PROTOCOL_IPSEC
    #: SOCKET_SECURITY_PROTOCOL_IPSEC2 (2). IPsec with the Windows 7 extensions (Windows 7
    #: or later). A query can report the SA ids; a target name's length field counts bytes,
    #: not UTF-16 code units.
    IPSEC2 = lib.WSAPEER_PROTOCOL_IPSEC2


class SecuritySettingsFlags(enum.IntFlag):
    """SOCKET_SETTINGS_* (mstcpip.h): the bits of SOCKET_SECURITY_SETTINGS.SecurityFlags.

    The ``flags`` of :class:`wsapeer.SecuritySettings` and :class:`wsapeer.IPsecSettings`;
    combine members with ``|``, or pass the plain ``int`` (0 to 3). Bits it does not define
    are refused.
    """

    #: No flag. The policy decides about encryption, and traffic is never sent in clear
    #: text, even when security negotiation fails.
    NONE = 0
    #: SOCKET_SETTINGS_GUARANTEE_ENCRYPTION (0x1). The traffic must be encrypted. If it
    #: cannot be, no packet is sent and no connection is made. Set it when the default
    #: policy prefers protection without encryption.
    GUARANTEE_ENCRYPTION = 0x1
    #: SOCKET_SETTINGS_ALLOW_INSECURE (0x2). Clear-text connections are allowed. Some or all
    #: packets may be sent in clear text, notably when security with the peer could not be
    #: negotiated.
    ALLOW_INSECURE = 0x2


class IPsecFlags(enum.IntFlag):
    """SOCKET_SETTINGS_IPSEC_* (mstcpip.h): the bits of SOCKET_SECURITY_SETTINGS_IPSEC.IpsecFlags.

    The ``ipsec_flags`` of :class:`wsapeer.IPsecSettings`; combine members with ``|``, or
    pass the plain ``int`` (0 to 15). Bits it does not define are refused. All but
    SKIP_FILTER_INSTANTIATION need Windows 7 or later, and Microsoft's reference pages
    describe only that one: the others' meanings below are read from their names.
    """

    #: No flag.
    NONE = 0
    #: SOCKET_SETTINGS_IPSEC_SKIP_FILTER_INSTANTIATION (0x1). Windows adds no IPsec filters
    #: for the socket. For applications that know IPsec filters and policy already exist
    #: for their traffic, such as those on a domain with IPsec policy in place.
    SKIP_FILTER_INSTANTIATION = 0x1
    #: SOCKET_SETTINGS_IPSEC_OPTIONAL_PEER_NAME_VERIFICATION (0x2, Windows 7 or later).
    #: Verifying the peer's name against its target name is optional.
    OPTIONAL_PEER_NAME_VERIFICATION = 0x2
    #: SOCKET_SETTINGS_IPSEC_ALLOW_FIRST_INBOUND_PKT_UNENCRYPTED (0x4, Windows 7 or later).
    #: The first inbound packet may arrive unencrypted.
    ALLOW_FIRST_INBOUND_PKT_UNENCRYPTED = 0x4
    #: SOCKET_SETTINGS_IPSEC_PEER_NAME_IS_RAW_FORMAT (0x8, Windows 7 or later). The peer
    #: target name is given in raw format rather than as an SPN.
    PEER_NAME_IS_RAW_FORMAT = 0x8


class SecurityInfoFlags(enum.IntFlag):
    """SOCKET_INFO_CONNECTION_* (mstcpip.h): the bits of SOCKET_SECURITY_QUERY_INFO.Flags.

    What ``wsapeer.SecurityInfo.flags`` reports. Bits Windows sets that this enumeration
    does not name are kept in the value, not dropped.
    """

    #: No flag. The traffic flows in clear text.
    NONE = 0
    #: SOCKET_INFO_CONNECTION_SECURED (0x1). A security protocol protects the traffic.
    #: Absent, the traffic flows in clear text.
    SECURED = 0x1
    #: SOCKET_INFO_CONNECTION_ENCRYPTED (0x2). The traffic is encrypted. SECURED is always
    #: set with it.
    ENCRYPTED = 0x2
    #: SOCKET_INFO_CONNECTION_IMPERSONATED (0x4). Defined in mstcpip.h but not described
    #: by Microsoft's reference page. By its name, the connection's peer is impersonated.
    IMPERSONATED = 0x4


#: What a protocol or flags parameter takes: the member, or a plain int literal
#: in range, as C users write them. A member of another enumeration (its value
#: may mean something else here) is refused, by type checkers and at run time.
ProtocolArg = Union[SecurityProtocol, Literal[0, 1, 2]]
SettingsFlagsArg = Union[SecuritySettingsFlags, Literal[0, 1, 2, 3]]
IPsecFlagsArg = Union[IPsecFlags, Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]

E = TypeVar("E", bound=enum.IntEnum)
F = TypeVar("F", bound=enum.IntFlag)


def refuse_foreign(value: object, kind: type[enum.Enum], what: str) -> None:
    if isinstance(value, enum.Enum) and not isinstance(value, kind):
        meaning = ""
        with contextlib.suppress(TypeError, ValueError):
            meaning = f", which would mean {kind(value.value)!r} here"
        raise TypeError(
            f"{what} takes {kind.__name__} or a plain int, not {value!r} (a member of "
            f"{type(value).__name__}{meaning})"
        )


def check_enum(value: object, kind: type[E], what: str) -> E:
    """A member of kind, from the member or its int value."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a {kind.__name__}, not {type(value).__name__}")
    refuse_foreign(value, kind, what)
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(f"{m.name} ({m.value})" for m in kind)
        raise ValueError(f"unknown {what} {value}; expected one of {known}") from None


def check_flags(value: object, kind: type[F], what: str) -> F:
    """Flags of kind, refusing bits kind does not define (Windows would)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be {kind.__name__} flags, not {type(value).__name__}")
    refuse_foreign(value, kind, what)
    known = 0
    for member in kind.__members__.values():
        known |= member.value
    if value < 0 or value & ~known:
        raise ValueError(f"{what} {value:#x} has bits {kind.__name__} does not define")
    return kind(value)
