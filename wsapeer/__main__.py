"""wsapeer inspect NAME [--peer HOST:PORT | --peer [V6]:PORT] [--protocol P]

Prints the SOCKET_PEER_TARGET_NAME that wsapeer would hand to Windows, field
by field with offsets, then as a hex dump; `inspect --decode HEX` reads such a
dump back. `inspect-settings` does the same for SOCKET_SECURITY_SETTINGS(_IPSEC),
the password redacted. Works on every platform.
"""

from __future__ import annotations

import argparse
import errno
import functools
import getpass
import ipaddress
import os
import re
import sys
import uuid
from collections.abc import Sequence
from typing import Any, Callable, List, NoReturn, Optional, Tuple, Union

from . import FWPUCLNT, __version__
from ._enums import IPsecFlags, SecurityProtocol, SecuritySettingsFlags
from ._settings import IPsecSettings, SecuritySettings
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

_MAX_FIELDS = 16

_PROTOCOL_HELP = (
    "SOCKET_SECURITY_PROTOCOL: default (DEFAULT, 0: Windows chooses the protocol and policy), "
    "ipsec (IPSEC, 1: IPsec), ipsec2 (IPSEC2, 2: IPsec with the Windows 7+ extensions); "
    "if omitted: %(default)s"
)
_FWPUCLNT_MEANS = {
    "windows": "Fwpuclnt.dll",
    "model": "the contract model, no Windows calls",
    "none": "none: every call raises UnsupportedPlatformError",
    "echo": "the benchmarks' no-op: nothing is secured",
}


