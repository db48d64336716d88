"""Messages that cross screens."""

from __future__ import annotations

from textual.message import Message


class TicketChanged(Message):
    """A ticket was changed by this agent; screens showing it reload."""

    def __init__(self, ticket_id: int, action: str) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.action = action


class TicketConflict(Message):
    """Someone else changed the ticket first; the change was refused and the view reloads."""

    def __init__(self, ticket_id: int, number: str) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.number = number


class TerminalClosed(Message):
    """The console's terminal has gone (posted by the terminal driver): nobody can see it now."""
