"""The installed `agent-console` in a pseudo-terminal: wait for what it draws, never a fixed time.

Deadlines are generous (a busy machine may take many seconds to start the app); a wait that
fails says what the app drew last.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

EXE = str(Path(sys.executable).parent / "agent-console")
DEADLINE = 45.0
NOW = "2026-11-24T02:00:00+00:00"

# CSI and OSC/DCS sequences, then any other two-byte escape.
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")

T = TypeVar("T")


def plain(raw: bytes) -> str:
    """What the app drew, without escape sequences."""
    return _ESCAPES.sub(b"", raw).decode("utf-8", "replace")


def demo_env(tmp_path: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL_")}
    return {**inherited, "AGENT_CONSOLE_NOW": NOW, "AGENT_CONSOLE_CONFIG_DIR": str(tmp_path),
            "TERM": "xterm-256color"}


def copy_store_file(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store file (its write-ahead log included)."""
    reading, writing = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reading.backup(writing)
    finally:
        writing.close()
        reading.close()


_DEMO_TEMPLATES: dict[tuple[int, str], Path] = {}  # one `agent-console demo` run per kind
_PG_DEMO_TEMPLATES: dict[tuple[int, str], str] = {}  # the same, as template databases


def make_demo_store(path: Path, env: dict[str, str], tickets: int = 30) -> Path | str:
    """A demo store at `path`, as `agent-console demo` makes it (made once, then copied); what
    `--db` takes for it. In the PostgreSQL pass it is a database of its own, created from a
    template database the same command filled, and `path` only names it."""
    from tests import conftest

    key = (tickets, env.get("AGENT_CONSOLE_NOW", ""))
    if conftest.TEST_DB == "postgresql":
        server = conftest.pg()
        if (name := _PG_DEMO_TEMPLATES.get(key)) is None:
            url = server.new_database()
            _demo(url, env, tickets)  # the command's connections end with its process
            name = _PG_DEMO_TEMPLATES[key] = server.database_name(url)
        conftest.register_database(path, server.new_database(template=name))
        return conftest.store_location(path)
    if (template := _DEMO_TEMPLATES.get(key)) is None:
        template = Path(tempfile.mkdtemp(prefix="demo-template-")) / "demo.db"
        _demo(str(template), env, tickets)
        _DEMO_TEMPLATES[key] = template
    copy_store_file(template, path)
    witness = template.with_name(template.name + ".witness")  # the audit head kept beside it
    if witness.exists():
        path.with_name(path.name + ".witness").write_bytes(witness.read_bytes())
    return path


def _demo(db: str, env: dict[str, str], tickets: int) -> None:
    subprocess.run([EXE, "demo", "--db", db, "--no-open", "--tickets", str(tickets)],
                   env=env, check=True, capture_output=True)


def poll_until(check: Callable[[], T], timeout: float = DEADLINE, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout:.0f} s: {what or check}")
        time.sleep(0.05)
    return found


