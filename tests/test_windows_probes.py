"""The probes tests/windows_real asks real Windows (windows_real/probes.py),
run here against the contract model, and their verdicts checked against
outcomes each reading of the open questions predicts: the one Windows run
that can answer them must not be wasted on a probe that cannot tell."""

import socket
import sys
from pathlib import Path

import pytest

import wsapeer
from wsapeer import SecurityProtocol
from wsapeer._wsapeer import ffi, lib
from wsapeer.testing import contract_model

sys.path.insert(0, str(Path(__file__).parent / "windows_real"))
import probes

OK, SHORT = 0, probes.WSAEMSGSIZE


def predicted(unit, base):
    return {
        what: OK if length >= base + field * unit else SHORT
        for what, (field, length) in probes.probes().items()
    }


def test_each_reading_is_told_apart():
    for name, (unit, base) in probes.HYPOTHESES.items():
        assert probes.consistent(predicted(unit, base)) == [name]
    assert probes.consistent(dict.fromkeys(probes.probes(), OK)) == ["not checked at the call"]


def test_the_verdict_fails_when_windows_reads_the_other_unit():
    units = predicted(2, probes.STRINGS_AT)
    nbytes = predicted(1, probes.SIZEOF)
    assert probes.verdict(SecurityProtocol.DEFAULT, units, OK) is None
    assert probes.verdict(SecurityProtocol.IPSEC2, nbytes, OK) is None
    assert "wsapeer writes units" in probes.verdict(SecurityProtocol.DEFAULT, nbytes, OK)
    assert "wsapeer writes units" in probes.verdict(SecurityProtocol.IPSEC, nbytes, OK)
    assert "wsapeer writes bytes" in probes.verdict(SecurityProtocol.IPSEC2, units, OK)
    everything = dict.fromkeys(probes.probes(), OK)
    assert probes.verdict(SecurityProtocol.IPSEC2, everything, OK) is None  # cannot tell: recorded
    assert "refused wsapeer's own" in probes.verdict(SecurityProtocol.DEFAULT, units, SHORT)
    nonsense = dict.fromkeys(probes.probes(), SHORT)
    assert "no hypothesis" in probes.verdict(SecurityProtocol.DEFAULT, nonsense, OK)


def test_the_probe_buffers_are_what_they_say():
    for what, (field, length) in probes.probes().items():
        raw = probes.crafted(SecurityProtocol.DEFAULT, None, field, length)
        assert len(raw) == length, what
        assert int.from_bytes(raw[probes.LENGTH_AT : probes.LENGTH_AT + 4], "little") == field
        name = raw[probes.STRINGS_AT :].decode("utf-16-le").rstrip("\0")
        assert probes.NAME.startswith(name) and name, what
        assert not raw[probes.STRINGS_AT + 2 * probes.UNITS :].strip(b"\0")


@pytest.mark.parametrize("kind", ["tcp", "udp"])
@pytest.mark.parametrize("protocol", list(probes.WSAPEER_UNIT), ids=lambda p: p.name)
@pytest.mark.needs_model
def test_length_probes_against_the_model(kind, protocol):
    """The model checks the buffer against the length it declares, in
    wsapeer's unit: the probes must find exactly that reading."""
    with contract_model(strict=True) as model:
        outcomes, own, settings = probes.length_probes(kind, protocol)
        secured = [r for r in model.records if r.function == "WSASetSocketSecurity"]
    assert settings.startswith("IPsecSettings" if protocol else "SecuritySettings")
    assert {r.data[0] for r in secured} == {int(protocol)}  # the name's protocol
    unit = probes.WSAPEER_UNIT[protocol]
    readings = probes.consistent(outcomes)
    assert own == OK
    assert readings and all(r.startswith("units" if unit == 2 else "bytes") for r in readings)
    assert probes.verdict(protocol, outcomes, own) is None


@pytest.mark.parametrize("ipsec2", [False, True])
@pytest.mark.parametrize("kind", ["tcp", "udp"])
@pytest.mark.needs_model
def test_query_size_probe_against_the_model(kind, ipsec2):
    full = lib.WSAPEER_QUERY_INFO_IPSEC2_SIZE if ipsec2 else lib.WSAPEER_QUERY_INFO_SIZE
    with contract_model(strict=True):
        srv = wsapeer.create_server(("127.0.0.1", 0))
        client = wsapeer.create_connection(srv.getsockname(), "host/localhost")
        conn, _ = srv.accept()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        wsapeer.set_socket_security(udp)
        sock, peer = (conn, None) if kind == "tcp" else (udp, ("127.0.0.1", 6500))
        seen = probes.query_size_probe(sock, peer, 0x8 if kind == "tcp" else 0, ipsec2)
        for s in (conn, client, srv, udp):
            s.close()
    # The model's reading: WSAEFAULT on TCP (the example), WSAEMSGSIZE on UDP
    # (the table), the needed length written back; a full buffer answers.
    code = probes.WSAEFAULT if kind == "tcp" else probes.WSAEMSGSIZE
    assert seen == {0: (code, full), full - 1: (code, full), full: (OK, full)}
    assert probes.retry_problem(seen) is None


@pytest.mark.needs_model
def test_udp_query_without_a_peer_against_the_model():
    with contract_model(strict=True), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        seen = probes.udp_query_without_a_peer(u)
    # The page's WSAEMSGSIZE row without a template; the model's WSAEAFNOSUPPORT with one.
    assert seen == {"no template": 10040, "access mask": 10047, "ipsec2": 10047}


def test_retry_problem_names_what_the_shim_cannot_handle():
    full = lib.WSAPEER_QUERY_INFO_SIZE
    assert probes.retry_problem({0: (probes.WSAEFAULT, 24), 24: (OK, 24)}) is None
    assert probes.retry_problem({full: (probes.WSAEMSGSIZE, 80)}) is None  # more: retried
    assert "gives up" in probes.retry_problem({0: (probes.WSAEMSGSIZE, 0)})
    assert "gives up" in probes.retry_problem({0: (probes.WSAEMSGSIZE, 5000)})
    assert "gives up" in probes.retry_problem({full: (probes.WSAEFAULT, full)})


@pytest.mark.needs_model
def test_the_probe_closes_the_tokens_it_is_given():
    with contract_model(strict=True) as model:
        model.pretend_peer(wsapeer.SecurityInfoFlags.SECURED, tokens=True)
        srv = wsapeer.create_server(("127.0.0.1", 0))
        client = wsapeer.create_connection(srv.getsockname(), "host/localhost")
        conn, _ = srv.accept()
        seen = probes.query_size_probe(conn, None, 0x8, False)
        assert seen[24][0] == OK
        assert model.open_tokens() == 0  # strict mode would also say token-left-open
        for s in (conn, client, srv):
            s.close()


@pytest.mark.needs_model
def test_the_probe_refuses_a_buffer_above_the_shim_limit():
    out = ffi.new("uint32_t *")
    with contract_model():
        assert lib.wsapeer_query_size_probe(0, ffi.NULL, 0, 4097, out) == lib.WSAPEER_E_ARGUMENT
        assert lib.wsapeer_query_size_probe(0, ffi.NULL, 0, 0, ffi.NULL) == lib.WSAPEER_E_ARGUMENT
