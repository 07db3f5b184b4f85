"""Every public name has a failure path under test: a bad argument raises
before any call reaches Fwpuclnt (the model records nothing), and a call
Windows refuses raises WinsockError with the documented code.

The table must name every public callable, so a new entry point cannot ship
without its failure path.
"""

import asyncio
import socket

import pytest
from builds import OUTSIDE_THE_MODEL

import wsapeer
import wsapeer.aio
import wsapeer.testing
from wsapeer import (
    IPsecSettings,
    PeerTargetName,
    SecurityProtocol,
    SecuritySettings,
    WinsockError,
)
from wsapeer.testing import contract_model

PEER = ("192.0.2.1", 500)
ARGUMENT = "argument"  # raised before any C call: the model must record nothing
# EADDRINUSE as each platform words it: Linux's strerror; Winsock's code (Wine
# prints no text for it, Windows its own sentence).
IN_USE = "in use|10048"


class Sockets:
    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.client = socket.create_connection(self.server.getsockname())
        self.conn, _ = self.server.accept()

    def close(self):
        for s in (self.udp, self.udp6, self.server, self.client, self.conn):
            s.close()


def run(coroutine):
    return asyncio.run(coroutine)


def result(operation):
    return operation.result()


def nested_impersonation(s):
    wsapeer.set_socket_security(s.udp)
    with wsapeer.impersonate_peer(s.udp, PEER), wsapeer.impersonate_peer(s.udp, PEER):
        pass


def nested_model(s):
    with wsapeer.testing.contract_model():
        pass


def closed_info(s):
    wsapeer.set_socket_security(s.udp)
    info = wsapeer.query_socket_security(s.udp, PEER)
    info.close()
    return info.peer_application_token


def failed_operation(s):
    return PeerTargetName("host/x").apply_async(s.client)  # connected: WSAEISCONN


