"""`agent-console kb import|export|search`: the knowledge base from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from agent_console.i18n import t
from agent_console.services import validation
from agent_console.services.store import InputError, Store
from agent_console.text import clean_line

SEARCH_LIMIT_MAX = 1000


def add_kb_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `kb` and its commands; `common` adds the shared --db/--lang/--agent options."""
    kb = subparsers.add_parser("kb", help="import, export and search the fault-case knowledge base")
    ksub = kb.add_subparsers(dest="kb_command", parser_class=type(kb), required=True)
    imp = ksub.add_parser("import", help="add cases from a JSON-lines file, one case per line")
    common(imp)
    imp.add_argument("file", type=Path, metavar="FILE.jsonl")
    imp.add_argument("--strict", action="store_true",
                     help="import nothing if any line is bad (default: skip bad lines)")
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


def run_kb(args: argparse.Namespace, store: Store, *, author: str) -> int:
    """Run one `kb` command; returns the exit code. Bad input raises InputError (exit 2)."""
    if args.kb_command == "import":
        from agent_console.services import audit

        audit.record(store, agent=author, action=audit.Action.KB_IMPORT, target="kb",
                     detail={"file": str(args.file), "strict": args.strict})
        return _import(args, store, author)
    if args.kb_command == "export":
        from agent_console.services import audit

        audit.record(store, agent=author, action=audit.Action.EXPORT, target="kb",
                     detail={"file": str(args.file) if args.file else "stdout"})
        return _export(args, store)
    return _search(args, store)


def _open(path: Path) -> TextIO:
    """The file to import; bytes that are not UTF-8 become lone surrogates, which the import rejects."""
    if not path.is_file():
        raise InputError(str(path), "is a directory" if path.is_dir() else "no such file")
    try:
        return path.open(encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})") from None


def _import(args: argparse.Namespace, store: Store, author: str) -> int:
    from agent_console.services.knowledge import import_jsonl

    with _open(args.file) as lines:
        report = import_jsonl(store, lines, strict=args.strict, author=author)
    for problem in report.problems:
        print(f"{args.file}:{problem.line}: {clean_line(problem.reason)}", file=sys.stderr)
    if report.strict and report.problems:
        print(t("cli.kb_strict_failed", skipped=len(report.problems)))
        return 1
    print(t("cli.kb_imported", imported=report.imported, skipped=len(report.problems)))
    return 1 if report.problems else 0


def _export(args: argparse.Namespace, store: Store) -> int:
    from agent_console.services.knowledge import export_jsonl

    def write(out: TextIO) -> int:
        count = 0
        for line in export_jsonl(store):
            out.write(line + "\n")
            count += 1
        return count

    if args.file is None:
        write(sys.stdout)
        return 0
    try:
        with args.file.open("w", encoding="utf-8", newline="\n") as out:
            count = write(out)
    except OSError as exc:
        raise InputError(str(args.file), f"cannot be written ({exc.strerror})") from None
    print(t("cli.kb_exported", count=count, path=args.file))
    return 0


def _marked(text: str, marks: tuple[tuple[int, int], ...]) -> str:
    for start, end in reversed(marks):
        text = f"{text[:start]}[{text[start:end]}]{text[end:]}"
    return text


def _search(args: argparse.Namespace, store: Store) -> int:
    from agent_console.services.knowledge import search

    if not 1 <= args.limit <= SEARCH_LIMIT_MAX:
        raise InputError("--limit", f"must be between 1 and {SEARCH_LIMIT_MAX}")
    if args.category:
        validation.choice("--category", args.category, list(store.catalog.categories))
    hits = search(store, query=args.query, limit=args.limit, category=args.category)
    if args.json:
        print(json.dumps([{
            "id": h.id, "title": h.title, "category": h.category, "score": h.score,
            "snippet": h.snippet, "marks": [list(m) for m in h.marks],
            "title_marks": [list(m) for m in h.title_marks], "language": h.language,
        } for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print(t("cli.kb_no_results"))
    for h in hits:
        print(f"#{h.id}  {clean_line(_marked(h.title, h.title_marks))}  {h.category}  {h.score:.2f}")
        print(f"    {clean_line(_marked(h.snippet, h.marks))}")
    return 0
