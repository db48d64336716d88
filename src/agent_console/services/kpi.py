"""The measures supervisors read (考核指标), defined as data in content/kpis.toml.

Each KPI in the file names a computation here (COMPUTATIONS) with its parameters, target and
warning level. A computation works on the facts of the tickets created in the period (loaded
once, one row a ticket) and returns the value with the ticket ids behind its numerator and its
denominator, so any number can be explained down to the tickets.
"""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple, cast

from agent_console.db import from_db, to_db
from agent_console.models.vocab import GRADE_ORDER, Grade, WorkType
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError
from agent_console.services.permissions import RUN_REPORTS
from agent_console.services.sla import parse_zone
from agent_console.services.store import Store, Tx


class KpiFileError(Exception):
    """A KPI definitions file that cannot be used."""


@dataclass(frozen=True)
class KpiDef:
    name: str
    computation: str
    params: dict[str, Any]
    numerator: str
    denominator: str
    exclusions: str
    unit: str  # percent | minutes | hours | count | rate
    better: str  # higher | lower
    target: float
    warning: float
    by_grade: bool = False


@dataclass(frozen=True)
class KpiSettings:
    timezone: str = "+08:00"
    repeat_days: int = 30
    flag_share: float = 0.20
    near_breach_minutes: int = 60
    report_examples: int = 3

    @property
    def zone(self) -> tzinfo:
        return parse_zone(self.timezone)


@dataclass(frozen=True)
class KpiConfig:
    settings: KpiSettings
    kpis: tuple[KpiDef, ...]

    def get(self, name: str) -> KpiDef:
        for kpi in self.kpis:
            if kpi.name == name:
                return kpi
        raise InputError("kpi", f"no KPI named {name!r}", code="choice",
                         allowed=[k.name for k in self.kpis])


def shipped_text() -> str:
    return resources.files("agent_console.content").joinpath("kpis.toml").read_text("utf-8")


def config_from_text(text: str, source: str = "kpis.toml") -> KpiConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KpiFileError(f"{source}: {exc}") from None
    try:
        settings = KpiSettings(**data.get("settings", {}))
        parse_zone(settings.timezone)
    except (TypeError, ValueError) as exc:
        raise KpiFileError(f"{source}: [settings] {exc}") from None
    kpis = []
    seen = set()
    for i, item in enumerate(data.get("kpi", [])):
        where = f"{source}: kpi #{i + 1}"
        try:
            kpi = KpiDef(name=item["name"], computation=item["computation"],
                         params=dict(item.get("params", {})),
                         numerator=item.get("numerator", ""),
                         denominator=item.get("denominator", ""),
                         exclusions=item.get("exclusions", ""), unit=item.get("unit", "percent"),
                         better=item.get("better", "higher"), target=float(item["target"]),
                         warning=float(item["warning"]), by_grade=bool(item.get("by_grade")))
        except (KeyError, TypeError, ValueError) as exc:
            raise KpiFileError(f"{where}: missing or bad {exc}") from None
        if kpi.computation not in COMPUTATIONS:
            raise KpiFileError(f"{where}: unknown computation {kpi.computation!r}; known: "
                               f"{', '.join(sorted(COMPUTATIONS))}")
        if kpi.better not in ("higher", "lower"):
            raise KpiFileError(f"{where}: better must be higher or lower")
        if kpi.name in seen:
            raise KpiFileError(f"{where}: name {kpi.name!r} used twice")
        seen.add(kpi.name)
        kpis.append(kpi)
    return KpiConfig(settings, tuple(kpis))


def _document(tx: Tx, kind: str) -> str | None:
    return cast("str | None", tx.scalar("SELECT body FROM site_document WHERE kind = ? AND name = ''", (kind,)))


def config_for(store: Store) -> KpiConfig:
    """The site's KPI file kept in the store (after `policy import kpis`), or the shipped one."""
    with store.read() as tx:
        text = _document(tx, "kpis")
    return config_from_text(text, "store: kpis") if text else config_from_text(shipped_text())


