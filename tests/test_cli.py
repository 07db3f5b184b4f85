"""`python -m wsapeer inspect`, checked against the SDK layout (tests/sdk_layout.py)
and the known-answer vectors, never against wsapeer's own marshaller or parser."""

import re
import subprocess
import sys

import pytest
import sdk_layout as sdk
from conftest import load_vectors

from wsapeer.__main__ import main

A = sdk.PTN_ADDRESS
PROTOCOL_NAMES = {0: "default", 1: "ipsec", 2: "ipsec2"}


def table(out):
    """The field rows as (offset, size, field, value), in printed order."""
    rows = []
    for line in out.split("\n\n")[0].splitlines():  # the hex dump follows a blank line
        match = re.fullmatch(r" *(\d+) +(\d+)  (.{30}) (.*)", line)
        if match:
            offset, size, field, value = match.groups()
            rows.append((int(offset), int(size), field.rstrip(), value))
    return rows


def dump(out):
    """The bytes of the hex dump, with its offsets checked."""
    raw = b""
    for line in out.splitlines():
        if re.match(r"[0-9a-f]{8}  ", line):
            assert int(line[:8], 16) == len(raw)
            raw += bytes.fromhex(line[10:58])
    return raw


def test_inspect_ipv6(capsys):
    assert (
        main(
            [
                "inspect",
                "host/peer.example.com",
                "--peer",
                "[2001:db8::1]:500",
                "--flowinfo",
                "5",
                "--scope-id",
                "3",
                "--protocol",
                "ipsec2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "SOCKET_PEER_TARGET_NAME: 186 bytes (header 144 + name 42)"
    assert sdk.PTN_SIZE == 144
    assert table(out) == [
        (sdk.PTN_PROTOCOL, 4, "SecurityProtocol", "2 (IPSEC2)"),
        (sdk.PTN_PADDING, 4, "(padding)", "all zero"),
        (A + sdk.SA_FAMILY, 2, "PeerAddress.sin6_family", "23 (AF_INET6, Windows' value)"),
        (A + sdk.SA_PORT, 2, "PeerAddress.sin6_port", "500 (network byte order)"),
        (A + sdk.SIN6_FLOWINFO, 4, "PeerAddress.sin6_flowinfo", "0x5 (network byte order)"),
        (A + sdk.SIN6_ADDR, 16, "PeerAddress.sin6_addr", "2001:db8::1"),
        (A + sdk.SIN6_SCOPE_ID, 4, "PeerAddress.sin6_scope_id", "3"),
        (A + sdk.SOCKADDR_IN6_SIZE, 100, "(rest of SOCKADDR_STORAGE)", "all zero"),
        (sdk.PTN_NAME_LEN, 4, "PeerTargetNameStringLen", "42 (bytes)"),
        (sdk.PTN_STRINGS, 42, "AllStrings", "'host/peer.example.com'"),
        (sdk.PTN_STRINGS + 42, 4, "(tail padding)", "all zero"),
    ]
    raw = dump(out)
    assert len(raw) == 186
    assert sdk.decode_peer_target_name(raw) == (
        "host/peer.example.com",
        ("2001:db8::1", 500, 5, 3),
        2,
    )


def test_inspect_ipv4_and_none(capsys):
    main(["inspect", "host/x", "--peer", "192.0.2.1:500"])
    out = capsys.readouterr().out
    assert table(out) == [
        (sdk.PTN_PROTOCOL, 4, "SecurityProtocol", "0 (DEFAULT)"),
        (sdk.PTN_PADDING, 4, "(padding)", "all zero"),
        (A + sdk.SA_FAMILY, 2, "PeerAddress.sin_family", "2 (AF_INET, Windows' value)"),
        (A + sdk.SA_PORT, 2, "PeerAddress.sin_port", "500 (network byte order)"),
        (A + sdk.SIN_ADDR, 4, "PeerAddress.sin_addr", "192.0.2.1"),
        (A + sdk.SIN_ZERO, 8, "PeerAddress.sin_zero", "all zero"),
        (A + sdk.SOCKADDR_IN_SIZE, 112, "(rest of SOCKADDR_STORAGE)", "all zero"),
        (sdk.PTN_NAME_LEN, 4, "PeerTargetNameStringLen", "6 (UTF-16 code units)"),
        (sdk.PTN_STRINGS, 12, "AllStrings", "'host/x'"),
        (sdk.PTN_STRINGS + 12, 4, "(tail padding)", "all zero"),
    ]
    assert sdk.decode_peer_target_name(dump(out)) == ("host/x", ("192.0.2.1", 500), 0)
    main(["inspect", "host/x"])
    out = capsys.readouterr().out
    assert (A, 128, "PeerAddress", "all zero") in table(out)
    assert sdk.decode_peer_target_name(dump(out)) == ("host/x", None, 0)


def _cli_args(vector):
    args = ["inspect", vector["target_name"], "--protocol", PROTOCOL_NAMES[vector["protocol"]]]
    if vector["peer"] is not None:
        host, port, *rest = vector["peer"]
        args += ["--peer", f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
        if rest:
            args += ["--flowinfo", str(rest[0]), "--scope-id", str(rest[1])]
    return args


@pytest.mark.parametrize("vector", load_vectors()["vectors"], ids=lambda v: v["target_name"][:30])
def test_inspect_dumps_the_sdk_vector(capsys, vector):
    """For every known-answer vector, the dump is the SDK's bytes."""
    assert main(_cli_args(vector)) == 0
    out = capsys.readouterr().out
    assert dump(out) == bytes.fromhex(vector["hex"])
    name_bytes = len(vector["target_name"].encode("utf-16-le"))
    assert out.splitlines()[0] == (
        f"SOCKET_PEER_TARGET_NAME: {sdk.PTN_SIZE + name_bytes} bytes "
        f"(header {sdk.PTN_SIZE} + name {name_bytes})"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "host/x", "--peer", "server:500"], "no DNS"),
        (["inspect", "host/x", "--peer", "2001:db8::1:500"], r"\[ADDRESS\]:PORT"),
        (["inspect", "host/x", "--peer", "192.0.2.1:http"], "is not a number"),
        (["inspect", "", "--peer", "192.0.2.1:5"], "must not be empty"),
        (["inspect", "host/x", "--protocol", "tls"], "invalid choice"),
        (["inspect", "host/x", "--scope-id", "3"], "need an IPv6 --peer"),
    ],
)
def test_inspect_errors(capsys, args, message):
    import re

    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert re.search(message, capsys.readouterr().err)


def test_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "wsapeer", "inspect", "host/x", "--peer", "[2001:db8::7]:4500"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("SOCKET_PEER_TARGET_NAME: 156 bytes")
    assert sdk.decode_peer_target_name(dump(out)) == ("host/x", ("2001:db8::7", 4500, 0, 0), 0)
