"""The README's and the documentation's examples run as written, under the
contract model in strict mode; the docs cover every public name. (.ci/run also
builds the docs with warnings as errors and runs their examples as doctests;
these tests need no Sphinx.)"""

import asyncio
import contextlib
import doctest
import io
import re
import socket
import sys
import textwrap
from pathlib import Path
from typing import List, NamedTuple, Optional

import pytest
import sdk_layout as sdk

import wsapeer
from wsapeer import SecurityInfoFlags
from wsapeer.testing import ModelRecord, contract_model

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.rst"))}


def rst_examples(text: str) -> list:
    """The code of each ``.. testcode::`` directive of an rst page."""
    blocks = re.findall(r"^\.\. testcode::\n\n((?:(?:   .*)?\n)+)", text, re.M)
    return [textwrap.dedent(b) for b in blocks]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="sock_recvfrom needs Python 3.11")
@pytest.mark.needs_model
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
@pytest.mark.needs_model
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


# ---- every docs example, under a secured and an unsecured pretended peer ------

CONF = (ROOT / "docs" / "conf.py").read_text(encoding="utf-8")
#: What Sphinx's doctest builder runs before every page's examples (conf.py).
[GLOBAL_SETUP] = re.findall(r'^doctest_global_setup = """\n(.*?)"""', CONF, re.M | re.S)


class Example(NamedTuple):
    line: int  # of the code's first line in its page
    code: str
    output: Optional[str]  # the testoutput block that follows it, if any
    ellipsis: bool  # the testoutput's :options: +ELLIPSIS


def page_examples(text: str) -> List[Example]:
    """Each ``.. testcode::`` block of a page, with the ``.. testoutput::``
    block right after it, as Sphinx's doctest builder pairs them."""
    found = []
    pattern = (
        r"^\.\. testcode::\n\n((?:(?:   .*)?\n)+)"
        r"(?:\.\. testoutput::\n((?:   :options:.*\n)?)\n((?:(?:   .*)?\n)+))?"
    )
    for match in re.finditer(pattern, text, re.M):
        line = text.count("\n", 0, match.start(1)) + 1
        output = textwrap.dedent(match.group(3)).strip() + "\n" if match.group(3) else None
        found.append(
            Example(line, textwrap.dedent(match.group(1)), output, "ELLIPSIS" in (match[2] or ""))
        )
    return found


#: The pages whose examples the included setup runs under the strict model
#: (docs/_under_model.rst), and the README's blocks that do not enter the
#: model themselves: what a pretended peer can be set for.
UNDER_MODEL = {
    f"docs/{name}": (GLOBAL_SETUP, page_examples(page))
    for name, page in DOCS.items()
    if ".. include:: _under_model.rst" in page
}
UNDER_MODEL.update(
    (
        f"README.md block {i}",
        ("", [Example(README[: README.index(block)].count("\n") + 1, block, None, False)]),
    )
    for i, block in enumerate(BLOCKS)
    if "contract_model(" not in block
)
PEERS = {"secured": SecurityInfoFlags.SECURED, "unsecured": SecurityInfoFlags(0)}


def closed(record: ModelRecord) -> bool:
    """Whether the socket of a record is closed now (its handle gone, or
    another socket's: the model's ident is the socket's inode, or on Windows
    its file reference number)."""
    ident = sdk.socket_ident(record.handle)
    return ident is None or ident != record.ident


def run_examples(label: str, setup: str, examples: List[Example], flags: int) -> list:
    """Runs a page's examples in one namespace, as the doctest builder does,
    under the strict model with the pretended peer; checks after each example
    what it must have done whatever the peer (strict mode's rules, security
    before the name on each socket) and, under an unsecured peer, that nobody
    was impersonated and every connection queried was closed. Returns the
    model's records."""
    namespace: dict = {}
    exec(setup, namespace)
    try:
        with contract_model(strict=True) as model:
            model.pretend_peer(flags, tokens=True)
            for example in examples:
                where = f"{label} line {example.line}"
                seen = len(model.records)
                code = compile("\n" * (example.line - 1) + example.code, label, "exec")
                with contextlib.redirect_stdout(io.StringIO()) as printed:
                    exec(code, namespace)
                if not flags and example.output is not None:
                    checker = doctest.OutputChecker()
                    options = doctest.ELLIPSIS if example.ellipsis else 0
                    assert checker.check_output(example.output, printed.getvalue(), options), (
                        f"{where}: printed {printed.getvalue()!r}, the page says {example.output!r}"
                    )
                new = [r for r in model.records if r.sequence > seen]
                check_order(where, model.records)
                if not flags:
                    assert "WSAImpersonateSocketPeer" not in {r.function for r in new}, (
                        f"{where}: impersonated a peer that no query reported secured"
                    )
                    left = [
                        r.handle
                        for r in new
                        if r.function == "WSAQuerySocketSecurity" and not closed(r)
                    ]
                    assert not left, (
                        f"{where}: the connections queried (socket {left}) are still open "
                        "though their peer was reported unsecured"
                    )
    finally:
        # What an example leaves open on purpose (a secured connection it
        # keeps): closed here, not reported as a leak by the garbage collector.
        for value in namespace.values():
            if isinstance(value, socket.socket):
                value.close()
    return model.records


