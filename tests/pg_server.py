"""A real PostgreSQL 15 server for the tests, started in a temporary directory and stopped after.

The server listens only on a unix socket inside its directory. `initdb` refuses to run as root,
so under root the server programs run as the `postgres` user (the directory is handed to it).
Each test gets a database of its own, created from a template that already holds the schema.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

PG_BIN = Path(os.environ.get("AGENT_CONSOLE_PG_BIN", "/usr/lib/postgresql/15/bin"))
INSTALL_HINT = ("PostgreSQL 15 server programs not found in {bin}: install them with "
                "`apt-get install postgresql-15` (Debian/Ubuntu), or point AGENT_CONSOLE_PG_BIN at "
                "the folder holding initdb and pg_ctl")
SERVER_USER = "postgres"  # who runs the server when the tests run as root


class PgServerMissing(RuntimeError):
    """The server programs are not installed; the message says how to install them."""


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


@dataclass
class PgServer:
    """One running server: its data directory, socket directory and a counter for databases."""

    root: Path
    port: int = 5432
    durable: bool = False
    _names: count = field(default_factory=lambda: count(1), repr=False)

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, dbname: str = "postgres") -> str:
        return (f"postgresql+psycopg://{SERVER_USER}@/{dbname}"
                f"?host={self.socket_dir}&port={self.port}")

    def admin(self, sql: str) -> None:
        """Run one statement on the maintenance database, outside a transaction."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), port=self.port, user=SERVER_USER,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self, template: str | None = None) -> str:
        """A fresh, empty database (or a copy of the database named `template`, which nobody
        may be connected to); its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    @staticmethod
    def database_name(url: str) -> str:
        """The database a URL from `url` or `new_database` names."""
        return url.split("@/", 1)[1].split("?", 1)[0]

    def halt(self) -> None:
        """Stop the server at once (as a crash or a cut link looks), keeping its files."""
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                        "-m", "immediate", "-s"]), check=True, capture_output=True)

    def resume(self) -> None:
        """Start a halted server again, as it was."""
        _pg_ctl_start(self)

    def stop(self) -> None:
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.root / "data"),
                                        "-m", "immediate", "-s"]), check=False,
                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def missing() -> str | None:
    """What to install, when the server programs are not there."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return INSTALL_HINT.format(bin=PG_BIN)
    return None


def _pg_ctl_start(server: PgServer) -> None:
    options = (f"-k {server.socket_dir} -p {server.port} -c listen_addresses='' "
               "-c max_connections=200"
               + ("" if server.durable else
                  " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"))
    subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "start", "-D", str(server.root / "data"),
                                    "-w", "-s", "-l", str(server.root / "server.log"), "-o", options]),
                   check=True, capture_output=True, text=True)


def start(port: int = 5432, *, durable: bool = False) -> PgServer:
    """initdb in a fresh temporary directory and start the server on a socket there.

    The tests' server does not flush to disk; `durable` keeps PostgreSQL's defaults (fsync,
    synchronous commit), as a benchmark that is compared with SQLite must."""
    if hint := missing():
        raise PgServerMissing(hint)
    root = Path(tempfile.mkdtemp(prefix="agent-console-pg-"))
    server = PgServer(root, port, durable)
    server.socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER)
        shutil.chown(server.socket_dir, SERVER_USER)
        os.chmod(root, 0o755)
    data = root / "data"
    try:
        subprocess.run(_as_server_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", SERVER_USER,
                                        "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                                        "--no-sync"]),
                       check=True, capture_output=True, text=True)
        _pg_ctl_start(server)
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{log}") from None
    return server
