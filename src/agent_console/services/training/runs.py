"""Training runs in the live store: starting, recording, watching, finishing, results.

A run's customer is played in the trainee's process (`CustomerSim`); every move and every line
is appended to `training_event` with its second and a per-run `seq`, so a trainer in another
process follows a run by asking for the events after the last `seq` seen (one indexed query;
`run_head` is the one-row question "anything new?"). The run's tickets and audit go to its
sandbox store (`sandbox_store.py`); here are only the training facts, and on the live audit
trail only watching and certification.

Entry points (store, actor, ...):
    assign(trainee, scenario_id, due)      RUN_TRAINING; returns the assignment id
    start_run(scenario_id, lang, seed, assignment_id)   the actor is the trainee
    record_move(run_id, second, move, reaction)         the trainee
    whisper(run_id, text) / take_over(run_id) / release(run_id) / customer_line(run_id, text)
                                           RUN_TRAINING (customer_line: the trainer in control)
    watch(run_id) / stop_watching(run_id)  RUN_TRAINING; audited
    events(run_id, after)                  the trainee's own run, or RUN_TRAINING
    run_head(run_id)                       (last seq, state): the watcher's cheap poll
    finish_run(run_id, record)             the trainee; scores, checks certification (audited)
    results(trainee=None, everyone=False)  own; others' with RUN_TRAINING or RUN_REPORTS
    run_detail(run_id)                     a finished run's record and result
    my_assignments()                       the actor's open assignments
    running(team=None)                     RUN_TRAINING: runs going on now
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from agent_console import db
from agent_console.services import permissions as p
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError, NotFoundError, Refused
from agent_console.services.store import Store, Tx
from agent_console.services.training.moves import MOVE, Move, Reaction, RunRecord
from agent_console.services.training.rubric import (
    Certification,
    Result,
    certify,
    load_certification_rule,
    score,
)
from agent_console.services.training.scenario import ScenarioLibrary, load_scenarios
from agent_console.text import clean_line

WATCH = "training_watch"
CERTIFIED = "training_certified"
ASSIGN = "training_assign"
TAKE_OVER = "training_take_over"
TEXT_LIMIT = 500


@lru_cache(maxsize=1)
def library() -> ScenarioLibrary:
    """The shipped scenarios (and a trainer's folder), read once per process."""
    from agent_console.config import config_dir

    return load_scenarios(config_dir() / "scenarios")


@dataclass(frozen=True, slots=True)
class RunEvent:
    seq: int
    at: datetime
    second: float
    kind: str  # opening, move, whisper, trainer_line, take_over, release, watch, unwatch, finish
    by: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: int
    trainee: str
    trainee_name: str
    team: str
    scenario: str
    started_at: datetime
    ended_at: datetime | None
    state: str
    score: float | None
    passed: bool | None
    auto_fail: bool | None
    assigned_by: str | None
    controller: str | None = None


@dataclass(frozen=True, slots=True)
class RunDetail:
    summary: RunSummary
    record: RunRecord | None
    result: Result | None


@dataclass(frozen=True, slots=True)
class Finished:
    result: Result
    certification: Certification
    newly_certified: bool


@dataclass(frozen=True, slots=True)
class Assignment:
    id: int
    trainer: str
    trainee: str
    scenario: str
    assigned_at: datetime
    due: datetime | None
    run_id: int | None


def _text(value: str, field: str = "text") -> str:
    text = clean_line(value or "")[:TEXT_LIMIT].strip()
    if not text:
        raise InputError(field, "empty", code="required")
    return text


def _scenario(scenario_id: str) -> Any:
    found = library().scenarios.get(scenario_id)
    if found is None:
        raise InputError("scenario", scenario_id, code="choice", allowed=sorted(library().scenarios))
    return found


def _run_row(tx: Tx, run_id: int) -> Any:
    row = tx.one("SELECT id, trainee, scenario, state, controller, last_seq FROM training_run "
                 "WHERE id = ?", (run_id,))
    if row is None:
        raise NotFoundError(f"training_run {run_id}")
    return row


def _may_see(actor: Actor, trainee: str) -> None:
    if actor.code != trainee and not (actor.can(p.RUN_TRAINING) or actor.can(p.RUN_REPORTS)):
        raise Refused(p.RUN_TRAINING)


def _append(tx: Tx, run_id: int, kind: str, second: float, payload: dict[str, Any]) -> int:
    tx.execute("UPDATE training_run SET last_seq = last_seq + 1 WHERE id = ?", (run_id,))
    seq = int(tx.scalar("SELECT last_seq FROM training_run WHERE id = ?", (run_id,)))
    tx.execute("INSERT INTO training_event (run_id, seq, at, second, kind, by, payload) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               (run_id, seq, db.to_db(tx.now), float(second), kind,
                tx.actor.code if tx.actor else "", json.dumps(payload, ensure_ascii=False)))
    return seq


