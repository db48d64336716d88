"""`agent-console classify`: propose a classification for a description, or score the rules on a
labelled set."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

from agent_console import i18n
from agent_console.models.vocab import WorkType
from agent_console.services.store import InputError, NotFoundError
from agent_console.text import clean_line

if TYPE_CHECKING:  # the classifier (and pydantic) load only when `classify` runs
    from agent_console.services.classifier import Classifier, Proposal

SPLITS = ("heldout", "dev", "fresh", "train", "val")
FORMS = ("complaint_ticket", "direct_answer", "none")
FIELDS = ("category", "work_type", "complaint_form")
NO_CATEGORY = "-"


def add_classify_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add `classify`; `common` adds the shared --db/--lang/--agent options."""
    parser = subparsers.add_parser(
        "classify", help="propose category, work type, grade and complaint form for a description, "
                         "or measure the rules on a labelled set")
    common(parser)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("text", nargs="?", metavar="TEXT", help="a contact description")
    what.add_argument("--eval", type=Path, metavar="FILE.jsonl",
                      help="labelled descriptions, one JSON object a line: text, category, "
                           "work_type, complaint_form, split")
    what.add_argument("--learn", action="store_true",
                      help="propose rule changes from the agents' overrides of proposed "
                           "categories, with their evidence, and ask a supervisor for each")
    what.add_argument("--accept", metavar="ID", help="accept one proposal of --learn into the "
                                                     "site's rules (kept in the store)")
    what.add_argument("--reject", metavar="ID", help="reject one proposal of --learn")
    parser.add_argument("--since", metavar="YYYY-MM-DD",
                        help="with --learn/--accept: only overrides from this day on")
    from agent_console.cli_auth import add_proof_arguments

    add_proof_arguments(parser)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all",
                        help="with --eval: which part of the set (default all)")
    parser.add_argument("--errors", action="store_true", help="with --eval: list every miss")
    parser.add_argument("--ngram", action="store_true",
                        help="take the guess of the character n-gram model trained on the dev "
                             "and train splits when no rule proposes a category, and let it "
                             "decide where the rules hesitate (as the console does)")
    parser.add_argument("--json", action="store_true", help="print the proposal as JSON")


def run_classify(args: argparse.Namespace) -> int:
    """Run `classify`; returns the exit code. A bad eval file raises InputError (exit 2)."""
    from agent_console.services.classifier import default_classifier

    classifier = default_classifier()
    if args.ngram:
        from agent_console.services.classifier import Classifier
        from agent_console.services.ngram import trained_model

        classifier = Classifier(classifier.rules, classifier.catalog, trained_model())
    if args.eval is not None:
        examples = read_examples(args.eval, categories=classifier.catalog.categories)
        chosen = [e for e in examples if args.split in ("all", e.split)]
        scores = score(classifier, chosen)
        for line in report(scores, classifier, source=args.eval.name, split=args.split,
                           errors=args.errors):
            print(line)
        return 0
    text = args.text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # bytes from argv
    if not text.strip():
        raise InputError("description", "must not be empty", code="required")
    proposal = classifier.classify(text)
    if args.json:
        print(json.dumps(asdict(proposal), ensure_ascii=False, indent=1))
    else:
        for line in describe(proposal, classifier, len(text)):
            print(line)
    return 0


def wants_store(args: argparse.Namespace) -> bool:
    """Learning from the agents reads (and may change) the store; the rest needs none."""
    return bool(args.learn or args.accept or args.reject)


def _since(text: str | None) -> Any:
    from datetime import date, datetime, timezone

    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError("since", f"{clean_line(text)!r} is not a date like 2026-11-01",
                         code="date") from None
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _what(change: Any, names: dict[str, str]) -> str:
    category = f"{change.category} {names.get(change.category, '')}".strip()
    if change.kind == "weight":
        return i18n.t("search.learn.reweigh", rule=change.rule, category=category,
                      old=f"{change.old_weight:g}", new=f"{change.weight:g}")
    return i18n.t("search.learn.add_keyword", word=change.word, category=category,
                  weight=f"{change.weight:g}")


