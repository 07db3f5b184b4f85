"""asyncio's open_connection and start_server with the secure socket calls
made in Microsoft's order (issue 16): wsapeer.aio.open_connection and
wsapeer.aio.start_server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Awaitable, Callable, Optional, Tuple, Union

from ._address import Host
from ._checks import kind_of
from ._enums import ProtocolArg
from ._helpers import SettingsArg, _endpoint, check_backlog, create_server
from ._query import SecurityInfo, check_access_mask
from ._settings import _client_calls

ClientConnected = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter], Union[Awaitable[None], None]
]


async def open_connection(
    host: Host,
    port: int,
    *,
    target_name: str,
    settings: SettingsArg = None,
    protocol: Optional[ProtocolArg] = None,
    limit: int = 2**16,
) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Opens a stream connection whose peer IPsec must authenticate as ``target_name``.

    Like :func:`asyncio.open_connection`, in Microsoft's order, as
    :func:`wsapeer.create_connection` makes the calls: a non-blocking TCP socket of the
    host's family, WSASetSocketSecurity (``settings``), WSASetSocketPeerTargetName
    (``target_name``), both awaited without blocking the loop, then connect. Every argument
    is checked before the socket is made, and a socket that fails is closed. There
    is no timeout of its own: wrap the call in ``asyncio.wait_for`` to bound it; a cancelled
    call closes the socket it was trying. The exceptions below are raised by the awaited
    coroutine, not by the call that makes it.

    Args:
        host: a numeric IPv4 or IPv6 address, as a str (an IPv6 zone such as ``%3``
            included, taken as the scope id) or an ``ipaddress`` object: wsapeer does no DNS
            lookups, so resolve a name first.
        port: an int from 0 to 65535.
        target_name: the principal the peer must authenticate as, an SPN such as
            ``"host/server.example.com"``: a non-empty str of at most 32,767 UTF-16 code
            units, without NUL characters or lone surrogates.
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`;
            ``None`` (the default) sends ``SecuritySettings()``: Windows' defaults.
        protocol: the :class:`wsapeer.SecurityProtocol` (or its int value) the name is set
            for; ``None`` (the default) takes the settings' protocol (IPSEC or IPSEC2 for
            :class:`wsapeer.IPsecSettings`, DEFAULT otherwise).
        limit: the buffer limit of the :class:`asyncio.StreamReader`, a positive int
            (64 KiB by default), as :func:`asyncio.open_connection` takes it.

    Returns:
        A ``(reader, writer)`` pair, an :class:`asyncio.StreamReader` and an
        :class:`asyncio.StreamWriter` on the connected socket, secured and named; closing the
        writer closes the socket.

    Raises:
        TypeError: before the socket is made, when ``host`` is not a str or ``ipaddress``
            object, ``port`` or ``limit`` is not an int (a bool included), ``target_name`` is
            not a str, ``settings`` is not a settings object or ``None``, or ``protocol`` is
            neither a :class:`wsapeer.SecurityProtocol` nor a plain int (a bool, or another
            enumeration's member).
        ValueError: before the socket is made, when ``host`` is not a numeric address (a
            host name: wsapeer does no DNS; ``""``), ``port`` is not from 0 to 65535,
            ``target_name`` is empty, too long or holds a NUL or a lone surrogate,
            ``protocol`` is unknown, or ``limit`` is not positive.
        OSError: when the socket cannot be made or connected (e.g.
            ``ConnectionRefusedError``).
        wsapeer.WinsockError: when Windows (or the contract model) refuses
            WSASetSocketSecurity or WSASetSocketPeerTargetName.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled; the socket being tried
            is closed (and a pending security call cancelled).
    """
    from .aio import apply  # the module that imports this one

    family, sockaddr = _endpoint((host, port), "address")
    chosen, target = _client_calls(target_name, settings, protocol)
    _check_limit(limit)
    loop = asyncio.get_running_loop()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await apply(sock, chosen)
        await apply(sock, target)
        await loop.sock_connect(sock, sockaddr)
        return await asyncio.open_connection(sock=sock, limit=limit)
    except BaseException:
        sock.close()
        raise


