"""Full-text search over knowledge-base cases, behind one small interface.

Every engine indexes the same tokens, made by services.cjk (overlapping bigrams for Chinese,
lower-case words for Latin text), so a case is found by the same queries on any store. A
`CaseIndex` keeps those tokens per case and ranks cases for query phrases; `Fts5CaseIndex` does
it with SQLite's FTS5 table `kb_fts` (created in db.SQLITE_EXTRAS). A PostgreSQL index would
keep the same tokens in a tsvector column and rank with ts_rank.
"""

from __future__ import annotations

from collections.abc import Sequence
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


INDEXES: dict[str, type[CaseIndex]] = {"sqlite": Fts5CaseIndex}
