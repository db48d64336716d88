"""Four processes at once on one store, through the services, lose and duplicate nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "load_store.py"


def test_four_processes_lose_nothing():
    result = subprocess.run([sys.executable, str(SCRIPT), "--procs", "4", "--seconds", "3"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    header, row = result.stdout.splitlines()[:2]
    values = dict(zip(header.split(), row.split()))
    assert values["procs"] == "4" and float(values["ops/s"]) > 0
    assert values["busy"] == values["errors"] == values["lost"] == "0"
    assert "Traceback" not in result.stderr
