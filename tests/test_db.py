"""Opening stores: bad paths and foreign files are refused without touching them; the schema."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest

from agent_console import db


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_is_created_and_reopened_unchanged(tmp_path):
    path = tmp_path / "s.db"
    assert db.open_store(path) == db.SCHEMA_VERSION
    assert db.schema_version(path) == db.SCHEMA_VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == db.APPLICATION_ID
    conn.close()
    assert db.open_store(path) == db.SCHEMA_VERSION
    assert db.integrity_check(path) == ["ok"]


def test_directory_is_refused(tmp_path):
    with pytest.raises(db.StoreError, match="is a directory"):
        db.open_store(tmp_path)


def test_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("just some notes\n" * 10)
    before = _digest(path)
    with pytest.raises(db.StoreError, match="not an SQLite file"):
        db.open_store(path)
    assert _digest(path) == before


def test_foreign_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(db.StoreError, match="another application"):
        db.open_store(path)
    assert _digest(path) == before and not (tmp_path / "other.db-wal").exists()


def test_corrupt_store_is_refused_untouched(tmp_path):
    path = tmp_path / "s.db"
    db.open_store(path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wipe the schema page after the header
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(db.StoreError, match="damaged|cannot open"):
        db.open_store(path)
    assert _digest(path) == before


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    db.open_store(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={db.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(db.StoreError, match="newer than this Agent Console"):
        db.open_store(path)


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(db.StoreError, match="folder does not exist"):
        db.open_store(tmp_path / "nope" / "s.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_store_is_refused(tmp_path):
    path = tmp_path / "s.db"
    db.open_store(path)
    path.chmod(0o444)
    with pytest.raises(db.StoreError, match="cannot be written"):
        db.open_store(path)


def test_migration_steps_apply_in_order_from_any_older_version(tmp_path):
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    db.MIGRATIONS[0](conn)
    conn.execute(f"PRAGMA application_id={db.APPLICATION_ID}")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    assert db.open_store(path) == db.SCHEMA_VERSION


def test_tables_match_the_models(tmp_path):
    from sqlmodel import SQLModel

    import agent_console.models.tables  # noqa: F401 - registers the tables

    path = tmp_path / "s.db"
    db.open_store(path)
    conn = sqlite3.connect(path)
    for name, table in SQLModel.metadata.tables.items():
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
        assert columns == {c.name for c in table.columns}, name
    conn.close()
