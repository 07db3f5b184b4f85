"""Testing your own code without Windows: the contract model of Fwpuclnt::

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
from ._address import _check_int
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

#: What each strict-mode rule means, and the Microsoft text it comes from. The keys are the
#: ``rule`` a :class:`wsapeer.testing.Violation` names, the values the explanation its ``str()``
#: ends with.
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
    """One mistake strict mode reports, which Windows itself would have accepted silently.

    Made by the contract model and handed out by
    :meth:`wsapeer.testing.ContractModel.violations` and in
    :class:`wsapeer.testing.ContractViolation`; a plain immutable tuple, valid after the
    block. ``str()`` gives the rule, the socket, the calls and the rule's explanation.

    Attributes:
        rule: the rule broken, a key of ``wsapeer.testing.RULES``:
            ``"name-without-security"``, ``"impersonated-unsecured"``,
            ``"token-left-open"``, ``"impersonation-left-open"`` or
            ``"operation-unobserved"``.
        handle: the socket handle the call used (a file descriptor off Windows).
        calls: the calls involved, e.g. ``("WSAQuerySocketSecurity #3",)``: each function's
            name and, where the model has one, the ``sequence`` of its
            :class:`wsapeer.testing.ModelRecord` (an unobserved operation has its function's
            name only).
    """

    rule: str
    handle: int
    calls: Tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule}: socket {self.handle}: {', '.join(self.calls)}: {RULES[self.rule]}"


class ContractViolation(AssertionError):
    """Raised when a strict block ends with mistakes Windows would have accepted silently.

    A :func:`wsapeer.testing.contract_model` block with ``strict=True`` raises it on the way
    out, if the block itself raised nothing and the model's
    :meth:`wsapeer.testing.ContractModel.violations` is not empty. An ``AssertionError``, so
    that test runners report it as a failed test; its message lists every violation with its
    socket, its calls and the rule's explanation.

    Attributes:
        violations: the :class:`wsapeer.testing.Violation` list, in the order the model found
            them.
    """

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
    """One call the model accepted, with the exact bytes the shim handed it.

    Made by the contract model and handed out by
    :attr:`wsapeer.testing.ContractModel.records`; a plain immutable tuple, kept after the
    block. Its ``repr`` shows the size of ``data``, never its bytes: settings may hold a
    password.

    Attributes:
        sequence: the call's number in its block, from 1, in the order the model accepted
            the calls; a :class:`wsapeer.testing.Violation` cites it as ``#3``.
        function: the Winsock function, e.g. ``"WSASetSocketPeerTargetName"``.
        handle: the socket handle the call used (a file descriptor off Windows).
        thread: the calling thread, as ``threading.get_ident()`` names it.
        data: the exact bytes of the call's input: the SOCKET_PEER_TARGET_NAME, the settings
            structure (the password included: handle with care), the peer's sockaddr or the
            query template; empty where there was none.
        ident: tells a socket from a later one reusing its handle: the inode on POSIX, the
            file reference number Windows reports for the handle (Wine does), 0 where there
            is none.
    """

    sequence: int
    function: str
    handle: int
    thread: int
    data: bytes
    #: Tells a socket from a later one reusing its handle (the inode on POSIX,
    #: Windows' file reference number, 0 where there is none).
    ident: int = 0

    def __repr__(self) -> str:
        # data may be settings holding a password: its size only, never its bytes.
        return (
            f"ModelRecord(sequence={self.sequence}, function={self.function!r}, "
            f"handle={self.handle}, thread={self.thread}, data=<{len(self.data)} bytes>, "
            f"ident={self.ident})"
        )


def _ident(handle: int) -> Optional[int]:
    """What the model keys a socket by, besides its handle: the inode on POSIX; on
    Windows the model's own reading (the file reference number, 0 where there is none,
    having first forgotten an earlier socket of that handle that the facts contradict);
    None when the handle is closed."""
    if sys.platform == "win32":
        ident = int(lib.wsapeer_model_socket_ident(handle))
        return None if ident == 2**64 - 1 else ident
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
    """The contract model as one block sees it: what it recorded, and the test's controls.

    Made by :func:`wsapeer.testing.contract_model` and yielded to its block, never built by
    hand. Inside the block ``records``, ``calls()``, ``peer_target_names()`` and
    ``violations()`` read the model live; when the block ends they are frozen at what it held
    then (the model itself is reset), so a test can still check them afterwards.
    ``pretend_peer()``, ``token_closes()``, ``open_tokens()`` and ``impersonating()`` act on
    the model's current state, which every block starts afresh (a token left open stays
    known after its block, so that it can still be closed and counted).

    Raises:
        TypeError: from ``calls()`` and ``peer_target_names()``, for a ``sock`` that is not a
            socket, an object whose ``fileno()`` returns an int, or an int; from
            ``pretend_peer()``, for flags of another enumeration or an argument that is not a
            number. Making the object raises nothing.
        ValueError: from ``calls()`` and ``peer_target_names()``, for a closed socket; from
            ``token_closes()``, for a handle the model did not issue.
    """

    def __init__(self, seen: List[_overlapped.Seen]) -> None:
        self._frozen: Optional[List[ModelRecord]] = None
        self._frozen_violations: Optional[List[Violation]] = None
        self._seen = seen

    @property
    def records(self) -> List[ModelRecord]:
        """Every call the model accepted in the block, oldest first, as
        :class:`wsapeer.testing.ModelRecord` tuples: read live inside the block, frozen when it
        ends, a new list on every read. A repeated call for the same socket and peer replaces
        the earlier record (as Windows replaces the name), and deleting a name removes its record.
        """
        return list(self._frozen) if self._frozen is not None else _read_records()

    def peer_target_names(self, sock: SocketLike) -> List[PeerTargetName]:
        """The target names set on ``sock`` and still in force, decoded from the bytes received.

        Each WSASetSocketPeerTargetName record of the socket is rebuilt with
        :meth:`wsapeer.PeerTargetName.from_bytes`, so comparing the result with the
        :class:`wsapeer.PeerTargetName` meant checks exactly what Windows would have received.
        The socket is matched whichever of its descriptors a call used (POSIX: by its inode;
        Windows: by the file reference number Windows reports, else by its handle), and
        never confused with an earlier socket that had the same handle.

        Args:
            sock: a :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an
                int).

        Returns:
            The :class:`wsapeer.PeerTargetName` objects, oldest first, one per peer named (a
            TCP socket has at most one).

        Raises:
            TypeError: when ``sock`` is not a socket, an object whose ``fileno()`` returns an
                int, or an int (a bool included).
            ValueError: when ``sock`` is closed or its handle is out of range.
        """
        return [
            PeerTargetName.from_bytes(r.data)
            for r in self._of(sock)
            if r.function == NAMES[SET_PEER_TARGET_NAME]
        ]

    def _of(self, sock: SocketLike) -> List[ModelRecord]:
        """The records of this socket, whichever descriptor of it a call used
        (POSIX: its inode; Windows: its file reference number, else its handle), and not
        of an earlier socket that had the same handle."""
        handle = handle_of(sock)
        ident = _ident(handle)
        if ident:
            return [r for r in self.records if r.ident == ident]
        return [r for r in self.records if r.handle == handle and (ident is None or not r.ident)]

    def calls(self, sock: Optional[SocketLike] = None) -> List[str]:
        """The Winsock functions the model accepted, oldest first: to check the order of calls.

        For example, that a client's calls were
        ``["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]``: security first.

        Args:
            sock: only the calls on this socket (whichever of its descriptors they used): a
                :class:`socket.socket`, an object with ``fileno()`` or a raw handle (an int);
                ``None`` (the default): every call of the block, on any socket.

        Returns:
            The function names, e.g. ``"WSASetSocketSecurity"``, one per record.

        Raises:
            TypeError: when ``sock`` is not ``None``, a socket, an object whose ``fileno()``
                returns an int, or an int (a bool included).
            ValueError: when ``sock`` is closed or its handle is out of range.
        """
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
        """Sets what queries report for sockets the model secured, and connections accepted on them.

        The model negotiates nothing itself, so until this is called (and in every new
        block) queries report no flags: unsecured. The setting holds for the queries made
        after it, until the block ends. Every argument is checked before the model changes.

        Args:
            flags: the :class:`wsapeer.SecurityInfoFlags` (or a plain int) the queries
                report; SECURED by default.
            tokens: ``True`` hands out model token handles to queries that ask with an
                ``access_mask``; only wsapeer can close them (:class:`wsapeer.SecurityInfo`
                does), and ``token_closes()`` and ``open_tokens()`` show whether it did.
                Only while ``flags`` has SECURED: a connection in the clear has no
                authenticated peer, and its queries get no tokens.
            mm_sa_id: the main mode SA id an ``ipsec2=True`` query reports (0 to 2**64 - 1),
                while ``flags`` has SECURED (0 otherwise: no SA).
            qm_sa_id: the quick mode SA id an ``ipsec2=True`` query reports (0 to 2**64 - 1),
                while ``flags`` has SECURED (0 otherwise).
            negotiation_winerror: the negotiation error an ``ipsec2=True`` query reports (0 to
                2**32 - 1), with or without SECURED.
            sa_lookup_context: the SA lookup context an ``ipsec2=True`` query reports while
                ``flags`` has SECURED (all zero otherwise); ``None`` (the default): all zero.

        Raises:
            TypeError: when ``flags`` is a member of another enumeration or not an int, a
                number is not an int (a bool, a float or a str included), ``tokens`` is not
                a bool, or ``sa_lookup_context`` is neither ``None`` nor a :class:`uuid.UUID`.
            ValueError: when ``flags`` or a number is out of its range.
        """
        refuse_foreign(flags, SecurityInfoFlags, "flags")
        if type(flags) is SecurityInfoFlags:
            flags = int(flags)  # its own member: unknown bits may be pretended too
        _check_int(flags, "flags", 0, 0xFFFFFFFF)
        if not isinstance(tokens, bool):
            raise TypeError(f"tokens must be a bool, not {type(tokens).__name__}")
        _check_int(mm_sa_id, "mm_sa_id", 0, 2**64 - 1)
        _check_int(qm_sa_id, "qm_sa_id", 0, 2**64 - 1)
        _check_int(negotiation_winerror, "negotiation_winerror", 0, 0xFFFFFFFF)
        if sa_lookup_context is not None and not isinstance(sa_lookup_context, uuid.UUID):
            raise TypeError(
                f"sa_lookup_context must be a uuid.UUID or None, "
                f"not {type(sa_lookup_context).__name__}"
            )
        context = sa_lookup_context.bytes_le if sa_lookup_context is not None else ffi.NULL
        lib.wsapeer_model_set_peer_security(
            int(flags), int(tokens), mm_sa_id, qm_sa_id, negotiation_winerror, context
        )

    @staticmethod
    def token_closes(handle: int) -> int:
        """How often a model token handle was closed: 0 while open, 1 once closed properly.

        More than 1 is a double close (off Windows; on Windows a closed handle is just
        invalid, so the count is 0 or 1). A token stays known after its block while any
        token is open, and is forgotten when a block starts or ends with every token closed.

        Args:
            handle: a token handle the model issued, as
                :attr:`wsapeer.SecurityInfo.peer_application_token` or
                :attr:`wsapeer.SecurityInfo.peer_machine_token` gave it.

        Returns:
            The number of times the handle was closed.

        Raises:
            TypeError: when ``handle`` is not an int (a bool included).
            ValueError: when ``handle`` is outside 0..2**64 - 1, or the model never issued
                it, or has forgotten it.
        """
        _check_int(handle, "handle", 0, 2**64 - 1)
        closes = lib.wsapeer_model_token_closes(handle)
        if closes < 0:
            raise ValueError(f"{handle:#x} is not a token the contract model issued")
        return int(closes)

    @staticmethod
    def open_tokens() -> int:
        """How many model token handles are issued and not yet closed.

        0 once every :class:`wsapeer.SecurityInfo` that held some is closed: what a test
        checks to know that its code closes the peer's tokens.

        Returns:
            The count, tokens left open by earlier blocks included.
        """
        return int(lib.wsapeer_model_open_tokens())

    @staticmethod
    def impersonating() -> Optional[int]:
        """The socket handle whose peer the calling thread impersonates in the model, or ``None``.

        Impersonation is per thread: another thread's does not count. Every block starts
        with none.

        Returns:
            The handle the impersonation was made with, or ``None`` when the calling thread
            impersonates no peer.
        """
        sock = ffi.new("uint64_t *")
        return int(sock[0]) if lib.wsapeer_model_impersonating(sock) else None

    def violations(self) -> List[Violation]:
        """What strict mode would report if the block ended now; frozen when it ends.

        Available whether or not the block is strict: a test can check for a mistake
        without failing on it. The rules and their sources are in ``wsapeer.testing.RULES``.

        Returns:
            The :class:`wsapeer.testing.Violation` list, empty when there is nothing to
            report.
        """
        if self._frozen_violations is not None:
            return list(self._frozen_violations)
        return _read_violations(list(self._seen))

    def _freeze(self) -> None:
        self._frozen = _read_records()
        self._frozen_violations = _read_violations(list(self._seen))


@contextlib.contextmanager
def contract_model(strict: bool = False) -> Iterator[ContractModel]:
    """Routes this process's wsapeer calls to the contract model of Fwpuclnt for the block.

    Inside the block every wsapeer call of the process (all threads) goes to a C model of the
    documented behaviour of the secure socket calls: it checks the real socket, raises the
    :class:`wsapeer.WinsockError` Windows documents, and records what it accepted. Each block
    starts from an empty model (only peer tokens still open stay known). Outside the block
    calls raise :class:`wsapeer.UnsupportedPlatformError`; the model is selected only by this
    function, never by the environment. It authenticates nobody: it exists to catch wrong
    arguments and call order in tests. The exceptions below but
    :class:`wsapeer.testing.ContractViolation` are raised when the block is entered.

    ``strict=True`` answers every call exactly as without it, and when the block ends without
    an exception of its own, raises :class:`wsapeer.testing.ContractViolation` if
    :meth:`wsapeer.testing.ContractModel.violations` is not empty. An exception of the block
    is never hidden by one of the model.

    Args:
        strict: ``True`` fails the block on the mistakes Windows accepts silently (see
            ``wsapeer.testing.RULES``); ``False`` (the default) only lists them in
            ``violations()``.

    Yields:
        The :class:`wsapeer.testing.ContractModel` of this block, live inside it, frozen after.

    Raises:
        TypeError: when ``strict`` is not a bool.
        RuntimeError: when a ``contract_model()`` block is already active in this process (in
            any thread): it does not nest, so that one test cannot switch the model off under
            another.
        wsapeer.UnsupportedPlatformError: in a build of wsapeer without the model, where
            ``wsapeer.FWPUCLNT`` is not ``"model"``: every Windows release build, for one.
        wsapeer.testing.ContractViolation: with ``strict=True``, when the block ends without
            an exception of its own and the model found violations.
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
