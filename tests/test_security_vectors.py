"""The security structures against vectors written with the real Windows headers
(tests/windows/kat_vectors.c under Wine; tests/windows/run regenerates them)."""

import json
import pathlib
import uuid

import pytest

from wsapeer import IPsecSettings, SecurityInfo, SecurityProtocol, SecuritySettings
from wsapeer._wsapeer import ffi, lib

DATA = json.loads(
    (pathlib.Path(__file__).parent / "data" / "security_vectors.json").read_text("utf-8")
)


def _uuid(text):
    return None if text is None else uuid.UUID(text)


def test_sizes_match_sdk():
    assert DATA["sizeof"] == {
        "SOCKET_SECURITY_SETTINGS": lib.WSAPEER_SETTINGS_SIZE,
        "SOCKET_SECURITY_SETTINGS_IPSEC": lib.WSAPEER_SETTINGS_IPSEC_SIZE,
        "SOCKET_SECURITY_QUERY_TEMPLATE": lib.WSAPEER_QUERY_TEMPLATE_SIZE,
        "SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2": lib.WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE,
        "SOCKET_SECURITY_QUERY_INFO": lib.WSAPEER_QUERY_INFO_SIZE,
        "SOCKET_SECURITY_QUERY_INFO_IPSEC2": lib.WSAPEER_QUERY_INFO_IPSEC2_SIZE,
    }


def test_vectors_cover_what_the_issue_names():
    settings = DATA["settings"]
    assert any(v["password"] and v["user_name"] for v in settings)  # with credentials
    assert any(v["protocol"] and not v["password"] and not v["user_name"] for v in settings)
    assert any(v["password"] and any(ord(c) > 0x7F for c in v["password"]) for v in settings)
    assert any(v["password"] and any(ord(c) > 0xFFFF for c in v["password"]) for v in settings)
    assert {v["ipsec2"] for v in DATA["templates"]} == {False, True}
    assert {v["ipsec2"] for v in DATA["infos"]} == {False, True}


@pytest.mark.parametrize("vector", DATA["settings"])
def test_settings_bytes(vector):
    if vector["protocol"] == SecurityProtocol.DEFAULT:
        settings = SecuritySettings(flags=vector["flags"])
    else:
        settings = IPsecSettings(
            protocol=vector["protocol"],
            flags=vector["flags"],
            ipsec_flags=vector["ipsec_flags"],
            mm_policy_key=_uuid(vector["mm_policy_key"]),
            qm_policy_key=_uuid(vector["qm_policy_key"]),
            user_name=vector["user_name"],
            domain_name=vector["domain_name"],
            password=vector["password"],
        )
    assert bytes(settings) == bytes.fromhex(vector["hex"])


@pytest.mark.parametrize("vector", DATA["templates"])
def test_query_template_bytes(vector):
    peer = vector["peer"]
    kind, packed, port, flowinfo, scope = lib.WSAPEER_PEER_NONE, b"", 0, 0, 0
    if peer is not None:
        import ipaddress

        address = ipaddress.ip_address(peer[0])
        kind = lib.WSAPEER_PEER_IPV4 if address.version == 4 else lib.WSAPEER_PEER_IPV6
        packed, port = address.packed, peer[1]
        flowinfo, scope = (peer[2], peer[3]) if len(peer) == 4 else (0, 0)
    size = 152 if vector["ipsec2"] else 144
    out = ffi.new("uint8_t[]", size)
    status = lib.wsapeer_query_template_marshal(
        out, size, vector["protocol"], int(vector["ipsec2"]), kind, packed or ffi.NULL, port,
        flowinfo, scope, vector["access_mask"], vector["flags"], vector["field_mask"],
    )  # fmt: skip
    assert status == 0
    assert ffi.buffer(out, size)[:] == bytes.fromhex(vector["hex"])


@pytest.mark.parametrize("vector", DATA["infos"])
def test_query_info_parse(vector):
    raw = bytes.fromhex(vector["hex"])
    info = ffi.new("wsapeer_query_info *")
    assert lib.wsapeer_query_info_parse(raw, len(raw), info) == 0
    assert info.protocol == vector["protocol"]
    assert info.flags == vector["flags"]
    assert info.application_token == vector["application_token"]
    assert info.machine_token == vector["machine_token"]
    assert bool(info.ipsec2) == vector["ipsec2"]
    if vector["ipsec2"]:
        assert info.mm_sa_id == vector["mm_sa_id"]
        assert info.qm_sa_id == vector["qm_sa_id"]
        assert info.negotiation_winerror == vector["negotiation_winerror"]
        assert uuid.UUID(bytes_le=bytes(info.sa_lookup_context)) == _uuid(
            vector["sa_lookup_context"]
        )
    assert lib.wsapeer_query_info_parse(raw, 23, info) == lib.WSAPEER_E_BUFFER


def test_query_info_as_python_object_keeps_unknown_flag_bits():
    vector = next(v for v in DATA["infos"] if v["flags"] & 0x80000000)
    raw = bytes.fromhex(vector["hex"])
    info = ffi.new("wsapeer_query_info *")
    assert lib.wsapeer_query_info_parse(raw, len(raw), info) == 0
    info.application_token = info.machine_token = 0  # not ours to close
    result = SecurityInfo(info)
    assert int(result.flags) == vector["flags"]
    assert result.secured
    assert result.mm_sa_id is None and result.sa_lookup_context is None
