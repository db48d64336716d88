"""Standard service scripts 标准服务话术 as data: the model, loading with located problems, picking."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from agent_console.models.vocab import Channel, WorkType
from agent_console.services import validation
from agent_console.services.script_rules import check
from agent_console.services.store import InputError
from agent_console.text import strip_controls

StageId = Literal["intake", "empathy", "diagnosis", "resolution", "closing"]

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
OptionValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$")]
Value = str | bool  # what a field holds: text, a phone, an option value, an amount as "12.50"; or yes/no
AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
YES = frozenset({"y", "yes", "true", "1", "是", "对", "是的"})
NO = frozenset({"n", "no", "false", "0", "否", "不", "不是"})


def _lang_is_zh(lang: str) -> bool:
    return lang.startswith("zh")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    zh: Phrase
    en: Phrase

    def get(self, lang: str) -> str:
        return self.zh if _lang_is_zh(lang) else self.en


class Phrases(_Model):
    zh: tuple[Phrase, ...] = ()
    en: tuple[Phrase, ...] = ()

    def get(self, lang: str) -> tuple[str, ...]:
        return self.zh if _lang_is_zh(lang) else self.en


class Lines(Phrases):
    """Lines for the agent to say; a step that has them has them in both languages."""

    @model_validator(mode="after")
    def _both_languages(self) -> Lines:
        if bool(self.zh) != bool(self.en):
            raise ValueError("give the lines in both zh and en")
        return self


class CheckItem(_Model):
    id: Ident
    zh: Phrase
    en: Phrase
    required: bool = True

    @property
    def text(self) -> Text:
        return Text(zh=self.zh, en=self.en)


class Option(_Model):
    value: OptionValue
    zh: Phrase
    en: Phrase

    @property
    def text(self) -> Text:
        return Text(zh=self.zh, en=self.en)


class FieldKind(StrEnum):
    TEXT = "text"
    PHONE = "phone"
    CHOICE = "choice"
    YES_NO = "yes_no"
    AMOUNT = "amount"


class InputField(_Model):
    """A typed value the step captures into the ticket."""

    id: Ident
    kind: FieldKind
    label: Text
    required: bool = True
    options: tuple[Option, ...] = ()
    # What the contact form already holds is not asked again: the field starts with the form's
    # phone or description (the agent may still change it).
    from_form: Literal["phone", "description"] | None = None

    @model_validator(mode="after")
    def _options_fit_kind(self) -> InputField:
        values = [option.value for option in self.options]
        if self.kind is FieldKind.CHOICE and len(values) < 2:
            raise ValueError("a choice needs at least two options")
        if self.kind is not FieldKind.CHOICE and values:
            raise ValueError(f"only a choice has options, not a {self.kind.value} field")
        if len(set(values)) != len(values):
            raise ValueError("option values must differ")
        return self

    def option(self, value: str) -> Option | None:
        return next((option for option in self.options if option.value == value), None)

    def parse(self, value: object) -> Value:
        """The value checked for this kind; raises InputError naming the field.

        A phone is normalised, a choice accepts its value or either label, an amount is kept as
        "12.50", a text loses control characters and is cut to validation.DESCRIPTION_LIMIT.
        """
        if self.kind is FieldKind.YES_NO:
            if isinstance(value, bool):
                return value
            word = str(value).strip().casefold()
            if word in YES or word in NO:
                return word in YES
            raise InputError(self.id, "expected yes or no (是/否)")
        if isinstance(value, bool):
            raise InputError(self.id, f"expected a {self.kind.value} value, not yes/no")
        text = strip_controls(str(value)).strip()
        if self.kind is FieldKind.TEXT:
            return text[:validation.DESCRIPTION_LIMIT]
        if self.kind is FieldKind.PHONE:
            return validation.phone(self.id, text)
        if self.kind is FieldKind.CHOICE:
            for option in self.options:
                if text.casefold() in (option.value.casefold(), option.zh.casefold(), option.en.casefold()):
                    return option.value
            choices = ", ".join(f"{o.value} ({o.en} / {o.zh})" for o in self.options)
            raise InputError(self.id, f"{text!r} is not one of: {choices}")
        amount = text.lstrip("¥￥").replace(",", "").strip()
        if amount.startswith("-"):
            raise InputError(self.id, "an amount cannot be negative")
        if not AMOUNT.match(amount):
            raise InputError(self.id, "expected an amount with at most 2 decimals, like 20 or 12.50")
        return f"{Decimal(amount):.2f}"


class Branch(_Model):
    """When `field` equals `equals` (or any of a list), go to step `goto`, or start script `script`
    (at its step `goto` when given, else at its first step).

    A branch without a field always applies; it must be the step's last branch.
    """

    field: Ident | None = None
    equals: str | bool | tuple[str, ...] | None = None
    goto: Ident | None = None
    script: Ident | None = None

    @field_validator("equals", mode="before")
    @classmethod
    def _equals_shape(cls, value: Any) -> Any:
        if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
            return tuple(value)
        if value is None or isinstance(value, (str, bool)):
            return value
        raise ValueError("must be a text, true/false, or a non-empty list of texts")

    @model_validator(mode="after")
    def _one_target(self) -> Branch:
        if self.goto is None and self.script is None:
            raise ValueError("give goto (a step id), script (a script id), or both (a step of that script)")
        if (self.field is None) != (self.equals is None):
            raise ValueError("give field and equals together, or neither for a branch that always applies")
        return self

    def matches(self, values: Mapping[str, Any]) -> bool:
        if self.field is None:
            return True
        value = values.get(self.field)
        if isinstance(self.equals, tuple):
            return isinstance(value, str) and value in self.equals
        return type(value) is type(self.equals) and value == self.equals


class Step(_Model):
    id: Ident
    title: Text
    say: Lines = Lines()
    # Lines for one channel in place of `say` (say_at.hall: no "thank you for calling" across a
    # counter); any channel without its own lines reads `say`.
    say_at: dict[Channel, Lines] = {}
    checklist: tuple[CheckItem, ...] = ()
    fields: tuple[InputField, ...] = ()
    branches: tuple[Branch, ...] = ()
    kb_hints: tuple[Phrase, ...] = ()
    forbidden: Phrases = Phrases()
    sets: dict[Ident, str] = {}
    required: bool = True
    skippable: bool = False


    def lines(self, lang: str, channel: str | None = None) -> tuple[str, ...]:
        """What to say here in `lang`, at `channel` when the step has lines of its own for it."""
        for key, lines in self.say_at.items():
            if key == channel:
                return lines.get(lang)
        return self.say.get(lang)


class Stage(_Model):
    id: StageId
    steps: tuple[Step, ...] = Field(min_length=1)


class AppliesTo(_Model):
    work_types: tuple[WorkType, ...] = ()
    categories: tuple[Ident, ...] = ()
    situation: Ident | None = None  # e.g. known_outage: picked only when the caller names it


class Script(_Model):
    id: Ident
    title: Text
    applies_to: AppliesTo = AppliesTo()
    forbidden: Phrases = Phrases()  # never to say anywhere in this script
    stages: tuple[Stage, ...] = Field(min_length=1)

    @cached_property
    def flow(self) -> tuple[tuple[StageId, Step], ...]:
        """Every step in order, with its stage."""
        return tuple((stage.id, step) for stage in self.stages for step in stage.steps)

    @cached_property
    def _index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        for n, (_, step) in enumerate(self.flow):
            index.setdefault(step.id, n)
        return index

    @property
    def is_complaint(self) -> bool:
        return WorkType.COMPLAINT in self.applies_to.work_types

    def position(self, step_id: str) -> int:
        return self._index[step_id]

    def step(self, step_id: str) -> Step:
        return self.flow[self._index[step_id]][1]

    def stage_of(self, step_id: str) -> StageId:
        return self.flow[self._index[step_id]][0]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._index

    def input_field(self, field_id: str) -> InputField | None:
        return next((f for _, step in self.flow for f in step.fields if f.id == field_id), None)

    def located_steps(self) -> Iterator[tuple[str, StageId, Step]]:
        """Every step with its place in the file (stages[1].steps[2]) and its stage."""
        for si, stage in enumerate(self.stages):
            for sj, step in enumerate(stage.steps):
                yield f"stages[{si}].steps[{sj}]", stage.id, step

    def forbidden_phrases(self) -> tuple[str, ...]:
        """Script-wide and per-step phrases never to say, both languages."""
        groups = [self.forbidden, *(step.forbidden for _, step in self.flow)]
        return tuple(dict.fromkeys(p for g in groups for p in (*g.zh, *g.en)))


@dataclass(frozen=True)
class ScriptProblem:
    """Why a script file was not loaded: the file, the place in it and what is wrong."""

    file: str
    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.place}: {self.message}" if self.place else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class ScriptLibrary:
    scripts: Mapping[str, Script]
    problems: tuple[ScriptProblem, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)  # script id -> file it came from

    def get(self, script_id: str) -> Script:
        return self.scripts[script_id]


def parse_script(source: str, text: str) -> tuple[Script | None, list[ScriptProblem]]:
    """One script from TOML text; on any problem, None and every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line \d+, column \d+", str(exc))
        return None, [ScriptProblem(source, where[0] if where else "", f"not valid TOML: {exc}")]
    try:
        script = Script.model_validate(data)
    except ValidationError as exc:
        return None, [ScriptProblem(source, _dotted(err["loc"]), _message(err))
                      for err in exc.errors()]
    problems = [ScriptProblem(source, place, message) for place, message in check(script)]
    return (None if problems else script), problems


