"""NoteScreen: write a note on a ticket; the draft is kept in the store as it is typed.

The dialog stays open until the note is stored: if the store cannot take it (the database
server is gone), what was typed is still on screen to try again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea
from textual.worker import Worker

from agent_console.i18n import t
from agent_console.screens.context import DraftSlot, ReportsWorkerErrors, unfinished
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.services.validation import DESCRIPTION_LIMIT
from agent_console.widgets.capped_text import cap_text
from agent_console.widgets.localized import localize_bindings

DRAFT_DELAY = 0.8  # seconds after the last keystroke before the draft is written


class NoteScreen(ReportsWorkerErrors, SaveCancelButtons, ModalScreen[str | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("ctrl+s", "save", "Save", id="save"),
    ]

    def __init__(self, number: str, draft: DraftSlot,
                 submit: Callable[[str], Any] | None = None) -> None:
        """`submit` stores the note (called in a worker); the dialog closes once it has."""
        super().__init__()
        self.number, self.draft, self.submit = number, draft, submit
        self._close_anyway = False  # the draft could not be kept: a second Esc closes
        self._draft_timer = None
        self._draft_write: Worker[None] | None = None
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(t("note.title", number=self.number)), id="dialog-title")
            yield TextArea(id="note-text", soft_wrap=True, max_checkpoints=200)
            yield Label(Content(t("note.hint", limit=DESCRIPTION_LIMIT)), id="note-hint")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("dialog.save"), variant="primary", id="save")
                yield Button(t("dialog.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self.load_draft()

    @work(thread=True, exclusive=True, exit_on_error=False, group="note-draft")
    def load_draft(self) -> None:
        if draft := self.draft.load():
            self.app.call_from_thread(self._restore, draft)

    def _restore(self, draft: str) -> None:
        area = self.query_one(TextArea)
        if not area.text:
            area.text = draft[:DESCRIPTION_LIMIT]
            area.move_cursor(area.document.end)
            self.notify(t("note.draft_restored"))

    @on(TextArea.Changed)
    def _typed(self) -> None:
        cap_text(self.query_one(TextArea), DESCRIPTION_LIMIT)
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._save_draft)

    def keep_draft(self) -> Worker[None] | None:
        """Write the draft now if a change is still waiting for its timer; the write under way
        if there is one (a hang-up waits for it)."""
        if self._draft_timer is None:
            return unfinished(self._draft_write)
        self._draft_timer.stop()
        return self._save_draft()

    def _save_draft(self) -> Worker[None]:
        self._draft_timer = None
        self._draft_write = self.write_draft(self.query_one(TextArea).text or None)
        return self._draft_write

    @work(thread=True, exclusive=True, exit_on_error=False, group="note-draft")
    def write_draft(self, text: str | None) -> None:
        self.draft.save(text)

    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.notify(t("note.empty"), severity="warning")
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.submit is None:
            self.write_draft(None)
            self.dismiss(text)
            return
        self.send(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="note-send")
    def send(self, text: str) -> None:
        """Store the note, then forget the draft and close; on failure the dialog stays."""
        assert self.submit is not None
        self.submit(text)
        self.app.call_from_thread(self.dismiss, text)
        self.draft.save(None)

    def action_cancel(self) -> None:
        if self._close_anyway:
            self.dismiss(None)
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.close_keeping(self.query_one(TextArea).text or None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="note-draft")
    def close_keeping(self, text: str | None) -> None:
        """Keep the draft, then close: an accidental Escape loses nothing. If the store cannot
        keep it, the dialog stays and says that a second Escape closes without it."""
        try:
            self.draft.save(text)
        except Exception:
            self.app.call_from_thread(self._keeping_failed)
            raise
        self.app.call_from_thread(self.dismiss, None)

    def _keeping_failed(self) -> None:
        self._close_anyway = True
        self.notify(t("note.not_kept"), severity="warning", timeout=12)