def assign(store: Store, actor: Actor, *, trainee: str, scenario_id: str,
           due: datetime | None = None) -> int:
    actor.require(p.RUN_TRAINING)
    _scenario(scenario_id)
    with store.write(actor) as tx:
        if tx.one("SELECT 1 FROM agent WHERE code = ?", (trainee,)) is None:
            raise NotFoundError(f"agent {trainee}")
        tx.execute("INSERT INTO training_assignment (trainer, trainee, scenario, assigned_at, due) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (actor.code, trainee, scenario_id, db.to_db(tx.now), db.to_db(due)))
        new_id = int(tx.scalar("SELECT max(id) FROM training_assignment"))
        tx.audit(ASSIGN, f"agent:{trainee}", {"scenario": scenario_id, "assignment": new_id})
        return new_id


def my_assignments(store: Store, actor: Actor) -> list[Assignment]:
    with store.read() as tx:
        rows = tx.all("SELECT id, trainer, trainee, scenario, assigned_at, due, run_id FROM "
                      "training_assignment WHERE trainee = ? ORDER BY id", (actor.code,))
    return [Assignment(r.id, r.trainer, r.trainee, r.scenario, db.from_db(r.assigned_at),
                       db.from_db(r.due), r.run_id) for r in rows]


def start_run(store: Store, actor: Actor, *, scenario_id: str, lang: str, seed: int = 0,
              assignment_id: int | None = None, opening: RunRecord | None = None) -> int:
    """A new run for the actor; `opening` (the customer's first lines) is its first event."""
    _scenario(scenario_id)
    with store.write(actor) as tx:
        assigned_by = None
        if assignment_id is not None:
            row = tx.one("SELECT trainer, trainee, scenario FROM training_assignment WHERE id = ?",
                         (assignment_id,))
            if row is None or row.trainee != actor.code or row.scenario != scenario_id:
                raise NotFoundError(f"training_assignment {assignment_id}")
            assigned_by = row.trainer
        _abandon(tx, "trainee = ? AND state = 'running'", (actor.code,))  # left by a crash
        tx.execute("INSERT INTO training_run (trainee, scenario, seed, lang, started_at, state, "
                   "assigned_by, assignment_id, last_seq, record, result) "
                   "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, 0, '{}', '{}')",
                   (actor.code, scenario_id, seed, lang, db.to_db(tx.now), assigned_by,
                    assignment_id))
        run_id = int(tx.scalar("SELECT max(id) FROM training_run WHERE trainee = ?", (actor.code,)))
        if assignment_id is not None:
            tx.execute("UPDATE training_assignment SET run_id = ? WHERE id = ?",
                       (run_id, assignment_id))
        payload: dict[str, Any] = {}
        if opening is not None:
            payload = {"lines": [line.model_dump(mode="json") for line in opening.opening],
                       "state": opening.start.model_dump(mode="json")}
        _append(tx, run_id, "opening", 0.0, payload)
        return run_id


def _abandon(tx: Tx, where: str, params: tuple[Any, ...]) -> None:
    """Runs that will never finish (the trainee's console went away) are closed unscored."""
    for row in tx.all(f"SELECT id FROM training_run WHERE {where}", params):
        tx.execute("UPDATE training_run SET state = 'abandoned', ended_at = ?, controller = NULL "
                   "WHERE id = ?", (db.to_db(tx.now), row.id))
        second = tx.scalar("SELECT max(second) FROM training_event WHERE run_id = ?", (row.id,))
        _append(tx, row.id, "abandoned", float(second or 0.0), {})


def abandon_run(store: Store, actor: Actor, *, run_id: int) -> None:
    """The trainee's console is closing mid-run: the run ends unscored, and a trainer watching
    it sees it end."""
    with store.write(actor) as tx:
        _own_running(tx, actor, run_id)
        _abandon(tx, "id = ?", (run_id,))


def _own_running(tx: Tx, actor: Actor, run_id: int) -> Any:
    row = _run_row(tx, run_id)
    if row.trainee != actor.code:
        raise Refused("own_run")
    if row.state != "running":
        raise InputError("run", "finished", code="finished")
    return row


def record_move(store: Store, actor: Actor, *, run_id: int, second: float, move: Move,
                reaction: Reaction | None = None, shown: bool = True, position: str = "") -> int:
    """One move of the trainee's and what the customer said back (`shown`: the scenario's lines
    were said; False while a trainer plays the customer)."""
    with store.write(actor) as tx:
        _own_running(tx, actor, run_id)
        payload = {"move": move.model_dump(mode="json"), "shown": shown,
                   "position": clean_line(position)[:120],
                   "reaction": reaction.model_dump(mode="json") if reaction is not None else None}
        return _append(tx, run_id, "move", second, payload)


def _trainer_act(store: Store, actor: Actor, run_id: int, kind: str,
                 payload: dict[str, Any]) -> int:
    actor.require(p.RUN_TRAINING)
    with store.write(actor) as tx:
        row = _run_row(tx, run_id)
        if row.state != "running":
            raise InputError("run", "finished", code="finished")
        if kind == "trainer_line" and row.controller != actor.code:
            raise Refused("not_in_control")
        if kind == "take_over":
            tx.execute("UPDATE training_run SET controller = ? WHERE id = ?", (actor.code, run_id))
            tx.audit(TAKE_OVER, f"training_run:{run_id}", {"trainee": row.trainee})
        elif kind == "release":
            tx.execute("UPDATE training_run SET controller = NULL WHERE id = ?", (run_id,))
        elif kind == "watch":
            tx.audit(WATCH, f"training_run:{run_id}", {"trainee": row.trainee})
        second = tx.scalar("SELECT max(second) FROM training_event WHERE run_id = ?", (run_id,))
        return _append(tx, run_id, kind, float(second or 0.0), payload)


def whisper(store: Store, actor: Actor, *, run_id: int, text: str) -> int:
    """A note only the trainee sees."""
    return _trainer_act(store, actor, run_id, "whisper", {"text": _text(text)})


def take_over(store: Store, actor: Actor, *, run_id: int) -> int:
    return _trainer_act(store, actor, run_id, "take_over", {})


def release(store: Store, actor: Actor, *, run_id: int) -> int:
    return _trainer_act(store, actor, run_id, "release", {})


def customer_line(store: Store, actor: Actor, *, run_id: int, text: str) -> int:
    """The trainer in control says the customer's line."""
    return _trainer_act(store, actor, run_id, "trainer_line", {"text": _text(text)})


def watch(store: Store, actor: Actor, *, run_id: int) -> list[RunEvent]:
    """Begin watching (audited; the trainee's screen shows it); every event so far."""
    _trainer_act(store, actor, run_id, "watch", {})
    return events(store, actor, run_id=run_id, after=0)


def stop_watching(store: Store, actor: Actor, *, run_id: int) -> None:
    actor.require(p.RUN_TRAINING)
    with store.write(actor) as tx:
        row = _run_row(tx, run_id)
        if row.state == "running":
            _append(tx, run_id, "unwatch", 0.0, {})


def run_head(store: Store, actor: Actor, *, run_id: int) -> tuple[int, str]:
    """(last seq, state): what a watcher asks each second."""
    with store.read() as tx:
        row = tx.one("SELECT trainee, last_seq, state FROM training_run WHERE id = ?", (run_id,))
    if row is None:
        raise NotFoundError(f"training_run {run_id}")
    _may_see(actor, row.trainee)
    return int(row.last_seq), str(row.state)


def events(store: Store, actor: Actor, *, run_id: int, after: int = 0) -> list[RunEvent]:
    with store.read() as tx:
        row = _run_row(tx, run_id)
        _may_see(actor, row.trainee)
        rows = tx.all("SELECT seq, at, second, kind, by, payload FROM training_event "
                      "WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after))
    return [RunEvent(r.seq, db.from_db(r.at), float(r.second), r.kind, r.by, json.loads(r.payload))
            for r in rows]


def finish_run(store: Store, actor: Actor, *, run_id: int, record: RunRecord) -> Finished:
    """Score the run, keep it, and record a certification the run completes (audited)."""
    scenario = _scenario(record.scenario)
    result = score(record, scenario.rubric)
    rule = load_certification_rule()
    with store.write(actor) as tx:
        row = _own_running(tx, actor, run_id)
        if row.scenario != record.scenario:
            raise InputError("record", record.scenario, code="mismatch")
        tx.execute("UPDATE training_run SET state = 'finished', ended_at = ?, controller = NULL, "
                   "score = ?, passed = ?, auto_fail = ?, record = ?, result = ? WHERE id = ?",
                   (db.to_db(tx.now), result.total, result.passed, bool(result.auto_fail),
                    record.model_dump_json(), result.model_dump_json(), run_id))
        _append(tx, run_id, "finish", record.duration,
                {"score": result.total, "passed": result.passed,
                 "auto_fail": bool(result.auto_fail)})
        done = [Result.model_validate_json(r.result) for r in tx.all(
            "SELECT result FROM training_run WHERE trainee = ? AND state = 'finished' "
            "ORDER BY id", (actor.code,))]
        certification = certify(done, rule)
        fresh = False
        if certification.certified and tx.one("SELECT 1 FROM certification WHERE trainee = ?",
                                              (actor.code,)) is None:
            tx.execute("INSERT INTO certification (trainee, at, scenarios) VALUES (?, ?, ?)",
                       (actor.code, db.to_db(tx.now), json.dumps(list(certification.counted))))
            tx.audit(CERTIFIED, f"agent:{actor.code}",
                     {"scenarios": list(certification.counted), "run": run_id})
            fresh = True
    return Finished(result, certification, fresh)


_SUMMARY = ("SELECT r.id, r.trainee, coalesce(a.name, r.trainee) AS name, coalesce(a.team, '') "
            "AS team, r.scenario, r.started_at, r.ended_at, r.state, r.score, r.passed, "
            "r.auto_fail, r.assigned_by, r.controller FROM training_run r "
            "LEFT JOIN agent a ON a.code = r.trainee")


def _summary(r: Any) -> RunSummary:
    return RunSummary(r.id, r.trainee, r.name, r.team, r.scenario, db.from_db(r.started_at),
                      db.from_db(r.ended_at), r.state, r.score,
                      None if r.passed is None else bool(r.passed),
                      None if r.auto_fail is None else bool(r.auto_fail), r.assigned_by,
                      r.controller)


def results(store: Store, actor: Actor, *, trainee: str | None = None,
            everyone: bool = False) -> list[RunSummary]:
    """The actor's own runs; another trainee's, or everyone's, for RUN_TRAINING/RUN_REPORTS."""
    if everyone:
        _may_see(actor, "")
    else:
        _may_see(actor, trainee or actor.code)
    with store.read() as tx:
        if everyone:
            rows = tx.all(_SUMMARY + " ORDER BY r.id DESC LIMIT 500")
        else:
            rows = tx.all(_SUMMARY + " WHERE r.trainee = ? ORDER BY r.id DESC",
                          (trainee or actor.code,))
    return [_summary(r) for r in rows]


def certified(store: Store, actor: Actor, *, trainee: str | None = None) -> datetime | None:
    """When the trainee was certified, if they are."""
    _may_see(actor, trainee or actor.code)
    with store.read() as tx:
        at = tx.scalar("SELECT at FROM certification WHERE trainee = ?", (trainee or actor.code,))
    return db.from_db(at) if at else None


def running(store: Store, actor: Actor) -> list[RunSummary]:
    actor.require(p.RUN_TRAINING)
    with store.read() as tx:
        rows = tx.all(_SUMMARY + " WHERE r.state = 'running' ORDER BY r.id DESC LIMIT 200")
    return [_summary(r) for r in rows]


def run_detail(store: Store, actor: Actor, *, run_id: int) -> RunDetail:
    with store.read() as tx:
        row = tx.one(_SUMMARY + " WHERE r.id = ?", (run_id,))
        if row is None:
            raise NotFoundError(f"training_run {run_id}")
        _may_see(actor, row.trainee)
        raw = tx.one("SELECT record, result FROM training_run WHERE id = ?", (run_id,))
    record = RunRecord.model_validate_json(raw.record) if raw.record not in ("", "{}") else None
    result = Result.model_validate_json(raw.result) if raw.result not in ("", "{}") else None
    return RunDetail(_summary(row), record, result)


def move_of(payload: dict[str, Any]) -> Move:
    """The move of a `move` event read back."""
    return MOVE.validate_python(payload["move"])
