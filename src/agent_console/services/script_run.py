"""Running a script beside a contact: position, ticks, values and step times; the clock is injected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agent_console.clock import Clock
from agent_console.services.script_rules import PLACEHOLDER
from agent_console.services.scripts import Script, ScriptLibrary, StageId, Step, Text, Value
from agent_console.services.standards import standards
from agent_console.services.store import InputError
from agent_console.text import clean_line, strip_controls

REASON_LIMIT = 200


class RunError(Exception):
    """A move the script does not allow here; the message says why."""


@dataclass(frozen=True)
class Missing:
    """A required checklist item or field of the current step that is not done yet."""

    kind: Literal["item", "field"]
    id: str
    label: Text


class StepIncomplete(RunError):
    def __init__(self, step_id: str, missing: tuple[Missing, ...]) -> None:
        names = "; ".join(f"{m.kind} {m.id!r} ({m.label.en})" for m in missing)
        super().__init__(f"step {step_id!r} still needs: {names}")
        self.missing = missing


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Visit(_Record):
    """A step the run has left: when, and whether it was done or skipped (with the reason)."""

    script: str
    step: str
    stage: StageId
    entered_at: datetime
    left_at: datetime
    outcome: Literal["done", "skipped"]
    reason: str = ""


class RunRecord(_Record):
    """Everything needed to resume a run exactly where it stood; JSON via model_dump(mode="json")."""

    version: Literal[1] = 1
    root: str
    script: str
    step: str | None
    entered_at: datetime
    started_at: datetime
    finished_at: datetime | None = None
    context: dict[str, str] = {}
    values: dict[str, Value] = {}
    ticks: tuple[str, ...] = ()
    trail: tuple[Visit, ...] = ()


class Missed(_Record):
    script: str
    step: str
    title: Text
    skipped: str | None  # the reason given, or None when the step was not reached


class Adherence(_Record):
    """How closely the run kept to the script; `score` is the sum of the three parts."""

    required_done: int
    required_total: int
    empathy_first: bool
    forbidden_found: tuple[str, ...]
    missed: tuple[Missed, ...]
    step_points: int
    empathy_points: int
    wording_points: int
    score: int


class ScriptRun:
    """One agent's way through a script (and any sub-script a branch starts)."""

    def __init__(self, scripts: Mapping[str, Script], record: RunRecord, clock: Clock) -> None:
        self._scripts = dict(scripts)
        self._clock = clock
        self.root = record.root
        self._script_id, self._step_id = record.script, record.step
        self._entered_at = record.entered_at
        self.started_at, self.finished_at = record.started_at, record.finished_at
        self._context = dict(record.context)
        self._captured = dict(record.values)
        self._ticks = set(record.ticks)
        self._trail = list(record.trail)
        self._prefill()

    @classmethod
    def start(cls, script: Script, context: Mapping[str, object], clock: Clock,
              library: ScriptLibrary | None = None) -> ScriptRun:
        """A run at the script's first step; `library` holds any sub-scripts its branches start."""
        scripts = {**(library.scripts if library else {}), script.id: script}
        _require_sub_scripts(scripts, script.id)
        now = clock.now()
        record = RunRecord(root=script.id, script=script.id, step=script.flow[0][1].id,
                           entered_at=now, started_at=now, context=_clean_context(context))
        return cls(scripts, record, clock)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], library: ScriptLibrary, clock: Clock) -> ScriptRun:
        """Resume a saved run; refuses one whose scripts or steps are no longer loaded."""
        parsed = RunRecord.model_validate(record)
        places = [(v.script, v.step) for v in parsed.trail] + [(parsed.script, parsed.step)]
        for script_id, step_id in places:
            script = library.scripts.get(script_id)
            if script is None or (step_id is not None and not script.has_step(step_id)):
                raise RunError(f"the saved run stood at step {step_id!r} of script {script_id!r}, "
                               "which the loaded scripts no longer have")
        _require_sub_scripts(library.scripts, parsed.root)
        return cls(library.scripts, parsed, clock)

    def to_record(self) -> dict[str, Any]:
        return RunRecord(root=self.root, script=self._script_id, step=self._step_id,
                         entered_at=self._entered_at, started_at=self.started_at,
                         finished_at=self.finished_at, context=self._context, values=self._captured,
                         ticks=tuple(sorted(self._ticks)), trail=tuple(self._trail)).model_dump(mode="json")

    # What the agent sees

    @property
    def script(self) -> Script:
        """The script the run is in now (the last one when finished)."""
        return self._scripts[self._script_id]

    @property
    def step(self) -> Step | None:
        return None if self._step_id is None else self.script.step(self._step_id)

    @property
    def stage(self) -> StageId | None:
        return None if self._step_id is None else self.script.stage_of(self._step_id)

    @property
    def finished(self) -> bool:
        return self._step_id is None

    @property
    def step_entered_at(self) -> datetime:
        return self._entered_at

    @property
    def trail(self) -> tuple[Visit, ...]:
        return tuple(self._trail)

    @property
    def values(self) -> dict[str, Value]:
        """Captured field values plus what done steps set (such as `handling`)."""
        merged: dict[str, Value] = dict(self._captured)
        for visit in self._trail:
            if visit.outcome == "done":
                merged.update(self._scripts[visit.script].step(visit.step).sets)
        return merged

    def value_text(self, name: str, lang: str) -> str | None:
        """A captured value or context entry as plain display text (choice labels, 是/否), or None."""
        value = self.values.get(name, self._context.get(name))
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return ("是" if value else "否") if lang.startswith("zh") else ("yes" if value else "no")
        found = self.script.input_field(name)
        option = found.option(value) if found is not None else None
        return option.text.get(lang) if option is not None else clean_line(value)

    def say(self, lang: str) -> list[str]:
        """The current step's lines with placeholders filled; never a raw {name} (see render_line)."""
        step = self.step
        if step is None:
            return []

        lines = (render_line(line, lambda name: self.value_text(name, lang))
                 for line in step.lines(lang, self._context.get("channel")))
        return [line for line in lines if line]

    def ticked(self, item_id: str) -> bool:
        return f"{self._script_id}/{item_id}" in self._ticks

    def missing(self) -> tuple[Missing, ...]:
        """Required checklist items unticked and required fields empty in the current step."""
        step = self._open_step()
        items = [Missing("item", i.id, i.text) for i in step.checklist
                 if i.required and not self.ticked(i.id)]
        fields = [Missing("field", f.id, f.label) for f in step.fields
                  if f.required and self._captured.get(f.id) in (None, "")]
        return tuple(items + fields)

    def ahead(self) -> tuple[tuple[str, str], ...]:
        """(script, step) still expected from here, current first, branching on the values as they stand."""
        out: list[tuple[str, str]] = []
        node = None if self._step_id is None else (self._script_id, self._step_id)
        values = self.values
        while node is not None and node not in out:
            out.append(node)
            script = self._scripts[node[0]]
            step = script.step(node[1])
            node = self._target(script, step, {**values, **step.sets})
        return tuple(out)

    # What the agent does

    def update_context(self, values: Mapping[str, object]) -> None:
        """Add or change standard values such as ticket_no once the ticket exists."""
        self._context.update(_clean_context(values))
        self._prefill()

    def _prefill(self) -> None:
        """Fields of the current step the form already answers start with the form's value
        (context `form_phone`, `form_description`); what the agent typed is never replaced."""
        step = self.step
        if step is None:
            return
        for f in step.fields:
            known = self._context.get(f"form_{f.from_form}") if f.from_form else None
            if known and self._captured.get(f.id) in (None, ""):
                try:
                    self._captured[f.id] = f.parse(known)
                except InputError:
                    pass  # the form's value does not fit: the agent answers it

    def tick(self, item_id: str, ticked: bool = True) -> None:
        step = self._open_step()
        if not any(item.id == item_id for item in step.checklist):
            raise RunError(f"step {step.id!r} has no checklist item {item_id!r}")
        key = f"{self._script_id}/{item_id}"
        if ticked:
            self._ticks.add(key)
        else:
            self._ticks.discard(key)

    def fill(self, field_id: str, value: object) -> Value | None:
        """Check and store a value of a field of the current script; empty clears it.

        Returns what was stored (see InputField.parse).
        """
        self._open_step()
        found = self.script.input_field(field_id)
        if found is None:
            raise RunError(f"script {self._script_id!r} has no field {field_id!r}")
        if value is None or (isinstance(value, str) and not value.strip()):
            self._captured.pop(field_id, None)
            return None
        self._captured[field_id] = parsed = found.parse(value)
        return parsed

    def next(self) -> Step | None:
        """Complete the current step and move on; refuses while required items or fields are missing."""
        step = self._open_step()
        missing = self.missing()
        if missing:
            raise StepIncomplete(step.id, missing)
        self._leave("done", "")
        return self.step

    def skip(self, reason: str) -> Step | None:
        step = self._open_step()
        if not step.skippable:
            raise RunError(f"step {step.id!r} cannot be skipped")
        text = clean_line(reason or "")[:REASON_LIMIT]
        if not text:
            raise InputError("reason", "a skipped step needs a reason", code="required")
        self._leave("skipped", text)
        return self.step

    def back(self) -> Step:
        """Return to the step before; what was ticked and typed is kept."""
        if not self._trail:
            raise RunError("this is the first step; there is nothing to go back to")
        visit = self._trail.pop()
        self._script_id, self._step_id = visit.script, visit.step
        self._entered_at, self.finished_at = self._clock.now(), None
        return self.script.step(visit.step)

    # How it went

    def adherence(self, notes_text: str) -> Adherence:
        """Required steps done on the path taken (and still ahead), empathy first, forbidden phrases in notes."""
        done, total, missed = 0, 0, []
        for visit in self._trail:
            step = self._scripts[visit.script].step(visit.step)
            if step.required:
                total += 1
                done += visit.outcome == "done"
                if visit.outcome == "skipped":
                    missed.append(Missed(script=visit.script, step=step.id, title=step.title,
                                         skipped=visit.reason))
        for script_id, step_id in self.ahead():
            step = self._scripts[script_id].step(step_id)
            if step.required:
                total += 1
                missed.append(Missed(script=script_id, step=step_id, title=step.title, skipped=None))
        empathy = self._empathy_first()
        found = self._forbidden_in(notes_text)
        # Points of the adherence score (content/standards.toml): required steps done (in
        # proportion), empathy before any solution, and no forbidden phrase in the notes.
        rule = standards()
        parts = (round(rule.step_points * done / total) if total else rule.step_points,
                 rule.empathy_points if empathy else 0, 0 if found else rule.wording_points)
        return Adherence(required_done=done, required_total=total, empathy_first=empathy,
                         forbidden_found=found, missed=tuple(missed), step_points=parts[0],
                         empathy_points=parts[1], wording_points=parts[2], score=sum(parts))

    def _open_step(self) -> Step:
        step = self.step
        if step is None:
            raise RunError("the script is finished; go back to change a step")
        return step

    def _target(self, script: Script, step: Step,
                values: Mapping[str, Value]) -> tuple[str, str] | None:
        for branch in step.branches:
            if branch.matches(values):
                if branch.script is None:
                    return script.id, branch.goto or ""
                sub = self._scripts[branch.script]
                return sub.id, branch.goto or sub.flow[0][1].id
        n = script.position(step.id) + 1
        return (script.id, script.flow[n][1].id) if n < len(script.flow) else None

    def _leave(self, outcome: Literal["done", "skipped"], reason: str) -> None:
        script, step = self.script, self._open_step()
        values = {**self.values, **(step.sets if outcome == "done" else {})}
        target = self._target(script, step, values)
        now = self._clock.now()
        self._trail.append(Visit(script=script.id, step=step.id, stage=script.stage_of(step.id),
                                 entered_at=self._entered_at, left_at=now, outcome=outcome, reason=reason))
        self._entered_at = now
        if target is None:
            self._step_id, self.finished_at = None, now
        else:
            self._script_id, self._step_id = target
            self._prefill()

    def _empathy_first(self) -> bool:
        """No resolution step before an empathy step was done; no empathy skipped or after a solution."""
        reached: list[tuple[StageId, str]] = [(v.stage, v.outcome) for v in self._trail]
        if self.stage is not None:
            reached.append((self.stage, "current"))
        empathised = solving = False
        for stage, outcome in reached:
            if stage == "empathy":
                if solving or outcome == "skipped":
                    return False
                empathised = empathised or outcome == "done"
            elif stage == "resolution":
                if not empathised:
                    return False
                solving = True
        return True

    def _forbidden_in(self, notes_text: str) -> tuple[str, ...]:
        notes = _fold(notes_text)
        used = {self.root, self._script_id, *(v.script for v in self._trail)}
        phrases = dict.fromkeys(p for s in sorted(used) for p in self._scripts[s].forbidden_phrases())
        return tuple(p for p in phrases if _fold(p) in notes)


