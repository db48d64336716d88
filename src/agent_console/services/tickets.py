"""Ticket use cases: create, claim, assign, status moves, notes, cases, SLA crossings, the detail.

Every entry point takes the acting agent; a ticket the actor may not see (queue.visible_clause)
is "not found" to them, for reads and writes alike. Each write is audited in its transaction.
The `*_in(tx, …)` forms do the same inside a unit of work the caller holds (a finished intake
is one transaction).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from agent_console.db import from_db, to_db, ts
from agent_console.models.read import AgentInfo, CustomerInfo, EventView, TicketCreated, TicketDetail
from agent_console.models.vocab import (
    OPEN_STATUSES,
    RESPONDED_STATUSES,
    TRANSITIONS,
    Channel,
    ClockKind,
    EventKind,
    Grade,
    Status,
    Tier,
    WorkType,
)
from agent_console.services import permissions, validation
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.queue import refuse_other_site, visible_clause
from agent_console.services.sla import Targets, clock_view, compute_dues
from agent_console.services.store import SENTINEL_KEY, ConflictError, InputError, NotFoundError, Store, Tx
from agent_console.text import mask_id_number, mask_phone

_TIMES = ("handler_set_at", "owner_set_at", "dispatched_at", "created_at", "updated_at",
          "responded_at", "resolved_at", "closed_at", "paused_since", "response_due",
          "resolution_due", "response_warned_at", "response_breached_at", "resolution_warned_at",
          "resolution_breached_at")
_AGENT_COLUMNS = "id, code, name, role, team, department, site"

Change = Callable[[dict[str, Any], datetime], tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]]


def default_grade(work_type: str) -> str:
    """Complaints start important; everything else general, unless the caller says otherwise."""
    return Grade.IMPORTANT if work_type == WorkType.COMPLAINT else Grade.GENERAL


def ticket_number(created_at: datetime, ticket_id: int) -> str:
    return f"T{created_at:%y%m%d}{ticket_id:06d}"


def sla_columns(store: Store, *, channel: str, created_at: datetime, status: str,
                targets: Targets | None = None, row: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored SLA columns for a ticket in `status` (due times and the queue's keys)."""
    row = row or {}
    if targets is None:
        targets = Targets(Grade(row["grade"]), timedelta(seconds=row["response_target_s"]),
                          timedelta(seconds=row["resolution_target_s"]),
                          timedelta(seconds=row["response_lead_s"]),
                          timedelta(seconds=row["resolution_lead_s"]))
    paused_seconds = row.get("paused_seconds", 0.0)
    dues = compute_dues(created_at=created_at, targets=targets,
                        calendar=store.policy.calendar(channel), paused_seconds=paused_seconds)
    values: dict[str, Any] = {
        "response_due": dues.response_due, "resolution_due": dues.resolution_due,
        "is_open": status in OPEN_STATUSES,
    }
    if status not in OPEN_STATUSES or row.get("paused_since") is not None:
        values["due_key"] = values["warn_key"] = SENTINEL_KEY
    elif row.get("responded_at") is None:
        values["due_key"], values["warn_key"] = ts(dues.response_due), ts(dues.response_warn_at)
    else:
        values["due_key"], values["warn_key"] = ts(dues.resolution_due), ts(dues.resolution_warn_at)
    return values


# --- the parts every route shares --------------------------------------------------------------

def acting(tx: Tx) -> Actor:
    """The unit of work's actor, still a known and enabled agent."""
    actor = tx.actor
    if actor is None:
        raise ValueError("a ticket write needs an actor")
    if not tx.scalar("SELECT active FROM agent WHERE id = ?", (actor.agent_id,)):
        raise NotFoundError(f"agent {actor.code}")
    return actor


def visible_row(tx: Tx, actor: Actor, ticket_id: int) -> dict[str, Any]:
    """The ticket's stored row (times as datetimes), if `actor` may see it."""
    clause, params = visible_clause(actor)
    row = tx.one(f"SELECT t.* FROM ticket t WHERE t.id = ? AND {clause}", (ticket_id, *params))
    if row is None:
        refuse_other_site(tx, actor, ticket_id)
        raise NotFoundError(f"ticket {ticket_id}")
    values = dict(row._mapping)
    for column in _TIMES:
        values[column] = from_db(values[column])
    return values


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_db(value)
    return int(value) if isinstance(value, bool) else value


def created_view(row: dict[str, Any]) -> TicketCreated:
    """What creation reports, from a ticket's row (see `visible_row`)."""
    return TicketCreated(row["id"], row["number"], row["grade"], row["department"],
                         row["response_due"], row["resolution_due"])


