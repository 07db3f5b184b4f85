"""What an independent attack on the Python API found (issue 22, items 7 to 16),
each pinned by the behaviour a user relies on."""

import asyncio
import contextlib
import gc
import io
import os
import socket
import sys
import threading
import time

import pytest

import wsapeer
import wsapeer.aio
from wsapeer import PeerTargetName, SecuritySettings, UnsupportedPlatformError
from wsapeer.__main__ import main as cli
from wsapeer.testing import contract_model

PEER4 = ("192.0.2.1", 5150)


def open_fds():
    return len(os.listdir("/proc/self/fd"))


class Port(int):
    """An int subclass: its value is 70000, out of range."""


# ---- item 7: every argument is checked before any socket exists -------------------------
@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: wsapeer.create_server(("127.0.0.1", 0), backlog=2**40), ValueError, "backlog"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), backlog=-1), ValueError, "backlog"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 9), "host/x", timeout=1e300),
         ValueError, "timeout"),
        (lambda: wsapeer.create_connection(("127.0.0.1", 9), "host/x", timeout=2.0**31),
         ValueError, "timeout"),
        (lambda: wsapeer.create_connection(("127.0.0.1", Port(70000)), "host/x"), TypeError,
         "port"),
        (lambda: wsapeer.create_server(("127.0.0.1", Port(70000))), TypeError, "port"),
        (lambda: wsapeer.create_server(("", Port(70000))), TypeError, "port"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), family=socket.AF_INET6 + 0.0),
         ValueError, "family"),
        (lambda: wsapeer.create_server(("127.0.0.1", 0), backlog=True), TypeError, "backlog"),
    ],
)  # fmt: skip
@pytest.mark.needs_model
def test_out_of_range_is_refused_before_any_socket(call, exc, match):
    before = open_fds()
    with contract_model() as model, pytest.raises(exc, match=match):
        call()
    assert model.records == []
    gc.collect()
    assert open_fds() == before


@pytest.mark.parametrize(
    "make",
    [
        lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, backlog=2**40),
        lambda: wsapeer.aio.open_connection("127.0.0.1", Port(70000), target_name="host/x"),
        lambda: wsapeer.aio.start_server(print, "127.0.0.1", Port(70000)),
    ],
)
@pytest.mark.needs_model
def test_the_asyncio_helpers_check_first_too(make):
    before = open_fds()
    with contract_model() as model, pytest.raises((TypeError, ValueError)):
        asyncio.run(make())
    assert model.records == []
    gc.collect()
    assert open_fds() == before


# ---- item 8: aio.wait takes wsapeer Operations only -------------------------------------
class FakeOperation:
    routine = False

    def done(self):
        return True

    def result(self):
        return "secured"


@pytest.mark.parametrize(
    "make",
    [
        FakeOperation,
        lambda: __import__("concurrent.futures").futures.Future(),
        lambda: asyncio.get_running_loop().create_future(),
    ],
)
def test_aio_wait_refuses_anything_but_an_operation(make):
    async def main():
        with pytest.raises(TypeError, match="Operation"):
            await wsapeer.aio.wait(make())

    asyncio.run(main())


# ---- item 9: a block that ends mid-batch ---------------------------------------------------
@pytest.mark.needs_model
def test_a_batch_cut_by_the_end_of_its_block_says_which_items_were_made():
    """Items issued before another thread ended the block were made and say so; the
    rest say UnsupportedPlatformError, in their own slots: never a success for an
    item nothing answered, never an error for one that was made."""
    count = 20000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        targets = [PeerTargetName("host/p", ("192.0.2.1", 1 + i % 60000)) for i in range(count)]
        out = {}

        def run():
            try:
                out["results"] = wsapeer.apply_many([(s, t) for t in targets])
            except UnsupportedPlatformError as exc:
                out["error"] = exc

        with contract_model() as model:
            worker = threading.Thread(target=run)
            worker.start()
            time.sleep(0.002)
        records = len(model.records)
        worker.join()
    if "error" in out:  # the block ended before the first item: once, for the call
        assert records == 0
        return
    results = out["results"]
    assert all(r is None or isinstance(r, UnsupportedPlatformError) for r in results)
    made = results.count(None)
    assert made == records  # every success reached the model, and only those
    if made < count:  # the cut is one point: everything after it failed
        assert results[:made] == [None] * made


# ---- item 11: the command line never echoes a password ----------------------------------
SECRET = "Hunter2-correct-horse"


