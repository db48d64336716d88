"""Jobs the console runs itself when the site has no scheduler: the backup every
`backup_every_hours`, the retention run once a day (`retention_daily`). Several consoles on one
store take turns: a job is claimed in the store before it runs, so it runs once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from agent_console.db import from_db, to_db
from agent_console.services.store import Store


@dataclass(frozen=True)
class Schedule:
    backup_every_hours: float = 0.0  # 0: the console takes no backups itself
    backup_dir: str = ""
    backup_keep: int = 7
    retention_daily: bool = False


def _claim(store: Store, job: str, every: timedelta) -> bool:
    """True for the one console that may run `job` now; it is then marked as run."""
    key = f"last_{job}"
    with store.write() as tx:
        last = tx.scalar("SELECT value FROM store_meta WHERE key = ?", (key,))
        if last is not None and from_db(last) + every > tx.now:
            return False
        tx.execute("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO "
                   "UPDATE SET value = excluded.value", (key, to_db(tx.now)))
    return True


def run_due(store: Store, schedule: Schedule) -> list[str]:
    """Run what is due; the names of the jobs run."""
    from agent_console.services import backup, privacy

    done = []
    if schedule.backup_every_hours > 0 and store.is_sqlite and _claim(
            store, "backup", timedelta(hours=schedule.backup_every_hours)):
        folder = Path(schedule.backup_dir) if schedule.backup_dir else \
            store.path.parent / "backups"
        backup.backup(store, None, to=folder, keep=schedule.backup_keep)
        done.append("backup")
    if schedule.retention_daily and _claim(store, "retention", timedelta(days=1)):
        privacy.retention_run(store, None)
        done.append("retention")
    return done


def last_run(store: Store, job: str) -> datetime | None:
    with store.read() as tx:
        value = tx.scalar("SELECT value FROM store_meta WHERE key = ?", (f"last_{job}",))
    return from_db(value) if value else None
