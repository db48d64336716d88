"""Thin-link mode, for hotline agents on a slow or lossy SSH line.

Textual reads its animation level and colour system from the environment when it is first
imported, so the mode is prepared here, before the app's import: no animation, the terminal's 16
colours. The frame rate is left alone: a lower cap delays each key's echo by up to a frame. The
app adds the ANSI theme, a footer marker (F12), queue countdowns that move once a minute
together, and a driver that sends only what changed (`thin_output.ThinOutput`).
"""

from __future__ import annotations

import os


def prepare(thin: bool) -> None:
    """Set Textual's start-up knobs for the mode; call before anything imports textual."""
    if not thin:
        return
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    os.environ["TEXTUAL_COLOR_SYSTEM"] = "standard"

