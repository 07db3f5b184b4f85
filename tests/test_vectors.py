"""bytes(PeerTargetName) against vectors written with the real Windows headers.

tests/data/peer_target_name_vectors.json comes from tests/windows/kat_vectors.c,
compiled by mingw-w64 against mstcpip.h/ws2tcpip.h and run under Wine
(tests/windows/run regenerates it and fails if it differs).

What reaches Fwpuclnt is checked against the vectors themselves and
tests/sdk_layout.py, not against the library's parser: a mistake made in both
the marshaller and the parser would round-trip.
"""

import ipaddress
import socket

import pytest
import sdk_layout as sdk
from conftest import load_vectors

import wsapeer
from wsapeer import PeerTargetName, SecurityProtocol
from wsapeer._wsapeer import lib
from wsapeer.testing import contract_model

VECTORS = load_vectors()["vectors"]


def _peer(raw):
    return None if raw is None else tuple(raw)


def _id(vector):
    name = vector["target_name"]
    short = name if len(name) < 30 else f"{name[:10]}...({len(name)} chars)"
    return f"{short}-{vector['protocol']}-{vector['peer']}"


def test_header_size_matches_sdk():
    assert load_vectors()["sizeof_SOCKET_PEER_TARGET_NAME"] == lib.WSAPEER_PTN_HEADER_SIZE
    assert sdk.PTN_SIZE == lib.WSAPEER_PTN_HEADER_SIZE


def test_vectors_cover_the_cases_the_issue_names():
    peers = [v["peer"] for v in VECTORS]
    assert any(p is None for p in peers)
    assert any(p and len(p) == 2 for p in peers)
    assert any(p and len(p) == 4 and p[2] and p[3] for p in peers)  # flowinfo and scope id
    assert any(v["protocol"] == SecurityProtocol.IPSEC2 for v in VECTORS)
    assert any(any(ord(c) > 0xFFFF for c in v["target_name"]) for v in VECTORS)
    assert any(len(v["target_name"]) == lib.WSAPEER_MAX_NAME_UNITS for v in VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=_id)
def test_bytes_equal_sdk_vector(vector):
    target = PeerTargetName(vector["target_name"], _peer(vector["peer"]), vector["protocol"])
    expected = bytes.fromhex(vector["hex"])
    assert len(bytes(target)) == len(expected) == target.size
    assert bytes(target) == expected


def _socket_for(peer):
    if peer is None:
        return socket.socket()  # TCP: no peer
    family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
    return socket.socket(family, socket.SOCK_DGRAM)


@pytest.mark.parametrize("vector", VECTORS, ids=_id)
@pytest.mark.needs_model
def test_fwpuclnt_receives_the_sdk_vector(vector):
    """Through the public call and the model: the bytes accepted are the vector's,
    exactly once, and decode (SDK layout) to the vector's fields."""
    expected = bytes.fromhex(vector["hex"])
    peer = _peer(vector["peer"])
    with contract_model() as model, _socket_for(peer) as sock:
        wsapeer.set_peer_target_name(sock, vector["target_name"], peer, vector["protocol"])
        [record] = model.records
    assert (record.sequence, record.function) == (1, "WSASetSocketPeerTargetName")
    assert record.data == expected
    name, decoded_peer, protocol = sdk.decode_peer_target_name(record.data)
    assert (name, protocol) == (vector["target_name"], vector["protocol"])
    if peer is None:
        assert decoded_peer is None
    else:
        host, *numbers = vector["peer"]
        assert ipaddress.ip_address(decoded_peer[0]) == ipaddress.ip_address(host)
        assert list(decoded_peer[1:]) == numbers


@pytest.mark.parametrize("vector", VECTORS, ids=_id)
def test_from_bytes_recovers_every_field(vector):
    target = PeerTargetName.from_bytes(bytes.fromhex(vector["hex"]))
    assert target.target_name == vector["target_name"]
    assert target.protocol == vector["protocol"]
    if vector["peer"] is None:
        assert target.peer is None
    else:
        host, port, *rest = vector["peer"]
        assert ipaddress.ip_address(target.peer[0]) == ipaddress.ip_address(host)
        assert target.peer[1] == port
        assert list(target.peer[2:]) == (rest or [])
