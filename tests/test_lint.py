"""The house rules a machine can check: ruff over everything, mypy (strict for the core)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


def test_ruff_finds_nothing():
    result = subprocess.run([str(BIN / "ruff"), "check", "src", "tests", "scripts"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]


def test_mypy_strict_on_the_core():
    result = subprocess.run([str(BIN / "mypy"), "src/agent_console/services",
                             "src/agent_console/models", "src/agent_console/db.py"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:]
