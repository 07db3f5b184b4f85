"""Python API -> cffi -> shim -> contract model, end to end on real sockets."""

import os
import socket
import sys
import threading
from pathlib import Path

import pytest
import sdk_layout as sdk

import wsapeer
from wsapeer import PeerTargetName, SecurityProtocol, WinsockError
from wsapeer.testing import contract_model

SET_NAME = "WSASetSocketPeerTargetName"

# One past the largest handle a socket of this platform can have (2**31 - 1
# off Windows, a pointer's range on it: tests/test_validation.py checks it).
BEYOND = wsapeer._socket.MAX_HANDLE + 1


def winerror(call):
    with pytest.raises(WinsockError) as info:
        call()
    return info.value.winerror


def names_sent(model, sock):
    """The names the model holds for sock, read with the SDK layout, not wsapeer's
    parser (issue 11: a mistake made in both would read back as intended)."""
    return [sdk.decode_peer_target_name(raw) for raw in sdk.sent(model, sock, SET_NAME)]


@pytest.mark.needs_model
def test_tcp_before_connect_records_the_exact_bytes():
    with contract_model() as model, socket.socket() as s:
        wsapeer.set_peer_target_name(s, "host/server.example.com")
        [record] = model.records
        assert record.function == SET_NAME
        assert record.handle == s.fileno()
        assert record.data == sdk.build_peer_target_name("host/server.example.com")
        assert sdk.decode_peer_target_name(record.data) == ("host/server.example.com", None, 0)
        # The public decoder agrees (never the only check of what was sent).
        assert model.peer_target_names(s) == [PeerTargetName("host/server.example.com")]


@pytest.mark.needs_model
def test_prepared_target_and_ipv6():
    target = PeerTargetName(
        "host/peer.example.com", ("2001:db8::1", 500, 7, 3), SecurityProtocol.IPSEC2
    )
    with contract_model() as model, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
        target.apply(u)
        target.apply(u.fileno())
        # The second call replaced the first: one record, the second sequence number.
        assert [r.sequence for r in model.records] == [2]
        assert names_sent(model, u) == [
            ("host/peer.example.com", ("2001:db8::1", 500, 7, 3), SecurityProtocol.IPSEC2)
        ]
        assert model.peer_target_names(u) == [target]


@pytest.mark.needs_model
def test_udp_several_peers_and_replacement():
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        for i in range(5):
            wsapeer.set_peer_target_name(u, f"host/peer{i}", ("192.0.2.1", 500 + i))
        wsapeer.set_peer_target_name(u, "host/replaced", ("192.0.2.1", 502))
        assert names_sent(model, u) == [
            ("host/peer0", ("192.0.2.1", 500), 0),
            ("host/peer1", ("192.0.2.1", 501), 0),
            ("host/peer3", ("192.0.2.1", 503), 0),
            ("host/peer4", ("192.0.2.1", 504), 0),
            ("host/replaced", ("192.0.2.1", 502), 0),
        ]
        assert [r.sequence for r in model.records] == [1, 2, 4, 5, 6]


@pytest.mark.needs_model
def test_connected_tcp_is_wsaeisconn():
    with contract_model() as model, socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname()) as client:
            conn, _ = server.accept()
            with conn:
                assert winerror(lambda: wsapeer.set_peer_target_name(client, "host/x")) == 10056
                assert winerror(lambda: wsapeer.set_peer_target_name(conn, "host/x")) == 10056
        assert model.records == []


