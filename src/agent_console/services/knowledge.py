"""Knowledge-base use cases: search, cases with edit history, cases from tickets, JSONL import/export."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, replace
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.models.kb import (Case, CaseChange, CaseCreate, CaseHit, ImportReport,
                                     LineProblem)
from agent_console.services import audit, cjk
from agent_console.services.audit import Action
from agent_console.services.permissions import require_kb_editor
from agent_console.services.store import InputError, NotFoundError, Store
from agent_console.text import clean_line, strip_controls

FIELDS = ("title", "symptoms", "cause", "resolution", "prevention", "category", "tags")
REQUIRED = ("title", "symptoms", "cause", "resolution")
EDITABLE = (*FIELDS, "language")
LANGUAGES = ("zh", "en")
TITLE_LIMIT = 200
TEXT_LIMIT = 4000
TAG_LIMIT = 40
TAGS_MAX = 20
SNIPPET_CHARS = 100
SNIPPET_LEAD = 16  # characters shown before the first match
RANK_ALL = 2000  # a query matching more cases ranks a bounded set of them (see _rank)
BATCH = 2000
_CASE_COLUMNS = ("id, title, symptoms, cause, resolution, prevention, category, tags, language, "
                 "source_ticket_id, author, created_at, updated_at, times_used, retired")
_CJK_CHAR = re.compile(f"[{cjk.CJK_CLASS}]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _language(text: str) -> str:
    """"zh" when Chinese carries the text (a few CJK characters outweigh many Latin letters)."""
    han = len(_CJK_CHAR.findall(text))
    return "zh" if han and han * 3 >= len(_LATIN_LETTER.findall(text)) else "en"


# --- checking what users and files give -------------------------------------------------------

def _text(field: str, value: Any, *, required: bool, limit: int, line: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InputError(field, "must be text")
    if not value.isascii() and _SURROGATE.search(value):
        raise InputError(field, "is not valid UTF-8 text")
    text = clean_line(value) if line else strip_controls(value).strip()
    if required and not text:
        raise InputError(field, "must not be empty", code="required")
    if len(text) > limit:
        raise InputError(field, f"is longer than {limit} characters")
    return text


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise InputError("tags", "must be a list of texts")
    tags = tuple(dict.fromkeys(filter(None, (
        _text("tags", tag, required=False, limit=TAG_LIMIT, line=True) for tag in value))))
    if len(tags) > TAGS_MAX:
        raise InputError("tags", f"at most {TAGS_MAX} tags")
    return tags


def check_case(store: Store, data: Mapping[str, Any]) -> CaseCreate:
    """A clean CaseCreate from loose values (a form or an import line), or InputError."""
    values = {field: _text(field, data.get(field), required=field in REQUIRED,
                           limit=TITLE_LIMIT if field == "title" else TEXT_LIMIT,
                           line=field == "title")
              for field in ("title", "symptoms", "cause", "resolution", "prevention")}
    category = _text("category", data.get("category"), required=False, limit=TAG_LIMIT, line=True)
    if category and category not in store.catalog.categories:
        raise InputError("category", f"{category!r} is not one of: "
                                     f"{', '.join(store.catalog.categories)}")
    language = data.get("language")
    if language is not None and language not in LANGUAGES:
        raise InputError("language", f"{language!r} is not one of: zh, en")
    source = data.get("source_ticket_id")
    if source is not None and (not isinstance(source, int) or isinstance(source, bool)):
        raise InputError("source_ticket_id", "must be a ticket id")
    return CaseCreate(**values, category=category, tags=_tags(data.get("tags")),
                      language=language or _language(values["title"] + values["symptoms"]),
                      source_ticket_id=source)


# --- the index ---------------------------------------------------------------------------------

def _category_token(category: str) -> str:
    return "k" + category.encode().hex()  # letters and digits only, one per category


def _fts_values(case: CaseCreate | Case) -> tuple[str, str, str]:
    """(title, body, meta) tokens; meta holds the filters, so they are matched in the index."""
    body = "\n".join((case.symptoms, case.cause, case.resolution, case.prevention, *case.tags))
    meta = _category_token(case.category) + (" retired" if getattr(case, "retired", False) else "")
    return cjk.index_text(case.title), cjk.index_text(body), meta


_FTS_INSERT = "INSERT INTO kb_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)"


def _fts_delete(conn: sqlite3.Connection, case: Case) -> None:
    # A contentless table forgets a row only when given the tokens it was indexed with.
    conn.execute("INSERT INTO kb_fts (kb_fts, rowid, title, body, meta) "
                 "VALUES ('delete', ?, ?, ?, ?)", (case.id, *_fts_values(case)))


def _fts_insert(conn: sqlite3.Connection, case_id: int, case: CaseCreate | Case) -> None:
    conn.execute(_FTS_INSERT, (case_id, *_fts_values(case)))


# --- search ------------------------------------------------------------------------------------

def search(store: Store, *, query: str, limit: int = 20, category: str | None = None,
           include_retired: bool = False, prefix: bool = False) -> list[CaseHit]:
    """Cases matching every part of `query`, best first (bm25, title weighted 5:1 over body).

    `prefix` lets the last word be unfinished (search as you type).
    """
    return _ranked(store, cjk.query_phrases(strip_controls(query), prefix_last=prefix),
                   any_=False, limit=limit, category=category, include_retired=include_retired)


def similar(store: Store, *, text: str, limit: int = 5, category: str | None = None) -> list[CaseHit]:
    """Cases sharing the most (and rarest) words with a longer text, such as a description."""
    return _ranked(store, cjk.any_terms(strip_controls(text)), any_=True, limit=limit,
                   category=category, include_retired=False)


def _match(expr: str, category: str | None, include_retired: bool) -> str:
    """The MATCH text: the user's phrases in title or body, and the filters held in meta."""
    text = f"{{title body}} : ({expr})"
    if category:
        text = f'({text}) AND meta : "{_category_token(category)}"'
    return text if include_retired else f"({text}) NOT meta : retired"


