"""Knowledge-base use cases: search, cases with edit history, cases from tickets.

Searching and reading cases is open to every agent (cases hold no customer data); changing the
knowledge base needs EDIT_KB and is audited in the same transaction. Full-text search goes
through a services.case_search index chosen by the store's database engine. JSON-lines import
and export are in services.kb_jsonl.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any, cast

from agent_console.db import from_db, to_db
from agent_console.models.kb import Case, CaseChange, CaseCreate, CaseHit, CaseSearch, Fallback
from agent_console.services import case_search, cjk, synonyms
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.case_search import CaseIndex, IndexEntry
from agent_console.services.errors import InputError, NotFoundError, ServiceError
from agent_console.services.permissions import EDIT_KB
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line, strip_controls

FIELDS = ("title", "symptoms", "cause", "resolution", "prevention", "category", "tags")
REQUIRED = ("title", "symptoms", "cause", "resolution")
EDITABLE = (*FIELDS, "language")
LANGUAGES = ("zh", "en")
TITLE_LIMIT = 200
TEXT_LIMIT = 4000
TAG_LIMIT = 40
TAGS_MAX = 20
REASON_LIMIT = 200
SNIPPET_CHARS = 100
SNIPPET_LEAD = 16  # characters shown before the first match
RANK_ALL = 2000  # a query matching more cases ranks its newest RANK_ALL (see CaseIndex.rank)
RANK_SYNONYMS = 500  # the same for a query said with synonyms (many words: many matches)
_CASE_COLUMNS = ("id, title, symptoms, cause, resolution, prevention, category, tags, language, "
                 "source_ticket_id, author, created_at, updated_at, times_used, retired")
_CJK_CHAR = re.compile(f"[{cjk.CJK_CLASS}]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _language(text: str) -> str:
    """"zh" when Chinese carries the text (a few CJK characters outweigh many Latin letters)."""
    han = len(_CJK_CHAR.findall(text))
    return "zh" if han and han * 3 >= len(_LATIN_LETTER.findall(text)) else "en"


def quoted(value: Any) -> str:
    """A value quoted in a message: one short line."""
    text = clean_line(value if isinstance(value, str) else repr(value))
    return repr(text if len(text) <= 40 else text[:39] + "…")


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
        raise InputError(field, f"is longer than {limit} characters", code="too_long",
                         limit=limit)
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
        raise InputError("category", f"{quoted(category)} is not one of: "
                                     f"{', '.join(store.catalog.categories)}", code="choice",
                         allowed=list(store.catalog.categories))
    language = data.get("language")
    if language is not None and language not in LANGUAGES:
        raise InputError("language", f"{quoted(language)} is not one of: zh, en", code="choice",
                         allowed=LANGUAGES)
    source = data.get("source_ticket_id")
    if source is not None and (not isinstance(source, int) or isinstance(source, bool)):
        raise InputError("source_ticket_id", "must be a ticket id")
    return CaseCreate(**values, category=category, tags=_tags(data.get("tags")),
                      language=language or _language(values["title"] + values["symptoms"]),
                      source_ticket_id=source)


# --- the index ---------------------------------------------------------------------------------

def index_for(store: Store) -> CaseIndex:
    engine = store.engine.dialect.name
    kind = case_search.INDEXES.get(engine)
    if kind is None:
        raise ServiceError(f"searching cases is not available on {engine} stores")
    return kind()


def _entry(case_id: int, case: CaseCreate | Case) -> IndexEntry:
    return case_search.entry(
        case_id, title=case.title, category=case.category,
        body=(case.symptoms, case.cause, case.resolution, case.prevention, *case.tags),
        retired=getattr(case, "retired", False))


INDEX_META = "kb_index_version"
REINDEX_BATCH = 5000


def index_version(index: CaseIndex) -> str:
    """What store_meta says of a current index: the tokens' version and the engine's format."""
    return cjk.INDEX_VERSION + index.FORMAT


def ensure_index(store: Store) -> int:
    """Re-index every case when the store's index was built by an older cjk.INDEX_VERSION (the
    tokens changed); the number of cases re-indexed (0 when the index was current)."""
    index = index_for(store)
    version = index_version(index)
    with store.read() as tx:
        if tx.scalar("SELECT value FROM store_meta WHERE key = ?", (INDEX_META,)) == version:
            return 0
    with store.write() as tx:
        done = 0
        if tx.scalar("SELECT value FROM store_meta WHERE key = ?",
                     (INDEX_META,)) != version:
            done = reindex(tx, index)
            tx.execute("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                       "DO UPDATE SET value = excluded.value", (INDEX_META, version))
        return done


def reindex(tx: Tx, index: CaseIndex) -> int:
    """Index every case anew, in the caller's unit of work; a case waiting for review is
    indexed only when approved (services.case_review), as it is when first written."""
    index.clear(tx)
    last, done = 0, 0
    while rows := tx.all(f"SELECT {_CASE_COLUMNS} FROM kb_case WHERE id > ? AND pending_review = 0 "
                         f"ORDER BY id LIMIT {REINDEX_BATCH}", (last,)):
        cases = [_case(row) for row in rows]
        index.add(tx, [_entry(case.id, case) for case in cases])
        last, done = cases[-1].id, done + len(cases)
    if done:
        index.optimize(tx)
    return done


# --- search ------------------------------------------------------------------------------------

def find_cases(store: Store, *, query: str, limit: int = 20, category: str | None = None,
               include_retired: bool = False) -> CaseSearch:
    """The search of the app and of `kb search`: cases holding every part of `query`, best
    first, the last word possibly unfinished (not an upper-case code such as LOS, nor a word
    of fewer than cjk.PREFIX_MIN letters). English words match in any form (stems).

    Cases holding the query as typed come first; then cases holding every part said another
    way (services.synonyms). When no case holds them all, cases holding some of the words,
    then some shorter pieces of the Chinese words, then its one-character words (卡, 网) that
    are words of their own; the result says which fallback found them. Each hit says which
    words it matched.
    """
    text = strip_controls(query)
    if not text.strip():
        raise InputError("query", "must not be empty", code="required")
    if limit < 1:
        return CaseSearch(())
    index = index_for(store)
    with store.read() as tx:
        found = synonyms.expand(text, synonyms.table(tx, store.url), prefix_last=True)
        if not found.parts and not found.exact:
            return CaseSearch(())
        every: list[Sequence[cjk.Part]] = [found.exact]
        if found.expanded:
            every += [*([found.literal] if found.literal != found.exact else []), found.parts]
        some: list[Sequence[cjk.Part]] = [found.parts] if len(found.exact) > 1 else []
        pieces: list[cjk.Part] = [*cjk.pieces(found.exact)]
        pieces += [part for part in found.parts if isinstance(part, cjk.Either)]
        tries: list[tuple[list[Sequence[cjk.Part]], bool, str]] = [
            (every, False, Fallback.NONE), (some, True, Fallback.WORDS),
            ([*([pieces] if pieces != found.exact else []), found.single], True, Fallback.PIECES)]
        hits: list[CaseHit] = []
        for stages, any_, fallback in tries:
            for parts in stages:
                if not parts or len(hits) >= limit:
                    continue
                seen = {hit.id for hit in hits}
                # Cases already found are asked for again: ask for as many more.
                hits += [hit for hit in _ranked(tx, index, parts, any_=any_,
                                                limit=limit + len(seen), category=category,
                                                include_retired=include_retired,
                                                labels=found.labels,
                                                window=RANK_ALL if not seen and not any(
                                                    isinstance(p, cjk.Either) for p in parts)
                                                else RANK_SYNONYMS)
                         if hit.id not in seen][:limit - len(hits)]
            if hits:
                return CaseSearch(tuple(hits), fallback)
    return CaseSearch(())


def search(store: Store, *, query: str, limit: int = 20, category: str | None = None,
           include_retired: bool = False, prefix: bool = False) -> list[CaseHit]:
    """Cases holding every part of `query`, best first (title weighted over body), with no
    fallback; `prefix` lets the last word be unfinished."""
    phrases = cjk.query_phrases(strip_controls(query), prefix_last=prefix)
    if not phrases or limit < 1:
        return []
    index = index_for(store)
    with store.read() as tx:
        return _ranked(tx, index, phrases, any_=False, limit=limit, category=category,
                       include_retired=include_retired)


def similar(store: Store, *, text: str, limit: int = 5, category: str | None = None) -> list[CaseHit]:
    """Cases sharing the most (and rarest) words with a longer text, such as a description."""
    phrases = cjk.any_terms(strip_controls(text))
    if not phrases or limit < 1:
        return []
    index = index_for(store)
    with store.read() as tx:
        return _ranked(tx, index, phrases, any_=True, limit=limit, category=category,
                       include_retired=False)


def _ranked(tx: Tx, index: CaseIndex, parts: Sequence[cjk.Part], *, any_: bool, limit: int,
            category: str | None, include_retired: bool,
            labels: Mapping[cjk.Phrase, tuple[str, str]] | None = None,
            window: int | None = None) -> list[CaseHit]:
    ranked = index.rank(tx, parts, any_=any_, limit=limit, category=category,
                        include_retired=include_retired, window=window or RANK_ALL)
    phrases = cjk.flat(parts)
    if not ranked:
        return []
    marks = ",".join("?" * len(ranked))
    rows = {row[0]: row for row in tx.all(
        f"SELECT id, title, category, language, retired, symptoms, cause, resolution, "
        f"prevention, tags FROM kb_case WHERE id IN ({marks})", [i for i, _ in ranked])}
    hits = []
    for case_id, score in ranked:
        _, title, cat, language, retired, *body, tags = rows[case_id]
        snippet, spans = cjk.snippet([*body, " · ".join(json.loads(tags))], phrases,
                                     width=SNIPPET_CHARS, lead=SNIPPET_LEAD)
        matched: tuple[tuple[str, str], ...] = ()
        if labels:
            folded = cjk._norm(" ".join((title, *body, tags)))
            matched = _why(labels, [p for p in phrases if p in labels and cjk.seen_in(folded, p)])
        hits.append(CaseHit(case_id, title, tuple(cjk.find_spans(title, phrases)), cat,
                            float(f"{score:.6g}"), snippet, spans, language, bool(retired),
                            matched))
    return hits


def _why(labels: Mapping[cjk.Phrase, tuple[str, str]],
         present: list[cjk.Phrase]) -> tuple[tuple[str, str], ...]:
    """(typed, found) for the phrases found, leaving out a word found inside another found
    for the same typed word (猫 inside 光猫)."""
    pairs = list(dict.fromkeys(labels[p] for p in present if p in labels))
    return tuple((typed, found) for typed, found in pairs
                 if not any(t == typed and f != found and found in f for t, f in pairs))


# --- cases ---------------------------------------------------------------------------------

def _case(row: tuple[Any, ...]) -> Case:
    (case_id, title, symptoms, cause, resolution, prevention, category, tags, language, source,
     author, created_at, updated_at, times_used, retired) = row
    return Case(case_id, title, symptoms, cause, resolution, prevention, category,
                tuple(json.loads(tags)), language, source, author, from_db(created_at),
                from_db(updated_at), times_used, bool(retired))


def load_case(tx: Tx, case_id: int) -> Case:
    row = tx.one(f"SELECT {_CASE_COLUMNS} FROM kb_case WHERE id = ?", (case_id,))
    if row is None:
        raise NotFoundError(f"case {case_id}")
    return _case(row)


def get_case(store: Store, *, case_id: int) -> Case:
    with store.read() as tx:
        return load_case(tx, case_id)


def _tags_json(tags: Iterable[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


_INSERT_CASE = ("INSERT INTO kb_case (id, title, symptoms, cause, resolution, prevention, category, "
                "tags, language, source_ticket_id, author, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def next_case_id(tx: Tx) -> int:
    """The id the next new case gets (ids are given here: the index keys on them)."""
    return cast(int, tx.scalar("SELECT coalesce(max(id), 0) + 1 FROM kb_case"))


def insert_cases(tx: Tx, index: CaseIndex, cases: Sequence[tuple[int, CaseCreate]], *,
                 author: str) -> None:
    """Save checked new cases and index them."""
    now = to_db(tx.now)
    tx.executemany(_INSERT_CASE, [
        (case_id, case.title, case.symptoms, case.cause, case.resolution, case.prevention,
         case.category, _tags_json(case.tags), case.language, case.source_ticket_id,
         author, now, now) for case_id, case in cases])
    index.add(tx, [_entry(case_id, case) for case_id, case in cases])


def create_case(store: Store, actor: Actor, *, case: CaseCreate) -> Case:
    """Save a new case (checked as an import line would be)."""
    actor.require(EDIT_KB)
    clean = check_case(store, asdict(case))
    index = index_for(store)
    with store.write(actor) as tx:
        case_id = next_case_id(tx)
        insert_cases(tx, index, [(case_id, clean)], author=actor.code)
        # The case's words stay in the case (where erasure can reach them), not on the trail.
        tx.audit(Action.KB_CREATE, f"case:{case_id}", {"source_ticket": clean.source_ticket_id})
        return load_case(tx, case_id)


def _column(value: Any) -> Any:
    return _tags_json(value) if isinstance(value, tuple) else value


def _history(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def change_case(tx: Tx, index: CaseIndex, old: Case, changes: Mapping[str, Any], *,
                author: str) -> list[str]:
    """Write already-checked `changes` with one history row per changed field; the fields
    that changed."""
    changed = {f: v for f, v in changes.items() if getattr(old, f) != v}
    if not changed:
        return []
    now = to_db(tx.now)
    sets = ", ".join(f"{f} = ?" for f in changed)  # field names come from EDITABLE, not users
    tx.execute(f"UPDATE kb_case SET {sets}, updated_at = ? WHERE id = ?",
               (*map(_column, changed.values()), now, old.id))
    tx.executemany("INSERT INTO kb_case_history (case_id, at, author, field, old, new) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [(old.id, now, author, f, _history(getattr(old, f)), _history(v))
                    for f, v in changed.items()])
    before, after = _entry(old.id, old), _entry(old.id, replace(old, **changed))
    if before != after:
        index.remove(tx, [before])
        index.add(tx, [after])
    return sorted(changed)


def _only_editable(changes: Mapping[str, Any]) -> None:
    for field in changes:
        if field not in EDITABLE:
            raise InputError(field, f"cannot be changed; editable: {', '.join(EDITABLE)}")


def update_case(store: Store, actor: Actor, *, case_id: int, changes: Mapping[str, Any]) -> Case:
    """Change some of a case's fields (FIELDS and language); history keeps old and new values."""
    actor.require(EDIT_KB)
    _only_editable(changes)
    index = index_for(store)
    with store.write(actor) as tx:
        old = load_case(tx, case_id)
        clean = asdict(check_case(store, {**asdict(old), **changes}))
        if fields := change_case(tx, index, old, {f: clean[f] for f in changes},
                                 author=actor.code):
            tx.audit(Action.KB_EDIT, f"case:{case_id}", {"fields": fields})
        return load_case(tx, case_id)