def _parse_peer(text: str) -> Tuple[object, ...]:
    """HOST:PORT or [V6]:PORT (a %scope suffix allowed inside the brackets)."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError(f"{text!r}: write an IPv6 peer as [ADDRESS]:PORT")
    else:
        host, sep, port = text.rpartition(":")
        if not sep or ":" in host:
            raise argparse.ArgumentTypeError(
                f"{text!r}: write a peer as HOST:PORT, or [ADDRESS]:PORT for IPv6"
            )
    if not port.isascii() or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: the port {port!r} is not a number")
    return (host, int(port))


def _flags_type(kind: Union[type[SecuritySettingsFlags], type[IPsecFlags]]) -> Callable[[str], int]:
    """NAME[,NAME...] (any case, - or _) or a number: the library checks the bits."""

    def parse(text: str) -> int:
        value = 0
        for word in filter(None, (w.strip() for w in text.split(","))):
            member = kind.__members__.get(word.upper().replace("-", "_"))
            if member is not None:
                value |= member.value
                continue
            try:
                value |= int(word, 0)
            except ValueError:
                names = ", ".join(n.lower() for n in kind.__members__ if n != "NONE")
                raise argparse.ArgumentTypeError(
                    f"{word!r} is not one of {names} or a number"
                ) from None
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def _hexdump(raw: Union[bytes, bytearray], hidden: range = range(0)) -> List[str]:
    """16 bytes a line; the bytes in hidden print as ** (and * in the text column)."""
    lines = []
    for start in range(0, len(raw), 16):
        row = range(start, min(start + 16, len(raw)))
        hexes = " ".join("**" if i in hidden else f"{raw[i]:02x}" for i in row)
        text = "".join(
            "*" if i in hidden else chr(raw[i]) if 0x20 <= raw[i] < 0x7F else "." for i in row
        )
        lines.append(f"{start:08x}  {hexes:<47}  |{text}|")
    return lines


def _row(offset: int, size: int, name: str, value: str) -> str:
    return f"{offset:>6}  {size:>5}  {name:<30} {value}"


def _value(name: str, target: PeerTargetName, raw: bytes, offset: int, size: int) -> str:
    chunk = raw[offset : offset + size]
    if name == "SecurityProtocol":
        return f"{target.protocol.value} ({target.protocol.name})"
    if name.endswith("_family"):
        family = int.from_bytes(chunk, "little")
        return f"{family} ({'AF_INET' if family == 2 else 'AF_INET6'}, Windows' value)"
    if name.endswith("_port"):
        return f"{int.from_bytes(chunk, 'big')} (network byte order)"
    if name.endswith("_flowinfo"):
        return f"{int.from_bytes(chunk, 'big'):#x} (network byte order)"
    if name.endswith("_scope_id"):
        return f"{int.from_bytes(chunk, 'little')}"
    if name.endswith("sin_addr"):
        return str(ipaddress.IPv4Address(chunk))
    if name.endswith("sin6_addr"):
        return str(ipaddress.IPv6Address(chunk))
    if name == "PeerTargetNameStringLen":
        unit = "bytes" if target.protocol == SecurityProtocol.IPSEC2 else "UTF-16 code units"
        return f"{int.from_bytes(chunk, 'little')} ({unit})"
    if name == "AllStrings":
        return repr(target.target_name)
    return "all zero" if not any(chunk) else "NONZERO"


def describe(target: PeerTargetName) -> str:
    """The field table and hex dump that `inspect` prints."""
    raw = bytes(target)
    fields = ffi.new("wsapeer_field[]", _MAX_FIELDS)
    kind = ffi.new("wsapeer_ptn_fields *")
    lib.wsapeer_ptn_parse(raw, len(raw), kind)
    count = lib.wsapeer_ptn_layout(kind.peer_kind, fields, _MAX_FIELDS)
    lines = [
        f"SOCKET_PEER_TARGET_NAME: {len(raw)} bytes "
        f"(sizeof {lib.WSAPEER_PTN_HEADER_SIZE} + name {len(raw) - lib.WSAPEER_PTN_HEADER_SIZE}; "
        "the name starts at AllStrings)",
        f"{'offset':>6}  {'size':>5}  {'field':<30} value",
    ]
    for field in fields[0:count]:
        name = ffi.string(field.name).decode("ascii")
        offset = field.offset
        size = field.size or 2 * kind.name_units  # AllStrings has no fixed size
        lines.append(_row(offset, size, name, _value(name, target, raw, offset, size)))
    end = offset + size
    if end < len(raw):
        lines.append(
            _row(
                end,
                len(raw) - end,
                "(tail padding)",
                "all zero" if not any(raw[end:]) else "NONZERO",
            )
        )
    lines.append("")
    lines.extend(_hexdump(raw))
    return "\n".join(lines)


# ---- SOCKET_SECURITY_SETTINGS(_IPSEC) ------------------------------------------------------
#
# C has no layout function for the settings structures (only for
# SOCKET_PEER_TARGET_NAME), so their offsets are asked of C's marshaller instead
# of being written down a second time: each field is where the bytes first
# change when only that field changes. The widths are the declared types of
# mstcpip.h (DWORD 4, GUID 16, ULONG64 8); Reserved follows AuthipQMPolicyKey,
# Reserved2 ends where UserNameStringLen starts, and AllStrings starts where the
# user name's bytes appear. SOCKET_SECURITY_SETTINGS is the first two fields.

_PROBE_KEY = uuid.UUID(bytes=bytes(range(1, 17)))


@functools.cache
def settings_layout() -> Tuple[Tuple[str, int, int], ...]:
    """(field, offset, size) of SOCKET_SECURITY_SETTINGS_IPSEC, AllStrings sized 0."""
    base = bytes(IPsecSettings())

    def changed(probe: IPsecSettings, after: int = 0) -> int:
        data = bytes(probe)
        return next(i for i in range(after, len(data)) if i >= len(base) or data[i] != base[i])

    ipsec = SecurityProtocol.IPSEC2
    qm = changed(IPsecSettings(qm_policy_key=_PROBE_KEY))
    user_len = changed(IPsecSettings(user_name="u"))
    password_len = changed(IPsecSettings(password="p"))
    fields = [
        ("SecurityProtocol", changed(IPsecSettings(ipsec)), 4),
        ("SecurityFlags", changed(IPsecSettings(flags=SecuritySettingsFlags(1))), 4),
        ("IpsecFlags", changed(IPsecSettings(ipsec_flags=IPsecFlags(1))), 4),
        ("AuthipMMPolicyKey", changed(IPsecSettings(mm_policy_key=_PROBE_KEY)), 16),
        ("AuthipQMPolicyKey", qm, 16),
        ("Reserved", qm + 16, 16),
        ("Reserved2", user_len - 8, 8),
        ("UserNameStringLen", user_len, 4),
        ("DomainNameStringLen", changed(IPsecSettings(domain_name="d")), 4),
        ("PasswordStringLen", password_len, 4),
        ("AllStrings", changed(IPsecSettings(user_name="u"), user_len + 4), 0),
    ]
    return tuple(sorted(fields, key=lambda f: f[1]))


def _u32(raw: Union[bytes, bytearray], offset: int) -> int:
    return int.from_bytes(raw[offset : offset + 4], "little")


def _flag_names(value: int, kind: Union[type[SecuritySettingsFlags], type[IPsecFlags]]) -> str:
    names = [name for name, m in kind.__members__.items() if m.value and value & m.value]
    return f"{value:#x} ({' | '.join(names) if names else 'NONE'})"


def describe_settings(settings: Union[SecuritySettings, IPsecSettings]) -> str:
    """The field table and hex dump that `inspect-settings` prints; the password
    appears only as its length, and as ** in the dump."""
    # Copied from C's buffer into a bytearray (never a bytes object) and the
    # password's bytes zeroed before anything else reads it.
    raw = bytearray(ffi.buffer(settings._buffer, settings.size))
    layout = {name: (offset, size) for name, offset, size in settings_layout()}
    ipsec = isinstance(settings, IPsecSettings)
    hidden = range(0)
    strings = header = lib.WSAPEER_SETTINGS_SIZE
    user = domain = password = 0
    if ipsec:
        header = lib.WSAPEER_SETTINGS_IPSEC_SIZE
        strings = layout["AllStrings"][0]
        user, domain, password = (
            _u32(raw, layout[n][0])
            for n in ("UserNameStringLen", "DomainNameStringLen", "PasswordStringLen")
        )
        hidden = range(strings + user + domain, strings + user + domain + password)
        raw[hidden.start : hidden.stop] = bytes(password)
    lines = [
        f"{type(settings).STRUCTURE}: {len(raw)} bytes (sizeof {header} + strings "
        f"{user + domain + password})",
        f"{'offset':>6}  {'size':>5}  {'field':<30} value",
    ]
    end = 0
    for name, offset, size in settings_layout():
        if offset + size > header:
            break
        if offset > end:
            lines.append(
                _row(
                    end,
                    offset - end,
                    "(padding)",
                    "all zero" if not any(raw[end:offset]) else "NONZERO",
                )
            )
        chunk = raw[offset : offset + size]
        if name == "SecurityProtocol":
            value = f"{_u32(raw, offset)} ({settings.protocol.name})"
        elif name == "SecurityFlags":
            value = _flag_names(_u32(raw, offset), SecuritySettingsFlags)
        elif name == "IpsecFlags":
            value = _flag_names(_u32(raw, offset), IPsecFlags)
        elif name.endswith("PolicyKey"):
            value = str(uuid.UUID(bytes_le=bytes(chunk))) if any(chunk) else "all zero (none)"
        elif name.endswith("StringLen"):
            value = f"{_u32(raw, offset)} (bytes)"
        elif name == "AllStrings":
            for label, start, length in (
                ("AllStrings: user name", strings, user),
                ("AllStrings: domain name", strings + user, domain),
            ):
                text = repr(raw[start : start + length].decode("utf-16-le")) if length else "(none)"
                lines.append(_row(start, length, label, text))
            secret = f"REDACTED ({password} bytes)" if password else "(none)"
            lines.append(_row(hidden.start, password, "AllStrings: password", secret))
            end = strings + user + domain + password
            break
        else:
            value = "all zero" if not any(chunk) else "NONZERO"
        lines.append(_row(offset, size, name, value))
        end = offset + size
    if end < len(raw):
        tail = "all zero" if not any(raw[end:]) else "NONZERO"
        lines.append(_row(end, len(raw) - end, "(tail padding)", tail))
    lines.append("")
    lines.extend(_hexdump(raw, hidden))
    return "\n".join(lines)


_DUMP_LINE = re.compile(r"[0-9a-fA-F]{8}  ((?:[0-9a-fA-F]{2} ?)+)")


def _read_hex(text: str) -> bytes:
    """Plain hex (spaces and newlines allowed), or the hex dump inspect prints
    (its offset and text columns, and any other lines, ignored)."""
    rows = [m.group(1) for m in map(_DUMP_LINE.match, text.splitlines()) if m]
    digits = "".join((" ".join(rows) if rows else text).split())
    return bytes.fromhex(digits)


def _read_password() -> str:
    """The password from stdin (a prompt on a terminal), one final newline dropped."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    text = sys.stdin.read()
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


