"""AgentConsoleApp: wiring only — sign-in and the seat's context, navigation, keys, the command
palette, help and the error funnel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from agent_console import db
from agent_console import destinations as navigation
from agent_console.config import Settings
from agent_console.destinations import Destination
from agent_console.i18n import set_language, t
from agent_console.messages import (
    FirstScreenDrawn,
    LineMeasured,
    Navigate,
    OpenTicket,
    TerminalClosed,
)
from agent_console.models.read import AgentInfo
from agent_console.screens.context import ContextScreen, ScreenContext, ScriptShelf
from agent_console.services import audit
from agent_console.services.actor import Actor
from agent_console.services.errors import ConflictError, InputError, ServiceError
from agent_console.services.sla import parse_zone
from agent_console.services.store import Store
from agent_console.text import clean_line
from agent_console.widgets import whole_cells
from agent_console.widgets.localized import localize_bindings

if TYPE_CHECKING:
    from agent_console.terminal_guard import ThinLinkDriver

IDLE_CHECK_SECONDS = 5
HOUSEKEEPING_SECONDS = 600
OPEN_WHILE_LOCKED = ("help", "quit", "focus_next", "focus_previous")  # Tab moves between fields
HANG_UP_SAVE_SECONDS = 1.0  # how long drafts may take to be written once the terminal has gone
HANG_UP_EXIT_CODE = 129  # what a shell reports for a process ended by SIGHUP


@runtime_checkable
class KeepsDraft(Protocol):
    """A screen that writes what is typed to the store a moment behind."""

    def keep_draft(self) -> Worker[None] | None:
        """Write now what is still waiting to be written; the worker doing it, if any."""


class AgentConsoleApp(App[None]):
    """The queue first; tickets, destinations and dialogs are pushed over it."""

    CSS_PATH = "styles/app.tcss"
    TITLE = "Agent Console"
    ENABLE_COMMAND_PALETTE = True

    # The destinations' keys are added per app (see `destinations.py`).
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("ctrl+l", "lock", "Lock", id="lock", show=False),
        Binding("ctrl+p", "command_palette", "Palette", id="command-palette", show=False,
                priority=True),
    ]

    def __init__(self, *, store: Store, settings: Settings,
                 agent: AgentInfo | Actor | None = None,
                 destinations: Iterable[Destination] | None = None) -> None:
        """Without `destinations`, those of the registry (`destinations.DESTINATIONS`)."""
        set_language(settings.lang)
        whole_cells.install()  # wide characters stay whole where widgets overlap
        # A thin line gets the terminal's own 16 colours (see thin_link.prepare for the rest).
        self.settings = settings  # before Textual's init, which asks for the driver class
        super().__init__(ansi_color=True if settings.thin else None)
        self.store = store
        self.zone = parse_zone(settings.timezone)
        self.destinations = navigation.registry(
            navigation.DESTINATIONS if destinations is None else destinations)
        self.scripts = ScriptShelf()
        self.ctx: ScreenContext | None = None
        if agent is not None:
            self.ctx = self._context_for(agent)
        self.locked = False
        self._last_activity = store.clock.now()
        self._hung_up = False
        localize_bindings(self)
        # Destinations come first among the app's keys, so the footer shows them before Quit.
        self._bindings = BindingsMap.merge([BindingsMap(
            Binding(d.key, f"app.go('{d.id}')", t(d.name), id=d.id, show=d.footer)
            for d in self.destinations.values()), self._bindings])
        if settings.thin:
            self.theme = "ansi-dark"
            self._bindings = BindingsMap.merge([BindingsMap([Binding(
                "f12", "thin_link", t("thin.marker"), id="thin-link")]), self._bindings])

    def action_thin_link(self) -> None:
        """The footer's marker of thin-link mode; pressing it says what the mode does."""
        self.notify(t("thin.explained"), timeout=8)

    def _context_for(self, agent: AgentInfo | Actor) -> ScreenContext:
        actor = agent if isinstance(agent, Actor) else Actor.of(agent, self.store.permissions)
        return ScreenContext(self.store, actor, self.zone, self.settings, self.scripts)

    @property
    def agent(self) -> Actor | None:
        """The signed-in agent, or None before anyone has signed in."""
        return self.ctx.actor if self.ctx is not None else None

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this platform; on Linux and macOS one that notices a hang-up (and
        compacts its output in thin-link mode)."""
        driver = super().get_driver_class()
        if driver.__name__ != "LinuxDriver":
            return driver  # Windows, or a driver chosen through TEXTUAL_DRIVER
        from agent_console.terminal_guard import TerminalGuardDriver, ThinLinkDriver

        return ThinLinkDriver if self.settings.thin else TerminalGuardDriver

    @property
    def _thin_driver(self) -> ThinLinkDriver | None:
        from agent_console.terminal_guard import ThinLinkDriver

        return self._driver if isinstance(self._driver, ThinLinkDriver) else None

    @on(LineMeasured)
    def _line_measured(self, event: LineMeasured) -> None:
        """Over SSH the driver times the terminal's answer: a slow line is offered thin mode."""
        if not self.settings.thin and event.seconds * 1000 >= self.settings.thin_offer_ms:
            self.notify(t("thin.offer", ms=round(event.seconds * 1000)), timeout=10)

    @on(FirstScreenDrawn)
    def _first_screen_drawn(self) -> None:
        """A thin line gets a first screen in one piece, sent only now (see
        `terminal_guard.ThinLinkDriver`)."""
        if driver := self._thin_driver:
            driver.show_held()

    def on_mount(self) -> None:
        self.title = t("app.title")
        if self.ctx is None:
            self.locked = True
            self._push_sign_in(code=self.settings.agent)
        else:
            self._start()
        self.set_interval(IDLE_CHECK_SECONDS, self.lock_when_idle)
        if self.settings.backup_every_hours > 0 or self.settings.retention_daily:
            self.set_interval(HOUSEKEEPING_SECONDS, self.run_housekeeping)
            self.run_housekeeping()

    @work(thread=True, exclusive=True, exit_on_error=False, group="housekeeping")
    def run_housekeeping(self) -> None:
        """The backup and retention runs the site asked the console to do (settings)."""
        from agent_console.services.housekeeping import Schedule, run_due

        settings = self.settings
        run_due(self.store, Schedule(settings.backup_every_hours, settings.backup_dir,
                                     settings.backup_keep, settings.retention_daily))

    def _push_sign_in(self, *, code: str, locked_by: Actor | None = None) -> None:
        from agent_console.screens.sign_in_screen import SignInScreen
        from agent_console.services.auth import LockoutPolicy

        policy = LockoutPolicy(self.settings.lockout_attempts, self.settings.lockout_minutes)
        self.push_screen(SignInScreen(self.store, policy, code=code, locked_by=locked_by,
                                      zone=self.zone), self._signed_in)

    def _start(self) -> None:
        from agent_console.screens.queue_screen import QueueScreen

        assert self.ctx is not None
        if driver := self._thin_driver:
            driver.hold()  # until the queue has drawn its rows
        self.push_screen(QueueScreen(self.ctx))

    def _signed_in(self, agent: AgentInfo | None) -> None:
        previous = self.agent
        self.locked = False
        self._last_activity = self.store.clock.now()
        if agent is None:
            return
        if previous is not None and agent.code == previous.code:
            return  # the same agent resumes: every screen stays as it was
        self.ctx = self._context_for(agent)
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
        except TimeoutError:
            pass  # a store too busy to answer in time keeps the draft written a second before
        self.exit(return_code=HANG_UP_EXIT_CODE)

    # --- idle lock -----------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.Paste)):
            self._last_activity = self.store.clock.now()
        if isinstance(event, events.Paste) and not event.is_forwarded:
            # Every text field takes pastes the same way: clean, in order, cut with a notice.
            from agent_console.widgets.pasting import prepare_paste

            event.text, limit = prepare_paste(self.focused, event.text)
            if limit is not None:
                self.notify(t("ui.paste_cut", limit=limit), severity="warning")
        await super().on_event(event)

    def lock_when_idle(self) -> None:
        idle = self.store.clock.now() - self._last_activity
        if not self.locked and self.ctx is not None and \
                idle >= timedelta(minutes=self.settings.idle_lock_minutes):
            self.action_lock()

    def action_lock(self) -> None:
        """Cover the screen (nothing of the customer stays visible) until a PIN is given."""
        agent = self.agent
        if self.locked or agent is None:
            return
        self.locked = True
        for screen in self.screen_stack:
            if isinstance(screen, ContextScreen):
                screen.on_app_lock()
        self.record_lock(agent.code)
        self._push_sign_in(code=agent.code, locked_by=agent)

    @work(thread=True, exit_on_error=False, group="audit")
    def record_lock(self, code: str) -> None:
        audit.record(self.store, agent=code, action=audit.Action.SCREEN_LOCK)

    # --- navigation ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Signed out or locked, only help and quit work; a destination needs its permission."""
        if self.locked and action not in OPEN_WHILE_LOCKED:
            return False
        if action == "go":
            destination = self.destinations.get(str(parameters[0])) if parameters else None
            return destination is not None and self.ctx is not None and (
                destination.permission is None or self.ctx.actor.can(destination.permission))
        return True

    def action_go(self, destination_id: str) -> None:
        """Open a destination; the current screen may open it its own way (F2 on a ticket)."""
        destination, screen = self.destinations[destination_id], self.screen
        if self.ctx is None:
            return
        if isinstance(screen, ContextScreen) and screen.open_destination(destination_id):
            return
        made = destination.factory(self.ctx)
        if any(type(open_) is type(made) for open_ in self.screen_stack):
            if type(screen) is not type(made):
                self.notify(t("nav.already_open", name=t(destination.name)))
            return
        self.push_screen(made)

    @on(Navigate)
    async def _navigate(self, event: Navigate) -> None:
        await self.run_action(f"go({event.destination_id!r})")

    @on(OpenTicket)
    def _open_ticket(self, event: OpenTicket) -> None:
        from agent_console.screens.ticket_screen import TicketScreen

        if self.ctx is not None:
            self.push_screen(TicketScreen(self.ctx, event.ticket_id))

    # --- keys: help and the command palette --------------------------------------------------

    def key_entries(self, screen: Screen[object]) -> list[tuple[DOMNode, Binding, list[str]]]:
        """Every key that works on `screen` (its widgets' included, remapped as the keymap
        says), one entry per action with all its keys, leaving out what the agent may not do."""
        found: dict[str, tuple[DOMNode, Binding, list[str]]] = {}
        listed_as: dict[str, str] = {}  # an app action a screen key shares (k and F2) -> its entry
        for node in (screen, *screen.focus_chain, self):
            bindings = node._bindings.copy()  # Textual keeps a node's bindings here
            if self._keymap:
                bindings.apply_keymap(self._keymap)
            for _key, binding in bindings:
                if not binding.id or (node is self and screen.is_modal and not binding.priority):
                    continue  # under a dialog only the app's priority keys reach the app
                if self._check_action_state(binding.action, node) is False:
                    continue
                entry_id = listed_as.setdefault(binding.action, binding.id) \
                    if binding.action.startswith("app.") else binding.id
                display = self.get_key_display(binding)
                if entry_id not in found:
                    found[entry_id] = (node, binding, [display])
                elif display not in found[entry_id][2] and (
                        found[entry_id][0] is node or entry_id != binding.id):
                    found[entry_id][2].append(display)
        return list(found.values())

    def action_command_palette(self) -> None:
        """The command palette, its own words in the agent's language."""
        from textual.command import CommandPalette

        from agent_console.widgets.command_palette import LocalCommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(LocalCommandPalette(id="--command-palette"))

    def action_help(self) -> None:
        from agent_console.screens.help_screen import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen([(" ".join(keys), binding.description)
                                         for _node, binding, keys in self.key_entries(self.screen)]))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action the agent may take on the current screen, in their language."""
        for node, binding, _keys in self.key_entries(screen):
            if binding.id != "command-palette":
                yield SystemCommand(binding.description, t(f"keyhelp.{binding.id}"),
                                    partial(self._run_bound, node, binding.action))

    async def _run_bound(self, node: DOMNode, action: str) -> None:
        await self.run_action(action, node)

    # --- errors --------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.report_worker_error(event)

    def report_worker_error(self, event: Worker.StateChanged) -> None:
        """One funnel for the app's and every screen's workers (see `ReportsWorkerErrors`): a
        failed worker becomes a notification in the agent's language; the app never dies on a
        store error. A conflict also reloads the screen that met it."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, ServiceError):
            self.notify(clean_line(error.localized()), title=t("error.input") if isinstance(
                error, InputError) else "", severity="warning" if isinstance(
                    error, InputError) else "error", timeout=8)
            node = event.worker.node
            screen = node if isinstance(node, Screen) else getattr(node, "screen", None)
            if isinstance(error, ConflictError) and isinstance(screen, ContextScreen):
                screen.reload()
        elif error is not None and db.connection_lost(error):
            self.notify(t("store_error.lost"), title=t("error.title"), severity="error",
                        timeout=10)
        else:
            self.notify(t("error.store", error=clean_line(str(error))[:200]),
                        title=t("error.title"), severity="error", timeout=10)