@pytest.mark.needs_model
def test_connected_udp_is_wsaeisconn():
    with contract_model(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.connect(("127.0.0.1", 9))
        assert (
            winerror(lambda: wsapeer.set_peer_target_name(u, "host/x", ("127.0.0.1", 9))) == 10056
        )


@pytest.mark.needs_model
def test_udp_zero_peer_is_wsaeinval_from_the_model_too():
    # An int handle hides the socket type from Python: the model decides.
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        assert winerror(lambda: wsapeer.set_peer_target_name(u.fileno(), "host/x")) == 10022
        assert (
            winerror(lambda: wsapeer.set_peer_target_name(u.fileno(), "host/x", ("0.0.0.0", 0)))
            == 10022
        )
        wsapeer.set_peer_target_name(u.fileno(), "host/x", ("0.0.0.0", 500))
        assert names_sent(model, u) == [("host/x", ("0.0.0.0", 500), 0)]


@pytest.mark.needs_model
def test_not_a_socket_is_wsaenotsock():
    r, w = os.pipe()
    try:
        with contract_model():
            assert winerror(lambda: wsapeer.set_peer_target_name(r, "host/x")) == 10038
            # A handle no socket of this platform can have never reaches C.
            with pytest.raises(ValueError, match="does not fit this platform's sockets"):
                wsapeer.set_peer_target_name(BEYOND, "host/x")
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.needs_model
def test_closed_socket_handle_is_wsaenotsock():
    s = socket.socket()
    handle = s.detach()
    # Closed as a socket (os.close cannot close a Windows SOCKET), with its
    # family and type given: CPython would otherwise ask getsockname, which
    # Winsock refuses on an unbound socket.
    socket.socket(socket.AF_INET, socket.SOCK_STREAM, fileno=handle).close()
    with contract_model():
        assert winerror(lambda: wsapeer.set_peer_target_name(handle, "host/x")) == 10038


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="AF_UNIX: Windows CPython has none")
@pytest.mark.needs_model
def test_wrong_family_is_wsaeafnosupport_from_the_model():
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b, contract_model():
        assert winerror(lambda: wsapeer.set_peer_target_name(a.fileno(), "host/x")) == 10022


@pytest.mark.needs_model
def test_model_checks_lengths_in_c():
    from wsapeer._wsapeer import ffi, lib

    # Built from the SDK layout: the model's checks are tested apart from wsapeer's marshaller.
    raw = sdk.build_peer_target_name("host/x")
    with contract_model() as model, socket.socket() as s:
        call = lib.wsapeer_set_peer_target_name
        assert call(s.fileno(), ffi.NULL, len(raw)) == 10014
        assert call(s.fileno(), raw, 143) == 10040
        assert call(s.fileno(), raw, len(raw) - 6) == 10040  # shorter than the declared name
        assert call(s.fileno(), b"\x03" + raw[1:], len(raw)) == 10022  # protocol past IPSEC2
        assert model.records == []  # refused calls leave no record
        assert call(s.fileno(), raw, len(raw)) == 0
        assert [r.data for r in model.records] == [raw]


@pytest.mark.needs_model
def test_outside_the_block_nothing_changes():
    with socket.socket() as s:
        with contract_model():
            wsapeer.set_peer_target_name(s, "host/x")
        if sys.platform != "win32":
            with pytest.raises(wsapeer.UnsupportedPlatformError):
                wsapeer.set_peer_target_name(s, "host/x")


@pytest.mark.needs_model
def test_records_are_frozen_after_the_block():
    with contract_model() as model, socket.socket() as s:
        wsapeer.set_peer_target_name(s, "host/x")
    assert len(model.records) == 1
    with contract_model() as second:
        assert second.records == []
    assert len(model.records) == 1


@pytest.mark.needs_model
def test_does_not_nest():
    with contract_model(), pytest.raises(RuntimeError, match="does not nest"), contract_model():
        pass


@pytest.mark.needs_model(reason="reads the model's own switch, lib.wsapeer_model_enabled")
def test_environment_cannot_switch_it_on(monkeypatch):
    for name in ("WSAPEER_MODEL", "WSAPEER_CONTRACT_MODEL", "WSAPEER_TESTING"):
        monkeypatch.setenv(name, "1")
    from wsapeer._wsapeer import lib

    assert lib.wsapeer_model_enabled() == 0
    with socket.socket() as s, pytest.raises(wsapeer.UnsupportedPlatformError):
        wsapeer.set_peer_target_name(s, "host/x")


