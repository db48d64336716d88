"""How times, durations and SLA countdowns read on screen, in the current language."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from agent_console.i18n import t
from agent_console.models.read import TicketRow
from agent_console.models.vocab import SlaState
from agent_console.services.sla import running_state


def duration(seconds: float) -> str:
    """45m, 1h 05m, 2d 03h (zh: 45分, 1小时05分, 2天03时); whole minutes, never seconds."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("duration.dh", d=days, h=hours)
    if hours:
        return t("duration.hm", h=hours, m=mins)
    return t("duration.m", m=mins)


def sla_state_of(row: TicketRow, now_ts: int) -> SlaState:
    return running_state(now_ts=now_ts, due_ts=None if row.paused else row.due_key,
                         warn_ts=row.warn_key, paused=row.paused, met=not row.is_open)


def countdown_text(row: TicketRow, now_ts: int) -> str:
    """The time-left cell: it must read right without colour (OVERDUE / 超时 in words)."""
    state = sla_state_of(row, now_ts)
    if state is SlaState.MET:
        return t("sla.done")
    if state is SlaState.PAUSED:
        return t("sla.paused_short")
    left = row.due_key - now_ts
    if state is SlaState.BREACHED:
        return t("sla.overdue", span=duration(-left))
    # Round up so a clock shows 1m until the moment it is due.
    return duration(left + 59)


def local_time(value: datetime | None, zone: tzinfo | None, *, with_date: bool = True) -> str:
    if value is None:
        return "—"
    local = value.astimezone(zone)
    return local.strftime("%m-%d %H:%M" if with_date else "%H:%M")


def span(delta: timedelta) -> str:
    return duration(abs(delta.total_seconds()))
