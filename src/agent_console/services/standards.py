"""The figures of the service standards, read once from content/standards.toml (today's values as defaults)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from agent_console.models.vocab import Grade, Role


@dataclass(frozen=True)
class Standards:
    classify_within: timedelta = timedelta(minutes=15)
    step_points: int = 60
    empathy_points: int = 25
    wording_points: int = 15
    follow_up_role: str = Role.SUPERVISOR.value
    follow_up_department: str = "service"
    follow_up_grade: str = Grade.IMPORTANT.value
    follow_up_within: timedelta | None = None  # None: the SLA policy decides
    reveal_reasons: tuple[str, ...] = ("verify_identity", "handle_business", "call_back", "other")


def parse_standards(data: dict[str, Any]) -> Standards:
    """Standards from parsed TOML; a missing key keeps today's value, a wrong one raises ValueError."""
    base = Standards()
    intake, points = data.get("intake", {}), data.get("adherence", {})
    follow, reveal = data.get("follow_up", {}), data.get("reveal", {})
    minutes = float(intake.get("classify_within_minutes", 15))
    weights = [int(points.get(k, getattr(base, k))) for k in ("step_points", "empathy_points",
                                                                 "wording_points")]
    if minutes <= 0 or any(w < 0 for w in weights) or sum(weights) != 100:
        raise ValueError("standards.toml: classify_within_minutes > 0 and points summing to 100")
    role = str(follow.get("role", base.follow_up_role))
    if role not in {r.value for r in Role}:
        raise ValueError(f"standards.toml: follow_up.role {role!r} is not a role")
    grade = str(follow.get("grade", base.follow_up_grade))
    if grade not in {g.value for g in Grade}:
        raise ValueError(f"standards.toml: follow_up.grade {grade!r} is not a grade")
    hours = follow.get("deadline_hours", 0)
    reasons = tuple(str(r) for r in reveal.get("reasons", base.reveal_reasons))
    if "other" not in reasons:
        reasons += ("other",)
    step, empathy, wording = weights
    return Standards(timedelta(minutes=minutes), step, empathy, wording, role,
                     str(follow.get("department", base.follow_up_department)), grade,
                     timedelta(hours=float(hours)) if hours not in ("", 0, None) else None, reasons)


@lru_cache(maxsize=1)
def standards() -> Standards:
    """The shipped standards (cached)."""
    text = resources.files("agent_console.content").joinpath("standards.toml").read_text("utf-8")
    return parse_standards(tomllib.loads(text))
