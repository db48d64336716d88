"""The knowledge base as JSON lines, one case a line: import (checked line by line, duplicates
found, categories mapped) and export in the same format."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import IO, Any

from agent_console.models.kb import CaseCreate, ImportReport, LineProblem
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.errors import InputError
from agent_console.services.knowledge import (
    EDITABLE,
    REQUIRED,
    change_case,
    check_case,
    index_for,
    insert_cases,
    load_case,
    next_case_id,
    quoted,
)
from agent_console.services.permissions import EDIT_KB
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line

# Characters in one line: the longest valid case, written with \uXXXX escapes, fits.
LINE_LIMIT = 128 * 1024
BATCH = 2000
SKIP = "skip"  # what an import does with a category the site does not know
KEEP_UNCATEGORISED = "keep-uncategorised"
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_lines(stream: IO[str], limit: int = LINE_LIMIT) -> Iterator[str]:
    """The lines of a text stream, each cut at `limit` + 1 characters, so that one endless
    line cannot fill the memory (import_jsonl refuses such a line by its length)."""
    while line := stream.readline(limit + 1):
        if len(line) > limit and not line.endswith(("\n", "\r")):
            while (rest := stream.readline(limit)) and not rest.endswith(("\n", "\r")):
                pass
        yield line


def _parse_json(line: str) -> Any:
    if len(line.rstrip("\r\n")) > LINE_LIMIT:
        raise InputError("line", f"is longer than {LINE_LIMIT} characters", code="too_long",
                         limit=LINE_LIMIT)
    if bad := _SURROGATE.search(line):
        byte = ord(bad.group()) - 0xDC00  # a byte that is not UTF-8, as surrogateescape keeps it
        what = f"byte 0x{byte:02x}" if 0x80 <= byte <= 0xFF else "a lone surrogate"
        raise InputError("line", f"is not valid UTF-8 ({what} at column {bad.start() + 1})")
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError("line", f"not valid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise InputError("line", "not valid JSON here (nested too deeply)") from None
    except ValueError:  # an integer longer than Python converts
        raise InputError("line", f"not valid JSON here (a number of more than "
                                 f"{sys.get_int_max_str_digits()} digits)") from None


def _same_case(title: str, symptoms: str) -> bytes:
    """Two cases are the same when their titles and symptoms read the same."""
    text = f"{title}\x00{symptoms}"
    if not unicodedata.is_normalized("NFKC", text):  # a quick check; most text is
        text = unicodedata.normalize("NFKC", text)
    return hashlib.blake2b(" ".join(text.casefold().split()).encode(), digest_size=16).digest()


class StrictImportFailed(Exception):
    """A strict import met bad lines: the transaction it ran in must not be committed."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.problems)} bad lines")
        self.report = report


class _Import:
    """One import, inside one write transaction."""

    def __init__(self, tx: Tx, *, author: str, strict: bool, update: bool,
                 categories: Mapping[str, str], unknown: str | None) -> None:
        self.store, self.tx, self.index, self.author = tx.store, tx, index_for(tx.store), author
        self.strict, self.update = strict, update
        self.categories, self.unknown = categories, unknown
        self.first_id = self.next_id = next_case_id(tx)
        self.seen = {_same_case(title, symptoms): case_id for case_id, title, symptoms
                     in tx.execute("SELECT id, title, symptoms FROM kb_case")}
        self.batch: list[tuple[int, CaseCreate]] = []
        self.problems: list[LineProblem] = []
        self.imported = self.updated = self.duplicates = 0
        self.unknown_categories = self.uncategorised = 0

    def line(self, number: int, text: str) -> None:
        if number == 1:
            text = text.lstrip("\ufeff")
        if not text.strip():
            return
        try:
            parsed = self._parse(_parse_json(text))
        except InputError as exc:
            self.problems.append(LineProblem(number, str(exc)))
            return
        if parsed is None:
            self.unknown_categories += 1
            return
        if self.strict and self.problems:
            return  # nothing will be kept; only look for more problems
        case, uncategorised = parsed
        key = _same_case(case.title, case.symptoms)
        if (case_id := self.seen.get(key)) is None:
            self.seen[key] = self.next_id
            self.batch.append((self.next_id, case))
            self.next_id += 1
            if len(self.batch) >= BATCH:
                self.flush()
        elif not self.update:
            self.duplicates += 1
            return
        else:
            if case_id >= self.first_id:
                self.flush()  # the case came earlier in this file and may still be in the batch
            if not change_case(self.tx, self.index, load_case(self.tx, case_id),
                               {field: getattr(case, field) for field in EDITABLE},
                               author=self.author):
                self.duplicates += 1
                return
            self.updated += 1
        self.uncategorised += uncategorised

    def _parse(self, data: Any) -> tuple[CaseCreate, bool] | None:
        """The case of a line and whether its category was dropped; None to skip the line."""
        if not isinstance(data, dict):
            raise InputError("line", "must be a JSON object")
        unknown = sorted(set(data) - set(EDITABLE))
        if unknown:
            raise InputError(clean_line(unknown[0])[:40] or "line",
                             f"unknown field; fields are: {', '.join(EDITABLE)}")
        for field in REQUIRED:
            if field not in data:
                raise InputError(field, "missing", code="required")
        category, dropped = data.get("category"), False
        if isinstance(category, str):
            category = self.categories.get(category.strip(), category.strip())
            if category and category not in self.store.catalog.categories:
                if self.unknown == SKIP:
                    check_case(self.store, {**data, "category": ""})  # a bad line stays bad
                    return None
                if self.unknown == KEEP_UNCATEGORISED:
                    category, dropped = "", True
            data = {**data, "category": category}
        return check_case(self.store, data), dropped

    def flush(self) -> None:
        if self.batch:
            insert_cases(self.tx, self.index, self.batch, author=self.author)
            self.imported += len(self.batch)
            self.batch.clear()

    def report(self) -> ImportReport:
        return ImportReport(self.imported, tuple(self.problems), self.strict, self.updated,
                            self.duplicates, self.unknown_categories, self.uncategorised)


