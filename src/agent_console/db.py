"""The store's file and engine: opening checks, the SQLAlchemy engine, schema version and
forward migrations. The schema itself is `models.schema`; this module adds only what SQLModel
cannot say (the full-text index and the audit trail's triggers).

A store is a SQLite file (the default) or a PostgreSQL database. What differs between the two
is kept here: on SQLite the version is `PRAGMA user_version` and the write lock is BEGIN
IMMEDIATE; on PostgreSQL the version is a row of `store_meta` and the write lock is a
transaction-scoped advisory lock, so writers queue as they do on SQLite."""

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
SCHEMA_VERSION = 7
FIRST_RELEASED_VERSION = 4  # release 0.1.0; older versions were never released


class StoreError(Exception):
    """A store that cannot be opened: one line for the user, from the catalog key
    `store_error.<code>` in the user's language; `str()` is the English line."""

    def __init__(self, code: str, message: str, *, where: str = "", **params: Any) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.code, self.message, self.where, self.params = code, message, where, params

    def at(self, where: str) -> StoreError:
        """The same error, said of the store at `where` (a path, or a URL without password)."""
        return StoreError(self.code, self.message, where=where, **self.params)

    def localized(self) -> str:
        from agent_console.i18n import has_key, t

        key = f"store_error.{self.code}"
        if not has_key(key):
            return str(self)
        text = t(key, **self.params)
        return f"{self.where}: {text}" if self.where else text


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

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
POSTGRES_DRIVER = "postgresql+psycopg://"


def store_url(db: str | Path) -> str:
    """A database URL from `--db`: a URL as given (PostgreSQL through psycopg 3), or a file
    path made into `sqlite:///…`."""
    text = str(db)
    for scheme in POSTGRES_SCHEMES:
        if text.startswith(scheme):
            return POSTGRES_DRIVER + text[len(scheme):]
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


# The knowledge-base index on PostgreSQL (services.case_search.PgCaseIndex): kb_doc holds each
# indexed case's filters and length in tokens, kb_token each (token, case) with the token's count
# and positions in the title and in the body, so that phrases are checked and FTS5's bm25 is
# worked out in SQL. Dropped and made anew when the index is rebuilt (its format changed).
PG_KB_TABLES: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS kb_doc (case_id INTEGER PRIMARY KEY, category VARCHAR NOT NULL, "
    "retired SMALLINT NOT NULL, size INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kb_token (token VARCHAR NOT NULL, case_id INTEGER NOT NULL "
    "REFERENCES kb_doc (case_id) ON DELETE CASCADE, title_tf INTEGER NOT NULL, "
    "body_tf INTEGER NOT NULL, title_pos INTEGER[] NOT NULL, body_pos INTEGER[] NOT NULL, "
    "PRIMARY KEY (token, case_id))",
    # token LIKE 'ab%' (a prefix query) uses this index whatever the database's collation
    "CREATE INDEX IF NOT EXISTS ix_kb_token_prefix ON kb_token (token varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_kb_token_case ON kb_token (case_id)",
)


# The same on PostgreSQL, in PL/pgSQL; TRUNCATE is refused too. kb_token holds the cjk tokens
# of each case (see services.case_search.PgCaseIndex).
PG_EXTRAS: tuple[str, ...] = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE OR REPLACE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    *PG_KB_TABLES,
)
PG_CHANNEL = "agent_console"  # services.changes.PgChangeFeed listens here
PG_EXTRAS += (
    "CREATE OR REPLACE FUNCTION agent_console_ticket_notify() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{PG_CHANNEL}', 'ticket:' || NEW.id || ':v' || NEW.version); "
    "RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER ticket_notify AFTER INSERT OR UPDATE ON ticket "
    "FOR EACH ROW EXECUTE FUNCTION agent_console_ticket_notify()",
    # Any other table: its name, once per statement (equal payloads fold into one per commit).
    "CREATE OR REPLACE FUNCTION agent_console_table_notify() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{PG_CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$",
)


