"""The attacks a security officer made on the store, the roles, the PINs and the audit trail,
replayed as they were done (plain sqlite3 on the file, environment variables, parallel
processes, a hostile config dir). Each must fail.

The store is a file or, in the PostgreSQL pass, a database (`make_store`); the attacks with plain
sqlite3 on the file are about the file and run on SQLite only (`sqlite_file`)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent_console.clock import FrozenClock, SystemClock
from agent_console.models.vocab import Role
from agent_console.services import audit, auth
from agent_console.services.audit import Witness
from agent_console.services.errors import InputError, Refused
from agent_console.services.store import open_store
from tests.conftest import NOW, actor_for, make_store, store_location

EXE = str(Path(sys.executable).parent / "agent-console")


def run(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, input=stdin,
                          env={**os.environ, **(env or {})}, timeout=300)


def site_db(tmp_path: Path) -> str:
    """What `--db` takes for the site store."""
    return store_location(tmp_path / "site.db")


def site_store(tmp_path: Path, witness: bool = True):
    """A real (non-demo) store with an admin `root` (PIN 9999) and a plain agent a001 (1111)."""
    store = make_store(tmp_path / "site.db", FrozenClock(NOW))
    auth.add_agent(store, None, code="root", name="Root", role="admin", pin="9999")
    boss = actor_for(store, "root")
    auth.add_agent(store, boss, code="a001", name="Zhang", role="agent", pin="1111", team="t1")
    if witness:
        from dataclasses import replace

        store = replace(store, witness=Witness(tmp_path / "site.db.witness"))
        audit.anchor(store)
    return store


# --- demo never touches a real store ----------------------------------------------------------

@pytest.mark.uses_store
@pytest.mark.parametrize("reset", [False, True])
def test_demo_refuses_a_store_it_did_not_make(tmp_path, reset):
    site_store(tmp_path, witness=False).close()
    path = site_db(tmp_path)
    before = audit.verify(open_store(path, clock=SystemClock())).count
    result = run("demo", "--db", path, "--no-open", *(["--reset"] if reset else []))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "demo" in result.stderr
    store = open_store(path, clock=SystemClock())
    assert audit.verify(store).ok and audit.verify(store).count == before
    with store.read() as tx:
        assert tx.scalar("SELECT count(*) FROM agent WHERE code = 'admin'") == 0


# --- the permission table lives in the store ----------------------------------------------------

@pytest.mark.uses_store
def test_a_hostile_config_dir_cannot_grant_a_role(tmp_path):
    site_store(tmp_path, witness=False).close()
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "permissions.toml").write_text(
        '[permissions]\nmanage_agents = "x"\n[roles]\nagent = ["manage_agents"]\n'
        'admin = ["manage_agents"]\n')
    env = {"AGENT_CONSOLE_CONFIG_DIR": str(hostile)}
    result = run("--db", site_db(tmp_path), "agent", "set-role", "a001", "admin",
                 "--agent", "a001", "--pin-stdin", env=env, stdin="1111\n")
    assert result.returncode == 2 and "manage agents" in result.stderr
    store = open_store(site_db(tmp_path), clock=SystemClock())
    assert actor_for(store, "a001").role == "agent"


@pytest.mark.uses_store
def test_policy_changes_need_the_role_and_are_audited(tmp_path):
    from agent_console.services import site

    store = site_store(tmp_path, witness=False)
    text = site.export_document(store, actor_for(store, "root"), kind="permissions")
    with pytest.raises(Refused):
        site.import_document(store, actor_for(store, "a001"), kind="permissions", text=text)
    changed = text.replace('senior = ["reveal_pii", "see_other_teams"]', 'senior = ["reveal_pii"]')
    store = site.import_document(store, actor_for(store, "root"), kind="permissions", text=changed)
    assert "see_other_teams" not in store.permissions["senior"]
    last = audit.export(store, actor_for(store, "root"))[-1]
    assert last.action == "policy_change" and last.detail["after"] == changed


# --- the clock ----------------------------------------------------------------------------------

@pytest.mark.uses_store
def test_a_frozen_clock_from_the_environment_is_ignored_on_a_real_store(tmp_path):
    store = site_store(tmp_path, witness=False)
    store.close()
    path = site_db(tmp_path)
    for _ in range(5):
        run("--db", path, "ticket", "list", "--agent", "root", "--pin-stdin", stdin="0000\n")
    future = {"AGENT_CONSOLE_NOW": "2030-01-01T00:00:00+00:00"}
    result = run("--db", path, "ticket", "list", "--agent", "root", "--pin-stdin",
                 env=future, stdin="9999\n")
    assert result.returncode == 2 and "locked" in result.stderr  # the lock still holds
    backdate = {"AGENT_CONSOLE_NOW": "2020-01-01T00:00:00+00:00"}
    run("--db", path, "ticket", "list", "--agent", "nobody", "--pin-stdin", env=backdate,
        stdin="1\n")
    with open_store(path, clock=SystemClock()).read() as tx:
        years = {str(at)[:4] for (at,) in tx.all("SELECT at FROM audit_log")}
    assert "2020" not in years and "2030" not in years


@pytest.mark.uses_store
def test_verify_flags_a_record_whose_time_runs_backwards(tmp_path):
    store = site_store(tmp_path, witness=False)
    store.clock.set(NOW.replace(year=2020))
    audit.record(store, agent="a001", action="sign_in")
    result = audit.verify(store)
    assert not result.ok and "dated before" in result.problem


# --- passwordless sign-in trusts the process, not the environment -------------------------------

@pytest.mark.uses_store
def test_logname_does_not_choose_the_bound_agent(tmp_path, monkeypatch):
    store = site_store(tmp_path, witness=False)
    auth.bind_os_user(store, actor_for(store, "root"), code="root", os_user="zhang")
    monkeypatch.setenv("LOGNAME", "zhang")
    monkeypatch.setenv("USER", "zhang")
    assert auth.process_os_user() != "zhang"
    assert auth.sign_in_os_user(store) is None


# --- the lockout holds against parallel guesses ----------------------------------------------

@pytest.mark.uses_store
def test_parallel_guesses_check_no_more_pins_than_the_lockout_allows(tmp_path, monkeypatch):
    store = site_store(tmp_path, witness=False)
    checked = []
    real = auth.check_pin

    def counting(pin, stored):
        if stored is not None:
            checked.append(pin)
        return real(pin, stored)

    monkeypatch.setattr(auth, "check_pin", counting)
    guesses = [f"{n:04d}" for n in range(39)] + ["9999"]

    def guess(pin: str) -> str:
        try:
            auth.sign_in(store, code="root", pin=pin)
            return "in"
        except auth.SignInError as exc:
            return exc.reason

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(guess, guesses))
    assert len(checked) <= auth.LockoutPolicy().attempts
    assert results.count("in") <= (1 if "9999" in checked else 0)


@pytest.mark.uses_store
def test_the_lockout_says_when_it_ends_and_how_many_tries_remain(tmp_path):
    store = site_store(tmp_path, witness=False)
    with pytest.raises(auth.SignInError) as first:
        auth.sign_in(store, code="a001", pin="0000")
    assert first.value.left == 4
    for _ in range(4):
        with pytest.raises(auth.SignInError) as last:
            auth.sign_in(store, code="a001", pin="0000")
    assert last.value.reason == "locked" and last.value.until > NOW


# --- the last admin ----------------------------------------------------------------------------

@pytest.mark.uses_store
def test_the_last_admin_cannot_be_disabled_or_demoted(tmp_path):
    store = site_store(tmp_path, witness=False)
    root = actor_for(store, "root")
    for change in (lambda: auth.set_active(store, root, code="root", active=False),
                   lambda: auth.set_role(store, root, code="root", role="agent")):
        with pytest.raises(InputError) as refused:
            change()
        assert refused.value.code == "last_admin"
    assert actor_for(store, "root").role == "admin"


@pytest.mark.uses_store
def test_no_bootstrap_once_a_store_had_an_admin(tmp_path):
    store = site_store(tmp_path, witness=False)
    with store.write() as tx:  # the admin is disabled behind our back, with plain SQL
        tx.execute("UPDATE agent SET active = 0 WHERE code = 'root'")
    assert not auth.bootstrap_open(store)
    with pytest.raises(InputError):
        auth.add_agent(store, None, code="evil", name="Evil", role="admin", pin="1234")
    with pytest.raises(InputError):
        auth.set_role(store, None, code="a001", role="admin")
    result = run("--db", site_db(tmp_path), "agent", "set-role", "a001", "admin",
                 "--agent", "a001", "--pin-stdin", stdin="1111\n")
    assert result.returncode == 2


@pytest.mark.uses_store
def test_a_pin_is_never_taken_from_the_command_line(tmp_path):
    site_store(tmp_path, witness=False).close()
    result = run("--db", site_db(tmp_path), "agent", "list", "--agent", "root",
                 "--my-pin", "9999")
    assert result.returncode == 2 and "--my-pin" in result.stderr


# --- the trail is anchored outside the store ---------------------------------------------------

def _tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _restore_triggers(path: Path) -> None:
    from agent_console.db import SQLITE_EXTRAS

    conn = sqlite3.connect(path)
    for statement in SQLITE_EXTRAS[1:]:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _rehash_all(path: Path) -> None:
    """What an attacker with the source does: recompute every hash after an edit."""
    conn = sqlite3.connect(path)
    prev = audit.GENESIS
    rows = conn.execute("SELECT id, at, agent_code, action, target, detail FROM audit_log "
                        "ORDER BY id").fetchall()
    for record_id, at, agent, action, target, detail in rows:
        digest = audit._digest(prev, record_id, at, agent, action, target, detail)
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                     (prev, digest, record_id))
        prev = digest
    conn.execute("UPDATE audit_head SET last_id = ?, last_hash = ?", (len(rows), prev))
    conn.commit()
    conn.close()


@pytest.mark.sqlite_file  # plain sqlite3 on the file; on PostgreSQL see test_postgres
@pytest.mark.parametrize("attack", ["cut_tail_and_head", "delete_everything", "delete_head_row",
                                    "edit_and_rehash", "reorder_and_rehash", "drop_trigger",
                                    "blob_in_a_field", "drop_table", "text_id"])
def test_verify_catches_tampering_that_the_chain_alone_misses(tmp_path, attack):
    store = site_store(tmp_path, witness=True)
    for n in range(4):
        audit.record(store, agent="a001", action="sign_in", detail={"n": n})
    assert audit.verify(store).ok
    path = tmp_path / "site.db"
    conn = sqlite3.connect(path)
    last_id = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    conn.close()
    if attack == "cut_tail_and_head":
        prev = sqlite3.connect(path).execute("SELECT hash FROM audit_log WHERE id = ?",
                                             (last_id - 2,)).fetchone()[0]
        _tamper(path, f"DELETE FROM audit_log WHERE id > {last_id - 2}",
                f"UPDATE audit_head SET last_id = {last_id - 2}, last_hash = '{prev}'")
        _restore_triggers(path)
    elif attack == "delete_everything":
        _tamper(path, "DELETE FROM audit_log", "DELETE FROM audit_head")
        _restore_triggers(path)
    elif attack == "delete_head_row":
        _tamper(path, "DELETE FROM audit_head")
        _restore_triggers(path)
    elif attack == "edit_and_rehash":
        _tamper(path, "UPDATE audit_log SET agent_code = 'someone' WHERE id = 3")
        _rehash_all(path)
        _restore_triggers(path)
    elif attack == "reorder_and_rehash":
        _tamper(path, "UPDATE audit_log SET id = -1 WHERE id = 2",
                "UPDATE audit_log SET id = 2 WHERE id = 3", "UPDATE audit_log SET id = 3 WHERE id = -1")
        _rehash_all(path)
        _restore_triggers(path)
    elif attack == "drop_trigger":
        _tamper(path)
    elif attack == "blob_in_a_field":
        _tamper(path, "UPDATE audit_log SET detail = x'00ff' WHERE id = 2")
    elif attack == "drop_table":
        _tamper(path, "DROP TABLE audit_log")
    elif attack == "text_id":
        _tamper(path, "UPDATE audit_log SET at = 12345 WHERE id = 2")
    result = audit.verify(store)
    assert not result.ok, attack
    assert result.problem and "Traceback" not in result.problem


@pytest.mark.uses_store
def test_anchor_writes_the_head_and_verify_names_the_witness(tmp_path):
    store = site_store(tmp_path, witness=True)
    head = audit.anchor(store)
    lines = (tmp_path / "site.db.witness").read_text().splitlines()
    assert json.loads(lines[-1])["id"] == head[0] and json.loads(lines[-1])["hash"] == head[1]
    (tmp_path / "site.db.witness").write_text("not json\n")
    assert "witness" in audit.verify(store).problem


@pytest.mark.sqlite_file  # drops the table with plain sqlite3 on the file
def test_audit_verify_never_crashes_from_the_shell(tmp_path):
    site_store(tmp_path, witness=True).close()
    _tamper(tmp_path / "site.db", "DROP TABLE audit_log")
    result = run("--db", str(tmp_path / "site.db"), "audit", "verify")
    said = result.stderr + result.stdout
    assert result.returncode in (1, 2) and "Traceback" not in said and "tables" in said


# --- customer numbers --------------------------------------------------------------------------

@pytest.mark.parametrize("phone", ["١٣٨١٢٣٤٥٦٧٨", "१३८१२३४५६७८", "138123456７８x"])
def test_only_ascii_or_full_width_digits_make_a_number(phone):
    from agent_console.services import validation

    with pytest.raises(InputError):
        validation.phone("phone", phone)
    assert validation.phone("phone", "１３８１２３４５６７８") == "13812345678"


@pytest.mark.uses_store
def test_customer_changes_keep_only_masked_numbers_on_the_trail(tmp_path):
    from agent_console.services import customers

    store = site_store(tmp_path, witness=False)
    with store.write() as tx:
        tx.execute("INSERT INTO customer (name, phone, tier, created_at) VALUES "
                   "('王芳', '13812345678', 'standard', '2026-11-01 00:00:00.000000')")
    customers.change_customer(store, actor_for(store, "root"), customer_id=1,
                              changes={"phone": "13900001234", "id_number": "110101199003074512"},
                              reason="客户本人来厅变更")
    with store.read() as tx:
        trail = " ".join(detail for (detail,) in tx.all("SELECT detail FROM audit_log"))
    assert "13900001234" not in trail and "110101199003074512" not in trail
    assert "139****1234" in trail


# --- store files -------------------------------------------------------------------------------

@pytest.mark.sqlite_file  # a mistyped file name
def test_check_does_not_create_a_store_for_a_mistyped_path(tmp_path):
    result = run("--db", str(tmp_path / "tpyo.db"), "check")
    assert result.returncode == 2 and list(tmp_path.iterdir()) == []
    assert "no such store" in result.stderr


@pytest.mark.sqlite_file  # drops the table with plain sqlite3 on the file
def test_check_reports_dropped_tables_and_never_crashes(tmp_path):
    site_store(tmp_path, witness=False).close()
    _tamper(tmp_path / "site.db", "DROP TABLE customer_change")
    result = run("--db", str(tmp_path / "site.db"), "check")
    assert result.returncode == 1 and "customer_change" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.sqlite_file  # files that are not stores; on PostgreSQL a foreign database: test_postgres
@pytest.mark.parametrize("kind", ["empty", "foreign-with-our-mark"])
def test_files_that_are_not_stores_are_refused_without_a_trace(tmp_path, kind):
    from agent_console.db import APPLICATION_ID

    path = tmp_path / "x.db"
    if kind == "empty":
        path.write_bytes(b"")
    else:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE songs (title TEXT)")
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute("PRAGMA user_version=5")
        conn.commit()
        conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = run("--db", str(path), "ticket", "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]


def test_every_role_is_known_to_the_shipped_table():
    from agent_console.services import permissions

    table = permissions.shipped_table()
    assert {r.value for r in Role} == set(table)


@pytest.mark.uses_store
@pytest.mark.parametrize("field", ["--description", "--name"])
def test_invalid_utf8_names_the_field(tmp_path, field):
    site_store(tmp_path, witness=False).close()
    args = {"--phone": "13912345678", "--channel": "hotline", "--type": "fault",
            "--category": "broadband", "--description": "断网", "--name": "王芳"}
    argv = [EXE.encode(), b"--db", site_db(tmp_path).encode(), b"ticket", b"new",
            b"--agent", b"a001", b"--pin-stdin"]
    for flag, value in args.items():
        argv += [flag.encode(), b"\xff\xfe" if flag == field else value.encode()]
    result = subprocess.run(argv, capture_output=True, input=b"1111\n", timeout=120)
    err = result.stderr.decode()
    assert result.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1
    assert field.strip("-").capitalize()[:4] in err


@pytest.mark.sqlite_file  # overwrites the file's pages
def test_a_damaged_store_gets_one_line_not_a_traceback(tmp_path):
    site_store(tmp_path, witness=False).close()
    path = tmp_path / "site.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    size = len(data) // pages
    for page in range(2, pages):  # every page but the schema's
        data[page * size + 8:page * size + size // 2] = b"\x07" * (size // 2 - 8)
    path.write_bytes(bytes(data))
    for args in (["ticket", "list"], ["check"], ["audit", "verify"]):
        result = run("--db", str(path), *args, "--agent", "a001", "--pin-stdin", stdin="1111\n") \
            if args[0] == "ticket" else run("--db", str(path), *args)
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr, (args, result)
