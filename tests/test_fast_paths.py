"""The fast paths (one-shot direct marshalling, the target cache, apply_many's
columns) send exactly what PeerTargetName sends, and refuse what it refuses.

The contract model's records show the bytes each path handed to Fwpuclnt; they
are read with tests/sdk_layout.py, never with wsapeer's own parser, and their
sequence numbers show how many calls each path made."""

import asyncio
import ipaddress
import socket

import pytest
import sdk_layout as sdk
from hypothesis import given, settings
from hypothesis import strategies as st

import wsapeer
import wsapeer.aio
from wsapeer import PeerTargetName, SecurityProtocol, WinsockError
from wsapeer.testing import contract_model

pytestmark = pytest.mark.needs_model


def newest(model):
    """The last accepted call. The model replaces the record of a repeated call
    (same socket and peer), so the count of records cannot show a second send;
    sequence numbers, one per accepted call, can."""
    records = model.records
    return max(records, key=lambda r: r.sequence) if records else None


def newest_sequence(model) -> int:
    record = newest(model)
    return record.sequence if record is not None else 0


hosts = st.one_of(
    st.ip_addresses().map(str),
    st.text(alphabet="0123456789.:abcdefABCDEF%x \0\uff11", min_size=0, max_size=40),
)
names = st.one_of(
    st.text(min_size=0, max_size=30),
    st.text(alphabet=st.characters(codec=None), max_size=30),  # lone surrogates too
)
protocols = st.one_of(st.sampled_from(list(SecurityProtocol)), st.integers(-1, 3), st.booleans())
ports = st.one_of(st.integers(-1, 65536), st.booleans())


def outcome(model, call):
    """What a call did: the exception type it raised before any C call, the
    Winsock error the model answered, or the exact bytes the model accepted
    (with their fields, decoded from the SDK layout), sent exactly once."""
    before = newest_sequence(model)
    try:
        call()
    except (TypeError, ValueError) as exc:
        assert newest_sequence(model) == before, "refused in Python, yet something was sent"
        return type(exc)
    except WinsockError as exc:
        # The model records only what it accepts: a refused call leaves none.
        assert newest_sequence(model) == before, "raised, yet the model accepted a call"
        return ("WinsockError", exc.winerror)
    record = newest(model)
    sent = 0 if record is None else record.sequence - before
    assert sent == 1, f"returned normally after {sent} accepted calls, not 1"
    assert record.function == "WSASetSocketPeerTargetName"
    return record.data, sdk.decode_peer_target_name(record.data)


def intended(name, peer, protocol):
    """The fields a successful call must have sent, worked out from its arguments
    without wsapeer: Windows' sockaddr keeps a zone "%N" as the scope id."""
    if peer is None:
        return (name, None, int(protocol))
    host, port = peer
    address = ipaddress.ip_address(host)
    if address.version == 4:
        return (name, (str(address), port), int(protocol))
    zone = getattr(address, "scope_id", None)
    plain = str(ipaddress.IPv6Address(address.packed))
    return (name, (plain, port, 0, int(zone) if zone else 0), int(protocol))


@settings(max_examples=400, deadline=None)
@given(names, hosts, ports, protocols, st.booleans())
def test_one_shot_sends_what_peer_target_name_sends(name, host, port, protocol, with_peer):
    peer = (host, port) if with_peer else None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # TCP takes no peer; UDP needs one (the model refuses a zero one, as Windows does).
    kind = socket.SOCK_DGRAM if with_peer else socket.SOCK_STREAM
    with contract_model() as model, socket.socket(family, kind) as sock:
        expected = outcome(model, lambda: PeerTargetName(name, peer, protocol).apply(sock))
        if isinstance(expected, tuple) and isinstance(expected[0], bytes):
            assert expected[1] == intended(name, peer, protocol)
        for _ in range(3):  # new, seen once, then reused from the cache
            assert (
                outcome(model, lambda: wsapeer.set_peer_target_name(sock, name, peer, protocol))
                == expected
            )


