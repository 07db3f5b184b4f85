"""create_connection, create_server and peer_security (issue 16): Microsoft's
order of calls, on loopback under the contract model (strict), and bad input
refused before any socket exists."""

import gc
import ipaddress
import socket

import pytest
from builds import OUTSIDE_THE_MODEL

import wsapeer
from wsapeer import IPsecSettings, PeerTargetName, SecurityProtocol, SecuritySettings
from wsapeer.testing import contract_model

# Neither AF_INET nor AF_INET6; Windows CPython has no socket.AF_UNIX, but
# Winsock's AF_UNIX is 1 too (ws2def.h).
AF_UNIX = getattr(socket, "AF_UNIX", 1)


def open_fds():
    import os

    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None


@pytest.mark.parametrize("host, family", [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)])
@pytest.mark.needs_model
def test_client_and_server_in_microsofts_order(host, family):
    with contract_model(strict=True) as model:
        model.pretend_peer(tokens=True)
        with wsapeer.create_server((host, 0), family=family) as server:
            assert model.calls(server) == ["WSASetSocketSecurity"]
            address = server.getsockname()[:2]
            with wsapeer.create_connection(address, "host/server.example.com") as client:
                assert client.getpeername()[:2] == address  # connected
                assert model.calls(client) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
                assert model.peer_target_names(client) == [
                    PeerTargetName("host/server.example.com")
                ]
                conn, _ = server.accept()
                with conn, wsapeer.peer_security(conn, access_mask=0x8) as info:
                    assert info.secured and info.peer_application_token is not None
                    tokens = (info.peer_application_token, info.peer_machine_token)
                assert [model.token_closes(t) for t in tokens] == [1, 1]
        assert model.violations() == []


@pytest.mark.needs_model
def test_settings_and_protocol_follow_each_other():
    settings = IPsecSettings(protocol=SecurityProtocol.IPSEC2)
    with contract_model(strict=True) as model:
        server = wsapeer.create_server(("127.0.0.1", 0))
        with (
            server,
            wsapeer.create_connection(server.getsockname(), "host/x", settings=settings) as c,
        ):
            assert model.peer_target_names(c) == [
                PeerTargetName("host/x", protocol=SecurityProtocol.IPSEC2)
            ]
            server.accept()[0].close()


@pytest.mark.needs_model
def test_timeout_and_source_address():
    with contract_model():
        server = wsapeer.create_server(("127.0.0.1", 0))
        client = wsapeer.create_connection(
            server.getsockname(), "host/x", timeout=2.5, source_address=("127.0.0.1", 0)
        )
        with server, client as c:
            assert c.gettimeout() == 2.5 and c.getsockname()[0] == "127.0.0.1"
            server.accept()[0].close()


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: wsapeer.create_connection(("localhost", 80), "host/x"), ValueError, "no DNS"),
        (lambda: wsapeer.create_connection(("example.com", 80), "host/x"), ValueError,
         "getaddrinfo"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), ""), ValueError, "empty"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 70000), "host/x"), ValueError, "port"),
        (lambda: wsapeer.create_connection("127.0.0.1:80", "host/x"), TypeError, "tuple"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), "host/x", settings=b"\0" * 8),
         TypeError, "settings must be"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), "host/x", timeout=-1), ValueError,
         "timeout"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), "host/x", protocol=True),
         TypeError, "protocol"),
        (lambda: wsapeer.create_server(("localhost", 0)), ValueError, "no DNS"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), family=AF_UNIX), ValueError,
         "family"),
        (lambda: wsapeer.create_server(("::1", 0)), ValueError, "not an address of family"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), settings=SecuritySettings), TypeError,
         "settings must be"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), backlog="5"), TypeError, "backlog"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), reuse_port=1), TypeError, "reuse_port"),
        (lambda: wsapeer.peer_security(object()).__enter__(), TypeError, "sock must be"),
        # Found by the docstring review: each was refused late (after the
        # security calls), by the wrong type, or not at all.
        (lambda: wsapeer.create_connection(("", 80), "host/x"), ValueError, "numeric"),
        (lambda: wsapeer.create_connection(("::1", 80, 0, 2**40), "host/x"), ValueError,
         "scope_id"),
        (lambda: wsapeer.create_connection(("::1", 80, "0", 0), "host/x"), TypeError,
         "flowinfo"),
        (lambda: wsapeer.create_connection(("127.0.0.1", "80"), "host/x"), TypeError, "port"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), "host/x", timeout="1"),
         TypeError, "timeout"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), "host/x",
                                           source_address=("::1", 0, 0, 2**40)),
         ValueError, "scope_id"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 80), "host/x",
                                           source_address=("::1", 0)),
         ValueError, "family"),
        (lambda: wsapeer.create_server(("::1", 0, 0, 0)), ValueError, "family"),
        (lambda: wsapeer.create_server(("::1", 0, 2**40, 0), family=socket.AF_INET6),
         ValueError, "flowinfo"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0, 0, 0)), ValueError, "IPv6"),
    ],
)  # fmt: skip
@pytest.mark.needs_model
def test_bad_input_is_refused_before_any_socket(call, exc, match):
    before = open_fds()
    with contract_model() as model, pytest.raises(exc, match=match):
        call()
    assert model.records == []
    gc.collect()
    assert open_fds() == before


