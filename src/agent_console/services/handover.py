"""Shift handover (交接班): at the end of a shift the console drafts the agent's handover (the
open tickets they hold, those near their deadline, the call-backs they promised, notes); the
agent completes it; the incoming agent or the team lead acknowledges it item by item; what is
left unacknowledged shows to the supervisor. Every step is on the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.models.vocab import Role
from agent_console.services import tickets
from agent_console.services.actor import Actor
from agent_console.services.errors import ConflictError, InputError, NotFoundError, Refused
from agent_console.services.permissions import RUN_REPORTS
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line, strip_controls

NEAR_HOURS = 2  # an open ticket due within this many hours is listed as near its deadline
NOTES_LIMIT = 2000
ITEM_LIMIT = 200
LEADS = frozenset({Role.SENIOR.value, Role.SUPERVISOR.value, Role.ADMIN.value})


@dataclass(frozen=True)
class HandoverItem:
    id: int
    kind: str  # open_ticket | near_deadline | callback | note
    ticket_id: int | None
    number: str
    due_at: datetime | None
    text: str
    acked_by: str | None
    acked_at: datetime | None


@dataclass(frozen=True)
class HandoverView:
    id: int
    agent: str
    agent_name: str
    team: str
    created_at: datetime
    completed_at: datetime | None
    to_agent: str | None
    notes: str
    items: tuple[HandoverItem, ...]

    @property
    def unacknowledged(self) -> tuple[HandoverItem, ...]:
        return tuple(i for i in self.items if i.acked_at is None)


def _items(tx: Tx, handover_id: int) -> tuple[HandoverItem, ...]:
    return tuple(HandoverItem(r[0], r[1], r[2], r[3] or "", from_db(r[4]), r[5], r[6],
                              from_db(r[7]))
                 for r in tx.all("SELECT i.id, i.kind, i.ticket_id, t.number, i.due_at, i.text, "
                                 "a.code, i.acked_at FROM handover_item i "
                                 "LEFT JOIN ticket t ON t.id = i.ticket_id "
                                 "LEFT JOIN agent a ON a.id = i.acked_by "
                                 "WHERE i.handover_id = ? ORDER BY i.position, i.id",
                                 (handover_id,)))


def _view(tx: Tx, handover_id: int) -> HandoverView:
    row = tx.one("SELECT h.id, a.code, a.name, h.team, h.created_at, h.completed_at, b.code, "
                 "h.notes FROM handover h JOIN agent a ON a.id = h.agent_id "
                 "LEFT JOIN agent b ON b.id = h.to_agent_id WHERE h.id = ?", (handover_id,))
    if row is None:
        raise NotFoundError(f"handover {handover_id}")
    return HandoverView(row[0], row[1], row[2], row[3], from_db(row[4]),
                        from_db(row[5]), row[6], row[7], _items(tx, handover_id))


def _may_read(actor: Actor, view: HandoverView) -> bool:
    return (view.agent == actor.code or view.to_agent == actor.code or actor.can(RUN_REPORTS)
            or (actor.role in LEADS and view.team == actor.team)
            or (view.to_agent is None and view.team == actor.team))


def draft_handover(store: Store, actor: Actor, *, notes: str = "") -> HandoverView:
    """Draft (or redraft) the actor's handover from what they hold now."""
    notes = strip_controls(notes)[:NOTES_LIMIT].strip()
    with store.write(actor) as tx:
        tickets.acting(tx)
        draft = tx.scalar("SELECT id FROM handover WHERE agent_id = ? AND completed_at IS NULL "
                          "ORDER BY id DESC LIMIT 1", (actor.agent_id,))
        if draft is None:
            tx.execute("INSERT INTO handover (agent_id, team, created_at, notes) "
                       "VALUES (?, ?, ?, ?)", (actor.agent_id, actor.team, to_db(tx.now), notes))
            draft = tx.scalar("SELECT max(id) FROM handover WHERE agent_id = ?",
                              (actor.agent_id,))
        else:
            tx.execute("DELETE FROM handover_item WHERE handover_id = ?", (draft,))
            tx.execute("UPDATE handover SET notes = ?, created_at = ? WHERE id = ?",
                       (notes, to_db(tx.now), draft))
        near = to_db(tx.now + timedelta(hours=NEAR_HOURS))
        rows: list[tuple[Any, ...]] = []
        held = tx.all("SELECT id, number, CASE WHEN responded_at IS NULL THEN response_due "
                      "ELSE resolution_due END AS due, description FROM ticket "
                      "WHERE handler_id = ? AND is_open = 1 ORDER BY due, id LIMIT ?",
                      (actor.agent_id, ITEM_LIMIT))
        for ticket_id, _number, due, description in held:
            kind = "near_deadline" if str(due) <= near else "open_ticket"
            rows.append((kind, ticket_id, due, clean_line(description)[:80]))
        for ticket_id, due, note in tx.all(
                "SELECT p.ticket_id, p.due_at, p.note FROM callback_promise p JOIN ticket t "
                "ON t.id = p.ticket_id WHERE p.done_at IS NULL AND (p.created_by = ? OR "
                "t.handler_id = ?) ORDER BY p.due_at, p.id LIMIT ?",
                (actor.agent_id, actor.agent_id, ITEM_LIMIT)):
            rows.append(("callback", ticket_id, due, clean_line(note)))
        if notes:
            rows.append(("note", None, None, notes))
        order = {"near_deadline": 0, "callback": 1, "open_ticket": 2, "note": 3}
        rows.sort(key=lambda r: (order[r[0]], str(r[2] or ""), r[1] or 0))
        tx.executemany("INSERT INTO handover_item (handover_id, position, kind, ticket_id, due_at,"
                       " text) VALUES (?, ?, ?, ?, ?, ?)",
                       [(draft, pos, *row) for pos, row in enumerate(rows)])
        tx.audit("handover_drafted", f"handover:{draft}", {"items": len(rows)})
        return _view(tx, int(draft))


