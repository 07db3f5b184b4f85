"""WSAImpersonateSocketPeer and WSARevertImpersonation, and the context manager
that pairs them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Iterator

from . import _calls, _errors
from ._address import PeerArg, marshal_sockaddr, normalize_peer
from ._socket import SocketLike, check_peer_family, handle_of
from ._wsapeer import ffi, lib

_IMPERSONATE = _calls.NAMES[_calls.IMPERSONATE_SOCKET_PEER]
_REVERT = _calls.NAMES[_calls.REVERT_IMPERSONATION]

_impersonation = threading.local()


def _refuse_in_event_loop(allow: bool) -> None:
    if not isinstance(allow, bool):
        raise TypeError(f"allow_in_event_loop must be a bool, not {type(allow).__name__}")
    if allow:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "impersonation is per thread, and this thread runs an event loop: every task that "
        "runs while the peer is impersonated (at any await) would run as the peer. "
        "Impersonate in a worker thread (loop.run_in_executor), or pass "
        "allow_in_event_loop=True if the block never awaits"
    )


def impersonate_socket_peer(
    sock: SocketLike, peer: PeerArg = None, *, allow_in_event_loop: bool = False
) -> None:
    """Makes the calling thread run as ``sock``'s peer, until it reverts.

    Calls WSAImpersonateSocketPeer; :func:`wsapeer.revert_impersonation` ends it. Prefer
    the :func:`wsapeer.impersonate_peer` context manager, which reverts on every way out.
    Windows impersonates whoever the peer is: query the socket first
    (:func:`wsapeer.query_socket_security`) and impersonate only a secured peer.
    Impersonation is per thread, so it is refused on a thread running an asyncio event
    loop unless ``allow_in_event_loop=True``: every task that runs there meanwhile (at any
    ``await``) would run as the peer.

    Args:
        sock: the socket whose peer to impersonate: a :class:`socket.socket` (or subclass),
            any object with a ``fileno()`` method, or an ``int`` handle (a SOCKET on
            Windows).
        peer: ``None`` for a connected socket (TCP: the connection identifies the peer, and
            Windows ignores any address), or the UDP peer to impersonate: ``(host, port)``
            for IPv4, ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's
            family, with a numeric ``host`` (a ``str``, an :class:`ipaddress.IPv4Address` or
            an :class:`ipaddress.IPv6Address`).
        allow_in_event_loop: ``True`` to impersonate even on a thread that runs an asyncio
            event loop, for code that never awaits before reverting; ``False`` (the
            default) refuses there.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``peer`` is neither ``None`` nor a tuple,
            its host is neither a ``str`` nor an ipaddress address, or its port, flowinfo or
            scope_id is not an ``int``; ``allow_in_event_loop`` is not a ``bool``. A
            ``bool`` is refused wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``peer`` does not have 2 to 4 items (2
            for IPv4), or holds a host, port, flowinfo, scope_id or zone that
            :class:`wsapeer.PeerTargetName` refuses; ``peer`` is of the other address family
            than ``sock`` (checked when ``sock`` is a :class:`socket.socket`).
        RuntimeError: the calling thread runs an asyncio event loop and
            ``allow_in_event_loop`` is ``False``.
        wsapeer.WinsockError: Windows (or the contract model) refused the call,
            e.g. WSAEFAULT (10014): a socket that is not TCP was given no peer; WSAEINVAL
            (10022): the socket is not AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM;
            WSAENOTSOCK (10038): the handle is not a socket.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: the call failed without reporting an error code.
    """
    _refuse_in_event_loop(allow_in_event_loop)
    handle = handle_of(sock)
    normalized = normalize_peer(peer)
    check_peer_family(sock, normalized)
    address: Any = ffi.NULL
    size = 0
    if normalized.kind != lib.WSAPEER_PEER_NONE:
        address, size = marshal_sockaddr(normalized)
    _errors.check(lib.wsapeer_impersonate_socket_peer(handle, address, size), _IMPERSONATE)
    _impersonation.active = True


def revert_impersonation() -> None:
    """Ends the calling thread's impersonation of a socket peer (WSARevertImpersonation).

    A success that does nothing when the thread is not impersonating, as Windows documents.
    If Windows refuses, the thread may still run as the peer, so it still counts as
    impersonating: :func:`wsapeer.impersonate_peer` refuses to start another block on it.

    Raises:
        wsapeer.WinsockError: Windows (or the contract model) refused the call.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: the call failed without reporting an error code.
    """
    status = lib.wsapeer_revert_impersonation()
    if status == 0 or status == lib.WSAPEER_E_UNSUPPORTED:
        _impersonation.active = False  # reverted, or no Fwpuclnt here to run as anyone
    _errors.check(status, _REVERT)


@contextlib.contextmanager
def impersonate_peer(
    sock: SocketLike, peer: PeerArg = None, *, allow_in_event_loop: bool = False
) -> Iterator[None]:
    """Runs a ``with`` block as ``sock``'s peer, and reverts on the way out, exceptions included.

    Calls WSAImpersonateSocketPeer on entry and WSARevertImpersonation on exit, as Windows'
    own sample server does after querying the socket (:func:`wsapeer.query_socket_security`:
    impersonate only a secured peer). The block gets no value (``as`` binds ``None``).
    Nothing is checked or called until the block is entered: the ``with`` statement raises
    the errors below before the block runs (a failed revert, after it).

    Impersonation is per thread: only the thread that entered the block runs as the peer,
    and it may not nest another impersonate_peer() inside (nor enter one while
    :func:`wsapeer.impersonate_socket_peer` is not yet reverted). On a thread running an
    asyncio event loop it is refused unless ``allow_in_event_loop=True``: at any ``await``
    inside the block, other tasks would run as the peer. Impersonate in a worker thread
    (``loop.run_in_executor``) instead.

    Args:
        sock: the socket whose peer to impersonate: a :class:`socket.socket` (or subclass),
            any object with a ``fileno()`` method, or an ``int`` handle (a SOCKET on
            Windows).
        peer: ``None`` for a connected socket (TCP: the connection identifies the peer, and
            Windows ignores any address), or the UDP peer to impersonate: ``(host, port)``
            for IPv4, ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's
            family, with a numeric ``host`` (a ``str``, an :class:`ipaddress.IPv4Address` or
            an :class:`ipaddress.IPv6Address`).
        allow_in_event_loop: ``True`` to impersonate even on a thread that runs an asyncio
            event loop, for code that never awaits before reverting; ``False`` (the
            default) refuses there.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``peer`` is neither ``None`` nor a tuple,
            its host is neither a ``str`` nor an ipaddress address, or its port, flowinfo or
            scope_id is not an ``int``; ``allow_in_event_loop`` is not a ``bool``. A
            ``bool`` is refused wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``peer`` does not have 2 to 4 items (2
            for IPv4), or holds a host, port, flowinfo, scope_id or zone that
            :class:`wsapeer.PeerTargetName` refuses; ``peer`` is of the other address family
            than ``sock`` (checked when ``sock`` is a :class:`socket.socket`).
        RuntimeError: the calling thread runs an asyncio event loop and
            ``allow_in_event_loop`` is ``False``, or it is already impersonating a socket
            peer through wsapeer (a nested block, or an impersonate_socket_peer() not yet
            reverted).
        wsapeer.WinsockError: Windows (or the contract model) refused to impersonate,
            e.g. WSAEFAULT (10014): a socket that is not TCP was given no peer; WSAEINVAL
            (10022): the socket is not AF_INET/AF_INET6 with SOCK_STREAM/SOCK_DGRAM;
            WSAENOTSOCK (10038): the handle is not a socket.
            Or, on the way out, refused to revert: raised from the ``with`` statement, with
            the block's own exception, if any, as its context.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: a call failed without reporting an error code.
    """
    _refuse_in_event_loop(allow_in_event_loop)
    if getattr(_impersonation, "active", False):
        raise RuntimeError(
            "this thread is already impersonating a socket peer; impersonate_peer() "
            "does not nest (revert first)"
        )
    impersonate_socket_peer(sock, peer, allow_in_event_loop=True)
    try:
        yield
    finally:
        revert_impersonation()
