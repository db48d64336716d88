"""What the training screens share: the TRAINING / 培训 banner, transcript lines, and moves and
events turned into plain words."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from agent_console.i18n import t
from agent_console.services.training.moves import (
    CaseUsed,
    Classified,
    Compensation,
    Move,
    Said,
    StepDone,
    StepSkipped,
)
from agent_console.text import clean_line

BANNER = "TRAINING / 培训"


def banner(*parts: str) -> str:
    return "  ".join([f"▌{BANNER}▐", *[p for p in parts if p]])


def clock(second: float) -> str:
    whole = int(second)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def move_text(move: Move) -> str:
    if isinstance(move, StepDone):
        return t("train.move.step_done", step=move.step)
    if isinstance(move, StepSkipped):
        return t("train.move.step_skipped", step=move.step, reason=clean_line(move.reason))
    if isinstance(move, Said):
        return t("train.move.said", text=clean_line(move.text))
    if isinstance(move, CaseUsed):
        return t("train.move.case_used", case=" ".join(
            r for r in (move.case_id, move.category, *move.tags) if r))
    if isinstance(move, Compensation):
        return t("train.move.compensation", offer=move.offer, amount=move.amount)
    if isinstance(move, Classified):
        return t("train.move.classified", category=move.category, work_type=move.work_type,
                 complaint_form=move.complaint_form)
    return t("train.move.tick")


def line(second: float, who: str, text: str, style: str = "") -> Text:
    """One transcript line: [mm:ss] who: text (text is data, never markup)."""
    out = Text(f"[{clock(second)}] ", style="dim")
    out.append(f"{who}: ", style=style or "bold")
    out.append(clean_line(text))
    return out


def customer_lines(payload: dict[str, Any], lang: str) -> list[str]:
    """The customer's lines in an event's reaction or opening payload."""
    lines = payload.get("lines")
    if lines is None:
        reaction = payload.get("reaction") or {}
        lines = reaction.get("lines") or ()
    return [str(item.get("zh" if lang.startswith("zh") else "en", "")) for item in lines]
