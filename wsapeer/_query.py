"""WSAQuerySocketSecurity: SecurityInfo, which owns the peer's token handles."""

from __future__ import annotations

import threading
import uuid
import weakref
from typing import Any, List, Optional, Tuple, Union

from . import _calls, _errors
from ._address import PeerArg, normalize_peer
from ._checks import exact_int
from ._enums import SecurityInfoFlags, SecurityProtocol
from ._overlapped import Operation, start
from ._socket import SocketLike, check_peer_family, handle_of
from ._wsapeer import ffi, lib

_QUERY = _calls.NAMES[_calls.QUERY_SOCKET_SECURITY]
_INFO_TYPE = ffi.typeof("wsapeer_query_info *")


class SecurityInfo:
    """What WSAQuerySocketSecurity reported for a connection or a peer, and the peer's tokens.

    Returned by :func:`wsapeer.query_socket_security` and the other queries (the
    ``result()`` of :func:`wsapeer.query_socket_security_async`, ``wsapeer.aio``'s), never
    made by hand. When the query asked
    for them (a nonzero ``access_mask``), it holds handles to the peer application's and
    the peer machine's access tokens, and owns them: each is closed exactly once
    (CloseHandle), by :meth:`wsapeer.SecurityInfo.close`, at the end of a ``with`` block,
    or when the object is garbage-collected, whichever comes first; a close that fails is
    raised by ``close()`` (or, at collection, reported to ``sys.unraisablehook``),
    never ignored. Use a handle (for access checks, say) only while the object is open,
    and never close it yourself; duplicate it
    (DuplicateHandle) to keep it longer. The object cannot be copied or pickled: a copy
    would close the same handles twice. Its other fields are plain values, still readable
    after close. ``close()`` and the token properties are safe to use from several threads.

    Raises:
        TypeError: when constructed directly rather than returned by a query, and when
            copied or pickled.
    """

    __slots__ = (
        "__weakref__",
        "_closer",
        "_flags",
        "_lock",
        "_mm",
        "_negotiation",
        "_protocol",
        "_qm",
        "_sa_context",
        "_tokens",
    )  # fmt: skip

    def __init__(self, info: Any) -> None:
        if not isinstance(info, ffi.CData) or ffi.typeof(info) is not _INFO_TYPE:
            raise TypeError(
                "SecurityInfo objects come from query_socket_security; they are not made by hand"
            )
        self._lock = threading.Lock()
        try:
            self._protocol: Union[SecurityProtocol, int] = SecurityProtocol(info.protocol)
        except ValueError:
            self._protocol = info.protocol  # a protocol this wsapeer predates
        self._flags = SecurityInfoFlags(info.flags)  # unknown bits kept
        self._tokens: Optional[List[Optional[int]]] = [
            int(handle) or None for handle in (info.application_token, info.machine_token)
        ]
        held = tuple(handle for handle in self._tokens if handle is not None)
        # Closes them if the object is collected unclosed; a failure there has
        # nobody to raise to, and goes to sys.unraisablehook.
        self._closer = weakref.finalize(self, _close_tokens, held) if held else None
        if info.ipsec2:
            self._mm: Optional[int] = info.mm_sa_id
            self._qm: Optional[int] = info.qm_sa_id
            self._negotiation: Optional[int] = info.negotiation_winerror
            self._sa_context: Optional[uuid.UUID] = uuid.UUID(
                bytes_le=bytes(info.sa_lookup_context)
            )
        else:
            self._mm = self._qm = self._negotiation = None
            self._sa_context = None

    @property
    def protocol(self) -> Union[SecurityProtocol, int]:
        """SecurityProtocol, the protocol securing the traffic, as Windows reported it.

        A :class:`wsapeer.SecurityProtocol`, or a plain ``int`` for a protocol newer than
        this version of wsapeer.
        """
        return self._protocol

    @property
    def flags(self) -> SecurityInfoFlags:
        """Flags, as :class:`wsapeer.SecurityInfoFlags` (SECURED, ENCRYPTED, IMPERSONATED).

        Bits that later Windows versions may add, which the enumeration does not name, are
        kept in the value.
        """
        return self._flags

    @property
    def secured(self) -> bool:
        """Whether a security protocol protects the traffic (``flags`` has SECURED).

        When ``False`` the traffic flows in clear text, and the peer is whoever connected:
        do not trust it, nor impersonate it.
        """
        return bool(self._flags & SecurityInfoFlags.SECURED)

    def _token(self, index: int) -> Optional[int]:
        with self._lock:
            if self._tokens is None:
                raise ValueError("the SecurityInfo is closed; its token handles are gone")
            return self._tokens[index]

    @property
    def peer_application_token(self) -> Optional[int]:
        """PeerApplicationAccessTokenHandle, the peer application's access token, or ``None``.

        The HANDLE as an ``int``: the token of the account the peer application runs under.
        ``None`` when the query asked for no tokens or Windows returned none. Owned by this
        object, and closed with it: reading it after :meth:`wsapeer.SecurityInfo.close`
        raises ``ValueError``.
        """
        return self._token(0)

    @property
    def peer_machine_token(self) -> Optional[int]:
        """PeerMachineAccessTokenHandle, the peer computer's access token, or ``None``.

        The HANDLE as an ``int``: the token of the peer computer's account. ``None`` when
        the query asked for no tokens or Windows returned none. Owned by this object, and
        closed with it: reading it after :meth:`wsapeer.SecurityInfo.close` raises
        ``ValueError``.
        """
        return self._token(1)

    mm_sa_id = property(
        lambda self: self._mm,
        doc="MmSaId, the main-mode SA id (an ``int``) of an IPSEC2 query, else ``None``.",
    )
    qm_sa_id = property(
        lambda self: self._qm,
        doc="QmSaId, the quick-mode SA id (an ``int``) of an IPSEC2 query, else ``None``.",
    )
    negotiation_winerror = property(
        lambda self: self._negotiation,
        doc="NegotiationWinerr, the Windows error code of the IPsec negotiation (an ``int``) "
        "of an IPSEC2 query, else ``None``.",
    )
    sa_lookup_context = property(
        lambda self: self._sa_context,
        doc="SaLookupContext, a :class:`uuid.UUID`, from an IPSEC2 query, else ``None``.",
    )

    @property
    def closed(self) -> bool:
        """Whether :meth:`wsapeer.SecurityInfo.close` has run, closing the token handles."""
        return self._tokens is None

    def close(self) -> None:
        """Closes the token handles now (CloseHandle); later calls do nothing.

        What a ``with`` block does on the way out. The other fields stay readable. Every
        handle is closed, even when closing one fails; then the first failure is raised.

        Raises:
            wsapeer.WinsockError: CloseHandle failed, e.g. with ERROR_INVALID_HANDLE (6):
                the handle was closed already, by code that should not have closed it. The
                object is closed all the same.
        """
        with self._lock:
            tokens, self._tokens = self._tokens, None
        held = tuple(token for token in tokens or () if token is not None)
        if held and self._closer is not None and self._closer.detach() is not None:
            _close_tokens(held)

    def _not_copied(self, *args: object) -> Any:
        # A copy would close the same handles again, or hand out one already
        # closed that Windows may have given to something else since.
        raise TypeError(
            "a SecurityInfo owns the peer's token handles: it cannot be copied or pickled "
            "(pass the object itself; close() it once)"
        )

    __copy__ = __deepcopy__ = __reduce__ = __reduce_ex__ = _not_copied

    def __enter__(self) -> SecurityInfo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SecurityInfo protocol={self._protocol!r} flags={self._flags!r}>"