# --- periods ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    label: str  # today | week | month | YYYY-MM | YYYY-MM-DD
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    def days(self, zone: tzinfo) -> list[Period]:
        out = []
        day = self.start.astimezone(zone).date()
        while True:
            start = datetime(day.year, day.month, day.day, tzinfo=zone)
            if start >= self.end:
                break
            out.append(Period(day.isoformat(), start.astimezone(timezone.utc),
                              min(self.end, (start + timedelta(days=1)).astimezone(timezone.utc))))
            day += timedelta(days=1)
        return out


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)


def month_period(month: str, zone: tzinfo) -> Period:
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise InputError("month", f"{month!r} is not a month like 2026-11", code="month") from None
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return Period(f"{year:04d}-{mon:02d}", _midnight(first, zone), _midnight(following, zone))


def previous_month(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


def period_for(spec: str, now: datetime, zone: tzinfo) -> Period:
    """today, week (from Monday), month (from the 1st), or a month YYYY-MM; each up to `now`
    for the current ones."""
    local = now.astimezone(zone).date()
    if spec == "today":
        return Period("today", _midnight(local, zone), now)
    if spec == "week":
        return Period("week", _midnight(local - timedelta(days=local.weekday()), zone), now)
    if spec == "month":
        return Period("month", _midnight(local.replace(day=1), zone), now)
    if len(spec) == 7 and spec[4] == "-":
        found = month_period(spec, zone)
        return replace(found, end=min(found.end, max(now, found.start)))
    raise InputError("period", f"{spec!r}: use today, week, month or YYYY-MM", code="choice",
                     allowed=["today", "week", "month", "YYYY-MM"])


# --- facts --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    team: str | None = None
    department: str | None = None
    channel: str | None = None

    def keep(self, row: Fact) -> bool:
        return ((self.team is None or row.team == self.team)
                and (self.department is None or row.department == self.department)
                and (self.channel is None or row.channel == self.channel))


@dataclass(frozen=True, slots=True)
class Fact:
    """One ticket as the KPIs see it. Times are the stored UTC text (they sort as times)."""

    id: int
    number: str
    customer_id: int
    category: str
    work_type: str
    channel: str
    department: str
    team: str
    agent: str
    grade: str
    requested_grade: str
    is_open: bool
    created_at: str
    responded_at: str | None
    resolved_at: str | None
    response_due: str
    resolution_due: str
    response_breached: bool
    resolution_breached: bool
    reopened: bool
    survey: str | None
    handling_s: float | None


class Contact(NamedTuple):
    """The little the repeat measures need of every ticket near the period (a tuple: there are
    tens of thousands of them in a month)."""

    id: int
    customer_id: int
    category: str
    work_type: str
    created_at: str


@dataclass
class Facts:
    rows: list[Fact]
    # tickets from repeat_days before the start to repeat_days after the end, by customer, then
    # in the order they came
    context: list[Contact]
    open_rows: list[Fact]  # every open ticket now (backlog)
    customers: int  # customers on the books at the end of the period
    now: str
    now_dt: datetime
    settings: KpiSettings
    _by_key: dict[tuple[int, str], list[Contact]] | None = field(default=None, repr=False)

    def by_key(self) -> dict[tuple[int, str], list[Contact]]:
        if self._by_key is None:
            grouped: dict[tuple[int, str], list[Contact]] = defaultdict(list)
            for c in self.context:
                grouped[(c.customer_id, c.category)].append(c)
            self._by_key = grouped
        return self._by_key

    def subset(self, period: Period | None = None, where: Filter | None = None) -> Facts:
        rows = self.rows
        if period is not None:
            lo, hi = to_db(period.start), to_db(period.end)
            rows = [r for r in rows if lo <= r.created_at < hi]
        open_rows = self.open_rows
        if where is not None:
            rows = [r for r in rows if where.keep(r)]
            open_rows = [r for r in open_rows if where.keep(r)]
        return Facts(rows, self.context, open_rows, self.customers, self.now, self.now_dt,
                     self.settings, self.by_key())


_FACT_SQL = """
SELECT t.id, t.number, t.customer_id, t.category, t.work_type, t.channel,
       COALESCE(t.department, ''), COALESCE(NULLIF(h.team, ''), c.team, ''),
       COALESCE(h.code, c.code, ''), t.grade, t.requested_grade, t.is_open, t.created_at,
       t.responded_at, t.resolved_at, t.response_due, t.resolution_due,
       t.response_breached_at IS NOT NULL, t.resolution_breached_at IS NOT NULL,
       t.resolved_at IS NOT NULL AND EXISTS (
           SELECT 1 FROM ticket_event e WHERE e.ticket_id = t.id AND e.kind = 'status_changed'
           AND (e.detail LIKE '%"from": "resolved"%' OR e.detail LIKE '%"from": "closed"%')
           AND e.detail LIKE '%"to": "in_progress"%'),
       {survey}, {started}, s.finished_at, {seconds}
FROM ticket t
LEFT JOIN agent h ON h.id = t.handler_id
LEFT JOIN agent c ON c.id = t.created_by
LEFT JOIN script_run s ON s.ticket_id = t.id
WHERE {where}
"""


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        a = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return None
    if a.tzinfo is None:
        a = a.replace(tzinfo=timezone.utc)
    if b.tzinfo is None:
        b = b.replace(tzinfo=timezone.utc)
    seconds = (b - a).total_seconds()
    return seconds if seconds >= 0 else None


def _facts_rows(tx: Tx, where: str, params: Sequence[Any]) -> list[Fact]:
    if tx.store.is_sqlite:
        sql = _FACT_SQL.format(survey="json_extract(s.record, '$.values.satisfaction')",
                               started="NULL", seconds=SQLITE_SECONDS, where=where)
    else:
        sql = _FACT_SQL.format(survey="s.record", started="NULL", seconds="NULL", where=where)
    out = []
    for r in fetch_all(tx, sql, params):
        survey, started = r[20], r[21]
        if not tx.store.is_sqlite and survey:
            record = json.loads(survey)
            survey = (record.get("values") or {}).get("satisfaction")
            started = record.get("started_at")
        out.append(Fact(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                        bool(r[11]), str(r[12]), _text(r[13]), _text(r[14]), str(r[15]),
                        str(r[16]), bool(r[17]), bool(r[18]), bool(r[19]),
                        None if survey is None else str(survey),
                        _rounded(r[23]) if r[23] is not None else _seconds(started, _iso(r[22]))))
    return out


# Seconds from a script run's start (in its record) to its finish, worked out by SQLite;
# rounded to the millisecond so that it equals what Python's datetimes give.
SQLITE_SECONDS = ("(julianday(s.finished_at) - julianday(json_extract(s.record, '$.started_at')))"
                  " * 86400.0")


def _rounded(seconds: float) -> float | None:
    return round(float(seconds), 3) if seconds >= 0 else None


def fetch_all(tx: Tx, sql: str, params: Sequence[Any]) -> list[Any]:
    """Every row of a large read inside the unit of work: on SQLite straight from the driver's
    cursor of the transaction's own connection (no row objects made), elsewhere through `tx`."""
    if tx.store.is_sqlite:
        rows: list[Any] = tx.conn.connection.driver_connection.execute(sql, tuple(params)).fetchall()
        return rows
    return tx.all(sql, params)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: Any) -> str | None:
    return None if value is None else str(value)


