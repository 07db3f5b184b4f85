"""WSAQuerySocketSecurity: SecurityInfo, which owns the peer's token handles."""

from __future__ import annotations

import threading
import uuid
from typing import Any, List, Optional, Tuple, Union

from . import _calls, _errors
from ._address import PeerArg, normalize_peer
from ._enums import SecurityInfoFlags, SecurityProtocol
from ._overlapped import Operation, start
from ._socket import SocketLike, check_peer_family, handle_of
from ._wsapeer import ffi, lib

_QUERY = _calls.NAMES[_calls.QUERY_SOCKET_SECURITY]
_INFO_TYPE = ffi.typeof("wsapeer_query_info *")


class SecurityInfo:
    """What WSAQuerySocketSecurity reported. Owns the peer token handles.

    Each token handle is closed exactly once: by close(), at the end of a
    ``with`` block, or when the object is collected, whichever comes first.
    """

    __slots__ = (
        "__weakref__",
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
        self._tokens: Optional[List[Any]] = [
            ffi.gc(ffi.cast("void *", handle), lib.wsapeer_token_release) if handle else None
            for handle in (info.application_token, info.machine_token)
        ]
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
        """The protocol securing the traffic (an int if this wsapeer predates it)."""
        return self._protocol

    @property
    def flags(self) -> SecurityInfoFlags:
        """SECURED, ENCRYPTED, IMPERSONATED; bits Windows adds later are kept."""
        return self._flags

    @property
    def secured(self) -> bool:
        """Whether a security protocol protects the traffic (SECURED is set)."""
        return bool(self._flags & SecurityInfoFlags.SECURED)

    def _token(self, index: int) -> Optional[int]:
        with self._lock:
            if self._tokens is None:
                raise ValueError("the SecurityInfo is closed; its token handles are gone")
            token = self._tokens[index]
            return None if token is None else int(ffi.cast("uintptr_t", token))

    @property
    def peer_application_token(self) -> Optional[int]:
        """HANDLE of the peer application's access token, or None; owned by this object."""
        return self._token(0)

    @property
    def peer_machine_token(self) -> Optional[int]:
        """HANDLE of the peer machine's access token, or None; owned by this object."""
        return self._token(1)

    mm_sa_id = property(lambda self: self._mm, doc="IPSEC2 queries only, else None")
    qm_sa_id = property(lambda self: self._qm, doc="IPSEC2 queries only, else None")
    negotiation_winerror = property(lambda self: self._negotiation, doc="IPSEC2 only")
    sa_lookup_context = property(lambda self: self._sa_context, doc="IPSEC2 only")

    @property
    def closed(self) -> bool:
        """Whether close() ran: the token handles are gone."""
        return self._tokens is None

    def close(self) -> None:
        """Closes the token handles now (CloseHandle); later calls do nothing."""
        with self._lock:
            tokens, self._tokens = self._tokens, None
        for token in tokens or ():
            if token is not None:
                ffi.release(token)

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


def _query_args(
    sock: SocketLike, peer: PeerArg, access_mask: int, ipsec2: bool
) -> Tuple[int, Any, int]:
    handle = handle_of(sock)
    if isinstance(access_mask, bool) or not isinstance(access_mask, int):
        raise TypeError(f"access_mask must be an int, not {type(access_mask).__name__}")
    if not 0 <= access_mask <= 0xFFFFFFFF:
        raise ValueError(f"access_mask must be in 0..0xFFFFFFFF, got {access_mask}")
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
    """WSAQuerySocketSecurity: whether the connection is secured, and the peer's tokens.

    TCP: call after connect/accept; peer is ignored. UDP: pass the peer.
    access_mask (e.g. TOKEN_QUERY) asks for the peer's token handles, which
    the returned SecurityInfo owns. ipsec2=True asks for the IPSEC2 fields.
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
    """query_socket_security with an OVERLAPPED kept in C: the Operation's
    result() is the SecurityInfo (whose tokens, if nobody asks for the
    result, the operation closes when it is released)."""
    handle, template, size = _query_args(sock, peer, access_mask, ipsec2)
    return start(_calls.QUERY_SOCKET_SECURITY, handle, template, size, routine, _take_info)
