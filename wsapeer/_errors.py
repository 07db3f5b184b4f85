"""Exceptions, and the Winsock error codes the secure socket calls document.

WSA_ERRORS is Python's one table of the codes; tests check it against the
numbers src/fwpuclnt.h defines for C.
"""

from __future__ import annotations

import errno as _errno
import sys
from typing import Any, NamedTuple, NoReturn, Optional


class WinsockErrorInfo(NamedTuple):
    """What wsapeer knows of one Winsock error code: a value of ``wsapeer.WSA_ERRORS``.

    A plain, immutable named tuple that owns nothing: wsapeer makes one per code of
    ``WSA_ERRORS`` when it is imported.

    Attributes:
        name: the code's symbolic name in the Windows headers, e.g. ``"WSAEINVAL"``.
        errno: the matching POSIX ``errno`` value, which :class:`wsapeer.WinsockError`
            puts in its ``errno`` (e.g. ``errno.EINVAL`` for WSAEINVAL), or ``None`` for a
            code without one (WSA_IO_PENDING, WSA_IO_INCOMPLETE, WSASYSCALLFAILURE).
        meaning: the code's meaning, as the reference pages' error tables give it.

    Raises:
        TypeError: when built with a field missing or too many, as any named tuple is.
    """

    name: str
    errno: Optional[int]
    meaning: str


#: The Winsock error codes of the reference pages' error tables, each mapped to its
#: :class:`wsapeer.WinsockErrorInfo` (name, errno, documented meaning). A
#: :class:`wsapeer.WinsockError` takes its message and ``errno`` from here; a code not listed
#: still raises one, with its number alone.
WSA_ERRORS: dict[int, WinsockErrorInfo] = {
    995: WinsockErrorInfo(
        "WSA_OPERATION_ABORTED",
        _errno.ECANCELED,
        "The overlapped operation was cancelled (the socket closed, or the operation "
        "cancelled or timed out).",
    ),
    996: WinsockErrorInfo(
        "WSA_IO_INCOMPLETE", None, "The overlapped operation has not completed yet."
    ),
    997: WinsockErrorInfo(
        "WSA_IO_PENDING", None, "An overlapped operation was started and will complete later."
    ),
    10014: WinsockErrorInfo(
        "WSAEFAULT",
        _errno.EFAULT,
        "The system detected an invalid address pointer in attempting to use a pointer "
        "argument of a call.",
    ),
    10022: WinsockErrorInfo(
        "WSAEINVAL",
        _errno.EINVAL,
        "An invalid parameter was passed: the socket is not AF_INET/AF_INET6 with "
        "SOCK_STREAM/SOCK_DGRAM.",
    ),
    10038: WinsockErrorInfo(
        "WSAENOTSOCK", _errno.ENOTSOCK, "The descriptor passed is not a valid socket."
    ),
    10040: WinsockErrorInfo("WSAEMSGSIZE", _errno.EMSGSIZE, "A buffer passed was too small."),
    10045: WinsockErrorInfo(
        "WSAEOPNOTSUPP", _errno.EOPNOTSUPP, "The operation is not supported for this socket."
    ),
    10047: WinsockErrorInfo(
        "WSAEAFNOSUPPORT", _errno.EAFNOSUPPORT, "The specified address family is not supported."
    ),
    10054: WinsockErrorInfo(
        "WSAECONNRESET",
        _errno.ECONNRESET,
        "For a stream socket, the virtual circuit was reset by the remote side; for a UDP "
        "socket, a previous send resulted in an ICMP Port Unreachable message.",
    ),
    10056: WinsockErrorInfo(
        "WSAEISCONN",
        _errno.EISCONN,
        "The socket is connected. This function is not permitted with a connected socket, "
        "whether the socket is connection oriented or connectionless.",
    ),
    10107: WinsockErrorInfo(
        "WSASYSCALLFAILURE", None, "A system call that should never fail has failed."
    ),
}

#: What a reference page adds to a code's meaning for its own function.
FUNCTION_MEANINGS: dict[tuple[str, int], str] = {
    ("WSASetSocketPeerTargetName", 10022): (
        "An invalid parameter was passed: the socket is not AF_INET/AF_INET6 with "
        "SOCK_STREAM/SOCK_DGRAM, or a connectionless socket was given a zero peer "
        "address and port."
    ),
    ("WSASetSocketSecurity", 10022): (
        "An invalid parameter was passed: the socket is not AF_INET/AF_INET6 with "
        "SOCK_STREAM/SOCK_DGRAM, or the settings hold an incorrect value. Security can "
        "be set only once per socket, and before bind or connect."
    ),
    ("WSADeleteSocketPeerTargetName", 10022): (
        "An invalid parameter was passed: the socket is not AF_INET/AF_INET6 with "
        "SOCK_STREAM/SOCK_DGRAM, or no target name was set for that peer."
    ),
    ("WSAQuerySocketSecurity", 10040): (
        "A buffer passed was too small: a socket that is not TCP needs a query "
        "template naming the peer."
    ),
    ("WSAImpersonateSocketPeer", 10014): (
        "The system detected an invalid address pointer: a connectionless socket needs "
        "the peer address."
    ),
}


