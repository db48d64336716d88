"""Small dialogs of a contact: go to a ticket by its number, write the resolution 处理结果."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, TextArea

from agent_console.i18n import t
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.services.validation import DESCRIPTION_LIMIT
from agent_console.widgets.capped_text import cap_text
from agent_console.widgets.localized import localize_bindings


class GoToTicketScreen(ModalScreen[str | None]):
    """Asks for a ticket number; returns what was typed (None on Escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]

    def __init__(self) -> None:
        super().__init__()
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(t("contact.goto.title")), id="dialog-title")
            yield Input(id="goto-number", placeholder=t("contact.goto.placeholder"),
                        max_length=20, restrict=r"[A-Za-z0-9 ]*")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ResolutionScreen(SaveCancelButtons, ModalScreen[str | None]):
    """The ticket's resolution, prefilled with the draft; returns the text (None on Escape).

    `resolving` says the ticket is resolved once this is saved (the title says so)."""

    DEFAULT_CSS = """
    ResolutionScreen #resolution-text { height: 8; }
    ResolutionScreen #resolution-hint { color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]

    def __init__(self, number: str, draft: str, *, resolving: bool = False) -> None:
        super().__init__()
        self.number, self.draft, self.resolving = number, draft, resolving
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        title = "contact.resolution.resolve_title" if self.resolving else "contact.resolution.title"
        with Vertical(id="dialog"):
            yield Label(Content(t(title, number=self.number)), id="dialog-title")
            yield TextArea(self.draft[:DESCRIPTION_LIMIT], id="resolution-text", soft_wrap=True,
                           max_checkpoints=200)
            yield Label(Content(t("contact.resolution.hint")), id="resolution-hint")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("contact.resolution.resolve" if self.resolving else "dialog.save"),
                             variant="primary", id="save")
                yield Button(t("dialog.cancel"), id="cancel")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @on(TextArea.Changed)
    def _typed(self) -> None:
        cap_text(self.query_one(TextArea), DESCRIPTION_LIMIT)

    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.notify(t("contact.resolution.empty"), severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
