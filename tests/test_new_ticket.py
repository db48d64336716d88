"""Taking a new contact: validation in place, similar cases while typing, a draft that survives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, Select, TextArea

from agent_console.screens.intake_screen import IntakeScreen as NewTicketScreen
from agent_console.screens.ticket_screen import TicketScreen
from agent_console.services import tickets
from agent_console.services.directory import get_preference
from agent_console.widgets.case_list import CaseList

from .conftest import actor_for, app_for, settle, wait_until
from .e2e_pty import Terminal, demo_env, make_demo_store, stored_row


async def _suggested(app, pilot) -> None:
    """Wait until the description typed a moment ago has its classification and similar cases."""
    screen = app.screen
    await wait_until(lambda: screen.proposal is not None, what="the proposal")
    await settle(app, pilot)


async def test_new_contact_with_suggestions_and_checks(demo_store):
    app = app_for(demo_store, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, NewTicketScreen)
        await pilot.press(*"12345", "tab", *"王建国")
        screen.query_one("#new-category", Select).value = "broadband"
        screen.query_one("#new-description", TextArea).text = "光猫 LOS 灯红，家里断网"
        await _suggested(app, pilot)
        hits = screen.query_one(CaseList).hits
        assert hits and any("LOS" in h.title or "断网" in h.title for h in hits[:3])
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "联系电话" in str(screen.query_one("#new-error").render())
        assert screen.focused is screen.query_one("#new-phone", Input)
        screen.query_one("#new-phone", Input).value = "13912345678"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert screen.ticket_id is not None  # created; the script goes on beside it
        detail = tickets.ticket_detail(demo_store, actor_for(demo_store, "a001"),
                                       ticket_id=screen.ticket_id)
        assert detail.category == "broadband" and detail.customer.phone_masked == "139****5678"
        assert detail.department == "network" and detail.customer.name == "王建国"
        assert detail.events[-1].kind == "classified"


async def test_an_unfinished_contact_comes_back(demo_store):
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        await pilot.press(*"13700001111")
        app.screen.query_one("#new-description", TextArea).text = "IPTV 黑屏 1302"

        def draft() -> dict | None:  # written about a second behind the typing
            raw = get_preference(demo_store, "a001", f"contact_draft:{app.screen.intake_key}")
            return json.loads(raw) if raw and "IPTV" in raw else None

        saved = await wait_until(draft)
        await settle(app, pilot)
    assert saved["form"]["phone"] == "13700001111" and saved["form"]["description"] == "IPTV 黑屏 1302"
    assert saved["run"]["step"] == "greet"  # the script's place is kept too
    again = app_for(demo_store)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        await pilot.press("P", "enter")  # the list of unfinished contacts: resume the first
        await settle(again, pilot)
        screen = again.screen
        assert screen.query_one("#new-phone", Input).value == "13700001111"
        assert screen.query_one("#new-description", TextArea).text == "IPTV 黑屏 1302"


@pytest.mark.uses_store
def test_kill_9_mid_contact_then_resume_where_it_stood(tmp_path: Path):
    """A real terminal: type into a new contact, kill -9, start again: the contact is offered back."""
    env = demo_env(tmp_path)
    store = make_demo_store(tmp_path / "s.db", env)
    args = ["--db", str(store), "--agent", "a002", "--lang", "en"]

    with Terminal(args, env) as term:
        term.expect("PIN")
        term.send("1111\r")  # a002's demo PIN: the app opens on sign-in
        term.expect("Row 1 of")
        term.send("N")
        term.expect("What the customer says")
        term.send("13800138000")
        term.expect("13800138000")
        row = stored_row(store, "SELECT value FROM agent_preference WHERE agent_code = 'a002' "
                                "AND key LIKE 'contact_draft:%' AND value LIKE '%13800138000%'")
        term.kill()  # kill -9: nothing gets a chance to save
    assert json.loads(row[0])["form"]["phone"] == "13800138000"

    with Terminal(args, env) as term:
        term.expect("PIN")
        term.send("1111\r")
        term.expect("unfinished contact")  # said, not asked: no dialog takes the keys
        term.send("P")
        term.expect("Unfinished contacts")
        term.send("\r")  # resume it
        term.expect("13800138000")


async def _walk(app, pilot, choose: dict[str, str]) -> list[str]:
    """Go through every script step as an agent would: tick, fill, F6. Returns the step ids."""
    from textual.widgets import Checkbox

    from agent_console.widgets.script_panel import ScriptPanel

    screen = app.screen
    seen = []
    for _ in range(60):
        if app.screen is not screen:
            return seen
        run = screen.run
        step = run.step
        seen.append(step.id)
        panel = screen.query_one(ScriptPanel)
        for box in panel.query(Checkbox):
            box.value = True
        for field in step.fields:
            widget = panel.query_one(f"#field-{field.id}")
            kind = field.kind.value
            if field.id in choose:
                value = choose[field.id]
            elif kind == "choice":
                value = field.options[0].value
            elif kind == "yes_no":
                value = "yes"
            elif kind == "phone":
                value = "13912345678"
            elif kind == "amount":
                value = "10"
            else:
                value = "已向客户说明并处理"
            widget.value = value
        await pilot.press("f6")
        await settle(app, pilot)
        assert not screen.step_message, (step.id, screen.step_message)
    raise AssertionError(f"the script did not end: {seen}")


async def _start_complaint(app, pilot, description: str) -> None:
    await settle(app, pilot)
    await pilot.press("N")
    await settle(app, pilot)
    screen = app.screen
    await pilot.press(*"13912345678", "tab", *"王建国")
    screen.query_one("#new-work_type", Select).value = "complaint"
    screen.query_one("#new-description", TextArea).text = description
    await _suggested(app, pilot)


async def test_a_complaint_from_first_keystroke_to_a_dissatisfied_survey(demo_store):
    from agent_console.services import intake

    app = app_for(demo_store, lang="zh", agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_complaint(app, pilot, "营业员态度很差，排队一个小时没人管，我要求道歉！")
        screen = app.screen
        assert screen.query_one("#new-category", Select).value == "service_attitude"
        assert screen.run.script.id == "service_attitude"
        steps = await _walk(app, pilot, {"satisfaction": "3", "solved": "no",
                                         "follow_up_note": "客户仍认为道歉不够诚恳"})
        stages = [screen.run.script.stage_of(s) for s in steps]
        assert stages.index("empathy") < stages.index("resolution")
        ticket_id = screen.ticket_id
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen) and "服务话术" in app.export_screenshot()
    actor = actor_for(demo_store, "a003")
    detail = tickets.ticket_detail(demo_store, actor, ticket_id=ticket_id)
    assert detail.status != "closed"
    stored = intake.stored_run(demo_store, actor, ticket_id=ticket_id)
    assert stored["script"] == "service_attitude" and stored["adherence"]["empathy_first"]
    assert 0 < stored["score"] <= 100
    with demo_store.read() as tx:
        follow = tx.one("SELECT number, work_type, handler_id, parent_id FROM ticket "
                        "WHERE parent_id = ?", (ticket_id,))
    assert follow is not None and follow[1] == "follow_up" and follow[2] is not None
    assert intake.parked_contacts(demo_store, actor) == []  # the ended contact's draft is gone


async def test_a_contact_solved_on_the_spot_closes_as_a_direct_answer(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        screen = app.screen
        await pilot.press(*"13912345678")
        screen.query_one("#new-work_type", Select).value = "consultation"
        screen.query_one("#new-description", TextArea).text = "想咨询一下5G套餐有哪些档位"
        await _suggested(app, pilot)
        screen.query_one("#new-category", Select).value = "plan_dispute"
        await settle(app, pilot)
        await _walk(app, pilot, {"satisfaction": "1", "solved": "yes"})
        ticket_id = screen.ticket_id
    assert tickets.ticket_detail(demo_store, actor_for(demo_store, "a003"),
                                 ticket_id=ticket_id).status == "closed"


async def test_a_wrong_value_in_a_script_step_is_named_in_the_agents_language(demo_store):
    from agent_console.widgets.script_panel import ScriptPanel

    app = app_for(demo_store, lang="zh", agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_complaint(app, pilot, "家里宽带断网，光猫红灯")
        screen = app.screen
        screen.query_one("#new-work_type", Select).value = "fault"
        await settle(app, pilot)
        await pilot.press("f6")  # greet
        await settle(app, pilot)
        assert screen.run.step.id == "verify"
        panel = screen.query_one(ScriptPanel)
        panel.query_one("#field-callback_phone", Input).value = "12"
        await pilot.press("f6")
        await settle(app, pilot)
        assert screen.run.step.id == "verify"
        assert "联系电话" in screen.step_message and "13812345678" in screen.step_message
