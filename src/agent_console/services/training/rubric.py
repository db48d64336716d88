"""Scoring a run against a rubric, with evidence; and deciding certification.

A rubric is data (content/rubrics/*.toml, shared; or a scenario's own `[rubric]` table, which may
`extends` a shared one and add or replace sections by id). It holds sections of weighted items.
An item is one of these checks:
    steps        these script steps were completed (points in proportion to those done)
    happened     some move met one of `when`                 (e.g. the KB was used)
    never        no move met any of `when`                   (e.g. forbidden wording)
    before       a move meeting `when` came no later than any move meeting `then` (empathy first)
    classified   the last classification chosen fits `classified`
    time_budget  the run took at most `seconds` (default: the scenario's time budget)
    ending       the customer's ending is one of `endings`
An item is not applicable (left out of the total) unless a move met one of `applies_if` and the
customer reached one of the nodes `applies_if_visited`, when those are given, and none of the
nodes `applies_unless_visited`. An item with `auto_fail = "section"` zeroes its section when it
fails; `auto_fail = "run"` zeroes the run.

API:
    RubricSpec / Rubric / Section / Item           the data
    resolve(spec, shared, *, default_id) -> Rubric a spec with its base's sections
    score(record, rubric) -> Result                pure: the same record scores the same
    Result.items[i]: ItemResult(id, section, title, weight, points, applicable, passed, evidence)
    Evidence(frame, second, text)                  frame = index in moves.frames(record)
    CertificationRule / certify(results, rule) -> Certification
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_console.services.scripts import Text
from agent_console.services.training.moves import (
    Classified,
    ClassifiedIs,
    Ending,
    Event,
    RunRecord,
    Said,
    StepDone,
    StepSkipped,
    When,
    describe,
)
from agent_console.services.training.phrases import Ident

Check = Literal["steps", "happened", "never", "before", "classified", "time_budget", "ending"]
Scope = Literal["section", "run"]
_NEEDS: dict[str, tuple[str, ...]] = {
    "steps": ("steps",), "happened": ("when",), "never": ("when",), "before": ("when", "then"),
    "classified": ("classified",), "time_budget": (), "ending": ("endings",)}
_OPTIONAL = ("steps", "when", "then", "classified", "seconds", "endings")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(_Frozen):
    id: Ident
    title: Text
    check: Check
    weight: float = Field(default=1.0, ge=0)
    steps: tuple[Ident, ...] = ()
    when: tuple[When, ...] = ()
    then: tuple[When, ...] = ()
    classified: ClassifiedIs | None = None
    seconds: int | None = Field(default=None, gt=0)
    endings: tuple[Ending, ...] = ()
    applies_if: tuple[When, ...] = ()
    applies_if_visited: tuple[Ident, ...] = ()
    applies_unless_visited: tuple[Ident, ...] = ()
    auto_fail: Scope | None = None

    @model_validator(mode="after")
    def _fits_check(self) -> Item:
        needs = _NEEDS[self.check]
        for name in needs:
            if getattr(self, name) in ((), None):
                raise ValueError(f"a {self.check} item needs {name}")
        extra = [n for n in _OPTIONAL if n not in needs and getattr(self, n) not in ((), None)
                 and not (self.check == "time_budget" and n == "seconds")]
        if extra:
            raise ValueError(f"a {self.check} item takes no {', '.join(extra)}")
        if any(w.after is not None for w in (*self.when, *self.then, *self.applies_if)):
            raise ValueError("`after` is for a scenario's transitions, not for rubric items")
        return self


class Section(_Frozen):
    id: Ident
    title: Text
    items: tuple[Item, ...] = Field(min_length=1)


class RubricSpec(_Frozen):
    """A rubric as written: a shared file gives id, title and pass_mark; a scenario's may extend."""

    id: Ident | None = None
    title: Text | None = None
    extends: Ident | None = None
    pass_mark: float | None = Field(default=None, ge=0, le=100)
    sections: tuple[Section, ...] = ()


class Rubric(_Frozen):
    id: str
    title: Text
    pass_mark: float = Field(ge=0, le=100)
    sections: tuple[Section, ...] = Field(min_length=1)

    def items(self) -> tuple[tuple[Section, Item], ...]:
        return tuple((section, item) for section in self.sections for item in section.items)


