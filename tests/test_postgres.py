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
