"""The store's file and engine: opening checks, the SQLAlchemy engine, schema version and
forward migrations. The schema itself is `models.schema`; this module adds only what SQLModel
cannot say (SQLite's full-text table and the audit trail's triggers)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, overload

APPLICATION_ID = 0x41474331  # "AGC1": marks a file as an Agent Console store
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
SCHEMA_VERSION = 6
FIRST_RELEASED_VERSION = 4  # release 0.1.0; older versions were never released


class StoreError(Exception):
    """A store that cannot be opened; the message is one line for the user."""


# --- times ---------------------------------------------------------------------------------

_DB_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@overload
def to_db(value: datetime) -> str: ...
@overload
def to_db(value: None) -> None: ...
@overload
def to_db(value: datetime | None) -> str | None: ...


def to_db(value: datetime | None) -> str | None:
    """Aware datetime -> the stored UTC text (the same text SQLAlchemy's DateTime uses)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(timezone.utc).strftime(_DB_FORMAT)


@overload
def from_db(value: str | datetime) -> datetime: ...
@overload
def from_db(value: None) -> None: ...
@overload
def from_db(value: str | datetime | None) -> datetime | None: ...


def from_db(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def ts(value: datetime) -> int:
    """Whole Unix seconds: the queue's integer sort and filter keys."""
    return int(value.timestamp())


# --- where a store lives -------------------------------------------------------------------

def store_url(db: str | Path) -> str:
    """A database URL from `--db`: a URL as given, or a file path made into `sqlite:///…`."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a `sqlite:///` URL; None for another database."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    return None


# --- SQLite's own parts, behind the schema ---------------------------------------------------

# kb_fts holds services.cjk tokens of each case (rowid = case id); contentless, since snippets
# come from kb_case. The one-character prefix index makes a lone Chinese character (卡, 猫) a
# prefix query as cheap as a word: without it FTS5 merges every bigram starting with it. The
# audit table refuses updates and deletes.
SQLITE_EXTRAS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5(title, body, meta, content='', "
    "tokenize='unicode61', prefix='1')",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
)
SQLITE_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")


def _create_all(conn: Any) -> None:
    from sqlmodel import SQLModel

    import agent_console.models.schema  # noqa: F401  (registers every table)

    SQLModel.metadata.create_all(conn)
    for statement in SQLITE_EXTRAS:
        conn.exec_driver_sql(statement)


def _v4_to_v5(conn: Any) -> None:
    """Release 0.1.0 -> 0.2.0: intake idempotency, store facts, site policy in the store."""
    conn.exec_driver_sql("ALTER TABLE ticket ADD COLUMN intake_key VARCHAR")
    conn.exec_driver_sql("CREATE UNIQUE INDEX ix_ticket_intake_key ON ticket (intake_key)")
    conn.exec_driver_sql("CREATE INDEX ix_ticket_created_by ON ticket (created_by, is_open, due_key, id)")
    conn.exec_driver_sql("ALTER TABLE ticket ADD COLUMN anonymised_at DATETIME")
    conn.exec_driver_sql("ALTER TABLE customer ADD COLUMN anonymised_at DATETIME")
    conn.exec_driver_sql("ALTER TABLE kb_case ADD COLUMN pending_review BOOLEAN NOT NULL DEFAULT 0")
    _create_all(conn)  # the tables that are new in v5
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_ticket_created_at ON ticket (created_at)")


def _v5_to_v6(conn: Any) -> None:
    """The supervisors' reads answer from indexes: a month's tickets by kind and agent, and a
    customer's tickets by time (the indexes they replace are their prefixes)."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_ticket_created_at")
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_ticket_customer")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_ticket_created ON ticket "
                         "(created_at, work_type, handler_id, created_by)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_ticket_customer_history ON ticket "
                         "(customer_id, created_at, category, work_type)")


# Step i takes a store from version FIRST_RELEASED_VERSION + i to the next. Append; never edit.
MIGRATIONS: list[Callable[[Any], None]] = [_v4_to_v5, _v5_to_v6]
assert FIRST_RELEASED_VERSION + len(MIGRATIONS) == SCHEMA_VERSION


# --- opening -------------------------------------------------------------------------------

CORE_TABLES = frozenset({"agent", "ticket", "customer", "audit_log"})


def _inspect(path: Path) -> tuple[int, int, set[str]]:
    """(application_id, user_version, table names), read without changing a byte."""
    # With no write-ahead log beside it, the file is read as immutable: SQLite then creates no
    # -wal or -shm file next to a file that may turn out not to be ours.
    live = Path(f"{path}-wal").exists()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'' if live else '&immutable=1'}",
                               uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
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
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"{path.parent}: the folder cannot be written (permission denied)")
        if path.stat().st_size == 0:
            raise StoreError(f"{path}: is an empty file, not an Agent Console store (remove it to "
                             "create a new store there)")
        with path.open("rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                raise StoreError(f"{path}: is not an Agent Console store (not an SQLite file)")
        app_id, version, tables = _inspect(path)
        if app_id != APPLICATION_ID or (version == 0 and tables):
            raise StoreError(f"{path}: is an SQLite file of another application, not an Agent Console store")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: store schema v{version} is newer than this Agent Console "
                             f"(v{SCHEMA_VERSION}); upgrade Agent Console to open it")
        if version >= FIRST_RELEASED_VERSION and not CORE_TABLES <= tables:
            raise StoreError(f"{path}: carries the Agent Console mark but not its tables; "
                             "not an Agent Console store")
        if tables and version < FIRST_RELEASED_VERSION:
            raise StoreError(f"{path}: store schema v{version} comes from a development build "
                             "and cannot be upgraded")
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise StoreError(f"{path}: cannot be written (permission denied)")
        return app_id == APPLICATION_ID
    parent = path.parent
    if not parent.is_dir():
        raise StoreError(f"{parent}: folder does not exist")
    if not os.access(parent, os.W_OK):
        raise StoreError(f"{parent}: cannot create the store here (permission denied)")
    return False


