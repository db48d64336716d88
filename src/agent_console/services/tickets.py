"""Ticket use cases: create, claim, assign, status moves, notes, SLA crossings and the detail view."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from agent_console.db import to_db, ts
from agent_console.models.read import (AgentInfo, CustomerInfo, EventView, TicketCreated,
                                       TicketDetail)
from agent_console.models.vocab import (OPEN_STATUSES, RESPONDED_STATUSES, TRANSITIONS, Channel,
                                        ClockKind, EventKind, Grade, Status, Tier, WorkType)
from agent_console.services import audit, validation
from agent_console.services.audit import Action
from agent_console.services.sla import Targets, clock_view, compute_dues
from agent_console.services.store import (SENTINEL_KEY, ConflictError, InputError, NotFoundError,
                                          Store)
from agent_console.text import mask_id_number, mask_phone


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


def _event(session: Any, ticket_id: int, at: datetime, agent_id: int | None, kind: str,
           **detail: Any) -> None:
    from agent_console.models.tables import TicketEvent

    session.add(TicketEvent(ticket_id=ticket_id, at=at, agent_id=agent_id, kind=kind,
                            detail=json.dumps(detail, ensure_ascii=False)))


def _find_agent(session: Any, code: str | None) -> Any:
    from sqlmodel import select

    from agent_console.models.tables import Agent

    if code is None:
        return None
    return session.exec(select(Agent).where(Agent.code == code)).first()


def create_ticket(store: Store, *, phone: str, channel: str, work_type: str, category: str,
                  description: str, grade: str | None = None, customer_name: str = "",
                  by: str | None = None) -> TicketCreated:
    """Validate, route to the category's department, start both SLA clocks, record the event."""
    from sqlmodel import select

    from agent_console.models.tables import Customer, Ticket

    phone = validation.phone("phone", phone)
    validation.choice("channel", channel, [c.value for c in Channel])
    validation.choice("type", work_type, [w.value for w in WorkType])
    validation.choice("category", category, list(store.catalog.categories))
    grade = validation.choice("grade", grade or default_grade(work_type), [g.value for g in Grade])
    text, _cut = validation.required_text("description", description, validation.DESCRIPTION_LIMIT)
    now = store.clock.now()
    with store.session() as session:
        customer = session.exec(select(Customer).where(Customer.phone == phone)).first()
        if customer is None:
            customer = Customer(name=validation.name("name", customer_name) if customer_name else "",
                                phone=phone, tier=Tier.STANDARD, created_at=now)
            session.add(customer)
            session.flush()
        targets = store.policy.targets(grade=grade, category=category, work_type=work_type,
                                       vip=customer.tier == Tier.VIP,
                                       green_channel=customer.green_channel)
        agent = _find_agent(session, by)
        department = store.catalog.department_for(category)
        ticket = Ticket(
            number=f"new-{uuid.uuid4().hex}", customer_id=customer.id, channel=channel,
            work_type=work_type, category=category, requested_grade=grade, grade=targets.grade,
            grade_rank=Grade(targets.grade).rank, status=Status.NEW, description=text,
            department=department, created_by=agent.id if agent else None, created_at=now,
            updated_at=now, response_target_s=int(targets.response.total_seconds()),
            resolution_target_s=int(targets.resolution.total_seconds()),
            response_lead_s=int(targets.response_lead.total_seconds()),
            resolution_lead_s=int(targets.resolution_lead.total_seconds()),
            **sla_columns(store, channel=channel, created_at=now, status=Status.NEW, targets=targets))
        session.add(ticket)
        session.flush()
        ticket.number = ticket_number(now, ticket.id)
        _event(session, ticket.id, now, agent.id if agent else None, EventKind.CREATED,
               grade=targets.grade, raised_by=targets.raised_by, department=department or "")
        return TicketCreated(ticket.id, ticket.number, targets.grade, department,
                             ticket.response_due, ticket.resolution_due)


