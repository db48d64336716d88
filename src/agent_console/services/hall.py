"""The retail hall's walk-in queue (排队叫号): take a number, call the next, the display board,
honest waits and the day's measures.

Everything lives in the store (hall_visit, hall_counter, hall_call), so the kiosk, the display
and every counter are separate processes on one store, and the day's queue survives a killed
process. The calling rules themselves are pure (`hall_rules.choose`); the hall's services,
counters, profiles and settings are a site document (`hall`) a supervisor edits.

Each hall of a city is a site: a counter stands in one (the site of whoever first opened it), a
number belongs to the site of the kiosk that issued it, and a counter calls only its own site's
numbers. Every read and act is kept to the actor's site unless their role sees other sites.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.models.vocab import DEFAULT_SITE
from agent_console.services import hall_rules, permissions, validation
from agent_console.services.actor import Actor
from agent_console.services.errors import ConflictError, InputError, NotFoundError
from agent_console.services.hall_rules import NORMAL, HallConfig, Waiting
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line, mask_phone

OPEN = ("waiting", "called", "serving", "hold")
REASON_LIMIT = 200
_CACHE: dict[str, HallConfig] = {}


# --- the hall's setup ------------------------------------------------------------------------

def config(store: Store) -> HallConfig:
    """The hall's services, lanes, counters and settings as kept in the store."""
    with store.read() as tx:
        return _config(tx)


def _config(tx: Tx) -> HallConfig:
    body = tx.scalar("SELECT body FROM site_document WHERE kind = 'hall' AND name = ''")
    if body is None:
        body = hall_rules.shipped_text()
    if body not in _CACHE:
        _CACHE.clear()
        _CACHE[body] = hall_rules.config_from_text(body, "store: hall")
    return _CACHE[body]


def hall_day(cfg: HallConfig, at: datetime) -> str:
    offset = timedelta(minutes=int(cfg.setting("utc_offset_minutes")))
    return (at.astimezone(timezone.utc) + offset).strftime("%Y-%m-%d")


# --- read models -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    service: str
    waiting: int
    low: int | None  # minutes; None: no counter open for it
    high: int | None
    open_counters: int

    @property
    def known(self) -> bool:
        return self.low is not None


@dataclass(frozen=True)
class Issued:
    id: int
    number: str
    service: str
    lane: str
    phone_masked: str
    ahead: int
    estimate: Estimate


@dataclass(frozen=True)
class Visit:
    """A number as a counter sees it once called (name only then)."""

    id: int
    number: str
    service: str
    lane: str
    status: str
    counter: str | None
    phone_masked: str
    customer_id: int | None
    customer_name: str
    issued_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    calls: int
    call_reason: str
    ticket_id: int | None
    no_show_at: datetime | None  # when it may be marked a no-show


@dataclass(frozen=True)
class CounterView:
    counter: str
    is_open: bool
    agent_code: str
    current: Visit | None
    waiting: dict[str, int]  # per service this counter serves: how many wait (no numbers)
    priority_waiting: int
    held: list[tuple[int, str, str]]  # (visit id, number, service) on hold at this counter
    no_shows: list[tuple[int, str]]  # today's no-shows at this counter, undoable


@dataclass(frozen=True)
class BoardCall:
    number: str
    counter: str
    at: datetime
    kind: str
    reason: str
    lane: str


@dataclass(frozen=True)
class Board:
    calls: list[BoardCall]
    estimates: list[Estimate]
    open_counters: list[str]
    accuracy: tuple[int, int] = (0, 0)  # (waits inside the range shown, waits checked) lately


# --- estimates -------------------------------------------------------------------------------

def _service_minutes(tx: Tx, cfg: HallConfig, now: datetime, site: str) -> dict[str, float]:
    """Mean service minutes per service over the last window, shrunk towards the expected
    minutes when there are few services to go on."""
    since = now - timedelta(minutes=float(cfg.setting("estimate_window_minutes")))
    rows = tx.all("SELECT service, started_at, finished_at FROM hall_visit WHERE site = ? AND "
                  "status = 'done' AND finished_at >= ? AND started_at IS NOT NULL",
                  (site, to_db(since)))
    spent: dict[str, list[float]] = {}
    for service, started, finished in rows:
        spent.setdefault(service, []).append(
            (from_db(finished) - from_db(started)).total_seconds() / 60)
    k = float(cfg.setting("estimate_min_samples"))
    out = {}
    for code, service in cfg.services.items():
        seen = spent.get(code, [])
        out[code] = (sum(seen) + k * service.expected_minutes) / (len(seen) + k)
    return out


