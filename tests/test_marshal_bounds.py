"""Every marshaller of the C shim writes exactly its structure's size: it
refuses a buffer one byte short, and never writes past the size it needs.

The Python layer always passes exact sizes, so these call the compiled
functions directly, with guard bytes around the output, in the ordinary
test command (the fuzzer checks the same under ASan, but only in CI).
"""

import pytest

from wsapeer._wsapeer import ffi, lib

NAME = "host/x".encode("utf-16-le")
UNITS = len(NAME) // 2
V4 = bytes([192, 0, 2, 1])
GUARD = 0xA5


def ptn(out, size):
    return lib.wsapeer_ptn_marshal(out, size, 1, lib.WSAPEER_PEER_IPV4, V4, 500, 0, 0, NAME, UNITS)


def settings(out, size):
    user = "u".encode("utf-16-le")
    return lib.wsapeer_settings_marshal(
        out, size, 1, 0, 0, ffi.NULL, ffi.NULL, user, len(user), ffi.NULL, 0, b"pw\0\0", 4
    )


def sockaddr(out, size):
    status = lib.wsapeer_sockaddr_marshal(out, size, lib.WSAPEER_PEER_IPV4, V4, 500, 0, 0)
    return 0 if status == 16 else status


def template(out, size):
    return lib.wsapeer_query_template_marshal(
        out, size, 2, 1, lib.WSAPEER_PEER_IPV4, V4, 500, 0, 0, 8, 0, 3
    )


MARSHALLERS = {
    "SOCKET_PEER_TARGET_NAME": (ptn, lib.WSAPEER_PTN_HEADER_SIZE + 2 * UNITS),
    "SOCKET_SECURITY_SETTINGS_IPSEC": (
        settings,
        lib.wsapeer_settings_size(1, 2, 0, 4),
    ),
    "SOCKADDR_IN": (sockaddr, lib.WSAPEER_SOCKADDR_IN_SIZE),
    "SOCKET_SECURITY_QUERY_TEMPLATE_IPSEC2": (template, lib.WSAPEER_QUERY_TEMPLATE_IPSEC2_SIZE),
}


@pytest.mark.parametrize("name", sorted(MARSHALLERS))
def test_exact_size_accepted_one_short_refused_nothing_written_past(name):
    marshal, need = MARSHALLERS[name]
    assert need > 0
    for size in (need, need + 8):
        out = ffi.new("uint8_t[]", [GUARD] * (need + 16))
        assert marshal(out, size) == lib.WSAPEER_OK, size
        assert list(out[need : need + 16]) == [GUARD] * 16  # nothing past the structure
    out = ffi.new("uint8_t[]", [GUARD] * (need + 16))
    assert marshal(out, need - 1) == lib.WSAPEER_E_BUFFER
    assert list(out[0 : need + 16]) == [GUARD] * (need + 16)  # refused: nothing written at all


def test_name_size_limits():
    assert lib.wsapeer_ptn_size(0) == 0
    assert lib.wsapeer_ptn_size(lib.WSAPEER_MAX_NAME_UNITS) == 144 + 2 * 32767
    assert lib.wsapeer_ptn_size(lib.WSAPEER_MAX_NAME_UNITS + 1) == 0
    assert lib.wsapeer_settings_size(1, lib.WSAPEER_MAX_STRING_BYTES + 2, 0, 0) == 0


def test_parser_needs_the_exact_size():
    out = ffi.new("uint8_t[]", 256)
    need = MARSHALLERS["SOCKET_PEER_TARGET_NAME"][1]
    assert ptn(out, need) == 0
    fields = ffi.new("wsapeer_ptn_fields *")
    assert lib.wsapeer_ptn_parse(out, need, fields) == lib.WSAPEER_OK
    for size in (need - 1, need + 1, need + 2):
        assert lib.wsapeer_ptn_parse(out, size, fields) == lib.WSAPEER_E_BUFFER, size


@pytest.mark.parametrize(
    "text", ["a", "pässwörd", "\u20ac\uffff", "\U0001f511key\U0010ffff", "x" * 300]
)
def test_wide_to_utf16le_matches_pythons_encoder(text):
    """The C conversion a password takes instead of str.encode, checked against
    Python's UTF-16LE encoder on text that is not secret."""
    expected = text.encode("utf-16-le")
    wide = ffi.new("wchar_t[]", text)
    out = ffi.new("uint8_t[]", len(expected) + 8)
    assert lib.wsapeer_utf16le_from_wide(out, len(expected), wide, len(wide) - 1) == len(expected)
    assert bytes(out[0 : len(expected)]) == expected and out[len(expected)] == 0
    assert lib.wsapeer_utf16le_from_wide(out, len(expected) - 1, wide, len(wide) - 1) == 0


def test_a_password_beyond_the_bmp_is_written_as_surrogate_pairs():
    from wsapeer import IPsecSettings

    password = "\U0001f511 open sesame \U0010ffff"
    settings = IPsecSettings(user_name="u", password=password)
    expected = password.encode("utf-16-le")
    assert settings.size == 84 + 2 + len(expected) + 4  # strings at 84; 4 bytes of tail padding
    assert bytes(settings)[86 : 86 + len(expected)] == expected
