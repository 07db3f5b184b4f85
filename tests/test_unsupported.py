"""Where nothing answers the calls, every public call raises
UnsupportedPlatformError: never a silent success.

This runs twice: in this process, on the default build off Windows (the
contract model, switched off), and in a subprocess on a build with
WSAPEER_FWPUCLNT=none, which has no model at all. Every public name must be
classified below, so a new entry point cannot slip past.
"""

import asyncio
import os
import pathlib
import socket
import subprocess
import sys

import pytest
from builds import CANNOT_BUILD, MODEL_BUILD

import wsapeer
import wsapeer.aio
import wsapeer.testing
from wsapeer import IPsecSettings, PeerTargetName, SecuritySettings, UnsupportedPlatformError

HERE = pathlib.Path(__file__).resolve().parent
# The build under test, when whoever built it says (tests/windows_python, and
# the child run below); else the documented default of the platform.
EXPECTED = os.environ.get("WSAPEER_TEST_EXPECT_FWPUCLNT")
IN_CHILD = os.environ.get("WSAPEER_TEST_CHILD") == "1"
PEER = ("192.0.2.1", 500)


def _run(coroutine_function):
    return lambda *a, **k: asyncio.run(coroutine_function(*a, **k))


def _enter(context_manager_function):
    def call(*a, **k):
        with context_manager_function(*a, **k):
            pytest.fail("the block ran: the call did not raise")

    return call


# name -> how to make the call on a UDP socket u
CALLS = {
    "wsapeer.set_peer_target_name": lambda u: wsapeer.set_peer_target_name(u, "host/x", PEER),
    "wsapeer.set_socket_security": lambda u: wsapeer.set_socket_security(u),
    "wsapeer.set_socket_security_async": lambda u: wsapeer.set_socket_security_async(u),
    "wsapeer.delete_peer_target_name": lambda u: wsapeer.delete_peer_target_name(u, PEER),
    "wsapeer.delete_peer_target_name_async": lambda u: wsapeer.delete_peer_target_name_async(
        u, PEER
    ),
    "wsapeer.query_socket_security": lambda u: wsapeer.query_socket_security(u, PEER),
    "wsapeer.query_socket_security_async": lambda u: wsapeer.query_socket_security_async(u, PEER),
    "wsapeer.impersonate_socket_peer": lambda u: wsapeer.impersonate_socket_peer(u, PEER),
    "wsapeer.revert_impersonation": lambda u: wsapeer.revert_impersonation(),
    "wsapeer.impersonate_peer": lambda u: _enter(wsapeer.impersonate_peer)(u, PEER),
    "wsapeer.secure_client": lambda u: wsapeer.secure_client(u, "host/x"),
    "wsapeer.create_connection": lambda u: wsapeer.create_connection(("127.0.0.1", 9), "host/x"),
    "wsapeer.create_server": lambda u: wsapeer.create_server(("127.0.0.1", 0)),
    "wsapeer.peer_security": lambda u: wsapeer.peer_security(u, PEER).__enter__(),
    "wsapeer.apply_many": lambda u: wsapeer.apply_many([(u, PeerTargetName("host/x", PEER))]),
    "wsapeer.PeerTargetName.apply": lambda u: PeerTargetName("host/x", PEER).apply(u),
    "wsapeer.PeerTargetName.apply_async": lambda u: PeerTargetName("host/x", PEER).apply_async(u),
    "wsapeer.SecuritySettings.apply": lambda u: SecuritySettings().apply(u),
    "wsapeer.SecuritySettings.apply_async": lambda u: SecuritySettings().apply_async(u),
    "wsapeer.IPsecSettings.apply": lambda u: IPsecSettings(password="pw").apply(u),
    "wsapeer.IPsecSettings.apply_async": lambda u: IPsecSettings().apply_async(u),
    "wsapeer.aio.apply": lambda u: _run(wsapeer.aio.apply)(u, PeerTargetName("host/x", PEER)),
    "wsapeer.aio.apply_many": lambda u: _run(wsapeer.aio.apply_many)(
        [(u, PeerTargetName("host/x", PEER))]
    ),
    "wsapeer.set_peer_target_name_async": lambda u: wsapeer.set_peer_target_name_async(
        u, "host/x", PEER
    ),
    "wsapeer.aio.set_peer_target_name": lambda u: _run(wsapeer.aio.set_peer_target_name)(
        u, "host/x", PEER
    ),
    "wsapeer.aio.set_socket_security": lambda u: _run(wsapeer.aio.set_socket_security)(u),
    "wsapeer.aio.open_connection": lambda u: _run(wsapeer.aio.open_connection)(
        "127.0.0.1", 9, target_name="host/x"
    ),
    "wsapeer.aio.start_server": lambda u: _run(wsapeer.aio.start_server)(print, "127.0.0.1", 0),
    "wsapeer.aio.delete_peer_target_name": lambda u: _run(wsapeer.aio.delete_peer_target_name)(
        u, PEER
    ),
    "wsapeer.aio.query_socket_security": lambda u: _run(wsapeer.aio.query_socket_security)(u, PEER),
}

