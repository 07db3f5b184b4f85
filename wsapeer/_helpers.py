"""Socket-shaped helpers: create_connection, create_server and peer_security
make the calls in Microsoft's order (security, then the name, then connect;
security before bind; query, then close the tokens), with every argument
validated before the first socket exists, so that nothing is left
half-configured."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from typing import Any, Iterator, List, Optional, Tuple, Union

from ._address import PeerAddress, PeerArg
from ._enums import ProtocolArg
from ._errors import WsapeerError
from ._query import SecurityInfo, query_socket_security
from ._settings import IPsecSettings, SecuritySettings, _client_calls, _settings

SettingsArg = Union[SecuritySettings, IPsecSettings, None]

#: socket.create_connection's own "no timeout given" marker, so that the
#: default is the same: socket.getdefaulttimeout().
_DEFAULT_TIMEOUT: Any = getattr(socket, "_GLOBAL_DEFAULT_TIMEOUT", object())


def _numeric(host: object, what: str) -> str:
    """host, if it is a numeric IPv4 or IPv6 address (or "" for any); else why not."""
    if not isinstance(host, str):
        raise TypeError(f"{what} host must be a str, not {type(host).__name__}")
    if host == "":
        return host
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise ValueError(
            f"{what} host {host!r} is not a numeric IPv4 or IPv6 address: wsapeer does no "
            "DNS lookups (a name resolved behind your back could be anybody's). Resolve it "
            "first, e.g. with socket.getaddrinfo, and pass the address"
        ) from None
    return host


def _address(address: object, what: str) -> Tuple[str, int]:
    if not isinstance(address, tuple) or len(address) not in (2, 4):
        raise TypeError(
            f"{what} must be a (host, port) tuple (or (host, port, flowinfo, scope_id)), "
            f"not {type(address).__name__}"
        )
    host, port = address[0], address[1]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 0xFFFF:
        raise ValueError(f"{what} port must be an int from 0 to 65535, got {port!r}")
    return _numeric(host, what), port


def _stream_addresses(address: PeerAddress, host: str, port: int) -> List[Any]:
    """getaddrinfo's TCP entries for a checked numeric (host, port); an IPv6
    (host, port, flowinfo, scope_id) is used as given (getaddrinfo would drop
    its scope)."""
    if len(address) == 4:
        if ":" not in host:
            raise ValueError(f"address {address!r}: a 4-tuple is an IPv6 address")
        return [(socket.AF_INET6, socket.SOCK_STREAM, 0, "", tuple(address))]
    return socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    )


def _no_connection(errors: List[OSError], address: object) -> OSError:
    """What to raise when no address connected: the last connect error."""
    return errors[-1] if errors else OSError(f"getaddrinfo returned no address for {address!r}")


def create_connection(
    address: PeerAddress,
    target_name: str,
    *,
    settings: SettingsArg = None,
    protocol: Optional[ProtocolArg] = None,
    timeout: Optional[float] = _DEFAULT_TIMEOUT,
    source_address: Optional[PeerAddress] = None,
) -> socket.socket:
    """Like socket.create_connection, with the peer authenticated as target_name.

    For each address of the (numeric) host, in the order getaddrinfo gives
    them: a TCP socket, WSASetSocketSecurity (settings, default None: Windows'
    defaults), WSASetSocketPeerTargetName (target_name, for the settings'
    protocol unless protocol says otherwise), then bind to source_address if
    given, then connect. Returns the connected socket. Host names are refused
    (ValueError): wsapeer does no DNS lookups. Every argument is checked
    before the first socket is made; a socket that fails is closed. Raises
    the last connect error when no address connects, and at once anything
    that is not about the address (UnsupportedPlatformError, WinsockError from
    the security calls).
    """
    host, port = _address(address, "address")
    chosen, target = _client_calls(target_name, settings, protocol)
    source: Optional[Tuple[str, int]] = None
    if source_address is not None:
        source = _address(source_address, "source_address")
    if (
        timeout is not _DEFAULT_TIMEOUT
        and timeout is not None
        and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0)
    ):
        raise ValueError(f"timeout must be None or a number of seconds >= 0, got {timeout!r}")
    if timeout == float("inf"):
        timeout = None  # no limit, as elsewhere in wsapeer (socket.settimeout refuses inf)
    errors: List[OSError] = []
    for family, kind, proto, _, sockaddr in _stream_addresses(address, host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            chosen.apply(sock)
            target.apply(sock)
            if source is not None:
                sock.bind(source)
            sock.connect(sockaddr)
        except (WsapeerError, TypeError, ValueError):
            sock.close()
            raise  # not about this address: no other would do better
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise _no_connection(errors, address)


def create_server(
    address: PeerAddress,
    *,
    settings: SettingsArg = None,
    family: int = socket.AF_INET,
    backlog: Optional[int] = None,
    reuse_port: bool = False,
) -> socket.socket:
    """Like socket.create_server, with socket security set before bind.

    A TCP socket of family (AF_INET or AF_INET6), WSASetSocketSecurity
    (settings, default None: Windows' defaults), SO_REUSEADDR where
    socket.create_server sets it (not on Windows, where a secured socket's
    port is exclusive), then bind to address (a numeric host, or "" for any)
    and listen. Connections accepted on it carry its security: query them
    with peer_security(). Every argument is checked before the socket is
    made; on failure the socket is closed.
    """
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise ValueError(f"family must be socket.AF_INET or socket.AF_INET6, not {family!r}")
    host = _address(address, "address")[0]
    if host and (":" in host) != (family == socket.AF_INET6):
        raise ValueError(f"address host {host!r} is not an address of family {family!r}")
    chosen = _settings(settings)
    if backlog is not None and (isinstance(backlog, bool) or not isinstance(backlog, int)):
        raise TypeError(f"backlog must be an int or None, not {type(backlog).__name__}")
    if not isinstance(reuse_port, bool):
        raise TypeError(f"reuse_port must be a bool, not {type(reuse_port).__name__}")
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        chosen.apply(sock)  # before bind, as Windows requires of a server
        if os.name not in ("nt", "cygwin") and hasattr(socket, "SO_REUSEADDR"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def peer_security(
    conn: socket.socket, peer: PeerArg = None, *, access_mask: int = 0, ipsec2: bool = False
) -> Iterator[SecurityInfo]:
    """WSAQuerySocketSecurity as a context manager: the SecurityInfo of conn,
    whose peer token handles (asked for with access_mask) are closed when the
    block ends, exceptions included.

        with wsapeer.peer_security(conn, access_mask=TOKEN_QUERY) as info:
            if not info.secured:
                conn.close()
    """
    info = query_socket_security(conn, peer, access_mask, ipsec2)
    with info:
        yield info