def resolve(spec: RubricSpec, shared: Mapping[str, Rubric], *, default_id: str) -> Rubric:
    """The rubric `spec` describes; sections of its own replace the base's of the same id.

    Raises KeyError for an unknown base and ValueError when the result lacks a title or pass mark.
    """
    base = shared[spec.extends] if spec.extends else None
    sections = {s.id: s for s in (base.sections if base else ())}
    sections.update({s.id: s for s in spec.sections})
    title = spec.title or (base.title if base else None)
    pass_mark = spec.pass_mark if spec.pass_mark is not None else (base.pass_mark if base else None)
    if title is None or pass_mark is None:
        raise ValueError("a rubric that extends none needs title and pass_mark")
    return Rubric(id=spec.id or default_id, title=title, pass_mark=pass_mark,
                  sections=tuple(sections.values()))


# ── scoring ──────────────────────────────────────────────────────────────────

class Evidence(_Frozen):
    frame: int | None  # replay frame (1 = the first move); None when nothing happened
    second: float | None
    text: str


class ItemResult(_Frozen):
    id: str
    section: str
    title: Text
    weight: float
    points: float
    applicable: bool
    passed: bool
    evidence: tuple[Evidence, ...]
    auto_fail: Scope | None = None


class AutoFail(_Frozen):
    item: str
    section: str
    scope: Scope


class Result(_Frozen):
    scenario: str
    rubric: str
    items: tuple[ItemResult, ...]
    total: float  # 0–100, one decimal
    pass_mark: float
    passed: bool  # total ≥ pass_mark and no automatic fail
    auto_fail: tuple[AutoFail, ...] = ()
    ending: Ending | None = None
    duration: float = 0.0


def _found(n: int, event: Event) -> Evidence:
    text = describe(event.move)
    if isinstance(event.move, Said):
        text += "".join(f" · {h.set}: “{h.phrase}” ({h.lang})" for h in event.reaction.hits)
    return Evidence(frame=n + 1, second=event.second, text=text)


def _meets(event: Event, conditions: Sequence[When]) -> bool:
    return any(c.matches(event.move, event.reaction.hits, event.reaction.stage) for c in conditions)


def _first(record: RunRecord, conditions: Sequence[When]) -> int | None:
    return next((n for n, e in enumerate(record.events) if _meets(e, conditions)), None)


def _visited(record: RunRecord) -> set[str]:
    nodes = {record.start.node, *(line.source for line in record.opening)}
    for event in record.events:
        nodes.add(event.reaction.state.node)
        nodes.update(line.source for line in event.reaction.lines)
    return nodes


def _judge(item: Item, record: RunRecord) -> tuple[float, bool, tuple[Evidence, ...]]:
    """(share of the weight earned 0..1, passed, evidence)."""
    events = record.events
    if item.check == "steps":
        evidence: list[Evidence] = []
        done = 0
        for step in item.steps:
            n = next((n for n, e in enumerate(events)
                      if isinstance(e.move, StepDone) and e.move.step == step), None)
            if n is None:  # a skip is shown as evidence but earns nothing
                n = next((n for n, e in enumerate(events)
                          if isinstance(e.move, StepSkipped) and e.move.step == step), None)
            if n is None:
                evidence.append(Evidence(frame=None, second=None, text=f"missing: {step}"))
            else:
                done += isinstance(events[n].move, StepDone)
                evidence.append(_found(n, events[n]))
        return done / len(item.steps), done == len(item.steps), tuple(evidence)
    if item.check in ("happened", "never"):
        hits = [n for n, e in enumerate(events) if _meets(e, item.when)]
        shown = tuple(_found(n, events[n]) for n in hits[:5])
        if item.check == "happened":
            return (1.0, True, shown[:1]) if hits else (0.0, False, (
                Evidence(frame=None, second=None, text="not found"),))
        return (0.0, False, shown) if hits else (1.0, True, (
            Evidence(frame=None, second=None, text="none found"),))
    if item.check == "before":
        first, then = _first(record, item.when), _first(record, item.then)
        shown = tuple(_found(n, events[n]) for n in (first, then) if n is not None)
        ok = first is not None and (then is None or first <= then)  # one breath: sorry, then why
        return float(ok), ok, shown or (Evidence(frame=None, second=None, text="not found"),)
    if item.check == "classified":
        chosen = [n for n, e in enumerate(events) if isinstance(e.move, Classified)]
        if not chosen:
            return 0.0, False, (Evidence(frame=None, second=None, text="no classification chosen"),)
        move = events[chosen[-1]].move
        ok = isinstance(move, Classified) and item.classified is not None and item.classified.accepts(move)
        return float(ok), ok, (_found(chosen[-1], events[chosen[-1]]),)
    if item.check == "time_budget":
        budget = item.seconds or record.time_budget
        ok = record.duration <= budget
        return float(ok), ok, (Evidence(frame=len(events) or None, second=record.duration,
                                        text=f"{record.duration:.0f} s / {budget} s"),)
    ok = record.ending in item.endings
    return float(ok), ok, (Evidence(frame=len(events) or None, second=record.duration,
                                    text=f"ending: {record.ending or 'none'}"),)


