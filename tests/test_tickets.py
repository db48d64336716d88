"""Ticket services: creation and routing, dispatch, status moves with their clocks, conflicts,
who may see and change which ticket, the audit of each act, and intakes finished exactly once."""

from __future__ import annotations

import json
import multiprocessing
from datetime import timedelta

import pytest
import sqlalchemy

from agent_console.models.vocab import Status
from agent_console.services import audit, intake, tickets
from agent_console.services.actor import Actor
from agent_console.services.store import SENTINEL_KEY, ConflictError, InputError, NotFoundError, Store
from tests.conftest import NOW, actor_for

H = timedelta(hours=1)


def _new(store, actor=None, **over):
    values = dict(phone="13812345678", channel="hotline", work_type="fault", category="broadband",
                  description="家里宽带断网，光猫 LOS 灯红色闪烁")
    values.update(over)
    return tickets.create_ticket(store, actor or actor_for(store, "a001"), **values)


def _events(store, ticket_id):
    with store.read() as tx:
        return [(k, json.loads(d)) for k, d in tx.all(
            "SELECT kind, detail FROM ticket_event WHERE ticket_id = ? ORDER BY id", (ticket_id,))]


def _scalar(store, sql, params=()):
    with store.read() as tx:
        return tx.scalar(sql, params)


def _audit(store):
    """The audit trail as stored: (agent, action, target, detail) per record."""
    with store.read() as tx:
        return [(a, act, tgt, json.loads(d)) for a, act, tgt, d in tx.all(
            "SELECT agent_code, action, target, detail FROM audit_log ORDER BY id")]


def _actions(store):
    return [action for _, action, _, _ in _audit(store)]


def _agent(store, code, *, role="agent", team="", department=None) -> Actor:
    """An agent of a team and department (the fixtures' agents have neither)."""
    with store.write() as tx:
        tx.execute("INSERT INTO agent (code, name, role, team, department) VALUES (?, ?, ?, ?, ?)",
                   (code, code, role, team, department))
    return actor_for(store, code)


def test_create_routes_numbers_and_starts_both_clocks(store, clock):
    created = _new(store)
    assert created.number == f"T{clock.now():%y%m%d}{created.id:06d}"
    assert created.department == "network"
    assert created.grade == "general"
    assert created.response_due == clock.now() + 24 * H
    assert created.resolution_due == clock.now() + 24 * H  # network problems: within 24 h
    assert _events(store, created.id)[0][0] == "created"


def test_creation_is_audited_in_its_transaction(store):
    me = actor_for(store, "a001")
    created = _new(store, me)
    agent, action, target, detail = _audit(store)[-1]
    assert (action, agent, target) == ("ticket_create", "a001", f"ticket:{created.number}")
    assert detail["category"] == "broadband" and "phone" not in detail
    assert _scalar(store, "SELECT created_by FROM ticket WHERE id = ?", (created.id,)) == me.agent_id
    before = audit.verify(store).count
    with pytest.raises(InputError):
        _new(store, me, category="weather")
    assert audit.verify(store).count == before


