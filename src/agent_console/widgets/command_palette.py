"""The command palette in the agent's language: its placeholder and its "no matches" line."""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

from agent_console.i18n import t


class LocalCommandPalette(CommandPalette):
    """Textual's palette, whose two fixed English strings come from the catalogs instead."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(placeholder=t("ui.palette_placeholder"), **kwargs)  # type: ignore[arg-type]

    def _start_no_matches_countdown(self, search_value: str) -> None:
        """As Textual 8.2.8 does it, with the line "No matches found" from the catalog."""
        self._stop_no_matches_countdown()

        def _show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(Option(
                    Align.center(Text(t("ui.palette_no_matches"), style="not bold")),
                    disabled=True, id=self._NO_MATCHES))
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, _show_no_matches)
