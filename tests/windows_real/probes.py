"""The probes of tests/windows_real/test_undocumented.py, importable on any
platform: on Windows they ask the real Fwpuclnt.dll; tests/test_windows_probes.py
runs them here against the contract model (which takes one reading of each open
question), so that the probes and their verdicts are tested before the one run
that matters.

The unit of PeerTargetNameStringLen: the page says bytes; Microsoft's sample
writes wcslen (UTF-16 code units), as wsapeer does for DEFAULT and IPSEC
(bytes for IPSEC2, as NtApiDotNet). If Windows read the other unit, every name
would be cut in half at negotiation time, silently. The call itself can tell
only if Windows checks the buffer against the length it declares, so the
probes hand it buffers that each reading judges differently.
"""

import socket
import struct

import wsapeer
from wsapeer import (
    IPsecSettings,
    PeerTargetName,
    SecurityProtocol,
    SecuritySettings,
    SecuritySettingsFlags,
)
from wsapeer._query import _query_args
from wsapeer._target import _delete_args, _layout
from wsapeer._wsapeer import ffi, lib

INSECURE = SecuritySettings(flags=SecuritySettingsFlags.ALLOW_INSECURE)
WSAEFAULT, WSAEMSGSIZE = 10014, 10040

NAME = "host/" + "u" * 35  # 40 UTF-16 code units, 80 bytes
UNITS = len(NAME)

#: wsapeer's convention for each protocol: bytes per unit of the length field.
WSAPEER_UNIT = {
    SecurityProtocol.DEFAULT: 2,
    SecurityProtocol.IPSEC: 2,
    SecurityProtocol.IPSEC2: 1,
}


def _offsets():
    fields = {name: offset for name, offset, _ in _layout(lib.WSAPEER_PEER_IPV4)}
    sizeof = lib.wsapeer_ptn_size(1) - 2  # 144 + 2 per unit, from C
    return fields["PeerTargetNameStringLen"], fields["AllStrings"], sizeof


LENGTH_AT, STRINGS_AT, SIZEOF = _offsets()


def probes():
    """(length field, buffer length) for each probe, keyed by what it is.
    Every buffer holds the whole name (or as much as fits) and zeros after."""
    b = 2 * UNITS  # the name's bytes
    return {
        "field=units, buffer=AllStrings+units (short for a unit reading)": (
            UNITS,
            STRINGS_AT + UNITS,
        ),
        "field=units, buffer=sizeof+units": (UNITS, SIZEOF + UNITS),
        "field=units, buffer=AllStrings+bytes": (UNITS, STRINGS_AT + b),
        "field=units, buffer=sizeof+bytes (wsapeer's DEFAULT/IPSEC)": (UNITS, SIZEOF + b),
        "field=bytes, buffer=AllStrings+bytes (short for a unit reading)": (b, STRINGS_AT + b),
        "field=bytes, buffer=sizeof+bytes (wsapeer's IPSEC2)": (b, SIZEOF + b),
        "field=bytes+6, buffer=sizeof+bytes (long for every reading)": (b + 6, SIZEOF + b),
    }  # fmt: skip


#: How Windows might check the buffer: the unit of the field (bytes per unit)
#: and where the strings start (AllStrings, or sizeof), or not at all.
HYPOTHESES = {
    f"{unit_name} counted from {base_name}": (unit, base)
    for unit_name, unit in (("units", 2), ("bytes", 1))
    for base_name, base in (("AllStrings", STRINGS_AT), ("sizeof", SIZEOF))
}


def consistent(outcomes):
    """The hypotheses whose predictions match every accepted/refused outcome,
    "not checked at the call" if every probe was accepted."""
    if all(status == 0 for status in outcomes.values()):
        return ["not checked at the call"]
    table = probes()
    return [
        name
        for name, (unit, base) in HYPOTHESES.items()
        if all(
            (status == 0) == (length >= base + field * unit)
            for what, status in outcomes.items()
            for field, length in [table[what]]
        )
    ]


def verdict(protocol, outcomes, own_status):
    """None if wsapeer's convention stands, else why not."""
    if own_status != 0:
        return f"Windows refused wsapeer's own buffer: {own_status}"
    readings = consistent(outcomes)
    if not readings:
        return f"no hypothesis explains the outcomes {outcomes}: read them"
    if readings == ["not checked at the call"]:
        return None
    ours = "units" if WSAPEER_UNIT[protocol] == 2 else "bytes"
    if not any(r.startswith(ours) for r in readings):
        return f"Windows validates the length as {readings}, wsapeer writes {ours}"
    return None