def load_facts(tx: Tx, start: datetime, end: datetime, settings: KpiSettings, *,
               at: datetime | None = None, work_types: Sequence[str] | None = None,
               with_open: bool = True, site: str | None = None) -> Facts:
    """The facts of the tickets created in [start, end) (of `work_types`, or all; of one
    `site`, or every site), the open queue (`with_open`) and the repeat context, judged as of
    `at` (default: now)."""
    now_dt = min(at, tx.now) if at is not None else tx.now
    where, params = "t.created_at >= ? AND t.created_at < ?", [to_db(start), to_db(end)]
    if work_types:
        where += f" AND t.work_type IN ({', '.join('?' * len(work_types))})"
        params += list(work_types)
    on_site, site_params = (" AND t.site = ?", [site]) if site is not None else ("", [])
    rows = _facts_rows(tx, where + on_site, params + site_params)
    open_rows = _facts_rows(tx, "t.is_open = 1" + on_site, site_params) if with_open else []
    reach = timedelta(days=settings.repeat_days)
    # Only the customers of the period's tickets can repeat: their tickets from N days before
    # the start to N days after the end, looked up by customer.
    people = sorted({r.customer_id for r in rows})
    window = (to_db(start - reach), to_db(end + reach))
    context: list[Contact] = []
    # On SQLite `+created_at` keeps the planner on the customer index (the time range would
    # pick the creation-time index and read every ticket of the window for each chunk).
    created = "+created_at" if tx.store.is_sqlite else "created_at"
    for chunk in range(0, len(people), 500):
        part = people[chunk:chunk + 500]
        context += [Contact(r[0], r[1], r[2], r[3], str(r[4])) for r in fetch_all(
            tx, "SELECT id, customer_id, category, work_type, created_at FROM ticket "
                f"WHERE customer_id IN ({', '.join('?' * len(part))}) "
                f"AND {created} >= ? AND {created} < ? ORDER BY customer_id, created_at, id",
            (*part, *window))]
    customers = int(tx.scalar("SELECT count(*) FROM customer WHERE created_at < ?",
                              (to_db(end),)) or 0)
    return Facts(rows, context, open_rows, customers, to_db(now_dt), now_dt, settings)


