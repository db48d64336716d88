"""The fixed vocabulary of the service standards: work types, channels, grades, statuses, tiers, roles."""

from __future__ import annotations

from enum import StrEnum


class WorkType(StrEnum):
    CONSULTATION = "consultation"
    BUSINESS = "business"
    FAULT = "fault"
    COMPLAINT = "complaint"
    INFO_CHANGE = "info_change"
    FOLLOW_UP = "follow_up"  # 二次回访 after a dissatisfied survey


class Channel(StrEnum):
    HOTLINE = "hotline"
    HALL = "hall"
    APP = "app"
    ONLINE = "online"
    SMS = "sms"
    SOCIAL = "social"


class Grade(StrEnum):
    URGENT = "urgent"
    IMPORTANT = "important"
    GENERAL = "general"

    @property
    def rank(self) -> int:
        """0 is the most urgent; the queue sorts by it."""
        return GRADE_ORDER.index(self)


GRADE_ORDER = (Grade.URGENT, Grade.IMPORTANT, Grade.GENERAL)


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING_CUSTOMER})

# The moves an agent may make; "reopen" is a move from resolved or closed back to in progress.
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.NEW: (Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED),
    Status.ASSIGNED: (Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED),
    Status.IN_PROGRESS: (Status.PENDING_CUSTOMER, Status.RESOLVED),
    Status.PENDING_CUSTOMER: (Status.IN_PROGRESS, Status.RESOLVED),
    Status.RESOLVED: (Status.CLOSED, Status.IN_PROGRESS),
    Status.CLOSED: (Status.IN_PROGRESS,),
}

# Leaving these states for one of RESPONDED_STATUSES counts as the first response to the customer.
RESPONDED_STATUSES = frozenset({Status.IN_PROGRESS, Status.PENDING_CUSTOMER, Status.RESOLVED, Status.CLOSED})


class Tier(StrEnum):
    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    VIP = "vip"


DEFAULT_SITE = "main"  # the site of every row written before a store had others


class SiteKind(StrEnum):
    HALL = "hall"  # a retail hall (营业厅)
    HOTLINE = "hotline"  # a hotline centre (热线中心)


class Role(StrEnum):
    AGENT = "agent"
    SENIOR = "senior"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"
    ADMIN = "admin"


class EventKind(StrEnum):
    CREATED = "created"
    CLAIMED = "claimed"
    ASSIGNED = "assigned"
    HANDLER_SET = "handler_set"
    OWNER_SET = "owner_set"
    STATUS_CHANGED = "status_changed"
    NOTE = "note"
    SLA_WARNING = "sla_warning"
    SLA_BREACHED = "sla_breached"
    CASE_USED = "case_used"
    CLASSIFIED = "classified"
    TAKEN_OVER = "taken_over"
    RESOLUTION_SET = "resolution_set"


class ClockKind(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"
