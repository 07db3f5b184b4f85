"""aio.apply's one-C-call path (issue 15): what it sends and raises is what the
synchronous apply sends and raises, for every target kind, and strict mode
sees nothing left unobserved."""

import asyncio
import socket

import pytest
import sdk_layout as sdk

import wsapeer
import wsapeer.aio
from wsapeer import PeerTargetName, SecuritySettings, WinsockError
from wsapeer._wsapeer import lib
from wsapeer.testing import contract_model

pytestmark = pytest.mark.needs_model


class Named(PeerTargetName):
    """A subclass is still a peer target name, never settings."""


@pytest.mark.parametrize("kind", [PeerTargetName, Named])
def test_aio_apply_sends_a_peer_target_name(kind):
    target = kind("host/peer.example.com", ("192.0.2.1", 500))
    with (
        contract_model(strict=True) as model,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u,
    ):
        wsapeer.set_socket_security(u)
        asyncio.run(wsapeer.aio.apply(u, target))
        [record] = [r for r in model.records if r.function == "WSASetSocketPeerTargetName"]
        assert sdk.decode_peer_target_name(record.data) == (
            "host/peer.example.com",
            ("192.0.2.1", 500),
            0,
        )
    assert lib.wsapeer_op_live() == 0


def test_aio_apply_sends_settings():
    with contract_model(strict=True) as model, socket.socket() as s:
        asyncio.run(wsapeer.aio.apply(s, SecuritySettings()))
        assert model.calls(s) == ["WSASetSocketSecurity"]
    assert lib.wsapeer_op_live() == 0


def test_aio_apply_raises_what_apply_raises():
    target = PeerTargetName("host/x", ("192.0.2.1", 500))
    v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with contract_model(), v6, pytest.raises(ValueError, match="IPv4 address but the socket"):
        asyncio.run(wsapeer.aio.apply(v6, target))
    server = socket.create_server(("127.0.0.1", 0))
    with contract_model(), server, socket.create_connection(server.getsockname()) as client:
        with pytest.raises(WinsockError) as info:
            asyncio.run(wsapeer.aio.apply(client, PeerTargetName("host/x")))
        assert info.value.winerror == 10056
    assert lib.wsapeer_op_live() == 0
