"""The enumerations and flags of mstcpip.h, and the checks that take them."""

from __future__ import annotations

import contextlib
import enum
from typing import Literal, NoReturn, TypeVar, Union

from ._checks import kind_of
from ._wsapeer import lib

_F = TypeVar("_F", bound="_StrictFlag")
_E = TypeVar("_E", bound=enum.Enum)


def _refuse_operand(left: object, right: object, op: str) -> NoReturn:
    why = ""
    if isinstance(right, enum.Enum):
        why = "; another enumeration's member would be taken for this one's bit of its value"
    raise TypeError(
        f"{left!r} {op} {right!r}: a {type(left).__name__} combines only with "
        f"{type(left).__name__} members or a plain int, not {kind_of(right)}{why}"
    )


def _operand(left: enum.IntFlag, right: object, op: str) -> int:
    """right's value when it may combine with left: a member of left's own
    class, or an exact int. IntFlag's own operators turn any int (a member of
    another enumeration included) into left's class, which is how
    GUARANTEE_ENCRYPTION | IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION became
    GUARANTEE_ENCRYPTION | ALLOW_INSECURE."""
    if type(right) is type(left) or type(right) is int:
        return int.__index__(right)
    _refuse_operand(left, right, op)


class _StrictFlag(enum.IntFlag):
    """An IntFlag whose |, & and ^ (both orders) refuse another enumeration's
    members, bools and int subclasses with TypeError instead of converting
    them. The annotations take only the same class, so that a type checker
    flags the mix too (a plain int still works at run time)."""

    def __or__(self: _F, other: _F) -> _F:  # type: ignore[override]
        return type(self)(int.__index__(self) | _operand(self, other, "|"))

    def __and__(self: _F, other: _F) -> _F:  # type: ignore[override]
        return type(self)(int.__index__(self) & _operand(self, other, "&"))

    def __xor__(self: _F, other: _F) -> _F:  # type: ignore[override]
        return type(self)(int.__index__(self) ^ _operand(self, other, "^"))

    __ror__ = __or__  # type: ignore[assignment]
    __rand__ = __and__  # type: ignore[assignment]
    __rxor__ = __xor__  # type: ignore[assignment]


_OPERATORS = ("__or__", "__and__", "__xor__", "__ror__", "__rand__", "__rxor__")


def _own_operators(cls: type[_E]) -> type[_E]:
    """Puts the class's strict operators on cls itself: Python 3.11's EnumType
    copies Flag's operators onto every enum class that does not define them in
    its own body, over those it would inherit."""
    base = _StrictFlag if issubclass(cls, _StrictFlag) else cls
    for name in _OPERATORS:
        setattr(cls, name, base.__dict__[name])
    return cls


@_own_operators
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

    # A protocol is one value, never a set of bits: an operator between it and
    # anything (a flag above all: IPSEC2 | GUARANTEE_ENCRYPTION would be 3,
    # GUARANTEE_ENCRYPTION | ALLOW_INSECURE) is a mistake. The parameter type
    # NoReturn makes every such use a type checker's error too.
    def __or__(self, other: NoReturn) -> NoReturn:  # type: ignore[override]
        _refuse_operand(self, other, "|")

    def __and__(self, other: NoReturn) -> NoReturn:  # type: ignore[override]
        _refuse_operand(self, other, "&")

    def __xor__(self, other: NoReturn) -> NoReturn:  # type: ignore[override]
        _refuse_operand(self, other, "^")

    __ror__ = __or__  # type: ignore[assignment]
    __rand__ = __and__  # type: ignore[assignment]
    __rxor__ = __xor__  # type: ignore[assignment]


@_own_operators
class SecuritySettingsFlags(_StrictFlag):
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


@_own_operators
class IPsecFlags(_StrictFlag):
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


@_own_operators
class SecurityInfoFlags(_StrictFlag):
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


def _exact(value: object, kind: type[enum.Enum], what: str, expected: str) -> int:
    """value's int when it is kind's own member or an exact int; TypeError
    for anything else (a bool, an int subclass, another enumeration's member)."""
    if type(value) is kind or type(value) is int:
        return int.__index__(value)  # type: ignore[arg-type]
    refuse_foreign(value, kind, what)
    raise TypeError(f"{what} must be {expected}, not {kind_of(value)}")


def check_enum(value: object, kind: type[E], what: str) -> E:
    """A member of kind, from the member or its exact int value."""
    number = _exact(value, kind, what, f"a {kind.__name__}")
    try:
        return kind(number)
    except ValueError:
        known = ", ".join(f"{m.name} ({m.value})" for m in kind)
        raise ValueError(f"unknown {what} {number}; expected one of {known}") from None


def check_flags(value: object, kind: type[F], what: str) -> F:
    """Flags of kind, refusing bits kind does not define (Windows would)."""
    number = _exact(value, kind, what, f"{kind.__name__} flags")
    known = 0
    for member in kind.__members__.values():
        known |= member.value
    if number < 0 or number & ~known:
        raise ValueError(f"{what} {number:#x} has bits {kind.__name__} does not define")
    return kind(number)
