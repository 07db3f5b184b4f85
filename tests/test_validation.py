"""Bad input: a clear exception before any C code runs, nothing crashes."""

import ipaddress
import socket
import struct
import sys

import pytest
from builds import OUTSIDE_THE_MODEL

import wsapeer
from wsapeer import PeerTargetName, SecurityProtocol, WinsockError
from wsapeer.testing import contract_model


@pytest.fixture
def tcp():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        yield s


@pytest.fixture
def udp6():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        yield s


@pytest.mark.parametrize(
    "name, match",
    [
        ("", "must not be empty"),
        ("host/a\0b", "NUL character at index 6"),
        ("host/\ud800x", "lone surrogate at index 5"),
        ("host/x\udfff", "lone surrogate at index 6"),
        ("x" * 32768, "32768 UTF-16 code units"),
        ("\U0001f600" * 16384, "32768 UTF-16 code units"),  # surrogate pairs count twice
    ],
)
def test_bad_names(name, match):
    with pytest.raises(ValueError, match=match):
        PeerTargetName(name)


def test_longest_names_accepted():
    assert PeerTargetName("x" * 32767).size == 144 + 2 * 32767
    assert PeerTargetName("x" + "\U0001f600" * 16383).size == 144 + 2 * 32767


@pytest.mark.parametrize("name", [b"host/x", None, 5, ["host/x"]])
def test_name_must_be_str(name):
    with pytest.raises(TypeError, match="target_name must be a str"):
        PeerTargetName(name)


@pytest.mark.parametrize(
    "peer, exc, match",
    [
        (("192.0.2.1", 65536), ValueError, r"port must be in 0\.\.65535, got 65536"),
        (("192.0.2.1", -1), ValueError, "port must be in"),
        (("192.0.2.1", "500"), TypeError, "port must be an int"),
        (("192.0.2.1", True), TypeError, "port must be an int, not bool"),
        (("192.0.2.1", 500.0), TypeError, "port must be an int"),
        (("2001:db8::1", 500, 1 << 20), ValueError, r"flowinfo must be in 0\.\.1048575"),
        (("2001:db8::1", 500, -1), ValueError, "flowinfo must be in"),
        (("2001:db8::1", 500, 0, 1 << 32), ValueError, "scope_id must be in"),
        (("2001:db8::1", 500, 0, -1), ValueError, "scope_id must be in"),
        (("2001:db8::1", 500, 0, "1"), TypeError, "scope_id must be an int"),
        (("192.0.2.1", 500, 0), ValueError, "flowinfo and scope_id belong to IPv6"),
        (("server.example.com", 500), ValueError, "not a numeric IPv4 or IPv6 address.*no DNS"),
        (("localhost", 500), ValueError, "no DNS"),
        (("192.0.2.256", 500), ValueError, "not a numeric"),
        (("192.0.2.1/32", 500), ValueError, "not a numeric"),
        (("", 500), ValueError, "not a numeric"),
        (("fe80::1%eth0", 500), ValueError, "not a numeric scope id"),
        (("fe80::1%3", 500, 0, 4), ValueError, "contradicts the tuple's scope_id 4"),
        ((b"192.0.2.1", 500), TypeError, "host must be a str or an ipaddress"),
        ((3221225985, 500), TypeError, "host must be a str or an ipaddress"),
        (("192.0.2.1",), ValueError, "tuple of 1 items"),
        (("2001:db8::1", 1, 2, 3, 4), ValueError, "tuple of 5 items"),
        (["192.0.2.1", 500], TypeError, "peer must be None or a tuple"),
        ("192.0.2.1:500", TypeError, "peer must be None or a tuple"),
    ],
)
def test_bad_peers(peer, exc, match):
    with pytest.raises(exc, match=match):
        PeerTargetName("host/x", peer)


def test_peer_normalization():
    assert PeerTargetName("h", ("2001:0db8:0::1", 1)).peer == ("2001:db8::1", 1, 0, 0)
    assert PeerTargetName("h", (ipaddress.ip_address("192.0.2.1"), 9)).peer == ("192.0.2.1", 9)
    assert PeerTargetName("h", ("fe80::1%3", 9)).peer == ("fe80::1", 9, 0, 3)
    assert PeerTargetName("h", ("fe80::1%3", 9, 5, 3)).peer == ("fe80::1", 9, 5, 3)
    assert PeerTargetName("h", ("fe80::1%3", 9)) == PeerTargetName("h", ("fe80::1", 9, 0, 3))


@pytest.mark.parametrize("protocol", [3, -1, 2**32, 99])
def test_unknown_protocol(protocol):
    with pytest.raises(ValueError, match=f"unknown security protocol {protocol}"):
        PeerTargetName("host/x", protocol=protocol)


@pytest.mark.parametrize("protocol", ["IPSEC", 1.0, True, None])
def test_protocol_type(protocol):
    with pytest.raises(TypeError, match="protocol must be a SecurityProtocol"):
        PeerTargetName("host/x", protocol=protocol)


def test_closed_socket():
    s = socket.socket()
    s.close()
    with pytest.raises(ValueError, match="socket is closed"):
        wsapeer.set_peer_target_name(s, "host/x")
    with pytest.raises(ValueError, match="socket is closed"):
        PeerTargetName("host/x").apply(s)


