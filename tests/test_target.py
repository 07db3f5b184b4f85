"""PeerTargetName as an object: immutability, equality, repr, round trips, threads."""

import copy
import ipaddress
import pickle
import socket
import threading

import pytest
from builds import OUTSIDE_THE_MODEL
from hypothesis import given, settings
from hypothesis import strategies as st

import wsapeer
from wsapeer import PeerTargetName, SecurityProtocol

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
    min_size=1,
    max_size=200,
)
ports = st.integers(0, 65535)
ipv4 = st.builds(lambda a, p: (str(a), p), st.ip_addresses(v=4), ports)
ipv6 = st.builds(
    lambda a, p, f, s: (str(a), p, f, s),
    st.ip_addresses(v=6),
    ports,
    st.integers(0, 0xFFFFF),
    st.integers(0, 0xFFFFFFFF),
)
peers = st.none() | ipv4 | ipv6
protocols = st.sampled_from(list(SecurityProtocol))


@given(names, peers, protocols)
def test_round_trip_recovers_every_field(name, peer, protocol):
    target = PeerTargetName(name, peer, protocol)
    back = PeerTargetName.from_bytes(bytes(target))
    assert back == target
    assert bytes(back) == bytes(target)
    assert back.target_name == name
    assert back.protocol is protocol
    if peer is None:
        assert back.peer is None
    else:
        assert ipaddress.ip_address(back.peer[0]) == ipaddress.ip_address(peer[0])
        assert back.peer[1:] == peer[1:]


@given(names, peers, protocols)
def test_layout_invariants(name, peer, protocol):
    raw = bytes(PeerTargetName(name, peer, protocol))
    units = len(name.encode("utf-16-le")) // 2
    assert len(raw) == 144 + 2 * units
    assert raw[4:8] == b"\0\0\0\0"
    assert raw[-4:] == b"\0\0\0\0"
    length = int.from_bytes(raw[136:140], "little")
    assert length == (2 * units if protocol == SecurityProtocol.IPSEC2 else units)
    assert raw[140 : 140 + 2 * units].decode("utf-16-le") == name
    family = int.from_bytes(raw[8:10], "little")
    assert family == {None: 0, 2: 2, 4: 23}[None if peer is None else len(peer)]
    used = {0: 0, 2: 16, 23: 28}[family]
    assert not any(raw[8 + used : 136])


@settings(max_examples=200)
@given(st.binary(min_size=0, max_size=400))
def test_from_bytes_never_crashes(data):
    try:
        target = PeerTargetName.from_bytes(data)
    except ValueError:
        return
    assert bytes(target) == data


def must_reject(raw, index):
    """Whether a flip at index leaves no valid SOCKET_PEER_TARGET_NAME, by the
    SDK layout: protocol's high bytes, the padding after it, the unused rest
    of the SOCKADDR_STORAGE, and the length field. Elsewhere (protocol's low
    byte, family, port, address, name) a flip may make another valid target."""
    family = int.from_bytes(raw[8:10], "little")
    used = {0: 2, 2: 16, 23: 28}[family]
    return index in range(1, 8) or index in range(8 + used, 136) or index in range(136, 140)


@given(names, peers, protocols, st.data())
def test_from_bytes_rejects_any_flipped_byte(name, peer, protocol, data):
    original = bytes(PeerTargetName(name, peer, protocol))
    raw = bytearray(original)
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    try:
        back = PeerTargetName.from_bytes(raw)
    except ValueError:
        return
    assert not must_reject(original, index), f"a flip at byte {index} was accepted"
    # A flip inside the name, address or port makes another valid target.
    assert bytes(back) == bytes(raw)


@pytest.mark.parametrize("peer", [None, ("192.0.2.1", 5), ("2001:db8::1", 5, 1, 2)])
def test_from_bytes_rejects_a_flip_in_every_byte_that_must_be_zero(peer):
    original = bytes(PeerTargetName("host/x", peer, SecurityProtocol.IPSEC2))
    rejected = 0
    for index in range(len(original)):
        if must_reject(original, index):
            raw = bytearray(original)
            raw[index] ^= 0x01
            with pytest.raises(ValueError):
                PeerTargetName.from_bytes(raw)
            rejected += 1
    assert rejected >= 100  # the check covered the padding, not nothing


def test_from_bytes_messages():
    good = bytes(PeerTargetName("host/x", ("192.0.2.1", 5)))
    with pytest.raises(ValueError, match="not a SOCKET_PEER_TARGET_NAME \\(10 bytes\\)"):
        PeerTargetName.from_bytes(good[:10])
    with pytest.raises(ValueError, match="size does not match"):
        PeerTargetName.from_bytes(good + b"\0\0")
    with pytest.raises(ValueError, match="protocol, address family or name length"):
        PeerTargetName.from_bytes(b"\x07" + good[1:])
    with pytest.raises(ValueError, match="padding or unused byte is nonzero"):
        PeerTargetName.from_bytes(good[:5] + b"\x01" + good[6:])
    with pytest.raises(ValueError, match="padding or unused byte is nonzero"):
        PeerTargetName.from_bytes(good[:-1] + b"\x01")
    nul = bytearray(good)
    nul[140:142] = b"\0\0"
    with pytest.raises(ValueError, match="refuses: target_name contains a NUL"):
        PeerTargetName.from_bytes(bytes(nul))
    with pytest.raises(TypeError, match="bytes-like"):
        PeerTargetName.from_bytes("abc")


def test_from_bytes_accepts_bytes_like():
    t = PeerTargetName("host/x")
    assert PeerTargetName.from_bytes(bytearray(bytes(t))) == t
    assert PeerTargetName.from_bytes(memoryview(bytes(t))) == t