# Public names that make no Winsock call of their own.
NOT_CALLS = {
    "wsapeer.FWPUCLNT", "wsapeer.WSA_ERRORS", "wsapeer.IPsecFlags", "wsapeer.SecurityInfoFlags",
    "wsapeer.SecurityProtocol", "wsapeer.SecuritySettingsFlags", "wsapeer.UnsupportedPlatformError",
    "wsapeer.WinsockError", "wsapeer.WinsockErrorInfo", "wsapeer.WsapeerError",
    "wsapeer.IPsecSettings", "wsapeer.PeerTargetName", "wsapeer.SecuritySettings",
    "wsapeer.SecurityInfo",  # made by a query, which raises first
    "wsapeer.Operation",  # made by an _async call, which raises first
    "wsapeer.aio.wait",  # takes an Operation, which no call returns here
    "wsapeer.testing.ContractModel", "wsapeer.testing.ModelRecord",
    "wsapeer.testing.ContractViolation", "wsapeer.testing.Violation",
    "wsapeer.PeerAddress", "wsapeer.SocketLike",  # type aliases
    "wsapeer.testing.contract_model",  # checked below, by build
}  # fmt: skip


def public_names():
    for module in (wsapeer, wsapeer.aio, wsapeer.testing):
        for name in module.__all__:
            qualname = f"{module.__name__}.{name}"
            yield qualname
            obj = getattr(module, name)
            if isinstance(obj, type) and qualname.startswith("wsapeer.") and obj.__doc__:
                for attr in dir(obj):
                    if attr.startswith("apply"):
                        yield f"{qualname}.{attr}"


def test_every_public_name_is_classified():
    unclassified = set(public_names()) - set(CALLS) - NOT_CALLS
    assert not unclassified, f"say whether these make a call: {sorted(unclassified)}"
    assert set(CALLS) <= set(public_names()) | set(CALLS)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_call_raises_unsupported(name):
    if wsapeer.FWPUCLNT not in ("model", "none"):
        pytest.skip(f"this build's Fwpuclnt is {wsapeer.FWPUCLNT!r}: its calls reach Fwpuclnt")
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u,
        pytest.raises(UnsupportedPlatformError) as info,
    ):
        CALLS[name](u)
    assert "nothing was done" in str(info.value)


@pytest.mark.needs_model
def test_contract_model_where_built():
    with wsapeer.testing.contract_model():
        pass


@pytest.mark.skipif(MODEL_BUILD, reason="this build has the model")
def test_no_contract_model_where_not_built():
    with pytest.raises(UnsupportedPlatformError, match="WSAPEER_FWPUCLNT=model"):
        wsapeer.testing.contract_model().__enter__()


def test_build(tmp_path):
    default = "windows" if sys.platform == "win32" else "model"
    assert (EXPECTED or default) == wsapeer.FWPUCLNT


def build_variant(implementation, dest):
    sys.path.insert(0, str(HERE.parent / "tools"))
    try:
        import build_variant
    finally:
        sys.path.pop(0)
    return build_variant.build(implementation, dest)


@pytest.mark.skipif(IN_CHILD, reason="this is the child run")
@pytest.mark.skipif(CANNOT_BUILD is not None, reason=str(CANNOT_BUILD))
def test_echo_build_says_it_secures_nothing(tmp_path):
    package = build_variant("echo", tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", "import wsapeer; print(wsapeer.FWPUCLNT)"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(package.parent)),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and run.stdout == "echo\n", run.stderr
    assert "RuntimeWarning" in run.stderr and "nothing is secured" in run.stderr


@pytest.mark.skipif(IN_CHILD, reason="this is the child run")
@pytest.mark.skipif(CANNOT_BUILD is not None, reason=str(CANNOT_BUILD))
def test_none_build_in_a_subprocess(tmp_path):
    package = build_variant("none", tmp_path)
    env = dict(
        os.environ,
        PYTHONPATH=str(package.parent),
        WSAPEER_TEST_EXPECT_FWPUCLNT="none",
        WSAPEER_TEST_CHILD="1",
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(pathlib.Path(__file__)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(CALLS) + 3} passed, 3 skipped" in run.stdout, run.stdout
