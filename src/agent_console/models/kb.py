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
    # Why it matched: (word typed, word found) for each part of the query found in the case;
    # the two differ when a synonym or a stem found it.
    matched: tuple[tuple[str, str], ...] = ()


class Fallback:
    """How a search found its cases when no case held every part of the query."""

    NONE = ""
    WORDS = "words"  # cases holding some of the query's words
    PIECES = "pieces"  # cases holding some shorter pieces of its Chinese words


@dataclass(frozen=True, slots=True)
class CaseSearch:
    """What a search found, and which fallback found it (Fallback.NONE: every part matched)."""

    hits: tuple[CaseHit, ...]
    fallback: str = Fallback.NONE


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
    """What an import did; with `strict` and any problem, nothing was imported.

    `duplicates` are lines skipped because their case (same title and symptoms) was already in
    the store or earlier in the file and was not changed; `updated` are such lines that changed
    it (with `update`). `unknown_categories` are lines skipped for a category the site does not
    know; `uncategorised` are lines imported without theirs.
    """

    imported: int
    problems: tuple[LineProblem, ...]
    strict: bool
    updated: int = 0
    duplicates: int = 0
    unknown_categories: int = 0
    uncategorised: int = 0
