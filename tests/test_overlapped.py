"""Operations, batches and asyncio on Linux, end to end through the model.

The model cannot pend without Windows, so here operations complete at once;
pending, routines, ports and cancellation are covered by the Wine suite. What
the model accepted is read with tests/sdk_layout.py, not wsapeer's parser.
"""

import asyncio
import gc
import os
import re
import socket

import pytest
import sdk_layout as sdk
from builds import OUTSIDE_THE_MODEL

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

SET_SECURITY = "WSASetSocketSecurity"
SET_NAME = "WSASetSocketPeerTargetName"
DELETE_NAME = "WSADeleteSocketPeerTargetName"
QUERY = "WSAQuerySocketSecurity"


def names_sent(model, sock):
    return [sdk.decode_peer_target_name(raw) for raw in sdk.sent(model, sock, SET_NAME)]


@pytest.fixture
def model():
    with contract_model() as m:
        yield m


@pytest.fixture
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        yield s


@pytest.mark.needs_model
def test_operation_lifecycle(model, udp):
    target = PeerTargetName("host/p", ("192.0.2.1", 500))
    with target.apply_async(udp) as op:
        assert op.done() and op.wait(0) and op.wait()
        assert op.result() is None
        assert op.function == "WSASetSocketPeerTargetName"
        assert "done" in repr(op)
        assert not op.cancel()
    assert names_sent(model, udp) == [("host/p", ("192.0.2.1", 500), 0)]
    assert model.peer_target_names(udp) == [target]


@pytest.mark.needs_model
def test_operation_failure_raises_from_result(model, udp):
    op = PeerTargetName("host/p", ("192.0.2.1", 500)).apply_async(udp.fileno())
    op.result()
    udp.connect(("127.0.0.1", 9))
    op = PeerTargetName("host/p", ("192.0.2.1", 501)).apply_async(udp.fileno())
    assert op.done()
    with pytest.raises(WinsockError) as info:
        op.result()
    assert info.value.winerror == 10056


@pytest.mark.needs_model
def test_operations_are_freed(model, udp):
    gc.collect()
    before = lib.wsapeer_op_live()
    ops = [PeerTargetName("h", ("192.0.2.1", p)).apply_async(udp) for p in range(1, 101)]
    assert lib.wsapeer_op_live() == before + 100
    del ops
    gc.collect()
    assert lib.wsapeer_op_live() == before


@pytest.mark.needs_model
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
    assert model.calls(udp) == [SET_SECURITY, DELETE_NAME, QUERY]
    [settings] = sdk.sent(model, udp, SET_SECURITY)
    assert sdk.decode_security_settings(settings) == sdk.Settings(
        protocol=1, flags=0, user_name="u", password="p"
    )
    [address] = sdk.sent(model, udp, DELETE_NAME)
    assert sdk.decode_sockaddr(address) == ("192.0.2.1", 500)
    [template] = sdk.sent(model, udp, QUERY)
    assert sdk.decode_query_template(template) == (0, ("192.0.2.1", 500), 8, False, 0, 0)


@pytest.mark.needs_model
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


@pytest.mark.needs_model
def test_operation_hands_its_tokens_out_once(model, udp):
    """Issue 22 (17), POSIX: wsapeer_op_query_info asked twice hands the
    tokens to the first caller alone; the second gets zeros, so no handle has
    two owners (each would close it)."""
    from wsapeer._query import _query_args
    from wsapeer._wsapeer import ffi

    wsapeer.set_socket_security(udp)
    model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
    handle, template, size = _query_args(udp, ("192.0.2.1", 500), 8, False)
    op = lib.wsapeer_op_new(4, handle, template, size, 0)  # WSAPEER_CALL_QUERY_..., EVENT
    assert op != ffi.NULL
    try:
        assert lib.wsapeer_op_start(op) == 0 and lib.wsapeer_op_done(op)
        first = ffi.new("wsapeer_query_info *")
        second = ffi.new("wsapeer_query_info *")
        assert lib.wsapeer_op_query_info(op, first) == 0
        assert first.application_token and first.machine_token
        assert lib.wsapeer_op_query_info(op, second) == 0
        assert (second.application_token, second.machine_token) == (0, 0)
    finally:
        lib.wsapeer_op_release(op)
    tokens = (first.application_token, first.machine_token)
    assert [model.token_closes(t) for t in tokens] == [0, 0]  # the first caller's
    for t in tokens:
        lib.wsapeer_close_token(t)
    assert model.open_tokens() == 0


