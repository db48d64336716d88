"""Change notification: has anyone committed to the store since the last look?

On SQLite the feed polls `PRAGMA data_version`; on PostgreSQL it LISTENs on one channel, to
which triggers (db.PG_EXTRAS) send `ticket:<id>:v<version>` for each ticket written and the
table's name for the hall and outage tables: small payloads, sent only at commit. A feed whose
connection dropped reconnects and reports a change, since what was sent meanwhile is lost."""

from __future__ import annotations

import threading
from typing import Any, Protocol

from agent_console import db
from agent_console.services.store import Store


class ChangeFeed(Protocol):
    """Tells a screen when to read again; it carries no data."""

    def changed(self) -> bool:
        """True when the store changed since the last call (or since the feed was opened)."""
        ...

    def close(self) -> None: ...


class SqliteChangeFeed:
    """Polls SQLite's `PRAGMA data_version` on a connection of its own.

    The number moves whenever another connection commits, and every write goes through the
    store's pool, so this connection is never the writer and sees every change.
    """

    def __init__(self, store: Store) -> None:
        conn: Any = store.engine.raw_connection()
        conn.detach()  # kept for the feed's life, never handed back to the pool
        self._conn = conn
        self._lock = threading.Lock()
        self._seen = self._version()

    def _version(self) -> int:
        cursor = self._conn.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def changed(self) -> bool:
        with self._lock:
            version = self._version()
            moved, self._seen = version != self._seen, version
        return moved

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# With no wait at all psycopg does not read the socket, and would not notice a dropped link.
POLL_WAIT_SECONDS = 0.005


class PgChangeFeed:
    """LISTENs on db.PG_CHANNEL on a connection of its own; `tickets` holds the latest version of
    each ticket announced since the feed was opened."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._conn: Any = None
        self.tickets: dict[int, int] = {}
        self._connect()

    def _connect(self) -> None:
        pooled: Any = self._store.engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()  # kept for the feed's life, never handed back to the pool
        driver.rollback()
        driver.autocommit = True
        driver.execute(f"LISTEN {db.PG_CHANNEL}")
        self._conn = driver

    def _drain(self) -> bool:
        seen = False
        for note in self._conn.notifies(timeout=POLL_WAIT_SECONDS):
            seen = True
            kind, _, rest = note.payload.partition(":")
            if kind == "ticket":
                ticket_id, _, version = rest.partition(":v")
                if ticket_id.isdigit() and version.isdigit():
                    self.tickets[int(ticket_id)] = int(version)
        return seen

    def changed(self) -> bool:
        import psycopg

        with self._lock:
            try:
                if self._conn is None:
                    self._connect()
                    return True  # what was announced while away is lost: read again
                return self._drain()
            except psycopg.OperationalError:
                self._drop()
                try:
                    self._connect()
                except Exception:
                    return False  # still away; tried again at the next look
                return True

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


def open_feed(store: Store) -> ChangeFeed:
    """The change feed of the store's database."""
    if db.is_postgres(store.engine):
        return PgChangeFeed(store)
    return SqliteChangeFeed(store)