@pytest.mark.needs_model
def test_threads_share_targets_through_the_model():
    targets = [PeerTargetName(f"host/peer{i}", ("192.0.2.1", 1000 + i)) for i in range(50)]
    errors = []
    barrier = threading.Barrier(8)

    def worker(sock):
        barrier.wait()
        try:
            for _ in range(20):
                for t in targets:
                    t.apply(sock)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with contract_model() as model:
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
        threads = [threading.Thread(target=worker, args=(s,)) for s in socks]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        expected = [(f"host/peer{i}", ("192.0.2.1", 1000 + i), 0) for i in range(50)]
        for s in socks:
            assert sorted(names_sent(model, s), key=lambda t: t.peer[1]) == expected
            s.close()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"flags": 1.5}, TypeError, "flags must be an int"),
        ({"flags": 2**32}, ValueError, "flags must be in"),
        ({"tokens": 1}, TypeError, "tokens must be a bool"),
        ({"mm_sa_id": 2**64}, ValueError, "mm_sa_id"),
        ({"qm_sa_id": -1}, ValueError, "qm_sa_id"),
        ({"negotiation_winerror": "5"}, TypeError, "negotiation_winerror"),
        ({"negotiation_winerror": True}, TypeError, "negotiation_winerror"),
        ({"sa_lookup_context": "0f6c2f9e-4a4c-4c8e-9d0e-6b1f5f2b8a11"}, TypeError,
         "sa_lookup_context"),
    ],
)  # fmt: skip
@pytest.mark.needs_model
def test_pretend_peer_checks_every_argument(kwargs, exc, match):
    """Found by the docstring review: out-of-range numbers raised OverflowError
    from C, floats were truncated, a str context raised AttributeError."""
    with contract_model() as model:
        with pytest.raises(exc, match=match):
            model.pretend_peer(**kwargs)
        with socket.socket() as s:
            wsapeer.set_socket_security(s)
            assert wsapeer.query_socket_security(s).flags == 0  # nothing changed


@pytest.mark.needs_model
def test_a_peer_of_the_other_family_python_refuses_what_the_model_accepts():
    """The documented split (docs/testing.rst, observation
    test_peer_of_the_other_family): Python refuses an IPv6 peer for an IPv4
    socket.socket; given the raw handle, the model accepts it, as no page
    says Windows would not."""
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        with pytest.raises(ValueError, match="IPv6 address but the socket is IPv4"):
            wsapeer.set_peer_target_name(u, "host/x", ("2001:db8::1", 5))
        wsapeer.set_peer_target_name(u.fileno(), "host/x", ("2001:db8::1", 5))
        assert model.calls(u) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]


UDP_WITHOUT_A_PEER = {"no template": (0, False), "access mask": (0x8, False), "ipsec2": (0, True)}


@pytest.mark.parametrize("what", list(UDP_WITHOUT_A_PEER))
@pytest.mark.needs_model
def test_udp_query_without_a_peer_answers_what_the_docs_promise(what):
    """WSAQuerySocketSecurity's page: a socket that is not TCP needs a template
    (WSAEMSGSIZE row: SecurityQueryTemplateLen below the template's size), and
    its PeerAddress "must specify an address family of AF_INET or AF_INET6"
    (WSAEAFNOSUPPORT row). wsapeer sends no template only when nothing but the
    default information is asked for; with an access mask or ipsec2 it sends
    one whose peer has family 0. The docstring and docs/testing.rst promise
    exactly these codes, and name the observation that settles it."""
    access_mask, ipsec2 = UDP_WITHOUT_A_PEER[what]
    expected = 10040 if what == "no template" else 10047
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        model.pretend_peer(tokens=True)
        wsapeer.set_socket_security(u)
        assert winerror(lambda: wsapeer.query_socket_security(u, None, access_mask, ipsec2)) == (
            expected
        )
        assert model.open_tokens() == 0
    doc = " ".join(wsapeer.query_socket_security.__doc__.split())
    assert "WSAEMSGSIZE (10040): a socket that is not TCP was queried without a peer" in doc
    assert "WSAEAFNOSUPPORT (10047): the same with a template" in doc
    rst = " ".join((Path(__file__).parent.parent / "docs" / "testing.rst").read_text().split())
    assert "``test_udp_query_without_a_peer``" in rst