def retire_case(store: Store, actor: Actor, *, case_id: int, retired: bool, reason: str) -> Case:
    """Hide a case from search (or bring it back), with the reason, recorded in its history."""
    actor.require(EDIT_KB)
    why = _text("reason", reason, required=True, limit=REASON_LIMIT, line=True)
    index = index_for(store)
    with store.write(actor) as tx:
        if change_case(tx, index, load_case(tx, case_id), {"retired": bool(retired)},
                       author=actor.code):
            tx.audit(Action.KB_RETIRE if retired else Action.KB_RESTORE, f"case:{case_id}",
                     {"reason": why})
        return load_case(tx, case_id)


def case_history(store: Store, *, case_id: int) -> list[CaseChange]:
    """Every change to a case, oldest first."""
    with store.read() as tx:
        return [CaseChange(from_db(at), author, field, old, new) for at, author, field, old, new
                in tx.all("SELECT at, author, field, old, new FROM kb_case_history "
                          "WHERE case_id = ? ORDER BY id", (case_id,))]


def case_from_ticket(store: Store, actor: Actor, *, ticket_id: int) -> CaseCreate:
    """A draft case from a ticket the actor may see: symptoms from its description, resolution
    from its resolution (or, when that is empty, its notes)."""
    from agent_console.models.vocab import EventKind
    from agent_console.services import tickets

    ticket = tickets.ticket_detail(store, actor, ticket_id=ticket_id)
    notes = [str(event.detail.get("text", "")) for event in ticket.events
             if event.kind == EventKind.NOTE]
    description = strip_controls(ticket.description).strip()
    first = re.split(r"[\n。！？!?]|\.\s", description, maxsplit=1)[0]
    resolution = ticket.resolution or "\n".join(filter(None, notes))
    return CaseCreate(title=clean_line(first)[:60], symptoms=description, cause="",
                      resolution=strip_controls(resolution).strip(),
                      category=ticket.category if ticket.category in store.catalog.categories
                      else "",
                      language=_language(description), source_ticket_id=ticket_id)


