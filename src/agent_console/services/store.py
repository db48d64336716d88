"""The store every service works on, and its one way to the data: a unit of work.

```python
with store.write(actor) as tx:      # one transaction; on SQLite the write lock is taken first
    row = tx.one("SELECT … WHERE id = ?", (ticket_id,))
    tx.execute("UPDATE …", (…))
    tx.audit(Action.TICKET_STATUS, f"ticket:{number}", {...})   # in the same transaction
```
A write waits for other writers (retried with back-off) rather than failing; a read sees one
consistent snapshot. No service opens a connection or writes transaction boilerplate itself.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_console import db
from agent_console.clock import Clock
from agent_console.services.catalog import Catalog
from agent_console.services.errors import (
    BusyError,
    ConflictError,
    InputError,
    NotFoundError,
    Refused,
    ServiceError,
)
from agent_console.services.sla import SlaPolicy

if TYPE_CHECKING:
    from agent_console.services.actor import Actor

__all__ = ["BusyError", "ConflictError", "InputError", "NotFoundError", "Refused",
           "ServiceError", "Store", "Tx", "SENTINEL_KEY"]

SENTINEL_KEY = 2**53  # due/warn key of a ticket whose clock is not running: it sorts last
WRITE_WAIT_SECONDS = 30.0  # how long a write waits for other writers before saying "busy"

Params = Sequence[Any] | Mapping[str, Any]


@lru_cache(maxsize=512)
def _statement(sql: str) -> Any:
    """`?` placeholders become named ones, so one SQL text serves SQLite and PostgreSQL."""
    from sqlalchemy import text

    parts = sql.split("?")
    named = parts[0] + "".join(f":p{i}{part}" for i, part in enumerate(parts[1:]))
    return text(named)


def _bind(params: Params) -> Mapping[str, Any]:
    if isinstance(params, Mapping):
        return params
    return {f"p{i}": value for i, value in enumerate(params)}


_QMARKS = re.compile(r"\?")


class Tx:
    """One unit of work: a connection inside one transaction, with the acting agent and time."""

    def __init__(self, conn: Any, store: Store, actor: Actor | None) -> None:
        self.conn = conn
        self.store = store
        self.actor = actor
        self.now: datetime = store.clock.now()
        self.head: tuple[int, str] | None = None  # the audit trail's head after this tx
        self._flags = store.flags_as_numbers

    def _bind(self, params: Params) -> Mapping[str, Any]:
        bound = _bind(params)
        return db.flag_params(bound) if self._flags else bound

    def execute(self, sql: str, params: Params = ()) -> Any:
        if isinstance(params, Mapping) or not _QMARKS.search(sql):
            from sqlalchemy import text

            return self.conn.execute(text(sql) if not isinstance(params, Sequence) or not params
                                     else _statement(sql), self._bind(params))
        return self.conn.execute(_statement(sql), self._bind(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            self.conn.execute(_statement(sql), [self._bind(r) for r in rows])

    def one(self, sql: str, params: Params = ()) -> Any:
        return self.execute(sql, params).first()

    def all(self, sql: str, params: Params = ()) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: Params = ()) -> Any:
        return self.execute(sql, params).scalar()

    def audit(self, action: str, target: str = "", detail: dict[str, Any] | None = None, *,
              agent: str | None = None) -> int:
        """Append to the audit trail inside this transaction: both land, or neither."""
        from agent_console.services import audit

        who = agent if agent is not None else (self.actor.code if self.actor else "system")
        return audit.append(self, at=self.now, agent=who, action=action, target=target,
                            detail=detail)

    def event(self, ticket_id: int, kind: str, **detail: Any) -> None:
        """A line on the ticket's timeline, by the acting agent."""
        import json

        self.execute("INSERT INTO ticket_event (ticket_id, at, agent_id, kind, detail) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (ticket_id, db.to_db(self.now), self.actor.agent_id if self.actor else None,
                      kind, json.dumps(detail, ensure_ascii=False)))


@dataclass(frozen=True)
class Store:
    """A database (a SQLite file by default) with its clock and the site's policy."""

    url: str
    engine: Any = field(repr=False)
    clock: Clock
    policy: SlaPolicy
    catalog: Catalog
    permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    witness: Any = field(default=None, compare=False, repr=False)  # services.audit.Witness

    @property
    def path(self) -> Path:
        """The store file (SQLite stores); other databases have none."""
        path = db.sqlite_path(self.url)
        if path is None:
            raise ValueError("this store is not a file")
        return path

    @property
    def is_sqlite(self) -> bool:
        return bool(self.engine.dialect.name == "sqlite")

    @property
    def flags_as_numbers(self) -> bool:
        """Python bools are bound as 0 and 1 (see db.flag_params)."""
        return db.is_postgres(self.engine)

    @property
    def like(self) -> str:
        """LIKE on SQLite, ILIKE on PostgreSQL: a text filter ignores case on both."""
        return db.like_operator(self.engine)

    @contextmanager
    def write(self, actor: Actor | None = None) -> Iterator[Tx]:
        """One write transaction; the write lock is taken up front and waited for."""
        from sqlalchemy.exc import OperationalError

        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        pause = 0.01
        while True:
            conn = self.engine.connect().execution_options(write=True)
            try:
                transaction = conn.begin()
                break
            except OperationalError as exc:
                conn.close()
                if "lock timeout" in str(exc.orig):  # PostgreSQL waited db.PG_WRITE_WAIT_SECONDS
                    raise BusyError() from None
                if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                    raise
                if time.monotonic() > deadline:
                    raise BusyError() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
        tx = Tx(conn, self, actor)
        try:
            yield tx
            transaction.commit()
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
        finally:
            conn.close()
        if tx.head is not None and self.witness is not None:
            self.witness.anchor(*tx.head, at=tx.now)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """One consistent snapshot for reading."""
        conn = self.engine.connect()
        try:
            with conn.begin() as transaction:
                yield Tx(conn, self, None)
                transaction.rollback()
        finally:
            conn.close()

    def close(self) -> None:
        self.engine.dispose()


_LOCK = threading.Lock()


def open_store(db_location: str | Path, *, clock: Clock, create: bool = True) -> Store:
    """Open (create or migrate) the store and load the site's policy from it."""
    from agent_console.services import site

    url = db.store_url(db_location)
    with _LOCK:
        engine = db.open_store(url, create=create)
    from agent_console.services.catalog import load_catalog
    from agent_console.services.sla import load_policy

    store = Store(url=url, engine=engine, clock=clock, policy=load_policy(),
                  catalog=load_catalog())
    store = site.load(store)
    from agent_console.services.knowledge import ensure_index

    ensure_index(store)  # the search index is rebuilt when its tokens changed
    return store
