"""The seeded auto-player behind `agent-console train autoplay`: random trainee moves until every
transition of a scenario has been taken, checking the engine on the way.

Each run plays moves drawn from `random.Random(f"{seed}:{run}")`: mostly a move made to meet one
of the transitions open at the customer's node (those not yet taken first), sometimes a tick, a
step, a phrase or a case picked at random. Runs go on until every transition has been taken or
`runs` is reached. A failure is an engine error, an answer slower than SLOW_MS, a run whose
replay or score differs from the original, or a customer stuck with nothing left to react to and
no patience draining. Runs that reach `max_moves` without an ending are counted, not failed.

API:
    autoplay(scenario, *, seed=0, runs=500, max_moves=150) -> Coverage
    play(scenario, *, seed, run, taken=None, max_moves=150) -> Played   one run
    branches(scenario) -> tuple[str, ...]          every transition's key (opening.on[0], anywhere[1])
Coverage: branches, taken (key -> times), endings, nodes, items_passed (rubric item -> runs
    passed), unfinished, failures, slowest_ms;
    .missing, .percent, .complete, .as_dict() (for --json)
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agent_console.models.vocab import WorkType
from agent_console.services.training.customer import CustomerSim, replay
from agent_console.services.training.moves import (
    ANY,
    COMPENSATION_KINDS,
    COMPLAINT_FORMS,
    CaseUsed,
    Classified,
    ClassifiedIs,
    Compensation,
    Move,
    RunRecord,
    Said,
    StepDone,
    StepSkipped,
    Tick,
    When,
)
from agent_console.services.training.rubric import score
from agent_console.services.training.scenario import Edge, Scenario, edge_key

SLOW_MS = 50.0
AMOUNTS = (1, 5, 10, 20, 30, 50, 100, 500)
FILLER = ("嗯，好的", "请稍等", "我看一下", "OK, one moment", "let me see", "明白")
PAUSES = (1, 2, 3, 5, 8, 13)


@dataclass(frozen=True)
class Failure:
    run: int
    move: int  # 0: before the first move
    what: str

    def __str__(self) -> str:
        return f"run {self.run}, move {self.move}: {self.what}"


@dataclass(frozen=True)
class Played:
    record: RunRecord
    failures: tuple[Failure, ...]
    slowest_ms: float
    finished: bool


@dataclass(frozen=True)
class Coverage:
    scenario: str
    seed: int
    runs: int
    branches: tuple[str, ...]
    taken: Mapping[str, int]
    endings: Mapping[str, int]
    nodes: Mapping[str, int]
    items_passed: Mapping[str, int]
    unfinished: int = 0
    failures: tuple[Failure, ...] = ()
    slowest_ms: float = 0.0
    all_nodes: tuple[str, ...] = field(default=())
    all_items: tuple[str, ...] = field(default=())

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(b for b in self.branches if not self.taken.get(b))

    @property
    def percent(self) -> float:
        return 100.0 if not self.branches else round(
            100 * (len(self.branches) - len(self.missing)) / len(self.branches), 1)

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "seed": self.seed, "runs": self.runs,
                "branches": len(self.branches), "taken": len(self.branches) - len(self.missing),
                "percent": self.percent, "missing": list(self.missing),
                "endings": dict(self.endings),
                "nodes_missing": [n for n in self.all_nodes if not self.nodes.get(n)],
                "items_passed": dict(self.items_passed),
                "items_never_passed": [i for i in self.all_items if not self.items_passed.get(i)],
                "unfinished": self.unfinished,
                "failures": [str(f) for f in self.failures], "slowest_ms": round(self.slowest_ms, 2)}


def branches(scenario: Scenario) -> tuple[str, ...]:
    spec = scenario.spec
    return (*(edge_key(node, j) for node in spec.nodes for j in range(len(node.on))),
            *(edge_key(None, k) for k in range(len(spec.anywhere))))


def autoplay(scenario: Scenario, *, seed: int = 0, runs: int = 500, max_moves: int = 150) -> Coverage:
    every = branches(scenario)
    taken: Counter[str] = Counter()
    endings: Counter[str] = Counter()
    nodes: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    failures: list[Failure] = []
    slowest, unfinished, played = 0.0, 0, 0
    for run in range(runs):
        result = play(scenario, seed=seed, run=run, taken=taken, max_moves=max_moves)
        played += 1
        record = result.record
        taken.update(e.reaction.edge for e in record.events if e.reaction.edge)
        nodes.update({record.start.node, *(line.source for e in record.events for line in e.reaction.lines
                                           if line.source in scenario.spec.node_index)})
        endings[record.ending.value if record.ending else "none"] += 1
        passed.update(i.id for i in score(record, scenario.rubric).items if i.passed)
        failures.extend(result.failures)
        slowest = max(slowest, result.slowest_ms)
        unfinished += not result.finished
        if all(taken[b] for b in every):
            break
    return Coverage(scenario=scenario.id, seed=seed, runs=played, branches=every, taken=dict(taken),
                    endings=dict(endings), nodes=dict(nodes), items_passed=dict(passed),
                    unfinished=unfinished, failures=tuple(failures), slowest_ms=slowest,
                    all_nodes=tuple(n.id for n in scenario.spec.nodes),
                    all_items=tuple(item.id for _, item in scenario.rubric.items()))


def play(scenario: Scenario, *, seed: int, run: int, taken: Mapping[str, int] | None = None,
         max_moves: int = 150) -> Played:
    """One run of random moves; `taken` (transitions taken so far) steers towards new ones."""
    rng = random.Random(f"{seed}:{run}")
    sim = CustomerSim(scenario, seed=seed + run, lang=rng.choice(("zh", "en")))
    taken = taken or {}
    failures: list[Failure] = []
    slowest = 0.0
    for n in range(1, max_moves + 1):
        if sim.ending is not None:
            break
        options = sim.open_transitions()
        if not options and scenario.spec.persona.drain == 0:
            failures.append(Failure(run, n, f"stuck at node {sim.state.node!r}: nothing to react to "
                                            "and no patience draining"))
            break
        move, at = _next_move(scenario, sim, rng, options, taken)
        started = time.perf_counter()
        try:
            sim.react(move, at)
        except Exception as exc:  # the auto-player reports any engine error as a failure
            failures.append(Failure(run, n, f"engine error on {move.kind}: {exc!r}"))
            break
        elapsed = (time.perf_counter() - started) * 1000
        slowest = max(slowest, elapsed)
        if elapsed > SLOW_MS:
            failures.append(Failure(run, n, f"answered in {elapsed:.1f} ms (limit {SLOW_MS:.0f} ms)"))
    record = sim.record
    if replay(scenario, record) != record:
        failures.append(Failure(run, len(record.events), "replaying the moves gave a different run"))
    if score(record, scenario.rubric) != score(record.model_copy(), scenario.rubric):
        failures.append(Failure(run, len(record.events), "scoring the same run twice differed"))
    return Played(record, tuple(failures), slowest, sim.ending is not None)


def _next_move(scenario: Scenario, sim: CustomerSim, rng: random.Random,
               options: list[tuple[str, Edge]], taken: Mapping[str, int]) -> tuple[Move, float]:
    at = sim.now + rng.choice(PAUSES)
    roll = rng.random()
    if options and roll < 0.75:
        fresh = [o for o in options if not taken.get(o[0])]
        key, edge = rng.choice(fresh if fresh and rng.random() < 0.8 else options)
        if edge.when.after is not None:
            return Tick(), max(at, sim.quiet_since + edge.when.after)
        return _move_for(edge.when, scenario, rng), at
    if roll < 0.85:
        return Tick(), at
    return _noise(scenario, rng), at


def _move_for(when: When, scenario: Scenario, rng: random.Random) -> Move:
    """A move that meets `when` (trigger `after` is handled by the caller)."""
    if when.step_done:
        return StepDone(step=rng.choice(when.step_done))
    if when.step_skipped:
        return StepSkipped(step=rng.choice(when.step_skipped), reason="autoplay")
    if when.stage_done:
        steps = sorted(s for s, stage in scenario.step_stages.items() if stage in when.stage_done)
        return StepDone(step=rng.choice(steps)) if steps else Tick()
    if when.said:
        return Said(text=_phrase(scenario, rng.choice(when.said), rng))
    if when.said_anything:
        return Said(text=rng.choice(FILLER))
    if when.case_used:
        ref = rng.choice(when.case_used)
        return CaseUsed(case_id="K1") if ref == ANY else CaseUsed(tags=(ref,))
    if when.compensation:
        kind = rng.choice(when.compensation)
        offer = rng.choice(COMPENSATION_KINDS) if kind == "any" else kind
        fits = [Decimal(a) for a in AMOUNTS if (when.amount_min is None or a >= when.amount_min)
                and (when.amount_max is None or a <= when.amount_max)]
        amount = rng.choice(fits) if fits else (when.amount_min or when.amount_max or Decimal(0))
        return Compensation(offer=offer, amount=amount)
    wanted = when.classified or ClassifiedIs()
    return Classified(category=rng.choice(wanted.category or (scenario.spec.contact.category, "billing")),
                      work_type=rng.choice(wanted.work_type or tuple(w.value for w in WorkType)),
                      complaint_form=rng.choice(wanted.complaint_form or COMPLAINT_FORMS))


def _phrase(scenario: Scenario, name: str, rng: random.Random) -> str:
    group = scenario.phrases.sets[name]
    return rng.choice([p for _, p in group.phrases()])


def _noise(scenario: Scenario, rng: random.Random) -> Move:
    kind = rng.randrange(4)
    if kind == 0:
        return StepDone(step=rng.choice(sorted(scenario.step_stages)))
    if kind == 1:
        return Said(text=_phrase(scenario, rng.choice(sorted(scenario.phrases.sets)), rng))
    if kind == 2:
        return Said(text=rng.choice(FILLER))
    return CaseUsed(category=scenario.spec.contact.category)
