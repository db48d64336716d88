"""The script side of IntakeScreen: the run, step by step, the ticket it fills, how it ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message

from agent_console.formatting import local_time
from agent_console.i18n import current_language, t
from agent_console.messages import OpenTicket
from agent_console.models.read import TicketCreated
from agent_console.services import intake
from agent_console.services.errors import InputError
from agent_console.services.tickets import create_ticket
from agent_console.widgets.script_panel import FieldView, ScriptPanel, StepView

if TYPE_CHECKING:
    from textual.app import App

    from agent_console.screens.context import ScreenContext


class IntakeFlow:
    """Mixin: needs `form_values()`, `changed()`, `show_error()`, `refusal_text()` of the screen."""

    if TYPE_CHECKING:
        app: App[Any]
        ctx: ScreenContext

        def post_message(self, message: Any) -> bool: ...
        def form_values(self) -> dict[str, str]: ...
        def changed(self) -> None: ...
        def show_error(self, field: str, message: str) -> None: ...
        def refusal_text(self, refused: InputError) -> tuple[str, str]: ...
        def _suggest(self) -> None: ...
        def _lock_form(self) -> None: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def dismiss(self, result: Any = None) -> Any: ...
        def call_later(self, callback: Any, *args: Any) -> bool: ...

    library: Any = None
    run: Any = None
    ticket_id: int | None = None
    ticket_number: str = ""
    intake_key: str = ""  # names this contact, so a repeated create or finish does it once
    due_time: str = ""
    snapshot: intake.CustomerSnapshot | None = None
    step_message: str = ""
    wrong_shown: bool = False
    pending: dict[str, str]  # what is typed in the current step's fields, as typed (kept if wrong)
    overrides: set[str]
    proposal: Any

    class TicketMade(Message):
        def __init__(self, created: TicketCreated | None, field: str = "", error: str = "",
                     then: str = "") -> None:
            super().__init__()
            self.created, self.field, self.error, self.then = created, field, error, then

    class ContactDone(Message):
        def __init__(self, ticket_id: int, outcome: intake.ContactOutcome) -> None:
            super().__init__()
            self.ticket_id, self.outcome = ticket_id, outcome

    # --- the run -------------------------------------------------------------------------------

    def _script_context(self) -> dict[str, str]:
        values = self.form_values()
        name = (self.snapshot.name if self.snapshot else "") or values["name"]
        return {"customer_name": name, "agent_name": self.ctx.actor.name,
                "ticket_no": self.ticket_number, "due_time": self.due_time,
                "channel": values["channel"],  # greeting and goodbye follow the channel
                "form_phone": values["phone"], "form_description": values["description"]}

    def _pick(self) -> Any:
        from agent_console.services.scripts import pick_script

        values = self.form_values()
        return pick_script(self.library, values["work_type"], values["category"])

    def start_script(self) -> None:
        from agent_console.services.script_run import ScriptRun

        if self.library is None:
            return
        self.run = ScriptRun.start(self._pick(), self._script_context(), self.ctx.store.clock,
                                   self.library)
        self.show_step()

    def maybe_repick(self) -> None:
        """Follow the contact's type and category while nothing of the script is done yet."""
        if self.library is None or self.run is None or self.run.trail or self.ticket_id:
            return
        if self._pick().id != self.run.root:
            self.start_script()

    def refresh_context(self) -> None:
        if self.run is not None:
            self.run.update_context(self._script_context())
            self.show_step()

    def restore_flow(self, draft: dict[str, Any]) -> None:
        from agent_console.services.script_run import RunError, ScriptRun

        self.ticket_id = draft.get("ticket_id")
        self.ticket_number = str(draft.get("ticket_number") or "")
        # A ticket made before contacts were keyed has no key to match.
        self.intake_key = str(draft.get("intake_key") or ("" if self.ticket_id else self.intake_key))
        self.due_time = str(draft.get("due_time") or "")
        self.pending = {str(k): str(v) for k, v in (draft.get("pending") or {}).items()}
        if draft.get("run") and self.library is not None:
            try:
                self.run = ScriptRun.from_record(draft["run"], self.library, self.ctx.store.clock)
            except RunError:
                self.run = None
        self.show_step()

    def flow_record(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "ticket_number": self.ticket_number,
                "intake_key": self.intake_key, "due_time": self.due_time,
                "run": self.run.to_record() if self.run else None, "pending": dict(self.pending)}

    def step_key(self) -> str:
        run = self.run
        return "" if run is None or run.step is None else f"{run.script.id}/{run.step.id}"

    def show_step(self, focus: bool = False) -> None:
        """Show the current step; `focus` (after a move) puts the cursor on its first item."""
        self.call_later(self.query_one(ScriptPanel).show, step_view(self), focus=focus)
        if self.run is not None and self.run.step is not None and self.run.step.kb_hints:
            self._suggest()  # the step's knowledge-base hints search too

    # --- moving --------------------------------------------------------------------------------

    def sync_panel(self) -> str | None:
        """Take what the panel shows of the current step into the run, as the agent types:
        ticks and valid values at once, a wrong value kept as typed. Returns the first field
        whose value is wrong, or None."""
        panel = self.query_one(ScriptPanel)
        run = self.run
        if run is None or run.finished or panel.view is None or panel.view.key != self.step_key():
            return None
        ticks, fields = panel.values()
        for item, ticked in ticks.items():
            run.tick(item, ticked)
        wrong = None
        for field, value in fields.items():
            try:
                run.fill(field, value)
                self.pending.pop(field, None)
            except InputError:
                run.fill(field, "")
                self.pending[field] = value
                wrong = wrong or field
        return wrong

    def panel_changed(self) -> None:
        """A tick or a value in the script panel: into the run, the lines read aloud, the draft."""
        if self.sync_panel() is None and self.wrong_shown:
            self.step_message, self.wrong_shown = "", False
        self.show_step()
        self.changed()

    def _take_panel(self) -> bool:
        """Tick and fill from the panel; False (with the message shown, the value kept as typed)
        if a value is wrong."""
        wrong = self.sync_panel()
        if wrong is None:
            wrong = next((f for f in self.pending if self.run.script.input_field(f) is not None
                          and any(x.id == f for x in self.run.step.fields)), None)
        if wrong is not None:
            field = self.run.script.input_field(wrong)
            name = field.label.get(current_language()) if field is not None else wrong
            self.step_message = t("script.invalid", field=name, kind=t(
                f"script.kind.{field.kind.value}" if field is not None else "script.kind.text"))
            self.wrong_shown = True
            self.show_step()
            return False
        return True

    def action_next_step(self) -> None:
        from agent_console.services.script_run import StepIncomplete

        if self.run is None or self.run.finished or not self._take_panel():
            return
        lang = current_language()
        try:
            self.run.next()
        except StepIncomplete as incomplete:
            self.step_message = t("script.missing", items="；".join(
                m.label.get(lang) for m in incomplete.missing))
            self.show_step()
            return
        self.step_message = ""
        self.pending = {}
        if self.ticket_id is None and (self.run.finished or self.run.stage != "intake"):
            self.create(self.form_values(), self.intake_key, then="step")  # intake is done
            return
        self._after_move()

    def _after_move(self) -> None:
        self.changed()
        if self.run.finished:
            self.finish_contact(self.ticket_id, self.run)
        else:
            self.show_step(focus=True)

    def action_back_step(self) -> None:
        from agent_console.services.script_run import RunError

        if self.run is None:
            return
        try:
            self.run.back()
        except RunError:
            return
        self.step_message = ""
        self.pending = {}
        self.changed()
        self.show_step(focus=True)

    def action_skip_step(self) -> None:
        from agent_console.screens.reason_screen import ReasonScreen

        step = self.run.step if self.run is not None else None
        if step is None:
            return
        if not step.skippable:
            self.step_message = t("script.not_skippable")
            self.show_step()
            return

        def skipped(reason: str | None) -> None:
            if reason:
                self.run.skip(reason)
                self.step_message = ""
                self.pending = {}
                self._after_move()

        self.app.push_screen(ReasonScreen(t("script.skip_title")), skipped)

    def action_save(self) -> None:
        """Create the ticket now (the script keeps its place)."""
        if self.ticket_id is None:
            self.create(self.form_values(), self.intake_key)

    # --- the ticket ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-writer")
    def create(self, values: dict[str, str], intake_key: str, then: str = "") -> None:
        if not values["category"]:
            self.post_message(self.TicketMade(None, "category", t("form.required",
                                                                  field=t("new.category")), then))
            return
        store, actor = self.ctx.store, self.ctx.actor
        try:
            created = create_ticket(
                store, actor, phone=values["phone"], channel=values["channel"],
                work_type=values["work_type"], category=values["category"],
                description=values["description"], grade=values["grade"] or None,
                customer_name=values["name"], intake_key=intake_key or None)
        except InputError as refused:
            field, message = self.refusal_text(refused)
            self.post_message(self.TicketMade(None, field, message, then))
            return
        proposal = self.proposal
        intake.record_classification(
            store, actor, ticket_id=created.id,
            proposed={"category": proposal.category, "work_type": str(proposal.work_type),
                      "grade": str(proposal.grade), "form": proposal.complaint_form}
            if proposal is not None else {},
            chosen={k: values[k] for k in ("category", "work_type", "grade")},
            overridden=sorted(self.overrides))
        self.post_message(self.TicketMade(created, then=then))

    def on_intake_flow_ticket_made(self, event: TicketMade) -> None:
        if event.created is None:
            if event.then == "step":
                self.run.back()  # stay in intake until the ticket can be made
            self.show_error(event.field, event.error)
            self.show_step()
            return
        self.ticket_id, self.ticket_number = event.created.id, event.created.number
        self.due_time = local_time(event.created.resolution_due, self.ctx.zone)
        self.show_error("", "")
        self._lock_form()
        self.notify(t("new.created", number=event.created.number))
        self.refresh_context()
        if event.then == "step":
            self._after_move()
        else:
            self.changed()

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-writer")
    def finish_contact(self, ticket_id: int | None, run: Any) -> None:
        if ticket_id is None:
            return
        store, actor = self.ctx.store, self.ctx.actor
        # The finish deletes the contact's draft in its own transaction.
        outcome = intake.finish(store, actor, ticket_id=ticket_id, run=run,
                                intake_key=self.intake_key or None)
        if getattr(self, "restored", False) and getattr(self, "resume", None) not in (None, self.intake_key):
            intake.save_draft(store, actor, intake_key=self.resume, draft=None)
        self.post_message(self.ContactDone(ticket_id, outcome))

    def on_intake_flow_contact_done(self, event: ContactDone) -> None:
        outcome = event.outcome
        self.notify(t("script.closed" if outcome.closed else "script.open", score=outcome.score))
        if outcome.follow_up is not None:
            self.notify(t("script.follow_up", number=outcome.follow_up.number), timeout=8)
        self.dismiss(event.ticket_id)
        self.app.post_message(OpenTicket(event.ticket_id))


