"""The schema, once: SQLModel tables. `db` creates a new store from them and migrates old ones.

Services do not load ORM objects (see `services.store`); these classes are the schema's single
definition, and importing them is paid only when a store is created or migrated.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from agent_console.models.vocab import DEFAULT_SITE


class UTCDateTime(TypeDecorator[datetime]):
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


def text_field(default: str = "", **kwargs: Any) -> Any:
    """A NOT NULL text column whose default the database knows too (for rows added by SQL)."""
    return Field(default=default, sa_column_kwargs={"server_default": default}, **kwargs)


def number_field(default: int | float = 0, **kwargs: Any) -> Any:
    return Field(default=default, sa_column_kwargs={"server_default": text(str(default))}, **kwargs)


class StoreMeta(SQLModel, table=True):
    """Facts about the store itself: how it was made (`origin`: demo or site), when."""

    __tablename__ = "store_meta"

    key: str = Field(primary_key=True)
    value: str


class SiteDocument(SQLModel, table=True):
    """What the site decides (permissions, SLA policy, catalog, scripts, rules), kept in the
    store and changed only through the console by a permitted role."""

    __tablename__ = "site_document"

    kind: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    body: str
    updated_at: datetime = utc_field(nullable=False)
    updated_by: str = text_field()


def site_field() -> Any:
    """The site (hall or hotline centre) a row belongs to."""
    return Field(default=DEFAULT_SITE, foreign_key="site.code",
                 sa_column_kwargs={"server_default": DEFAULT_SITE})


class Site(SQLModel, table=True):
    """A hall or a hotline centre: tickets, agents, counters and the hall queue carry one."""

    code: str = Field(primary_key=True)
    name_en: str
    name_zh: str
    kind: str = text_field("hall")  # hall | hotline


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True)
    name_en: str
    name_zh: str


class Agent(SQLModel, table=True):
    __table_args__ = (Index("ix_agent_os_user", "os_user", unique=True,
                            sqlite_where=text("os_user IS NOT NULL"),
                            postgresql_where=text("os_user IS NOT NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    name: str
    role: str
    team: str = text_field()
    department: str | None = Field(default=None, foreign_key="department.code")
    active: bool = Field(default=True, sa_column_kwargs={"server_default": text("1")})
    pin_hash: str | None = None
    failed_pins: int = number_field()
    locked_until: datetime | None = utc_field()
    os_user: str | None = None
    site: str = site_field()


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    phone: str = Field(unique=True)
    id_number: str = text_field()
    tier: str
    green_channel: bool = Field(default=False, sa_column_kwargs={"server_default": text("0")})
    created_at: datetime = utc_field(nullable=False)
    address: str = text_field()
    contact_phone: str = text_field()
    plan: str = text_field()
    anonymised_at: datetime | None = utc_field()  # personal data removed (retention, erasure)


class Ticket(SQLModel, table=True):
    __table_args__ = (
        Index("ix_ticket_queue_due", "is_open", "due_key", "id"),
        Index("ix_ticket_queue_grade", "is_open", "grade_rank", "due_key", "id"),
        # The status line's "warning" count (warned, not yet due) from the index alone.
        Index("ix_ticket_warn", "is_open", "warn_key", "due_key"),
        Index("ix_ticket_handler", "handler_id", "is_open", "due_key", "id"),
        Index("ix_ticket_department", "department", "is_open", "due_key", "id"),
        Index("ix_ticket_category", "category", "is_open", "due_key", "id"),
        Index("ix_ticket_channel", "channel", "is_open", "due_key", "id"),
        # A customer's tickets in time, with what the repeat measures compare, from the index.
        Index("ix_ticket_customer_history", "customer_id", "created_at", "category", "work_type"),
        Index("ix_ticket_created_by", "created_by", "is_open", "due_key", "id"),
        # One site's queue, in due and in grade order.
        Index("ix_ticket_site", "site", "is_open", "due_key", "id"),
        Index("ix_ticket_site_grade", "site", "is_open", "grade_rank", "due_key", "id"),
        Index("ix_ticket_site_warn", "site", "is_open", "warn_key", "due_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True)
    customer_id: int = Field(foreign_key="customer.id")
    channel: str
    work_type: str
    category: str
    requested_grade: str
    grade: str
    grade_rank: int
    status: str
    description: str
    resolution: str = text_field()
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
    paused_seconds: float = number_field(0)
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
    version: int = number_field(1)
    parent_id: int | None = Field(default=None, foreign_key="ticket.id")
    # A contact finished from a guided intake: one ticket per intake, however often it is sent.
    intake_key: str | None = Field(default=None, unique=True)
    anonymised_at: datetime | None = utc_field()  # the customer's words removed (retention)
    site: str = site_field()


class TicketEvent(SQLModel, table=True):
    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket", "ticket_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE")
    at: datetime = utc_field(nullable=False)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    kind: str
    detail: str = text_field("{}")


class AgentPreference(SQLModel, table=True):
    __tablename__ = "agent_preference"

    agent_code: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str


class KbCase(SQLModel, table=True):
    __tablename__ = "kb_case"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    symptoms: str
    cause: str
    resolution: str
    prevention: str = text_field()
    category: str = text_field()
    tags: str = text_field("[]")
    language: str
    source_ticket_id: int | None = Field(default=None, foreign_key="ticket.id",
                                         ondelete="SET NULL")
    author: str
    created_at: datetime = utc_field(nullable=False)
    updated_at: datetime = utc_field(nullable=False)
    times_used: int = number_field()
    retired: bool = Field(default=False, sa_column_kwargs={"server_default": text("0")})
    # A case proposed from a ticket waits for a reviewer (edit_kb) before it is searchable.
    pending_review: bool = Field(default=False, sa_column_kwargs={"server_default": text("0")})


class KbCaseHistory(SQLModel, table=True):
    __tablename__ = "kb_case_history"
    __table_args__ = (Index("ix_kb_case_history_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="kb_case.id", ondelete="CASCADE")
    at: datetime = utc_field(nullable=False)
    author: str
    field: str
    old: str | None = None
    new: str | None = None


class TicketCase(SQLModel, table=True):
    """A knowledge-base case used on a ticket."""

    __tablename__ = "ticket_case"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, ondelete="CASCADE")
    case_id: int = Field(foreign_key="kb_case.id", primary_key=True, ondelete="CASCADE")
    at: datetime = utc_field(nullable=False)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")


class CustomerChange(SQLModel, table=True):
    __tablename__ = "customer_change"
    __table_args__ = (Index("ix_customer_change_customer", "customer_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    at: datetime = utc_field(nullable=False)
    agent_code: str
    field: str
    old: str
    new: str
    reason: str


class AuditLog(SQLModel, table=True):
    """Append-only (triggers refuse UPDATE and DELETE) and hash-chained (services.audit)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int = Field(primary_key=True)
    at: datetime = utc_field(nullable=False)
    agent_code: str
    action: str
    target: str = text_field()
    detail: str = text_field("{}")
    prev_hash: str
    hash: str


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("one = 1", name="ck_audit_head_one"),)

    one: int = Field(primary_key=True)
    last_id: int
    last_hash: str


class ScriptRun(SQLModel, table=True):
    """A guided contact's script run, stored with its ticket."""

    __tablename__ = "script_run"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, ondelete="CASCADE")
    script_id: str
    record: str
    adherence: str
    score: int
    finished_at: str | None = None
