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
    BINDINGS = [Binding("escape", "leave", "Back", id="back")]

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
        if not event.parked:
            options.add_option(Option(Content(t("intake.parked_none")), id="-", disabled=True))
        else:
            options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        from agent_console.screens.intake_screen import IntakeScreen

        if not event.option.id or event.option.id == "-":
            return
        self.dismiss(None)
        self.app.push_screen(IntakeScreen(self.ctx, resume=event.option.id))

    def action_leave(self) -> None:
        self.dismiss(None)
