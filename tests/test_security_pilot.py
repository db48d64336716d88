"""Sign-in, the idle lock and reveals on screen; no unmasked number anywhere an agent looks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import Input, Select

from agent_console.cli import make_app
from agent_console.screens.intake_screen import IntakeScreen as NewTicketScreen
from agent_console.screens.queue_screen import QueueScreen
from agent_console.screens.sign_in_screen import SignInScreen
from agent_console.screens.ticket_screen import TicketScreen
from agent_console.services import audit

from .conftest import actor_for, app_for, settings_for, settle, wait_until
from .pilot import footer_text, help_text, palette_entries

SNAPSHOTS = Path(__file__).parent / "__snapshots__"


def _full_phones(store) -> set[str]:
    with store.read() as tx:
        return {p for (p,) in tx.all("SELECT phone FROM customer")} | \
            {i for (i,) in tx.all("SELECT id_number FROM customer WHERE id_number != ''")}


def _audit(store) -> list:
    """The audit trail as a supervisor exports it."""
    return list(audit.export(store, actor_for(store, "s900")))


async def test_sign_in_with_a_pin(demo_store):
    app = make_app(demo_store, settings_for(demo_store, agent="a002"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.screen.query_one("#sign-in-code", Input).value == "a002"
        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        assert "not recognised" in str(app.screen.query_one("#sign-in-error").render())
        await pilot.press(*"1111", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and app.agent.code == "a002"
    actions = [r.action for r in _audit(demo_store) if r.action.startswith("sign_in")]
    assert actions[:2] == ["sign_in_failed", "sign_in"]


async def test_idle_lock_hides_everything_and_the_pin_resumes_where_you_were(demo_store, clock):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        await pilot.press(*"13912345678")
        clock.advance(timedelta(minutes=6))
        app.lock_when_idle()
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        shot = app.export_screenshot()
        assert "13912345678" not in shot and "T2611" not in shot and "****" not in shot
        await pilot.press("f2", "ctrl+p")  # nothing opens over the lock
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        await pilot.press(*"2222", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, NewTicketScreen)
        assert app.screen.query_one("#new-phone", Input).value == "13912345678"
    assert "screen_lock" in [r.action for r in _audit(demo_store)]


async def test_another_agent_takes_the_seat_and_the_first_draft_stays_theirs(demo_store, clock):
    import json

    from agent_console.services import intake

    def drafts(code: str) -> str:  # the agent's parked contacts, as stored
        actor = actor_for(demo_store, code)
        return " ".join(json.dumps(intake.load_draft(demo_store, actor, intake_key=p.key),
                                   ensure_ascii=False)
                        for p in intake.parked_contacts(demo_store, actor))

    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        await pilot.press(*"13912345678")
        await wait_until(lambda: "13912345678" in drafts("a003"),
                         what="the draft written")  # about a second behind the typing
        await settle(app, pilot)
        app.action_lock()
        await settle(app, pilot)
        code = app.screen.query_one("#sign-in-code", Input)
        code.value = "a004"
        code.focus()
        await pilot.press("enter", *"1111", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and app.agent.code == "a004"
        assert len(app.screen_stack) == 2
    assert '"13912345678"' in drafts("a003")
    assert drafts("a004") == ""


async def test_reveal_on_a_ticket_needs_a_reason_and_ends_with_the_ticket(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen)
        phone = next(p for p in _full_phones(demo_store)
                     if p.endswith(screen.detail.customer.phone_masked[-4:])
                     and p.startswith(screen.detail.customer.phone_masked[:3]))
        assert phone not in app.export_screenshot()
        await pilot.press("v")
        await settle(app, pilot)
        app.screen.query_one("#reveal-reason", Select).value = "other"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "reveal-other" in str(app.focused.id)  # "Other" needs words
        await pilot.press(*"客户要求核对", "ctrl+s")
        await settle(app, pilot)
        assert phone in app.export_screenshot()
        record = [r for r in _audit(demo_store) if r.action == "reveal"][-1]
        assert "客户要求核对" in record.detail["reason"]
        await pilot.press("escape", "enter")
        await settle(app, pilot)
        assert phone not in app.export_screenshot()


async def test_a_plain_agent_has_no_reveal_key(demo_store):
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("v", "i")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen)
        assert "Reveal" not in app.export_screenshot()


def test_no_unmasked_number_in_snapshots_or_command_output(demo_store, tmp_path):
    numbers = _full_phones(demo_store)
    for svg in SNAPSHOTS.rglob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        # On the intake screen (the outage banner sits on it too) the agent types the number.
        if "intake" in svg.name or "banner" in svg.name:
            continue
        assert not any(n in text for n in numbers), svg
        assert not re.search(r"1[3-9]\d{9}", text), svg
    exe = str(Path(sys.executable).parent / "agent-console")
    env = {**os.environ, "AGENT_CONSOLE_NOW": "2026-11-24T02:00:00+00:00"}
    outputs = []
    supervisor = ["--agent", "s900", "--pin-stdin"]  # the PIN comes on standard input
    for args, pin in ((["ticket", "list", "--limit", "500", *supervisor], "3333"),
                      (["ticket", "list", "--json", "--limit", "500", *supervisor], "3333"),
                      (["audit", "export", *supervisor], "3333"),
                      (["audit", "export", "--json", *supervisor], "3333"),
                      (["kb", "search", "断网"], ""),
                      (["agent", "list", "--agent", "admin", "--pin-stdin"], "9999")):
        done = subprocess.run([exe, *args, "--db", demo_store.url], capture_output=True,
                              text=True, env=env, timeout=60, input=f"{pin}\n")
        assert done.returncode == 0, (args, done.stderr)
        outputs.append(done.stdout + done.stderr)
    text = "\n".join(outputs)
    assert "****" in text
    assert not any(n in text for n in numbers)


async def test_a_new_store_says_how_to_add_the_first_admin(store):
    app = make_app(store, settings_for(store, agent="someone"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert "agent add" in str(app.screen.query_one("#sign-in-error").render())


@pytest.mark.parametrize(("agent", "allowed"), [("a001", False), ("s900", True)])
async def test_reveal_and_customer_info_are_offered_only_to_roles_that_may(demo_store, agent,
                                                                           allowed):
    app = app_for(demo_store, agent=agent)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen)
        keys = await help_text(app, pilot)
        palette = "\n".join(await palette_entries(app, pilot))
        footer = footer_text(app)
        for words in ("Reveal", "Customer info"):
            assert (words in keys) is allowed, keys
            assert (words in palette) is allowed, palette
            assert (words in footer) is allowed, footer
        assert "Claim" in keys and "Claim" in palette  # what every role may do stays


async def test_a_refused_value_in_the_customer_dialog_is_said_in_the_agents_language(demo_store):
    app = app_for(demo_store, lang="zh", agent="s900")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press("i")
        await settle(app, pilot)
        dialog = app.screen
        dialog.query_one("#customer-phone", Input).value = "12345"
        dialog.query_one("#customer-reason", Input).value = "客户要求更换号码"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        error = str(dialog.query_one("#customer-error").render())
        assert "电话" in error and "手机号" in error and "mobile" not in error