class _ReaderGone(Exception):
    """Standard output's reader went away (`... | head -n 1`)."""


#: The exit status then: 128 + SIGPIPE, as a POSIX shell reports a writer it
#: stopped; on Windows, which has no SIGPIPE, ERROR_NO_DATA ("The pipe is
#: being closed"), what Windows itself says of such a write.
_READER_GONE = 232 if sys.platform == "win32" else 141


def _say(text: str) -> None:
    """Prints text (and flushes it, so that a closed pipe shows here, where it
    can be told from every other error, not at exit)."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise _ReaderGone from None
    except OSError as error:
        # Windows' C runtime reports the write to a pipe whose reader closed
        # as EINVAL. Only a write to standard output is caught here.
        if sys.platform == "win32" and error.errno == errno.EINVAL:
            raise _ReaderGone from None
        raise


class _Version(argparse.Action):
    """--version: argparse's own action would rewrap the text."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        means = _FWPUCLNT_MEANS.get(FWPUCLNT, "unknown")
        print(f"wsapeer {__version__}\nFwpuclnt implementation: {FWPUCLNT} ({means})")
        parser.exit()


def _refuse_password(text: str) -> str:
    """--password: refused without echoing it (argparse would quote an unknown argument)."""
    raise argparse.ArgumentTypeError(
        "never give a password on the command line (other users' ps shows it): use --password-stdin"
    )


