"""Shared fixtures: a frozen clock, fresh stores, a demo store and the app factory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from agent_console import i18n
from agent_console.clock import FrozenClock
from agent_console.config import Settings
from agent_console.services.actor import Actor
from agent_console.services.store import Store, open_store

# 10:00 in Beijing on a Tuesday: inside the retail halls' opening hours.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no real clock, English unless a test says otherwise."""
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    for var in ("AGENT_CONSOLE_DB", "AGENT_CONSOLE_LANG", "AGENT_CONSOLE_AGENT", "AGENT_CONSOLE_NOW"):
        monkeypatch.delenv(var, raising=False)
    i18n.set_language("en")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def make_store(path: Path, clock: FrozenClock) -> Store:
    return open_store(path, clock=clock)


@pytest.fixture
def store(tmp_path: Path, clock: FrozenClock) -> Store:
    return make_store(tmp_path / "store.db", clock)


@pytest.fixture
def demo_store(store: Store) -> Store:
    from agent_console.services.demo import fill_demo

    fill_demo(store, tickets=300, seed=7)
    return store


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


async def settle(app, pilot, delay: float = 0.0) -> None:
    """Let timers fire for `delay` seconds, then wait until every worker has finished."""
    await pilot.pause(delay)
    await app.workers.wait_for_complete()
    await pilot.pause()