def check_order(where: str, records: List[ModelRecord]) -> None:
    """Every peer target name on a socket follows its socket security, as on
    WSASetSocketPeerTargetName's page and in Microsoft's sample. (Strict mode
    flags only a name on a socket never secured: one secured later ends up
    secured, so the docs' own order is checked here.)"""
    secured: dict = {}
    for r in records:
        if r.function == "WSASetSocketSecurity":
            secured.setdefault(r.ident or r.handle, r.sequence)
    for r in records:
        security = secured.get(r.ident or r.handle)
        if r.function == "WSASetSocketPeerTargetName" and security is not None:
            assert security < r.sequence, (
                f"{where}: socket {r.handle} named (#{r.sequence}) before its security "
                f"(#{security})"
            )


def skip_before_311(label: str, examples: List[Example]) -> None:
    """batches.rst shows except*, which older Pythons cannot compile."""
    if sys.version_info < (3, 11) and any("except*" in e.code for e in examples):
        pytest.skip(f"{label}: except* needs Python 3.11")


@pytest.mark.parametrize("peer", sorted(PEERS))
@pytest.mark.parametrize("label", sorted(UNDER_MODEL))
@pytest.mark.needs_model
def test_docs_examples_under_each_peer(label, peer):
    setup, examples = UNDER_MODEL[label]
    skip_before_311(label, examples)
    records = run_examples(label, setup, examples, PEERS[peer])
    impersonations = [r for r in records if r.function == "WSAImpersonateSocketPeer"]
    if peer == "secured" and any("impersonate_peer(" in e.code for e in examples):
        # The branch for a secured peer was taken: the two runs really differ.
        assert impersonations, f"{label}: never impersonated a peer reported secured"


@pytest.mark.parametrize(
    "name", sorted(n for n in DOCS if page_examples(DOCS[n]) and f"docs/{n}" not in UNDER_MODEL)
)
@pytest.mark.needs_model
def test_docs_examples_that_enter_the_model_themselves(name):
    """A page whose examples enter the model themselves runs them as written,
    and prints what the page shows."""
    skip_before_311(f"docs/{name}", page_examples(DOCS[name]))
    namespace: dict = {}
    exec(GLOBAL_SETUP, namespace)
    for example in page_examples(DOCS[name]):
        code = compile("\n" * (example.line - 1) + example.code, f"docs/{name}", "exec")
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(code, namespace)
        if example.output is not None:
            options = doctest.ELLIPSIS if example.ellipsis else 0
            assert doctest.OutputChecker().check_output(
                example.output, printed.getvalue(), options
            ), f"docs/{name} line {example.line}: printed {printed.getvalue()!r}"


def test_the_example_reader_pairs_code_and_output():
    """Every directive is read (none with options or groups this reader would
    skip), and the outputs it pairs are the pages' own."""
    for name, page in DOCS.items():
        examples = page_examples(page)
        assert len(examples) == page.count(".. testcode::"), name
        assert sum(e.output is not None for e in examples) == page.count(".. testoutput::"), name
        assert ".. testsetup::" not in page or name == "_under_model.rst", name
        assert [e.code for e in examples] == rst_examples(page), name
    [_, checked, *_] = page_examples(DOCS["client.rst"])
    assert checked.ellipsis and checked.output.startswith("address ('server.example.com', 443)")
    assert "docs/server.rst" in UNDER_MODEL and "README.md block 0" in UNDER_MODEL
    assert GLOBAL_SETUP.split() == ["import", "socket", "import", "wsapeer"]


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