def _protocol_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        default="default",
        type=str.lower,
        choices=[p.name.lower() for p in SecurityProtocol],
        help=_PROTOCOL_HELP,
    )


#: What names an option whose value may be a secret, in any case: its value
#: (the next argument, or what follows "=") never reaches an error message.
_SECRET_OPTION = re.compile(r"^-.*(pass|pwd|secret|cred)", re.IGNORECASE)


def _secret_values(argv: Sequence[str]) -> List[str]:
    """The values that follow a password-like option in argv: a mistyped
    option (--passwd X) or a misplaced one (wsapeer --password X) makes
    argparse quote the next argument ("invalid choice: 'X'", "unrecognized
    arguments: --passwd X")."""
    secrets = []
    for index, arg in enumerate(argv):
        if _SECRET_OPTION.match(arg):
            _, equals, value = arg.partition("=")
            if equals and value:
                secrets.append(value)
            elif index + 1 < len(argv) and argv[index + 1]:
                secrets.append(argv[index + 1])
    return sorted(secrets, key=len, reverse=True)  # longest first: no partial leftovers


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors never quote a secret value from the command line."""

    hidden: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        for value in _Parser.hidden:
            message = message.replace(value, "<hidden>")
        super().error(message)


def _parser() -> Tuple[argparse.ArgumentParser, argparse.ArgumentParser, argparse.ArgumentParser]:
    launched = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    prog = "python -m wsapeer" if launched in ("__main__.py", "-m", "") else "wsapeer"
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the version and this build's Fwpuclnt"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    inspect = commands.add_parser(
        "inspect",
        help="show the SOCKET_PEER_TARGET_NAME for a name, or decode one (--decode)",
        description="Prints the SOCKET_PEER_TARGET_NAME wsapeer would hand to Windows, field "
        "by field, then as a hex dump; with --decode, reads such a dump back.",
    )
    inspect.add_argument(
        "name", nargs="?", help="the peer's target name (SPN), e.g. host/server.example.com"
    )
    inspect.add_argument("--peer", type=_parse_peer, help="HOST:PORT or [IPV6]:PORT (UDP peers)")
    inspect.add_argument("--flowinfo", type=int, default=None, help="IPv6 flow info")
    inspect.add_argument("--scope-id", type=int, default=None, help="IPv6 scope id")
    _protocol_arg(inspect)
    inspect.add_argument(
        "--decode",
        metavar="HEX",
        help="decode a SOCKET_PEER_TARGET_NAME from hex (spaces and newlines allowed; "
        "inspect's own dump works too; - reads it from stdin) instead of building one",
    )

    settings = commands.add_parser(
        "inspect-settings",
        allow_abbrev=False,
        help="show the SOCKET_SECURITY_SETTINGS(_IPSEC) for settings (password redacted)",
        description="Prints the SOCKET_SECURITY_SETTINGS (--protocol default) or "
        "SOCKET_SECURITY_SETTINGS_IPSEC (ipsec, ipsec2) wsapeer would hand to Windows, field "
        "by field, then as a hex dump. The password is never printed: only its length, and ** "
        "for its bytes in the dump. It is read from stdin, never from the command line.",
    )
    _protocol_arg(settings)
    settings.add_argument(
        "--flags",
        type=_flags_type(SecuritySettingsFlags),
        default=0,
        help="SecurityFlags: guarantee_encryption, allow_insecure (comma-separated) or a number",
    )
    settings.add_argument(
        "--ipsec-flags",
        type=_flags_type(IPsecFlags),
        default=0,
        help="IpsecFlags: skip_filter_instantiation, optional_peer_name_verification, "
        "allow_first_inbound_pkt_unencrypted, peer_name_is_raw_format (comma-separated) or a "
        "number (ipsec, ipsec2)",
    )
    settings.add_argument("--mm-policy-key", type=uuid.UUID, help="AuthipMMPolicyKey (a GUID)")
    settings.add_argument("--qm-policy-key", type=uuid.UUID, help="AuthipQMPolicyKey (a GUID)")
    settings.add_argument("--user", help="the user name (ipsec, ipsec2)")
    settings.add_argument("--domain", help="the domain name (ipsec, ipsec2)")
    settings.add_argument("--password", type=_refuse_password, help=argparse.SUPPRESS)
    settings.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (one final newline dropped; a prompt on a terminal)",
    )
    return parser, inspect, settings


def _run_inspect(inspect: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.decode is not None:
        given: List[str] = [
            option
            for option, value in (
                ("NAME", args.name), ("--peer", args.peer), ("--flowinfo", args.flowinfo),
                ("--scope-id", args.scope_id),
                ("--protocol", None if args.protocol == "default" else args.protocol),
            )
            if value is not None
        ]  # fmt: skip
        if given:
            inspect.error(f"--decode reads everything from the dump: drop {', '.join(given)}")
        text = sys.stdin.read() if args.decode == "-" else args.decode
        try:
            raw = _read_hex(text)
        except ValueError as exc:
            inspect.error(f"--decode: not hexadecimal bytes ({exc})")
        try:
            target = PeerTargetName.from_bytes(raw)
        except (TypeError, ValueError) as exc:
            inspect.error(f"--decode: {exc}")
        _say(describe(target))
        _say(f"\ndecoded: {target!r}")
        return 0
    if args.name is None:
        inspect.error("give the target NAME, or --decode HEX")
    peer: Optional[Tuple[object, ...]] = args.peer
    if args.flowinfo is not None or args.scope_id is not None:
        if peer is None:
            inspect.error("--flowinfo and --scope-id need an IPv6 --peer")
        peer = (*peer, args.flowinfo or 0, args.scope_id or 0)
    try:
        # The command line's peer is checked by PeerTargetName, as any caller's.
        target = PeerTargetName(args.name, peer, SecurityProtocol[args.protocol.upper()])  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        inspect.error(str(exc))
    _say(describe(target))
    return 0


def _run_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    protocol = SecurityProtocol[args.protocol.upper()]
    built: Union[SecuritySettings, IPsecSettings]
    try:
        if protocol == SecurityProtocol.DEFAULT:
            ipsec_only = [
                option
                for option, value in (
                    ("--ipsec-flags", args.ipsec_flags), ("--mm-policy-key", args.mm_policy_key),
                    ("--qm-policy-key", args.qm_policy_key), ("--user", args.user),
                    ("--domain", args.domain), ("--password-stdin", args.password_stdin),
                )
                if value
            ]  # fmt: skip
            if ipsec_only:
                parser.error(
                    f"{', '.join(ipsec_only)}: SOCKET_SECURITY_SETTINGS_IPSEC only; "
                    "add --protocol ipsec or ipsec2"
                )
            built = SecuritySettings(args.flags)
        else:
            password: Any = _read_password() if args.password_stdin else None
            if args.password_stdin and not password:
                parser.error("--password-stdin: stdin held no password")
            built = IPsecSettings(
                protocol, args.flags, args.ipsec_flags, args.mm_policy_key,
                args.qm_policy_key, args.user, args.domain, password,
            )  # fmt: skip
            del password  # the library keeps it only in a wiped C buffer
    except (TypeError, ValueError) as exc:  # their messages never quote a password
        parser.error(str(exc))
    _say(describe_settings(built))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser, inspect, settings = _parser()
    _Parser.hidden = _secret_values(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        if args.command == "inspect-settings":
            return _run_settings(settings, args)
        return _run_inspect(inspect, args)
    except _ReaderGone:
        # Not an error of ours. Later writes, the interpreter's flush at exit
        # included, go nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return _READER_GONE


if __name__ == "__main__":
    sys.exit(main())
