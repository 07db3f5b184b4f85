"""What is checked is what is marshalled (issue 22, items 1 and 2).

A member of another enumeration must never slip into a flag value through an
operator, and a subclass of str or int must never make the check and the value
C receives differ: each is refused with TypeError, before any C code runs.
"""

import operator
import socket

import pytest
from liars import LyingInt, LyingStr

import wsapeer
from wsapeer import (
    IPsecFlags,
    IPsecSettings,
    PeerTargetName,
    SecurityInfoFlags,
    SecurityProtocol,
    SecuritySettings,
    SecuritySettingsFlags,
)
from wsapeer.testing import contract_model

FLAG_CLASSES = (SecuritySettingsFlags, IPsecFlags, SecurityInfoFlags)
OPERATORS = (operator.or_, operator.and_, operator.xor)


def foreign_values(kind):
    """A member of every other wsapeer enumeration, socket constants, a bool."""
    out = [m for other in (*FLAG_CLASSES, SecurityProtocol) if other is not kind for m in other]
    return [*out, socket.SOCK_DGRAM, socket.AF_INET, True]


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("kind", FLAG_CLASSES, ids=lambda k: k.__name__)
def test_a_flag_refuses_another_enumerations_member(kind, op):
    for member in kind:
        for other in foreign_values(kind):
            with pytest.raises(TypeError, match=r"another enumeration|not bool"):
                op(member, other)


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("kind", FLAG_CLASSES, ids=lambda k: k.__name__)
def test_the_reflected_order_refuses_it_too_where_python_asks_us(kind, op):
    """wsapeer's own enumerations on the left: their operators are ours."""
    for member in kind:
        for other in foreign_values(kind):
            if isinstance(other, (SecurityProtocol, *FLAG_CLASSES)):
                with pytest.raises(TypeError):
                    op(other, member)


def test_the_issues_example_allows_no_clear_text():
    with pytest.raises(TypeError, match="IPsecFlags"):
        IPsecSettings(
            flags=SecuritySettingsFlags.GUARANTEE_ENCRYPTION
            | IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION
        )


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
def test_same_class_and_plain_ints_still_combine(op):
    a, b = SecuritySettingsFlags.GUARANTEE_ENCRYPTION, SecuritySettingsFlags.ALLOW_INSECURE
    assert type(op(a, b)) is SecuritySettingsFlags and op(a, b) == op(1, 2)
    assert type(op(a, 2)) is SecuritySettingsFlags and op(a, 2) == op(1, 2)
    assert type(op(2, a)) is SecuritySettingsFlags and op(2, a) == op(2, 1)
    i = IPsecFlags.SKIP_FILTER_INSTANTIATION | IPsecFlags.PEER_NAME_IS_RAW_FORMAT
    assert i == 9 and type(i) is IPsecFlags


@pytest.mark.parametrize(
    "make",
    [
        lambda: SecuritySettings(flags=LyingInt(0, 2)),
        lambda: SecuritySettings(flags=LyingInt(16, 0)),
        lambda: SecuritySettings(flags=LyingInt(2, 0)),
        lambda: IPsecSettings(flags=LyingInt(2, 0)),
        lambda: IPsecSettings(ipsec_flags=LyingInt(2, 0)),
        lambda: IPsecSettings(protocol=LyingInt(1, 2)),
        lambda: PeerTargetName("host/x", protocol=LyingInt(0, 1)),
        lambda: PeerTargetName("host/x", ("192.0.2.1", LyingInt(70000, 5))),
        lambda: PeerTargetName("host/x", ("::1", 5, LyingInt(2**21, 0))),
        lambda: PeerTargetName("host/x", ("::1", 5, 0, LyingInt(2**33, 0))),
    ],
)
def test_an_int_subclass_is_refused(make):
    with pytest.raises(TypeError, match="subclass"):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: PeerTargetName(LyingStr("host/good.example.com\0.evil")),
        lambda: PeerTargetName("host/x", (LyingStr("192.0.2.1"), 5)),
        lambda: IPsecSettings(user_name=LyingStr("user")),
        lambda: IPsecSettings(domain_name=LyingStr("dom")),
        lambda: IPsecSettings(password=LyingStr("a long password")),
    ],
)
def test_a_str_subclass_is_refused(make):
    with pytest.raises(TypeError, match="subclass"):
        make()


@pytest.mark.needs_model
def test_nothing_reaches_the_model_from_a_lying_value():
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        with pytest.raises(TypeError):
            wsapeer.set_peer_target_name(s, LyingStr("host/a\0b"), ("192.0.2.1", 5))
        with pytest.raises(TypeError):
            wsapeer.set_peer_target_name(s, "host/a", ("192.0.2.1", LyingInt(70000, 5)))
        with pytest.raises(TypeError):
            wsapeer.set_socket_security(LyingInt(s.fileno(), 3))
        assert model.records == []


@pytest.mark.parametrize("base", [PeerTargetName, SecuritySettings, IPsecSettings])
@pytest.mark.parametrize("slot", ["_buffer", "_size", "_item", "_hash"])
def test_a_subclass_cannot_redefine_what_c_receives(base, slot):
    """A property answering another size would hand C a length its buffer lacks."""
    with pytest.raises(TypeError, match=f"redefines {slot}"):
        type("Liar", (base,), {slot: property(lambda self: 10**6)})


def test_a_subclass_cannot_redefine_a_targets_family_or_peer():
    for slot in ("_family", "_peer", "_protocol"):
        with pytest.raises(TypeError, match=f"redefines {slot}"):
            type("Liar", (PeerTargetName,), {slot: 0})


def test_an_honest_subclass_still_works():
    class Named(PeerTargetName):
        __slots__ = ("note",)

    assert bytes(Named("host/x")) == bytes(PeerTargetName("host/x"))
