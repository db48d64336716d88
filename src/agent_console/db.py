"""The store: opening checks, connection pragmas, schema version and forward migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

APPLICATION_ID = 0x41474331  # "AGC1": marks a file as an Agent Console store
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """A store that cannot be opened; the message is one line for the user."""


# --- times ---------------------------------------------------------------------------------

_DB_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def to_db(value: datetime | None) -> str | None:
    """Aware datetime -> the stored UTC text (the same text SQLAlchemy's DateTime uses)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(timezone.utc).strftime(_DB_FORMAT)


def from_db(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def ts(value: datetime) -> int:
    """Whole Unix seconds: the queue's integer sort and filter keys."""
    return int(value.timestamp())


# --- schema ----------------------------------------------------------------------------------

SCHEMA_V1 = """
CREATE TABLE department (
    code TEXT PRIMARY KEY,
    name_en TEXT NOT NULL,
    name_zh TEXT NOT NULL
);
CREATE TABLE agent (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    department TEXT REFERENCES department(code),
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    id_number TEXT NOT NULL DEFAULT '',
    tier TEXT NOT NULL,
    green_channel INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE ticket (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customer(id),
    channel TEXT NOT NULL,
    work_type TEXT NOT NULL,
    category TEXT NOT NULL,
    requested_grade TEXT NOT NULL,
    grade TEXT NOT NULL,
    grade_rank INTEGER NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    resolution TEXT NOT NULL DEFAULT '',
    department TEXT REFERENCES department(code),
    handler_id INTEGER REFERENCES agent(id),
    handler_set_at TEXT,
    owner_id INTEGER REFERENCES agent(id),
    owner_set_at TEXT,
    dispatched_at TEXT,
    created_by INTEGER REFERENCES agent(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    responded_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    paused_since TEXT,
    paused_seconds REAL NOT NULL DEFAULT 0,
    response_target_s INTEGER NOT NULL,
    resolution_target_s INTEGER NOT NULL,
    response_lead_s INTEGER NOT NULL,
    resolution_lead_s INTEGER NOT NULL,
    response_due TEXT NOT NULL,
    resolution_due TEXT NOT NULL,
    response_warned_at TEXT,
    response_breached_at TEXT,
    resolution_warned_at TEXT,
    resolution_breached_at TEXT,
    is_open INTEGER NOT NULL,
    due_key INTEGER NOT NULL,
    warn_key INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX ix_ticket_queue_due ON ticket (is_open, due_key, id);
CREATE INDEX ix_ticket_queue_grade ON ticket (is_open, grade_rank, due_key, id);
CREATE INDEX ix_ticket_warn ON ticket (is_open, warn_key);
CREATE INDEX ix_ticket_handler ON ticket (handler_id, is_open, due_key, id);
CREATE INDEX ix_ticket_department ON ticket (department, is_open, due_key, id);
CREATE INDEX ix_ticket_category ON ticket (category, is_open, due_key, id);
CREATE INDEX ix_ticket_channel ON ticket (channel, is_open, due_key, id);
CREATE INDEX ix_ticket_customer ON ticket (customer_id);
CREATE TABLE ticket_event (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES ticket(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    agent_id INTEGER REFERENCES agent(id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_ticket_event_ticket ON ticket_event (ticket_id, id);
CREATE TABLE agent_preference (
    agent_code TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (agent_code, key)
);
"""

# The fault-case knowledge base. kb_fts holds services.cjk tokens of each case (rowid = case
# id), written by services.knowledge; contentless, since snippets come from kb_case.
SCHEMA_V2_KB = """
CREATE TABLE kb_case (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    symptoms TEXT NOT NULL,
    cause TEXT NOT NULL,
    resolution TEXT NOT NULL,
    prevention TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    language TEXT NOT NULL CHECK (language IN ('zh', 'en')),
    source_ticket_id INTEGER REFERENCES ticket(id) ON DELETE SET NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    times_used INTEGER NOT NULL DEFAULT 0,
    retired INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE kb_case_history (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES kb_case(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    author TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT,
    new TEXT
);
CREATE INDEX ix_kb_case_history_case ON kb_case_history (case_id, id);
CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, meta, content='', tokenize='unicode61');
CREATE TABLE ticket_case (
    ticket_id INTEGER NOT NULL REFERENCES ticket(id) ON DELETE CASCADE,
    case_id INTEGER NOT NULL REFERENCES kb_case(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    agent_id INTEGER REFERENCES agent(id),
    PRIMARY KEY (ticket_id, case_id)
)
"""


# Sign-in, the customer-information change log and the tamper-evident audit trail. The audit
# table refuses updates and deletes; the hash chain (services.audit) shows any edit made around
# that, e.g. with the triggers dropped.
SCHEMA_V3_SECURITY = """
ALTER TABLE agent ADD COLUMN pin_hash TEXT;
ALTER TABLE agent ADD COLUMN failed_pins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agent ADD COLUMN locked_until TEXT;
ALTER TABLE agent ADD COLUMN os_user TEXT;
ALTER TABLE customer ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE customer ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE customer ADD COLUMN plan TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX ix_agent_os_user ON agent (os_user) WHERE os_user IS NOT NULL;
CREATE TABLE customer_change (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer(id),
    at TEXT NOT NULL,
    agent_code TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX ix_customer_change_customer ON customer_change (customer_id, id);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    agent_code TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE TABLE audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    last_id INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END
"""


# Guided contacts: the script run stored with its ticket, and follow-up tickets' parent.
SCHEMA_V4_SCRIPTS = """
ALTER TABLE ticket ADD COLUMN parent_id INTEGER REFERENCES ticket(id);
CREATE TABLE script_run (
    ticket_id INTEGER PRIMARY KEY REFERENCES ticket(id) ON DELETE CASCADE,
    script_id TEXT NOT NULL,
    record TEXT NOT NULL,
    adherence TEXT NOT NULL,
    score INTEGER NOT NULL,
    finished_at TEXT
)
"""


def _run_script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def migrate(conn: sqlite3.Connection) -> None:
        statement = ""
        for part in sql.split(";"):
            statement += part
            if not part.strip():
                continue
            if sqlite3.complete_statement(statement + ";"):
                conn.execute(statement)
                statement = ""
            else:
                statement += ";"  # a semicolon inside a trigger body

    return migrate


# Each entry takes a store from version i to i+1. Append; never edit a released step.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _run_script(SCHEMA_V1),
    _run_script(SCHEMA_V2_KB),
    _run_script(SCHEMA_V3_SECURITY),
    _run_script(SCHEMA_V4_SCRIPTS),
]
SCHEMA_VERSION = len(MIGRATIONS)


# --- opening ---------------------------------------------------------------------------------

def _inspect(path: Path) -> tuple[int, int, int]:
    """(application_id, user_version, table count), read without changing a byte."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: the file is damaged or not a database ({exc})") from None
    return app_id, version, tables


def check_store_file(path: Path) -> bool:
    """Refuse paths that cannot hold a store. True when the store already exists."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a store file")
    if path.exists():
        if not path.is_file():
            raise StoreError(f"{path}: is not a regular file")
        if not os.access(path, os.R_OK):
            raise StoreError(f"{path}: cannot be read (permission denied)")
        if path.stat().st_size == 0:
            return False
        with path.open("rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                raise StoreError(f"{path}: is not an Agent Console store (not an SQLite file)")
        app_id, version, tables = _inspect(path)
        if app_id != APPLICATION_ID and tables:
            raise StoreError(f"{path}: is an SQLite file of another application, not an Agent Console store")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: store schema v{version} is newer than this Agent Console "
                             f"(v{SCHEMA_VERSION}); upgrade Agent Console to open it")
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise StoreError(f"{path}: cannot be written (permission denied)")
        return app_id == APPLICATION_ID
    parent = path.parent
    if not parent.is_dir():
        raise StoreError(f"{parent}: folder does not exist")
    if not os.access(parent, os.W_OK):
        raise StoreError(f"{parent}: cannot create the store here (permission denied)")
    return False