def load_scripts(extra_dir: Path | None = None) -> ScriptLibrary:
    """The shipped scripts plus a trainer's folder; a trainer's script replaces a shipped one of the same id.

    A broken file is left out and reported; the other scripts still load.
    """
    shipped = resources.files("agent_console.content").joinpath("scripts")
    groups = [[(f"content/scripts/{f.name}", f) for f in shipped.iterdir() if f.name.endswith(".toml")]]
    if extra_dir is not None and extra_dir.is_dir():
        groups.append([(str(path), path) for path in extra_dir.glob("*.toml")])
    scripts: dict[str, Script] = {}
    sources: dict[str, str] = {}
    problems: list[ScriptProblem] = []
    for group in groups:
        in_group: set[str] = set()
        for source, file in sorted(group, key=lambda pair: pair[0]):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(ScriptProblem(source, "", f"cannot be read: {exc}"))
                continue
            script, found = parse_script(source, text)
            if script is not None and script.id in in_group:
                found = [ScriptProblem(source, "id", f"script id {script.id!r} is already used by "
                                                     f"{sources[script.id]}")]
            problems.extend(found)
            if script is not None and not found:
                in_group.add(script.id)
                scripts[script.id], sources[script.id] = script, source
    problems.extend(_drop_broken_sub_scripts(scripts, sources))
    return ScriptLibrary(dict(sorted(scripts.items())), tuple(problems), sources)