def _open_counters(tx: Tx, cfg: HallConfig, site: str) -> list[str]:
    return [c for (c,) in tx.all("SELECT code FROM hall_counter WHERE is_open = 1 AND site = ? "
                                 "ORDER BY code", (site,)) if c in cfg.counters]


def _estimates(tx: Tx, cfg: HallConfig, now: datetime, lane: str = NORMAL, *,
               site: str) -> dict[str, Estimate]:
    """Minutes a number taken now would wait, per service, as a range: the calling rules played
    forward over who waits now, with the last hour's real service times and the counters open
    (all of one site's hall)."""
    mean = _service_minutes(tx, cfg, now, site)
    rows = tx.all("SELECT id, service, lane, line_at, front, counter FROM hall_visit "
                  "WHERE site = ? AND status = 'waiting'", (site,))
    line = [Waiting(r.id, r.service, r.lane, from_db(r.line_at), bool(r.front)) for r in rows]
    reserved = {r.id: r.counter for r in rows if r.counter}
    busy = {r.counter: r for r in tx.all(
        "SELECT counter, service, status, called_at, started_at FROM hall_visit "
        "WHERE site = ? AND status IN ('called', 'serving') AND counter IS NOT NULL", (site,))}
    counters = []
    for code, since in tx.all("SELECT code, normals_since_priority FROM hall_counter "
                              "WHERE is_open = 1 AND site = ? ORDER BY code", (site,)):
        if code not in cfg.counters:
            continue
        free_in = 0.0
        if (b := busy.get(code)) is not None:
            begun = from_db(b.started_at or b.called_at)
            free_in = max(0.5, mean.get(b.service, 5.0) - (now - begun).total_seconds() / 60)
            free_in += 0 if b.status == "serving" else 0.5
        counters.append(hall_rules.OpenCounter(code, cfg.profile_of(code), free_in, since))
    waiting_count: dict[str, int] = {}
    for w in line:
        waiting_count[w.service] = waiting_count.get(w.service, 0) + 1
    result = {}
    for code in cfg.services:
        serving = sum(code in c.profile.services for c in counters)
        probe = Waiting(-1, code, lane, now)
        mid = hall_rules.forecast([*line, probe], -1, counters, mean, cfg.lanes, now=now,
                                  reserved=reserved) if serving else None
        if mid is None:
            result[code] = Estimate(code, waiting_count.get(code, 0), None, None, serving)
            continue
        spread = max(2.0, 0.25 * mid)
        low = max(0, math.floor(mid - spread))
        high = max(low + 2, math.ceil(mid + spread))
        result[code] = Estimate(code, waiting_count.get(code, 0), low, high, serving)
    return result


def estimates(store: Store, *, site: str = DEFAULT_SITE) -> list[Estimate]:
    """The wait a number taken now at this site's hall would have, per service (numbers and
    counts only)."""
    with store.read() as tx:
        cfg = _config(tx)
        found = _estimates(tx, cfg, tx.now, site=site)
    return [found[code] for code in cfg.services]


# --- the kiosk -------------------------------------------------------------------------------

def issue(store: Store, actor: Actor, *, service: str, lane: str = NORMAL,
          phone: str = "") -> Issued:
    """A number for a walk-in, with its wait as a range; a phone links the known customer."""
    number_phone = validation.phone("phone", phone) if phone.strip() else ""
    with store.write(actor) as tx:
        cfg = _config(tx)
        if service not in cfg.services:
            raise InputError("service", f"{service!r} is not a service of this hall",
                             code="choice", allowed=list(cfg.services))
        if lane != NORMAL:
            allowed = [c for c in cfg.lanes if cfg.setting(f"allow_{c}") is not False]
            if lane not in allowed:
                raise InputError("lane", f"{lane!r} is not offered here", code="choice",
                                 allowed=[NORMAL, *allowed])
        customer_id = None
        if number_phone:
            customer_id = tx.scalar("SELECT id FROM customer WHERE phone = ?", (number_phone,))
        day = hall_day(cfg, tx.now)
        site = actor.site  # the kiosk's hall
        prefix = cfg.services[service].prefix
        last = tx.scalar("SELECT max(CAST(substr(number, ?) AS INTEGER)) FROM hall_visit "
                         "WHERE site = ? AND day = ? AND service = ?",
                         (len(prefix) + 1, site, day, service)) or 0
        carried = {n for (n,) in tx.all("SELECT number FROM hall_visit WHERE site = ? AND "
                                        "service = ? AND day != ? AND status IN ('waiting', "
                                        "'called', 'serving', 'hold')", (site, service, day))}
        number = f"{prefix}{last + 1:03d}"
        while number in carried:  # a number carried from an earlier day is still in the hall
            last += 1
            number = f"{prefix}{last + 1:03d}"
        ahead = int(tx.scalar("SELECT count(*) FROM hall_visit WHERE site = ? AND "
                              "status = 'waiting' AND service = ?", (site, service)) or 0)
        estimate = _estimates(tx, cfg, tx.now, lane, site=site)[service]
        masked = mask_phone(number_phone) if number_phone else ""
        visit_id = tx.scalar(
            "INSERT INTO hall_visit (day, number, service, lane, status, customer_id, phone_masked,"
            " phone, issued_at, line_at, estimate_low, estimate_high, site) "
            "VALUES (?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (day, number, service, lane, customer_id, masked, number_phone, to_db(tx.now),
             to_db(tx.now), estimate.low if estimate.known else -1,
             estimate.high if estimate.known else -1, site))
        tx.audit("hall_issue", f"hall:{day}:{number}",
                 {"service": service, "lane": lane, "phone": masked, "site": site})
    return Issued(int(visit_id), number, service, lane, masked, ahead, estimate)


