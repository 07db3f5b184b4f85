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

from ._address import PeerAddress, PeerArg, _check_int, normalize_peer
from ._checks import exact_bool, exact_int, kind_of
from ._enums import ProtocolArg
from ._query import SecurityInfo, query_socket_security
from ._settings import IPsecSettings, SecuritySettings, _client_calls, _settings
from ._wsapeer import lib

SettingsArg = Union[SecuritySettings, IPsecSettings, None]
#: An address as the socket module takes it, host a str.
Endpoint = Tuple[Any, ...]

#: socket.create_connection's own "no timeout given" marker, so that the
#: default is the same: socket.getdefaulttimeout().
_DEFAULT_TIMEOUT: Any = getattr(socket, "_GLOBAL_DEFAULT_TIMEOUT", object())


def _endpoint(address: object, what: str, *, any_host: bool = False) -> Tuple[int, Endpoint]:
    """(family, address as the socket module takes it) for a numeric address,
    checked by the same rules as every peer (normalize_peer): host, port,
    flowinfo and scope_id alike, before any socket exists. Host "" (any) only
    where any_host, its family then 0: either."""
    if isinstance(address, tuple):
        address = tuple.__getitem__(address, slice(None))  # its items as stored
    if not isinstance(address, tuple) or len(address) not in (2, 4):
        raise TypeError(
            f"{what} must be a (host, port) tuple (or (host, port, flowinfo, scope_id)), "
            f"not {type(address).__name__ if not isinstance(address, tuple) else address}"
        )
    if any_host and type(address[0]) is str and address[0] == "":
        try:
            _check_int(address[1], "port", 0, 0xFFFF)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{what} {address!r}: {exc}") from None
        return 0, address
    try:
        peer = normalize_peer(address)
    except (TypeError, ValueError) as exc:
        reason = str(exc).removeprefix("peer ")  # the rule is a peer's; the name is ours
        raise type(exc)(f"{what} {address!r}: {reason}") from None
    if peer.kind == lib.WSAPEER_PEER_IPV4:
        return socket.AF_INET, (str(ipaddress.IPv4Address(peer.packed)), peer.port)
    host = str(ipaddress.IPv6Address(peer.packed))
    return socket.AF_INET6, (host, peer.port, peer.flowinfo, peer.scope_id)


#: The longest finite timeout and the largest backlog taken: what a C int (and a
#: 32-bit timeval's seconds) holds on every platform, so that settimeout and
#: listen never raise OverflowError after the socket exists.
MAX_SECONDS = MAX_BACKLOG = 2**31 - 1
#: Windows lets a secured listener's port be shared (SO_REUSEADDR) or taken
#: over by another process unless it is exclusive: create_server asks for that.
ON_WINDOWS = os.name == "nt"


def _timeout(timeout: object) -> Any:
    """timeout as socket.settimeout takes it (inf: None), or _DEFAULT_TIMEOUT."""
    if timeout is _DEFAULT_TIMEOUT or timeout is None:
        return timeout
    if type(timeout) is not int and type(timeout) is not float:
        raise TypeError(f"timeout must be None or a number of seconds, not {kind_of(timeout)}")
    if timeout == float("inf"):
        return None  # settimeout refuses inf
    if not 0 <= timeout <= MAX_SECONDS:  # NaN fails both
        raise ValueError(
            f"timeout must be None, inf or a number of seconds in 0..{MAX_SECONDS}, got {timeout!r}"
        )
    return timeout


def check_backlog(backlog: object) -> None:
    """A listen backlog: an exact int in 0..MAX_BACKLOG."""
    exact_int(backlog, "backlog", 0, MAX_BACKLOG)


def _listener_options(reuse_port: bool) -> List[Tuple[int, int, int]]:
    """The socket options a secured listener gets before bind: on Windows its
    port exclusive (SO_EXCLUSIVEADDRUSE) and never SO_REUSEADDR, with which
    another socket could bind the same port; elsewhere SO_REUSEADDR, as
    socket.create_server sets it; SO_REUSEPORT only if asked."""
    if ON_WINDOWS:
        options = [(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)]  # type: ignore[attr-defined,unused-ignore]
    else:
        options = [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)]
    if reuse_port:
        options.append((socket.SOL_SOCKET, socket.SO_REUSEPORT, 1))
    return options


