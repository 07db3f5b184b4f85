"""contract_model(strict=True): what Windows lets pass silently fails the test
(issue 14, item 11). The model answers exactly as without strict; only the
block's end differs."""

import gc
import socket

import pytest

import wsapeer
from wsapeer import PeerTargetName
from wsapeer.testing import ContractViolation, Violation, contract_model


def secured_listener(secured=True):
    s = socket.socket()
    if secured:
        wsapeer.set_socket_security(s)
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def connect(server):
    client = socket.create_connection(server.getsockname())
    conn, _ = server.accept()
    return client, conn


def rules(violations):
    return [v.rule for v in violations]


def test_contract_violation_is_an_assertion_error():
    assert issubclass(ContractViolation, AssertionError)


def test_strict_must_be_a_bool():
    with pytest.raises(TypeError, match="strict"), contract_model(strict=1):
        pass


@pytest.mark.needs_model
def test_clean_code_passes_strict():
    with contract_model(strict=True) as model, socket.socket() as s:
        wsapeer.set_socket_security(s)
        wsapeer.set_peer_target_name(s, "host/server.example.com")
        assert model.violations() == []


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
@pytest.mark.needs_model
def test_name_on_a_socket_never_secured(kind):
    peer = ("192.0.2.1", 500) if kind == socket.SOCK_DGRAM else None
    with socket.socket(socket.AF_INET, kind) as s:
        with pytest.raises(ContractViolation) as info, contract_model(strict=True) as model:
            wsapeer.set_peer_target_name(s, "host/server.example.com", peer)
            [v] = model.violations()  # the same list, at any time
        assert isinstance(v, Violation)
        assert v.rule == "name-without-security" and v.handle == s.fileno()
        assert v.calls == ("WSASetSocketPeerTargetName #1",)
        assert info.value.violations == [v]
        message = str(info.value)
        assert "name-without-security" in message and f"socket {s.fileno()}" in message
        assert "WSASetSocketPeerTargetName #1" in message


@pytest.mark.needs_model
def test_security_set_later_still_counts_as_set():
    # Windows' order is security first; a name set before it is accepted and
    # the socket does end up secured. Not a silent gap: no violation.
    with contract_model(strict=True) as model, socket.socket() as s:
        wsapeer.set_peer_target_name(s, "host/x")
        wsapeer.set_socket_security(s)
        assert model.violations() == []


@pytest.mark.needs_model
def test_without_strict_the_block_does_not_raise_but_violations_are_listed():
    with contract_model() as model, socket.socket() as s:
        wsapeer.set_peer_target_name(s, "host/x")
        assert rules(model.violations()) == ["name-without-security"]
    assert rules(model.violations()) == ["name-without-security"]  # frozen after the block


@pytest.mark.needs_model
def test_impersonating_an_unsecured_connection():
    server = secured_listener(secured=False)
    client, conn = connect(server)
    try:
        with pytest.raises(ContractViolation) as info, contract_model(strict=True) as model:
            model.pretend_peer()
            assert not wsapeer.query_socket_security(conn).secured
            with wsapeer.impersonate_peer(conn):  # Windows would let it pass
                pass
        [v] = info.value.violations
        assert v.rule == "impersonated-unsecured" and v.handle == conn.fileno()
        assert v.calls == ("WSAImpersonateSocketPeer #2",)
    finally:
        for s in (client, conn, server):
            s.close()


@pytest.mark.needs_model
def test_impersonating_a_secured_connection_is_fine():
    with contract_model(strict=True) as model:
        model.pretend_peer()
        server = secured_listener()
        client, conn = connect(server)
        try:
            with wsapeer.impersonate_peer(conn):
                pass
            assert model.violations() == []
        finally:
            for s in (client, conn, server):
                s.close()


@pytest.mark.needs_model
def test_token_left_open():
    with contract_model(strict=True) as model:
        model.pretend_peer(tokens=True)
        server = secured_listener()
        client, conn = connect(server)
        info = wsapeer.query_socket_security(conn, access_mask=0x8)
        try:
            found = model.violations()
            assert rules(found) == ["token-left-open", "token-left-open"]
            assert {v.handle for v in found} == {conn.fileno()}
            assert {v.calls for v in found} == {("WSAQuerySocketSecurity #2",)}
        finally:
            info.close()
            for s in (client, conn, server):
                s.close()
        assert model.violations() == []


@pytest.mark.needs_model
def test_token_left_open_fails_the_block():
    server = client = conn = info = None
    with (
        pytest.raises(ContractViolation, match="token-left-open"),
        contract_model(strict=True) as model,
    ):
        model.pretend_peer(tokens=True)
        server = secured_listener()
        client, conn = connect(server)
        info = wsapeer.query_socket_security(conn, access_mask=0x8)
    info.close()
    for s in (client, conn, server):
        s.close()


@pytest.mark.needs_model
def test_impersonation_left_open():
    server = secured_listener(secured=False)
    client, conn = connect(server)
    try:
        with pytest.raises(ContractViolation) as info, contract_model(strict=True):
            wsapeer.impersonate_socket_peer(conn)
        assert "impersonation-left-open" in rules(info.value.violations)
    finally:
        wsapeer_revert()
        for s in (client, conn, server):
            s.close()


def wsapeer_revert():
    with contract_model():
        wsapeer.revert_impersonation()


@pytest.mark.needs_model
def test_operation_never_observed():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        with pytest.raises(ContractViolation) as info, contract_model(strict=True):
            wsapeer.set_socket_security(u)
            op = PeerTargetName("host/x", ("192.0.2.1", 500)).apply_async(u)
            del op
            gc.collect()
        [v] = info.value.violations
        assert v.rule == "operation-unobserved" and v.handle == u.fileno()
        assert v.calls == ("WSASetSocketPeerTargetName",)


@pytest.mark.parametrize(
    "observe",
    [lambda op: op.result(), lambda op: op.wait(), lambda op: op.__exit__(None, None, None)],
)
@pytest.mark.needs_model
def test_operation_observed(observe):
    with (
        contract_model(strict=True) as model,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u,
    ):
        wsapeer.set_socket_security(u)
        observe(PeerTargetName("host/x", ("192.0.2.1", 500)).apply_async(u))
        assert model.violations() == []


@pytest.mark.needs_model
def test_strict_answers_as_the_model_does():
    """The same calls, the same errors and records, strict or not."""

    def run(strict):
        out = []
        with contract_model(strict=strict) as model:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                for call in (
                    lambda: wsapeer.set_peer_target_name(u, "host/a", ("192.0.2.1", 1)),
                    lambda: wsapeer.set_socket_security(u),
                    lambda: wsapeer.set_socket_security(u),
                    lambda: wsapeer.set_peer_target_name(u, "host/b", ("0.0.0.0", 0)),
                ):
                    try:
                        call()
                        out.append(None)
                    except wsapeer.WinsockError as e:
                        out.append(e.winerror)
                out.append(model.calls(u))
            out.append([(r.function, r.data) for r in model.records])
        return out

    assert run(False) == run(True)


@pytest.mark.needs_model
def test_an_exception_in_the_block_is_not_replaced():
    with pytest.raises(KeyError), contract_model(strict=True), socket.socket() as s:
        wsapeer.set_peer_target_name(s, "host/x")
        raise KeyError("the test's own failure")