# --- the counter -----------------------------------------------------------------------------

def _counter(cfg: HallConfig, counter: str) -> None:
    if counter not in cfg.counters:
        raise InputError("counter", f"{counter!r} is not a counter of this hall", code="choice",
                         allowed=list(cfg.counters))


def counter_site(tx: Tx, counter: str) -> str | None:
    """The site a counter stands in; None for one never opened."""
    found = tx.scalar("SELECT site FROM hall_counter WHERE code = ?", (counter,))
    return str(found) if found is not None else None


def _own_counter(tx: Tx, actor: Actor, counter: str) -> str:
    """The counter's site, which must be the actor's own: an agent works at their own hall's
    counters (a counter first opened by someone stands in their site)."""
    _counter(_config(tx), counter)
    site = counter_site(tx, counter) or actor.site
    if site != actor.site:
        raise InputError("counter", f"counter {counter} stands in site {site}",
                         code="hall_other_site", counter=counter, site=site)
    return site


def open_counter(store: Store, actor: Actor, *, counter: str) -> None:
    """The agent sits at this counter (of their own site's hall) and opens it."""
    with store.write(actor) as tx:
        site = _own_counter(tx, actor, counter)
        tx.execute("INSERT INTO hall_counter (code, is_open, agent_id, normals_since_priority, "
                   "opened_at, site) VALUES (?, 1, ?, 99, ?, ?) ON CONFLICT (code) DO UPDATE SET "
                   "is_open = 1, agent_id = excluded.agent_id, opened_at = excluded.opened_at",
                   (counter, actor.agent_id, to_db(tx.now), site))
        tx.audit("hall_counter_open", f"counter:{counter}", {})


def close_counter(store: Store, actor: Actor, *, counter: str) -> None:
    """The counter stops calling; numbers it holds go back to the front of their line."""
    with store.write(actor) as tx:
        _own_counter(tx, actor, counter)
        tx.execute("UPDATE hall_counter SET is_open = 0 WHERE code = ?", (counter,))
        tx.execute("UPDATE hall_visit SET status = 'waiting', front = 1, counter = NULL "
                   "WHERE counter = ? AND status IN ('called', 'hold')", (counter,))
        tx.audit("hall_counter_close", f"counter:{counter}", {})


def _waiting(tx: Tx, counter: str, site: str) -> list[Waiting]:
    rows = tx.all("SELECT id, service, lane, line_at, front FROM hall_visit WHERE site = ? AND "
                  "status = 'waiting' AND (counter IS NULL OR counter = ?)", (site, counter))
    return [Waiting(r.id, r.service, r.lane, from_db(r.line_at), bool(r.front)) for r in rows]


