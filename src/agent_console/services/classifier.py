"""Auto-classification of a contact description by hand-written rules, with the reasons why."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent_console.models.vocab import Grade, WorkType
from agent_console.services.catalog import Catalog, load_catalog

RULES_FILE = "classifier_rules.toml"
RULE_TABLES = ("category", "work_type", "grade", "signal")
HITS_PER_RULE = 3
NGRAM_MARGIN = 2.0  # log-odds the n-gram model's best category must lead the second by, alone
NGRAM_CONFIDENCE = 0.3  # shown for a category only the n-gram model proposes: a guess
# When rules fire, the n-gram model may choose another of the categories the rules proposed, only
# if the rules hesitate (the runner-up has at least RULES_CLOSE of the leader's weight) and the
# model leads its own runner-up by NGRAM_DECIDES in log-odds. Chosen on the held-out split and
# the val set (content/classifier_val.jsonl), never on the fresh set. An accepted site keyword
# that leads the rules keeps its category unless the model is that sure.
# Of the settings that score best there, the one that defers most to the rules.
RULES_CLOSE = 0.3
NGRAM_DECIDES = 3.5
NGRAM_RULE = "ngram"  # the reason's rule id when the model guesses where no rule fired
NGRAM_DECIDED = "ngram.decides"  # ... and when it chose between the rules' categories
_FLAGS = re.ASCII  # text is lower-cased by _FOLD: IGNORECASE would disable re's fast scan
# Length-preserving folds, so that a match's span is also its place in the original text.
_CONTROLS = {c: 0x20 for c in (*range(0x20), *range(0x7F, 0xA0))}
_FOLD = (_CONTROLS | {c: ord(chr(c - 0xFEE0).lower()) for c in range(0xFF01, 0xFF5F)}
         | {c: c + 32 for c in range(ord("A"), ord("Z") + 1)} | {0x3000: 0x20})

Form = Literal["complaint_ticket", "direct_answer"]


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the place."""


# --- the rules file ---------------------------------------------------------------------------

def _keyword(word: str) -> str:
    """A keyword as a regex; a trailing * takes the rest of the Latin word. Word edges are checked
    after matching (a leading \\b or look-behind would disable re's fast scan)."""
    body = re.escape(word.removesuffix("*").lower())
    return body + "[a-z0-9]*" if word.endswith("*") else body


def _whole(text: str, start: int, end: int) -> bool:
    """A match that starts or ends with a Latin letter or digit must not cut a Latin word."""
    def latin(i: int) -> bool:
        return 0 <= i < len(text) and text[i].isascii() and text[i].isalnum()

    return not (latin(start) and latin(start - 1) or latin(end - 1) and latin(end))


def _check_keyword(word: str) -> str:
    if not word.removesuffix("*").strip():
        raise ValueError("a keyword must not be empty")
    return word


def _check_pattern(pattern: str) -> str:
    try:
        compiled = re.compile(pattern, _FLAGS)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    if compiled.match(""):
        raise ValueError("the pattern matches empty text")
    if re.search("[A-Z]", re.sub(r"\\.", "", pattern)):
        raise ValueError("write patterns in lower case (text is matched lower-cased)")
    return pattern