_RANK = "SELECT rowid, bm25(kb_fts, 5.0, 1.0, 0.0) AS rank FROM kb_fts WHERE kb_fts MATCH ?"
_NTH_NEWEST = "SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?"


def _rank(conn: sqlite3.Connection, expr: str, *, limit: int, category: str | None,
          include_retired: bool) -> list[tuple[int, float]]:
    """(case id, bm25) best first.

    bm25 costs 1-5 µs a match, so a query matching more than RANK_ALL cases (a common word on
    its own) is ranked among its newest RANK_ALL matches: a bounded cost at any store size.
    """
    match = _match(expr, category, include_retired)
    sql, args = _RANK, [match]
    floor = conn.execute(_NTH_NEWEST, (match, RANK_ALL - 1)).fetchone()
    if floor is not None:
        sql, args = f"{sql} AND rowid >= ?", [match, floor[0]]
    return conn.execute(f"{sql} ORDER BY rank, rowid DESC LIMIT ?", (*args, limit)).fetchall()


def _ranked(store: Store, phrases: list[cjk.Phrase], *, any_: bool, limit: int,
            category: str | None, include_retired: bool) -> list[CaseHit]:
    if not phrases or limit < 1:
        return []
    with store.connection() as conn:
        ranked = _rank(conn, cjk.match_expression(phrases, any_=any_), limit=limit,
                       category=category, include_retired=include_retired)
        if not ranked:
            return []
        marks = ",".join("?" * len(ranked))
        rows = {row[0]: row for row in conn.execute(
            f"SELECT id, title, category, language, retired, symptoms, cause, resolution, "
            f"prevention, tags FROM kb_case WHERE id IN ({marks})", [i for i, _ in ranked])}
    hits = []
    for case_id, rank in ranked:
        _, title, cat, language, retired, *body, tags = rows[case_id]
        snippet, spans = cjk.snippet([*body, " · ".join(json.loads(tags))], phrases,
                                     width=SNIPPET_CHARS, lead=SNIPPET_LEAD)
        hits.append(CaseHit(case_id, title, tuple(cjk.find_spans(title, phrases)), cat,
                            float(f"{-rank:.6g}"), snippet, spans, language, bool(retired)))
    return hits


# --- cases ---------------------------------------------------------------------------------

