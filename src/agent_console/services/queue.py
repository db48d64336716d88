"""The queue's reads: one page at a time by key, straight SQL so start-up stays light."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from agent_console import db
from agent_console.models.read import TicketRow
from agent_console.text import mask_phone

SCOPES = ("all", "mine", "team")
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
       t.is_open, t.grade_rank, t.version
FROM ticket t JOIN customer c ON c.id = t.customer_id LEFT JOIN agent a ON a.id = t.handler_id
"""


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
    text: str = ""

    def with_(self, **changes: str) -> QueueFilter:
        return replace(self, **changes)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: decides what "mine" and "my team" mean."""

    agent_id: int | None
    team: str = ""
    department: str | None = None
    see_all: bool = True  # a role without it sees its own team's tickets, whatever the scope


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(flt: QueueFilter, viewer: Viewer, now_ts: int) -> tuple[list[str], list[object]]:
    clauses = ["t.is_open = ?"]
    params: list[object] = [1 if flt.view == "open" else 0]
    if flt.scope == "mine":
        clauses.append("t.handler_id = ?")
        params.append(viewer.agent_id if viewer.agent_id is not None else -1)
    if flt.scope == "team" or (flt.scope == "all" and not viewer.see_all):
        clauses.append("(t.handler_id IN (SELECT id FROM agent WHERE team = ? AND team != '')"
                       " OR (t.handler_id IS NULL AND t.department = ?))")
        params += [viewer.team, viewer.department or ""]
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
    if flt.text.strip():
        pattern = _like(flt.text.strip())
        clauses.append("(t.number LIKE ?1 ESCAPE '\\' OR c.name LIKE ?1 ESCAPE '\\' OR c.phone LIKE ?1"
                       " ESCAPE '\\' OR t.description LIKE ?1 ESCAPE '\\')".replace("?1", "?"))
        params += [pattern] * 4
    return clauses, params


class QueueReader:
    """A read connection shared by the queue's workers (one query at a time)."""

    def __init__(self, path: Path) -> None:
        self._conn = db.connect(path, check_same_thread=False)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def data_version(self) -> int:
        """Changes whenever another connection commits to the store."""
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def page(self, flt: QueueFilter, viewer: Viewer, *, now_ts: int, limit: int,
             after: tuple[int, ...] | None = None, before: tuple[int, ...] | None = None,
             inclusive: bool = False, from_end: bool = False) -> list[TicketRow]:
        """Up to `limit` rows in queue order: after or before a row's sort key, or the last ones."""
        clauses, params = _where(flt, viewer, now_ts)
        columns = _SORT_COLUMNS[flt.sort]
        descending = flt.sort in _DESCENDING
        backwards = before is not None or from_end
        key = before if backwards else after
        if key is not None:
            forward_op = "<" if descending else ">"
            op = {">": "<", "<": ">"}[forward_op] if backwards else forward_op
            clauses.append(f"({', '.join(columns)}) {op}{'=' if inclusive else ''} "
                           f"({', '.join('?' * len(key))})")
            params += list(key)
        direction = "DESC" if descending != backwards else "ASC"
        sql = (f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY "
               f"{', '.join(f'{c} {direction}' for c in columns)} LIMIT ?")
        with self._lock:
            raw = self._conn.execute(sql, [*params, limit]).fetchall()
        rows = [_row(r) for r in raw]
        return rows[::-1] if backwards else rows

    def count(self, flt: QueueFilter, viewer: Viewer, *, now_ts: int,
              before: tuple[int, ...] | None = None) -> int:
        """How many rows the filter holds, or how many sort before `before`."""
        clauses, params = _where(flt, viewer, now_ts)
        if before is not None:
            columns = _SORT_COLUMNS[flt.sort]
            op = ">" if flt.sort in _DESCENDING else "<"
            clauses.append(f"({', '.join(columns)}) {op} ({', '.join('?' * len(before))})")
            params += list(before)
        join = "JOIN customer c ON c.id = t.customer_id " if flt.text.strip() else ""
        sql = f"SELECT count(*) FROM ticket t {join}WHERE {' AND '.join(clauses)}"
        with self._lock:
            return self._conn.execute(sql, params).fetchone()[0]


def _row(r: sqlite3.Row | tuple) -> TicketRow:
    return TicketRow(
        id=r[0], number=r[1], grade=r[2], status=r[3], work_type=r[4], category=r[5],
        customer_name=r[6], phone_masked=mask_phone(r[7]), handler_name=r[8], channel=r[9],
        due_key=r[10], warn_key=r[11], paused=bool(r[12]), is_open=bool(r[13]), grade_rank=r[14],
        version=r[15])

