"""tests/windows_real: the real Fwpuclnt.dll, on a Windows runner (wheels.yml).

Off Windows the whole directory is skipped, loudly: nothing here can pass by
accident on a platform without the API. Where Windows' behaviour is not
documented (whether these calls ever pend, what a name set before socket
security does), the tests record what they saw with observe(), which writes
past pytest's capture and to windows-observations.json for the first run to
teach us.
"""

import json
import os
import sys
from pathlib import Path

import pytest

OBSERVATIONS = Path(os.environ.get("WSAPEER_OBSERVATIONS", "windows-observations.json"))


def pytest_collection_modifyitems(config, items):
    import wsapeer

    if sys.platform == "win32" and wsapeer.FWPUCLNT == "windows":
        return
    reason = (
        "SKIPPED LOUDLY: tests/windows_real needs a Windows build whose calls reach "
        "fwpuclnt.dll (the real one: .github/workflows/wheels.yml; the contract model DLL "
        f"in its place: tests/windows_python); this is {sys.platform}, "
        f"Fwpuclnt {wsapeer.FWPUCLNT!r}"
    )
    sys.stderr.write(f"\n*** {reason} ***\n")
    for item in items:
        if "windows_real" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def observe(request):
    """observe(what, value): shows an undocumented outcome and keeps it."""

    def record(what, value):
        line = f"[windows-observation] {request.node.name}: {what}: {value!r}"
        sys.__stderr__.write(line + "\n")
        data = json.loads(OBSERVATIONS.read_text()) if OBSERVATIONS.exists() else {}
        data.setdefault(request.node.name, {})[what] = repr(value)
        OBSERVATIONS.write_text(json.dumps(data, indent=2, sort_keys=True))

    return record
