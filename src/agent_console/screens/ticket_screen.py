"""TicketScreen: one ticket's details, both SLA clocks and its timeline of events."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from agent_console.formatting import duration, local_time, span
from agent_console.i18n import current_language, label, t
from agent_console.messages import OpenTicket, TicketChanged
from agent_console.models.read import EventView, TicketDetail
from agent_console.models.vocab import SlaState
from agent_console.screens.context import ScreenContext, WatchesStore
from agent_console.screens.ticket_actions import ACTION_BINDINGS, TicketActions, TicketRef
from agent_console.services.contact import CustomerTicket, customer_tickets
from agent_console.services.permissions import CHANGE_CUSTOMER, REVEAL_PII
from agent_console.services.sla import ClockView
from agent_console.services.tickets import ticket_detail
from agent_console.text import clean_line, strip_controls
from agent_console.widgets.wrapped import Wrapped

RELOAD_SECONDS = 15
NOTE_FOLD = 140  # characters of a note shown before `o` shows it all


class TicketScreen(TicketActions, WatchesStore):
    DEFAULT_CSS = """
    TicketScreen #customer-tickets-title { height: 1; background: $panel; text-style: bold;
                                           padding: 0 1; }
    TicketScreen #customer-tickets { height: auto; max-height: 4; border: none; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape,q", "back", "Back", id="back"),
        *ACTION_BINDINGS,
        # The knowledge base, as F2 opens it from here: for this ticket (one key in the footer).
        Binding("k", "app.go('knowledge')", "Cases", id="ticket-kb"),
        Binding("M", "make_case", "Make a case", id="make-case", show=False),
        Binding("v", "reveal", "Reveal", id="reveal"),
        Binding("i", "edit_customer", "Customer info", id="edit-customer"),
        Binding("o", "toggle_notes", "Long notes", id="ticket-notes", show=False),
        Binding("r", "resolution", "Resolution", id="resolution"),
    ]

    # Keys a role may not use are hidden (and the services refuse the act anyway).
    PERMISSIONS = {"reveal": REVEAL_PII, "edit_customer": CHANGE_CUSTOMER}

    class TicketLoaded(Message):
        def __init__(self, detail: TicketDetail, script: Text | None = None,
                     recent: tuple[CustomerTicket, ...] = ()) -> None:
            super().__init__()
            self.detail, self.script, self.recent = detail, script, recent

    class Revealed(Message):
        def __init__(self, field: str, value: str) -> None:
            super().__init__()
            self.field, self.value = field, value

    def __init__(self, ctx: ScreenContext, ticket_id: int) -> None:
        super().__init__(ctx)
        self.ticket_id = ticket_id
        self.detail: TicketDetail | None = None
        self.script: Text | None = None
        self.recent: tuple[CustomerTicket, ...] = ()  # the customer's other recent tickets
        self.revealed: dict[str, str] = {}  # lasts while this ticket is open on screen
        self.notes_open = False  # long notes folded to a few lines until `o`

    def compose(self) -> ComposeResult:
        yield Static(t("ticket.loading"), id="ticket-title")
        # The details scroll (tab to them, then the arrow keys) where the terminal is short.
        with VerticalScroll(id="ticket-detail"), Horizontal(id="ticket-top"):
            yield Static(id="ticket-fields")
            yield Static(id="ticket-clocks")
        yield Static(t("ticket.timeline"), id="timeline-title")
        with VerticalScroll(id="ticket-timeline"):
            yield Wrapped(id="ticket-events")
        yield Static(t("contact.recent.title"), id="customer-tickets-title")
        yield OptionList(id="customer-tickets")
        yield Footer()

    def on_mount(self) -> None:
        self._show_recent()
        self.load_ticket()
        self.set_interval(RELOAD_SECONDS, self.load_ticket)
        self.open_feed()
        self.set_interval(self.ctx.settings.refresh_seconds, self.poll_store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ticket-loader")
    def load_ticket(self) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        detail = ticket_detail(store, actor, ticket_id=self.ticket_id)
        recent = tuple(r for r in customer_tickets(store, actor, customer_id=detail.customer.id)
                       if r.id != detail.id)
        self.post_message(self.TicketLoaded(detail, self._script_run(), recent))

    def reload(self) -> None:
        self.load_ticket()

    def _script_run(self) -> Text | None:
        """The stored script run: adherence, then each step with its time and outcome."""
        from agent_console.services.intake import stored_run

        stored = stored_run(self.ctx.store, self.ctx.actor, ticket_id=self.ticket_id)
        if stored is None:
            return None
        library = self.ctx.scripts.get()
        lang = current_language()
        adherence = stored["adherence"]
        script = library.get(stored["script"])
        text = Text(t("script.run_line", script=script.title.get(lang) if script else stored["script"],
                      score=stored["score"], done=adherence["required_done"],
                      total=adherence["required_total"],
                      empathy="✓" if adherence["empathy_first"] else "✗"), style="bold")
        for found in adherence.get("forbidden_found", []):
            text.append(f"\n  ✗ {clean_line(found)}", style="bold")
        for visit in stored["record"].get("trail", []):
            owner = library.get(visit["script"])
            title = owner.step(visit["step"]).title.get(lang) if owner and owner.has_step(
                visit["step"]) else visit["step"]
            at = datetime.fromisoformat(visit["entered_at"])
            mark = "✓" if visit["outcome"] == "done" else "↷"
            text.append(f"\n  {local_time(at, self.ctx.zone)}  {mark} "
                        f"{t('script.stage.' + visit['stage'])} · {clean_line(title)}")
            if visit.get("reason"):
                text.append(f"  ({clean_line(visit['reason'])})", style="italic")
        return text

    @on(TicketLoaded)
    def _loaded(self, event: TicketLoaded) -> None:
        if self.is_current:
            self.tell_take_overs()
        if event.recent != self.recent:
            self.recent = event.recent
            self._show_recent()
        if event.detail == self.detail and event.script == self.script:
            return  # nothing changed: no repaint, no bytes on the line
        self.detail, self.script = event.detail, event.script
        self._show()

    def _show_recent(self) -> None:
        """The customer's other recent tickets, each opened with Enter."""
        lang = current_language()
        categories = self.ctx.store.catalog.categories
        listed = self.query_one("#customer-tickets", OptionList)
        listed.clear_options()
        listed.add_options(Option(Content(t(
            "contact.recent.line", number=clean_line(r.number),
            category=categories[r.category].name(lang) if r.category in categories else r.category,
            status=label("status", r.status), age=duration(r.age.total_seconds()))), id=str(r.id))
            for r in self.recent)
        for widget in (listed, self.query_one("#customer-tickets-title")):
            widget.display = bool(self.recent)

    @on(OptionList.OptionSelected, "#customer-tickets")
    def _open_recent(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.post_message(OpenTicket(int(event.option.id)))

    def _show(self) -> None:
        d = self.detail
        if d is None:
            return
        zone = self.ctx.zone
        title = Text()
        title.append(f" {d.number} ", style="bold reverse")
        title.append(f"  {label('grade', d.grade)}  ·  {label('status', d.status)}  ·  "
                     f"{label('work_type', d.work_type)}")
        self.query_one("#ticket-title", Static).update(title)
        self.query_one("#ticket-fields", Static).update(self._fields(d, zone))
        self.query_one("#ticket-clocks", Static).update(self._clocks(d.clocks, zone))
        events = self._events(d.events, zone)
        if self.script is not None:
            events.append((Text(""), 0))
            events.append((Text(t("script.run_title"), style="bold underline"), 0))
            events.append((self.script, 0))
        self.query_one("#ticket-events", Wrapped).update(events)

    def _fields(self, d: TicketDetail, zone: object) -> Table:
        lang = current_language()
        catalog = self.ctx.store.catalog
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        c = d.customer
        customer = Text(clean_line(c.name) or "—")
        customer.append("  ")
        customer.append_text(self._number("phone", c.phone_masked))
        customer.append(f"  {label('tier', c.tier)}")
        if c.green_channel:
            customer.append(f"  {t('ticket.green_channel')}")
        identity = self._number("id_number", c.id_number_masked or "—")
        if c.contact_phone_masked:
            identity.append(f"  {t('ticket.contact')} ")
            identity.append_text(self._number("contact_phone", c.contact_phone_masked))
        if c.address or c.plan:
            identity.append(f"  {clean_line(c.address)}  {clean_line(c.plan)}")
        category = catalog.categories.get(d.category)
        department = catalog.departments.get(d.department or "")
        grade = label("grade", d.grade)
        if d.grade != d.requested_grade:
            grade = t("ticket.grade_raised", grade=grade, requested=label("grade", d.requested_grade))

        def who(agent: object, at: object) -> Text:
            if agent is None:
                return Text("—")
            return Text(f"{clean_line(agent.name)} ({clean_line(agent.code)})  "  # type: ignore[attr-defined]
                        f"{local_time(at, zone)}")  # type: ignore[arg-type]

        rows = [
            ("ticket.field.customer", customer),
            ("ticket.field.identity", identity),
            ("ticket.field.channel", Text(label("channel", d.channel))),
            ("ticket.field.category", Text(category.name(lang) if category else d.category)),
            ("ticket.field.grade", Text(grade)),
            ("ticket.field.department", Text(department.name(lang) if department else "—")),
            ("ticket.field.handler", who(d.handler, d.handler_set_at)),
            ("ticket.field.owner", who(d.owner, d.owner_set_at)),
            ("ticket.field.created", Text(local_time(d.created_at, zone))),  # type: ignore[arg-type]
            ("ticket.field.dispatched", Text(local_time(d.dispatched_at, zone))),  # type: ignore[arg-type]
            ("ticket.field.description", Text(strip_controls(d.description))),
            ("ticket.field.resolution", Text(strip_controls(d.resolution) or "—")),
        ]
        for key, value in rows:
            grid.add_row(t(key), value)
        return grid

    def _clocks(self, clocks: tuple[ClockView, ...], zone: object) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for clock in clocks:
            late = clock.met_at is not None and clock.state is SlaState.BREACHED
            state = Text(t("sla.state.met_late" if late else f"sla.state.{clock.state.value}"),
                         style=_STATE_STYLE.get(clock.state, ""))
            grid.add_row(Text(t(f"sla.clock.{clock.kind.value}")), state)
            grid.add_row(t("sla.target"), span(clock.target))
            due = clock.due
            grid.add_row(t("sla.due"), local_time(due, zone) if due else t("sla.paused_short"))  # type: ignore[arg-type]
            grid.add_row(t("sla.elapsed"), span(clock.elapsed))
            grid.add_row(t("sla.paused_for"), span(clock.paused))
            if clock.state is SlaState.MET:
                grid.add_row(t("sla.met_at"), local_time(clock.met_at, zone))  # type: ignore[arg-type]
            elif clock.remaining.total_seconds() < 0:
                grid.add_row(t("sla.over_by"), Text(span(clock.remaining), style="bold"))
            else:
                grid.add_row(t("sla.left"), span(clock.remaining))
            grid.add_row("", "")
        return grid

    def _events(self, events: tuple[EventView, ...], zone: object) -> list[tuple[Text, int]]:
        """One paragraph per event: its time, then the text in a column of its own (the rows
        after the first are indented under the text, never under the time)."""
        lang = current_language()
        catalog = self.ctx.store.catalog
        names = {"department": {d.code: d.name(lang) for d in catalog.departments.values()},
                 "category": {c.code: c.name(lang) for c in catalog.categories.values()}}
        paragraphs = []
        for event in events:
            at = f"{local_time(event.at, zone)}  "  # type: ignore[arg-type]
            text = Text(at, style="dim")
            text.append(_describe(event, names, fold=not self.notes_open))
            if event.agent_name:
                text.append(f"  — {clean_line(event.agent_name)}", style="italic")
            paragraphs.append((text, cell_len(at)))
        return paragraphs

    def action_toggle_notes(self) -> None:
        """Long notes in full, or folded again."""
        self.notes_open = not self.notes_open
        self._show()

    # --- actions -------------------------------------------------------------------------------

    def action_target(self) -> TicketRef | None:
        d = self.detail
        return None if d is None else TicketRef(d.id, d.number, d.version, d.status)

    def _number(self, field: str, masked: str) -> Text:
        """A masked number, or the full one (marked) while a reveal lasts."""
        if field in self.revealed:
            return Text(f"{clean_line(self.revealed[field])} ({t('ticket.revealed')})",
                        style="bold underline")
        return Text(masked)

    def on_app_lock(self) -> None:
        """Nothing revealed survives a lock."""
        self.revealed.clear()
        self._show()

    def action_reveal(self) -> None:
        from agent_console.screens.reveal_screen import RevealScreen

        if self.detail is None:
            return
        customer, number = self.detail.customer, self.detail.number

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is not None:
                self.reveal(customer.id, choice[0], choice[1], number)

        self.app.push_screen(RevealScreen(number, has_contact=bool(customer.contact_phone_masked),
                                          has_id=bool(customer.id_number_masked)), chosen)

    @work(thread=True, exit_on_error=False, group="reveal")
    def reveal(self, customer_id: int, field: str, reason: str, number: str) -> None:
        from agent_console.services.customers import reveal

        value = reveal(self.ctx.store, self.ctx.actor, customer_id=customer_id, field=field,
                       reason=reason, ticket_number=number)
        self.post_message(self.Revealed(field, value))

    @on(Revealed)
    def _revealed(self, event: Revealed) -> None:
        self.revealed[event.field] = event.value
        self._show()

    def action_edit_customer(self) -> None:
        from agent_console.screens.customer_edit_screen import CustomerEditScreen
        from agent_console.services.customers import change_customer

        if self.detail is None:
            return
        store, actor, customer = self.ctx.store, self.ctx.actor, self.detail.customer

        def save(changes: dict[str, str], reason: str) -> int:
            return change_customer(store, actor, customer_id=customer.id, changes=changes,
                                   reason=reason)

        self.app.push_screen(CustomerEditScreen(customer, save=save),
                             lambda _changed: self.load_ticket())

    def action_resolution(self) -> None:
        if (ref := self.action_target()) is not None:
            self.ask_resolution(ref)

    def action_back(self) -> None:
        self.app.pop_screen()

    def open_destination(self, destination_id: str) -> bool:
        """The knowledge base opened from a ticket works for that ticket."""
        if destination_id != "knowledge":
            return False
        self.action_knowledge()
        return True

    def action_knowledge(self) -> None:
        from agent_console.screens.knowledge_screen import KnowledgeScreen

        if (ref := self.action_target()) is not None and self.detail is not None:
            self.app.push_screen(KnowledgeScreen(self.ctx, ticket=ref,
                                                 seed_text=self.detail.description),
                                 lambda _: self.load_ticket())

    def action_make_case(self) -> None:
        if self.detail is None:
            return
        if self.detail.status not in ("resolved", "closed"):
            self.notify(t("ticket.case_needs_resolved"), severity="warning")
            return
        self.draft_case(self.detail.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="case-draft")
    def draft_case(self, ticket_id: int) -> None:
        from agent_console.services.knowledge import case_from_ticket

        draft = case_from_ticket(self.ctx.store, self.ctx.actor, ticket_id=ticket_id)
        self.app.call_from_thread(self._edit_draft, draft)

    def _edit_draft(self, draft: object) -> None:
        from agent_console.screens.case_edit_screen import CaseEditScreen

        self.app.push_screen(CaseEditScreen(self.ctx, draft=draft))  # type: ignore[arg-type]

    @on(TicketChanged)
    def _changed(self, event: TicketChanged) -> None:
        self.notify(t(f"ticket.done.{event.action}"))
        self.load_ticket()


_STATE_STYLE = {SlaState.BREACHED: "bold reverse", SlaState.WARNING: "bold underline",
                SlaState.MET: "", SlaState.PAUSED: "dim", SlaState.ON_TRACK: ""}


def _named(kind: str, code: str, names: dict[str, dict[str, str]]) -> str:
    """A code in an event (category, department, status, work type …) by its catalog name."""
    if kind in names:
        return names[kind].get(code, clean_line(code))
    return label(kind, clean_line(code))


def _describe(event: EventView, names: dict[str, dict[str, str]], fold: bool = False) -> str:
    """One timeline line in the agent's language: every code shown by its catalog name."""
    departments = names["department"]
    d = event.detail
    kind = event.kind
    if kind == "status_changed":
        return t("event.status_changed", old=label("status", d.get("from", "")),
                 new=label("status", d.get("to", "")))
    if kind in ("sla_warning", "sla_breached"):
        return t(f"event.{kind}", clock=t(f"sla.clock.{d.get('clock', 'resolution')}"))
    if kind in ("claimed", "handler_set", "owner_set"):
        return t(f"event.{kind}", agent=clean_line(str(d.get("agent", event.agent_name))))
    if kind == "assigned":
        code = str(d.get("department", ""))
        return t("event.assigned", department=departments.get(code, clean_line(code)))
    if kind == "note":
        note = strip_controls(str(d.get("text", ""))).strip()
        if fold and len(note) > NOTE_FOLD:
            note = note[:NOTE_FOLD].rstrip() + t("ui.note_more", count=len(note) - NOTE_FOLD,
                                                 key="o")
        return t("event.note", text=note)
    if kind == "classified":
        chosen = " · ".join(_named(k, str(v), names) for k, v in d.get("chosen", {}).items())
        return t("event.classified", chosen=chosen,
                 overridden=t("ticket.overridden") if d.get("overridden") else "")
    if kind == "taken_over":
        return t("contact.event.taken_over", agent=clean_line(str(d.get("agent", ""))),
                 previous=clean_line(str(d.get("from", ""))))
    if kind == "resolution_set":
        return t("contact.event.resolution_set", chars=int(d.get("chars", 0)))
    if kind == "case_used":
        return t("event.case_used", title=clean_line(str(d.get("title", ""))))
    if kind == "created":
        return t("event.created", grade=label("grade", str(d.get("grade", ""))))
    return clean_line(kind)
