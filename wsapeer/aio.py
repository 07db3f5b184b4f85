"""asyncio front end: the overlapped operations as coroutines that never block
the event loop.

    import wsapeer.aio

    await wsapeer.aio.set_peer_target_name(sock, "host/server.example.com")
    await wsapeer.aio.apply(sock, target)          # a prepared PeerTargetName
    info = await wsapeer.aio.query_socket_security(conn, access_mask=0x8)

On Windows' ProactorEventLoop the operation's event is awaited through the
loop's own proactor (the event's low bit keeps its completion port free of
packets it did not ask for); on other loops a worker thread waits with the
GIL released. An operation that is already done (always, off Windows, where
the contract model answers at once) costs no thread at all. Cancelling the
awaiting task cancels the operation.
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
    """Waits for an operation without blocking the loop; returns its result.

    Routine-mode operations are refused (ValueError): their completion routine
    runs only in an alertable wait on the thread that started them, which an
    event loop never enters, so they would never complete."""
    if not callable(getattr(operation, "done", None)):
        raise TypeError(
            f"wait() takes an Operation (from an *_async call), not {type(operation).__name__}"
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
    """target.apply(sock), awaited: the socket first, as in every other call."""
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
    """wsapeer.apply_many, awaited: the batch runs in a worker thread (it waits
    for every item with the GIL released), so the loop goes on meanwhile."""
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
    """wsapeer.set_peer_target_name, awaited."""
    await wait(PeerTargetName(target_name, peer, protocol).apply_async(sock))


async def set_socket_security(
    sock: SocketLike, settings: Union[SecuritySettings, IPsecSettings, None] = None
) -> None:
    """wsapeer.set_socket_security, awaited."""
    await wait(set_socket_security_async(sock, settings))


async def delete_peer_target_name(sock: SocketLike, peer: PeerAddress) -> None:
    """wsapeer.delete_peer_target_name, awaited."""
    await wait(delete_peer_target_name_async(sock, peer))


async def query_socket_security(
    sock: SocketLike,
    peer: PeerArg = None,
    access_mask: int = 0,
    ipsec2: bool = False,
) -> SecurityInfo:
    """wsapeer.query_socket_security, awaited."""
    return await wait(query_socket_security_async(sock, peer, access_mask, ipsec2))
