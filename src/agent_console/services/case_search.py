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

    # What this engine's index keeps, beyond cjk.INDEX_VERSION's tokens: a store indexed in
    # another format is re-indexed when opened (knowledge.index_version).
    FORMAT: str

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

    FORMAT = ""  # the index holds cjk.INDEX_VERSION's tokens, nothing of its own to version

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
_IDF_FLOOR = 1e-6  # FTS5 gives a phrase in more than half the rows this idf, not a negative one


def _phrases_in_order(parts: Iterable[cjk.Part]) -> list[cjk.Phrase]:
    """Every phrase of the query as FTS5 numbers them: in order, repeats kept."""
    out: list[cjk.Phrase] = []
    for part in parts:
        out.extend(part.options if isinstance(part, cjk.Either) else (part,))
    return out


def _places(tokens: Sequence[str], column: int,
            out: dict[str, tuple[list[int], list[int]]]) -> None:
    for at, token in enumerate(tokens):
        out.setdefault(token, ([], []))[column].append(at)


class PgCaseIndex:
    """The cjk tokens in PostgreSQL (db.PG_KB_TABLES): `kb_token` holds each (token, case) with
    the token's count and positions in the title and the body, found by the B-tree on token
    (exact, or by prefix with LIKE); `kb_doc` holds each case's filters and its length in tokens
    (the filter tokens counted, as FTS5 counts its meta column). One SQL statement checks the
    phrases (consecutive positions), picks the newest `window` matching cases and ranks them
    with FTS5's bm25, written out in the order FTS5 computes it (title 5 : body 1, whole-row
    document length and average, idf log((N - n + 0.5) / (n + 0.5)) floored at 1e-6), so the
    scores are FTS5's to the last bit."""

    FORMAT = "+pg2"  # 2: counts and positions in kb_token (1: tokens only, text in kb_doc)

    def add(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        # COPY, in the unit of work's transaction: a case brings a few hundred token rows.
        cursor = tx.conn.connection.dbapi_connection.cursor()
        with cursor.copy("COPY kb_doc (case_id, category, retired, size) FROM STDIN") as copy:
            for e in entries:
                copy.write_row((e.case_id, e.category, int(e.retired),
                                len(e.title.split()) + len(e.body.split()) + len(_meta(e).split())))
        with cursor.copy("COPY kb_token (token, case_id, title_tf, body_tf, title_pos, body_pos) "
                         "FROM STDIN") as copy:
            for e in entries:
                places: dict[str, tuple[list[int], list[int]]] = {}
                _places(e.title.split(), 0, places)
                _places(e.body.split(), 1, places)
                for token, (title, body) in places.items():
                    copy.write_row((token, e.case_id, len(title), len(body),
                                    _array(title), _array(body)))
        cursor.close()

    def remove(self, tx: Tx, entries: Sequence[IndexEntry]) -> None:
        tx.execute("DELETE FROM kb_doc WHERE case_id = ANY(?)", ([e.case_id for e in entries],))

    def clear(self, tx: Tx) -> None:
        # Made anew rather than emptied, so that a store gets the tables' current definition.
        from agent_console.db import PG_KB_TABLES

        tx.execute("DROP TABLE IF EXISTS kb_token")
        tx.execute("DROP TABLE IF EXISTS kb_doc")
        for statement in PG_KB_TABLES:
            tx.execute(statement)

    def optimize(self, tx: Tx) -> None:
        tx.execute("ANALYZE kb_doc")
        tx.execute("ANALYZE kb_token")

    @staticmethod
    def _phrase_sql(phrase: cjk.Phrase, n: int, params: dict[str, object]) -> str:
        """(case_id, f) for every case holding `phrase`: f is FTS5's weighted count of its
        instances (5 a title instance, 1 a body instance)."""
        terms = phrase.terms
        last = len(terms) - 1

        def where(i: int, alias: str) -> str:
            key = f"t{n}_{i}"
            if phrase.prefix and i == last:
                params[key] = terms[i] + "%"  # terms hold only letters and digits
                return f"{alias}.token LIKE %({key})s"
            params[key] = terms[i]
            return f"{alias}.token = %({key})s"

        weigh = f"{_TITLE_WEIGHT!r}::float8, {_BODY_WEIGHT!r}::float8"
        if len(terms) == 1:
            a, b = weigh.split(", ")
            if not phrase.prefix:
                return (f"SELECT case_id, title_tf * {a} + body_tf * {b} AS f FROM kb_token a0 "
                        f"WHERE {where(0, 'a0')}")
            return (f"SELECT case_id, sum(title_tf) * {a} + sum(body_tf) * {b} AS f "
                    f"FROM kb_token a0 WHERE {where(0, 'a0')} GROUP BY case_id")
        joins = " ".join(f"JOIN kb_token a{i} ON a{i}.case_id = a0.case_id AND {where(i, f'a{i}')}"
                         for i in range(1, len(terms)))

        def count(column: str) -> str:
            chain = " AND ".join(f"p + {i} = ANY(a{i}.{column})" for i in range(1, len(terms)))
            return f"(SELECT count(*) FROM unnest(a0.{column}) p WHERE {chain})"

        a, b = weigh.split(", ")
        # With a prefix last term a case may bring several rows for it; a position holds one
        # token, so their counts add up to the phrase's.
        return (f"SELECT case_id, sum(f) AS f FROM (SELECT a0.case_id, "
                f"{count('title_pos')} * {a} + {count('body_pos')} * {b} AS f "
                f"FROM kb_token a0 {joins} WHERE {where(0, 'a0')}) s "
                f"GROUP BY case_id HAVING sum(f) > 0")

    def rank(self, tx: Tx, phrases: Sequence[cjk.Part], *, any_: bool, limit: int,
             category: str | None, include_retired: bool, window: int) -> list[tuple[int, float]]:
        ordered = _phrases_in_order(phrases)
        if not ordered:
            return []
        distinct = list(dict.fromkeys(ordered))
        number = {phrase: n for n, phrase in enumerate(distinct)}
        params: dict[str, object] = {"k1": _K1, "b": _B, "floor": _IDF_FLOOR, "half": 0.5,
                                     "one": 1.0, "window": window, "limit": limit}
        ctes = [f"p{n} AS MATERIALIZED ({self._phrase_sql(phrase, n, params)})"
                for n, phrase in enumerate(distinct)]
        sets = []
        for part in phrases:
            options = part.options if isinstance(part, cjk.Either) else (part,)
            sets.append("(" + " UNION ".join(f"SELECT case_id FROM p{number[o]}"
                                             for o in options) + ")")
        ctes.append("cand AS MATERIALIZED (" + (" UNION " if any_ else " INTERSECT ").join(sets) + ")")
        filters = ""
        if category:
            params["category"] = category
            filters += " AND d.category = %(category)s"
        if not include_retired:
            filters += " AND d.retired = 0"
        # Only the newest `window` matching cases are ranked: a common word costs the same at
        # any store size (as Fts5CaseIndex).
        ctes.append("m AS MATERIALIZED (SELECT d.case_id, d.size FROM kb_doc d JOIN cand ON "
                    f"cand.case_id = d.case_id WHERE true{filters} "
                    "ORDER BY d.case_id DESC LIMIT %(window)s)")
        # FTS5: avgdl = every row's tokens / rows; idf = log((N - n + 0.5) / (n + 0.5)) with n
        # the rows holding the phrase, FTS5's floor when not positive.
        ctes.append("st AS MATERIALIZED (SELECT count(*) AS n, "
                    "coalesce(sum(size), 0)::float8 / greatest(count(*), 1)::float8 AS avgdl "
                    "FROM kb_doc)")
        idf = ", ".join(
            f"(SELECT CASE WHEN x > 0 THEN x ELSE %(floor)s END FROM (SELECT ln(((st.n - c.n)"
            f"::float8 + %(half)s) / (c.n::float8 + %(half)s)) AS x FROM "
            f"(SELECT count(*) AS n FROM p{n}) c) y) AS i{n}" for n in range(len(distinct)))
        ctes.append(f"w AS MATERIALIZED (SELECT {idf} FROM st)")
        # score += idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)), phrase by phrase.
        terms = []
        for phrase in ordered:
            n = number[phrase]
            f = f"coalesce(p{n}.f, 0::float8)"
            terms.append(f"w.i{n} * (({f} * (%(k1)s + %(one)s)) / ({f} + %(k1)s * "
                         f"(%(one)s - %(b)s + %(b)s * m.size::float8 / st.avgdl)))")
        score = " + ".join(terms)
        joins = " ".join(f"LEFT JOIN p{n} ON p{n}.case_id = m.case_id"
                         for n in range(len(distinct)))
        sql = (f"WITH {', '.join(ctes)} SELECT m.case_id, {score} AS score FROM m CROSS JOIN st "
               f"CROSS JOIN w {joins} ORDER BY score DESC, m.case_id DESC LIMIT %(limit)s")
        cursor = tx.conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, params)
            return [(int(case_id), float(value)) for case_id, value in cursor.fetchall()]
        finally:
            cursor.close()


def _array(places: list[int]) -> str:
    """A PostgreSQL array literal, as COPY's text format takes it."""
    return "{" + ",".join(map(str, places)) + "}"


INDEXES: dict[str, type[CaseIndex]] = {"sqlite": Fts5CaseIndex, "postgresql": PgCaseIndex}
