"""wsapeer.aio.open_connection and start_server (issue 16, item 2): end to end
on loopback under the contract model (strict), with bad input refused before
any socket exists."""

import asyncio
import socket

import pytest

import wsapeer
import wsapeer.aio
from wsapeer import PeerTargetName, SecuritySettings
from wsapeer.testing import contract_model

pytestmark = pytest.mark.needs_model

# Neither AF_INET nor AF_INET6; Windows CPython has no socket.AF_UNIX, but
# Winsock's AF_UNIX is 1 too (ws2def.h).
AF_UNIX = getattr(socket, "AF_UNIX", 1)


def test_echo_end_to_end_in_microsofts_order():
    seen = {}

    async def handle(reader, writer):
        info = writer.get_extra_info("wsapeer")
        seen["secured"], seen["token"] = info.secured, info.peer_application_token
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    async def main(model):
        server = await wsapeer.aio.start_server(handle, "127.0.0.1", 0, access_mask=0x8)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await wsapeer.aio.open_connection(
                "127.0.0.1", port, target_name="host/server.example.com"
            )
            client = writer.get_extra_info("socket")
            calls = model.calls(client.fileno())
            names = model.peer_target_names(client.fileno())
            writer.write(b"ping\n")
            reply = await reader.readline()
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.05)  # the server side's writer closes, then its tokens
        return reply, calls, names

    with contract_model(strict=True) as model:
        model.pretend_peer(tokens=True)
        reply, calls, names = asyncio.run(main(model))
        assert reply == b"ping\n"
        assert calls == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
        assert names == [PeerTargetName("host/server.example.com")]
        assert seen["secured"] and seen["token"] is not None
        assert model.token_closes(seen["token"]) == 1
    assert model.violations() == []


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: wsapeer.aio.open_connection("localhost", 80, target_name="host/x"), ValueError,
         "no DNS"),
        (lambda: wsapeer.aio.open_connection("127.0.0.1", 80, target_name=""), ValueError,
         "empty"),
        (lambda: wsapeer.aio.open_connection("127.0.0.1", 80, target_name="h", settings="x"),
         TypeError, "settings must be"),
        (lambda: wsapeer.aio.open_connection("127.0.0.1", 80, target_name="h", limit=0),
         ValueError, "limit"),
        (lambda: wsapeer.aio.start_server(print, "localhost", 0), ValueError, "no DNS"),
        (lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, family=AF_UNIX),
         ValueError, "family"),
        (lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, settings=SecuritySettings),
         TypeError, "settings must be"),
        (lambda: wsapeer.aio.start_server(None, "127.0.0.1", 0), TypeError, "callable"),
        (lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, access_mask="8"), TypeError,
         "access_mask"),
        (lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, access_mask=-1), ValueError,
         "access_mask"),
        (lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, limit=0), ValueError, "limit"),
        (lambda: wsapeer.aio.start_server(print, "127.0.0.1", 0, limit="1"), TypeError, "limit"),
        (lambda: wsapeer.aio.open_connection("127.0.0.1", 80, target_name="h", limit=1.5),
         TypeError, "limit"),
        (lambda: wsapeer.aio.open_connection("", 80, target_name="h"), ValueError, "numeric"),
        (lambda: wsapeer.aio.open_connection("127.0.0.1", "80", target_name="h"), TypeError,
         "port"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_any_socket(call, exc, match):
    with contract_model() as model, pytest.raises(exc, match=match):
        asyncio.run(call())
    assert model.records == []


def test_a_closed_server_refuses():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()
    with contract_model(), pytest.raises(ConnectionRefusedError):
        asyncio.run(wsapeer.aio.open_connection("127.0.0.1", port, target_name="host/x"))


def test_start_server_listens_with_the_backlog_asked_for(monkeypatch):
    # The loop first: on Windows its self-pipe is a socketpair() made of TCP
    # sockets, whose listener calls listen() with no backlog.
    loop = asyncio.new_event_loop()
    backlogs = []
    real_listen = socket.socket.listen
    monkeypatch.setattr(
        socket.socket, "listen", lambda self, *n: (backlogs.append(n), real_listen(self, *n))[1]
    )

    async def main():
        server = await wsapeer.aio.start_server(print, "127.0.0.1", 0, backlog=7)
        server.close()
        await server.wait_closed()

    try:
        with contract_model():
            loop.run_until_complete(main())
    finally:
        loop.close()
    assert backlogs and all(n == (7,) for n in backlogs)
