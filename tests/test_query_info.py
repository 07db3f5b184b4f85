"""What a query reports: SecurityInfo.secured means SOCKET_INFO_CONNECTION_SECURED
is set, and only that (ENCRYPTED or IMPERSONATED alone, or bits a later Windows
adds, never make a connection "secured"), checked for every combination through
a real query; and the token handles are closed when the caller says so."""

import itertools
import socket

import pytest

import wsapeer
from wsapeer import SecurityInfoFlags
from wsapeer.testing import contract_model

pytestmark = pytest.mark.needs_model

PEER = ("192.0.2.1", 500)
SECURED, ENCRYPTED, IMPERSONATED = 0x1, 0x2, 0x4  # mstcpip.h's SOCKET_INFO_CONNECTION_*
UNKNOWN = 0x80  # a bit no SDK defines today

# One past the largest handle a socket of this platform can have (2**31 - 1
# off Windows, a pointer's range on it: tests/test_validation.py checks it).
BEYOND = wsapeer._socket.MAX_HANDLE + 1


COMBINATIONS = [
    sum(bits)
    for n in range(5)
    for bits in itertools.combinations((SECURED, ENCRYPTED, IMPERSONATED, UNKNOWN), n)
]


@pytest.mark.parametrize("flags", COMBINATIONS, ids=hex)
def test_secured_is_the_secured_bit_alone(flags, udp_socket):
    with contract_model() as model:
        wsapeer.set_socket_security(udp_socket)
        model.pretend_peer(flags)
        with wsapeer.query_socket_security(udp_socket, PEER) as info:
            assert int(info.flags) == flags  # unknown bits are kept, not dropped
            assert info.secured is bool(flags & SECURED)


def test_an_unsecured_socket_reports_no_flag_whatever_the_peer(udp_socket):
    with contract_model() as model:
        model.pretend_peer(SECURED | ENCRYPTED | IMPERSONATED)
        with wsapeer.query_socket_security(udp_socket, PEER) as info:
            assert info.flags == SecurityInfoFlags.NONE and info.secured is False


@pytest.mark.parametrize("flags", [f for f in COMBINATIONS if not f & SECURED], ids=hex)
@pytest.mark.parametrize("secure_it", [True, False], ids=["secured socket", "never secured"])
def test_no_tokens_nor_sa_fields_for_a_connection_that_is_not_secured(flags, secure_it):
    """SOCKET_SECURITY_QUERY_INFO: without SOCKET_INFO_CONNECTION_SECURED "the
    traffic is flowing in the clear": there is no peer to hand tokens of and no
    SA, whatever the test pretended (tokens, SA ids, a lookup context). Only
    the negotiation's error code may say why, on a socket security was set on."""
    import uuid

    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        if secure_it:
            wsapeer.set_socket_security(u)
        model.pretend_peer(
            flags, tokens=True, mm_sa_id=7, qm_sa_id=9, negotiation_winerror=13801,
            sa_lookup_context=uuid.UUID(int=0xFEED),
        )  # fmt: skip
        for ipsec2 in (False, True):
            with wsapeer.query_socket_security(u, PEER, access_mask=0x8, ipsec2=ipsec2) as info:
                assert not info.secured
                assert info.peer_application_token is None and info.peer_machine_token is None
                if ipsec2:
                    assert (info.mm_sa_id, info.qm_sa_id) == (0, 0)
                    assert info.sa_lookup_context == uuid.UUID(int=0)
                    assert info.negotiation_winerror == (13801 if secure_it else 0)
        assert model.open_tokens() == 0


def test_close_closes_the_tokens_at_once(udp_socket):
    with contract_model() as model:
        wsapeer.set_socket_security(udp_socket)
        model.pretend_peer(SECURED, tokens=True)
        info = wsapeer.query_socket_security(udp_socket, PEER, access_mask=0x8)
        handles = (info.peer_application_token, info.peer_machine_token)
        assert all(handles) and [model.token_closes(h) for h in handles] == [0, 0]
        info.close()  # info stays referenced: nothing may wait for the collector
        assert [model.token_closes(h) for h in handles] == [1, 1]
        info.close()
        assert [model.token_closes(h) for h in handles] == [1, 1]
        assert info.closed and model.open_tokens() == 0
        with pytest.raises(ValueError, match="closed"):
            info.peer_application_token  # noqa: B018


