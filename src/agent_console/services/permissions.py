"""What each role may do. Data, not scattered checks: the screens hide, the services refuse."""

from __future__ import annotations

from agent_console.models.vocab import Role
from agent_console.services.store import InputError

KB_EDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


class NotAllowedError(InputError):
    """The agent's role does not permit this act."""


def can_edit_kb(role: str) -> bool:
    """Edit or retire knowledge-base cases."""
    return role in KB_EDITORS


def require_kb_editor(role: str) -> None:
    if not can_edit_kb(role):
        raise NotAllowedError("role", f"{role!r} may not edit or retire knowledge-base cases")