@pytest.mark.parametrize(
    "sock, exc",
    [
        (-1, ValueError),
        (-2, ValueError),
        (2**64, ValueError),
        (True, TypeError),
        ("3", TypeError),
        (3.0, TypeError),
        (None, TypeError),
    ],
)
def test_bad_handles(sock, exc):
    with pytest.raises(exc):
        wsapeer.set_peer_target_name(sock, "host/x")


def test_fileno_must_return_int():
    class Weird:
        def fileno(self):
            return "3"

    with pytest.raises(TypeError, match="fileno\\(\\) returned str"):
        wsapeer.set_peer_target_name(Weird(), "host/x")


def test_bad_socket_reported_before_bad_name():
    with pytest.raises(TypeError, match="sock must be"):
        wsapeer.set_peer_target_name(object(), "")


def test_peer_family_must_match_socket(tcp, udp6):
    with pytest.raises(ValueError, match="peer is an IPv6 address but the socket is IPv4"):
        wsapeer.set_peer_target_name(tcp, "host/x", ("2001:db8::1", 500))
    with pytest.raises(ValueError, match=r"IPv4 address but the socket is IPv6.*::ffff:"):
        wsapeer.set_peer_target_name(udp6, "host/x", ("192.0.2.1", 500))


# The conditions Windows documents are Windows' (here: the model's) to report,
# with the same WinsockError whether the call is one-shot or prepared.


@pytest.mark.parametrize("peer", [None, ("::", 0), ("::", 0, 5, 0)])
@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.needs_model
def test_udp_zero_peer_is_wsaeinval(udp6, peer, prepared):
    with contract_model(), pytest.raises(WinsockError) as info:
        if prepared:
            PeerTargetName("host/x", peer).apply(udp6)
        else:
            wsapeer.set_peer_target_name(udp6, "host/x", peer)
    assert info.value.winerror == 10022
    assert "WSAEINVAL" in str(info.value)


@pytest.mark.needs_model(reason=OUTSIDE_THE_MODEL)
def test_udp_zero_address_with_port_is_accepted_by_validation(udp6):
    # Windows documents only address AND port zero as invalid.
    with pytest.raises(wsapeer.UnsupportedPlatformError):
        wsapeer.set_peer_target_name(udp6, "host/x", ("::", 500))


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="AF_UNIX: Windows CPython has none")
@pytest.mark.needs_model
def test_non_inet_socket_is_wsaeinval():
    # The reference page's WSAEINVAL row: a socket not created with AF_INET or
    # AF_INET6 (WSAEAFNOSUPPORT is for a family the structure specifies).
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b, contract_model(), pytest.raises(WinsockError) as info:
        wsapeer.set_peer_target_name(a, "host/x", ("192.0.2.1", 5))
    assert info.value.winerror == 10022


@pytest.mark.needs_model
def test_raw_type_is_wsaeinval():
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except OSError:
        pytest.skip("raw sockets need privileges this run lacks")
    with s, contract_model(), pytest.raises(WinsockError) as info:
        wsapeer.set_peer_target_name(s, "host/x")
    assert info.value.winerror == 10022


def test_protocol_enum_values():
    assert [(p.name, p.value) for p in SecurityProtocol] == [
        ("DEFAULT", 0),
        ("IPSEC", 1),
        ("IPSEC2", 2),
    ]


BEYOND = wsapeer._socket.MAX_HANDLE + 1  # no socket of this platform has it


def first_error(results):
    """apply_many reports an item it could not issue in that item's slot."""
    if results[0] is not None:
        raise results[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda h: wsapeer.set_peer_target_name(h, "host/x", ("192.0.2.1", 5)),
        lambda h: PeerTargetName("host/x", ("192.0.2.1", 5)).apply(h),
        lambda h: PeerTargetName("host/x", ("192.0.2.1", 5)).apply_async(h),
        lambda h: first_error(
            wsapeer.apply_many([(h, PeerTargetName("host/x", ("192.0.2.1", 5)))])
        ),
        lambda h: wsapeer.set_socket_security(h),
        lambda h: wsapeer.set_socket_security_async(h),
        lambda h: wsapeer.delete_peer_target_name(h, ("192.0.2.1", 5)),
        lambda h: wsapeer.query_socket_security(h, ("192.0.2.1", 5)),
        lambda h: wsapeer.query_socket_security_async(h, ("192.0.2.1", 5)),
        lambda h: wsapeer.impersonate_socket_peer(h, ("192.0.2.1", 5)),
    ],
)
@pytest.mark.needs_model
def test_a_handle_no_socket_can_have_is_refused_before_any_call(call):
    """Never truncated into another socket (a SOCKET is 32 bits on 32-bit
    Windows): the same ValueError on every path, and nothing issued."""
    from wsapeer._wsapeer import lib
    from wsapeer.testing import contract_model

    with contract_model() as model:
        live = lib.wsapeer_op_live()
        with pytest.raises(ValueError, match="does not fit this platform's sockets"):
            call(BEYOND)
        assert model.records == [] and lib.wsapeer_op_live() == live


def test_max_handle_is_the_platforms():
    from wsapeer._wsapeer import lib

    pointer_bits = 8 * struct.calcsize("P")
    expected = 2 ** (pointer_bits) - 1 if sys.platform == "win32" else 2**31 - 1
    assert wsapeer._socket.MAX_HANDLE == lib.wsapeer_max_socket() == expected


def test_out_of_memory_is_memoryerror():
    from wsapeer import _errors
    from wsapeer._wsapeer import lib

    with pytest.raises(MemoryError, match="out of memory"):
        _errors.raise_status(lib.WSAPEER_E_NOMEM, "wsapeer_batch")