def pick_script(library: ScriptLibrary, work_type: str, category: str, *,
                situation: str | None = None) -> Script:
    """The script that fits a contact best.

    A script fits when it lists the work type or the category (or lists neither: a catch-all).
    The work type counts before the category; a script with no categories is the generic one for
    its work type. A script with a situation (known_outage) fits only when that situation is named.
    """

    def rank(script: Script) -> tuple[bool, bool, bool, bool]:
        applies = script.applies_to
        return (applies.situation is not None, work_type in applies.work_types,
                category in applies.categories, not applies.categories)

    def fits(script: Script) -> bool:
        applies = script.applies_to
        return applies.situation in (None, situation) and (
            work_type in applies.work_types or category in applies.categories
            or not (applies.work_types or applies.categories))

    fitting = [script for script in library.scripts.values() if fits(script)]
    if not fitting:
        raise LookupError(f"no script fits work type {work_type!r}, category {category!r}")
    return max(sorted(fitting, key=lambda s: s.id), key=rank)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if err["type"] == "missing":
        return "required key is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def _drop_broken_sub_scripts(scripts: dict[str, Script], sources: dict[str, str]) -> Iterator[ScriptProblem]:
    """Leave out scripts that branch to a script not loaded, until none is left."""
    changed = True
    while changed:
        changed = False
        for script in list(scripts.values()):
            missing = [_sub_script_problem(f"{at}.branches[{k}]", b, scripts)
                       for at, _, step in script.located_steps() for k, b in enumerate(step.branches)]
            if any(missing):
                del scripts[script.id]
                source = sources.pop(script.id)
                yield from (ScriptProblem(source, *found) for found in missing if found)
                changed = True


def _sub_script_problem(at: str, branch: Branch, scripts: Mapping[str, Script]) -> tuple[str, str] | None:
    if branch.script is None:
        return None
    target = scripts.get(branch.script)
    if target is None:
        return f"{at}.script", f"unknown script id {branch.script!r}"
    if branch.goto is not None and not target.has_step(branch.goto):
        return f"{at}.goto", f"script {branch.script!r} has no step {branch.goto!r}"
    return None
