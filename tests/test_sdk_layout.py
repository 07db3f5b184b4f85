"""tests/sdk_layout.py against the known-answer vectors from the real SDK headers.

This is what makes sdk_layout an oracle independent of wsapeer: the vectors
were written by tests/windows/kat_vectors.c (mingw-w64 headers, run under
Wine), and every vector's bytes must decode to the fields the vector states
and be rebuilt byte for byte. The negative checks show that the strictness
the model-based tests rely on (sizes, padding, units) is really there.
"""

import ipaddress
import json
import pathlib
import struct
import uuid

import pytest
import sdk_layout as sdk
from conftest import load_vectors

PTN = load_vectors()
SECURITY = json.loads(
    (pathlib.Path(__file__).parent / "data" / "security_vectors.json").read_text("utf-8")
)


def _peer(raw):
    """A vector's peer as the decoders give it (IPv6 always with flowinfo and scope id)."""
    if raw is None:
        return None
    host, port, *rest = raw
    address = ipaddress.ip_address(host)
    if address.version == 6:
        rest = [*rest, 0, 0][:2]
    return (str(address), port, *rest)


def _uuid(text):
    return None if text is None else uuid.UUID(text)


def _ptn_id(vector):
    name = vector["target_name"]
    short = name if len(name) < 30 else f"{name[:10]}...({len(name)} chars)"
    return f"{short}-{vector['protocol']}-{vector['peer']}"


def _settings(vector):
    return sdk.Settings(
        vector["protocol"],
        vector["flags"],
        vector["ipsec_flags"],
        _uuid(vector["mm_policy_key"]),
        _uuid(vector["qm_policy_key"]),
        vector["user_name"],
        vector["domain_name"],
        vector["password"],
    )


def _template(vector):
    return sdk.QueryTemplate(
        vector["protocol"],
        _peer(vector["peer"]),
        vector["access_mask"],
        vector["ipsec2"],
        vector["flags"],
        vector["field_mask"],
    )


def _refused(decode, data, match=None):
    with pytest.raises(sdk.LayoutError, match=match):
        decode(bytes(data))


def _patch(data, offset, new):
    data = bytearray(data)
    data[offset : offset + len(new)] = new
    return bytes(data)


# ---- sizes ---------------------------------------------------------------------------


def test_sizes_are_the_sdk_sizes():
    assert PTN["sizeof_SOCKET_PEER_TARGET_NAME"] == sdk.SIZEOF["SOCKET_PEER_TARGET_NAME"]
    for name, size in SECURITY["sizeof"].items():
        if name in sdk.SIZEOF:
            assert sdk.SIZEOF[name] == size, name


# ---- SOCKET_PEER_TARGET_NAME ---------------------------------------------------------


@pytest.mark.parametrize("vector", PTN["vectors"], ids=_ptn_id)
def test_peer_target_name_vectors_decode_and_rebuild(vector):
    raw = bytes.fromhex(vector["hex"])
    fields = (vector["target_name"], _peer(vector["peer"]), vector["protocol"])
    assert sdk.decode_peer_target_name(raw) == fields
    assert sdk.build_peer_target_name(*fields) == raw


def test_peer_target_name_literal_reading():
    """One vector spelled out, so that the expected values do not pass through
    the same ipaddress formatting as the decoder's."""
    [vector] = [v for v in PTN["vectors"] if v["peer"] == ["192.0.2.1", 500]]
    assert sdk.decode_peer_target_name(bytes.fromhex(vector["hex"])) == (
        "host/peer.example.com",
        ("192.0.2.1", 500),
        1,
    )


def test_ipsec2_length_counts_bytes_and_the_others_count_units():
    by_protocol = {
        v["protocol"]: v for v in PTN["vectors"] if all(ord(c) < 0x80 for c in v["target_name"])
    }
    for protocol, vector in by_protocol.items():
        raw = bytes.fromhex(vector["hex"])
        units = len(vector["target_name"])
        declared = struct.unpack_from("<I", raw, sdk.PTN_NAME_LEN)[0]
        assert declared == (2 * units if protocol == sdk.PROTOCOL_IPSEC2 else units)
        assert len(raw) == sdk.PTN_SIZE + 2 * units


def _v6_vector():
    # IPv6 with a port, a flowinfo and a scope id that all read differently reversed.
    [vector] = [v for v in PTN["vectors"] if v["target_name"] == "cifs/fileserver.corp.example"]
    return vector, bytes.fromhex(vector["hex"])


def test_swapped_port_or_flowinfo_does_not_decode_to_the_vector():
    """The mistake issue 11 is about: the oracle reads network byte order."""
    vector, raw = _v6_vector()
    port = sdk.PTN_ADDRESS + sdk.SA_PORT
    flow = sdk.PTN_ADDRESS + sdk.SIN6_FLOWINFO
    scope = sdk.PTN_ADDRESS + sdk.SIN6_SCOPE_ID
    for start, size in ((port, 2), (flow, 4), (scope, 4)):
        swapped = _patch(raw, start, raw[start : start + size][::-1])
        assert swapped != raw
        assert sdk.decode_peer_target_name(swapped).peer != _peer(vector["peer"])


