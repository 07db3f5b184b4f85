"""Testing your own code without Windows: the contract model of Fwpuclnt.

    import wsapeer, wsapeer.testing

    with wsapeer.testing.contract_model() as model:
        wsapeer.set_socket_security(sock)
        wsapeer.set_peer_target_name(sock, "host/server.example.com")
        assert model.calls(sock) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
        assert model.peer_target_names(sock) == [wsapeer.PeerTargetName("host/server.example.com")]

Inside the block, every wsapeer call of this process (all threads) goes to a C
model of the documented behaviour of the secure socket calls: it checks the
real socket through the platform's socket API (not a socket, wrong family or
type, already connected, zero UDP peer...) and raises the WinsockError Windows
documents, and it records what it accepted. Outside the block calls raise
UnsupportedPlatformError. The model is selected only by this function, never
by the environment. It authenticates nobody: it exists to catch wrong
arguments and call order in tests.

The model is compiled into wsapeer only where it cannot stand in for a real
Fwpuclnt: by default off Windows, and on Windows only in a build made on
purpose with WSAPEER_FWPUCLNT=model. Windows release builds do not contain it,
and there contract_model() raises UnsupportedPlatformError.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import List, NamedTuple, Optional, Union

from ._calls import NAMES, SET_PEER_TARGET_NAME
from ._enums import SecurityInfoFlags, refuse_foreign
from ._errors import UnsupportedPlatformError
from ._socket import SocketLike, handle_of
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

__all__ = ["ContractModel", "ModelRecord", "contract_model"]

_switch = threading.Lock()


class ModelRecord(NamedTuple):
    """One call the model accepted: the exact bytes the shim handed it (the
    structure, sockaddr or query template; empty where there was none)."""

    sequence: int
    function: str
    handle: int
    thread: int
    data: bytes
    #: Tells a socket from a later one reusing its handle: the inode on POSIX,
    #: 0 on Windows.
    ident: int = 0

    def __repr__(self) -> str:
        # data may be settings holding a password: its size only, never its bytes.
        return (
            f"ModelRecord(sequence={self.sequence}, function={self.function!r}, "
            f"handle={self.handle}, thread={self.thread}, data=<{len(self.data)} bytes>, "
            f"ident={self.ident})"
        )


def _ident(handle: int) -> Optional[int]:
    """What the model keys a socket by, besides its handle: the inode on POSIX
    (0 on Windows); None when the handle is closed."""
    if sys.platform == "win32":
        return 0
    try:
        return os.fstat(handle).st_ino
    except OSError:
        return None


def _read_records() -> List[ModelRecord]:
    head = ffi.new("wsapeer_model_record *")
    out: List[ModelRecord] = []
    for index in range(lib.wsapeer_model_record_count()):
        if lib.wsapeer_model_record_get(index, head, ffi.NULL, 0):
            break  # reset under us
        # Another thread may replace the record at this index between the two
        # calls: only the second (one locked copy) is trusted, and a record
        # larger than the buffer is read again rather than read past it.
        while True:
            cap = head.size
            data = ffi.new("uint8_t[]", cap)
            if lib.wsapeer_model_record_get(index, head, data, cap):
                return out  # reset under us
            if head.size <= cap:
                break
            ffi.buffer(data, cap)[:] = bytes(cap)  # a partial copy of settings: wiped too
        view = ffi.buffer(data, head.size)
        out.append(
            ModelRecord(
                head.sequence,
                NAMES.get(head.function, str(head.function)),
                head.sock,
                head.thread,
                view[:],
                head.ident,
            )
        )
        view[:] = bytes(head.size)  # a record of settings holds the password: wipe the C copy
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
        """The targets set on sock and still in force, decoded from the bytes received."""
        return [
            PeerTargetName.from_bytes(r.data)
            for r in self._of(sock)
            if r.function == NAMES[SET_PEER_TARGET_NAME]
        ]

    def _of(self, sock: SocketLike) -> List[ModelRecord]:
        """The records of this socket, whichever descriptor of it a call used
        (POSIX: its inode; Windows: its handle), and not of an earlier socket
        that had the same handle."""
        handle = handle_of(sock)
        ident = _ident(handle)
        if ident:
            return [r for r in self.records if r.ident == ident]
        return [r for r in self.records if r.handle == handle and (ident is None or not r.ident)]

    def calls(self, sock: Optional[SocketLike] = None) -> List[str]:
        """The functions accepted, oldest first (for sock only, if given): to check
        call order, e.g. that WSASetSocketSecurity came first."""
        records = self.records if sock is None else self._of(sock)
        return [r.function for r in records]

    def pretend_peer(
        self,
        flags: Union[SecurityInfoFlags, int] = SecurityInfoFlags.SECURED,
        tokens: bool = False,
        mm_sa_id: int = 0,
        qm_sa_id: int = 0,
        negotiation_winerror: int = 0,
        sa_lookup_context: Optional[uuid.UUID] = None,
    ) -> None:
        """What queries report for sockets the model secured (and connections
        accepted on them): the model negotiates nothing itself, so by default
        they report no flags. tokens=True hands out model token handles (when
        the query asks with an access mask), which only wsapeer can close."""
        refuse_foreign(flags, SecurityInfoFlags, "flags")
        context = sa_lookup_context.bytes_le if sa_lookup_context is not None else ffi.NULL
        lib.wsapeer_model_set_peer_security(
            int(flags), int(tokens), mm_sa_id, qm_sa_id, negotiation_winerror, context
        )

    @staticmethod
    def token_closes(handle: int) -> int:
        """How often a model token handle was closed: 0 while open, 1 when closed
        properly; more is a double close. ValueError if the model never issued it."""
        closes = lib.wsapeer_model_token_closes(handle)
        if closes < 0:
            raise ValueError(f"{handle:#x} is not a token the contract model issued")
        return int(closes)

    @staticmethod
    def open_tokens() -> int:
        """Model token handles issued and not yet closed."""
        return int(lib.wsapeer_model_open_tokens())

    @staticmethod
    def impersonating() -> Optional[int]:
        """The socket handle the calling thread impersonates the peer of, or None."""
        sock = ffi.new("uint64_t *")
        return int(sock[0]) if lib.wsapeer_model_impersonating(sock) else None

    def _freeze(self) -> None:
        self._frozen = _read_records()


@contextlib.contextmanager
def contract_model() -> Iterator[ContractModel]:
    """Routes this process's wsapeer calls to the contract model for the block.

    It does not nest: a second contract_model() while one is active raises
    RuntimeError, so that one test cannot switch the model off under another.
    In a build without the model (every Windows release build) it raises
    UnsupportedPlatformError.
    """
    if not hasattr(lib, "wsapeer_model_enable"):
        raise UnsupportedPlatformError("contract_model", _NO_MODEL)
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


_NO_MODEL = (
    f"the contract model is not in this build of wsapeer (its Fwpuclnt is "
    f"{ffi.string(lib.wsapeer_fwpuclnt()).decode('ascii')!r}). Windows release builds "
    "never contain it, so that no code in a process can turn the real calls into "
    "pretended ones. For a test environment, build wsapeer from the sdist with the "
    "model on purpose: set WSAPEER_FWPUCLNT=model, then "
    "pip install --no-binary wsapeer wsapeer."
)
