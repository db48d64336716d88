"""How the hall's waits and reasons are said, shared by the hall screens and the command line."""

from __future__ import annotations

from typing import Any

from agent_console.i18n import t
from agent_console.text import display_width


def wait_text(estimate: Any) -> str:
    """"10–15 分钟" / "10–15 min"; a short wait as "under 3 min"; no open counter said so."""
    if estimate.low is None:
        return t("hall.wait.unknown")
    if estimate.low == 0:
        return t("hall.wait.under", high=estimate.high)
    return t("hall.wait.range", low=estimate.low, high=estimate.high)


def pad(text: str, width: int) -> str:
    """Left-aligned to `width` terminal cells (a Chinese character takes two)."""
    return text + " " * max(0, width - display_width(text))
