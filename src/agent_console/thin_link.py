"""Thin-link mode, for hotline agents on a slow or lossy SSH line.

Textual reads its frame rate, animation level and colour system from the environment when it
is first imported, so the mode is prepared here, before the app's import: at most
`THIN_FPS` frames a second, no animation, the terminal's 16 colours. The app adds the ANSI
theme, a footer marker (F12), and queue countdowns that move once a minute together.
"""

from __future__ import annotations

import os

THIN_FPS = 60


def prepare(thin: bool) -> None:
    """Set Textual's start-up knobs for the mode; call before anything imports textual."""
    if not thin:
        return
    os.environ["TEXTUAL_FPS"] = str(THIN_FPS)
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    os.environ["TEXTUAL_COLOR_SYSTEM"] = "standard"