@pytest.fixture
def modes(monkeypatch):
    """The mode each operation is created with in C. Off Windows the model
    answers at once in either mode, so only this shows that routine= was
    passed through rather than dropped on the way."""
    import wsapeer._overlapped as overlapped

    seen = []

    class Watch:
        def __getattr__(self, name):
            return getattr(lib, name)

        def wsapeer_op_new(self, function, sock, buffer, size, mode):
            seen.append(mode)
            return lib.wsapeer_op_new(function, sock, buffer, size, mode)

    monkeypatch.setattr(overlapped, "lib", Watch())
    return seen


@pytest.mark.parametrize("routine", [False, True], ids=["event", "routine"])
@pytest.mark.needs_model
def test_every_async_call_in_either_mode(model, udp, modes, routine):
    """Every async call hands C the mode asked for, and sends the same bytes in
    both; off Windows the mode changes nothing else."""
    peer = ("192.0.2.1", 7)
    ops = [
        wsapeer.set_socket_security_async(udp, routine=routine),
        PeerTargetName("h", peer).apply_async(udp, routine=routine),
        wsapeer.delete_peer_target_name_async(udp, peer, routine=routine),
        wsapeer.query_socket_security_async(udp, peer, access_mask=8, routine=routine),
    ]
    mode = lib.WSAPEER_OP_ROUTINE if routine else lib.WSAPEER_OP_EVENT
    assert modes == [mode] * 4
    for op in ops:
        assert op.wait(1) and op.done()
    assert [op.function for op in ops] == [SET_SECURITY, SET_NAME, DELETE_NAME, QUERY]
    assert [op.result() for op in ops[:3]] == [None] * 3
    assert not ops[3].result().secured
    # One accepted call each; the name's record went with the delete.
    assert [r.sequence for r in model.records] == [1, 3, 4]
    assert model.calls(udp) == [SET_SECURITY, DELETE_NAME, QUERY]
    [settings] = sdk.sent(model, udp, SET_SECURITY)
    assert sdk.decode_security_settings(settings) == sdk.Settings(protocol=0, flags=0)
    assert [sdk.decode_sockaddr(a) for a in sdk.sent(model, udp, DELETE_NAME)] == [peer]
    [template] = sdk.sent(model, udp, QUERY)
    assert sdk.decode_query_template(template) == sdk.QueryTemplate(0, peer, 8)


def _no_call_made(model, call, exc, match):
    """An argument error raises before any call: no record, no operation."""
    gc.collect()
    records, live = model.records, lib.wsapeer_op_live()
    with pytest.raises(exc, match=match):
        call()
    gc.collect()
    assert model.records == records
    assert lib.wsapeer_op_live() == live


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda u: PeerTargetName("h", ("192.0.2.1", 7)).apply_async(u, routine=1), TypeError,
         "routine must be a bool"),
        (lambda u: wsapeer.set_socket_security_async(u, routine=1), TypeError,
         "routine must be a bool"),
        (lambda u: wsapeer.delete_peer_target_name_async(u, ("192.0.2.1", 7), routine=1),
         TypeError, "routine must be a bool"),
        (lambda u: wsapeer.query_socket_security_async(u, ("192.0.2.1", 7), routine=1),
         TypeError, "routine must be a bool"),
        (lambda u: PeerTargetName("h", ("2001:db8::1", 7)).apply_async(u), ValueError,
         "IPv6 address but the socket is IPv4"),
        (lambda u: wsapeer.set_socket_security_async(u, b"\0" * 8), TypeError,
         "settings must be"),
        (lambda u: wsapeer.delete_peer_target_name_async(u, None), ValueError,
         "needs the peer address"),
        (lambda u: wsapeer.delete_peer_target_name_async(u, ("2001:db8::1", 7)), ValueError,
         "IPv6 address but the socket is IPv4"),
        (lambda u: wsapeer.delete_peer_target_name_async(u, ("192.0.2.1", 70000)), ValueError,
         "port must be in"),
        (lambda u: wsapeer.query_socket_security_async(u, ("192.0.2.1", 7), access_mask=-1),
         ValueError, "access_mask must be in"),
        (lambda u: wsapeer.query_socket_security_async(u, ("192.0.2.1", 7), access_mask=True),
         TypeError, "access_mask must be an int"),
        (lambda u: wsapeer.query_socket_security_async(u, ("192.0.2.1", 7), ipsec2=1),
         TypeError, "ipsec2 must be a bool"),
        (lambda u: wsapeer.query_socket_security_async(u, ("2001:db8::1", 7)), ValueError,
         "IPv6 address but the socket is IPv4"),
    ],
)  # fmt: skip
@pytest.mark.needs_model
def test_async_argument_errors_call_nothing(model, udp, call, exc, match):
    wsapeer.set_socket_security(udp)  # something recorded, to see that it stays alone
    _no_call_made(model, lambda: call(udp), exc, match)


