"""SignInScreen: agent id and PIN, at start and after an idle lock. Shows nothing of customers."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from agent_console.formatting import local_time
from agent_console.i18n import t
from agent_console.messages import FirstScreenDrawn
from agent_console.models.read import AgentInfo
from agent_console.screens.context import ReportsWorkerErrors
from agent_console.services import auth
from agent_console.text import clean_line
from agent_console.widgets.localized import localize_bindings

if TYPE_CHECKING:
    from agent_console.services.actor import Actor
    from agent_console.services.store import Store


class SignInScreen(ReportsWorkerErrors, Screen[AgentInfo]):
    """Dismisses with the signed-in agent. `locked_by` names the agent whose work waits below.

    It is shown before anyone has signed in, so it is given the store, not a screen context.
    """

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="quit", priority=True)]

    class Result(Message):
        def __init__(self, agent: AgentInfo | None, error: str,
                     refusal: auth.SignInError | None = None) -> None:
            super().__init__()
            self.agent, self.error, self.refusal = agent, error, refusal

    def __init__(self, store: Store, policy: auth.LockoutPolicy, *, code: str = "",
                 locked_by: AgentInfo | Actor | None = None, zone: tzinfo | None = None) -> None:
        super().__init__()
        self.store, self.policy, self.zone = store, policy, zone
        self.code, self.locked_by = code, locked_by
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="sign-in"):
            yield Static(Content(t("app.title")), id="sign-in-title")
            if self.locked_by is not None:
                yield Static(Content(t("signin.locked", name=clean_line(self.locked_by.name),
                                       code=clean_line(self.locked_by.code))), id="sign-in-note")
            yield Label(t("signin.agent"))
            yield Input(self.code, id="sign-in-code", max_length=32)
            yield Label(t("signin.pin"))
            yield Input(id="sign-in-pin", password=True, max_length=12, restrict=r"\d*")
            yield Static(id="sign-in-error")
        yield Footer()

    def on_mount(self) -> None:
        target = "#sign-in-pin" if self.code else "#sign-in-code"
        self.query_one(target, Input).focus()
        self.check_agents()
        self.call_after_refresh(self.post_message, FirstScreenDrawn())

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in-agents")
    def check_agents(self) -> None:
        """A brand-new store has nobody to sign in as: say how to add the first admin."""
        if not any(agent.has_pin and agent.active for agent in auth.list_all(self.store)):
            self.post_message(self.Result(None, "no_agents"))

    @on(Input.Submitted, "#sign-in-code")
    def _code_entered(self) -> None:
        self.query_one("#sign-in-pin", Input).focus()

    @on(Input.Submitted, "#sign-in-pin")
    def _pin_entered(self) -> None:
        code = self.query_one("#sign-in-code", Input).value.strip()
        pin_input = self.query_one("#sign-in-pin", Input)
        pin, pin_input.value = pin_input.value, ""
        if code and pin:
            self.check(code, pin)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign-in")
    def check(self, code: str, pin: str) -> None:
        try:
            agent = auth.sign_in(self.store, code=code, pin=pin, policy=self.policy)
        except auth.SignInError as refused:
            self.post_message(self.Result(None, refused.reason, refused))
            return
        self.post_message(self.Result(agent, ""))

    @on(Result)
    def _result(self, event: Result) -> None:
        if event.agent is not None:
            self.dismiss(event.agent)
            return
        self.query_one("#sign-in-error", Static).update(Content(self._refusal_text(event)))
        self.query_one("#sign-in-pin", Input).focus()

    def _refusal_text(self, event: Result) -> str:
        """Why, and what next: when a lock ends (in the agent's zone), how many tries remain."""
        refusal = event.refusal
        if refusal is not None and refusal.reason == "locked" and refusal.until is not None:
            return t("contact.signin.locked_until", time=local_time(refusal.until, self.zone))
        text = t(f"signin.error.{event.error}")
        if refusal is not None and refusal.reason == "wrong" and refusal.left is not None:
            text += " " + t("contact.signin.tries_left", count=max(refusal.left, 0))
        return text
