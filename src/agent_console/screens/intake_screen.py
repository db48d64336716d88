"""IntakeScreen: take a contact with the standard service script beside the form.

As the description is typed, a classification (with its reasons) and similar past cases appear.
The script walks intake → empathy → diagnosis → resolution → closing; the ticket is created when
intake is done and the contact ends as the script decides. Everything typed, and the script's
place, is kept as a draft in the store about a second behind: a dropped line or a killed
terminal loses nothing, and the next start offers the draft back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import uuid4

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Checkbox, Footer, Input, Label, Select, Static, TextArea
from textual.worker import Worker

from agent_console.formatting import duration, local_time
from agent_console.i18n import current_language, label, t
from agent_console.messages import OpenTicket
from agent_console.models.kb import CaseHit
from agent_console.models.vocab import Channel, Grade, WorkType
from agent_console.screens.context import ContextScreen, ScreenContext, unfinished
from agent_console.screens.intake_flow import IntakeFlow
from agent_console.screens.outage_intake import OUTAGE_BINDINGS, OutageIntake, outage_banner
from agent_console.services import intake, knowledge
from agent_console.services.errors import InputError
from agent_console.services.standards import standards
from agent_console.services.validation import DESCRIPTION_LIMIT
from agent_console.widgets.capped_text import cap_text
from agent_console.widgets.case_list import CaseList
from agent_console.widgets.script_panel import ScriptPanel

DRAFT_DELAY = 0.8
SUGGEST_DELAY = 0.3
SELECTS = ("channel", "work_type", "category", "grade")
PROPOSED = ("category", "work_type", "grade")


class IntakeScreen(OutageIntake, IntakeFlow, ContextScreen[int | None]):
    """Returns the ticket's id once the contact is done (and has the App open it), or None
    when left (the draft stays)."""

    BINDINGS = [
        # Priority: they must work while the description box (which takes every key) has focus.
        Binding("f6", "next_step", "Next step", id="script-next", priority=True),
        Binding("f5", "back_step", "Back", id="script-back", priority=True),
        Binding("f7", "skip_step", "Skip", id="script-skip", priority=True),
        Binding("ctrl+s", "save", "Create", id="create-ticket", priority=True),
        Binding("f8", "abandon", "Hung up", id="abandon-contact", priority=True),
        Binding("f9", "customer_tickets", "Their tickets", id="customer-tickets", priority=True),
        Binding("escape", "leave", "Leave", id="back"),
        *OUTAGE_BINDINGS,
        # Tab moves the cursor the moment it is read. Left to bubble up from the field it took
        # its turn behind the keys typed after it, which went into the field being left (the
        # name typed after Tab landed in the phone field; a description in a select, lost).
        Binding("tab", "app.focus_next", "Next field", id="next-field", show=False,
                priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", id="previous-field",
                show=False, priority=True),
    ]

    class Suggested(Message):
        def __init__(self, text: str, hits: list[CaseHit], proposal: Any) -> None:
            super().__init__()
            self.text, self.hits, self.proposal = text, hits, proposal

    class Prepared(Message):
        def __init__(self, library: Any, draft: dict[str, Any] | None) -> None:
            super().__init__()
            self.library, self.draft = library, draft

    class Looked(Message):
        def __init__(self, phone: str, snapshot: intake.CustomerSnapshot | None,
                     recent: list[intake.RecentTicket] | None = None) -> None:
            super().__init__()
            self.phone, self.snapshot, self.recent = phone, snapshot, recent or []

    def __init__(self, ctx: ScreenContext, resume: str | None = None,
                 prefill: dict[str, str] | None = None) -> None:
        """A new contact; with `resume`, the parked contact of that key (see ParkedScreen);
        `prefill`: form values to start with (a called walk-in: phone, name, channel, type)."""
        super().__init__(ctx)
        self.resume = resume
        self.prefill = dict(prefill or {})
        self._draft_timer = None
        self._draft_write: Worker[None] | None = None
        self._suggest_timer = None
        self._quiet = False  # set while the screen itself fills inputs
        self._applied: dict[str, str] = {}  # values the screen set on selects (not the agent)
        self._choices: dict[str, set[str]] = {}
        self.overrides: set[str] = set()
        self.proposal: Any = None
        self.received_at: datetime = datetime.min
        self.intake_key = uuid4().hex
        self.recent: list[intake.RecentTicket] = []
        self.restored = False  # the parked contact `resume` was put back into the form
        self.pending = {}
        self._warned: set[str] = set()  # forbidden phrases already warned about
        self._typed = False  # the agent typed into the form before a late draft arrived

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        lang = current_language()
        catalog = self.ctx.store.catalog
        self._choices = {"channel": {c.value for c in Channel},
                         "work_type": {w.value for w in WorkType},
                         "category": set(catalog.categories), "grade": {g.value for g in Grade}}
        yield Static(Content(t("new.title")), id="new-title")
        with Horizontal(id="new-body"):
            with VerticalScroll(id="new-form", can_focus=False):
                yield Label(t("new.phone"))
                yield Input(id="new-phone", max_length=20, placeholder="13812345678")
                yield Static(id="new-customer")
                yield outage_banner()
                recent = Static(id="new-recent")
                recent.display = False
                yield recent
                yield Label(t("new.name"))
                yield Input(id="new-name", max_length=60)
                with Horizontal(classes="new-row"):
                    with Vertical():
                        yield Label(t("new.channel"))
                        yield Select[str]([(label("channel", c), c.value) for c in Channel],
                                          id="new-channel", value=self._seat_channel(),
                                          allow_blank=False, prompt=t("ui.select"))
                    with Vertical():
                        yield Label(t("new.work_type"))
                        yield Select[str]([(label("work_type", w), w.value) for w in WorkType
                                           if w != WorkType.FOLLOW_UP],
                                          id="new-work_type", value=WorkType.FAULT.value,
                                          allow_blank=False, prompt=t("ui.select"))
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
                locked = Static(id="new-locked")
                locked.display = False
                yield locked
                yield Static(id="new-proposal")
                yield Static(id="new-target")
                yield Static(id="new-error")
            with Vertical(id="new-side"):
                yield ScriptPanel(id="new-script")
                yield Label(t("new.similar"), id="new-similar-title")
                yield CaseList(id="new-suggestions")
        yield Footer()

    def _seat_channel(self) -> str:
        """The channel this seat takes contacts on (settings: seat_channel; a hall counter: hall)."""
        seat = str(getattr(self.ctx.settings, "seat_channel", "") or Channel.HOTLINE.value)
        return seat if seat in {c.value for c in Channel} else Channel.HOTLINE.value

    def on_mount(self) -> None:
        self.received_at = self.ctx.store.clock.now()
        # The phone field at once. The scrolling form itself took the focus first (the screen's
        # auto focus), so the digits typed right after N were lost, the Tab landed in the phone
        # field and the name typed next went into it.
        self.set_focus(self.query_one("#new-phone", Input), scroll_visible=False)
        self.prepare()
        self.set_interval(30, self._show_target)
        self._show_target()

    @work(thread=True, exclusive=True, exit_on_error=False, group="intake-prepare")
    def prepare(self) -> None:
        library = self.ctx.scripts.get()
        draft = intake.load_draft(self.ctx.store, self.ctx.actor, intake_key=self.resume) \
            if self.resume else None  # N is always a new contact; a parked one is resumed by name
        self.post_message(self.Prepared(library, draft))

    @on(Prepared)
    def _prepared(self, event: Prepared) -> None:
        self.library = event.library
        for problem in event.library.problems:
            self.notify(Content(str(problem)).plain, severity="warning", timeout=10)
        if self.prefill:
            self._restore({"form": self.prefill}, quietly=True)
        elif event.draft and not self._typed:
            self._restore(event.draft)
        elif event.draft:
            # The agent began typing before the saved contact arrived: it must not overwrite
            # what was typed; it stays saved and is offered again later.
            self.notify(t("intake.draft_not_applied"), severity="warning")
        if self.run is None:
            self.start_script()
        self._suggest()

    # --- the draft -----------------------------------------------------------------------------

    def form_values(self) -> dict[str, str]:
        values = {"phone": self.query_one("#new-phone", Input).value,
                  "name": self.query_one("#new-name", Input).value,
                  "description": self.query_one("#new-description", TextArea).text}
        for field in SELECTS:
            select = self.query_one(f"#new-{field}", Select)
            values[field] = "" if select.is_blank() else str(select.value)
        return values

    def _restore(self, draft: dict[str, Any], quietly: bool = False) -> None:
        form = draft.get("form", draft)
        self._quiet = True
        self.query_one("#new-phone", Input).value = str(form.get("phone", ""))
        self.query_one("#new-name", Input).value = str(form.get("name", ""))
        self.query_one("#new-description", TextArea).text = str(form.get("description", ""))
        for field in SELECTS:
            value = str(form.get(field, ""))
            if value in self._choices[field]:
                self._set_select(field, value)
        self._quiet = False
        self.overrides = set(draft.get("overrides", []))
        if received := draft.get("received_at"):
            self.received_at = datetime.fromisoformat(received)
        if quietly:
            return
        self.restore_flow(draft)
        self.restored = True
        self._lock_form()
        self._show_target()  # the countdown from when the contact was received, at once
        self.notify(t("new.draft_restored"))

    def draft(self) -> dict[str, Any]:
        return {"form": self.form_values(), "overrides": sorted(self.overrides),
                "received_at": self.received_at.isoformat(), **self.flow_record()}

    def changed(self) -> None:
        """Something the agent typed or chose: write the draft about a second later."""
        if self._quiet:
            return
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
        values = self.form_values()
        started = any(values[k] for k in ("phone", "name", "description")) or self.ticket_id
        self._draft_write = self.write_draft(
            json.dumps(self.draft(), ensure_ascii=False, default=str) if started else None)
        return self._draft_write

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-draft")
    def write_draft(self, value: str | None) -> None:
        intake.save_draft(self.ctx.store, self.ctx.actor, draft=value,
                          intake_key=self.intake_key or self.resume or intake.LEGACY_DRAFT_KEY,
                          # Only a contact really restored takes its parked draft's place: one
                          # that arrived too late (typed over) stays parked, never lost.
                          replaces=self.resume if self.restored else None)

    @on(Input.Changed)
    @on(Select.Changed)
    @on(TextArea.Changed)
    def _form_changed(self, event: Message) -> None:
        widget = getattr(event, "select", None) or getattr(event, "input", None) or \
            getattr(event, "text_area", None)
        if widget is not None and (widget.id or "").startswith("field-"):
            if not self._quiet:
                self.panel_changed()
                if isinstance(event, Input.Changed):
                    self.warn_forbidden(event.value)
            return
        field = (widget.id or "").removeprefix("new-") if widget is not None else ""
        if not self._quiet and self.is_mounted and field in ("phone", "name", "description"):
            self._typed = True
        # (The description is the customer's own words: no wording warning there.)
        if isinstance(event, TextArea.Changed) and field == "description":
            cap_text(event.text_area, DESCRIPTION_LIMIT)
            if self._suggest_timer is not None:
                self._suggest_timer.stop()
            self._suggest_timer = self.set_timer(SUGGEST_DELAY, self._suggest)
        if isinstance(event, Select.Changed) and self._applied.get(field) == str(event.value):
            del self._applied[field]  # the screen's own change arriving
            if field in ("work_type", "category"):
                self.maybe_repick()
            self.changed()
            return
        if field in PROPOSED and not self._quiet and self.proposal is not None:
            self.overrides.add(field)  # the agent chose otherwise than proposed: recorded
        if field == "phone":
            self.look_up(event.value)  # type: ignore[attr-defined]
        if field in ("work_type", "category") and not self._quiet:
            self.maybe_repick()
        if field in ("phone", "name", "channel"):
            self.refresh_context()
        self.changed()

    @on(Checkbox.Changed)
    def _ticked(self, event: Checkbox.Changed) -> None:
        if (event.checkbox.id or "").startswith("tick-") and not self._quiet:
            self.panel_changed()

    def warn_forbidden(self, text: str) -> None:
        """Warn as soon as the agent types a phrase the script forbids (once per phrase)."""
        from agent_console.screens.intake_flow import forbidden_here
        from agent_console.services.script_run import _fold

        folded = _fold(text)
        for phrase in forbidden_here(self.run, current_language()):
            if phrase not in self._warned and _fold(phrase) in folded:
                self._warned.add(phrase)
                self.notify(t("intake.forbidden_typed", phrase=phrase), severity="warning",
                            timeout=8)

    # --- after the ticket exists ---------------------------------------------------------------

    def _lock_form(self) -> None:
        """Once the ticket exists the form no longer changes it: the fields lock, and a note
        says where the ticket is changed (its own screen, where every change is audited)."""
        if self.ticket_id is None:
            return
        for field in ("phone", "name", "description", *SELECTS):
            self.query_one(f"#new-{field}").disabled = True
        self.query_one("#new-locked", Static).update(Content(
            t("intake.locked", number=self.ticket_number)))
        self.query_one("#new-locked", Static).display = True
        if self.focused is None or self.focused.disabled:
            self.show_step(focus=True)  # the cursor goes on with the script

    # --- customer, classification, suggestions ---------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="intake-lookup")
    def look_up(self, phone: str) -> None:
        snapshot = intake.lookup(self.ctx.store, self.ctx.actor, phone=phone)
        recent = intake.recent_tickets(self.ctx.store, self.ctx.actor,
                                       customer_id=snapshot.id) if snapshot is not None else []
        self.post_message(self.Looked(phone, snapshot, recent))

    @on(Looked)
    def _looked(self, event: Looked) -> None:
        if event.phone != self.query_one("#new-phone", Input).value:
            return
        self.snapshot = snap = event.snapshot
        line = ""
        if snap is not None:
            line = t("new.known", name=snap.name or "—", tier=label("tier", snap.tier),
                     open=snap.open_tickets, recent=snap.recent_tickets)
            if snap.green_channel:
                line += "  " + t("ticket.green_channel")
            if snap.repeat_complaint:
                line += "  " + t("new.repeat", count=snap.recent_complaints)
        elif event.phone.strip():
            line = t("new.unknown")
        self.query_one("#new-customer", Static).update(Content(line))
        self.recent = event.recent
        self._show_recent()
        self.refresh_context()

    def _show_recent(self) -> None:
        """The customer's recent tickets: number, category, status, age (F9 opens or links one)."""
        lang, now = current_language(), self.ctx.store.clock.now()
        names = {c.code: c.name(lang) for c in self.ctx.store.catalog.categories.values()}
        lines = [self._recent_line(r, names, now) for r in self.recent[:3]]
        if lines:
            lines.append(t("intake.recent_keys"))
        widget = self.query_one("#new-recent", Static)
        widget.update(Content("\n".join(lines)))
        widget.display = bool(lines)

    @staticmethod
    def _recent_line(r: intake.RecentTicket, names: dict[str, str], now: datetime) -> str:
        return t("intake.recent_line", number=r.number, category=names.get(r.category, r.category),
                 status=label("status", r.status),
                 age=duration((now - r.created_at).total_seconds()))

    def action_customer_tickets(self) -> None:
        """Open one of the customer's tickets, or put this contact on it instead of a new one."""
        from agent_console.screens.choice_screen import ChoiceScreen

        if not self.recent:
            self.notify(t("intake.recent_none"))
            return
        lang, now = current_language(), self.ctx.store.clock.now()
        names = {c.code: c.name(lang) for c in self.ctx.store.catalog.categories.values()}
        choices = []
        for r in self.recent:
            line = self._recent_line(r, names, now)
            choices.append((t("intake.recent_open", line=line), f"open:{r.id}"))
            if self.ticket_id is None:
                choices.append((t("intake.recent_link", number=r.number), f"link:{r.id}"))

        def chosen(value: str | None) -> None:
            if not value:
                return
            kind, _, ident = value.partition(":")
            if kind == "open":
                self.app.post_message(OpenTicket(int(ident)))
            else:
                if self._draft_timer is not None:
                    self._draft_timer.stop()
                    self._draft_timer = None
                self.link_to(int(ident), self.form_values())

        self.app.push_screen(ChoiceScreen(t("intake.recent_title"), choices, ""), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-writer")
    def link_to(self, ticket_id: int, values: dict[str, str]) -> None:
        number = intake.link_contact(self.ctx.store, self.ctx.actor, ticket_id=ticket_id,
                                     intake_key=self.intake_key, text=values["description"],
                                     channel=label("channel", values["channel"]))
        if self.restored and self.resume not in (None, self.intake_key):
            intake.save_draft(self.ctx.store, self.ctx.actor, intake_key=self.resume, draft=None)
        self.app.call_from_thread(self._linked, ticket_id, number)

    def _linked(self, ticket_id: int, number: str) -> None:
        self.notify(t("intake.linked", number=number))
        self.dismiss(None)
        self.app.post_message(OpenTicket(ticket_id))

    def _suggest(self) -> None:
        step = self.run.step if self.run is not None else None
        hints = " ".join(step.kb_hints) if step is not None else ""
        self.suggest(self.query_one("#new-description", TextArea).text, hints)

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-suggest")
    def suggest(self, text: str, hints: str = "") -> None:
        """Similar cases for the description and the script step's KB hints; the classification."""
        from agent_console.services.learning import classifier_for

        if not (text.strip() or hints):
            self.post_message(self.Suggested(text, [], None))
            return
        hits = knowledge.similar(self.ctx.store, text=f"{text} {hints}", limit=8)
        proposal = classifier_for(self.ctx.store).classify(text) if text.strip() else None
        self.post_message(self.Suggested(text, hits, proposal))

    @on(Suggested)
    def _suggested(self, event: Suggested) -> None:
        if event.text != self.query_one("#new-description", TextArea).text:
            return  # typed on since: a newer suggestion is coming
        lang = current_language()
        names = {c.code: c.name(lang) for c in self.ctx.store.catalog.categories.values()}
        self.query_one(CaseList).show_hits(event.hits, names, t("kb.retired"), t("new.no_similar"))
        self.proposal = proposal = event.proposal
        if proposal is None:
            self.query_one("#new-proposal", Static).update("")
            return
        proposed = {"category": proposal.category, "work_type": str(proposal.work_type),
                    "grade": str(proposal.grade)}
        for field, value in proposed.items():
            if self.ticket_id is None and field not in self.overrides \
                    and value in self._choices[field]:
                self._set_select(field, value)
        why = "; ".join(f"{r.rule} “{'、'.join(h.text for h in r.hits[:3])}”"
                        for r in proposal.reasons_for("category")[:2])
        category = self.ctx.store.catalog.categories.get(proposal.category or "")
        department = self.ctx.store.catalog.departments.get(proposal.department or "")
        text = t("new.proposal", category=category.name(lang) if category else "—",
                 work_type=label("work_type", str(proposal.work_type)),
                 department=department.name(lang) if department else "—",
                 grade=label("grade", str(proposal.grade)),
                 form=t(f"new.form.{proposal.complaint_form}"), why=why or "—")
        if self.overrides:
            text += "  " + t("new.overridden", fields=", ".join(
                t(f"new.{f}") for f in sorted(self.overrides)))
        self.query_one("#new-proposal", Static).update(Content(text))

    def _set_select(self, field: str, value: str) -> None:
        select = self.query_one(f"#new-{field}", Select)
        if select.value != value:
            self._applied[field] = value
            select.value = value

    def _show_target(self) -> None:
        now = self.ctx.store.clock.now()
        within = standards().classify_within  # content/standards.toml
        due, minutes = self.received_at + within, round(within.total_seconds() / 60)
        if self.ticket_id is not None:
            text = t("intake.classified_within", minutes=minutes)
        elif now >= due:
            text = t("intake.target_over", minutes=minutes,
                     due=local_time(due, self.ctx.zone, with_date=False))
        else:
            text = t("new.target", due=local_time(due, self.ctx.zone, with_date=False),
                     left=duration((due - now).total_seconds() + 59))
        self.query_one("#new-target", Static).update(Content(text))

    # --- leaving -------------------------------------------------------------------------------

    def show_error(self, field: str, message: str) -> None:
        self.query_one("#new-error", Static).update(Content(message))
        if field and (found := self.query(f"#new-{field}")):
            found.first().focus()

    def refusal_text(self, refused: InputError) -> tuple[str, str]:
        field = {"type": "work_type"}.get(refused.field, refused.field)
        if refused.code == "required":
            return field, t("form.required", field=t(f"new.{field}"))
        if field in ("phone", "name"):
            return field, t(f"new.invalid.{field}")
        return field, refused.localized()

    def action_abandon(self) -> None:
        """The customer hung up (or the line dropped): end the contact with a reason; recorded,
        and its draft (which holds the full number typed) deleted."""
        from agent_console.screens.reason_screen import ReasonScreen

        def given(reason: str | None) -> None:
            if reason:
                if self._draft_timer is not None:
                    self._draft_timer.stop()
                    self._draft_timer = None
                self.abandon(reason)

        self.app.push_screen(ReasonScreen(t("intake.abandon_title")), given)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-writer")
    def abandon(self, reason: str) -> None:
        intake.abandon(self.ctx.store, self.ctx.actor, intake_key=self.intake_key, reason=reason,
                       ticket_id=self.ticket_id,
                       resumed_legacy=self.resume == intake.LEGACY_DRAFT_KEY)
        self.app.call_from_thread(self._abandoned)

    def _abandoned(self) -> None:
        self.notify(t("intake.abandoned"))
        self.dismiss(None)

    def action_leave(self) -> None:
        self.keep_draft()
        if any(self.form_values()[k] for k in ("phone", "name", "description")):
            self.notify(t("new.draft_kept"))
        self.dismiss(None)