def _sqlite_connected(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by _sqlite_begin, not the driver
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA secure_delete=ON")  # what is deleted or erased is overwritten on disk
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN IMMEDIATE for writes (the write lock up front), a plain BEGIN for reads."""
    options = conn.get_execution_options()
    if options.get("isolation_level") != "AUTOCOMMIT":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("write") else "BEGIN")


def make_engine(url: str) -> Any:
    """The one SQLAlchemy engine of a store."""
    from sqlalchemy import create_engine, event

    if sqlite_path(url) is not None:
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Any) -> int:
    """Create a new store or take an older one forward; returns the schema version."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        version = conn.exec_driver_sql("PRAGMA user_version").scalar()
        if version >= SCHEMA_VERSION:
            return SCHEMA_VERSION
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        version = conn.exec_driver_sql("PRAGMA user_version").scalar()
        if version == 0:
            _create_all(conn)
        else:
            for step in MIGRATIONS[version - FIRST_RELEASED_VERSION:]:
                step(conn)
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
        conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
    return SCHEMA_VERSION


def open_store(url: str, *, create: bool = True) -> Any:
    """Check the store behind `url`, create or migrate it, and return its engine."""
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise StoreError(f"{path}: no such store")
        check_store_file(path)
    from sqlalchemy.exc import DBAPIError

    engine = make_engine(url)
    try:
        migrate(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise StoreError(f"{path or url}: cannot open the store ({exc.orig})") from None
    except StoreError as exc:
        engine.dispose()
        raise StoreError(f"{path or url}: {exc}") from None
    return engine


def schema_problems(engine: Any) -> list[str]:
    """What is missing from the store's schema: tables, columns, indexes, triggers."""
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    import agent_console.models.schema  # noqa: F401

    found = inspect(engine)
    tables = set(found.get_table_names())
    problems = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in tables:
            problems.append(f"table {table.name} is missing")
            continue
        columns = {c["name"] for c in found.get_columns(table.name)}
        problems += [f"column {table.name}.{c.name} is missing" for c in table.columns
                     if c.name not in columns]
        indexes = {i["name"] for i in found.get_indexes(table.name)}
        problems += [f"index {i.name} is missing" for i in table.indexes if i.name not in indexes]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            present = {name for (name,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type IN ('trigger', 'table')")}
        problems += [f"trigger {name} is missing" for name in SQLITE_TRIGGERS if name not in present]
        if "kb_fts" not in present:
            problems.append("table kb_fts is missing")
    return problems


def integrity_check(engine: Any) -> list[str]:
    """SQLite's integrity check; ["ok"] for a sound store."""
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]


def schema_version(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar())
