"""The family on Linux: validation, secrets, tokens, impersonation, through the model."""

import gc
import pickle
import socket
import threading
import uuid

import pytest
import sdk_layout as sdk
from builds import OUTSIDE_THE_MODEL

import wsapeer
from wsapeer import (
    IPsecFlags,
    IPsecSettings,
    SecurityInfoFlags,
    SecurityProtocol,
    SecuritySettings,
    SecuritySettingsFlags,
    WinsockError,
)
from wsapeer.testing import contract_model

SECRET = "correct horse battery staple"


def winerror(call):
    with pytest.raises(WinsockError) as info:
        call()
    return info.value.winerror


SET_SECURITY = "WSASetSocketSecurity"
SET_NAME = "WSASetSocketPeerTargetName"
DELETE_NAME = "WSADeleteSocketPeerTargetName"
QUERY = "WSAQuerySocketSecurity"
IMPERSONATE = "WSAImpersonateSocketPeer"


@pytest.fixture
def model():
    with contract_model() as m:
        yield m


@pytest.fixture
def secured_pair(model):
    """A secured listener, a secured client connected to it, and the accepted socket."""
    listener = socket.socket()
    wsapeer.set_socket_security(listener)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.socket()
    wsapeer.set_socket_security(client)
    client.connect(listener.getsockname())
    conn, _ = listener.accept()
    yield client, conn
    for s in (client, conn, listener):
        s.close()


# ---- settings objects -------------------------------------------------------


def test_settings_attributes_and_equality():
    s = SecuritySettings(flags=SecuritySettingsFlags.ALLOW_INSECURE)
    assert s.protocol is SecurityProtocol.DEFAULT
    assert s.flags is SecuritySettingsFlags.ALLOW_INSECURE
    assert s == SecuritySettings(flags=2) and hash(s) == hash(SecuritySettings(flags=2))
    assert s != SecuritySettings()
    assert repr(SecuritySettings()) == "SecuritySettings()"
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(AttributeError):
        s.flags = 0


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"flags": 4}, ValueError, "bits SecuritySettingsFlags does not define"),
        ({"flags": -1}, ValueError, "does not define"),
        ({"flags": "1"}, TypeError, "flags must be SecuritySettingsFlags"),
        ({"flags": True}, TypeError, "not bool"),
    ],
)
def test_settings_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SecuritySettings(**kwargs)


def test_ipsec_settings_attributes():
    key = uuid.uuid4()
    s = IPsecSettings(
        protocol=SecurityProtocol.IPSEC2,
        flags=SecuritySettingsFlags.GUARANTEE_ENCRYPTION,
        ipsec_flags=IPsecFlags.SKIP_FILTER_INSTANTIATION | IPsecFlags.PEER_NAME_IS_RAW_FORMAT,
        mm_policy_key=key,
        user_name="svc",
        domain_name="EXAMPLE",
        password=SECRET,
    )
    assert s.protocol is SecurityProtocol.IPSEC2
    assert s.ipsec_flags == 0x9
    assert s.mm_policy_key == key and s.qm_policy_key is None
    assert (s.user_name, s.domain_name, s.has_password) == ("svc", "EXAMPLE", True)
    assert s.size == 88 + 2 * (3 + 7 + len(SECRET))
    assert sdk.decode_security_settings(bytes(s)) == sdk.Settings(
        protocol=2, flags=1, ipsec_flags=0x9, mm_policy_key=key, qm_policy_key=None,
        user_name="svc", domain_name="EXAMPLE", password=SECRET,
    )  # fmt: skip
    assert not hasattr(s, "password")


def test_ipsec_equality_and_hash_never_copy_the_password(monkeypatch):
    """== compares the C buffers in C, and the hash covers what precedes the
    password: neither makes a Python bytes object holding it."""
    import wsapeer._immutable as immutable

    a = IPsecSettings(user_name="svc", password=SECRET)
    b = IPsecSettings(user_name="svc", password=SECRET)
    c = IPsecSettings(user_name="svc", password=SECRET[::-1])
    others = (SecuritySettings(), wsapeer.PeerTargetName("svc"))
    read = []
    real = immutable.ffi

    class Watch:
        def __getattr__(self, name):
            return getattr(real, name)

        def buffer(self, cdata, size):
            read.append(size)
            return real.buffer(cdata, size)

    monkeypatch.setattr(immutable, "ffi", Watch())
    assert a == b and a != c
    assert hash(a) == hash(b) == hash(c)  # the password is no part of the hash
    assert all(a != other and other != a for other in others)
    IPsecSettings(user_name="svc", password=SECRET)
    assert read == []  # neither comparing nor hashing read the buffer into Python