@pytest.mark.needs_model
def test_a_closed_server_refuses_and_nothing_leaks():
    server = (
        wsapeer.create_server(("127.0.0.1", 0)) if False else socket.create_server(("127.0.0.1", 0))
    )
    address = server.getsockname()
    server.close()
    before = open_fds()
    with contract_model() as model, pytest.raises(ConnectionRefusedError):
        wsapeer.create_connection(address, "host/x")
    # The socket was configured in order, then closed when connect failed.
    assert [r.function for r in model.records] == [
        "WSASetSocketSecurity",
        "WSASetSocketPeerTargetName",
    ]
    assert open_fds() == before


@pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
def test_outside_the_model_nothing_is_left_open():
    before = open_fds()
    with pytest.raises(wsapeer.UnsupportedPlatformError):
        wsapeer.create_server(("127.0.0.1", 0))
    with pytest.raises(wsapeer.UnsupportedPlatformError):
        wsapeer.create_connection(("127.0.0.1", 9), "host/x")
    assert open_fds() == before


@pytest.mark.needs_model
def test_an_ipv6_four_tuple_is_used_as_given():
    with contract_model(), wsapeer.create_server(("::1", 0), family=socket.AF_INET6) as server:
        host, port = server.getsockname()[:2]
        with wsapeer.create_connection((host, port, 0, 0), "host/x") as client:
            assert client.family == socket.AF_INET6 and client.getpeername()[:2] == (host, port)
            server.accept()[0].close()
    with contract_model(), pytest.raises(ValueError, match="belong to IPv6"):
        wsapeer.create_connection(("127.0.0.1", 80, 0, 0), "host/x")


@pytest.mark.needs_model
def test_ipaddress_hosts_are_addresses_too():
    """PeerAddress admits ipaddress objects; so do the helpers."""
    host = ipaddress.ip_address("127.0.0.1")
    with contract_model(strict=True), wsapeer.create_server((host, 0)) as server:
        port = server.getsockname()[1]
        with wsapeer.create_connection((host, port), "host/x", source_address=(host, 0)) as c:
            assert c.getpeername() == ("127.0.0.1", port)
            server.accept()[0].close()


@pytest.mark.needs_model
def test_a_source_four_tuple_is_bound_as_given(monkeypatch):
    bound = []
    real_bind = socket.socket.bind
    monkeypatch.setattr(
        socket.socket, "bind", lambda self, a: (bound.append(a), real_bind(self, a))
    )
    with contract_model(), wsapeer.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        with wsapeer.create_connection(("::1", port), "host/x", source_address=("::1", 0, 5, 0)):
            server.accept()[0].close()
    assert bound[-1] == ("::1", 0, 5, 0)
