"""Privacy and accountability: PINs, lockout, roles, masking, reveals, changes, the audit chain."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy
import sqlalchemy.exc

from agent_console.models.vocab import Role
from agent_console.services import audit, auth, customers, knowledge, permissions, tickets
from agent_console.services.errors import Refused as NotAllowedError
from tests.conftest import actor_for

ALL = (permissions.REVEAL_PII, permissions.CHANGE_CUSTOMER, permissions.SEE_OTHER_TEAMS,
       permissions.EDIT_KB, permissions.EDIT_POLICY, permissions.RUN_REPORTS,
       permissions.MANAGE_AGENTS, permissions.RUN_TRAINING, permissions.ERASE_PERSONAL_DATA,
       permissions.MANAGE_OUTAGES, permissions.SEE_OTHER_SITES)
EXPECTED = {
    "agent": set(),
    "senior": {permissions.REVEAL_PII, permissions.SEE_OTHER_TEAMS},
    "supervisor": {permissions.REVEAL_PII, permissions.CHANGE_CUSTOMER, permissions.SEE_OTHER_TEAMS,
                   permissions.SEE_OTHER_SITES, permissions.EDIT_KB, permissions.EDIT_POLICY,
                   permissions.RUN_REPORTS, permissions.MANAGE_OUTAGES},
    "trainer": {permissions.EDIT_POLICY, permissions.RUN_TRAINING},
    "admin": set(ALL),
}
AGENT_OF_ROLE = {"agent": "a001", "senior": "a003", "supervisor": "s900", "trainer": "t800",
                 "admin": "admin"}


def test_the_table_covers_every_role(demo_store):
    for role in Role:
        assert set(demo_store.permissions[role.value]) == EXPECTED[role.value], role


def who(store, role):
    return actor_for(store, AGENT_OF_ROLE[role])


# --- the service layer refuses what the table does not allow, for every role ---------------------

def _customer_of_first_ticket(store):
    with store.read() as tx:
        return tuple(tx.one("SELECT customer_id, number FROM ticket ORDER BY id LIMIT 1"))


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_reveal_is_refused_or_recorded_by_role(demo_store, role):
    customer_id, number = _customer_of_first_ticket(demo_store)
    agent = AGENT_OF_ROLE[role]
    if permissions.REVEAL_PII in EXPECTED[role]:
        value = customers.reveal(demo_store, who(demo_store, role), customer_id=customer_id,
                                 field="phone", reason="核实客户身份", ticket_number=number)
        assert re.fullmatch(r"1\d{10}", value)
        last = audit.export(demo_store, actor_for(demo_store, "admin"))[-1]
        assert (last.action, last.agent_code, last.detail["reason"]) == ("reveal", agent, "核实客户身份")
    else:
        with pytest.raises(NotAllowedError):
            customers.reveal(demo_store, who(demo_store, role), customer_id=customer_id,
                             field="phone", reason="好奇")
        assert not [r for r in audit.export(demo_store, actor_for(demo_store, "admin"))
                    if r.action == "reveal"]


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_customer_change_is_refused_or_logged_by_role(demo_store, role):
    customer_id, _ = _customer_of_first_ticket(demo_store)
    agent = AGENT_OF_ROLE[role]
    change = {"address": "滨江苑 3 幢 502", "phone": "13900001234"}
    if permissions.CHANGE_CUSTOMER in EXPECTED[role]:
        assert customers.change_customer(demo_store, who(demo_store, role),
                                         customer_id=customer_id, changes=change,
                                         reason="客户本人来厅变更") == 2
        with demo_store.read() as tx:
            rows = tx.all("SELECT field, old, new, agent_code, reason FROM customer_change "
                          "ORDER BY id")
        assert [r[0] for r in rows] == ["address", "phone"] and rows[1][2] == "13900001234"
        assert all(r[3] == agent and r[4] == "客户本人来厅变更" for r in rows)
        exported = [r for r in audit.export(demo_store, actor_for(demo_store, "admin"))
                    if r.action == "customer_change"]
        assert exported[-1].detail["new"] == "139****1234"  # masked on the trail itself
    else:
        with pytest.raises(NotAllowedError):
            customers.change_customer(demo_store, who(demo_store, role), customer_id=customer_id,
                                      changes=change, reason="x")
        with demo_store.read() as tx:
            assert tx.scalar("SELECT count(*) FROM customer_change") == 0


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_kb_editing_follows_the_table(demo_store, role):
    case = knowledge.search(demo_store, query="光猫")[0]
    AGENT_OF_ROLE[role]
    if permissions.EDIT_KB in EXPECTED[role]:
        assert knowledge.retire_case(demo_store, who(demo_store, role), case_id=case.id,
                                     retired=True, reason="过时").retired
    else:
        with pytest.raises(NotAllowedError):
            knowledge.retire_case(demo_store, who(demo_store, role), case_id=case.id,
                                  retired=True, reason="过时")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_other_teams_tickets_follow_the_table(demo_store, role):
    """The service decides from the actor alone: the test builds no viewer of its own."""
    from agent_console.db import ts
    from agent_console.services.queue import QueueFilter, QueueReader

    reader = QueueReader(demo_store)
    now = ts(demo_store.clock.now())
    rows = reader.page(QueueFilter(scope="all", view="all"), who(demo_store, role), now_ts=now,
                       limit=1000)
    other_sites = permissions.SEE_OTHER_SITES in EXPECTED[role]
    with demo_store.read() as tx:  # every actor here works at the main site
        every = {r for (r,) in tx.all("SELECT id FROM ticket" if other_sites else
                                      "SELECT id FROM ticket WHERE site = 'main'")}
    if permissions.SEE_OTHER_TEAMS in EXPECTED[role]:
        assert len(rows) == len(every)
    else:
        assert 0 < len(rows) < len(every)
        hidden = every - {r.id for r in rows}
        from agent_console.services.errors import NotFoundError

        with pytest.raises(NotFoundError):
            tickets.ticket_detail(demo_store, who(demo_store, role), ticket_id=min(hidden))


def test_a_reason_is_required(demo_store):
    customer_id, _ = _customer_of_first_ticket(demo_store)
    with pytest.raises(customers.InputError) as refused:
        customers.reveal(demo_store, actor_for(demo_store, "s900"), customer_id=customer_id,
                         field="phone", reason="  ")
    assert refused.value.code == "required"


# --- PINs and lockout --------------------------------------------------------------------------

def test_pins_are_stored_only_as_salted_slow_hashes(demo_store):
    first, second = auth.hash_pin("1111"), auth.hash_pin("1111")
    assert first != second and first.startswith("scrypt$16384$8$1$") and "1111" not in first
    assert auth.check_pin("1111", first) and not auth.check_pin("1112", first)
    assert not auth.check_pin("1111", None)
    with demo_store.read() as tx:
        stored = [h for (h,) in tx.all("SELECT pin_hash FROM agent")]
    assert all(h.startswith("scrypt$") for h in stored)


def test_five_wrong_pins_lock_the_agent_and_the_lock_survives_a_restart(demo_store, clock, tmp_path):
    from agent_console.services.store import open_store

    for _attempt in range(4):
        with pytest.raises(auth.SignInError) as refused:
            auth.sign_in(demo_store, code="a001", pin="0000")
        assert refused.value.reason == "wrong"
    with pytest.raises(auth.SignInError) as refused:
        auth.sign_in(demo_store, code="a001", pin="0000")
    assert refused.value.reason == "locked"
    # A new process on the same store: still locked, even with the right PIN.
    again = open_store(demo_store.url, clock=clock)
    admin = actor_for(again, "admin")
    with pytest.raises(auth.SignInError) as refused:
        auth.sign_in(again, code="a001", pin="1111")
    assert refused.value.reason == "locked"
    clock.advance(timedelta(minutes=5, seconds=1))
    assert auth.sign_in(again, code="a001", pin="1111").code == "a001"
    actions = [r.action for r in audit.export(again, admin)]
    assert actions.count("sign_in_failed") == 6 and "lockout" in actions and actions[-1] == "sign_in"


def test_unknown_and_disabled_agents_are_refused_alike(demo_store):
    with pytest.raises(auth.SignInError) as unknown:
        auth.sign_in(demo_store, code="nobody", pin="1111")
    assert unknown.value.reason == "wrong"
    auth.set_active(demo_store, actor_for(demo_store, "admin"), code="a002", active=False)
    with pytest.raises(auth.SignInError) as disabled:
        auth.sign_in(demo_store, code="a002", pin="1111")
    assert disabled.value.reason == "disabled"


# --- the audit chain -------------------------------------------------------------------------------

def _trail(store):
    """Three acts on the trail; returns the id of the first (the demo wrote some before)."""
    first = audit.verify(store).count + 1
    auth.sign_in(store, code="s900", pin="3333")
    customer_id, number = _customer_of_first_ticket(store)
    boss = actor_for(store, "s900")
    customers.reveal(store, boss, customer_id=customer_id, field="phone", reason="核实身份",
                     ticket_number=number)
    tickets.claim(store, boss, ticket_id=1, expected_version=tickets.ticket_detail(
        store, boss, ticket_id=1).version)
    assert audit.verify(store).count == first + 2
    return first


def test_the_chain_verifies_and_the_table_refuses_edits(demo_store):
    first = _trail(demo_store)
    assert audit.verify(demo_store).ok and first >= 1
    other = sqlalchemy.create_engine(demo_store.url)  # a connection of someone else's
    for sql in ("UPDATE audit_log SET agent_code = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), other.begin() as conn:
            conn.exec_driver_sql(sql)
    other.dispose()


def _tamper(store, *statements):
    """Someone with the database's own tools drops the triggers and changes the trail."""
    other = sqlalchemy.create_engine(store.url)
    on = " ON audit_log" if other.dialect.name == "postgresql" else ""
    with other.begin() as conn:
        conn.exec_driver_sql(f"DROP TRIGGER audit_log_no_update{on}")
        conn.exec_driver_sql(f"DROP TRIGGER audit_log_no_delete{on}")
        for sql in statements:
            conn.exec_driver_sql(sql)
    other.dispose()


