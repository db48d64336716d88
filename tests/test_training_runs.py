"""Role-play runs on the real screens and in the live store: services, the run on the intake
screen over its sandbox, scoring with evidence, certification, results and watching."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Checkbox, Input, Select, TextArea

from agent_console.services import permissions as p
from agent_console.services.errors import InputError, Refused
from agent_console.services.training import runs
from agent_console.services.training.customer import CustomerSim
from agent_console.services.training.moves import Said, StepDone
from tests.conftest import actor_for, app_for, settle, wait_until

SCENARIO = "outage_angry_broadband"


def _sim(scenario_id: str = SCENARIO, seed: int = 7) -> CustomerSim:
    sim = CustomerSim(runs.library().get(scenario_id), seed=seed, lang="zh")
    sim.opening()
    return sim


# ── services ─────────────────────────────────────────────────────────────────

def test_a_run_is_kept_with_its_events_and_a_watcher_reads_only_what_is_new(demo_store):
    trainee, trainer = actor_for(demo_store, "a002"), actor_for(demo_store, "t800")
    sim = _sim()
    run_id = runs.start_run(demo_store, trainee, scenario_id=SCENARIO, lang="zh", seed=7,
                            opening=sim.record)
    seen = runs.watch(demo_store, trainer, run_id=run_id)
    assert [e.kind for e in seen] == ["opening", "watch"]
    move = Said(text="您好，非常抱歉")
    runs.record_move(demo_store, trainee, run_id=run_id, second=4.0, move=move,
                     reaction=sim.react(move, 4.0))
    runs.whisper(demo_store, trainer, run_id=run_id, text="先核实身份\x1b[31m")
    assert runs.run_head(demo_store, trainer, run_id=run_id) == (4, "running")
    new = runs.events(demo_store, trainer, run_id=run_id, after=seen[-1].seq)
    assert [e.kind for e in new] == ["move", "whisper"]
    assert new[1].payload["text"] == "先核实身份" and new[0].second == 4.0
    with demo_store.read() as tx:
        watched = tx.one("SELECT agent_code, target FROM audit_log WHERE action = ?", (runs.WATCH,))
    assert tuple(watched) == ("t800", f"training_run:{run_id}")


def test_a_run_left_by_a_closed_console_ends_unscored_and_no_longer_shows_as_live(demo_store):
    trainee, trainer = actor_for(demo_store, "a002"), actor_for(demo_store, "t800")
    crashed = runs.start_run(demo_store, trainee, scenario_id=SCENARIO, lang="zh",
                             opening=_sim().record)
    hung_up = runs.start_run(demo_store, trainee, scenario_id=SCENARIO, lang="zh",
                             opening=_sim().record)  # a kill -9 left the first one running
    assert runs.run_head(demo_store, trainer, run_id=crashed)[1] == "abandoned"
    assert [r.id for r in runs.running(demo_store, trainer)] == [hung_up]
    with pytest.raises(Refused):
        runs.abandon_run(demo_store, trainer, run_id=hung_up)  # only the trainee's console
    runs.abandon_run(demo_store, trainee, run_id=hung_up)
    assert runs.running(demo_store, trainer) == []
    assert [e.kind for e in runs.events(demo_store, trainer, run_id=hung_up)] == \
        ["opening", "abandoned"]
    with pytest.raises(InputError):
        runs.record_move(demo_store, trainee, run_id=hung_up, second=1, move=Said(text="x"))


async def test_a_hang_up_mid_run_writes_the_moves_then_ends_the_run(demo_store):
    from agent_console.messages import TerminalClosed

    app = app_for(demo_store, lang="zh", agent="a002")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _start(pilot)
        await _say(pilot, screen, "您好，请问有什么可以帮您")
        app.post_message(TerminalClosed())
        await wait_until(lambda: app.return_code is not None, what="the app to end")
    trainer = actor_for(demo_store, "t800")
    assert runs.run_head(demo_store, trainer, run_id=screen.run_id)[1] == "abandoned"
    kinds = [e.kind for e in runs.events(demo_store, trainer, run_id=screen.run_id)]
    assert "move" in kinds and kinds[-1] == "abandoned"


def test_only_the_trainer_in_control_says_the_customers_lines(demo_store):
    trainee, trainer = actor_for(demo_store, "a002"), actor_for(demo_store, "t800")
    run_id = runs.start_run(demo_store, trainee, scenario_id=SCENARIO, lang="zh",
                            opening=_sim().record)
    with pytest.raises(Refused):
        runs.customer_line(demo_store, trainer, run_id=run_id, text="我要投诉")
    runs.take_over(demo_store, trainer, run_id=run_id)
    runs.customer_line(demo_store, trainer, run_id=run_id, text="我要投诉")
    with pytest.raises(Refused):
        runs.whisper(demo_store, trainee, run_id=run_id, text="x")
    with pytest.raises(Refused):
        runs.record_move(demo_store, trainer, run_id=run_id, second=1, move=Said(text="x"))


def test_results_are_ones_own_unless_the_role_may_read_a_groups(demo_store):
    other = actor_for(demo_store, "a002")
    assert [r.trainee for r in runs.results(demo_store, actor_for(demo_store, "a001"))] == ["a001"]
    with pytest.raises(Refused):
        runs.results(demo_store, other, trainee="a001")
    for reader in ("t800", "s900"):
        assert runs.results(demo_store, actor_for(demo_store, reader), trainee="a001")
        assert runs.results(demo_store, actor_for(demo_store, reader), everyone=True)
    assert not actor_for(demo_store, "s900").can(p.RUN_TRAINING)


def test_certification_after_k_scenarios_passed_is_audited_once(demo_store, monkeypatch):
    from agent_console.services.training import rubric

    monkeypatch.setattr(runs, "load_certification_rule", lambda: rubric.CertificationRule(
        scenarios_needed=2, threshold=0))
    trainee = actor_for(demo_store, "a002")
    outcomes = []
    for scenario_id in (SCENARIO, "roaming_bill_shock", "vas_unauthorised"):
        sim = _sim(scenario_id)
        sim.react(StepDone(step="greet"), 2.0)
        run_id = runs.start_run(demo_store, trainee, scenario_id=scenario_id, lang="zh",
                                opening=sim.record)
        outcomes.append(runs.finish_run(demo_store, trainee, run_id=run_id, record=sim.record))
    assert [o.newly_certified for o in outcomes] == [False, True, False]
    assert runs.certified(demo_store, trainee) is not None
    with demo_store.read() as tx:
        rows = tx.all("SELECT agent_code, detail FROM audit_log WHERE action = ?", (runs.CERTIFIED,))
    assert len(rows) == 1 and rows[0].agent_code == "a002"
    assert json.loads(rows[0].detail)["scenarios"] == [SCENARIO, "roaming_bill_shock"]


def test_the_demo_has_an_assignment_and_a_finished_result(demo_store):
    a001 = actor_for(demo_store, "a001")
    assert [(a.trainer, a.scenario) for a in runs.my_assignments(demo_store, a001)] == [
        ("t800", "roaming_bill_shock")]
    finished = runs.results(demo_store, actor_for(demo_store, "t800"), everyone=True)
    assert finished and finished[0].state == "finished" and finished[0].passed


# ── the run on the real screens ──────────────────────────────────────────────

FIELDS = {"in_scope": "yes", "compensation_kind": "data_gift", "compensation_amount": "10",
          "callback_phone": "13905160128", "service": "broadband"}
SAY_AT = {  # said when the script reaches this step
    "greet": "您好，很高兴为您服务，我是小张。",
    "listen": "赵先生，真的非常抱歉，断网一上午确实让人着急，我非常理解您的心情。",
    "record": "开会这段时间您可以先用手机热点应急。",
    "explain_outage": "经查询，是市政施工挖断了光缆，抢修人员正在处理，预计今天18:00前恢复。",
    "farewell": "感谢您的理解，祝您生活愉快，再见！",
}


async def _start(pilot, scenario_id: str = SCENARIO):
    from agent_console.screens.training_run_screen import TrainingRunScreen
    from agent_console.screens.training_screen import TrainingScreen

    app = pilot.app
    await settle(app, pilot)
    await pilot.press("f11")
    await wait_until(lambda: isinstance(app.screen, TrainingScreen), what="the training home")
    await settle(app, pilot)
    home = app.screen
    home.start(scenario_id, None)
    screen = await wait_until(lambda: isinstance(app.screen, TrainingRunScreen) and app.screen,
                              timeout=30, what="the run screen")
    await wait_until(lambda: screen.run is not None, what="the script")
    return screen


async def _say(pilot, screen, text: str) -> None:
    box = screen.query_one("#train-say-box", Input)
    box.value = text
    box.focus()
    await pilot.press("enter")
    await wait_until(lambda: any(isinstance(e.move, Said) and e.move.text == text
                                 for e in screen.sim.record.events), what=f"said {text}")


async def _fill_intake(pilot, screen) -> None:
    screen.query_one("#new-phone", Input).value = "13905160128"
    screen.query_one("#new-description", TextArea).text = "小区光缆被挖断，宽带断网一上午，客户投诉"
    await pilot.pause()
    screen.query_one("#new-work_type", Select).value = "complaint"
    screen.query_one("#new-category", Select).value = "broadband"
    await wait_until(lambda: screen.snapshot is not None, what="the sandbox customer found")


async def _walk_script(pilot, screen, *, say: dict[str, str], stop: int = 40) -> None:
    """Each step: say what belongs there, tick everything, fill the fields, F6."""
    for _ in range(stop):
        run = screen.run
        if run.finished or run.step is None:
            return
        step = run.step.id
        if step in say:
            await _say(pilot, screen, say[step])
        if step == "confirm_outage":
            screen.query_one("#new-suggestions").focus()
            cases = screen.query_one("#new-suggestions")
            await wait_until(lambda cases=cases: cases.hits, what="similar cases")
            screen.open_case(cases.hits[0].id)
            await wait_until(lambda: any(e.move.kind == "case_used"
                                         for e in screen.sim.record.events), what="case used")
        panel = screen.query_one("#new-script")
        for box in panel.query(Checkbox):
            box.value = True
        for widget in panel.query("Input, Select"):
            field = (widget.id or "").removeprefix("field-")
            if isinstance(widget, Select):
                values = [v for _, v in widget._options if v is not Select.NULL]
                widget.value = FIELDS.get(field, values[0] if values else Select.NULL)
            else:
                widget.value = FIELDS.get(field, "已处理")
        await pilot.pause()
        before = (run.step.id if run.step else None, len(run.trail))
        await pilot.press("f6")
        await wait_until(lambda before=before: screen.run.finished or
                         (screen.run.step.id if screen.run.step else None,
                          len(screen.run.trail)) != before, what=f"past step {step}")


async def _finish(pilot, screen):
    from agent_console.screens.training_result_screen import TrainingResultScreen

    app = pilot.app
    await pilot.press("ctrl+e")
    result = await wait_until(lambda: isinstance(app.screen, TrainingResultScreen) and app.screen,
                              timeout=30, what="the result screen")
    await wait_until(lambda: result.detail is not None, what="the result")
    return result


async def test_a_run_on_the_real_screens_plays_to_a_passing_score(demo_store):
    app = app_for(demo_store, lang="zh", agent="a002")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _start(pilot)
        assert "TRAINING / 培训" in str(screen.query_one("#train-banner").render())
        await _fill_intake(pilot, screen)
        await _walk_script(pilot, screen, say=SAY_AT)
        made = screen.ticket_id
        result = await _finish(pilot, screen)
        detail = result.detail
        items = {i.id: i for i in detail.result.items}
        assert detail.result.passed and not detail.result.auto_fail
        assert made is not None
        first = items["empathy_first"].evidence[0]
        assert first.second is not None and first.frame is not None
        assert "理解您的心情" in first.text
        await pilot.press("r")
        await wait_until(lambda: type(app.screen).__name__ == "ReplayScreen", what="the replay")
        await pilot.press("right", "right")
        assert app.screen.index == 2
    with demo_store.read() as tx:  # nothing of the run in the live store's tickets or audit
        assert tx.scalar("SELECT count(*) FROM ticket WHERE phone = '13905160128'") == 0 \
            if _has_phone_column(tx) else True
        assert tx.scalar("SELECT count(*) FROM customer WHERE phone = '13905160128'") == 0
        assert tx.scalar("SELECT count(*) FROM audit_log WHERE agent_code = 'a002'") == 0


def _has_phone_column(tx) -> bool:
    from sqlalchemy import inspect

    return "phone" in {column["name"] for column in inspect(tx.conn).get_columns("ticket")}


async def test_forbidden_wording_on_the_real_screens_is_an_automatic_fail(demo_store):
    app = app_for(demo_store, lang="en", agent="a002")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _start(pilot)
        await _say(pilot, screen, "您冷静一点，这不归我们管。")
        result = await _finish(pilot, screen)
        outcome = result.detail.result
        assert not outcome.passed and outcome.total == 0
        assert [(f.item, f.scope) for f in outcome.auto_fail] == [("no_forbidden", "run")]
        shown = str(result.query_one("#result-head").render())
        assert "Automatic fail" in shown
    finished = runs.results(demo_store, actor_for(demo_store, "a002"))
    assert finished[0].auto_fail and not finished[0].passed