def test_password_never_in_repr_str_or_pickle():
    s = IPsecSettings(user_name="svc", password=SECRET)
    for text in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert SECRET not in text
        assert "password=<hidden>" in text
    with pytest.raises(TypeError, match="cannot be pickled") as info:
        pickle.dumps(s)
    assert SECRET not in str(info.value)
    clean = IPsecSettings(user_name="svc")
    assert pickle.loads(pickle.dumps(clean)) == clean


@pytest.mark.parametrize(
    "password, match",
    [("bad\0secret", "password contains a NUL character at index 3"),
     ("bad\ud800secret", "password contains a lone surrogate at index 3"),
     ("x" * 32768, "password is 32768 UTF-16 code units long")],
)  # fmt: skip
def test_password_errors_do_not_quote_it(password, match):
    with pytest.raises(ValueError, match=match) as info:
        IPsecSettings(password=password)
    assert "secret" not in str(info.value) and "xxxx" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"protocol": 0}, ValueError, "use SecuritySettings for DEFAULT"),
        ({"protocol": 3}, ValueError, "unknown security protocol 3"),
        ({"ipsec_flags": 0x10}, ValueError, "bits IPsecFlags does not define"),
        ({"mm_policy_key": "1234"}, TypeError, "mm_policy_key must be a uuid.UUID"),
        ({"qm_policy_key": b"\0" * 16}, TypeError, "qm_policy_key must be a uuid.UUID"),
        ({"user_name": b"svc"}, TypeError, "user_name must be a str"),
        ({"domain_name": "a\0b"}, ValueError, "domain_name contains a NUL"),
    ],
)
def test_ipsec_settings_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        IPsecSettings(**kwargs)


def test_secret_buffer_is_wiped():
    from wsapeer._wsapeer import ffi, lib

    buf = lib.wsapeer_secret_alloc(64)
    view = ffi.cast("uint8_t *", buf)
    for i in range(64):
        view[i] = 0xAB
    lib.wsapeer_secret_wipe(buf)
    assert bytes(ffi.buffer(buf, 64)) == b"\0" * 64
    lib.wsapeer_secret_free(buf)


def test_flags_keep_unknown_bits():
    assert int(SecurityInfoFlags(0x80000003)) == 0x80000003
    assert SecurityInfoFlags(0x80000003) & SecurityInfoFlags.SECURED


# ---- set_socket_security through the model ----------------------------------


@pytest.mark.needs_model
def test_security_once_per_socket_and_before_connect(model):
    with socket.socket() as s:
        wsapeer.set_socket_security(s)
        assert winerror(lambda: wsapeer.set_socket_security(s)) == 10022
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname()) as c:
            assert winerror(lambda: wsapeer.set_socket_security(c)) == 10056
        with socket.socket() as bound:
            bound.bind(("127.0.0.1", 0))
            assert winerror(lambda: wsapeer.set_socket_security(bound)) == 10022


@pytest.mark.needs_model
def test_security_records_exact_bytes_and_order(model):
    settings = IPsecSettings(user_name="svc", password=SECRET)
    with socket.socket() as s:
        settings.apply(s)
        wsapeer.set_peer_target_name(s, "host/server.example.com")
        assert model.calls(s) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
        [raw] = sdk.sent(model, s, SET_SECURITY)
        assert sdk.decode_security_settings(raw) == sdk.Settings(
            protocol=1, flags=0, user_name="svc", password=SECRET
        )
        [raw] = sdk.sent(model, s, SET_NAME)
        assert sdk.decode_peer_target_name(raw) == ("host/server.example.com", None, 0)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
        wsapeer.set_peer_target_name(u, "host/peer", ("2001:db8::1", 500))
        wsapeer.set_socket_security(u)
        # Undocumented order: the model accepts it and the record shows it.
        assert model.calls(u) == ["WSASetSocketPeerTargetName", "WSASetSocketSecurity"]
        [raw] = sdk.sent(model, u, SET_NAME)
        assert sdk.decode_peer_target_name(raw) == ("host/peer", ("2001:db8::1", 500, 0, 0), 0)
        [raw] = sdk.sent(model, u, SET_SECURITY)
        assert sdk.decode_security_settings(raw) == sdk.Settings(protocol=0, flags=0)


