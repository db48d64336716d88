"""A contact from pick-up to resolution: who holds a ticket, take-over notices, a ticket found
by its number, the customer's recent tickets and the ticket's resolution 处理结果.

Every read goes through the same visibility rule as the queue (`queue.visible_clause`): a
ticket the actor may not see is "not found".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent_console.db import from_db
from agent_console.models.read import AgentInfo
from agent_console.models.vocab import EventKind, Status
from agent_console.services import tickets, validation
from agent_console.services.actor import Actor
from agent_console.services.queue import refuse_other_site, visible_clause
from agent_console.services.store import NotFoundError, Store, Tx
from agent_console.text import clean_line

TICKET_RESOLUTION = "ticket_resolution"  # the audit action of a resolution written or changed
SEEN_KEY = "takeover_seen"  # the agent's preference: the last take-over event they were told of
RECENT_TICKETS = 8


@dataclass(frozen=True, slots=True)
class TakeOver:
    """Someone took a ticket this agent handled."""

    number: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CustomerTicket:
    """One of a customer's recent tickets, for the lookup beside a contact."""

    id: int
    number: str
    category: str
    status: str
    age: timedelta


def holder(store: Store, actor: Actor, *, ticket_id: int) -> AgentInfo | None:
    """The ticket's handler now (None when nobody holds it)."""
    with store.read() as tx:
        row = tickets.visible_row(tx, actor, ticket_id)
        return tickets._agent(tx, row["handler_id"])


def take_over_notices(store: Store, actor: Actor) -> list[TakeOver]:
    """Take-overs of this agent's tickets not yet told, oldest first; each is told once."""
    with store.read() as tx:
        seen = tx.scalar("SELECT value FROM agent_preference WHERE agent_code = ? AND key = ?",
                         (actor.code, SEEN_KEY))
        rows = tx.all("SELECT e.id, e.at, e.detail, t.number FROM ticket_event e "
                      "JOIN ticket t ON t.id = e.ticket_id WHERE e.kind = ? AND e.id > ? "
                      "ORDER BY e.id", (EventKind.TAKEN_OVER.value, int(seen or 0)))
    if not rows:
        return []
    found = [TakeOver(number, clean_line(str(detail.get("agent", ""))), from_db(at))
             for _id, at, detail, number in ((i, a, json.loads(d), n) for i, a, d, n in rows)
             if detail.get("from_id") == actor.agent_id]
    with store.write(actor) as tx:
        tx.execute("INSERT INTO agent_preference (agent_code, key, value) VALUES (?, ?, ?) "
                   "ON CONFLICT(agent_code, key) DO UPDATE SET value = excluded.value "
                   "WHERE CAST(agent_preference.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
                   (actor.code, SEEN_KEY, str(rows[-1][0])))
    return found


def find_ticket(store: Store, actor: Actor, *, number: str) -> int:
    """The id of the ticket with this number (T…, any case, spaces ignored), if the actor may
    see it; OtherSiteError for another site's ticket the role does not see; NotFoundError
    otherwise, the same for a number that does not exist."""
    wanted = "".join(clean_line(number).split()).upper()
    clause, params = visible_clause(actor)
    with store.read() as tx:
        found = tx.scalar(f"SELECT t.id FROM ticket t WHERE t.number = ? AND {clause}",
                          (wanted, *params))
        if found is None:
            refuse_other_site(tx, actor, number=wanted)
    if found is None:
        raise NotFoundError(f"ticket {wanted}")
    return int(found)


def customer_tickets(store: Store, actor: Actor, *, customer_id: int,
                     limit: int = RECENT_TICKETS) -> list[CustomerTicket]:
    """The customer's most recent tickets the actor may see, newest first."""
    clause, params = visible_clause(actor)
    now = store.clock.now()
    with store.read() as tx:
        rows = tx.all(f"SELECT t.id, t.number, t.category, t.status, t.created_at FROM ticket t "
                      f"WHERE t.customer_id = ? AND {clause} ORDER BY t.id DESC LIMIT ?",
                      (customer_id, *params, max(1, min(limit, 50))))
    return [CustomerTicket(i, n, c, s, now - from_db(at)) for i, n, c, s, at in rows]


def _resolution_in(tx: Tx, *, ticket_id: int, expected_version: int, text: str) -> int:
    words, cut = validation.required_text("resolution", text, validation.DESCRIPTION_LIMIT)

    def change(row: dict[str, Any], now: datetime) -> Any:
        return {"resolution": words}, [(EventKind.RESOLUTION_SET, {"chars": len(words), "cut": cut})]

    return tickets._change(tx, ticket_id, expected_version, change, TICKET_RESOLUTION)


def set_resolution(store: Store, actor: Actor, *, ticket_id: int, expected_version: int,
                   text: str) -> int:
    """Write the ticket's resolution in the agent's words; returns the new version."""
    with store.write(actor) as tx:
        return _resolution_in(tx, ticket_id=ticket_id, expected_version=expected_version,
                              text=text)


def resolve(store: Store, actor: Actor, *, ticket_id: int, expected_version: int,
            resolution: str) -> int:
    """Resolve with its resolution, both or neither; returns the new version."""
    with store.write(actor) as tx:
        version = _resolution_in(tx, ticket_id=ticket_id, expected_version=expected_version,
                                 text=resolution)
        return tickets.status_in(tx, ticket_id=ticket_id, expected_version=version,
                                 status=Status.RESOLVED)