# name -> [(call taking Sockets, expected exception, match, or a winerror int)]
FAILURES = {
    "wsapeer.PeerTargetName": [
        (lambda s: PeerTargetName(""), ValueError, "must not be empty"),
        (lambda s: PeerTargetName("x", protocol=3), ValueError, "unknown security protocol"),
    ],
    "wsapeer.PeerTargetName.from_bytes": [
        (lambda s: PeerTargetName.from_bytes(b"\0" * 10), ValueError, "not a SOCKET_PEER"),
    ],
    "wsapeer.PeerTargetName.apply": [
        (lambda s: PeerTargetName("h", PEER).apply(s.udp6), ValueError, "IPv4 address"),
        (lambda s: PeerTargetName("h").apply(s.client), WinsockError, 10056),
    ],
    "wsapeer.PeerTargetName.apply_async": [
        (lambda s: PeerTargetName("h").apply_async(s.udp, routine=1), TypeError, "routine"),
        (lambda s: result(failed_operation(s)), WinsockError, 10056),
    ],
    "wsapeer.SecuritySettings": [
        (lambda s: SecuritySettings(flags=0x10), ValueError, "does not define"),
    ],
    "wsapeer.SecuritySettings.apply": [
        (lambda s: SecuritySettings().apply(s.client), WinsockError, 10056),
    ],
    "wsapeer.SecuritySettings.apply_async": [
        (lambda s: result(SecuritySettings().apply_async(s.client)), WinsockError, 10056),
    ],
    "wsapeer.IPsecSettings": [
        (lambda s: IPsecSettings(protocol=SecurityProtocol.DEFAULT), ValueError, "IPSEC or"),
        (lambda s: IPsecSettings(password="a\0b"), ValueError, "NUL"),
    ],
    "wsapeer.IPsecSettings.apply": [
        (lambda s: IPsecSettings().apply(s.client), WinsockError, 10056),
    ],
    "wsapeer.IPsecSettings.apply_async": [
        (lambda s: result(IPsecSettings().apply_async(s.client)), WinsockError, 10056),
    ],
    "wsapeer.SecurityInfo": [(closed_info, ValueError, "closed")],
    "wsapeer.Operation": [
        (lambda s: failed_operation(s).wait(-1), ValueError, "negative"),
        (lambda s: result(failed_operation(s)), WinsockError, 10056),
    ],
    "wsapeer.apply_many": [
        (lambda s: wsapeer.apply_many([(s.udp, "x", "y")]), TypeError,
         "must be a \\(sock, target\\) pair"),
        (lambda s: wsapeer.apply_many([(s.udp, PeerTargetName("h", PEER))], timeout=-1),
         ValueError, "negative"),
    ],
    "wsapeer.delete_peer_target_name": [
        (lambda s: wsapeer.delete_peer_target_name(s.udp, None), ValueError, "needs the peer"),
        (lambda s: wsapeer.delete_peer_target_name(s.udp, PEER), WinsockError, 10022),
    ],
    "wsapeer.delete_peer_target_name_async": [
        (lambda s: wsapeer.delete_peer_target_name_async(s.udp, ("::1", 5)), ValueError, "IPv6"),
        (lambda s: result(wsapeer.delete_peer_target_name_async(s.udp, PEER)), WinsockError,
         10022),
    ],
    "wsapeer.impersonate_peer": [(nested_impersonation, RuntimeError, "does not nest")],
    "wsapeer.impersonate_socket_peer": [
        (lambda s: wsapeer.impersonate_socket_peer(s.udp, "peer"), TypeError, "peer must be"),
        (lambda s: wsapeer.impersonate_socket_peer(s.udp), WinsockError, 10014),
    ],
    "wsapeer.query_socket_security": [
        (lambda s: wsapeer.query_socket_security(s.udp, PEER, access_mask=-1), ValueError,
         "access_mask"),
        (lambda s: wsapeer.query_socket_security(s.udp), WinsockError, 10040),
    ],
    "wsapeer.query_socket_security_async": [
        (lambda s: wsapeer.query_socket_security_async(s.udp, ipsec2=1), TypeError, "ipsec2"),
        (lambda s: result(wsapeer.query_socket_security_async(s.udp)), WinsockError, 10040),
    ],
    "wsapeer.revert_impersonation": [
        # Windows documents no failure; where nothing answers, it says so.
        (lambda s: wsapeer.revert_impersonation(), wsapeer.UnsupportedPlatformError, ""),
    ],
    "wsapeer.create_connection": [
        (lambda s: wsapeer.create_connection(("localhost", 1), "host/x"), ValueError, "no DNS"),
        (lambda s: wsapeer.create_connection(("127.0.0.1", 1), "host/x"), ConnectionRefusedError,
         "refused"),
    ],
    "wsapeer.create_server": [
        (lambda s: wsapeer.create_server(("127.0.0.1", 0), family=1), ValueError, "family"),
        (lambda s: wsapeer.create_server(s.server.getsockname()), OSError, IN_USE),
    ],
    "wsapeer.peer_security": [
        (lambda s: wsapeer.peer_security(1.5).__enter__(), TypeError, "sock must be"),
        (lambda s: wsapeer.peer_security(s.udp).__enter__(), WinsockError, 10040),
    ],
    "wsapeer.secure_client": [
        (lambda s: wsapeer.secure_client(s.udp, ""), ValueError, "must not be empty"),
        (lambda s: wsapeer.secure_client(s.client, "host/x"), WinsockError, 10056),
    ],
    "wsapeer.set_peer_target_name": [
        (lambda s: wsapeer.set_peer_target_name(s.udp, "h", ("192.0.2.1", 70000)), ValueError,
         "port"),
        (lambda s: wsapeer.set_peer_target_name(s.client, "h"), WinsockError, 10056),
    ],
    "wsapeer.set_socket_security": [
        (lambda s: wsapeer.set_socket_security(s.udp, "default"), TypeError, "settings must be"),
        (lambda s: wsapeer.set_socket_security(s.client), WinsockError, 10056),
    ],
    "wsapeer.set_socket_security_async": [
        (lambda s: wsapeer.set_socket_security_async(s.udp, routine="yes"), TypeError, "routine"),
        (lambda s: result(wsapeer.set_socket_security_async(s.client)), WinsockError, 10056),
    ],
    "wsapeer.aio.apply": [
        (lambda s: run(wsapeer.aio.apply(s.client, PeerTargetName("h"))), WinsockError, 10056),
        (lambda s: run(wsapeer.aio.apply(PeerTargetName("h"), s.client)), TypeError,
         "socket comes first"),
    ],
    "wsapeer.aio.apply_many": [
        (lambda s: run(wsapeer.aio.apply_many([(s.udp, "x", "y")])), TypeError, "pair"),
    ],
    "wsapeer.set_peer_target_name_async": [
        (lambda s: wsapeer.set_peer_target_name_async(s.udp, "h", routine=1), TypeError,
         "routine"),
        (lambda s: result(wsapeer.set_peer_target_name_async(s.client, "h")), WinsockError,
         10056),
    ],
    "wsapeer.aio.delete_peer_target_name": [
        (lambda s: run(wsapeer.aio.delete_peer_target_name(s.udp, PEER)), WinsockError, 10022),
    ],
    "wsapeer.aio.query_socket_security": [
        (lambda s: run(wsapeer.aio.query_socket_security(s.udp)), WinsockError, 10040),
    ],
    "wsapeer.aio.set_peer_target_name": [
        (lambda s: run(wsapeer.aio.set_peer_target_name(s.udp, "")), ValueError, "empty"),
        (lambda s: run(wsapeer.aio.set_peer_target_name(s.client, "h")), WinsockError, 10056),
    ],
    "wsapeer.aio.set_socket_security": [
        (lambda s: run(wsapeer.aio.set_socket_security(s.client)), WinsockError, 10056),
    ],
    "wsapeer.aio.open_connection": [
        (lambda s: run(wsapeer.aio.open_connection("localhost", 1, target_name="h")), ValueError,
         "no DNS"),
        (lambda s: run(wsapeer.aio.open_connection("127.0.0.1", 1, target_name="h")),
         ConnectionRefusedError, "failed|refused"),
    ],
    "wsapeer.aio.start_server": [
        (lambda s: run(wsapeer.aio.start_server(None, "127.0.0.1", 0)), TypeError, "callable"),
        (lambda s: run(wsapeer.aio.start_server(print, *s.server.getsockname())), OSError,
         IN_USE),
    ],
    "wsapeer.aio.wait": [
        (lambda s: run(wsapeer.aio.wait(failed_operation(s))), WinsockError, 10056),
    ],
    "wsapeer.testing.contract_model": [
        (nested_model, RuntimeError, "does not nest"),
        (lambda s: wsapeer.testing.contract_model(strict="yes").__enter__(), TypeError,
         "strict must be a bool"),
    ],
    "wsapeer.testing.ContractModel.token_closes": [
        (lambda s: wsapeer.testing.ContractModel.token_closes(0x1234), ValueError,
         "not a token the contract model issued"),
    ],
}  # fmt: skip

