"""The ways to make one WSASetSocketPeerTargetName call from Python, side by side.

Every contender ends in the same C endpoint, benchmarks/echo.c (a no-op that
copies every byte it is given and counts the calls), so what differs is only
what each does before it gets there. The endpoint exists only in a build made
with WSAPEER_FWPUCLNT=echo (run.py makes one); this module imports in any
build, so that the contenders can be listed and described, but only the echo
build can run them and say what they sent.
"""

from __future__ import annotations

import asyncio
import ctypes
import socket
import struct
from typing import Callable, Dict, List, NamedTuple

import wsapeer
import wsapeer.aio
from wsapeer import PeerTargetName
from wsapeer._wsapeer import ffi, lib

NAME = "host/peer.example.com"
PEER4 = ("192.0.2.1", 500)
PEER6 = ("2001:db8::1", 500)
BATCH = 1000
TCP_SOCKETS = 200  # one target, many sockets: a TCP server's batch
ROTATION = 4096  # more distinct peers than set_peer_target_name keeps


class Contender(NamedTuple):
    key: str
    title: str
    description: str
    run: Callable[[int], None]  # makes n calls; n is a multiple of BATCH
    reference: bytes  # what the last call must have sent


# The echo functions are looked up at call time, never at import: the default
# (model) build has none, and importing this module must still work there.


def echo_calls() -> int:
    """Calls the echo endpoint has answered so far."""
    return int(lib.wsapeer_echo_calls())


def last_sent() -> bytes:
    """The bytes of the last call the echo endpoint answered."""
    size = lib.wsapeer_echo_last(ffi.NULL, 0)
    out = ffi.new("uint8_t[]", size)
    lib.wsapeer_echo_last(out, size)
    return bytes(ffi.buffer(out, size))


# ---- the alternatives a user without wsapeer would write -----------------------


class SOCKADDR_STORAGE(ctypes.Structure):
    _fields_ = [
        ("ss_family", ctypes.c_uint16),
        ("pad1", ctypes.c_char * 6),
        ("align", ctypes.c_int64),
        ("pad2", ctypes.c_char * 112),
    ]


class SOCKADDR_IN(ctypes.Structure):
    _fields_ = [
        ("sin_family", ctypes.c_uint16),
        ("sin_port", ctypes.c_uint16),
        ("sin_addr", ctypes.c_uint8 * 4),
        ("sin_zero", ctypes.c_uint8 * 8),
    ]


class SOCKET_PEER_TARGET_NAME(ctypes.Structure):
    _fields_ = [
        ("SecurityProtocol", ctypes.c_uint32),
        ("PeerAddress", SOCKADDR_STORAGE),
        ("PeerTargetNameStringLen", ctypes.c_uint32),
    ]