def test_complaints_start_important_and_vip_is_raised(store):
    assert _new(store, work_type="complaint", category="billing").grade == "important"
    with store.write() as tx:
        tx.execute("INSERT INTO customer (name, phone, tier, created_at) VALUES "
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
    with store.read() as tx:
        phones = {p for (p,) in tx.all("SELECT phone FROM customer")}
    assert {"13812345679", "01012345678", "+85291234567"} <= phones


def test_claim_assign_and_owner_are_recorded_with_time(store, clock):
    me = actor_for(store, "a001")
    actor_for(store, "n101")
    t = _new(store, me)
    v = tickets.claim(store, me, ticket_id=t.id, expected_version=1)
    clock.advance(H)
    v = tickets.assign(store, me, ticket_id=t.id, expected_version=v, handler="n101",
                       department="finance")
    detail = tickets.ticket_detail(store, me, ticket_id=t.id)
    assert detail.status == "assigned" and detail.handler.code == "n101"
    assert detail.owner.code == "a001" and detail.department == "finance"
    assert detail.handler_set_at == clock.now() and detail.owner_set_at == clock.now() - H
    assert [k for k, _ in _events(store, t.id)] == ["created", "claimed", "assigned", "handler_set"]
    with pytest.raises(InputError):
        tickets.assign(store, me, ticket_id=t.id, expected_version=v, handler="nobody")


def test_second_writer_gets_a_conflict_and_nothing_is_overwritten(store):
    first, second = actor_for(store, "a001"), actor_for(store, "a002", role="supervisor")
    t = _new(store, first)
    tickets.claim(store, first, ticket_id=t.id, expected_version=1)
    with pytest.raises(ConflictError):
        tickets.claim(store, second, ticket_id=t.id, expected_version=1)
    assert tickets.ticket_detail(store, first, ticket_id=t.id).handler.code == "a001"


def test_pending_customer_pauses_and_resume_moves_the_due_time(store, clock):
    me = actor_for(store, "a001")
    t = _new(store, me, category="billing")
    v = tickets.change_status(store, me, ticket_id=t.id, expected_version=1, status="in_progress")
    before = tickets.ticket_detail(store, me, ticket_id=t.id).clocks[1].due
    v = tickets.change_status(store, me, ticket_id=t.id, expected_version=v,
                              status="pending_customer")
    assert _scalar(store, "SELECT due_key FROM ticket") == SENTINEL_KEY
    clock.advance(3 * H)
    paused = tickets.ticket_detail(store, me, ticket_id=t.id).clocks[1]
    assert paused.state == "paused" and paused.paused == 3 * H
    tickets.change_status(store, me, ticket_id=t.id, expected_version=v, status="in_progress")
    after = tickets.ticket_detail(store, me, ticket_id=t.id).clocks[1]
    assert after.due == before + 3 * H and after.paused == 3 * H


def test_hall_tickets_count_only_opening_hours(store, clock):
    clock.set(clock.now().replace(hour=12))  # 20:00 Beijing, an hour before the hall closes
    t = _new(store, channel="hall", category="plan_dispute", work_type="complaint")
    # Plan disputes: respond within 1 h -> 21:00 closing time exactly.
    assert t.response_due == clock.now() + H
    t2 = _new(store, channel="hall", category="billing", grade="urgent", phone="13812340000")
    assert t2.response_due == clock.now() + 14 * H  # 1 h tonight + 1 h from 09:00 tomorrow


def test_status_moves_follow_the_workflow_and_reopen_resumes(store, clock):
    me = actor_for(store, "a001")
    t = _new(store, me)
    with pytest.raises(InputError):
        tickets.change_status(store, me, ticket_id=t.id, expected_version=1, status="closed")
    v = tickets.change_status(store, me, ticket_id=t.id, expected_version=1, status="resolved")
    detail = tickets.ticket_detail(store, me, ticket_id=t.id)
    assert [c.state for c in detail.clocks] == ["met", "met"]
    clock.advance(2 * H)
    v = tickets.change_status(store, me, ticket_id=t.id, expected_version=v, status="in_progress")
    reopened = tickets.ticket_detail(store, me, ticket_id=t.id)
    assert reopened.status == Status.IN_PROGRESS and reopened.resolved_at is None
    assert reopened.clocks[1].paused == 2 * H  # the resolved time does not count against the clock
    v = tickets.change_status(store, me, ticket_id=t.id, expected_version=v, status="resolved")
    tickets.change_status(store, me, ticket_id=t.id, expected_version=v, status="closed")
    assert _scalar(store, "SELECT is_open FROM ticket") == 0
    assert _actions(store).count("ticket_status") == 4


def test_notes_never_conflict_keep_text_literally_and_are_audited(store):
    me = actor_for(store, "a001")
    t = _new(store, me)
    tickets.add_note(store, me, ticket_id=t.id, text="[bold]客户[/] 要求\x1b[2J回电")
    kind, detail = _events(store, t.id)[-1]
    assert kind == "note" and detail["text"] == "[bold]客户[/] 要求回电"
    assert tickets.ticket_detail(store, me, ticket_id=t.id).version == 1
    _, action, target, _ = _audit(store)[-1]
    assert action == "ticket_note" and target == f"ticket:{t.number}"


def _case(store) -> int:
    with store.write() as tx:
        return tx.scalar("INSERT INTO kb_case (title, symptoms, cause, resolution, language, "
                         "author, created_at, updated_at) VALUES ('光猫LOS', '红灯', '断纤', "
                         "'派装维熔接', 'zh', 'a001', '2026-01-01 00:00:00.000000', "
                         "'2026-01-01 00:00:00.000000') RETURNING id")


def test_applying_a_case_bumps_the_version_once(store):
    me = actor_for(store, "a001")
    t = _new(store, me)
    case_id = _case(store)
    assert tickets.apply_case(store, me, ticket_id=t.id, case_id=case_id) is True
    detail = tickets.ticket_detail(store, me, ticket_id=t.id)
    assert detail.version == 2 and detail.resolution == "派装维熔接"
    assert tickets.apply_case(store, me, ticket_id=t.id, case_id=case_id) is False
    assert tickets.ticket_detail(store, me, ticket_id=t.id).version == 2
    assert _scalar(store, "SELECT times_used FROM kb_case") == 1
    with pytest.raises(ConflictError):  # a change made on the row before the case was used
        tickets.claim(store, me, ticket_id=t.id, expected_version=1)
    assert _actions(store).count("ticket_case") == 1
    with pytest.raises(NotFoundError):
        tickets.apply_case(store, me, ticket_id=t.id, case_id=999)


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
    me = actor_for(store, "a001")
    t = _new(store, me)
    other = sqlalchemy.create_engine(store.url)  # another process's own connection
    with other.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE ticket SET version = version + 1, status = 'assigned' "
                                     "WHERE id = :id"), {"id": t.id})
    other.dispose()
    with pytest.raises(ConflictError):
        tickets.change_status(store, me, ticket_id=t.id, expected_version=1, status="in_progress")


