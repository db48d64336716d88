"""Full-text search over knowledge-base cases, behind one small interface.

Every engine indexes the same tokens, made by services.cjk (overlapping bigrams for Chinese,
lower-case words for Latin text), so a case is found by the same queries on any store. A
`CaseIndex` keeps those tokens per case and ranks cases for query phrases; `Fts5CaseIndex` does
it with SQLite's FTS5 table `kb_fts` (created in db.SQLITE_EXTRAS); `PgCaseIndex` keeps the
same tokens in PostgreSQL (db.PG_EXTRAS: a token -> case table with a B-tree index, and each
case's token text) and ranks with FTS5's own bm25, so both stores return the same cases in the
same order with the same scores. No PostgreSQL extension is needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agent_console.db import SQLITE_EXTRAS
from agent_console.services import cjk
from agent_console.services.store import Tx


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the index keeps of one case: its tokens and the filters search applies."""

    case_id: int
    title: str  # space-separated cjk tokens
    body: str
    category: str
    retired: bool


def entry(case_id: int, *, title: str, body: Sequence[str], category: str,
          retired: bool) -> IndexEntry:
    return IndexEntry(case_id, cjk.index_text(title), cjk.index_text("\n".join(body)), category,
                      retired)


class CaseIndex(Protocol):
    """The full-text index of cases, written and read inside the caller's unit of work."""

    def add(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        """Index new cases (or new versions of cases just removed)."""

    def remove(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        """Forget cases; `entries` are what they were indexed with."""

    def rank(self, tx: Tx, phrases: Sequence[cjk.Part], *, any_: bool, limit: int,
             category: str | None, include_retired: bool, window: int) -> list[tuple[int, float]]:
        """(case id, score) best first, higher scores better: cases holding every phrase (or,
        with `any_`, at least one). When more than `window` cases match, only the newest
        `window` are ranked, so a common word costs the same at any store size."""

    def optimize(self, tx: Tx) -> None:
        """Make searching fast again after a bulk load."""

    def clear(self, tx: Tx) -> None:
        """Forget every case (before indexing them all anew)."""


# --- SQLite FTS5 ----------------------------------------------------------------------------

# Filter tokens begin with a private-use character: unicode61 keeps it in a token and
# services.cjk never does, so no query phrase can name a filter and the phrases need no column
# filter (which would make FTS5 read every position list, bm25's full pass included).
_MARK = "\ue000"
_RETIRED = _MARK + "retired"


def _category_token(category: str) -> str:
    return _MARK + category.encode().hex()  # one token per category


def _meta(item: IndexEntry) -> str:
    """The filters, held in the index so that they are matched there (a contentless table has
    no other columns to filter on)."""
    return _category_token(item.category) + (f" {_RETIRED}" if item.retired else "")


def _match(expr: str, category: str | None, include_retired: bool) -> str:
    """The MATCH text: the user's phrases, and the filters held in meta."""
    text = f"({expr})"
    if category:
        text = f'({text}) AND meta : "{_category_token(category)}"'
    return text if include_retired else f'({text}) NOT meta : "{_RETIRED}"'


class Fts5CaseIndex:
    """`kb_fts`: contentless FTS5 over the cjk tokens (rowid = case id); snippets come from
    kb_case. bm25 weighs a title match 5:1 over a body match."""

    _INSERT = "INSERT INTO kb_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)"
    # A contentless table forgets a row only when given the tokens it was indexed with.
    _DELETE = ("INSERT INTO kb_fts (kb_fts, rowid, title, body, meta) "
               "VALUES ('delete', ?, ?, ?, ?)")
    # One pass over the matches, newest first: bm25 is computed for the newest `window` only.
    _RANK = ("SELECT rowid, rank FROM (SELECT rowid, bm25(kb_fts, 5.0, 1.0, 0.0) AS rank "
             "FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rowid DESC LIMIT ?) "
             "ORDER BY rank, rowid DESC LIMIT ?")

    def add(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        # Straight to the SQLite driver: a bulk import writes every token of every case here.
        tx.conn.exec_driver_sql(self._INSERT, [(e.case_id, e.title, e.body, _meta(e))
                                               for e in entries])

    def remove(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        tx.conn.exec_driver_sql(self._DELETE, [(e.case_id, e.title, e.body, _meta(e))
                                               for e in entries])

    def rank(self, tx: Tx, phrases: Sequence[cjk.Part], *, any_: bool, limit: int,
             category: str | None, include_retired: bool, window: int) -> list[tuple[int, float]]:
        # bm25 costs 1-5 µs a match; the newest `window` matches bound the cost.
        match = _match(cjk.match_expression(list(phrases), any_=any_), category, include_retired)
        rows = tx.all(self._RANK, (match, window, limit))
        return [(case_id, -rank) for case_id, rank in rows]

    def clear(self, tx: Tx) -> None:
        # Made anew rather than emptied, so that a store gets the table's current definition.
        tx.execute("DROP TABLE IF EXISTS kb_fts")
        tx.execute(SQLITE_EXTRAS[0])

    def optimize(self, tx: Tx) -> None:
        # A bulk load leaves many index segments; merging them speeds every search.
        tx.execute("INSERT INTO kb_fts (kb_fts) VALUES ('optimize')")


# --- PostgreSQL -----------------------------------------------------------------------------

# FTS5's bm25 constants and the weights of Fts5CaseIndex (title 5, body 1, meta 0).
_K1, _B = 1.2, 0.75
_TITLE_WEIGHT, _BODY_WEIGHT = 5.0, 1.0


def _phrases_in_order(parts: Iterable[cjk.Part]) -> list[cjk.Phrase]:
    """Every phrase of the query as FTS5 numbers them: in order, repeats kept."""
    out: list[cjk.Phrase] = []
    for part in parts:
        out.extend(part.options if isinstance(part, cjk.Either) else (part,))
    return out


def _instances(tokens: Sequence[str], phrase: cjk.Phrase) -> int:
    """How many times `phrase` occurs in a token list (the last term a prefix if so marked)."""
    size, found = len(phrase.terms), 0
    head, last = list(phrase.terms[:-1]), phrase.terms[-1]
    for i in range(len(tokens) - size + 1):
        end = tokens[i + size - 1]
        if (end == last or (phrase.prefix and end.startswith(last))) and \
                tokens[i:i + size - 1] == head:
            found += 1
    return found


@dataclass(slots=True)
class _Doc:
    title: list[str]
    body: list[str]
    category: str
    retired: bool
    size: int


class PgCaseIndex:
    """The cjk tokens in PostgreSQL: `kb_token` (token, case) finds the cases holding a term,
    exact or by prefix; `kb_doc` holds each case's token text, on which phrases are checked and
    FTS5's bm25 is worked out (title 5 : body 1, the document length counting the filter tokens
    as FTS5 does)."""

    def add(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        # COPY, in the unit of work's transaction: a case brings a few hundred token rows, and
        # row-by-row inserts made a bulk import of 3,000 cases take most of a minute.
        cursor = tx.conn.connection.dbapi_connection.cursor()
        with cursor.copy("COPY kb_doc (case_id, title, body, category, retired, size) "
                         "FROM STDIN") as copy:
            for e in entries:
                copy.write_row((e.case_id, e.title, e.body, e.category, int(e.retired),
                                len(e.title.split()) + len(e.body.split()) + len(_meta(e).split())))
        with cursor.copy("COPY kb_token (token, case_id) FROM STDIN") as copy:
            for e in entries:
                for token in dict.fromkeys((e.title + " " + e.body).split()):
                    copy.write_row((token, e.case_id))
        cursor.close()

    def remove(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        tx.execute("DELETE FROM kb_doc WHERE case_id = ANY(?)", ([e.case_id for e in entries],))

    def clear(self, tx: Tx) -> None:
        tx.execute("DELETE FROM kb_doc")

    def optimize(self, tx: Tx) -> None:
        tx.execute("ANALYZE kb_doc")
        tx.execute("ANALYZE kb_token")

    def _holding(self, tx: Tx, phrase: cjk.Phrase, cache: dict[tuple[str, bool], set[int]]
                 ) -> set[int]:
        """Cases holding every term of `phrase` (not yet in order)."""
        found: set[int] | None = None
        for i, term in enumerate(phrase.terms):
            prefix = phrase.prefix and i == len(phrase.terms) - 1
            key = (term, prefix)
            if key not in cache:
                sql = ("SELECT DISTINCT case_id FROM kb_token WHERE token LIKE ?" if prefix
                       else "SELECT case_id FROM kb_token WHERE token = ?")
                cache[key] = {row[0] for row in tx.all(sql, (term + "%" if prefix else term,))}
            found = set(cache[key]) if found is None else found & cache[key]
        return found or set()

    def _docs(self, tx: Tx, ids: set[int]) -> dict[int, _Doc]:
        if not ids:
            return {}
        rows = tx.all("SELECT case_id, title, body, category, retired, size FROM kb_doc "
                      "WHERE case_id = ANY(?)", (sorted(ids),))
        return {r[0]: _Doc(r[1].split(), r[2].split(), r[3], bool(r[4]), r[5]) for r in rows}

    def rank(self, tx: Tx, phrases: Sequence[cjk.Part], *, any_: bool, limit: int,
             category: str | None, include_retired: bool, window: int) -> list[tuple[int, float]]:
        ordered = _phrases_in_order(phrases)
        if not ordered:
            return []
        cache: dict[tuple[str, bool], set[int]] = {}
        holding = [self._holding(tx, phrase, cache) for phrase in ordered]
        # A case holding a one-term phrase's term holds the phrase; a phrase of several terms is
        # checked on every case holding them all (bm25's idf counts every case holding it).
        docs = self._docs(tx, set().union(*(ids for phrase, ids in zip(ordered, holding)
                                             if len(phrase.terms) > 1)))
        members = [ids if len(phrase.terms) == 1 else
                   {i for i in ids if _instances(docs[i].title, phrase)
                    or _instances(docs[i].body, phrase)}
                   for phrase, ids in zip(ordered, holding)]
        # Only the newest `window` matching cases are read whole and ranked: a common word
        # costs the same at any store size.
        candidates = sorted(self._matching(phrases, members, any_=any_), reverse=True)
        matched: list[int] = []
        step = max(window, 64)
        for start in range(0, len(candidates), step):
            if len(matched) >= window:
                break
            chunk = candidates[start:start + step]
            docs.update(self._docs(tx, {i for i in chunk if i not in docs}))
            matched += [case_id for case_id in chunk if case_id in docs
                        and (not category or docs[case_id].category == category)
                        and (include_retired or not docs[case_id].retired)]
        matched = matched[:window]
        total = tx.one("SELECT count(*), coalesce(sum(size), 0) FROM kb_doc")
        rows, avgdl = int(total[0]), int(total[1]) / max(int(total[0]), 1)
        idf = []
        for ids in members:
            value = math.log((rows - len(ids) + 0.5) / (len(ids) + 0.5))
            idf.append(value if value > 0.0 else 1e-6)
        scored = []
        for case_id in matched:
            doc, score = docs[case_id], 0.0
            for weight, phrase, ids in zip(idf, ordered, members):
                if case_id not in ids:
                    continue
                freq = _instances(doc.title, phrase) * _TITLE_WEIGHT + \
                    _instances(doc.body, phrase) * _BODY_WEIGHT
                score += weight * (freq * (_K1 + 1.0)) / (freq + _K1 * (1 - _B + _B * doc.size / avgdl))
            scored.append((case_id, score))
        scored.sort(key=lambda item: (-item[1], -item[0]))
        return scored[:limit]

    @staticmethod
    def _matching(parts: Sequence[cjk.Part], members: list[set[int]], *, any_: bool) -> set[int]:
        """The cases the query's parts select: every part (or, with `any_`, one of them)."""
        index, sets = 0, []
        for part in parts:
            options = part.options if isinstance(part, cjk.Either) else (part,)
            found: set[int] = set()
            for _ in options:
                found |= members[index]
                index += 1
            sets.append(found)
        return set().union(*sets) if any_ else set.intersection(*sets)


INDEXES: dict[str, type[CaseIndex]] = {"sqlite": Fts5CaseIndex, "postgresql": PgCaseIndex}
