import json
import pathlib

import pytest

DATA = pathlib.Path(__file__).parent / "data"


def load_vectors():
    with open(DATA / "peer_target_name_vectors.json", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def vectors():
    return load_vectors()
