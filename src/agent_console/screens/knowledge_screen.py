"""KnowledgeScreen: search past fault cases as you type, read one, use it on the open ticket."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, OptionList, Select, Static

from agent_console.formatting import local_time
from agent_console.i18n import current_language, t
from agent_console.models.kb import Case, CaseChange, CaseHit, Fallback
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.ticket_actions import TicketRef
from agent_console.services import knowledge
from agent_console.services.permissions import EDIT_KB
from agent_console.text import clean_line, strip_controls
from agent_console.widgets.case_list import CaseList
from agent_console.widgets.wrapped import Wrapped

SEARCH_DELAY = 0.12  # seconds after the last keystroke; the newest query always wins
RESULTS = 30


class KnowledgeScreen(ContextScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("slash", "focus_search", "Search", id="kb-focus-search", show=False),
        Binding("u", "use_case", "Use this", id="kb-use"),
        Binding("e", "edit_case", "Edit", id="kb-edit"),
        Binding("d", "retire_case", "Retire", id="kb-retire"),
        # The same key brings a retired case back: named for what it does on this case.
        Binding("d", "restore_case", "Restore", id="kb-restore"),
        Binding("R", "review_proposals", "Review proposals", id="kb-review"),
        Binding("y", "add_synonyms", "Synonyms", id="kb-synonyms"),
    ]

    PERMISSIONS = {"edit_case": EDIT_KB, "retire_case": EDIT_KB, "restore_case": EDIT_KB,
                   "review_proposals": EDIT_KB, "add_synonyms": EDIT_KB}

    class HitsLoaded(Message):
        def __init__(self, query: str, hits: list[CaseHit], fallback: str = Fallback.NONE) -> None:
            super().__init__()
            self.query, self.hits, self.fallback = query, hits, fallback

    class CaseLoaded(Message):
        def __init__(self, case: Case, history: tuple[CaseChange, ...] = ()) -> None:
            super().__init__()
            self.case, self.history = case, history

    class CaseUsed(Message):
        def __init__(self, title: str, first_time: bool) -> None:
            super().__init__()
            self.title, self.first_time = title, first_time

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """"Use this" needs a ticket to use the case on."""
        if action == "use_case":
            return self.ticket is not None
        if action in ("retire_case", "restore_case"):
            retired = self.case is not None and self.case.retired
            if retired != (action == "restore_case"):
                return False
        return super().check_action(action, parameters)

    def __init__(self, ctx: ScreenContext, ticket: TicketRef | None = None,
                 seed_text: str = "") -> None:
        super().__init__(ctx)
        self.ticket, self.seed_text = ticket, seed_text
        self.case: Case | None = None
        self.query_text = ""
        self._timer = None

    def compose(self) -> ComposeResult:
        lang = current_language()
        about = t("kb.title_for", number=self.ticket.number) if self.ticket else t("kb.title")
        yield Static(Content(about), id="kb-title")
        with Horizontal(id="kb-bar"):
            yield Input(id="kb-search", placeholder=t("kb.search_placeholder"), max_length=200)
            yield Select[str]([(Content(c.name(lang)), c.code)
                               for c in self.ctx.store.catalog.categories.values()],
                              id="kb-category", prompt=t("kb.any_category"))
        yield Static(id="kb-note")
        with Horizontal(id="kb-body"):
            yield CaseList(id="kb-results")
            with VerticalScroll(id="kb-detail-scroll"):
                yield Wrapped(id="kb-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#kb-note").display = False
        self.query_one("#kb-search", Input).focus()
        self._search_now()

    @property
    def category(self) -> str | None:
        select = self.query_one("#kb-category", Select)
        return None if select.is_blank() else str(select.value)

    # --- searching -------------------------------------------------------------------------

    @on(Input.Changed, "#kb-search")
    def _typed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, self._search_now)

    @on(Select.Changed, "#kb-category")
    def _category_changed(self) -> None:
        self._search_now()

    def _search_now(self) -> None:
        # Those who look after the cases see the retired ones too (marked).
        self.run_search(self.query_text, self.category, self.ctx.actor.can(EDIT_KB))

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-search")
    def run_search(self, query: str, category: str | None, include_retired: bool) -> None:
        store = self.ctx.store
        if query.strip():
            found = knowledge.find_cases(store, query=query, limit=RESULTS, category=category,
                                         include_retired=include_retired)
            self.post_message(self.HitsLoaded(query, list(found.hits), found.fallback))
        elif self.seed_text:
            self.post_message(self.HitsLoaded(query, knowledge.similar(
                store, text=self.seed_text, limit=RESULTS, category=category)))
        else:
            self.post_message(self.HitsLoaded(query, []))

    @on(HitsLoaded)
    def _hits_loaded(self, event: HitsLoaded) -> None:
        if event.query != self.query_text:
            return  # an older query finished late: the newest wins
        lang = current_language()
        names = {c.code: c.name(lang) for c in self.ctx.store.catalog.categories.values()}
        empty = t("kb.no_hits") if event.query.strip() else t("kb.type_to_search")
        self.query_one(CaseList).show_hits(event.hits, names, t("kb.retired"), empty)
        note = self.query_one("#kb-note", Static)
        note.display = bool(event.fallback and event.hits)
        if note.display:
            note.update(Content(t(f"kb.fallback_{event.fallback}")))
        if event.hits:
            self.load_case(event.hits[0].id)
        else:
            self.case = None
            self.query_one("#kb-detail", Wrapped).update([])

    @on(OptionList.OptionHighlighted, "#kb-results")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and (self.case is None or f"case-{self.case.id}" != event.option.id):
            self.load_case(int(event.option.id.removeprefix("case-")))

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-case")
    def load_case(self, case_id: int) -> None:
        store = self.ctx.store
        self.post_message(self.CaseLoaded(knowledge.get_case(store, case_id=case_id),
                                          tuple(knowledge.case_history(store, case_id=case_id))))

    @on(CaseLoaded)
    def _case_loaded(self, event: CaseLoaded) -> None:
        self.case = case = event.case
        self.refresh_bindings()  # retire or restore, as this case stands
        lang = current_language()
        category = self.ctx.store.catalog.categories.get(case.category)
        header = Text(clean_line(case.title), style="bold")
        if case.retired:
            header.append(f"  {t('kb.retired')}", style="reverse")
        paragraphs: list[tuple[Text, int]] = [(header, 0)]
        if why := self._why(case.id):
            paragraphs.append((why, 0))
        paragraphs.append((Text(""), 0))
        for key, value in (("symptoms", case.symptoms), ("cause", case.cause),
                           ("resolution", case.resolution), ("prevention", case.prevention)):
            paragraphs.append((Text(t(f"kb.field.{key}"), style="bold"), 0))
            paragraphs.append((Text("  " + (strip_controls(value).strip() or "—")), 2))
            paragraphs.append((Text(""), 0))
        # Who wrote the case, and (when it was changed since) who changed it last and when.
        meta = t("kb.meta", category=category.name(lang) if category else "—",
                 tags=", ".join(clean_line(tag) for tag in case.tags) or "—",
                 used=case.times_used, author=clean_line(case.author),
                 updated=local_time(case.created_at, self.ctx.zone))
        paragraphs.append((Text(meta, style="dim"), 0))
        if event.history:
            last = event.history[-1]
            paragraphs.append((Text(t("kb.history", count=len(event.history),
                                      author=clean_line(last.author),
                                      at=local_time(last.at, self.ctx.zone)), style="dim"), 0))
        self.query_one("#kb-detail", Wrapped).update(paragraphs)

    def _why(self, case_id: int) -> Text | None:
        """Which words of the query the case matched, and through which synonym."""
        hit = next((h for h in self.query_one(CaseList).hits if h.id == case_id), None)
        if hit is None or not hit.matched:
            return None
        words = [clean_line(typed) if typed == found else t("search.via", typed=clean_line(typed),
                                                             found=clean_line(found))
                 for typed, found in hit.matched]
        return Text(t("search.matched", words="  ".join(words)), style="italic")

    def action_add_synonyms(self) -> None:
        from agent_console.screens.reason_screen import ReasonScreen

        def given(text: str | None) -> None:
            if text and text.strip():
                self.add_synonyms(text)

        self.app.push_screen(ReasonScreen(t("search.synonyms_title")), given)

    @work(thread=True, exit_on_error=False, group="kb-writer")
    def add_synonyms(self, text: str) -> None:
        import re

        from agent_console.services import synonyms
        from agent_console.services.errors import ServiceError

        words = [w.strip() for w in re.split(r"[/,，、;；]", text) if w.strip()]
        try:
            group = synonyms.add_group(self.ctx.store, self.ctx.actor, words=words)
        except ServiceError as exc:
            self.app.call_from_thread(self.notify, exc.localized(), severity="warning")
            return
        self.app.call_from_thread(self.notify, t("search.synonyms_added",
                                                 words=" / ".join(map(clean_line, group))))
        self.app.call_from_thread(self._search_now)

    # --- acting --------------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#kb-search", Input).focus()

    def on_key(self, event: object) -> None:
        # Down from the search box goes to the results, as in any search list.
        key = getattr(event, "key", "")
        if key == "down" and self.focused is self.query_one("#kb-search", Input):
            self.query_one(CaseList).focus()
            event.stop()  # type: ignore[attr-defined]

    def action_back(self) -> None:
        self.dismiss(None)

    def action_use_case(self) -> None:
        if self.case is None:
            return
        if self.ticket is None:
            self.notify(t("kb.use_needs_ticket"), severity="warning")
            return
        self.use_case(self.case.id, self.case.title)

    @work(thread=True, exit_on_error=False, group="kb-writer")
    def use_case(self, case_id: int, title: str) -> None:
        from agent_console.services.tickets import apply_case

        assert self.ticket is not None
        first_time = apply_case(self.ctx.store, self.ctx.actor, ticket_id=self.ticket.id,
                                case_id=case_id)
        self.post_message(self.CaseUsed(title, first_time))

    @on(CaseUsed)
    def _used(self, event: CaseUsed) -> None:
        key = "kb.used" if event.first_time else "kb.already_used"
        self.notify(t(key, title=clean_line(event.title)))
        self.dismiss(None)

    def action_edit_case(self) -> None:
        from agent_console.screens.case_edit_screen import CaseEditScreen

        if self.case is not None:
            self.app.push_screen(CaseEditScreen(self.ctx, case=self.case),
                                 lambda _saved: self._search_now())

    def action_restore_case(self) -> None:
        self.action_retire_case()

    def action_retire_case(self) -> None:
        from agent_console.screens.reason_screen import ReasonScreen

        if (case := self.case) is None:
            return

        def reason_given(reason: str | None) -> None:
            if reason:
                self.retire(case.id, not case.retired, reason)

        title = t("kb.reason.restore" if case.retired else "kb.reason.retire",
                  title=clean_line(case.title))
        self.app.push_screen(ReasonScreen(title), reason_given)

    @work(thread=True, exit_on_error=False, group="kb-writer")
    def retire(self, case_id: int, retired: bool, reason: str) -> None:
        store = self.ctx.store
        case = knowledge.retire_case(store, self.ctx.actor, case_id=case_id, retired=retired,
                                     reason=reason)
        self.post_message(self.CaseLoaded(case, tuple(knowledge.case_history(store,
                                                                             case_id=case_id))))
        self.app.call_from_thread(self._search_now)

    # --- cases proposed from tickets -----------------------------------------------------------

    def action_review_proposals(self) -> None:
        self.load_proposals()

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-proposals")
    def load_proposals(self) -> None:
        from agent_console.services.case_review import pending_cases

        cases = pending_cases(self.ctx.store, self.ctx.actor)
        self.app.call_from_thread(self._pick_proposal, cases)

    def _pick_proposal(self, cases: list[Case]) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        if not cases:
            self.notify(t("contact.review.none"))
            return
        by_id = {str(case.id): case for case in cases}

        def picked(case_id: str | None) -> None:
            if case_id in by_id:
                self._decide(by_id[case_id])

        self.app.push_screen(ChoiceScreen(t("contact.review.pick", count=len(cases)), [
            (f"#{case.id}  {clean_line(case.title)[:50]}  — {clean_line(case.author)}", str(case.id))
            for case in cases], str(cases[0].id)), picked)

    def _decide(self, case: Case) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen
        from agent_console.screens.reason_screen import ReasonScreen

        def shown(field: str) -> str:
            return clean_line(getattr(case, field))[:160] or "—"

        about = "\n".join([t("contact.review.title", id=case.id, author=clean_line(case.author)),
                           "", shown("title"),
                           *(f"{t(f'kb.field.{field}')}: {shown(field)}"
                             for field in ("symptoms", "cause", "resolution"))])

        def reason_given(reason: str | None) -> None:
            if reason:
                self.review(case.id, False, reason)

        def decided(choice: str | None) -> None:
            if choice == "approve":
                self.review(case.id, True, "")
            elif choice == "reject":
                self.app.push_screen(ReasonScreen(t("contact.review.reason",
                                                    title=clean_line(case.title)[:40])),
                                     reason_given)

        self.app.push_screen(ChoiceScreen(about, [
            (t("contact.review.approve"), "approve"), (t("contact.review.reject"), "reject"),
            (t("contact.review.later"), "later")], "approve"), decided)

    @work(thread=True, exit_on_error=False, group="kb-writer")
    def review(self, case_id: int, approve: bool, reason: str) -> None:
        from agent_console.services.case_review import review_case

        review_case(self.ctx.store, self.ctx.actor, case_id=case_id, approve=approve,
                    reason=reason)
        self.app.call_from_thread(self.notify, t(
            "contact.review.approved" if approve else "contact.review.rejected", id=case_id))
        self.app.call_from_thread(self._search_now)
