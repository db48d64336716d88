"""Shared fixtures: a frozen clock, fresh stores, a demo store, the app factory; waits for Pilot."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from textual.message import Message

from agent_console import i18n
from agent_console.clock import FrozenClock
from agent_console.config import Settings
from agent_console.services.actor import Actor
from agent_console.services.store import Store, open_store
from tests import pg_server
from tests.e2e_pty import copy_store_file

# 10:00 in Beijing on a Tuesday: inside the retail halls' opening hours.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
DEADLINE = 10.0  # seconds a Pilot test waits for a condition; generous for a busy machine

T = TypeVar("T")
M = TypeVar("M", bound=Message)


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no real clock, English unless a test says otherwise."""
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    for var in ("AGENT_CONSOLE_DB", "AGENT_CONSOLE_LANG", "AGENT_CONSOLE_AGENT", "AGENT_CONSOLE_NOW"):
        monkeypatch.delenv(var, raising=False)
    # Thin mode sets Textual's knobs in the environment of the process that makes the app: put
    # back afterwards, or every console a later test starts would run thin.
    for var in ("TEXTUAL_FPS", "TEXTUAL_ANIMATIONS", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    i18n.set_language("en")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


TEST_DB = os.environ.get("AGENT_CONSOLE_TEST_DB", "sqlite")  # or "postgresql": every store on PG
_pg: pg_server.PgServer | None = None


def pg() -> pg_server.PgServer:
    """The tests' PostgreSQL server, started on first use and stopped when the session ends."""
    global _pg
    if _pg is None:
        try:
            _pg = pg_server.start()
        except pg_server.PgServerMissing as exc:
            pytest.fail(str(exc), pytrace=False)
    return _pg


STORE_FIXTURES = {"store_templates", "pg_store"}  # a test using one of these touches a store
_SUMMARY_FILE = "AGENT_CONSOLE_PG_PASS_SUMMARY"  # where an xdist worker leaves the line below


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_file: about the SQLite file itself (its bytes, "
                            "header, write-ahead log, plain sqlite3 on it); not in the PostgreSQL pass")
    config.addinivalue_line("markers", "uses_store: reaches a store without the store fixtures "
                            "(opens one itself); kept in the PostgreSQL pass")
    if TEST_DB == "postgresql" and not hasattr(config, "workerinput"):
        if hint := pg_server.missing():  # the whole pass fails at once, saying what to install
            raise pytest.UsageError(f"AGENT_CONSOLE_TEST_DB=postgresql: {hint}")
        summary = Path(tempfile.mkdtemp(prefix="agent-console-pg-pass-")) / "summary"
        os.environ[_SUMMARY_FILE] = str(summary)  # the workers start after this, inheriting it


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass runs only the tests that touch a store: the others do not depend on
    the database and ran in the SQLite pass; nor do the tests about the SQLite file itself."""
    if TEST_DB != "postgresql":
        return
    kept, no_store, file_only = [], [], []
    for item in items:
        if item.get_closest_marker("sqlite_file"):
            file_only.append(item)
        elif STORE_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("uses_store"):
            kept.append(item)
        else:
            no_store.append(item)
    config.hook.pytest_deselected(items=no_store + file_only)
    items[:] = kept
    line = (f"PostgreSQL pass: {len(kept)} tests touch a store; deselected {len(no_store)} with "
            f"no store fixture or uses_store marker (they ran in the SQLite pass) and "
            f"{len(file_only)} about the SQLite file itself (marked sqlite_file)")
    if summary := os.environ.get(_SUMMARY_FILE):
        Path(summary).write_text(line)  # every worker collects the same tests


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if TEST_DB == "postgresql" and not hasattr(config, "workerinput"):
        summary = Path(os.environ.get(_SUMMARY_FILE, "-"))
        if summary.is_file():
            terminalreporter.write_line(summary.read_text())
            shutil.rmtree(summary.parent, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _stop_pg() -> Iterator[None]:
    yield
    if _pg is not None:
        _pg.stop()


_pg_databases: dict[Path, str] = {}  # the database standing for a store path, on PostgreSQL


def make_store(path: Path, clock: FrozenClock) -> Store:
    """The store at `path`: that file, or with AGENT_CONSOLE_TEST_DB=postgresql a database of
    its own (made on first use, the same one when the path is opened again)."""
    if TEST_DB == "postgresql":
        if path not in _pg_databases:
            _pg_databases[path] = pg().new_database()
        return open_store(_pg_databases[path], clock=clock)
    return open_store(path, clock=clock)


def register_database(path: Path, url: str) -> None:
    """The PostgreSQL database at `url` stands for the store file `path` from now on."""
    _pg_databases[path] = url


def store_location(path: Path) -> str:
    """What `--db` takes for the store `make_store(path, …)` opened: the file, or its database."""
    return _pg_databases[path] if TEST_DB == "postgresql" else str(path)


class StoreTemplates:
    """Stores made once per test session (per worker) and copied for each test that wants one.

    Creating a store (schema, indexes, triggers, the site's policy) or filling a demo store
    costs far more than copying the finished one: a SQLite file is copied byte for byte, a
    PostgreSQL database is created from the template database (`CREATE DATABASE … TEMPLATE`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[tuple[object, ...], Path] = {}
        self.pg_made: dict[tuple[object, ...], str] = {}  # key → template database's name
        # The next copy of each template is made while a test runs: the server copies while
        # the test waits on other things.
        self._ahead: dict[str, Future[str]] = {}
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-template-copy")

    def copy(self, key: tuple[object, ...], clock: FrozenClock, build: Callable[[Store], None],
             path: Path) -> Store:
        key = (*key, clock.now())
        if TEST_DB == "postgresql":
            return self._copy_pg(key, clock, build, path)
        if (template := self.made.get(key)) is None:
            template = self.folder / f"template-{len(self.made)}.db"
            made = make_store(template, clock)
            build(made)
            made.close()
            self.made[key] = template
        copy_store_file(template, path)
        return make_store(path, clock)

    def close(self) -> None:
        """Wait for the copies being made (before the server stops)."""
        self._maker.shutdown(wait=True)

    def _copy_pg(self, key: tuple[object, ...], clock: FrozenClock, build: Callable[[Store], None],
                 path: Path) -> Store:
        if (template := self.pg_made.get(key)) is None:
            url = pg().new_database()
            made = open_store(url, clock=clock)
            build(made)
            made.close()  # PostgreSQL copies a template only while nobody is connected to it
            template = self.pg_made[key] = pg_server.PgServer.database_name(url)
        ahead = self._ahead.pop(template, None)
        _pg_databases[path] = ahead.result() if ahead else pg().new_database(template=template)
        self._ahead[template] = self._maker.submit(pg().new_database, template=template)
        return open_store(_pg_databases[path], clock=clock)


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplates]:
    templates = StoreTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture
def store(tmp_path: Path, clock: FrozenClock, store_templates: StoreTemplates) -> Store:
    return store_templates.copy(("empty",), clock, lambda _: None, tmp_path / "store.db")


@pytest.fixture
def demo_store(tmp_path: Path, clock: FrozenClock, store_templates: StoreTemplates) -> Store:
    from agent_console.services.demo import fill_demo

    return store_templates.copy(("demo", 300, 7), clock, lambda made: fill_demo(made, tickets=300, seed=7),
                                tmp_path / "store.db")


def settings_for(store: Store, lang: str = "en", agent: str = "a001", **overrides: object) -> Settings:
    values: dict[str, object] = {"timezone": "+08:00", "refresh_seconds": 1.0, **overrides}
    return Settings(db=store.url, lang=lang, agent=agent, **values)  # type: ignore[arg-type]


def ensure_agent(store: Store, code: str):
    """The agent with this id, added as a plain agent (without a PIN) if the store lacks one."""
    from agent_console.models.vocab import Role
    from agent_console.services.directory import find_agent

    if (found := find_agent(store, code)) is None:
        with store.write() as tx:
            tx.execute("INSERT INTO agent (code, name, role) VALUES (?, ?, ?)",
                       (code, code, Role.AGENT.value))
        found = find_agent(store, code)
    return found


def actor_for(store: Store, code: str, role: str | None = None) -> Actor:
    """The acting agent `code` (added as a plain agent, or with `role`, if the store lacks it)."""
    found = ensure_agent(store, code)
    if role is not None and found.role != role:
        with store.write() as tx:
            tx.execute("UPDATE agent SET role = ? WHERE code = ?", (role, code))
        found = ensure_agent(store, code)
    return Actor.of(found, store.permissions)


def app_for(store: Store, lang: str = "en", agent: str = "a001", **overrides: object):
    """The app already signed in as `agent` (sign-in itself is tested on its own)."""
    from agent_console.cli import make_app

    return make_app(store, settings_for(store, lang, agent, **overrides),
                    agent=ensure_agent(store, agent))


async def wait_until(check: Callable[[], T], timeout: float = DEADLINE, what: str = "") -> T:
    """Poll `check` in small steps while the app runs; what it returned once truthy.

    Fails after `timeout` seconds, which only a broken app should ever reach.
    """
    end = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout:g} s: {what or check}")
        await asyncio.sleep(0.02)
    return found


async def settle(app, pilot, timeout: float = DEADLINE) -> None:
    """Wait until no worker is running and what the workers posted has been handled.

    A worker replaced by a newer one (search as you type) ends cancelled: normal, not an error.
    Timers are not waited for: wait for what they lead to with `wait_until` or `Dispatched`.
    """
    def quiet() -> bool:
        return all(worker.is_finished for worker in app.workers)

    await pilot.pause()
    while not quiet():
        await wait_until(quiet, timeout, "every worker to finish")
        await pilot.pause()


async def still_for_a_picture(pilot) -> None:
    """Settle, with animation off and cursors that no longer blink, so a snapshot is stable."""
    from textual.widgets import Input, TextArea

    pilot.app.animation_level = "none"  # a scroll caught mid-animation would make it flaky
    await settle(pilot.app, pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False  # a blinking cursor would make the picture flaky
            widget.refresh()  # the cursor is shown again without a repaint of its own
    await pilot.pause()
    await steady_frame(pilot)


async def steady_frame(pilot, timeout: float = DEADLINE) -> None:
    """Wait until what the screen shows stops changing: layout, scrolling into view and a
    table sizing its columns happen after the workers are done, later on a busy machine.
    Two pictures taken a moment apart must be the same (a screen that never keeps still is
    photographed as it is once `timeout` has passed)."""
    from textual.widgets import DataTable

    def tables_sized() -> bool:  # a DataTable sizes its columns when it is next idle
        return not any(table._require_update_dimensions or table._updated_cells
                       for table in pilot.app.screen.query(DataTable))

    await wait_until(tables_sized, timeout, "the tables' columns sized to their rows")
    end = time.monotonic() + timeout
    previous = None
    while time.monotonic() < end:
        await pilot.pause()
        await asyncio.sleep(0.05)  # the moment between the two pictures
        frame = pilot.app.export_screenshot()
        if frame == previous:
            return
        previous = frame


class Dispatched:
    """The messages the app has dispatched: `app.run_test(message_hook=dispatched)`."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._checked = 0  # messages before this one were matched or passed over already

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    async def wait_for(self, kind: type[M], where: Callable[[M], bool] = lambda _: True,
                       timeout: float = DEADLINE) -> M:
        """The next `kind` message (for which `where` holds) since the last one waited for."""
        def found() -> M | None:
            for index in range(self._checked, len(self.messages)):
                message = self.messages[index]
                if isinstance(message, kind) and where(message):
                    self._checked = index + 1
                    return message
            return None

        return await wait_until(found, timeout, f"a {kind.__name__} message")
