"""The smoke script of tests/windows_python (a new user's first session: the
README, one call of each family, asyncio on the Proactor loop), run here too,
so that the tier under Wine and the Windows workflow run the same steps and
their observations compare like with like."""

import pathlib
import subprocess
import sys

SMOKE = pathlib.Path(__file__).resolve().parent.parent / "windows_python" / "smoke.py"


def test_smoke_script(observe):
    run = subprocess.run([sys.executable, str(SMOKE)], capture_output=True, text=True, timeout=600)
    for line in run.stdout.splitlines():
        if line.startswith("ok") and ": " in line:
            step, said = line[5:].split(": ", 1)
            observe(f"smoke {step}", said)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "steps passed" in run.stdout.splitlines()[-1], run.stdout