def score(record: RunRecord, rubric: Rubric) -> Result:
    """Score a run; a pure function of the record and the rubric."""
    visited = _visited(record)
    results: list[ItemResult] = []
    fails: list[AutoFail] = []
    for section, item in rubric.items():
        applicable = ((not item.applies_if or _first(record, item.applies_if) is not None)
                      and (not item.applies_if_visited or bool(visited & set(item.applies_if_visited)))
                      and not visited & set(item.applies_unless_visited))
        share, passed, evidence = _judge(item, record) if applicable else (0.0, False, ())
        if applicable and not passed and item.auto_fail:
            fails.append(AutoFail(item=item.id, section=section.id, scope=item.auto_fail))
        results.append(ItemResult(id=item.id, section=section.id, title=item.title, weight=item.weight,
                                  points=round(item.weight * share, 2), applicable=applicable,
                                  passed=passed, evidence=evidence, auto_fail=item.auto_fail))
    zeroed = {f.section for f in fails if f.scope == "section"}
    results = [r.model_copy(update={"points": 0.0}) if r.section in zeroed else r for r in results]
    weight = sum(r.weight for r in results if r.applicable)
    earned = sum(r.points for r in results if r.applicable)
    total = 0.0 if any(f.scope == "run" for f in fails) or not weight else round(100 * earned / weight, 1)
    return Result(scenario=record.scenario, rubric=rubric.id, items=tuple(results), total=total,
                  pass_mark=rubric.pass_mark, passed=total >= rubric.pass_mark and not fails,
                  auto_fail=tuple(fails), ending=record.ending, duration=record.duration)


# ── certification ────────────────────────────────────────────────────────────

class CertificationRule(_Frozen):
    """Pass `scenarios_needed` different scenarios at `threshold` or more with no automatic fail.

    `scenarios` limits which count (none: any); `attempt` says whether a scenario's best attempt
    counts or only its latest.
    """

    scenarios_needed: int = Field(ge=1)
    threshold: float = Field(ge=0, le=100)
    scenarios: tuple[Ident, ...] = ()
    attempt: Literal["best", "latest"] = "latest"


class Certification(_Frozen):
    certified: bool
    counted: tuple[str, ...]  # scenarios passed, in id order
    needed: int


def certify(results: Sequence[Result], rule: CertificationRule) -> Certification:
    """Whether results (oldest first) certify the trainee under `rule`; pure."""

    def good(result: Result) -> bool:
        return result.total >= rule.threshold and not result.auto_fail

    chosen: dict[str, bool] = {}
    for result in results:
        if rule.scenarios and result.scenario not in rule.scenarios:
            continue
        if rule.attempt == "latest":
            chosen[result.scenario] = good(result)
        else:
            chosen[result.scenario] = chosen.get(result.scenario, False) or good(result)
    counted = tuple(sorted(s for s, ok in chosen.items() if ok))
    return Certification(certified=len(counted) >= rule.scenarios_needed, counted=counted,
                         needed=rule.scenarios_needed)


def load_certification_rule(path: Path | None = None) -> CertificationRule:
    """The shipped rule (content/rubrics/certification.toml) or the one at `path`."""
    if path is None:
        text = resources.files("agent_console.content").joinpath(
            "rubrics").joinpath("certification.toml").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return CertificationRule.model_validate(tomllib.loads(text))
