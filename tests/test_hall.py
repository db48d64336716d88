"""The hall's queue services on a real store: numbers, counters, no-shows, transfers, holds,
closing time, a restart, estimates checked after service, and the day's measures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent_console.services import hall, site
from agent_console.services.errors import ConflictError, InputError, Refused
from tests.conftest import actor_for, make_store


@pytest.fixture
def desk(store):
    agent = actor_for(store, "a001")
    hall.open_counter(store, agent, counter="1")
    return agent


def test_numbers_per_service_with_a_range_and_a_masked_phone(store, desk):
    first = hall.issue(store, desk, service="business")
    second = hall.issue(store, desk, service="business", phone="139 1234 0000")
    fault = hall.issue(store, desk, service="fault", lane="green")
    assert (first.number, second.number, fault.number) == ("A001", "A002", "B001")
    assert second.phone_masked == "139****0000" and second.ahead == 1
    assert second.estimate.known and second.estimate.high > second.estimate.low
    with pytest.raises(InputError):
        hall.issue(store, desk, service="gold")
    with pytest.raises(InputError):
        hall.issue(store, desk, service="business", lane="platinum")


def test_the_counter_sees_counts_not_numbers_until_it_calls(store, desk, clock):
    with store.write() as tx:
        tx.execute("INSERT INTO customer (name, phone, tier, created_at) VALUES "
                   "('王芳', '13912340000', 'normal', '2026-01-01 00:00:00')")
    hall.issue(store, desk, service="business", phone="13912340000")
    view = hall.counter_view(store, desk, counter="1")
    assert view.current is None and view.waiting["business"] == 1
    assert "王芳" not in repr(view) and "A001" not in repr(view)
    called = hall.call_next(store, desk, counter="1")
    assert called.number == "A001" and called.customer_name == "王芳"
    assert called.phone_masked == "139****0000"
    with pytest.raises(InputError):  # one customer at a time
        hall.call_next(store, desk, counter="1")


def test_no_show_only_after_the_timeout_and_undo_puts_them_first(store, desk, clock):
    hall.issue(store, desk, service="business")
    hall.issue(store, desk, service="business")
    first = hall.call_next(store, desk, counter="1")
    with pytest.raises(InputError):
        hall.no_show(store, desk, visit_id=first.id)
    clock.advance(timedelta(minutes=4))
    hall.no_show(store, desk, visit_id=first.id)
    second = hall.call_next(store, desk, counter="1")
    assert second.number == "A002"
    hall.finish(store, desk, visit_id=second.id)
    hall.undo_no_show(store, desk, visit_id=first.id)
    hall.issue(store, desk, service="business")
    assert hall.call_next(store, desk, counter="1").number == "A001"


def test_transfer_keeps_the_place_at_the_front_and_hold_calls_back(store, desk, clock):
    other = actor_for(store, "a002")
    hall.open_counter(store, other, counter="3")
    hall.issue(store, desk, service="business")
    hall.issue(store, desk, service="complaint")
    hall.issue(store, desk, service="complaint")
    visit = hall.call_next(store, desk, counter="1")
    moved = hall.transfer(store, desk, visit_id=visit.id, service="complaint")
    assert moved.status == "waiting"
    again = hall.call_next(store, other, counter="3")
    assert again.number == "A001" and again.call_reason == "front"
    hall.hold(store, other, visit_id=again.id)
    assert hall.counter_view(store, other, counter="3").held[0][1] == "A001"
    nxt = hall.call_next(store, other, counter="3")
    hall.finish(store, other, visit_id=nxt.id)
    back = hall.call_from_hold(store, other, visit_id=again.id, counter="3")
    assert back.status == "called"
    with pytest.raises(ConflictError):
        hall.hold(store, other, visit_id=nxt.id)  # done already


def test_a_called_number_shows_on_the_board_with_why(store, desk):
    for _ in range(3):
        hall.issue(store, desk, service="business")
    hall.issue(store, desk, service="business", lane="green")
    numbers = []
    for _ in range(4):
        visit = hall.call_next(store, desk, counter="1")
        numbers.append((visit.number, visit.call_reason))
        hall.finish(store, desk, visit_id=visit.id)
    # the counter had just opened: the green number may go first, then two normal, …
    assert numbers[0] == ("A004", "priority_cap")
    board = hall.board(store)
    assert board.calls[0].number == numbers[-1][0]
    assert [e.service for e in board.estimates][:2] == ["business", "fault"]


def test_estimate_error_is_kept_and_measured(store, desk, clock):
    hall.issue(store, desk, service="payment")
    clock.advance(timedelta(minutes=2))
    visit = hall.call_next(store, desk, counter="1")
    hall.start(store, desk, visit_id=visit.id)
    clock.advance(timedelta(minutes=4))
    hall.finish(store, desk, visit_id=visit.id)
    with store.read() as tx:
        error = tx.scalar("SELECT estimate_error FROM hall_visit WHERE id = ?", (visit.id,))
    assert error is not None
    with pytest.raises(Refused):
        hall.day_measures(store, desk)
    boss = actor_for(store, "s900", role="supervisor")
    [row] = hall.day_measures(store, boss)
    assert (row.service, row.counter, row.served) == ("payment", "1", 1)
    assert row.service_median == pytest.approx(4.0) and row.within_target == 1.0


@pytest.mark.uses_store
def test_the_queue_survives_a_restart(tmp_path, clock):
    path = tmp_path / "hall.db"
    store = make_store(path, clock)
    desk = actor_for(store, "a001")
    hall.open_counter(store, desk, counter="1")
    hall.issue(store, desk, service="business")
    hall.issue(store, desk, service="fault")
    called = hall.call_next(store, desk, counter="1")
    store.close()
    again = make_store(path, clock)
    view = hall.counter_view(again, desk, counter="1")
    assert view.is_open and view.current.number == called.number
    assert sum(view.waiting.values()) == 1


@pytest.mark.parametrize("closing, carried, closed", [("carry", 2, 0), ("close", 0, 2)])
def test_closing_time_carries_or_closes_as_the_hall_says(store, desk, closing, carried, closed):
    boss = actor_for(store, "s900", role="supervisor")
    text = site.export_document(store, boss, kind="hall")
    store = site.import_document(store, boss, kind="hall",
                                 text=text.replace('closing = "carry"', f'closing = "{closing}"'))
    hall.issue(store, desk, service="business")
    hall.issue(store, desk, service="business")
    with pytest.raises(Refused):
        hall.close_day(store, desk)
    assert hall.close_day(store, boss, reason="closing") == (carried, closed)
    with store.read() as tx:
        statuses = {s for (s,) in tx.all("SELECT status FROM hall_visit")}
    assert statuses == ({"waiting"} if closing == "carry" else {"closed"})


def test_only_an_editor_of_policy_changes_the_hall_setup(store, desk):
    with pytest.raises(Refused):
        site.export_document(store, desk, kind="hall")
    boss = actor_for(store, "s900", role="supervisor")
    with pytest.raises(InputError):
        site.import_document(store, boss, kind="hall", text="[services]\n")


def test_a_walk_in_becomes_a_guided_contact_and_is_linked(store, desk):
    from agent_console.services import tickets

    hall.issue(store, desk, service="fault", phone="13912340000")
    visit = hall.call_next(store, desk, counter="1")
    values = hall.guided_contact(store, desk, visit_id=visit.id)
    assert values == {"phone": "13912340000", "name": "", "channel": "hall", "work_type": "fault"}
    made = tickets.create_ticket(store, desk, phone=values["phone"], channel="hall",
                                 work_type="fault", category="broadband", description="宽带断线",
                                 customer_name="李雷")
    hall.link_ticket(store, desk, visit_id=visit.id, ticket_id=made.id)
    with store.read() as tx:
        assert tx.scalar("SELECT ticket_id FROM hall_visit WHERE id = ?", (visit.id,)) == made.id
        assert tx.scalar("SELECT count(*) FROM ticket_event WHERE ticket_id = ? AND kind = "
                         "'hall_visit'", (made.id,)) == 1


def test_a_carried_number_is_not_issued_again_the_next_day(store, desk, clock):
    boss = actor_for(store, "s900", role="supervisor")
    hall.issue(store, desk, service="business")
    hall.issue(store, desk, service="business")
    assert hall.close_day(store, boss) == (2, 0)
    clock.advance(timedelta(days=1))
    hall.open_counter(store, desk, counter="1")
    assert hall.issue(store, desk, service="business").number == "A003"
    first = hall.call_next(store, desk, counter="1")
    assert first.number == "A001", "carried numbers are first in line the next morning"