def _pg_notify_triggers(conn: Any) -> None:
    """A statement trigger on every table but ticket (whose rows announce themselves)."""
    from sqlmodel import SQLModel

    for table in SQLModel.metadata.sorted_tables:
        if table.name != "ticket":
            conn.exec_driver_sql(
                f"CREATE OR REPLACE TRIGGER {table.name}_notify AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table.name} FOR EACH STATEMENT EXECUTE FUNCTION agent_console_table_notify()")


PG_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_truncate")
PG_LOCK_KEY = 0x41474331  # the advisory lock every write unit takes first ("AGC1")
PG_WRITE_WAIT_SECONDS = 30  # as services.store.WRITE_WAIT_SECONDS


def is_postgres(engine_or_conn: Any) -> bool:
    return bool(engine_or_conn.dialect.name == "postgresql")


def like_operator(engine_or_conn: Any) -> str:
    """The pattern match that ignores case: SQLite's LIKE does (for ASCII letters), PostgreSQL's
    LIKE does not, so there it is ILIKE."""
    return "ILIKE" if is_postgres(engine_or_conn) else "LIKE"


def _create_all(conn: Any) -> None:
    from sqlmodel import SQLModel

    import agent_console.models.schema  # noqa: F401  (registers every table)

    SQLModel.metadata.create_all(conn)
    for statement in (PG_EXTRAS if is_postgres(conn) else SQLITE_EXTRAS):
        conn.exec_driver_sql(statement)
    if is_postgres(conn):
        _pg_notify_triggers(conn)


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


# The site every row belongs to before a store has others (models.tables.DEFAULT_SITE).
MAIN_SITE = ("main", "Main site", "本部", "hall")
SITE_TABLES = ("agent", "ticket", "hall_visit", "hall_counter", "hall_call")


def _seed_main_site(conn: Any) -> None:
    conn.exec_driver_sql(
        "INSERT INTO site (code, name_en, name_zh, kind) VALUES "
        + ("(%s, %s, %s, %s)" if is_postgres(conn) else "(?, ?, ?, ?)")
        + " ON CONFLICT (code) DO NOTHING", MAIN_SITE)


def _v6_to_v7(conn: Any) -> None:
    """Sites: tickets, agents, counters and the hall queue carry the hall or hotline centre
    they belong to; what is already there belongs to the main site. SQLite cannot add a column
    that references another table with a default, so there the reference is the services'
    (PostgreSQL keeps it as a foreign key)."""
    from sqlalchemy import inspect

    _create_all(conn)  # the site table
    _seed_main_site(conn)
    found = inspect(conn)
    reference = " REFERENCES site (code)" if is_postgres(conn) else ""
    for table in SITE_TABLES:
        if "site" not in {c["name"] for c in found.get_columns(table)}:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN site VARCHAR NOT NULL "
                                 f"DEFAULT 'main'{reference}")
    for old in ("ix_hall_visit_status", "ix_hall_visit_day", "ix_hall_visit_number",
                "ix_hall_call_at", "ix_ticket_warn"):
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {old}")
    for statement in (
            "ix_ticket_warn ON ticket (is_open, warn_key, due_key)",
            "ix_ticket_site ON ticket (site, is_open, due_key, id)",
            "ix_ticket_site_grade ON ticket (site, is_open, grade_rank, due_key, id)",
            "ix_ticket_site_warn ON ticket (site, is_open, warn_key, due_key)",
            "ix_hall_visit_site_status ON hall_visit (site, status, service, line_at, id)",
            "ix_hall_visit_site_day ON hall_visit (site, day, service)",
            "ix_hall_call_site_at ON hall_call (site, at)"):
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {statement}")
    conn.exec_driver_sql("CREATE UNIQUE INDEX IF NOT EXISTS ix_hall_visit_site_number "
                         "ON hall_visit (site, day, number)")
    # The planner learns the new indexes (SQLite: only where it was already taught the old).
    if is_postgres(conn) or conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar():
        conn.exec_driver_sql("ANALYZE ticket")