# --- creation ----------------------------------------------------------------------------------

def create_ticket(store: Store, actor: Actor, *, phone: str, channel: str, work_type: str,
                  category: str, description: str, grade: str | None = None,
                  customer_name: str = "", intake_key: str | None = None) -> TicketCreated:
    """Validate, route to the category's department, start both SLA clocks, record the event.

    With `intake_key`, a second call for the same contact returns the ticket the first made.
    """
    with store.write(actor) as tx:
        return create_in(tx, phone=phone, channel=channel, work_type=work_type, category=category,
                         description=description, grade=grade, customer_name=customer_name,
                         intake_key=intake_key)


def create_in(tx: Tx, *, phone: str, channel: str, work_type: str, category: str,
              description: str, grade: str | None = None, customer_name: str = "",
              intake_key: str | None = None, parent_id: int | None = None) -> TicketCreated:
    store = tx.store
    phone = validation.phone("phone", phone)
    validation.choice("channel", channel, [c.value for c in Channel])
    validation.choice("type", work_type, [w.value for w in WorkType])
    validation.choice("category", category, list(store.catalog.categories))
    grade = validation.choice("grade", grade or default_grade(work_type), [g.value for g in Grade])
    text, cut = validation.required_text("description", description, validation.DESCRIPTION_LIMIT)
    name = validation.name("name", customer_name) if customer_name else ""
    actor = acting(tx)
    if intake_key is not None:
        found = tx.scalar("SELECT id FROM ticket WHERE intake_key = ?", (intake_key,))
        if found is not None:
            return created_view(visible_row(tx, actor, found))
    now = tx.now
    # Several agents may take a first call from the same new number at once: one customer row.
    tx.execute("INSERT INTO customer (name, phone, tier, created_at) VALUES (?, ?, ?, ?) "
               "ON CONFLICT(phone) DO NOTHING", (name, phone, Tier.STANDARD.value, to_db(now)))
    customer = tx.one("SELECT id, tier, green_channel FROM customer WHERE phone = ?", (phone,))
    targets = store.policy.targets(grade=grade, category=category, work_type=work_type,
                                   vip=customer.tier == Tier.VIP,
                                   green_channel=bool(customer.green_channel))
    department = store.catalog.department_for(category)
    values: dict[str, Any] = {
        "number": f"new-{uuid.uuid4().hex}", "customer_id": customer.id, "channel": channel,
        "work_type": work_type, "category": category, "requested_grade": grade,
        "grade": targets.grade.value, "grade_rank": targets.grade.rank,
        "status": Status.NEW.value, "description": text, "department": department,
        "created_by": actor.agent_id, "created_at": now, "updated_at": now,
        "response_target_s": int(targets.response.total_seconds()),
        "resolution_target_s": int(targets.resolution.total_seconds()),
        "response_lead_s": int(targets.response_lead.total_seconds()),
        "resolution_lead_s": int(targets.resolution_lead.total_seconds()),
        "intake_key": intake_key, "parent_id": parent_id, "site": actor.site,
        **sla_columns(store, channel=channel, created_at=now, status=Status.NEW, targets=targets),
    }
    ticket_id = tx.scalar(f"INSERT INTO ticket ({', '.join(values)}) VALUES "
                          f"({', '.join('?' * len(values))}) RETURNING id",
                          tuple(_stored(v) for v in values.values()))
    number = ticket_number(now, ticket_id)
    tx.execute("UPDATE ticket SET number = ? WHERE id = ?", (number, ticket_id))
    tx.event(ticket_id, EventKind.CREATED, grade=targets.grade, raised_by=targets.raised_by,
             department=department or "")
    tx.audit(Action.TICKET_CREATE, f"ticket:{number}",
             {"customer": customer.id, "channel": channel, "work_type": work_type,
              "category": category, "grade": targets.grade.value, "department": department or ""})
    return TicketCreated(ticket_id, number, targets.grade, department, values["response_due"],
                         values["resolution_due"], description_cut=cut)


# --- changes under the optimistic lock ---------------------------------------------------------