def _check_limit(limit: object) -> None:
    if type(limit) is not int:
        raise TypeError(f"limit must be an int, not {kind_of(limit)}")
    if limit <= 0:
        raise ValueError(f"limit must be a positive int, got {limit!r}")


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
    host: Host,
    port: int,
    *,
    settings: SettingsArg = None,
    family: int = socket.AF_INET,
    backlog: int = 100,
    reuse_port: bool = False,
    access_mask: int = 0,
    limit: int = 2**16,
) -> asyncio.AbstractServer:
    """Serves secured stream connections like :func:`asyncio.start_server`.

    The listener is made by :func:`wsapeer.create_server` (socket security before bind, then
    bind and listen) and served by :func:`asyncio.start_server`. Each connection is queried
    once (WSAQuerySocketSecurity, awaited) before ``client_connected_cb`` runs:
    ``writer.get_extra_info("wsapeer")`` is its :class:`wsapeer.SecurityInfo`, with the
    peer's token handles if ``access_mask`` asks for them, and its tokens are closed when the
    writer closes. Check ``info.secured`` before trusting the peer. A connection whose query
    fails is closed without calling ``client_connected_cb``, and the error goes to the loop's
    exception handler, as an exception of ``client_connected_cb`` would. The exceptions below
    are raised by the awaited coroutine, not by the call that makes it.

    Args:
        client_connected_cb: called as ``client_connected_cb(reader, writer)`` for each
            connection with its :class:`asyncio.StreamReader` and
            :class:`asyncio.StreamWriter`; a plain function or a coroutine function.
        host: a numeric address of ``family``, as a str or an ``ipaddress`` object (wsapeer
            does no DNS lookups), or ``""`` for any.
        port: an int from 0 to 65535, 0 for any free port.
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`;
            ``None`` (the default) sends ``SecuritySettings()``: Windows' defaults.
        family: ``socket.AF_INET`` (the default) or ``socket.AF_INET6``.
        backlog: the listen backlog, an int from 0 to 2**31 - 1 (100 by default), as
            :func:`asyncio.start_server` takes it.
        reuse_port: ``True`` sets SO_REUSEPORT, where the platform has it (never Windows).
        access_mask: the access rights wanted on each peer's access tokens, an int from 0 to
            0xFFFFFFFF (e.g. 0x8, TOKEN_QUERY); 0 (the default) asks for no tokens.
        limit: the buffer limit of each connection's :class:`asyncio.StreamReader`, a
            positive int (64 KiB by default).

    Returns:
        The :class:`asyncio.Server`, already serving; close it (and await its
        ``wait_closed()``) to stop.

    Raises:
        TypeError: before the listener is made, when ``client_connected_cb`` is not
            callable, ``access_mask``, ``backlog``, ``port`` or ``limit`` is not an int (a
            bool included), ``host`` is not a str or ``ipaddress`` object, ``settings`` is not
            a settings object or ``None``, or ``reuse_port`` is not a bool.
        ValueError: before the listener is made, when ``family`` is neither
            ``socket.AF_INET`` nor ``socket.AF_INET6``, ``host`` is not a numeric address (a
            host name: wsapeer does no DNS) or is one of the other family, ``port`` is not
            from 0 to 65535, ``access_mask`` not from 0 to 0xFFFFFFFF, ``backlog`` not from
            0 to 2**31 - 1, ``limit`` not positive, or ``reuse_port=True`` where the
            platform has no SO_REUSEPORT.
        OSError: when the listener cannot be made, bound (e.g. the address is in use) or put
            to listen.
        wsapeer.WinsockError: when Windows (or the contract model) refuses
            WSASetSocketSecurity on the listener.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
    """
    from .aio import query_socket_security

    if not callable(client_connected_cb):
        raise TypeError("client_connected_cb must be callable")
    check_access_mask(access_mask)
    _check_limit(limit)
    check_backlog(backlog)
    listener = create_server(
        (host, port), settings=settings, family=family, backlog=backlog, reuse_port=reuse_port
    )

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            info = await query_socket_security(
                writer.get_extra_info("socket"), access_mask=access_mask
            )
        except Exception as exc:
            # Never served, and never silent: asyncio reports an exception of
            # this callback only from Python 3.11 on, so it is reported here,
            # once, on every version.
            writer.close()
            asyncio.get_running_loop().call_exception_handler(
                {
                    "message": "wsapeer: the security query of an accepted connection "
                    "failed; the connection was closed without being served",
                    "exception": exc,
                    "transport": writer.transport,
                }
            )
            return
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
        # asyncio listens again when it starts serving: with the backlog asked for.
        return await asyncio.start_server(connected, sock=listener, backlog=backlog, limit=limit)
    except BaseException:
        listener.close()
        raise