# Step i takes a store from version FIRST_RELEASED_VERSION + i to the next. Append; never edit.
# A step gets the connection and must work on both databases (see `is_postgres`) from v5 on:
# PostgreSQL stores begin at FIRST_POSTGRES_VERSION.
FIRST_POSTGRES_VERSION = 5
MIGRATIONS: list[Callable[[Any], None]] = [_v4_to_v5, _v5_to_v6, _v6_to_v7]
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
        raise StoreError("damaged", f"the file is damaged or not a database ({exc})", where=str(path),
                         detail=str(exc)) from None
    return app_id, version, tables


def check_store_file(path: Path) -> bool:
    """Refuse paths that cannot hold a store. True when the store already exists."""
    if path.is_dir():
        raise StoreError("directory", "is a directory, not a store file", where=str(path))
    if path.exists():
        if not path.is_file():
            raise StoreError("not_regular", "is not a regular file", where=str(path))
        if not os.access(path, os.R_OK):
            raise StoreError("unreadable", "cannot be read (permission denied)", where=str(path))
        if not os.access(path.parent, os.W_OK):
            raise StoreError("folder_unwritable", "the folder cannot be written (permission denied)",
                             where=str(path.parent))
        if path.stat().st_size == 0:
            raise StoreError("empty_file", "is an empty file, not an Agent Console store (remove it "
                             "to create a new store there)", where=str(path))
        with path.open("rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                raise StoreError("not_sqlite", "is not an Agent Console store (not an SQLite file)",
                                 where=str(path))
        app_id, version, tables = _inspect(path)
        if app_id != APPLICATION_ID or (version == 0 and tables):
            raise StoreError("foreign_file", "is an SQLite file of another application, not an Agent "
                             "Console store", where=str(path))
        if version > SCHEMA_VERSION:
            raise _newer(version).at(str(path))
        if version >= FIRST_RELEASED_VERSION and not CORE_TABLES <= tables:
            raise StoreError("marked_no_tables", "carries the Agent Console mark but not its "
                             "tables; not an Agent Console store", where=str(path))
        if tables and version < FIRST_RELEASED_VERSION:
            raise StoreError("development_build", f"store schema v{version} comes from a "
                             "development build and cannot be upgraded", where=str(path),
                             version=version)
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise StoreError("unwritable", "cannot be written (permission denied)", where=str(path))
        return app_id == APPLICATION_ID
    parent = path.parent
    if not parent.is_dir():
        raise StoreError("no_folder", "folder does not exist", where=str(parent))
    if not os.access(parent, os.W_OK):
        raise StoreError("cannot_create", "cannot create the store here (permission denied)",
                         where=str(parent))
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


def _pg_begin(conn: Any) -> None:
    """Writers queue on one advisory lock (released at commit or rollback); a read sees one
    snapshot of the whole transaction, as on SQLite."""
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    if options.get("write"):
        # waits as long as a SQLite writer would, then the store says "busy"; one round trip,
        # since every one made while the lock is held makes the other writers wait longer
        conn.exec_driver_sql(f"SELECT set_config('lock_timeout', '{PG_WRITE_WAIT_SECONDS}s', true), "
                             f"pg_advisory_xact_lock({PG_LOCK_KEY})")
    else:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


_PG_TYPES_SET = False


def _pg_types() -> None:
    """On PostgreSQL an integer column is BIGINT, as wide as SQLite's INTEGER, and a flag (a
    `bool` column) is a SMALLINT holding 0 or 1, as SQLite keeps it,
    so the services' SQL (`is_open = 1`, `sum(is_open)`) means the same on both databases;
    `flag_params` turns Python bools given as parameters into 0 and 1."""
    global _PG_TYPES_SET
    if _PG_TYPES_SET:
        return
    from sqlalchemy import Boolean, Column, Integer
    from sqlalchemy.ext.compiler import compiles

    # Only a table's columns: SQLAlchemy's own catalogue queries cast to INTEGER and BOOLEAN.
    @compiles(Boolean, "postgresql")
    def _smallint(type_: Any, compiler: Any, **kw: Any) -> str:
        if isinstance(kw.get("type_expression"), Column):
            return "SMALLINT"
        return str(compiler.visit_boolean(type_, **kw))

    @compiles(Integer, "postgresql")  # SQLite's INTEGER is 64-bit: sort keys, seconds
    def _bigint(type_: Any, compiler: Any, **kw: Any) -> str:
        if isinstance(kw.get("type_expression"), Column):
            return "BIGINT"
        return str(compiler.visit_integer(type_, **kw))

    _PG_TYPES_SET = True