class WsapeerError(OSError):
    """Base class of the errors wsapeer raises for a call it made or could not make.

    An :class:`OSError`. Its subclasses are :class:`wsapeer.WinsockError` (Windows, or the
    contract model, refused the call) and :class:`wsapeer.UnsupportedPlatformError` (nothing
    here can make the call). A bare WsapeerError, neither of those, means that a call or a
    wait failed without reporting an error code. Argument errors are never WsapeerErrors:
    they are :class:`TypeError` and :class:`ValueError`, raised before any call.
    """


class WinsockError(WsapeerError):
    """A Winsock secure socket call failed: Windows, or the contract model, refused it.

    ``winerror`` is the WSA error code on every platform; ``function`` the Winsock
    function's name (e.g. ``"WSASetSocketPeerTargetName"``); ``errno`` the matching POSIX
    code (``errno.EINVAL`` for WSAEINVAL), or ``None`` for a code without one; the message
    names the function, the code and its documented meaning for that function (from
    ``wsapeer.WSA_ERRORS``). It pickles (without ``detail``).

    Args:
        winerror: the WSA error code (WSAGetLastError), e.g. 10022 for WSAEINVAL.
        function: the name of the Winsock function that failed.
        detail: more context, appended to the message in parentheses.
    """

    # A property, so that winerror means the same on every platform (CPython
    # only gives OSError a winerror slot on Windows).
    @property
    def winerror(self) -> int:
        """The WSA error code (WSAGetLastError), on every platform."""
        return self._winerror

    def __init__(self, winerror: int, function: str, detail: str = "") -> None:
        info = WSA_ERRORS.get(winerror)
        if info is None:
            text = f"{function} failed with Winsock error {winerror}"
            code = None
        else:
            meaning = FUNCTION_MEANINGS.get((function, winerror), info.meaning)
            text = f"{function} failed: {info.name} ({winerror}): {meaning}"
            code = info.errno
        if detail:
            text = f"{text} ({detail})"
        if code is None:
            super().__init__(text)
            self.strerror = text
        else:
            super().__init__(code, text)
        self._winerror = winerror
        self.function = function

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._winerror, self.function))


class UnsupportedPlatformError(WsapeerError):
    """Nothing here can make the call: no Winsock secure socket extensions on this platform.

    Raised by every call off Windows (outside ``wsapeer.testing.contract_model()`` in a
    build with the contract model), and by every call of a build without Fwpuclnt
    (``wsapeer.FWPUCLNT == "none"``). Nothing was done: wsapeer never pretends that a call
    succeeded. ``errno`` is ``errno.ENOSYS`` and ``function`` the Winsock function's name.
    Argument errors are still raised first, as on Windows.

    Args:
        function: the name of the Winsock function (or wsapeer facility) that is missing.
        reason: the message; ``None`` for the standard one, which names the platform and
            points to ``wsapeer.testing.contract_model()``.
    """

    def __init__(self, function: str, reason: Optional[str] = None) -> None:
        if reason is None:
            reason = (
                f"{function} requires Windows Vista / Windows Server 2008 or later; "
                f"this is {sys.platform}, where nothing was done. To exercise code on "
                "other platforms, use wsapeer.testing.contract_model()."
            )
        super().__init__(_errno.ENOSYS, reason)
        self.function = function
        self._reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.function, self._reason))


def raise_status(status: int, function: str) -> NoReturn:
    """Raises the exception a nonzero shim status stands for."""
    from ._wsapeer import ffi, lib

    if status > 0:
        raise WinsockError(status, function)
    if status == lib.WSAPEER_E_UNSUPPORTED:
        raise UnsupportedPlatformError(function)
    reason = ffi.string(lib.wsapeer_strerror(status)).decode("ascii")
    if status == lib.WSAPEER_E_NOMEM:
        raise MemoryError(f"{function}: {reason}")
    if status == lib.WSAPEER_E_INTERNAL:
        raise WsapeerError(None, f"{function}: {reason}")
    raise ValueError(f"{function}: {reason}")


def check(status: int, function: str) -> None:
    """Raises what a nonzero shim status stands for; returns on 0."""
    if status:
        raise_status(status, function)
