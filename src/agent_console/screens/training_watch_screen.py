"""TrainingWatchScreen: a trainer follows a trainee's running session from another terminal.

Twice a second it asks the live store one tiny question (the run's last event number) and reads
only the events after the last one seen; widgets are repainted only when something new came,
so an idle run costs the poll and nothing on the wire. It shows the transcript, the trainee's
place in the service script and the running score. Enter sends what is typed: a whisper only
the trainee sees, or, after F9 (take over), the customer's next line. Watching is audited and
the trainee's screen says they are watched.
"""

from __future__ import annotations

import threading
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, RichLog, Static

from agent_console.i18n import current_language, t
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.training_common import banner, clock, line, move_text
from agent_console.services.permissions import RUN_TRAINING
from agent_console.services.training import runs
from agent_console.services.training.moves import CustomerState, Event, Line, Reaction, RunRecord
from agent_console.services.training.rubric import score

POLL_SECONDS = 0.5  # a move shows within a second; an idle poll writes nothing to the terminal


class TrainingWatchScreen(ContextScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Stop watching", id="back"),
        Binding("f9", "take_over", "Take over", id="train-take-over", priority=True),
    ]
    PERMISSIONS = {"take_over": RUN_TRAINING}

    DEFAULT_CSS = """
    TrainingWatchScreen .train-banner { height: 1; background: $warning; color: $text;
        text-style: bold; padding: 0 1; }
    TrainingWatchScreen #watch-state { height: 2; padding: 0 1; background: $panel; }
    TrainingWatchScreen #watch-transcript { height: 1fr; overflow-y: scroll; overflow-x: hidden; }
    TrainingWatchScreen #watch-mode { height: 1; padding: 0 1; color: $text-muted; }
    TrainingWatchScreen #watch-input { height: 3; }
    """

    class Arrived(Message):
        def __init__(self, events: list[runs.RunEvent], state: str, total: float | None,
                     position: str) -> None:
            super().__init__()
            self.events, self.state, self.total, self.position = events, state, total, position

    def __init__(self, ctx: ScreenContext, run_id: int) -> None:
        super().__init__(ctx)
        self.run_id = run_id
        self.seen = 0
        self.controlling = False
        self.state = "running"
        self.summary: runs.RunSummary | None = None
        self._lock = threading.Lock()
        self._opening: dict[str, Any] | None = None
        self._events: list[Event] = []
        self._position = ""
        self._last_second = 0.0
        self._shown = ("", "")  # what the state line and banner last showed

    def compose(self) -> ComposeResult:
        yield Static(id="watch-banner", classes="train-banner")
        yield Static(id="watch-state")
        yield RichLog(id="watch-transcript", wrap=True, markup=False, auto_scroll=True, min_width=20)
        yield Static(id="watch-mode")
        yield Input(id="watch-input", max_length=runs.TEXT_LIMIT,
                    placeholder=t("train.watch.whisper_placeholder"))
        # Without the palette hint the keys fit 80 columns: a footer wider than the terminal
        # is laid out again at every bindings refresh, ~500 B/s on an idle watch.
        yield Footer(show_command_palette=False, compact=True)

    def on_mount(self) -> None:
        self._paint_mode()
        box = self.query_one("#watch-input", Input)
        box.cursor_blink = False  # a blinking cursor is a repaint twice a second on a thin link
        box.focus()
        self.start()
        self._stop = threading.Event()
        threading.Thread(target=self._poll_loop, name=f"training-watch-{self.run_id}",
                         daemon=True).start()

    def on_unmount(self) -> None:
        self._stop.set()

    def _poll_loop(self) -> None:
        """One thread asks once a second (no worker started and ended each second: each would
        be messages and a refresh of the screen's keys even when nothing is new)."""
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception:
                continue

    # --- reading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch-start")
    def start(self) -> None:
        detail = runs.run_detail(self.ctx.store, self.ctx.actor, run_id=self.run_id)
        self.summary = detail.summary
        with self._lock:
            found = runs.watch(self.ctx.store, self.ctx.actor, run_id=self.run_id)
            self._take(found, detail.summary.state)

    def poll(self) -> None:
        if self.summary is None or self.state != "running":
            return
        with self._lock:
            last, state = runs.run_head(self.ctx.store, self.ctx.actor, run_id=self.run_id)
            if last <= self.seen:
                return
            self._take(runs.events(self.ctx.store, self.ctx.actor, run_id=self.run_id,
                                   after=self.seen), state)

    def _take(self, found: list[runs.RunEvent], state: str) -> None:
        """Fold new events into the running record and score it (in the worker)."""
        for event in found:
            self.seen = max(self.seen, event.seq)
            if event.kind == "opening":
                self._opening = event.payload
            elif event.kind == "move" and event.payload.get("reaction"):
                self._events.append(Event(second=event.second, move=runs.move_of(event.payload),
                                          reaction=Reaction.model_validate(
                                              event.payload["reaction"])))
                self._position = str(event.payload.get("position") or self._position)
        total = None
        scenario = runs.library().scenarios.get(self.summary.scenario) if self.summary else None
        if scenario is not None and self._opening is not None:
            record = RunRecord(
                scenario=scenario.id, seed=0, lang=current_language(),
                time_budget=scenario.spec.time_budget,
                opening=tuple(Line.model_validate(x) for x in self._opening.get("lines", ())),
                start=CustomerState.model_validate(self._opening["state"]),
                events=tuple(self._events))
            total = score(record, scenario.rubric).total
        if found:
            self.post_message(self.Arrived(found, state, total, self._position))

    @on(Arrived)
    def _arrived(self, event: Arrived) -> None:
        lang = current_language()
        log = self.query_one("#watch-transcript", RichLog)
        trainee = self.summary.trainee_name if self.summary else ""
        last_second = self._last_second
        for item in event.events:
            if item.kind == "move":
                last_second = max(last_second, item.second)
            if item.kind == "opening":
                for text in _lines(item.payload, lang):
                    log.write(line(0, t("train.run.customer"), text, "bold cyan"))
            elif item.kind == "move":
                move = runs.move_of(item.payload)
                if move.kind == "said":
                    log.write(line(item.second, trainee, move.text, "bold green"))
                elif move.kind != "tick":
                    log.write(line(item.second, trainee, move_text(move), "green"))
                if item.payload.get("shown", True):
                    for text in _lines(item.payload, lang):
                        log.write(line(item.second, t("train.run.customer"), text, "bold cyan"))
            elif item.kind == "whisper":
                log.write(line(item.second, t("train.run.whisper", who=item.by),
                               str(item.payload.get("text", "")), "bold magenta"))
            elif item.kind == "trainer_line":
                log.write(line(item.second, t("train.watch.you_as_customer"),
                               str(item.payload.get("text", "")), "bold cyan"))
            elif item.kind == "finish":
                self.state = "finished"
                log.write(line(item.second, "—", t("train.watch.finished",
                                                   score=f"{item.payload.get('score', 0):.0f}"),
                               "bold"))
            elif item.kind == "abandoned":
                self.state = "abandoned"
                log.write(line(item.second, "—", t("train.watch.abandoned"), "bold"))
        if event.state != "running":
            self.state = event.state
        self._last_second = last_second
        state_line = t("train.watch.state", position=event.position or "—",
                       score="—" if event.total is None else f"{event.total:.0f}",
                       second=clock(last_second))
        title = banner(t("train.watch.title"), f"{trainee}",
                       t("train.watch.over") if self.state != "running" else "")
        if (state_line, title) != self._shown:  # repaint only what changed
            self._shown = (state_line, title)
            self.query_one("#watch-state", Static).update(Content(state_line))
            self.query_one("#watch-banner", Static).update(Content(title))

    # --- acting --------------------------------------------------------------------------------

    def _paint_mode(self) -> None:
        key = "train.watch.mode_customer" if self.controlling else "train.watch.mode_whisper"
        self.query_one("#watch-mode", Static).update(Content(t(key)))
        self.query_one("#watch-input", Input).placeholder = t(
            "train.watch.customer_placeholder" if self.controlling
            else "train.watch.whisper_placeholder")

    @on(Input.Submitted, "#watch-input")
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if text and self.state == "running":
            self.send(text, self.controlling)

    @work(thread=True, exit_on_error=False, group="watch-send")
    def send(self, text: str, as_customer: bool) -> None:
        if as_customer:
            runs.customer_line(self.ctx.store, self.ctx.actor, run_id=self.run_id, text=text)
        else:
            runs.whisper(self.ctx.store, self.ctx.actor, run_id=self.run_id, text=text)

    def action_take_over(self) -> None:
        if self.state != "running":
            return
        self.controlling = not self.controlling
        self.toggle(self.controlling)
        self._paint_mode()

    @work(thread=True, exit_on_error=False, group="watch-send")
    def toggle(self, take: bool) -> None:
        if take:
            runs.take_over(self.ctx.store, self.ctx.actor, run_id=self.run_id)
        else:
            runs.release(self.ctx.store, self.ctx.actor, run_id=self.run_id)

    def action_back(self) -> None:
        self.leave(self.controlling)
        self.dismiss(None)

    @work(thread=True, exit_on_error=False, group="watch-leave")
    def leave(self, controlling: bool) -> None:
        try:
            if controlling:
                runs.release(self.ctx.store, self.ctx.actor, run_id=self.run_id)
            runs.stop_watching(self.ctx.store, self.ctx.actor, run_id=self.run_id)
        except Exception:
            pass


def _lines(payload: dict[str, Any], lang: str) -> list[str]:
    from agent_console.screens.training_common import customer_lines

    return customer_lines(payload, lang)
