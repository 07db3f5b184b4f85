"""Operations, batches and asyncio on Linux, end to end through the model.

The model cannot pend without Windows, so here operations complete at once;
pending, routines, ports and cancellation are covered by the Wine suite.
"""

import asyncio
import gc
import socket
import sys

import pytest

import wsapeer
import wsapeer.aio
from wsapeer import (
    IPsecSettings,
    PeerTargetName,
    SecurityInfoFlags,
    SecuritySettings,
    UnsupportedPlatformError,
    WinsockError,
)
from wsapeer._wsapeer import lib
from wsapeer.testing import contract_model


@pytest.fixture
def model():
    with contract_model() as m:
        yield m


@pytest.fixture
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        yield s


def test_operation_lifecycle(model, udp):
    target = PeerTargetName("host/p", ("192.0.2.1", 500))
    with target.apply_async(udp) as op:
        assert op.done() and op.wait(0) and op.wait()
        assert op.result() is None
        assert op.function == "WSASetSocketPeerTargetName"
        assert "done" in repr(op)
        assert not op.cancel()
    assert model.peer_target_names(udp) == [target]


def test_operation_failure_raises_from_result(model, udp):
    op = PeerTargetName("host/p", ("192.0.2.1", 500)).apply_async(udp.fileno())
    op.result()
    udp.connect(("127.0.0.1", 9))
    op = PeerTargetName("host/p", ("192.0.2.1", 501)).apply_async(udp.fileno())
    assert op.done()
    with pytest.raises(WinsockError) as info:
        op.result()
    assert info.value.winerror == 10056


def test_operations_are_freed(model, udp):
    gc.collect()
    before = lib.wsapeer_op_live()
    ops = [PeerTargetName("h", ("192.0.2.1", p)).apply_async(udp) for p in range(1, 101)]
    assert lib.wsapeer_op_live() == before + 100
    del ops
    gc.collect()
    assert lib.wsapeer_op_live() == before


def test_async_siblings(model, udp):
    op = wsapeer.set_socket_security_async(udp, IPsecSettings(user_name="u", password="p"))
    assert op.result() is None
    PeerTargetName("h", ("192.0.2.1", 500)).apply(udp)
    assert wsapeer.delete_peer_target_name_async(udp, ("192.0.2.1", 500)).result() is None
    model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
    info = wsapeer.query_socket_security_async(udp, ("192.0.2.1", 500), access_mask=8).result()
    assert info.secured and info.peer_application_token
    info.close()
    assert model.open_tokens() == 0
    # The delete took the name's record away; the delete itself is recorded.
    assert model.calls(udp) == [
        "WSASetSocketSecurity",
        "WSADeleteSocketPeerTargetName",
        "WSAQuerySocketSecurity",
    ]


def test_unclaimed_query_tokens_are_closed_with_the_operation(model):
    listener = socket.socket()
    wsapeer.set_socket_security(listener)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    with listener, socket.create_connection(listener.getsockname()):
        conn, _ = listener.accept()
        with conn:
            model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
            op = wsapeer.query_socket_security_async(conn, access_mask=8)
            assert model.open_tokens() == 2
            del op
            gc.collect()
            assert model.open_tokens() == 0


def test_routine_mode_works_off_windows(model, udp):
    op = PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp, routine=True)
    assert op.wait(1) and op.result() is None


def test_async_argument_errors(model, udp):
    with pytest.raises(TypeError, match="routine must be a bool"):
        PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp, routine=1)
    with pytest.raises(ValueError, match="IPv6 address but the socket is IPv4"):
        PeerTargetName("h", ("2001:db8::1", 7)).apply_async(udp)
    op = PeerTargetName("h").apply_async(udp)  # documented: the model refuses it
    with pytest.raises(WinsockError) as info:
        op.result()
    assert info.value.winerror == 10022


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has the API")
def test_async_unsupported_off_windows(udp):
    with pytest.raises(UnsupportedPlatformError):
        PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp)
    # Raised once for the batch, not hidden in a list a caller may never read.
    with pytest.raises(UnsupportedPlatformError):
        wsapeer.apply_many([(udp, PeerTargetName("h", ("192.0.2.1", 7)))])


def test_wait_timeout_validation(model, udp):
    op = PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp)
    with pytest.raises(ValueError, match="must not be negative"):
        op.wait(-1)
    with pytest.raises(TypeError, match="timeout must be a number"):
        op.wait("1")


# ---- batches -----------------------------------------------------------------


def test_apply_many_udp_server(model, udp):
    targets = [PeerTargetName(f"host/p{i}", ("192.0.2.1", 1000 + i)) for i in range(1000)]
    results = wsapeer.apply_many([(udp, t) for t in targets])
    assert results == [None] * 1000
    assert model.peer_target_names(udp) == targets