def test_a_disabled_agent_writes_nothing(store):
    me = actor_for(store, "a001")
    t = _new(store, me)
    with store.write() as tx:
        tx.execute("UPDATE agent SET active = 0 WHERE code = 'a001'")
    with pytest.raises(NotFoundError):
        tickets.add_note(store, me, ticket_id=t.id, text="还在吗")
    with pytest.raises(NotFoundError):
        _new(store, me, phone="13812349999")


# --- who may see and change which ticket ---------------------------------------------------------

@pytest.fixture
def teams(store):
    """Two teams of plain agents, a senior and a supervisor; one ticket in each situation."""
    people = {
        "hot1": _agent(store, "hot1", team="hotline-a", department="service"),
        "hot2": _agent(store, "hot2", team="hotline-a", department="service"),
        "net1": _agent(store, "net1", team="network-ops", department="network"),
        "net2": _agent(store, "net2", team="network-ops", department="network"),
        "senior": _agent(store, "senior", role="senior", team="hall-1", department="service"),
        "boss": _agent(store, "boss", role="supervisor", team="hotline-a", department="service"),
    }
    made = {
        # Raised by the hotline, routed to the network department, nobody handles it yet.
        "net_unassigned": _new(store, people["hot1"], phone="13800000001").id,
        # Raised by the network team about a bill, handled by the network team.
        "net_handled": _new(store, people["net1"], phone="13800000002", category="billing").id,
        # The hotline's own unassigned ticket (a service-department category).
        "service_unassigned": _new(store, people["hot2"], phone="13800000003",
                                   category="service_attitude", work_type="complaint").id,
    }
    tickets.assign(store, people["boss"], ticket_id=made["net_handled"], expected_version=1,
                   handler="net2", department="finance")
    return people, made


# Who sees what: hot1 created net_unassigned; hot2 created the service one, which is its
# department's unassigned ticket and so hot1's too; the network team handles net_handled and
# sees network's unassigned one. Senior and supervisor see everything.
SEES = {
    "hot1": {"net_unassigned", "service_unassigned"},
    "hot2": {"service_unassigned"},
    "net1": {"net_unassigned", "net_handled"},
    "net2": {"net_unassigned", "net_handled"},
    "senior": {"net_unassigned", "net_handled", "service_unassigned"},
    "boss": {"net_unassigned", "net_handled", "service_unassigned"},
}


