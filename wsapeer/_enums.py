"""The enumerations and flags of mstcpip.h, and the checks that take them."""

from __future__ import annotations

import contextlib
import enum
from typing import Literal, TypeVar, Union

from ._wsapeer import lib


class SecurityProtocol(enum.IntEnum):
    """SOCKET_SECURITY_PROTOCOL. IPSEC2 needs Windows 7 or later."""

    DEFAULT = lib.WSAPEER_PROTOCOL_DEFAULT
    IPSEC = lib.WSAPEER_PROTOCOL_IPSEC
    IPSEC2 = lib.WSAPEER_PROTOCOL_IPSEC2


class SecuritySettingsFlags(enum.IntFlag):
    """SOCKET_SETTINGS_* for SOCKET_SECURITY_SETTINGS.SecurityFlags."""

    NONE = 0
    GUARANTEE_ENCRYPTION = 0x1
    ALLOW_INSECURE = 0x2


class IPsecFlags(enum.IntFlag):
    """SOCKET_SETTINGS_IPSEC_* for SOCKET_SECURITY_SETTINGS_IPSEC.IpsecFlags.

    All but SKIP_FILTER_INSTANTIATION need Windows 7 or later."""

    NONE = 0
    SKIP_FILTER_INSTANTIATION = 0x1
    OPTIONAL_PEER_NAME_VERIFICATION = 0x2
    ALLOW_FIRST_INBOUND_PKT_UNENCRYPTED = 0x4
    PEER_NAME_IS_RAW_FORMAT = 0x8


class SecurityInfoFlags(enum.IntFlag):
    """SOCKET_INFO_CONNECTION_* in SOCKET_SECURITY_QUERY_INFO.Flags.

    Bits Windows sets that this enumeration does not name are kept."""

    NONE = 0
    SECURED = 0x1
    ENCRYPTED = 0x2
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
