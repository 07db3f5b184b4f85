import subprocess
import sys

import pytest

from wsapeer import PeerTargetName
from wsapeer.__main__ import main


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
    assert "SOCKET_PEER_TARGET_NAME: 186 bytes (header 144 + name 42)" in out
    assert "     0      4  SecurityProtocol               2 (IPSEC2)" in out
    assert "     8      2  PeerAddress.sin6_family        23 (AF_INET6" in out
    assert "    10      2  PeerAddress.sin6_port          500 (network byte order)" in out
    assert "    16     16  PeerAddress.sin6_addr          2001:db8::1" in out
    assert "    32      4  PeerAddress.sin6_scope_id      3" in out
    assert "   136      4  PeerTargetNameStringLen        42 (bytes)" in out
    raw = bytes(PeerTargetName("host/peer.example.com", ("2001:db8::1", 500, 5, 3), 2))
    dump = [line for line in out.splitlines() if line.startswith("000000")]
    assert bytes.fromhex("".join(line[10:58] for line in dump)) == raw


def test_inspect_ipv4_and_none(capsys):
    main(["inspect", "host/x", "--peer", "192.0.2.1:500"])
    out = capsys.readouterr().out
    assert "PeerAddress.sin_addr           192.0.2.1" in out
    assert "6 (UTF-16 code units)" in out
    main(["inspect", "host/x"])
    assert "     8    128  PeerAddress                    all zero" in capsys.readouterr().out


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
        [sys.executable, "-m", "wsapeer", "inspect", "host/x"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("SOCKET_PEER_TARGET_NAME: 156 bytes")