def _failed(op, function):
    """The Operation a refused call returns: done, and its result() raises."""
    assert isinstance(op, wsapeer.Operation) and op.function == function
    assert op.done() and op.wait(0)
    with pytest.raises(WinsockError) as info:
        op.result()
    return info.value.winerror


@pytest.mark.needs_model
def test_refused_set_peer_target_name_async(model, udp):
    op = PeerTargetName("h").apply_async(udp)  # documented: the model refuses a zero UDP peer
    assert _failed(op, SET_NAME) == 10022
    assert model.records == []


@pytest.mark.parametrize("routine", [False, True], ids=["event", "routine"])
@pytest.mark.needs_model
def test_refused_set_socket_security_async(model, udp, routine):
    wsapeer.set_socket_security_async(udp, routine=routine).result()
    records = model.records
    # "Can only be called once per socket": WSAEINVAL, and nothing new recorded.
    op = wsapeer.set_socket_security_async(udp, IPsecSettings(user_name="u"), routine=routine)
    assert _failed(op, SET_SECURITY) == 10022
    assert model.records == records
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        op = wsapeer.set_socket_security_async(client, routine=routine)
        assert _failed(op, SET_SECURITY) == 10056  # WSAEISCONN: after connect
    assert model.records == records


@pytest.mark.parametrize("routine", [False, True], ids=["event", "routine"])
@pytest.mark.needs_model
def test_refused_delete_peer_target_name_async(model, udp, routine):
    PeerTargetName("h", ("192.0.2.1", 500)).apply(udp)
    records = model.records
    op = wsapeer.delete_peer_target_name_async(udp, ("192.0.2.1", 501), routine=routine)
    assert _failed(op, DELETE_NAME) == 10022  # no name was set for that peer
    assert model.records == records
    assert names_sent(model, udp) == [("h", ("192.0.2.1", 500), 0)]  # the other name stays


@pytest.mark.parametrize("routine", [False, True], ids=["event", "routine"])
@pytest.mark.needs_model
def test_refused_query_socket_security_async(model, udp, routine):
    op = wsapeer.query_socket_security_async(udp, routine=routine)
    assert _failed(op, QUERY) == 10040  # UDP without a peer: WSAEMSGSIZE
    # An int handle hides the socket type from Python: the model decides.
    op = wsapeer.query_socket_security_async(udp.fileno(), routine=routine)
    assert _failed(op, QUERY) == 10040
    assert model.records == []


@pytest.mark.parametrize("routine", [False, True], ids=["event", "routine"])
@pytest.mark.needs_model
def test_async_calls_on_a_non_socket_are_wsaenotsock(model, routine):
    r, w = os.pipe()
    try:
        peer = ("192.0.2.1", 500)
        assert _failed(wsapeer.set_socket_security_async(r, routine=routine), SET_SECURITY) == (
            10038
        )
        op = wsapeer.delete_peer_target_name_async(r, peer, routine=routine)
        assert _failed(op, DELETE_NAME) == 10038
        op = wsapeer.query_socket_security_async(r, peer, routine=routine)
        assert _failed(op, QUERY) == 10038
        op = PeerTargetName("h", peer).apply_async(r, routine=routine)
        assert _failed(op, SET_NAME) == 10038
    finally:
        os.close(r)
        os.close(w)
    assert model.records == []


@pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
def test_async_unsupported_outside_the_model(udp):
    with pytest.raises(UnsupportedPlatformError):
        PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp)
    # Raised once for the batch, not hidden in a list a caller may never read.
    with pytest.raises(UnsupportedPlatformError):
        wsapeer.apply_many([(udp, PeerTargetName("h", ("192.0.2.1", 7)))])