def show_change(change: Any, names: dict[str, str]) -> list[str]:
    """A proposal and its evidence, a few lines."""
    return [i18n.t("search.learn.proposal", id=change.id, what=_what(change, names)),
            i18n.t("search.learn.evidence", explained=len(change.tickets),
                   tickets=", ".join(change.tickets)),
            i18n.t("search.learn.labelled", total=change.total, fixed=change.fixed,
                   broken=change.broken)]


def run_learn(args: argparse.Namespace, store: Any, settings: Any,
              ask: Callable[[str], str] = input) -> int:
    """`classify --learn` (ask for each proposal), `--accept ID`, `--reject ID`."""
    from agent_console.cli_auth import prove_actor
    from agent_console.services import learning

    since = _since(args.since)
    actor = prove_actor(args, store, settings)
    lang = i18n.current_language()
    names = {c.code: c.name(lang) for c in store.catalog.categories.values()}
    if args.reject:
        learning.reject(store, actor, change_id=args.reject.strip())
        print(i18n.t("search.learn.rejected", id=args.reject.strip()))
        return 0
    if args.accept:
        try:
            change = learning.find(store, actor, change_id=args.accept.strip(), since=since)
        except NotFoundError:
            raise InputError("accept", i18n.t("search.learn.unknown", id=args.accept)) from None
        for line in show_change(change, names):
            print(line)
        learning.accept(store, actor, change=change)
        print(i18n.t("search.learn.accepted", id=change.id))
        return 0
    since_text = args.since or ""
    found = learning.overrides(store, actor, since=since)
    print(i18n.t("search.learn.overrides" if since else "search.learn.overrides_all",
                 count=len(found), since=since_text))
    changes = learning.proposals(store, actor, since=since)
    if not changes:
        print(i18n.t("search.learn.none" if since else "search.learn.none_all", since=since_text))
        return 0
    for change in changes:
        print()
        for line in show_change(change, names):
            print(line)
        try:
            answer = ask(i18n.t("search.learn.ask")).strip().lower()
        except EOFError:
            print()
            answer = ""
        if answer in ("y", "yes", "是", "采纳"):
            learning.accept(store, actor, change=change)
            print(i18n.t("search.learn.accepted", id=change.id))
        elif answer in ("n", "no", "否", "拒绝"):
            learning.reject(store, actor, change_id=change.id)
            print(i18n.t("search.learn.rejected", id=change.id))
        else:
            print(i18n.t("search.learn.skipped", id=change.id))
    return 0


# --- one description ----------------------------------------------------------------------------

def describe(proposal: Proposal, classifier: Classifier, length: int) -> list[str]:
    """The proposal, then each rule that matched with the text it matched, one per line."""
    lang = i18n.current_language()
    catalog = classifier.catalog
    category = proposal.category or NO_CATEGORY
    if proposal.category:
        category += f"  {catalog.categories[proposal.category].name(lang)}"
    department = proposal.department or NO_CATEGORY
    if proposal.department:
        department += f"  {catalog.departments[proposal.department].name(lang)}"
    lines = [f"category        {category}", f"department      {department}",
             f"work_type       {proposal.work_type}", f"grade           {proposal.grade}",
             f"complaint_form  {proposal.complaint_form}", f"confidence      {proposal.confidence:.2f}",
             f"jump_queue      {'yes' if proposal.jump_queue else 'no'}"]
    if proposal.scanned < length:
        lines.append(f"scanned         the first {proposal.scanned} of {length} characters")
    for reason in proposal.reasons:
        weight = f"+{reason.weight:g}" if reason.weight else ""
        spans = "  ".join(f'"{clean_line(h.text)}"@{h.start}' for h in reason.hits)
        lines.append(f"  {reason.kind:<10} {reason.target:<24} {weight:>4}  {reason.rule:<24} {spans}")
    return lines


