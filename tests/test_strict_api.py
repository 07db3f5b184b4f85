"""Silent security mistakes the API refuses: an enum or flag of another kind
(its value may mean something else here), equal-but-distinct sockets in a
batch, the family check on socket.socket subclasses, copies of token owners."""

import copy
import os
import pathlib
import pickle
import socket
import subprocess
import sys
import textwrap

import pytest

import wsapeer
from wsapeer import (
    IPsecFlags,
    IPsecSettings,
    PeerTargetName,
    SecurityInfoFlags,
    SecurityProtocol,
    SecuritySettings,
    SecuritySettingsFlags,
)
from wsapeer.testing import contract_model

PEER = ("192.0.2.1", 500)

FOREIGN = [
    ("flags", lambda: SecuritySettings(flags=IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION)),
    ("ipsec_flags", lambda: IPsecSettings(ipsec_flags=SecuritySettingsFlags.ALLOW_INSECURE)),
    ("flags", lambda: IPsecSettings(flags=IPsecFlags.SKIP_FILTER_INSTANTIATION)),
    ("protocol", lambda: IPsecSettings(protocol=SecuritySettingsFlags.GUARANTEE_ENCRYPTION)),
    ("protocol", lambda: PeerTargetName("x", protocol=SecuritySettingsFlags.GUARANTEE_ENCRYPTION)),
    ("protocol", lambda: PeerTargetName("x", protocol=socket.AF_INET)),
    ("protocol", lambda: wsapeer.set_peer_target_name(0, "x", protocol=SecurityInfoFlags.SECURED)),
    ("protocol", lambda: wsapeer.secure_client(0, "x", protocol=socket.SOCK_DGRAM)),
    ("flags", "pretend_peer"),
]


@pytest.mark.parametrize("parameter, call", FOREIGN)
@pytest.mark.needs_model
def test_a_member_of_another_enumeration_is_refused(parameter, call):
    with contract_model() as model:
        if call == "pretend_peer":
            call = lambda: model.pretend_peer(IPsecFlags.SKIP_FILTER_INSTANTIATION)  # noqa: E731
        with pytest.raises(TypeError, match=rf"{parameter} takes \w+ or a plain int, not <"):
            call()
        assert model.records == []


def test_plain_ints_and_own_members_still_work():
    assert SecuritySettings(flags=2).flags is SecuritySettingsFlags.ALLOW_INSECURE
    assert PeerTargetName("x", protocol=2).protocol is SecurityProtocol.IPSEC2
    assert IPsecSettings(ipsec_flags=IPsecFlags.SKIP_FILTER_INSTANTIATION | 8).ipsec_flags == 9
    with pytest.raises(TypeError, match="not bool"):
        SecuritySettings(flags=True)


def mypy_errors(script):
    """The line of each error mypy --strict reports in script, sorted, and its
    output, against this checkout's wsapeer."""
    package_root = pathlib.Path(wsapeer.__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null",
         str(script)],
        capture_output=True, text=True, cwd=script.parent,
        env=dict(os.environ, MYPYPATH=str(package_root)),
    )  # fmt: skip
    lines = [int(line.split(":")[1]) for line in run.stdout.splitlines() if ": error:" in line]
    return sorted(lines), run.stdout


def test_type_checkers_flag_a_foreign_enum(tmp_path):
    """mypy --strict reports each foreign enum a user passes, and accepts the rest."""
    pytest.importorskip("mypy")
    script = tmp_path / "user.py"
    script.write_text(
        textwrap.dedent(
            """
            import socket
            from wsapeer import (IPsecFlags, IPsecSettings, PeerTargetName, SecurityProtocol,
                                 SecuritySettings, SecuritySettingsFlags)

            SecuritySettings(flags=IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION)  # line 6
            IPsecSettings(ipsec_flags=SecuritySettingsFlags.ALLOW_INSECURE)  # line 7
            PeerTargetName("x", protocol=SecuritySettingsFlags.GUARANTEE_ENCRYPTION)  # line 8
            PeerTargetName("x", protocol=socket.AF_INET)  # line 9
            SecuritySettings(flags=SecuritySettingsFlags.ALLOW_INSECURE)
            SecuritySettings(flags=2)
            PeerTargetName("x", protocol=SecurityProtocol.IPSEC2)
            PeerTargetName("x", protocol=1)
            IPsecSettings(ipsec_flags=IPsecFlags.SKIP_FILTER_INSTANTIATION | IPsecFlags(8))
            SecuritySettings(flags=SecuritySettingsFlags.GUARANTEE_ENCRYPTION
                             | IPsecFlags.OPTIONAL_PEER_NAME_VERIFICATION)  # line 16
            IPsecSettings(ipsec_flags=IPsecFlags.SKIP_FILTER_INSTANTIATION
                          ^ SecuritySettingsFlags.ALLOW_INSECURE)  # line 18
            SecuritySettings(flags=SecuritySettingsFlags.ALLOW_INSECURE & socket.SOCK_DGRAM)
            SecuritySettings(flags=SecurityProtocol.IPSEC2 | SecuritySettingsFlags.NONE)  # 20
            """
        )
    )
    flagged, output = mypy_errors(script)
    assert flagged == [6, 7, 8, 9, 16, 18, 19, 20], output


