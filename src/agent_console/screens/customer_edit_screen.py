"""CustomerEditScreen: change customer information with a reason; numbers are typed anew,
never shown in full (the current ones appear masked as hints)."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from agent_console.i18n import t
from agent_console.models.read import CustomerInfo
from agent_console.screens.context import ReportsWorkerErrors
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.services.errors import InputError
from agent_console.widgets.localized import localize_bindings

NUMBERS = ("phone", "contact_phone", "id_number")  # typed anew; left empty = unchanged
TEXTS = ("name", "address", "plan")


class CustomerEditScreen(ReportsWorkerErrors, SaveCancelButtons,
                         ModalScreen[int | None]):
    """Returns how many fields changed, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]

    class Done(Message):
        def __init__(self, changed: int | None, error: str = "") -> None:
            super().__init__()
            self.changed, self.error = changed, error

    def __init__(self, customer: CustomerInfo, *,
                 save: Callable[[dict[str, str], str], int]) -> None:
        """`save(changes, reason)` returns how many fields changed; it runs in a worker and
        raises InputError for a value it refuses."""
        super().__init__()
        self.customer, self.store_changes = customer, save
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        c = self.customer
        hints = {"phone": c.phone_masked, "contact_phone": c.contact_phone_masked,
                 "id_number": c.id_number_masked}
        with Vertical(id="dialog"):
            yield Label(Content(t("customer.title")), id="dialog-title")
            for field in TEXTS:
                yield Label(t(f"customer.field.{field}"))
                yield Input(getattr(c, field), id=f"customer-{field}", max_length=200)
            for field in NUMBERS:
                yield Label(t(f"customer.field.{field}"))
                yield Input(id=f"customer-{field}", max_length=20,
                            placeholder=t("customer.unchanged", masked=hints[field] or "—"))
            yield Label(t("customer.reason"))
            yield Input(id="customer-reason", max_length=200)
            yield Static(id="customer-error")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("dialog.save"), variant="primary", id="save")
                yield Button(t("dialog.cancel"), id="cancel")

    def action_save(self) -> None:
        changes = {f: self.query_one(f"#customer-{f}", Input).value for f in TEXTS
                   if self.query_one(f"#customer-{f}", Input).value != getattr(self.customer, f)}
        changes.update({f: value for f in NUMBERS
                        if (value := self.query_one(f"#customer-{f}", Input).value.strip())})
        self.save(changes, self.query_one("#customer-reason", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="customer-writer")
    def save(self, changes: dict[str, str], reason: str) -> None:
        try:
            changed = self.store_changes(changes, reason)
        except InputError as refused:
            message = t("form.required", field=t("customer.reason")) if refused.code == "required" \
                and refused.field == "reason" else refused.localized()
            self.post_message(self.Done(None, message))
            return
        self.post_message(self.Done(changed))

    @on(Done)
    def _done(self, event: Done) -> None:
        if event.changed is None:
            self.query_one("#customer-error", Static).update(Content(event.error))
            return
        self.notify(t("customer.saved", count=event.changed))
        self.dismiss(event.changed)

    def action_cancel(self) -> None:
        self.dismiss(None)
