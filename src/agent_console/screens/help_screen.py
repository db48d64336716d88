"""HelpScreen: every key of the screen underneath, in the agent's language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from agent_console.i18n import t
from agent_console.widgets.localized import localize_bindings
from agent_console.widgets.ticket_table import fit


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close", id="close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(t("help.title")), id="dialog-title")
            with VerticalScroll(id="help-keys"):
                lines = [f"{fit(key, 14)} {description}" for key, description in self.keys]
                yield Static(Content("\n".join(lines)))
            yield Label(Content(t("help.footer")), id="help-footer")

    def action_close(self) -> None:
        self.dismiss(None)
