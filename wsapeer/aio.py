"""asyncio front end: the overlapped operations as coroutines that never block
the event loop::

    import wsapeer.aio

    await wsapeer.aio.set_peer_target_name(sock, "host/server.example.com")
    await wsapeer.aio.apply(sock, target)          # a prepared PeerTargetName
    info = await wsapeer.aio.query_socket_security(conn, access_mask=0x8)

On Windows' ProactorEventLoop the operation's event is awaited through the
loop's own proactor (the event's low bit keeps its completion port free of
packets it did not ask for); on other loops a worker thread waits with the
GIL released. An operation that is already done (always, off Windows, where
the contract model answers at once) costs no thread at all. Cancelling the
awaiting task cancels the operation; a batch (apply_many) runs to its end in its
worker thread, bounded by its timeout.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from typing import Any, Iterable, List, Optional, Tuple, TypeVar, Union

from ._address import PeerAddress, PeerArg
from ._aio_streams import open_connection, start_server
from ._batch import apply_many as _apply_many
from ._calls import SET_PEER_TARGET_NAME as _SET_NAME
from ._calls import SET_SOCKET_SECURITY as _SET_SECURITY
from ._enums import ProtocolArg, SecurityProtocol
from ._overlapped import Operation
from ._overlapped import run as _run
from ._query import SecurityInfo, query_socket_security_async
from ._settings import IPsecSettings, SecuritySettings, set_socket_security_async
from ._socket import SOCKET, SocketLike, check_peer_family, family_of, handle_of
from ._target import PeerTargetName, delete_peer_target_name_async

__all__ = [
    "apply",
    "apply_many",
    "delete_peer_target_name",
    "open_connection",
    "query_socket_security",
    "set_peer_target_name",
    "set_socket_security",
    "start_server",
    "wait",
]

T = TypeVar("T")


async def _proactor_wait(loop: asyncio.AbstractEventLoop, operation: Operation[Any]) -> None:
    # Windows-only. The proactor registers a wait on the operation's event
    # (RegisterWaitForSingleObject); closing the event while that wait is still
    # registered is undefined, and releasing the operation closes it. So the
    # task's cancellation never cancels the proactor's wait (shield): the
    # operation is cancelled instead (in wait()), and stays referenced by the
    # wait until Windows signals the event, which fires and ends the wait.
    waiting = loop._proactor.wait_for_handle(operation.event_handle)  # type: ignore[attr-defined]
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        waiting.add_done_callback(lambda _done, keep=operation: None)
        raise


async def wait(operation: Operation[T]) -> T:
    """Waits for an overlapped operation without blocking the event loop; returns its result.

    On Windows' ProactorEventLoop the operation's event is awaited through the loop's own
    proactor; on other loops a worker thread of the loop's default executor waits with the GIL
    released. An operation that is already done (always, off Windows, where the contract model
    answers at once) costs no thread at all. Cancelling the awaiting task cancels the
    operation; it stays alive until Windows has finished with it. The exceptions below are
    raised by the awaited coroutine, not by the call that makes it.

    Args:
        operation: a :class:`wsapeer.Operation` from one of the ``*_async`` calls (e.g.
            :func:`wsapeer.set_peer_target_name_async`), started with ``routine=False``.

    Returns:
        What ``operation.result()`` returns, ``None`` for the set and delete calls and the
        :class:`wsapeer.SecurityInfo` of a query (the caller then owns its token handles).

    Raises:
        TypeError: when ``operation`` is not a :class:`wsapeer.Operation`.
        ValueError: when ``operation`` is in routine mode (``routine=True``): its completion
            routine runs only while the thread that started it waits alertably, which an
            event loop never does, so it would never complete.
        wsapeer.WinsockError: when the operation failed: the error Windows (or the contract
            model) reported for it.
        asyncio.CancelledError: when the awaiting task is cancelled before the operation is
            done; the operation is cancelled too.
    """
    if type(operation) is not Operation:  # a look-alike's result() is not Windows' answer
        raise TypeError(
            f"wait() takes an Operation (a wsapeer.Operation, from an *_async call), "
            f"not {type(operation).__name__}"
        )
    if operation.routine:
        raise ValueError(
            f"wsapeer.aio cannot wait for a routine-mode {operation.function} operation: its "
            "completion routine runs only while the thread that started it waits alertably, "
            "which an event loop never does; start it with routine=False"
        )
    if not operation.done():
        loop = asyncio.get_running_loop()
        try:
            if sys.platform == "win32" and hasattr(loop, "_proactor") and operation.event_handle:
                await _proactor_wait(loop, operation)
            else:
                await loop.run_in_executor(None, operation.wait)
        except asyncio.CancelledError:
            operation.cancel()
            raise
    return operation.result()


_TARGETS = (PeerTargetName, SecuritySettings, IPsecSettings)


async def apply(
    sock: SocketLike, target: Union[PeerTargetName, SecuritySettings, IPsecSettings]
) -> None:
    """Applies a prepared target to a socket without blocking the event loop.

    ``target.apply(sock)``, awaited: the socket comes first, as in every other wsapeer call.
    One call to the shim; when Windows completes it at once (as it mostly does, and always
    off Windows) no :class:`wsapeer.Operation` and no thread is made, else the pending call is
    awaited as :func:`wsapeer.aio.wait` awaits it. The exceptions below are raised by the
    awaited coroutine, not by the call that makes it.

    Args:
        sock: a :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an int).
        target: a :class:`wsapeer.PeerTargetName` (WSASetSocketPeerTargetName), or a
            :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`
            (WSASetSocketSecurity).

    Raises:
        TypeError: when ``target`` is none of those (with a hint when ``sock`` and ``target``
            are swapped), or ``sock`` is not a socket, an object whose ``fileno()`` returns
            an int, or an int (a bool included).
        ValueError: when ``sock`` is closed or its handle is out of range, or the target's
            peer is of the other address family than the socket.
        wsapeer.WinsockError: when Windows (or the contract model) refuses the call, e.g.
            WSAEINVAL (10022) for socket security set twice.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled while the call is pending;
            the call is cancelled too.
    """
    if not isinstance(target, _TARGETS):
        if isinstance(sock, _TARGETS):
            raise TypeError("apply() takes (sock, target): the socket comes first")
        raise TypeError(
            "target must be a PeerTargetName, SecuritySettings or IPsecSettings, "
            f"not {type(target).__name__}"
        )
    handle = sock.fileno() if type(sock) is SOCKET else -1  # the common case, as in apply()
    if handle < 0:
        handle = handle_of(sock)  # everything else, and what is wrong with it
    if isinstance(target, PeerTargetName):
        function = _SET_NAME
        if target._family and isinstance(sock, SOCKET) and family_of(sock) != target._family:
            check_peer_family(sock, target._peer)  # raises, saying which family
    else:
        function = _SET_SECURITY
    pending = _run(function, handle, target._buffer, target._size)
    if pending is not None:
        await wait(pending)


async def apply_many(
    items: Iterable[Tuple[SocketLike, Any]],
    timeout: Optional[float] = None,
    *,
    raise_on_error: bool = False,
) -> List[Optional[Exception]]:
    """:func:`wsapeer.apply_many`, awaited: the batch waits in a worker thread, not on the loop.

    ``items`` is consumed on the loop's thread when the coroutine starts; the batch then runs
    in the loop's default executor, where it waits for every item with the GIL released, so
    the loop goes on meanwhile. Results, per-item errors and ``raise_on_error`` are as in
    :func:`wsapeer.apply_many`. Cancelling the awaiting task does not stop the batch: it runs
    on in its thread until every item is done or ``timeout`` ends, and its outcome is lost;
    pass a ``timeout`` to bound it. The exceptions below are raised by the awaited coroutine,
    not by the call that makes it.

    Args:
        items: any iterable of ``(sock, target)`` pairs, a generator included, each target a
            :class:`wsapeer.PeerTargetName`, :class:`wsapeer.SecuritySettings` or
            :class:`wsapeer.IPsecSettings`; ``sock`` is a :class:`socket.socket`, an object
            with ``fileno()`` or a raw handle (an int).
        timeout: the most seconds to wait for all the items together (an int or a float);
            ``None`` (the default) or ``inf`` waits until every item is done.
        raise_on_error: ``True`` raises the failures as an ``ExceptionGroup`` once every item
            has finished, instead of returning them; ``False`` (the default) only returns them.

    Returns:
        One entry per item, in order, ``None`` where the call succeeded, else that item's
        exception (a :class:`wsapeer.WinsockError`, or the ``TypeError`` or ``ValueError``
        saying why the item could not be issued).

    Raises:
        TypeError: when ``items`` is not iterable (raised on the loop's thread, with Python's
            own message) or holds something that is not a pair, when ``timeout`` is neither
            a number nor ``None`` (a bool included), or when ``raise_on_error`` is not a bool.
        ValueError: when ``timeout`` is negative or NaN.
        ExceptionGroup: with ``raise_on_error=True``, once every item has finished, when any
            item failed: it holds the failed items' exceptions in item order.
        wsapeer.UnsupportedPlatformError: once for the whole batch, when at least one item
            can be issued on a platform without Fwpuclnt, or off Windows outside
            :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled; the batch itself goes on
            (see above).
    """
    items = list(items)  # consumed here, on the loop's thread, not in the worker
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None, functools.partial(_apply_many, items, timeout, raise_on_error=raise_on_error)
    )


async def set_peer_target_name(
    sock: SocketLike,
    target_name: str,
    peer: PeerArg = None,
    protocol: ProtocolArg = SecurityProtocol.DEFAULT,
) -> None:
    """:func:`wsapeer.set_peer_target_name`, awaited: names the peer, never blocking the loop.

    Builds a :class:`wsapeer.PeerTargetName` and starts WSASetSocketPeerTargetName as an
    overlapped operation, awaited as :func:`wsapeer.aio.wait` awaits it. Set socket security
    first: a name on a socket without it protects nothing. TCP: before connect, with no peer.
    UDP: once per peer address, before connect or the first sendto to it. The exceptions
    below are raised by the awaited coroutine, not by the call that makes it.

    Args:
        sock: a :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an int).
        target_name: the principal the peer must authenticate as, an SPN such as
            ``"host/server.example.com"``: a non-empty str of at most 32,767 UTF-16 code
            units, without NUL characters or lone surrogates.
        peer: ``None`` (the default) for TCP; for UDP the peer's ``(host, port)``, or
            ``(host, port, flowinfo, scope_id)`` for IPv6, the host numeric (a str or an
            ``ipaddress`` object) and of the socket's family.
        protocol: the :class:`wsapeer.SecurityProtocol` (or its int value) the name is set
            for; DEFAULT by default.

    Raises:
        TypeError: when ``target_name`` is not a str, ``peer`` is not ``None`` or a tuple or
            holds a field of the wrong type, ``protocol`` is neither a
            :class:`wsapeer.SecurityProtocol` nor a plain int (a bool, or another
            enumeration's member), or ``sock`` is not a socket, an object whose ``fileno()``
            returns an int, or an int (a bool included).
        ValueError: when ``target_name`` is empty, too long or holds a NUL or a lone
            surrogate, ``peer`` is not a valid peer (a host name: wsapeer does no DNS; a
            port, flowinfo or scope_id out of range; a tuple of the wrong length) or is of
            the other address family than the socket, ``protocol`` is unknown, or ``sock`` is
            closed or its handle is out of range.
        wsapeer.WinsockError: when Windows (or the contract model) refuses the call, e.g.
            WSAEINVAL (10022) for a UDP socket given no peer, WSAEISCONN (10056) for a
            connected socket.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled while the call is pending;
            the call is cancelled too.
    """
    await wait(PeerTargetName(target_name, peer, protocol).apply_async(sock))


async def set_socket_security(
    sock: SocketLike, settings: Union[SecuritySettings, IPsecSettings, None] = None
) -> None:
    """:func:`wsapeer.set_socket_security`, awaited: secures the socket, never blocking the loop.

    Starts WSASetSocketSecurity as an overlapped operation, awaited as
    :func:`wsapeer.aio.wait` awaits it. Once per socket: a client before connect, a server
    before bind, UDP right after the socket is made. The exceptions below are raised by the
    awaited coroutine, not by the call that makes it.

    Args:
        sock: a :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an int).
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`;
            ``None`` (the default) sends ``SecuritySettings()``: Windows' defaults.

    Raises:
        TypeError: when ``settings`` is not a settings object or ``None``, or ``sock`` is not
            a socket, an object whose ``fileno()`` returns an int, or an int (a bool
            included).
        ValueError: when ``sock`` is closed or its handle is out of range.
        wsapeer.WinsockError: when Windows (or the contract model) refuses the call, e.g.
            WSAEINVAL (10022) for security set twice or after bind, WSAEISCONN (10056) after
            connect.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled while the call is pending;
            the call is cancelled too.
    """
    await wait(set_socket_security_async(sock, settings))


async def delete_peer_target_name(sock: SocketLike, peer: PeerAddress) -> None:
    """:func:`wsapeer.delete_peer_target_name`, awaited: removes a UDP peer's target name.

    Starts WSADeleteSocketPeerTargetName as an overlapped operation, awaited as
    :func:`wsapeer.aio.wait` awaits it. The exceptions below are raised by the awaited
    coroutine, not by the call that makes it.

    Args:
        sock: a :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an int).
        peer: the peer whose name to remove, as it was set: ``(host, port)``, or
            ``(host, port, flowinfo, scope_id)`` for IPv6, the host numeric (a str or an
            ``ipaddress`` object) and of the socket's family.

    Raises:
        TypeError: when ``peer`` is not a tuple or holds a field of the wrong type, or
            ``sock`` is not a socket, an object whose ``fileno()`` returns an int, or an int
            (a bool included).
        ValueError: when ``peer`` is ``None`` or not a valid peer (a host name: wsapeer does
            no DNS; a port, flowinfo or scope_id out of range; a tuple of the wrong length) or
            is of the other address family than the socket, or ``sock`` is closed or its
            handle is out of range.
        wsapeer.WinsockError: when Windows (or the contract model) refuses the call, e.g.
            WSAEINVAL (10022) when no name was set for that peer.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled while the call is pending;
            the call is cancelled too.
    """
    await wait(delete_peer_target_name_async(sock, peer))


async def query_socket_security(
    sock: SocketLike,
    peer: PeerArg = None,
    access_mask: int = 0,
    ipsec2: bool = False,
) -> SecurityInfo:
    """:func:`wsapeer.query_socket_security`, awaited: how the connection is secured.

    Starts WSAQuerySocketSecurity as an overlapped operation, awaited as
    :func:`wsapeer.aio.wait` awaits it. TCP: after connect or accept; UDP: pass the peer.
    Check ``info.secured`` before trusting the peer. The exceptions below are raised by the
    awaited coroutine, not by the call that makes it.

    Args:
        sock: a :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an int).
        peer: ``None`` (the default) for TCP; for UDP the peer's ``(host, port)``, or
            ``(host, port, flowinfo, scope_id)`` for IPv6, the host numeric (a str or an
            ``ipaddress`` object) and of the socket's family.
        access_mask: the access rights wanted on the peer's access tokens, an int from 0 to
            0xFFFFFFFF (e.g. 0x8, TOKEN_QUERY); 0 (the default) asks for no tokens.
        ipsec2: ``True`` asks for the IPSEC2 fields too (``mm_sa_id``, ``qm_sa_id``,
            ``negotiation_winerror``, ``sa_lookup_context``; Windows 7 and later).

    Returns:
        The :class:`wsapeer.SecurityInfo`, which owns the peer's token handles; close it, or
        use it in a ``with`` block.

    Raises:
        TypeError: when ``peer`` is not ``None`` or a tuple or holds a field of the wrong
            type, ``access_mask`` is not an int (a bool included), ``ipsec2`` is not a bool,
            or ``sock`` is not a socket, an object whose ``fileno()`` returns an int, or an
            int (a bool included).
        ValueError: when ``peer`` is not a valid peer (a host name: wsapeer does no DNS; a
            port, flowinfo or scope_id out of range; a tuple of the wrong length) or is of the
            other address family than the socket, ``access_mask`` is out of range, or ``sock``
            is closed or its handle is out of range.
        wsapeer.WinsockError: when Windows (or the contract model) refuses the query, e.g.
            WSAEMSGSIZE (10040) for a UDP socket queried without its peer and with no
            access mask (with one, or ipsec2, the model answers WSAEAFNOSUPPORT, 10047).
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
        asyncio.CancelledError: when the awaiting task is cancelled while the call is pending;
            the call is cancelled too.
    """
    return await wait(query_socket_security_async(sock, peer, access_mask, ipsec2))
