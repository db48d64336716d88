"""StatusScreen: pick the ticket's next status from the moves the workflow allows."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from agent_console.i18n import label, t
from agent_console.widgets.localized import localize_bindings


class StatusScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, number: str, current: str, moves: list[str]) -> None:
        super().__init__()
        self.number, self.current, self.moves = number, current, moves
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(t("status_dialog.title", number=self.number,
                          status=label("status", self.current)), id="dialog-title")
            options = []
            for move in self.moves:
                reopen = self.current in ("resolved", "closed") and move == "in_progress"
                options.append(Option(Content(t("status_dialog.reopen") if reopen else label("status", move)),
                                      id=move))
            yield OptionList(*options, id="status-options")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
