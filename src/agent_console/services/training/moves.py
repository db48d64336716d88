"""What a trainee does, what the customer says back, and the record of a run.

A move is one thing the trainee does, at a second of the run:
    StepDone(step="verify")                      a script step completed
    StepSkipped(step="survey", reason="...")     a script step skipped, with the reason given
    Said(text="...")                             what the trainee typed to the customer
    CaseUsed(case_id="K12", category="billing", tags=("漫游",))   a knowledge-base case opened
    Compensation(offer="bill_credit", amount=Decimal("20"))      bill_credit, data_gift or points
    Classified(category="billing", work_type="complaint", complaint_form="complaint_ticket")
    Tick()                                       time passes and nothing else happens
`Move` is their union (discriminated by `kind`); `MOVE` reads one back from JSON.

`When` is the one vocabulary for "the trainee did this": a scenario's transitions and a rubric's
items both use it, so a trainer writes a condition once and it means the same in both places.

A run is recorded as a `RunRecord`: the opening lines, the customer's state at the start, then
one `Event` per move: (second, move, reaction), where the reaction carries the lines the customer
said, the phrases found in what the trainee typed, the stage of a script step, and the customer's
state after the move. `frames(record)` turns it into a step-by-step replay.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from agent_console.services.scripts import StageId
from agent_console.services.training.phrases import Ident, PhraseHit

Offer = Literal["bill_credit", "data_gift", "points"]
Form = Literal["complaint_ticket", "direct_answer", "none"]
COMPENSATION_KINDS: tuple[Offer, ...] = ("bill_credit", "data_gift", "points")
COMPLAINT_FORMS: tuple[Form, ...] = ("complaint_ticket", "direct_answer", "none")
ANY = "any"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ending(StrEnum):
    SOLVED_SATISFIED = "solved_satisfied"
    SOLVED_DISSATISFIED = "solved_dissatisfied"
    ESCALATED = "escalated"
    HUNG_UP = "hung_up"


# ── moves ────────────────────────────────────────────────────────────────────

class StepDone(_Frozen):
    kind: Literal["step_done"] = "step_done"
    step: str


class StepSkipped(_Frozen):
    kind: Literal["step_skipped"] = "step_skipped"
    step: str
    reason: str = ""


class Said(_Frozen):
    kind: Literal["said"] = "said"
    text: str


class CaseUsed(_Frozen):
    kind: Literal["case_used"] = "case_used"
    case_id: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()

    def refs(self) -> frozenset[str]:
        return frozenset(r.casefold() for r in (self.case_id, self.category, *self.tags) if r)


class Compensation(_Frozen):
    kind: Literal["compensation"] = "compensation"
    offer: Offer
    amount: Decimal = Field(ge=0)


class Classified(_Frozen):
    kind: Literal["classified"] = "classified"
    category: str
    work_type: str
    complaint_form: str = "none"


class Tick(_Frozen):
    kind: Literal["tick"] = "tick"


Move = Annotated[StepDone | StepSkipped | Said | CaseUsed | Compensation | Classified | Tick,
                 Field(discriminator="kind")]
MOVE: TypeAdapter[Move] = TypeAdapter(Move)


def describe(move: Move) -> str:
    """A short, language-neutral account of a move for evidence and logs."""
    if isinstance(move, StepDone):
        return f"step_done {move.step}"
    if isinstance(move, StepSkipped):
        return f"step_skipped {move.step} ({move.reason})" if move.reason else f"step_skipped {move.step}"
    if isinstance(move, Said):
        return f"said “{move.text}”"
    if isinstance(move, CaseUsed):
        return "case_used " + " ".join(r for r in (move.case_id, move.category, *move.tags) if r)
    if isinstance(move, Compensation):
        return f"compensation {move.offer} {move.amount}"
    if isinstance(move, Classified):
        return f"classified {move.category} / {move.work_type} / {move.complaint_form}"
    return "tick"


# ── conditions ───────────────────────────────────────────────────────────────

class ClassifiedIs(_Frozen):
    """Each given list must hold the chosen value; an empty list accepts any."""

    category: tuple[str, ...] = ()
    work_type: tuple[str, ...] = ()
    complaint_form: tuple[Form, ...] = ()

    def accepts(self, move: Classified) -> bool:
        return all(not allowed or value in allowed for allowed, value in (
            (self.category, move.category), (self.work_type, move.work_type),
            (self.complaint_form, move.complaint_form)))


TRIGGERS = ("step_done", "step_skipped", "stage_done", "said", "said_anything", "case_used",
            "compensation", "classified", "after")


class When(_Frozen):
    """Exactly one trigger: the trainee completed or skipped one of these steps, completed a step
    of one of these stages, typed a phrase of one of these sets (or anything at all), used a KB
    case with one of these ids/categories/tags ("any" for any case), offered one of these kinds of
    compensation (with an optional amount range; "any" for any kind), chose a classification, or
    has been silent `after` seconds (see customer.py)."""

    step_done: tuple[Ident, ...] = ()
    step_skipped: tuple[Ident, ...] = ()
    stage_done: tuple[StageId, ...] = ()
    said: tuple[Ident, ...] = ()
    said_anything: bool = False
    case_used: tuple[str, ...] = ()
    compensation: tuple[Offer | Literal["any"], ...] = ()
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    classified: ClassifiedIs | None = None
    after: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_trigger(self) -> When:
        given = [name for name in TRIGGERS if getattr(self, name) not in ((), False, None)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(TRIGGERS)}; found "
                             f"{', '.join(given) or 'none'}")
        if (self.amount_min is not None or self.amount_max is not None) and not self.compensation:
            raise ValueError("amount_min and amount_max go with compensation")
        return self

    @property
    def trigger(self) -> str:
        return next(name for name in TRIGGERS if getattr(self, name) not in ((), False, None))

    def matches(self, move: Move, hits: tuple[PhraseHit, ...] = (), stage: str | None = None) -> bool:
        """Whether the move meets this condition; `after` is for the engine to judge, never here."""
        if isinstance(move, StepDone):
            return move.step in self.step_done or (stage is not None and stage in self.stage_done)
        if isinstance(move, StepSkipped):
            return move.step in self.step_skipped
        if isinstance(move, Said):
            return self.said_anything or any(hit.set in self.said for hit in hits)
        if isinstance(move, CaseUsed):
            wanted = {ref.casefold() for ref in self.case_used}
            return bool(wanted) and (ANY in wanted or bool(wanted & move.refs()))
        if isinstance(move, Compensation):
            return ((ANY in self.compensation or move.offer in self.compensation)
                    and (self.amount_min is None or move.amount >= self.amount_min)
                    and (self.amount_max is None or move.amount <= self.amount_max))
        if isinstance(move, Classified):
            return self.classified is not None and self.classified.accepts(move)
        return False


# ── what the customer says, and the record ───────────────────────────────────

class Line(_Frozen):
    """One customer line: where it came from (a node id, or an edge's place) and its text."""

    source: str
    index: int
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


class CustomerState(_Frozen):
    node: str
    mood: int = Field(ge=0, le=100)  # 0 furious … 100 delighted
    patience: int = Field(ge=0, le=100)  # at 0 the customer hangs up
    ending: Ending | None = None
    flags: tuple[str, ...] = ()


class Reaction(_Frozen):
    """The customer's answer to one move: what they said and where they stand now."""

    lines: tuple[Line, ...] = ()
    state: CustomerState
    edge: str | None = None  # place of the transition taken, e.g. "opening.on[2]" or "anywhere[0]"
    hits: tuple[PhraseHit, ...] = ()  # phrases found in a Said move
    stage: StageId | None = None  # stage of the step of a StepDone/StepSkipped move

    @property
    def mood(self) -> int:
        return self.state.mood

    @property
    def patience(self) -> int:
        return self.state.patience

    @property
    def ending(self) -> Ending | None:
        return self.state.ending


class Event(_Frozen):
    second: float
    move: Move
    reaction: Reaction


class RunRecord(_Frozen):
    """A whole run; JSON with model_dump_json(), back with RunRecord.model_validate_json()."""

    version: Literal[1] = 1
    scenario: str
    seed: int
    lang: str
    time_budget: int  # seconds
    opening: tuple[Line, ...]
    start: CustomerState
    events: tuple[Event, ...] = ()

    @property
    def state(self) -> CustomerState:
        return self.events[-1].reaction.state if self.events else self.start

    @property
    def ending(self) -> Ending | None:
        return self.state.ending

    @property
    def duration(self) -> float:
        return self.events[-1].second if self.events else 0.0


class ReplayFrame(_Frozen):
    """One step of a replay: frame 0 is the opening, frame n the n-th move and its answer."""

    index: int
    second: float
    move: Move | None
    lines: tuple[Line, ...]
    hits: tuple[PhraseHit, ...] = ()
    state: CustomerState


def frames(record: RunRecord) -> tuple[ReplayFrame, ...]:
    """The run step by step as it happened."""
    first = ReplayFrame(index=0, second=0.0, move=None, lines=record.opening, state=record.start)
    return (first, *(ReplayFrame(index=n, second=e.second, move=e.move, lines=e.reaction.lines,
                                 hits=e.reaction.hits, state=e.reaction.state)
                     for n, e in enumerate(record.events, start=1)))
