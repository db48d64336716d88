"""Read and write models of the fault-case knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

Span = tuple[int, int]  # (start, end) code-point offsets of a match in a piece of text


@dataclass(frozen=True, slots=True)
class CaseCreate:
    """A case as written by an agent or an import line, before it has an id."""

    title: str
    symptoms: str
    cause: str
    resolution: str
    prevention: str = ""
    category: str = ""
    tags: tuple[str, ...] = ()
    language: str | None = None  # "zh" or "en"; detected from the text when None
    source_ticket_id: int | None = None


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    title: str
    symptoms: str
    cause: str
    resolution: str
    prevention: str
    category: str
    tags: tuple[str, ...]
    language: str
    source_ticket_id: int | None
    author: str
    created_at: datetime
    updated_at: datetime
    times_used: int
    retired: bool


@dataclass(frozen=True, slots=True)
class CaseHit:
    """One search result. `snippet` is plain one-line text; `marks` are the matches in it."""

    id: int
    title: str
    title_marks: tuple[Span, ...]
    category: str
    score: float  # higher is better
    snippet: str
    marks: tuple[Span, ...]
    language: str
    retired: bool


@dataclass(frozen=True, slots=True)
class CaseChange:
    at: datetime
    author: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did; with `strict` and any problem, nothing was imported."""

    imported: int
    problems: tuple[LineProblem, ...]
    strict: bool
