"""The standing hostile-argument suite (issue 22).

Walks every public callable (``wsapeer.__all__``, ``wsapeer.aio.__all__``,
``wsapeer.testing.__all__``, the public methods of their classes) and every
parameter, and substitutes, one at a time, each value of a shared pool of
hostile arguments that the parameter's documented contract refuses: members of
every other enumeration and flag class and their ``|`` combinations, socket
constants, bools, int and str subclasses whose methods lie, floats, inf, nan,
huge and negative ints, bytes for str, objects whose ``fileno()`` lies. Each
must raise TypeError or ValueError before any socket is made and before
anything reaches C: the contract model records nothing and no descriptor is
left open.

A new public callable, or a new parameter, fails ``test_every_public_callable_
has_a_contract`` until SPECS says what its parameters take: so it joins the
suite by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import io
import math
import os
import socket
import uuid
from typing import Any, Callable, Dict, List, Tuple

import pytest
from liars import FilenoGives, LyingFloat, LyingInt, LyingStr, LyingTuple

import wsapeer
import wsapeer.aio
import wsapeer.testing
from wsapeer import (
    IPsecFlags,
    IPsecSettings,
    PeerTargetName,
    SecurityInfoFlags,
    SecurityProtocol,
    SecuritySettings,
    SecuritySettingsFlags,
)
from wsapeer.__main__ import main as cli
from wsapeer.testing import contract_model

MAX_HANDLE = wsapeer._lib.wsapeer_max_socket()
PEER = ("192.0.2.1", 5150)


ENUM_MEMBERS = [
    m
    for kind in (SecurityProtocol, SecuritySettingsFlags, IPsecFlags, SecurityInfoFlags)
    for m in kind
]
COMBINED = [
    SecuritySettingsFlags.GUARANTEE_ENCRYPTION | SecuritySettingsFlags.ALLOW_INSECURE,
    IPsecFlags.SKIP_FILTER_INSTANTIATION | IPsecFlags.PEER_NAME_IS_RAW_FORMAT,
    SecurityInfoFlags.SECURED | SecurityInfoFlags.ENCRYPTED,
]
POOL: List[Any] = [
    *ENUM_MEMBERS,
    *COMBINED,
    socket.SOCK_DGRAM,
    socket.AF_INET,
    socket.AF_INET6,
    socket.SOL_SOCKET,
    True,
    False,
    LyingInt(0, 2),
    LyingInt(16, 0),
    LyingInt(70000, 5),
    LyingInt(-1, 3),
    LyingStr("host/a\0b"),
    LyingStr("192.0.2.1\0"),
    LyingFloat(-1.0),
    1.5,
    math.inf,
    -math.inf,
    math.nan,
    -1,
    2**64,
    2**1000,
    -(2**63),
    "",
    "x",
    "\0",
    "\ud800",
    b"host/x",
    bytearray(b"host/x"),
    None,
    object(),
    [],
    {},
    (),
    ("192.0.2.1",),
    ("192.0.2.1", LyingInt(70000, 5)),
    (LyingStr("192.0.2.1\0"), 5),
    ("192.0.2.1", 5, 0),
    ("::1", 5, 2**20),
    ("host.example", 5),
    ("192.0.2.1", True),
    LyingTuple(("::1", 5, 0, 2**40)),
    FilenoGives(True),
    FilenoGives(LyingInt(3, 3)),
    FilenoGives(-1),
    FilenoGives(2**64),
    FilenoGives("3"),
    uuid,  # a module
]


def exact_int(low, high):
    return lambda v: type(v) is int and low <= v <= high


def member_or_int(kind, high):
    return lambda v: type(v) is kind or (type(v) is int and 0 <= v <= high)


def one_of(*predicates):
    return lambda v: any(p(v) for p in predicates)


def is_none(v):
    return v is None


def text(allow_empty):
    return lambda v: (
        type(v) is str and (allow_empty or v != "") and "\0" not in v and "\ud800" not in v
    )


def peer_tuple(v):
    """The valid peers in the pool: none (every pool tuple is wrong on purpose)."""
    return False


def is_timeout(v):
    return v is None or (type(v) in (int, float) and (0 <= v <= 2**31 - 1 or v == math.inf))


#: What each kind of parameter takes, as its docstring says: the pool's other values are refused.
KINDS: Dict[str, Callable[[Any], bool]] = {
    # An int handle in range goes to Windows, which judges it (WSAENOTSOCK): not Python's to refuse.
    "sock": exact_int(0, MAX_HANDLE),
    "name": text(False),
    "text": one_of(is_none, text(True)),
    "peer": one_of(is_none, peer_tuple),
    "address": peer_tuple,
    "protocol": member_or_int(SecurityProtocol, 2),
    "ipsec_protocol": lambda v: v in (1, 2) and type(v) in (int, SecurityProtocol),
    "protocol_or_none": one_of(is_none, member_or_int(SecurityProtocol, 2)),
    "settings_flags": member_or_int(SecuritySettingsFlags, 3),
    "ipsec_flags": member_or_int(IPsecFlags, 15),
    "info_flags": member_or_int(SecurityInfoFlags, 0xFFFFFFFF),
    "bool": lambda v: type(v) is bool,
    "u32": exact_int(0, 0xFFFFFFFF),
    "u64": exact_int(0, 2**64 - 1),
    "port": exact_int(0, 0xFFFF),
    "backlog": exact_int(0, 2**31 - 1),
    "backlog_or_none": one_of(is_none, exact_int(0, 2**31 - 1)),
    "limit": lambda v: type(v) is int and v > 0,  # Python's own buffer limit: any size
    "family": lambda v: type(v) in (int, socket.AddressFamily) and v in (2, socket.AF_INET6),
    "timeout": is_timeout,
    # A wait's timeout beyond the longest Windows wait is clamped to it (documented).
    "wait_timeout": lambda v: v is None or (type(v) in (int, float) and v >= 0),
    "settings": is_none,  # settings objects are not in the pool
    "uuid_or_none": is_none,
    "target": lambda v: False,
    "host": lambda v: False,  # "" is any address only for a server: see "server_host"
    "server_host": lambda v: v == "" and type(v) is str,
    "callable": callable,
    "operation": lambda v: False,
    "data": lambda v: False,  # no pool value is a SOCKET_PEER_TARGET_NAME
    "items": lambda v: False,
    "sock_or_none": one_of(is_none, exact_int(0, MAX_HANDLE)),
}

#: For each public callable: the kind of each parameter, and the valid value it
#: gets while another parameter is under attack.
Spec = Dict[str, Tuple[str, Callable[[Dict[str, Any]], Any]]]


def udp(ctx):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ctx["close"].append(s)
    return s


SOCK = ("sock", udp)
NAME = ("name", lambda ctx: "host/x")
PEER_ARG = ("peer", lambda ctx: PEER)
PROTOCOL = ("protocol", lambda ctx: 0)
ROUTINE = ("bool", lambda ctx: False)
SETTINGS = ("settings", lambda ctx: None)
MASK = ("u32", lambda ctx: 0)
FALSE = ("bool", lambda ctx: False)

SPECS: Dict[str, Spec] = {
    "wsapeer.PeerTargetName": {"target_name": NAME, "peer": PEER_ARG, "protocol": PROTOCOL},
    "wsapeer.PeerTargetName.from_bytes": {"data": ("data", lambda ctx: b"")},
    "wsapeer.PeerTargetName.apply": {"sock": SOCK},
    "wsapeer.PeerTargetName.apply_async": {"sock": SOCK, "routine": ROUTINE},
    "wsapeer.SecuritySettings": {"flags": ("settings_flags", lambda ctx: 0)},
    "wsapeer.SecuritySettings.apply": {"sock": SOCK},
    "wsapeer.SecuritySettings.apply_async": {"sock": SOCK, "routine": ROUTINE},
    "wsapeer.IPsecSettings": {
        "protocol": ("ipsec_protocol", lambda ctx: 1),
        "flags": ("settings_flags", lambda ctx: 0),
        "ipsec_flags": ("ipsec_flags", lambda ctx: 0),
        "mm_policy_key": ("uuid_or_none", lambda ctx: None),
        "qm_policy_key": ("uuid_or_none", lambda ctx: None),
        "user_name": ("text", lambda ctx: None),
        "domain_name": ("text", lambda ctx: None),
        "password": ("text", lambda ctx: None),
    },
    "wsapeer.IPsecSettings.apply": {"sock": SOCK},
    "wsapeer.IPsecSettings.apply_async": {"sock": SOCK, "routine": ROUTINE},
    "wsapeer.Operation.wait": {"timeout": ("wait_timeout", lambda ctx: 0)},
    "wsapeer.apply_many": {
        "items": ("items", lambda ctx: [(udp(ctx), PeerTargetName("host/x", PEER))]),
        "timeout": ("wait_timeout", lambda ctx: None),
        "raise_on_error": FALSE,
    },
    "wsapeer.create_connection": {
        "address": ("address", lambda ctx: ("127.0.0.1", 9)),
        "target_name": NAME,
        "settings": SETTINGS,
        "protocol": ("protocol_or_none", lambda ctx: None),
        "timeout": ("timeout", lambda ctx: 0.01),
        "source_address": ("peer", lambda ctx: None),
    },
    "wsapeer.create_server": {
        "address": ("address", lambda ctx: ("127.0.0.1", 0)),
        "settings": SETTINGS,
        "family": ("family", lambda ctx: socket.AF_INET),
        "backlog": ("backlog_or_none", lambda ctx: None),
        "reuse_port": FALSE,
    },
    "wsapeer.delete_peer_target_name": {"sock": SOCK, "peer": ("address", lambda ctx: PEER)},
    "wsapeer.delete_peer_target_name_async": {
        "sock": SOCK,
        "peer": ("address", lambda ctx: PEER),
        "routine": ROUTINE,
    },
    "wsapeer.impersonate_peer": {"sock": SOCK, "peer": PEER_ARG, "allow_in_event_loop": FALSE},
    "wsapeer.impersonate_socket_peer": {
        "sock": SOCK,
        "peer": PEER_ARG,
        "allow_in_event_loop": FALSE,
    },
    "wsapeer.peer_security": {"conn": SOCK, "peer": PEER_ARG, "access_mask": MASK, "ipsec2": FALSE},
    "wsapeer.query_socket_security": {
        "sock": SOCK,
        "peer": PEER_ARG,
        "access_mask": MASK,
        "ipsec2": FALSE,
    },
    "wsapeer.query_socket_security_async": {
        "sock": SOCK,
        "peer": PEER_ARG,
        "access_mask": MASK,
        "ipsec2": FALSE,
        "routine": ROUTINE,
    },
    "wsapeer.revert_impersonation": {},
    "wsapeer.secure_client": {
        "sock": SOCK,
        "target_name": NAME,
        "settings": SETTINGS,
        "protocol": ("protocol_or_none", lambda ctx: None),
    },
    "wsapeer.set_peer_target_name": {
        "sock": SOCK,
        "target_name": NAME,
        "peer": PEER_ARG,
        "protocol": PROTOCOL,
    },
    "wsapeer.set_peer_target_name_async": {
        "sock": SOCK,
        "target_name": NAME,
        "peer": PEER_ARG,
        "protocol": PROTOCOL,
        "routine": ROUTINE,
    },
    "wsapeer.set_socket_security": {"sock": SOCK, "settings": SETTINGS},
    "wsapeer.set_socket_security_async": {"sock": SOCK, "settings": SETTINGS, "routine": ROUTINE},
    "wsapeer.aio.apply": {
        "sock": SOCK,
        "target": ("target", lambda ctx: PeerTargetName("host/x", PEER)),
    },
    "wsapeer.aio.apply_many": {
        "items": ("items", lambda ctx: [(udp(ctx), PeerTargetName("host/x", PEER))]),
        "timeout": ("wait_timeout", lambda ctx: None),
        "raise_on_error": FALSE,
    },
    "wsapeer.aio.delete_peer_target_name": {"sock": SOCK, "peer": ("address", lambda ctx: PEER)},
    "wsapeer.aio.open_connection": {
        "host": ("host", lambda ctx: "127.0.0.1"),
        "port": ("port", lambda ctx: 9),
        "target_name": NAME,
        "settings": SETTINGS,
        "protocol": ("protocol_or_none", lambda ctx: None),
        "limit": ("limit", lambda ctx: 2**16),
    },
    "wsapeer.aio.query_socket_security": {
        "sock": SOCK,
        "peer": PEER_ARG,
        "access_mask": MASK,
        "ipsec2": FALSE,
    },
    "wsapeer.aio.set_peer_target_name": {
        "sock": SOCK,
        "target_name": NAME,
        "peer": PEER_ARG,
        "protocol": PROTOCOL,
    },
    "wsapeer.aio.set_socket_security": {"sock": SOCK, "settings": SETTINGS},
    "wsapeer.aio.start_server": {
        "client_connected_cb": ("callable", lambda ctx: print),
        "host": ("server_host", lambda ctx: "127.0.0.1"),
        "port": ("port", lambda ctx: 0),
        "settings": SETTINGS,
        "family": ("family", lambda ctx: socket.AF_INET),
        "backlog": ("backlog", lambda ctx: 100),
        "reuse_port": FALSE,
        "access_mask": MASK,
        "limit": ("limit", lambda ctx: 2**16),
    },
    "wsapeer.aio.wait": {"operation": ("operation", lambda ctx: None)},
    "wsapeer.testing.contract_model": {"strict": FALSE},
    "wsapeer.testing.ContractModel.calls": {"sock": ("sock_or_none", lambda ctx: None)},
    "wsapeer.testing.ContractModel.peer_target_names": {"sock": SOCK},
    "wsapeer.testing.ContractModel.pretend_peer": {
        "flags": ("info_flags", lambda ctx: 1),
        "tokens": FALSE,
        "mm_sa_id": ("u64", lambda ctx: 0),
        "qm_sa_id": ("u64", lambda ctx: 0),
        "negotiation_winerror": MASK,
        "sa_lookup_context": ("uuid_or_none", lambda ctx: None),
    },
    "wsapeer.testing.ContractModel.token_closes": {"handle": ("u64", lambda ctx: 1)},
    "wsapeer.testing.ContractModel.open_tokens": {},
    "wsapeer.testing.ContractModel.impersonating": {},
    "wsapeer.testing.ContractModel.violations": {},
}

#: Public names that are not callables taking arguments a user chooses: data
#: types, enumerations, exceptions, type aliases, objects only wsapeer makes.
NOT_ATTACKED = {
    "wsapeer.PeerAddress",
    "wsapeer.SocketLike",
    "wsapeer.WinsockErrorInfo",
    "wsapeer.SecurityInfo",  # only queries make it; its constructor refuses everything
    "wsapeer.Operation",  # only *_async calls make it
    "wsapeer.testing.ContractModel",  # only contract_model() makes it
    "wsapeer.testing.ModelRecord",
    "wsapeer.testing.Violation",
}


def public_callables() -> Dict[str, Callable[..., Any]]:
    found: Dict[str, Any] = {}
    for module in (wsapeer, wsapeer.aio, wsapeer.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            qualified = f"{module.__name__}.{name}"
            if inspect.isclass(obj) and issubclass(obj, (int, BaseException)):
                continue  # enumerations (attacked through their operators) and exceptions
            if not callable(obj):
                continue
            found[qualified] = obj
            if inspect.isclass(obj) and not issubclass(obj, tuple):  # NamedTuples: data
                for attr in dir(obj):
                    member = inspect.getattr_static(obj, attr)
                    if attr.startswith("_") or isinstance(member, property):
                        continue
                    if callable(getattr(obj, attr)):
                        found[f"{qualified}.{attr}"] = getattr(obj, attr)
    return found


def parameters(obj) -> List[str]:
    names = []
    for name, param in inspect.signature(obj).parameters.items():
        if name in ("self", "cls") or name.startswith("_"):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        names.append(name)
    return names


def test_every_public_callable_has_a_contract():
    missing = []
    for qualified, obj in public_callables().items():
        if qualified in NOT_ATTACKED:
            continue
        if qualified.rsplit(".", 1)[-1] in ("done", "result", "cancel", "close"):
            continue  # no parameters
        spec = SPECS.get(qualified)
        if spec is None:
            missing.append(f"{qualified}: no entry in SPECS")
            continue
        for name in parameters(obj):
            if name not in spec:
                missing.append(f"{qualified}({name}): no kind in SPECS")
        for name in spec:
            if name not in parameters(obj):
                missing.append(f"{qualified}: SPECS names {name}, which it does not take")
    assert missing == []


def attacks():
    """(callable, parameter, the pool's values its kind refuses), for every parameter."""
    for qualified, spec in SPECS.items():
        for name, (kind, _) in spec.items():
            valid = KINDS[kind]
            hostile = []
            for value in POOL:
                try:
                    if valid(value):
                        continue
                except Exception:  # a lying value may refuse to be looked at: hostile anyway
                    pass
                hostile.append(value)
            yield pytest.param(qualified, name, hostile, id=f"{qualified}-{name}")


def open_fds():
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def bind(qualified: str, ctx: Dict[str, Any], model) -> Callable[..., Any]:
    """The callable to attack: a bound method on a valid object where it is one."""
    module_or_class, _, attr = qualified.rpartition(".")
    owners = {
        "wsapeer.PeerTargetName": lambda: PeerTargetName("host/x", PEER),
        "wsapeer.SecuritySettings": SecuritySettings,
        "wsapeer.IPsecSettings": IPsecSettings,
        "wsapeer.testing.ContractModel": lambda: model,
        "wsapeer.Operation": lambda: wsapeer.set_socket_security_async(udp(ctx)),
    }
    if module_or_class in owners and attr != "from_bytes":
        return getattr(owners[module_or_class](), attr)
    if module_or_class in owners:
        return getattr(PeerTargetName, attr)
    for module in (wsapeer.testing, wsapeer.aio, wsapeer):
        if module_or_class == module.__name__:
            return getattr(module, attr)
    raise AssertionError(qualified)


def invoke(fn: Callable[..., Any], kwargs: Dict[str, Any]) -> Any:
    """Calls fn as a user would: a coroutine awaited, a context manager entered."""
    result = fn(**kwargs)
    if inspect.iscoroutine(result):
        return asyncio.run(result)
    if isinstance(result, contextlib.AbstractContextManager) and not isinstance(
        result, socket.socket
    ):
        with result:
            pass
    if isinstance(result, socket.socket):
        result.close()
    return result


def refused(outcome) -> bool:
    """apply_many refuses bad items in their own slots."""
    return isinstance(outcome, list) and all(
        isinstance(r, (TypeError, ValueError)) for r in outcome
    )


@pytest.mark.parametrize("qualified, name, values", list(attacks()))
@pytest.mark.needs_model
def test_a_hostile_argument_is_refused_before_anything_is_made(qualified, name, values):
    """Each value in turn, in one model block: every one refused, nothing recorded."""
    taken = []
    before = open_fds()
    with contract_model() as model:
        for value in values:
            ctx: Dict[str, Any] = {"close": []}
            try:
                fn = bind(qualified, ctx, model)
                kwargs = {p: make(ctx) for p, (_, make) in SPECS[qualified].items()}
                kwargs[name] = value
                recorded = len(model.records)
                try:
                    outcome = invoke(fn, kwargs)
                except (TypeError, ValueError):
                    outcome = "refused"
                if outcome != "refused" and not refused(outcome):
                    taken.append(f"{name}={value!r} was taken: {outcome!r}")
                elif len(model.records) != recorded:
                    taken.append(f"{name}={value!r} reached C")
            finally:
                for s in ctx["close"]:
                    s.close()
    assert taken == [], qualified
    if open_fds() > before:
        gc.collect()  # only then: a full collection per case is most of the suite's time
    assert open_fds() <= before  # an earlier test's loop may close a descriptor meanwhile


# ---- regression entries: the cases the attack found ---------------------------------------
S = SecuritySettingsFlags


@pytest.mark.parametrize(
    "make",
    [
        lambda: IPsecSettings(
            flags=SecuritySettingsFlags.GUARANTEE_ENCRYPTION
            | IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION
        ),
        lambda: SecuritySettings(
            flags=SecuritySettingsFlags.ALLOW_INSECURE | SecurityProtocol.IPSEC2
        ),
        lambda: SecuritySettings(flags=SecurityProtocol.IPSEC2 | SecuritySettingsFlags.NONE),
        lambda: SecuritySettings(
            flags=SecuritySettingsFlags.GUARANTEE_ENCRYPTION | socket.SOCK_DGRAM
        ),
        lambda: SecuritySettings(flags=SecuritySettingsFlags.GUARANTEE_ENCRYPTION ^ IPsecFlags(2)),
        lambda: SecuritySettings(flags=IPsecFlags(3) & SecuritySettingsFlags(2)),
        lambda: PeerTargetName(LyingStr("host/good.example.com\0.evil")),
        lambda: IPsecSettings(password=LyingStr("a very long password")),
        lambda: SecuritySettings(flags=LyingInt(0, 2)),
        lambda: SecuritySettings(flags=LyingInt(16, 0)),
        lambda: wsapeer.create_server(("127.0.0.1", 0), backlog=2**40),
        lambda: wsapeer.create_connection(("127.0.0.1", 9), "host/x", timeout=1e300),
        lambda: wsapeer.create_connection(("127.0.0.1", LyingInt(70000, 5)), "host/x"),
        lambda: asyncio.run(wsapeer.aio.wait(__import__("concurrent.futures").futures.Future())),
    ],
)
@pytest.mark.needs_model
def test_regressions(make):
    before = open_fds()
    with contract_model() as model, pytest.raises((TypeError, ValueError)):
        make()
    assert model.records == []
    gc.collect()
    assert open_fds() <= before


@pytest.mark.needs_model
def test_a_fileno_that_changes_is_read_once():
    """Whatever the call does, it does it to the socket fileno() named first."""
    with (
        contract_model() as model,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second,
    ):
        answers = iter([first.fileno()] + [second.fileno()] * 10)

        class Shifty:
            def fileno(self):
                return next(answers)

        for call in (
            lambda s: wsapeer.set_socket_security(s),
            lambda s: wsapeer.set_peer_target_name(s, "host/x", PEER),
            lambda s: PeerTargetName("host/y", PEER).apply(s),
            lambda s: wsapeer.delete_peer_target_name(s, PEER),
            lambda s: wsapeer.query_socket_security(s, PEER).close(),
        ):
            answers = iter([first.fileno()] + [second.fileno()] * 10)
            with contextlib.suppress(wsapeer.WinsockError):
                call(Shifty())
        assert model.calls(second.fileno()) == []
        assert model.calls(first.fileno())


@pytest.mark.needs_model
def test_many_hostile_items_are_each_refused_in_their_slot():
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.close()
    target = PeerTargetName("host/x", PEER)
    items = [(closed, target), (LyingInt(3, 3), target), (True, target), (3, "x")] * 25000
    with contract_model() as model:
        results = wsapeer.apply_many(items)
    assert len(results) == 100000
    assert all(isinstance(r, (TypeError, ValueError)) for r in results)
    assert model.records == []


# ---- the command line: hostile option values give a usage error, never a traceback ----------
CLI_VALUES = [
    "",
    "-1",
    "99999999999999999999999",
    "nan",
    "1.5",
    "0x1F",
    "\ud800",
    "\uff11\uff12\uff13",
    "x" * 40000,
]
CLI_OPTIONS = [
    ("inspect", "host/x", "--peer"),
    ("inspect", "host/x", "--flowinfo"),
    ("inspect", "host/x", "--scope-id"),
    ("inspect", "host/x", "--protocol"),
    ("inspect", "--decode"),
    ("inspect-settings", "--protocol"),
    ("inspect-settings", "--flags"),
    ("inspect-settings", "--ipsec-flags"),
    ("inspect-settings", "--mm-policy-key"),
    ("inspect-settings", "--qm-policy-key"),
    ("inspect-settings", "--user"),
    ("inspect-settings", "--domain"),
]


@pytest.mark.parametrize("option", CLI_OPTIONS, ids=" ".join)
@pytest.mark.parametrize("value", CLI_VALUES, ids=lambda v: repr(v)[:12])
def test_the_cli_answers_hostile_values_with_a_usage_error(option, value):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli([*option, value])
        except SystemExit as stop:
            code = stop.code
    assert code in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