def stored_rows(db: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows `sql` (with `?` placeholders) returns from the store `db`: a file, or a
    PostgreSQL URL (read as another process would, on a connection of its own)."""
    if str(db).startswith("postgresql"):
        import psycopg

        with psycopg.connect(str(db).replace("postgresql+psycopg://", "postgresql://", 1)) as pg:
            return pg.execute(sql.replace("%", "%%").replace("?", "%s"), params).fetchall()
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored_row(db: Path | str, sql: str, params: tuple[Any, ...] = (),
               timeout: float = DEADLINE) -> tuple[Any, ...]:
    """The first row `sql` returns, once there is one."""
    def row() -> tuple[Any, ...] | None:
        return next(iter(stored_rows(db, sql, params)), None)

    return poll_until(row, timeout, sql)


class Terminal:
    """A running `agent-console` on the slave side of a pty; this object holds the master.

    Use it in a `with` block: whatever happens, the app is killed at the end.
    """

    def __init__(self, args: list[str], env: dict[str, str], size: tuple[int, int] = (120, 40),
                 exe: str = EXE):
        width, height = size
        winsize = struct.pack("HHHH", height, width, 0, 0)
        # The pty's size is the terminal's: COLUMNS and LINES (pytest-xdist's workers have
        # 80 and 24) would override it for the app.
        env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child becomes the app in the pseudo-terminal
            # The size is the terminal's before the app starts: set from the parent after the
            # fork, a busy machine could let the app read the default 80×24 first.
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
                os.execve(exe, [exe, *args], env)
            finally:
                os._exit(127)  # never back into the test runner
        self.raw = b""
        self._seen = 0  # where the next expect starts looking, in the plain text
        self.status: int | None = None

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.raw += os.read(self.fd, 65536)
            except OSError:  # EIO: nothing holds the terminal open any more
                raise AssertionError(
                    f"the app exited; last drawn: {plain(self.raw)[-600:]!r}") from None

    def started(self, timeout: float = DEADLINE) -> None:
        """Wait until the app writes its first bytes (its terminal driver has started)."""
        end = time.monotonic() + timeout
        while not self.raw:
            if (left := end - time.monotonic()) <= 0:
                raise AssertionError(f"nothing written within {timeout:.0f} s")
            self._read(min(left, 0.2))

    def expect(self, text: str, timeout: float = DEADLINE) -> None:
        """Read what the app draws until `text` appears after what the last expect matched."""
        end = time.monotonic() + timeout
        while True:
            drawn = plain(self.raw)
            if (at := drawn.find(text, self._seen)) >= 0:
                self._seen = at + len(text)
                return
            if (left := end - time.monotonic()) <= 0:
                raise AssertionError(f"{text!r} not drawn within {timeout:.0f} s; "
                                     f"last drawn: {drawn[-600:]!r}")
            self._read(min(left, 0.2))

    def drain(self, quiet: float = 0.05, timeout: float = DEADLINE) -> None:
        """Read until the app has written nothing for `quiet` seconds, or for `timeout` seconds
        at most (it never blocks on a full pty, and the next reading starts after this)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            before = len(self.raw)
            self._read(quiet)
            if len(self.raw) == before:
                return

    def idle_bytes_per_second(self, seconds: float, other: Terminal | None = None,
                              quiet: float = 0.3) -> float:
        """What the app writes while nothing happens, in bytes a second, once it has been
        quiet for `quiet` seconds (the other terminal is read meanwhile: its app must not
        block on a full pty)."""
        self._read(0.5)  # let the last repaint out
        self.drain(quiet)
        start, began = len(self.raw), time.monotonic()
        while (left := seconds - (time.monotonic() - began)) > 0:
            self._read(min(left, 0.2))
            if other is not None:
                other.drain()
        return (len(self.raw) - start) / seconds

    def settle(self, quiet: float = 1.0, timeout: float = DEADLINE, *, beyond: int = 0) -> None:
        """Read until the app has written more than `beyond` bytes in all and then nothing for
        `quiet` seconds."""
        end = time.monotonic() + timeout
        last, size = time.monotonic(), len(self.raw)
        while time.monotonic() - last < quiet or len(self.raw) <= beyond:
            if time.monotonic() > end:
                raise AssertionError(f"still drawing after {timeout:.0f} s")
            self._read(0.05)
            if len(self.raw) != size:
                last, size = time.monotonic(), len(self.raw)

    def send(self, keys: str | bytes) -> None:
        os.write(self.fd, keys.encode() if isinstance(keys, str) else keys)

    def hang_up(self) -> float:
        """Close the terminal as a killed tmux pane would; the seconds until the app exited."""
        os.close(self.fd)
        self.fd = -1
        start = time.monotonic()
        poll_until(self.exited, what="the app to exit after its terminal closed")
        return time.monotonic() - start

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is not None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()

    def kill(self) -> None:
        if not self.exited():
            os.killpg(self.pid, signal.SIGKILL)  # the app and any shell it runs behind
            self.status = os.waitpid(self.pid, 0)[1]
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
