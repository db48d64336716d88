"""Agents as actors, and each agent's remembered preferences (queue choices, drafts)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from agent_console.models.read import AgentInfo
from agent_console.services.actor import Actor
from agent_console.services.queue import SCOPES, SORTS, STATES, VIEWS, QueueFilter
from agent_console.services.store import Store

_AGENT_COLUMNS = "id, code, name, role, team, department, site"


def find_agent(store: Store, code: str) -> AgentInfo | None:
    """An enabled agent with this id."""
    with store.read() as tx:
        row = tx.one(f"SELECT {_AGENT_COLUMNS} FROM agent WHERE code = ? AND active = 1", (code,))
    return AgentInfo(*row) if row else None


def actor(store: Store, code: str) -> Actor | None:
    """The enabled agent `code` as an actor, with what their role may do in this store."""
    found = find_agent(store, code)
    return Actor.of(found, store.permissions) if found else None


def list_agents(store: Store) -> list[AgentInfo]:
    with store.read() as tx:
        rows = tx.all(f"SELECT {_AGENT_COLUMNS} FROM agent WHERE active = 1 ORDER BY code")
    return [AgentInfo(*row) for row in rows]


_CHOICES = {"scope": SCOPES, "state": STATES, "view": VIEWS, "sort": SORTS}


def load_queue_filter(store: Store, agent_code: str, actor: Actor | None = None) -> QueueFilter:
    """The agent's last queue filter; unknown or stale values fall back to the defaults (a site
    chosen while `actor` could see other sites, too)."""
    raw = get_preference(store, agent_code, "queue_filter")
    if raw is None:
        return QueueFilter()
    try:
        saved = json.loads(raw)
    except ValueError:
        return QueueFilter()
    values = {}
    for f in fields(QueueFilter):
        value = saved.get(f.name) if isinstance(saved, dict) else None
        if f.name == "text" or not isinstance(value, str) or (f.name in _CHOICES and value not in _CHOICES[f.name]):
            continue
        if f.name == "category" and value and value not in store.catalog.categories:
            continue
        if f.name == "site" and value and actor is not None and not actor.sees_all_sites:
            continue
        values[f.name] = value
    return QueueFilter(**values)


def save_queue_filter(store: Store, agent_code: str, flt: QueueFilter) -> None:
    """Remember the filter and sort; the live text search is not kept."""
    set_preference(store, agent_code, "queue_filter",
                   json.dumps(asdict(flt.with_(text="")), ensure_ascii=False))


def get_preference(store: Store, agent_code: str, key: str) -> str | None:
    with store.read() as tx:
        row = tx.one("SELECT value FROM agent_preference WHERE agent_code = ? AND key = ?",
                     (agent_code, key))
    return row[0] if row else None


def set_preference(store: Store, agent_code: str, key: str, value: str | None) -> None:
    """Store a value for the agent; None removes it."""
    with store.write() as tx:
        if value is None:
            tx.execute("DELETE FROM agent_preference WHERE agent_code = ? AND key = ?",
                       (agent_code, key))
        else:
            tx.execute("INSERT INTO agent_preference (agent_code, key, value) VALUES (?, ?, ?) "
                         "ON CONFLICT(agent_code, key) DO UPDATE SET value = excluded.value",
                       (agent_code, key, value))
