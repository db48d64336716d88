"""The classifier learns from agents: proposals for the site's rules from the agents' overrides.

When an agent files a ticket with a category other than the one proposed, the `classified`
ticket event keeps both (services.intake.record_classification). `proposals` reads those
overrides and proposes changes to the rules: a new keyword for the category the agents chose
(a word several of the overridden descriptions share), or a lighter weight for a rule that
keeps proposing the wrong category. Each proposal comes with its evidence: the overrides it
explains (the changed rules propose what the agent chose) and what it changes on the shipped
labelled set (content/classifier_eval.jsonl, dev and held-out splits: how many more right and
how many more wrong).

Nothing changes the rules without a person's yes: `accept` writes one proposal into the site's
rules, kept in the store as the site document "classifier_rules" over the shipped
content/classifier_rules.toml, on the audit trail with before and after; `reject` remembers
the proposal so that it is not made again. The site's rules are read by `classifier_for`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from agent_console.db import from_db, to_db
from agent_console.models.vocab import EventKind
from agent_console.services import cjk
from agent_console.services.actor import Actor
from agent_console.services.classifier import (
    _FOLD,
    SITE_SOURCE,
    CategoryRule,
    Classifier,
    Rules,
    RulesError,
    _whole,
    load_rules,
)
from agent_console.services.errors import InputError, NotFoundError
from agent_console.services.ngram import trained_model
from agent_console.services.permissions import EDIT_POLICY
from agent_console.services.store import Store, Tx

KIND = "classifier_rules"
REJECTED = "rejected"  # site_document name of the rejected proposal ids (JSON list)
SITE_EMPTY = ("# The site's own classifier rules, over the shipped classifier_rules.toml. Changes\n"
              "# proposed by `agent-console classify --learn` are added here when a supervisor\n"
              "# accepts them.\nversion = 1\n")
LABELLED = "classifier_eval.jsonl"
MIN_SUPPORT = 2  # overrides to one category that must share a word before it is proposed
MAX_PROPOSALS = 12
CANDIDATES_PER_CATEGORY = 40
KEYWORD_WEIGHTS = (3.0, 5.0)
_CJK_RUN = re.compile(f"[{cjk.CJK_CLASS}]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9]{3,}")
_STOP = frozenset("""that this with have from your they them what when will would could
should been were there their about just please thanks thank into than then also only very
because still some more much does done need want like know here every since after before
again cannot can't which while where""".split())


# --- the site's rules --------------------------------------------------------------------------

def site_text(tx: Tx) -> str:
    row = tx.one("SELECT body FROM site_document WHERE kind = ? AND name = ''", (KIND,))
    return row[0] if row else SITE_EMPTY


def parse(text: str, source: str = SITE_SOURCE) -> Rules:
    """Check a site rules document (the shipped rules with it over them must load)."""
    from agent_console.services.catalog import load_catalog

    return load_rules(categories=load_catalog().categories, site_text=text)


_LOADED: dict[tuple[str, int], Classifier] = {}


def _classifier(text: str, catalog: Any) -> Classifier:
    key = (text, id(catalog))
    if (found := _LOADED.get(key)) is None or found.catalog is not catalog:
        if len(_LOADED) > 8:
            _LOADED.clear()
        found = _LOADED[key] = Classifier(load_rules(categories=catalog.categories,
                                                     site_text=text), catalog, trained_model())
    return found


def classifier_for(store: Store) -> Classifier:
    """The classifier of this site: the shipped rules with the site's rules over them, and the
    n-gram model of the dev split for descriptions no category rule recognises."""
    with store.read() as tx:
        text = site_text(tx)
    return _classifier(text, store.catalog)


# --- overrides -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Override:
    ticket: str  # ticket number
    at: datetime
    text: str  # the ticket's description
    proposed: str
    chosen: str


def overrides(store: Store, actor: Actor, *, since: datetime | None = None) -> list[Override]:
    """Tickets whose agent chose another category than the one proposed, oldest first."""
    actor.require(EDIT_POLICY)
    with store.read() as tx:
        after = " AND e.at >= ?" if since else ""
        rows = tx.all("SELECT t.number, e.at, t.description, e.detail FROM ticket_event e "
                      f"JOIN ticket t ON t.id = e.ticket_id WHERE e.kind = ?{after} "
                      "ORDER BY e.id", (EventKind.CLASSIFIED, *([to_db(since)] if since else [])))
    found = []
    for number, at, description, detail in rows:
        data = json.loads(detail)
        proposed = (data.get("proposed") or {}).get("category") or ""
        chosen = (data.get("chosen") or {}).get("category") or ""
        if chosen and proposed != chosen:
            found.append(Override(number, from_db(at), description, proposed, chosen))
    return found


