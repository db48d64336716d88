"""The ticket changes offered on both the queue and the ticket screen, run in thread workers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from agent_console.messages import TicketChanged, TicketConflict
from agent_console.models.vocab import TRANSITIONS, Status
from agent_console.services import tickets
from agent_console.services.store import ConflictError

if TYPE_CHECKING:
    from agent_console.app import AgentConsoleApp


@dataclass(frozen=True)
class TicketRef:
    """The ticket an action applies to, as the agent last saw it."""

    id: int
    number: str
    version: int
    status: str


ACTION_BINDINGS = [
    Binding("c", "claim", "Claim", id="claim"),
    Binding("a", "assign", "Assign", id="assign"),
    Binding("s", "status", "Status", id="status"),
    Binding("n", "note", "Note", id="note"),
]


class TicketActions:
    """Mixin for screens: `action_target()` names the ticket; results arrive as messages."""

    if TYPE_CHECKING:
        app: AgentConsoleApp

        def post_message(self, message: Any) -> bool: ...

    def action_target(self) -> TicketRef | None:
        raise NotImplementedError

    @work(thread=True, exit_on_error=False, group="ticket-writer")
    def change_ticket(self, ref: TicketRef, action: str, change: Callable[[], object]) -> None:
        try:
            change()
        except ConflictError:
            self.post_message(TicketConflict(ref.id, ref.number))
            return
        self.post_message(TicketChanged(ref.id, action))

    def action_claim(self) -> None:
        if (ref := self.action_target()) is None:
            return
        store, agent = self.app.store, self.app.agent.code
        self.change_ticket(ref, "claim", lambda: tickets.claim(
            store, ticket_id=ref.id, expected_version=ref.version, by=agent))

    def action_assign(self) -> None:
        from agent_console.screens.assign_screen import AssignScreen

        if (ref := self.action_target()) is None:
            return
        store, agent = self.app.store, self.app.agent.code

        def chosen(choice: Any) -> None:
            if choice is None:
                return
            self.change_ticket(ref, "assign", lambda: tickets.assign(
                store, ticket_id=ref.id, expected_version=ref.version, by=agent,
                handler=choice.handler, owner=choice.owner, department=choice.department))

        self.app.push_screen(AssignScreen(ref.number), chosen)

    def action_status(self) -> None:
        from agent_console.screens.status_screen import StatusScreen

        if (ref := self.action_target()) is None:
            return
        store, agent = self.app.store, self.app.agent.code

        def chosen(status: str | None) -> None:
            if status is None:
                return
            self.change_ticket(ref, "status", lambda: tickets.change_status(
                store, ticket_id=ref.id, expected_version=ref.version, status=status, by=agent))

        moves = [s.value for s in TRANSITIONS[Status(ref.status)]]
        self.app.push_screen(StatusScreen(ref.number, ref.status, moves), chosen)

    def action_note(self) -> None:
        from agent_console.screens.note_screen import NoteScreen

        if (ref := self.action_target()) is None:
            return
        store, agent = self.app.store, self.app.agent.code

        def written(text: str | None) -> None:
            if text:
                self.change_ticket(ref, "note", lambda: tickets.add_note(
                    store, ticket_id=ref.id, text=text, by=agent))

        self.app.push_screen(NoteScreen(ref.id, ref.number), written)