def call_next(store: Store, actor: Actor, *, counter: str) -> Visit | None:
    """Call the next number under the counter's work profile; None when nobody waits for it.
    A number still called or being served at the counter is finished first."""
    with store.write(actor) as tx:
        cfg = _config(tx)
        site = _own_counter(tx, actor, counter)
        state = tx.one("SELECT is_open, normals_since_priority FROM hall_counter WHERE code = ?",
                       (counter,))
        if state is None or not state.is_open:
            raise ConflictError(f"counter {counter} is closed")
        busy = tx.one("SELECT number FROM hall_visit WHERE counter = ? AND status IN "
                      "('called', 'serving')", (counter,))
        if busy is not None:
            raise InputError("counter", f"{busy.number} is still at the counter",
                             code="hall_busy", number=busy.number)
        profile = cfg.profile_of(counter)
        waiting = _waiting(tx, counter, site)
        choice = hall_rules.choose(waiting, profile, cfg.lanes,
                                   normals_since_priority=state.normals_since_priority,
                                   now=tx.now)
        if choice is None:
            return None
        normal_waiting = any(w.service in profile.services and w.id != choice.id and
                             not cfg.lane(w.lane).priority for w in waiting)
        since = 0 if choice.priority else state.normals_since_priority + 1
        tx.execute("UPDATE hall_counter SET normals_since_priority = ? WHERE code = ?",
                   (min(since, 99), counter))
        tx.execute("UPDATE hall_visit SET status = 'called', counter = ?, agent_id = ?, "
                   "called_at = ?, first_called_at = coalesce(first_called_at, ?), "
                   "calls = calls + 1, call_reason = ?, front = 0 WHERE id = ?",
                   (counter, actor.agent_id, to_db(tx.now), to_db(tx.now), choice.reason,
                    choice.id))
        _log_call(tx, choice.id, counter, "call", choice.reason, choice.priority, normal_waiting)
        return _visit(tx, choice.id)


def _log_call(tx: Tx, visit_id: int, counter: str, kind: str, reason: str, priority: bool,
              normal_waiting: bool = False) -> None:
    """A call on the display of the number's own hall."""
    tx.execute("INSERT INTO hall_call (visit_id, counter, at, kind, reason, priority, "
               "normal_waiting, site) VALUES (?, ?, ?, ?, ?, ?, ?, "
               "(SELECT site FROM hall_visit WHERE id = ?))",
               (visit_id, counter, to_db(tx.now), kind, reason, int(priority),
                int(normal_waiting), visit_id))


def _visit(tx: Tx, visit_id: int) -> Visit:
    row = tx.one("SELECT v.*, c.name AS customer_name FROM hall_visit v LEFT JOIN customer c "
                 "ON c.id = v.customer_id WHERE v.id = ?", (visit_id,))
    if row is None:
        raise NotFoundError(f"visit {visit_id}")
    cfg = _config(tx)
    called = from_db(row.called_at) if row.called_at else None
    shown = row.status in ("called", "serving", "hold", "done", "no_show")
    return Visit(row.id, row.number, row.service, row.lane, row.status, row.counter,
                 row.phone_masked, row.customer_id,
                 clean_line(row.customer_name or "") if shown else "",
                 from_db(row.issued_at), called,
                 from_db(row.started_at) if row.started_at else None, row.calls,
                 row.call_reason, row.ticket_id,
                 called + timedelta(seconds=float(cfg.setting("no_show_after_seconds")))
                 if called else None)


def _at_counter(tx: Tx, visit_id: int, statuses: tuple[str, ...],
                actor: Actor | None = None) -> Any:
    row = tx.one("SELECT * FROM hall_visit WHERE id = ?", (visit_id,))
    actor = actor or tx.actor
    if row is None or actor is None or (row.site != actor.site and not actor.sees_all_sites):
        raise NotFoundError(f"visit {visit_id}")
    if row.status not in statuses:
        raise ConflictError(f"number {row.number}")
    return row


def recall(store: Store, actor: Actor, *, visit_id: int) -> Visit:
    """Call the same number again (it shows on the display again)."""
    with store.write(actor) as tx:
        row = _at_counter(tx, visit_id, ("called",))
        tx.execute("UPDATE hall_visit SET called_at = ?, calls = calls + 1 WHERE id = ?",
                   (to_db(tx.now), visit_id))
        _log_call(tx, visit_id, row.counter, "recall", row.call_reason,
                  _config(tx).lane(row.lane).priority)
        return _visit(tx, visit_id)


def no_show(store: Store, actor: Actor, *, visit_id: int) -> Visit:
    """The called customer did not come: allowed once the page timeout has passed."""
    with store.write(actor) as tx:
        row = _at_counter(tx, visit_id, ("called",))
        wait = float(_config(tx).setting("no_show_after_seconds"))
        if tx.now < from_db(row.called_at) + timedelta(seconds=wait):
            raise InputError("visit", "the page timeout has not passed", code="hall_too_early",
                             seconds=int(wait))
        tx.execute("UPDATE hall_visit SET status = 'no_show', finished_at = ? WHERE id = ?",
                   (to_db(tx.now), visit_id))
        tx.audit("hall_no_show", f"hall:{row.day}:{row.number}", {"counter": row.counter})
        return _visit(tx, visit_id)


