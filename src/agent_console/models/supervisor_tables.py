"""Supervisor tables: compensation given on tickets, promised call-backs, shift handovers and
the monthly report's actions. Each row names the ticket or agent it is about, so every figure
a supervisor reads can be traced to the tickets behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from agent_console.models.tables import Ticket, number_field, text_field, utc_field

# The supervisors' reads pick tickets by when they were created (a day, a week, a month), then
# by kind and by agent: the index answers those without reading the ticket rows.
_TICKET = Ticket.__table__.c  # type: ignore[attr-defined]
TICKET_CREATED_INDEX = Index("ix_ticket_created", _TICKET.created_at, _TICKET.work_type,
                             _TICKET.handler_id, _TICKET.created_by)


class Compensation(SQLModel, table=True):
    """Compensation given at resolution: a bill credit (yuan), a data gift (MB) or points.

    `status` is `given` within the giver's limit, `pending` above it until a supervisor
    approves (`approved`, with who and when) or refuses it (`refused`)."""

    __tablename__ = "compensation"
    __table_args__ = (Index("ix_compensation_ticket", "ticket_id"),
                      Index("ix_compensation_status", "status", "given_at"))

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE")
    kind: str  # bill_credit | data_mb | points
    amount: float
    reason: str = text_field()
    given_by: int = Field(foreign_key="agent.id")
    given_at: datetime = utc_field(nullable=False)
    status: str
    decided_by: int | None = Field(default=None, foreign_key="agent.id")
    decided_at: datetime | None = utc_field()


class CallbackPromise(SQLModel, table=True):
    """A promise to call the customer back at a time: a reminder on the ticket."""

    __tablename__ = "callback_promise"
    __table_args__ = (Index("ix_callback_due", "done_at", "due_at"),
                      Index("ix_callback_ticket", "ticket_id"))

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE")
    due_at: datetime = utc_field(nullable=False)
    note: str = text_field()
    created_by: int = Field(foreign_key="agent.id")
    created_at: datetime = utc_field(nullable=False)
    done_at: datetime | None = utc_field()


class Handover(SQLModel, table=True):
    """One agent's shift handover (交接班): drafted, completed, then acknowledged item by item."""

    __tablename__ = "handover"
    __table_args__ = (Index("ix_handover_agent", "agent_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    team: str = text_field()
    created_at: datetime = utc_field(nullable=False)
    completed_at: datetime | None = utc_field()
    to_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    notes: str = text_field()


class HandoverItem(SQLModel, table=True):
    __tablename__ = "handover_item"
    __table_args__ = (Index("ix_handover_item_handover", "handover_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    handover_id: int = Field(foreign_key="handover.id", ondelete="CASCADE")
    position: int = number_field()
    kind: str  # open_ticket | near_deadline | callback | note
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    due_at: datetime | None = utc_field()
    text: str = text_field()
    acked_by: int | None = Field(default=None, foreign_key="agent.id")
    acked_at: datetime | None = utc_field()


class ReportAction(SQLModel, table=True):
    """A rectification action from a monthly complaint report, with its owner and due date."""

    __tablename__ = "report_action"
    __table_args__ = (Index("ix_report_action_month", "month", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str  # YYYY-MM of the report that raised it
    category: str = text_field()
    text: str
    owner: str
    due_date: str  # YYYY-MM-DD
    status: str = text_field("open")  # open | done | dropped
    created_by: str
    created_at: datetime = utc_field(nullable=False)
    done_at: datetime | None = utc_field()
