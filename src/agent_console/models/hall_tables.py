"""The hall's walk-in queue (排队叫号): numbers, counters and the call log. Everything the day's
queue is lives here, so a killed kiosk, display or counter loses nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from agent_console.models.tables import number_field, site_field, text_field, utc_field


class HallVisit(SQLModel, table=True):
    """One number taken at the kiosk: A001 … and what became of it."""

    __tablename__ = "hall_visit"
    __table_args__ = (
        Index("ix_hall_visit_site_status", "site", "status", "service", "line_at", "id"),
        Index("ix_hall_visit_site_day", "site", "day", "service"),
        # each hall numbers its own walk-ins: A001 in two halls on one day
        Index("ix_hall_visit_site_number", "site", "day", "number", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: str  # the hall's local date the number was issued (YYYY-MM-DD)
    number: str  # A001
    service: str
    lane: str = text_field("normal")
    # waiting | called | serving | hold | done | no_show | closed
    status: str = text_field("waiting")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    phone_masked: str = text_field()
    phone: str = text_field()  # full, only for the guided contact's form; never on a hall screen
    issued_at: datetime = utc_field(nullable=False)
    line_at: datetime = utc_field(nullable=False)  # its place in line (issue time, kept on transfer)
    front: bool = number_field(0)  # transferred or called back: first in line
    counter: str | None = Field(default=None)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    called_at: datetime | None = utc_field()
    first_called_at: datetime | None = utc_field()
    calls: int = number_field(0)
    call_reason: str = text_field()
    started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()
    estimate_low: int = number_field(0)  # minutes, as shown at the kiosk
    estimate_high: int = number_field(0)
    estimate_error: float | None = Field(default=None)  # minutes: actual wait − shown midpoint
    transferred_from: str = text_field()
    close_reason: str = text_field()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    site: str = site_field()  # the hall whose kiosk issued it; only its counters call it


class HallCounter(SQLModel, table=True):
    """A counter's state: open or closed, who sits there, what it is serving now."""

    __tablename__ = "hall_counter"

    code: str = Field(primary_key=True)
    is_open: bool = number_field(0)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    normals_since_priority: int = number_field(99)
    opened_at: datetime | None = utc_field()
    site: str = site_field()  # the hall the counter stands in


class HallCall(SQLModel, table=True):
    """Every call (and recall) of a number, in order: what the display shows."""

    __tablename__ = "hall_call"
    __table_args__ = (Index("ix_hall_call_site_at", "site", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="hall_visit.id")
    counter: str
    at: datetime = utc_field(nullable=False)
    kind: str  # call | recall | front | hold_back
    reason: str = text_field()
    priority: bool = number_field(0)
    normal_waiting: bool = number_field(0)
    site: str = site_field()  # the calling counter's hall: its display shows the call