@pytest.mark.needs_model
def test_wait_timeout_validation(model, udp):
    op = PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp)
    with pytest.raises(ValueError, match="must not be negative"):
        op.wait(-1)
    with pytest.raises(TypeError, match="timeout must be a number"):
        op.wait("1")
    # Huge but finite: capped below INFINITE (was OverflowError from int(inf)).
    assert op.wait(1e306) and op.wait(10**400)
    assert wsapeer.apply_many([(udp, PeerTargetName("h", ("192.0.2.1", 8)))], 1e306) == [None]
    op.result()


# ---- batches -----------------------------------------------------------------


@pytest.mark.needs_model
def test_apply_many_udp_server(model, udp):
    targets = [PeerTargetName(f"host/p{i}", ("192.0.2.1", 1000 + i)) for i in range(1000)]
    results = wsapeer.apply_many([(udp, t) for t in targets])
    assert results == [None] * 1000
    assert names_sent(model, udp) == [
        (f"host/p{i}", ("192.0.2.1", 1000 + i), 0) for i in range(1000)
    ]
    assert [r.sequence for r in model.records] == list(range(1, 1001))
    assert model.peer_target_names(udp) == targets


@pytest.mark.needs_model
def test_apply_many_tcp_server(model):
    socks = [socket.socket() for _ in range(50)]
    try:
        items = [(s, SecuritySettings()) for s in socks]
        target = PeerTargetName("host/server.example.com")
        assert wsapeer.apply_many(items) == [None] * 50
        assert wsapeer.apply_many([(s, target) for s in socks]) == [None] * 50
        assert all(model.calls(s) == [SET_SECURITY, SET_NAME] for s in socks)
        assert all(
            [sdk.decode_security_settings(raw) for raw in sdk.sent(model, s, SET_SECURITY)]
            == [sdk.Settings(0, 0)]
            and names_sent(model, s) == [("host/server.example.com", None, 0)]
            for s in socks
        )
    finally:
        for s in socks:
            s.close()


@pytest.mark.needs_model
def test_apply_many_one_failure_hides_nothing(model, udp):
    connected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    connected.connect(("127.0.0.1", 9))
    if hasattr(socket, "AF_UNIX"):
        a, b = socket.socketpair(socket.AF_UNIX)
        refused = 10022  # WSAEINVAL: not AF_INET/AF_INET6
    else:  # Windows CPython: socketpair() is a connected TCP pair
        a, b = socket.socketpair()
        refused = 10056  # WSAEISCONN
    with connected, a, b:
        items = [
            (udp, PeerTargetName("h", ("192.0.2.1", 1))),
            (connected, PeerTargetName("h", ("127.0.0.1", 9))),  # WSAEISCONN from the model
            (a, PeerTargetName("h", ("192.0.2.1", 3))),  # refused by the model
            (udp, PeerTargetName("h")),  # zero UDP peer: refused by the model
            (udp.fileno(), PeerTargetName("h", ("192.0.2.1", 5))),
        ]
        results = wsapeer.apply_many(items)
    assert results[0] is None and results[4] is None
    assert [r.winerror for r in results[1:4]] == [10056, refused, 10022]
    assert all(isinstance(r, WinsockError) for r in results[1:4])
    assert names_sent(model, udp) == [("h", ("192.0.2.1", 1), 0), ("h", ("192.0.2.1", 5), 0)]
    assert len(model.records) == 2  # the refused ones left nothing


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        ((None, PeerTargetName("h")), TypeError, r"items\[1\]: sock must be"),
        ((-1, PeerTargetName("h")), ValueError, r"items\[1\]: the socket is closed"),
        ((3, b"raw bytes"), TypeError, r"items\[1\]: target must be"),
        (("udp", PeerTargetName("h", ("2001:db8::1", 5))), ValueError,
         r"items\[1\]: peer is an IPv6 address"),
    ],
)  # fmt: skip
@pytest.mark.needs_model
def test_apply_many_item_errors_stay_in_their_slot(model, udp, bad, exc, match):
    """A peer closing its socket mid-batch is normal on a server: the bad item's
    slot holds why it was not issued, and the good items around it are issued."""
    if bad[0] == "udp":
        bad = (udp, bad[1])
    good = [PeerTargetName("h", ("192.0.2.1", port)) for port in (1, 2)]
    results = wsapeer.apply_many([(udp, good[0]), bad, (udp, good[1])])
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], exc) and re.search(match, str(results[1]))
    assert names_sent(model, udp) == [("h", ("192.0.2.1", 1), 0), ("h", ("192.0.2.1", 2), 0)]


