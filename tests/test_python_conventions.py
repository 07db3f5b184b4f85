"""What a Python user expects of operations, peers and helpers: a with block
raises a failed operation's error, timeouts take inf and refuse NaN, IPv4-mapped
peers keep the socket module's form, secure_client names the peer for the
settings' protocol, and objects that only wsapeer can make say so."""

import asyncio
import copy
import socket

import pytest

import wsapeer
import wsapeer.aio
from wsapeer import IPsecSettings, PeerTargetName, SecurityProtocol, WinsockError
from wsapeer.testing import contract_model


@pytest.mark.needs_model
def test_with_block_raises_the_operations_error():
    with (
        contract_model(),
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        with pytest.raises(WinsockError) as info, PeerTargetName("h").apply_async(client):
            pass
        assert info.value.winerror == 10056  # connected: WSAEISCONN
        # An error inside the block wins; the operation's is not raised over it.
        with pytest.raises(KeyError), PeerTargetName("h").apply_async(client):
            raise KeyError("the block's own")


@pytest.mark.parametrize("timeout", [float("inf"), 1e300, 0, 0.5])
@pytest.mark.needs_model
def test_wait_takes_any_nonnegative_timeout(timeout):
    with contract_model(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        op = PeerTargetName("h", ("192.0.2.1", 5)).apply_async(u)
        assert op.wait(timeout) is True


@pytest.mark.parametrize("timeout", [float("nan"), -1, float("-inf")])
@pytest.mark.needs_model
def test_wait_refuses_nan_and_negative_timeouts(timeout):
    with contract_model(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        op = PeerTargetName("h", ("192.0.2.1", 5)).apply_async(u)
        with pytest.raises(ValueError, match="timeout"):
            op.wait(timeout)
        with pytest.raises(ValueError, match="timeout"):
            wsapeer.apply_many([(u, PeerTargetName("h", ("192.0.2.1", 5)))], timeout=timeout)


@pytest.mark.parametrize(
    "host", ["::ffff:127.0.0.1", "::ffff:192.0.2.1", "2001:db8::1", "fe80::1", "::"]
)
def test_ipv6_peers_keep_the_socket_modules_form(host):
    """t.peer == peer for a peer as recvfrom() returns it."""
    peer = (socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host)), 500, 0, 0)
    target = PeerTargetName("h", peer)
    assert target.peer == peer
    assert PeerTargetName.from_bytes(bytes(target)).peer == peer


@pytest.mark.parametrize(
    "settings, expected",
    [
        (None, SecurityProtocol.DEFAULT),
        (IPsecSettings(protocol=SecurityProtocol.IPSEC2), SecurityProtocol.IPSEC2),
        (IPsecSettings(protocol=SecurityProtocol.IPSEC), SecurityProtocol.IPSEC),
    ],
)
@pytest.mark.needs_model
def test_secure_client_names_the_peer_for_the_settings_protocol(settings, expected):
    with contract_model() as model, socket.socket() as s:
        wsapeer.secure_client(s, "host/x", settings)
        [name] = model.peer_target_names(s)
        assert name.protocol is expected
    with contract_model() as model, socket.socket() as s:
        wsapeer.secure_client(s, "host/x", settings, protocol=SecurityProtocol.DEFAULT)
        assert model.peer_target_names(s)[0].protocol is SecurityProtocol.DEFAULT


def test_objects_only_wsapeer_makes_say_so():
    with pytest.raises(TypeError, match="come from query_socket_security"):
        wsapeer.SecurityInfo(None)
    with pytest.raises(TypeError, match="come from the \\*_async calls"):
        wsapeer.Operation(None, 1, lambda op: None, False)
    with pytest.raises(TypeError, match="wait\\(\\) takes an Operation"):
        asyncio.run(wsapeer.aio.wait(5))


def test_immutable_settings_copy_to_themselves_password_or_not():
    secret = IPsecSettings(user_name="u", password="pw")
    assert copy.copy(secret) is secret and copy.deepcopy(secret) is secret
    with pytest.raises(TypeError, match="cannot be pickled"):
        __import__("pickle").dumps(secret)


@pytest.mark.needs_model
def test_aio_apply_takes_the_socket_first_and_aio_apply_many_batches():
    targets = [PeerTargetName("h", ("192.0.2.1", port)) for port in (1, 2)]
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:

        async def main():
            await wsapeer.aio.apply(u, targets[0])
            with pytest.raises(TypeError, match="socket comes first"):
                await wsapeer.aio.apply(targets[0], u)
            return await wsapeer.aio.apply_many((u, t) for t in targets)

        assert asyncio.run(main()) == [None, None]
        assert [r.function for r in model.records] == ["WSASetSocketPeerTargetName"] * 2
        op = wsapeer.set_peer_target_name_async(u, "h", ("192.0.2.1", 3))
        assert op.result() is None and len(model.records) == 3


@pytest.mark.needs_model
def test_impersonation_is_refused_on_an_event_loops_thread():
    """Impersonation is per thread: tasks interleaved at an await would all run
    as the peer. Refused unless the caller says the block never awaits."""
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        peer = ("192.0.2.1", 500)

        async def main():
            with (
                pytest.raises(RuntimeError, match="runs an event loop"),
                wsapeer.impersonate_peer(u, peer),
            ):
                pass
            with pytest.raises(RuntimeError, match="runs an event loop"):
                wsapeer.impersonate_socket_peer(u, peer)
            assert model.impersonating() is None
            with wsapeer.impersonate_peer(u, peer, allow_in_event_loop=True):
                assert model.impersonating() == u.fileno()
            loop = asyncio.get_running_loop()

            def in_worker():
                with wsapeer.impersonate_peer(u, peer):
                    return model.impersonating()

            return await loop.run_in_executor(None, in_worker)

        assert asyncio.run(main()) == u.fileno()