def _change(tx: Tx, ticket_id: int, expected_version: int, change: Change, action: str) -> int:
    """Apply `change(row, now) -> (values, events)` if the ticket is still at `expected_version`;
    the SLA columns follow, the version moves on, and the act is audited."""
    actor = acting(tx)
    row = visible_row(tx, actor, ticket_id)
    if row["version"] != expected_version:
        raise ConflictError(row["number"])
    values, events = change(row, tx.now)
    row.update(values)
    values.update(sla_columns(tx.store, channel=row["channel"], created_at=row["created_at"],
                              status=row["status"], row=row))
    values.update(updated_at=tx.now, version=expected_version + 1)
    changed = tx.execute(f"UPDATE ticket SET {', '.join(f'{c} = ?' for c in values)} "
                         "WHERE id = ? AND version = ?",
                         (*(_stored(v) for v in values.values()), ticket_id,
                          expected_version)).rowcount
    if changed != 1:
        raise ConflictError(row["number"])
    for kind, detail in events:
        tx.event(ticket_id, kind, **detail)
    tx.audit(action, f"ticket:{row['number']}",
             {"events": [{"kind": str(k), **d} for k, d in events]})
    return expected_version + 1


def _status_values(row: dict[str, Any], new: str, now: datetime, store: Store) -> dict[str, Any]:
    """What a status move does to the clocks: respond, pause, resume, resolve, reopen."""
    old = row["status"]
    calendar = store.policy.calendar(row["channel"])
    values: dict[str, Any] = {"status": new}
    paused = row["paused_seconds"]
    if old == Status.PENDING_CUSTOMER and row["paused_since"] is not None:
        paused += calendar.between(row["paused_since"], now)
        values["paused_since"] = None
    if old in (Status.RESOLVED, Status.CLOSED) and row["resolved_at"] is not None:
        paused += calendar.between(row["resolved_at"], now)  # resolved time does not count on reopen
        values.update(resolved_at=None, closed_at=None)
    values["paused_seconds"] = paused
    if new in RESPONDED_STATUSES and row["responded_at"] is None:
        values["responded_at"] = now
    if new == Status.PENDING_CUSTOMER:
        values["paused_since"] = now
    if new == Status.RESOLVED:
        values["resolved_at"] = now
    if new == Status.CLOSED:
        values["closed_at"] = now
        if row["resolved_at"] is None:
            values["resolved_at"] = now
    return values


def change_status(store: Store, actor: Actor, *, ticket_id: int, expected_version: int,
                  status: str) -> int:
    """Move the ticket along the workflow; returns the new version."""
    with store.write(actor) as tx:
        return status_in(tx, ticket_id=ticket_id, expected_version=expected_version, status=status)


def status_in(tx: Tx, *, ticket_id: int, expected_version: int, status: str) -> int:
    def change(row: dict[str, Any], now: datetime) -> Any:
        old = Status(row["status"])
        new = Status(validation.choice("status", status, [s.value for s in Status]))
        if new not in TRANSITIONS[old]:
            raise InputError("status", f"cannot move from {old} to {new}; allowed: "
                             f"{', '.join(TRANSITIONS[old])}")
        return _status_values(row, new, now, tx.store), [(EventKind.STATUS_CHANGED,
                                                          {"from": old.value, "to": new.value})]

    return _change(tx, ticket_id, expected_version, change, Action.TICKET_STATUS)


def claim(store: Store, actor: Actor, *, ticket_id: int, expected_version: int) -> int:
    """The actor takes the ticket: handler (and owner if none) is them; new becomes assigned.

    Taking it from another handler puts a "taken_over" event on the timeline for them to be
    told; claiming a ticket the actor already holds writes nothing."""
    def change(row: dict[str, Any], now: datetime) -> Any:
        values: dict[str, Any] = {"handler_id": actor.agent_id, "handler_set_at": now}
        events: list[tuple[str, dict[str, Any]]] = [(EventKind.CLAIMED, {"agent": actor.name})]
        if row["handler_id"] is not None:
            previous = _agent(tx, row["handler_id"])
            events.append((EventKind.TAKEN_OVER, {
                "agent": actor.name, "from_id": row["handler_id"],
                "from": previous.name if previous else ""}))
        if row["owner_id"] is None:
            values.update(owner_id=actor.agent_id, owner_set_at=now)
        if row["dispatched_at"] is None:
            values["dispatched_at"] = now
        if row["status"] == Status.NEW:
            values["status"] = Status.ASSIGNED
        return values, events

    with store.write(actor) as tx:
        held = visible_row(tx, acting(tx), ticket_id)
        if held["handler_id"] == actor.agent_id:
            return cast(int, held["version"])
        return _change(tx, ticket_id, expected_version, change, Action.TICKET_ASSIGN)


