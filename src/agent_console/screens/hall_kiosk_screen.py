"""HallKioskScreen: reception or self-service: choose a service, take a number.

A phone number is optional (it links the number to the customer's account and is shown masked);
VIP or green channel is offered only where the hall allows it. The number comes with the wait
as a range from the calling rules and the last hour's real service times.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Digits, Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from agent_console.hall_text import wait_text
from agent_console.i18n import current_language, t
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.hall_display_screen import DIGIT_CHARS
from agent_console.services import hall
from agent_console.services.hall_rules import NORMAL, HallConfig

RESET_SECONDS = 20.0  # the ticket stays on screen this long, then the kiosk is ready again


class HallKioskScreen(ContextScreen[None]):
    CSS_PATH = "../styles/hall.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS = [
        Binding("escape", "clear", "Clear", id="hall-clear"),
        Binding("f5", "refresh", "Refresh", id="hall-refresh"),
    ]

    class Loaded(Message):
        def __init__(self, cfg: HallConfig, estimates: list[hall.Estimate]) -> None:
            super().__init__()
            self.cfg, self.estimates = cfg, estimates

    class Issued(Message):
        def __init__(self, issued: hall.Issued) -> None:
            super().__init__()
            self.issued = issued

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.cfg: HallConfig | None = None
        self._reset_timer = None

    def compose(self) -> ComposeResult:
        yield Static(Content(t("hall.kiosk.title")), id="hall-kiosk-title")
        with Horizontal(id="hall-kiosk-body"):
            with Vertical(id="hall-kiosk-form"):
                yield Label(t("hall.kiosk.choose"))
                yield OptionList(id="hall-services")
                yield Label(t("hall.kiosk.phone"))
                yield Input(id="hall-phone", max_length=20, password=True)
                yield Label(t("hall.kiosk.lane"))
                yield Select[str]([(t("hall.lane.normal"), NORMAL)], id="hall-lane",
                                  value=NORMAL, allow_blank=False, prompt=t("ui.select"))
            with Vertical(id="hall-kiosk-ticket"):
                yield Static(Content(t("hall.kiosk.your_number")), classes="hall-caption")
                yield Digits("", id="hall-ticket-digits")
                yield Static("", id="hall-ticket")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#hall-services", OptionList).focus()
        self.load()
        self.set_interval(15, self.load)

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-kiosk")
    def load(self) -> None:
        store = self.ctx.store
        self.post_message(self.Loaded(hall.config(store),
                                      hall.estimates(store, site=self.ctx.actor.site)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        first = self.cfg is None
        self.cfg = cfg = event.cfg
        lang = current_language()
        options = self.query_one("#hall-services", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for estimate in event.estimates:
            service = cfg.services[estimate.service]
            options.add_option(Option(Content(t(
                "hall.kiosk.service_line", prefix=service.prefix, service=service.name(lang),
                count=estimate.waiting, wait=wait_text(estimate))), id=estimate.service))
        options.highlighted = highlighted if highlighted is not None else 0
        if first:
            lanes = [(t("hall.lane.normal"), NORMAL)] + [
                (lane.name(lang), code) for code, lane in cfg.lanes.items()
                if cfg.setting(f"allow_{code}") is not False]
            self.query_one("#hall-lane", Select).set_options(lanes)
            self.query_one("#hall-lane", Select).value = NORMAL

    @on(OptionList.OptionSelected, "#hall-services")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        lane = self.query_one("#hall-lane", Select)
        self.take(str(event.option.id), NORMAL if lane.is_blank() else str(lane.value),
                  self.query_one("#hall-phone", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-take")
    def take(self, service: str, lane: str, phone: str) -> None:
        self.post_message(self.Issued(hall.issue(self.ctx.store, self.ctx.actor,
                                                 service=service, lane=lane, phone=phone)))

    @on(Issued)
    def _issued(self, event: Issued) -> None:
        issued, cfg, lang = event.issued, self.cfg, current_language()
        digits = self.query_one("#hall-ticket-digits", Digits)
        digits.update(issued.number if set(issued.number) <= DIGIT_CHARS else "")
        lines = [t("hall.kiosk.issued", number=issued.number)]
        if cfg is not None:
            lines.append(cfg.services[issued.service].name(lang) + (
                f" · {cfg.lanes[issued.lane].name(lang)}" if issued.lane in cfg.lanes else ""))
        lines.append(t("hall.kiosk.ahead", ahead=issued.ahead))
        lines.append(t("hall.kiosk.wait", wait=wait_text(issued.estimate)))
        if issued.phone_masked:
            lines.append(t("hall.kiosk.linked", phone=issued.phone_masked))
        self.query_one("#hall-ticket", Static).update(Content("\n".join(lines)))
        self.query_one("#hall-phone", Input).value = ""
        self.query_one("#hall-lane", Select).value = NORMAL
        self.query_one("#hall-services", OptionList).focus()
        if self._reset_timer is not None:
            self._reset_timer.stop()
        self._reset_timer = self.set_timer(RESET_SECONDS, self._clear_ticket)
        self.load()

    def _clear_ticket(self) -> None:
        self.query_one("#hall-ticket-digits", Digits).update("")
        self.query_one("#hall-ticket", Static).update("")

    def action_clear(self) -> None:
        self.query_one("#hall-phone", Input).value = ""
        self.query_one("#hall-lane", Select).value = NORMAL
        self._clear_ticket()
        self.query_one("#hall-services", OptionList).focus()