def apply_pragmas(conn: Any) -> None:
    """Per-connection settings; `conn` is a DB-API connection (sqlite3 or SQLAlchemy's)."""
    cur = conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=check_same_thread, isolation_level=None,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    apply_pragmas(conn)
    return conn


def open_store(path: Path) -> int:
    """Check, create or migrate the store at `path`; returns the schema version it is at."""
    path = path.expanduser()
    check_store_file(path)
    try:
        conn = connect(path)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    for step in MIGRATIONS[version:]:
                        step(conn)
                    conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            return SCHEMA_VERSION
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the store ({exc})") from None


def integrity_check(path: Path) -> list[str]:
    """SQLite's integrity check; ["ok"] for a sound store."""
    conn = connect(path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def schema_version(path: Path) -> int:
    return _inspect(path)[1]


_ENGINES: dict[Path, Any] = {}


def engine_for(path: Path) -> Any:
    """The SQLAlchemy engine for a store (created once; SQLModel imported only here)."""
    path = path.expanduser().resolve()
    if path not in _ENGINES:
        from sqlalchemy import event
        from sqlmodel import create_engine

        engine = create_engine(f"sqlite:///{path}", connect_args={
            "check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", lambda dbapi_conn, _record: apply_pragmas(dbapi_conn))
        _ENGINES[path] = engine
    return _ENGINES[path]