# --- values -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiValue:
    name: str
    value: float | None
    numerator: float
    denominator: float | None
    counted: tuple[int, ...] = ()  # ticket ids in the numerator
    base: tuple[int, ...] = ()  # ticket ids in the denominator (or the tickets measured)
    detail: dict[str, Any] = field(default_factory=dict)
    unit: str = "percent"
    target: float = 0.0
    warning: float = 0.0
    better: str = "higher"

    @property
    def state(self) -> str:
        """ok, warn or bad against the target and the warning level; none without a value."""
        if self.value is None:
            return "none"
        v = round(self.value, 6)
        if self.better == "higher":
            return "ok" if v >= self.target else "warn" if v >= self.warning else "bad"
        return "ok" if v <= self.target else "warn" if v <= self.warning else "bad"


def _ratio(name: str, counted: list[int], base: list[int], **detail: Any) -> KpiValue:
    value = 100.0 * len(counted) / len(base) if base else None
    return KpiValue(name, value, len(counted), len(base), tuple(counted), tuple(base), detail)


# A wallboard measures the same tickets many times over (periods, teams, days): their stored
# times are parsed once.
_when = lru_cache(maxsize=1 << 18)(from_db)


@lru_cache(maxsize=1 << 18)
def _shifted(stored: str, days: int) -> str:
    """A stored time `days` later (earlier when negative), stored the same way."""
    return to_db(from_db(stored) + timedelta(days=days))


def _late(met: str | None, due: str, breached: bool, now: str) -> bool:
    return breached or (met is not None and met > due) or (met is None and due <= now)


def _ended(met: str | None, due: str, now: str) -> bool:
    return met is not None or due <= now


def on_time(facts: Facts, params: dict[str, Any]) -> KpiValue:
    """Tickets whose clock ended (met, or past its deadline): share met before the deadline."""
    clock = params.get("clock", "resolution")
    counted, base = [], []
    grades: dict[str, list[int]] = {g.value: [0, 0] for g in GRADE_ORDER}
    for r in facts.rows:
        if params.get("work_type") and r.work_type != params["work_type"]:
            continue
        met, due, breached = ((r.responded_at, r.response_due, r.response_breached)
                              if clock == "response" else
                              (r.resolved_at, r.resolution_due, r.resolution_breached))
        if not _ended(met, due, facts.now):
            continue
        base.append(r.id)
        slot = grades.setdefault(r.grade, [0, 0])
        slot[1] += 1
        if not _late(met, due, breached, facts.now):
            counted.append(r.id)
            slot[0] += 1
    return _ratio("", counted, base, by_grade={g: tuple(v) for g, v in grades.items()})


def sla_compliance(facts: Facts, params: dict[str, Any]) -> KpiValue:
    counted, base = [], []
    for r in facts.rows:
        late = (_late(r.responded_at, r.response_due, r.response_breached, facts.now)
                or _late(r.resolved_at, r.resolution_due, r.resolution_breached, facts.now))
        if r.resolved_at is None and not late:
            continue
        base.append(r.id)
        if not late:
            counted.append(r.id)
    return _ratio("", counted, base)


def followup_on_time(facts: Facts, params: dict[str, Any]) -> KpiValue:
    return on_time(facts, {"clock": "resolution", "work_type": WorkType.FOLLOW_UP.value})