def _case(row: tuple[Any, ...]) -> Case:
    (case_id, title, symptoms, cause, resolution, prevention, category, tags, language, source,
     author, created_at, updated_at, times_used, retired) = row
    return Case(case_id, title, symptoms, cause, resolution, prevention, category,
                tuple(json.loads(tags)), language, source, author, from_db(created_at),
                from_db(updated_at), times_used, bool(retired))


def _get(conn: sqlite3.Connection, case_id: int) -> Case:
    row = conn.execute(f"SELECT {_CASE_COLUMNS} FROM kb_case WHERE id = ?", (case_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return _case(row)


def get_case(store: Store, *, case_id: int) -> Case:
    with store.connection() as conn:
        return _get(conn, case_id)


def _tags_json(tags: Iterable[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


def _row(case_id: int, case: CaseCreate, author: str, now: str) -> tuple[Any, ...]:
    return (case_id, case.title, case.symptoms, case.cause, case.resolution, case.prevention,
            case.category, _tags_json(case.tags), case.language, case.source_ticket_id, author,
            now, now)


_INSERT_CASE = ("INSERT INTO kb_case (id, title, symptoms, cause, resolution, prevention, category, "
                "tags, language, source_ticket_id, author, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def create_case(store: Store, *, case: CaseCreate, author: str) -> Case:
    """Save a new case (checked as an import line would be)."""
    clean = check_case(store, asdict(case))
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            case_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM kb_case").fetchone()[0]
            conn.execute(_INSERT_CASE, _row(case_id, clean, author, to_db(store.clock.now())))
            _fts_insert(conn, case_id, clean)
            audit.append(conn, at=store.clock.now(), agent=author, action=Action.KB_CREATE,
                         target=f"case:{case_id}", detail={"title": clean.title,
                                                          "source_ticket": clean.source_ticket_id})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return _get(conn, case_id)


def _column(value: Any) -> Any:
    return _tags_json(value) if isinstance(value, tuple) else value


def _history(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def _write(store: Store, case_id: int, author: str, changes: Mapping[str, Any]) -> Case:
    """Apply already-checked `changes` and one history row per changed field."""
    now = to_db(store.clock.now())
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            role = conn.execute("SELECT role FROM agent WHERE code = ?", (author,)).fetchone()
            require_kb_editor(role[0] if role else "")
            old = _get(conn, case_id)
            changed = {f: v for f, v in changes.items() if getattr(old, f) != v}
            if changed:
                new = replace(old, **changed)
                sets = ", ".join(f"{f} = ?" for f in changed)
                conn.execute(f"UPDATE kb_case SET {sets}, updated_at = ? WHERE id = ?",
                             (*map(_column, changed.values()), now, case_id))
                conn.executemany(
                    "INSERT INTO kb_case_history (case_id, at, author, field, old, new) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(case_id, now, author, f, _history(getattr(old, f)), _history(v))
                     for f, v in changed.items()])
                if _fts_values(new) != _fts_values(old):
                    _fts_delete(conn, old)
                    _fts_insert(conn, case_id, new)
                action = Action.KB_RETIRE if set(changed) == {"retired"} else Action.KB_EDIT
                audit.append(conn, at=store.clock.now(), agent=author, action=action,
                             target=f"case:{case_id}", detail={"fields": sorted(changed)})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return _get(conn, case_id)


def update_case(store: Store, *, case_id: int, author: str, changes: Mapping[str, Any]) -> Case:
    """Change some of a case's fields (FIELDS and language); history keeps old and new values."""
    for field in changes:
        if field not in EDITABLE:
            raise InputError(field, f"cannot be changed; editable: {', '.join(EDITABLE)}")
    current = asdict(get_case(store, case_id=case_id))
    clean = asdict(check_case(store, {**current, **changes}))
    return _write(store, case_id, author, {f: clean[f] for f in changes})


def retire_case(store: Store, *, case_id: int, author: str, retired: bool = True) -> Case:
    """Hide a case from search (or bring it back), recorded in its history."""
    return _write(store, case_id, author, {"retired": retired})


def case_history(store: Store, *, case_id: int) -> list[CaseChange]:
    """Every change to a case, oldest first."""
    with store.connection() as conn:
        return [CaseChange(from_db(at), author, field, old, new) for at, author, field, old, new
                in conn.execute("SELECT at, author, field, old, new FROM kb_case_history "
                                "WHERE case_id = ? ORDER BY id", (case_id,))]


def case_from_ticket(store: Store, *, ticket_id: int) -> CaseCreate:
    """A draft case from a ticket: symptoms from its description, resolution from its
    resolution (or, when that is empty, its notes)."""
    with store.connection() as conn:
        row = conn.execute("SELECT description, category, resolution FROM ticket WHERE id = ?",
                           (ticket_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"ticket {ticket_id} does not exist")
        notes = [json.loads(detail).get("text", "") for (detail,) in conn.execute(
            "SELECT detail FROM ticket_event WHERE ticket_id = ? AND kind = 'note' ORDER BY id",
            (ticket_id,))]
    description, category, resolution = row
    description = strip_controls(description).strip()
    first = re.split(r"[\n。！？!?]|\.\s", description, maxsplit=1)[0]
    return CaseCreate(title=clean_line(first)[:60], symptoms=description, cause="",
                      resolution=strip_controls(resolution or "\n".join(filter(None, notes))).strip(),
                      category=category if category in store.catalog.categories else "",
                      language=_language(description), source_ticket_id=ticket_id)


# --- JSON lines ------------------------------------------------------------------------------

def _parse_line(store: Store, line: str) -> CaseCreate:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError("line", f"not valid JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InputError("line", "must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS) - {"language"})
    if unknown:
        raise InputError(unknown[0], f"unknown field; fields are: {', '.join(FIELDS)}, language")
    for field in REQUIRED:
        if field not in data:
            raise InputError(field, "missing")
    return check_case(store, data)


def import_jsonl(store: Store, lines: Iterable[str], *, strict: bool = False,
                 author: str) -> ImportReport:
    """Import one case per line in one transaction; bad lines are reported and skipped.

    With `strict`, any bad line means nothing is imported (all lines are still checked).
    """
    problems: list[LineProblem] = []
    imported = 0
    now = to_db(store.clock.now())
    with store.connection() as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM kb_case").fetchone()[0]
            batch: list[tuple[int, CaseCreate]] = []
            for number, line in enumerate(lines, start=1):
                line = line.lstrip("\ufeff") if number == 1 else line
                if not line.strip():
                    continue
                try:
                    case = _parse_line(store, line)
                except InputError as exc:
                    problems.append(LineProblem(number, str(exc)))
                    continue
                if strict and problems:
                    continue  # nothing will be kept; only look for more problems
                batch.append((next_id + imported + len(batch), case))
                if len(batch) >= BATCH:
                    imported += _insert_batch(conn, batch, author, now)
            if strict and problems:
                conn.execute("ROLLBACK")
                return ImportReport(0, tuple(problems), strict)
            imported += _insert_batch(conn, batch, author, now)
            if imported >= max(BATCH, next_id - 1):
                # A bulk load leaves many index segments; merging them speeds every search.
                conn.execute("INSERT INTO kb_fts (kb_fts) VALUES ('optimize')")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return ImportReport(imported, tuple(problems), strict)


def _insert_batch(conn: sqlite3.Connection, batch: list[tuple[int, CaseCreate]], author: str,
                  now: str) -> int:
    conn.executemany(_INSERT_CASE, [_row(case_id, case, author, now) for case_id, case in batch])
    conn.executemany(_FTS_INSERT, [(case_id, *_fts_values(case)) for case_id, case in batch])
    count = len(batch)
    batch.clear()
    return count


def export_jsonl(store: Store) -> Iterator[str]:
    """One JSON line (without newline) per case in use, oldest first, in the format import reads."""
    with store.connection() as conn:
        for row in conn.execute("SELECT title, symptoms, cause, resolution, prevention, category, "
                                "tags, language FROM kb_case WHERE retired = 0 ORDER BY id"):
            record = dict(zip((*FIELDS, "language"), row))
            record["tags"] = json.loads(record["tags"])
            yield json.dumps(record, ensure_ascii=False)