def _close_tokens(handles: Tuple[int, ...]) -> None:
    """Closes each handle once, every one even if another fails; raises the first failure."""
    failure = 0
    for handle in handles:
        status = lib.wsapeer_close_token(handle)
        failure = failure or status
    if failure > 0:
        raise _errors.WinsockError(
            failure, "CloseHandle", "a peer token handle: closed already, or not a handle"
        )
    _errors.check(failure, "CloseHandle")


def check_access_mask(access_mask: object) -> None:
    """The rights asked for on the peer's tokens: a DWORD."""
    exact_int(access_mask, "access_mask", 0, 0xFFFFFFFF)


def _query_args(
    sock: SocketLike, peer: PeerArg, access_mask: int, ipsec2: bool
) -> Tuple[int, Any, int]:
    handle = handle_of(sock)
    check_access_mask(access_mask)
    if not isinstance(ipsec2, bool):
        raise TypeError(f"ipsec2 must be a bool, not {type(ipsec2).__name__}")
    normalized = normalize_peer(peer)
    check_peer_family(sock, normalized)
    if peer is None and not access_mask and not ipsec2:
        return handle, ffi.NULL, 0  # TCP's default information
    size = lib.WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE if ipsec2 else lib.WSAPEER_QUERY_TEMPLATE_SIZE
    template = ffi.new("uint64_t[]", (size + 7) // 8)
    protocol = SecurityProtocol.IPSEC2 if ipsec2 else SecurityProtocol.DEFAULT
    field_mask = 0x3 if ipsec2 else 0  # SOCKET_QUERY_IPSEC2_FIELD_MASK_MM_SA_ID | _QM_SA_ID
    _errors.check(
        lib.wsapeer_query_template_marshal(
            template, size, protocol, int(ipsec2), normalized.kind,
            normalized.packed or ffi.NULL, normalized.port, normalized.flowinfo,
            normalized.scope_id, access_mask, 0, field_mask,
        ),
        "marshalling SOCKET_SECURITY_QUERY_TEMPLATE",
    )  # fmt: skip
    return handle, template, size


def query_socket_security(
    sock: SocketLike,
    peer: PeerArg = None,
    access_mask: int = 0,
    ipsec2: bool = False,
) -> SecurityInfo:
    """Asks Windows whether ``sock``'s traffic is secured, and for the peer's access tokens.

    Calls WSAQuerySocketSecurity. TCP: after connect or accept. UDP: for one peer. A server
    queries before it trusts or impersonates a peer (:func:`wsapeer.impersonate_peer`), as
    Windows' own sample server does.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        peer: ``None`` for a connected TCP socket (the connected peer), or the UDP peer
            whose security to report: ``(host, port)`` for IPv4,
            ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's family, with
            a numeric ``host`` (a ``str``, an :class:`ipaddress.IPv4Address` or an
            :class:`ipaddress.IPv6Address`). A TCP query needs none; one given is sent in
            the query template all the same.
        access_mask: PeerTokenAccessMask, an ``int`` in 0..0xFFFFFFFF: nonzero (e.g.
            TOKEN_QUERY, 0x8) asks for handles to the peer's application and machine access
            tokens, opened with that access; 0 asks for none.
        ipsec2: ``True`` to ask, with an IPSEC2 query template, for the IPSEC2 fields too:
            the main- and quick-mode SA ids, the negotiation's error code and the SA lookup
            context (Windows 7 or later).

    Returns:
        A :class:`wsapeer.SecurityInfo`, which owns the token handles it holds; close it, or
        use it in a ``with`` block, once done with them.

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``access_mask`` is not an ``int``;
            ``ipsec2`` is not a ``bool``; ``peer`` is neither ``None`` nor a tuple, its host
            is neither a ``str`` nor an ipaddress address, or its port, flowinfo or
            scope_id is not an ``int``. A ``bool`` is refused wherever an ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``access_mask`` is outside
            0..0xFFFFFFFF; ``peer`` does not have 2 to 4 items (2 for IPv4), or holds a
            host, port, flowinfo, scope_id or zone that :class:`wsapeer.PeerTargetName`
            refuses; ``peer`` is of the other address family than ``sock`` (checked when
            ``sock`` is a :class:`socket.socket`).
        wsapeer.WinsockError: Windows (or the contract model) refused the call, e.g.
            WSAEMSGSIZE (10040): a socket that is not TCP was queried without a peer
            (and so without a query template: ``access_mask`` 0, ``ipsec2`` ``False``);
            WSAEAFNOSUPPORT (10047): the same with a template (a nonzero ``access_mask``
            or ``ipsec2=True``), whose peer address then has no family;
            WSAEINVAL (10022): the socket is not AF_INET/AF_INET6 with
            SOCK_STREAM/SOCK_DGRAM; WSAENOTSOCK (10038): the handle is not a socket.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
        wsapeer.WsapeerError: the call failed without reporting an error code.
        MemoryError: the larger answer Windows asked room for could not be allocated.
    """
    handle, template, size = _query_args(sock, peer, access_mask, ipsec2)
    out = ffi.new("wsapeer_query_info *")
    _errors.check(
        lib.wsapeer_query_socket_security(handle, template, size, int(ipsec2), out), _QUERY
    )
    return SecurityInfo(out)


def _take_info(op: Any) -> SecurityInfo:
    out = ffi.new("wsapeer_query_info *")
    _errors.check(lib.wsapeer_op_query_info(op, out), _QUERY)
    return SecurityInfo(out)


def query_socket_security_async(
    sock: SocketLike,
    peer: PeerArg = None,
    access_mask: int = 0,
    ipsec2: bool = False,
    routine: bool = False,
) -> Operation[SecurityInfo]:
    """Starts :func:`wsapeer.query_socket_security` with an OVERLAPPED kept in C.

    The operation holds its own copy of the query template and the answer, with its
    OVERLAPPED and event, until Windows has finished with them. Windows' answer is not
    raised here: the operation's :meth:`wsapeer.Operation.result` raises it, or returns the
    :class:`wsapeer.SecurityInfo`. If nobody takes the result, the operation closes the
    peer's token handles when it is released.

    Args:
        sock: the socket: a :class:`socket.socket` (or subclass), any object with a
            ``fileno()`` method, or an ``int`` handle (a SOCKET on Windows).
        peer: ``None`` for a connected TCP socket (the connected peer), or the UDP peer
            whose security to report: ``(host, port)`` for IPv4,
            ``(host, port[, flowinfo[, scope_id]])`` for IPv6, of the socket's family, with
            a numeric ``host`` (a ``str``, an :class:`ipaddress.IPv4Address` or an
            :class:`ipaddress.IPv6Address`). A TCP query needs none; one given is sent in
            the query template all the same.
        access_mask: PeerTokenAccessMask, an ``int`` in 0..0xFFFFFFFF: nonzero (e.g.
            TOKEN_QUERY, 0x8) asks for handles to the peer's application and machine access
            tokens, opened with that access; 0 asks for none.
        ipsec2: ``True`` to ask, with an IPSEC2 query template, for the IPSEC2 fields too:
            the main- and quick-mode SA ids, the negotiation's error code and the SA lookup
            context (Windows 7 or later).
        routine: ``False`` (the default) to complete by signalling the operation's event;
            ``True`` to complete through a C completion routine, which runs only on the
            starting thread, while it waits on the operation (:meth:`wsapeer.Operation.wait`,
            also with a zero timeout). ``wsapeer.aio`` refuses such operations.

    Returns:
        The started :class:`wsapeer.Operation`, whose ``result()`` is the
        :class:`wsapeer.SecurityInfo` (the same object each time it is asked).

    Raises:
        TypeError: ``sock`` is not a socket, an object with ``fileno()`` or an ``int``, or
            its ``fileno()`` returned no ``int``; ``access_mask`` is not an ``int``;
            ``ipsec2`` or ``routine`` is not a ``bool``; ``peer`` is neither ``None`` nor a
            tuple, its host is neither a ``str`` nor an ipaddress address, or its port,
            flowinfo or scope_id is not an ``int``. A ``bool`` is refused wherever an
            ``int`` is wanted.
        ValueError: the socket is closed (``fileno()`` is -1), or its handle is negative or
            too large for this platform's sockets; ``access_mask`` is outside
            0..0xFFFFFFFF; ``peer`` does not have 2 to 4 items (2 for IPv4), or holds a
            host, port, flowinfo, scope_id or zone that :class:`wsapeer.PeerTargetName`
            refuses; ``peer`` is of the other address family than ``sock`` (checked when
            ``sock`` is a :class:`socket.socket`).
        MemoryError: the operation could not be allocated.
        wsapeer.UnsupportedPlatformError: nothing here can make the call: off Windows
            outside ``wsapeer.testing.contract_model()``, or in a build without Fwpuclnt.
            Nothing was done.
    """
    handle, template, size = _query_args(sock, peer, access_mask, ipsec2)
    return start(_calls.QUERY_SOCKET_SECURITY, handle, template, size, routine, _take_info)
