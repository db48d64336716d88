"""Backups of a live store: taken while another process writes, checked, restored whole."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

# Backups of a store file; a server's backups are the server's own (pg_dump, point-in-time
# recovery), so these run on SQLite only.
pytestmark = pytest.mark.sqlite_file

EXE = str(Path(sys.executable).parent / "agent-console")

WRITER = """
import sys, time
from agent_console.clock import SystemClock
from agent_console.services import tickets
from agent_console.services.directory import actor
from agent_console.services.store import open_store
store = open_store(sys.argv[1], clock=SystemClock())
me = actor(store, "a001")
n = 0
while True:
    tickets.create_ticket(store, me, phone=f"1370000{n:04d}", channel="hotline",
                          work_type="fault", category="broadband", description=f"断网 {n}")
    print(n, flush=True)
    n += 1
"""


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, input=stdin, timeout=300)


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "hall.db"
    assert run("demo", "--db", str(path), "--no-open", "--tickets", "50").returncode == 0
    return path


def _numbers(path: Path) -> set[str]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {n for (n,) in conn.execute("SELECT number FROM ticket")}
    finally:
        conn.close()


def test_backup_while_another_process_writes_then_restore(store_file, tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store_file)],
                              stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(20):  # wait until the writer has committed twenty tickets
            assert writer.stdout.readline(), "the writer stopped"
        before = _numbers(store_file)  # committed before the backup starts
        taken = run("--db", str(store_file), "backup", "--to", str(tmp_path / "b"),
                    "--agent", "s900", "--pin-stdin", stdin="3333\n")
        assert taken.returncode == 0, taken.stderr
        assert writer.poll() is None  # it kept writing throughout
    finally:
        writer.kill()
        writer.wait()
    copy = next((tmp_path / "b").glob("*.db"))
    manifest = json.loads(copy.with_suffix(".json").read_text())
    assert manifest["counts"]["ticket"] >= len(before)
    restored = tmp_path / "restored.db"
    result = run("restore", str(copy), "--db", str(restored))
    assert result.returncode == 0, result.stderr
    assert "Audit trail OK" in result.stdout
    assert before <= _numbers(restored)
    assert run("--db", str(restored), "audit", "verify").returncode == 0
    assert run("--db", str(store_file), "audit", "verify").returncode == 0  # backup is audited


def test_restore_checks_the_copy_first_and_never_overwrites_a_store_in_use(store_file, tmp_path):
    assert run("--db", str(store_file), "backup", "--to", str(tmp_path / "b"), "--agent", "s900",
               "--pin-stdin", stdin="3333\n").returncode == 0
    copy = next((tmp_path / "b").glob("*.db"))
    assert run("restore", str(copy), "--db", str(store_file)).returncode == 2  # no --replace
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time; "
                               "c = sqlite3.connect(sys.argv[1]); c.execute('select 1'); "
                               "print('open', flush=True); time.sleep(600)", str(store_file)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        busy = run("restore", str(copy), "--db", str(store_file), "--replace")
        assert busy.returncode == 2 and "in use" in busy.stderr
    finally:
        holder.kill()
        holder.wait()
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(copy.read_bytes()[:-10] + b"0123456789")
    damaged.with_suffix(".json").write_text(copy.with_suffix(".json").read_text())
    refused = run("restore", str(damaged), "--db", str(tmp_path / "x.db"))
    assert refused.returncode == 2 and not (tmp_path / "x.db").exists()


def test_backups_keep_the_newest_and_a_plain_agent_may_not_take_one(store_file, tmp_path):
    for _ in range(3):
        assert run("--db", str(store_file), "backup", "--to", str(tmp_path / "b"), "--keep", "2",
                   "--agent", "s900", "--pin-stdin", stdin="3333\n").returncode == 0
    assert len(list((tmp_path / "b").glob("*.db"))) == 2
    refused = run("--db", str(store_file), "backup", "--to", str(tmp_path / "c"), "--agent",
                  "a001", "--pin-stdin", stdin="1111\n")
    assert refused.returncode == 2 and not (tmp_path / "c").exists()


def test_the_console_takes_its_own_backups_once_between_several_consoles(tmp_path):
    from datetime import timedelta

    from agent_console.clock import FrozenClock
    from agent_console.services import housekeeping
    from agent_console.services.store import open_store
    from tests.conftest import NOW

    path = tmp_path / "s.db"
    first = open_store(path, clock=FrozenClock(NOW))
    second = open_store(path, clock=first.clock)
    schedule = housekeeping.Schedule(backup_every_hours=24, backup_dir=str(tmp_path / "b"),
                                     retention_daily=True)
    assert housekeeping.run_due(first, schedule) == ["backup", "retention"]
    assert housekeeping.run_due(second, schedule) == []  # the other console already did
    first.clock.advance(timedelta(hours=25))
    assert housekeeping.run_due(second, schedule) == ["backup", "retention"]
    assert len(list((tmp_path / "b").glob("*.db"))) == 2
    assert housekeeping.last_run(first, "backup") == NOW + timedelta(hours=25)
