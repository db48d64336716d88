"""A contact from first keystroke to its end without a stumble: the script panel keeps what is
typed (through F6 refusals and kill -9), lines read aloud never show a raw placeholder, the form
locks honestly once the ticket exists, standards are data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, Select, TextArea

from agent_console.services import intake
from agent_console.services.script_run import ScriptRun, render_line
from agent_console.services.scripts import load_scripts
from agent_console.services.standards import Standards, parse_standards, standards
from agent_console.widgets.script_panel import ScriptPanel

from .conftest import actor_for, app_for, settle, wait_until

# --- standards as data --------------------------------------------------------------------------

def test_standards_file_holds_todays_figures():
    rule = standards()
    assert rule == Standards()
    assert rule.classify_within.total_seconds() == 15 * 60
    assert (rule.step_points, rule.empathy_points, rule.wording_points) == (60, 25, 15)
    assert rule.follow_up_role == "supervisor" and rule.follow_up_department == "service"
    assert rule.reveal_reasons[-1] == "other"


def test_standards_refuse_weights_not_summing_to_100_and_unknown_roles():
    assert parse_standards({"adherence": {"step_points": 50, "empathy_points": 35}}).empathy_points == 35
    with pytest.raises(ValueError):
        parse_standards({"adherence": {"step_points": 90}})
    with pytest.raises(ValueError):
        parse_standards({"follow_up": {"role": "boss"}})
    assert parse_standards({"follow_up": {"deadline_hours": 4}}).follow_up_within.total_seconds() == 4 * 3600


# --- lines read aloud ---------------------------------------------------------------------------

def test_a_missing_name_is_left_out_and_a_missing_value_takes_its_sentence():
    known = {"agent_name": "小李"}.get
    assert render_line("请问您是机主{customer_name}本人吗？", known) == "请问您是机主本人吗？"
    assert render_line("Are you the account holder, {customer_name}? Thanks.", known) == \
        "Are you the account holder? Thanks."
    assert render_line("已登记。工单号是{ticket_no}，会在{due_time}前回电。", known) == "已登记。"
    assert render_line("退款{refund_amount}元已到账。", {"refund_amount": "200.00"}.get) == \
        "退款200.00元已到账。"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_shipped_script_line_ever_shows_a_placeholder_or_a_hole(lang):
    """Every line of every shipped script, read with nothing known and with everything known."""
    library = load_scripts()
    holes = re.compile(r"[{}]|“\s*”|\"\s*\"|（\s*）|\(\s*\)|，，|，。|\s[,.?!]|^[，,。.]")
    for script in library.scripts.values():
        ids = {f.id for _, step in script.flow for f in step.fields}
        full = {name: "X1" for name in (*ids, "customer_name", "agent_name", "ticket_no", "due_time")}
        for _, step in script.flow:
            for line in step.say.get(lang):
                for values in ({}, full):
                    said = render_line(line, values.get)
                    assert not holes.search(said), (script.id, step.id, said)


# --- services -----------------------------------------------------------------------------------

def test_recent_tickets_are_the_customers_own_and_only_visible_ones(demo_store):
    actor = actor_for(demo_store, "s900")
    with demo_store.read() as tx:
        customer = tx.scalar("SELECT customer_id FROM ticket GROUP BY customer_id "
                             "ORDER BY count(*) DESC LIMIT 1")
        total = tx.scalar("SELECT count(*) FROM ticket WHERE customer_id = ?", (customer,))
    found = intake.recent_tickets(demo_store, actor, customer_id=customer, limit=20)
    assert found and len(found) == min(total, 20)
    with demo_store.read() as tx:
        owners = {tx.scalar("SELECT customer_id FROM ticket WHERE id = ?", (r.id,)) for r in found}
    assert owners == {customer}
    stranger = actor_for(demo_store, "zz01")  # a plain agent in no team sees none of them
    assert all(r.id in {x.id for x in found}
               for r in intake.recent_tickets(demo_store, stranger, customer_id=customer))


def test_abandoning_records_the_reason_and_deletes_the_draft(demo_store):
    actor = actor_for(demo_store, "a001")
    intake.save_draft(demo_store, actor, intake_key="k9", draft=json.dumps(
        {"form": {"phone": "13912345678"}, "intake_key": "k9"}))
    intake.save_draft(demo_store, actor, intake_key="k8", draft=json.dumps({"form": {}}))
    with pytest.raises(intake.validation.InputError):
        intake.abandon(demo_store, actor, intake_key="k9", reason="  ")
    assert [p.key for p in intake.parked_contacts(demo_store, actor)] == ["k8", "k9"]
    intake.abandon(demo_store, actor, intake_key="k9", reason="客户挂机")
    assert [p.key for p in intake.parked_contacts(demo_store, actor)] == ["k8"]  # only its own
    with demo_store.read() as tx:
        row = tx.one("SELECT action, target, detail FROM audit_log WHERE action = 'contact_abandon'")
    assert row is not None and "客户挂机" in row.detail and row.target == "contact:k9"
    # A draft write still on its way when the contact ended (its timer fired just before)
    # cannot bring the draft, with the full number in it, back.
    intake.save_draft(demo_store, actor, intake_key="k9", draft=json.dumps(
        {"form": {"phone": "13912345678"}, "intake_key": "k9"}))
    intake.save_draft(demo_store, actor, intake_key="k9", draft=None)
    intake.save_draft(demo_store, actor, intake_key="k9", draft=json.dumps({"form": {}}))
    assert [p.key for p in intake.parked_contacts(demo_store, actor)] == ["k8"]
    assert intake.load_draft(demo_store, actor, intake_key="k9") is None


# --- the screen ---------------------------------------------------------------------------------

async def _open(app, pilot):
    await settle(app, pilot)
    await pilot.press("N")
    await settle(app, pilot)
    screen = app.screen
    await wait_until(lambda: screen.run is not None, what="the script")
    await settle(app, pilot)
    return screen


def _draft(store, agent="a001"):
    """The agent's one parked draft (the tests park one contact at a time)."""
    actor = actor_for(store, agent)
    parked = intake.parked_contacts(store, actor)
    return intake.load_draft(store, actor, intake_key=parked[0].key) if parked else None