def _repeat_after(facts: Facts, r: Fact, days: int) -> bool:
    same = facts.by_key().get((r.customer_id, r.category), ())
    if not same or (len(same) == 1 and same[0].id == r.id):  # no other ticket to compare
        return False
    limit = _shifted(r.created_at, days)
    for c in same:
        if c.id != r.id and r.created_at < c.created_at < limit \
                and c.work_type != WorkType.FOLLOW_UP.value:
            return True
    return False


def first_contact_resolution(facts: Facts, params: dict[str, Any]) -> KpiValue:
    days = int(params.get("repeat_days", facts.settings.repeat_days))
    counted, base = [], []
    for r in facts.rows:
        if r.resolved_at is None or r.work_type == WorkType.FOLLOW_UP.value:
            continue
        base.append(r.id)
        if not r.reopened and not _repeat_after(facts, r, days):
            counted.append(r.id)
    return _ratio("", counted, base)


def average_handling_time(facts: Facts, params: dict[str, Any]) -> KpiValue:
    runs = [(r.id, r.handling_s) for r in facts.rows if r.handling_s is not None]
    total = sum(s for _, s in runs) / 60.0
    ids = tuple(i for i, _ in runs)
    return KpiValue("", total / len(runs) if runs else None, round(total, 4), len(runs), ids, ids)


def satisfaction(facts: Facts, params: dict[str, Any]) -> KpiValue:
    answers = {"1": [], "2": [], "3": []}  # type: dict[str, list[int]]
    for r in facts.rows:
        if r.survey in answers:
            answers[r.survey].append(r.id)
    base = sorted(answers["1"] + answers["2"] + answers["3"])
    counted = sorted(answers["1"] + answers["2"])
    shares = {k: (100.0 * len(v) / len(base) if base else None) for k, v in answers.items()}
    return _ratio("", counted, base, shares=shares,
                  counts={k: len(v) for k, v in answers.items()},
                  dissatisfied=tuple(answers["3"]))


def repeat_ratio(facts: Facts, params: dict[str, Any]) -> KpiValue:
    days = int(params.get("repeat_days", facts.settings.repeat_days))
    work_type = params.get("work_type", WorkType.COMPLAINT.value)
    counted, base = [], []
    for r in facts.rows:
        if r.work_type != work_type:
            continue
        base.append(r.id)
        same = facts.by_key().get((r.customer_id, r.category), ())
        if not same or (len(same) == 1 and same[0].id == r.id):  # no other ticket to compare
            continue
        floor = _shifted(r.created_at, -days)
        for c in same:
            if c.id != r.id and c.work_type == work_type and floor <= c.created_at \
                    and (c.created_at, c.id) < (r.created_at, r.id):
                counted.append(r.id)
                break
    return _ratio("", counted, base)


def escalations(facts: Facts, params: dict[str, Any]) -> KpiValue:
    work_type = params.get("work_type", WorkType.COMPLAINT.value)
    base = [r.id for r in facts.rows if r.work_type == work_type]
    counted = [r.id for r in facts.rows if r.work_type == work_type
               and Grade(r.grade).rank < Grade(r.requested_grade).rank]
    return KpiValue("", float(len(counted)), len(counted), None, tuple(counted), tuple(base))


def per_10k_customers(facts: Facts, params: dict[str, Any]) -> KpiValue:
    work_type = params.get("work_type", WorkType.COMPLAINT.value)
    counted = [r.id for r in facts.rows if r.work_type == work_type]
    value = 10000.0 * len(counted) / facts.customers if facts.customers else None
    return KpiValue("", value, len(counted), facts.customers, tuple(counted), tuple(counted))


def backlog(facts: Facts, params: dict[str, Any]) -> KpiValue:
    ids = tuple(r.id for r in facts.open_rows)
    return KpiValue("", float(len(ids)), len(ids), None, ids, ids)


def backlog_age(facts: Facts, params: dict[str, Any]) -> KpiValue:
    hours = [(r.id, (facts.now_dt - _when(r.created_at)).total_seconds() / 3600.0)
             for r in facts.open_rows]
    total = sum(h for _, h in hours)
    ids = tuple(i for i, _ in hours)
    oldest = max((h for _, h in hours), default=None)
    return KpiValue("", total / len(hours) if hours else None, round(total, 4), len(hours), ids,
                    ids, {"oldest_hours": oldest})


