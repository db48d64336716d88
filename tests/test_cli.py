"""The installed `agent-console` command, driven as another system or an agent would."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DB
from tests.e2e_pty import make_demo_store, stored_rows

EXE = shutil.which("agent-console", path=str(Path(sys.executable).parent)) or "agent-console"
NOW = "2026-11-24T02:00:00+00:00"
PINS = {"a001": "1111", "s900": "3333", "admin": "9999"}


def run(*args: str, env: dict[str, str] | None = None, stdin: str = "",
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "AGENT_CONSOLE_NOW": NOW, "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=full_env,
                          input=stdin, timeout=timeout)


def as_agent(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """A command run by agent `code`, who gives their PIN on standard input."""
    return run(*args, "--agent", code, "--pin-stdin", stdin=PINS[code] + "\n", **kwargs)


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = run("demo", "--db", str(path), "--no-open")
    assert result.returncode == 0, result.stderr
    assert "300 tickets" in result.stdout
    return path


@pytest.fixture
def demo_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A 300-ticket demo store for this test: what `--db` takes (a file, or in the PostgreSQL
    pass a database)."""
    if TEST_DB == "postgresql":
        env = {**os.environ, "AGENT_CONSOLE_NOW": NOW, "LANG": "C.UTF-8"}
        return make_demo_store(tmp_path / "demo.db", env, tickets=300)
    demo_template = request.getfixturevalue("demo_template")
    path = tmp_path / "demo.db"
    conn = sqlite3.connect(demo_template)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copy(demo_template, path)
    return path


def test_help_and_version():
    assert run("--help").returncode == 0
    assert "demo" in run("--help").stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("agent-console 0.")


def test_help_lists_the_allowed_values():
    new = run("ticket", "new", "--help").stdout
    for value in ("hotline", "hall", "complaint", "consultation", "urgent", "general"):
        assert value in new
    assert "follow_up" not in new  # only the app makes follow-ups
    assert "new,list" in run("ticket", "list", "--help").stdout.replace(" ", "") or \
        "--status" in run("ticket", "list", "--help").stdout
    assert "supervisor" in run("agent", "add", "--help").stdout
    bare = run("ticket")
    assert bare.returncode == 2 and "ticket_command" not in bare.stderr and "new" in bare.stderr


def test_demo_is_reproducible_with_the_same_seed(tmp_path):
    dumps = []
    for name in ("a.db", "b.db"):
        path = tmp_path / name
        assert run("demo", "--db", str(path), "--no-open", "--tickets", "50", "--seed", "3").returncode == 0
        dumps.append(as_agent("s900", "ticket", "list", "--db", str(path), "--json",
                              "--limit", "500").stdout)
    assert dumps[0] == dumps[1] and len(json.loads(dumps[0])) > 10
    other = tmp_path / "c.db"
    run("demo", "--db", str(other), "--no-open", "--tickets", "50", "--seed", "4")
    assert as_agent("s900", "ticket", "list", "--db", str(other), "--json",
                    "--limit", "500").stdout != dumps[0]


@pytest.mark.uses_store
def test_demo_covers_every_kind_of_ticket(demo_db):
    def one(sql: str, params: tuple = ()):
        return stored_rows(demo_db, sql, params)[0][0]

    for column, expected in (("status", 6), ("grade", 3), ("channel", 6), ("work_type", 5),
                             ("category", 11)):
        assert one(f"SELECT count(DISTINCT {column}) FROM ticket") == expected
    tiers = {t for (t,) in stored_rows(demo_db, "SELECT DISTINCT tier FROM customer")}
    assert tiers == {"standard", "silver", "gold", "vip"}
    assert one("SELECT count(*) FROM customer WHERE green_channel = 1") > 0
    roles = {r for (r,) in stored_rows(demo_db, "SELECT DISTINCT role FROM agent")}
    assert roles == {"agent", "senior", "supervisor", "trainer", "admin"}
    now_ts = 1795485600  # NOW
    assert one("SELECT count(*) FROM ticket WHERE is_open = 1 AND due_key <= ?", (now_ts,)) > 0
    assert one("SELECT count(*) FROM ticket WHERE is_open = 1 AND warn_key <= ? AND due_key > ?",
               (now_ts, now_ts)) > 0


@pytest.mark.uses_store
def test_ticket_new_prints_its_number_and_list_shows_it_masked(demo_db):
    created = as_agent("a001", "ticket", "new", "--db", str(demo_db), "--phone", "13912345678",
                       "--channel", "hotline", "--type", "complaint", "--category", "billing",
                       "--description", "本月话费多扣 86 元", "--grade", "urgent")
    assert created.returncode == 0, created.stderr
    number = created.stdout.strip()
    assert number.startswith("T261124")
    listing = json.loads(as_agent("a001", "ticket", "list", "--db", str(demo_db), "--json",
                                  "--status", "new", "--limit", "500").stdout)
    mine = [row for row in listing if row["number"] == number]
    assert mine and mine[0]["phone"] == "139****5678" and mine[0]["grade"] == "urgent"
    assert "13912345678" not in as_agent("a001", "ticket", "list", "--db", str(demo_db)).stdout
    audited = stored_rows(demo_db, "SELECT agent_code FROM audit_log WHERE action = "
                                   "'ticket_create' AND target = ?", (f"ticket:{number}",))
    assert [tuple(row) for row in audited] == [("a001",)]


@pytest.mark.uses_store
def test_ticket_list_shows_what_the_agent_may_see(demo_db):
    mine = json.loads(as_agent("a001", "ticket", "list", "--db", str(demo_db), "--json",
                               "--status", "all", "--limit", "1000").stdout)
    everyone = json.loads(as_agent("s900", "ticket", "list", "--db", str(demo_db), "--json",
                                   "--status", "all", "--limit", "1000", "--site", "main").stdout)
    assert len(everyone) == 300 and 0 < len(mine) < len(everyone)


