"""The hall's screens driven by keys: the counter (F9), the kiosk and the display; a called
walk-in turned into a guided contact; pictures in English and Chinese."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from agent_console.hall_cli import make_hall_app
from agent_console.screens.hall_counter_screen import HallCounterScreen
from agent_console.screens.hall_display_screen import HallDisplayScreen
from agent_console.screens.hall_kiosk_screen import HallKioskScreen
from agent_console.screens.intake_screen import IntakeScreen
from agent_console.services import hall, tickets

from .conftest import actor_for, app_for, settings_for, settle, still_for_a_picture, wait_until

SIZE = (120, 40)


def _current(store, counter: str = "1"):
    return hall.counter_view(store, actor_for(store, "a001"), counter=counter).current


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_the_counter_calls_finishes_and_turns_a_walk_in_into_a_ticket(demo_store):
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f9")
        await wait_until(lambda: isinstance(app.screen, HallCounterScreen) and app.screen.view)
        screen = app.screen
        serving = _current(demo_store)
        assert serving is not None and serving.number in _text(screen, "#hall-current")
        waiting = _text(screen, "#hall-counter-waiting")
        with demo_store.read() as tx:  # waiting numbers are not on the counter's screen
            hidden = [n for (n,) in tx.all("SELECT number FROM hall_visit WHERE status = 'waiting'")]
        assert hidden and not any(n in waiting for n in hidden)
        await pilot.press("f")
        await wait_until(lambda: _current(demo_store) is None, what="finished")
        await pilot.press("n")
        called = await wait_until(lambda: _current(demo_store), what="the next number called")
        await wait_until(lambda: called.number in _text(screen, "#hall-current"))
        await pilot.press("g")
        intake = await wait_until(lambda: isinstance(app.screen, IntakeScreen) and app.screen)
        await settle(app, pilot)
        values = hall.guided_contact(demo_store, actor_for(demo_store, "a001"),
                                     visit_id=called.id)
        assert intake.query_one("#new-phone", Input).value == values["phone"]
        assert intake.query_one("#new-channel", Select).value == "hall"
        assert intake.query_one("#new-work_type", Select).value == values["work_type"]
        made = tickets.create_ticket(demo_store, actor_for(demo_store, "a001"),
                                     phone=values["phone"] or "13912340000", channel="hall",
                                     work_type=values["work_type"], category="broadband",
                                     description="到店办理", customer_name="到店客户")
        intake.dismiss(made.id)

        def linked():
            with demo_store.read() as tx:
                return tx.scalar("SELECT ticket_id FROM hall_visit WHERE id = ?", (called.id,))
        assert await wait_until(linked, what="the visit linked to the ticket") == made.id


async def test_the_kiosk_issues_a_number_with_a_range_and_a_masked_phone(demo_store):
    settings = settings_for(demo_store, "zh", "a005")
    app = make_hall_app(demo_store, settings, actor_for(demo_store, "a005"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(lambda: isinstance(app.screen, HallKioskScreen))
        await settle(app, pilot)
        screen = app.screen
        screen.query_one("#hall-phone", Input).value = "13912340000"
        screen.query_one("#hall-lane", Select).value = "green"
        screen.query_one("#hall-services").focus()
        await pilot.press("down", "enter")
        await wait_until(lambda: "您的号码是 B" in _text(screen, "#hall-ticket"))
        text = _text(screen, "#hall-ticket")
        assert "139****0000" in text and "13912340000" not in text and "分钟" in text
    with demo_store.read() as tx:
        row = tx.one("SELECT service, lane, phone_masked FROM hall_visit ORDER BY id DESC LIMIT 1")
    assert tuple(row) == ("fault", "green", "139****0000")


async def test_the_display_shows_a_call_and_why_a_priority_number_went_first(demo_store):
    app = make_hall_app(demo_store, settings_for(demo_store, "en"), None)
    desk = actor_for(demo_store, "a005")
    async with app.run_test(size=(80, 24)):
        await wait_until(lambda: isinstance(app.screen, HallDisplayScreen) and app.screen.loaded)
        hall.open_counter(demo_store, desk, counter="4")
        hall.issue(demo_store, desk, service="payment", lane="green")
        visit = hall.call_next(demo_store, desk, counter="4")
        assert visit.lane == "green" and visit.call_reason == "priority_cap"
        screen = app.screen
        await wait_until(lambda: visit.number in _text(screen, "#hall-now-text"),
                         what="the call on the display")
        assert "went first" in _text(screen, "#hall-why") or "was called" in _text(
            screen, "#hall-why")
        assert "Counter 4" in _text(screen, "#hall-counter-text")


async def _settled(pilot) -> None:
    await still_for_a_picture(pilot)


async def _counter(pilot) -> None:
    await _settled(pilot)
    await pilot.press("f9")
    await wait_until(lambda: isinstance(pilot.app.screen, HallCounterScreen)
                     and pilot.app.screen.view)
    await _settled(pilot)


async def _display(pilot) -> None:
    await wait_until(lambda: isinstance(pilot.app.screen, HallDisplayScreen)
                     and pilot.app.screen.loaded)
    await _settled(pilot)


async def _kiosk(pilot) -> None:
    await wait_until(lambda: isinstance(pilot.app.screen, HallKioskScreen)
                     and pilot.app.screen.cfg)
    await _settled(pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_counter_picture(snap_compare, demo_store, lang):
    assert snap_compare(app_for(demo_store, lang=lang, agent="a001"), terminal_size=SIZE,
                        run_before=_counter)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_display_picture(snap_compare, demo_store, lang, size):
    app = make_hall_app(demo_store, settings_for(demo_store, lang), None)
    assert snap_compare(app, terminal_size=size, run_before=_display)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kiosk_picture(snap_compare, demo_store, lang):
    app = make_hall_app(demo_store, settings_for(demo_store, lang, "a005"),
                        actor_for(demo_store, "a005"))
    assert snap_compare(app, terminal_size=SIZE, run_before=_kiosk)


def test_every_hall_key_is_described_in_both_languages():
    from agent_console import i18n

    for lang in ("en", "zh"):
        messages = i18n.catalog(lang)
        for cls in (HallCounterScreen, HallKioskScreen):
            for binding in cls.BINDINGS:
                assert binding.id and f"key.{binding.id}" in messages, (lang, binding.id)
                assert f"keyhelp.{binding.id}" in messages, (lang, binding.id)
        for reason in ("front", "fifo", "priority_cap", "priority_only", "normal_waited",
                       "priority_waited", "hold_back"):
            assert f"hall.reason.{reason}" in messages and f"hall.why.{reason}" in messages


def test_big_text_grows_with_its_space():
    from agent_console.widgets.big_text import BigText, block_lines

    assert block_lines("A1", 1)[0] == "  ██     ██  "
    assert len(block_lines("A1", 3)) == 15
    big = BigText("A012")
    assert big.scale_for(30, 8) == 1 and big.scale_for(120, 20) == 4