class EqualToAll(socket.socket):
    """A socket subclass that compares equal to any other socket (a plausible
    wrapper __eq__): only identity says two items share a socket."""

    def __eq__(self, other):
        return isinstance(other, socket.socket)

    __hash__ = socket.socket.__hash__


@pytest.mark.needs_model
def test_apply_many_compares_sockets_by_identity():
    with (
        contract_model() as model,
        EqualToAll(socket.AF_INET, socket.SOCK_DGRAM) as a,
        EqualToAll(socket.AF_INET, socket.SOCK_DGRAM) as b,
    ):
        targets = [PeerTargetName("host/a", PEER), PeerTargetName("host/b", PEER)]
        assert wsapeer.apply_many([(a, targets[0]), (b, targets[1])]) == [None, None]
        assert {r.handle for r in model.records} == {a.fileno(), b.fileno()}


@pytest.mark.needs_model
def test_apply_many_never_takes_true_for_handle_1():
    target = PeerTargetName("host/a", PEER)
    with contract_model():
        results = wsapeer.apply_many([(1, target), (True, target)])
    assert isinstance(results[1], TypeError) and "not bool" in str(results[1])


class V6(socket.socket):
    pass


def raise_first(results):
    if results[0] is not None:
        raise results[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda s: wsapeer.set_peer_target_name(s, "host/x", PEER),
        lambda s: PeerTargetName("host/x", PEER).apply(s),
        lambda s: PeerTargetName("host/x", PEER).apply_async(s),
        lambda s: raise_first(wsapeer.apply_many([(s, PeerTargetName("host/x", PEER))])),
    ],
)
@pytest.mark.needs_model
def test_family_checked_for_socket_subclasses_on_every_path(call):
    with contract_model() as model, V6(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        for _ in range(3):  # new, seen once, cached: the check never goes away
            with pytest.raises(ValueError, match="IPv4 address but the socket is IPv6"):
                call(s)
        assert model.records == []


@pytest.mark.needs_model
def test_security_info_cannot_be_copied_or_pickled():
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        model.pretend_peer(SecurityInfoFlags.SECURED, tokens=True)
        with wsapeer.query_socket_security(u, PEER, access_mask=0x8) as info:
            for duplicate in (copy.copy, copy.deepcopy, pickle.dumps):
                with pytest.raises(TypeError, match="owns the peer's token handles"):
                    duplicate(info)
            handle = info.peer_application_token
            assert model.token_closes(handle) == 0
        assert model.token_closes(handle) == 1


def test_type_checkers_flag_a_wrong_peer_or_socket(tmp_path):
    """mypy --strict reports a malformed peer tuple, address or socket in a
    user's script (issue 16), and accepts the socket module's shapes."""
    pytest.importorskip("mypy")
    script = tmp_path / "user.py"
    script.write_text(
        textwrap.dedent(
            """
            import ipaddress, socket
            import wsapeer

            s = socket.socket()
            wsapeer.set_peer_target_name(s, "h", ("192.0.2.1", "500"))  # line 6
            wsapeer.set_peer_target_name(s, "h", ("192.0.2.1",))  # line 7
            wsapeer.delete_peer_target_name(s, "192.0.2.1")  # line 8
            wsapeer.PeerTargetName("h", ("::1", 500, 0))  # line 9
            wsapeer.create_connection("127.0.0.1:80", "h")  # line 10
            wsapeer.set_peer_target_name("not a socket", "h")  # line 11
            wsapeer.set_peer_target_name(s, "h", ("192.0.2.1", 500))
            wsapeer.set_peer_target_name(s.fileno(), "h", ("::1", 500, 0, 3))
            wsapeer.PeerTargetName("h", (ipaddress.ip_address("::1"), 500))
            wsapeer.delete_peer_target_name(s, ("192.0.2.1", 500))
            peer: wsapeer.PeerAddress = ("192.0.2.1", 500)
            sock: wsapeer.SocketLike = s
            wsapeer.set_peer_target_name(sock, "h", peer)
            """
        )
    )
    flagged, output = mypy_errors(script)
    assert sorted(set(flagged)) == [6, 7, 8, 9, 10, 11], output
