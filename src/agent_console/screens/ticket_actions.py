"""The ticket changes offered on both the queue and the ticket screen, run in thread workers.

A change refused because someone else changed the ticket first (ConflictError) reaches the
App's error funnel, which says so and has the screen read the ticket again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from agent_console.i18n import current_language, t
from agent_console.messages import TicketChanged
from agent_console.models.vocab import TRANSITIONS, Status
from agent_console.screens.context import DraftSlot
from agent_console.services import contact, directory, tickets
from agent_console.text import clean_line

if TYPE_CHECKING:
    from textual.app import App

    from agent_console.models.read import AgentInfo
    from agent_console.screens.context import ScreenContext


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
    """Mixin for context screens: `action_target()` names the ticket; results arrive as messages."""

    if TYPE_CHECKING:
        app: App[Any]
        ctx: ScreenContext

        def post_message(self, message: Any) -> bool: ...

    def action_target(self) -> TicketRef | None:
        raise NotImplementedError

    @work(thread=True, exit_on_error=False, group="ticket-writer")
    def change_ticket(self, ref: TicketRef, action: str, change: Callable[[], object]) -> None:
        change()
        self.post_message(TicketChanged(ref.id, action))

    def action_claim(self) -> None:
        if (ref := self.action_target()) is not None:
            self.check_holder(ref)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ticket-holder")
    def check_holder(self, ref: TicketRef) -> None:
        """Claim at once, unless another agent holds the ticket: then ask first, naming them."""
        held_by = contact.holder(self.ctx.store, self.ctx.actor, ticket_id=ref.id)
        if held_by is None or held_by.id == self.ctx.actor.agent_id:
            self.app.call_from_thread(self._claim, ref)
        else:
            self.app.call_from_thread(self._confirm_take_over, ref, held_by)

    def _claim(self, ref: TicketRef) -> None:
        store, actor = self.ctx.store, self.ctx.actor
        self.change_ticket(ref, "claim", lambda: tickets.claim(
            store, actor, ticket_id=ref.id, expected_version=ref.version))

    def _confirm_take_over(self, ref: TicketRef, held_by: AgentInfo) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        name = f"{clean_line(held_by.name)} ({clean_line(held_by.code)})"

        def chosen(choice: str | None) -> None:
            if choice == "take":
                self._claim(ref)

        self.app.push_screen(ChoiceScreen(
            t("contact.takeover.ask", number=clean_line(ref.number), name=name),
            [(t("contact.takeover.keep"), "keep"), (t("contact.takeover.take", name=name), "take")],
            "keep"), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="take-over-notices")
    def tell_take_overs(self) -> None:
        """Tell this agent, once, which of their tickets someone else took."""
        for notice in contact.take_over_notices(self.ctx.store, self.ctx.actor):
            self.app.call_from_thread(
                self.app.notify, t("contact.takeover.told", number=clean_line(notice.number),
                                   by=notice.by), severity="warning", timeout=12)

    def action_assign(self) -> None:
        from agent_console.screens.assign_screen import AssignScreen

        if (ref := self.action_target()) is None:
            return
        store, actor = self.ctx.store, self.ctx.actor

        def chosen(choice: Any) -> None:
            if choice is None:
                return
            self.change_ticket(ref, "assign", lambda: tickets.assign(
                store, actor, ticket_id=ref.id, expected_version=ref.version,
                handler=choice.handler, owner=choice.owner, department=choice.department))

        lang = current_language()
        departments = [(d.code, d.name(lang)) for d in store.catalog.departments.values()]
        self.app.push_screen(AssignScreen(ref.number, departments,
                                          load_agents=lambda: directory.list_agents(store)),
                             chosen)

    def action_status(self) -> None:
        from agent_console.screens.status_screen import StatusScreen

        if (ref := self.action_target()) is None:
            return
        store, actor = self.ctx.store, self.ctx.actor

        def chosen(status: str | None) -> None:
            if status is None:
                return
            if status == Status.RESOLVED:
                self.ask_resolution(ref, resolving=True)
                return
            self.change_ticket(ref, "status", lambda: tickets.change_status(
                store, actor, ticket_id=ref.id, expected_version=ref.version, status=status))

        moves = [s.value for s in TRANSITIONS[Status(ref.status)]]
        self.app.push_screen(StatusScreen(ref.number, ref.status, moves), chosen)

    def action_note(self) -> None:
        from agent_console.screens.note_screen import NoteScreen

        if (ref := self.action_target()) is None:
            return
        store, actor = self.ctx.store, self.ctx.actor
        key = f"note_draft:{ref.id}"

        def written(text: str | None) -> None:
            if text:  # the dialog stored it
                self.post_message(TicketChanged(ref.id, "note"))

        draft = DraftSlot(load=lambda: directory.get_preference(store, actor.code, key),
                          save=lambda text: directory.set_preference(store, actor.code, key, text))
        self.app.push_screen(NoteScreen(ref.number, draft, lambda text: tickets.add_note(
            store, actor, ticket_id=ref.id, text=text)), written)

    @work(thread=True, exclusive=True, exit_on_error=False, group="resolution-draft")
    def ask_resolution(self, ref: TicketRef, *, resolving: bool = False) -> None:
        """The resolution dialog, prefilled with the ticket's draft as stored now."""
        detail = tickets.ticket_detail(self.ctx.store, self.ctx.actor, ticket_id=ref.id)
        self.app.call_from_thread(self._edit_resolution, ref, detail.resolution, resolving)

    def _edit_resolution(self, ref: TicketRef, draft: str, resolving: bool) -> None:
        from agent_console.screens.contact_dialogs import ResolutionScreen

        store, actor = self.ctx.store, self.ctx.actor

        def written(text: str | None) -> None:
            if text is None:
                return
            if resolving:
                self.change_ticket(ref, "status", lambda: contact.resolve(
                    store, actor, ticket_id=ref.id, expected_version=ref.version,
                    resolution=text))
            else:
                self.change_ticket(ref, "resolution", lambda: contact.set_resolution(
                    store, actor, ticket_id=ref.id, expected_version=ref.version, text=text))

        self.app.push_screen(ResolutionScreen(clean_line(ref.number), draft, resolving=resolving),
                             written)