def test_verify_catches_an_edited_record(demo_store):
    n = _trail(demo_store) + 1
    _tamper(demo_store,
            f"UPDATE audit_log SET detail = replace(detail, '核实身份', '') WHERE id = {n}")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == n and "altered" in result.problem


def test_verify_catches_a_deleted_record(demo_store):
    n = _trail(demo_store) + 1
    _tamper(demo_store, f"DELETE FROM audit_log WHERE id = {n}")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == n and "missing" in result.problem


def test_verify_catches_a_deleted_last_record(demo_store):
    n = _trail(demo_store) + 2
    _tamper(demo_store, f"DELETE FROM audit_log WHERE id = {n}")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == n


def test_verify_catches_an_inserted_record(demo_store):
    n = _trail(demo_store) + 1
    _tamper(demo_store,
            f"UPDATE audit_log SET id = id + 1000 WHERE id >= {n}",
            "UPDATE audit_log SET id = id - 999 WHERE id >= 1000",
            "INSERT INTO audit_log (id, at, agent_code, action, target, detail, prev_hash, hash) "
            f"SELECT {n}, at, 'ghost', 'sign_in', '', '{{}}', hash, hash FROM audit_log "
            f"WHERE id = {n - 1}")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == n


def test_an_act_and_its_record_land_together(demo_store):
    """A ticket change that conflicts writes no audit record; one that lands writes exactly one."""
    from agent_console.services.store import ConflictError

    me = actor_for(demo_store, "a003")
    before = audit.verify(demo_store).count
    with pytest.raises(ConflictError):
        tickets.claim(demo_store, me, ticket_id=1, expected_version=999)
    assert audit.verify(demo_store).count == before
    version = tickets.ticket_detail(demo_store, me, ticket_id=1).version
    tickets.claim(demo_store, me, ticket_id=1, expected_version=version)
    assert audit.verify(demo_store).count == before + 1
    number = tickets.ticket_detail(demo_store, me, ticket_id=1).number
    assert audit.export(demo_store, actor_for(demo_store, "admin"))[-1].target == f"ticket:{number}"