def _check_options(store: Store, categories: Mapping[str, str], unknown: str | None) -> None:
    known = list(store.catalog.categories)
    for old, new in categories.items():
        if new and new not in store.catalog.categories:
            raise InputError("map", f"{quoted(old)}={quoted(new)}: {quoted(new)} is not one of: "
                                    f"{', '.join(known)}", code="choice", allowed=known)
    if unknown not in (None, SKIP, KEEP_UNCATEGORISED):
        raise InputError("unknown_category", f"{quoted(unknown)} is not one of: {SKIP}, "
                                             f"{KEEP_UNCATEGORISED}", code="choice",
                         allowed=(SKIP, KEEP_UNCATEGORISED))


def import_in(tx: Tx, lines: Iterable[str], *, author: str, strict: bool = False,
              update: bool = False, categories: Mapping[str, str] | None = None,
              unknown_category: str | None = None) -> ImportReport:
    """Import one case per line inside the caller's write transaction, by `author`; bad lines
    are reported and skipped. The caller answers for permission and the audit record.

    A case already in the store or earlier in the lines (same title and symptoms) is skipped,
    or with `update` changed to the line's values. `categories` renames categories (old ->
    new, "" for none); a category the site does not know makes the line bad, unless
    `unknown_category` is SKIP (skip the line) or KEEP_UNCATEGORISED (import it without one).
    With `strict`, a bad line raises StrictImportFailed once every line has been checked.
    """
    categories = dict(categories or {})
    _check_options(tx.store, categories, unknown_category)
    run = _Import(tx, author=author, strict=strict, update=update, categories=categories,
                  unknown=unknown_category)
    for number, line in enumerate(lines, start=1):
        run.line(number, line)
    if strict and run.problems:
        raise StrictImportFailed(replace(run.report(), imported=0, updated=0))
    run.flush()
    if run.imported >= max(BATCH, run.first_id - 1):
        run.index.optimize(tx)
    return run.report()


def import_jsonl(store: Store, actor: Actor, lines: Iterable[str], *, strict: bool = False,
                 update: bool = False, categories: Mapping[str, str] | None = None,
                 unknown_category: str | None = None, source: str = "") -> ImportReport:
    """Import cases (see import_in) in one transaction, by an agent who may edit the knowledge
    base. With `strict`, any bad line means nothing is imported (all lines are still checked).
    When it imported or changed anything, the import is audited inside its transaction;
    `source` names the file in that record.
    """
    actor.require(EDIT_KB)
    try:
        with store.write(actor) as tx:
            report = import_in(tx, lines, author=actor.code, strict=strict, update=update,
                               categories=categories, unknown_category=unknown_category)
            if report.imported or report.updated:
                tx.audit(Action.KB_IMPORT, "kb", {
                    "source": source, "imported": report.imported, "updated": report.updated,
                    "duplicates": report.duplicates, "bad_lines": len(report.problems),
                    "unknown_categories": report.unknown_categories,
                    "uncategorised": report.uncategorised, "strict": strict, "update": update})
            return report
    except StrictImportFailed as failed:
        return failed.report


def export_jsonl(store: Store) -> Iterator[str]:
    """One JSON line (without newline) per case in use, oldest first, in the format import reads."""
    with store.read() as tx:
        for row in tx.execute("SELECT title, symptoms, cause, resolution, prevention, category, "
                              "tags, language FROM kb_case WHERE retired = 0 AND pending_review = 0 "
                              "ORDER BY id"):
            record = dict(zip(EDITABLE, row))
            record["tags"] = json.loads(record["tags"])
            yield json.dumps(record, ensure_ascii=False)
