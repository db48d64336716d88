"""ChoiceScreen: pick one value from a short list (a category or a channel filter)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from agent_console.widgets.localized import localize_bindings


class ChoiceScreen(ModalScreen[str | None]):
    """Returns the chosen id; "" is the "any" entry."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str) -> None:
        super().__init__()
        self.heading, self.choices, self.current = title, choices, current
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(self.heading), id="dialog-title")
            yield OptionList(*[Option(Content(text), id=value or "-") for text, value in self.choices],
                             id="choice-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [value for _, value in self.choices]
        options.highlighted = ids.index(self.current) if self.current in ids else 0

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss("" if event.option.id == "-" else event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
