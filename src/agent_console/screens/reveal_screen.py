"""RevealScreen: which number to reveal on this ticket, and why (the reason is audited)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from agent_console.i18n import t
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.services.standards import standards
from agent_console.widgets.localized import localize_bindings


class RevealScreen(SaveCancelButtons, ModalScreen[tuple[str, str] | None]):
    """Returns (field, reason)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Reveal", id="save"),
    ]

    def __init__(self, number: str, *, has_contact: bool, has_id: bool) -> None:
        super().__init__()
        self.number = number
        self.fields = ["phone"] + (["id_number"] if has_id else []) + \
            (["contact_phone"] if has_contact else [])
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(t("reveal.title", number=self.number)), id="dialog-title")
            yield Label(t("reveal.which"))
            yield Select[str]([(t(f"reveal.field.{f}"), f) for f in self.fields],
                              id="reveal-field", value=self.fields[0], allow_blank=False,
                              prompt=t("ui.select"))
            yield Label(t("reveal.why"))
            reasons = standards().reveal_reasons  # content/standards.toml
            yield Select[str]([(t(f"reveal.reason.{r}"), r) for r in reasons], id="reveal-reason",
                              value=reasons[0], allow_blank=False, prompt=t("ui.select"))
            yield Input(id="reveal-other", placeholder=t("reveal.other_placeholder"), max_length=200)
            yield Static(Content(t("reveal.notice")), id="reveal-notice")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("reveal.button"), variant="warning", id="save")
                yield Button(t("dialog.cancel"), id="cancel")

    def action_save(self) -> None:
        field = str(self.query_one("#reveal-field", Select).value)
        reason_code = str(self.query_one("#reveal-reason", Select).value)
        typed = self.query_one("#reveal-other", Input).value.strip()
        if reason_code == "other" and not typed:
            self.notify(t("form.required", field=t("reveal.why")), severity="warning")
            self.query_one("#reveal-other", Input).focus()
            return
        reason = t(f"reveal.reason.{reason_code}") + (f": {typed}" if typed else "")
        self.dismiss((field, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#reveal-other")
    def _submitted(self) -> None:
        self.action_save()
