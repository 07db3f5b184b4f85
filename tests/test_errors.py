import errno
import pickle

import pytest

import wsapeer
from wsapeer import WSA_ERRORS, WinsockError


@pytest.mark.parametrize(
    "code, name, err",
    [
        (10014, "WSAEFAULT", errno.EFAULT),
        (10022, "WSAEINVAL", errno.EINVAL),
        (10038, "WSAENOTSOCK", errno.ENOTSOCK),
        (10040, "WSAEMSGSIZE", errno.EMSGSIZE),
        (10047, "WSAEAFNOSUPPORT", errno.EAFNOSUPPORT),
        (10056, "WSAEISCONN", errno.EISCONN),
    ],
)
def test_documented_codes(code, name, err):
    exc = WinsockError(code, "WSASetSocketPeerTargetName")
    assert exc.winerror == code
    assert exc.errno == err
    assert isinstance(exc, OSError) and isinstance(exc, wsapeer.WsapeerError)
    text = str(exc)
    assert text.startswith(f"[Errno {err}] WSASetSocketPeerTargetName failed: {name} ({code}): ")
    from wsapeer._errors import FUNCTION_MEANINGS

    meaning = FUNCTION_MEANINGS.get(("WSASetSocketPeerTargetName", code), WSA_ERRORS[code].meaning)
    assert text.endswith(meaning)


def test_isconn_message_is_the_documented_one():
    assert "not permitted with a connected socket" in str(WinsockError(10056, "f"))


def test_unknown_code():
    exc = WinsockError(12345, "WSASetSocketPeerTargetName", "detail here")
    assert exc.winerror == 12345 and exc.errno is None
    assert str(exc) == "WSASetSocketPeerTargetName failed with Winsock error 12345 (detail here)"


def test_pickles():
    exc = pickle.loads(pickle.dumps(WinsockError(10056, "WSASetSocketPeerTargetName")))
    assert exc.winerror == 10056 and "WSAEISCONN" in str(exc)
    unsupported = pickle.loads(pickle.dumps(wsapeer.UnsupportedPlatformError("f")))
    assert "Windows Vista" in str(unsupported)


def test_shim_status_mapping():
    from wsapeer._errors import raise_status
    from wsapeer._wsapeer import lib

    with pytest.raises(WinsockError) as info:
        raise_status(10038, "f")
    assert info.value.winerror == 10038
    with pytest.raises(wsapeer.UnsupportedPlatformError):
        raise_status(lib.WSAPEER_E_UNSUPPORTED, "f")
    with pytest.raises(ValueError, match="refused an argument"):
        raise_status(lib.WSAPEER_E_ARGUMENT, "f")
    with pytest.raises(wsapeer.WsapeerError, match="without reporting an error code"):
        raise_status(lib.WSAPEER_E_INTERNAL, "f")


def test_function_specific_meanings():
    assert "zero peer" in str(WinsockError(10022, "WSASetSocketPeerTargetName"))
    assert "only once per socket" in str(WinsockError(10022, "WSASetSocketSecurity"))
    assert "no target name was set" in str(WinsockError(10022, "WSADeleteSocketPeerTargetName"))
    assert str(WinsockError(10022, "WSAQuerySocketSecurity")).endswith("SOCK_STREAM/SOCK_DGRAM.")


def test_the_winsock_codes_c_uses_are_pythons():
    """Each Winsock code src/fwpuclnt.h defines for C has the same number and
    name in Python's one table."""
    from wsapeer._wsapeer import lib

    c_codes = {
        name[len("WSAPEER_") :]: getattr(lib, name)
        for name in dir(lib)
        if name.startswith("WSAPEER_WSA")
    }
    assert len(c_codes) >= 9
    for name, code in c_codes.items():
        assert code in wsapeer.WSA_ERRORS, name
        assert wsapeer.WSA_ERRORS[code].name == name


def test_function_meanings_name_calls_of_the_family():
    from wsapeer._calls import NAMES
    from wsapeer._errors import FUNCTION_MEANINGS

    for function, code in FUNCTION_MEANINGS:
        assert function in NAMES.values()
        assert code in WSA_ERRORS
