"""Role-play scenarios 情景模拟 as data: the models, and loading with located problems.

A scenario file (content/scenarios/*.toml, format in content/scenarios/README.md) holds the
title and brief, the contact (work type, category, the service script the trainee runs), the
customer persona, the sandbox data the run needs, the customer's lines as nodes with transitions
driven by the trainee's moves, extra phrase sets, and the rubric (a shared one by id, or its own).

Loading resolves what the engine and the scorer need, so neither reads files:
    load_scenarios(extra_dir=None, *, files=None, scripts=None) -> ScenarioLibrary
        the shipped scenarios (or only `files`) plus a trainer's folder; a trainer's scenario
        replaces a shipped one of the same id. A broken file is left out and reported as a
        Problem(file, place, message); the others still load.
    parse_scenario(source, text, *, scripts, phrasebook, rubrics) -> (Scenario | None, problems)
    load_phrasebook() / load_rubrics() -> the shared phrase sets and rubrics, with problems
    Scenario: spec (the file as a ScenarioSpec; its sandbox models are in sandbox.py), phrases
        (shared sets + the file's + the script's forbidden wording), rubric (resolved), script,
        step_stages (step id -> stage, over the script and the scripts it branches to), source.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from agent_console.models.vocab import Channel, Tier, WorkType
from agent_console.services.scripts import Script, ScriptLibrary, StageId, Text, load_scripts
from agent_console.services.training.moves import Ending, When
from agent_console.services.training.phrases import Ident, Phrasebook, PhraseSet, parse_phrasebook
from agent_console.services.training.rubric import Rubric, RubricSpec, resolve
from agent_console.services.training.sandbox import Sandbox

PHRASES_FILE = "phrases.toml"
CERTIFICATION_FILE = "certification.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# ── the customer: persona, nodes and transitions ─────────────────────────────

class Contact(_Frozen):
    work_type: WorkType
    category: Ident
    channel: Channel = Channel.HOTLINE
    script: Ident
    situation: Ident | None = None


class Persona(_Frozen):
    name: Text
    tier: Tier = Tier.STANDARD
    age: int | None = Field(default=None, ge=0, le=120)
    mood: int = Field(ge=0, le=100)  # 0 furious … 100 delighted
    patience: int = Field(ge=1, le=100)  # at 0 the customer hangs up
    drain: float = Field(default=2.0, ge=0, le=100)  # patience lost per minute of the run
    traits: Text | None = None


class Guard(_Frozen):
    """State the customer must be in for a transition; every given part must hold."""

    mood_min: int | None = Field(default=None, ge=0, le=100)
    mood_max: int | None = Field(default=None, ge=0, le=100)
    patience_min: int | None = Field(default=None, ge=0, le=100)
    patience_max: int | None = Field(default=None, ge=0, le=100)
    flags: tuple[Ident, ...] = ()
    not_flags: tuple[Ident, ...] = ()
    visited: tuple[Ident, ...] = ()
    not_visited: tuple[Ident, ...] = ()


class Edge(_Frozen):
    """When the trainee does `when` (and `if` holds): say `lines`, change mood and patience, set
    flags, and go to `goto` (or stay). A `once` edge is taken at most once a run."""

    when: When
    if_: Guard = Field(default=Guard(), alias="if")
    goto: Ident | None = None
    lines: tuple[Text, ...] = ()
    mood: int = Field(default=0, ge=-100, le=100)
    patience: int = Field(default=0, ge=-100, le=100)
    set: tuple[Ident, ...] = ()
    once: bool = False


class Node(_Frozen):
    """A point in the conversation: one of `lines` (picked by the seeded generator) is said on
    arrival; then the customer waits for a move matching `on`, passes straight on to `then`, or,
    with `end`, the run is over."""

    id: Ident
    lines: tuple[Text, ...] = Field(min_length=1)
    on: tuple[Edge, ...] = ()
    then: Ident | None = None
    end: Ending | None = None


def _rubric_kind(value: Any) -> str:
    return "rubric-table" if isinstance(value, (dict, RubricSpec)) else "rubric-id"


# A shared rubric's id, or a table of the scenario's own; errors name only the form given.
RubricRef = Annotated[Annotated[Ident, Tag("rubric-id")] | Annotated[RubricSpec, Tag("rubric-table")],
                      Discriminator(_rubric_kind)]
_TAGS = ("rubric-id", "rubric-table")


class ScenarioSpec(_Frozen):
    id: Ident
    title: Text
    brief: Text
    level: int = Field(default=1, ge=1, le=3)
    contact: Contact
    persona: Persona
    sandbox: Sandbox
    time_budget: int = Field(gt=0)  # seconds
    start: Ident
    hang_up: Ident  # where the customer goes when patience runs out; an ending node
    rubric: RubricRef
    phrases: dict[Ident, PhraseSet] = {}
    nodes: tuple[Node, ...] = Field(min_length=2)
    anywhere: tuple[Edge, ...] = ()  # tried at every node after the node's own transitions

    @cached_property
    def node_index(self) -> dict[str, Node]:
        return {node.id: node for node in self.nodes}

    def located_edges(self) -> Iterator[tuple[str, Node | None, Edge]]:
        """Every transition with its place (nodes[2].on[1], anywhere[0]) and node (None: anywhere)."""
        for i, node in enumerate(self.nodes):
            for j, edge in enumerate(node.on):
                yield f"nodes[{i}].on[{j}]", node, edge
        for k, edge in enumerate(self.anywhere):
            yield f"anywhere[{k}]", None, edge


def edge_key(node: Node | None, index: int) -> str:
    """The stable name of a transition in reactions and coverage: opening.on[2], anywhere[0]."""
    return f"{node.id}.on[{index}]" if node is not None else f"anywhere[{index}]"


@dataclass(frozen=True)
class Scenario:
    spec: ScenarioSpec
    phrases: Phrasebook
    rubric: Rubric
    script: Script
    step_stages: Mapping[str, StageId]
    source: str = ""

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> Text:
        return self.spec.title

    def node(self, node_id: str) -> Node:
        return self.spec.node_index[node_id]


@dataclass(frozen=True)
class Problem:
    """Something wrong in a file: the file, the place in it and what is wrong."""

    file: str
    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.place}: {self.message}" if self.place else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class ScenarioLibrary:
    scenarios: Mapping[str, Scenario]
    rubrics: Mapping[str, Rubric] = field(default_factory=dict)
    phrasebook: Phrasebook = Phrasebook()
    problems: tuple[Problem, ...] = ()

    def get(self, scenario_id: str) -> Scenario:
        return self.scenarios[scenario_id]


# ── loading ──────────────────────────────────────────────────────────────────

def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _validation_problems(source: str, exc: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    errors = exc.errors()
    for err in errors:
        # a list whose items failed is also reported as too short; the items say enough
        if err["type"] == "too_short" and any(
                len(o["loc"]) > len(err["loc"]) and o["loc"][:len(err["loc"])] == err["loc"] for o in errors):
            continue
        loc = tuple(p for p in err["loc"] if p not in _TAGS)
        message = {"extra_forbidden": "unknown key (check the spelling)",
                   "missing": "required key is missing"}.get(err["type"], str(err["msg"]))
        problems.append(Problem(source, _dotted((prefix,) + loc if prefix else loc),
                                message.removeprefix("Value error, ")))
    return list(dict.fromkeys(problems))


def _toml(source: str, text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line \d+, column \d+", str(exc))
        return None, [Problem(source, where[0] if where else "", f"not valid TOML: {exc}")]


def _shipped(folder: str) -> list[tuple[str, str]]:
    root = resources.files("agent_console.content").joinpath(folder)
    return sorted((f"content/{folder}/{f.name}", f.read_text(encoding="utf-8"))
                  for f in root.iterdir() if f.name.endswith(".toml"))


def load_phrasebook(text: str | None = None, source: str = f"content/scenarios/{PHRASES_FILE}"
                    ) -> tuple[Phrasebook, list[Problem]]:
    """The shared phrase sets (the shipped file unless `text` is given)."""
    if text is None:
        text = resources.files("agent_console.content").joinpath(
            "scenarios").joinpath(PHRASES_FILE).read_text(encoding="utf-8")
    data, problems = _toml(source, text)
    if data is None:
        return Phrasebook(), problems
    try:
        return parse_phrasebook(data), []
    except ValidationError as exc:
        return Phrasebook(), _validation_problems(source, exc)


def load_rubrics(texts: Sequence[tuple[str, str]] | None = None) -> tuple[dict[str, Rubric], list[Problem]]:
    """The shared rubrics by id: the shipped ones unless (source, text) pairs are given."""
    rubrics: dict[str, Rubric] = {}
    problems: list[Problem] = []
    for source, text in texts if texts is not None else _shipped("rubrics"):
        if source.endswith(CERTIFICATION_FILE):
            continue
        data, found = _toml(source, text)
        problems.extend(found)
        if data is None:
            continue
        try:
            spec = RubricSpec.model_validate(data)
            if spec.id is None or spec.extends is not None:
                problems.append(Problem(source, "id", "a shared rubric needs an id and extends none"))
                continue
            rubric = resolve(spec, {}, default_id=spec.id)
        except ValidationError as exc:
            problems.extend(_validation_problems(source, exc))
            continue
        except ValueError as exc:
            problems.append(Problem(source, "", str(exc)))
            continue
        if rubric.id in rubrics:
            problems.append(Problem(source, "id", f"rubric id {rubric.id!r} is used twice"))
            continue
        rubrics[rubric.id] = rubric
    return rubrics, problems


def script_family(script: Script, scripts: ScriptLibrary) -> dict[str, StageId]:
    """Step id -> stage over the script and every script its branches lead to (first seen wins)."""
    stages: dict[str, StageId] = {}
    queue, seen = [script.id], set()
    while queue:
        current = scripts.scripts.get(queue.pop(0))
        if current is None or current.id in seen:
            continue
        seen.add(current.id)
        for stage, step in current.flow:
            stages.setdefault(step.id, stage)
            queue.extend(b.script for b in step.branches if b.script)
    return stages


def _forbidden_of(script: Script) -> PhraseSet:
    steps = [step.forbidden for _, step in script.flow]
    return PhraseSet(zh=tuple(dict.fromkeys(p for g in (script.forbidden, *steps) for p in g.zh)),
                     en=tuple(dict.fromkeys(p for g in (script.forbidden, *steps) for p in g.en)), bad=True)


def _references(spec: ScenarioSpec, steps: Mapping[str, StageId],
                book: Phrasebook) -> Iterator[tuple[str, str]]:
    """(place, what is wrong) for every name in the scenario that points nowhere."""
    seen: dict[str, int] = {}
    for i, node in enumerate(spec.nodes):
        if node.id in seen:
            yield f"nodes[{i}].id", f"node id {node.id!r} is already used by nodes[{seen[node.id]}]"
        seen.setdefault(node.id, i)
        if node.end is not None and (node.on or node.then):
            yield f"nodes[{i}]", "an ending node has no transitions and no then"
        if node.then is not None and node.on:
            yield f"nodes[{i}]", "a node with then passes straight on; give it no transitions"
        if node.then is not None and node.then not in spec.node_index:
            yield f"nodes[{i}].then", f"unknown node id {node.then!r}"
    for name in ("start", "hang_up"):
        if getattr(spec, name) not in spec.node_index:
            yield name, f"unknown node id {getattr(spec, name)!r}"
    hang_up = spec.node_index.get(spec.hang_up)
    if hang_up is not None and hang_up.end is not Ending.HUNG_UP:
        yield "hang_up", f"node {spec.hang_up!r} must be an ending with end = \"hung_up\""
    for place, _, edge in spec.located_edges():
        if edge.goto is not None and edge.goto not in spec.node_index:
            yield f"{place}.goto", f"unknown node id {edge.goto!r}"
        for key in ("step_done", "step_skipped"):
            for step in getattr(edge.when, key):
                if step not in steps:
                    yield f"{place}.when.{key}", f"step {step!r} is not in script {spec.contact.script!r}"
        for name in edge.when.said:
            if name not in book:
                yield f"{place}.when.said", f"unknown phrase set {name!r}"
        for key in ("visited", "not_visited"):
            for node_id in getattr(edge.if_, key):
                if node_id not in spec.node_index:
                    yield f"{place}.if.{key}", f"unknown node id {node_id!r}"


def parse_scenario(source: str, text: str, *, scripts: ScriptLibrary, phrasebook: Phrasebook,
                   rubrics: Mapping[str, Rubric]) -> tuple[Scenario | None, list[Problem]]:
    """One scenario from TOML text; on any problem, None and every problem found."""
    data, problems = _toml(source, text)
    if data is None:
        return None, problems
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as exc:
        return None, _validation_problems(source, exc)
    script = scripts.scripts.get(spec.contact.script)
    if script is None:
        return None, [Problem(source, "contact.script", f"unknown script id {spec.contact.script!r}")]
    steps = script_family(script, scripts)
    book = phrasebook.merged(Phrasebook(sets=spec.phrases)).merged(
        Phrasebook(sets={"forbidden": _forbidden_of(script)}))
    problems = [Problem(source, place, message) for place, message in _references(spec, steps, book)]
    try:
        rubric = (rubrics[spec.rubric] if isinstance(spec.rubric, str)
                  else resolve(spec.rubric, rubrics, default_id=spec.id))
    except KeyError as exc:
        problems.append(Problem(source, "rubric", f"unknown rubric id {exc.args[0]!r}"))
    except ValueError as exc:
        problems.append(Problem(source, "rubric", str(exc)))
    if problems:
        return None, problems
    return Scenario(spec=spec, phrases=book, rubric=rubric, script=script, step_stages=steps,
                    source=source), []


def load_scenarios(extra_dir: Path | None = None, *, files: Sequence[Path] | None = None,
                   scripts: ScriptLibrary | None = None) -> ScenarioLibrary:
    """The shipped scenarios (or only `files`) plus those in `extra_dir`; later ones replace earlier
    ones of the same id. Shared phrase sets and rubrics are always the shipped ones."""
    scripts = scripts or load_scripts()
    phrasebook, problems = load_phrasebook()
    rubrics, found = load_rubrics()
    problems.extend(found)
    groups: list[list[tuple[str, str | OSError | UnicodeError]]] = []
    if files is None:
        groups.append([(s, t) for s, t in _shipped("scenarios") if not s.endswith(PHRASES_FILE)])
    else:
        groups.append([(str(p), _read(p)) for p in files])
    if extra_dir is not None and extra_dir.is_dir():
        groups.append([(str(p), _read(p)) for p in sorted(extra_dir.glob("*.toml"))
                       if p.name != PHRASES_FILE])
    scenarios: dict[str, Scenario] = {}
    for group in groups:
        in_group: dict[str, str] = {}
        for source, text in group:
            if not isinstance(text, str):
                why = text.strerror if isinstance(text, OSError) else "not UTF-8 text"
                problems.append(Problem(source, "", f"cannot be read: {why}"))
                continue
            scenario, found = parse_scenario(source, text, scripts=scripts, phrasebook=phrasebook,
                                             rubrics=rubrics)
            problems.extend(found)
            if scenario is None:
                continue
            if scenario.id in in_group:
                problems.append(Problem(source, "id", f"scenario id {scenario.id!r} is already used by "
                                                      f"{in_group[scenario.id]}"))
                continue
            in_group[scenario.id] = source
            scenarios[scenario.id] = scenario
    return ScenarioLibrary(dict(sorted(scenarios.items())), rubrics, phrasebook, tuple(problems))


def _read(path: Path) -> str | OSError | UnicodeError:
    """The file's text, or why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        return exc