def _try_every_route(store, actor, ticket_id):
    """Each entry point that reads or changes one ticket; the names of those that worked."""
    from agent_console.db import ts
    from agent_console.services.queue import QueueFilter, QueueReader

    reader, now_ts = QueueReader(store), ts(store.clock.now())
    version = _scalar(store, "SELECT version FROM ticket WHERE id = ?", (ticket_id,))

    def page() -> None:
        if ticket_id not in {r.id for r in reader.page(QueueFilter(), actor, now_ts=now_ts,
                                                       limit=100)}:
            raise NotFoundError("queue row")

    routes = {
        "page": page,
        "detail": lambda: tickets.ticket_detail(store, actor, ticket_id=ticket_id),
        "note": lambda: tickets.add_note(store, actor, ticket_id=ticket_id, text="看过"),
        "classify": lambda: intake.record_classification(
            store, actor, ticket_id=ticket_id, proposed={}, chosen={}, overridden=[]),
        "run": lambda: intake.stored_run(store, actor, ticket_id=ticket_id),
        "case": lambda: tickets.apply_case(store, actor, ticket_id=ticket_id, case_id=_case(store)),
        "status": lambda: tickets.change_status(store, actor, ticket_id=ticket_id,
                                                expected_version=version + 1,
                                                status="pending_customer"),
        "assign": lambda: tickets.assign(store, actor, ticket_id=ticket_id,
                                         expected_version=version + 2, owner=actor.code),
        "claim": lambda: tickets.claim(store, actor, ticket_id=ticket_id,
                                       expected_version=version + 3),
    }
    worked = set()
    for name, call in routes.items():
        try:
            call()
            worked.add(name)
        except NotFoundError:
            pass
    return worked


@pytest.mark.parametrize("who", sorted(SEES))
def test_every_route_shows_and_changes_only_visible_tickets(store, teams, who):
    people, made = teams
    for name, ticket_id in made.items():
        worked = _try_every_route(store, people[who], ticket_id)
        expected = {"page", "detail", "note", "classify", "run", "case", "status", "assign",
                    "claim"} if name in SEES[who] else set()
        assert worked == expected, (who, name)


def test_the_queue_counts_and_scopes_follow_the_same_rule(store, teams):
    from agent_console.db import ts
    from agent_console.services.queue import QueueFilter, QueueReader

    people, made = teams
    reader, now_ts = QueueReader(store), ts(store.clock.now())
    by_id = {v: k for k, v in made.items()}

    def names(actor, **f):
        flt = QueueFilter(**f)
        rows = reader.page(flt, actor, now_ts=now_ts, limit=100)
        assert reader.count(flt, actor, now_ts=now_ts) == len(rows)
        return {by_id[r.id] for r in rows}

    for who, seen in SEES.items():
        assert names(people[who]) == seen, who
    assert names(people["hot1"], scope="created") == {"net_unassigned"}
    assert names(people["hot1"], scope="team") == {"service_unassigned"}
    assert names(people["net2"], scope="mine") == {"net_handled"}
    assert names(people["boss"], scope="created") == set()
    assert names(people["boss"], scope="team") == {"service_unassigned"}


def test_an_invisible_ticket_is_not_found_even_with_the_right_version(store, teams):
    people, made = teams
    with pytest.raises(NotFoundError):
        tickets.claim(store, people["hot2"], ticket_id=made["net_handled"], expected_version=2)
    with pytest.raises(NotFoundError):
        tickets.ticket_detail(store, people["hot2"], ticket_id=made["net_handled"])
    assert tickets.ticket_detail(store, people["boss"],
                                 ticket_id=made["net_handled"]).handler.code == "net2"


def test_a_ticket_handed_to_another_team_stays_visible_to_its_creator(store, teams):
    people, made = teams
    tickets.claim(store, people["net1"], ticket_id=made["net_unassigned"], expected_version=1)
    assert tickets.ticket_detail(store, people["hot1"], ticket_id=made["net_unassigned"])
    with pytest.raises(NotFoundError):
        tickets.ticket_detail(store, people["hot2"], ticket_id=made["net_unassigned"])


# --- intakes: one ticket and one follow-up per contact, however often it is sent ---------------

