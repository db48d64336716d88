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