Computation = Callable[[Facts, dict[str, Any]], KpiValue]
COMPUTATIONS: dict[str, Computation] = {
    "first_contact_resolution": first_contact_resolution,
    "average_handling_time": average_handling_time,
    "on_time": on_time,
    "sla_compliance": sla_compliance,
    "satisfaction": satisfaction,
    "followup_on_time": followup_on_time,
    "repeat_ratio": repeat_ratio,
    "escalations": escalations,
    "per_10k_customers": per_10k_customers,
    "backlog": backlog,
    "backlog_age": backlog_age,
}
PERIODLESS = frozenset({"backlog", "backlog_age"})


def evaluate(kpi: KpiDef, facts: Facts) -> KpiValue:
    found = COMPUTATIONS[kpi.computation](facts, kpi.params)
    return replace(found, name=kpi.name, unit=kpi.unit, target=kpi.target, warning=kpi.warning,
                   better=kpi.better)


# --- entry points -------------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiBoard:
    period: Period
    where: Filter
    values: tuple[KpiValue, ...]


def _periods(spec: str, store: Store, zone: tzinfo) -> Period:
    return period_for(spec, store.clock.now(), zone)


def measure(store: Store, actor: Actor, *, period: str = "today", team: str | None = None,
            department: str | None = None, channel: str | None = None,
            config: KpiConfig | None = None, site: str = "") -> KpiBoard:
    """Every KPI of the file for one period (and team, department or channel), over the sites
    the actor sees (or the one asked for)."""
    actor.require(RUN_REPORTS)
    reach = actor.site_reach(site)
    config = config or config_for(store)
    span = _periods(period, store, config.settings.zone)
    where = Filter(team or None, department or None, channel or None)
    with store.read() as tx:
        facts = load_facts(tx, span.start, span.end, config.settings,
                           site=reach).subset(where=where)
    return KpiBoard(span, where, tuple(evaluate(k, facts) for k in config.kpis))


@dataclass(frozen=True)
class Explanation:
    kpi: KpiDef
    value: KpiValue
    period: Period
    numbers: dict[int, str]  # ticket id -> ticket number, for every ticket named


def explain(store: Store, actor: Actor, *, name: str, period: str = "today",
            team: str | None = None, department: str | None = None,
            channel: str | None = None, site: str = "") -> Explanation:
    """One KPI with its formula and the tickets it counted."""
    actor.require(RUN_REPORTS)
    reach = actor.site_reach(site)
    config = config_for(store)
    kpi = config.get(name)
    span = _periods(period, store, config.settings.zone)
    with store.read() as tx:
        facts = load_facts(tx, span.start, span.end, config.settings, site=reach).subset(
            where=Filter(team or None, department or None, channel or None))
    value = evaluate(kpi, facts)
    numbers = {r.id: r.number for r in facts.rows + facts.open_rows}
    return Explanation(kpi, value, span, numbers)


@dataclass(frozen=True)
class Wallboard:
    """What the supervisors' wallboard shows, read in one snapshot."""

    periods: tuple[KpiBoard, ...]  # today, week, month
    breakdown: dict[str, dict[str, tuple[KpiValue, ...]]]  # dimension -> key -> this month's KPIs
    trends: dict[str, tuple[float, ...]]  # KPI name -> daily values over the trend days
    trend_days: tuple[str, ...]
    near_breach: tuple[dict[str, Any], ...]
    numbers: dict[int, str]


