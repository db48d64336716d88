"""A `--db` that is not a usable store says so in one line of the user's language, exits 2,
shows no traceback and changes nothing: a foreign PostgreSQL database, one that does not
exist, an unknown role, a server that does not answer, a SQLite file of another application."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pg

EXE = Path(sys.executable).with_name("agent-console")


def _cli(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_CONSOLE_DB")}
    return subprocess.run([str(EXE), "--lang", lang, *args], capture_output=True, text=True,
                          timeout=120, env={**env, "LANG": "C.UTF-8"})


def _refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert "\n" not in line, line
    for word in words:
        assert word in line, line
    return line


def _tables(url: str) -> set[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("lang", "says"), [("en", "another application"), ("zh", "其他应用")])
def test_a_foreign_postgres_database_is_refused_and_left_alone(lang: str, says: str) -> None:
    import sqlalchemy as sa

    url = pg().new_database()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id int)")
    engine.dispose()
    _refused(_cli("--db", url, "ticket", "list", lang=lang), says)
    assert _tables(url) == {"invoices"}


def test_a_database_that_does_not_exist_is_named_as_such() -> None:
    url = pg().url("no_such_database")
    _refused(_cli("--db", url, "ticket", "list"), "no such database")
    _refused(_cli("--db", url, "ticket", "list", lang="zh"), "没有这个数据库")


def test_an_unknown_role_is_named_as_such() -> None:
    url = pg().url().replace("postgres@", "nobody@", 1)
    _refused(_cli("--db", url, "ticket", "list"), "no such user")


def test_a_server_that_does_not_answer_is_said_to_be_unreachable(tmp_path: Path) -> None:
    url = f"postgresql://postgres:s3cret@/store?host={tmp_path}&port=5432"  # nothing listens
    line = _refused(_cli("--db", url, "ticket", "list"), "cannot reach the database server")
    assert "s3cret" not in line and "***" in line  # a password is never echoed
    _refused(_cli("--db", url, "ticket", "list", lang="zh"), "无法连接数据库服务器")


def test_a_wrong_password_is_said_plainly() -> None:
    """The tests' server trusts its socket, so the server's words are given here as they are."""
    from agent_console import db

    said = ('connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  '
            'password authentication failed for user "agent_console"')
    problem = db.unreachable(Exception(said))
    assert problem.code == "auth_failed"
    from agent_console import i18n

    i18n.set_language("zh")
    assert problem.at("postgresql://u:***@h/d").localized() == \
        "postgresql://u:***@h/d: 服务器拒绝了用户名或密码"


def test_a_sqlite_file_of_another_application_is_refused_in_chinese(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE x (a)")
    before = path.read_bytes()
    _refused(_cli("--db", str(path), "ticket", "list", lang="zh"), "不是 Agent Console 数据库")
    assert path.read_bytes() == before


def test_a_missing_postgres_driver_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from agent_console import db

    real = builtins.__import__

    def no_psycopg(name: str, globals=None, locals=None, fromlist=(), level=0):
        if name.startswith("psycopg") and level == 0:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(db.StoreError, match=r"pip install 'agent-console\[postgres\]'"):
        db.make_engine("postgresql+psycopg://u:pw@h/d")


@pytest.mark.parametrize(("lang", "says"), [("en", "pg_dump"), ("zh", "服务器自身的工具")])
def test_backup_of_a_server_store_points_to_the_servers_tools(lang: str, says: str) -> None:
    url = pg().new_database()
    _refused(_cli("--db", url, "backup", "--agent", "s900", lang=lang), says)