def test_immutable_and_hashable():
    t = PeerTargetName("host/peer.example.com", ("192.0.2.1", 500))
    with pytest.raises(AttributeError):
        t.target_name = "other"
    with pytest.raises(AttributeError):
        t._bytes = b""
    with pytest.raises(AttributeError):
        del t._name
    same = PeerTargetName("host/peer.example.com", (ipaddress.IPv4Address("192.0.2.1"), 500))
    assert t == same and hash(t) == hash(same)
    assert len({t, same, PeerTargetName("host/peer.example.com")}) == 2
    assert t != PeerTargetName("host/peer.example.com", ("192.0.2.1", 500), SecurityProtocol.IPSEC)
    assert t != bytes(t)


def test_repr_and_copies():
    t = PeerTargetName("host/peer.example.com", ("192.0.2.1", 500), SecurityProtocol.IPSEC)
    assert repr(t) == (
        "PeerTargetName('host/peer.example.com', peer=('192.0.2.1', 500), "
        "protocol=SecurityProtocol.IPSEC)"
    )
    assert repr(PeerTargetName("host/x")) == "PeerTargetName('host/x')"
    assert pickle.loads(pickle.dumps(t)) == t
    assert copy.deepcopy(t) == t


def test_attributes():
    t = PeerTargetName("host/p", ("2001:db8::1", 500))
    assert t.target_name == "host/p"
    assert t.peer == ("2001:db8::1", 500, 0, 0)
    assert t.protocol is SecurityProtocol.DEFAULT
    assert PeerTargetName("h", protocol=2).protocol is SecurityProtocol.IPSEC2


@pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
def test_shared_target_across_threads():
    targets = [PeerTargetName(f"host/peer{i}.example", ("192.0.2.1", i)) for i in range(8)]
    expected = [bytes(t) for t in targets]
    errors = []
    barrier = threading.Barrier(8)

    def worker():
        sock = socket.socket()
        barrier.wait()
        for _ in range(300):
            for t, e in zip(targets, expected):
                if bytes(t) != e or PeerTargetName.from_bytes(e) != t:
                    errors.append("mismatch")
                try:
                    t.apply(sock)
                except wsapeer.UnsupportedPlatformError:
                    pass
                else:
                    errors.append("silent success")
        sock.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


@pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
def test_unsupported_platform_never_succeeds_silently():
    with socket.socket() as s:
        with pytest.raises(wsapeer.UnsupportedPlatformError) as info:
            wsapeer.set_peer_target_name(s, "host/server.example.com")
        with pytest.raises(wsapeer.UnsupportedPlatformError):
            PeerTargetName("host/server.example.com").apply(s.fileno())
    message = str(info.value)
    assert "WSASetSocketPeerTargetName" in message
    assert "Windows Vista / Windows Server 2008 or later" in message
    assert isinstance(info.value, OSError) and isinstance(info.value, wsapeer.WsapeerError)


@pytest.mark.parametrize(
    "mangle, says",
    [
        (lambda b: b[:10], "shorter than the 144-byte header"),
        (
            lambda b: b + b"\0\0",
            "offset 136 declares 6 UTF-16 code units, so the buffer must be 156",
        ),
        (lambda b: b"\x07" + b[1:], "SecurityProtocol at offset 0 is 7"),
        (lambda b: b[:8] + b"\x05" + b[9:], "PeerAddress family at offset 8 is 5"),
        (lambda b: b[:136] + bytes(4) + b[140:], "PeerTargetNameStringLen at offset 136 is 0"),
        (lambda b: b[:5] + b"\x01" + b[6:], "byte 5, in (padding) at offset 4"),
        (lambda b: b[:20] + b"\x01" + b[21:], "byte 20, in PeerAddress.sin_zero at offset 16"),
    ],
)
def test_from_bytes_names_the_field_and_its_offset(mangle, says):
    good = bytes(PeerTargetName("host/x", ("192.0.2.1", 5)))
    with pytest.raises(ValueError) as info:
        PeerTargetName.from_bytes(mangle(good))
    assert says in str(info.value)


def test_lone_surrogates_are_refused_on_every_path():
    """Two lone surrogates that a 16-bit wchar_t would join into one valid pair
    (U+1F600) on Windows: the one-shot call refuses them, first and second time,
    as PeerTargetName and the async call do, before any C code (issue 23)."""
    name = "host/\ud83d\ude00"
    peer = ("192.0.2.1", 5)
    with socket.socket() as s:
        calls = [
            lambda: wsapeer.set_peer_target_name(s, name),
            lambda: wsapeer.set_peer_target_name(s, name),  # a name seen once is kept
            lambda: wsapeer.set_peer_target_name(s, name, peer),
            lambda: wsapeer.set_peer_target_name(s, name, peer),
            lambda: PeerTargetName(name),
            lambda: wsapeer.set_peer_target_name_async(s, name),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="lone surrogate"):
                call()


def test_a_lone_surrogate_never_takes_the_text_path(monkeypatch):
    """The same rule, seen on Linux too: the one-shot call's text path (C
    reads the str as wchar_t) is never given a name with a surrogate, which
    Windows' 16-bit wchar_t would hide from C's check."""
    from wsapeer import _target

    def reached_c(*args):
        raise AssertionError("the text path was given a name with a lone surrogate")

    monkeypatch.setattr(_target, "_text", reached_c)
    with socket.socket() as s:
        for peer in (None, ("192.0.2.1", 5)):
            with pytest.raises(ValueError, match="lone surrogate"):
                wsapeer.set_peer_target_name(s, "host/\ud83d\ude01", peer)