def test_exports_are_masked_unless_revealed(demo_store):
    customer_id, _ = _customer_of_first_ticket(demo_store)
    admin = actor_for(demo_store, "admin")
    customers.change_customer(demo_store, admin, customer_id=customer_id,
                              changes={"id_number": "110101199001011234"}, reason="证件更新")
    text = json.dumps([r.detail for r in audit.export(demo_store, admin)], ensure_ascii=False)
    assert "110101199001011234" not in text and "110***********1234" in text
    with pytest.raises(NotAllowedError):
        audit.export(demo_store, actor_for(demo_store, "t800"), reveal=True)
    with pytest.raises(NotAllowedError):
        audit.export(demo_store, actor_for(demo_store, "a001"))


def test_admin_and_audit_commands_need_the_role_and_its_pin(demo_store, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "agent-console")
    env = {**os.environ, "AGENT_CONSOLE_NOW": "2026-11-24T02:00:00+00:00"}
    with demo_store.write() as tx:  # the fixture's store was filled by the services: mark it
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('origin', 'demo') "
                   "ON CONFLICT (key) DO NOTHING")

    def run(*args, stdin=""):
        return subprocess.run([exe, *args, "--db", demo_store.url], capture_output=True,
                              text=True, env=env, timeout=120, input=stdin)

    add = ("agent", "add", "z9", "--name", "新人", "--role", "agent", "--pin-stdin")
    assert run(*add, "--agent", "a001", stdin="1111\n5678\n").returncode == 2  # not an admin
    assert run(*add, "--agent", "admin", stdin="0000\n5678\n").returncode == 2  # wrong PIN
    assert run(*add[:-1], "--agent", "admin").returncode == 2  # no PIN, no terminal to ask at
    assert run(*add, "--agent", "admin", stdin="9999\n5678\n").returncode == 0
    assert auth.sign_in(demo_store, code="z9", pin="5678").role == "agent"
    assert run("audit", "export", "--agent", "a001", "--pin-stdin", stdin="1111\n").returncode == 2
    assert run("audit", "export", "--agent", "t800", "--pin-stdin", "--reveal",
               stdin="4444\n").returncode == 2
    shown = run("audit", "export", "--agent", "s900", "--pin-stdin", "--json", stdin="3333\n")
    assert shown.returncode == 0, shown.stderr
    actions = [r["action"] for r in json.loads(shown.stdout)]
    assert "agent_admin" in actions
    again = run("audit", "export", "--agent", "s900", "--pin-stdin", "--json", stdin="3333\n")
    assert "export" in [r["action"] for r in json.loads(again.stdout)]
    assert run("audit", "verify").stdout.startswith("Audit trail OK")
