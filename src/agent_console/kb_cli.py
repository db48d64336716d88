"""`agent-console kb import|export|search`: the knowledge base from the command line."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from agent_console.config import Settings
from agent_console.i18n import t
from agent_console.services import validation
from agent_console.services.errors import InputError
from agent_console.services.store import Store
from agent_console.text import clean_line

SEARCH_LIMIT_MAX = 1000
UNKNOWN_CATEGORY = ("skip", "keep-uncategorised")  # kb_jsonl.SKIP, kb_jsonl.KEEP_UNCATEGORISED


def add_kb_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `kb` and its commands; `common` adds the shared --db/--lang/--agent options."""
    from agent_console.cli_auth import add_proof_arguments

    kb = subparsers.add_parser("kb", help="import, export and search the fault-case knowledge base")
    ksub = kb.add_subparsers(dest="kb_command", parser_class=type(kb), required=True)
    imp = ksub.add_parser("import", help="add cases from a JSON-lines file, one case per line "
                                         "(needs an agent who may edit the knowledge base)")
    common(imp)
    add_proof_arguments(imp)
    imp.add_argument("file", type=Path, metavar="FILE.jsonl")
    imp.add_argument("--strict", action="store_true",
                     help="import nothing if any line is bad (default: skip bad lines)")
    imp.add_argument("--update", action="store_true",
                     help="a case already there (same title and symptoms) takes the line's "
                          "values (default: skip it)")
    imp.add_argument("--map", action="append", default=[], metavar="OLD=NEW",
                     help="read category OLD as NEW (NEW empty: no category); repeatable")
    imp.add_argument("--unknown-category", choices=UNKNOWN_CATEGORY,
                     help="a category the site does not know: skip the line, or import the case "
                          "without a category (default: the line is bad)")
    exp = ksub.add_parser("export", help="write the cases in the format import reads")
    common(exp)
    exp.add_argument("file", type=Path, nargs="?", metavar="FILE",
                     help="output file (default: standard output)")
    find = ksub.add_parser("search", help="search the cases, best match first")
    common(find)
    find.add_argument("query", metavar="QUERY")
    find.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    find.add_argument("--category", help="only cases of this category")
    find.add_argument("--json", action="store_true", help="print a JSON array")


def run_kb(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    """Run one `kb` command; returns the exit code. Bad input raises InputError (exit 2)."""
    if args.kb_command == "import":
        return _import(args, store, settings)
    if args.kb_command == "export":
        from agent_console.services import audit

        audit.record(store, agent=settings.agent, action=audit.Action.EXPORT, target="kb",
                     detail={"file": str(args.file) if args.file else "stdout"})
        return _export(args, store)
    return _search(args, store)


@contextmanager
def _reader_may_leave() -> Iterator[None]:
    """Stop quietly when the reader of standard output goes away (`| head`)."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        try:  # keep Python from complaining about the closed stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def _open(path: Path) -> TextIO:
    """The file to import; bytes that are not UTF-8 become lone surrogates, which the import
    rejects with their line and column."""
    name = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(name, "no such file", code="no_such_file") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror})", code="unreadable",
                         reason=exc.strerror) from None
    if stat.S_ISDIR(mode):
        raise InputError(name, "is a directory, not a file", code="is_directory")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise InputError(name, "is a device, not a file", code="is_device")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise InputError(name, "is not a regular file", code="not_a_file")
    try:
        return path.open(encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror})", code="unreadable",
                         reason=exc.strerror) from None


def _category_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip():
            raise InputError("--map", f"{pair!r}: write OLD=NEW", code="old_new")
        mapping[old.strip()] = new.strip()
    return mapping


def _import(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services.kb_jsonl import import_jsonl, read_lines

    categories = _category_map(args.map)
    with _open(args.file) as stream:
        actor = prove_actor(args, store, settings)
        try:
            report = import_jsonl(store, actor, read_lines(stream), strict=args.strict,
                                  update=args.update, categories=categories,
                                  unknown_category=args.unknown_category, source=str(args.file))
        except OSError as exc:
            raise InputError(str(args.file), f"cannot be read ({exc.strerror})",
                             code="unreadable", reason=exc.strerror) from None
    for problem in report.problems:
        print(f"{args.file}:{problem.line}: {clean_line(problem.reason)}", file=sys.stderr)
    if report.strict and report.problems:
        print(t("cli.kb_strict_failed", skipped=len(report.problems)))
        return 1
    print(t("cli.kb_imported", imported=report.imported, updated=report.updated,
            duplicates=report.duplicates, unknown=report.unknown_categories,
            skipped=len(report.problems)))
    if report.uncategorised:
        print(t("cli.kb_uncategorised", count=report.uncategorised))
    return 1 if report.problems else 0


def _export(args: argparse.Namespace, store: Store) -> int:
    from agent_console.services.kb_jsonl import export_jsonl

    def write(out: TextIO) -> int:
        count = 0
        for line in export_jsonl(store):
            out.write(line + "\n")
            count += 1
        return count

    if args.file is None:
        with _reader_may_leave():
            write(sys.stdout)
        return 0
    try:
        with args.file.open("w", encoding="utf-8", newline="\n") as out:
            count = write(out)
    except OSError as exc:
        raise InputError(str(args.file), f"cannot be written ({exc.strerror})",
                         code="unwritable", reason=exc.strerror) from None
    print(t("cli.kb_exported", count=count, path=args.file))
    return 0


def _marked(text: str, marks: tuple[tuple[int, int], ...]) -> str:
    for start, end in reversed(marks):
        text = f"{text[:start]}[{text[start:end]}]{text[end:]}"
    return text


def _search(args: argparse.Namespace, store: Store) -> int:
    from agent_console.services.knowledge import find_cases

    if not 1 <= args.limit <= SEARCH_LIMIT_MAX:
        raise InputError("--limit", f"must be between 1 and {SEARCH_LIMIT_MAX}")
    if args.category:
        validation.choice("--category", args.category, list(store.catalog.categories))
    found = find_cases(store, query=args.query, limit=args.limit, category=args.category)
    with _reader_may_leave():
        if args.json:
            print(json.dumps([{
                "id": h.id, "title": h.title, "category": h.category, "score": h.score,
                "snippet": h.snippet, "marks": [list(m) for m in h.marks],
                "title_marks": [list(m) for m in h.title_marks], "language": h.language,
                "match": found.fallback or "all",
            } for h in found.hits], ensure_ascii=False, indent=1))
            return 0
        if not found.hits:
            print(t("cli.kb_no_results"))
        elif found.fallback:
            print(t(f"cli.kb_fallback_{found.fallback}"))
        for h in found.hits:
            print(f"#{h.id}  {clean_line(_marked(h.title, h.title_marks))}  {h.category}  "
                  f"{h.score:.2f}")
            print(f"    {clean_line(_marked(h.snippet, h.marks))}")
    return 0