def assign(store: Store, actor: Actor, *, ticket_id: int, expected_version: int,
           handler: str | None = None, owner: str | None = None,
           department: str | None = None) -> int:
    """Dispatch: set any of handler 处理人, owner 负责人 (agent codes) and department."""
    with store.write(actor) as tx:
        return assign_in(tx, ticket_id=ticket_id, expected_version=expected_version,
                         handler=handler, owner=owner, department=department)


def assign_in(tx: Tx, *, ticket_id: int, expected_version: int, handler: str | None = None,
              owner: str | None = None, department: str | None = None) -> int:
    def change(row: dict[str, Any], now: datetime) -> Any:
        values: dict[str, Any] = {}
        events: list[tuple[str, dict[str, Any]]] = []
        if department is not None and department != row["department"]:
            validation.choice("department", department, list(tx.store.catalog.departments))
            values["department"] = department
            events.append((EventKind.ASSIGNED, {"department": department}))
        for field, code, kind in (("handler", handler, EventKind.HANDLER_SET),
                                  ("owner", owner, EventKind.OWNER_SET)):
            if code is None:
                continue
            target = tx.one("SELECT id, name, role, site FROM agent WHERE code = ? AND active = 1",
                            (code,))
            if target is None:
                raise InputError(field, f"no agent with id {code!r}")
            if target.site != row["site"] and permissions.SEE_OTHER_SITES not in \
                    tx.store.permissions.get(target.role, frozenset()):
                # they could not see it: a ticket is worked at its own site
                raise InputError(field, f"{code} works at site {target.site}",
                                 code="other_site_agent", agent=code, site=target.site)
            if target.id != row[f"{field}_id"]:
                values.update({f"{field}_id": target.id, f"{field}_set_at": now})
                events.append((kind, {"agent": target.name}))
        if "handler_id" in values:
            values["dispatched_at"] = row["dispatched_at"] or now
            if row["status"] == Status.NEW:
                values["status"] = Status.ASSIGNED
        return values, events

    return _change(tx, ticket_id, expected_version, change, Action.TICKET_ASSIGN)


# --- additions that do not move the workflow ---------------------------------------------------

def add_note(store: Store, actor: Actor, *, ticket_id: int, text: str) -> None:
    """Notes only add to the timeline, so they never conflict with other changes."""
    note, cut = validation.required_text("note", text, validation.DESCRIPTION_LIMIT)
    with store.write(actor) as tx:
        row = visible_row(tx, acting(tx), ticket_id)
        tx.event(ticket_id, EventKind.NOTE, text=note, cut=cut)
        # The note's words stay on the timeline; the trail records the act, not what was said.
        tx.audit(Action.TICKET_NOTE, f"ticket:{row['number']}", {"chars": len(note), "cut": cut})


def apply_case(store: Store, actor: Actor, *, ticket_id: int, case_id: int) -> bool:
    """Use a knowledge-base case on a ticket: link it, add its resolution to the ticket's
    resolution draft, count the use and put it on the timeline, in one transaction.

    False when the case was already used on this ticket (nothing is added twice).
    """
    with store.write(actor) as tx:
        row = visible_row(tx, acting(tx), ticket_id)
        case = tx.one("SELECT title, resolution FROM kb_case WHERE id = ?", (case_id,))
        if case is None:
            raise NotFoundError(f"case {case_id}")
        linked = tx.execute("INSERT INTO ticket_case (ticket_id, case_id, at, agent_id) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT(ticket_id, case_id) DO NOTHING",
                            (ticket_id, case_id, to_db(tx.now), actor.agent_id)).rowcount
        if not linked:
            return False
        draft = "\n\n".join(filter(None, (row["resolution"], case.resolution)))
        tx.execute("UPDATE ticket SET resolution = ?, updated_at = ?, version = version + 1 "
                   "WHERE id = ?", (draft[:validation.DESCRIPTION_LIMIT], to_db(tx.now), ticket_id))
        tx.execute("UPDATE kb_case SET times_used = times_used + 1 WHERE id = ?", (case_id,))
        tx.event(ticket_id, EventKind.CASE_USED, case_id=case_id, title=case.title)
        tx.audit(Action.TICKET_CASE, f"ticket:{row['number']}", {"case": case_id})
        return True


