"""wsapeer: the Winsock Secure Socket Extensions (Fwpuclnt.dll) from Python.

Names the peer principal that IPsec must authenticate on a socket
(WSASetSocketPeerTargetName), turns socket security on, queries it and
impersonates peers, through a cffi C shim. Off Windows every call raises
UnsupportedPlatformError: nothing is ever silently skipped.
"""

from ._address import PeerAddress
from ._batch import apply_many
from ._enums import IPsecFlags, SecurityInfoFlags, SecurityProtocol, SecuritySettingsFlags
from ._errors import (
    WSA_ERRORS,
    UnsupportedPlatformError,
    WinsockError,
    WinsockErrorInfo,
    WsapeerError,
)
from ._helpers import create_connection, create_server, peer_security
from ._impersonation import impersonate_peer, impersonate_socket_peer, revert_impersonation
from ._overlapped import Operation
from ._query import SecurityInfo, query_socket_security, query_socket_security_async
from ._settings import (
    IPsecSettings,
    SecuritySettings,
    secure_client,
    set_socket_security,
    set_socket_security_async,
)
from ._socket import SocketLike
from ._target import (
    PeerTargetName,
    delete_peer_target_name,
    delete_peer_target_name_async,
    set_peer_target_name,
    set_peer_target_name_async,
)
from ._wsapeer import ffi as _ffi
from ._wsapeer import lib as _lib

#: What answers the Winsock calls in this build of wsapeer, fixed when the extension was
#: built (by the ``WSAPEER_FWPUCLNT`` environment variable), never chosen at run time.
#: ``"windows"``: Fwpuclnt.dll itself (the default on Windows, and every release wheel
#: there). ``"model"``: the contract model, which answers only inside
#: ``wsapeer.testing.contract_model()``; outside it every call raises
#: :class:`wsapeer.UnsupportedPlatformError` (the default elsewhere). ``"none"``: nothing;
#: every call raises :class:`wsapeer.UnsupportedPlatformError`. ``"echo"``: the benchmarks'
#: no-op, which "succeeds" without doing anything (never installed; importing it warns).
FWPUCLNT: str = _ffi.string(_lib.wsapeer_fwpuclnt()).decode("ascii")

if FWPUCLNT == "echo":
    import warnings as _warnings

    # Built on purpose, but a process that imports it by mistake must hear that
    # its calls succeed without doing anything.
    _warnings.warn(
        "this build of wsapeer answers every call with the benchmarks' no-op "
        "(WSAPEER_FWPUCLNT=echo): nothing is secured",
        RuntimeWarning,
        stacklevel=2,
    )

__all__ = [
    "FWPUCLNT",
    "WSA_ERRORS",
    "IPsecFlags",
    "IPsecSettings",
    "Operation",
    "PeerAddress",
    "PeerTargetName",
    "SecurityInfo",
    "SecurityInfoFlags",
    "SecurityProtocol",
    "SecuritySettings",
    "SecuritySettingsFlags",
    "SocketLike",
    "UnsupportedPlatformError",
    "WinsockError",
    "WinsockErrorInfo",
    "WsapeerError",
    "apply_many",
    "create_connection",
    "create_server",
    "delete_peer_target_name",
    "delete_peer_target_name_async",
    "impersonate_peer",
    "impersonate_socket_peer",
    "peer_security",
    "query_socket_security",
    "query_socket_security_async",
    "revert_impersonation",
    "secure_client",
    "set_peer_target_name",
    "set_peer_target_name_async",
    "set_socket_security",
    "set_socket_security_async",
]

__version__ = "0.1.0.dev0"
