"""The README's asyncio server example runs as written (through the model)."""

import asyncio
import re
import socket
import sys
from pathlib import Path

import pytest
import sdk_layout as sdk

import wsapeer
from wsapeer.testing import contract_model

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="sock_recvfrom needs Python 3.11")
def test_asyncio_server_example():
    [code] = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "async def serve" in b]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)

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


def test_impersonation_examples_check_secured_first():
    for block in BLOCKS:
        if "impersonate_peer(" in block:
            assert block.index("info.secured") < block.index("impersonate_peer(")
