"""The contact's services: claiming held tickets, take-over notices, a ticket by its number,
the customer's recent tickets and the resolution."""

from __future__ import annotations

import pytest

from agent_console.services import contact, tickets
from agent_console.services.store import InputError, NotFoundError
from tests.conftest import actor_for
from tests.test_tickets import H, _actions, _events, _new
from tests.test_tickets import teams as teams  # a fixture the tests here take by name


def test_claiming_a_ticket_you_hold_writes_nothing(store):
    me = actor_for(store, "a001")
    t = _new(store, me)
    v = tickets.claim(store, me, ticket_id=t.id, expected_version=1)
    before = (_actions(store), _events(store, t.id))
    assert tickets.claim(store, me, ticket_id=t.id, expected_version=v) == v
    assert tickets.claim(store, me, ticket_id=t.id, expected_version=1) == v  # stale view too
    assert (_actions(store), _events(store, t.id)) == before


def test_a_take_over_is_on_the_timeline_and_told_once_to_the_previous_handler(store, clock):
    first, second = actor_for(store, "a001", role="senior"), actor_for(store, "a002", role="senior")
    t = _new(store, first)
    v = tickets.claim(store, first, ticket_id=t.id, expected_version=1)
    assert contact.holder(store, second, ticket_id=t.id).code == "a001"
    assert contact.take_over_notices(store, first) == []
    clock.advance(H)
    tickets.claim(store, second, ticket_id=t.id, expected_version=v)
    kinds = [k for k, _ in _events(store, t.id)]
    assert kinds[-2:] == ["claimed", "taken_over"]
    assert contact.take_over_notices(store, second) == []  # not theirs to be told
    told = contact.take_over_notices(store, first)
    assert [(n.number, n.by, n.at) for n in told] == [(t.number, "a002", clock.now())]
    assert contact.take_over_notices(store, first) == []  # once


def test_a_ticket_by_number_follows_the_visibility_rule(store, teams):
    people, made = teams
    number = tickets.ticket_detail(store, people["boss"], ticket_id=made["net_handled"]).number
    assert contact.find_ticket(store, people["net1"], number=f" {number.lower()} ") == \
        made["net_handled"]
    for who, wanted in (("hot2", number), ("net1", "T000000000000")):
        with pytest.raises(NotFoundError):
            contact.find_ticket(store, people[who], number=wanted)


def test_the_customers_recent_tickets_are_those_the_actor_may_see(store, teams, clock):
    people, made = teams
    boss = people["boss"]
    customer = tickets.ticket_detail(store, boss, ticket_id=made["net_handled"]).customer.id
    clock.advance(H)
    seen = contact.customer_tickets(store, boss, customer_id=customer)
    assert [(r.id, r.category, r.status, r.age) for r in seen] == \
        [(made["net_handled"], "billing", "assigned", H)]
    assert contact.customer_tickets(store, people["hot2"], customer_id=customer) == []


def test_the_resolution_is_written_under_the_lock_audited_and_required_to_resolve(store):
    me = actor_for(store, "a001")
    t = _new(store, me)
    v = tickets.claim(store, me, ticket_id=t.id, expected_version=1)
    with pytest.raises(InputError):
        contact.resolve(store, me, ticket_id=t.id, expected_version=v, resolution="  ")
    v = contact.set_resolution(store, me, ticket_id=t.id, expected_version=v, text="更换光猫")
    v = contact.resolve(store, me, ticket_id=t.id, expected_version=v,
                        resolution="更换光猫，客户确认恢复")
    detail = tickets.ticket_detail(store, me, ticket_id=t.id)
    assert detail.status == "resolved" and detail.resolution == "更换光猫，客户确认恢复"
    assert detail.version == v
    assert _actions(store).count(contact.TICKET_RESOLUTION) == 2


def test_a_case_proposed_from_a_ticket_waits_for_review_before_anyone_finds_it(store):
    from agent_console.services import case_review, knowledge
    from agent_console.services.store import Refused

    me, boss = actor_for(store, "a001"), actor_for(store, "s900", role="supervisor")
    t = _new(store, me)
    draft = knowledge.check_case(store, {"title": "光猫红灯断网", "symptoms": "光猫 LOS 红灯",
                                         "cause": "光纤松动", "resolution": "重插光纤"})
    first = case_review.propose_case(store, me, ticket_id=t.id, case=draft)
    second = case_review.propose_case(store, me, ticket_id=t.id, case=draft)
    assert knowledge.search(store, query="光猫红灯") == []
    with pytest.raises(Refused):
        case_review.pending_cases(store, me)
    with pytest.raises(Refused):
        case_review.review_case(store, me, case_id=first, approve=True)
    assert [c.id for c in case_review.pending_cases(store, boss)] == [first, second]
    with pytest.raises(InputError):
        case_review.review_case(store, boss, case_id=second, approve=False, reason=" ")
    case_review.review_case(store, boss, case_id=first, approve=True)
    case_review.review_case(store, boss, case_id=second, approve=False, reason="与前一条重复")
    assert [h.id for h in knowledge.search(store, query="光猫红灯")] == [first]
    assert {h.id for h in knowledge.search(store, query="光猫红灯", include_retired=True)} == \
        {first, second}  # the rejected one is kept, retired
    assert case_review.pending_cases(store, boss) == []
    with pytest.raises(NotFoundError):
        case_review.review_case(store, boss, case_id=first, approve=True)
    assert [a for a in _actions(store) if a.startswith("kb_")] == \
        ["kb_propose", "kb_propose", "kb_review", "kb_review"]


def test_a_case_cannot_be_proposed_from_a_ticket_one_may_not_see(store, teams):
    from agent_console.services import case_review, knowledge

    people, made = teams
    draft = knowledge.check_case(store, {"title": "账单", "symptoms": "多扣费", "cause": "x",
                                         "resolution": "退费"})
    with pytest.raises(NotFoundError):
        case_review.propose_case(store, people["hot2"], ticket_id=made["net_handled"], case=draft)


def test_the_demo_has_a_proposal_waiting_for_review(demo_store):
    from agent_console.services import case_review, knowledge

    waiting = case_review.pending_cases(demo_store, actor_for(demo_store, "s900"))
    assert [(c.author, c.category) for c in waiting] == [("a003", "broadband")]
    assert waiting[0].id not in {h.id for h in knowledge.search(
        demo_store, query=waiting[0].title[:4], include_retired=True)}