def test_a_token_closed_twice_is_an_error_and_close_raises_it(udp_socket):
    """CloseHandle of a handle closed already fails with ERROR_INVALID_HANDLE
    (6); the model's tokens do the same. SecurityInfo.close() never ignores
    that: it closes every token it holds, then raises the failure."""
    from wsapeer._wsapeer import lib

    with contract_model() as model:
        wsapeer.set_socket_security(udp_socket)
        model.pretend_peer(SECURED, tokens=True)
        info = wsapeer.query_socket_security(udp_socket, PEER, access_mask=0x8)
        app, machine = info.peer_application_token, info.peer_machine_token
        assert lib.wsapeer_close_token(app) == 0  # closed behind the SecurityInfo's back
        assert lib.wsapeer_close_token(app) == 6  # ERROR_INVALID_HANDLE: the model's own answer
        with pytest.raises(wsapeer.WinsockError) as raised:
            info.close()
        assert raised.value.winerror == 6
        assert info.closed and model.token_closes(machine) == 1  # the other one closed all the same
        info.close()  # closed: nothing more to do, nothing raised
        assert model.token_closes(app) == 3 and model.open_tokens() == 0


def test_a_failed_token_close_at_collection_is_reported(udp_socket, monkeypatch):
    """A SecurityInfo nobody closed closes its tokens when it is collected;
    a failure there cannot be raised to anyone, so it goes to
    sys.unraisablehook like any other error in a finalizer, never dropped."""
    import gc
    import sys

    from wsapeer._wsapeer import lib

    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    with contract_model() as model:
        wsapeer.set_socket_security(udp_socket)
        model.pretend_peer(SECURED, tokens=True)
        info = wsapeer.query_socket_security(udp_socket, PEER, access_mask=0x8)
        machine = info.peer_machine_token
        assert lib.wsapeer_close_token(machine) == 0
        del info
        gc.collect()
        assert [type(u.exc_value) for u in seen] == [wsapeer.WinsockError]
        assert seen[0].exc_value.winerror == 6 and model.open_tokens() == 0


def test_tokens_taken_from_an_operation_are_the_callers_alone(udp_socket):
    """Once result() handed the tokens to a SecurityInfo, releasing the
    operation leaves them open, and the SecurityInfo closes each exactly once."""
    import gc

    with contract_model() as model:
        wsapeer.set_socket_security(udp_socket)
        model.pretend_peer(SECURED, tokens=True)
        operation = wsapeer.query_socket_security_async(udp_socket, PEER, access_mask=0x8)
        info = operation.result()
        handles = (info.peer_application_token, info.peer_machine_token)
        del operation
        gc.collect()
        assert [model.token_closes(h) for h in handles] == [0, 0]
        info.close()
        assert [model.token_closes(h) for h in handles] == [1, 1]


def test_model_refuses_a_buffer_shorter_than_the_header_whatever_it_declares(udp_socket):
    """A 143-byte SOCKET_PEER_TARGET_NAME declaring an empty name is still short."""
    from wsapeer._wsapeer import ffi, lib

    with contract_model() as model:
        buffer = ffi.new("uint8_t[]", 143)
        buffer[8], buffer[10], buffer[11] = 2, 1, 244  # AF_INET, port 500: a UDP peer
        status = lib.wsapeer_set_peer_target_name(udp_socket.fileno(), buffer, 143)
        assert status == 10040 and model.records == []  # WSAEMSGSIZE, nothing accepted


@pytest.fixture
def udp_socket():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        yield s


def test_model_refuses_a_declared_length_that_would_wrap_on_32_bit(udp_socket):
    """0x80000001 code units is 2 bytes once doubled in a 32-bit size_t: a
    146-byte buffer must still be too short for it (only i686 could show the
    wrap; the check is done in 64 bits on every platform)."""
    from wsapeer._wsapeer import ffi, lib

    with contract_model() as model:
        buffer = ffi.new("uint8_t[]", 146)
        buffer[8], buffer[10], buffer[11] = 2, 1, 244  # AF_INET, port 500
        buffer[136], buffer[139] = 0x01, 0x80  # PeerTargetNameStringLen 0x80000001
        assert lib.wsapeer_set_peer_target_name(udp_socket.fileno(), buffer, 146) == 10040
        assert model.records == []


def test_records_read_while_calls_replace_them():
    """Reading the records while another thread replaces them (a longer name
    at the same index) never reads past a buffer: every record read back is
    exactly the structure that was accepted."""
    import threading

    import sdk_layout as sdk

    stop = threading.Event()
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:

        def writer():
            length = 1
            while not stop.is_set():
                length = length % 400 + 1
                wsapeer.set_peer_target_name(u, "h" * length, ("192.0.2.1", 7))
                wsapeer.set_peer_target_name(u, "x", ("192.0.2.1", 8))

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            for _ in range(300):
                for record in model.records:
                    name, _peer, protocol = sdk.decode_peer_target_name(record.data)
                    assert set(name) <= {"h", "x"} and protocol == 0
        finally:
            stop.set()
            thread.join()


def test_model_lookups_refuse_handles_as_the_calls_do():
    with contract_model() as model:
        for lookup in (model.calls, model.peer_target_names):
            with pytest.raises(ValueError, match="does not fit this platform's sockets"):
                lookup(BEYOND)
        with pytest.raises(ValueError, match="does not fit this platform's sockets"):
            wsapeer.set_peer_target_name(BEYOND, "host/x")