@pytest.mark.parametrize(
    "argv",
    [
        ["--password", SECRET],
        ["inspect-settings", "--passwd", SECRET],
        ["inspect-settings", "--pass", SECRET],
        ["inspect-settings", f"--password={SECRET}"],
        ["inspect-settings", "--PASSWORD", SECRET],
        ["inspect-settings", "--protocol", "ipsec", "--password", SECRET],
        ["inspect", "host/x", "--password", SECRET],
        ["inspect-settings", "--password-stdin", SECRET],
        ["inspect-settings", "--secret", SECRET],
    ],
)
def test_the_cli_never_prints_a_password(argv):
    err, out = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
        pytest.raises(SystemExit) as stop,
    ):
        cli(argv)
    assert stop.value.code == 2
    assert SECRET not in err.getvalue() + out.getvalue()
    assert "error" in err.getvalue()


# ---- item 12: the family check on every path of set_peer_target_name ------------------------
class V6(socket.socket):
    pass


@pytest.mark.needs_model
def test_a_target_seen_before_still_checks_a_subclass_sockets_family():
    with contract_model() as model:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as plain:
            for _ in range(3):  # seen once, then kept
                wsapeer.set_peer_target_name(plain, "host/kept", PEER4)
        with V6(socket.AF_INET6, socket.SOCK_DGRAM) as six:
            for _ in range(3):
                with pytest.raises(ValueError, match="IPv4 address but the socket is IPv6"):
                    wsapeer.set_peer_target_name(six, "host/kept", PEER4)
            assert model.calls(six.fileno()) == []


# ---- item 13: aio.apply on a closed socket -------------------------------------------------
@pytest.mark.parametrize("kind", [socket.socket, V6])
@pytest.mark.parametrize("target", [PeerTargetName("host/x"), SecuritySettings()])
@pytest.mark.needs_model
def test_aio_apply_on_a_closed_socket_reaches_nothing(kind, target):
    family = socket.AF_INET6 if kind is V6 else socket.AF_INET
    sock = kind(family, socket.SOCK_STREAM)
    sock.close()

    async def main():
        with pytest.raises(ValueError, match="closed"):
            await wsapeer.aio.apply(sock, target)

    with contract_model() as model:
        asyncio.run(main())
    assert model.records == []


# ---- item 14: a connection whose query fails is reported, and never served -----------------
@pytest.mark.needs_model
def test_a_failed_per_connection_query_reaches_the_loops_exception_handler(monkeypatch):
    served, reported = [], []

    def refuse(*args, **kwargs):
        raise wsapeer.WinsockError(10014, "WSAQuerySocketSecurity")

    async def query(*args, **kwargs):
        refuse()

    monkeypatch.setattr(wsapeer.aio, "query_socket_security", query)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: reported.append(context))
        server = await wsapeer.aio.start_server(
            lambda r, w: served.append(w), "127.0.0.1", 0, access_mask=0x8
        )
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
            writer.close()
            for _ in range(100):
                if reported:
                    break
                await asyncio.sleep(0.01)

    with contract_model():
        asyncio.run(main())
    assert served == []
    assert [type(c.get("exception")) for c in reported] == [wsapeer.WinsockError]


# ---- item 15: a secured listener's port is never shared on Windows ------------------------
@pytest.mark.needs_model
def test_create_server_asks_windows_for_an_exclusive_port(monkeypatch):
    options = []
    import wsapeer._helpers

    monkeypatch.setattr(wsapeer._helpers, "ON_WINDOWS", True)  # os.name "nt" would break pytest
    monkeypatch.setattr(socket, "SO_EXCLUSIVEADDRUSE", -5, raising=False)
    monkeypatch.setattr(socket.socket, "setsockopt", lambda self, *a: options.append(a))
    with contract_model():
        wsapeer.create_server(("127.0.0.1", 0)).close()
    assert (socket.SOL_SOCKET, socket.SO_REUSEADDR, 1) not in options
    assert options == [(socket.SOL_SOCKET, -5, 1)]


@pytest.mark.skipif(
    sys.platform == "win32", reason="Windows' create_server takes SO_EXCLUSIVEADDRUSE (above)"
)
@pytest.mark.needs_model
def test_create_server_elsewhere_reuses_the_address_as_socket_create_server_does(monkeypatch):
    options = []
    real = socket.socket.setsockopt
    monkeypatch.setattr(
        socket.socket, "setsockopt", lambda self, *a: (options.append(a), real(self, *a))
    )
    with contract_model():
        wsapeer.create_server(("127.0.0.1", 0)).close()
    assert options == [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)]


# ---- item 16: impersonation checks the peer's family as every call does ---------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda s: wsapeer.impersonate_socket_peer(s, ("::1", 5150)),
        lambda s: wsapeer.impersonate_peer(s, ("::1", 5150)).__enter__(),
    ],
)
@pytest.mark.needs_model
def test_impersonating_a_peer_of_the_other_family_is_refused(call):
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        wsapeer.set_socket_security(s)
        with pytest.raises(ValueError, match="IPv6 address but the socket is IPv4"):
            call(s)
        assert model.calls(s.fileno()) == ["WSASetSocketSecurity"]
