"""ReasonScreen: ask for a short reason (skipping a script step must say why)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from agent_console.i18n import t
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.widgets.localized import localize_bindings


class ReasonScreen(SaveCancelButtons, ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.heading = title
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(self.heading), id="dialog-title")
            yield Input(id="reason-text", max_length=200)
            with Horizontal(id="dialog-buttons"):
                yield Button(t("dialog.save"), variant="primary", id="save")
                yield Button(t("dialog.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def action_save(self) -> None:
        reason = self.query_one(Input).value.strip()
        if not reason:
            self.notify(t("script.reason_needed"), severity="warning")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