def create_connection(
    address: PeerAddress,
    target_name: str,
    *,
    settings: SettingsArg = None,
    protocol: Optional[ProtocolArg] = None,
    timeout: Optional[float] = _DEFAULT_TIMEOUT,
    source_address: Optional[PeerAddress] = None,
) -> socket.socket:
    """Connects a TCP socket whose peer IPsec must authenticate as ``target_name``.

    Like :func:`socket.create_connection`, in Microsoft's order: a TCP socket of the address's
    family, its timeout, WSASetSocketSecurity (``settings``), WSASetSocketPeerTargetName
    (``target_name``), a bind to ``source_address`` if given, then connect. A numeric host
    has one address, so there is one attempt. Every argument is checked, by the same rules
    as every peer address in wsapeer, before the socket is made, and a socket that fails is
    closed: nothing is left half-configured.

    Args:
        address: ``(host, port)``, or ``(host, port, flowinfo, scope_id)`` for IPv6, used as
            given. ``host`` is a numeric IPv4 or IPv6 address, as a str (an IPv6 zone such as
            ``%3`` included, taken as the scope id) or an ``ipaddress`` object: wsapeer does
            no DNS lookups, so resolve a name first. ``port`` is an int from 0 to 65535,
            flowinfo an int from 0 to 0xFFFFF and scope_id one from 0 to 0xFFFFFFFF.
        target_name: the principal the peer must authenticate as, an SPN such as
            ``"host/server.example.com"``: a non-empty str of at most 32,767 UTF-16 code
            units, without NUL characters or lone surrogates.
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`;
            ``None`` (the default) sends ``SecuritySettings()``: Windows' defaults.
        protocol: the :class:`wsapeer.SecurityProtocol` (or its int value) the name is set
            for; ``None`` (the default) takes the settings' protocol (IPSEC or IPSEC2 for
            :class:`wsapeer.IPsecSettings`, DEFAULT otherwise).
        timeout: seconds the socket's blocking operations may take, connect included, as
            ``socket.settimeout`` takes them (an int or a float, at most 2**31 - 1);
            ``None`` or ``inf``: no limit. Left out, the
            socket keeps ``socket.getdefaulttimeout()``, as with
            :func:`socket.create_connection`.
        source_address: the address to bind to before connecting, of the same family as
            ``address`` and checked the same way (a 4-tuple bound as given), or with host
            ``""`` for any address.

    Returns:
        The connected :class:`socket.socket`, secured and named; the caller owns it.

    Raises:
        TypeError: before the socket is made, when ``address`` or ``source_address`` is not a
            tuple of 2 or 4 items or holds a field of the wrong type (a host that is not a
            str or ``ipaddress`` object, a port, flowinfo or scope_id that is not an int, a
            bool included), ``target_name`` is not a str, ``settings`` is not a settings
            object or ``None``, ``protocol`` is neither a :class:`wsapeer.SecurityProtocol`
            nor a plain int (a bool, or another enumeration's member), or ``timeout`` is not
            ``None`` or a number.
        ValueError: before the socket is made, when a host is not a numeric address (a host
            name: wsapeer does no DNS; ``""`` for the peer), a port, flowinfo or scope_id is
            out of range, a 4-tuple has an IPv4 host, ``source_address`` is of the other
            family, ``target_name`` is empty, too long or holds a NUL or a lone surrogate,
            ``protocol`` is unknown, or ``timeout`` is negative, NaN or finite and above
            2**31 - 1 seconds.
        OSError: when the socket cannot be made, bound or connected (e.g.
            ``ConnectionRefusedError`` or ``TimeoutError``).
        wsapeer.WinsockError: when Windows (or the contract model) refuses
            WSASetSocketSecurity or WSASetSocketPeerTargetName.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
    """
    family, sockaddr = _endpoint(address, "address")
    chosen, target = _client_calls(target_name, settings, protocol)
    source: Optional[Endpoint] = None
    if source_address is not None:
        source_family, source = _endpoint(source_address, "source_address", any_host=True)
        if source_family not in (0, family):
            raise ValueError(
                f"source_address {source_address!r} is not of the family of address {address!r}"
            )
    timeout = _timeout(timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if timeout is not _DEFAULT_TIMEOUT:
            sock.settimeout(timeout)
        chosen.apply(sock)
        target.apply(sock)
        if source is not None:
            sock.bind(source)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def create_server(
    address: PeerAddress,
    *,
    settings: SettingsArg = None,
    family: int = socket.AF_INET,
    backlog: Optional[int] = None,
    reuse_port: bool = False,
) -> socket.socket:
    """A listening TCP socket with socket security set before bind, as Windows requires.

    Like :func:`socket.create_server`, in Microsoft's order: a TCP socket of ``family``,
    WSASetSocketSecurity (``settings``), SO_REUSEADDR where :func:`socket.create_server` sets
    it, except on Windows, which gets SO_EXCLUSIVEADDRUSE instead (there SO_REUSEADDR would
    let another socket bind the secured listener's port), SO_REUSEPORT if asked, then bind
    and listen. Connections accepted on it carry its security: query each with
    :func:`wsapeer.peer_security`. Every argument is checked before the socket is made, and
    on failure the socket is closed.

    Args:
        address: ``(host, port)`` to bind to, or ``(host, port, flowinfo, scope_id)`` for
            IPv6, checked as every peer address in wsapeer. ``host`` is a numeric address of
            ``family`` as a str or an ``ipaddress`` object (wsapeer does no DNS lookups), or
            ``""`` for any; ``port`` is an int from 0 to 65535, 0 for any free port.
        settings: a :class:`wsapeer.SecuritySettings` or :class:`wsapeer.IPsecSettings`;
            ``None`` (the default) sends ``SecuritySettings()``: Windows' defaults.
        family: ``socket.AF_INET`` (the default) or ``socket.AF_INET6``.
        backlog: the listen backlog, an int from 0 to 2**31 - 1; ``None`` (the default) lets
            ``listen()`` choose.
        reuse_port: ``True`` sets SO_REUSEPORT, where the platform has it (never Windows).

    Returns:
        The listening :class:`socket.socket`; the caller owns it.

    Raises:
        TypeError: before the socket is made, when ``address`` is not a tuple of 2 or 4 items
            or holds a field of the wrong type (a bool included), ``settings`` is not a
            settings object or ``None``, ``backlog`` is not an int or ``None`` (a bool
            included), or ``reuse_port`` is not a bool.
        ValueError: before the socket is made, when ``family`` is neither ``socket.AF_INET``
            nor ``socket.AF_INET6``, the host is not a numeric address (a host name: wsapeer
            does no DNS) or is one of the other family (a 4-tuple is IPv6), the port,
            flowinfo or scope_id is out of range, ``backlog`` is outside 0..2**31 - 1, or
            ``reuse_port=True`` where the platform has no SO_REUSEPORT.
        OSError: when the socket cannot be made, bound (e.g. the address is in use) or put
            to listen.
        wsapeer.WinsockError: when Windows (or the contract model) refuses
            WSASetSocketSecurity.
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
    """
    if type(family) not in (int, socket.AddressFamily) or family not in (
        socket.AF_INET,
        socket.AF_INET6,
    ):
        raise ValueError(f"family must be socket.AF_INET or socket.AF_INET6, not {family!r}")
    host_family, endpoint = _endpoint(address, "address", any_host=True)
    if host_family not in (0, family):
        raise ValueError(f"address {address!r} is not an address of family {family!r}")
    chosen = _settings(settings)
    if backlog is not None:
        check_backlog(backlog)
    exact_bool(reuse_port, "reuse_port")
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("SO_REUSEPORT not supported on this platform")
    options = _listener_options(reuse_port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        chosen.apply(sock)  # before bind, as Windows requires of a server
        for option in options:
            sock.setsockopt(*option)
        sock.bind(endpoint)
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
    """WSAQuerySocketSecurity as a context manager that closes the peer's token handles.

    The query is made when the ``with`` block is entered, not when this function is called,
    so the exceptions below are raised there. The token handles, which ``access_mask`` asks
    for, are closed when the block ends, exceptions included. TCP: query after connect or
    accept; UDP: pass the peer. Check ``info.secured`` before trusting the peer::

        with wsapeer.peer_security(conn, access_mask=0x8) as info:  # TOKEN_QUERY
            if not info.secured:
                conn.close()

    Args:
        conn: the socket to query: a :class:`socket.socket`, an object with ``fileno()`` or
            a raw handle (an int).
        peer: ``None`` (the default) for TCP; for UDP the peer's ``(host, port)``, or
            ``(host, port, flowinfo, scope_id)`` for IPv6, the host numeric (a str or an
            ``ipaddress`` object) and of the socket's family.
        access_mask: the access rights wanted on the peer's access tokens, an int from 0 to
            0xFFFFFFFF (e.g. 0x8, TOKEN_QUERY); 0 (the default) asks for no tokens.
        ipsec2: ``True`` asks for the IPSEC2 fields too (``mm_sa_id``, ``qm_sa_id``,
            ``negotiation_winerror``, ``sa_lookup_context``; Windows 7 and later).

    Yields:
        The :class:`wsapeer.SecurityInfo` of ``conn``, closed when the block ends.

    Raises:
        TypeError: when ``conn`` is not a socket, an object whose ``fileno()`` returns an int,
            or an int (a bool included), ``peer`` is not ``None`` or a tuple or holds a field
            of the wrong type, ``access_mask`` is not an int (a bool included), or ``ipsec2``
            is not a bool.
        ValueError: when ``conn`` is closed or its handle is out of range, ``peer`` is not a
            valid peer (a host name: wsapeer does no DNS; a port, flowinfo or scope_id out of
            range; a tuple of the wrong length) or is of the other address family, or
            ``access_mask`` is out of range.
        wsapeer.WinsockError: when Windows (or the contract model) refuses the query, e.g.
            WSAEMSGSIZE (10040) for a UDP socket queried without its peer and with no
            access mask (with one, or ipsec2, the model answers WSAEAFNOSUPPORT, 10047).
        wsapeer.UnsupportedPlatformError: on a platform without Fwpuclnt, or off Windows
            outside :func:`wsapeer.testing.contract_model`.
    """
    info = query_socket_security(conn, peer, access_mask, ipsec2)
    with info:
        yield info