@pytest.mark.parametrize(
    "items, match",
    [
        ([(3,)], r"items\[0\] must be a \(sock, target\) pair"),
        ([(3, PeerTargetName("h")), 7], r"items\[1\] must be"),
        (5, r"items must be an iterable of \(sock, target\) pairs, not int"),
    ],
)
@pytest.mark.needs_model
def test_apply_many_malformed_call_issues_nothing(model, items, match):
    with pytest.raises(TypeError, match=match):
        wsapeer.apply_many(items)
    assert model.records == []


@pytest.mark.needs_model
def test_apply_many_lets_the_callers_generator_errors_through(model):
    """A TypeError raised inside the caller's generator is the caller's: it
    must not be reported as "items must be an iterable"."""

    def items():
        yield (0, PeerTargetName("h"))
        raise TypeError("the caller's own bug")

    with pytest.raises(TypeError, match="the caller's own bug"):
        wsapeer.apply_many(items())
    assert model.records == []


EXCEPTION_GROUP = (
    getattr(__import__("builtins"), "ExceptionGroup", None)
    or __import__("exceptiongroup").ExceptionGroup
)


@pytest.mark.needs_model
def test_apply_many_takes_any_iterable_and_can_raise_a_group(model, udp):
    targets = (PeerTargetName("h", ("192.0.2.1", port)) for port in (1, 2))
    assert wsapeer.apply_many((udp, t) for t in targets) == [None, None]
    items = [(udp, PeerTargetName("h", ("192.0.2.1", 3))), (-1, PeerTargetName("h")),
             (udp, PeerTargetName("h"))]  # fmt: skip
    with pytest.raises(EXCEPTION_GROUP) as info:
        wsapeer.apply_many(iter(items), raise_on_error=True)
    closed, zero_peer = info.value.exceptions
    assert isinstance(closed, ValueError) and zero_peer.winerror == 10022
    assert "2 of 3 items failed" in str(info.value)
    assert names_sent(model, udp)[-1] == ("h", ("192.0.2.1", 3), 0)  # all finished first
    with pytest.raises(TypeError, match="raise_on_error must be a bool"):
        wsapeer.apply_many(items, raise_on_error=1)


@pytest.mark.needs_model
def test_apply_many_empty(model):
    assert wsapeer.apply_many([]) == []


# ---- asyncio -------------------------------------------------------------------


@pytest.mark.needs_model
def test_asyncio_end_to_end(model):
    async def main():
        with socket.socket() as client, socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
            await wsapeer.aio.set_socket_security(client)
            await wsapeer.aio.set_peer_target_name(client, "host/server.example.com")
            await wsapeer.aio.set_socket_security(u)
            target = PeerTargetName("host/peer", ("2001:db8::1", 500))
            await wsapeer.aio.apply(u, target)
            await wsapeer.aio.delete_peer_target_name(u, ("2001:db8::1", 500))
            info = await wsapeer.aio.query_socket_security(u, ("2001:db8::1", 500))
            return (
                model.calls(client),
                model.calls(u),
                info.secured,
                sdk.sent(model, client, SET_NAME),
                sdk.sent(model, u, DELETE_NAME),
                sdk.sent(model, u, QUERY),
            )

    client_calls, udp_calls, secured, names, deleted, queried = asyncio.run(main())
    assert client_calls == [SET_SECURITY, SET_NAME]
    assert udp_calls == [SET_SECURITY, DELETE_NAME, QUERY]
    assert secured is False  # the model negotiates nothing unless told to pretend
    assert [sdk.decode_peer_target_name(raw) for raw in names] == [
        ("host/server.example.com", None, 0)
    ]
    assert [sdk.decode_sockaddr(raw) for raw in deleted] == [("2001:db8::1", 500, 0, 0)]
    assert [sdk.decode_query_template(raw) for raw in queried] == [
        (0, ("2001:db8::1", 500, 0, 0), 0, False, 0, 0)
    ]


