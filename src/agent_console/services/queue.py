"""The queue's reads: one page at a time by key, and the one rule of who may see which ticket."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from agent_console.db import from_db, ts
from agent_console.models.read import TicketRow
from agent_console.services import validation
from agent_console.services.actor import Actor
from agent_console.services.errors import OtherSiteError
from agent_console.services.store import Store
from agent_console.text import mask_phone

SCOPES = ("all", "mine", "team", "created")
STATES = ("any", "overdue", "warning")
VIEWS = ("open", "closed")
SORTS = ("due", "grade", "newest")

_SORT_COLUMNS = {
    "due": ("t.due_key", "t.id"),
    "grade": ("t.is_open", "t.grade_rank", "t.due_key", "t.id"),
    "newest": ("t.id",),
}
_DESCENDING = {"newest"}

_SELECT = """
SELECT t.id, t.number, t.grade, t.status, t.work_type, t.category, c.name, c.phone,
       coalesce(a.name, ''), t.channel, t.due_key, t.warn_key, t.paused_since IS NOT NULL,
       t.is_open, t.grade_rank, t.version,
       (SELECT min(p.due_at) FROM callback_promise p WHERE p.ticket_id = t.id
        AND p.done_at IS NULL), t.site
FROM ticket t JOIN customer c ON c.id = t.customer_id LEFT JOIN agent a ON a.id = t.handler_id
"""

# A phone typed as a person would (spaces, dashes, brackets), and the masked form the queue shows.
_PHONE_TYPED = re.compile(r"^\+?[\d\s()\-]+$")
_PHONE_MASKED = re.compile(r"^(\+?\d*)(\*+)(\d{4})$")


def _team_clause(actor: Actor, alias: str) -> tuple[str, list[object]]:
    """Handled by someone of the actor's team, or unassigned in the actor's department."""
    return (f"({alias}.handler_id IN (SELECT id FROM agent WHERE team = ? AND team != '')"
            f" OR ({alias}.handler_id IS NULL AND {alias}.department = ?))",
            [actor.team, actor.department or ""])


def visible_clause(actor: Actor, alias: str = "t", *, site: str = "") -> tuple[str, list[object]]:
    """The SQL condition (and its parameters) for the tickets `actor` may see.

    Sites: with SEE_OTHER_SITES every site's (or the one `site` asked for); without, their own
    site's, and asking for another is refused. Teams: with SEE_OTHER_TEAMS all of those;
    without, their team's, their department's unassigned ones, the ones they handle and the
    ones they created. Every read and write of a ticket uses this. (A ticket is handled only at
    its own site, see `tickets.assign_in`, so the site comes first and the queue reads one
    site's rows in order from ix_ticket_site.)
    """
    reach = actor.site_reach(site)
    clauses: list[str] = []
    params: list[object] = []
    if reach is not None:
        clauses, params = [f"{alias}.site = ?"], [reach]
    if not actor.sees_all_teams:
        team, team_params = _team_clause(actor, alias)
        clauses.append(f"({team} OR {alias}.handler_id = ? OR {alias}.created_by = ?)")
        params += [*team_params, actor.agent_id, actor.agent_id]
    return (" AND ".join(clauses) or "1 = 1"), params


def refuse_other_site(tx: Any, actor: Actor, ticket_id: int | None = None,
                      number: str = "") -> None:
    """Called when a ticket asked for by id or number is not visible: refuse plainly if it is
    there but belongs to a site the actor does not see (another team's stays "not found")."""
    if actor.sees_all_sites:
        return
    row = tx.one("SELECT number, site FROM ticket WHERE " +
                 ("id = ?" if ticket_id is not None else "number = ?"),
                 (ticket_id if ticket_id is not None else number,))
    if row is not None and row[1] != actor.site:
        raise OtherSiteError(row[0], row[1], actor.role)


@dataclass(frozen=True)
class QueueFilter:
    """What the agent asked the queue to show; remembered per agent."""

    scope: str = "all"
    state: str = "any"
    view: str = "open"
    sort: str = "due"
    category: str = ""
    channel: str = ""
    status: str = ""
    site: str = ""  # one site's tickets (a role that sees other sites); "" their reach
    text: str = ""

    def with_(self, **changes: str) -> QueueFilter:
        return replace(self, **changes)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phone_clause(text: str) -> tuple[str, list[object]] | None:
    """How a search may match a hidden number: the whole number, its last four digits, or the
    masked form as shown. Never part of the hidden middle, which a run of searches would spell out."""
    compact = re.sub(r"[\s()\-]", "", text)
    if masked := _PHONE_MASKED.match(compact):
        prefix, stars, last4 = masked.groups()
        length = len(prefix) + 8 if prefix else len(stars) + 4
        sample = prefix + "0" * (length - len(prefix) - 4) + last4
        if mask_phone(sample) != compact:
            return None  # no stored number is shown like this
        return ("(length(c.phone) = ? AND substr(c.phone, 1, ?) = ? AND substr(c.phone, length(c.phone) - 3) = ?)",
                [length, len(prefix), prefix, last4])
    if not _PHONE_TYPED.match(text):
        return None
    if re.fullmatch(r"\d{4}", compact):
        return "substr(c.phone, length(c.phone) - 3) = ?", [compact]
    try:
        return "c.phone = ?", [validation.phone("phone", text)]
    except ValueError:
        return None


def _where(flt: QueueFilter, actor: Actor, now_ts: int, like: str) -> tuple[list[str], list[object]]:
    visible, params = visible_clause(actor, site=flt.site)
    clauses = [visible]
    if flt.view != "all":  # "all" is for the command line; the screen shows open or closed
        clauses.insert(0, "t.is_open = ?")
        params = [1 if flt.view == "open" else 0, *params]
    if flt.scope == "mine":
        clauses.append("t.handler_id = ?")
        params.append(actor.agent_id)
    elif flt.scope == "created":
        clauses.append("t.created_by = ?")
        params.append(actor.agent_id)
    elif flt.scope == "team":
        team, team_params = _team_clause(actor, "t")
        clauses.append(team)
        params += team_params
    if flt.state == "overdue":
        clauses.append("t.due_key <= ?")
        params.append(now_ts)
    elif flt.state == "warning":
        clauses.append("t.warn_key <= ? AND t.due_key > ?")
        params += [now_ts, now_ts]
    for column in ("category", "channel", "status"):
        if value := getattr(flt, column):
            clauses.append(f"t.{column} = ?")
            params.append(value)
    if text := flt.text.strip():
        pattern = _like(text)
        matches = [f"{column} {like} ? ESCAPE '\\'"
                   for column in ("t.number", "c.name", "t.description")]
        params += [pattern] * 3
        if phone := _phone_clause(text):
            matches.append(phone[0])
            params += phone[1]
        clauses.append(f"({' OR '.join(matches)})")
    return clauses, params


def _beyond(flt: QueueFilter, key: tuple[int, ...], op: str) -> tuple[str, list[object]]:
    """Rows whose sort key compares to `key` by `op`. The view pins is_open, so a key led by it
    compares on the rest: the same rows, and SQLite then seeks the grade index."""
    columns = _SORT_COLUMNS[flt.sort]
    if columns[0] == "t.is_open" and key[0] == (flt.view == "open"):
        columns, key = columns[1:], key[1:]
    return f"({', '.join(columns)}) {op} ({', '.join('?' * len(key))})", list(key)


class QueueReader:
    """Pages of the queue as `actor` may see them, each read in its own snapshot."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self.store.read() as tx:
            return tx.all(sql, tuple(params))

    def page(self, flt: QueueFilter, actor: Actor, *, now_ts: int, limit: int,
             after: tuple[int, ...] | None = None, before: tuple[int, ...] | None = None,
             inclusive: bool = False, from_end: bool = False) -> list[TicketRow]:
        """Up to `limit` rows in queue order: after or before a row's sort key, or the last ones."""
        clauses, params = _where(flt, actor, now_ts, self.store.like)
        descending = flt.sort in _DESCENDING
        backwards = before is not None or from_end
        key = before if backwards else after
        if key is not None:
            forward_op = "<" if descending else ">"
            op = {">": "<", "<": ">"}[forward_op] if backwards else forward_op
            clause, key_params = _beyond(flt, key, op + ("=" if inclusive else ""))
            clauses.append(clause)
            params += key_params
        direction = "DESC" if descending != backwards else "ASC"
        # The limit is written in: as a parameter SQLite plans for an unknown size and can pick
        # the sort index over a far more selective one (scope "created" of someone with none).
        sql = (f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY "
               f"{', '.join(f'{c} {direction}' for c in _SORT_COLUMNS[flt.sort])} "
               f"LIMIT {int(limit)}")
        rows = [_row(r) for r in self._all(sql, params)]
        return rows[::-1] if backwards else rows

    def count(self, flt: QueueFilter, actor: Actor, *, now_ts: int,
              before: tuple[int, ...] | None = None) -> int:
        """How many rows the filter holds, or how many sort before `before`."""
        clauses, params = _where(flt, actor, now_ts, self.store.like)
        if before is not None:
            clause, key_params = _beyond(flt, before, ">" if flt.sort in _DESCENDING else "<")
            clauses.append(clause)
            params += key_params
        join = "JOIN customer c ON c.id = t.customer_id " if flt.text.strip() else ""
        sql = f"SELECT count(*) FROM ticket t {join}WHERE {' AND '.join(clauses)}"
        return int(self._all(sql, params)[0][0])


def _row(r: Any) -> TicketRow:
    return TicketRow(
        id=r[0], number=r[1], grade=r[2], status=r[3], work_type=r[4], category=r[5],
        customer_name=r[6], phone_masked=mask_phone(r[7]), handler_name=r[8], channel=r[9],
        due_key=r[10], warn_key=r[11], paused=bool(r[12]), is_open=bool(r[13]), grade_rank=r[14],
        version=r[15], callback_ts=ts(from_db(r[16])) if r[16] else None, site=r[17])
