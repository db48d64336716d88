"""The wallboard and the monthly report on screen: Pilot tests and en/zh snapshots."""

from __future__ import annotations

import pytest

from .conftest import actor_for, app_for, settle, still_for_a_picture, wait_until

SMALL = (80, 24)
LARGE = (120, 40)


async def _open_wallboard(pilot) -> None:
    from agent_console.screens.wallboard_screen import WallboardScreen

    app = pilot.app
    await settle(app, pilot)
    await pilot.press("f4")
    await wait_until(lambda: isinstance(app.screen, WallboardScreen) and app.screen.board,
                     what="the wallboard's figures")
    await still_for_a_picture(pilot)


async def _open_report(pilot) -> None:
    from agent_console.screens.report_screen import ReportScreen

    app = pilot.app
    await _open_wallboard(pilot)
    await pilot.press("m")
    await wait_until(lambda: isinstance(app.screen, ReportScreen) and app.screen.month,
                     what="the monthly report")
    await settle(app, pilot)


async def test_wallboard_drills_down_to_the_tickets(demo_store):
    from textual.widgets import DataTable

    from agent_console.screens.ticket_screen import TicketScreen
    from agent_console.screens.wallboard_screen import DrillScreen

    app = app_for(demo_store, agent="s900")
    async with app.run_test(size=SMALL) as pilot:
        await _open_wallboard(pilot)
        board = app.screen.board
        month = {v.name: v for v in board.periods[2].values}
        await pilot.press("right", "right", "right", "enter")  # first KPI, this month
        await wait_until(lambda: isinstance(app.screen, DrillScreen)
                         and app.screen.query_one(DataTable).row_count
                         == len(month["fcr"].base), what="the tickets behind the number")
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, TicketScreen), what="the ticket")


async def test_wallboard_views_and_permission(demo_store):
    from agent_console.screens.wallboard_screen import WallboardScreen

    app = app_for(demo_store, agent="s900")
    async with app.run_test(size=LARGE) as pilot:
        await _open_wallboard(pilot)
        screen = app.screen
        await pilot.press("v")
        table = screen.query_one("#wb-table")
        assert "hotline-a" in [str(c.label) for c in table.columns.values()]
        await pilot.press("v", "v", "v")
        assert screen.view == "periods"
    agent_app = app_for(demo_store, agent="a001")
    async with agent_app.run_test(size=SMALL) as pilot:
        await settle(agent_app, pilot)
        await pilot.press("f4")
        await settle(agent_app, pilot)
        assert not isinstance(agent_app.screen, WallboardScreen)


async def test_wallboard_reads_again_when_the_store_changes(demo_store):
    """No timer reload: the figures move when someone commits, and only then."""
    from agent_console.services import tickets

    app = app_for(demo_store, agent="s900")
    async with app.run_test(size=SMALL) as pilot:
        await _open_wallboard(pilot)
        screen = app.screen
        await wait_until(lambda: screen.feed is not None, what="the change feed")
        before = screen.board
        await pilot.pause(0.1)
        await settle(app, pilot)
        assert screen.board is before  # nothing changed: nothing read again
        agent = actor_for(demo_store, "a001")
        tickets.create_ticket(demo_store, agent, phone="13912340000", channel="hotline",
                              work_type="complaint", category="billing", description="多扣费")
        backlog = {v.name: v for v in before.periods[0].values}["backlog"].value
        await wait_until(lambda: {v.name: v for v in screen.board.periods[0].values}
                         ["backlog"].value == backlog + 1, what="the new ticket in the backlog")


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "120x40"])
def test_wallboard_snapshot(snap_compare, demo_store, lang, size):
    app = app_for(demo_store, lang=lang, agent="s900")
    assert snap_compare(app, terminal_size=size, run_before=_open_wallboard)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_snapshot(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="s900")
    assert snap_compare(app, terminal_size=LARGE, run_before=_open_report)


async def test_queue_row_counts_down_to_a_promised_callback(demo_store):
    from datetime import timedelta

    from agent_console.services import compensation
    from agent_console.widgets.ticket_table import TicketTable

    agent = actor_for(demo_store, "a001")
    with demo_store.read() as tx:
        ticket_id = tx.scalar("SELECT id FROM ticket WHERE is_open = 1 AND handler_id = ? "
                              "ORDER BY due_key LIMIT 1", (agent.agent_id,))
    compensation.promise_callback(demo_store, agent, ticket_id=ticket_id,
                                  due_at=demo_store.clock.now() + timedelta(minutes=10))
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)):
        table = await wait_until(lambda: app.screen.query(TicketTable) and
                                 app.screen.query_one(TicketTable), what="the queue")
        row = await wait_until(lambda: next((r for r in table.rows if r.id == ticket_id), None),
                               what="the promised ticket in the queue")
        assert table._cells(row)[7].startswith("☎10m ")
        await wait_until(lambda: any("Call-back due in 10 min" in str(n.message)
                                     for n in app._notifications), what="the warning")


async def test_handover_screen_drafts_and_acknowledges(demo_store):
    from textual.widgets import DataTable

    from agent_console.screens.handover_screen import HandoverScreen
    from agent_console.services import handover

    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f3")
        screen = await wait_until(lambda: isinstance(app.screen, HandoverScreen) and app.screen,
                                  what="the handover screen")
        await wait_until(lambda: len(screen.views) == 2, what="my draft and a002's handover")
        incoming = next(v for v in screen.views if v.agent == "a002")
        assert len(incoming.unacknowledged) == 3
        table = screen.query_one(DataTable)
        keys = [str(k.value) for k in table.rows]
        first = keys.index(next(k for k in keys if k.startswith(f"{incoming.id}:")
                                and int(k.split(":")[1]) == incoming.unacknowledged[0].id))
        table.move_cursor(row=first)
        await pilot.press("a")
        await wait_until(lambda: any(v.id == incoming.id and len(v.unacknowledged) == 2
                                     for v in screen.views), what="the item acknowledged")
    left = handover.unacknowledged(demo_store, actor_for(demo_store, "s900"))
    assert [len(v.unacknowledged) for v in left] == [2]
