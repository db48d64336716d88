"""The SLA engine: policy as data, business-hours arithmetic and clock states. Pure: time comes in."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from importlib import resources
from typing import Any

from agent_console.models.vocab import GRADE_ORDER, ClockKind, Grade, SlaState


class PolicyError(Exception):
    """An SLA policy file that cannot be used; the message names the file and the place."""


def parse_zone(value: str) -> tzinfo:
    """A fixed offset such as +08:00, or an IANA zone name."""
    value = value.strip()
    if not value:
        return datetime.now().astimezone().tzinfo or timezone.utc
    if value[0] in "+-":
        sign = 1 if value[0] == "+" else -1
        hours, _, minutes = value[1:].partition(":")
        return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
    if value.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(value)


@dataclass(frozen=True)
class Calendar:
    """Business hours for a channel; open and close of None means around the clock."""

    open: time | None = None
    close: time | None = None
    zone: tzinfo = timezone.utc

    @property
    def always_open(self) -> bool:
        return self.open is None or self.close is None

    def _day_window(self, day: datetime) -> tuple[datetime, datetime]:
        assert self.open is not None and self.close is not None
        return (day.replace(hour=self.open.hour, minute=self.open.minute, second=0, microsecond=0),
                day.replace(hour=self.close.hour, minute=self.close.minute, second=0, microsecond=0))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when `seconds` of business time have passed since `start`."""
        if self.always_open:
            return start + timedelta(seconds=seconds)
        cur = start.astimezone(self.zone)
        left = timedelta(seconds=seconds)
        while True:
            opens, closes = self._day_window(cur)
            if cur < opens:
                cur = opens
            if cur >= closes:
                cur = self._day_window(cur + timedelta(days=1))[0]
                continue
            room = closes - cur
            if left <= room:
                return (cur + left).astimezone(timezone.utc)
            left -= room
            cur = self._day_window(cur + timedelta(days=1))[0]

    def between(self, a: datetime, b: datetime) -> float:
        """Seconds of business time from a to b (0 when b is not after a)."""
        if b <= a:
            return 0.0
        if self.always_open:
            return (b - a).total_seconds()
        cur, end = a.astimezone(self.zone), b.astimezone(self.zone)
        total = 0.0
        while cur < end:
            opens, closes = self._day_window(cur)
            lo, hi = max(cur, opens), min(end, closes)
            if hi > lo:
                total += (hi - lo).total_seconds()
            cur = self._day_window(cur + timedelta(days=1))[0].replace(hour=0, minute=0)
        return total


@dataclass(frozen=True)
class Targets:
    """What one ticket is held to: the effective grade and both clocks' targets and warning leads."""

    grade: Grade
    response: timedelta
    resolution: timedelta
    response_lead: timedelta
    resolution_lead: timedelta
    raised_by: str = ""  # "vip" when the priority lane raised the grade


@dataclass(frozen=True)
class SlaPolicy:
    grades: dict[str, dict[str, int]]
    categories: dict[str, dict[str, int]]
    work_types: dict[str, dict[str, int]]
    lead_minutes: int
    short_target_share: float
    vip_grade_up: int
    green_factor: float
    calendars: dict[str, Calendar]

    def lead_for(self, target: timedelta) -> timedelta:
        """The warning lead: the set lead, or a share of the target when that is shorter."""
        return min(timedelta(minutes=self.lead_minutes), target * self.short_target_share)

    def calendar(self, channel: str) -> Calendar:
        return self.calendars.get(channel, Calendar())

    def targets(self, *, grade: str, category: str, work_type: str, vip: bool = False,
                green_channel: bool = False) -> Targets:
        effective = Grade(grade)
        raised_by = ""
        if vip and self.vip_grade_up:
            effective = GRADE_ORDER[max(0, effective.rank - self.vip_grade_up)]
            raised_by = "vip" if effective != Grade(grade) else ""
        minutes = dict(self.grades[effective])
        for table, key in ((self.categories, category), (self.work_types, work_type)):
            for clock, value in table.get(key, {}).items():
                minutes[clock] = min(minutes[clock], value)
        factor = self.green_factor if green_channel else 1.0
        response = timedelta(minutes=minutes["response_minutes"] * factor)
        resolution = timedelta(minutes=minutes["resolution_minutes"] * factor)
        return Targets(effective, response, resolution, self.lead_for(response),
                       self.lead_for(resolution), raised_by)


def _minutes_table(data: Any, where: str, source: str) -> dict[str, dict[str, int]]:
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: [{where}] must be a table")
    table: dict[str, dict[str, int]] = {}
    for key, row in data.items():
        if not isinstance(row, dict):
            raise PolicyError(f"{source}: [{where}.{key}] must be a table")
        clean: dict[str, int] = {}
        for clock, value in row.items():
            if clock not in ("response_minutes", "resolution_minutes"):
                raise PolicyError(f"{source}: [{where}.{key}] unknown key {clock!r}")
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise PolicyError(f"{source}: [{where}.{key}] {clock} must be a positive whole number")
            clean[clock] = value
        table[key] = clean
    return table


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else value
    return merged