def complete_handover(store: Store, actor: Actor, *, handover_id: int, to_agent: str | None = None,
                      notes: str | None = None) -> HandoverView:
    """The outgoing agent hands over: to a named incoming agent, or to the team."""
    with store.write(actor) as tx:
        tickets.acting(tx)
        view = _view(tx, handover_id)
        if view.agent != actor.code:
            raise Refused("complete_handover", actor.role)
        if view.completed_at is not None:
            raise ConflictError(f"handover {handover_id} is already completed")
        target = None
        if to_agent:
            target = tx.scalar("SELECT id FROM agent WHERE code = ? AND active = 1",
                               (clean_line(to_agent),))
            if target is None:
                raise InputError("to_agent", f"no agent {clean_line(to_agent)!r}", code="agent")
            if target == actor.agent_id:
                raise InputError("to_agent", "hand over to someone else", code="self")
        if notes is not None:
            notes = strip_controls(notes)[:NOTES_LIMIT].strip()
            tx.execute("UPDATE handover SET notes = ? WHERE id = ?", (notes, handover_id))
            tx.execute("DELETE FROM handover_item WHERE handover_id = ? AND kind = 'note'",
                       (handover_id,))
            if notes:
                tx.execute("INSERT INTO handover_item (handover_id, position, kind, text) "
                           "VALUES (?, ?, 'note', ?)", (handover_id, len(view.items), notes))
        tx.execute("UPDATE handover SET completed_at = ?, to_agent_id = ? WHERE id = ?",
                   (to_db(tx.now), target, handover_id))
        tx.audit("handover_completed", f"handover:{handover_id}",
                 {"to": to_agent or "", "items": len(_items(tx, handover_id))})
        return _view(tx, handover_id)


def acknowledge(store: Store, actor: Actor, *, item_id: int) -> HandoverView:
    """The incoming agent (or a team lead) acknowledges one item of a completed handover."""
    with store.write(actor) as tx:
        tickets.acting(tx)
        handover_id = tx.scalar("SELECT handover_id FROM handover_item WHERE id = ?", (item_id,))
        if handover_id is None:
            raise NotFoundError(f"handover item {item_id}")
        view = _view(tx, int(handover_id))
        incoming = view.to_agent == actor.code or (view.to_agent is None
                                                   and view.team == actor.team)
        lead = actor.role in LEADS and (view.team == actor.team or actor.can(RUN_REPORTS))
        if view.completed_at is None:
            raise ConflictError(f"handover {handover_id} is not completed yet")
        if view.agent == actor.code or not (incoming or lead):
            raise Refused("acknowledge_handover", actor.role)
        tx.execute("UPDATE handover_item SET acked_by = ?, acked_at = ? WHERE id = ? "
                   "AND acked_at IS NULL", (actor.agent_id, to_db(tx.now), item_id))
        tx.audit("handover_acknowledged", f"handover:{handover_id}", {"item": item_id})
        return _view(tx, int(handover_id))


def handover_detail(store: Store, actor: Actor, *, handover_id: int) -> HandoverView:
    with store.read() as tx:
        view = _view(tx, handover_id)
    if not _may_read(actor, view):
        raise NotFoundError(f"handover {handover_id}")
    return view


def my_handovers(store: Store, actor: Actor) -> list[HandoverView]:
    """The actor's own draft (if any), then completed handovers waiting for them or their team
    to acknowledge, newest first."""
    with store.read() as tx:
        ids = [r[0] for r in tx.all(
            "SELECT h.id FROM handover h WHERE (h.agent_id = ? AND h.completed_at IS NULL) OR "
            "(h.completed_at IS NOT NULL AND h.agent_id != ? AND (h.to_agent_id = ? OR "
            "(h.to_agent_id IS NULL AND h.team = ?)) AND EXISTS (SELECT 1 FROM handover_item i "
            "WHERE i.handover_id = h.id AND i.acked_at IS NULL)) ORDER BY h.completed_at IS NULL "
            "DESC, h.id DESC LIMIT 20",
            (actor.agent_id, actor.agent_id, actor.agent_id, actor.team))]
        return [_view(tx, i) for i in ids]


def unacknowledged(store: Store, actor: Actor) -> list[HandoverView]:
    """Completed handovers with items nobody has acknowledged (for the supervisor)."""
    actor.require(RUN_REPORTS)
    with store.read() as tx:
        ids = [r[0] for r in tx.all(
            "SELECT DISTINCT h.id FROM handover h JOIN handover_item i ON i.handover_id = h.id "
            "WHERE h.completed_at IS NOT NULL AND i.acked_at IS NULL ORDER BY h.id DESC LIMIT 100")]
        return [_view(tx, i) for i in ids]