def scrub_case_in(tx: Tx, case_id: int, scrub: Callable[[str], str]) -> bool:
    """Rewrite one case's text and its edit history through `scrub` and index it anew: the
    erasure of personal data that found its way into a case. True when anything changed."""
    old = load_case(tx, case_id)
    fields = {f: scrub(getattr(old, f)) for f in ("title", "symptoms", "cause", "resolution",
                                                   "prevention")}
    tags = tuple(scrub(tag) for tag in old.tags)
    changed: dict[str, Any] = {f: v for f, v in fields.items() if v != getattr(old, f)}
    if tags != old.tags:
        changed["tags"] = tags
    for history_id, before, after in tx.all(
            "SELECT id, old, new FROM kb_case_history WHERE case_id = ?", (case_id,)):
        if (before and scrub(before) != before) or (after and scrub(after) != after):
            tx.execute("UPDATE kb_case_history SET old = ?, new = ? WHERE id = ?",
                       (scrub(before) if before else before, scrub(after) if after else after,
                        history_id))
    if not changed:
        return False
    sets = ", ".join(f"{f} = ?" for f in changed)  # field names from the list above
    tx.execute(f"UPDATE kb_case SET {sets} WHERE id = ?",
               (*map(_column, changed.values()), case_id))
    index = index_for(tx.store)
    index.remove(tx, [_entry(case_id, old)])
    index.add(tx, [_entry(case_id, replace(old, **changed))])
    return True