def _settings_cases():
    """(what, bytes, the code the model answers): SOCKET_SECURITY_SETTINGS(_IPSEC)
    built from the SDK layout (tests/sdk_layout.py), not by wsapeer's marshaller,
    then spoiled one field at a time."""
    import struct

    def put(raw, offset, value):
        return raw[:offset] + struct.pack("<I", value) + raw[offset + 4 :]

    default = sdk.build_security_settings(sdk.Settings(0, 0x2))
    ipsec = sdk.build_security_settings(
        sdk.Settings(1, 0x1, 0x1, user_name="user", domain_name="dom", password="secret")
    )
    user, domain, password = (
        int.from_bytes(ipsec[o : o + 4], "little")
        for o in (sdk.IPSEC_USER_LEN, sdk.IPSEC_DOMAIN_LEN, sdk.IPSEC_PASSWORD_LEN)
    )
    assert len(ipsec) == sdk.IPSEC_SIZE + user + domain + password  # the SDK's own size
    return [
        ("DEFAULT, unknown SecurityFlags bit", put(default, sdk.SETTINGS_FLAGS, 0x4), 10022),
        ("DEFAULT with 80 bytes more", default + bytes(80), 10022),
        ("DEFAULT with an IPsec body", put(ipsec, sdk.SETTINGS_PROTOCOL, 0), 10022),
        ("IPSEC, unknown SecurityFlags bit", put(ipsec, sdk.SETTINGS_FLAGS, 0x8), 10022),
        ("IPSEC, unknown IpsecFlags bit", put(ipsec, sdk.IPSEC_FLAGS, 0x10), 10022),
        # One byte more in the buffer: only the odd length is wrong.
        ("IPSEC, odd UserNameStringLen", put(ipsec, sdk.IPSEC_USER_LEN, user + 1) + b"\0",
         10022),
        ("IPSEC, odd DomainNameStringLen", put(ipsec, sdk.IPSEC_DOMAIN_LEN, domain + 1) + b"\0",
         10022),
        ("IPSEC, odd PasswordStringLen",
         put(ipsec, sdk.IPSEC_PASSWORD_LEN, password + 1) + b"\0", 10022),
        ("IPSEC, password counted in units", put(ipsec, sdk.IPSEC_PASSWORD_LEN, password // 2),
         10022),
        ("IPSEC, strings past the buffer", put(ipsec, sdk.IPSEC_PASSWORD_LEN, password + 6),
         10040),
        ("IPSEC, 2 bytes more than its strings", ipsec + bytes(2), 10022),
        ("IPSEC, Reserved set", ipsec[:44] + b"\x01" + ipsec[45:], 10022),
        ("IPSEC, Reserved2 set", ipsec[:64] + b"\x01" + ipsec[65:], 10022),
        ("IPSEC in DEFAULT's 8 bytes", ipsec[: sdk.SETTINGS_SIZE], 10040),
        ("DEFAULT", default, 0),
        ("IPSEC", ipsec, 0),
        ("IPSEC2", put(ipsec, sdk.SETTINGS_PROTOCOL, 2), 0),
    ]  # fmt: skip


SETTINGS_CASES = _settings_cases()


@pytest.mark.parametrize("what, raw, code", SETTINGS_CASES, ids=[c[0] for c in SETTINGS_CASES])
@pytest.mark.needs_model
def test_model_validates_settings_as_strictly_as_target_names(what, raw, code):
    """Unknown flag bits, odd string lengths (bytes of UTF-16), strings past the
    buffer, reserved fields set and a size other than the protocol's structure
    (and its strings) are refused, and leave no record."""
    from wsapeer._wsapeer import lib

    with contract_model() as model, socket.socket() as s:
        assert lib.wsapeer_set_socket_security(s.fileno(), raw, len(raw)) == code, what
        assert [r.data for r in model.records] == ([raw] if code == 0 else [])