def test_apply_many_tcp_server(model):
    socks = [socket.socket() for _ in range(50)]
    try:
        items = [(s, SecuritySettings()) for s in socks]
        target = PeerTargetName("host/server.example.com")
        assert wsapeer.apply_many(items) == [None] * 50
        assert wsapeer.apply_many([(s, target) for s in socks]) == [None] * 50
        assert all(model.calls(s) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
                   for s in socks)  # fmt: skip
    finally:
        for s in socks:
            s.close()


def test_apply_many_one_failure_hides_nothing(model, udp):
    connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    connected.connect(("127.0.0.1", 9))
    a, b = socket.socketpair()
    with connected, a, b:
        items = [
            (udp, PeerTargetName("h", ("192.0.2.1", 1))),
            (connected, PeerTargetName("h", ("127.0.0.1", 9))),  # WSAEISCONN from the model
            (a, PeerTargetName("h", ("192.0.2.1", 3))),  # AF_UNIX: refused by the model
            (udp, PeerTargetName("h")),  # zero UDP peer: refused by the model
            (udp.fileno(), PeerTargetName("h", ("192.0.2.1", 5))),
        ]
        results = wsapeer.apply_many(items)
    assert results[0] is None and results[4] is None
    assert [r.winerror for r in results[1:4]] == [10056, 10047, 10022]
    assert all(isinstance(r, WinsockError) for r in results[1:4])
    assert len(model.peer_target_names(udp)) == 2


@pytest.mark.parametrize(
    "items, exc, match",
    [
        ([(None, PeerTargetName("h"))], TypeError, r"items\[0\]: sock must be"),
        ([(-1, PeerTargetName("h"))], ValueError, r"items\[0\]: the socket is closed"),
        ([(3, b"raw bytes")], TypeError, r"items\[0\]: target must be"),
        ([(3,)], TypeError, r"items\[0\] must be a \(sock, target\) pair"),
        ([(3, PeerTargetName("h")), 7], TypeError, r"items\[1\] must be"),
    ],
)
def test_apply_many_bad_input_issues_nothing(model, items, exc, match):
    with pytest.raises(exc, match=match):
        wsapeer.apply_many(items)
    assert model.records == []


def test_apply_many_family_mismatch_is_a_value_error(model, udp):
    with pytest.raises(ValueError, match=r"items\[0\]: peer is an IPv6 address"):
        wsapeer.apply_many([(udp, PeerTargetName("h", ("2001:db8::1", 5)))])


def test_apply_many_empty(model):
    assert wsapeer.apply_many([]) == []


# ---- asyncio -------------------------------------------------------------------


def test_asyncio_end_to_end(model):
    async def main():
        with socket.socket() as client, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
            await wsapeer.aio.set_socket_security(client)
            await wsapeer.aio.set_peer_target_name(client, "host/server.example.com")
            await wsapeer.aio.set_socket_security(u)
            target = PeerTargetName("host/peer", ("2001:db8::1", 500))
            await wsapeer.aio.apply(target, u)
            await wsapeer.aio.delete_peer_target_name(u, ("2001:db8::1", 500))
            info = await wsapeer.aio.query_socket_security(u, ("2001:db8::1", 500))
            return model.calls(client), model.calls(u), info.secured

    client_calls, udp_calls, secured = asyncio.run(main())
    assert client_calls == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
    assert udp_calls == [
        "WSASetSocketSecurity",
        "WSADeleteSocketPeerTargetName",
        "WSAQuerySocketSecurity",
    ]
    assert secured is False  # the model negotiates nothing unless told to pretend


def test_asyncio_errors_propagate(model):
    async def main():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.connect(("127.0.0.1", 9))
            await wsapeer.aio.set_peer_target_name(u.fileno(), "h", ("127.0.0.1", 9))

    with pytest.raises(WinsockError) as info:
        asyncio.run(main())
    assert info.value.winerror == 10056


def test_asyncio_waits_in_a_thread_for_pending_operations():
    class Pending:
        """An operation that is not done yet: wait() must not block the loop."""

        def __init__(self):
            self.waited = False
            self.event_handle = 0

        def done(self):
            return self.waited

        def wait(self, timeout=None):
            import time

            time.sleep(0.05)
            self.waited = True
            return True

        def result(self):
            return "result"

        def cancel(self):
            return False

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        task = asyncio.ensure_future(ticker())
        result = await wsapeer.aio.wait(Pending())
        task.cancel()
        return result, ticks

    result, ticks = asyncio.run(main())
    assert result == "result"
    assert ticks >= 3  # the loop kept running while the worker thread waited


def test_asyncio_cancellation_cancels_the_operation():
    class Pending:
        def __init__(self):
            self.cancelled = False
            self.event_handle = 0

        def done(self):
            return False

        def wait(self, timeout=None):
            import time

            time.sleep(0.2)
            return False

        def result(self):
            raise AssertionError("not reached")

        def cancel(self):
            self.cancelled = True
            return True

    op = Pending()

    async def main():
        task = asyncio.ensure_future(wsapeer.aio.wait(op))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert op.cancelled
