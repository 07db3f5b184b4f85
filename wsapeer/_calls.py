"""The calls of the family: their numbers and Winsock names, as the C shim defines them."""

from __future__ import annotations

from typing import Dict

from ._wsapeer import ffi, lib

SET_PEER_TARGET_NAME: int = lib.WSAPEER_CALL_SET_PEER_TARGET_NAME
SET_SOCKET_SECURITY: int = lib.WSAPEER_CALL_SET_SOCKET_SECURITY
DELETE_PEER_TARGET_NAME: int = lib.WSAPEER_CALL_DELETE_PEER_TARGET_NAME
QUERY_SOCKET_SECURITY: int = lib.WSAPEER_CALL_QUERY_SOCKET_SECURITY
IMPERSONATE_SOCKET_PEER: int = lib.WSAPEER_CALL_IMPERSONATE_SOCKET_PEER
REVERT_IMPERSONATION: int = lib.WSAPEER_CALL_REVERT_IMPERSONATION

#: Each call's Winsock function name, e.g. NAMES[SET_PEER_TARGET_NAME] ==
#: "WSASetSocketPeerTargetName" (from wsapeer_call_name, the one place it is written).
NAMES: Dict[int, str] = {
    call: ffi.string(lib.wsapeer_call_name(call)).decode("ascii")
    for call in range(1, lib.WSAPEER_CALLS + 1)
}
