"""Online backup of a live store, and a restore that checks the copy before anything else.

A backup is SQLite's online backup (pages copied while agents keep working, never a file
copy of a store in use) into `NAME.db`, with `NAME.json` beside it: when it was taken, the
counts, the audit trail's head and the copy's SHA-256. The copy is verified (integrity check,
the audit chain, the counts) before it is kept, the oldest beyond `keep` are removed, and the
backup is recorded on the live store's trail.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from agent_console.clock import Clock
from agent_console.services import permissions
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.errors import InputError, ServiceError
from agent_console.services.store import Store

COUNTED = ("ticket", "customer", "agent", "kb_case", "audit_log")
PREFIX = "agent-console-"


class BackupError(ServiceError):
    """A backup or restore that cannot be trusted; the message names what is wrong."""

    key = "backup.error"

    def __init__(self, message: str) -> None:
        super().__init__(message, problem=message)


@dataclass(frozen=True)
class Manifest:
    file: str
    taken_at: str
    schema_version: int
    counts: dict[str, int]
    audit_head: tuple[int, str]
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _facts(conn: sqlite3.Connection) -> tuple[int, dict[str, int], tuple[int, str]]:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    counts = {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in COUNTED}
    head = conn.execute("SELECT last_id, last_hash FROM audit_head WHERE one = 1").fetchone()
    return version, counts, (int(head[0]), str(head[1])) if head else (0, "0" * 64)


def _check_copy(path: Path) -> tuple[int, dict[str, int], tuple[int, str]]:
    """Integrity, the audit chain up to its head, and the counts of a copy (read-only)."""
    from agent_console.services import audit

    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"{path.name}: integrity check failed ({result[0]})")
        problem = audit.check_chain(conn)
        if problem:
            raise BackupError(f"{path.name}: audit trail: {problem}")
        return _facts(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path.name}: not a readable store ({exc})") from None
    finally:
        conn.close()


class ServerStore(BackupError):
    """The store is on a database server, whose own tools back it up."""

    key = "backup.on_server"


def refuse_server_store(store: Store) -> None:
    """A backup is a copy of a store file; a server's database is backed up by the server."""
    if not store.is_sqlite:
        raise ServerStore("this store is on a database server: back it up with the server's "
                          "own tools (pg_dump, point-in-time recovery)")


def backup(store: Store, actor: Actor | None, *, to: Path, keep: int = 7) -> Manifest:
    """Copy the live store into `to`, verify the copy, keep the newest `keep` backups. An agent
    needs a role that may run exports (a backup holds everything); None is the console's own
    schedule."""
    if actor is not None:
        actor.require(permissions.RUN_REPORTS)
    refuse_server_store(store)
    if keep < 1:
        raise InputError("keep", "must be at least 1", code="at_least_one")
    to.mkdir(parents=True, exist_ok=True)
    now = store.clock.now()
    name = f"{PREFIX}{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z"
    target = to / f"{name}.db"
    partial = to / f"{name}.db.part"
    raw = store.engine.raw_connection()
    try:
        dest = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(dest, pages=1024)
            dest.execute("PRAGMA journal_mode=DELETE")
        finally:
            dest.close()
    finally:
        raw.close()
    try:
        version, counts, head = _check_copy(partial)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    manifest = Manifest(target.name, now.isoformat(), version, counts, head, _sha256(target))
    (to / f"{name}.json").write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    _prune(to, keep)
    with store.write(actor) as tx:
        tx.audit(Action.BACKUP, target.name, {"sha256": manifest.sha256, "audit_head": head[0],
                                               "tickets": counts["ticket"]})
    return manifest


def _prune(folder: Path, keep: int) -> None:
    kept = sorted(folder.glob(f"{PREFIX}*.json"), reverse=True)
    for old in kept[keep:]:
        (folder / (old.stem + ".db")).unlink(missing_ok=True)
        old.unlink(missing_ok=True)


def read_manifest(copy: Path) -> Manifest:
    path = copy.with_suffix(".json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(data["file"], data["taken_at"], int(data["schema_version"]),
                        {k: int(v) for k, v in data["counts"].items()},
                        (int(data["audit_head"][0]), str(data["audit_head"][1])),
                        str(data["sha256"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        raise BackupError(f"{path.name}: the backup's description is missing or damaged") \
            from None


def in_use(path: Path) -> bool:
    """Whether any process has the store (or its write-ahead log) open (Linux: /proc)."""
    targets = {str(path.resolve()), f"{path.resolve()}-wal", f"{path.resolve()}-shm"}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                if os.readlink(fd) in targets:
                    return True
        except OSError:
            continue
    return False


def restore(copy: Path, *, db: Path, replace: bool, clock: Clock) -> Manifest:
    """Check the copy first; then write it to `db` (never over a store in use)."""
    if not copy.is_file():
        raise BackupError(f"{copy}: no such backup")
    manifest = read_manifest(copy)
    if _sha256(copy) != manifest.sha256:
        raise BackupError(f"{copy.name}: the file does not match its checksum")
    version, counts, head = _check_copy(copy)
    if (counts, head) != (manifest.counts, manifest.audit_head):
        raise BackupError(f"{copy.name}: the counts or the audit head differ from its description")
    if db.exists():
        if not replace:
            raise BackupError(f"{db}: a store is there; add --replace to overwrite it")
        if in_use(db):
            raise BackupError(f"{db}: the store is in use; stop every console on it first")
    partial = db.with_name(db.name + ".restoring")
    source = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        dest = sqlite3.connect(partial)
        try:
            source.backup(dest)
            dest.execute("PRAGMA journal_mode=WAL")
        finally:
            dest.close()
    finally:
        source.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.replace(partial, db)
    witness = db.with_name(db.name + ".witness")
    # The restored store's witness starts at the head the backup holds, so it agrees with it.
    witness.write_text(json.dumps({"id": head[0], "hash": head[1],
                                   "at": clock.now().isoformat(), "restored_from": copy.name})
                       + "\n", encoding="utf-8")
    return manifest


def taken_at(manifest: Manifest) -> datetime:
    return datetime.fromisoformat(manifest.taken_at)