@pytest.mark.needs_model
def test_security_rejects_non_inet_and_bad_types(model):
    if hasattr(socket, "AF_UNIX"):  # Windows CPython's socketpair() is TCP, not AF_UNIX
        a, b = socket.socketpair(socket.AF_UNIX)
        with a, b:
            assert winerror(lambda: wsapeer.set_socket_security(a)) == 10022
            assert winerror(lambda: wsapeer.set_socket_security(a.fileno())) == 10022
    with pytest.raises(TypeError, match="settings must be"):
        wsapeer.set_socket_security(socket.socket(), settings=b"\0" * 8)


@pytest.mark.needs_model
def test_fd_reuse_is_a_new_socket(model):
    s = socket.socket()
    fd = s.fileno()
    wsapeer.set_socket_security(s)
    s.close()
    t = socket.socket()
    try:
        assert t.fileno() == fd  # the kernel handed the number out again
        wsapeer.set_socket_security(t)  # a new socket: not "a second call"
    finally:
        t.close()


# ---- delete -----------------------------------------------------------------


@pytest.mark.needs_model
def test_delete(model):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        for port in (500, 501):
            wsapeer.set_peer_target_name(u, f"host/p{port}", ("192.0.2.1", port))
        wsapeer.delete_peer_target_name(u, ("192.0.2.1", 500))
        names = [sdk.decode_peer_target_name(raw) for raw in sdk.sent(model, u, SET_NAME)]
        assert names == [("host/p501", ("192.0.2.1", 501), 0)]
        assert [t.target_name for t in model.peer_target_names(u)] == ["host/p501"]
        assert model.calls(u)[-1] == DELETE_NAME
        [raw] = sdk.sent(model, u, DELETE_NAME)
        assert sdk.decode_sockaddr(raw) == ("192.0.2.1", 500)  # a SOCKADDR_IN, nothing more
        before = model.records
        assert winerror(lambda: wsapeer.delete_peer_target_name(u, ("192.0.2.1", 500))) == 10022
        assert model.records == before
        with pytest.raises(ValueError, match="needs the peer address"):
            wsapeer.delete_peer_target_name(u, None)
        with pytest.raises(ValueError, match="IPv6 address but the socket is IPv4"):
            wsapeer.delete_peer_target_name(u, ("2001:db8::1", 500))


# ---- query and tokens -------------------------------------------------------


@pytest.mark.needs_model
def test_query_unsecured_reports_nothing(model):
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as c,
    ):
        model.pretend_peer(SecurityInfoFlags.SECURED | SecurityInfoFlags.ENCRYPTED)
        info = wsapeer.query_socket_security(c, access_mask=0x8)
        assert info.flags == SecurityInfoFlags.NONE and not info.secured
        assert info.peer_application_token is None
        [raw] = sdk.sent(model, c, QUERY)
        assert sdk.decode_query_template(raw) == sdk.QueryTemplate(0, None, access_mask=0x8)


@pytest.mark.needs_model
def test_query_secured_with_ipsec2_fields(model, secured_pair):
    client, conn = secured_pair
    context = uuid.uuid4()
    model.pretend_peer(
        SecurityInfoFlags.SECURED | SecurityInfoFlags.ENCRYPTED,
        tokens=True, mm_sa_id=7, qm_sa_id=8, negotiation_winerror=13801,
        sa_lookup_context=context,
    )  # fmt: skip
    with wsapeer.query_socket_security(conn, access_mask=0x8, ipsec2=True) as info:
        assert info.secured and info.flags == 3
        assert info.protocol is SecurityProtocol.IPSEC2
        assert (info.mm_sa_id, info.qm_sa_id, info.negotiation_winerror) == (7, 8, 13801)
        assert info.sa_lookup_context == context
        assert info.peer_application_token and info.peer_machine_token
    [raw] = sdk.sent(model, conn, QUERY)
    assert sdk.decode_query_template(raw) == sdk.QueryTemplate(
        protocol=2, peer=None, access_mask=0x8, ipsec2=True, flags=0, field_mask=0x3
    )
    info = wsapeer.query_socket_security(client)  # no template: default info
    assert info.secured and info.mm_sa_id is None and info.peer_machine_token is None
    assert sdk.sent(model, client, QUERY) == [b""]  # TCP may pass no template at all


