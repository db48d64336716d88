"""What a screen is given when it is made: the store, the signed-in agent, their zone and
settings; and the base class with the hooks the App calls on its screens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.binding import ActiveBinding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker

from agent_console.widgets.localized import localize_bindings

if TYPE_CHECKING:
    from agent_console.config import Settings
    from agent_console.services.actor import Actor
    from agent_console.services.changes import ChangeFeed
    from agent_console.services.scripts import ScriptLibrary
    from agent_console.services.store import Store


def _shipped_and_trainers_scripts() -> ScriptLibrary:
    from agent_console.config import config_dir
    from agent_console.services.scripts import load_scripts

    return load_scripts(config_dir() / "scripts")


class ScriptShelf:
    """The service scripts, read once on first use and shared by every context of the seat.

    `get()` reads files: call it from a worker.
    """

    def __init__(self, load: Callable[[], ScriptLibrary] = _shipped_and_trainers_scripts) -> None:
        self._load = load
        self._library: ScriptLibrary | None = None
        self._lock = threading.Lock()

    def get(self) -> ScriptLibrary:
        with self._lock:
            if self._library is None:
                self._library = self._load()
            return self._library


@dataclass(frozen=True)
class ScreenContext:
    """Everything a screen needs from outside; a new one is made when another agent signs in."""

    store: Store
    actor: Actor
    zone: tzinfo
    settings: Settings
    scripts: ScriptShelf = field(default_factory=ScriptShelf, compare=False)


class ReportsWorkerErrors:
    """Mixin for screens with workers: a failed worker is reported by the App's one funnel
    (a worker's state messages go to its screen only; they do not bubble)."""

    app: Any

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.app.report_worker_error(event)


ResultType = TypeVar("ResultType")


class ContextScreen(ReportsWorkerErrors, Screen[ResultType]):
    """A screen made with a `ScreenContext`.

    Keys whose action needs a permission the agent lacks are switched off (`PERMISSIONS`), so
    the footer, F1 help and the command palette never offer them.
    """

    PERMISSIONS: ClassVar[Mapping[str, str]] = {}  # action name -> permission it needs

    def __init__(self, ctx: ScreenContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        localize_bindings(self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needed = self.PERMISSIONS.get(action)
        return self.ctx.actor.can(needed) if needed else True

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """Textual's active keys, help and the destinations (F2 cases …) first: the footer shows
        them from the left, so they stay in view on an 80-column terminal and in the same
        place whatever the focused widget or the step adds after them."""
        found = super().active_bindings
        lead = {binding_id: index for index, binding_id in enumerate(
            ["help", *getattr(self.app, "destinations", {})])}
        declared = {key: index for index, (key, _binding) in enumerate(self._bindings)}

        def place(key: str) -> tuple[int, int]:
            active = found[key]
            if active.binding.id in lead:
                return (0, lead[active.binding.id or ""])
            if active.node is self:  # the screen's own keys in the order it declares them
                return (2, declared.get(key, 0))
            return (3, 0) if active.node is self.app else (1, 0)  # a focused widget's: before

        return {key: found[key] for key in sorted(found, key=place)}

    def _compositor_refresh(self) -> None:
        """Under an opaque screen, changes here are not drawn: nothing of this screen shows.

        Textual 8.2.8 sends a screen's changes to the screen above it and marks them to be
        repainted again, which sends them again at this screen's next idle: a screen covered by
        another repaints the top one for ever, at the pace of its own timers (the queue's ticks
        under the wallboard: ~30 KB/s). This screen is drawn whole when it is on top again.
        """
        app = self.app
        top = app.screen
        if top is not self and top.styles.background.a == 1 and self in app._background_screens:
            self._compositor._dirty_regions.clear()
            self._dirty_widgets.clear()
            return
        super()._compositor_refresh()

    def on_app_lock(self) -> None:
        """The seat is being locked: drop anything that must not outlive the lock."""

    def open_destination(self, destination_id: str) -> bool:
        """Open a destination this screen's own way (True), or leave it to the App (False)."""
        return False

    def reload(self) -> None:
        """Read the screen's data again (someone else changed it)."""


def unfinished(worker: Worker[Any] | None) -> Worker[Any] | None:
    """The worker if it is still under way (a draft being written), else None."""
    return worker if worker is not None and not worker.is_finished else None


@dataclass(frozen=True)
class DraftSlot:
    """Where a dialog keeps what is typed, as plain functions (called from worker threads)."""

    load: Callable[[], str | None]
    save: Callable[[str | None], None]


class WatchesStore(ContextScreen[None]):
    """A screen that reads again (`reload`) when the store changes, whoever changed it: this
    agent, another agent, another process. Its change feed is opened off the UI thread and
    asked at each `poll_store`: a local look, nothing is read or drawn unless the store moved.
    """

    class FeedOpened(Message):
        def __init__(self, feed: ChangeFeed) -> None:
            super().__init__()
            self.feed = feed

    class StoreChanged(Message):
        """Someone committed to the store since the last look."""

    def __init__(self, ctx: ScreenContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.feed: ChangeFeed | None = None

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.close()

    @work(thread=True, exit_on_error=False, group="store-feed")
    def open_feed(self) -> None:
        from agent_console.services.changes import open_feed

        self.post_message(self.FeedOpened(open_feed(self.ctx.store)))

    @on(FeedOpened)
    def _feed_opened(self, event: FeedOpened) -> None:
        if self.is_mounted and self.feed is None:
            self.feed = event.feed
        else:
            event.feed.close()

    @work(thread=True, exclusive=True, exit_on_error=False, group="store-poll")
    def poll_store(self) -> None:
        if self.feed is not None and self.feed.changed():
            self.post_message(self.StoreChanged())

    @on(StoreChanged)
    def _store_changed(self) -> None:
        self.reload()
