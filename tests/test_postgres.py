"""The PostgreSQL side: the test server, a store created there, and what only PostgreSQL has."""

from __future__ import annotations

import pytest

from tests import pg_server
from tests.conftest import pg


def test_the_test_server_runs_and_makes_databases() -> None:
    import psycopg

    url = pg().new_database()
    dbname = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(host=str(pg().socket_dir), port=pg().port, user=pg_server.SERVER_USER,
                         dbname=dbname) as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("15")


def test_missing_server_programs_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(pg_server, "PG_BIN", tmp_path)
    with pytest.raises(pg_server.PgServerMissing, match="apt-get install postgresql-15"):
        pg_server.start()


@pytest.fixture
def pg_store(clock):
    from agent_console.services.store import open_store

    store = open_store(pg().new_database(), clock=clock)
    yield store
    store.close()


def test_a_postgres_url_is_given_to_psycopg_3() -> None:
    from agent_console import db

    assert db.store_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.store_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"


def test_a_new_database_gets_the_whole_schema_and_its_version(pg_store) -> None:
    from agent_console import db

    assert db.schema_problems(pg_store.engine) == []
    assert db.schema_version(pg_store.engine) == db.SCHEMA_VERSION
    from agent_console.services.store import open_store

    again = open_store(pg_store.url, clock=pg_store.clock)  # opening again changes nothing
    assert db.schema_version(again.engine) == db.SCHEMA_VERSION
    again.close()


def test_a_database_of_another_application_is_refused(clock) -> None:
    import sqlalchemy as sa

    from agent_console import db
    from agent_console.services.store import open_store

    url = pg().new_database()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id int)")
    engine.dispose()
    with pytest.raises(db.StoreError, match="another application"):
        open_store(url, clock=clock)


def test_the_audit_trail_is_append_only_in_postgres(pg_store) -> None:
    from sqlalchemy.exc import DBAPIError

    from agent_console.services import audit

    with pg_store.write() as tx:
        tx.audit("test", "x", {})
    for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), pg_store.write() as tx:
            tx.execute(sql)
    assert audit.verify(pg_store).ok
    with pg_store.write() as tx:
        tx.execute("DROP TRIGGER audit_log_no_delete ON audit_log")
    assert "audit_log_no_delete" in audit.verify(pg_store).problem


def test_writers_queue_on_the_advisory_lock(pg_store) -> None:
    import threading
    import time

    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with pg_store.write():
            first_in.set()
            time.sleep(0.3)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with pg_store.write():
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


def _ticket(store):
    from agent_console.services import tickets
    from tests.conftest import actor_for

    return tickets.create_ticket(store, actor_for(store, "a001"), phone="13800000000",
                                 channel="hotline", work_type="fault", category="broadband",
                                 description="宽带断网")


def test_the_change_feed_hears_ticket_ids_and_versions_after_commit(pg_store) -> None:
    from agent_console.services.changes import PgChangeFeed, open_feed

    feed = open_feed(pg_store)
    assert isinstance(feed, PgChangeFeed)
    try:
        assert not feed.changed()
        created = _ticket(pg_store)
        assert feed.changed()
        assert feed.tickets[created.id] == 1
        assert not feed.changed()
    finally:
        feed.close()


def test_the_change_feed_reconnects_and_says_read_again(pg_store) -> None:
    from agent_console.services.changes import open_feed

    feed = open_feed(pg_store)
    try:
        pid = feed._conn.info.backend_pid
        with pg_store.write() as tx:
            tx.scalar("SELECT pg_terminate_backend(?)", (pid,))
        _ticket(pg_store)  # announced while the feed was away: lost, so the feed says "changed"
        assert feed.changed()
        assert feed._conn.info.backend_pid != pid
        _ticket(pg_store)
        assert feed.changed()
    finally:
        feed.close()


def _cli(*args: str, stdin: str = ""):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("agent-console")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, input=stdin,
                          timeout=300, env={**__import__("os").environ, "LANG": "C.UTF-8"})