@pytest.mark.needs_model
def test_udp_query_needs_the_peer(model):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        assert winerror(lambda: wsapeer.query_socket_security(u)) == 10040
        assert winerror(lambda: wsapeer.query_socket_security(u.fileno())) == 10040
        assert not wsapeer.query_socket_security(u, ("192.0.2.1", 500)).secured
        [raw] = sdk.sent(model, u, QUERY)
        assert sdk.decode_query_template(raw) == (0, ("192.0.2.1", 500), 0, False, 0, 0)


def _tokens(model, conn):
    info = wsapeer.query_socket_security(conn, access_mask=0x8)
    handles = (info.peer_application_token, info.peer_machine_token)
    assert all(handles) and all(model.token_closes(h) == 0 for h in handles)
    return info, handles


def _drop_by_close(info):
    info.close()


def _drop_by_with(info):
    with info:
        pass


def _drop_by_gc(info):
    del info
    gc.collect()


def _drop_by_close_twice(info):
    info.close()
    info.close()


def _drop_by_with_then_gc(info):
    with info:
        pass
    del info
    gc.collect()


def _drop_by_exception_in_with(info):
    with pytest.raises(KeyError), info:
        raise KeyError("boom")


def _drop_by_close_from_threads(info):
    threads = [threading.Thread(target=info.close) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize(
    "drop",
    [_drop_by_close, _drop_by_with, _drop_by_gc, _drop_by_close_twice, _drop_by_with_then_gc,
     _drop_by_exception_in_with, _drop_by_close_from_threads],
)  # fmt: skip
@pytest.mark.needs_model
def test_token_closed_exactly_once(model, secured_pair, drop):
    _, conn = secured_pair
    model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
    info, handles = _tokens(model, conn)
    drop(info)
    del info
    gc.collect()
    assert [model.token_closes(h) for h in handles] == [1, 1]
    assert model.open_tokens() == 0


@pytest.mark.needs_model
def test_closed_info_refuses_token_access(model, secured_pair):
    _, conn = secured_pair
    model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
    info, _ = _tokens(model, conn)
    info.close()
    assert info.closed
    with pytest.raises(ValueError, match="closed"):
        info.peer_application_token  # noqa: B018
    assert info.secured  # the flags stay readable


@pytest.mark.needs_model
def test_tokens_outlive_the_block():
    with contract_model() as model:
        listener = socket.socket()
        wsapeer.set_socket_security(listener)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()), listener:
            conn, _ = listener.accept()
            model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
            info = wsapeer.query_socket_security(conn, access_mask=0x8)
            conn.close()
        handle = info.peer_application_token
    assert model.token_closes(handle) == 0  # still open after the block
    info.close()
    assert model.token_closes(handle) == 1


# ---- impersonation ----------------------------------------------------------


@pytest.mark.needs_model
def test_impersonation_context_manager(model, secured_pair):
    _, conn = secured_pair
    assert model.impersonating() is None
    with wsapeer.impersonate_peer(conn):
        assert model.impersonating() == conn.fileno()
    assert model.impersonating() is None
    assert model.calls(conn)[-1] == "WSAImpersonateSocketPeer"
    assert model.calls()[-1] == "WSARevertImpersonation"


@pytest.mark.needs_model
def test_impersonation_reverts_on_exception(model, secured_pair):
    _, conn = secured_pair
    with pytest.raises(RuntimeError, match="inside"), wsapeer.impersonate_peer(conn):
        raise RuntimeError("inside")
    assert model.impersonating() is None


@pytest.mark.needs_model
def test_impersonation_does_not_nest(model, secured_pair):
    client, conn = secured_pair
    with wsapeer.impersonate_peer(conn):
        with pytest.raises(RuntimeError, match="does not nest"), wsapeer.impersonate_peer(client):
            pass
        assert model.impersonating() == conn.fileno()  # the outer one is untouched
    assert model.impersonating() is None