def _ctypes_function() -> Callable[..., int]:
    # The same compiled function, reached through ctypes instead of cffi.
    library = ctypes.CDLL(wsapeer._wsapeer.__file__)
    function = library.wsapeer_set_peer_target_name
    function.argtypes = [ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function


def ctypes_set_peer_target_name(call, sock, name, peer, protocol=0):
    """ctypes.Structure, create_string_buffer and byref, as the ctypes docs teach."""
    encoded = name.encode("utf-16-le")
    size = ctypes.sizeof(SOCKET_PEER_TARGET_NAME) + len(encoded)
    buffer = ctypes.create_string_buffer(size)
    target = SOCKET_PEER_TARGET_NAME.from_buffer(buffer)
    target.SecurityProtocol = protocol
    address = SOCKADDR_IN.from_buffer(buffer, SOCKET_PEER_TARGET_NAME.PeerAddress.offset)
    address.sin_family = 2  # Windows' AF_INET
    address.sin_port = socket.htons(peer[1])
    address.sin_addr[:] = socket.inet_pton(socket.AF_INET, peer[0])
    target.PeerTargetNameStringLen = len(encoded) // 2
    ctypes.memmove(ctypes.addressof(buffer) + 140, encoded, len(encoded))
    status = call(sock.fileno(), ctypes.byref(buffer), size)
    if status:
        raise OSError(status, "WSASetSocketPeerTargetName failed")


_HEADER = struct.Struct("<I4xH2s4s120xI")  # protocol, family, port, address, length


def struct_set_peer_target_name(call, sock, name, peer, protocol=0):
    """Pure-Python marshalling with struct.pack, then the cffi call."""
    encoded = name.encode("utf-16-le")
    data = (
        _HEADER.pack(protocol, 2, struct.pack(">H", peer[1]),
                     socket.inet_pton(socket.AF_INET, peer[0]), len(encoded) // 2)
        + encoded + b"\0\0\0\0"
    )  # fmt: skip
    status = call(sock.fileno(), data, len(data))
    if status:
        raise OSError(status, "WSASetSocketPeerTargetName failed")


# ---- the contenders -----------------------------------------------------------


def contenders(sockets: Dict[str, socket.socket]) -> List[Contender]:
    udp4, udp6, tcp = sockets["udp4"], sockets["udp6"], sockets["tcp"]
    many_tcp = [sockets[f"tcp{i}"] for i in range(TCP_SOCKETS)]
    loop = asyncio.new_event_loop()  # one for every round: the loop is not what is timed
    target4 = PeerTargetName(NAME, PEER4)
    target6 = PeerTargetName(NAME, PEER6)
    target_tcp = PeerTargetName(NAME)
    batch = [(udp4, PeerTargetName(f"host/peer{i}.example.com", ("192.0.2.1", i + 1)))
             for i in range(BATCH)]  # fmt: skip
    rotation = [("192.0.2.1", 1 + i) for i in range(ROTATION)]
    cffi_call = lib.wsapeer_set_peer_target_name
    ctypes_call = _ctypes_function()
    set_ptn = wsapeer.set_peer_target_name

    def floor(n: int) -> None:
        call, handle, buffer, size = cffi_call, udp4.fileno(), target4._buffer, target4.size
        for _ in range(n):
            call(handle, buffer, size)

    def apply_udp(n: int) -> None:
        apply = target4.apply
        for _ in range(n):
            apply(udp4)

    def apply_tcp(n: int) -> None:
        apply = target_tcp.apply
        for _ in range(n):
            apply(tcp)

    def apply_handle(n: int) -> None:
        apply, handle = target4.apply, udp4.fileno()
        for _ in range(n):
            apply(handle)

    def one_shot_v4(n: int) -> None:
        for _ in range(n):
            set_ptn(udp4, NAME, PEER4)

    def one_shot_v6(n: int) -> None:
        for _ in range(n):
            set_ptn(udp6, NAME, PEER6)

    def one_shot_v4_new(n: int) -> None:
        peers = rotation
        for i in range(n):
            set_ptn(udp4, NAME, peers[i % ROTATION])

    def apply_many(n: int) -> None:
        many = wsapeer.apply_many
        for _ in range(max(1, n // BATCH)):
            many(batch)

    tcp_batch = [(s, target_tcp) for s in many_tcp]

    def apply_many_tcp(n: int) -> None:
        many = wsapeer.apply_many
        for _ in range(max(1, n // len(tcp_batch))):
            many(tcp_batch)

    def aio_apply(n: int) -> None:
        apply = wsapeer.aio.apply

        async def calls() -> None:
            for _ in range(n):
                await apply(udp4, target4)

        loop.run_until_complete(calls())

    def with_ctypes(n: int) -> None:
        for _ in range(n):
            ctypes_set_peer_target_name(ctypes_call, udp4, NAME, PEER4)

    def with_struct(n: int) -> None:
        for _ in range(n):
            struct_set_peer_target_name(cffi_call, udp4, NAME, PEER4)

    last_rotation = PeerTargetName(NAME, rotation[(ROTATION - 1) % ROTATION])
    return [
        Contender("floor", "floor: bare cffi call",
                  "lib.wsapeer_set_peer_target_name(handle, buffer, size) with a buffer built "
                  "beforehand: the cost of any Python-to-C call", floor, bytes(target4)),
        Contender("apply", "PeerTargetName.apply(udp socket)",
                  "prepared target with an IPv4 peer, applied to a socket.socket", apply_udp,
                  bytes(target4)),
        Contender("apply_tcp", "PeerTargetName.apply(tcp socket)",
                  "prepared target without a peer (TCP), applied to a socket.socket",
                  apply_tcp, bytes(target_tcp)),
        Contender("apply_handle", "PeerTargetName.apply(int handle)",
                  "prepared target with an IPv4 peer, applied to an int handle",
                  apply_handle, bytes(target4)),
        Contender("one_shot_v4", "set_peer_target_name(sock, name, IPv4 peer)",
                  "one-shot call, the same peer each time (a target seen twice is reused)",
                  one_shot_v4, bytes(target4)),
        Contender("one_shot_v4_new", "set_peer_target_name, a new IPv4 peer per call",
                  f"one-shot call cycling through {ROTATION} peers: always marshalled anew",
                  one_shot_v4_new, bytes(last_rotation)),
        Contender("one_shot_v6", "set_peer_target_name(sock, name, IPv6 peer)",
                  "one-shot call with an IPv6 peer, the same each time", one_shot_v6,
                  bytes(target6)),
        Contender("apply_many", f"apply_many, {BATCH} prepared targets (per item)",
                  "one batch call over 1,000 prepared targets on one UDP socket; time per item",
                  apply_many, bytes(batch[-1][1])),
        Contender("apply_many_tcp", f"apply_many, one target on {TCP_SOCKETS} sockets (per item)",
                  f"one batch call applying one prepared TCP target to {TCP_SOCKETS} sockets: "
                  "a TCP server's shape; time per item", apply_many_tcp, bytes(target_tcp)),
        Contender("aio_apply", "await wsapeer.aio.apply(udp socket, target)",
                  "the asyncio call, awaited in a running loop; the call completes at once",
                  aio_apply, bytes(target4)),
        Contender("ctypes", "ctypes one-shot (IPv4 peer)",
                  "ctypes.Structure + create_string_buffer + byref, calling the same C function",
                  with_ctypes, bytes(target4)),
        Contender("struct", "struct.pack one-shot (IPv4 peer)",
                  "pure-Python marshalling with struct.pack, then the cffi call", with_struct,
                  bytes(target4)),
    ]  # fmt: skip


def open_sockets() -> Dict[str, socket.socket]:
    sockets = {
        "udp4": socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        "udp6": socket.socket(socket.AF_INET6, socket.SOCK_DGRAM),
        "tcp": socket.socket(socket.AF_INET, socket.SOCK_STREAM),
    }
    for i in range(TCP_SOCKETS):
        sockets[f"tcp{i}"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    return sockets
