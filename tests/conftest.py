import json
import pathlib
import sys

import pytest
from builds import MODEL_BUILD

import wsapeer
import wsapeer.testing

DATA = pathlib.Path(__file__).parent / "data"

NO_MODEL = (
    "needs the in-process contract model, a WSAPEER_FWPUCLNT=model build "
    f"(this build's Fwpuclnt is {wsapeer.FWPUCLNT!r})"
)


def load_vectors():
    with open(DATA / "peer_target_name_vectors.json", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def vectors():
    return load_vectors()


# ---- the needs_model mark, kept exact both ways ---------------------------
#
# A test marked needs_model is skipped, with the reason, on a build without
# the model. So that the mark can wave no failure through, a model build
# checks each test: one marked must enter contract_model(), one that enters
# it must be marked. A test that needs a model build for another reason (it
# reads the model's own C functions, or expects what a model build does
# outside the block) says why: needs_model(reason=...), exempt from the first
# check.


class _CountingSwitch:
    """wsapeer.testing's switch lock, counting the blocks that take it (every
    contract_model() block takes it to start and to end)."""

    def __init__(self, lock):
        self.lock = lock
        self.taken = 0

    def __enter__(self):
        self.taken += 1
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


_switch = _CountingSwitch(wsapeer.testing._switch)
wsapeer.testing._switch = _switch


def pytest_collection_modifyitems(config, items):
    if MODEL_BUILD:
        return
    for item in items:
        mark = item.get_closest_marker("needs_model")
        if mark is not None:
            why = mark.kwargs.get("reason")
            item.add_marker(pytest.mark.skip(reason=NO_MODEL + (f": {why}" if why else "")))


_BEFORE = pytest.StashKey[int]()
_RAISED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    item.stash[_BEFORE] = _switch.taken
    try:
        return (yield)
    except BaseException:  # a failure or a skip: nothing to check
        item.stash[_RAISED] = True
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    except BaseException:
        item.stash[_RAISED] = True
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    if not MODEL_BUILD or item.stash.get(_RAISED, False) or _BEFORE not in item.stash:
        return result
    mark = item.get_closest_marker("needs_model")
    used = _switch.taken > item.stash[_BEFORE]
    if mark is None and used:
        pytest.fail(
            "enters contract_model() without the needs_model mark: it would fail, not skip, "
            "on a build without the model"
        )
    if mark is not None and not used and not mark.kwargs.get("reason"):
        pytest.fail(
            "marked needs_model but never enters contract_model(): on a build without the "
            "model the mark would skip it for nothing (give needs_model(reason=...) if it "
            "needs a model build otherwise)"
        )
    return result


def pytest_report_header(config):
    return f"wsapeer: Fwpuclnt {wsapeer.FWPUCLNT!r} on {sys.platform}"