@pytest.mark.uses_store
def test_every_command_on_customer_data_needs_a_known_agent_and_pin(demo_db):
    for args in (["ticket", "list"], ["ticket", "new", "--phone", "13912345678", "--channel",
                                      "hotline", "--type", "fault", "--category", "broadband",
                                      "--description", "断网"]):
        nobody = run(*args, "--db", str(demo_db), "--agent", "nobody", "--pin-stdin", stdin="1\n")
        wrong = run(*args, "--db", str(demo_db), "--agent", "a001", "--pin-stdin", stdin="0\n")
        silent = run(*args, "--db", str(demo_db), "--agent", "a001")
        for result in (nobody, wrong, silent):
            assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.uses_store
def test_the_table_has_a_header_and_aligned_columns(demo_db):
    out = as_agent("s900", "ticket", "list", "--db", str(demo_db), "--limit", "5",
                   "--lang", "zh").stdout.splitlines()
    assert out[0].startswith("工单号") and len(out) == 6
    from agent_console.text import display_width

    starts = {display_width(line[:line.index("T2")]) for line in out[1:]}
    assert starts == {0}
    assert "  " not in out[1].split("  ", 1)[0]


@pytest.mark.parametrize(("args", "field", "allowed"), [
    (["--channel", "fax"], "channel", "hotline"),
    (["--type", "chat"], "type", "complaint"),
    (["--type", "follow_up"], "type", "complaint"),
    (["--category", "weather"], "category", "billing"),
    (["--grade", "red"], "grade", "urgent"),
    (["--phone", "12"], "phone", "mobile"),
])
@pytest.mark.uses_store
def test_bad_values_give_one_line_naming_field_and_allowed_values(demo_db, args, field, allowed):
    base = {"--phone": "13912345678", "--channel": "hotline", "--type": "fault",
            "--category": "broadband", "--description": "断网"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    flat = [item for pair in base.items() for item in pair]
    result = as_agent("a001", "ticket", "new", "--db", str(demo_db), *flat)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0].lower() and allowed in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.uses_store
def test_a_long_description_is_cut_with_a_notice(demo_db):
    result = as_agent("a001", "ticket", "new", "--db", str(demo_db), "--phone", "13912345678",
                      "--channel", "hotline", "--type", "fault", "--category", "broadband",
                      "--description", "line down " * 10_000)
    assert result.returncode == 0 and "4000" in result.stderr


@pytest.mark.uses_store
def test_piping_into_head_exits_quietly(demo_db):
    pipeline = (f"{EXE} ticket list --db {shlex.quote(str(demo_db))} --agent s900 --pin-stdin --limit 300 "
                f"<<< 3333 | head -1")
    result = subprocess.run(["bash", "-c", pipeline], capture_output=True, text=True,
                            env={**os.environ, "AGENT_CONSOLE_NOW": NOW}, timeout=120)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.uses_store
def test_empty_input_is_refused(demo_db):
    for args in (["classify", ""], ["kb", "search", "  ", "--db", str(demo_db)]):
        result = run(*args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.uses_store
def test_check_reports_schema_and_integrity(demo_db):
    result = run("check", "--db", str(demo_db))
    assert result.returncode == 0
    assert "Schema version" in result.stdout and "ok" in result.stdout


@pytest.mark.sqlite_file  # paths that are not store files
@pytest.mark.parametrize("kind", ["directory", "text", "foreign", "missing-folder"])
def test_bad_store_paths_exit_2_with_one_line_and_leave_the_file(tmp_path, kind):
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
    for args in (["--db", str(path)], ["ticket", "list", "--db", str(path)], ["check", "--db", str(path)]):
        result = run(*args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    if before:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["target.db"]


def test_env_var_chooses_the_store_and_lang_switches_output(tmp_path):
    path = tmp_path / "env.db"
    result = run("demo", "--no-open", "--tickets", "20", "--lang", "zh", env={"AGENT_CONSOLE_DB": str(path)})
    assert result.returncode == 0 and path.exists()
    assert "演示数据已生成" in result.stdout
    bad = run("--lang", "fr", "check", env={"AGENT_CONSOLE_DB": str(path)})
    assert bad.returncode == 2 and "en, zh" in bad.stderr
    zh = run("ticket", "new", "--db", str(path), "--lang", "zh", "--agent", "a001", "--pin-stdin",
             "--phone", "12", "--channel", "hotline", "--type", "fault", "--category",
             "broadband", "--description", "断网", stdin="1111\n")
    assert zh.returncode == 2 and "电话" in zh.stderr


def test_demo_reset_starts_a_fresh_demo_store(tmp_path):
    path = tmp_path / "r.db"
    assert run("demo", "--db", str(path), "--no-open", "--tickets", "20").returncode == 0
    assert as_agent("s900", "audit", "export", "--db", str(path)).returncode == 0
    kept = run("demo", "--db", str(path), "--no-open", "--tickets", "5")
    assert "already filled" in kept.stdout
    assert run("demo", "--db", str(path), "--no-open", "--tickets", "5", "--reset").returncode == 0
    everything = json.loads(as_agent("s900", "ticket", "list", "--db", str(path), "--json",
                                     "--status", "all", "--limit", "100", "--site",
                                     "main").stdout)
    assert len(everything) == 5
    verified = run("audit", "verify", "--db", str(path)).stdout
    assert verified.startswith("Audit trail OK") and "20" not in verified
