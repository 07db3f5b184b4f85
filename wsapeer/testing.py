"""Testing your own code without Windows: the contract model of Fwpuclnt.

    import wsapeer, wsapeer.testing

    with wsapeer.testing.contract_model(strict=True) as model:
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

strict=True also fails the block (ContractViolation, an AssertionError) for
mistakes Windows accepts silently: a peer target name on a socket never
secured, impersonating the peer of a connection that is not secured, a peer
token or an impersonation left open, an overlapped operation whose outcome
nobody looked at. ContractModel.violations() lists them at any time.

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
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import _overlapped
from ._calls import NAMES, SET_PEER_TARGET_NAME
from ._enums import SecurityInfoFlags, refuse_foreign
from ._errors import UnsupportedPlatformError
from ._socket import SocketLike, handle_of
from ._target import PeerTargetName
from ._wsapeer import ffi, lib

__all__ = ["ContractModel", "ContractViolation", "ModelRecord", "Violation", "contract_model"]

_switch = threading.Lock()
if hasattr(os, "register_at_fork"):
    # A fork while another thread toggles the model: the child gets the lock
    # free and the toggle whole.
    os.register_at_fork(
        before=_switch.acquire, after_in_parent=_switch.release, after_in_child=_switch.release
    )

#: What each strict-mode rule means, and the Microsoft text it comes from.
RULES: Dict[str, str] = {
    "name-without-security": (
        "a peer target name was set on a socket that never had socket security: Windows "
        "accepts it and the name protects nothing (WSASetSocketPeerTargetName's page and "
        "Microsoft's examples call WSASetSocketSecurity first)"
    ),
    "impersonated-unsecured": (
        "the peer of a connection whose security query reports it unsecured was impersonated: "
        "the 'peer' is whoever connected, unauthenticated (SOCKET_SECURITY_QUERY_INFO: without "
        "SOCKET_INFO_CONNECTION_SECURED 'the traffic is flowing in the clear')"
    ),
    "token-left-open": (
        "a peer access token from WSAQuerySocketSecurity was still open when the block ended "
        "(SOCKET_SECURITY_QUERY_INFO: 'the application should close the handle'): close the "
        "SecurityInfo, or use it in a with block"
    ),
    "impersonation-left-open": (
        "a thread still impersonated a peer when the block ended (WSAImpersonateSocketPeer: "
        "until WSARevertImpersonation): use wsapeer.impersonate_peer()"
    ),
    "operation-unobserved": (
        "an overlapped operation was never waited for and its result never read: had it "
        "failed, nothing would have noticed (call wait() or result(), or use a with block)"
    ),
}

_RULE_NUMBERS = {
    getattr(lib, f"WSAPEER_RULE_{rule.upper().replace('-', '_')}", None): rule
    for rule in RULES
    if rule != "operation-unobserved"  # Python's own: the model never sees operations
}


class Violation(NamedTuple):
    """One mistake strict mode reports: the rule (a key of RULES), the socket
    handle the call used, and the calls involved ("WSAQuerySocketSecurity #3":
    the record's sequence number, where the model has one)."""

    rule: str
    handle: int
    calls: Tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule}: socket {self.handle}: {', '.join(self.calls)}: {RULES[self.rule]}"


class ContractViolation(AssertionError):
    """A contract_model(strict=True) block ended with violations (listed in
    .violations): mistakes Windows would have accepted silently."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"{len(self.violations)} contract violation(s):\n{lines}")


def _read_violations(seen: Sequence[_overlapped.Seen]) -> List[Violation]:
    count = lib.wsapeer_model_violations(ffi.NULL, 0)
    while True:
        out = ffi.new("wsapeer_model_violation[]", max(count, 1))
        now = lib.wsapeer_model_violations(out, count)
        if now <= count:
            break
        count = now  # more arrived meanwhile
    found = [
        Violation(_RULE_NUMBERS[v.rule], int(v.sock), (f"{NAMES[v.function]} #{v.sequence}",))
        for v in out[0:now]
    ]
    found.extend(
        Violation("operation-unobserved", s.handle, (s.function,)) for s in seen if not s.observed
    )
    return found


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

    def __init__(self, seen: List[_overlapped.Seen]) -> None:
        self._frozen: Optional[List[ModelRecord]] = None
        self._frozen_violations: Optional[List[Violation]] = None
        self._seen = seen

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

    def violations(self) -> List[Violation]:
        """What strict mode would report if the block ended now (frozen after
        it), whether or not the block is strict; see RULES."""
        if self._frozen_violations is not None:
            return list(self._frozen_violations)
        return _read_violations(list(self._seen))

    def _freeze(self) -> None:
        self._frozen = _read_records()
        self._frozen_violations = _read_violations(list(self._seen))


@contextlib.contextmanager
def contract_model(strict: bool = False) -> Iterator[ContractModel]:
    """Routes this process's wsapeer calls to the contract model for the block.

    strict=True answers every call exactly as without it, and when the block
    ends without an exception of its own, raises ContractViolation if
    violations() is not empty.

    It does not nest: a second contract_model() while one is active raises
    RuntimeError, so that one test cannot switch the model off under another.
    In a build without the model (every Windows release build) it raises
    UnsupportedPlatformError.
    """
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be a bool, not {type(strict).__name__}")
    if not hasattr(lib, "wsapeer_model_enable"):
        raise UnsupportedPlatformError("contract_model", _NO_MODEL)
    seen: List[_overlapped.Seen] = []
    with _switch:
        if lib.wsapeer_model_enabled():
            raise RuntimeError(
                "contract_model() is already active in this process; it does not nest"
            )
        lib.wsapeer_model_reset()
        _overlapped.watch = seen
        lib.wsapeer_model_enable(1)
    model = ContractModel(seen)
    try:
        yield model
    finally:
        with _switch:
            lib.wsapeer_model_enable(0)
            _overlapped.watch = None
            model._freeze()
            lib.wsapeer_model_reset()
    # Only when the block itself raised nothing: never hides the test's own error.
    if strict and model._frozen_violations:
        raise ContractViolation(model._frozen_violations)


_NO_MODEL = (
    f"the contract model is not in this build of wsapeer (its Fwpuclnt is "
    f"{ffi.string(lib.wsapeer_fwpuclnt()).decode('ascii')!r}). Windows release builds "
    "never contain it, so that no code in a process can turn the real calls into "
    "pretended ones. For a test environment, build wsapeer from the sdist with the "
    "model on purpose: set WSAPEER_FWPUCLNT=model, then "
    "pip install --no-binary wsapeer wsapeer."
)