# --- a labelled set -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    line: int
    text: str
    category: str
    work_type: str
    complaint_form: str
    split: str


def read_examples(path: Path, *, categories: Iterable[str]) -> list[Example]:
    """Every example of a JSON-lines file; the first bad line raises InputError("FILE:LINE", why)."""
    if not path.is_file():
        raise InputError(str(path), "is a directory" if path.is_dir() else "no such file")
    allowed = {"category": list(categories), "work_type": [w.value for w in WorkType],
               "complaint_form": list(FORMS), "split": list(SPLITS)}
    examples = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            where = f"{path}:{number}"
            try:
                row = json.loads(raw.decode("utf-8")) if raw.strip() else None
            except UnicodeDecodeError:
                raise InputError(where, "not valid UTF-8") from None
            except json.JSONDecodeError as exc:
                raise InputError(where, f"not valid JSON ({exc.msg})") from None
            if row is None:
                continue
            if not isinstance(row, dict):
                raise InputError(where, "expected a JSON object")
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                raise InputError(where, "text: must be a non-empty string")
            for name, values in allowed.items():
                if name not in row:
                    raise InputError(where, f"{name}: missing")
                if row[name] not in values:
                    raise InputError(where, f"{name}: {row[name]!r} is not one of: {', '.join(values)}")
            examples.append(Example(number, row["text"], row["category"], row["work_type"],
                                    row["complaint_form"], row["split"]))
    return examples


@dataclass
class Scores:
    total: int = 0
    correct: Counter[str] = field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[tuple[Example, Proposal]] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.correct[name] / self.total if self.total else 0.0


def score(classifier: Classifier, examples: Iterable[Example]) -> Scores:
    """Accuracy of category, work type and complaint form, and the category confusion counts."""
    scores = Scores()
    for example in examples:
        proposal = classifier.classify(example.text)
        got = {"category": proposal.category or NO_CATEGORY, "work_type": proposal.work_type,
               "complaint_form": proposal.complaint_form}
        scores.total += 1
        scores.confusion[example.category, got["category"]] += 1
        right = [name for name in FIELDS if got[name] == getattr(example, name)]
        scores.correct.update(right)
        if len(right) < len(FIELDS):
            scores.misses.append((example, proposal))
    return scores


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - cell_len(text))
    return fill + text if right else text + fill


def report(scores: Scores, classifier: Classifier, *, source: str, split: str,
           errors: bool) -> list[str]:
    """Accuracy lines, then the category confusion table (rows expected, columns predicted)."""
    lines = [f"{source}: {scores.total} descriptions (split: {split})"]
    for name in FIELDS:
        lines.append(f"{name:<16}{scores.accuracy(name):7.1%}  {scores.correct[name]}/{scores.total}")
    lang = i18n.current_language()
    codes = list(classifier.catalog.categories)
    columns = codes + [NO_CATEGORY]
    labels = [f"{i} {classifier.catalog.categories[c].name(lang)}" for i, c in enumerate(codes, 1)]
    heads = [str(i) for i in range(1, len(codes) + 1)] + [NO_CATEGORY]
    first = max(cell_len(label) for label in labels)
    width = max(3, *(len(str(n)) for n in scores.confusion.values())) if scores.confusion else 3
    lines += ["", "category: rows expected, columns predicted",
              _pad("", first) + "".join(_pad(h, width + 1, right=True) for h in heads)]
    for code, label in zip(codes, labels):
        cells = [str(scores.confusion[code, col] or ".") for col in columns]
        lines.append(_pad(label, first) + "".join(_pad(c, width + 1, right=True) for c in cells))
    if errors:
        lines.append("")
        for example, proposal in scores.misses:
            got = f"{proposal.category or NO_CATEGORY}/{proposal.work_type}/{proposal.complaint_form}"
            want = f"{example.category}/{example.work_type}/{example.complaint_form}"
            lines.append(f"{source}:{example.line}: expected {want}, got {got}: "
                         f"{clean_line(example.text)}")
    return lines
