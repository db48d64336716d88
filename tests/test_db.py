"""Opening stores: bad paths and foreign files are refused without a trace; the schema is the
models' and a store made by release 0.1.0 comes forward."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from agent_console import db

# Store files: paths, foreign and damaged files, headers, a release's file, the file's schema read
# with sqlite3. On PostgreSQL, test_postgres opens new and foreign databases and names what is
# missing from one.
pytestmark = pytest.mark.sqlite_file

FIXTURE = Path(__file__).parent / "fixtures" / "store_v0_1_0.db"


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open(path):
    return db.open_store(db.store_url(path))


def _traces(path: Path) -> list[str]:
    return [p.name for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path]


def test_new_store_is_created_and_reopened_unchanged(tmp_path):
    path = tmp_path / "s.db"
    engine = _open(path)
    assert db.schema_version(engine) == db.SCHEMA_VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
    conn.close()
    engine.dispose()
    engine = _open(path)
    assert db.integrity_check(engine) == ["ok"]
    assert db.schema_problems(engine) == []


def test_directory_is_refused(tmp_path):
    with pytest.raises(db.StoreError, match="is a directory"):
        _open(tmp_path)


def test_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("just some notes\n" * 10)
    before = _digest(path)
    with pytest.raises(db.StoreError, match="not an SQLite file"):
        _open(path)
    assert _digest(path) == before and _traces(path) == []


def test_foreign_sqlite_file_is_refused_without_a_trace(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(db.StoreError, match="another application"):
        _open(path)
    assert _digest(path) == before and _traces(path) == []


def test_corrupt_store_is_refused_untouched(tmp_path):
    path = tmp_path / "s.db"
    _open(path).dispose()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wipe the schema page after the header
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(db.StoreError, match="damaged|cannot open"):
        _open(path)
    assert _digest(path) == before and _traces(path) == []


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    _open(path).dispose()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={db.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(db.StoreError, match="newer than this Agent Console"):
        _open(path)


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(db.StoreError, match="folder does not exist"):
        _open(tmp_path / "nope" / "s.db")


def test_a_diagnostic_never_creates_a_store(tmp_path):
    with pytest.raises(db.StoreError, match="no such store"):
        db.open_store(db.store_url(tmp_path / "typo.db"), create=False)
    assert list(tmp_path.iterdir()) == []


def _as_unprivileged(fn) -> str:
    """Run `fn` in a forked child that has given up root (CI runs as root, who writes anywhere)
    and return what it printed. Forking keeps the loaded interpreter, so no file under the root
    account needs to be readable by the user the child becomes."""
    import pwd

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            os.write(write, str(fn()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        out = fh.read()
    os.waitpid(pid, 0)
    return out


def test_unwritable_store_is_refused_even_for_root(tmp_path):
    path = tmp_path / "s.db"
    _open(path).dispose()
    for parent in (tmp_path, *tmp_path.parents):
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    path.chmod(0o444)

    def attempt() -> str:
        try:
            db.open_store(db.store_url(path))
        except db.StoreError as exc:
            return str(exc)
        return "opened"

    assert "cannot be written" in _as_unprivileged(attempt)


def test_a_store_made_by_release_0_1_0_comes_forward(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE, path)
    engine = _open(path)
    assert db.schema_version(engine) == db.SCHEMA_VERSION
    assert db.schema_problems(engine) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar() == 41
        assert conn.exec_driver_sql("SELECT count(*) FROM kb_case").scalar() == 168
    engine.dispose()


def test_a_development_store_older_than_the_first_release_is_refused(tmp_path):
    path = tmp_path / "dev.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ticket (id INTEGER PRIMARY KEY)")
    conn.execute(f"PRAGMA application_id={db.APPLICATION_ID}")
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    with pytest.raises(db.StoreError, match="development build"):
        _open(path)


def test_missing_tables_indexes_and_triggers_are_named(tmp_path):
    path = tmp_path / "s.db"
    _open(path).dispose()
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DROP INDEX ix_ticket_warn")
    conn.execute("DROP TABLE customer_change")
    conn.commit()
    conn.close()
    problems = db.schema_problems(_open(path))
    assert "trigger audit_log_no_delete is missing" in problems
    assert "index ix_ticket_warn is missing" in problems
    assert "table customer_change is missing" in problems


def test_tables_match_the_models(tmp_path):
    from sqlmodel import SQLModel

    import agent_console.models.schema  # noqa: F401 - registers the tables

    path = tmp_path / "s.db"
    _open(path).dispose()
    conn = sqlite3.connect(path)
    for name, table in SQLModel.metadata.tables.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
        assert columns == {c.name for c in table.columns}, name
    conn.close()
