"""Ticket services: creation and routing, dispatch, status moves with their clocks, conflicts."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from agent_console.models.vocab import Status
from agent_console.services import tickets
from tests.conftest import ensure_agent
from agent_console.services.store import SENTINEL_KEY, ConflictError, InputError

H = timedelta(hours=1)


def _new(store, **over):
    values = dict(phone="13812345678", channel="hotline", work_type="fault", category="broadband",
                  description="家里宽带断网，光猫 LOS 灯红色闪烁", by=None)
    values.update(over)
    return tickets.create_ticket(store, **values)


def _events(store, ticket_id):
    with store.connection() as conn:
        return [(k, json.loads(d)) for k, d in conn.execute(
            "SELECT kind, detail FROM ticket_event WHERE ticket_id = ? ORDER BY id", (ticket_id,))]


def test_create_routes_numbers_and_starts_both_clocks(store, clock):
    created = _new(store)
    assert created.number == f"T{clock.now():%y%m%d}{created.id:06d}"
    assert created.department == "network"
    assert created.grade == "general"
    assert created.response_due == clock.now() + 24 * H
    assert created.resolution_due == clock.now() + 24 * H  # network problems: within 24 h
    assert _events(store, created.id)[0][0] == "created"


def test_complaints_start_important_and_vip_is_raised(store):
    assert _new(store, work_type="complaint", category="billing").grade == "important"
    with store.connection() as conn:
        conn.execute("INSERT INTO customer (name, phone, tier, created_at) VALUES "
                     "('王芳', '13900001111', 'vip', '2026-01-01 00:00:00.000000')")
    vip = _new(store, phone="13900001111", grade="general")
    assert vip.grade == "important"
    assert _events(store, vip.id)[0][1]["raised_by"] == "vip"


@pytest.mark.parametrize(("field", "over"), [
    ("phone", {"phone": "12345"}), ("channel", {"channel": "fax"}), ("type", {"work_type": "chat"}),
    ("category", {"category": "weather"}), ("grade", {"grade": "red"}),
    ("description", {"description": "  \x1b[31m "}),
])
def test_bad_values_name_the_field(store, field, over):
    with pytest.raises(InputError) as raised:
        _new(store, **over)
    assert raised.value.field == field


def test_phone_forms_are_accepted_and_normalised(store):
    for phone in ("138 1234 5679", "010-12345678", "+85291234567"):
        _new(store, phone=phone)
    with store.connection() as conn:
        phones = {p for (p,) in conn.execute("SELECT phone FROM customer")}
    assert {"13812345679", "01012345678", "+85291234567"} <= phones


def test_claim_assign_and_owner_are_recorded_with_time(store, clock):
    ensure_agent(store, "a001")
    ensure_agent(store, "n101")
    t = _new(store)
    v = tickets.claim(store, ticket_id=t.id, expected_version=1, by="a001")
    clock.advance(H)
    v = tickets.assign(store, ticket_id=t.id, expected_version=v, by="a001", handler="n101",
                       department="finance")
    detail = tickets.ticket_detail(store, ticket_id=t.id)
    assert detail.status == "assigned" and detail.handler.code == "n101"
    assert detail.owner.code == "a001" and detail.department == "finance"
    assert detail.handler_set_at == clock.now() and detail.owner_set_at == clock.now() - H
    assert [k for k, _ in _events(store, t.id)] == ["created", "claimed", "assigned", "handler_set"]
    with pytest.raises(InputError):
        tickets.assign(store, ticket_id=t.id, expected_version=v, by="a001", handler="nobody")


def test_second_writer_gets_a_conflict_and_nothing_is_overwritten(store):
    ensure_agent(store, "a001")
    ensure_agent(store, "a002")
    t = _new(store)
    tickets.claim(store, ticket_id=t.id, expected_version=1, by="a001")
    with pytest.raises(ConflictError):
        tickets.claim(store, ticket_id=t.id, expected_version=1, by="a002")
    assert tickets.ticket_detail(store, ticket_id=t.id).handler.code == "a001"


def test_pending_customer_pauses_and_resume_moves_the_due_time(store, clock):
    t = _new(store, category="billing")
    v = tickets.change_status(store, ticket_id=t.id, expected_version=1, status="in_progress", by=None)
    before = tickets.ticket_detail(store, ticket_id=t.id).clocks[1].due
    v = tickets.change_status(store, ticket_id=t.id, expected_version=v, status="pending_customer",
                              by=None)
    with store.connection() as conn:
        assert conn.execute("SELECT due_key FROM ticket").fetchone()[0] == SENTINEL_KEY
    clock.advance(3 * H)
    paused = tickets.ticket_detail(store, ticket_id=t.id).clocks[1]
    assert paused.state == "paused" and paused.paused == 3 * H
    tickets.change_status(store, ticket_id=t.id, expected_version=v, status="in_progress", by=None)
    after = tickets.ticket_detail(store, ticket_id=t.id).clocks[1]
    assert after.due == before + 3 * H and after.paused == 3 * H


def test_hall_tickets_count_only_opening_hours(store, clock):
    clock.set(clock.now().replace(hour=12))  # 20:00 Beijing, an hour before the hall closes
    t = _new(store, channel="hall", category="plan_dispute", work_type="complaint")
    # Plan disputes: respond within 1 h -> 21:00 closing time exactly.
    assert t.response_due == clock.now() + H
    t2 = _new(store, channel="hall", category="billing", grade="urgent", phone="13812340000")
    assert t2.response_due == clock.now() + 14 * H  # 1 h tonight + 1 h from 09:00 tomorrow


def test_status_moves_follow_the_workflow_and_reopen_resumes(store, clock):
    t = _new(store)
    with pytest.raises(InputError):
        tickets.change_status(store, ticket_id=t.id, expected_version=1, status="closed", by=None)
    v = tickets.change_status(store, ticket_id=t.id, expected_version=1, status="resolved", by=None)
    detail = tickets.ticket_detail(store, ticket_id=t.id)
    assert [c.state for c in detail.clocks] == ["met", "met"]
    clock.advance(2 * H)
    v = tickets.change_status(store, ticket_id=t.id, expected_version=v, status="in_progress", by=None)
    reopened = tickets.ticket_detail(store, ticket_id=t.id)
    assert reopened.status == Status.IN_PROGRESS and reopened.resolved_at is None
    assert reopened.clocks[1].paused == 2 * H  # the resolved time does not count against the clock
    v = tickets.change_status(store, ticket_id=t.id, expected_version=v, status="resolved", by=None)
    tickets.change_status(store, ticket_id=t.id, expected_version=v, status="closed", by=None)
    with store.connection() as conn:
        assert conn.execute("SELECT is_open FROM ticket").fetchone()[0] == 0


def test_notes_never_conflict_and_keep_text_literally(store):
    t = _new(store)
    tickets.add_note(store, ticket_id=t.id, text="[bold]客户[/] 要求\x1b[2J回电", by=None)
    kind, detail = _events(store, t.id)[-1]
    assert kind == "note" and detail["text"] == "[bold]客户[/] 要求回电"


def test_crossings_are_written_once_per_clock(store, clock):
    t = _new(store, category="billing", grade="important")  # respond within 4 h, warn at 3 h
    assert tickets.record_crossings(store) == 0
    clock.advance(3 * H)
    assert tickets.record_crossings(store) == 1
    assert tickets.record_crossings(store) == 0
    clock.advance(2 * H)
    assert tickets.record_crossings(store) == 1
    assert tickets.record_crossings(store) == 0
    kinds = [(k, d.get("clock")) for k, d in _events(store, t.id)]
    assert kinds[1:] == [("sla_warning", "response"), ("sla_breached", "response")]


def test_a_second_process_sees_a_conflict_too(store):
    t = _new(store)
    other = sqlite3.connect(store.path)
    other.execute("UPDATE ticket SET version = version + 1, status = 'assigned' WHERE id = ?", (t.id,))
    other.commit()
    other.close()
    with pytest.raises(ConflictError):
        tickets.change_status(store, ticket_id=t.id, expected_version=1, status="in_progress", by=None)
