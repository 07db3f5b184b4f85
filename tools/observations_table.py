"""The windows_real observations of every architecture as one Markdown table,
for the wheels workflow's job summary (so that a person reads Windows' answers
without downloading anything).

    python tools/observations_table.py DIR >> "$GITHUB_STEP_SUMMARY"

DIR holds windows-observations-<arch>.json files, each {test: {what: repr}} as
tests/windows_real/conftest.py's observe() writes them. One row per (test,
what), one column per architecture; a cell is empty where that architecture
did not observe it (a test that failed early, or an architecture that never
ran).
"""

import json
import sys
from pathlib import Path
from typing import Dict, List

PREFIX = "windows-observations-"


def _cell(text: str) -> str:
    """A value as one Markdown table cell: pipes escaped, on one line, as code."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if text else ""


def table(folder: Path) -> str:
    runs: Dict[str, Dict[str, Dict[str, str]]] = {}
    for path in sorted(folder.glob(f"{PREFIX}*.json")):
        runs[path.stem[len(PREFIX) :]] = json.loads(path.read_text(encoding="utf-8"))
    if not runs:
        return "## Windows observations\n\nNo observations were recorded: no Windows test ran.\n"
    arches = sorted(runs)
    rows: List[str] = [
        "## Windows observations",
        "",
        "What tests/windows_real saw where Microsoft's pages are silent "
        "(`observe()`; the JSON artifacts hold the same).",
        "",
        "| test | observation | " + " | ".join(arches) + " |",
        "|---|---|" + "---|" * len(arches),
    ]
    keys = sorted(
        {(test, what) for run in runs.values() for test, seen in run.items() for what in seen}
    )
    for test, what in keys:
        cells = [_cell(runs[arch].get(test, {}).get(what, "")) for arch in arches]
        rows.append(f"| {_cell(test)} | {_cell(what)} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main(argv: List[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    sys.stdout.write(table(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
