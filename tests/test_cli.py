"""The installed `agent-console` command, driven as another system or an agent would."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("agent-console", path=str(Path(sys.executable).parent)) or "agent-console"
NOW = "2026-11-24T02:00:00+00:00"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "AGENT_CONSOLE_NOW": NOW, "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=full_env, timeout=60)


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    result = run("demo", "--db", str(path), "--no-open")
    assert result.returncode == 0, result.stderr
    assert "300 tickets" in result.stdout
    return path


def test_help_and_version():
    assert run("--help").returncode == 0
    assert "demo" in run("--help").stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("agent-console 0.")


def test_demo_is_reproducible_with_the_same_seed(tmp_path):
    dumps = []
    for name in ("a.db", "b.db"):
        path = tmp_path / name
        assert run("demo", "--db", str(path), "--no-open", "--tickets", "50", "--seed", "3").returncode == 0
        dumps.append(run("ticket", "list", "--db", str(path), "--json", "--limit", "500").stdout)
    assert dumps[0] == dumps[1] and len(json.loads(dumps[0])) > 10
    other = tmp_path / "c.db"
    run("demo", "--db", str(other), "--no-open", "--tickets", "50", "--seed", "4")
    assert run("ticket", "list", "--db", str(other), "--json", "--limit", "500").stdout != dumps[0]


def test_demo_covers_every_kind_of_ticket(demo_db):
    import sqlite3

    conn = sqlite3.connect(demo_db)
    for column, expected in (("status", 6), ("grade", 3), ("channel", 6), ("work_type", 5),
                             ("category", 11)):
        assert conn.execute(f"SELECT count(DISTINCT {column}) FROM ticket").fetchone()[0] == expected
    tiers = {t for (t,) in conn.execute("SELECT DISTINCT tier FROM customer")}
    assert tiers == {"standard", "silver", "gold", "vip"}
    assert conn.execute("SELECT count(*) FROM customer WHERE green_channel = 1").fetchone()[0] > 0
    roles = {r for (r,) in conn.execute("SELECT DISTINCT role FROM agent")}
    assert roles == {"agent", "senior", "supervisor", "trainer", "admin"}
    now_ts = 1795485600  # NOW
    assert conn.execute("SELECT count(*) FROM ticket WHERE is_open AND due_key <= ?",
                        (now_ts,)).fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM ticket WHERE is_open AND warn_key <= ? AND due_key > ?",
                        (now_ts, now_ts)).fetchone()[0] > 0
    conn.close()


def test_ticket_new_prints_its_number_and_list_shows_it_masked(demo_db):
    created = run("ticket", "new", "--db", str(demo_db), "--phone", "13912345678", "--channel",
                  "hotline", "--type", "complaint", "--category", "billing", "--description",
                  "本月话费多扣 86 元", "--grade", "urgent")
    assert created.returncode == 0, created.stderr
    number = created.stdout.strip()
    assert number.startswith("T261124")
    listing = json.loads(run("ticket", "list", "--db", str(demo_db), "--json", "--status", "new",
                             "--limit", "500").stdout)
    mine = [row for row in listing if row["number"] == number]
    assert mine and mine[0]["phone"] == "139****5678" and mine[0]["grade"] == "urgent"
    assert "13912345678" not in run("ticket", "list", "--db", str(demo_db)).stdout


@pytest.mark.parametrize(("args", "field", "allowed"), [
    (["--channel", "fax"], "channel", "hotline"),
    (["--type", "chat"], "type", "complaint"),
    (["--category", "weather"], "category", "billing"),
    (["--grade", "red"], "grade", "urgent"),
    (["--phone", "12"], "phone", "mobile"),
])
def test_bad_values_give_one_line_naming_field_and_allowed_values(demo_db, args, field, allowed):
    base = {"--phone": "13912345678", "--channel": "hotline", "--type": "fault",
            "--category": "broadband", "--description": "断网"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    flat = [item for pair in base.items() for item in pair]
    result = run("ticket", "new", "--db", str(demo_db), *flat)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and allowed in lines[0]
    assert "Traceback" not in result.stderr


def test_check_reports_schema_and_integrity(demo_db):
    result = run("check", "--db", str(demo_db))
    assert result.returncode == 0
    assert "Schema version" in result.stdout and "ok" in result.stdout


@pytest.mark.parametrize("kind", ["directory", "text", "foreign", "missing-folder"])
def test_bad_store_paths_exit_2_with_one_line_and_leave_the_file(tmp_path, kind):
    import sqlite3

    path = tmp_path / "target.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("hello")
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE x (y)")
        conn.commit()
        conn.close()
    else:
        path = tmp_path / "no" / "such" / "x.db"
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    for args in (["--db", str(path)], ["ticket", "list", "--db", str(path)]):
        result = run(*args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    if before:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_env_var_chooses_the_store_and_lang_switches_output(tmp_path):
    path = tmp_path / "env.db"
    result = run("demo", "--no-open", "--tickets", "20", "--lang", "zh", env={"AGENT_CONSOLE_DB": str(path)})
    assert result.returncode == 0 and path.exists()
    assert "演示数据已生成" in result.stdout
    bad = run("--lang", "fr", "check", env={"AGENT_CONSOLE_DB": str(path)})
    assert bad.returncode == 2 and "en, zh" in bad.stderr


def test_demo_reset_starts_a_fresh_store(tmp_path):
    path = tmp_path / "r.db"
    assert run("demo", "--db", str(path), "--no-open", "--tickets", "20").returncode == 0
    assert run("audit", "export", "--db", str(path), "--agent", "s900", "--my-pin", "3333").returncode == 0
    kept = run("demo", "--db", str(path), "--no-open", "--tickets", "5")
    assert "already holds 20 tickets" in kept.stdout
    assert run("demo", "--db", str(path), "--no-open", "--tickets", "5", "--reset").returncode == 0
    listing = json.loads(run("ticket", "list", "--db", str(path), "--json", "--limit", "100",
                             "--status", "closed").stdout)
    everything = json.loads(run("ticket", "list", "--db", str(path), "--json", "--limit", "100").stdout)
    assert len(listing) + len(everything) <= 5
    assert run("audit", "verify", "--db", str(path)).stdout.startswith("Audit trail OK: 0 records")
