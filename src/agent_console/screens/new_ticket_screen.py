"""NewTicketScreen: take a new contact; similar past cases appear while the description is typed.

What the agent types is kept as a draft in the store about a second behind, so a dropped line
or a killed terminal loses nothing: the next "new contact" offers it back.
"""

from __future__ import annotations

import json

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from agent_console.i18n import current_language, label, t
from agent_console.models.kb import CaseHit
from agent_console.models.read import TicketCreated
from agent_console.models.vocab import Channel, Grade, WorkType
from agent_console.services import knowledge
from agent_console.services.directory import get_preference, set_preference
from agent_console.services.store import InputError
from agent_console.services.tickets import create_ticket
from agent_console.services.validation import DESCRIPTION_LIMIT
from agent_console.widgets.case_list import CaseList
from agent_console.widgets.localized import localize_bindings

DRAFT_KEY = "new_ticket_draft"
DRAFT_DELAY = 0.8
SUGGEST_DELAY = 0.3
SELECTS = ("channel", "work_type", "category", "grade")


class NewTicketScreen(Screen[int | None]):
    """Returns the new ticket's id, or None when left (the draft stays)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Create", id="create-ticket"),
        Binding("escape", "leave", "Back", id="back"),
    ]

    class Suggested(Message):
        def __init__(self, text: str, hits: list[CaseHit]) -> None:
            super().__init__()
            self.text, self.hits = text, hits

    class DraftFound(Message):
        def __init__(self, draft: dict[str, str]) -> None:
            super().__init__()
            self.draft = draft

    class Created(Message):
        def __init__(self, created: TicketCreated) -> None:
            super().__init__()
            self.created = created

    class Refused(Message):
        def __init__(self, field: str, message: str) -> None:
            super().__init__()
            self.field, self.message = field, message

    def __init__(self) -> None:
        super().__init__()
        self._draft_timer = None
        self._suggest_timer = None
        self._restoring = False
        self._choices: dict[str, set[str]] = {}
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        lang = current_language()
        catalog = self.app.store.catalog
        self._choices = {"channel": {c.value for c in Channel},
                         "work_type": {w.value for w in WorkType},
                         "category": set(catalog.categories), "grade": {g.value for g in Grade}}
        yield Static(Content(t("new.title")), id="new-title")
        with Horizontal(id="new-body"):
            with VerticalScroll(id="new-form"):
                yield Label(t("new.phone"))
                yield Input(id="new-phone", max_length=20, placeholder="13812345678")
                yield Label(t("new.name"))
                yield Input(id="new-name", max_length=60)
                with Horizontal(classes="new-row"):
                    with Vertical():
                        yield Label(t("new.channel"))
                        yield Select[str]([(label("channel", c), c.value) for c in Channel],
                                          id="new-channel", value=Channel.HOTLINE.value,
                                          allow_blank=False)
                    with Vertical():
                        yield Label(t("new.work_type"))
                        yield Select[str]([(label("work_type", w), w.value) for w in WorkType],
                                          id="new-work_type", value=WorkType.FAULT.value,
                                          allow_blank=False)
                with Horizontal(classes="new-row"):
                    with Vertical():
                        yield Label(t("new.category"))
                        yield Select[str]([(Content(c.name(lang)), c.code)
                                           for c in catalog.categories.values()],
                                          id="new-category", prompt=t("new.pick"))
                    with Vertical():
                        yield Label(t("new.grade"))
                        yield Select[str]([(label("grade", g), g.value) for g in Grade],
                                          id="new-grade", prompt=t("new.grade_auto"))
                yield Label(t("new.description"))
                yield TextArea(id="new-description", soft_wrap=True)
                yield Static(id="new-error")
            with Vertical(id="new-side"):
                yield Label(t("new.similar"), id="new-similar-title")
                yield CaseList(id="new-suggestions")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#new-phone", Input).focus()
        self.load_draft()
        self._suggest()

    # --- the draft -----------------------------------------------------------------------------

    def _values(self) -> dict[str, str]:
        values = {"phone": self.query_one("#new-phone", Input).value,
                  "name": self.query_one("#new-name", Input).value,
                  "description": self.query_one("#new-description", TextArea).text}
        for field in SELECTS:
            select = self.query_one(f"#new-{field}", Select)
            values[field] = "" if select.is_blank() else str(select.value)
        return values

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-draft")
    def load_draft(self) -> None:
        raw = get_preference(self.app.store, self.app.agent.code, DRAFT_KEY)
        if raw:
            try:
                draft = json.loads(raw)
            except ValueError:
                return
            if isinstance(draft, dict):
                self.post_message(self.DraftFound({k: str(v) for k, v in draft.items()}))

    @on(DraftFound)
    def _restore(self, event: DraftFound) -> None:
        if any(self._values()[k] for k in ("phone", "name", "description")):
            return  # the agent already started typing: do not overwrite
        self._restoring = True
        draft = event.draft
        self.query_one("#new-phone", Input).value = draft.get("phone", "")
        self.query_one("#new-name", Input).value = draft.get("name", "")
        self.query_one("#new-description", TextArea).text = draft.get("description", "")
        for field in SELECTS:
            select = self.query_one(f"#new-{field}", Select)
            value = draft.get(field, "")
            if value in self._choices[field]:
                select.value = value
        self._restoring = False
        self.notify(t("new.draft_restored"))
        self._suggest()

    @on(Input.Changed)
    @on(Select.Changed)
    @on(TextArea.Changed)
    def _changed(self, event: Message) -> None:
        if isinstance(event, TextArea.Changed):
            area = event.text_area
            if len(area.text) > DESCRIPTION_LIMIT:
                area.text = area.text[:DESCRIPTION_LIMIT]
                area.move_cursor(area.document.end)
                self.notify(t("note.cut", limit=DESCRIPTION_LIMIT), severity="warning")
            if self._suggest_timer is not None:
                self._suggest_timer.stop()
            self._suggest_timer = self.set_timer(SUGGEST_DELAY, self._suggest)
        if self._restoring:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self._save_draft)

    def _save_draft(self) -> None:
        values = self._values()
        self.write_draft(json.dumps(values, ensure_ascii=False)
                         if any(values[k] for k in ("phone", "name", "description")) else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-draft")
    def write_draft(self, value: str | None) -> None:
        set_preference(self.app.store, self.app.agent.code, DRAFT_KEY, value)

    # --- suggestions ---------------------------------------------------------------------------

    def _suggest(self) -> None:
        self.suggest(self.query_one("#new-description", TextArea).text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-suggest")
    def suggest(self, text: str) -> None:
        hits = knowledge.similar(self.app.store, text=text, limit=8) if text.strip() else []
        self.post_message(self.Suggested(text, hits))

    @on(Suggested)
    def _suggested(self, event: Suggested) -> None:
        if event.text != self.query_one("#new-description", TextArea).text:
            return  # typed on since: a newer suggestion is coming
        lang = current_language()
        names = {c.code: c.name(lang) for c in self.app.store.catalog.categories.values()}
        self.query_one(CaseList).show_hits(event.hits, names, t("kb.retired"), t("new.no_similar"))

    # --- creating ------------------------------------------------------------------------------

    def action_save(self) -> None:
        values = self._values()
        if not values["category"]:
            self._show_refusal("category", t("form.required", field=t("new.category")))
            return
        self.create(values)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-writer")
    def create(self, values: dict[str, str]) -> None:
        try:
            created = create_ticket(
                self.app.store, phone=values["phone"], channel=values["channel"],
                work_type=values["work_type"], category=values["category"],
                description=values["description"], grade=values["grade"] or None,
                customer_name=values["name"], by=self.app.agent.code)
        except InputError as refused:
            field = {"type": "work_type"}.get(refused.field, refused.field)
            message = (t("form.required", field=t(f"new.{field}"))
                       if refused.code == "required" else t(f"new.invalid.{field}")
                       if field in ("phone", "name") else str(refused))
            self.post_message(self.Refused(field, message))
            return
        set_preference(self.app.store, self.app.agent.code, DRAFT_KEY, None)
        self.post_message(self.Created(created))

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        self._show_refusal(event.field, event.message)

    def _show_refusal(self, field: str, message: str) -> None:
        self.query_one("#new-error", Static).update(Content(message))
        if found := self.query(f"#new-{field}"):
            found.first().focus()

    @on(Created)
    def _created(self, event: Created) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.notify(t("new.created", number=event.created.number))
        self.dismiss(event.created.id)

    def action_leave(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._save_draft()
        if any(self._values()[k] for k in ("phone", "name", "description")):
            self.notify(t("new.draft_kept"))
        self.dismiss(None)
