"""The supervisors' part of the demo store: script runs with handling times and survey answers
on finished contacts, compensation, promised call-backs, a shift handover and last month's
report actions. Called by `demo.fill_demo` inside its transaction; deterministic for a seed."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any, cast

from agent_console.db import from_db, to_db
from agent_console.services.store import Tx

_SURVEY = {"1": 55, "2": 33, "3": 12}
_ADHERENCE = {"required_done": 6, "required_total": 6, "empathy_first": True,
              "forbidden_found": [], "missed": [], "step_points": 60, "empathy_points": 25,
              "wording_points": 15, "score": 100}


def _agent(tx: Tx, code: str) -> int | None:
    return cast("int | None", tx.scalar("SELECT id FROM agent WHERE code = ?", (code,)))


def fill_supervisor_demo(tx: Tx, *, seed: int) -> None:
    rng = random.Random(seed * 31 + 4242)
    now = tx.now.replace(microsecond=0)
    finished = tx.all("SELECT id, created_at, work_type, category, handler_id FROM ticket "
                      "WHERE resolved_at IS NOT NULL ORDER BY id")
    runs = []
    for ticket_id, created, work_type, _category, _ in finished:
        start = from_db(created)
        assert start is not None
        minutes = rng.uniform(3.0, 16.0)
        end = start + timedelta(minutes=minutes)
        answer = rng.choices(list(_SURVEY), weights=list(_SURVEY.values()))[0]
        script = "general_complaint" if work_type == "complaint" else "consultation"
        record = {"version": 1, "root": script, "script": script, "step": None,
                  "entered_at": end.isoformat(), "started_at": start.isoformat(),
                  "finished_at": end.isoformat(), "context": {},
                  "values": {"satisfaction": answer}, "ticks": [], "trail": []}
        adherence = dict(_ADHERENCE)
        runs.append((ticket_id, script, json.dumps(record, ensure_ascii=False),
                     json.dumps(adherence), 100, to_db(end)))
    tx.executemany("INSERT INTO script_run (ticket_id, script_id, record, adherence, score, "
                   "finished_at) VALUES (?, ?, ?, ?, ?, ?)", runs)

    agent, senior, supervisor = _agent(tx, "a001"), _agent(tx, "a003"), _agent(tx, "s900")
    if agent is None or supervisor is None:
        return
    complaints = [r for r in finished if r[2] == "complaint"]
    comp_rows = []
    for i, (ticket_id, created, *_rest) in enumerate(complaints[: max(1, len(complaints) // 4)]):
        kind, amount = [("bill_credit", 10.0), ("data_mb", 1024.0), ("points", 300.0),
                        ("bill_credit", 80.0)][i % 4]
        given = from_db(created) + timedelta(minutes=20)
        over = amount > {"bill_credit": 20, "data_mb": 1024, "points": 500}[kind]
        comp_rows.append((ticket_id, kind, amount, "服务补偿", agent, to_db(given),
                          "approved" if over else "given", supervisor if over else None,
                          to_db(given + timedelta(minutes=30)) if over else None))
    tx.executemany("INSERT INTO compensation (ticket_id, kind, amount, reason, given_by, "
                   "given_at, status, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   comp_rows)

    # On the network and billing desks' tickets furthest from their deadlines (n102 and f301
    # see them in their queues).
    held = tx.all("SELECT t.id, t.handler_id FROM ticket t JOIN agent a ON a.id = t.handler_id "
                  "WHERE t.is_open = 1 AND a.team IN ('network-ops', 'billing-desk') "
                  "ORDER BY t.due_key DESC, t.id LIMIT 6")
    promises = []
    for i, (ticket_id, handler) in enumerate(held):
        due = now + timedelta(minutes=[-10, 25, 50, 90, 150, 240][i])
        promises.append((ticket_id, to_db(due), ["回电告知处理进度", "约定回访确认网络恢复",
                                                  "回电说明退费结果", "回电确认装机时间",
                                                  "回电告知核查结果", "回电确认话费调整"][i],
                         handler, to_db(now - timedelta(hours=2))))
    tx.executemany("INSERT INTO callback_promise (ticket_id, due_at, note, created_by, "
                   "created_at) VALUES (?, ?, ?, ?, ?)", promises)

    outgoing = _agent(tx, "a002")
    if outgoing is not None:
        shift_end = now - timedelta(hours=1)
        tx.execute("INSERT INTO handover (agent_id, team, created_at, completed_at, to_agent_id,"
                   " notes) VALUES (?, 'hotline-a', ?, ?, ?, ?)",
                   (outgoing, to_db(shift_end - timedelta(minutes=10)), to_db(shift_end), agent,
                    "阳光花园小区光缆抢修中，相关来电按故障脚本安抚。"))
        handover_id = tx.scalar("SELECT max(id) FROM handover")
        open_held = tx.all("SELECT id, description FROM ticket WHERE is_open = 1 "
                           "ORDER BY due_key, id LIMIT 3")
        items = []
        for pos, (ticket_id, number) in enumerate(open_held):
            number = number[:60]
            acked = pos == 0
            items.append((handover_id, pos, "open_ticket", ticket_id, None, number,
                          agent if acked else None, to_db(shift_end + timedelta(minutes=5))
                          if acked else None))
        items.append((handover_id, len(items), "note", None, None, "阳光花园光缆抢修，预计今晚恢复",
                      None, None))
        tx.executemany("INSERT INTO handover_item (handover_id, position, kind, ticket_id, due_at,"
                       " text, acked_by, acked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", items)

    last = (now.replace(day=1) - timedelta(days=1))
    month = f"{last.year:04d}-{last.month:02d}"
    actions: list[tuple[Any, ...]] = [
        (month, "billing", "账单解读话术更新并全员培训", "s900",
         (last + timedelta(days=20)).strftime("%Y-%m-%d"), "done", "s900", to_db(now)),
        (month, "broadband_install", "装机预约超时每日通报", "s900",
         (last + timedelta(days=40)).strftime("%Y-%m-%d"), "open", "s900", to_db(now)),
    ]
    tx.executemany("INSERT INTO report_action (month, category, text, owner, due_date, status, "
                   "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", actions)
    del senior
