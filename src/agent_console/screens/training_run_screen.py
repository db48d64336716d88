"""TrainingRunScreen: a role-play run on the real intake screen, over the run's sandbox store.

It is the IntakeScreen itself (same form, same service script, same similar-case list) given a
context whose store is the sandbox, with a transcript pane beside it: the customer's lines, the
trainer's whispers, and a "say" box where the trainee types what they say. What the trainee
does on the intake screen becomes training moves: a script step done or skipped (the script
run's trail), compensation (the script's compensation fields), the classification (when the
ticket is made) and a knowledge case opened from the similar-case list. Every second is a Tick.
Each move and the customer's answer are appended to the live store's training_event in order
by one writer thread; once a second the screen asks whether a trainer has whispered, taken the
customer's part, or is watching. Nothing of the run reaches live tickets or the live audit trail.
"""

from __future__ import annotations

import queue
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList, RichLog, Static
from textual.worker import Worker

from agent_console.i18n import t
from agent_console.screens.context import ScreenContext
from agent_console.screens.intake_screen import IntakeScreen
from agent_console.screens.training_common import banner, clock, line
from agent_console.services.training import runs
from agent_console.services.training.customer import CustomerSim
from agent_console.services.training.moves import (
    CaseUsed,
    Classified,
    Compensation,
    Move,
    Said,
    StepDone,
    StepSkipped,
    Tick,
)
from agent_console.services.training.sandbox_store import Sandbox

SAY_LIMIT = 300


