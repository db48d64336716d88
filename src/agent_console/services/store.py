"""The unit every service works on: a store file with its clock, SLA policy and catalog."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_console import db
from agent_console.clock import Clock
from agent_console.services.catalog import Catalog
from agent_console.services.sla import SlaPolicy

SENTINEL_KEY = 2**53  # due/warn key of a ticket whose clock is not running: it sorts last


class ConflictError(Exception):
    """Someone else changed the record since it was read."""


class NotFoundError(Exception):
    """The record asked for does not exist."""


class InputError(ValueError):
    """A value a user gave that cannot be used; names the field and what is allowed."""

    def __init__(self, field: str, message: str, *, code: str = "") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code  # "required" lets a screen say it in the agent's language


@dataclass(frozen=True)
class Store:
    path: Path
    clock: Clock
    policy: SlaPolicy
    catalog: Catalog

    @contextmanager
    def session(self) -> Iterator[Any]:
        """One SQLModel session per unit of work, committed on success."""
        from sqlmodel import Session

        with Session(db.engine_for(self.path)) as session:
            yield session
            session.commit()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = db.connect(self.path)
        try:
            yield conn
        finally:
            conn.close()


def sync_catalog(store: Store) -> None:
    """Make the department table match the catalog (tickets refer to departments by code)."""
    with store.connection() as conn:
        conn.executemany(
            "INSERT INTO department (code, name_en, name_zh) VALUES (?, ?, ?) ON CONFLICT(code) "
            "DO UPDATE SET name_en=excluded.name_en, name_zh=excluded.name_zh "
            "WHERE name_en != excluded.name_en OR name_zh != excluded.name_zh",
            [(d.code, d.name_en, d.name_zh) for d in store.catalog.departments.values()])
