"""The README's and the documentation's examples run as written, under the
contract model in strict mode; the docs cover every public name. (.ci/run also
builds the docs with warnings as errors and runs their examples as doctests;
these tests need no Sphinx.)"""

import asyncio
import re
import socket
import sys
import textwrap
from pathlib import Path

import pytest
import sdk_layout as sdk

import wsapeer
from wsapeer.testing import contract_model

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.rst"))}


def rst_examples(text: str) -> list:
    """The code of each ``.. testcode::`` directive of an rst page."""
    blocks = re.findall(r"^\.\. testcode::\n\n((?:(?:   .*)?\n)+)", text, re.M)
    return [textwrap.dedent(b) for b in blocks]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="sock_recvfrom needs Python 3.11")
def test_asyncio_server_example():
    [code] = [b for b in rst_examples(DOCS["asyncio.rst"]) if "async def serve" in b]
    namespace: dict = {}
    exec(compile(code, "docs/asyncio.rst", "exec"), namespace)

    async def main():
        server = asyncio.ensure_future(namespace["serve"](0))
        await asyncio.sleep(0.05)
        [record] = [r for r in model.records if r.function == "WSASetSocketSecurity"]
        port = socket.socket(fileno=socket.dup(record.handle)).getsockname()[1]
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.setblocking(False)
            for _ in range(2):
                await loop.sock_sendto(client, b"ping", ("127.0.0.1", port))
                reply = await asyncio.wait_for(loop.sock_recv(client, 100), 5)
            name = "host/127.0.0.1"
            server.cancel()
            return reply, name, client.getsockname(), record.handle

    with contract_model() as model:
        reply, name, client_address, handle = asyncio.run(main())
        targets = model.peer_target_names(handle)
    assert reply == b"ping"
    peer = ("127.0.0.1", client_address[1])
    records = [r for r in model.records if r.handle == handle]
    # Read with the SDK layout, not wsapeer's parser. Named once, not twice: the
    # model would replace a second record for the same peer, so the sequence
    # numbers (one per accepted call) are what show it.
    assert [r.function for r in records] == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
    assert [r.sequence for r in model.records] == [1, 2]
    assert sdk.decode_security_settings(records[0].data) == sdk.Settings(protocol=0, flags=0)
    assert sdk.decode_peer_target_name(records[1].data) == (name, peer, 0)
    assert targets == [wsapeer.PeerTargetName(name, peer=peer)]  # the public decoder agrees


BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_runs_as_written(index, recwarn):
    """Each example runs alone, as a reader would paste it: under the contract
    model in strict mode here (the blocks that show the model enter it
    themselves), on loopback, with every name it uses defined in it. Strict:
    no example may show a mistake Windows would let pass."""
    block = BLOCKS[index]
    assert "192.0.2.10" not in block and ", 500)" not in block  # no remote hosts, not IKE's port
    code = compile(block, f"README.md block {index}", "exec")
    if "contract_model(" in block:
        exec(code, {})
    else:
        with contract_model(strict=True):
            exec(code, {})


EXAMPLES = BLOCKS + [b for page in DOCS.values() for b in rst_examples(page)]


def test_impersonation_examples_check_secured_first():
    impersonating = [b for b in EXAMPLES if "impersonate_peer(" in b]
    assert len(impersonating) >= 2
    for block in impersonating:
        assert block.index("info.secured") < block.index("impersonate_peer(")


def test_the_testcode_reader_finds_the_examples():
    assert len(rst_examples(DOCS["client.rst"])) >= 4
    assert all(block.strip() and not block.startswith(" ") for block in EXAMPLES)


def test_every_docs_example_is_tested():
    """Python shown in the docs is a testcode block (the doctest builder runs
    it); a page with examples runs them under the strict model, or enters the
    model itself in every block."""
    for name, page in DOCS.items():
        assert not re.search(r"code-block:: *(python|pycon)|^>>> ", page, re.M), name
        blocks = rst_examples(page)
        if blocks and ".. include:: _under_model.rst" not in page:
            assert all("contract_model(" in b or "def " in b for b in blocks), name


def test_the_model_setup_is_strict():
    setup = DOCS["_under_model.rst"]
    assert "_contract_model(strict=True)" in setup and "__exit__(None, None, None)" in setup


def test_the_api_reference_covers_every_public_name():
    import wsapeer.aio
    import wsapeer.testing

    api = DOCS["api.rst"]
    documented = set(re.findall(r"^\.\. (?:auto\w+|py:\w+):: ([\w.]+)", api, re.M))
    for module, prefix in (
        (wsapeer, ""),
        (wsapeer.aio, "wsapeer.aio."),
        (wsapeer.testing, "wsapeer.testing."),
    ):
        names = list(module.__all__) + (["RULES"] if module is wsapeer.testing else [])
        missing = [n for n in names if prefix + n not in documented]
        assert not missing, f"{module.__name__}: not in docs/api.rst: {missing}"


def test_every_page_is_in_the_table_of_contents():
    listed = set(re.findall(r"^   (\w+)$", DOCS["index.rst"], re.M))
    pages = {n[:-4] for n in DOCS if not n.startswith("_")} - {"index"}
    assert pages == listed