def crafted(protocol, peer, field, length):
    data = bytearray(bytes(PeerTargetName(NAME, peer, protocol)))
    struct.pack_into("<I", data, LENGTH_AT, field)
    data = data[: STRINGS_AT + 2 * UNITS]
    data += bytes(max(0, length - len(data)))
    return bytes(data[:length])


def security_for(protocol):
    """Settings of the name's protocol (IPsecSettings for IPSEC and IPSEC2),
    so that a probe's answer is about the buffer, not about a protocol the
    socket was not secured with; DEFAULT settings if Windows refuses those
    without policy keys. Returns (settings, what was used)."""
    if protocol == SecurityProtocol.DEFAULT:
        return INSECURE, "SecuritySettings(ALLOW_INSECURE)"
    settings = IPsecSettings(protocol=protocol, flags=SecuritySettingsFlags.ALLOW_INSECURE)
    with socket.socket() as trial:
        try:
            settings.apply(trial)
        except wsapeer.WinsockError as exc:
            return (
                INSECURE,
                f"SecuritySettings(ALLOW_INSECURE): IPsecSettings refused ({exc.winerror})",
            )
    return settings, f"IPsecSettings({protocol.name}, ALLOW_INSECURE)"


def length_probes(kind, protocol):
    """Runs every probe on fresh TCP sockets or distinct UDP peers: (status per
    probe, status of wsapeer's own buffer, the socket settings used), 0
    meaning accepted."""
    settings, used = security_for(protocol)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        settings.apply(udp)

        def send(port, build):
            """The buffer build(peer) makes, on a fresh secured TCP socket, or
            for the UDP peer at port: its status."""
            peer = ("127.0.0.1", port) if kind == "udp" else None
            raw = build(peer)
            if kind == "udp":
                return lib.wsapeer_set_peer_target_name(udp.fileno(), raw, len(raw))
            with socket.socket() as tcp:
                settings.apply(tcp)
                return lib.wsapeer_set_peer_target_name(tcp.fileno(), raw, len(raw))

        outcomes = {
            what: send(port, lambda peer, f=field, n=length: crafted(protocol, peer, f, n))
            for port, (what, (field, length)) in enumerate(probes().items(), 6001)
        }
        own_status = send(7000, lambda peer: bytes(PeerTargetName(NAME, peer, protocol)))
    return outcomes, own_status, used


def query_size_probe(sock, peer, access_mask, ipsec2):
    """{buffer size: (status, length written back)} for an answer buffer of
    none, one byte short, and the full size of the template's answer."""
    full = lib.WSAPEER_QUERY_INFO_IPSEC2_SIZE if ipsec2 else lib.WSAPEER_QUERY_INFO_SIZE
    handle, tmpl, size = _query_args(sock, peer, access_mask, ipsec2)
    seen = {}
    for cap in (0, full - 1, full):
        out = ffi.new("uint32_t *")
        seen[cap] = (lib.wsapeer_query_size_probe(handle, tmpl, size, cap, out), out[0])
    return seen


#: The queries wsapeer makes of a UDP socket for peer=None: (access_mask, ipsec2).
UDP_WITHOUT_A_PEER = {"no template": (0, False), "access mask": (0x8, False), "ipsec2": (0, True)}


def udp_query_without_a_peer(sock):
    """{what: status} of wsapeer's query of a UDP socket without a peer: no
    template (the page's WSAEMSGSIZE row), and a template whose peer has family
    0 (the contract model answers WSAEAFNOSUPPORT, assumed from the page's
    "must specify an address family of AF_INET or AF_INET6"). 0: accepted."""
    seen = {}
    for what, (access_mask, ipsec2) in UDP_WITHOUT_A_PEER.items():
        try:
            with wsapeer.query_socket_security(sock, None, access_mask, ipsec2):
                seen[what] = 0
        except wsapeer.WinsockError as exc:
            seen[what] = exc.winerror
    return seen


def retry_problem(seen):
    """None if the shim's retry handles every answer seen, else why not: a
    size error must come with a larger length, at most the shim's limit
    (a full-size buffer included: Windows may one day answer with more)."""
    for cap, (status, length) in seen.items():
        if status in (WSAEFAULT, WSAEMSGSIZE) and not cap < length <= 4096:
            return f"size error {status} for {cap} bytes wrote back {length}: the shim gives up"
    return None


def delete_status(sock, peer):
    _, address, size = _delete_args(sock, peer)
    return lib.wsapeer_delete_peer_target_name(sock.fileno(), address, size)
