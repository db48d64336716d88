"""Messages that cross screens."""

from __future__ import annotations

from textual.message import Message


class TicketChanged(Message):
    """A ticket was changed by this agent; screens showing it reload."""

    def __init__(self, ticket_id: int, action: str) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.action = action


class OpenTicket(Message):
    """Show this ticket: the App opens it over the current screen."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id


class FirstScreenDrawn(Message):
    """The first screen an agent works on (sign-in, queue) has been drawn with what it shows."""


class Navigate(Message):
    """Go to a destination of the App's registry (as its key would)."""

    def __init__(self, destination_id: str) -> None:
        super().__init__()
        self.destination_id = destination_id


class LineMeasured(Message):
    """How long the terminal took to answer the driver's first question (a round trip)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds


class TerminalClosed(Message):
    """The console's terminal has gone (posted by the terminal driver): nobody can see it now."""