def _default_vector():
    [vector] = [v for v in PTN["vectors"] if v["protocol"] == 0 and v["peer"] is None][:1]
    return bytes.fromhex(vector["hex"])


def _ipsec2_vector():
    [vector] = [v for v in PTN["vectors"] if v["protocol"] == 2 and len(v["target_name"]) < 30][:1]
    return bytes.fromhex(vector["hex"])


def _declared(raw, delta):
    value = struct.unpack_from("<I", raw, sdk.PTN_NAME_LEN)[0] + delta
    return _patch(raw, sdk.PTN_NAME_LEN, struct.pack("<I", value))


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda r: r[:-2], "means"),  # one code unit short
        (lambda r: r + b"\0\0", "means"),  # a NUL the count does not cover
        (lambda r: _declared(r, 1), "means"),  # counted, not sent
        (lambda r: _declared(r + b"\0\0", 1), "NUL"),  # a counted terminator
        (lambda r: _patch(r, sdk.PTN_PADDING, b"\1"), "padding before PeerAddress"),
        (lambda r: _patch(r, len(r) - 1, b"\1"), "tail padding"),
        (lambda r: _patch(r, sdk.PTN_PROTOCOL, b"\3"), "SecurityProtocol 3"),
        (lambda r: _patch(r, sdk.PTN_ADDRESS, b"\x0a"), "address family 10"),  # Linux's AF_INET6
        (lambda r: _patch(r, sdk.PTN_STRINGS, b"\x00\xd8"), "UTF-16"),  # lone surrogate
        (lambda r: r[: sdk.PTN_SIZE - 1], "needs 144"),
    ],
    ids=["short", "long", "overcounted", "terminator", "padding", "tail", "protocol",
         "linux-family", "surrogate", "truncated"],
)  # fmt: skip
def test_peer_target_name_refuses_corruption(corrupt, match):
    _refused(sdk.decode_peer_target_name, corrupt(_default_vector()), match)


def test_peer_target_name_refuses_ipv4_garbage_and_odd_ipsec2_lengths():
    [vector] = [v for v in PTN["vectors"] if v["peer"] == ["192.0.2.1", 500]]
    raw = bytes.fromhex(vector["hex"])
    _refused(sdk.decode_peer_target_name, _patch(raw, sdk.PTN_ADDRESS + sdk.SIN_ZERO, b"\1"))
    storage_rest = sdk.PTN_ADDRESS + sdk.SOCKADDR_IN_SIZE
    _refused(sdk.decode_peer_target_name, _patch(raw, storage_rest, b"\1"), "SOCKADDR_STORAGE")
    # Read as units, an IPSEC2 name's byte count would double the size.
    ipsec2 = _ipsec2_vector()
    _refused(sdk.decode_peer_target_name, _patch(ipsec2, sdk.PTN_PROTOCOL, b"\1"), "means")
    _refused(sdk.decode_peer_target_name, _declared(ipsec2, 1), "odd")


# ---- SOCKADDR_IN / SOCKADDR_IN6 ------------------------------------------------------


@pytest.mark.parametrize("vector", [v for v in PTN["vectors"] if v["peer"]], ids=_ptn_id)
def test_sockaddr_from_every_vector(vector):
    raw = bytes.fromhex(vector["hex"])
    ipv6 = ":" in vector["peer"][0]
    size = sdk.SOCKADDR_IN6_SIZE if ipv6 else sdk.SOCKADDR_IN_SIZE
    sockaddr = raw[sdk.PTN_ADDRESS : sdk.PTN_ADDRESS + size]
    assert sdk.decode_sockaddr(sockaddr) == _peer(vector["peer"])
    assert sdk.build_sockaddr(tuple(vector["peer"])) == sockaddr


def test_sockaddr_refuses_wrong_sizes_and_families():
    v4 = sdk.build_sockaddr(("192.0.2.1", 500))
    v6 = sdk.build_sockaddr(("2001:db8::1", 500, 1, 2))
    assert sdk.decode_sockaddr(v4) == ("192.0.2.1", 500)
    assert sdk.decode_sockaddr(v6) == ("2001:db8::1", 500, 1, 2)
    _refused(sdk.decode_sockaddr, v4 + b"\0", "16 bytes but 17")
    _refused(sdk.decode_sockaddr, v6[:-1], "SOCKADDR_IN6 is 28")
    _refused(sdk.decode_sockaddr, v6[:16], "SOCKADDR_IN6 is 28")
    _refused(sdk.decode_sockaddr, _patch(v6, 0, b"\x0a"), "family 10")
    _refused(sdk.decode_sockaddr, _patch(v4, sdk.SIN_ZERO, b"\1"), "sin_zero")
    _refused(sdk.decode_sockaddr, b"", "at least")
    _refused(sdk.decode_sockaddr_storage, v4, "128")


