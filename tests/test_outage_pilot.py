"""At the counter and on the hotline: a caller inside an outage is recognised on lookup and
answered from the outage in one key; the banner and the outage board in en and zh."""

from __future__ import annotations

import pytest

from tests.conftest import app_for, settle, wait_until
from tests.test_snapshots import SIZE, _settled


def _affected_phone(store) -> str:
    with store.read() as tx:
        return tx.scalar("SELECT c.phone FROM outage_customer oc JOIN customer c "
                         "ON c.id = oc.customer_id WHERE oc.outage_id = 1 ORDER BY c.id LIMIT 1")


def _counts(store) -> tuple[int, int]:
    with store.read() as tx:
        return (tx.scalar("SELECT count(*) FROM outage_contact WHERE outcome = 'answered'"),
                tx.scalar("SELECT count(*) FROM ticket"))


async def _banner_shown(pilot) -> None:
    from agent_console.widgets.outage_banner import OutageBanner

    await _settled(pilot)
    await pilot.press("N")
    await _settled(pilot)
    await pilot.press(*_affected_phone(pilot.app.ctx.store))
    screen = pilot.app.screen
    await wait_until(lambda: screen.query_one(OutageBanner).has_class("-shown"), what="banner")
    await settle(pilot.app, pilot)


async def test_a_caller_inside_an_outage_is_answered_in_one_key(demo_store):
    app = app_for(demo_store, agent="a001")
    answered, made = _counts(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await _banner_shown(pilot)
        intake = app.screen
        assert intake.outage_shown is not None and intake.outage_shown.number.startswith("OUT")
        await pilot.press("ctrl+o")  # the one key
        await wait_until(lambda: app.screen is not intake, what="the contact to end")
        await settle(app, pilot)
    assert _counts(demo_store) == (answered + 1, made)  # recorded, no ticket


async def test_a_ticket_made_inside_an_outage_is_linked(demo_store):
    from textual.widgets import Select, TextArea

    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=SIZE) as pilot:
        await _banner_shown(pilot)
        screen = app.screen
        screen.query_one("#new-description", TextArea).text = "光猫红灯，上不了网"
        screen.query_one("#new-category", Select).value = "broadband"
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await wait_until(lambda: screen.ticket_id is not None, what="the ticket")

        def linked() -> bool:
            with demo_store.read() as tx:
                return bool(tx.scalar("SELECT 1 FROM outage_ticket WHERE ticket_id = ?",
                                      (screen.ticket_id,)))
        await wait_until(linked, what="the link")


async def test_an_unknown_caller_with_outage_words_is_asked_the_area(demo_store):
    from textual.widgets import Input, TextArea

    from agent_console.widgets.outage_banner import OutageBanner

    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=SIZE) as pilot:
        await _settled(pilot)
        await pilot.press("N")
        await _settled(pilot)
        await pilot.press(*"13912345678")
        screen = app.screen
        banner = screen.query_one(OutageBanner)
        screen.query_one("#new-description", TextArea).text = "家里断网了"
        await wait_until(lambda: banner.has_class("-ask-area"), what="the area box")
        screen.query_one("#outage-area", Input).value = "张江路"
        await wait_until(lambda: banner.has_class("-shown"), what="a suggested outage")
        assert screen.outage_shown is not None and screen.outage_shown.id == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_banner(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="a001")
    assert snap_compare(app, terminal_size=SIZE, run_before=_banner_shown)


async def _board(pilot) -> None:
    from textual.widgets import DataTable

    await _settled(pilot)
    await pilot.press("f10")
    await wait_until(lambda: pilot.app.screen.query(DataTable) and
                     pilot.app.screen.query_one(DataTable).row_count > 0, what="the board")
    await settle(pilot.app, pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_board(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="s900")
    assert snap_compare(app, terminal_size=SIZE, run_before=_board)


async def test_a_supervisor_notes_every_linked_ticket_from_the_board(demo_store):
    from textual.widgets import TextArea

    from agent_console.screens.note_screen import NoteScreen

    app = app_for(demo_store, agent="s900")
    async with app.run_test(size=SIZE) as pilot:
        await _board(pilot)
        await pilot.press("n")
        await wait_until(lambda: isinstance(app.screen, NoteScreen), what="the note dialog")
        app.screen.query_one(TextArea).text = "熔接完成八成，预计按时恢复"
        await pilot.press("ctrl+s")

        def noted() -> int:
            with demo_store.read() as tx:
                return tx.scalar("SELECT count(*) FROM ticket_event WHERE kind = 'note' AND "
                                 "detail LIKE '%熔接完成八成%'")
        assert await wait_until(noted, what="the notes") == 1  # the demo outage's one ticket