class TrainingRunScreen(IntakeScreen):
    """The intake screen in a sandbox, with the customer's side beside it."""

    BINDINGS = [
        Binding("f9", "focus_say", "Say", id="train-say", priority=True),
        Binding("ctrl+e", "finish_run", "Finish run", id="train-finish", priority=True),
    ]

    DEFAULT_CSS = """
    TrainingRunScreen #train-banner { dock: top; height: 1; background: $warning;
        color: $text; text-style: bold; padding: 0 1; }
    TrainingRunScreen #train-side { dock: right; width: 36%; min-width: 28; max-width: 46;
        border-left: solid $warning;
        margin-bottom: 1; }
    TrainingRunScreen #train-brief { height: auto; max-height: 6; color: $text-muted; padding: 0 1; }
    TrainingRunScreen #train-transcript { height: 1fr; overflow-y: scroll; overflow-x: hidden; }
    TrainingRunScreen #train-say-box { height: 3; }
    """

    class Incoming(Message):
        def __init__(self, events: list[runs.RunEvent]) -> None:
            super().__init__()
            self.events = events

    class Finished(Message):
        def __init__(self, outcome: runs.Finished | None, error: str = "") -> None:
            super().__init__()
            self.outcome, self.error = outcome, error

    class CaseOpened(Message):
        def __init__(self, move: CaseUsed) -> None:
            super().__init__()
            self.move = move

    def __init__(self, live: ScreenContext, sandbox: Sandbox, *, scenario: Any, run_id: int,
                 sim: CustomerSim, lang: str) -> None:
        ctx = ScreenContext(store=sandbox.store, actor=sandbox.actor, zone=live.zone,
                            settings=live.settings, scripts=live.scripts)
        super().__init__(ctx)
        self.live, self.sandbox, self.scenario = live, sandbox, scenario
        self.run_id, self.sim, self.lang = run_id, sim, lang
        self.started = time.monotonic()
        self.finishing = False
        self.contact_done = False
        self.watchers: set[str] = set()
        self.controller: str | None = None
        self._trail_seen = 0
        self._compensated: tuple[str, str] | None = None
        self._outbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._seen_seq = 0
        self._seen_lock = threading.Lock()
        self._last_state = sim.state

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="train-banner")
        with Vertical(id="train-side"):
            yield Static(Content(self.scenario.spec.brief.get(self.lang)), id="train-brief")
            yield RichLog(id="train-transcript", wrap=True, markup=False, auto_scroll=True, min_width=20)
            yield Input(id="train-say-box", max_length=SAY_LIMIT,
                        placeholder=t("train.run.say_placeholder"))
        yield from super().compose()

    def on_mount(self) -> None:
        super().on_mount()
        log = self.query_one("#train-transcript", RichLog)
        log.write(line(0, "—", t("train.run.started"), "dim"))
        for said in self.sim.record.opening:
            log.write(line(0, t("train.run.customer"), said.text(self.lang), "bold cyan"))
        self._paint_banner()
        self._writer = threading.Thread(target=self.writer, name=f"training-run-{self.run_id}",
                                        daemon=True)
        self._writer.start()
        self.set_interval(1.0, self._second)

    def _elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def _paint_banner(self) -> None:
        parts = [clock(self._elapsed())]  # what matters first: the banner is one line
        # The trainer in control is watching too: one mark says both, so it fits at 80 columns.
        if self.controller:
            parts.append("◉ " + t("train.run.taken_over", who=self.controller))
        others = sorted(self.watchers - {self.controller})
        if others:
            parts.append("◉ " + t("train.run.watched", who=", ".join(others)))
        if self.sim.ending is not None:
            parts.append(t("train.run.ended"))
        parts.append(self.scenario.title.get(self.lang))
        self.query_one("#train-banner", Static).update(Content(banner(*parts)))

    # --- moves ---------------------------------------------------------------------------------

    def move(self, move: Move) -> None:
        """The trainee did something: the customer reacts; both go to the run's events."""
        if self.finishing:
            return
        second = max(self._elapsed(), self.sim.now)
        reaction = self.sim.react(move, second)
        before, after = self._last_state, reaction.state
        changed = after != before
        self._last_state = after
        if isinstance(move, Tick) and not reaction.lines and (after.node, after.ending) == (
                before.node, before.ending):
            # Time passing (patience draining) is kept in the record, not sent: a watcher
            # hears about a silent second only when the customer says or does something.
            if changed:
                self._paint_banner()
            return
        log = self.query_one("#train-transcript", RichLog)
        if isinstance(move, Said):
            log.write(line(second, t("train.run.you"), move.text, "bold green"))
        shown = self.controller is None
        if shown:
            for said in reaction.lines:
                log.write(line(second, t("train.run.customer"), said.text(self.lang), "bold cyan"))
        position = ""
        if self.run is not None and self.run.step is not None:
            position = self.run.step.title.get(self.lang)
        self._outbox.put(("move", (second, move, reaction, shown, position)))
        if reaction.ending is not None or changed:
            self._paint_banner()

    def show_step(self, focus: bool = False) -> None:
        super().show_step(focus)
        if self.run is None:
            return
        trail = self.run.trail
        if len(trail) < self._trail_seen:
            self._trail_seen = len(trail)  # went back a step
        for visit in trail[self._trail_seen:]:
            if visit.outcome == "done":
                self.move(StepDone(step=visit.step))
            else:
                self.move(StepSkipped(step=visit.step, reason=visit.reason))
        self._trail_seen = len(trail)
        self._maybe_compensation()

    def _maybe_compensation(self) -> None:
        values = self.run.values if self.run is not None else {}
        kind, amount = values.get("compensation_kind"), values.get("compensation_amount")
        if kind in ("bill_credit", "data_gift", "points") and amount not in (None, ""):
            key = (str(kind), str(amount))
            if key != self._compensated:
                try:
                    value = Decimal(str(amount))
                except InvalidOperation:
                    return
                self._compensated = key
                self.move(Compensation(offer=kind, amount=value))

    def on_intake_flow_ticket_made(self, event: Any) -> None:
        """Textual then calls the intake flow's own handler (it walks the classes)."""
        if event.created is not None:
            values = self.form_values()
            form = getattr(self.proposal, "complaint_form", None) or "none"
            self.move(Classified(category=values["category"], work_type=values["work_type"],
                                 complaint_form=str(form)))

    def on_intake_flow_contact_done(self, event: Any) -> None:
        """The contact is closed in the sandbox: stay here to finish the run (the intake flow's
        handler, which would leave and open the ticket, is not called)."""
        event.prevent_default()
        self.contact_done = True
        self.notify(t("train.run.contact_done"))

    @on(OptionList.OptionSelected, "#new-suggestions")
    def _case_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id and event.option.id.startswith("case-"):
            self.open_case(int(event.option.id.removeprefix("case-")))

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-case")
    def open_case(self, case_id: int) -> None:
        from agent_console.services import knowledge

        case = knowledge.get_case(self.ctx.store, case_id=case_id)
        self.post_message(self.CaseOpened(CaseUsed(case_id=str(case.id), category=case.category,
                                                   tags=tuple(case.tags))))

    @on(CaseOpened)
    def _case_opened(self, event: CaseOpened) -> None:
        self.move(event.move)
        self.notify(t("train.run.case_noted"))

    @on(Input.Submitted, "#train-say-box")
    def _said(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        event.input.value = ""
        if text:
            self.move(Said(text=text))

    @on(Input.Changed, "#train-say-box")
    def _say_typing(self, event: Input.Changed) -> None:
        event.stop()  # not a form field of the intake screen

    def action_focus_say(self) -> None:
        # At once (not after a refresh): what is typed straight after F9 belongs in the box.
        self.set_focus(self.query_one("#train-say-box", Input))

    def _second(self) -> None:
        if self.finishing:
            return
        self.move(Tick())
        self._paint_banner()
        self.poll()

    # --- the live store: one writer in order, one poll a second ----------------------------------

    def writer(self) -> None:
        """The one thread that writes the run's events, in the order they happened (a thread of
        its own, not a worker: it lives as long as the run)."""
        store, actor = self.live.store, self.live.actor
        while True:
            kind, item = self._outbox.get()
            if kind == "stop":
                return
            if kind == "move":
                second, move, reaction, shown, position = item
                try:
                    runs.record_move(store, actor, run_id=self.run_id, second=second, move=move,
                                     reaction=reaction, shown=shown, position=position)
                except Exception:
                    pass
            elif kind == "abandon":
                try:
                    runs.abandon_run(store, actor, run_id=self.run_id)
                except Exception:
                    pass  # already ended, or the store is gone: nothing left to close
                return
            elif kind == "finish":
                try:
                    outcome = runs.finish_run(store, actor, run_id=self.run_id, record=item)
                except Exception as exc:
                    self.post_message(self.Finished(None, str(exc)))
                    return
                self.post_message(self.Finished(outcome))
                return

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-poll")
    def poll(self) -> None:
        with self._seen_lock:
            seen = self._seen_seq
            last, _state = runs.run_head(self.live.store, self.live.actor, run_id=self.run_id)
            if last <= seen:
                return
            found = runs.events(self.live.store, self.live.actor, run_id=self.run_id, after=seen)
            self._seen_seq = max([seen, *(e.seq for e in found)])
        wanted = [e for e in found if e.kind in ("whisper", "trainer_line", "take_over", "release",
                                                 "watch", "unwatch")]
        if wanted:
            self.post_message(self.Incoming(wanted))

    @on(Incoming)
    def _incoming(self, event: Incoming) -> None:
        log = self.query_one("#train-transcript", RichLog)
        second = self._elapsed()
        for item in event.events:
            if item.kind == "whisper":
                log.write(line(second, t("train.run.whisper", who=item.by),
                               str(item.payload.get("text", "")), "bold magenta"))
                self.notify(t("train.run.whisper_note", who=item.by))
            elif item.kind == "trainer_line":
                log.write(line(second, t("train.run.customer"), str(item.payload.get("text", "")),
                               "bold cyan"))
            elif item.kind == "take_over":
                self.controller = item.by
            elif item.kind == "release":
                self.controller = None
            elif item.kind == "watch":
                self.watchers.add(item.by)
            elif item.kind == "unwatch":
                self.watchers.discard(item.by)
        self._paint_banner()

    # --- finishing -----------------------------------------------------------------------------

    def action_finish_run(self) -> None:
        if self.finishing:
            return
        self.finishing = True
        self.query_one("#train-banner", Static).update(Content(banner(t("train.run.scoring"))))
        self._outbox.put(("finish", self.sim.record))

    def keep_draft(self) -> Worker[None] | None:
        """The terminal has gone mid-run: the moves made are written, then the run is closed
        unscored (a trainer watching sees it end); the worker waits for the writer."""
        if self.finishing:
            return None
        self.finishing = True
        self._outbox.put(("abandon", None))
        return self._writer_done()

    @work(thread=True, exit_on_error=False, group="train-abandon")
    def _writer_done(self) -> None:
        self._writer.join()

    def action_leave(self) -> None:
        self.action_finish_run()

    def open_destination(self, destination_id: str) -> bool:
        """Nothing else opens during a run: the live screens are not part of it."""
        self.notify(t("train.run.finish_first"))
        return True

    @on(Finished)
    def _finished(self, event: Finished) -> None:
        from agent_console.screens.training_result_screen import TrainingResultScreen

        self.sandbox.close()
        if event.outcome is None:
            self.notify(Content(event.error).plain, severity="error")
            self.dismiss(None)
            return
        if event.outcome.newly_certified:
            self.notify(t("train.run.certified"), timeout=10)
        app = self.app
        self.dismiss(None)
        app.push_screen(TrainingResultScreen(self.live, self.run_id))

    def on_unmount(self) -> None:
        self._outbox.put(("stop", None))
        if not self.finishing:  # the console is closing mid-run: the sandbox goes with it
            self.sandbox.close()
