"""wsapeer: the Winsock Secure Socket Extensions (Fwpuclnt.dll) from Python.

Names the peer principal that IPsec must authenticate on a socket
(WSASetSocketPeerTargetName), through a cffi C shim. Off Windows every call
raises UnsupportedPlatformError: nothing is ever silently skipped.
"""

from ._errors import (
    WSA_ERRORS,
    UnsupportedPlatformError,
    WinsockError,
    WinsockErrorInfo,
    WsapeerError,
)
from ._target import PeerTargetName, SecurityProtocol, set_peer_target_name

__all__ = [
    "WSA_ERRORS",
    "PeerTargetName",
    "SecurityProtocol",
    "UnsupportedPlatformError",
    "WinsockError",
    "WinsockErrorInfo",
    "WsapeerError",
    "set_peer_target_name",
]

__version__ = "0.1.0.dev0"
