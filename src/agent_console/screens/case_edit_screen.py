"""CaseEditScreen: write a new case (often from a resolved ticket) or edit an existing one."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from agent_console.i18n import current_language, t
from agent_console.models.kb import Case, CaseCreate
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.form_buttons import SaveCancelButtons
from agent_console.services import knowledge
from agent_console.services.errors import InputError
from agent_console.widgets.capped_text import cap_text

TEXT_FIELDS = ("symptoms", "cause", "resolution", "prevention")


class CaseEditScreen(SaveCancelButtons, ContextScreen[int | None]):
    """Returns the saved case's id, or None when left without saving."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="save"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
    ]

    class Saved(Message):
        def __init__(self, case_id: int, proposed: bool = False) -> None:
            super().__init__()
            self.case_id, self.proposed = case_id, proposed

    class Refused(Message):
        def __init__(self, field: str, message: str) -> None:
            super().__init__()
            self.field, self.message = field, message

    @staticmethod
    def _label(field: str) -> str:
        return t(f"kb.field.{field}") if field in TEXT_FIELDS else t(f"case.field.{field}")

    def __init__(self, ctx: ScreenContext, *, case: Case | None = None,
                 draft: CaseCreate | None = None) -> None:
        super().__init__(ctx)
        self.case, self.draft = case, draft

    def compose(self) -> ComposeResult:
        source = self.case or self.draft
        lang = current_language()
        heading = t("case.edit_title", id=self.case.id) if self.case else t("case.new_title")
        yield Static(Content(heading), id="case-heading")
        with VerticalScroll(id="case-form"):
            yield Label(t("case.field.title"))
            yield Input(source.title if source else "", id="case-title", max_length=200)
            with Horizontal(id="case-row"):
                with VerticalScroll(classes="case-half"):
                    yield Label(t("case.field.category"))
                    categories = self.ctx.store.catalog.categories.values()
                    yield Select[str]([(Content(c.name(lang)), c.code) for c in categories],
                                      id="case-category", prompt=t("kb.any_category"),
                                      value=source.category if source and source.category else
                                      Select.NULL)
                with VerticalScroll(classes="case-half"):
                    yield Label(t("case.field.tags"))
                    yield Input(", ".join(source.tags) if source else "", id="case-tags",
                                max_length=400)
            for field in TEXT_FIELDS:
                yield Label(t(f"kb.field.{field}"))
                yield TextArea(getattr(source, field, "") if source else "", id=f"case-{field}",
                               soft_wrap=True, classes="case-text")
            yield Static(id="case-error")
            with Horizontal(id="dialog-buttons"):
                yield Button(t("dialog.save"), variant="primary", id="save")
                yield Button(t("dialog.cancel"), id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#case-title", Input).focus()

    @on(TextArea.Changed)
    def _typed(self, event: TextArea.Changed) -> None:
        cap_text(event.text_area, knowledge.TEXT_LIMIT)

    def _values(self) -> dict[str, object]:
        category = self.query_one("#case-category", Select)
        values: dict[str, object] = {
            "title": self.query_one("#case-title", Input).value,
            "category": "" if category.is_blank() else str(category.value),
            "tags": [tag.strip() for tag in self.query_one("#case-tags", Input).value
                     .replace("，", ",").split(",") if tag.strip()],
        }
        for field in TEXT_FIELDS:
            values[field] = self.query_one(f"#case-{field}", TextArea).text
        return values

    def action_save(self) -> None:
        self.save(self._values())

    @work(thread=True, exclusive=True, exit_on_error=False, group="case-writer")
    def save(self, values: dict[str, object]) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        try:
            if self.case is not None:
                saved = knowledge.update_case(store, actor, case_id=self.case.id, changes=values)
            else:
                checked = knowledge.check_case(store, values)
                if self.draft is not None and self.draft.source_ticket_id is not None:
                    # A case drawn from a ticket waits for a reviewer before agents find it.
                    from agent_console.services.case_review import propose_case

                    self.post_message(self.Saved(propose_case(
                        store, actor, ticket_id=self.draft.source_ticket_id, case=checked),
                        proposed=True))
                    return
                saved = knowledge.create_case(store, actor, case=checked)
        except InputError as refused:
            message = (t("form.required", field=self._label(refused.field))
                       if refused.code == "required" else refused.localized())
            self.post_message(self.Refused(refused.field, message))
            return
        self.post_message(self.Saved(saved.id))

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self.notify(t("contact.case.proposed", id=event.case_id) if event.proposed
                    else t("case.saved", id=event.case_id))
        self.dismiss(event.case_id)

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        self.query_one("#case-error", Static).update(Content(event.message))
        widget = self.query(f"#case-{event.field}")
        if widget:
            widget.first().focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