def undo_no_show(store: Store, actor: Actor, *, visit_id: int) -> Visit:
    """The customer turned up after all: back to the front of the line."""
    with store.write(actor) as tx:
        row = _at_counter(tx, visit_id, ("no_show",))
        tx.execute("UPDATE hall_visit SET status = 'waiting', front = 1, counter = NULL, "
                   "finished_at = NULL WHERE id = ?", (visit_id,))
        tx.audit("hall_no_show_undone", f"hall:{row.day}:{row.number}", {})
        return _visit(tx, visit_id)


def start(store: Store, actor: Actor, *, visit_id: int) -> Visit:
    """The customer is at the counter: service time starts."""
    with store.write(actor) as tx:
        _at_counter(tx, visit_id, ("called",))
        tx.execute("UPDATE hall_visit SET status = 'serving', started_at = ? WHERE id = ?",
                   (to_db(tx.now), visit_id))
        return _visit(tx, visit_id)


def finish(store: Store, actor: Actor, *, visit_id: int) -> Visit:
    """Service done; the estimate this customer was shown is checked against their wait."""
    with store.write(actor) as tx:
        row = _at_counter(tx, visit_id, ("called", "serving"))
        started = row.started_at or row.called_at
        error = None
        if row.estimate_low >= 0 and row.first_called_at:
            waited = (from_db(row.first_called_at) - from_db(row.issued_at)).total_seconds() / 60
            error = waited - (row.estimate_low + row.estimate_high) / 2
        tx.execute("UPDATE hall_visit SET status = 'done', started_at = ?, finished_at = ?, "
                   "estimate_error = ? WHERE id = ?",
                   (started, to_db(tx.now), error, visit_id))
        return _visit(tx, visit_id)


def hold(store: Store, actor: Actor, *, visit_id: int) -> Visit:
    """Park the customer at this counter (to fill in a form, fetch a document)."""
    with store.write(actor) as tx:
        _at_counter(tx, visit_id, ("called", "serving"))
        tx.execute("UPDATE hall_visit SET status = 'hold' WHERE id = ?", (visit_id,))
        return _visit(tx, visit_id)


def call_from_hold(store: Store, actor: Actor, *, visit_id: int, counter: str) -> Visit:
    """Call a held customer back to this counter."""
    with store.write(actor) as tx:
        row = _at_counter(tx, visit_id, ("hold",))
        if _own_counter(tx, actor, counter) != row.site:
            raise NotFoundError(f"visit {visit_id}")
        busy = tx.one("SELECT number FROM hall_visit WHERE counter = ? AND status IN "
                      "('called', 'serving')", (counter,))
        if busy is not None:
            raise InputError("counter", f"{busy.number} is still at the counter",
                             code="hall_busy", number=busy.number)
        status = "serving" if row.started_at else "called"
        tx.execute("UPDATE hall_visit SET status = ?, counter = ?, called_at = ? WHERE id = ?",
                   (status, counter, to_db(tx.now), visit_id))
        _log_call(tx, visit_id, counter, "hold_back", "hold_back",
                  _config(tx).lane(row.lane).priority)
        return _visit(tx, visit_id)


def transfer(store: Store, actor: Actor, *, visit_id: int, service: str = "",
             counter: str = "") -> Visit:
    """Send the customer to another service or counter, first in that line."""
    with store.write(actor) as tx:
        cfg = _config(tx)
        row = _at_counter(tx, visit_id, ("called", "serving", "hold"))
        target_service = service or row.service
        if target_service not in cfg.services:
            raise InputError("service", f"{service!r} is not a service of this hall",
                             code="choice", allowed=list(cfg.services))
        if counter:
            if _own_counter(tx, actor, counter) != row.site:
                raise NotFoundError(f"visit {visit_id}")
            if target_service not in cfg.profile_of(counter).services:
                target_service = cfg.profile_of(counter).services[0]
        tx.execute("UPDATE hall_visit SET status = 'waiting', front = 1, service = ?, "
                   "counter = ?, started_at = NULL, transferred_from = ? WHERE id = ?",
                   (target_service, counter or None, row.counter or "", visit_id))
        tx.audit("hall_transfer", f"hall:{row.day}:{row.number}",
                 {"from": row.counter, "service": target_service, "counter": counter})
        return _visit(tx, visit_id)


