"""The training screens, frozen, in English and Chinese: the home, a result with its evidence,
the replay, the trainer's group view, and a run on the intake screen with its transcript."""

from __future__ import annotations

import time

import pytest

from .conftest import app_for, still_for_a_picture, wait_until

SIZE = (120, 40)


async def _quiet(pilot) -> None:
    await still_for_a_picture(pilot)


async def _home(pilot) -> None:
    from agent_console.screens.training_screen import TrainingScreen

    await _quiet(pilot)
    await pilot.press("f11")
    await wait_until(lambda: isinstance(pilot.app.screen, TrainingScreen), what="training home")
    await _quiet(pilot)


async def _result(pilot) -> None:
    await _home(pilot)
    await pilot.press("tab", "tab", "enter")
    await wait_until(lambda: getattr(pilot.app.screen, "detail", None) is not None,
                     what="the result")
    await _quiet(pilot)


async def _replay(pilot) -> None:
    await _result(pilot)
    await pilot.press("r", "right", "right", "right", "right")
    await _quiet(pilot)


async def _group(pilot) -> None:
    await _home(pilot)
    await pilot.press("g")
    await _quiet(pilot)


def _run(lang: str):
    async def run(pilot) -> None:
        from agent_console.screens.training_run_screen import TrainingRunScreen
        from agent_console.screens.training_screen import make_run

        await _home(pilot)
        app = pilot.app
        screen = make_run(app.ctx, "outage_angry_broadband", None, lang, seed=3)
        app.push_screen(screen)
        await wait_until(lambda: isinstance(app.screen, TrainingRunScreen) and app.screen.run,
                         what="the run screen")
        await _quiet(pilot)
        screen.started = time.monotonic()  # the run's clock reads 00:00 in the picture
        screen._paint_banner()
        await pilot.pause()
    return run


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_home(snap_compare, demo_store, lang):
    assert snap_compare(app_for(demo_store, lang=lang, agent="a001"), terminal_size=SIZE,
                        run_before=_home)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_result(snap_compare, demo_store, lang):
    assert snap_compare(app_for(demo_store, lang=lang, agent="a001"), terminal_size=SIZE,
                        run_before=_result)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_replay(snap_compare, demo_store, lang):
    assert snap_compare(app_for(demo_store, lang=lang, agent="a001"), terminal_size=SIZE,
                        run_before=_replay)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_group(snap_compare, demo_store, lang):
    assert snap_compare(app_for(demo_store, lang=lang, agent="t800"), terminal_size=SIZE,
                        run_before=_group)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_training_run(snap_compare, demo_store, lang):
    assert snap_compare(app_for(demo_store, lang=lang, agent="a002"), terminal_size=SIZE,
                        run_before=_run(lang))