# ---- SOCKET_SECURITY_SETTINGS(_IPSEC) -------------------------------------------------


@pytest.mark.parametrize("vector", SECURITY["settings"])
def test_settings_vectors_decode_and_rebuild(vector):
    raw = bytes.fromhex(vector["hex"])
    assert sdk.decode_security_settings(raw) == _settings(vector)
    assert sdk.build_security_settings(_settings(vector)) == raw


def _credentials_vector():
    [vector] = [v for v in SECURITY["settings"] if v["user_name"] and v["password"]][:1]
    return vector, bytes.fromhex(vector["hex"])


def test_settings_strings_are_in_order_and_lengths_in_bytes():
    vector, raw = _credentials_vector()
    lengths = struct.unpack_from("<III", raw, sdk.IPSEC_USER_LEN)
    names = (vector["user_name"], vector["domain_name"], vector["password"])
    assert lengths == tuple(len(s.encode("utf-16-le")) for s in names)
    assert raw[sdk.IPSEC_STRINGS :].startswith("".join(names).encode("utf-16-le"))


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda r: r[:-2], "but the buffer is"),
        (lambda r: r + b"\0\0", "but the buffer is"),
        (lambda r: _patch(r, sdk.IPSEC_RESERVED, b"\1"), "Reserved"),
        (lambda r: _patch(r, sdk.IPSEC_RESERVED2 - 1, b"\1"), "Reserved"),
        (lambda r: _patch(r, len(r) - 1, b"\1"), "tail padding"),
        (lambda r: _patch(r, sdk.SETTINGS_PROTOCOL, b"\3"), "SecurityProtocol 3"),
        (lambda r: _patch(r, sdk.SETTINGS_PROTOCOL, b"\0"), "DEFAULT settings are 8"),
        (lambda r: r[: sdk.IPSEC_SIZE - 1], "needs 88"),
    ],
    ids=["short", "long", "reserved", "reserved-padding", "tail", "protocol", "default-long",
         "truncated"],
)  # fmt: skip
def test_settings_refuse_corruption(corrupt, match):
    _refused(sdk.decode_security_settings, corrupt(_credentials_vector()[1]), match)


def test_settings_refuse_units_for_bytes():
    """Lengths in code units (half the bytes) leave bytes over: refused."""
    _, raw = _credentials_vector()
    lengths = struct.unpack_from("<III", raw, sdk.IPSEC_USER_LEN)
    halved = _patch(raw, sdk.IPSEC_USER_LEN, struct.pack("<III", *(n // 2 for n in lengths)))
    _refused(sdk.decode_security_settings, halved, "but the buffer is")
    odd = _patch(raw, sdk.IPSEC_USER_LEN, struct.pack("<II", lengths[0] - 1, lengths[1] + 1))
    _refused(sdk.decode_security_settings, odd, "odd")
    _refused(sdk.decode_security_settings, bytes(4), "needs 8")
    _refused(sdk.decode_security_settings, bytes(9), "DEFAULT settings are 8")


# ---- SOCKET_SECURITY_QUERY_TEMPLATE(_IPSEC2) ------------------------------------------


@pytest.mark.parametrize("vector", SECURITY["templates"])
def test_template_vectors_decode_and_rebuild(vector):
    raw = bytes.fromhex(vector["hex"])
    assert sdk.decode_query_template(raw) == _template(vector)
    assert sdk.build_query_template(_template(vector)) == raw


def _template_raw(ipsec2):
    [vector] = [v for v in SECURITY["templates"] if v["ipsec2"] == ipsec2 and v["peer"]][:1]
    return bytes.fromhex(vector["hex"])


@pytest.mark.parametrize(
    "ipsec2, corrupt, match",
    [
        (False, lambda r: r + bytes(4), "144 or 152"),
        (True, lambda r: r[:-4], "144 or 152"),
        (False, lambda r: _patch(r, sdk.QT_PADDING, b"\1"), "padding before PeerAddress"),
        (False, lambda r: _patch(r, sdk.QT2_FLAGS, b"\1"), "tail padding"),
        (True, lambda r: _patch(r, sdk.QT2_SIZE - 1, b"\1"), "tail padding"),
        (True, lambda r: _patch(r, sdk.QT_PROTOCOL, b"\1"), "IPSEC2 template"),
        (True, lambda r: _patch(r, sdk.QT_ADDRESS, b"\x0a"), "family 10"),
        (False, lambda r: _patch(r, sdk.QT_ACCESS_MASK - 1, b"\1"), "SOCKADDR_STORAGE"),
    ],
    ids=["long", "short", "padding", "tail", "tail-ipsec2", "protocol", "linux-family",
         "storage"],
)  # fmt: skip
def test_template_refuses_corruption(ipsec2, corrupt, match):
    _refused(sdk.decode_query_template, corrupt(_template_raw(ipsec2)), match)
