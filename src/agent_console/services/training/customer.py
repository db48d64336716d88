"""The scripted customer: a deterministic engine that answers the trainee's moves.

    sim = CustomerSim(scenario, seed=7, lang="zh")
    sim.opening()                                   -> list[Line]: what the customer says first
    sim.react(Said(text="非常抱歉给您添麻烦了"), 12.0)  -> Reaction(lines, state, edge, hits, stage)
    sim.record                                      -> RunRecord so far (score it, store it, replay it)
    replay(scenario, record)                        -> the record re-played from its moves

How a move is answered, at `at_seconds` (never earlier than the previous move):
 1. patience drains with time (persona.drain points a minute since the start of the run);
 2. the first transition whose condition the move meets and whose `if` holds is taken: the
    current node's own transitions in order, then the scenario's `anywhere` ones. A transition
    with `after = N` is for silence: it is taken on a Tick() once N seconds have passed since
    the trainee last did anything or the customer last spoke; the screen sends Tick() while the
    trainee is idle (once a second is plenty);
 3. the transition's lines are said, mood and patience change, flags are set, and the customer
    moves to `goto`, saying one of its lines and passing on through any `then`;
 4. if patience reaches 0 before an ending, the customer goes to the hang-up node.
After an ending the customer says nothing more and stays as they are, but moves are still taken
and recorded, so the trainee can finish the wrap-up steps (record, survey, goodbye) that count.
Lines with alternatives are picked by `random.Random(seed)` and nothing else is random, so the
same seed and the same moves give the same transcript. Nothing here reads the clock.
"""

from __future__ import annotations

import math
import random
from collections import Counter

from agent_console.services.scripts import Text
from agent_console.services.training.moves import (
    CustomerState,
    Ending,
    Event,
    Line,
    Move,
    Reaction,
    RunRecord,
    Said,
    StepDone,
    StepSkipped,
    Tick,
)
from agent_console.services.training.phrases import PhraseHit
from agent_console.services.training.scenario import Edge, Guard, Scenario, edge_key

MAX_THEN = 32  # `then` chains longer than this are a loop the linter reports