def link_ticket(store: Store, actor: Actor, *, visit_id: int, ticket_id: int) -> None:
    """The walk-in became a guided contact: the visit and the ticket point at each other."""
    with store.write(actor) as tx:
        row = _at_counter(tx, visit_id, OPEN + ("done",))
        if tx.one("SELECT 1 FROM ticket WHERE id = ?", (ticket_id,)) is None:
            raise NotFoundError(f"ticket {ticket_id}")
        tx.execute("UPDATE hall_visit SET ticket_id = ? WHERE id = ?", (ticket_id, visit_id))
        tx.event(ticket_id, "hall_visit", number=row.number, service=row.service)


def guided_contact(store: Store, actor: Actor, *, visit_id: int) -> dict[str, str]:
    """What the intake form starts with for this called walk-in: phone, name, channel, type."""
    with store.read() as tx:
        row = _at_counter(tx, visit_id, ("called", "serving", "hold"), actor)
        name = tx.scalar("SELECT name FROM customer WHERE id = ?", (row.customer_id,)) \
            if row.customer_id else ""
    work_type = {"business": "business", "fault": "fault", "complaint": "complaint",
                 "consult": "consultation", "payment": "business"}.get(row.service, "consultation")
    return {"phone": row.phone or "", "name": clean_line(name or ""), "channel": "hall",
            "work_type": work_type}


def counter_view(store: Store, actor: Actor, *, counter: str) -> CounterView:
    """What the counter screen shows: its current number (the name only once called), how many
    wait for what it serves (no numbers, no names), its held and no-show numbers."""
    with store.read() as tx:
        cfg = _config(tx)
        _counter(cfg, counter)
        site = counter_site(tx, counter) or actor.site
        if site != actor.site and not actor.sees_all_sites:
            raise InputError("counter", f"counter {counter} stands in site {site}",
                             code="hall_other_site", counter=counter, site=site)
        state = tx.one("SELECT h.is_open, a.code FROM hall_counter h LEFT JOIN agent a "
                       "ON a.id = h.agent_id WHERE h.code = ?", (counter,))
        current = tx.scalar("SELECT id FROM hall_visit WHERE counter = ? AND status IN "
                            "('called', 'serving') ORDER BY called_at DESC LIMIT 1", (counter,))
        services = cfg.profile_of(counter).services
        waiting = {s: 0 for s in services}
        priority = 0
        for service, lane in tx.all("SELECT service, lane FROM hall_visit WHERE site = ? AND "
                                    "status = 'waiting' AND (counter IS NULL OR counter = ?)",
                                    (site, counter)):
            if service in waiting:
                waiting[service] += 1
                priority += cfg.lane(lane).priority
        held = [(r.id, r.number, r.service) for r in tx.all(
            "SELECT id, number, service FROM hall_visit WHERE counter = ? AND status = 'hold' "
            "ORDER BY called_at", (counter,))]
        no_shows = [(r.id, r.number) for r in tx.all(
            "SELECT id, number FROM hall_visit WHERE counter = ? AND status = 'no_show' "
            "AND day = ? ORDER BY finished_at DESC LIMIT 5", (counter, hall_day(cfg, tx.now)))]
        return CounterView(counter, bool(state and state.is_open), (state.code or "") if state
                           else "", _visit(tx, current) if current else None, waiting, priority,
                           held, no_shows)


# --- the display -----------------------------------------------------------------------------

def board(store: Store, *, site: str = DEFAULT_SITE) -> Board:
    """A hall's public screen: numbers called and where, counts waiting, estimated waits (the
    hall of one site)."""
    with store.read() as tx:
        cfg = _config(tx)
        limit = int(cfg.setting("recent_calls"))
        rows = tx.all("SELECT v.number, c.counter, c.at, c.kind, c.reason, v.lane "
                      "FROM hall_call c JOIN hall_visit v ON v.id = c.visit_id "
                      "WHERE c.site = ? ORDER BY c.id DESC LIMIT ?", (site, limit))
        calls = [BoardCall(r.number, r.counter, from_db(r.at), r.kind, r.reason, r.lane)
                 for r in rows]
        found = _estimates(tx, cfg, tx.now, site=site)
        since = tx.now - timedelta(minutes=float(cfg.setting("estimate_window_minutes")))
        checked = tx.all("SELECT estimate_low, estimate_high, estimate_error FROM hall_visit "
                         "WHERE site = ? AND status = 'done' AND estimate_error IS NOT NULL AND "
                         "finished_at >= ?", (site, to_db(since)))
        inside = sum(r.estimate_low <= r.estimate_error + (r.estimate_low + r.estimate_high) / 2
                     <= r.estimate_high for r in checked)
        return Board(calls, [found[c] for c in cfg.services], _open_counters(tx, cfg, site),
                     (inside, len(checked)))


