"""The smoke run of a Windows release build, as a new user's first session:
import, ``--version``, the README's commands and example, one call of each
family (blocking, overlapped with an event and with a completion routine,
batches), and asyncio on the Proactor event loop.

Run by tests/windows_python/run under Windows CPython, where the contract
model DLL stands in as fwpuclnt.dll, and by the Windows workflow against the
real Fwpuclnt (tests/windows_real/test_smoke.py): what the two answer is
compared there, not assumed here, so on real Windows an unsecured query
answer (no IPsec policy on the runner) is printed, not failed. Every step
prints one line; the first failure stops the run with exit 1.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading

import wsapeer
import wsapeer.aio

STEPS = []


def step(function):
    STEPS.append(function)
    return function


@step
def the_build_is_windows():
    assert sys.platform == "win32", sys.platform
    assert wsapeer.FWPUCLNT == "windows", wsapeer.FWPUCLNT


def cli(*argv, stdin=None):
    result = subprocess.run(
        [sys.executable, "-m", "wsapeer", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (argv, result.returncode, result.stderr)
    return result.stdout


@step
def version():
    out = cli("--version")
    assert "windows" in out, out
    return out.strip()


@step
def readme_inspect_and_decode():
    shown = cli("inspect", "host/peer.example.com", "--peer", "192.0.2.1:5150")
    assert "host/peer.example.com" in shown, shown
    decoded = cli("inspect", "--decode", "-", stdin=shown)
    assert "192.0.2.1" in decoded and "5150" in decoded, decoded
    settings = cli("inspect-settings", "--protocol", "ipsec2")
    assert "SOCKET_SECURITY_SETTINGS_IPSEC" in settings, settings


@step
def readme_example():
    server = wsapeer.create_server(("127.0.0.1", 0))  # security before bind
    client = wsapeer.create_connection(server.getsockname(), "host/server.example.com")
    conn, _ = server.accept()
    try:
        with wsapeer.peer_security(conn, access_mask=0x8) as info:
            return f"secured={info.secured}"
    finally:
        for s in (conn, client, server):
            s.close()


@step
def each_blocking_call():
    server = wsapeer.create_server(("127.0.0.1", 0))
    with socket.socket() as client:
        wsapeer.set_socket_security(client)
        wsapeer.set_peer_target_name(client, "host/server.example.com")
        client.connect(server.getsockname())
        conn, _ = server.accept()
        with conn:
            info = wsapeer.query_socket_security(conn)
            if info.secured:
                with wsapeer.impersonate_peer(conn):
                    pass
    server.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        wsapeer.set_socket_security(udp)
        peer = ("192.0.2.7", 5150)
        wsapeer.set_peer_target_name(udp, "host/peer.example.com", peer)
        wsapeer.delete_peer_target_name(udp, peer)
    return f"secured={info.secured}"


@step
def overlapped_event_and_routine():
    seen = []
    for routine in (False, True):
        with socket.socket() as s:
            if routine:
                # A completion routine runs on the thread that issued the call,
                # in an alertable wait: result() is that wait.
                operation = wsapeer.set_socket_security_async(s, routine=True)
            else:
                operation = wsapeer.set_socket_security_async(s)
            operation.result()
            operation = wsapeer.set_peer_target_name_async(s, "host/server.example.com")
            operation.result()
            seen.append(operation.done())
    assert seen == [True, True], seen


@step
def a_batch_and_a_prepared_name():
    sockets = [socket.socket() for _ in range(8)]
    try:
        name = wsapeer.PeerTargetName("host/server.example.com")
        for s in sockets:
            wsapeer.set_socket_security(s)
        errors = wsapeer.apply_many([(s, name) for s in sockets])
        assert errors == [None] * len(sockets), errors
        with socket.socket() as one:
            wsapeer.set_socket_security(one)
            name.apply(one)
    finally:
        for s in sockets:
            s.close()


@step
def asyncio_on_the_proactor_loop():
    async def main():
        loop = asyncio.get_running_loop()
        assert type(loop).__name__ == "ProactorEventLoop", type(loop)
        answers = []

        async def serve(reader, writer):
            info = await wsapeer.aio.query_socket_security(writer.get_extra_info("socket"))
            answers.append(info.secured)
            writer.write((await reader.readline()).upper())
            await writer.drain()
            writer.close()

        server = await wsapeer.aio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await wsapeer.aio.open_connection(
            "127.0.0.1", port, target_name="host/server.example.com"
        )
        writer.write(b"ping\n")
        await writer.drain()
        line = await reader.readline()
        writer.close()
        server.close()
        await server.wait_closed()
        assert line == b"PING\n", line
        return f"secured={answers}"

    return asyncio.run(main())


@step
def a_thread_of_its_own():
    errors = []

    def work():
        try:
            with socket.socket() as s:
                wsapeer.set_socket_security_async(s).result()
        except Exception as error:  # reported below, on the main thread
            errors.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and not errors, errors


def main():
    for function in STEPS:
        try:
            said = function()
        except Exception as error:
            print(f"FAIL {function.__name__}: {type(error).__name__}: {error}")
            return 1
        print(f"ok   {function.__name__}" + (f": {said}" if said else ""))
    print(f"smoke: {len(STEPS)} steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
