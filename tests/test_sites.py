"""Sites: tickets, agents, counters and the hall queue belong to a hall or hotline centre; an
agent sees their own site's, and only `see_other_sites` (supervisor, admin) sees across sites,
at the service layer, whatever route (queue, lookup, CLI) asks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agent_console import db
from agent_console.db import ts
from agent_console.services import audit, auth, contact, hall, kpi, permissions, sites, tickets
from agent_console.services.errors import InputError, NotFoundError, OtherSiteError, Refused
from agent_console.services.queue import QueueFilter, QueueReader
from tests.conftest import TEST_DB, actor_for

V6_FIXTURE = Path(__file__).parent / "fixtures" / "store_v6.db"
EXE = shutil.which("agent-console", path=str(Path(sys.executable).parent)) or "agent-console"
NOW = "2026-11-24T02:00:00+00:00"
PINS = {"a001": "1111", "h301": "1111", "s900": "3333"}


def _numbers(store, actor, flt=QueueFilter(view="all")):
    rows = QueueReader(store).page(flt, actor, now_ts=ts(store.clock.now()), limit=2000)
    return {r.number: r.site for r in rows}


def _site_numbers(store, site):
    with store.read() as tx:
        return {n for (n,) in tx.all("SELECT number FROM ticket WHERE site = ?", (site,))}


# --- the demo spreads over sites ----------------------------------------------------------------

def test_the_demo_has_a_hall_and_a_hotline_centre_beside_the_main_site(demo_store):
    found = {s.code: s.kind for s in sites.list_sites(demo_store)}
    assert found == {"main": "hall", "east": "hall", "north": "hotline"}
    with demo_store.read() as tx:
        per_site = dict(tx.all("SELECT site, count(*) FROM ticket GROUP BY site"))
        assert tx.scalar("SELECT site FROM agent WHERE code = 'a001'") == "main"
        assert tx.scalar("SELECT site FROM agent WHERE code = 'h301'") == "north"
    assert per_site == {"main": 300, "east": 15, "north": 15}


# --- who sees which site's tickets ----------------------------------------------------------------

def test_an_agent_sees_only_their_own_sites_tickets(demo_store):
    main, north = _site_numbers(demo_store, "main"), _site_numbers(demo_store, "north")
    a001, h301 = actor_for(demo_store, "a001"), actor_for(demo_store, "h301")
    assert set(_numbers(demo_store, a001).values()) == {"main"}
    assert set(_numbers(demo_store, h301)) <= north and len(_numbers(demo_store, h301)) > 10
    senior = actor_for(demo_store, "a003")  # sees other teams, not other sites
    assert set(_numbers(demo_store, senior)) == main
    with pytest.raises(Refused):
        _numbers(demo_store, a001, QueueFilter(view="all", site="north"))
    with pytest.raises(Refused):
        QueueReader(demo_store).count(QueueFilter(site="north"), senior, now_ts=0)


def test_a_supervisor_sees_every_site_and_may_pick_one(demo_store):
    boss = actor_for(demo_store, "s900")
    assert set(_numbers(demo_store, boss).values()) == {"main", "east", "north"}
    assert set(_numbers(demo_store, boss, QueueFilter(view="all", site="north"))) == \
        _site_numbers(demo_store, "north")
    assert QueueReader(demo_store).count(QueueFilter(view="all", site="east"), boss,
                                         now_ts=0) == 15


def test_another_sites_ticket_is_refused_by_number_and_by_id(demo_store):
    a001, boss = actor_for(demo_store, "a001"), actor_for(demo_store, "s900")
    number = sorted(_site_numbers(demo_store, "north"))[0]
    with pytest.raises(OtherSiteError) as refused:
        contact.find_ticket(demo_store, a001, number=number.lower())
    assert number in str(refused.value) and "north" in str(refused.value)
    ticket_id = contact.find_ticket(demo_store, boss, number=number)
    with pytest.raises(OtherSiteError):
        tickets.ticket_detail(demo_store, a001, ticket_id=ticket_id)
    with pytest.raises(OtherSiteError):
        tickets.add_note(demo_store, a001, ticket_id=ticket_id, text="not mine")
    assert tickets.ticket_detail(demo_store, boss, ticket_id=ticket_id).number == number
    with pytest.raises(NotFoundError):  # a number that does not exist stays "not found"
        contact.find_ticket(demo_store, a001, number="T000000000000")


def test_the_refusal_reads_in_both_languages(demo_store):
    from agent_console import i18n

    error = OtherSiteError("T202611240001", "north", "agent")
    i18n.set_language("en")
    assert "T202611240001" in error.localized() and "another site" in error.localized()
    i18n.set_language("zh")
    assert "其他站点" in error.localized()
    i18n.set_language("en")


def test_a_new_ticket_takes_the_site_of_the_agent_who_makes_it(demo_store):
    h301 = actor_for(demo_store, "h301")
    made = tickets.create_ticket(demo_store, h301, phone="13900001111", channel="hotline",
                                 work_type="fault", category="broadband",
                                 description="宽带断网")
    with demo_store.read() as tx:
        assert tx.scalar("SELECT site FROM ticket WHERE id = ?", (made.id,)) == "north"
    assert made.number in _numbers(demo_store, h301)
    assert made.number not in _numbers(demo_store, actor_for(demo_store, "a001"))


def test_a_ticket_is_handed_only_to_someone_who_can_see_it(demo_store):
    boss = actor_for(demo_store, "s900")
    number = sorted(_site_numbers(demo_store, "north"))[0]
    ticket_id = contact.find_ticket(demo_store, boss, number=number)
    version = tickets.ticket_detail(demo_store, boss, ticket_id=ticket_id).version
    with pytest.raises(InputError) as refused:
        tickets.assign(demo_store, boss, ticket_id=ticket_id, expected_version=version,
                       handler="a001")
    assert refused.value.code == "other_site_agent"
    tickets.assign(demo_store, boss, ticket_id=ticket_id, expected_version=version,
                   handler="h302")


def test_reports_and_kpis_keep_to_the_sites_the_role_sees(demo_store):
    boss = actor_for(demo_store, "s900")
    # a site's own manager: may run reports, does not see other sites
    manager = replace(actor_for(demo_store, "h301"),
                      permissions=frozenset({permissions.RUN_REPORTS}))
    everyone = kpi.wallboard(demo_store, boss, trend_days=3)
    own = kpi.wallboard(demo_store, manager, trend_days=3)
    north = _site_numbers(demo_store, "north")
    assert set(own.numbers.values()) <= north
    assert set(everyone.numbers.values()) - north
    with pytest.raises(Refused):
        kpi.measure(demo_store, manager, period="month", site="main")
    picked = kpi.measure(demo_store, boss, period="month", site="north")
    backlog = next(v for v in picked.values if v.name == "backlog")
    assert backlog.value == 15


# --- agents and sites ------------------------------------------------------------------------------

def test_agents_get_and_change_a_site_through_agent_management(demo_store):
    root = actor_for(demo_store, "admin")
    auth.add_agent(demo_store, root, code="h303", name="New", role="agent", pin="1234",
                   site="north")
    assert {r.code: r.site for r in auth.list_all(demo_store)}["h303"] == "north"
    with pytest.raises(InputError) as bad:
        auth.set_site(demo_store, root, code="h303", site="mars")
    assert bad.value.code == "choice" and "east" in bad.value.allowed
    with pytest.raises(Refused):
        auth.set_site(demo_store, actor_for(demo_store, "s900"), code="h303", site="east")
    auth.set_site(demo_store, root, code="h303", site="east")
    assert actor_for(demo_store, "h303").site == "east"
    last = audit.export(demo_store, root)[-1]
    assert last.action == "agent_admin" and last.detail == {"what": "site east"}
    sites.add_site(demo_store, root, code="west", name_en="West hall", name_zh="西区营业厅",
                   kind="hall")
    assert audit.export(demo_store, root)[-1].action == "site_add"


# --- the hall's queue ---------------------------------------------------------------------------

def test_a_counter_calls_only_its_own_sites_numbers(demo_store):
    e201, a001 = actor_for(demo_store, "e201"), actor_for(demo_store, "a001")
    with demo_store.read() as tx:
        east_waiting = tx.scalar("SELECT count(*) FROM hall_visit WHERE site = 'east'")
        paying = tx.scalar("SELECT count(*) FROM hall_visit WHERE site = 'east' AND "
                           "service = 'payment'")
    hall.open_counter(demo_store, e201, counter="4")  # first opened by an east agent
    issued = hall.issue(demo_store, e201, service="payment")  # counter 4 takes payments
    prefix = hall.config(demo_store).services["payment"].prefix
    assert issued.number == f"{prefix}{paying + 1:03d}"  # the east hall numbers its own
    with demo_store.read() as tx:
        assert tx.scalar("SELECT site FROM hall_visit WHERE id = ?", (issued.id,)) == "east"
        assert hall.counter_site(tx, "4") == "east"
    with pytest.raises(InputError) as refused:
        hall.open_counter(demo_store, a001, counter="4")
    assert refused.value.code == "hall_other_site"
    with pytest.raises(InputError):
        hall.counter_view(demo_store, a001, counter="4")
    main_waiting = sum(hall.counter_view(demo_store, a001, counter="1").waiting.values())
    assert sum(hall.counter_view(demo_store, e201, counter="4").waiting.values()) <= \
        east_waiting + 1
    called = []
    while (visit := hall.call_next(demo_store, e201, counter="4")) is not None:
        called.append(visit.id)
        hall.finish(demo_store, e201, visit_id=visit.id)
    with demo_store.read() as tx:
        assert {s for (s,) in tx.all("SELECT DISTINCT v.site FROM hall_visit v WHERE v.id IN "
                                     f"({', '.join('?' * len(called))})", called)} == {"east"}
        assert {s for (s,) in tx.all("SELECT DISTINCT site FROM hall_call WHERE counter = '4'")} \
            == {"east"}
    assert sum(hall.counter_view(demo_store, a001, counter="1").waiting.values()) == main_waiting
    with pytest.raises(NotFoundError):  # another site's number is not there for a001
        hall.recall(demo_store, a001, visit_id=called[0])
    assert all(c.counter != "4" for c in hall.board(demo_store).calls)
    assert {c.counter for c in hall.board(demo_store, site="east").calls} == {"4"}


# --- routes outside the services ------------------------------------------------------------------

def _run(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess:
    full = {**os.environ, "AGENT_CONSOLE_NOW": NOW, "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=full, input=stdin,
                          timeout=120)


def _as(code: str, path: Path, *args: str, env: dict[str, str] | None = None):
    return _run("--db", str(path), *args, "--agent", code, "--pin-stdin", env=env,
                stdin=PINS[code] + "\n")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    if TEST_DB == "postgresql":
        pytest.skip("the command line is driven on a store file")
    path = tmp_path_factory.mktemp("sites") / "demo.db"
    made = _run("demo", "--db", str(path), "--no-open")
    assert made.returncode == 0, made.stderr
    assert "north" in made.stdout
    return path


def _listed(result) -> set[str]:
    import json

    assert result.returncode == 0, result.stderr
    return {row["site"] for row in json.loads(result.stdout)}


def test_ticket_list_on_the_command_line_obeys_the_site(demo_file):
    assert _listed(_as("a001", demo_file, "ticket", "list", "--status", "all", "--json",
                       "--limit", "1000")) == {"main"}
    assert _listed(_as("h301", demo_file, "ticket", "list", "--json")) == {"north"}
    assert _listed(_as("s900", demo_file, "ticket", "list", "--json", "--limit", "1000")) == \
        {"main", "east", "north"}
    assert _listed(_as("s900", demo_file, "ticket", "list", "--json", "--site", "east")) == \
        {"east"}
    refused = _as("a001", demo_file, "ticket", "list", "--site", "north")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "other sites" in refused.stderr


def test_a_hostile_config_dir_cannot_grant_other_sites(demo_file, tmp_path):
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "permissions.toml").write_text(
        '[permissions]\nsee_other_sites = "x"\nsee_other_teams = "x"\nmanage_agents = "x"\n'
        '[roles]\nagent = ["see_other_sites", "see_other_teams"]\nadmin = ["manage_agents"]\n')
    (hostile / "config.toml").write_text('agent = "a001"\n')
    env = {"AGENT_CONSOLE_CONFIG_DIR": str(hostile)}
    refused = _as("a001", demo_file, "ticket", "list", "--site", "north", env=env)
    assert refused.returncode == 2 and "other sites" in refused.stderr
    assert _listed(_as("a001", demo_file, "ticket", "list", "--json", "--status", "all",
                       "--limit", "1000", env=env)) == {"main"}


def test_agent_list_shows_the_site(demo_file):
    listed = _run("--db", str(demo_file), "agent", "list", "--agent", "admin", "--pin-stdin",
                  stdin="9999\n")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("h301"))
    assert "north" in line.split()


# --- the schema -------------------------------------------------------------------------------------

def test_a_v6_store_comes_forward_with_everything_on_the_main_site(tmp_path):
    path = tmp_path / "v6.db"
    shutil.copy(V6_FIXTURE, path)
    import sqlite3

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
    before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in db.SITE_TABLES}
    conn.close()
    engine = db.open_store(db.store_url(path))
    assert db.schema_version(engine) == 7
    assert db.schema_problems(engine) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT code, kind FROM site").fetchall() == [("main", "hall")]
        for table, count in before.items():
            assert conn.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE site = 'main'").scalar() == count > 0
        plan = " ".join(str(r) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM ticket WHERE site = 'main' AND is_open = 1 "
            "ORDER BY due_key, id LIMIT 40"))
        assert "ix_ticket_site" in plan and "TEMP B-TREE" not in plan
    engine.dispose()


def test_a_v6_postgres_store_comes_forward():
    from tests.conftest import pg

    url = pg().new_database()
    engine = db.open_store(db.store_url(url))
    with engine.connect() as conn, conn.begin():  # take it back to v6, with a row in each table
        conn.exec_driver_sql("INSERT INTO agent (code, name, role) VALUES ('a1', 'A', 'agent')")
        for table in db.SITE_TABLES:
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN site")
        for index in ("ix_ticket_site", "ix_ticket_site_grade"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        conn.exec_driver_sql("CREATE UNIQUE INDEX ix_hall_visit_number ON hall_visit (day, number)")
        conn.exec_driver_sql("DROP TABLE site")
        conn.exec_driver_sql("UPDATE store_meta SET value = '6' WHERE key = 'schema_version'")
    engine.dispose()
    engine = db.open_store(db.store_url(url))
    assert db.schema_version(engine) == 7
    assert db.schema_problems(engine) == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT site FROM agent WHERE code = 'a1'").scalar() == "main"
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = "
            "to_regclass('site')").scalar() == len(db.SITE_TABLES)
    engine.dispose()


# --- the queue screen -------------------------------------------------------------------------------

async def test_a_supervisor_picks_a_site_on_the_queue_and_an_agent_cannot(demo_store):
    from textual.widgets import OptionList, Static

    from agent_console.screens.choice_screen import ChoiceScreen
    from agent_console.widgets.ticket_table import TicketTable
    from tests.conftest import app_for, settle, wait_until

    app = app_for(demo_store, agent="s900", refresh_seconds=60.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        queue = app.screen
        everyone = queue.counts.total
        await pilot.press("l")
        picker = await wait_until(lambda: isinstance(app.screen, ChoiceScreen) and app.screen)
        options = picker.query_one(OptionList)
        options.highlighted = next(i for i in range(options.option_count)
                                   if options.get_option_at_index(i).id == "north")
        await pilot.press("enter")
        await wait_until(lambda: app.screen is queue and queue.filter.site == "north")
        await settle(app, pilot)
        assert {r.site for r in queue.query_one(TicketTable).rows} == {"north"}
        assert 0 < queue.counts.total < everyone
        assert "Site: North hotline centre" in str(queue.query_one("#queue-filters", Static).render())
    agent = app_for(demo_store, agent="a001", refresh_seconds=60.0)
    async with agent.run_test(size=(120, 40)) as pilot:
        await settle(agent, pilot)
        await pilot.press("l")
        await settle(agent, pilot)
        assert not isinstance(agent.screen, ChoiceScreen)
        assert {r.site for r in agent.screen.query_one(TicketTable).rows} == {"main"}
