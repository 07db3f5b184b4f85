"""The contract model tells the truth about sockets (issue 14): inheritance from
the listener that accepted, duplicates, fork, and toggling while threads call."""

import os
import signal
import socket
import sys
import threading
import time
import warnings

import pytest

import wsapeer
from wsapeer import WinsockError
from wsapeer._wsapeer import lib
from wsapeer.testing import contract_model

pytestmark = [
    pytest.mark.needs_model,
    # Identity by inode across dup() and fork() is POSIX's; on Windows the
    # model keys handles, tested by tests/windows/test_shim.c.
    pytest.mark.skipif(
        sys.platform == "win32", reason="POSIX socket identity: inodes, dup() and fork()"
    ),
]


def listener(address, secured):
    s = socket.socket()
    if secured:
        wsapeer.set_socket_security(s)
    s.bind(address)
    s.listen()
    return s


def accepted(server):
    client = socket.create_connection(server.getsockname())
    conn, _ = server.accept()
    return client, conn


# ---- inheritance: the listener that accepted, by full local address -----------


def test_unsecured_listener_on_another_address_of_the_same_port():
    with contract_model() as model:
        model.pretend_peer()
        secured = listener(("127.0.0.1", 0), True)
        port = secured.getsockname()[1]
        plain = listener(("127.0.0.2", port), False)
        client, conn = accepted(plain)
        try:
            assert conn.getsockname() == ("127.0.0.2", port)
            info = wsapeer.query_socket_security(conn)
            assert not info.secured and info.peer_application_token is None
        finally:
            for s in (client, conn, plain, secured):
                s.close()


def test_connection_keeps_its_listeners_security_after_the_listener_closes():
    with contract_model() as model:
        model.pretend_peer()
        server = listener(("127.0.0.1", 0), True)
        client, conn = accepted(server)
        try:
            assert wsapeer.query_socket_security(conn).secured
            server.close()
            assert wsapeer.query_socket_security(conn).secured
        finally:
            for s in (client, conn):
                s.close()


def test_secured_wildcard_listener_secures_its_connections():
    with contract_model() as model:
        model.pretend_peer()
        server = listener(("0.0.0.0", 0), True)
        client = socket.create_connection(("127.0.0.1", server.getsockname()[1]))
        conn, _ = server.accept()
        try:
            assert wsapeer.query_socket_security(conn).secured
        finally:
            for s in (client, conn, server):
                s.close()


def test_connection_of_a_replaced_listener_is_not_secured():
    """A secured listener closes; an unsecured one takes its exact address and
    accepts: that connection is in the clear."""
    with contract_model() as model:
        model.pretend_peer()
        first = listener(("127.0.0.1", 0), True)
        address = first.getsockname()
        first.close()
        second = socket.socket()
        second.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        second.bind(address)
        second.listen()
        client, conn = accepted(second)
        try:
            assert not wsapeer.query_socket_security(conn).secured
        finally:
            for s in (client, conn, second):
                s.close()


# ---- duplicates: one socket, however many descriptors ----------------------------


@pytest.mark.parametrize(
    "duplicate", [lambda s: s.dup(), lambda s: socket.fromfd(s.fileno(), s.family, s.type)]
)
def test_a_duplicate_shows_the_same_state(duplicate):
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        wsapeer.set_peer_target_name(u, "host/a", ("192.0.2.1", 500))
        with duplicate(u) as d:
            assert d.fileno() != u.fileno()
            assert model.calls(d) == ["WSASetSocketSecurity", "WSASetSocketPeerTargetName"]
            assert [t.target_name for t in model.peer_target_names(d)] == ["host/a"]
            # "Once per socket": the duplicate is the same socket.
            with pytest.raises(WinsockError) as info:
                wsapeer.set_socket_security(d)
            assert info.value.winerror == 10022
            # The same peer through the duplicate replaces the name; delete finds it.
            wsapeer.set_peer_target_name(d, "host/b", ("192.0.2.1", 500))
            assert [t.target_name for t in model.peer_target_names(u)] == ["host/b"]
            wsapeer.delete_peer_target_name(d, ("192.0.2.1", 500))
            assert model.peer_target_names(u) == []


