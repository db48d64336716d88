"""A whole store copied to another database (a SQLite file to PostgreSQL, or back), checked.

The copy goes table by table in the schema's dependency order, in one write unit on the
target, so it lands whole or not at all. Times are copied as the stored UTC text, which keeps
the audit trail's hash chain intact. The case index is built anew on the target (each database
has its own), and every table's rows are counted on both sides at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_console import db
from agent_console.services import audit, permissions
from agent_console.services.actor import Actor
from agent_console.services.errors import ServiceError
from agent_console.services.store import Store, Tx

BATCH = 2000


class CopyRefused(ServiceError):
    """The target already holds work; a copy goes only into a new, empty store."""

    key = "error.copy_target_not_empty"

    def __init__(self) -> None:
        super().__init__("the target store already holds tickets or audit records: copy only "
                         "into a new, empty store")


@dataclass(frozen=True)
class CopyReport:
    counts: dict[str, tuple[int, int]]  # table -> (rows in the source, rows in the copy)
    audit: audit.VerifyResult

    @property
    def mismatched(self) -> list[str]:
        return [name for name, (source, copy) in self.counts.items() if source != copy]

    @property
    def ok(self) -> bool:
        return not self.mismatched and self.audit.ok


def _tables() -> list[Any]:
    from sqlmodel import SQLModel

    import agent_console.models.schema  # noqa: F401  (registers every table)

    return list(SQLModel.metadata.sorted_tables)


def _value(value: Any) -> Any:
    """A time as the stored UTC text (PostgreSQL gives datetimes, SQLite text)."""
    return db.to_db(db.from_db(value)) if isinstance(value, datetime) else value


def _rows(tx: Tx, table: Any, columns: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    order = ", ".join(c.name for c in table.primary_key.columns) or columns[0]
    result = tx.execute(f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {order}")
    while batch := result.fetchmany(BATCH):
        yield [tuple(_value(v) for v in row) for row in batch]


def _counts(store: Store) -> dict[str, int]:
    """Rows in each table (the version mark of a PostgreSQL store left out)."""
    own = " WHERE key NOT IN ({})".format(", ".join(f"'{key}'" for key in db.VERSION_KEYS))
    with store.read() as tx:
        return {table.name: int(tx.scalar(f"SELECT count(*) FROM {table.name}"
                                          f"{own if table.name == 'store_meta' else ''}"))
                for table in _tables()}


def copy_store(source: Store, target: Store, actor: Actor) -> CopyReport:
    """Copy every row of `source` into the new store `target`; the counts and the audit check."""
    from agent_console.services.knowledge import INDEX_META, index_for, index_version, reindex

    actor.require(permissions.RUN_REPORTS)  # a copy holds everything, as a backup does
    tables = _tables()
    with target.read() as tx:
        if tx.scalar("SELECT count(*) FROM audit_log") or tx.scalar("SELECT count(*) FROM ticket"):
            raise CopyRefused()
    with source.read() as src, target.write() as dst:
        for table in reversed(tables):  # what a new store was given (site policy, index mark)
            if table.name != "audit_log":
                dst.execute(f"DELETE FROM {table.name}")
        for table in tables:
            columns = [c.name for c in table.columns]
            insert = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                      f"VALUES ({', '.join('?' for _ in columns)})")
            for batch in _rows(src, table, columns):
                dst.executemany(insert, batch)
        db.mark_store(dst.conn)
        db.reset_sequences(dst.conn)
        index = index_for(target)
        reindex(dst, index)
        dst.execute("DELETE FROM store_meta WHERE key = ?", (INDEX_META,))
        dst.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)",
                    (INDEX_META, index_version(index)))
    before, after = _counts(source), _counts(target)
    return CopyReport({name: (before[name], after.get(name, 0)) for name in before},
                      audit.verify(target))