@pytest.mark.needs_model
def test_asyncio_errors_propagate(model):
    async def main():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.connect(("127.0.0.1", 9))
            await wsapeer.aio.set_peer_target_name(u.fileno(), "h", ("127.0.0.1", 9))

    with pytest.raises(WinsockError) as info:
        asyncio.run(main())
    assert info.value.winerror == 10056


def test_asyncio_waits_in_a_thread_for_pending_operations(monkeypatch):
    class Pending:
        """An operation that is not done yet: wait() must not block the loop."""

        routine = False

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

    # wait() takes only wsapeer's own Operation: a pending one, which the model never
    # makes, stands in for it here.
    monkeypatch.setattr(wsapeer.aio, "Operation", Pending)

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


def test_asyncio_cancellation_cancels_the_operation(monkeypatch):
    class Pending:
        routine = False

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

    # wait() takes only wsapeer's own Operation: a pending one, which the model never
    # makes, stands in for it here.
    monkeypatch.setattr(wsapeer.aio, "Operation", Pending)
    op = Pending()

    async def main():
        task = asyncio.ensure_future(wsapeer.aio.wait(op))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert op.cancelled


@pytest.mark.needs_model
def test_asyncio_refuses_routine_mode_operations(model, udp):
    """A routine's APC runs only in an alertable wait on the starting thread,
    which an event loop never enters: waiting would hang on Windows."""
    operation = PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp, routine=True)
    assert operation.routine and operation.done()  # done at once here; not on Windows
    with pytest.raises(ValueError, match="routine-mode WSASetSocketPeerTargetName"):
        asyncio.run(wsapeer.aio.wait(operation))
    assert not PeerTargetName("h", ("192.0.2.1", 7)).apply_async(udp).routine


def test_proactor_wait_keeps_the_operation_until_the_event_wait_ends(monkeypatch):
    """On Windows the proactor has a wait registered on the operation's event;
    a cancelled task must neither cancel that wait nor let the operation (which
    owns the event) go before the wait has ended."""
    import gc
    import weakref

    import wsapeer.aio as aio

    class Pending:
        routine = False
        event_handle = 0x1234
        function = "WSASetSocketPeerTargetName"

        def __init__(self):
            self.cancelled = False

        def done(self):
            return False

        def cancel(self):
            self.cancelled = True
            return True

    # wait() takes only wsapeer's own Operation: a pending one, which the model never
    # makes, stands in for it here.
    monkeypatch.setattr(wsapeer.aio, "Operation", Pending)

    class Proactor:
        def __init__(self, loop):
            self.waits = []
            self.loop = loop

        def wait_for_handle(self, handle):
            assert handle == 0x1234
            future = self.loop.create_future()
            self.waits.append(future)
            return future

    monkeypatch.setattr(aio.sys, "platform", "win32")

    async def main():
        loop = asyncio.get_running_loop()
        assert not hasattr(loop, "_proactor")  # a selector loop: the proactor is ours alone
        proactor = Proactor(loop)
        loop._proactor = proactor
        try:
            operation = Pending()
            alive = weakref.ref(operation)
            task = asyncio.ensure_future(aio.wait(operation))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert operation.cancelled
            [waiting] = proactor.waits
            assert not waiting.cancelled()  # the registered wait is left to end by itself
            del operation, task
            gc.collect()
            assert alive() is not None  # still owned by the wait on its event
            waiting.set_result(None)  # Windows signals the event: the wait ends
            await asyncio.sleep(0)
            gc.collect()
            assert alive() is None
        finally:
            del loop._proactor

    # A selector loop on every platform: Windows' default proactor loop has a
    # real _proactor, which its own event processing needs.
    loop = asyncio.SelectorEventLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.needs_model
def test_apply_many_one_target_many_sockets_with_a_closed_one(model):
    """The TCP server's shape (one target, many socket.socket objects) takes
    each handle by fileno(); a closed socket still gets its own error."""
    target = PeerTargetName("host/server.example.com")
    socks = [socket.socket() for _ in range(3)]
    socks[1].close()
    try:
        results = wsapeer.apply_many([(s, target) for s in socks])
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], ValueError) and "items[1]" in str(results[1])
        assert [len(model.calls(s)) for s in (socks[0], socks[2])] == [1, 1]
    finally:
        for s in socks:
            s.close()
