"""What each role may do: one table, kept in the store (seeded from content/permissions.toml)."""

from __future__ import annotations

import tomllib
from importlib import resources

from agent_console.models.vocab import Role
from agent_console.services.errors import Refused

REVEAL_PII = "reveal_pii"
CHANGE_CUSTOMER = "change_customer"
SEE_OTHER_TEAMS = "see_other_teams"
SEE_OTHER_SITES = "see_other_sites"
EDIT_KB = "edit_kb"
EDIT_POLICY = "edit_policy"
RUN_REPORTS = "run_reports"
MANAGE_AGENTS = "manage_agents"
RUN_TRAINING = "run_training"
ERASE_PERSONAL_DATA = "erase_personal_data"
MANAGE_OUTAGES = "manage_outages"

Table = dict[str, frozenset[str]]


class PermissionTableError(Exception):
    """A permissions document that cannot be used."""


def shipped_text() -> str:
    return resources.files("agent_console.content").joinpath("permissions.toml").read_text("utf-8")


def table_from_text(text: str, source: str = "permissions.toml") -> Table:
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
    if MANAGE_AGENTS not in table.get(Role.ADMIN.value, frozenset()):
        raise PermissionTableError(f"{source}: [roles] admin must keep manage_agents")
    return table


def shipped_table() -> Table:
    return table_from_text(shipped_text())


def require(permissions: frozenset[str], role: str, permission: str) -> None:
    """Refuse at the service layer what the role may not do."""
    if permission not in permissions:
        raise Refused(permission, role)
