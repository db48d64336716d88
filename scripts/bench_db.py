"""Where a benchmark's stores live: fresh SQLite files, or fresh databases on a PostgreSQL server.

`--db postgresql://…` names a server (and a database to connect to for administration, usually
`postgres`): each store is a new database made there (the role needs CREATEDB) and dropped
afterwards. `--postgres` starts a temporary PostgreSQL 15 server the way the tests do
(tests/pg_server.py), but with PostgreSQL's own durability settings (fsync and synchronous
commit on), and stops it at the end. Neither: SQLite files in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="URL", help="a PostgreSQL server to make the stores on "
                       "(postgresql://user:pw@host/postgres; the role needs CREATEDB)")
    where.add_argument("--postgres", action="store_true",
                       help="start a temporary PostgreSQL 15 server for the run")


class Stores:
    """Makes a fresh store location per call and removes them all at the end."""

    def __init__(self, folder: Path, server_url: str | None) -> None:
        self.folder = folder
        self.server_url = server_url
        self.made: list[str] = []
        self._n = count(1)

    @property
    def kind(self) -> str:
        return "PostgreSQL" if self.server_url else "SQLite"

    def new(self) -> str:
        n = next(self._n)
        if self.server_url is None:
            return str(self.folder / f"store-{n}.db")
        from sqlalchemy.engine import make_url

        name = f"agent_console_bench_{os.getpid()}_{n}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return make_url(self._url()).set(database=name).render_as_string(hide_password=False)

    def _url(self) -> str:
        from agent_console import db

        assert self.server_url is not None
        return db.store_url(self.server_url)

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self._url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()

    def drop_all(self) -> None:
        for name in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


@contextmanager
def stores(args: argparse.Namespace) -> Iterator[Stores]:
    with tempfile.TemporaryDirectory() as tmp:
        if getattr(args, "postgres", False):
            sys.path.insert(0, str(ROOT))
            from tests import pg_server

            server = pg_server.start(durable=True)
            try:
                made = Stores(Path(tmp), server.url())
                yield made
            finally:
                server.stop()  # drops everything with it
            return
        made = Stores(Path(tmp), getattr(args, "db", None))
        try:
            yield made
        finally:
            if made.server_url:
                made.drop_all()
