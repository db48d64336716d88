"""Who acts: the signed-in agent with what their role may do. Every service call that reads or
changes customer data takes one; nothing sees everything by default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent_console.models.read import AgentInfo
from agent_console.services import permissions
from agent_console.services.errors import Refused


@dataclass(frozen=True)
class Actor:
    agent_id: int
    code: str
    name: str
    role: str
    team: str
    department: str | None
    permissions: frozenset[str]

    @classmethod
    def of(cls, agent: AgentInfo, table: Mapping[str, frozenset[str]]) -> Actor:
        return cls(agent.id, agent.code, agent.name, agent.role, agent.team, agent.department,
                   table.get(agent.role, frozenset()))

    @property
    def info(self) -> AgentInfo:
        return AgentInfo(self.agent_id, self.code, self.name, self.role, self.team,
                         self.department)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Refused(permission, self.role)

    @property
    def sees_all_teams(self) -> bool:
        return self.can(permissions.SEE_OTHER_TEAMS)
