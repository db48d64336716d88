"""A console whose database server goes away mid-session: a clear line in the agent's language,
no traceback, and what the agent typed is still in front of them."""

from __future__ import annotations

import pytest

from tests import pg_server

from .conftest import app_for, settle, wait_until


@pytest.fixture
def own_server():
    """A server of this test's own, since the test stops it."""
    try:
        server = pg_server.start()
    except pg_server.PgServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.mark.parametrize(("lang", "says", "then"), [
    ("en", "connection to the database server is lost", "server back"),
    ("zh", "与数据库服务器的连接已断开", "closed anyway")])
async def test_a_note_typed_when_the_server_goes_away_stays_on_screen(own_server, clock, lang,
                                                                     says, then):
    from textual.widgets import TextArea

    from agent_console.i18n import t
    from agent_console.screens.note_screen import NoteScreen
    from agent_console.services.demo import fill_demo
    from agent_console.services.store import open_store

    store = open_store(own_server.new_database(), clock=clock)
    fill_demo(store, tickets=40, seed=7)
    app = app_for(store, lang=lang, agent="a003", refresh_seconds=60.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        await wait_until(lambda: isinstance(app.screen, NoteScreen), what="the note dialog")
        await settle(app, pilot)
        await pilot.press(*"客户说光猫红灯")
        own_server.halt()
        await pilot.press("ctrl+s")
        await wait_until(lambda: any(says in n.message for n in app._notifications),
                         timeout=60, what="the message that the server is gone")
        await settle(app, pilot)
        assert isinstance(app.screen, NoteScreen)
        assert app.screen.query_one(TextArea).text == "客户说光猫红灯"
        assert not any("Traceback" in n.message or "psycopg" in n.message
                       for n in app._notifications)
        await pilot.press("escape")  # the draft cannot be kept either: said, and still open
        await wait_until(lambda: any(n.message == t("note.not_kept") for n in app._notifications),
                         timeout=60, what="the warning that the draft was not kept")
        assert isinstance(app.screen, NoteScreen)
        assert app.screen.query_one(TextArea).text == "客户说光猫红灯"
        if then == "server back":  # the next try just works: the console reconnects
            own_server.resume()
            await pilot.press("ctrl+s")
            await wait_until(lambda: not isinstance(app.screen, NoteScreen), timeout=60,
                             what="the note stored and the dialog closed")
            with store.read() as tx:
                assert tx.scalar("SELECT count(*) FROM ticket_event WHERE kind = 'note' AND "
                                 "detail LIKE ?", ("%客户说光猫红灯%",)) == 1
        else:  # a second Escape closes without it
            await pilot.press("escape")
            await wait_until(lambda: not isinstance(app.screen, NoteScreen),
                             what="the dialog closed")
    store.close()


async def test_the_queue_stays_on_screen_and_opening_a_ticket_says_the_link_is_lost(own_server,
                                                                                   clock):
    from agent_console.services.demo import fill_demo
    from agent_console.services.store import open_store
    from agent_console.widgets.ticket_table import TicketTable

    store = open_store(own_server.new_database(), clock=clock)
    fill_demo(store, tickets=40, seed=7)
    app = app_for(store, lang="zh", agent="a003", refresh_seconds=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(TicketTable)
        shown = [table.render_line(y).text for y in range(table.size.height)]
        own_server.halt()
        await pilot.press("enter")
        await wait_until(lambda: any("与数据库服务器的连接已断开" in n.message
                                     for n in app._notifications),
                         timeout=60, what="the message that the server is gone")
        await pilot.press("escape")
        await wait_until(lambda: app.screen.query(TicketTable), what="the queue again")
        table = app.screen.query_one(TicketTable)
        assert [table.render_line(y).text for y in range(table.size.height)][2:] == shown[2:]
        assert all("psycopg" not in n.message for n in app._notifications)
    store.close()