def record_crossings(store: Store, *, limit: int = 500) -> int:
    """Write one warning or breach event per clock crossing (never one per tick); returns count.

    A system act: no agent. Safe with several apps on one store, since each flag is set only
    where it is still empty; the write lock is taken only when a crossing is due.
    """
    now_key = ts(store.clock.now())
    with store.read() as tx:
        rows = tx.all(
            "SELECT id, responded_at IS NULL, due_key <= ?, response_warned_at IS NULL, "
            "response_breached_at IS NULL, resolution_warned_at IS NULL, "
            "resolution_breached_at IS NULL FROM ticket "
            "WHERE is_open = 1 AND warn_key <= ? AND ("
            " (responded_at IS NULL AND (response_warned_at IS NULL OR "
            "   (due_key <= ? AND response_breached_at IS NULL))) OR "
            " (responded_at IS NOT NULL AND (resolution_warned_at IS NULL OR "
            "   (due_key <= ? AND resolution_breached_at IS NULL)))) LIMIT ?",
            (now_key, now_key, now_key, now_key, limit))
    if not rows:
        return 0
    written = 0
    with store.write() as tx:
        stamp = to_db(tx.now)
        for ticket_id, on_response, breached, rw, rb, sw, sb in rows:
            clock = ClockKind.RESPONSE if on_response else ClockKind.RESOLUTION
            warn_open, breach_open = (rw, rb) if on_response else (sw, sb)
            todo = [(f"{clock}_warned_at", EventKind.SLA_WARNING)] if warn_open else []
            if breached and breach_open:
                todo.append((f"{clock}_breached_at", EventKind.SLA_BREACHED))
            for column, kind in todo:
                if tx.execute(f"UPDATE ticket SET {column} = ? WHERE id = ? AND {column} IS NULL",
                              (stamp, ticket_id)).rowcount:
                    tx.event(ticket_id, kind, clock=clock.value)
                    written += 1
    return written


# --- the detail view ---------------------------------------------------------------------------

def _agent(tx: Tx, agent_id: int | None) -> AgentInfo | None:
    if agent_id is None:
        return None
    row = tx.one(f"SELECT {_AGENT_COLUMNS} FROM agent WHERE id = ?", (agent_id,))
    return AgentInfo(*row) if row else None


def ticket_detail(store: Store, actor: Actor, *, ticket_id: int) -> TicketDetail:
    """Everything the ticket screen shows, with both clocks evaluated now."""
    now = store.clock.now()
    with store.read() as tx:
        t = visible_row(tx, actor, ticket_id)
        c = tx.one("SELECT id, name, phone, tier, green_channel, id_number, contact_phone, "
                   "address, plan FROM customer WHERE id = ?", (t["customer_id"],))
        events = tuple(
            EventView(from_db(at), kind, name, json.loads(detail))
            for at, kind, name, detail in tx.all(
                "SELECT e.at, e.kind, coalesce(a.name, ''), e.detail FROM ticket_event e "
                "LEFT JOIN agent a ON a.id = e.agent_id WHERE e.ticket_id = ? ORDER BY e.id",
                (ticket_id,)))
        handler, owner = _agent(tx, t["handler_id"]), _agent(tx, t["owner_id"])
    calendar = store.policy.calendar(t["channel"])
    clocks = []
    for kind, met in ((ClockKind.RESPONSE, t["responded_at"]),
                      (ClockKind.RESOLUTION, t["resolved_at"])):
        due = t[f"{kind}_due"]
        clocks.append(clock_view(
            kind=kind, now=now, created_at=t["created_at"],
            target=timedelta(seconds=t[f"{kind}_target_s"]), due=due,
            warn_at=due - timedelta(seconds=t[f"{kind}_lead_s"]), calendar=calendar,
            paused_seconds=t["paused_seconds"],
            paused_since=t["paused_since"] if kind == ClockKind.RESOLUTION else None, met_at=met))
    return TicketDetail(
        id=t["id"], number=t["number"], version=t["version"],
        customer=CustomerInfo(c.id, c.name, mask_phone(c.phone), c.tier, bool(c.green_channel),
                              mask_id_number(c.id_number) if c.id_number else "",
                              mask_phone(c.contact_phone) if c.contact_phone else "",
                              c.address, c.plan),
        channel=t["channel"], work_type=t["work_type"], category=t["category"],
        requested_grade=t["requested_grade"], grade=t["grade"], status=t["status"],
        description=t["description"], resolution=t["resolution"], department=t["department"],
        handler=handler, handler_set_at=t["handler_set_at"], owner=owner,
        owner_set_at=t["owner_set_at"], dispatched_at=t["dispatched_at"],
        created_at=t["created_at"], updated_at=t["updated_at"], responded_at=t["responded_at"],
        resolved_at=t["resolved_at"], closed_at=t["closed_at"], clocks=tuple(clocks),
        events=events)