def _row_dict(ticket: Any) -> dict[str, Any]:
    return ticket.model_dump()


def _apply(store: Store, ticket_id: int, expected_version: int, by: str | None,
           change: Any, audit_action: str = "") -> int:
    """Run `change(session, row, agent, now) -> (values, events)` under the optimistic lock."""
    from sqlalchemy import update

    from agent_console.models.tables import Ticket

    now = store.clock.now()
    with store.session() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFoundError(f"ticket {ticket_id} does not exist")
        if ticket.version != expected_version:
            raise ConflictError(ticket.number)
        row = _row_dict(ticket)
        agent = _find_agent(session, by)
        values, events = change(session, row, agent, now)
        row.update(values)
        values.update(sla_columns(store, channel=row["channel"], created_at=row["created_at"],
                                  status=row["status"], row=row))
        values.update(updated_at=now, version=expected_version + 1)
        result = session.execute(update(Ticket).where(Ticket.id == ticket_id,
                                                      Ticket.version == expected_version)
                                 .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            session.rollback()
            raise ConflictError(ticket.number)
        for kind, detail in events:
            _event(session, ticket_id, now, agent.id if agent else None, kind, **detail)
        if audit_action:
            # The same transaction as the change: no act without its record, nor the reverse.
            audit.append(session.connection().connection.driver_connection, at=now,
                         agent=by or "", action=audit_action, target=f"ticket:{row['number']}",
                         detail={"events": [{"kind": k, **d} for k, d in events]})
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


def change_status(store: Store, *, ticket_id: int, expected_version: int, status: str,
                  by: str | None) -> int:
    def change(_session: Any, row: dict[str, Any], _agent: Any, now: datetime) -> Any:
        old = Status(row["status"])
        new = Status(validation.choice("status", status, [s.value for s in Status]))
        if new not in TRANSITIONS[old]:
            raise InputError("status", f"cannot move from {old} to {new}; allowed: "
                             f"{', '.join(TRANSITIONS[old])}")
        return _status_values(row, new, now, store), [(EventKind.STATUS_CHANGED,
                                                       {"from": old.value, "to": new.value})]

    return _apply(store, ticket_id, expected_version, by, change, Action.TICKET_STATUS)


def claim(store: Store, *, ticket_id: int, expected_version: int, by: str) -> int:
    """The agent takes the ticket: handler (and owner if none) is them; new becomes assigned."""
    def change(_session: Any, row: dict[str, Any], agent: Any, now: datetime) -> Any:
        if agent is None:
            raise NotFoundError(f"agent {by} does not exist")
        values: dict[str, Any] = {"handler_id": agent.id, "handler_set_at": now}
        if row["owner_id"] is None:
            values.update(owner_id=agent.id, owner_set_at=now)
        if row["dispatched_at"] is None:
            values["dispatched_at"] = now
        if row["status"] == Status.NEW:
            values["status"] = Status.ASSIGNED
        return values, [(EventKind.CLAIMED, {"agent": agent.name})]

    return _apply(store, ticket_id, expected_version, by, change, Action.TICKET_ASSIGN)


def assign(store: Store, *, ticket_id: int, expected_version: int, by: str | None,
           handler: str | None = None, owner: str | None = None,
           department: str | None = None) -> int:
    """Dispatch: set any of handler 处理人, owner 负责人 and department; each is its own event."""
    def change(session: Any, row: dict[str, Any], _agent: Any, now: datetime) -> Any:
        values: dict[str, Any] = {}
        events: list[tuple[str, dict[str, Any]]] = []
        if department is not None and department != row["department"]:
            validation.choice("department", department, list(store.catalog.departments))
            values["department"] = department
            events.append((EventKind.ASSIGNED, {"department": department}))
        for field, code, kind in (("handler", handler, EventKind.HANDLER_SET),
                                  ("owner", owner, EventKind.OWNER_SET)):
            if code is None:
                continue
            target = _find_agent(session, code)
            if target is None:
                raise InputError(field, f"no agent with id {code!r}")
            if target.id != row[f"{field}_id"]:
                values.update({f"{field}_id": target.id, f"{field}_set_at": now})
                events.append((kind, {"agent": target.name}))
        if "handler_id" in values:
            values["dispatched_at"] = row["dispatched_at"] or now
            if row["status"] == Status.NEW:
                values["status"] = Status.ASSIGNED
        return values, events

    return _apply(store, ticket_id, expected_version, by, change, Action.TICKET_ASSIGN)


def add_note(store: Store, *, ticket_id: int, text: str, by: str | None) -> None:
    """Notes only add to the timeline, so they never conflict with other changes."""
    from agent_console.models.tables import Ticket

    note, cut = validation.required_text("note", text, validation.DESCRIPTION_LIMIT)
    with store.session() as session:
        if session.get(Ticket, ticket_id) is None:
            raise NotFoundError(f"ticket {ticket_id} does not exist")
        agent = _find_agent(session, by)
        _event(session, ticket_id, store.clock.now(), agent.id if agent else None, EventKind.NOTE,
               text=note, cut=cut)


def apply_case(store: Store, *, ticket_id: int, case_id: int, by: str | None) -> bool:
    """Use a knowledge-base case on a ticket: link it, add its resolution to the ticket's
    resolution draft, count the use and put it on the timeline, in one transaction.

    False when the case was already used on this ticket (nothing is added twice).
    """
    now = to_db(store.clock.now())
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            case = conn.execute("SELECT title, resolution FROM kb_case WHERE id = ?",
                                (case_id,)).fetchone()
            ticket = conn.execute("SELECT resolution FROM ticket WHERE id = ?",
                                  (ticket_id,)).fetchone()
            if case is None or ticket is None:
                raise NotFoundError(f"case {case_id} or ticket {ticket_id} does not exist")
            agent = conn.execute("SELECT id FROM agent WHERE code = ?", (by,)).fetchone()
            agent_id = agent[0] if agent else None
            linked = conn.execute("INSERT OR IGNORE INTO ticket_case (ticket_id, case_id, at, "
                                  "agent_id) VALUES (?, ?, ?, ?)",
                                  (ticket_id, case_id, now, agent_id)).rowcount
            if linked:
                draft = "\n\n".join(filter(None, (ticket[0], case[1])))
                conn.execute("UPDATE ticket SET resolution = ? WHERE id = ?",
                             (draft[:validation.DESCRIPTION_LIMIT], ticket_id))
                conn.execute("UPDATE kb_case SET times_used = times_used + 1 WHERE id = ?",
                             (case_id,))
                conn.execute("INSERT INTO ticket_event (ticket_id, at, agent_id, kind, detail) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (ticket_id, now, agent_id, EventKind.CASE_USED,
                              json.dumps({"case_id": case_id, "title": case[0]},
                                         ensure_ascii=False)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return bool(linked)


def record_crossings(store: Store, *, limit: int = 500) -> int:
    """Write one warning or breach event per clock crossing (never one per tick); returns count.

    Safe with several apps on one store: each flag is set only where it is still empty.
    """
    now = store.clock.now()
    now_key = ts(now)
    with store.connection() as conn:
        rows = conn.execute(
            "SELECT id, responded_at IS NULL, due_key <= ?, response_warned_at IS NULL, "
            "response_breached_at IS NULL, resolution_warned_at IS NULL, "
            "resolution_breached_at IS NULL FROM ticket "
            "WHERE is_open = 1 AND warn_key <= ? AND ("
            " (responded_at IS NULL AND (response_warned_at IS NULL OR "
            "   (due_key <= ? AND response_breached_at IS NULL))) OR "
            " (responded_at IS NOT NULL AND (resolution_warned_at IS NULL OR "
            "   (due_key <= ? AND resolution_breached_at IS NULL)))) LIMIT ?",
            (now_key, now_key, now_key, now_key, limit)).fetchall()
        if not rows:
            return 0
        stamp = to_db(now)
        written = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ticket_id, on_response, breached, rw, rb, sw, sb in rows:
                clock = ClockKind.RESPONSE if on_response else ClockKind.RESOLUTION
                warn_open, breach_open = (rw, rb) if on_response else (sw, sb)
                todo = [(f"{clock}_warned_at", EventKind.SLA_WARNING)] if warn_open else []
                if breached and breach_open:
                    todo.append((f"{clock}_breached_at", EventKind.SLA_BREACHED))
                for column, kind in todo:
                    changed = conn.execute(f"UPDATE ticket SET {column} = ? WHERE id = ? AND "
                                           f"{column} IS NULL", (stamp, ticket_id)).rowcount
                    if changed:
                        conn.execute("INSERT INTO ticket_event (ticket_id, at, kind, detail) "
                                     "VALUES (?, ?, ?, ?)",
                                     (ticket_id, stamp, kind, json.dumps({"clock": clock.value})))
                        written += 1
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return written


def _agent_info(agent: Any) -> AgentInfo | None:
    if agent is None:
        return None
    return AgentInfo(agent.id, agent.code, agent.name, agent.role, agent.team, agent.department)


def ticket_detail(store: Store, *, ticket_id: int) -> TicketDetail:
    """Everything the ticket screen shows, with both clocks evaluated now."""
    from sqlmodel import select

    from agent_console.models.tables import Agent, Customer, Ticket, TicketEvent

    now = store.clock.now()
    with store.session() as session:
        t = session.get(Ticket, ticket_id)
        if t is None:
            raise NotFoundError(f"ticket {ticket_id} does not exist")
        c = session.get(Customer, t.customer_id)
        names = {a.id: a.name for a in session.exec(select(Agent)).all()}
        events = tuple(
            EventView(e.at, e.kind, names.get(e.agent_id, ""), json.loads(e.detail))
            for e in session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                  .order_by(TicketEvent.id)).all())
        calendar = store.policy.calendar(t.channel)
        clocks = []
        for kind, target_s, lead_s, due, met in (
                (ClockKind.RESPONSE, t.response_target_s, t.response_lead_s, t.response_due,
                 t.responded_at),
                (ClockKind.RESOLUTION, t.resolution_target_s, t.resolution_lead_s, t.resolution_due,
                 t.resolved_at)):
            clocks.append(clock_view(
                kind=kind, now=now, created_at=t.created_at, target=timedelta(seconds=target_s),
                due=due, warn_at=due - timedelta(seconds=lead_s), calendar=calendar,
                paused_seconds=t.paused_seconds,
                paused_since=t.paused_since if kind == ClockKind.RESOLUTION else None, met_at=met))
        return TicketDetail(
            id=t.id, number=t.number, version=t.version,
            customer=CustomerInfo(c.id, c.name, mask_phone(c.phone), c.tier, c.green_channel,
                                  mask_id_number(c.id_number) if c.id_number else "",
                                  mask_phone(c.contact_phone) if c.contact_phone else "",
                                  c.address, c.plan),
            channel=t.channel, work_type=t.work_type, category=t.category,
            requested_grade=t.requested_grade, grade=t.grade, status=t.status,
            description=t.description, resolution=t.resolution, department=t.department,
            handler=_agent_info(session.get(Agent, t.handler_id) if t.handler_id else None),
            handler_set_at=t.handler_set_at,
            owner=_agent_info(session.get(Agent, t.owner_id) if t.owner_id else None),
            owner_set_at=t.owner_set_at, dispatched_at=t.dispatched_at, created_at=t.created_at,
            updated_at=t.updated_at, responded_at=t.responded_at, resolved_at=t.resolved_at,
            closed_at=t.closed_at, clocks=tuple(clocks), events=events)