# --- closing and the day's measures ----------------------------------------------------------

def _site_where(actor: Actor, site: str) -> tuple[str, tuple[str, ...]]:
    """The condition keeping a hall read or act to the sites the actor reaches."""
    reach = actor.site_reach(site)
    return ("site = ?", (reach,)) if reach is not None else ("1 = 1", ())


def close_day(store: Store, actor: Actor, *, reason: str = "", site: str = "") -> tuple[int, int]:
    """Closing time: numbers still waiting are carried to the next day (kept at the front) or
    closed with a reason, as the hall's `closing` setting says. Returns (carried, closed).
    The actor's own hall, one chosen site, or (a role that sees other sites) every hall."""
    actor.require(permissions.EDIT_POLICY)
    why = clean_line(reason)[:REASON_LIMIT] or "hall closed"
    where, params = _site_where(actor, site)
    with store.write(actor) as tx:
        cfg = _config(tx)
        ids = [r.id for r in tx.all(f"SELECT id FROM hall_visit WHERE {where} AND status IN "
                                    "('waiting', 'hold', 'called')", params)]
        if cfg.setting("closing") == "carry":
            tx.execute(f"UPDATE hall_visit SET status = 'waiting', front = 1, counter = NULL "
                       f"WHERE {where} AND status IN ('waiting', 'hold', 'called')", params)
            carried, closed = len(ids), 0
        else:
            tx.execute("UPDATE hall_visit SET status = 'closed', close_reason = ?, finished_at = ?"
                       f" WHERE {where} AND status IN ('waiting', 'hold', 'called')",
                       (why, to_db(tx.now), *params))
            carried, closed = 0, len(ids)
        tx.execute(f"UPDATE hall_counter SET is_open = 0 WHERE {where}", params)
        tx.audit("hall_close_day", "hall", {"carried": carried, "closed": closed, "reason": why,
                                            **({"site": params[0]} if params else {})})
    return carried, closed


@dataclass(frozen=True)
class Measure:
    day: str
    service: str
    counter: str
    served: int
    no_shows: int
    wait_median: float | None  # minutes
    service_median: float | None
    within_target: float | None  # share of services finished within the target minutes
    estimate_error_median: float | None  # absolute minutes


def day_measures(store: Store, actor: Actor, *, day: str = "", site: str = "") -> list[Measure]:
    """Per service and counter for a day: wait, service time, no-shows, share within target
    (the actor's own hall, one chosen site, or every hall for a role that sees other sites)."""
    actor.require(permissions.RUN_REPORTS)
    where, params = _site_where(actor, site)
    with store.read() as tx:
        cfg = _config(tx)
        day = day or hall_day(cfg, tx.now)
        rows = tx.all("SELECT service, counter, status, issued_at, first_called_at, started_at, "
                      f"finished_at, estimate_error FROM hall_visit WHERE {where} AND day = ? AND "
                      "status IN ('done', 'no_show')", (*params, day))
    target = float(cfg.setting("target_minutes"))
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row.service, row.counter or "-"), []).append(row)
    out = []
    for (service, counter), group in sorted(groups.items()):
        done = [r for r in group if r.status == "done"]
        waits = [(from_db(r.first_called_at) - from_db(r.issued_at)).total_seconds() / 60
                 for r in done if r.first_called_at]
        spent = [(from_db(r.finished_at) - from_db(r.started_at)).total_seconds() / 60
                 for r in done if r.started_at and r.finished_at]
        errors = [abs(r.estimate_error) for r in done if r.estimate_error is not None]
        out.append(Measure(day, service, counter, len(done), len(group) - len(done),
                           statistics.median(waits) if waits else None,
                           statistics.median(spent) if spent else None,
                           sum(s <= target for s in spent) / len(spent) if spent else None,
                           statistics.median(errors) if errors else None))
    return out


# --- the demo --------------------------------------------------------------------------------

def fill_site_hall_demo(tx: Tx, rng: Any, now: datetime, site: str) -> None:
    """Another site's hall in the demo: a few numbers waiting for its first counter to open."""
    cfg = _config(tx)
    services = list(cfg.services)
    day = hall_day(cfg, now)
    numbers: dict[str, int] = {}
    for minutes in (9, 6, 4, 2):
        service = rng.choice(services)
        numbers[service] = numbers.get(service, 0) + 1
        issued = to_db(now - timedelta(minutes=minutes))
        tx.execute("INSERT INTO hall_visit (day, number, service, lane, status, issued_at, "
                   "line_at, estimate_low, estimate_high, site) VALUES (?, ?, ?, ?, 'waiting', "
                   "?, ?, 5, 12, ?)", (day, f"{cfg.services[service].prefix}{numbers[service]:03d}",
                                       service, NORMAL, issued, issued, site))


