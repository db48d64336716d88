"""Where an agent can go from anywhere: one line per destination.

The App builds its keys, the command palette and F1 help from this list, and offers a
destination only to a role with its permission. A new screen (reports, training, the hall
queue) is its module plus one line here:

    Destination("f7", "reports", "key.reports", RUN_REPORTS,
                lazy("agent_console.screens.reports_screen:ReportsScreen")),

with `key.<id>` and `keyhelp.<id>` in both catalogs. The factory is called with the signed-in
agent's `ScreenContext` and returns the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

    from agent_console.screens.context import ScreenContext

Factory = Callable[["ScreenContext"], "Screen[object]"]


@dataclass(frozen=True)
class Destination:
    key: str  # Textual key name(s), comma-separated; users may remap them by `id`
    id: str  # the binding id (kebab-case)
    name: str  # catalog key of its name in the footer, help and palette
    permission: str | None  # what the agent's role needs, or None
    factory: Factory
    # In the footer too (else in F1 help and the palette only): the footer keeps room for the
    # screen's own keys, so only the destinations every agent uses all day are there.
    footer: bool = False

    @property
    def help(self) -> str:
        """Catalog key of the palette's line about it."""
        return f"keyhelp.{self.id}"


def lazy(target: str) -> Factory:
    """`"package.module:Class"` made on first use: start-up imports only what the queue needs."""
    module, _, name = target.partition(":")

    def make(ctx: ScreenContext) -> Screen[object]:
        return getattr(import_module(module), name)(ctx)

    return make


DESTINATIONS: tuple[Destination, ...] = (
    Destination("N", "new-ticket", "key.new-ticket", None,
                lazy("agent_console.screens.intake_screen:IntakeScreen"), footer=True),
    Destination("P", "parked-contacts", "key.parked-contacts", None,
                lazy("agent_console.screens.parked_screen:ParkedScreen")),
    Destination("f2", "knowledge", "key.knowledge", None,
                lazy("agent_console.screens.knowledge_screen:KnowledgeScreen"), footer=True),
    Destination("f9", "hall-counter", "key.hall-counter", None,
                lazy("agent_console.screens.hall_counter_screen:HallCounterScreen")),
    Destination("f10", "outage-board", "key.outage-board", None,
                lazy("agent_console.screens.outage_board_screen:OutageBoardScreen")),
    Destination("f11", "training", "key.training", None,
                lazy("agent_console.screens.training_screen:TrainingScreen")),
    Destination("f4", "wallboard", "key.wallboard", "run_reports",
                lazy("agent_console.screens.wallboard_screen:WallboardScreen")),
    Destination("f3", "handover", "key.handover", None,
                lazy("agent_console.screens.handover_screen:HandoverScreen")),
)


def registry(destinations: Iterable[Destination]) -> dict[str, Destination]:
    """By id; an id used twice is a mistake in the list."""
    found: dict[str, Destination] = {}
    for destination in destinations:
        if destination.id in found:
            raise ValueError(f"destination id {destination.id!r} is used twice")
        found[destination.id] = destination
    return found
