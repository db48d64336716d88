"""HallCounterScreen: a hall counter's caller (柜台叫号).

One key calls the next number under the counter's work profile; the screen shows how many wait
for each service it serves, never which numbers or who: a number and its customer appear only
once called, so nobody picks the easy ones. Recall, no-show after the page timeout (undoable),
hold and call back, transfer to another service or counter (first in line there), start and
finish. One key turns the called walk-in into a guided contact: the intake screen opens with
the customer and the service filled in, and the ticket is linked to the visit.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Digits, Footer, Static

from agent_console.formatting import local_time
from agent_console.i18n import current_language, t
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.hall_display_screen import DIGIT_CHARS
from agent_console.services import hall
from agent_console.services.directory import get_preference, set_preference
from agent_console.services.hall_rules import HallConfig

COUNTER_KEY = "hall_counter"


class HallCounterScreen(ContextScreen[None]):
    CSS_PATH = "../styles/hall.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS = [
        Binding("n", "call_next", "Call next", id="hall-call-next"),
        Binding("r", "recall", "Recall", id="hall-recall"),
        Binding("s", "start", "Start", id="hall-start"),
        Binding("f", "finish", "Finish", id="hall-finish"),
        Binding("x", "no_show", "No-show", id="hall-no-show"),
        Binding("u", "undo_no_show", "Undo no-show", id="hall-undo-no-show"),
        Binding("h", "hold", "Hold", id="hall-hold"),
        Binding("b", "from_hold", "From hold", id="hall-from-hold"),
        Binding("t", "transfer", "Transfer", id="hall-transfer"),
        Binding("g", "guided", "Guided contact", id="hall-guided"),
        Binding("o", "open_close", "Open/close", id="hall-open-close"),
        Binding("c", "choose_counter", "Counter", id="hall-choose-counter"),
        Binding("escape", "back", "Back", id="back"),
    ]

    class Viewed(Message):
        def __init__(self, view: hall.CounterView | None, cfg: HallConfig, counter: str) -> None:
            super().__init__()
            self.view, self.cfg, self.counter = view, cfg, counter

    class Done(Message):
        """An act at the counter finished: say so, read again."""

        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.counter = ""
        self.cfg: HallConfig | None = None
        self.view: hall.CounterView | None = None
        self.feed: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="hall-counter-title")
        with Horizontal(id="hall-counter-body"):
            with Vertical(id="hall-counter-current"):
                yield Digits("", id="hall-current-digits")
                yield Static("", id="hall-current")
            yield Static("", id="hall-counter-waiting")
        yield Static("", id="hall-counter-note")
        yield Footer()

    def on_mount(self) -> None:
        from agent_console.services.changes import open_feed

        self.feed = open_feed(self.ctx.store)
        self.reload()
        self.set_interval(0.5, self._poll)
        self.set_interval(15, self.reload)

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.close()

    def _poll(self) -> None:
        if self.feed is not None and self.feed.changed():
            self.reload()

    def reload(self) -> None:
        self.load(self.counter)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-counter")
    def load(self, counter: str) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        cfg = hall.config(store)
        if not counter:
            counter = get_preference(store, actor.code, COUNTER_KEY) or ""
        if counter not in cfg.counters:
            counter = next(iter(cfg.counters), "")
        view = hall.counter_view(store, actor, counter=counter) if counter else None
        self.post_message(self.Viewed(view, cfg, counter))

    @on(Viewed)
    def _viewed(self, event: Viewed) -> None:
        self.cfg, self.view, self.counter = event.cfg, event.view, event.counter
        cfg, view, lang = event.cfg, event.view, current_language()
        counter = cfg.counters.get(self.counter)
        state = t("hall.counter.open") if view and view.is_open else t("hall.counter.closed")
        self.query_one("#hall-counter-title", Static).update(Content(t(
            "hall.counter.title", counter=counter.name(lang) if counter else "—", state=state)))
        current = view.current if view else None
        digits = self.query_one("#hall-current-digits", Digits)
        if current is None:
            digits.update("")
            self.query_one("#hall-current", Static).update(Content(t("hall.counter.idle")))
        else:
            digits.update(current.number if set(current.number) <= DIGIT_CHARS else "")
            service = cfg.services.get(current.service)
            lane = cfg.lanes.get(current.lane)
            lines = [t("hall.counter.current", number=current.number,
                       service=service.name(lang) if service else current.service,
                       status=t(f"hall.status.{current.status}"))]
            if lane is not None:
                lines.append(t("hall.counter.lane", lane=lane.name(lang)))
            lines.append(t("hall.counter.customer", name=current.customer_name or "—",
                           phone=current.phone_masked or "—"))
            lines.append(t("hall.counter.waited", issued=local_time(
                current.issued_at, self.ctx.zone, with_date=False), calls=current.calls))
            if current.call_reason:
                lines.append(t("hall.counter.why", why=t(f"hall.why.{current.call_reason}")))
            if current.status == "called" and current.no_show_at is not None:
                lines.append(t("hall.counter.no_show_at", at=local_time(
                    current.no_show_at, self.ctx.zone, with_date=False)))
            if current.ticket_id:
                lines.append(t("hall.counter.linked", ticket=current.ticket_id))
            self.query_one("#hall-current", Static).update(Content("\n".join(lines)))
        lines = [t("hall.counter.waiting_title")]
        if view is not None:
            for code, count in view.waiting.items():
                service = cfg.services[code]
                lines.append(t("hall.counter.waiting_line", prefix=service.prefix,
                               service=service.name(lang), count=count))
            lines.append(t("hall.counter.priority_waiting", count=view.priority_waiting))
            if view.held:
                lines.append(t("hall.counter.held", numbers="、".join(n for _, n, _ in view.held)))
            if view.no_shows:
                lines.append(t("hall.counter.no_shows",
                               numbers="、".join(n for _, n in view.no_shows)))
        self.query_one("#hall-counter-waiting", Static).update(Content("\n".join(lines)))

    # --- acts ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-act")
    def act(self, name: str, **params: Any) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        result = getattr(hall, name)(store, actor, **params)
        if name == "call_next" and result is None:
            note = t("hall.counter.nobody")
        elif isinstance(result, hall.Visit):
            note = t(f"hall.done.{name}", number=result.number)
        else:
            note = t(f"hall.done.{name}", number="")
        self.post_message(self.Done(note))

    @on(Done)
    def _done(self, event: Done) -> None:
        self.query_one("#hall-counter-note", Static).update(Content(event.note))
        self.reload()

    def _current(self) -> hall.Visit | None:
        current = self.view.current if self.view else None
        if current is None:
            self.notify(t("hall.counter.none_called"), severity="warning")
        return current

    def action_call_next(self) -> None:
        if self.counter:
            self.act("call_next", counter=self.counter)

    def action_recall(self) -> None:
        if (current := self._current()) is not None:
            self.act("recall", visit_id=current.id)

    def action_start(self) -> None:
        if (current := self._current()) is not None:
            self.act("start", visit_id=current.id)

    def action_finish(self) -> None:
        if (current := self._current()) is not None:
            self.act("finish", visit_id=current.id)

    def action_no_show(self) -> None:
        if (current := self._current()) is not None:
            self.act("no_show", visit_id=current.id)

    def action_undo_no_show(self) -> None:
        if self.view and self.view.no_shows:
            self.act("undo_no_show", visit_id=self.view.no_shows[0][0])
        else:
            self.notify(t("hall.counter.no_no_show"), severity="warning")

    def action_hold(self) -> None:
        if (current := self._current()) is not None:
            self.act("hold", visit_id=current.id)

    def action_from_hold(self) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        held = self.view.held if self.view else []
        if not held:
            self.notify(t("hall.counter.none_held"), severity="warning")
            return
        if len(held) == 1:
            self.act("call_from_hold", visit_id=held[0][0], counter=self.counter)
            return

        def chosen(value: str | None) -> None:
            if value:
                self.act("call_from_hold", visit_id=int(value), counter=self.counter)

        self.app.push_screen(ChoiceScreen(t("hall.counter.pick_held"),
                                          [(n, str(i)) for i, n, _ in held], ""), chosen)

    def action_transfer(self) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        if (current := self._current()) is None or self.cfg is None:
            return
        lang = current_language()
        choices = [(t("hall.counter.to_service", service=s.name(lang)), f"s:{code}")
                   for code, s in self.cfg.services.items() if code != current.service]
        choices += [(t("hall.counter.to_counter", counter=c.name(lang)), f"c:{code}")
                    for code, c in self.cfg.counters.items() if code != self.counter]

        def chosen(value: str | None) -> None:
            if not value:
                return
            kind, _, code = value.partition(":")
            self.act("transfer", visit_id=current.id, **(
                {"service": code} if kind == "s" else {"counter": code}))

        self.app.push_screen(ChoiceScreen(t("hall.counter.transfer_to"), choices, ""), chosen)

    def action_open_close(self) -> None:
        if self.counter and self.view is not None:
            self.act("close_counter" if self.view.is_open else "open_counter",
                     counter=self.counter)

    def action_choose_counter(self) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        if self.cfg is None:
            return
        lang = current_language()

        def chosen(value: str | None) -> None:
            if value:
                self.counter = value
                self.remember(value)

        self.app.push_screen(ChoiceScreen(t("hall.counter.pick_counter"), [
            (c.name(lang), code) for code, c in self.cfg.counters.items()], self.counter), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-remember")
    def remember(self, counter: str) -> None:
        set_preference(self.ctx.store, self.ctx.actor.code, COUNTER_KEY, counter)
        self.load(counter)

    # --- the walk-in as a guided contact -----------------------------------------------------

    class Prefilled(Message):
        def __init__(self, visit_id: int, values: dict[str, str]) -> None:
            super().__init__()
            self.visit_id, self.values = visit_id, values

    def action_guided(self) -> None:
        if (current := self._current()) is not None:
            self.prefill(current.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-guided")
    def prefill(self, visit_id: int) -> None:
        self.post_message(self.Prefilled(visit_id, hall.guided_contact(
            self.ctx.store, self.ctx.actor, visit_id=visit_id)))

    @on(Prefilled)
    def _prefilled(self, event: Prefilled) -> None:
        from agent_console.screens.intake_screen import IntakeScreen

        def done(ticket_id: int | None) -> None:
            if ticket_id:
                self.act("link_ticket", visit_id=event.visit_id, ticket_id=ticket_id)

        self.app.push_screen(IntakeScreen(self.ctx, prefill=event.values), done)

    def action_back(self) -> None:
        self.dismiss(None)
