"""tools/observations_table.py: the wheels workflow's job summary of what real
Windows answered, one column per architecture."""

import json
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).parent.parent / "tools" / "observations_table.py"


def run(folder):
    return subprocess.run(
        [sys.executable, str(TOOL), str(folder)], capture_output=True, text=True, check=True
    ).stdout


def test_one_row_per_observation_one_column_per_architecture(tmp_path):
    seen = {
        "AMD64": {"test_a[tcp]": {"verdict": "'stands'", "codes": "{0: (10040, 24)}"}},
        "ARM64": {"test_a[tcp]": {"verdict": "'units | bytes'"}},
    }
    for arch, data in seen.items():
        (tmp_path / f"windows-observations-{arch}.json").write_text(json.dumps(data))
    (tmp_path / "unrelated.json").write_text("{}")
    lines = run(tmp_path).splitlines()
    header = next(line for line in lines if line.startswith("| test"))
    assert header == "| test | observation | AMD64 | ARM64 |"
    rows = [line for line in lines if line.startswith("| `test_a")]
    assert rows == [
        "| `test_a[tcp]` | `codes` | `{0: (10040, 24)}` |  |",
        "| `test_a[tcp]` | `verdict` | `'stands'` | `'units \\| bytes'` |",
    ]
    # Every row has as many cells as the header (a pipe in a value is escaped).
    for row in rows:
        assert row.replace("\\|", "").count("|") == header.count("|")


def test_no_observations_says_so(tmp_path):
    assert "No observations were recorded" in run(tmp_path)


def test_the_keys_are_what_observe_writes():
    """The table reads the file conftest.py's observe() writes."""
    conftest = (Path(__file__).parent / "windows_real" / "conftest.py").read_text()
    assert "data.setdefault(request.node.name, {})[what] = repr(value)" in conftest
    # That the wheels workflow runs the table is .ci/packaging's check: the
    # sdist, whose tests the wheels run, carries no .github.