# --- proposals -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One proposed change to the rules, with its evidence."""

    id: str
    kind: str  # "keyword" or "weight"
    category: str
    word: str = ""  # kind keyword
    weight: float = 0.0  # the new rule's weight, or the rule's new weight
    rule: str = ""  # kind weight: the rule re-weighed
    old_weight: float = 0.0
    tickets: tuple[str, ...] = ()  # the overrides it explains
    fixed: int = 0  # labelled descriptions it makes right
    broken: int = 0  # labelled descriptions it makes wrong
    total: int = 0  # labelled descriptions

    def entry(self) -> str:
        """The change as rules text (TOML) for the site's document."""
        if self.kind == "weight":
            return f'\n[[category]]\nid = {json.dumps(self.rule)}\nweight = {self.weight:g}\n'
        lang = "en" if self.word.isascii() else "zh"
        return (f"\n[[category]]\nid = {json.dumps('site.' + self.id)}\n"
                f"target = {json.dumps(self.category)}\nweight = {self.weight:g}\n"
                f"{lang} = [{json.dumps(self.word, ensure_ascii=False)}]\n")


def _id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]


@lru_cache(maxsize=1)
def labelled() -> tuple[tuple[str, str], ...]:
    """(text, category) of the shipped labelled set, dev and held-out splits."""
    text = resources.files("agent_console.content").joinpath(LABELLED).read_text("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return tuple((row["text"], row["category"]) for row in rows
                 if row.get("split") in ("dev", "heldout"))


def _fold(text: str, classifier: Classifier) -> str:
    return text[:classifier.rules.scan_limit].translate(_FOLD)


def _has(folded: str, word: str) -> bool:
    start = folded.find(word)
    while start >= 0:
        if _whole(folded, start, start + len(word)):
            return True
        start = folded.find(word, start + 1)
    return False


def _words(folded: str) -> set[str]:
    """Keyword candidates of a description: Chinese runs' 2-4 character pieces, Latin words."""
    found = {match.group() for match in _LATIN_WORD.finditer(folded)
             if match.group() not in _STOP}
    for run in _CJK_RUN.findall(folded):
        for size in (2, 3, 4):
            found.update(run[i:i + size] for i in range(len(run) - size + 1))
    return found


def _with_rule(rules: Rules, catalog: object, change: Change, model: Any = None) -> Classifier:
    if change.kind == "weight":
        table = tuple(r.model_copy(update={"weight": change.weight}) if r.id == change.rule else r
                      for r in rules.category)
    else:
        lang = "en" if change.word.isascii() else "zh"
        table = (*rules.category, CategoryRule.model_validate(
            {"id": "site." + change.id, "target": change.category, "weight": change.weight,
             lang: [change.word]}))
    return Classifier(rules.model_copy(update={"category": table}), catalog,  # type: ignore[arg-type]
                      model)


def _evaluate(base: Classifier, change: Change, found: list[Override],
              before: list[str | None], examples: tuple[tuple[str, str], ...],
              folded: list[str], was: list[str | None]) -> Change:
    after = _with_rule(base.rules, base.catalog, change, base.model)

    def touched(text: str) -> bool:
        return _has(text, change.word) if change.kind == "keyword" else True

    tickets = tuple(o.ticket for o, old, text in zip(found, before, (
        _fold(o.text, base) for o in found))
        if old != o.chosen and touched(text) and after.classify(o.text).category == o.chosen)
    fixed = broken = 0
    for (text, want), old, fold in zip(examples, was, folded):
        if not touched(fold):
            continue
        new = after.classify(text).category
        fixed += old != want and new == want
        broken += old == want and new != want
    return Change(change.id, change.kind, change.category, change.word, change.weight,
                  change.rule, change.old_weight, tickets, fixed, broken, len(examples))


