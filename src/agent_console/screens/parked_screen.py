"""ParkedScreen: the agent's unfinished contacts (parked with Escape, or left by a dropped line or
a killed terminal); Enter resumes one, N starts a new one."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from agent_console.formatting import local_time
from agent_console.i18n import t
from agent_console.screens.context import ContextScreen
from agent_console.services import intake


class ParkedScreen(ContextScreen[None]):
    BINDINGS = [
        Binding("escape", "leave", "Back", id="back"),
        # Enter pressed before the list has come is kept, not lost: it resumes the first one.
        Binding("enter", "resume", "Resume", id="resume-contact", priority=True),
    ]

    loaded = False
    enter_waiting = False

    class Loaded(Message):
        def __init__(self, parked: list[intake.ParkedContact]) -> None:
            super().__init__()
            self.parked = parked

    def compose(self) -> ComposeResult:
        yield Static(Content(t("intake.parked_title")), id="parked-title")
        yield OptionList(id="parked-list")
        yield Static(Content(t("intake.parked_hint")), id="parked-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="parked")
    def load(self) -> None:
        self.post_message(self.Loaded(intake.parked_contacts(self.ctx.store, self.ctx.actor)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for parked in event.parked:
            when = local_time(parked.received_at, self.ctx.zone, with_date=False) \
                if parked.received_at else "—"
            line = t("intake.parked_line", when=when, phone=parked.phone_masked or "—",
                     text=parked.description or "—",
                     ticket=parked.ticket_number or t("intake.parked_no_ticket"))
            options.add_option(Option(Content(line), id=parked.key))
        self.loaded = True
        if not event.parked:
            options.add_option(Option(Content(t("intake.parked_none")), id="-", disabled=True))
            return
        options.highlighted = 0
        if self.enter_waiting:
            self.action_resume()

    def action_resume(self) -> None:
        if not self.loaded:
            self.enter_waiting = True
            return
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._resume(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._resume(event.option.id)

    def _resume(self, key: str | None) -> None:
        from agent_console.screens.intake_screen import IntakeScreen

        if not key or key == "-":
            return
        self.dismiss(None)
        self.app.push_screen(IntakeScreen(self.ctx, resume=key))

    def action_leave(self) -> None:
        self.dismiss(None)
