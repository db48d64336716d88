"""Every public service entry point, called as every role: allowed or refused exactly as the
permission table says. A new entry point that takes an actor must be added to CALLS, and one
that takes none must be named in NO_ACTOR with why, or this test fails."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import agent_console.services as services_package
from agent_console.models.vocab import Role
from agent_console.services import (audit, auth, customers, intake, kb_jsonl, knowledge,
                                    permissions as p, site, tickets)
from agent_console.services.errors import Refused
from tests.conftest import actor_for

AGENT_OF_ROLE = {"agent": "a001", "senior": "a003", "supervisor": "s900", "trainer": "t800",
                 "admin": "admin"}

# Entry points without an actor, and why that is right.
NO_ACTOR = {
    "audit.record": "records an act of the caller's own (sign-in, lock), named by the caller",
    "audit.anchor": "writes the trail's head to the witness; reveals nothing",
    "audit.verify": "checks the chain; reveals no record's content",
    "auth.sign_in": "is how an actor comes to be",
    "auth.sign_in_os_user": "is how an actor comes to be (the process's own account)",
    "auth.sign_out": "records the caller's own sign-out",
    "auth.bootstrap_open": "says whether a store never had an admin",
    "auth.list_all": "agents, not customers; the command line asks for manage_agents first",
    "demo.is_demo_store": "a fact about the store file",
    "demo.check_demo_target": "a fact about the store file",
    "demo.fill_demo": "fills only a new store it marks as a demo store",
    "directory.find_agent": "agents, not customers",
    "directory.actor": "builds the actor itself",
    "directory.list_agents": "agents, not customers (the dispatch list)",
    "directory.load_queue_filter": "the caller's own preferences",
    "directory.save_queue_filter": "the caller's own preferences",
    "directory.get_preference": "the caller's own preferences",
    "directory.set_preference": "the caller's own preferences",
    "kb_jsonl.export_jsonl": "knowledge-base cases hold no customer data",
    "knowledge.check_case": "validates a case; reads nothing",
    "knowledge.index_for": "chooses the search index",
    "knowledge.find_cases": "knowledge-base cases hold no customer data",
    "knowledge.search": "knowledge-base cases hold no customer data",
    "knowledge.similar": "knowledge-base cases hold no customer data",
    "knowledge.get_case": "knowledge-base cases hold no customer data",
    "knowledge.case_history": "knowledge-base cases hold no customer data",
    "site.load": "loads the site's policy for the store itself",
    "site.sync_catalog": "departments, no customer data",
    "tickets.sla_columns": "computes due times; reads nothing",
    "tickets.record_crossings": "the SLA sweep: a system act on every ticket, reveals nothing",
}


def _ticket(store, actor) -> Any:
    return tickets.create_ticket(store, actor, phone="13912340000", channel="hotline",
                                 work_type="fault", category="broadband", description="光猫红灯")


def _case(store) -> int:
    return knowledge.search(store, query="光猫")[0].id


def _version(store, actor, ticket_id) -> int:
    return tickets.ticket_detail(store, actor, ticket_id=ticket_id).version


def _customer(store) -> int:
    with store.read() as tx:
        return int(tx.scalar("SELECT id FROM customer ORDER BY id LIMIT 1"))


# name -> (permission needed or None for any enabled agent, call(store, actor))
CALLS: dict[str, tuple[str | None, Callable[[Any, Any], Any]]] = {
    "tickets.create_ticket": (None, _ticket),
    "tickets.ticket_detail": (None, lambda s, a: tickets.ticket_detail(
        s, a, ticket_id=_ticket(s, a).id)),
    "tickets.claim": (None, lambda s, a: tickets.claim(
        s, a, ticket_id=(t := _ticket(s, a).id), expected_version=_version(s, a, t))),
    "tickets.assign": (None, lambda s, a: tickets.assign(
        s, a, ticket_id=(t := _ticket(s, a).id), expected_version=_version(s, a, t),
        department="service")),
    "tickets.change_status": (None, lambda s, a: tickets.change_status(
        s, a, ticket_id=(t := _ticket(s, a).id), expected_version=_version(s, a, t),
        status="in_progress")),
    "tickets.add_note": (None, lambda s, a: tickets.add_note(s, a, ticket_id=_ticket(s, a).id,
                                                             text="已致电")),
    "tickets.apply_case": (None, lambda s, a: tickets.apply_case(
        s, a, ticket_id=_ticket(s, a).id, case_id=_case(s))),
    "intake.lookup": (None, lambda s, a: intake.lookup(s, a, phone="13912340000")),
    "intake.record_classification": (None, lambda s, a: intake.record_classification(
        s, a, ticket_id=_ticket(s, a).id, proposed={}, chosen={}, overridden=[])),
    "intake.recent_tickets": (None, lambda s, a: intake.recent_tickets(s, a, customer_id=_customer(s))),
    "intake.save_draft": (None, lambda s, a: intake.save_draft(s, a, intake_key="k1", draft="{}")),
    "intake.load_draft": (None, lambda s, a: intake.load_draft(s, a, intake_key="k1")),
    "intake.parked_contacts": (None, lambda s, a: intake.parked_contacts(s, a)),
    "intake.link_contact": (None, lambda s, a: intake.link_contact(
        s, a, ticket_id=_ticket(s, a).id, intake_key="k1", text="客户再次来电")),
    "intake.abandon": (None, lambda s, a: intake.abandon(s, a, intake_key="k1", reason="客户挂机")),
    "intake.stored_run": (None, lambda s, a: intake.stored_run(s, a, ticket_id=_ticket(s, a).id)),
    "intake.save_run": (None, None),  # needs a script run: walked in tests/test_tickets.py
    "intake.finish": (None, None),  # needs a script run: walked in tests/test_tickets.py
    "knowledge.create_case": (p.EDIT_KB, lambda s, a: knowledge.create_case(
        s, a, case=knowledge.check_case(s, {"title": "光猫掉线", "symptoms": "掉线",
                                            "cause": "老化", "resolution": "更换"}))),
    "knowledge.update_case": (p.EDIT_KB, lambda s, a: knowledge.update_case(
        s, a, case_id=_case(s), changes={"prevention": "定期检查"})),
    "knowledge.retire_case": (p.EDIT_KB, lambda s, a: knowledge.retire_case(
        s, a, case_id=_case(s), retired=True, reason="过时")),
    "knowledge.case_from_ticket": (None, lambda s, a: knowledge.case_from_ticket(
        s, a, ticket_id=_ticket(s, a).id)),
    "kb_jsonl.import_jsonl": (p.EDIT_KB, lambda s, a: kb_jsonl.import_jsonl(
        s, a, ['{"title": "新案例", "symptoms": "x", "cause": "y", "resolution": "z"}'])),
    "customers.reveal": (p.REVEAL_PII, lambda s, a: customers.reveal(
        s, a, customer_id=_customer(s), field="phone", reason="核实身份")),
    "customers.change_customer": (p.CHANGE_CUSTOMER, lambda s, a: customers.change_customer(
        s, a, customer_id=_customer(s), changes={"address": "新地址"}, reason="客户来电")),
    "audit.export": (p.RUN_REPORTS, lambda s, a: audit.export(s, a)),
    "site.export_document": (p.EDIT_POLICY, lambda s, a: site.export_document(
        s, a, kind="sla_policy")),
    "site.import_document": (p.EDIT_POLICY, lambda s, a: site.import_document(
        s, a, kind="sla_policy", text=site.export_document(
            s, actor_for(s, "admin"), kind="sla_policy") + "\n# reviewed\n")),
    "auth.add_agent": (p.MANAGE_AGENTS, lambda s, a: auth.add_agent(
        s, a, code=f"n{a.code}", name="新人", role="agent", pin="5678")),
    "auth.set_role": (p.MANAGE_AGENTS, lambda s, a: auth.set_role(s, a, code="a002",
                                                                     role="senior")),
    "auth.reset_pin": (p.MANAGE_AGENTS, lambda s, a: auth.reset_pin(s, a, code="a002",
                                                                       pin="2468")),
    "auth.set_active": (p.MANAGE_AGENTS, lambda s, a: auth.set_active(s, a, code="a002",
                                                                         active=False)),
    "auth.bind_os_user": (p.MANAGE_AGENTS, lambda s, a: auth.bind_os_user(
        s, a, code="a002", os_user="seat7")),
}


def _entry_points() -> tuple[set[str], set[str]]:
    with_actor, without = set(), set()
    for info in pkgutil.iter_modules(services_package.__path__):
        if info.ispkg:
            continue
        module = importlib.import_module(f"agent_console.services.{info.name}")
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters)
            if not params or params[0] != "store":
                continue
            (with_actor if len(params) > 1 and params[1] == "actor" else without).add(
                f"{info.name}.{name}")
    return with_actor, without


def test_every_entry_point_is_classified():
    with_actor, without = _entry_points()
    assert with_actor == set(CALLS), "add the new entry point to CALLS"
    assert without == set(NO_ACTOR), "an entry point without an actor must say why in NO_ACTOR"


@pytest.mark.parametrize("name", sorted(n for n, (_, call) in CALLS.items() if call))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_entry_point_follows_the_table(demo_store, name, role):
    permission, call = CALLS[name]
    actor = actor_for(demo_store, AGENT_OF_ROLE[role])
    if permission is None or permission in demo_store.permissions[role]:
        call(demo_store, actor)
    else:
        with pytest.raises(Refused):
            call(demo_store, actor)