def proposals(store: Store, actor: Actor, *, since: datetime | None = None) -> list[Change]:
    """Changes to the rules that the overrides since `since` call for, best first; proposals
    once rejected are left out."""
    found = overrides(store, actor, since=since)
    base = classifier_for(store)
    with store.read() as tx:
        rejected = set(_rejected(tx))
    if not found:
        return []
    examples = labelled()
    folded = [_fold(text, base) for text, _ in examples]
    was = [base.classify(text).category for text, _ in examples]
    before = [base.classify(o.text).category for o in found]
    known: dict[str, set[str]] = defaultdict(set)
    for rule in base.rules.category:
        known[rule.target].update(w.lower().removesuffix("*") for w in (*rule.zh, *rule.en))

    changes: list[Change] = []
    by_category: dict[str, list[Override]] = defaultdict(list)
    for override, old in zip(found, before):
        if old != override.chosen:
            by_category[override.chosen].append(override)
    for category, items in sorted(by_category.items()):
        support: dict[str, set[str]] = defaultdict(set)
        for item in items:
            for word in _words(_fold(item.text, base)):
                support[word].add(item.ticket)
        words = [w for w, tickets in support.items()
                 if len(tickets) >= MIN_SUPPORT and w not in known[category]]
        words.sort(key=lambda w: (-len(support[w]), -len(w), w))
        picked: list[Change] = []
        for word in words[:CANDIDATES_PER_CATEGORY]:
            best = None
            for weight in KEYWORD_WEIGHTS:
                draft = Change(_id("keyword", category, word), "keyword", category, word, weight)
                if draft.id in rejected:
                    break
                scored = _evaluate(base, draft, found, before, examples, folded, was)
                if scored.tickets and scored.broken <= scored.fixed and (
                        best is None or (len(scored.tickets), -scored.broken)
                        > (len(best.tickets), -best.broken)):
                    best = scored
            if best is not None:
                picked.append(best)
        changes += _distinct(picked)

    # Rules that keep proposing what the agents then change: half their weight.
    blamed: dict[str, list[str]] = defaultdict(list)
    for override, old in zip(found, before):
        if old and old != override.chosen:
            for reason in base.classify(override.text).reasons_for("category"):
                blamed[reason.rule].append(override.ticket)
    rules = {rule.id: rule for rule in base.rules.category}
    for rule_id, tickets in sorted(blamed.items()):
        blamed_rule = rules.get(rule_id)
        if blamed_rule is None or len(tickets) < MIN_SUPPORT or blamed_rule.weight <= 0.5:
            continue
        new = max(0.5, round(blamed_rule.weight / 2, 1))
        draft = Change(_id("weight", rule_id, f"{new:g}"), "weight", str(blamed_rule.target),
                       weight=new, rule=rule_id, old_weight=blamed_rule.weight)
        if draft.id in rejected:
            continue
        scored = _evaluate(base, draft, found, before, examples, folded, was)
        if scored.tickets and scored.broken <= scored.fixed:
            changes.append(scored)
    changes.sort(key=lambda c: (-len(c.tickets), c.broken - c.fixed, c.id))
    return changes[:MAX_PROPOSALS]


def _distinct(picked: list[Change]) -> list[Change]:
    """Of keywords explaining the same overrides (宽带, 宽带断, 带断), the one that explains the
    most and breaks the least, longer words first."""
    picked.sort(key=lambda c: (-len(c.tickets), c.broken - c.fixed, -len(c.word), c.word))
    covered: set[str] = set()
    out = []
    for change in picked:
        if not set(change.tickets) <= covered:
            out.append(change)
            covered.update(change.tickets)
    return out


# --- a person's yes or no ------------------------------------------------------------------

def _rejected(tx: Tx) -> list[str]:
    row = tx.one("SELECT body FROM site_document WHERE kind = ? AND name = ?", (KIND, REJECTED))
    return json.loads(row[0]) if row else []


def _put(tx: Tx, name: str, body: str, actor: Actor) -> None:
    tx.execute("INSERT INTO site_document (kind, name, body, updated_at, updated_by) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
               "body = excluded.body, updated_at = excluded.updated_at, "
               "updated_by = excluded.updated_by", (KIND, name, body, to_db(tx.now), actor.code))


def find(store: Store, actor: Actor, *, change_id: str,
         since: datetime | None = None) -> Change:
    """The current proposal with this id."""
    for change in proposals(store, actor, since=since):
        if change.id == change_id:
            return change
    raise NotFoundError(f"proposal {change_id}")


def accept(store: Store, actor: Actor, *, change: Change) -> str:
    """Write one proposal into the site's rules (audited with before and after); the new text."""
    actor.require(EDIT_POLICY)
    with store.write(actor) as tx:
        before = site_text(tx)
        after = before.rstrip("\n") + "\n" + change.entry()
        try:
            parse(after)
        except RulesError as exc:
            raise InputError("proposal", str(exc)) from None
        _put(tx, "", after, actor)
        tx.audit("policy_change", f"policy:{KIND}", {
            "accepted": change.id, "kind": change.kind, "category": change.category,
            "word": change.word, "rule": change.rule, "weight": change.weight,
            "tickets": list(change.tickets), "fixed": change.fixed, "broken": change.broken,
            "before_sha256": hashlib.sha256(before.encode()).hexdigest(),
            "after_sha256": hashlib.sha256(after.encode()).hexdigest(),
            "before": before, "after": after})
    return after


def reject(store: Store, actor: Actor, *, change_id: str) -> None:
    """Remember that a person said no to this proposal; audited."""
    actor.require(EDIT_POLICY)
    if not re.fullmatch(r"[0-9a-f]{8}", change_id):
        raise InputError("proposal", "a proposal id is 8 letters and digits (0-9, a-f)")
    with store.write(actor) as tx:
        ids = _rejected(tx)
        if change_id not in ids:
            _put(tx, REJECTED, json.dumps([*ids, change_id]), actor)
            tx.audit("classifier_reject", f"policy:{KIND}", {"rejected": change_id})
