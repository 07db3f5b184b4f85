"""Testing your own code without Windows: the contract model of Fwpuclnt.

    import wsapeer, wsapeer.testing

    with wsapeer.testing.contract_model() as model:
        wsapeer.set_peer_target_name(sock, "host/server.example.com")
        assert model.peer_target_names(sock) == [wsapeer.PeerTargetName("host/server.example.com")]

Inside the block, every wsapeer call of this process (all threads) goes to a C
model of the documented behaviour of the secure socket calls instead of
Windows: it checks the real socket through the platform's socket API (not a
socket, wrong family or type, already connected, zero UDP peer...) and raises
the WinsockError Windows documents, and it records what it accepted. Outside
the block nothing changes: off Windows calls raise UnsupportedPlatformError.
The model is selected only by this function, never by the environment. It
authenticates nobody: it exists to catch wrong arguments and call order in
tests.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import List, NamedTuple, Optional

from ._socket import SocketLike, handle_of
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

__all__ = ["ContractModel", "ModelRecord", "contract_model"]

_FUNCTIONS = {lib.WSAPEER_MODEL_SET_PEER_TARGET_NAME: "WSASetSocketPeerTargetName"}
_switch = threading.Lock()


class ModelRecord(NamedTuple):
    """One call the model accepted: the exact bytes the shim handed it."""

    sequence: int
    function: str
    handle: int
    data: bytes


def _read_records() -> List[ModelRecord]:
    head = ffi.new("wsapeer_model_record *")
    out = []
    for index in range(lib.wsapeer_model_record_count()):
        if lib.wsapeer_model_record_get(index, head, ffi.NULL, 0):
            break  # reset under us
        data = ffi.new("uint8_t[]", head.size)
        if lib.wsapeer_model_record_get(index, head, data, head.size):
            break
        out.append(
            ModelRecord(
                head.sequence,
                _FUNCTIONS.get(head.function, str(head.function)),
                head.sock,
                ffi.buffer(data, head.size)[:],
            )
        )
    return out


class ContractModel:
    """What the model recorded; live inside the block, frozen after it."""

    def __init__(self) -> None:
        self._frozen: Optional[List[ModelRecord]] = None

    @property
    def records(self) -> List[ModelRecord]:
        """Every accepted call, oldest first; a repeated call for the same socket
        and peer replaces the earlier record (as Windows replaces the name)."""
        return list(self._frozen) if self._frozen is not None else _read_records()

    def peer_target_names(self, sock: SocketLike) -> List[PeerTargetName]:
        """The targets set on sock (by handle), decoded from the bytes received."""
        handle = handle_of(sock)
        return [
            PeerTargetName.from_bytes(r.data)
            for r in self.records
            if r.handle == handle and r.function == "WSASetSocketPeerTargetName"
        ]

    def _freeze(self) -> None:
        self._frozen = _read_records()


@contextlib.contextmanager
def contract_model() -> Iterator[ContractModel]:
    """Routes this process's wsapeer calls to the contract model for the block.

    It does not nest: a second contract_model() while one is active raises
    RuntimeError, so that one test cannot switch the model off under another.
    """
    with _switch:
        if lib.wsapeer_model_enabled():
            raise RuntimeError(
                "contract_model() is already active in this process; it does not nest"
            )
        lib.wsapeer_model_reset()
        lib.wsapeer_model_enable(1)
    model = ContractModel()
    try:
        yield model
    finally:
        with _switch:
            lib.wsapeer_model_enable(0)
            model._freeze()
            lib.wsapeer_model_reset()