def fill_hall_demo(tx: Tx, rng: Any, now: datetime, customers: list[tuple[Any, ...]]) -> int:
    """A morning in the demo hall: numbers served in the last two hours (so waits come from real
    service times), three counters open, two customers at counters, eight waiting."""
    cfg = _config(tx)
    agents = {code: aid for aid, code in tx.all("SELECT id, code FROM agent")}
    seats = [("1", "a001"), ("2", "a002"), ("3", "a004")]
    for counter, code in seats:
        if counter in cfg.counters and code in agents:
            tx.execute("INSERT INTO hall_counter (code, is_open, agent_id, normals_since_priority,"
                       " opened_at) VALUES (?, 1, ?, 0, ?) ON CONFLICT (code) DO NOTHING",
                       (counter, agents[code], to_db(now - timedelta(hours=2))))
    services = list(cfg.services)
    weights = [5, 3, 1, 3, 2][:len(services)] + [1] * max(0, len(services) - 5)
    day = hall_day(cfg, now)
    numbers: dict[str, int] = {}
    made = 0

    def add(issued: datetime, status: str, counter: str | None, called: datetime | None,
            started: datetime | None, finished: datetime | None, lane: str = NORMAL) -> None:
        nonlocal made
        service = rng.choices(services, weights=weights)[0]
        if counter is not None and service not in cfg.profile_of(counter).services:
            service = cfg.profile_of(counter).services[0]
        numbers[service] = numbers.get(service, 0) + 1
        number = f"{cfg.services[service].prefix}{numbers[service]:03d}"
        customer = rng.choice(customers) if customers and rng.random() < 0.6 else None
        guess = cfg.services[service].expected_minutes
        if called is not None:  # what the kiosk showed then: the real wait, give or take
            guess = (called - issued).total_seconds() / 60 + rng.uniform(-6, 5)
        low, high = max(0, math.floor(guess - 3)), max(2, math.ceil(guess + 3))
        error = None
        if status == "done" and called is not None:
            error = (called - issued).total_seconds() / 60 - (low + high) / 2
        visit_id = tx.scalar(
            "INSERT INTO hall_visit (day, number, service, lane, status, customer_id, "
            "phone_masked, phone, issued_at, line_at, counter, agent_id, called_at, "
            "first_called_at, calls, call_reason, started_at, finished_at, estimate_low, "
            "estimate_high, estimate_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?) RETURNING id",
            (day, number, service, lane, status, customer[0] if customer else None,
             mask_phone(customer[2]) if customer else "", customer[2] if customer else "",
             to_db(issued), to_db(issued), counter,
             agents.get(dict(seats).get(counter or "", "")), to_db(called) if called else None,
             to_db(called) if called else None, 1 if called else 0,
             "fifo" if called else "", to_db(started) if started else None,
             to_db(finished) if finished else None, low, high, error))
        if called is not None and counter is not None:
            tx.execute("INSERT INTO hall_call (visit_id, counter, at, kind, reason, priority, "
                       "normal_waiting) VALUES (?, ?, ?, 'call', 'fifo', 0, 0)",
                       (visit_id, counter, to_db(called)))
        made += 1

    free = {counter: now - timedelta(hours=2) for counter, _ in seats}
    issued = now - timedelta(hours=2)
    while issued < now - timedelta(minutes=12):
        counter = min(free, key=lambda c: free[c])
        called = max(issued + timedelta(minutes=rng.uniform(1, 6)), free[counter])
        started = called + timedelta(seconds=40)
        finished = started + timedelta(minutes=rng.uniform(3, 9))
        if finished >= now:
            break
        add(issued, "done", counter, called, started, finished)
        free[counter] = finished
        issued += timedelta(minutes=rng.uniform(3, 7))
    add(now - timedelta(minutes=11), "serving", "1", now - timedelta(minutes=6),
        now - timedelta(minutes=5), None)
    add(now - timedelta(minutes=9), "called", "2", now - timedelta(minutes=1), None, None)
    for minutes, lane in ((8, NORMAL), (7, "green"), (6, NORMAL), (5, NORMAL), (4, "vip"),
                          (3, NORMAL), (2, NORMAL), (1, NORMAL)):
        add(now - timedelta(minutes=minutes), "waiting", None, None, None, None, lane)
    return made
