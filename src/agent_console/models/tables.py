"""SQLModel tables mapped onto the schema that db.MIGRATIONS creates."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite alone gives naive ones back)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utc_field(nullable: bool = True, **kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kwargs)


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True)
    name_en: str
    name_zh: str


class AgentBase(SQLModel):
    code: str = Field(unique=True)
    name: str
    role: str
    team: str = ""
    department: str | None = Field(default=None, foreign_key="department.code")
    active: bool = True


class Agent(AgentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    pin_hash: str | None = None
    failed_pins: int = 0
    locked_until: datetime | None = utc_field()
    os_user: str | None = None


class CustomerBase(SQLModel):
    name: str
    phone: str = Field(unique=True)
    id_number: str = ""
    tier: str
    green_channel: bool = False


class Customer(CustomerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = utc_field(nullable=False)
    address: str = ""
    contact_phone: str = ""
    plan: str = ""


class TicketBase(SQLModel):
    channel: str
    work_type: str
    category: str
    requested_grade: str
    description: str


class Ticket(TicketBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    resolution: str = ""
    parent_id: int | None = Field(default=None, foreign_key="ticket.id")
    number: str = Field(unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    grade: str
    grade_rank: int
    status: str
    department: str | None = Field(default=None, foreign_key="department.code")
    handler_id: int | None = Field(default=None, foreign_key="agent.id")
    handler_set_at: datetime | None = utc_field()
    owner_id: int | None = Field(default=None, foreign_key="agent.id")
    owner_set_at: datetime | None = utc_field()
    dispatched_at: datetime | None = utc_field()
    created_by: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = utc_field(nullable=False)
    updated_at: datetime = utc_field(nullable=False)
    responded_at: datetime | None = utc_field()
    resolved_at: datetime | None = utc_field()
    closed_at: datetime | None = utc_field()
    paused_since: datetime | None = utc_field()
    paused_seconds: float = 0.0
    response_target_s: int
    resolution_target_s: int
    response_lead_s: int
    resolution_lead_s: int
    response_due: datetime = utc_field(nullable=False)
    resolution_due: datetime = utc_field(nullable=False)
    response_warned_at: datetime | None = utc_field()
    response_breached_at: datetime | None = utc_field()
    resolution_warned_at: datetime | None = utc_field()
    resolution_breached_at: datetime | None = utc_field()
    is_open: bool
    due_key: int
    warn_key: int
    version: int = 1


class TicketEvent(SQLModel, table=True):
    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    at: datetime = utc_field(nullable=False)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    kind: str
    detail: str = "{}"


class TicketCase(SQLModel, table=True):
    """A knowledge-base case used on a ticket."""

    __tablename__ = "ticket_case"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    case_id: int = Field(primary_key=True)
    at: datetime = utc_field(nullable=False)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")


class ScriptRunRow(SQLModel, table=True):
    """A guided contact's script run, stored with its ticket."""

    __tablename__ = "script_run"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    script_id: str
    record: str
    adherence: str
    score: int
    finished_at: str | None = None


class AgentPreference(SQLModel, table=True):
    __tablename__ = "agent_preference"

    agent_code: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str