# A name may simply be left out ("Are you the account holder?"); any other value is the point of
# its sentence, so the sentence goes when the value is not known yet.
DROP_TOKEN = frozenset({"customer_name"})
_SENTENCE = re.compile(r"[^。？！.?!]+[。？！.?!”\"]*|[。？！.?!]+")


def render_line(line: str, value: Any) -> str:
    """A line to read aloud: each {name} filled with `value(name)`. With no value it reads
    naturally without it: a customer's name is left out with its comma or space; any other
    placeholder takes its whole sentence with it (never half a sentence, never a raw {name}).
    Returns "" when nothing of the line is left."""
    kept: list[str] = []
    for sentence in _SENTENCE.findall(line):
        missing = False

        def fill(match: re.Match[str]) -> str:
            nonlocal missing
            shown = value(match[1])
            if shown is not None and shown != "":
                return str(shown)
            if match[1] in DROP_TOKEN:
                return "\0"
            missing = True
            return ""

        text = PLACEHOLDER.sub(fill, sentence)
        if not missing:
            kept.append(text)
    out = re.sub(r"[,，]?[ \t]*\x00", "", "".join(kept)).strip()
    out = re.sub(r"[ \t]+([,.?!;:])", r"\1", re.sub(r"[ \t]{2,}", " ", out))
    return out


def _fold(text: str) -> str:
    return " ".join(strip_controls(text).casefold().split())


def _clean_context(values: Mapping[str, object]) -> dict[str, str]:
    return {str(key): clean_line(str(value)) for key, value in values.items() if value is not None}


def _require_sub_scripts(scripts: Mapping[str, Script], root: str) -> None:
    """Every script a branch can start (directly or further on) must be at hand."""
    todo, seen = [root], set()
    while todo:
        script_id = todo.pop()
        if script_id in seen:
            continue
        seen.add(script_id)
        script = scripts[script_id]
        for _, step in script.flow:
            for branch in step.branches:
                if branch.script is None:
                    continue
                sub = scripts.get(branch.script)
                if sub is None or (branch.goto is not None and not sub.has_step(branch.goto)):
                    raise RunError(f"script {script_id!r} can start {branch.script!r} at "
                                   f"{branch.goto or 'its first step'}, which is not loaded; "
                                   "pass the library")
                todo.append(branch.script)
