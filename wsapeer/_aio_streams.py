"""asyncio's open_connection and start_server with the secure socket calls
made in Microsoft's order (issue 16): wsapeer.aio.open_connection and
wsapeer.aio.start_server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Awaitable, Callable, List, Optional, Tuple, Union

from ._enums import ProtocolArg
from ._errors import WsapeerError
from ._helpers import SettingsArg, _address, _no_connection, _stream_addresses, create_server
from ._query import SecurityInfo
from ._settings import _client_calls

ClientConnected = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter], Union[Awaitable[None], None]
]


async def open_connection(
    host: str,
    port: int,
    *,
    target_name: str,
    settings: SettingsArg = None,
    protocol: Optional[ProtocolArg] = None,
    limit: int = 2**16,
) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Like asyncio.open_connection, with the peer authenticated as target_name.

    For each address of the numeric host: a TCP socket, WSASetSocketSecurity,
    WSASetSocketPeerTargetName (both awaited, never blocking the loop), then
    connect, as wsapeer.create_connection does; returns (reader, writer).
    Host names are refused (ValueError): wsapeer does no DNS lookups. Every
    argument is checked before the first socket is made.
    """
    from .aio import apply  # the module that imports this one

    address = _address((host, port), "address")
    chosen, target = _client_calls(target_name, settings, protocol)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    loop = asyncio.get_running_loop()
    errors: List[OSError] = []
    for family, kind, proto, _, sockaddr in _stream_addresses(address, *address):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await apply(sock, chosen)
            await apply(sock, target)
            await loop.sock_connect(sock, sockaddr)
        except (WsapeerError, TypeError, ValueError):
            sock.close()
            raise  # not about this address
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        try:
            return await asyncio.open_connection(sock=sock, limit=limit)
        except BaseException:
            sock.close()
            raise
    raise _no_connection(errors, address)


_closers: set[asyncio.Future[None]] = set()


async def _close_when_closed(writer: asyncio.StreamWriter, info: SecurityInfo) -> None:
    try:
        await writer.wait_closed()
    except Exception:
        pass
    finally:
        info.close()


async def start_server(
    client_connected_cb: ClientConnected,
    host: str,
    port: int,
    *,
    settings: SettingsArg = None,
    family: int = socket.AF_INET,
    backlog: int = 100,
    reuse_port: bool = False,
    access_mask: int = 0,
    limit: int = 2**16,
) -> asyncio.AbstractServer:
    """Like asyncio.start_server, on a listener made by wsapeer.create_server
    (socket security before bind).

    Each connection is queried once before client_connected_cb runs:
    writer.get_extra_info("wsapeer") is its SecurityInfo (with the peer's
    token handles if access_mask asks for them), whose tokens are closed when
    the writer closes. Check info.secured before trusting the peer.
    """
    from .aio import query_socket_security

    if not callable(client_connected_cb):
        raise TypeError("client_connected_cb must be callable")
    if isinstance(access_mask, bool) or not isinstance(access_mask, int):
        raise TypeError(f"access_mask must be an int, not {type(access_mask).__name__}")
    listener = create_server(
        (host, port), settings=settings, family=family, backlog=backlog, reuse_port=reuse_port
    )

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            info = await query_socket_security(
                writer.get_extra_info("socket"), access_mask=access_mask
            )
        except BaseException:
            writer.close()
            raise
        extra: Any = getattr(writer.transport, "_extra", None)
        if not isinstance(extra, dict):  # every asyncio transport keeps one
            info.close()
            writer.close()
            raise RuntimeError("this transport keeps no extra info for the SecurityInfo")
        extra["wsapeer"] = info
        closer = asyncio.ensure_future(_close_when_closed(writer, info))
        _closers.add(closer)  # the loop keeps only a weak reference to a task
        closer.add_done_callback(_closers.discard)
        result = client_connected_cb(reader, writer)
        if result is not None:
            await result

    try:
        return await asyncio.start_server(connected, sock=listener, limit=limit)
    except BaseException:
        listener.close()
        raise
