"""wsapeer: the Winsock Secure Socket Extensions (Fwpuclnt.dll) from Python.

Names the peer principal that IPsec must authenticate on a socket
(WSASetSocketPeerTargetName), turns socket security on, queries it and
impersonates peers, through a cffi C shim. Off Windows every call raises
UnsupportedPlatformError: nothing is ever silently skipped.
"""

from ._batch import apply_many
from ._enums import IPsecFlags, SecurityInfoFlags, SecurityProtocol, SecuritySettingsFlags
from ._errors import (
    WSA_ERRORS,
    UnsupportedPlatformError,
    WinsockError,
    WinsockErrorInfo,
    WsapeerError,
)
from ._overlapped import Operation
from ._security import (
    IPsecSettings,
    SecurityInfo,
    SecuritySettings,
    delete_peer_target_name,
    delete_peer_target_name_async,
    impersonate_peer,
    impersonate_socket_peer,
    query_socket_security,
    query_socket_security_async,
    revert_impersonation,
    secure_client,
    set_socket_security,
    set_socket_security_async,
)
from ._target import PeerTargetName, set_peer_target_name

__all__ = [
    "WSA_ERRORS",
    "IPsecFlags",
    "IPsecSettings",
    "Operation",
    "PeerTargetName",
    "SecurityInfo",
    "SecurityInfoFlags",
    "SecurityProtocol",
    "SecuritySettings",
    "SecuritySettingsFlags",
    "UnsupportedPlatformError",
    "WinsockError",
    "WinsockErrorInfo",
    "WsapeerError",
    "apply_many",
    "delete_peer_target_name",
    "delete_peer_target_name_async",
    "impersonate_peer",
    "impersonate_socket_peer",
    "query_socket_security",
    "query_socket_security_async",
    "revert_impersonation",
    "secure_client",
    "set_peer_target_name",
    "set_socket_security",
    "set_socket_security_async",
]

__version__ = "0.1.0.dev0"
