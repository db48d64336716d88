"""What the agent sees, frozen: the queue and a ticket, in English and Chinese."""

from __future__ import annotations

import pytest

from .conftest import app_for, still_for_a_picture, wait_until

SIZE = (120, 40)


async def _settled(pilot) -> None:
    await still_for_a_picture(pilot)


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
        from agent_console.screens.knowledge_screen import RESULTS
        from agent_console.services import knowledge
        from agent_console.services.permissions import EDIT_KB
        from agent_console.widgets.case_list import CaseList

        app = pilot.app
        await _settled(pilot)
        await pilot.press("f2", *query)
        found = [hit.id for hit in knowledge.find_cases(
            app.store, query=query, limit=RESULTS, include_retired=app.agent.can(EDIT_KB)).hits]
        cases = app.screen.query_one(CaseList)
        await wait_until(lambda: found and [hit.id for hit in cases.hits] == found,
                         what=f"the cases for {query!r}")  # not those for a part of it
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
    screen = pilot.app.screen
    screen.query_one("#new-description", TextArea).text = "家里宽带断网，光猫 LOS 灯红"
    await wait_until(lambda: screen.proposal is not None, what="the proposal")
    await _settled(pilot)
    await pilot.press("f6")
    await _settled(pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_intake(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="a003")
    assert snap_compare(app, terminal_size=SIZE, run_before=_intake)


# --- every screen in Chinese on an 80×24 terminal -----------------------------------------------

SMALL = (80, 24)


@pytest.mark.parametrize("screen", ["queue", "ticket", "knowledge", "intake", "help"])
def test_small_zh(snap_compare, demo_store, screen):
    async def help_(pilot) -> None:
        from agent_console.screens.help_screen import HelpScreen

        await _settled(pilot)
        await pilot.press("f1")
        await wait_until(lambda: isinstance(pilot.app.screen, HelpScreen))
        await _settled(pilot)

    before = {"queue": _settled, "ticket": _open_ticket, "knowledge": _kb_search("光猫"),
              "intake": _intake, "help": help_}[screen]
    app = app_for(demo_store, lang="zh", agent="a003")
    assert snap_compare(app, terminal_size=SMALL, run_before=before)


def test_small_zh_sign_in(snap_compare, demo_store):
    from agent_console.cli import make_app

    from .conftest import settings_for

    app = make_app(demo_store, settings_for(demo_store, "zh", "a003", os_user_sign_in=False))
    assert snap_compare(app, terminal_size=SMALL, run_before=_settled)


def _dialog(*keys: str, size_wait: str = ""):
    """Open a ticket as the supervisor, then the dialog its keys open."""
    async def run(pilot) -> None:
        from textual.screen import ModalScreen

        await _open_ticket(pilot)
        await pilot.press(*keys)
        await wait_until(lambda: isinstance(pilot.app.screen, ModalScreen) or
                         pilot.app.screen.__class__.__name__ == "SignInScreen",
                         what=f"the dialog of {keys}")
        await _settled(pilot)
    return run


DIALOGS = {
    "reveal": ("v",),
    "customer-edit": ("i",),
    "assign": ("a",),
    "status": ("s",),
    "note": ("n",),
    "resolution": ("r",),
    "help": ("f1",),
    "lock": ("ctrl+l",),
    "go-to-ticket": ("escape", "#"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("dialog", sorted(DIALOGS))
def test_dialog(snap_compare, demo_store, lang, dialog):
    """Every dialog, in both languages, with a frozen clock."""
    app = app_for(demo_store, lang=lang, agent="s900")
    assert snap_compare(app, terminal_size=SIZE, run_before=_dialog(*DIALOGS[dialog]))


def _retire_reason(pilot):
    async def run(pilot) -> None:
        await _kb_search("光猫")(pilot)
        await pilot.press("down", "d")
        await wait_until(lambda: pilot.app.screen.__class__.__name__ == "ReasonScreen",
                         what="the reason dialog")
        await _settled(pilot)
    return run(pilot)


def _case_editor(pilot):
    async def run(pilot) -> None:
        await _kb_search("光猫")(pilot)
        await pilot.press("down", "e")
        await wait_until(lambda: pilot.app.screen.__class__.__name__ == "CaseEditScreen",
                         what="the case editor")
        await _settled(pilot)
    return run(pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dialog_case_edit(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="s900")
    assert snap_compare(app, terminal_size=SIZE, run_before=_case_editor)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dialog_reason(snap_compare, demo_store, lang):
    app = app_for(demo_store, lang=lang, agent="s900")
    assert snap_compare(app, terminal_size=SIZE, run_before=_retire_reason)