def test_a_duplicate_of_a_secured_connection_is_secured():
    with contract_model() as model:
        model.pretend_peer()
        server = listener(("127.0.0.1", 0), True)
        client, conn = accepted(server)
        try:
            with conn.dup() as d:
                assert wsapeer.query_socket_security(d).secured
        finally:
            for s in (client, conn, server):
                s.close()


# ---- fork ------------------------------------------------------------------------


def test_fork_while_another_thread_is_in_the_model():
    stop = threading.Event()
    hung = 0

    with contract_model(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:

        def hammer():
            i = 0
            while not stop.is_set():
                wsapeer.set_peer_target_name(u, "host/h", ("192.0.2.1", 1 + i % 1000))
                i += 1

        workers = [threading.Thread(target=hammer) for _ in range(2)]
        for w in workers:
            w.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
                for _ in range(60):
                    pid = os.fork()
                    if pid == 0:
                        try:
                            wsapeer.set_peer_target_name(u, "host/child", ("192.0.2.2", 1))
                            lib.wsapeer_model_record_count()
                        finally:
                            os._exit(0)
                    deadline = time.monotonic() + 5
                    while True:
                        done, status = os.waitpid(pid, os.WNOHANG)
                        if done:
                            assert os.waitstatus_to_exitcode(status) == 0
                            break
                        if time.monotonic() > deadline:
                            hung += 1
                            os.kill(pid, signal.SIGKILL)
                            os.waitpid(pid, 0)
                            break
                        time.sleep(0.001)
        finally:
            stop.set()
            for w in workers:
                w.join()
    assert hung == 0, f"{hung} of 60 forked children hung in the model"


# ---- toggling while threads call ------------------------------------------------


def test_every_call_that_succeeded_is_in_its_block():
    """A call the model answered lands in the records of the block it was made
    in: never lost between the switch going off and the records being frozen,
    never left behind for the next block."""
    stop = threading.Event()
    succeeded = []
    recorded = set()
    late = []

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:

        def hammer():
            i = 0
            while not stop.is_set():
                i += 1
                peer = ("192.0.2.1", 1 + i % 65000)
                try:
                    wsapeer.set_peer_target_name(u, f"host/{i}", peer)
                except wsapeer.UnsupportedPlatformError:
                    continue
                succeeded.append(f"host/{i}")

        worker = threading.Thread(target=hammer)
        worker.start()
        try:
            for _ in range(1000):
                with contract_model() as model:
                    time.sleep(0.0002)
                recorded.update(t.target_name for t in model.peer_target_names(u))
                time.sleep(0.0001)  # the call in flight at the exit returns
                if lib.wsapeer_model_record_count():
                    late.append(lib.wsapeer_model_record_count())
                    lib.wsapeer_model_reset()
        finally:
            stop.set()
            worker.join()
    lost = [name for name in succeeded if name not in recorded]
    assert succeeded and lost == [] and late == []


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT")
def test_listeners_sharing_a_port_are_not_guessed():
    """Where POSIX lets a secured and an unsecured listener share an address
    (SO_REUSEPORT; Windows' exclusive port forbids it), the model cannot tell
    which accepted a connection: it never answers secured for the unsecured
    one's connections."""
    import select

    def reusing(secured):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if secured:
            wsapeer.set_socket_security(s)
        return s

    with contract_model() as model:
        model.pretend_peer()
        secured = reusing(True)
        secured.bind(("127.0.0.1", 0))
        secured.listen()
        plain = reusing(False)
        plain.bind(secured.getsockname())
        plain.listen()
        opened, from_plain = [], 0
        try:
            for _ in range(16):
                opened.append(socket.create_connection(secured.getsockname()))
                ready, _, _ = select.select([secured, plain], [], [], 5)
                for listening in ready:
                    conn, _ = listening.accept()
                    opened.append(conn)
                    if listening is plain:
                        from_plain += 1
                        assert not wsapeer.query_socket_security(conn).secured
            assert from_plain, "the kernel gave no connection to the unsecured listener"
        finally:
            for s in [*opened, secured, plain]:
                s.close()
