"""Debian's Chromium and CJK fonts for the browser test, installed with apt when missing.

Prints the browser's path. Installs only as root with apt-get at hand (as CI runs); otherwise
says in one line what to install. Never downloads a browser build of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ["chromium", "fonts-noto-cjk"]
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def ensure() -> str:
    """The path of Debian's chromium, installed first if it or the CJK fonts are missing."""
    path = chromium()
    if path and CJK_FONT.exists():
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"the browser test needs Debian's chromium and CJK fonts: "
                         f"sudo apt-get install -y {' '.join(PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            raise SystemExit(f"{' '.join(command[:2])} failed: {tail[0]}")
    path = chromium()
    if path is None:
        raise SystemExit("apt-get installed chromium, but it is not on PATH")
    return path


if __name__ == "__main__":
    print(ensure())
    sys.exit(0)
