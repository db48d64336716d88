"""The scenario linter behind `agent-console train lint [FILES]`.

Beyond what loading refuses (bad TOML, wrong keys or values, names that point nowhere), it finds:
    nodes     every node reachable from the start; no dead end (a node that is neither an ending
              nor has a way on); no trap (a node from which only hanging up can end the run);
              no `then` loop; a reachable solved_satisfied ending
    edges     a transition that does nothing, can never be taken (a flag never set, an impossible
              range, hidden behind an earlier transition with the same condition)
    languages every zh text has Chinese in it and no en text has, so an untranslated line shows
    rubric    every item can be met: its steps are in the script, its phrase sets exist, its
              endings and nodes can be reached, its classification values exist
    phrases   every set has both languages, no duplicate or too-short phrase, no phrase both good
              and bad, no good phrase that contains a bad one
    contact   the category exists and the console would pick the scenario's script for it

API:
    lint(files=None, *, extra_dir=None, scripts=None) -> list[Problem]
                                                     the shipped content, or only `files`
    lint_scenario(scenario, *, scripts, catalog) -> list[Problem]
    lint_phrases(book, source, place="") -> list[Problem]
Problem(file, place, message) prints as file:place: message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent_console.models.vocab import WorkType
from agent_console.services.catalog import Catalog, load_catalog
from agent_console.services.scripts import ScriptLibrary, Text, load_scripts, pick_script
from agent_console.services.training.moves import Ending, When
from agent_console.services.training.phrases import Phrasebook, normalise
from agent_console.services.training.scenario import (
    Edge,
    Guard,
    Problem,
    Scenario,
    ScenarioSpec,
    load_phrasebook,
    load_scenarios,
)

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MIN_ZH, MIN_EN = 2, 3


def lint(files: Sequence[Path] | None = None, *, extra_dir: Path | None = None,
         scripts: ScriptLibrary | None = None) -> list[Problem]:
    """Everything wrong in the shipped scenarios, rubrics and phrase sets (plus a trainer's
    `extra_dir`), or in `files` only."""
    scripts = scripts or load_scripts()
    library = load_scenarios(extra_dir if files is None else None, files=files, scripts=scripts)
    catalog = load_catalog()
    problems = list(library.problems)
    if files is None:
        book, _ = load_phrasebook()
        problems.extend(lint_phrases(book, "content/scenarios/phrases.toml"))
    for scenario in library.scenarios.values():
        problems.extend(lint_scenario(scenario, scripts=scripts, catalog=catalog))
    return problems


def lint_scenario(scenario: Scenario, *, scripts: ScriptLibrary, catalog: Catalog) -> list[Problem]:
    source, spec = scenario.source, scenario.spec
    found = [*_graph(spec), *_edges(spec), *_languages(spec), *_rubric(scenario, catalog),
             *_contact(scenario, scripts, catalog)]
    problems = [Problem(source, place, message) for place, message in found]
    own = Phrasebook(sets=spec.phrases)
    problems.extend(lint_phrases(own, source, "phrases", against=scenario.phrases))
    return problems


# ── the graph ────────────────────────────────────────────────────────────────

def _successors(spec: ScenarioSpec, *, patience: bool) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for node in spec.nodes:
        nxt = {e.goto for e in node.on if e.goto} | ({node.then} if node.then else set())
        if node.end is None:
            nxt |= {e.goto for e in spec.anywhere if e.goto}
            if patience:
                nxt.add(spec.hang_up)
        out[node.id] = {n for n in nxt if n in spec.node_index}
    return out


def _reach(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def reachable(spec: ScenarioSpec) -> set[str]:
    """Node ids that some sequence of moves can bring the customer to."""
    return _reach(_successors(spec, patience=True), spec.start)


def _graph(spec: ScenarioSpec) -> Iterator[tuple[str, str]]:
    seen = reachable(spec)
    calm = _successors(spec, patience=False)
    for i, node in enumerate(spec.nodes):
        place = f"nodes[{i}]"
        if node.id not in seen:
            yield place, f"node {node.id!r} cannot be reached from the start {spec.start!r}"
            continue
        if node.end is not None:
            continue
        if not node.on and node.then is None:
            yield place, f"dead end: node {node.id!r} has no transitions, no then and no ending"
            continue
        if not any(spec.node_index[n].end not in (None, Ending.HUNG_UP) for n in _reach(calm, node.id)):
            yield place, f"trap: from node {node.id!r} no ending but hanging up can be reached"
        chain, current = [node.id], node
        while current.then is not None and current.then in spec.node_index:
            if current.then in chain:
                loop = chain[chain.index(current.then):]
                if node.id == min(loop):  # reported once, at the loop's first node by id
                    yield f"{place}.then", f"`then` loops: {' → '.join([*loop, current.then])}"
                break
            chain.append(current.then)
            current = spec.node_index[current.then]
    if not any(spec.node_index[n].end is Ending.SOLVED_SATISFIED for n in seen):
        yield "nodes", "no reachable ending with end = \"solved_satisfied\""


def _edges(spec: ScenarioSpec) -> Iterator[tuple[str, str]]:
    flags_set = {flag for _, _, edge in spec.located_edges() for flag in edge.set}
    earlier: dict[str | None, list[tuple[str, Edge]]] = {}
    for place, node, edge in spec.located_edges():
        key = node.id if node else None
        if edge.goto is None and not (edge.lines or edge.mood or edge.patience or edge.set):
            yield place, "the transition does nothing: give it goto, lines, mood, patience or set"
        for flag in edge.if_.flags:
            if flag not in flags_set:
                yield f"{place}.if.flags", f"never taken: no transition sets flag {flag!r}"
        yield from ((f"{place}.if", why) for why in _impossible(edge.if_))
        for other_place, other in earlier.get(key, []):
            if other.when == edge.when and other.if_ == Guard() and not other.once:
                yield place, f"never taken: {other_place} has the same condition and no `if`"
                break
        earlier.setdefault(key, []).append((place, edge))


def _impossible(guard: Guard) -> Iterator[str]:
    for low, high in (("mood_min", "mood_max"), ("patience_min", "patience_max")):
        lo, hi = getattr(guard, low), getattr(guard, high)
        if lo is not None and hi is not None and lo > hi:
            yield f"never taken: {low} {lo} is above {high} {hi}"
    for a, b in (("flags", "not_flags"), ("visited", "not_visited")):
        both = set(getattr(guard, a)) & set(getattr(guard, b))
        if both:
            yield f"never taken: {', '.join(sorted(both))} in both {a} and {b}"


# ── languages ────────────────────────────────────────────────────────────────

def _texts(value: Any, place: str) -> Iterator[tuple[str, Text]]:
    if isinstance(value, Text):
        yield place, value
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            key = info.alias or name
            yield from _texts(getattr(value, name), f"{place}.{key}" if place else key)
    elif isinstance(value, (tuple, list)):
        for n, item in enumerate(value):
            yield from _texts(item, f"{place}[{n}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{place}.{key}")


def _languages(spec: ScenarioSpec) -> Iterator[tuple[str, str]]:
    for place, text in _texts(spec, ""):
        if not CJK.search(text.zh):
            yield f"{place}.zh", f"has no Chinese: not translated? ({text.zh!r})"
        if CJK.search(text.en):
            yield f"{place}.en", f"has Chinese in the English text: not translated? ({text.en!r})"


# ── rubric ───────────────────────────────────────────────────────────────────

def _conditions(when: Iterable[When], scenario: Scenario, catalog: Catalog) -> Iterator[str]:
    for w in when:
        for name in w.said:
            if name not in scenario.phrases:
                yield f"unknown phrase set {name!r}"
        for step in (*w.step_done, *w.step_skipped):
            if step not in scenario.step_stages:
                yield f"step {step!r} is not in script {scenario.script.id!r}"
        if w.classified is not None:
            yield from _classification(w.classified.category, w.classified.work_type, catalog)


def _classification(categories: Iterable[str], work_types: Iterable[str], catalog: Catalog) -> Iterator[str]:
    for category in categories:
        if category not in catalog.categories:
            yield f"unknown category {category!r}"
    for work_type in work_types:
        if work_type not in {w.value for w in WorkType}:
            yield f"unknown work type {work_type!r}"


def _rubric(scenario: Scenario, catalog: Catalog) -> Iterator[tuple[str, str]]:
    spec = scenario.spec
    seen = reachable(spec)
    endings = {spec.node_index[n].end for n in seen}
    for section, item in scenario.rubric.items():
        place = f"rubric.{section.id}.{item.id}"
        for step in item.steps:
            if step not in scenario.step_stages:
                yield place, f"can never pass: step {step!r} is not in script {scenario.script.id!r}"
        for why in _conditions((*item.when, *item.then, *item.applies_if), scenario, catalog):
            yield place, f"can never be met: {why}"
        if item.classified is not None:
            for why in _classification(item.classified.category, item.classified.work_type, catalog):
                yield place, f"can never pass: {why}"
        if item.endings and not endings & set(item.endings):
            yield place, f"can never pass: no reachable ending is {' or '.join(item.endings)}"
        for node_id in (*item.applies_if_visited, *item.applies_unless_visited):
            if node_id not in seen:
                yield place, f"node {node_id!r} is not a reachable node"


def _contact(scenario: Scenario, scripts: ScriptLibrary, catalog: Catalog) -> Iterator[tuple[str, str]]:
    contact = scenario.spec.contact
    if contact.category not in catalog.categories:
        yield "contact.category", f"unknown category {contact.category!r}"
        return
    try:
        picked = pick_script(scripts, contact.work_type, contact.category, situation=contact.situation)
    except LookupError:
        picked = None
    if picked is None or picked.id != contact.script:
        yield "contact.script", (f"the console picks {picked.id if picked else 'no script'!r} for "
                                 f"{contact.work_type}/{contact.category}, not {contact.script!r}")


# ── phrase sets ──────────────────────────────────────────────────────────────

def lint_phrases(book: Phrasebook, source: str, place: str = "",
                 against: Phrasebook | None = None) -> list[Problem]:
    """Problems in the sets of `book`; overlaps are judged against `against` (default: `book`)."""
    whole = against or book
    bad = Phrasebook(sets={n: s for n, s in whole.sets.items() if s.bad})
    bad_phrases = {normalise(p): n for n, s in bad.sets.items() for _, p in s.phrases()}
    problems: list[Problem] = []

    def report(where: str, message: str) -> None:
        problems.append(Problem(source, f"{place}.{where}" if place else where, message))

    for name, group in book.sets.items():
        for lang in ("zh", "en"):
            if not getattr(group, lang):
                report(f"{name}.{lang}", f"phrase set {name!r} has no {lang} phrases")
        seen: set[str] = set()
        for lang, phrase in group.phrases():
            norm = normalise(phrase)
            if norm in seen:
                report(f"{name}.{lang}", f"{phrase!r} is in the set twice")
            seen.add(norm)
            if len(norm) < (MIN_ZH if lang == "zh" else MIN_EN):
                report(f"{name}.{lang}", f"{phrase!r} is too short: it would match almost anything")
            if lang == "en" and CJK.search(phrase):
                report(f"{name}.en", f"{phrase!r} has Chinese in an English phrase")
            whole_group = whole.sets.get(name, group)
            if whole_group.bad:
                continue
            if norm in bad_phrases:
                report(f"{name}.{lang}", f"{phrase!r} is also in the bad set {bad_phrases[norm]!r}")
                continue
            for hit in bad.hits(phrase):
                report(f"{name}.{lang}", f"saying {phrase!r} would count as {hit.set!r} "
                                         f"(it contains {hit.phrase!r})")
    return problems