class CustomerSim:
    def __init__(self, scenario: Scenario, seed: int = 0, lang: str = "zh") -> None:
        self.scenario = scenario
        self.seed = seed
        self.lang = lang
        persona = scenario.spec.persona
        self._rng = random.Random(seed)
        self._mood = persona.mood
        self._patience = persona.patience
        self._drained = 0
        self._flags: set[str] = set()
        self._visits: Counter[str] = Counter()
        self._fired: set[str] = set()
        self._now = 0.0
        self._quiet_since = 0.0
        self._ending: Ending | None = None
        self._node = scenario.spec.start
        self._events: list[Event] = []
        self._opening = tuple(self._enter(scenario.spec.start))
        self._start = self.state

    # ── what the UI reads ────────────────────────────────────────────────────

    def opening(self) -> list[Line]:
        return list(self._opening)

    @property
    def state(self) -> CustomerState:
        return CustomerState(node=self._node, mood=self._mood, patience=self._patience,
                             ending=self._ending, flags=tuple(sorted(self._flags)))

    @property
    def ending(self) -> Ending | None:
        return self._ending

    @property
    def now(self) -> float:
        """The second of the last move."""
        return self._now

    @property
    def quiet_since(self) -> float:
        """The second since which neither side has done anything: `after` transitions count from it."""
        return self._quiet_since

    @property
    def record(self) -> RunRecord:
        return RunRecord(scenario=self.scenario.id, seed=self.seed, lang=self.lang,
                         time_budget=self.scenario.spec.time_budget, opening=self._opening,
                         start=self._start, events=tuple(self._events))

    def say(self, line: Line) -> str:
        return line.text(self.lang)

    def open_transitions(self) -> list[tuple[str, Edge]]:
        """The transitions that could be taken now, in the order they are tried (by their place)."""
        if self._ending is not None or self._patience <= 0:
            return []
        return [(key, edge) for key, edge in self._candidates()
                if not (edge.once and key in self._fired) and self._holds(edge.if_)]

    # ── answering ────────────────────────────────────────────────────────────

    def react(self, move: Move, at_seconds: float) -> Reaction:
        if not math.isfinite(at_seconds) or at_seconds < self._now:
            raise ValueError(f"moves go forward in time: {at_seconds} s is before {self._now} s")
        self._now = at_seconds
        if self._ending is None:
            self._drain(at_seconds)
        hits = self.scenario.phrases.hits(move.text) if isinstance(move, Said) else ()
        stage = (self.scenario.step_stages.get(move.step)
                 if isinstance(move, (StepDone, StepSkipped)) else None)
        lines: list[Line] = []
        taken: str | None = None
        if self._patience > 0 and self._ending is None:
            found = self._pick(move, hits, stage, at_seconds)
            if found is not None:
                taken, edge = found
                lines.extend(self._take(taken, edge))
        if self._patience <= 0 and self._ending is None:
            lines.extend(self._enter(self.scenario.spec.hang_up))
        if taken is not None or lines or not isinstance(move, Tick):
            self._quiet_since = at_seconds
        reaction = Reaction(lines=tuple(lines), state=self.state, edge=taken, hits=hits, stage=stage)
        self._events.append(Event(second=at_seconds, move=move, reaction=reaction))
        return reaction

    def _drain(self, at: float) -> None:
        total = int(at * self.scenario.spec.persona.drain / 60)
        self._patience = max(0, self._patience - (total - self._drained))
        self._drained = total

    def _candidates(self) -> list[tuple[str, Edge]]:
        node = self.scenario.node(self._node)
        return ([(edge_key(node, j), e) for j, e in enumerate(node.on)]
                + [(edge_key(None, k), e) for k, e in enumerate(self.scenario.spec.anywhere)])

    def _pick(self, move: Move, hits: tuple[PhraseHit, ...], stage: str | None,
              at: float) -> tuple[str, Edge] | None:
        open_edges = self.open_transitions()
        for key, edge in open_edges:
            if edge.when.after is None and edge.when.matches(move, hits, stage):
                return key, edge
        if isinstance(move, Tick):
            for key, edge in open_edges:
                if edge.when.after is not None and at - self._quiet_since >= edge.when.after:
                    return key, edge
        return None

    def _holds(self, guard: Guard) -> bool:
        mood, patience = self._mood, self._patience
        return ((guard.mood_min is None or mood >= guard.mood_min)
                and (guard.mood_max is None or mood <= guard.mood_max)
                and (guard.patience_min is None or patience >= guard.patience_min)
                and (guard.patience_max is None or patience <= guard.patience_max)
                and all(f in self._flags for f in guard.flags)
                and not any(f in self._flags for f in guard.not_flags)
                and all(self._visits[n] for n in guard.visited)
                and not any(self._visits[n] for n in guard.not_visited))

    def _take(self, key: str, edge: Edge) -> list[Line]:
        if edge.once:
            self._fired.add(key)
        self._mood = min(100, max(0, self._mood + edge.mood))
        self._patience = min(100, max(0, self._patience + edge.patience))
        self._flags.update(edge.set)
        lines = self._choose(key, edge.lines)
        if edge.goto is not None:
            lines.extend(self._enter(edge.goto))
        return lines

    def _enter(self, node_id: str) -> list[Line]:
        lines: list[Line] = []
        node = self.scenario.node(node_id)
        for _ in range(MAX_THEN):
            self._node = node.id
            self._visits[node.id] += 1
            lines.extend(self._choose(node.id, node.lines))
            if node.end is not None:
                self._ending = node.end
                return lines
            if node.then is None:
                return lines
            node = self.scenario.node(node.then)
        raise RuntimeError(f"node {node_id!r} passes on through `then` more than {MAX_THEN} times")

    def _choose(self, source: str, options: tuple[Text, ...]) -> list[Line]:
        if not options:
            return []
        index = self._rng.randrange(len(options)) if len(options) > 1 else 0
        text = options[index]
        return [Line(source=source, index=index, zh=text.zh, en=text.en)]


def replay(scenario: Scenario, record: RunRecord) -> RunRecord:
    """The record's moves played again on a fresh customer with the record's seed and language.

    Equal to `record` when the scenario has not changed since the run; a trainer can use this to
    check a stored run, and a trainee to step through it with frames().
    """
    sim = CustomerSim(scenario, seed=record.seed, lang=record.lang)
    for event in record.events:
        sim.react(event.move, event.second)
    return sim.record