def test_migrate_copies_a_sqlite_store_whole_and_the_copy_verifies(tmp_path) -> None:
    from agent_console.clock import SystemClock
    from agent_console.services import knowledge
    from agent_console.services.store import open_store

    path = tmp_path / "shop.db"
    assert _cli("demo", "--db", str(path), "--no-open", "--tickets", "200").returncode == 0
    url = pg().new_database()
    done = _cli("migrate", "--from", str(path), "--to", url, "--agent", "s900", "--pin-stdin",
                stdin="3333\n")
    assert done.returncode == 0, done.stderr + done.stdout
    # 200 tickets at the main site and the demo's two other sites' 10 each
    assert "every count equal" in done.stdout and "ticket: 220 rows, copied 220" in done.stdout
    verified = _cli("audit", "verify", "--db", url)
    assert verified.returncode == 0, verified.stderr + verified.stdout
    source, copy = (open_store(where, clock=SystemClock()) for where in (path, url))
    try:
        for query in ("断网", "光猫 LOS", "宽带", "charge", "退"):
            found = [(h.id, round(h.score, 9)) for h in knowledge.find_cases(source, query=query).hits]
            again = [(h.id, round(h.score, 9)) for h in knowledge.find_cases(copy, query=query).hits]
            assert found == again, query
    finally:
        source.close()
        copy.close()
    again = _cli("migrate", "--from", str(path), "--to", url, "--agent", "s900", "--pin-stdin",
                 stdin="3333\n")
    assert again.returncode == 2 and "new, empty store" in again.stderr


def test_a_writer_kept_waiting_too_long_is_told_busy(pg_store, monkeypatch) -> None:
    import threading

    from agent_console import db
    from agent_console.services.errors import BusyError

    monkeypatch.setattr(db, "PG_WRITE_WAIT_SECONDS", 1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pg_store.write():
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        with pytest.raises(BusyError), pg_store.write():
            pass
    finally:
        release.set()
        thread.join()


def test_missing_tables_indexes_and_triggers_are_named_in_postgres(pg_store) -> None:
    from agent_console import db

    with pg_store.write() as tx:
        tx.execute("DROP TRIGGER audit_log_no_delete ON audit_log")
        tx.execute("DROP INDEX ix_ticket_warn")
        tx.execute("DROP TABLE customer_change")
    problems = db.schema_problems(pg_store.engine)
    assert "trigger audit_log_no_delete is missing" in problems
    assert "index ix_ticket_warn is missing" in problems
    assert "table customer_change is missing" in problems


def _ranked_everywhere(stores, queries, **options):
    """Every query's hits (id, exact score) on each store, by store."""
    from agent_console.services import knowledge

    out = []
    for store in stores:
        found = {}
        for query in queries:
            found[("find", query)] = [(h.id, h.score) for h in knowledge.find_cases(
                store, query=query, **options).hits]
            found[("search", query)] = [(h.id, h.score) for h in knowledge.search(
                store, query=query, **options)]
            found[("similar", query)] = [(h.id, h.score) for h in knowledge.similar(
                store, text=query)]
        out.append(found)
    return out


def test_postgres_ranks_as_sqlite_fts5_to_the_last_bit(tmp_path, clock) -> None:
    """PgCaseIndex works out FTS5's bm25 in SQL: the same cases, order and scores (compared
    exactly, not rounded) for phrases, prefixes, synonyms, filters and fallbacks, before and
    after cases are edited, retired and added."""
    from agent_console.services import kb_jsonl, knowledge
    from agent_console.services.store import open_store
    from tests.conftest import actor_for
    from tests.test_knowledge import case, shipped_lines

    stores = [open_store(tmp_path / "kb.db", clock=clock), open_store(pg().new_database(), clock=clock)]
    try:
        editors = [actor_for(store, "s900", role="supervisor") for store in stores]
        for store, editor in zip(stores, editors):
            assert not kb_jsonl.import_jsonl(store, editor, shipped_lines()).problems
        queries = ("断网", "光猫断网", "光猫 LOS", "宽带", "charge", "charged twice", "退", "卡",
                   "上不了网", "router", "IPTV 黑屏", "网络", "欠费 停机", "wi-fi", "rou",
                   "没有这个词", "话费 补卡 光猫")
        before = _ranked_everywhere(stores, queries)
        assert before[0] == before[1]
        assert sum(bool(hits) for hits in before[0].values()) > 30
        some = [hit for hit, _ in before[0][("find", "断网")]][:3]
        for store, editor in zip(stores, editors):
            knowledge.update_case(store, editor, case_id=some[0],
                                  changes={"title": "光猫断网断网 router reboot"})
            knowledge.retire_case(store, editor, case_id=some[1], retired=True, reason="old")
            knowledge.create_case(store, editor, case=case("断网 charged twice 光猫断网",
                                                           "宽带断网 again"))
        after = _ranked_everywhere(stores, queries)
        assert after[0] == after[1] and after[0] != before[0]
        retired = _ranked_everywhere(stores, queries[:6], include_retired=True)
        assert retired[0] == retired[1]
        with stores[0].read() as tx:
            category = tx.scalar("SELECT category FROM kb_case ORDER BY id LIMIT 1")
        filtered = _ranked_everywhere(stores, queries[:6], category=category)
        assert filtered[0] == filtered[1]
    finally:
        for store in stores:
            store.close()
