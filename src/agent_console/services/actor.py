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
    site: str = "main"

    @classmethod
    def of(cls, agent: AgentInfo, table: Mapping[str, frozenset[str]]) -> Actor:
        return cls(agent.id, agent.code, agent.name, agent.role, agent.team, agent.department,
                   table.get(agent.role, frozenset()), agent.site)

    @property
    def info(self) -> AgentInfo:
        return AgentInfo(self.agent_id, self.code, self.name, self.role, self.team,
                         self.department, self.site)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Refused(permission, self.role)

    @property
    def sees_all_teams(self) -> bool:
        return self.can(permissions.SEE_OTHER_TEAMS)

    @property
    def sees_all_sites(self) -> bool:
        return self.can(permissions.SEE_OTHER_SITES)

    def site_reach(self, site: str = "") -> str | None:
        """The one site a read of this actor covers (None: every site). Without
        `see_other_sites` it is their own, and asking for another site is refused."""
        if self.sees_all_sites:
            return site or None
        if site and site != self.site:
            raise Refused(permissions.SEE_OTHER_SITES, self.role)
        return self.site