def step_view(screen: IntakeFlow) -> StepView:
    """The current step as plain data in the agent's language."""
    run, lang = screen.run, current_language()
    if run is None:
        return StepView(t("script.loading"), (), (), (), "")
    step = run.step
    if step is None:
        return StepView(t("script.done"), (), (), (), "", screen.step_message)
    flow = [s.id for _, s in run.script.flow]
    position = flow.index(step.id) + 1 if step.id in flow else 0
    heading = t("script.heading", script=run.script.title.get(lang),
                stage=t(f"script.stage.{run.stage}"), step=step.title.get(lang),
                n=position, total=len(flow))
    checklist = tuple((item.id, item.text.get(lang), item.required, run.ticked(item.id))
                      for item in step.checklist)
    fields = []
    for field in step.fields:
        kind = field.kind.value
        options: tuple[tuple[str, str], ...] = ()
        if kind == "choice":
            # Options the customer answers with a number (the survey) show that number first.
            numbered = all(o.value.isdigit() for o in field.options)
            options = tuple((f"{o.value} {o.text.get(lang)}" if numbered else o.text.get(lang),
                             o.value) for o in field.options)
        elif kind == "yes_no":
            options = ((t("script.yes"), "yes"), (t("script.no"), "no"))
        value = run.values.get(field.id)
        shown = ("yes" if value else "no") if isinstance(value, bool) else str(value or "")
        shown = screen.pending.get(field.id, shown)
        fields.append(FieldView(field.id, field.label.get(lang), kind, field.required, shown, options))
    hints = t("script.kb_hints", words="、".join(step.kb_hints)) if step.kb_hints else ""
    phrases = forbidden_here(run, lang)
    never = t("intake.never_say", phrases="；".join(phrases)) if phrases else ""
    return StepView(heading, tuple(run.say(lang)), checklist, tuple(fields), hints,
                    screen.step_message, key=screen.step_key(), forbidden=never)


def forbidden_here(run: Any, lang: str) -> tuple[str, ...]:
    """The phrases never to say at the current step: the step's own, then the script's."""
    step = run.step if run is not None else None
    if step is None:
        return ()
    return tuple(dict.fromkeys((*step.forbidden.get(lang), *run.script.forbidden.get(lang))))
