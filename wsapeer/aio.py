"""asyncio front end: the overlapped operations as coroutines that never block
the event loop.

    import wsapeer.aio

    await wsapeer.aio.set_peer_target_name(sock, "host/server.example.com")
    await wsapeer.aio.apply(target, sock)          # a prepared PeerTargetName
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
import sys
from typing import Any, Optional, Tuple, TypeVar, Union

from ._enums import SecurityProtocol
from ._overlapped import Operation
from ._query import SecurityInfo, query_socket_security_async
from ._settings import IPsecSettings, SecuritySettings, set_socket_security_async
from ._socket import SocketLike
from ._target import PeerTargetName, delete_peer_target_name_async

__all__ = [
    "apply",
    "delete_peer_target_name",
    "query_socket_security",
    "set_peer_target_name",
    "set_socket_security",
    "wait",
]

T = TypeVar("T")


async def _proactor_wait(loop: asyncio.AbstractEventLoop, operation: Operation[Any]) -> None:
    # Windows-only: the one line that needs the proactor. Covered by the
    # Windows CI workflow; the operation object under it is covered by Wine.
    await loop._proactor.wait_for_handle(operation.event_handle)  # type: ignore[attr-defined]


async def wait(operation: Operation[T]) -> T:
    """Waits for an operation without blocking the loop; returns its result."""
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


async def apply(
    target: Union[PeerTargetName, SecuritySettings, IPsecSettings], sock: SocketLike
) -> None:
    """target.apply(sock), awaited."""
    await wait(target.apply_async(sock))


async def set_peer_target_name(
    sock: SocketLike,
    target_name: str,
    peer: Optional[Tuple[Any, ...]] = None,
    protocol: Union[SecurityProtocol, int] = SecurityProtocol.DEFAULT,
) -> None:
    """wsapeer.set_peer_target_name, awaited."""
    await wait(PeerTargetName(target_name, peer, protocol).apply_async(sock))


async def set_socket_security(
    sock: SocketLike, settings: Union[SecuritySettings, IPsecSettings, None] = None
) -> None:
    """wsapeer.set_socket_security, awaited."""
    await wait(set_socket_security_async(sock, settings))


async def delete_peer_target_name(sock: SocketLike, peer: Tuple[Any, ...]) -> None:
    """wsapeer.delete_peer_target_name, awaited."""
    await wait(delete_peer_target_name_async(sock, peer))


async def query_socket_security(
    sock: SocketLike,
    peer: Optional[Tuple[Any, ...]] = None,
    access_mask: int = 0,
    ipsec2: bool = False,
) -> SecurityInfo:
    """wsapeer.query_socket_security, awaited."""
    return await wait(query_socket_security_async(sock, peer, access_mask, ipsec2))