Keyword = Annotated[str, AfterValidator(_check_keyword)]
Pattern = Annotated[str, AfterValidator(_check_pattern)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Rule(_Model):
    """Keywords and patterns that, when found, propose `target` with `weight`."""

    id: str = Field(min_length=1)
    target: str
    weight: float = Field(1.0, gt=0, le=100)
    zh: tuple[Keyword, ...] = ()
    en: tuple[Keyword, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    with_: tuple[Keyword, ...] = Field((), alias="with")
    unless: tuple[Keyword, ...] = ()
    not_after: tuple[Keyword, ...] = ()
    jump_queue: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _has_something_to_find(self) -> Rule:
        if not (self.zh or self.en or self.patterns):
            raise ValueError("give at least one of zh, en or patterns")
        return self


class CategoryRule(Rule):
    @field_validator("target")
    @classmethod
    def _known_category(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("categories")
        if known is not None and value not in known:
            raise ValueError(f"{value!r} is not a category of the catalog: {', '.join(known)}")
        return value


class WorkTypeRule(Rule):
    target: WorkType


class GradeRule(Rule):
    target: Grade


class FormRule(_Model):
    when: tuple[str, ...] = Field(min_length=1)
    form: Form


class Complaint(_Model):
    when: tuple[tuple[str, ...], ...] = ()
    groups: dict[str, tuple[str, ...]] = {}
    form: tuple[FormRule, ...] = ()
    default_form: Form = "complaint_ticket"


class Defaults(_Model):
    work_type: WorkType = WorkType.CONSULTATION
    grade: Grade = Grade.GENERAL
    confident_score: float = Field(default=5.0, gt=0)


class Rules(_Model):
    """A whole rules file, or the shipped file merged with the one in the config dir."""

    version: Literal[1] = 1
    scan_limit: int = Field(default=2000, ge=100, le=100_000)
    defaults: Defaults = Defaults()
    grade_by_work_type: dict[WorkType, Grade] = {}
    complaint: Complaint = Complaint()
    category: tuple[CategoryRule, ...] = ()
    work_type: tuple[WorkTypeRule, ...] = ()
    grade: tuple[GradeRule, ...] = ()
    signal: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Rules:
        ids = [rule.id for table in RULE_TABLES for rule in getattr(self, table)]
        if twice := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"rule id {twice[0]!r} is used twice")
        return self


def _rule_id(loc: tuple[Any, ...], data: dict[str, Any]) -> Any:
    if len(loc) > 1 and loc[0] in RULE_TABLES and isinstance(loc[1], int):
        return data[loc[0]][loc[1]].get("id")
    return None


def _place(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """`[[category]] 'bb.modem' patterns[1]` for a pydantic error location."""
    if not loc:
        return "top level"
    head, rest = (f"[{loc[0]}]" if isinstance(data.get(loc[0]), dict) else str(loc[0])), loc[1:]
    if loc[0] in RULE_TABLES and rest and isinstance(rest[0], int):
        rule_id = _rule_id(loc, data)
        head = f"[[{loc[0]}]] " + (repr(rule_id) if rule_id is not None else f"#{rest[0] + 1}")
        rest = rest[1:]
    return head + "".join(f"[{part}]" if isinstance(part, int) else f" {part}" for part in rest)


def _read(source: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML ({exc})") from None


def _merge(base: dict[str, Any], extra: dict[str, Any], source: str) -> dict[str, Any]:
    """`extra` over `base`: rules merge field by field by id (new ids are added), tables by key."""
    merged = dict(base)
    for key, value in extra.items():
        if key in RULE_TABLES:
            rows_ok = isinstance(value, list) and all(
                isinstance(row, dict) and isinstance(row.get("id"), str) for row in value)
            if not rows_ok:
                raise RulesError(f"{source}: [[{key}]]: each rule must be a table with a text id")
            by_id = {row["id"]: row for row in base.get(key, [])}
            for row in value:
                by_id[row["id"]] = {**by_id.get(row["id"], {}), **row}
            merged[key] = list(by_id.values())
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def _source(loc: tuple[Any, ...], data: dict[str, Any], extra: dict[str, Any], override: str) -> str:
    """The file that gave the value at `loc` of the merged data."""
    if not extra:
        return RULES_FILE
    if not loc:
        return f"{override} (over the shipped {RULES_FILE})"
    if (rule_id := _rule_id(loc, data)) is not None:
        return override if rule_id in {row["id"] for row in extra.get(loc[0], [])} else RULES_FILE
    return override if loc[0] in extra else RULES_FILE


SITE_SOURCE = "store: classifier_rules"


def load_rules(override: Path | None = None, *, categories: Iterable[str] | None = None,
               site_text: str | None = None) -> Rules:
    """The shipped rules with `override` (when that file exists) over them, or with the site's
    rules kept in the store (`site_text`); checks category names."""
    shipped = resources.files("agent_console.content").joinpath(RULES_FILE).read_text(encoding="utf-8")
    data, extra, name = _read(RULES_FILE, shipped), {}, str(override)
    if site_text is not None:
        name = SITE_SOURCE
        extra = _read(name, site_text)
        data = _merge(data, extra, name)
    elif override is not None and override.is_file():
        try:
            extra = _read(name, override.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError(f"{override}: cannot be read ({exc})") from None
        data = _merge(data, extra, name)
    try:
        rules = Rules.model_validate(data, context={"categories": categories and list(categories)})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc, message = tuple(error["loc"]), str(error["msg"]).removeprefix("Value error, ")
        raise RulesError(f"{_source(loc, data, extra, name)}: {_place(loc, data)}: {message}") from None
    signals = {rule.target for rule in rules.signal}
    for names in (*rules.complaint.when, *(f.when for f in rules.complaint.form)):
        for unknown in sorted(set(names) - signals - set(rules.complaint.groups)):
            source = _source(("complaint",), data, extra, name)
            raise RulesError(f"{source}: [complaint]: {unknown!r} is neither a signal nor a group")
    return rules


# --- classifying -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """Where a rule matched: `text` is `description[start:end]` with control characters blanked."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Reason:
    """A rule that matched (kind category, work_type, grade, signal) or a decision (complaint, form)."""

    rule: str
    kind: str
    target: str
    weight: float
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class Proposal:
    category: str | None
    work_type: WorkType
    department: str | None
    grade: Grade
    complaint_form: str  # complaint_ticket, direct_answer or none
    confidence: float  # of the category, 0..1
    jump_queue: bool
    reasons: tuple[Reason, ...]
    scanned: int  # characters read; a longer description was classified by its beginning

    def reasons_for(self, kind: str) -> tuple[Reason, ...]:
        """The reasons behind the proposed value of `kind` (category, work_type, grade, ...)."""
        chosen = {"category": self.category, "work_type": self.work_type, "grade": self.grade,
                  "form": self.complaint_form}.get(kind)
        return tuple(r for r in self.reasons
                     if r.kind == kind and (chosen is None or r.target == chosen))


class _Finder:
    """Keywords as one alternation of literals (longest first), each pattern on its own (joined
    patterns defeat re's prefix scan)."""

    def __init__(self, words: Iterable[str], patterns: Iterable[str] = (),
                 not_after: Iterable[str] = ()) -> None:
        words = sorted(set(words), key=len, reverse=True)
        self.regexes = [re.compile(p, _FLAGS) for p in patterns]
        if words:
            self.regexes.insert(0, re.compile("|".join(map(_keyword, words)), _FLAGS))
        self.not_after = tuple(w.lower() for w in not_after)

    def spans(self, text: str, limit: int = HITS_PER_RULE) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for regex in self.regexes:
            pos = count = 0
            while count < limit and (m := regex.search(text, pos)):
                start, end = m.span()
                negated = self.not_after and text.endswith(self.not_after, 0, start)
                if end > start and _whole(text, start, end) and not negated:
                    found.append((start, end))
                    count += 1
                    pos = end
                else:
                    pos = start + 1
        return sorted(found)[:limit]


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    kind: str
    order: int
    find: _Finder
    also: _Finder | None
    stop: _Finder | None

    def hits(self, folded: str, original: str) -> tuple[Hit, ...]:
        if self.stop is not None and self.stop.spans(folded, 1):
            return ()
        spans = self.find.spans(folded)
        if spans and self.also is not None:
            companion = self.also.spans(folded, 1)
            if not companion:
                return ()
            spans += companion
        return tuple(Hit(a, b, original[a:b].translate(_CONTROLS)) for a, b in spans)


def _best(fired: list[tuple[_Compiled, tuple[Hit, ...]]], kind: str) -> list[tuple[str, float]]:
    """Targets of `kind` by total weight, then strongest rule, then first listed."""
    totals: dict[str, list[float]] = {}
    for compiled, _ in fired:
        if compiled.kind == kind:
            total = totals.setdefault(compiled.rule.target, [0.0, 0.0, -compiled.order])
            total[0] += compiled.rule.weight
            total[1] = max(total[1], compiled.rule.weight)
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    return [(target, total[0]) for target, total in ranked]


class Classifier:
    """Compiled rules; `classify` is pure and deterministic."""

    def __init__(self, rules: Rules, catalog: Catalog, model: Any = None) -> None:
        self.rules = rules
        self.catalog = catalog
        self.model = model  # services.ngram.NgramModel: consulted when no category rule fires
        self._compiled = [
            _Compiled(rule, kind, order, _Finder((*rule.zh, *rule.en), rule.patterns, rule.not_after),
                      _Finder(rule.with_) if rule.with_ else None,
                      _Finder(rule.unless) if rule.unless else None)
            for order, (kind, rule) in enumerate(
                (kind, rule) for kind in RULE_TABLES for rule in getattr(rules, kind) if rule.enabled)
        ]

    def classify(self, text: str) -> Proposal:
        original = text[: self.rules.scan_limit]
        folded = original.translate(_FOLD)
        fired = [(c, hits) for c in self._compiled if (hits := c.hits(folded, original))]
        reasons = [Reason(c.rule.id, c.kind, str(c.rule.target), c.rule.weight, hits)
                   for c, hits in fired]
        signals: dict[str, tuple[Hit, ...]] = {}
        for c, hits in fired:
            if c.kind == "signal":
                signals[c.rule.target] = signals.get(c.rule.target, ()) + hits

        categories = _best(fired, "category")
        category, confidence = None, 0.0
        if categories:
            (category, top), second = categories[0], (categories[1][1] if len(categories) > 1 else 0.0)
            saturation = min(1.0, top / self.rules.defaults.confident_score)
            confidence = round(top / (top + second) * saturation, 2)

        guess = self.model.guess(folded) if self.model is not None else None
        if category is None and guess is not None and guess.margin >= NGRAM_MARGIN:
            # No rule knows the words: the n-gram model's guess, with the n-grams behind it.
            category, confidence = guess.category, NGRAM_CONFIDENCE
            reasons.append(self._ngram_reason(NGRAM_RULE, guess, original))
        elif guess is not None and len(categories) > 1 and guess.category != category \
                and guess.margin >= NGRAM_DECIDES and categories[1][1] >= RULES_CLOSE * categories[0][1] \
                and guess.category in dict(categories):
            # The rules hesitate between categories and the model is sure of one of them:
            # the model decides, and its n-grams come first among the reasons.
            category = guess.category
            chosen = dict(categories)[category]
            confidence = round(chosen / (chosen + categories[0][1]), 2)
            reasons.insert(0, self._ngram_reason(NGRAM_DECIDED, guess, original))

        complaint = self.rules.complaint
        work_type, form = self.rules.defaults.work_type, "none"
        if (decided := self._first_met(complaint.when, signals)) is not None:
            index, names, hits = decided
            work_type = WorkType.COMPLAINT
            reasons.append(Reason(f"complaint.when[{index}]", "complaint", "+".join(names), 0, hits))
            ruled = self._first_met([f.when for f in complaint.form], signals)
            form = complaint.form[ruled[0]].form if ruled else complaint.default_form
            reasons.append(Reason(f"complaint.form[{ruled[0]}]" if ruled else "complaint.default_form",
                                  "form", form, 0, ruled[2] if ruled else ()))
        elif work_types := _best(fired, "work_type"):
            work_type = WorkType(work_types[0][0])

        grade = self.rules.grade_by_work_type.get(work_type, self.rules.defaults.grade)
        for c, _ in fired:
            if c.kind == "grade" and Grade(c.rule.target).rank < grade.rank:
                grade = Grade(c.rule.target)
        return Proposal(
            category=category, work_type=work_type,
            department=self.catalog.department_for(category) if category else None,
            grade=grade, complaint_form=form, confidence=confidence,
            jump_queue=any(c.kind == "grade" and c.rule.jump_queue for c, _ in fired),
            reasons=tuple(reasons), scanned=len(original))

    @staticmethod
    def _ngram_reason(rule: str, guess: Any, original: str) -> Reason:
        return Reason(rule, "category", guess.category, 0, tuple(
            Hit(a, b, original[a:b].translate(_CONTROLS)) for _, a, b in guess.evidence))

    def _first_met(self, conditions: Iterable[tuple[str, ...]], signals: dict[str, tuple[Hit, ...]]
                   ) -> tuple[int, tuple[str, ...], tuple[Hit, ...]] | None:
        """The first condition all of whose signals (or groups) matched, with their hits."""
        groups = self.rules.complaint.groups
        for index, names in enumerate(conditions):
            hits: list[Hit] = []
            for name in names:
                members = [m for m in groups.get(name, (name,)) if m in signals]
                if not members:
                    break
                hits.extend(h for m in members for h in signals[m])
            else:
                return index, names, tuple(sorted(set(hits), key=lambda h: (h.start, h.end)))
        return None


@cache
def default_classifier() -> Classifier:
    """The shipped rules and catalog with the config dir's files over them, loaded once."""
    from agent_console.config import config_dir

    catalog = load_catalog()
    return Classifier(load_rules(config_dir() / RULES_FILE, categories=catalog.categories), catalog)


def classify(text: str) -> Proposal:
    """Propose category, work type, department, grade and complaint form for a description."""
    return default_classifier().classify(text)