def flag_params(params: Any) -> Any:
    """Parameters with Python bools as 0 and 1 (flags are SMALLINT on PostgreSQL)."""
    if isinstance(params, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return params


def make_engine(url: str) -> Any:
    """The one SQLAlchemy engine of a store."""
    from sqlalchemy import create_engine, event

    if sqlite_path(url) is not None:
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                  "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                               connect_args=_pg_link_options(url) if url.startswith("postgresql")
                               else {})
    except ImportError:
        raise StoreError("no_driver", "PostgreSQL support is not installed (pip install "
                         "'agent-console[postgres]')", where=display_url(url)) from None
    if is_postgres(engine):
        _pg_types()
        event.listen(engine, "begin", _pg_begin)
    return engine


# How long a console waits for a server that does not answer, unless the URL says otherwise
# (libpq waits forever by default, and a dropped link is noticed only when TCP gives up, which
# takes minutes): connecting, then each request on a link gone silent.
PG_LINK_OPTIONS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 15,
                   "keepalives_interval": 5, "keepalives_count": 3, "tcp_user_timeout": 20_000}


def _pg_link_options(url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    given = make_url(url).query
    return {k: v for k, v in PG_LINK_OPTIONS.items() if k not in given}


VERSION_KEYS = ("application", "schema_version")  # store_meta rows of the version (PostgreSQL)


def _pg_version(conn: Any) -> int:
    """The schema version held in `store_meta`; 0 for an empty database. A database holding
    other tables but no Agent Console mark is refused, never written into."""
    foreign = StoreError("foreign_database", "the database holds tables of another "
                         "application, not an Agent Console store")
    if conn.exec_driver_sql("SELECT to_regclass('store_meta')").scalar() is None:
        others = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").scalar()
        if others:
            raise foreign
        return 0
    found = dict(conn.exec_driver_sql("SELECT key, value FROM store_meta").fetchall())
    if found.get("application") != str(APPLICATION_ID):
        raise foreign
    version = int(found.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise _newer(version)
    return version


def _newer(version: int) -> StoreError:
    return StoreError("newer", f"store schema v{version} is newer than this Agent Console "
                      f"(v{SCHEMA_VERSION}); upgrade Agent Console to open it", version=version,
                      supported=SCHEMA_VERSION)


def _version(conn: Any) -> int:
    if is_postgres(conn):
        return _pg_version(conn)
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar())


def reset_sequences(conn: Any) -> None:
    """After rows were written with their ids given, new ids continue after the largest one
    (PostgreSQL; SQLite takes the next id from the table itself)."""
    if not is_postgres(conn):
        return
    from sqlmodel import SQLModel

    import agent_console.models.schema  # noqa: F401

    for table in (t.name for t in SQLModel.metadata.sorted_tables if "id" in t.columns):
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} "
            f"HAVING max(id) IS NOT NULL AND pg_get_serial_sequence('{table}', 'id') IS NOT NULL")


def mark_store(conn: Any) -> None:
    """Mark the database as an Agent Console store of this schema version."""
    _set_version(conn)