# Public names that are values, enumerations or exception types: nothing to fail.
NOT_CALLS = {
    "wsapeer.FWPUCLNT", "wsapeer.WSA_ERRORS", "wsapeer.IPsecFlags", "wsapeer.SecurityInfoFlags",
    "wsapeer.SecurityProtocol", "wsapeer.SecuritySettingsFlags",
    "wsapeer.UnsupportedPlatformError", "wsapeer.WinsockError", "wsapeer.WinsockErrorInfo",
    "wsapeer.WsapeerError", "wsapeer.testing.ModelRecord", "wsapeer.testing.ContractModel",
    "wsapeer.testing.ContractViolation", "wsapeer.testing.Violation",
    "wsapeer.PeerAddress", "wsapeer.SocketLike",  # type aliases
}  # fmt: skip


# Classes whose methods fail through the entries of the class itself.
COVERED_BY_CLASS = {"wsapeer.Operation", "wsapeer.SecurityInfo"}


def public_callables():
    for module in (wsapeer, wsapeer.aio, wsapeer.testing):
        for name in module.__all__:
            qualname = f"{module.__name__}.{name}"
            obj = getattr(module, name)
            if qualname in NOT_CALLS:
                continue
            yield qualname
            if isinstance(obj, type) and qualname not in COVERED_BY_CLASS:
                for attr in dir(obj):
                    if not attr.startswith("_") and callable(getattr(obj, attr)):
                        yield f"{qualname}.{attr}"
    yield "wsapeer.testing.ContractModel.token_closes"


@pytest.mark.parametrize("name", sorted(set(public_callables())))
def test_every_public_callable_has_a_failure_path(name):
    assert FAILURES.get(name), f"{name} has no failure path under test: add one to FAILURES"


CASES = [
    pytest.param(
        name,
        i,
        id=f"{name}[{i}]",
        marks=pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
        if entry[1] is wsapeer.UnsupportedPlatformError
        else pytest.mark.needs_model,
    )
    for name, entries in FAILURES.items()
    for i, entry in enumerate(entries)
]


@pytest.mark.parametrize("name, index", CASES)
def test_failure_path(name, index):
    call, expected, detail = FAILURES[name][index]
    sockets = Sockets()
    try:
        if expected is wsapeer.UnsupportedPlatformError:
            with pytest.raises(expected):  # the model off: nothing answers
                call(sockets)
            return
        with contract_model() as model:
            before = [r.sequence for r in model.records]
            if isinstance(detail, int):
                with pytest.raises(WinsockError) as info:
                    call(sockets)
                assert info.value.winerror == detail
            else:
                with pytest.raises(expected, match=detail):
                    call(sockets)
                if name not in ("wsapeer.impersonate_peer", "wsapeer.SecurityInfo") and not (
                    issubclass(expected, OSError)  # connect or bind, after the secure calls
                ):
                    # Refused before C: the model saw nothing new.
                    assert [r.sequence for r in model.records] == before
    finally:
        sockets.close()
