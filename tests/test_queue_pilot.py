"""The queue and ticket screens driven by keys, as an agent would."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.widgets import Footer, Static

from agent_console.screens.context import ContextScreen
from agent_console.screens.queue_screen import QueueScreen
from agent_console.screens.ticket_screen import TicketScreen
from agent_console.services import tickets
from agent_console.services.permissions import RUN_REPORTS
from agent_console.widgets.ticket_table import TicketTable

from .conftest import actor_for, app_for, settle, wait_until
from .pilot import footer_text, help_text, palette_entries


def _detail(store, ticket_id: int):
    """The ticket as a senior agent (who sees every team's tickets) reads it."""
    return tickets.ticket_detail(store, actor_for(store, "a003"), ticket_id=ticket_id)


def _lines(table: TicketTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.fixture
def app(demo_store):
    # A senior agent: the role may see every team's tickets (a plain agent sees their team's).
    return app_for(demo_store, agent="a003", refresh_seconds=60.0)


async def test_queue_opens_most_urgent_first_and_moves_by_key(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(TicketTable)
        assert len(table.rows) >= 30
        assert table.rows[0].due_key == min(r.due_key for r in table.rows)
        assert "OVERDUE" in _lines(table)[1]
        await pilot.press("j", "j", "down")
        assert table.cursor == 3
        status = str(app.screen.query_one("#queue-status").render())
        assert "Row 4 of" in status
        for _ in range(60):
            await pilot.press("j")
        await settle(app, pilot)
        assert table.base + table.cursor == 63  # rows came in from SQL as the cursor moved
        await pilot.press("G")
        await settle(app, pilot)
        assert table.base + table.cursor + 1 == app.screen.counts.total
        await pilot.press("g")
        await settle(app, pilot)
        assert table.base + table.cursor == 0


async def test_filters_apply_and_are_remembered(app, demo_store):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        total = await wait_until(lambda: screen.counts.total, what="the queue's counts")
        await pilot.press("o")
        await settle(app, pilot)
        table = screen.query_one(TicketTable)
        assert screen.filter.state == "overdue"
        assert all(line.startswith("OVERDUE") for line in _lines(table)[1:len(table.rows) + 1])
        assert screen.counts.total < total
        await pilot.press("m")
        await settle(app, pilot)
        assert {r.handler_name for r in table.rows} <= {"Chen Hao"}
        await pilot.press("e", "o", "r")
        await settle(app, pilot)
        assert screen.filter.sort == "grade" and screen.filter.state == "any"
        assert [r.grade_rank for r in table.rows] == sorted(r.grade_rank for r in table.rows)
    again = app_for(demo_store, agent="a003")
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        assert again.screen.filter.sort == "grade"


async def test_text_filter_narrows_live_and_escape_clears(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        first = screen.query_one(TicketTable).rows[5]
        await pilot.press("slash")
        await pilot.press(*first.number)
        table = screen.query_one(TicketTable)
        await wait_until(lambda: [r.id for r in table.rows] == [first.id], what="one row")
        await pilot.press("enter", "escape")
        await wait_until(lambda: screen.filter.text == "" and len(table.rows) > 1,
                         what="the search cleared")


async def test_claim_from_the_queue_records_the_handler(app, demo_store):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(TicketTable)
        row = next(r for r in table.rows if r.status == "new")
        while table.current.id != row.id:
            await pilot.press("j")
        await pilot.press("c")
        await settle(app, pilot)
        detail = _detail(demo_store, row.id)
        assert detail.handler.code == "a003" and detail.status == "assigned"
        app.screen.poll_store()
        await settle(app, pilot)
        assert table.current.id == row.id and table.current.handler_name == "Chen Hao"


async def test_a_stale_row_gets_a_conflict_message_and_reloads(app, demo_store):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(TicketTable)
        row = next(r for r in table.rows if r.status == "new")  # nobody holds it: no question
        while table.current.id != row.id:
            await pilot.press("j")
        with demo_store.write() as other:  # another agent's change, on a connection of its own
            other.execute("UPDATE ticket SET version = version + 1 WHERE id = ?", (row.id,))
        await pilot.press("c")
        await settle(app, pilot)
        assert any("changed by someone else" in n.message for n in app._notifications)
        assert table.current.id == row.id and table.current.version == row.version + 1


async def test_other_agents_changes_appear_without_moving_the_cursor(app, demo_store):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one(TicketTable)
        await pilot.press("j", "j", "j")
        keep = table.current
        before = screen.counts.total
        # Another process: a new urgent ticket arrives at the top of the queue.
        tickets.create_ticket(demo_store, actor_for(demo_store, "a002"), phone="13811112222",
                              channel="hotline", work_type="fault", category="plan_dispute",
                              description="外部系统新建", grade="urgent")
        screen._tick()
        await settle(app, pilot)
        assert screen.counts.total == before + 1
        assert table.current.id == keep.id


async def test_keys_pressed_while_a_reload_is_read_are_kept(app):
    """A reload asked for with the cursor on the first row arrives after three more keys (a
    slow line, a big store): the cursor stays where those keys put it, not where it was."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        table = screen.query_one(TicketTable)
        asked_on = table.current
        await pilot.press("j", "j", "j")
        moved_to = table.current
        screen.post_message(QueueScreen.RowsLoaded(
            screen.filter, list(table.rows), table.base, at_start=table.at_start,
            at_end=table.at_end, keep_id=asked_on.id, keep_index=0, from_end=False))
        await settle(app, pilot)
        assert table.current.id == moved_to.id and table.cursor == 3


async def test_hostile_text_renders_literally(demo_store):
    created = tickets.create_ticket(
        demo_store, actor_for(demo_store, "a003"), phone="13800009999", channel="hotline",
        work_type="complaint", category="billing", grade="urgent", customer_name="[bold]王[/]\x1b[31m红",
        description="[/] 结尾 \x1b]0;title\x07 [red]x" + "长" * 5000)
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"13800009999", "enter")
        table = app.screen.query_one(TicketTable)
        await wait_until(lambda: table.current is not None and table.current.id == created.id,
                         what="the ticket found")
        await settle(app, pilot)
        line = _lines(table)[1]
        assert "[bold]王[" in line and "\x1b" not in line
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen)
        shot = app.export_screenshot()
        assert "[bold]王[/]红" in shot and "[/]&#160;结尾" in shot.replace(" ", "&#160;")
        assert "\x1b" not in app.screen.detail.description


async def test_ticket_screen_shows_clocks_and_timeline_and_changes_status(app, demo_store):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        row = app.screen.query_one(TicketTable).current
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.detail.id == row.id
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press("enter")  # the first allowed move
        await settle(app, pilot)
        detail = _detail(demo_store, row.id)
        assert detail.status != row.status
        assert detail.events[-1].kind == "status_changed"
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press(*"客户同意明早回电")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert _detail(demo_store, row.id).events[-1].detail["text"] == "客户同意明早回电"
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_a_note_draft_survives_closing_the_dialog(app, demo_store):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press(*"未写完的备注")
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        from textual.widgets import TextArea

        assert app.screen.query_one(TextArea).text == "未写完的备注"


async def test_help_lists_every_key_in_chinese(demo_store):
    app = app_for(demo_store, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        text = await help_text(app, pilot)
        for word in ("领取", "派单", "超时", "排序", "帮助", "退出", "新建受理", "知识库"):
            assert word in text
        # The table's own keys too, every key of each: arrows and j/k/g/G alike.
        assert "↓ j" in text and "↑ k" in text and "home g" in text and "end G" in text
        # A plain agent sees their team's queue: "everyone" is not offered.
        assert "全部" not in text.split()


async def test_dispatch_dialog_sets_handler_owner_and_department(app, demo_store):
    from textual.widgets import Select

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        row = app.screen.query_one(TicketTable).current
        await pilot.press("a")
        await settle(app, pilot)
        dialog = app.screen
        dialog.query_one("#assign-handler", Select).value = "f301"
        dialog.query_one("#assign-owner", Select).value = "s900"
        dialog.query_one("#assign-department", Select).value = "finance"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        detail = _detail(demo_store, row.id)
        assert (detail.handler.code, detail.owner.code, detail.department) == ("f301", "s900", "finance")
        kinds = [e.kind for e in detail.events[-3:]]
        assert kinds == ["assigned", "handler_set", "owner_set"]


class ReportsScreen(ContextScreen[None]):
    """A screen as a new module would add it."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="back")]

    def compose(self):
        yield Static(f"Reports for {self.ctx.actor.code}", id="reports")
        yield Footer()


@pytest.mark.parametrize(("agent", "allowed"), [("a001", False), ("s900", True)])
async def test_one_registry_line_gives_a_destination_its_key_command_and_help(
        demo_store, monkeypatch, agent, allowed):
    from agent_console import destinations

    line = destinations.Destination("f7", "reports", "permission.run_reports", RUN_REPORTS,
                                    ReportsScreen, footer=True)
    monkeypatch.setattr(destinations, "DESTINATIONS", (*destinations.DESTINATIONS, line))
    app = app_for(demo_store, agent=agent)
    name = "run reports and exports"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert (name in footer_text(app)) is allowed
        assert (name in await help_text(app, pilot)) is allowed
        assert (name in "\n".join(await palette_entries(app, pilot))) is allowed
        await pilot.press("f7")
        await settle(app, pilot)
        assert isinstance(app.screen, ReportsScreen) is allowed
        if allowed:
            assert "Reports for s900" in str(app.screen.query_one("#reports").render())
            await pilot.press("f7")  # already open: nothing more
            await settle(app, pilot)
            assert sum(isinstance(s, ReportsScreen) for s in app.screen_stack) == 1
            await pilot.press("escape")
            await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)


def test_every_destination_is_named_and_explained_in_both_languages():
    from agent_console import i18n
    from agent_console.destinations import DESTINATIONS

    for lang in ("en", "zh"):
        messages = i18n.catalog(lang)
        for destination in DESTINATIONS:
            assert destination.name in messages and destination.help in messages, (lang, destination)


def test_no_two_destinations_share_a_key():
    from agent_console import destinations

    keys = [d.key for d in destinations.DESTINATIONS]
    assert len(keys) == len(set(keys)), keys
