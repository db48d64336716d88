"""Change notification: has anyone committed to the store since the last look?"""

from __future__ import annotations

import threading
from typing import Any, Protocol

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
