"""What each role may do: one table (content/permissions.toml), asked by screens and services."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from agent_console.models.vocab import Role
from agent_console.services.store import InputError

REVEAL_PII = "reveal_pii"
CHANGE_CUSTOMER = "change_customer"
SEE_OTHER_TEAMS = "see_other_teams"
EDIT_KB = "edit_kb"
EDIT_POLICY = "edit_policy"
RUN_REPORTS = "run_reports"
MANAGE_AGENTS = "manage_agents"
RUN_TRAINING = "run_training"


class NotAllowedError(InputError):
    """The agent's role does not permit this act."""


class PermissionTableError(Exception):
    """A permissions file that cannot be used."""


@cache
def _table(override: Path | None = None) -> dict[str, frozenset[str]]:
    text = resources.files("agent_console.content").joinpath("permissions.toml").read_text("utf-8")
    source = "permissions.toml"
    if override is not None and override.is_file():
        source, text = str(override), override.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
        known = set(data["permissions"])
        table = {role: frozenset(perms) for role, perms in data["roles"].items()}
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise PermissionTableError(f"{source}: cannot be used ({exc})") from None
    for role, perms in table.items():
        if role not in {r.value for r in Role}:
            raise PermissionTableError(f"{source}: [roles] unknown role {role!r}")
        if unknown := perms - known:
            raise PermissionTableError(f"{source}: [roles] {role}: unknown {sorted(unknown)}")
    return table


def permissions_of(role: str) -> frozenset[str]:
    from agent_console.config import config_dir

    return _table(config_dir() / "permissions.toml").get(role, frozenset())


def can(role: str, permission: str) -> bool:
    return permission in permissions_of(role)


def require(role: str, permission: str) -> None:
    """Refuse at the service layer what the role may not do."""
    if not can(role, permission):
        raise NotAllowedError("role", f"{role or 'unknown'!r} may not {permission.replace('_', ' ')}")


def can_edit_kb(role: str) -> bool:
    return can(role, EDIT_KB)


def require_kb_editor(role: str) -> None:
    require(role, EDIT_KB)