def _set_version(conn: Any) -> None:
    if is_postgres(conn):
        conn.exec_driver_sql(
            "INSERT INTO store_meta (key, value) VALUES ('application', %(app)s), "
            "('schema_version', %(version)s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {"app": str(APPLICATION_ID), "version": str(SCHEMA_VERSION)})
        return
    conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
    conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")


def migrate(engine: Any) -> int:
    """Create a new store or take an older one forward; returns the schema version."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        if _version(conn) >= SCHEMA_VERSION:
            return SCHEMA_VERSION
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        version = _version(conn)  # again, now under the write lock: another opener may have won
        if version == 0:
            _create_all(conn)
            _seed_main_site(conn)
        elif version < SCHEMA_VERSION:
            for step in MIGRATIONS[version - FIRST_RELEASED_VERSION:]:
                step(conn)
        _set_version(conn)
    return SCHEMA_VERSION


def open_store(url: str, *, create: bool = True) -> Any:
    """Check the store behind `url`, create or migrate it, and return its engine."""
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise StoreError("no_store", "no such store", where=str(path))
        check_store_file(path)
    from sqlalchemy.exc import DBAPIError

    engine = make_engine(url)
    try:
        migrate(engine)
    except DBAPIError as exc:
        engine.dispose()
        raise unreachable(exc).at(str(path or display_url(url))) from None
    except StoreError as exc:
        engine.dispose()
        raise (exc if exc.where else exc.at(str(path or display_url(url)))) from None
    return engine


def display_url(url: str) -> str:
    """A store's URL as said to a user: the password hidden, no driver name."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("postgresql"):
        parsed = parsed.set(drivername="postgresql")
    from urllib.parse import unquote

    return unquote(parsed.render_as_string(hide_password=True))


# What a PostgreSQL client library says when it cannot connect, and what that means to a user.
_CONNECT_PROBLEMS = (
    (("authentication failed",), "auth_failed", "the server refused the user name or password"),
    (("no password supplied",), "auth_failed", "the server refused the user name or password"),
    (('role "', "does not exist"), "no_role", "the server has no such user (role)"),
    (('database "', "does not exist"), "no_database", "the server has no such database"),
    (("permission denied",), "no_permission", "the user may not use this database"),
)


def connection_lost(exc: BaseException) -> bool:
    """The database server went away (or cannot be reached) during the work: an error about
    the link, not about the data; as SQLAlchemy or the driver (psycopg) raised it."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    if not any(c.__name__ == "OperationalError" and c.__module__.startswith("psycopg")
               for c in type(exc).__mro__):
        return False
    # No SQL state: the client lost or never had the link; 08: connection exceptions; 57P0x:
    # the server shut down or ended this session. (A lock timeout is an OperationalError too.)
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def unreachable(exc: Exception) -> StoreError:
    """The one line for a database that could not be used: refused, unknown or unreachable."""
    text = str(getattr(exc, "orig", None) or exc)
    for needles, code, message in _CONNECT_PROBLEMS:
        if all(needle in text for needle in needles):
            return StoreError(code, message)
    first = " ".join(text.split())[:200]
    if any(word in text for word in ("connection", "Connection", "connect", "server", "timeout")):
        return StoreError("unreachable", f"cannot reach the database server ({first})",
                          detail=first)
    return StoreError("cannot_open", f"cannot open the store ({first})", detail=first)


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
    elif is_postgres(engine):
        present = set(audit_triggers(engine))
        problems += [f"trigger {name} is missing" for name in PG_TRIGGERS if name not in present]
        problems += [f"table {name} is missing" for name in ("kb_token", "kb_doc")
                     if name not in tables]
    return problems


def audit_triggers(engine_or_conn: Any) -> list[str]:
    """The names of the triggers that keep the audit trail append-only, as found in the store."""
    sql = ("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('audit_log') "
           "AND NOT tgisinternal" if is_postgres(engine_or_conn)
           else "SELECT name FROM sqlite_master WHERE type = 'trigger'")
    if hasattr(engine_or_conn, "connect"):
        with engine_or_conn.connect() as conn:
            return [name for (name,) in conn.exec_driver_sql(sql)]
    return [name for (name,) in engine_or_conn.exec_driver_sql(sql)]


def expected_audit_triggers(engine_or_conn: Any) -> tuple[str, ...]:
    return PG_TRIGGERS if is_postgres(engine_or_conn) else SQLITE_TRIGGERS


def integrity_check(engine: Any) -> list[str]:
    """SQLite's integrity check; ["ok"] for a sound store."""
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]


def schema_version(engine: Any) -> int:
    with engine.connect() as conn:
        return _version(conn)