def test_one_shot_family_mismatch_still_raises_after_caching():
    with contract_model(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as v4:
        for _ in range(3):
            wsapeer.set_peer_target_name(v4, "host/x", ("192.0.2.1", 5))
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as v6:
            with pytest.raises(ValueError, match="IPv4 address but the socket is IPv6"):
                wsapeer.set_peer_target_name(v6, "host/x", ("192.0.2.1", 5))
            with pytest.raises(ValueError, match="IPv4 address but the socket is IPv6"):
                PeerTargetName("host/x", ("192.0.2.1", 5)).apply(v6)


def test_bool_never_aliases_an_int_in_the_cache():
    with contract_model(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(3):
            wsapeer.set_peer_target_name(sock, "host/x", ("192.0.2.1", 1), 1)
        with pytest.raises(TypeError, match="port must be an int, not bool"):
            wsapeer.set_peer_target_name(sock, "host/x", ("192.0.2.1", True), 1)
        with pytest.raises(TypeError, match="protocol must be a SecurityProtocol"):
            wsapeer.set_peer_target_name(sock, "host/x", ("192.0.2.1", 1), True)


def test_apply_many_sends_each_target():
    targets = [PeerTargetName(f"host/p{i}", ("192.0.2.1", i + 1)) for i in range(20)]
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert wsapeer.apply_many([(sock, t) for t in targets]) == [None] * 20
        records = model.records
        assert [r.sequence for r in records] == list(range(1, 21))  # each sent once, in order
        assert [sdk.decode_peer_target_name(r.data) for r in records] == [
            (f"host/p{i}", ("192.0.2.1", i + 1), 0) for i in range(20)
        ]
        assert [r.data for r in records] == [
            sdk.build_peer_target_name(f"host/p{i}", ("192.0.2.1", i + 1)) for i in range(20)
        ]


# The one-shot path parses IPv4 hosts and encodes names in C: what it takes must
# be exactly what PeerTargetName takes, byte for byte, and what it refuses must
# reach the full path's clear error (hostile and boundary cases).
HOSTILE_HOSTS = [
    "192.0.2.1\0",
    "192.0.2.1\0.7",
    "192.0.2.1\x00evil",
    "01.2.3.4",
    "1.02.3.4",
    "00.0.0.0",
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.4.5",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1..2.3",
    "1.2.3.",
    ".1.2.3",
    "\uff11.2.3.4",
    "1.2.3.4\u0660",
    "+1.2.3.4",
    "1.2.3.-4",
    "0x1.2.3.4",
    "1234.1.1.1",
    "999.1.1.1",
    "",
    ".",
    "::ffff:1.2.3.4",
    "1.2.3.4%1",
]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
@pytest.mark.parametrize("handle", [False, True])
def test_one_shot_hosts_as_peer_target_name_takes_them(host, handle):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with contract_model() as model, socket.socket(family, socket.SOCK_DGRAM) as u:
        expected = outcome(model, lambda: PeerTargetName("host/x", (host, 500)).apply(u))
        target = u.fileno() if handle else u
        for _ in range(3):
            got = outcome(
                model, lambda: wsapeer.set_peer_target_name(target, "host/x", (host, 500))
            )
            assert got == expected, host


BOUNDARY_NAMES = [
    "a" * 220,
    "a" * 221,
    "a" * 439,
    "a" * 440,
    "a" * 441,
    "\U0001f511" * 110,
    "\U0001f511" * 111,
    "\U0001f511" * 220,
    "\U0001f511" * 221,
    "a" * 32767,
    "a" * 32768,
    "\U0001f511" * 16383 + "a",
    "\U0001f511" * 16384,
    "host/\ud800",
    "host/\udfff\ud800",
    "\ud83d\udd11",
    "host/\0x",
    "\0",
]


@pytest.mark.parametrize("name", BOUNDARY_NAMES, ids=lambda n: f"{len(n)}:{n[:6]!r}")
@pytest.mark.parametrize("with_peer", [False, True])
def test_one_shot_names_at_the_boundaries(name, with_peer):
    peer = ("192.0.2.1", 500) if with_peer else None
    kind = socket.SOCK_DGRAM if with_peer else socket.SOCK_STREAM
    with contract_model() as model, socket.socket(socket.AF_INET, kind) as sock:
        expected = outcome(model, lambda: PeerTargetName(name, peer).apply(sock))
        for _ in range(3):
            assert (
                outcome(model, lambda: wsapeer.set_peer_target_name(sock, name, peer)) == expected
            )


def test_a_socket_reinitialised_with_another_family_is_checked_again():
    """socket.socket.__init__ can run again on a closed socket object: same
    object, usually the same descriptor number, another family. No path may
    trust an earlier family check of that object (issue 15 weighed a cache of
    checked sockets; this is why there is none)."""
    target = PeerTargetName("host/x", ("192.0.2.1", 5))
    with contract_model():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _ in range(3):
                target.apply(s)
                wsapeer.set_peer_target_name(s, "host/x", ("192.0.2.1", 5))
                assert wsapeer.apply_many([(s, target)]) == [None]
            s.close()
            s.__init__(socket.AF_INET6, socket.SOCK_DGRAM)
            for call in (
                lambda: target.apply(s),
                lambda: wsapeer.set_peer_target_name(s, "host/x", ("192.0.2.1", 5)),
                lambda: asyncio.run(wsapeer.aio.apply(s, target)),
            ):
                with pytest.raises(ValueError, match="IPv4 address but the socket is IPv6"):
                    call()
            [error] = wsapeer.apply_many([(s, target)])
            assert isinstance(error, ValueError)
        finally:
            s.close()
