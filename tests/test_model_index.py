"""The model's indexes against a plain dict: names set, replaced and deleted in
any order on many peers stay exactly what was asked (issue 14 replaced the
model's lists with hash tables; deletion shifts entries back)."""

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsapeer
from wsapeer import WinsockError
from wsapeer.testing import contract_model

pytestmark = pytest.mark.needs_model

# Few ports, many operations: long probe chains, collisions and wrap-around in
# a table of 16 to 64 slots.
ops = st.lists(
    st.tuples(st.sampled_from(["set", "delete"]), st.integers(0, 40), st.integers(0, 3)),
    max_size=300,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_names_match_a_dict(operations):
    expected = {}
    with contract_model() as model, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        wsapeer.set_socket_security(u)
        for op, port, name in operations:
            peer = ("192.0.2.7", 1000 + port)
            if op == "set":
                wsapeer.set_peer_target_name(u, f"host/n{name}", peer)
                expected[peer] = f"host/n{name}"
            elif peer in expected:
                wsapeer.delete_peer_target_name(u, peer)
                del expected[peer]
            else:
                with pytest.raises(WinsockError) as info:
                    wsapeer.delete_peer_target_name(u, peer)
                assert info.value.winerror == 10022
        got = {t.peer: t.target_name for t in model.peer_target_names(u)}
        assert got == expected
        assert len(model.records) == 1 + len(expected) + sum(
            1 for op, _, _ in operations if op == "delete"
        ) - _failed_deletes(operations)


def _failed_deletes(operations):
    present, failed = set(), 0
    for op, port, _ in operations:
        if op == "set":
            present.add(port)
        elif port in present:
            present.discard(port)
        else:
            failed += 1
    return failed