async def _to_verify(app, pilot, screen):
    """A fault contact, at the verify step (its callback_phone field and checklist)."""
    await pilot.press(*"13912345678")
    screen.query_one("#new-work_type", Select).value = "fault"
    screen.query_one("#new-category", Select).value = "broadband"
    screen.query_one("#new-description", TextArea).text = "家里宽带断网，光猫红灯"
    await settle(app, pilot)
    await pilot.press("f6")
    await settle(app, pilot)
    await wait_until(lambda: screen.run.step.id == "verify", what="the verify step")
    await wait_until(lambda: screen.query_one(ScriptPanel).view.key.endswith("/verify"))
    await settle(app, pilot)


async def test_after_f6_the_cursor_is_on_the_new_steps_first_item(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await _to_verify(app, pilot, screen)
        panel = screen.query_one(ScriptPanel)
        first = panel.query("Checkbox, Input, Select").first()
        await wait_until(lambda: screen.focused is first, what="focus on the first item")


async def test_a_wrong_value_is_kept_for_correction(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await _to_verify(app, pilot, screen)
        panel = screen.query_one(ScriptPanel)
        field = panel.query_one("#field-callback_phone", Input)
        field.focus()
        await pilot.press(*"1391234")
        await pilot.press("f6")
        await settle(app, pilot)
        assert screen.run.step.id == "verify" and screen.step_message
        await wait_until(lambda: panel.query_one("#field-callback_phone", Input).value == "1391234",
                         what="the wrong value kept")
        await pilot.press(*"5678")
        await settle(app, pilot)
        assert panel.query_one("#field-callback_phone", Input).value == "13912345678"
        assert screen.run.values.get("callback_phone") == "13912345678"


async def test_ticks_and_values_of_the_current_step_come_back_after_a_kill(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await _to_verify(app, pilot, screen)
        panel = screen.query_one(ScriptPanel)
        panel.query(Checkbox).first().value = True
        panel.query_one("#field-callback_phone", Input).value = "1380013"  # half typed
        saved = await wait_until(lambda: (d := _draft(demo_store, "a003")) and d.get("pending")
                                 and d["run"]["ticks"] and d, what="the step in the draft")
        # nothing else runs: the draft as written is what a kill -9 leaves behind
    assert saved["pending"] == {"callback_phone": "1380013"}
    assert saved["run"]["step"] == "verify" and saved["run"]["ticks"]
    again = app_for(demo_store, agent="a003")
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        await pilot.press("P", "enter")  # resume
        await settle(again, pilot)
        screen = again.screen
        await wait_until(lambda: screen.run is not None and screen.run.step.id == "verify")
        panel = screen.query_one(ScriptPanel)
        await wait_until(lambda: panel.query("#field-callback_phone"), what="the step shown")
        assert panel.query_one("#field-callback_phone", Input).value == "1380013"
        assert panel.query(Checkbox).first().value is True


async def test_values_typed_in_a_step_are_read_aloud_at_once(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        screen.query_one("#new-work_type", Select).value = "consultation"
        await settle(app, pilot)
        assert screen.run.script.id == "consultation"
        await pilot.press("f6")
        await settle(app, pilot)
        panel = screen.query_one(ScriptPanel)
        await wait_until(lambda: panel.view.key.endswith("/question"))
        field = panel.query_one("#field-question_text", Input)
        assert screen.focused is not None
        field.focus()
        await pilot.press(*"roaming")
        await settle(app, pilot)
        assert screen.focused is field and field.value == "roaming"  # not rebuilt under the agent
        assert all("{" not in line for line in panel.view.say)


async def test_the_survey_offers_the_numbers_the_customer_says(demo_store, clock):
    from agent_console.screens.intake_flow import step_view

    library = load_scripts()
    run = ScriptRun.start(library.get("consultation"), {}, clock, library)
    while run.step.id != "survey":
        for item in run.step.checklist:
            run.tick(item.id)
        for f in run.step.fields:
            run.fill(f.id, {"yes_no": "yes", "choice": f.options[0].value if f.options else "",
                            "phone": "13912345678", "amount": "1"}.get(f.kind.value, "x"))
        run.next()

    class Screen:  # what step_view reads
        pending: dict = {}
        step_message = ""

        def step_key(self):
            return "consultation/survey"

    Screen.run = run
    view = step_view(Screen())
    assert [label for label, _ in view.fields[0].options] == ["1 Very satisfied", "2 Satisfied",
                                                             "3 Dissatisfied"]
    assert "please give me a 1" in view.forbidden


async def test_once_the_ticket_exists_the_form_locks_and_says_where_to_change_it(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press(*"13912345678")
        screen.query_one("#new-category", Select).value = "broadband"
        screen.query_one("#new-description", TextArea).text = "家里宽带断网"
        await settle(app, pilot)
        await pilot.press("ctrl+s")
        await wait_until(lambda: screen.ticket_id is not None, what="the ticket")
        await settle(app, pilot)
        grade = screen.query_one("#new-grade", Select)
        assert grade.disabled and screen.query_one("#new-description", TextArea).disabled
        assert screen.ticket_number in str(screen.query_one("#new-locked").render())


async def test_n_starts_a_new_contact_and_several_can_be_parked_and_resumed(demo_store):
    actor = actor_for(demo_store, "a001")
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        for phone, text in (("13700001111", "第一个客户：宽带断网"), ("13700002222", "第二个客户：话费疑问")):
            screen = await _open(app, pilot)
            assert screen.query_one("#new-phone", Input).value == ""  # N: always a new one
            await pilot.press(*phone)
            screen.query_one("#new-description", TextArea).text = text
            await pilot.press("escape")  # park it
            await settle(app, pilot)
        parked = intake.parked_contacts(demo_store, actor)
        phones = [p.phone_masked for p in parked]  # (received at the same frozen moment)
        assert sorted(phones) == ["137****1111", "137****2222"]
        await pilot.press("P")
        await settle(app, pilot)
        await pilot.press(*["down"] * phones.index("137****2222"), "enter")  # the second one
        await settle(app, pilot)
        screen = app.screen
        await wait_until(lambda: screen.query_one("#new-phone", Input).value == "13700002222",
                         what="the second contact back")
        assert "第二个客户" in screen.query_one("#new-description", TextArea).text


async def test_a_saved_contact_arriving_late_never_overwrites_what_was_typed(demo_store):
    actor = actor_for(demo_store, "a001")
    intake.save_draft(demo_store, actor, intake_key="old", draft=json.dumps(
        {"form": {"phone": "13700001111", "description": "旧的草稿"}, "intake_key": "old"}))
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        await wait_until(lambda: screen.query_one("#new-description", TextArea).text == "旧的草稿")
        # A second, slow read of the draft arriving after the agent typed on: not applied.
        screen.query_one("#new-description", TextArea).text = "客户又补充了新的情况"
        await settle(app, pilot)
        screen.post_message(screen.Prepared(screen.library, _draft(demo_store)))
        await settle(app, pilot)
        assert screen.query_one("#new-description", TextArea).text == "客户又补充了新的情况"


async def test_the_offer_of_parked_contacts_takes_no_keys(demo_store):
    actor = actor_for(demo_store, "a001")
    intake.save_draft(demo_store, actor, intake_key="old", draft=json.dumps({"form": {"phone": "1"}}))
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("N")  # typed at once, while the offer is being prepared
        await settle(app, pilot)
        assert type(app.screen).__name__ == "IntakeScreen"


async def test_a_late_customer_lookup_neither_moves_the_cursor_nor_rewrites_what_is_typed(demo_store):
    """The lost-input bug: the phone lookup's result rebuilt the script panel under the agent, so
    the text being typed in a step vanished and the cursor fell back to the phone field."""
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        screen.query_one("#new-work_type", Select).value = "consultation"
        await settle(app, pilot)
        await pilot.press(*"13912345678")
        await settle(app, pilot)
        await pilot.press("f6")
        panel = screen.query_one(ScriptPanel)
        await wait_until(lambda: panel.view.key.endswith("/question"))
        await settle(app, pilot)
        field = panel.query_one("#field-question_text", Input)
        field.focus()
        await pilot.press(*"5G ")
        snapshot = intake.lookup(demo_store, actor_for(demo_store, "a003"), phone="13912345678")
        screen.post_message(screen.Looked("13912345678", snapshot))  # the lookup lands now
        await settle(app, pilot)
        await pilot.press(*"plan")
        await settle(app, pilot)
        assert panel.query_one("#field-question_text", Input).value == "5G plan"
        assert screen.query_one("#new-phone", Input).value == "13912345678"


async def test_the_customers_recent_tickets_show_and_the_contact_can_join_one(demo_store):
    with demo_store.read() as tx:
        phone, customer = tx.one("SELECT c.phone, c.id FROM customer c JOIN ticket t ON "
                                 "t.customer_id = c.id WHERE length(c.phone) = 11 "
                                 "GROUP BY c.id ORDER BY count(*) DESC LIMIT 1")
        before = tx.scalar("SELECT count(*) FROM ticket")
    actor = actor_for(demo_store, "s900")
    newest = intake.recent_tickets(demo_store, actor, customer_id=customer)[0]
    app = app_for(demo_store, agent="s900")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press(*phone)
        await wait_until(lambda: screen.recent, what="the recent tickets")
        await settle(app, pilot)
        assert newest.number in str(screen.query_one("#new-recent").render())
        screen.query_one("#new-description", TextArea).text = "客户再次来电催促处理"
        await pilot.press("f9")
        await settle(app, pilot)
        await pilot.press("down", "enter")  # the second entry: put this contact on the first ticket
        await settle(app, pilot)
        await wait_until(lambda: type(app.screen).__name__ == "TicketScreen", what="the ticket")
    with demo_store.read() as tx:
        assert tx.scalar("SELECT count(*) FROM ticket") == before
        note = tx.scalar("SELECT detail FROM ticket_event WHERE ticket_id = ? AND kind = 'note' "
                         "ORDER BY id DESC LIMIT 1", (newest.id,))
    assert "客户再次来电催促处理" in note
    assert intake.parked_contacts(demo_store, actor) == []


async def test_keys_typed_right_after_n_land_in_the_phone_then_the_name(demo_store, monkeypatch):
    """The lost-input bug: the scrolling form took the focus first (the phone field only a
    moment later), so digits typed at once were lost and the name went into the phone field."""
    from textual.screen import Screen

    focused: list[str] = []
    set_focus = Screen.set_focus

    def recording(self, widget, *args, **kwargs):
        if widget is not None and type(self).__name__ == "IntakeScreen":
            focused.append(widget.id or type(widget).__name__)
        return set_focus(self, widget, *args, **kwargs)

    monkeypatch.setattr(Screen, "set_focus", recording)
    app = app_for(demo_store, agent="a002")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("N", *"13912345678", "tab", *"Wang")
        await settle(app, pilot)
        screen = app.screen
        assert focused and focused[0] == "new-phone", focused  # nothing takes the keys before it
        assert screen.query_one("#new-phone", Input).value == "13912345678"
        assert screen.query_one("#new-name", Input).value == "Wang"


async def test_a_burst_of_keys_with_a_tab_goes_to_the_right_fields(demo_store):
    """Keys arriving together from a terminal (a fast typist, a thin SSH link): the Tab must
    move the cursor before the letters after it are taken."""
    from textual import events

    app = app_for(demo_store, agent="a002")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        assert screen.focused is screen.query_one("#new-phone", Input)
        for key in [*"13912345678", "tab", *"Wang"]:  # as the driver posts them: no waiting
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await settle(app, pilot)
        await wait_until(lambda: screen.query_one("#new-name", Input).value == "Wang",
                         what="the name in the name field")
        assert screen.query_one("#new-phone", Input).value == "13912345678"


async def test_the_step_after_the_ticket_is_made_is_whole_and_has_the_cursor(demo_store):
    """Leaving intake makes the ticket and refreshes the lines as the step changes: two
    showings of the panel at once used to leave the new step without its items or cursor."""
    app = app_for(demo_store, agent="a002")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press(*"13912345678", "tab", *"Wang")
        screen.query_one("#new-work_type", Select).value = "consultation"
        screen.query_one("#new-category", Select).value = "plan_dispute"
        screen.query_one("#new-description", TextArea).text = "Asked about roaming in Japan"
        await settle(app, pilot)
        await pilot.press("f6")  # greet
        panel = screen.query_one(ScriptPanel)
        await wait_until(lambda: panel.view.key.endswith("/question"))
        await settle(app, pilot)
        panel.query_one("#field-topic", Select).value = "roaming"
        panel.query_one("#field-account_specific", Select).value = "no"
        await settle(app, pilot)
        await pilot.press("f6")  # leaves intake: the ticket is made
        await wait_until(lambda: screen.ticket_id is not None, what="the ticket")
        await wait_until(lambda: panel.view.key.endswith("/listen"))
        await settle(app, pilot)
        box = panel.query_one("#tick-restate", Checkbox)
        await wait_until(lambda: screen.focused is box, what="the cursor on the item")
        await pilot.press("space", "f6")
        await wait_until(lambda: screen.run.step.id == "lookup", what="the next step")


def test_greeting_and_goodbye_follow_the_channel(clock):
    library = load_scripts()
    for script in library.scripts.values():
        greet, bye = script.step("greet"), script.step("farewell")
        for lang in ("zh", "en"):
            assert greet.lines(lang, "hall") != greet.lines(lang, "hotline"), script.id
            said = " ".join((*greet.lines(lang, "hall"), *bye.lines(lang, "hall"))).casefold()
            assert "calling" not in said and "来电" not in said, (script.id, said)
    run = ScriptRun.start(library.get("consultation"), {"agent_name": "小李", "channel": "hall"},
                          clock, library)
    assert run.say("zh") == ["您好，欢迎光临！我是小李，请问您需要办理什么业务？"]


def test_a_seat_setting_makes_the_hall_the_default_channel(tmp_path):
    from agent_console.config import ConfigError, load_settings

    path = tmp_path / "config.toml"
    path.write_text('seat_channel = "hall"\n', encoding="utf-8")
    assert load_settings(path, environ={}).seat_channel == "hall"
    assert load_settings(tmp_path / "none.toml", environ={}).seat_channel == "hotline"
    path.write_text('seat_channel = "counter"\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(path, environ={})


async def test_a_hall_seat_starts_contacts_at_the_hall(demo_store):
    app = app_for(demo_store, agent="a001", seat_channel="hall")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        assert screen.query_one("#new-channel", Select).value == "hall"
        await wait_until(lambda: "welcome" in " ".join(screen.query_one(ScriptPanel).view.say))


def test_a_consultation_needs_no_compensation_and_known_answers_are_not_asked_again(clock):
    from agent_console.services.scripts import parse_script

    library = load_scripts()
    consultation = library.get("consultation")
    assert consultation.input_field("compensation_kind") is None
    run = ScriptRun.start(consultation, {"form_phone": "13912345678",
                                         "form_description": "日本漫游怎么收费"}, clock, library)
    run.next()  # greet
    assert run.step.id == "question" and run.values["question_text"] == "日本漫游怎么收费"
    source = (Path(__file__).parent.parent / "src/agent_console/content/scripts/business_handling.toml")
    text = source.read_text("utf-8").replace('kind = "choice"\nrequired = false\n', 'kind = "choice"\n', 1)
    script, problems = parse_script("x.toml", text)
    assert script is None and any("not required" in p.message for p in problems)


async def test_a_resumed_contact_shows_the_true_classification_countdown_at_once(demo_store, clock):
    from datetime import timedelta

    actor = actor_for(demo_store, "a001")
    received = clock.now() - timedelta(minutes=10)
    intake.save_draft(demo_store, actor, intake_key="k10", draft=json.dumps(
        {"form": {"phone": "13912345678"}, "intake_key": "k10", "received_at": received.isoformat()}))
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("P")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        await wait_until(lambda: screen.query_one("#new-phone", Input).value == "13912345678")
        shown = str(screen.query_one("#new-target").render())
        assert "5m" in shown and "15m" not in shown, shown