def wallboard(store: Store, actor: Actor, *, trend_days: int = 30, site: str = "") -> Wallboard:
    """Today, this week and this month against target; this month by team, department and
    channel; daily trends; the tickets nearest their deadline (the sites the actor sees, or the
    one asked for)."""
    actor.require(RUN_REPORTS)
    reach = actor.site_reach(site)
    config = config_for(store)
    zone = config.settings.zone
    now = store.clock.now()
    spans = [period_for(p, now, zone) for p in ("today", "week", "month")]
    local = now.astimezone(zone).date()
    trend_start = _midnight(local - timedelta(days=trend_days - 1), zone)
    start = min([s.start for s in spans] + [trend_start])
    with store.read() as tx:
        facts = load_facts(tx, start, now, config.settings, site=reach)
        near = _near_breach(tx, now, config.settings.near_breach_minutes, reach)
    boards = tuple(KpiBoard(s, Filter(), tuple(evaluate(k, facts.subset(s)) for k in config.kpis))
                   for s in spans)
    month = facts.subset(spans[2])
    breakdown: dict[str, dict[str, tuple[KpiValue, ...]]] = {}
    for dim in ("team", "department", "channel"):
        rows_by: dict[str, list[Fact]] = defaultdict(list)
        open_by: dict[str, list[Fact]] = defaultdict(list)
        for r in month.rows:
            rows_by[getattr(r, dim)].append(r)
        for r in month.open_rows:
            open_by[getattr(r, dim)].append(r)
        keys = sorted((set(rows_by) | set(open_by)) - {""})
        breakdown[dim] = {key: tuple(evaluate(k, replace(month, rows=rows_by.get(key, []),
                                                         open_rows=open_by.get(key, []),
                                                         _by_key=month.by_key()))
                                     for k in config.kpis) for key in keys}
    days = Period("trend", trend_start, now).days(zone)
    # Each ticket falls in one day: sort them into their days once, then measure each day.
    starts = [to_db(d.start) for d in days]
    by_day: list[list[Fact]] = [[] for _ in days]
    from bisect import bisect_right

    for r in facts.rows:
        slot = bisect_right(starts, r.created_at) - 1
        if slot >= 0:
            by_day[slot].append(r)
    day_facts = [replace(facts, rows=rows, _by_key=facts.by_key()) for rows in by_day]
    trends: dict[str, tuple[float, ...]] = {}
    for k in config.kpis:
        if k.name in PERIODLESS or k.computation in PERIODLESS:
            continue
        values = [evaluate(k, f).value for f in day_facts]
        trends[k.name] = tuple(0.0 if v is None else round(v, 3) for v in values)
    numbers = {r.id: r.number for r in facts.rows + facts.open_rows}
    return Wallboard(boards, breakdown, trends, tuple(d.label for d in days), near, numbers)


def _near_breach(tx: Tx, now: datetime, minutes: int,
                 site: str | None) -> tuple[dict[str, Any], ...]:
    soon = to_db(now + timedelta(minutes=minutes))
    on_site, params = (" AND site = ?", (site,)) if site is not None else ("", ())
    rows = tx.all(
        "SELECT id, number, grade, category, CASE WHEN responded_at IS NULL THEN response_due "
        "ELSE resolution_due END AS due FROM ticket WHERE is_open = 1 AND paused_since IS NULL "
        f"AND (CASE WHEN responded_at IS NULL THEN response_due ELSE resolution_due END) <= ?"
        f"{on_site} ORDER BY due, id LIMIT 50", (soon, *params))
    return tuple({"id": r[0], "number": r[1], "grade": r[2], "category": r[3],
                  "minutes": round((from_db(r[4]) - now).total_seconds() / 60)}
                 for r in rows)


def tickets_of(store: Store, actor: Actor, *, ids: Iterable[int]) -> list[dict[str, Any]]:
    """The tickets behind a number (the drill-down): number, status, category, grade, team
    (only those of the sites the actor sees)."""
    actor.require(RUN_REPORTS)
    reach = actor.site_reach()
    on_site, site_params = (" AND site = ?", [reach]) if reach is not None else ("", [])
    wanted = sorted(set(int(i) for i in ids))[:5000]
    out: list[dict[str, Any]] = []
    with store.read() as tx:
        for chunk in range(0, len(wanted), 500):
            part = wanted[chunk:chunk + 500]
            marks = ", ".join("?" * len(part))
            out += [{"id": r[0], "number": r[1], "status": r[2], "category": r[3], "grade": r[4],
                     "channel": r[5], "created_at": r[6]}
                    for r in tx.all(f"SELECT id, number, status, category, grade, channel, "
                                    f"created_at FROM ticket WHERE id IN ({marks}){on_site} "
                                    "ORDER BY id", [*part, *site_params])]
    return out