def _clock_time(value: Any, where: str, source: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{source}: [{where}] {value!r} is not a time like 09:00") from None


def policy_from_dict(data: dict[str, Any], source: str = "policy") -> SlaPolicy:
    grades = _minutes_table(data.get("grades", {}), "grades", source)
    for grade in Grade:
        row = grades.get(grade)
        if not row or set(row) != {"response_minutes", "resolution_minutes"}:
            raise PolicyError(f"{source}: [grades.{grade}] needs response_minutes and resolution_minutes")
    warning = data.get("warning", {})
    zone = parse_zone(str(data.get("timezone", "+08:00")))
    calendars = {}
    for channel, row in data.get("calendars", {}).items():
        opens = _clock_time(row.get("open"), f"calendars.{channel}", source)
        closes = _clock_time(row.get("close"), f"calendars.{channel}", source)
        if closes <= opens:
            raise PolicyError(f"{source}: [calendars.{channel}] close must be after open")
        calendars[channel] = Calendar(opens, closes, zone)
    try:
        share = float(warning.get("short_target_share", 0.25))
        lead = int(warning.get("lead_minutes", 120))
        grade_up = int(data.get("vip", {}).get("grade_up", 1))
        factor = float(data.get("green_channel", {}).get("target_factor", 1.0))
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{source}: {exc}") from None
    if not (0 < share <= 1 and lead >= 0 and 0 < factor <= 1 and grade_up >= 0):
        raise PolicyError(f"{source}: warning share and green-channel factor must be in (0, 1], "
                          "lead and grade_up not negative")
    return SlaPolicy(grades, _minutes_table(data.get("categories", {}), "categories", source),
                     _minutes_table(data.get("work_types", {}), "work_types", source),
                     lead, share, grade_up, factor, calendars)


def shipped_policy_text() -> str:
    return resources.files("agent_console.content").joinpath("sla_policy.toml").read_text(
        encoding="utf-8")


def load_policy() -> SlaPolicy:
    """The shipped policy (a site's own is kept in its store: services.site)."""
    return policy_from_text(shipped_policy_text(), "sla_policy.toml")


def policy_from_text(text: str, source: str) -> SlaPolicy:
    """A site's policy: its text laid over the shipped policy, so it may name only changes."""
    data = tomllib.loads(shipped_policy_text())
    try:
        data = _merge(data, tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc})") from None
    return policy_from_dict(data, source)


@dataclass(frozen=True)
class ClockView:
    """One SLA clock as an agent reads it."""

    kind: ClockKind
    state: SlaState
    target: timedelta
    due: datetime | None
    warn_at: datetime | None
    elapsed: timedelta
    paused: timedelta
    remaining: timedelta
    met_at: datetime | None = None


@dataclass(frozen=True)
class Dues:
    response_due: datetime
    resolution_due: datetime
    response_warn_at: datetime
    resolution_warn_at: datetime


def compute_dues(*, created_at: datetime, targets: Targets, calendar: Calendar,
                 paused_seconds: float) -> Dues:
    """Due times: the target in business time after creation, pushed back by the paused time."""
    response_due = calendar.add(created_at, targets.response.total_seconds() + paused_seconds)
    resolution_due = calendar.add(created_at, targets.resolution.total_seconds() + paused_seconds)
    return Dues(response_due, resolution_due, response_due - targets.response_lead,
                resolution_due - targets.resolution_lead)


def clock_view(*, kind: ClockKind, now: datetime, created_at: datetime, target: timedelta,
               due: datetime, warn_at: datetime, calendar: Calendar, paused_seconds: float,
               paused_since: datetime | None, met_at: datetime | None) -> ClockView:
    """The state of one clock at `now`: met, paused, breached, warning or on track."""
    stop = met_at or paused_since or now
    paused = paused_seconds + (calendar.between(paused_since, now) if paused_since and not met_at else 0)
    elapsed = timedelta(seconds=max(0.0, calendar.between(created_at, stop) - paused_seconds))
    if met_at is not None:
        state = SlaState.MET if met_at <= due else SlaState.BREACHED
        return ClockView(kind, state, target, due, warn_at, elapsed, timedelta(seconds=paused),
                         due - met_at, met_at)
    if paused_since is not None:
        remaining = target - elapsed
        state = SlaState.BREACHED if remaining <= timedelta(0) else SlaState.PAUSED
        return ClockView(kind, state, target, None, None, elapsed, timedelta(seconds=paused), remaining)
    remaining = due - now
    if remaining <= timedelta(0):
        state = SlaState.BREACHED
    elif now >= warn_at:
        state = SlaState.WARNING
    else:
        state = SlaState.ON_TRACK
    return ClockView(kind, state, target, due, warn_at, elapsed, timedelta(seconds=paused), remaining)


def running_state(*, now_ts: int, due_ts: int | None, warn_ts: int | None, paused: bool,
                  met: bool) -> SlaState:
    """The queue's quick state from the stored keys (no calendar work per row)."""
    if met:
        return SlaState.MET
    if paused or due_ts is None:
        return SlaState.PAUSED
    if now_ts >= due_ts:
        return SlaState.BREACHED
    if warn_ts is not None and now_ts >= warn_ts:
        return SlaState.WARNING
    return SlaState.ON_TRACK
