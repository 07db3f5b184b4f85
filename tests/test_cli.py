"""`python -m wsapeer inspect`, checked against the SDK layout (tests/sdk_layout.py)
and the known-answer vectors, never against wsapeer's own marshaller or parser."""

import io
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
    assert out.splitlines()[0] == (
        "SOCKET_PEER_TARGET_NAME: 186 bytes (sizeof 144 + name 42; the name starts at AllStrings)"
    )
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
        f"(sizeof {sdk.PTN_SIZE} + name {name_bytes}; the name starts at AllStrings)"
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


# ---- --version, --protocol help, subcommand errors ----------------------------------------


def _run(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "wsapeer", *args], input=stdin, capture_output=True, text=True
    )


def test_version():
    import wsapeer

    done = _run("--version")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == f"wsapeer {wsapeer.__version__}"
    assert lines[1].startswith(f"Fwpuclnt implementation: {wsapeer.FWPUCLNT} (")


@pytest.mark.parametrize("command", ["inspect", "inspect-settings"])
def test_protocol_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "--protocol {default,ipsec,ipsec2}" in text
    assert "default (DEFAULT, 0: Windows chooses" in text
    assert "ipsec (IPSEC, 1: IPsec)" in text
    assert "ipsec2 (IPSEC2, 2: IPsec with the Windows 7+ extensions)" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["inspect", "host/x", "--peer", "server:500"], "no DNS"),
        (["inspect", "host/x", "--peer", "192.0.2.1:http"], "is not a number"),
        (["inspect", "", "--peer", "192.0.2.1:5"], "target_name must not be empty"),
        (["inspect", "host/x", "--flowinfo", "1"], "need an IPv6 --peer"),
        (["inspect"], "give the target NAME, or --decode HEX"),
        (["inspect", "host/x", "--decode", "00"], "drop NAME"),
        (["inspect", "--decode", "zz"], "--decode: not hexadecimal"),
        (["inspect-settings", "--user", "u"], r"--user: SOCKET_SECURITY_SETTINGS_IPSEC only"),
        (["inspect-settings", "--flags", "bogus"], "'bogus' is not one of guarantee_encryption"),
        (["inspect-settings", "--protocol", "ipsec", "--ipsec-flags", "0x10"], "does not define"),
        (["inspect-settings", "--protocol", "ipsec", "--user", "a\0b"], "NUL character at index 1"),
        (["inspect-settings", "--mm-policy-key", "nope"], "invalid UUID value"),
    ],
)
def test_errors_show_the_subcommands_usage(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    command = args[0]
    assert re.match(rf"usage: \S.* {command} \[-h\]", err)  # its usage, not the top level's
    assert re.search(rf" {command}: error: .*{message}", err)


def test_errors_from_the_console_command():
    done = _run("inspect", "host/x", "--peer", "[2001:db8::1:500")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: python -m wsapeer inspect [-h]")
    assert "python -m wsapeer inspect: error: argument --peer: '[2001:db8::1:500'" in done.stderr


# ---- inspect-settings: the password never shows ---------------------------------------------

PASSWORD = "Zq7-Pässw0rd-Xyzzy"


def _forms(secret):
    """Every way the password could leak into text."""
    forms = {secret, secret.lower(), secret.upper(), repr(secret), ascii(secret)}
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        data = secret.encode(encoding)
        forms |= {data.hex(), data.hex(" "), data.hex().upper(), data.hex(" ").upper()}
        forms |= {data.decode("latin-1"), data.decode("latin-1").replace("\0", ".")}
    return forms


def _leaks(text, secret=PASSWORD):
    squeezed = "".join(text.split()).lower()
    return [f for f in _forms(secret) if f in text or "".join(f.split()).lower() in squeezed]


def test_inspect_settings_redacts_the_password():
    key = "12345678-1234-5678-9abc-def012345678"
    done = _run(
        "inspect-settings", "--protocol", "ipsec2", "--flags", "guarantee_encryption",
        "--ipsec-flags", "skip_filter_instantiation,0x8", "--mm-policy-key", key,
        "--user", "alice", "--domain", "EXAMPLE", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _leaks(done.stdout + done.stderr) == []
    size = len(PASSWORD.encode("utf-16-le"))  # the final newline dropped
    rows = table(done.stdout)
    at = sdk.IPSEC_STRINGS + 10 + 14
    assert (sdk.IPSEC_PASSWORD_LEN, 4, "PasswordStringLen", f"{size} (bytes)") in rows
    assert (at, size, "AllStrings: password", f"REDACTED ({size} bytes)") in rows
    # The offsets C's marshaller gave are the SDK's.
    assert [(offset, field) for offset, _, field, _ in rows] == [
        (sdk.SETTINGS_PROTOCOL, "SecurityProtocol"),
        (sdk.SETTINGS_FLAGS, "SecurityFlags"),
        (sdk.IPSEC_FLAGS, "IpsecFlags"),
        (sdk.IPSEC_MM_POLICY_KEY, "AuthipMMPolicyKey"),
        (sdk.IPSEC_QM_POLICY_KEY, "AuthipQMPolicyKey"),
        (sdk.IPSEC_RESERVED, "Reserved"),
        (sdk.IPSEC_RESERVED + 16, "(padding)"),
        (sdk.IPSEC_RESERVED2, "Reserved2"),
        (sdk.IPSEC_USER_LEN, "UserNameStringLen"),
        (sdk.IPSEC_DOMAIN_LEN, "DomainNameStringLen"),
        (sdk.IPSEC_PASSWORD_LEN, "PasswordStringLen"),
        (sdk.IPSEC_STRINGS, "AllStrings: user name"),
        (sdk.IPSEC_STRINGS + 10, "AllStrings: domain name"),
        (at, "AllStrings: password"),
        (at + size, "(tail padding)"),
    ]
    # The dump: every password byte is **, everything else is the SDK's structure.
    lines = [line for line in done.stdout.splitlines() if re.match(r"[0-9a-f]{8}  ", line)]
    hexes = " ".join(line[10:58] for line in lines).split()
    assert [i for i, h in enumerate(hexes) if h == "**"] == list(range(at, at + size))
    assert "*" * 8 in "".join(lines)  # the text column too
    raw = bytes.fromhex(" ".join("41" if h == "**" else h for h in hexes))
    assert len(raw) == sdk.IPSEC_SIZE + 10 + 14 + size
    decoded = sdk.decode_security_settings(raw)
    assert (decoded.protocol, decoded.flags, decoded.ipsec_flags) == (2, 1, 0x9)
    assert str(decoded.mm_policy_key) == key and decoded.qm_policy_key is None
    assert (decoded.user_name, decoded.domain_name) == ("alice", "EXAMPLE")
    assert decoded.password == "\u4141" * (size // 2)  # what the test put in place of **


def test_inspect_settings_in_process_and_default(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD))
    assert main(["inspect-settings", "--protocol", "ipsec", "--password-stdin"]) == 0
    captured = capsys.readouterr()
    assert _leaks(captured.out + captured.err) == []
    assert captured.out.startswith("SOCKET_SECURITY_SETTINGS_IPSEC: 124 bytes (sizeof 88 + ")
    assert "REDACTED (36 bytes)" in captured.out
    assert main(["inspect-settings", "--flags", "allow-insecure"]) == 0
    out = capsys.readouterr().out
    assert table(out) == [
        (sdk.SETTINGS_PROTOCOL, 4, "SecurityProtocol", "0 (DEFAULT)"),
        (sdk.SETTINGS_FLAGS, 4, "SecurityFlags", "0x2 (ALLOW_INSECURE)"),
    ]
    assert dump(out) == sdk.build_security_settings(sdk.decode_security_settings(dump(out)))
    assert dump(out) == bytes.fromhex("00000000 02000000")


@pytest.mark.parametrize(
    "stdin, message",
    [
        ("", "--password-stdin: stdin held no password"),
        ("\n", "--password-stdin: stdin held no password"),
        (PASSWORD + "\0" + PASSWORD, f"password contains a NUL character at index {len(PASSWORD)}"),
        (PASSWORD + "\ud800", "password contains a lone surrogate"),
    ],
)
def test_inspect_settings_password_errors(capsys, monkeypatch, stdin, message):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with pytest.raises(SystemExit) as info:
        main(["inspect-settings", "--protocol", "ipsec2", "--password-stdin"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("usage: ") and " inspect-settings [-h]" in captured.err
    assert message in captured.err
    assert _leaks(captured.out + captured.err) == []


@pytest.mark.parametrize("given", [["--password", PASSWORD], [f"--password={PASSWORD}"]])
def test_no_password_on_the_command_line(capsys, given):
    with pytest.raises(SystemExit) as info:
        main(["inspect-settings", "--protocol", "ipsec", *given])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "inspect-settings: error: argument --password: never give a password" in err
    assert _leaks(err) == []  # not even echoed back
    with pytest.raises(SystemExit):
        main(["inspect-settings", "--help"])
    assert "--password " not in capsys.readouterr().out


# ---- inspect --decode -------------------------------------------------------------------------


def _decoded(out):
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize("vector", load_vectors()["vectors"], ids=lambda v: v["target_name"][:30])
def test_decode_round_trip(capsys, vector):
    """inspect's own output fed to --decode gives back the same table and object."""
    from wsapeer import PeerTargetName

    assert main(_cli_args(vector)) == 0
    out = capsys.readouterr().out
    assert main(["inspect", "--decode", out]) == 0
    again = capsys.readouterr().out
    assert table(again) == table(out)
    assert dump(again) == dump(out) == bytes.fromhex(vector["hex"])
    peer = None if vector["peer"] is None else tuple(vector["peer"])
    expected = PeerTargetName(vector["target_name"], peer, vector["protocol"])
    assert _decoded(again) == f"decoded: {expected!r}"
    # Plain hex, with spaces and newlines anywhere between bytes.
    text = vector["hex"]
    plain = "\n".join(
        " ".join(text[i : i + 8] for i in range(j, j + 40, 8)) for j in range(0, len(text), 40)
    )
    assert main(["inspect", "--decode", plain]) == 0
    assert table(capsys.readouterr().out) == table(out)


def test_decode_from_stdin():
    out = _run("inspect", "host/x", "--peer", "[2001:db8::1]:500", "--protocol", "ipsec").stdout
    done = _run("inspect", "--decode", "-", stdin=out)
    assert done.returncode == 0, done.stderr
    assert _decoded(done.stdout) == (
        "decoded: PeerTargetName('host/x', peer=('2001:db8::1', 500, 0, 0), "
        "protocol=SecurityProtocol.IPSEC)"
    )


def _corrupt(raw, offset, value):
    data = bytearray(raw)
    data[offset] = value
    return data.hex(" ")


@pytest.mark.parametrize(
    "offset, value, message",
    [
        (sdk.PTN_PROTOCOL, 7, f"SecurityProtocol at offset {sdk.PTN_PROTOCOL} is 7"),
        (sdk.PTN_PADDING, 1, f"byte {sdk.PTN_PADDING}, in (padding) at offset {sdk.PTN_PADDING}"),
        (A + sdk.SA_FAMILY, 9, f"PeerAddress family at offset {A} is 9"),
        (sdk.PTN_NAME_LEN, 9, f"PeerTargetNameStringLen at offset {sdk.PTN_NAME_LEN}"),
        (
            sdk.PTN_STRINGS + 12,
            1,
            f"nonzero (byte {sdk.PTN_STRINGS + 12}, in the tail padding after the name",
        ),
    ],
)
def test_decode_a_corrupted_dump(capsys, offset, value, message):
    raw = sdk.build_peer_target_name("host/x", ("192.0.2.1", 500), 0)
    with pytest.raises(SystemExit) as info:
        main(["inspect", "--decode", _corrupt(raw, offset, value)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ") and " inspect [-h]" in err
    assert "inspect: error: --decode: " in err
    assert message in err


def test_a_reader_that_goes_away_is_not_a_traceback():
    """`python -m wsapeer inspect ... | head -n 1`: head closes the pipe early;
    the command stops quietly, never a traceback: with 141 (128 + SIGPIPE) on
    POSIX, 232 (ERROR_NO_DATA, "the pipe is being closed") on Windows, whose C
    runtime reports that write as EINVAL, not as a broken pipe."""
    code = (
        "import os, sys, runpy\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"  # nobody will ever read
        "os.dup2(w, sys.stdout.fileno())\n"
        "sys.argv = ['wsapeer', 'inspect', 'host/x', '--peer', '192.0.2.1:5']\n"
        "runpy.run_module('wsapeer', run_name='__main__')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == (232 if sys.platform == "win32" else 141), run.stderr
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr


@pytest.mark.parametrize("platform", ["win32", "linux"])
def test_only_a_write_to_stdout_is_taken_for_a_reader_gone(monkeypatch, platform):
    """Windows' C runtime reports the write to a closed pipe as EINVAL: that
    write, and only on Windows, is the reader gone; any other EINVAL (a
    WinsockError's errno, say) stays an error."""
    import errno

    from wsapeer import __main__ as cli

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(cli.sys, "platform", platform)
    monkeypatch.setattr(cli.sys, "stdout", ClosedPipe())
    if platform == "win32":
        with pytest.raises(cli._ReaderGone):
            cli._say("text")
    else:
        with pytest.raises(OSError) as info:
            cli._say("text")
        assert info.value.errno == errno.EINVAL
