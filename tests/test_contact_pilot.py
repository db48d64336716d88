"""A contact from sign-in to resolution, keyboard only: sign-in and lock fields reached by Tab,
lockout hints, take-overs, the live ticket, going to a ticket by number, the resolution."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input

from agent_console.cli import make_app
from agent_console.screens.queue_screen import QueueScreen
from agent_console.screens.sign_in_screen import SignInScreen

from .conftest import app_for, settings_for, settle, wait_until


async def test_tab_reaches_the_agent_id_on_the_lock_screen_and_another_agent_signs_in(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.action_lock()
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.focused.id == "sign-in-pin"
        await pilot.press("shift+tab")
        assert app.focused.id == "sign-in-code"
        code = app.screen.query_one("#sign-in-code", Input)
        code.value = ""
        await pilot.press(*"a004", "tab")
        assert app.focused.id == "sign-in-pin"
        await pilot.press(*"1111", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and app.agent.code == "a004"


async def test_sign_in_says_how_many_tries_remain_and_when_the_lock_ends(demo_store, clock):
    app = make_app(demo_store, settings_for(demo_store, agent="a002", lockout_attempts=3,
                                            lockout_minutes=5))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)

        def error() -> str:
            return str(app.screen.query_one("#sign-in-error").render())

        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        assert "locked: 2" in error()
        await pilot.press("shift+tab", "tab")  # to the id and back: Tab works signed out
        assert app.focused.id == "sign-in-pin"
        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        assert "locked: 1" in error()
        app.screen.query_one("#sign-in-pin", Input).focus()
        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        until = (clock.now() + timedelta(minutes=5)).astimezone(app.zone).strftime("%H:%M")
        assert "locked until" in error() and until in error()


def _held_by_other(store, me: str) -> tuple[int, str]:
    """A ticket someone other than `me` handles, and that handler's id."""
    with store.read() as tx:
        row = tx.one("SELECT t.id, a.code FROM ticket t JOIN agent a ON a.id = t.handler_id "
                     "WHERE a.code != ? AND t.is_open = 1 ORDER BY t.id LIMIT 1", (me,))
    return row[0], row[1]


def _handler(store, ticket_id: int) -> str:
    with store.read() as tx:
        return tx.scalar("SELECT a.code FROM ticket t JOIN agent a ON a.id = t.handler_id "
                         "WHERE t.id = ?", (ticket_id,))


async def test_taking_over_a_held_ticket_asks_first_and_the_previous_handler_is_told(demo_store):
    from agent_console.screens.choice_screen import ChoiceScreen
    from agent_console.screens.ticket_screen import TicketScreen

    ticket_id, previous = _held_by_other(demo_store, "a003")
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(TicketScreen(app.ctx, ticket_id))
        await settle(app, pilot)
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, ChoiceScreen), what="the question")
        assert f"({previous})" in str(app.screen.query_one("#dialog-title").render())
        await pilot.press("enter")  # the first answer leaves it with them
        await settle(app, pilot)
        assert _handler(demo_store, ticket_id) == previous
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, ChoiceScreen), what="the question")
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert _handler(demo_store, ticket_id) == "a003"

    told = app_for(demo_store, agent=previous)
    async with told.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: any("a003" in n.message or "took over" in n.message
                                     for n in told._notifications), what="the notice")
        await settle(told, pilot)
        assert sum("took over" in n.message for n in told._notifications) == 1
