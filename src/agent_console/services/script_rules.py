"""Rules a script keeps beyond its shape: stage order, ids, references, placeholders, empathy first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_console.services.scripts import InputField, Script, Step

STAGES = ("intake", "empathy", "diagnosis", "resolution", "closing")
STANDARD_PLACEHOLDERS = ("customer_name", "ticket_no", "due_time", "agent_name")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Fields the ticket reads back from a run: a script that declares one must give it this kind
# and, for a choice, only these option values.
STANDARD_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "resolution_summary": ("text", ()),
    "compensation_kind": ("choice", ("none", "bill_credit", "data_gift", "points")),
    "compensation_amount": ("amount", ()),
    "solved": ("yes_no", ()),
    "satisfaction": ("choice", ("1", "2", "3")),
    "follow_up_note": ("text", ()),
}
# Values a step may set when it is done; `handling` encodes the complaint-or-not rules.
STANDARD_SETS: dict[str, tuple[str, ...]] = {
    "handling": ("consultation", "business", "direct_answer", "complaint_ticket", "fault_ticket"),
}
EMPATHY_RULE = ("in a complaint script the emotion comes first: empathy steps cannot be skipped, "
                "no branch jumps over an empathy step, and no branch leads from resolution or "
                "closing back to intake or empathy")


def check(script: Script) -> Iterator[tuple[str, str]]:
    """(place, what is wrong) for every rule the script breaks."""
    found = tuple(stage.id for stage in script.stages)
    if found != STAGES:
        yield "stages", (f"stages must be {' → '.join(STAGES)}, each once and in this order; "
                         f"found {' → '.join(found)}")
    seen: dict[tuple[str, str], str] = {}  # (kind, id) -> place: steps, items and fields each unique
    fields: dict[str, InputField] = {}
    for at, _, step in script.located_steps():
        named = [("step", f"{at}.id", step.id)]
        named += [("checklist item", f"{at}.checklist[{k}].id", i.id) for k, i in enumerate(step.checklist)]
        named += [("field", f"{at}.fields[{k}].id", f.id) for k, f in enumerate(step.fields)]
        for kind, place, ident in named:
            if (kind, ident) in seen:
                yield place, f"{kind} id {ident!r} is already used at {seen[kind, ident]}"
            seen.setdefault((kind, ident), place)
        for k, f in enumerate(step.fields):
            fields.setdefault(f.id, f)
            yield from _standard_field(f"{at}.fields[{k}]", f)
    for at, _, step in script.located_steps():
        yield from _check_step(at, step, fields, script)
        yield from _optional_step(at, step)
    if set(script.applies_to.work_types) == {"consultation"} and "compensation_kind" in fields:
        yield "applies_to.work_types", ("a consultation is answered, not compensated: a script "
                                        "only for consultations has no compensation step")
    if found == STAGES and script.is_complaint:
        yield from _empathy_first(script)


def _optional_step(at: str, step: Step) -> Iterator[tuple[str, str]]:
    """A step that may not apply (required = false) cannot demand anything of the agent."""
    if step.required:
        return
    for k, f in enumerate(step.fields):
        if f.required:
            yield f"{at}.fields[{k}].required", ("the step is not required, so its fields cannot "
                                                 "be: set required = false")
    for k, item in enumerate(step.checklist):
        if item.required:
            yield f"{at}.checklist[{k}].required", ("the step is not required, so its items cannot "
                                                    "be: set required = false")


def _standard_field(at: str, f: InputField) -> Iterator[tuple[str, str]]:
    if f.id not in STANDARD_FIELDS:
        return
    kind, options = STANDARD_FIELDS[f.id]
    if f.kind != kind:
        yield f"{at}.kind", f"the standard field {f.id!r} must be of kind {kind}"
    extra = [o.value for o in f.options if o.value not in options]
    if extra:
        yield f"{at}.options", f"{f.id!r} allows only {', '.join(options)}; not {', '.join(extra)}"


def _check_step(at: str, step: Step, fields: dict[str, InputField],
                script: Script) -> Iterator[tuple[str, str]]:
    for key, value in step.sets.items():
        allowed = STANDARD_SETS.get(key)
        if allowed is None:
            yield f"{at}.sets.{key}", f"unknown key; a step can set only {', '.join(STANDARD_SETS)}"
        elif value not in allowed:
            yield f"{at}.sets.{key}", f"{value!r} is not one of {', '.join(allowed)}"
    variants = [("say", step.say), *((f"say_at.{c}", lines) for c, lines in step.say_at.items())]
    for where, said in variants:
        for lang in ("zh", "en"):
            for n, line in enumerate(said.get(lang)):
                for name in PLACEHOLDER.findall(line):
                    if name not in STANDARD_PLACEHOLDERS and name not in fields:
                        yield (f"{at}.{where}.{lang}[{n}]", f"unknown placeholder {{{name}}}: use "
                               f"{', '.join(STANDARD_PLACEHOLDERS)} or a field id of this script")
    for k, branch in enumerate(step.branches):
        where = f"{at}.branches[{k}]"
        if branch.field is None and k != len(step.branches) - 1:
            yield where, "a branch without a field always applies, so it must be the last one"
        if branch.field is not None:
            if branch.field not in fields:
                yield f"{where}.field", f"unknown field {branch.field!r}"
            else:
                yield from _equals_fits(f"{where}.equals", branch.equals, fields[branch.field])
        if branch.script is not None or branch.goto is None:
            continue  # a sub-script and its step are checked once every script is loaded
        if not script.has_step(branch.goto):
            yield f"{where}.goto", f"unknown step id {branch.goto!r}"
        elif branch.goto == step.id:
            yield f"{where}.goto", "a step cannot branch to itself"


def _equals_fits(at: str, equals: Any, f: InputField) -> Iterator[tuple[str, str]]:
    wanted = equals if isinstance(equals, tuple) else (equals,)
    if f.kind == "yes_no" and not isinstance(equals, bool):
        yield at, f"{f.id!r} is a yes/no field: use true or false"
    elif f.kind != "yes_no" and isinstance(equals, bool):
        yield at, f"{f.id!r} is a {f.kind} field: true/false never matches it"
    elif f.kind == "choice" and any(f.option(value) is None for value in wanted):
        yield at, f"{f.id!r} has only the options {', '.join(o.value for o in f.options)}"


def _empathy_first(script: Script) -> Iterator[tuple[str, str]]:
    """Enforce EMPATHY_RULE on the step graph (the next step in order plus every branch goto)."""
    places = list(script.located_steps())
    empathy = [n for n, (_, stage, _) in enumerate(places) if stage == "empathy"]
    for n, (at, stage, step) in enumerate(places):
        if stage == "empathy" and step.skippable:
            yield f"{at}.skippable", f"an empathy step cannot be skippable: {EMPATHY_RULE}"
        for k, branch in enumerate(step.branches):
            if branch.script is not None or branch.goto is None or not script.has_step(branch.goto):
                continue
            target = script.position(branch.goto)
            back_to = places[target][1]
            if any(n < e < target for e in empathy):
                yield f"{at}.branches[{k}].goto", f"jumps over an empathy step: {EMPATHY_RULE}"
            elif stage in ("resolution", "closing") and back_to in ("intake", "empathy"):
                yield (f"{at}.branches[{k}].goto",
                       f"leads from {stage} back to {back_to} (empathy after a solution): {EMPATHY_RULE}")
