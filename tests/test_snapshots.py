"""What the agent sees, frozen: the queue and a ticket, in English and Chinese."""

from __future__ import annotations

import pytest


from .conftest import app_for

SIZE = (120, 40)


async def _settled(pilot) -> None:
    from textual.widgets import Input, TextArea

    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    for widget in pilot.app.screen.query("Input, TextArea"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False  # a blinking cursor would make the picture flaky
    await pilot.pause()


async def _open_ticket(pilot) -> None:
    await _settled(pilot)
    await pilot.press("j", "j", "enter")
    await _settled(pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_queue(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="a003")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ticket(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="a003")
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_ticket)


def _kb_search(query: str):
    async def run(pilot) -> None:
        await _settled(pilot)
        await pilot.press("f2", *query)
        await pilot.pause(0.3)
        await _settled(pilot)
    return run


@pytest.mark.parametrize(("lang", "query"), [("en", "PPPoE 691"), ("zh", "光猫")])
def test_knowledge(snap_compare, demo_store, lang, query):
    app = app_for(demo_store, lang=lang, agent="a003")
    assert snap_compare(app, terminal_size=SIZE, run_before=_kb_search(query))


async def _intake(pilot) -> None:
    from textual.widgets import TextArea

    await _settled(pilot)
    await pilot.press("N")
    await _settled(pilot)
    await pilot.press(*"13912345678", "tab", *"王建国")
    pilot.app.screen.query_one("#new-description", TextArea).text = "家里宽带断网，光猫 LOS 灯红"
    # Timers (suggestions 0.3 s, draft 0.8 s) and the workers they start must all be done,
    # even on a loaded machine: wait, settle, and settle again.
    for _ in range(3):
        await pilot.pause(0.5)
        await _settled(pilot)
    await pilot.press("f6")
    for _ in range(2):
        await pilot.pause(0.3)
        await _settled(pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_intake(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="a003")
    assert snap_compare(app, terminal_size=SIZE, run_before=_intake)
