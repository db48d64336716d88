"""Privacy and accountability: PINs, lockout, roles, masking, reveals, changes, the audit chain."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta

import pytest

from agent_console.models.vocab import Role
from agent_console.services import audit, auth, customers, knowledge, permissions, tickets
from agent_console.services.permissions import NotAllowedError

ALL = (permissions.REVEAL_PII, permissions.CHANGE_CUSTOMER, permissions.SEE_OTHER_TEAMS,
       permissions.EDIT_KB, permissions.EDIT_POLICY, permissions.RUN_REPORTS,
       permissions.MANAGE_AGENTS, permissions.RUN_TRAINING)
EXPECTED = {
    "agent": set(),
    "senior": {permissions.REVEAL_PII, permissions.SEE_OTHER_TEAMS},
    "supervisor": {permissions.REVEAL_PII, permissions.CHANGE_CUSTOMER, permissions.SEE_OTHER_TEAMS,
                   permissions.EDIT_KB, permissions.EDIT_POLICY, permissions.RUN_REPORTS},
    "trainer": {permissions.EDIT_POLICY, permissions.RUN_TRAINING},
    "admin": set(ALL),
}
AGENT_OF_ROLE = {"agent": "a001", "senior": "a003", "supervisor": "s900", "trainer": "t800",
                 "admin": "admin"}


def test_the_table_covers_every_role():
    for role in Role:
        assert set(permissions.permissions_of(role)) == EXPECTED[role.value], role


# --- the service layer refuses what the table does not allow, for every role ---------------------

def _customer_of_first_ticket(store):
    with store.connection() as conn:
        return conn.execute("SELECT customer_id, number FROM ticket ORDER BY id LIMIT 1").fetchone()


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_reveal_is_refused_or_recorded_by_role(demo_store, role):
    customer_id, number = _customer_of_first_ticket(demo_store)
    agent = AGENT_OF_ROLE[role]
    if permissions.REVEAL_PII in EXPECTED[role]:
        value = customers.reveal(demo_store, agent=agent, customer_id=customer_id, field="phone",
                                 reason="核实客户身份", ticket_number=number)
        assert re.fullmatch(r"1\d{10}", value)
        last = list(audit.export(demo_store))[-1]
        assert (last.action, last.agent_code, last.detail["reason"]) == ("reveal", agent, "核实客户身份")
    else:
        with pytest.raises(NotAllowedError):
            customers.reveal(demo_store, agent=agent, customer_id=customer_id, field="phone",
                             reason="好奇")
        assert not [r for r in audit.export(demo_store) if r.action == "reveal"]


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_customer_change_is_refused_or_logged_by_role(demo_store, role):
    customer_id, _ = _customer_of_first_ticket(demo_store)
    agent = AGENT_OF_ROLE[role]
    change = {"address": "滨江苑 3 幢 502", "phone": "13900001234"}
    if permissions.CHANGE_CUSTOMER in EXPECTED[role]:
        assert customers.change_customer(demo_store, agent=agent, customer_id=customer_id,
                                         changes=change, reason="客户本人来厅变更") == 2
        with demo_store.connection() as conn:
            rows = conn.execute("SELECT field, old, new, agent_code, reason FROM customer_change "
                                "ORDER BY id").fetchall()
        assert [r[0] for r in rows] == ["address", "phone"] and rows[1][2] == "13900001234"
        assert all(r[3] == agent and r[4] == "客户本人来厅变更" for r in rows)
        exported = [r for r in audit.export(demo_store) if r.action == "customer_change"]
        assert exported[-1].detail["new"] == "139****1234"  # masked in an export
    else:
        with pytest.raises(NotAllowedError):
            customers.change_customer(demo_store, agent=agent, customer_id=customer_id,
                                      changes=change, reason="x")
        with demo_store.connection() as conn:
            assert conn.execute("SELECT count(*) FROM customer_change").fetchone()[0] == 0


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_kb_editing_follows_the_table(demo_store, role):
    case = knowledge.search(demo_store, query="光猫")[0]
    agent = AGENT_OF_ROLE[role]
    if permissions.EDIT_KB in EXPECTED[role]:
        assert knowledge.retire_case(demo_store, case_id=case.id, author=agent).retired
    else:
        with pytest.raises(NotAllowedError):
            knowledge.retire_case(demo_store, case_id=case.id, author=agent)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_other_teams_tickets_follow_the_table(demo_store, role):
    from agent_console.db import ts
    from agent_console.services.directory import find_agent
    from agent_console.services.queue import QueueFilter, QueueReader, Viewer

    me = find_agent(demo_store, AGENT_OF_ROLE[role])
    viewer = Viewer(me.id, me.team, me.department,
                    see_all=permissions.can(role, permissions.SEE_OTHER_TEAMS))
    reader = QueueReader(demo_store.path)
    try:
        rows = reader.page(QueueFilter(scope="all"), viewer, now_ts=ts(demo_store.clock.now()),
                           limit=1000)
        total = reader.count(QueueFilter(), Viewer(None), now_ts=ts(demo_store.clock.now()))
    finally:
        reader.close()
    if permissions.SEE_OTHER_TEAMS in EXPECTED[role]:
        assert len(rows) == total
    else:
        assert len(rows) < total


def test_a_reason_is_required(demo_store):
    customer_id, _ = _customer_of_first_ticket(demo_store)
    with pytest.raises(customers.InputError) as refused:
        customers.reveal(demo_store, agent="s900", customer_id=customer_id, field="phone",
                         reason="  ")
    assert refused.value.code == "required"


# --- PINs and lockout --------------------------------------------------------------------------

def test_pins_are_stored_only_as_salted_slow_hashes(demo_store):
    first, second = auth.hash_pin("1111"), auth.hash_pin("1111")
    assert first != second and first.startswith("scrypt$16384$8$1$") and "1111" not in first
    assert auth.check_pin("1111", first) and not auth.check_pin("1112", first)
    assert not auth.check_pin("1111", None)
    with demo_store.connection() as conn:
        stored = [h for (h,) in conn.execute("SELECT pin_hash FROM agent")]
    assert all(h.startswith("scrypt$") for h in stored)


def test_five_wrong_pins_lock_the_agent_and_the_lock_survives_a_restart(demo_store, clock, tmp_path):
    from tests.conftest import make_store

    for attempt in range(4):
        with pytest.raises(auth.SignInError) as refused:
            auth.sign_in(demo_store, code="a001", pin="0000")
        assert refused.value.reason == "wrong"
    with pytest.raises(auth.SignInError) as refused:
        auth.sign_in(demo_store, code="a001", pin="0000")
    assert refused.value.reason == "locked"
    # A new process on the same store: still locked, even with the right PIN.
    again = make_store(demo_store.path, clock)
    with pytest.raises(auth.SignInError) as refused:
        auth.sign_in(again, code="a001", pin="1111")
    assert refused.value.reason == "locked"
    clock.advance(timedelta(minutes=5, seconds=1))
    assert auth.sign_in(again, code="a001", pin="1111").code == "a001"
    actions = [r.action for r in audit.export(again)]
    assert actions.count("sign_in_failed") == 6 and "lockout" in actions and actions[-1] == "sign_in"


def test_unknown_and_disabled_agents_are_refused_alike(demo_store):
    with pytest.raises(auth.SignInError) as unknown:
        auth.sign_in(demo_store, code="nobody", pin="1111")
    assert unknown.value.reason == "wrong"
    auth.set_active(demo_store, by="admin", code="a002", active=False)
    with pytest.raises(auth.SignInError) as disabled:
        auth.sign_in(demo_store, code="a002", pin="1111")
    assert disabled.value.reason == "disabled"


# --- the audit chain -------------------------------------------------------------------------------

def _trail(store):
    auth.sign_in(store, code="s900", pin="3333")
    customer_id, number = _customer_of_first_ticket(store)
    customers.reveal(store, agent="s900", customer_id=customer_id, field="phone", reason="核实身份",
                     ticket_number=number)
    tickets.add_note(store, ticket_id=1, text="x", by="s900")
    tickets.claim(store, ticket_id=1, expected_version=tickets.ticket_detail(
        store, ticket_id=1).version, by="s900")
    return audit.verify(store)


def test_the_chain_verifies_and_the_table_refuses_edits(demo_store):
    result = _trail(demo_store)
    assert result.ok and result.count == 3
    conn = sqlite3.connect(demo_store.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit_log SET agent_code = 'x' WHERE id = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE id = 1")
    conn.close()


def _tamper(path, *statements):
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def test_verify_catches_an_edited_record(demo_store):
    _trail(demo_store)
    _tamper(demo_store.path, "UPDATE audit_log SET detail = replace(detail, '核实身份', '') WHERE id = 2")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == 2 and "altered" in result.problem


def test_verify_catches_a_deleted_record(demo_store):
    _trail(demo_store)
    _tamper(demo_store.path, "DELETE FROM audit_log WHERE id = 2")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == 2 and "missing" in result.problem


def test_verify_catches_a_deleted_last_record(demo_store):
    _trail(demo_store)
    _tamper(demo_store.path, "DELETE FROM audit_log WHERE id = 3")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == 3


def test_verify_catches_an_inserted_record(demo_store):
    _trail(demo_store)
    _tamper(demo_store.path,
            "UPDATE audit_log SET id = id + 1000 WHERE id >= 2",
            "UPDATE audit_log SET id = id - 999 WHERE id >= 1000",
            "INSERT INTO audit_log (id, at, agent_code, action, target, detail, prev_hash, hash) "
            "SELECT 2, at, 'ghost', 'sign_in', '', '{}', hash, hash FROM audit_log WHERE id = 1")
    result = audit.verify(demo_store)
    assert not result.ok and result.first_bad_id == 2


def test_an_act_and_its_record_land_together(demo_store):
    """A ticket change that conflicts writes no audit record; one that lands writes exactly one."""
    from agent_console.services.store import ConflictError

    before = audit.verify(demo_store).count
    with pytest.raises(ConflictError):
        tickets.claim(demo_store, ticket_id=1, expected_version=999, by="a001")
    assert audit.verify(demo_store).count == before
    version = tickets.ticket_detail(demo_store, ticket_id=1).version
    tickets.claim(demo_store, ticket_id=1, expected_version=version, by="a001")
    assert audit.verify(demo_store).count == before + 1
    assert list(audit.export(demo_store))[-1].target == f"ticket:{tickets.ticket_detail(demo_store, ticket_id=1).number}"


def test_exports_are_masked_unless_revealed(demo_store):
    customer_id, _ = _customer_of_first_ticket(demo_store)
    customers.change_customer(demo_store, agent="admin", customer_id=customer_id,
                              changes={"id_number": "110101199001011234"}, reason="证件更新")
    text = json.dumps([r.detail for r in audit.export(demo_store)], ensure_ascii=False)
    assert "110101199001011234" not in text and "110***********1234" in text
    full = json.dumps([r.detail for r in audit.export(demo_store, reveal=True)], ensure_ascii=False)
    assert "110101199001011234" in full


def test_admin_and_audit_commands_need_the_role_and_its_pin(demo_store, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).parent / "agent-console")
    env = {**os.environ, "AGENT_CONSOLE_NOW": "2026-11-24T02:00:00+00:00"}

    def run(*args):
        return subprocess.run([exe, *args, "--db", str(demo_store.path)], capture_output=True,
                              text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)

    add = ("agent", "add", "z9", "--name", "新人", "--role", "agent", "--pin", "5678")
    assert run(*add, "--agent", "a001", "--my-pin", "1111").returncode == 2  # not an admin
    assert run(*add, "--agent", "admin", "--my-pin", "0000").returncode == 2  # wrong PIN
    assert run(*add, "--agent", "admin").returncode == 2  # no PIN, no terminal to ask at
    assert run(*add, "--agent", "admin", "--my-pin", "9999").returncode == 0
    assert auth.sign_in(demo_store, code="z9", pin="5678").role == "agent"
    assert run("audit", "export", "--agent", "a001", "--my-pin", "1111").returncode == 2
    assert run("audit", "export", "--agent", "t800", "--my-pin", "4444", "--reveal").returncode == 2
    shown = run("audit", "export", "--agent", "s900", "--my-pin", "3333", "--json")
    assert shown.returncode == 0
    actions = [r["action"] for r in json.loads(shown.stdout)]
    assert "agent_admin" in actions and "export" in actions
    assert run("audit", "verify").stdout.startswith("Audit trail OK")
