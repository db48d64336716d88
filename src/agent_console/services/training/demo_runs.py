"""Training in the demo store: an assignment from trainer t800 to a001, and one finished run of
a001's with its score, so the trainer's view and a trainee's results are not empty."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from agent_console import db
from agent_console.services.store import Tx

DEMO_SCENARIO = "outage_angry_broadband"
ASSIGNED = "roaming_bill_shock"


def fill_training_in(tx: Tx) -> None:
    """Inside fill_demo's transaction."""
    from agent_console.services.training.customer import CustomerSim
    from agent_console.services.training.moves import CaseUsed, Classified, Compensation, Move, Said, StepDone
    from agent_console.services.training.rubric import score
    from agent_console.services.training.runs import library

    scenarios = library().scenarios
    if DEMO_SCENARIO not in scenarios or ASSIGNED not in scenarios:
        return
    now = tx.now
    tx.execute("INSERT INTO training_assignment (trainer, trainee, scenario, assigned_at, due) "
               "VALUES ('t800', 'a001', ?, ?, ?)",
               (ASSIGNED, db.to_db(now - timedelta(days=1)), db.to_db(now + timedelta(days=6))))
    scenario = scenarios[DEMO_SCENARIO]
    sim = CustomerSim(scenario, seed=7, lang="zh")
    sim.opening()
    moves: list[tuple[Move, int]] = [
        (StepDone(step="greet"), 3), (Said(text="您好，很高兴为您服务，我是小张。"), 4),
        (StepDone(step="verify"), 15),
        (Said(text="赵先生，真的非常抱歉，断网一上午确实让人着急，我非常理解您的心情。"), 25),
        (StepDone(step="listen"), 30), (StepDone(step="reassure"), 32),
        (CaseUsed(case_id="K2", category="broadband", tags=("区域故障", "光缆")), 45),
        (StepDone(step="confirm_outage"), 55), (StepDone(step="explain_outage"), 70),
        (Said(text="经查询，是市政施工挖断了光缆，抢修人员正在处理，预计今天18:00前恢复。"), 75),
        (Compensation(offer="data_gift", amount=Decimal(10)), 120),
        (Classified(category="broadband", work_type="complaint", complaint_form="direct_answer"), 130),
        (StepDone(step="record"), 140), (StepDone(step="confirm_solved"), 170),
        (Said(text="感谢您的理解，再见！"), 200), (StepDone(step="farewell"), 201),
    ]
    events = []
    for seq, (move, second) in enumerate(moves, start=2):
        reaction = sim.react(move, second)
        events.append((seq, second, {"move": move.model_dump(mode="json"), "shown": True,
                                     "position": "", "reaction": reaction.model_dump(mode="json")}))
    record = sim.record
    result = score(record, scenario.rubric)
    started = now - timedelta(hours=3)
    tx.execute("INSERT INTO training_run (trainee, scenario, seed, lang, started_at, ended_at, "
               "state, last_seq, score, passed, auto_fail, record, result) VALUES "
               "('a001', ?, 7, 'zh', ?, ?, 'finished', ?, ?, ?, ?, ?, ?)",
               (DEMO_SCENARIO, db.to_db(started), db.to_db(started + timedelta(seconds=201)),
                len(events) + 2, result.total, result.passed, bool(result.auto_fail),
                record.model_dump_json(), result.model_dump_json()))
    run_id = int(tx.scalar("SELECT max(id) FROM training_run"))
    opening = {"lines": [line.model_dump(mode="json") for line in record.opening],
               "state": record.start.model_dump(mode="json")}
    rows = [(run_id, 1, db.to_db(started), 0.0, "opening", "a001", json.dumps(opening, ensure_ascii=False))]
    rows += [(run_id, seq, db.to_db(started + timedelta(seconds=second)), float(second), "move",
              "a001", json.dumps(payload, ensure_ascii=False)) for seq, second, payload in events]
    rows.append((run_id, len(events) + 2, db.to_db(started + timedelta(seconds=201)), 201.0,
                 "finish", "a001", json.dumps({"score": result.total, "passed": result.passed,
                                               "auto_fail": bool(result.auto_fail)})))
    tx.executemany("INSERT INTO training_event (run_id, seq, at, second, kind, by, payload) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
