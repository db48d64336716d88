"""The outage side of IntakeScreen: when the caller's number is looked up, their active outages
are found (by equipment, cell and area); without a customer match, the description and the area
typed suggest outages. One key answers the contact from the outage (no ticket, recorded with the
outage); a ticket made while an outage is shown is linked to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding
from textual.message import Message

from agent_console.formatting import local_time
from agent_console.i18n import current_language, t
from agent_console.services import outage
from agent_console.services.outage import OutageView
from agent_console.widgets.outage_banner import OutageBanner

if TYPE_CHECKING:
    from textual.app import App

    from agent_console.screens.context import ScreenContext

SUGGEST_DELAY = 0.4
ANSWER_KEY = "ctrl+o"
OUTAGE_BINDINGS = [
    Binding(ANSWER_KEY, "answer_outage", "Answered: outage", id="outage-answer", priority=True),
]


def outage_banner() -> OutageBanner:
    """The banner IntakeScreen composes under the customer line."""
    return OutageBanner(t("outage.banner_area"), id="new-outage")


def banner_lines(found: OutageView, zone: Any, *, suggested: bool, key: str) -> list[str]:
    """What the banner says about one outage, in the agent's language."""
    eta = local_time(found.eta, zone) if found.eta else t("outage.eta_unknown")
    kind = t(f"outage.kind.{found.kind}")
    if suggested:
        head = t("outage.banner_suggest", number=found.number, kind=kind, area=found.area, eta=eta)
    else:
        head = t("outage.banner_title", number=found.number, kind=kind, area=found.area,
                 status=t(f"outage.status.{found.status}"))
    return [head,
            t("outage.banner_eta", started=local_time(found.started_at, zone), eta=eta,
              affected=found.affected),
            t("outage.banner_script", script=found.script(current_language())),
            t("outage.banner_key", key=key.upper())]


class OutageIntake:
    """Mixin for IntakeScreen (before IntakeFlow in its bases)."""

    if TYPE_CHECKING:
        app: App[Any]
        ctx: ScreenContext
        ticket_id: int | None
        _draft_timer: Any

        def post_message(self, message: Any) -> bool: ...
        def query_one(self, selector: Any, expect_type: Any = None) -> Any: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def dismiss(self, result: Any = None) -> Any: ...
        def set_timer(self, delay: float, callback: Any) -> Any: ...
        def refresh_bindings(self) -> None: ...
        def form_values(self) -> dict[str, str]: ...

    outage_shown: OutageView | None = None
    outage_customer: int | None = None
    _outage_timer: Any = None

    class OutagesFound(Message):
        def __init__(self, found: list[OutageView], customer_id: int | None,
                     suggested: bool) -> None:
            super().__init__()
            self.found, self.customer_id, self.suggested = found, customer_id, suggested

    class OutageAnswered(Message):
        def __init__(self, number: str) -> None:
            super().__init__()
            self.number = number

    class OutageLinked(Message):
        def __init__(self, number: str, ticket: str) -> None:
            super().__init__()
            self.number, self.ticket = number, ticket

    # --- finding --------------------------------------------------------------------------

    def on_intake_screen_looked(self, event: Any) -> None:
        snap = event.snapshot
        self.outage_customer = snap.id if snap is not None else None
        if snap is not None:
            self.query_one(OutageBanner).ask_area(False)
            self.check_outages(snap.id)
        else:
            self._suggest_outages()

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-check")
    def check_outages(self, customer_id: int) -> None:
        found = outage.active_for_customer(self.ctx.store, self.ctx.actor, customer_id=customer_id)
        self.post_message(self.OutagesFound(found, customer_id, False))

    def on_text_area_changed(self, event: Any) -> None:
        if self.outage_customer is None:
            self._later_suggest()

    def on_input_changed(self, event: Any) -> None:
        if event.input.id == "outage-area":
            self._later_suggest()

    def _later_suggest(self) -> None:
        if self._outage_timer is not None:
            self._outage_timer.stop()
        self._outage_timer = self.set_timer(SUGGEST_DELAY, self._suggest_outages)

    def _suggest_outages(self) -> None:
        if self.outage_customer is not None:
            return
        values = self.form_values()
        banner = self.query_one(OutageBanner)
        words = values["description"].lower()
        # Outage words from a caller we do not know: ask where they are.
        banner.ask_area(bool(values["phone"].strip()) and (
            bool(banner.area) or any(k in words for k in outage.config().keywords)))
        self.suggest_outages(values["description"], banner.area)

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-check")
    def suggest_outages(self, text: str, area: str) -> None:
        found = outage.suggest(self.ctx.store, self.ctx.actor, text=text, area=area)
        self.post_message(self.OutagesFound(found, None, True))

    def on_outage_intake_outages_found(self, event: OutagesFound) -> None:
        if event.customer_id != self.outage_customer:
            return  # the number changed since
        self.outage_shown = shown = event.found[0] if event.found else None
        lines = banner_lines(shown, self.ctx.zone, suggested=event.suggested,
                             key=ANSWER_KEY) if shown else []
        self.query_one(OutageBanner).show(lines)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer_outage":
            return self.outage_shown is not None and self.ticket_id is None
        return super().check_action(action, parameters)  # type: ignore[misc]

    # --- answering ---------------------------------------------------------------------------

    def action_answer_outage(self) -> None:
        if self.outage_shown is None:
            self.notify(t("outage.none_to_answer"), severity="warning")
            return
        self.answer_from_outage(self.outage_shown, self.outage_customer,
                                self.form_values().get("channel") or "hotline")

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-answer")
    def answer_from_outage(self, found: OutageView, customer_id: int | None, channel: str) -> None:
        from agent_console.services import intake

        outage.answer_contact(self.ctx.store, self.ctx.actor, outage_id=found.id,
                              customer_id=customer_id, channel=channel)
        # The contact has ended: its draft (with the number the agent typed) goes.
        key = self.intake_key or self.resume or intake.LEGACY_DRAFT_KEY  # type: ignore[attr-defined]
        intake.save_draft(self.ctx.store, self.ctx.actor, intake_key=key, draft=None)
        self.post_message(self.OutageAnswered(found.number))

    def on_outage_intake_outage_answered(self, event: OutageAnswered) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.app.notify(t("outage.answered", number=event.number))
        self.dismiss(None)

    def on_intake_flow_ticket_made(self, event: Any) -> None:
        if event.created is not None and self.outage_shown is not None:
            self.link_to_outage(self.outage_shown, event.created.id, event.created.number,
                                self.form_values().get("channel") or "hotline")
        self.refresh_bindings()

    @work(thread=True, exclusive=False, exit_on_error=False, group="outage-link")
    def link_to_outage(self, found: OutageView, ticket_id: int, number: str, channel: str) -> None:
        if outage.link_ticket(self.ctx.store, self.ctx.actor, outage_id=found.id,
                              ticket_id=ticket_id, channel=channel):
            self.post_message(self.OutageLinked(found.number, number))

    def on_outage_intake_outage_linked(self, event: OutageLinked) -> None:
        self.notify(t("outage.linked", ticket=event.ticket, number=event.number))
