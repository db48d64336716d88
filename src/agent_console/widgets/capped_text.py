"""Keeping a TextArea within a length: a huge paste is cut, visibly, so nothing bogs down."""

from __future__ import annotations

from textual.widgets import TextArea

from agent_console.i18n import t


def cap_text(area: TextArea, limit: int) -> None:
    """Cut the text to `limit` characters and tell the agent so (called on TextArea.Changed)."""
    if len(area.text) > limit:
        area.text = area.text[:limit]
        area.move_cursor(area.document.end)
        area.notify(t("note.cut", limit=limit), severity="warning")
