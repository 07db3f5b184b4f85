"""python -m wsapeer inspect NAME [--peer HOST:PORT | --peer [V6]:PORT] [--protocol P]

Prints the SOCKET_PEER_TARGET_NAME that wsapeer would hand to Windows, field
by field with offsets, then as a hex dump. Works on every platform.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence
from typing import Optional, Tuple

from ._enums import SecurityProtocol
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

_MAX_FIELDS = 16


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
        f"(header {lib.WSAPEER_PTN_HEADER_SIZE} + name {len(raw) - lib.WSAPEER_PTN_HEADER_SIZE})",
        f"{'offset':>6}  {'size':>5}  {'field':<30} value",
    ]
    for field in fields[0:count]:
        name = ffi.string(field.name).decode("ascii")
        offset = field.offset
        size = field.size or 2 * kind.name_units  # AllStrings has no fixed size
        lines.append(
            f"{offset:>6}  {size:>5}  {name:<30} {_value(name, target, raw, offset, size)}"
        )
    end = offset + size
    if end < len(raw):
        lines.append(
            f"{end:>6}  {len(raw) - end:>5}  {'(tail padding)':<30} "
            f"{'all zero' if not any(raw[end:]) else 'NONZERO'}"
        )
    lines.append("")
    for start in range(0, len(raw), 16):
        row = raw[start : start + 16]
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        lines.append(f"{start:08x}  {row.hex(' '):<47}  |{text}|")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wsapeer", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="show the SOCKET_PEER_TARGET_NAME for a name")
    inspect.add_argument("name", help="the peer's target name (SPN), e.g. host/server.example.com")
    inspect.add_argument("--peer", type=_parse_peer, help="HOST:PORT or [IPV6]:PORT (UDP peers)")
    inspect.add_argument("--flowinfo", type=int, default=None, help="IPv6 flow info")
    inspect.add_argument("--scope-id", type=int, default=None, help="IPv6 scope id")
    inspect.add_argument(
        "--protocol",
        default="default",
        type=str.lower,
        choices=[p.name.lower() for p in SecurityProtocol],
    )
    args = parser.parse_args(argv)

    peer: Optional[Tuple[object, ...]] = args.peer
    if args.flowinfo is not None or args.scope_id is not None:
        if peer is None:
            parser.error("--flowinfo and --scope-id need an IPv6 --peer")
        peer = (*peer, args.flowinfo or 0, args.scope_id or 0)
    try:
        target = PeerTargetName(args.name, peer, SecurityProtocol[args.protocol.upper()])
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    print(describe(target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