def test_a_second_create_with_the_same_intake_key_returns_the_first_ticket(store):
    me = actor_for(store, "a001")
    first = _new(store, me, intake_key="contact-1")
    again = _new(store, me, intake_key="contact-1", description="重发")
    assert again == first
    other = _new(store, me, intake_key="contact-2")
    assert other.id != first.id
    assert _scalar(store, "SELECT count(*) FROM ticket") == 2
    assert _actions(store).count("ticket_create") == 2


def _dissatisfied_run(clock):
    from agent_console.services.script_run import ScriptRun
    from agent_console.services.scripts import load_scripts
    from tests.test_scripts import walk

    library = load_scripts()
    run = ScriptRun.start(library.get("service_attitude"), {}, clock, library)
    walk(run, {"satisfaction": "3", "solved": False, "follow_up_note": "道歉不够诚恳",
               "resolution_summary": "已致歉"})
    assert run.finished
    return run


def test_finishing_a_contact_twice_opens_one_follow_up(store, clock):
    me = actor_for(store, "a001")
    actor_for(store, "s900", role="supervisor")
    created = _new(store, me, category="service_attitude", work_type="complaint",
                   description="营业员态度很差", intake_key="contact-9")
    run = _dissatisfied_run(clock)
    first = intake.finish(store, me, ticket_id=created.id, run=run, intake_key="contact-9")
    assert first.follow_up is not None and not first.closed
    again = intake.finish(store, me, ticket_id=created.id, run=run, intake_key="contact-9")
    assert again == first
    assert _scalar(store, "SELECT count(*) FROM ticket WHERE parent_id = ?", (created.id,)) == 1
    follow = tickets.ticket_detail(store, me, ticket_id=first.follow_up.id)
    assert follow.work_type == "follow_up" and follow.handler.code == "s900"
    assert follow.department == "service"
    resolution = tickets.ticket_detail(store, me, ticket_id=created.id).resolution
    assert resolution.count("已致歉") == 1
    actions = _actions(store)
    assert actions.count("contact_finish") == 1 and actions.count("ticket_create") == 2
    with pytest.raises(NotFoundError):
        intake.finish(store, me, ticket_id=created.id, run=run, intake_key="another contact")


def test_a_finish_that_fails_leaves_nothing_behind(store, clock, monkeypatch):
    me = actor_for(store, "a001")
    actor_for(store, "s900", role="supervisor")
    created = _new(store, me, category="service_attitude", work_type="complaint",
                   description="营业员态度很差")
    run = _dissatisfied_run(clock)
    before = audit.verify(store).count

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(intake, "_save_run", broken)
    with pytest.raises(RuntimeError):
        intake.finish(store, me, ticket_id=created.id, run=run)
    assert _scalar(store, "SELECT count(*) FROM ticket") == 1
    assert tickets.ticket_detail(store, me, ticket_id=created.id).resolution == ""
    assert audit.verify(store).count == before


def _create_in_process(url: str, phone: str, start, results) -> None:
    """One app process taking a first call from `phone` (a spawned child: opens its own store)."""
    from agent_console.clock import FrozenClock
    from agent_console.services.store import open_store

    try:
        store = open_store(url, clock=FrozenClock(NOW))
        actor = actor_for(store, "a001")
        start.wait(timeout=60)
        created = tickets.create_ticket(store, actor, phone=phone, channel="hotline",
                                        work_type="fault", category="broadband",
                                        description="同一号码同时来电")
        results.put(("ok", created.id))
    except BaseException as exc:  # reported to the parent, which fails the test with it
        start.abort()  # the others stop waiting for this one
        results.put(("error", repr(exc)))


def test_eight_processes_creating_for_one_new_phone_make_one_customer(store: Store):
    actor_for(store, "a001")
    store.close()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(8), ctx.Queue()
    workers = [ctx.Process(target=_create_in_process,
                           args=(store.url, "13911112222", start, results))
               for _ in range(8)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [kind for kind, _ in outcomes] == ["ok"] * 8, outcomes
    assert len({ticket_id for _, ticket_id in outcomes}) == 8
    assert _scalar(store, "SELECT count(*) FROM customer WHERE phone = '13911112222'") == 1
    assert _scalar(store, "SELECT count(DISTINCT customer_id) FROM ticket") == 1
    assert audit.verify(store).ok
