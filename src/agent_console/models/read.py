"""Frozen read models the services hand out; never live ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One queue line. The phone is already masked."""

    id: int
    number: str
    grade: str
    status: str
    work_type: str
    category: str
    customer_name: str
    phone_masked: str
    handler_name: str
    channel: str
    due_key: int
    warn_key: int
    paused: bool
    is_open: bool
    grade_rank: int
    version: int
    callback_ts: int | None = None  # the earliest call-back promised and not yet made
    site: str = "main"

    def sort_key(self, sort: str) -> tuple[int, ...]:
        if sort == "grade":
            return (int(self.is_open), self.grade_rank, self.due_key, self.id)
        if sort == "newest":
            return (self.id,)
        return (self.due_key, self.id)


@dataclass(frozen=True, slots=True)
class AgentInfo:
    id: int
    code: str
    name: str
    role: str
    team: str
    department: str | None
    site: str = "main"  # the hall or hotline centre the agent works at


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    """A customer as screens show it: every number masked."""

    id: int
    name: str
    phone_masked: str
    tier: str
    green_channel: bool
    id_number_masked: str = ""
    contact_phone_masked: str = ""
    address: str = ""
    plan: str = ""


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    kind: str
    agent_name: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class TicketDetail:
    id: int
    number: str
    version: int
    customer: CustomerInfo
    channel: str
    work_type: str
    category: str
    requested_grade: str
    grade: str
    status: str
    description: str
    resolution: str
    department: str | None
    handler: AgentInfo | None
    handler_set_at: datetime | None
    owner: AgentInfo | None
    owner_set_at: datetime | None
    dispatched_at: datetime | None
    created_at: datetime
    updated_at: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    clocks: tuple[Any, ...]  # (response ClockView, resolution ClockView)
    events: tuple[EventView, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class TicketCreated:
    id: int
    number: str
    grade: str
    department: str | None
    response_due: datetime
    resolution_due: datetime
    description_cut: bool = False  # the description was longer than the store keeps
