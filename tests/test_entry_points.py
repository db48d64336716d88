"""Every public service entry point, called as every role: allowed or refused exactly as the
permission table says. A new entry point that takes an actor must be added to CALLS, and one
that takes none must be named in NO_ACTOR with why, or this test fails."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import agent_console.services as services_package
from agent_console.models.vocab import Role
from agent_console.services import (
    audit,
    auth,
    backup,
    case_review,
    compensation,
    contact,
    customers,
    hall,
    handover,
    intake,
    kb_jsonl,
    knowledge,
    kpi,
    learning,
    outage,
    privacy,
    report,
    site,
    sites,
    sms,
    synonyms,
    tickets,
)
from agent_console.services import permissions as p
from agent_console.services.errors import Refused
from agent_console.services.training import runs
from agent_console.services.training.moves import Said
from tests.conftest import actor_for

AGENT_OF_ROLE = {"agent": "a001", "senior": "a003", "supervisor": "s900", "trainer": "t800",
                 "admin": "admin"}

# Entry points without an actor, and why that is right.
NO_ACTOR = {
    "audit.record": "records an act of the caller's own (sign-in, lock), named by the caller",
    "audit.anchor": "writes the trail's head to the witness; reveals nothing",
    "changes.open_feed": "says when to read again; carries no data beyond ticket ids and versions",
    "audit.verify": "checks the chain; reveals no record's content",
    "backup.refuse_server_store": "says whether the store is a file; reads nothing",
    "auth.sign_in": "is how an actor comes to be",
    "auth.sign_in_os_user": "is how an actor comes to be (the process's own account)",
    "auth.sign_out": "records the caller's own sign-out",
    "auth.signed_in_agent": "is how a browser session's actor comes to be, after the server "
                            "checked the PIN and the session checked the server's signed pass",
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
    "knowledge.ensure_index": "re-indexes the store's cases when it is opened",
    "learning.classifier_for": "the site's classifier rules, no customer data",
    "site.load": "loads the site's policy for the store itself",
    "site.sync_catalog": "departments, no customer data",
    "tickets.sla_columns": "computes due times; reads nothing",
    "tickets.record_crossings": "the SLA sweep: a system act on every ticket, reveals nothing",
    "privacy.retention_policy": "reads the site's retention periods",
    "housekeeping.run_due": "the console's own scheduled backup and retention (system acts)",
    "housekeeping.last_run": "when a scheduled job last ran",
    "hall.config": "the hall's services and counters, no customer data",
    "hall.estimates": "counts and waits per service, as on the hall's public board",
    "hall.board": "numbers and counts only: the hall's public display",
    "sites.list_sites": "the halls' and hotline centres' codes and names, as on any sign",
    "kpi.config_for": "the site's KPI definitions; no customer data",
    "report.default_month": "the month the store's clock is in",
    "report.render": "formats figures already read under the actor's permission",
    "report.tables": "formats figures already read under the actor's permission",
}


def _walk_in(store, actor, status: str = "called") -> Any:
    """A walk-in called at counter 1 by `actor` (who opens it), in `status`."""
    from datetime import timedelta

    hall.open_counter(store, actor, counter="1")
    with store.write() as tx:  # whatever an earlier call left at the counter
        tx.execute("UPDATE hall_visit SET status = 'done' WHERE status IN ('called', 'serving')")
    hall.issue(store, actor, service="business")
    visit = hall.call_next(store, actor, counter="1")
    if status == "serving":
        visit = hall.start(store, actor, visit_id=visit.id)
    elif status == "hold":
        visit = hall.hold(store, actor, visit_id=visit.id)
    elif status == "no_show":
        store.clock.advance(timedelta(minutes=10))
        visit = hall.no_show(store, actor, visit_id=visit.id)
    return visit


def _hall(name: str, status: str = "called", **extra: Any) -> Callable[[Any, Any], Any]:
    def call(store, actor) -> Any:
        visit = _walk_in(store, actor, status)
        params = {"visit_id": visit.id, **extra}
        if name == "link_ticket":
            params["ticket_id"] = _ticket(store, actor).id
        return getattr(hall, name)(store, actor, **params)

    return call


def _ticket(store, actor) -> Any:
    return tickets.create_ticket(store, actor, phone="13912340000", channel="hotline",
                                 work_type="fault", category="broadband", description="光猫红灯")


def _case(store) -> int:
    return knowledge.search(store, query="光猫")[0].id


def _version(store, actor, ticket_id) -> int:
    return tickets.ticket_detail(store, actor, ticket_id=ticket_id).version


def _phone(store) -> str:
    with store.read() as tx:
        return str(tx.scalar("SELECT phone FROM customer ORDER BY id DESC LIMIT 1"))


def _customer(store) -> int:
    with store.read() as tx:
        return int(tx.scalar("SELECT id FROM customer ORDER BY id LIMIT 1"))


# name -> (permission needed or None for any enabled agent, call(store, actor))
def _no_proposal(store: Any, actor: Any) -> None:
    from agent_console.services.errors import NotFoundError

    try:
        learning.find(store, actor, change_id="0123abcd")
    except NotFoundError:
        pass  # a demo store has no overrides, so no proposals


SCRATCH: dict[str, Path] = {}  # the running test's own folder, for files an entry point writes


CALLS: dict[str, tuple[str | None, Callable[[Any, Any], Any]]] = {
    "hall.issue": (None, lambda s, a: hall.issue(s, a, service="fault", lane="green", phone="13912340000")),
    "hall.open_counter": (None, lambda s, a: _walk_in(s, a)),
    "hall.close_counter": (None, lambda s, a: _walk_in(s, a) and hall.close_counter(s, a, counter="1")),
    "hall.call_next": (None, lambda s, a: _walk_in(s, a)),
    "hall.counter_view": (None, lambda s, a: _walk_in(s, a) and hall.counter_view(s, a, counter="1")),
    "hall.recall": (None, _hall("recall")),
    "hall.start": (None, _hall("start")),
    "hall.finish": (None, _hall("finish", "serving")),
    "hall.hold": (None, _hall("hold")),
    "hall.call_from_hold": (None, _hall("call_from_hold", "hold", counter="1")),
    "hall.no_show": (None, lambda s, a: _walk_in(s, a, "no_show")),
    "hall.undo_no_show": (None, _hall("undo_no_show", "no_show")),
    "hall.transfer": (None, _hall("transfer", service="complaint")),
    "hall.link_ticket": (None, _hall("link_ticket")),
    "hall.guided_contact": (None, _hall("guided_contact")),
    "hall.close_day": (p.EDIT_POLICY, lambda s, a: hall.close_day(s, a, reason="closing")),
    "hall.day_measures": (p.RUN_REPORTS, lambda s, a: hall.day_measures(s, a)),
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
    "contact.holder": (None, lambda s, a: contact.holder(s, a, ticket_id=_ticket(s, a).id)),
    "contact.take_over_notices": (None, lambda s, a: contact.take_over_notices(s, a)),
    "contact.find_ticket": (None, lambda s, a: contact.find_ticket(
        s, a, number=_ticket(s, a).number)),
    "contact.customer_tickets": (None, lambda s, a: contact.customer_tickets(
        s, a, customer_id=_customer(s))),
    "contact.set_resolution": (None, lambda s, a: contact.set_resolution(
        s, a, ticket_id=(t := _ticket(s, a).id), expected_version=_version(s, a, t),
        text="已更换光猫")),
    "contact.resolve": (None, lambda s, a: contact.resolve(
        s, a, ticket_id=(t := _ticket(s, a).id), expected_version=_version(s, a, t),
        resolution="已更换光猫")),
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
    "case_review.propose_case": (None, lambda s, a: case_review.propose_case(
        s, a, ticket_id=_ticket(s, a).id, case=knowledge.check_case(
            s, {"title": "光猫掉线", "symptoms": "掉线", "cause": "老化", "resolution": "更换"}))),
    "case_review.pending_cases": (p.EDIT_KB, lambda s, a: case_review.pending_cases(s, a)),
    "case_review.review_case": (p.EDIT_KB, lambda s, a: case_review.review_case(
        s, a, case_id=case_review.propose_case(
            s, actor_for(s, "a001"), ticket_id=_ticket(s, actor_for(s, "a001")).id,
            case=knowledge.check_case(s, {"title": "光猫掉线", "symptoms": "掉线", "cause": "老化",
                                          "resolution": "更换"})), approve=True)),
    "learning.overrides": (p.EDIT_POLICY, lambda s, a: learning.overrides(s, a)),
    "learning.proposals": (p.EDIT_POLICY, lambda s, a: learning.proposals(s, a)),
    "learning.find": (p.EDIT_POLICY, lambda s, a: _no_proposal(s, a)),
    "learning.accept": (p.EDIT_POLICY, lambda s, a: learning.accept(s, a, change=learning.Change(
        "0123abcd", "keyword", "vas", word="积分", weight=3.0))),
    "learning.reject": (p.EDIT_POLICY, lambda s, a: learning.reject(s, a, change_id="0123abcd")),
    "synonyms.add_group": (p.EDIT_KB, lambda s, a: synonyms.add_group(
        s, a, words=["网络中断", "断线"])),
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
    "privacy.erase_customer": (p.ERASE_PERSONAL_DATA, lambda s, a: privacy.erase_customer(
        s, a, phone=_phone(s), reason="客户申请删除", reference="DSR-1")),
    "privacy.retention_run": (p.EDIT_POLICY, lambda s, a: privacy.retention_run(s, a)),
    "backup.backup": (p.RUN_REPORTS, lambda s, a: backup.backup(
        s, a, to=SCRATCH["dir"] / f"backups-{a.code}")),
    "auth.add_agent": (p.MANAGE_AGENTS, lambda s, a: auth.add_agent(
        s, a, code=f"n{a.code}", name="新人", role="agent", pin="5678")),
    "auth.set_role": (p.MANAGE_AGENTS, lambda s, a: auth.set_role(s, a, code="a002",
                                                                     role="senior")),
    "auth.set_site": (p.MANAGE_AGENTS, lambda s, a: auth.set_site(s, a, code="a002",
                                                                     site="north")),
    "sites.add_site": (p.MANAGE_AGENTS, lambda s, a: sites.add_site(
        s, a, code="west", name_en="West hall", name_zh="西区营业厅", kind="hall")),
    "auth.reset_pin": (p.MANAGE_AGENTS, lambda s, a: auth.reset_pin(s, a, code="a002",
                                                                       pin="2468")),
    "auth.set_active": (p.MANAGE_AGENTS, lambda s, a: auth.set_active(s, a, code="a002",
                                                                         active=False)),
    "auth.bind_os_user": (p.MANAGE_AGENTS, lambda s, a: auth.bind_os_user(
        s, a, code="a002", os_user="seat7")),
    "outage.create_outage": (p.MANAGE_OUTAGES, lambda s, a: outage.create_outage(
        s, a, kind="planned", scope="area", district="静安区")),
    "outage.revise_eta": (p.MANAGE_OUTAGES, lambda s, a: outage.revise_eta(
        s, a, outage_id=1, eta=None, note="待定")),
    "outage.set_status": (p.MANAGE_OUTAGES, lambda s, a: outage.set_status(
        s, a, outage_id=1, status="restoring")),
    "outage.bulk_note": (p.MANAGE_OUTAGES, lambda s, a: outage.bulk_note(
        s, a, outage_id=1, text="抢修进展：熔接中")),
    "outage.preview_sms": (p.MANAGE_OUTAGES, lambda s, a: outage.preview_sms(s, a, outage_id=1)),
    "outage.import_alarms": (p.MANAGE_OUTAGES, lambda s, a: outage.import_alarms(
        s, a, lines=['{"event": "clear", "level": "olt", "olt": "OLT-X"}'])),
    "outage.active_for_customer": (None, lambda s, a: outage.active_for_customer(
        s, a, customer_id=_customer(s))),
    "outage.suggest": (None, lambda s, a: outage.suggest(s, a, text="断网", area="张江路")),
    "outage.answer_contact": (None, lambda s, a: outage.answer_contact(
        s, a, outage_id=1, customer_id=None)),
    "outage.link_ticket": (None, lambda s, a: outage.link_ticket(
        s, a, outage_id=1, ticket_id=_ticket(s, a).id)),
    "outage.get_outage": (None, lambda s, a: outage.get_outage(s, a, outage_id=1)),
    "outage.board": (None, lambda s, a: outage.board(s, a)),
    "sms.outbox": (p.MANAGE_OUTAGES, lambda s, a: sms.outbox(s, a, due=True)),
    "sms.send_due": (p.MANAGE_OUTAGES, lambda s, a: sms.send_due(
        s, a, transport=sms.FileTransport(SCRATCH["dir"] / "sms.jsonl"),
        policy=sms.SmsPolicy(rate_per_minute=5), pause=lambda _: None)),
    "training.runs.assign": (p.RUN_TRAINING, lambda s, a: runs.assign(
        s, a, trainee="a002", scenario_id="roaming_bill_shock")),
    "training.runs.my_assignments": (None, lambda s, a: runs.my_assignments(s, a)),
    "training.runs.start_run": (None, lambda s, a: _run(s, a)),
    "training.runs.abandon_run": (None, lambda s, a: runs.abandon_run(s, a, run_id=_run(s, a))),
    "training.runs.record_move": (None, lambda s, a: runs.record_move(
        s, a, run_id=_run(s, a), second=1.0, move=Said(text="您好"))),
    "training.runs.whisper": (p.RUN_TRAINING, lambda s, a: runs.whisper(
        s, a, run_id=_trainee_run(s), text="先道歉")),
    "training.runs.take_over": (p.RUN_TRAINING, lambda s, a: runs.take_over(
        s, a, run_id=_trainee_run(s))),
    "training.runs.release": (p.RUN_TRAINING, lambda s, a: runs.release(
        s, a, run_id=_trainee_run(s))),
    "training.runs.customer_line": (p.RUN_TRAINING, lambda s, a: _customer_line(s, a)),
    "training.runs.watch": (p.RUN_TRAINING, lambda s, a: runs.watch(
        s, a, run_id=_trainee_run(s))),
    "training.runs.stop_watching": (p.RUN_TRAINING, lambda s, a: runs.stop_watching(
        s, a, run_id=_trainee_run(s))),
    "training.runs.run_head": (None, lambda s, a: runs.run_head(s, a, run_id=_run(s, a))),
    "training.runs.events": (None, lambda s, a: runs.events(s, a, run_id=_run(s, a))),
    "training.runs.finish_run": (None, lambda s, a: runs.finish_run(
        s, a, run_id=_run(s, a), record=_record())),
    "training.runs.results": (None, lambda s, a: runs.results(s, a)),

    "training.runs.certified": (None, lambda s, a: runs.certified(s, a)),
    "training.runs.running": (p.RUN_TRAINING, lambda s, a: runs.running(s, a)),
    "training.runs.run_detail": (None, lambda s, a: runs.run_detail(s, a, run_id=_run(s, a))),
    "kpi.measure": (p.RUN_REPORTS, lambda s, a: kpi.measure(s, a, period="month")),
    "kpi.explain": (p.RUN_REPORTS, lambda s, a: kpi.explain(s, a, name="fcr", period="month")),
    "kpi.wallboard": (p.RUN_REPORTS, lambda s, a: kpi.wallboard(s, a, trend_days=3)),
    "kpi.tickets_of": (p.RUN_REPORTS, lambda s, a: kpi.tickets_of(s, a, ids=[1, 2])),
    "report.monthly_report": (p.RUN_REPORTS, lambda s, a: report.monthly_report(
        s, a, month="2026-11")),
    "report.add_action": (p.RUN_REPORTS, lambda s, a: report.add_action(
        s, a, month="2026-11", text="话术培训", owner="s900", due="2026-12-15")),
    "report.set_action_status": (p.RUN_REPORTS, lambda s, a: report.set_action_status(
        s, a, action_id=1, status="done")),
    "compensation.give_compensation": (None, lambda s, a: compensation.give_compensation(
        s, a, ticket_id=_ticket(s, a).id, kind="points", amount=100)),
    "compensation.decide_compensation": (None, None),  # approval limits: tests/test_supervisor.py
    "compensation.ticket_compensation": (None, lambda s, a: compensation.ticket_compensation(
        s, a, ticket_id=_ticket(s, a).id)),
    "compensation.pending_compensation": (p.RUN_REPORTS,
                                          lambda s, a: compensation.pending_compensation(s, a)),
    "compensation.promise_callback": (None, lambda s, a: compensation.promise_callback(
        s, a, ticket_id=_ticket(s, a).id, due_at=s.clock.now() + timedelta(hours=1))),
    "compensation.complete_callback": (None, lambda s, a: compensation.complete_callback(
        s, a, callback_id=compensation.promise_callback(
            s, a, ticket_id=_ticket(s, a).id, due_at=s.clock.now() + timedelta(hours=1)).id)),
    "compensation.open_callbacks": (None, lambda s, a: compensation.open_callbacks(s, a)),
    "compensation.callbacks_due_soon": (None, lambda s, a: compensation.callbacks_due_soon(s, a)),
    "handover.draft_handover": (None, lambda s, a: handover.draft_handover(s, a, notes="交接")),
    "handover.complete_handover": (None, lambda s, a: handover.complete_handover(
        s, a, handover_id=handover.draft_handover(s, a).id)),
    "handover.acknowledge": (None, None),  # who may acknowledge: tests/test_supervisor.py
    "handover.handover_detail": (None, lambda s, a: handover.handover_detail(
        s, a, handover_id=handover.draft_handover(s, a).id)),
    "handover.my_handovers": (None, lambda s, a: handover.my_handovers(s, a)),
    "handover.unacknowledged": (p.RUN_REPORTS, lambda s, a: handover.unacknowledged(s, a)),
}



def _record():
    from agent_console.services.training.customer import CustomerSim

    sim = CustomerSim(runs.library().get("roaming_bill_shock"), seed=1, lang="zh")
    sim.opening()
    return sim.record


def _run(store, actor) -> int:
    return runs.start_run(store, actor, scenario_id="roaming_bill_shock", lang="zh",
                          opening=_record())


def _customer_line(store, actor) -> int:
    run_id = _trainee_run(store)
    runs.take_over(store, actor_for(store, "t800"), run_id=run_id)
    if actor.code != "t800":
        with store.write() as tx:  # the actor in control, so only the permission decides
            tx.execute("UPDATE training_run SET controller = ? WHERE id = ?", (actor.code, run_id))
    return runs.customer_line(store, actor, run_id=run_id, text="我要投诉")


def _trainee_run(store) -> int:
    return _run(store, actor_for(store, "a002"))


# Service modules inside packages that hold entry points (named "package.module.function").
PACKAGED = ("training.runs",)


def _entry_points() -> tuple[set[str], set[str]]:
    with_actor, without = set(), set()
    names = [info.name for info in pkgutil.iter_modules(services_package.__path__)
             if not info.ispkg]
    for name in [*names, *PACKAGED]:
        info = type("Info", (), {"name": name})
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
def test_entry_point_follows_the_table(demo_store, name, role, tmp_path):
    permission, call = CALLS[name]
    SCRATCH["dir"] = tmp_path
    actor = actor_for(demo_store, AGENT_OF_ROLE[role])
    if permission is None or permission in demo_store.permissions[role]:
        if name == "backup.backup" and not demo_store.is_sqlite:
            with pytest.raises(backup.BackupError, match="pg_dump"):  # the server's own tools
                call(demo_store, actor)
            return
        call(demo_store, actor)
    else:
        with pytest.raises(Refused):
            call(demo_store, actor)