@pytest.mark.needs_model
def test_impersonation_is_per_thread(model, secured_pair):
    client, conn = secured_pair
    seen = {}
    entered = threading.Event()
    release = threading.Event()

    def other():
        with wsapeer.impersonate_peer(client):
            seen["other"] = model.impersonating()
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with wsapeer.impersonate_peer(conn):
        thread.start()
        entered.wait(5)
        seen["main"] = model.impersonating()
        release.set()
        thread.join()
    assert seen == {"other": client.fileno(), "main": conn.fileno()}
    threads = {r.thread for r in model.records if r.function == "WSAImpersonateSocketPeer"}
    assert threads == {threading.get_ident(), thread.ident}


@pytest.mark.needs_model
def test_udp_impersonation_needs_the_peer(model):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        assert winerror(lambda: wsapeer.impersonate_socket_peer(u)) == 10014
        assert winerror(lambda: wsapeer.impersonate_socket_peer(u.fileno())) == 10014
        with wsapeer.impersonate_peer(u, ("192.0.2.1", 500)):
            assert model.impersonating() == u.fileno()
        [raw] = sdk.sent(model, u, IMPERSONATE)
        assert sdk.decode_sockaddr(raw) == ("192.0.2.1", 500)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u6:
        wsapeer.impersonate_socket_peer(u6, ("2001:db8::5", 4500, 0, 9))
        wsapeer.revert_impersonation()
        [raw] = sdk.sent(model, u6, IMPERSONATE)
        assert sdk.decode_sockaddr(raw) == ("2001:db8::5", 4500, 0, 9)


@pytest.mark.needs_model
def test_revert_without_impersonation_is_fine(model):
    wsapeer.revert_impersonation()
    assert model.calls() == ["WSARevertImpersonation"]


@pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
def test_family_unsupported_outside_the_model():
    with socket.socket() as s:
        for call in (
            lambda: wsapeer.set_socket_security(s),
            lambda: wsapeer.query_socket_security(s),
            lambda: wsapeer.impersonate_socket_peer(s),
            wsapeer.revert_impersonation,
        ):
            with pytest.raises(wsapeer.UnsupportedPlatformError):
                call()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u,
        pytest.raises(wsapeer.UnsupportedPlatformError),
    ):
        wsapeer.delete_peer_target_name(u, ("192.0.2.1", 500))


@pytest.mark.needs_model
def test_secure_client_secures_first(model):
    with socket.socket() as s:
        wsapeer.secure_client(s, "host/server.example.com")
        assert model.calls(s) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
        [raw] = sdk.sent(model, s, SET_NAME)
        assert sdk.decode_peer_target_name(raw) == ("host/server.example.com", None, 0)
        [raw] = sdk.sent(model, s, SET_SECURITY)
        assert sdk.decode_security_settings(raw) == sdk.Settings(protocol=0, flags=0)
        assert model.peer_target_names(s) == [wsapeer.PeerTargetName("host/server.example.com")]
    with socket.socket() as s:
        with pytest.raises(ValueError, match="must not be empty"):
            wsapeer.secure_client(s, "")
        assert model.calls(s) == []  # nothing half done


@pytest.mark.needs_model
def test_a_refused_revert_leaves_the_thread_counted_as_impersonating(monkeypatch):
    """If WSARevertImpersonation fails, the thread may still run as the peer:
    impersonate_peer must not start another block on it (it counted the
    thread as reverted before the call, whatever Windows said)."""
    from wsapeer import _impersonation

    real = _impersonation.lib

    class Refusing:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def wsapeer_revert_impersonation():
            return 10022  # WSAEINVAL: refused

    with contract_model() as model:
        model.pretend_peer(wsapeer.SecurityInfoFlags.SECURED)
        server = wsapeer.create_server(("127.0.0.1", 0))
        client = wsapeer.create_connection(server.getsockname(), "host/x")
        conn, _ = server.accept()
        monkeypatch.setattr(_impersonation, "lib", Refusing())
        with pytest.raises(wsapeer.WinsockError), wsapeer.impersonate_peer(conn):
            pass
        with (
            pytest.raises(RuntimeError, match="already impersonating"),
            wsapeer.impersonate_peer(conn),
        ):
            pass
        monkeypatch.setattr(_impersonation, "lib", real)
        wsapeer.revert_impersonation()  # now it succeeds, and the thread is free again
        with wsapeer.impersonate_peer(conn):
            pass
        for s in (conn, client, server):
            s.close()
