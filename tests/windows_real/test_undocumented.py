"""What Microsoft's pages leave open and wsapeer depends on, asked of the real
Fwpuclnt.dll (probes.py says how). Each test records what it saw with
observe(); the wheels workflow puts every architecture's observations in its
job summary. Where wsapeer's own convention could be wrong, the test fails
loudly instead of only recording."""

import socket

import pytest
from probes import (
    INSECURE,
    WSAPEER_UNIT,
    consistent,
    delete_status,
    length_probes,
    query_size_probe,
    retry_problem,
    udp_query_without_a_peer,
    verdict,
)

import wsapeer
from wsapeer import PeerTargetName
from wsapeer._wsapeer import ffi, lib


@pytest.mark.parametrize("kind", ["tcp", "udp"])
@pytest.mark.parametrize("protocol", list(WSAPEER_UNIT), ids=lambda p: p.name)
def test_string_length_unit(observe, kind, protocol):
    """PeerTargetNameStringLen: code units or bytes, for this protocol?"""
    outcomes, own_status, settings = length_probes(kind, protocol)
    observe("socket security", settings)
    observe("status per probe (0: accepted)", outcomes)
    observe("wsapeer's own buffer", own_status)
    observe("readings consistent with the outcomes", consistent(outcomes))
    problem = verdict(protocol, outcomes, own_status)
    observe("verdict", problem or "wsapeer's convention stands")
    assert problem is None, problem


@pytest.fixture
def connection():
    srv = socket.socket()
    wsapeer.set_socket_security(srv, INSECURE)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    client = socket.socket()
    wsapeer.secure_client(client, "host/localhost", INSECURE)
    client.connect(srv.getsockname())
    conn, _ = srv.accept()
    yield conn
    for s in (conn, client, srv):
        s.close()


@pytest.mark.parametrize("template", ["none", "v1", "ipsec2"])
@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_query_size_probe(observe, request, kind, template):
    """What WSAQuerySocketSecurity says to a short answer buffer (the page's
    table: WSAEMSGSIZE; the "Using Secure Socket Extensions" example:
    WSAEFAULT) and the length it writes back; then the library's query."""
    if kind == "udp" and template == "none":
        pytest.skip("a UDP query names its peer: it always has a template")
    ipsec2 = template == "ipsec2"
    access = 0x8 if template == "v1" and kind == "tcp" else 0  # a TCP template: ask for tokens
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        if kind == "tcp":
            sock, peer = request.getfixturevalue("connection"), None
        else:
            wsapeer.set_socket_security(udp, INSECURE)
            sock, peer = udp, ("127.0.0.1", 6500)
        seen = query_size_probe(sock, peer, access, ipsec2)
        observe("(status, length written back) per buffer size", seen)
        try:
            with wsapeer.query_socket_security(sock, peer, access, ipsec2) as info:
                observe("the library's query", int(info.flags))
        except wsapeer.WinsockError as exc:
            observe("the library's query", exc.winerror)
            assert exc.winerror not in (10014, 10040), "the shim's size retry failed"
    problem = retry_problem(seen)
    assert problem is None, problem


def test_udp_query_without_a_peer(observe):
    """A UDP query with peer=None: no template (WSAEMSGSIZE, the page's row),
    or, with an access mask or ipsec2, a template whose peer has family 0: does
    Windows answer WSAEAFNOSUPPORT, as the contract model assumes?"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u, INSECURE)
        observe("status per template (0: accepted)", udp_query_without_a_peer(u))


def test_second_name_for_one_udp_peer(observe):
    """Replace, or refuse? (The contract model replaces.)"""
    peer = ("127.0.0.1", 6600)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u, INSECURE)
        wsapeer.set_peer_target_name(u, "host/first.example.com", peer)
        second = PeerTargetName("host/second.example.com", peer)
        observe(
            "second name for the same peer (0: accepted)",
            lib.wsapeer_set_peer_target_name(u.fileno(), bytes(second), second.size),
        )
        observe(
            "three deletes after two names (0: success)", [delete_status(u, peer) for _ in range(3)]
        )


def test_name_before_security_is_kept(observe):
    """A UDP name set before WSASetSocketSecurity: accepted, and kept once
    security is set (a delete then finds it), or dropped?"""
    peer = ("127.0.0.1", 6700)
    early = PeerTargetName("host/early.example.com", peer)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        observe(
            "UDP name before security",
            lib.wsapeer_set_peer_target_name(u.fileno(), bytes(early), early.size),
        )
        observe("security after the name", lib.wsapeer_set_socket_security(u.fileno(), ffi.NULL, 0))
        observe(
            "delete of the early name / of a never-named peer",
            (delete_status(u, peer), delete_status(u, ("127.0.0.1", 6701))),
        )


@pytest.mark.parametrize("listener_secured", [True, False])
def test_accepted_socket_security(observe, listener_secured):
    """Does an accepted connection carry its listener's security? (The contract
    model assumes so.) The same questions asked of the accepted socket of a
    secured and of an unsecured listener: a difference shows inheritance."""
    srv = socket.socket()
    if listener_secured:
        wsapeer.set_socket_security(srv, INSECURE)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    with srv, socket.create_connection(srv.getsockname()):
        conn, _ = srv.accept()
        with conn:
            out = ffi.new("uint32_t *")
            status = lib.wsapeer_query_size_probe(conn.fileno(), ffi.NULL, 0, 64, out)
            observe("query of the accepted socket (status, length)", (status, out[0]))
            observe(
                "WSASetSocketSecurity on the accepted socket",
                lib.wsapeer_set_socket_security(conn.fileno(), ffi.NULL, 0),
            )


def test_peer_of_the_other_family(observe):
    """A UDP name whose peer is IPv6 on an IPv4 socket, sent raw (wsapeer's
    Python layer refuses it for a socket.socket, but not for an int handle or
    a fileno() object, and the contract model accepts it): what does Windows
    answer? WSAEAFNOSUPPORT's row says only "address family not supported"."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u, INSECURE)
        other = PeerTargetName("host/v6.example.com", ("2001:db8::1", 6800))
        status = lib.wsapeer_set_peer_target_name(u.fileno(), bytes(other), other.size)
        observe("IPv6 peer's name on an IPv4 UDP socket (0: accepted)", status)
