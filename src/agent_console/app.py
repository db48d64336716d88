"""AgentConsoleApp: wiring only — screens, bindings, the command palette and the error funnel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from agent_console.config import Settings
from agent_console.i18n import set_language, t
from agent_console.messages import TerminalClosed
from agent_console.models.read import AgentInfo
from agent_console.services import audit
from agent_console.services.sla import parse_zone
from agent_console.services.store import ConflictError, InputError, NotFoundError, Store
from agent_console.text import clean_line
from agent_console.widgets.localized import localize_bindings


IDLE_CHECK_SECONDS = 5
HANG_UP_SAVE_SECONDS = 1.0  # how long drafts may take to be written once the terminal has gone
HANG_UP_EXIT_CODE = 129  # what a shell reports for a process ended by SIGHUP


@runtime_checkable
class KeepsDraft(Protocol):
    """A screen that writes what is typed to the store a moment behind."""

    def keep_draft(self) -> Worker[None] | None:
        """Write now what is still waiting to be written; the worker doing it, if any."""


class AgentConsoleApp(App[None]):
    """The queue first; tickets and dialogs are pushed over it."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "Agent Console"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("ctrl+l", "lock", "Lock", id="lock", show=False),
        Binding("f2", "knowledge", "Cases", id="knowledge"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("ctrl+p", "command_palette", "Palette", id="command-palette", show=False,
                priority=True),
    ]

    def __init__(self, *, store: Store, settings: Settings, agent: AgentInfo | None) -> None:
        set_language(settings.lang)
        super().__init__()
        self.store = store
        self.settings = settings
        self.agent: AgentInfo = agent  # type: ignore[assignment]  # set once signed in
        self.zone = parse_zone(settings.timezone)
        self.locked = False
        self._scripts: Any = None
        self._last_activity = store.clock.now()
        self._hung_up = False
        localize_bindings(self)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this platform; on Linux and macOS one that notices a hang-up."""
        driver = super().get_driver_class()
        if driver.__name__ != "LinuxDriver":
            return driver  # Windows, or a driver chosen through TEXTUAL_DRIVER
        from agent_console.terminal_guard import TerminalGuardDriver

        return TerminalGuardDriver

    def on_mount(self) -> None:
        from agent_console.screens.sign_in_screen import SignInScreen

        self.title = t("app.title")
        if self.agent is None:
            self.locked = True
            self.push_screen(SignInScreen(code=self.settings.agent), self._signed_in)
        else:
            self._start()
        self.set_interval(IDLE_CHECK_SECONDS, self.lock_when_idle)

    def script_library(self) -> Any:
        """The service scripts, loaded once (shipped plus a trainer's folder); call from a worker."""
        if self._scripts is None:
            from agent_console.config import config_dir
            from agent_console.services.scripts import load_scripts

            self._scripts = load_scripts(config_dir() / "scripts")
        return self._scripts

    def _start(self) -> None:
        from agent_console.screens.queue_screen import QueueScreen

        self.push_screen(QueueScreen())

    def _signed_in(self, agent: AgentInfo | None) -> None:
        previous = self.agent
        self.locked = False
        self._last_activity = self.store.clock.now()
        if agent is None:
            return
        self.agent = agent
        if previous is None:
            self._start()
        elif agent.code != previous.code:
            # Another agent takes the seat: the first agent's screens go (their drafts stay
            # theirs, in the store) and the newcomer starts at their own queue.
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self._start()

    @on(TerminalClosed)
    async def hang_up(self) -> None:
        """The terminal has gone: write the drafts still waiting for their timers, then end."""
        if self._hung_up:
            return
        self._hung_up = True
        writes = [worker.wait() for screen in self.screen_stack
                  if isinstance(screen, KeepsDraft) and (worker := screen.keep_draft())]
        try:
            await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True),
                                   HANG_UP_SAVE_SECONDS)
        except asyncio.TimeoutError:
            pass  # a store too busy to answer in time keeps the draft written a second before
        self.exit(return_code=HANG_UP_EXIT_CODE)

    # --- idle lock -----------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.Paste)):
            self._last_activity = self.store.clock.now()
        await super().on_event(event)

    def lock_when_idle(self) -> None:
        idle = self.store.clock.now() - self._last_activity
        if not self.locked and self.agent is not None and \
                idle >= timedelta(minutes=self.settings.idle_lock_minutes):
            self.action_lock()

    def action_lock(self) -> None:
        """Cover the screen (nothing of the customer stays visible) until a PIN is given."""
        from agent_console.screens.sign_in_screen import SignInScreen
        from agent_console.screens.ticket_screen import TicketScreen

        if self.locked or self.agent is None:
            return
        self.locked = True
        for screen in self.screen_stack:
            if isinstance(screen, TicketScreen):
                screen.forget_reveals()
        self.record_lock(self.agent.code)
        self.push_screen(SignInScreen(code=self.agent.code, locked_by=self.agent), self._signed_in)

    @work(thread=True, exit_on_error=False, group="audit")
    def record_lock(self, code: str) -> None:
        audit.record(self.store, agent=code, action=audit.Action.SCREEN_LOCK)


    def open_ticket(self, ticket_id: int) -> None:
        from agent_console.screens.ticket_screen import TicketScreen

        self.push_screen(TicketScreen(ticket_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While signed out or locked only help and quit work: nothing else opens over the lock."""
        if self.locked and action not in ("help", "quit"):
            return False
        return True

    def action_knowledge(self) -> None:
        """The knowledge base from anywhere; from a ticket it works for that ticket."""
        from agent_console.screens.knowledge_screen import KnowledgeScreen
        from agent_console.screens.ticket_screen import TicketScreen

        screen = self.screen
        if isinstance(screen, KnowledgeScreen):
            return
        if isinstance(screen, TicketScreen):
            screen.action_knowledge()
        else:
            self.push_screen(KnowledgeScreen())

    def action_help(self) -> None:
        from agent_console.screens.help_screen import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self._key_list(self.screen)))

    def _bound_actions(self, screen: Screen) -> list[tuple[DOMNode, Binding]]:
        """Every binding with an id on the screen, its focusable widgets and the app, once each."""
        found: dict[str, tuple[DOMNode, Binding]] = {}
        for node in (screen, *screen.focus_chain, self):
            for bindings in node._bindings.key_to_bindings.values():
                for binding in bindings:
                    if binding.id and binding.id not in found:
                        found[binding.id] = (node, binding)
        return list(found.values())

    def _key_list(self, screen: Screen) -> list[tuple[str, str]]:
        return [(self.get_key_display(binding), binding.description)
                for _node, binding in self._bound_actions(screen)]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every keyed action of the current screen, in the agent's language."""
        for node, binding in self._bound_actions(screen):
            if binding.id != "command-palette":
                yield SystemCommand(binding.description, t(f"keyhelp.{binding.id}"),
                                    partial(self._run_bound, node, binding.action))

    async def _run_bound(self, node: object, action: str) -> None:
        await self.run_action(action, node)  # type: ignore[arg-type]

    @on(Worker.StateChanged)
    def report_worker_error(self, event: Worker.StateChanged) -> None:
        """One funnel: a failed worker becomes a notification; the app never dies on a store error."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, InputError):
            self.notify(clean_line(str(error)), title=t("error.input"), severity="warning")
        elif isinstance(error, ConflictError):
            self.notify(t("ticket.conflict", number=str(error)), severity="error")
        elif isinstance(error, NotFoundError):
            self.notify(clean_line(str(error)), severity="error")
        else:
            self.notify(t("error.store", error=clean_line(str(error))[:200]),
                        title=t("error.title"), severity="error", timeout=10)
