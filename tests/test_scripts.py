"""The script engine: loading with located problems, the rules, placeholders, moves, records, adherence."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest

from agent_console.clock import FrozenClock
from agent_console.services.catalog import load_catalog
from agent_console.services.script_rules import STAGES
from agent_console.services.script_run import RunError, ScriptRun, StepIncomplete
from agent_console.services.scripts import (
    FieldKind,
    ScriptLibrary,
    StageId,
    load_scripts,
    parse_script,
    pick_script,
)
from agent_console.services.store import InputError

REQUIRED_SCRIPTS = {"broadband_fault", "mobile_fault", "billing_dispute", "plan_dispute",
                    "vas_subscription", "consultation", "service_attitude", "info_change",
                    "known_outage"}

MINI = """
id = "mini"
title.zh = "测试话术"
title.en = "Test script"
applies_to.work_types = ["complaint"]
forbidden.zh = ["这不归我们管"]
forbidden.en = ["not our problem"]

[[stages]]
id = "intake"

[[stages.steps]]
id = "greet"
title.zh = "问候"
title.en = "Greet"
say.zh = ["您好，{customer_name}，我是{agent_name}。"]
say.en = ["Hello {customer_name}, this is {agent_name}."]

[[stages.steps.checklist]]
id = "verify_identity"
zh = "核实身份"
en = "Verify identity"

[[stages.steps.checklist]]
id = "look_history"
zh = "查看历史"
en = "Look at history"
required = false

[[stages.steps.fields]]
id = "kind"
kind = "choice"
label.zh = "类型"
label.en = "Kind"
options = [{ value = "a", zh = "甲类", en = "kind A" }, { value = "b", zh = "乙类", en = "kind B" }]

[[stages.steps.fields]]
id = "phone"
kind = "phone"
label.zh = "电话"
label.en = "Phone"

[[stages]]
id = "empathy"

[[stages.steps]]
id = "listen"
title.zh = "倾听"
title.en = "Listen"
say.zh = ["您反映的是{kind}问题。"]
say.en = ["You are reporting a {kind} problem."]

[[stages]]
id = "diagnosis"

[[stages.steps]]
id = "check"
title.zh = "查询"
title.en = "Check"
skippable = true
kb_hints = ["断网"]

[[stages.steps.branches]]
field = "kind"
equals = "b"
goto = "fix_b"

[[stages]]
id = "resolution"

[[stages.steps]]
id = "fix_a"
title.zh = "处理甲"
title.en = "Fix A"
sets.handling = "direct_answer"

[[stages.steps.fields]]
id = "compensation_amount"
kind = "amount"
label.zh = "补偿"
label.en = "Compensation"
required = false

[[stages.steps.branches]]
goto = "close"

[[stages.steps]]
id = "fix_b"
title.zh = "处理乙"
title.en = "Fix B"
sets.handling = "complaint_ticket"

[[stages]]
id = "closing"

[[stages.steps]]
id = "close"
title.zh = "结束"
title.en = "Close"
say.zh = ["工单号{ticket_no}，{due_time}前答复。"]
say.en = ["Ticket {ticket_no}, answer by {due_time}."]

[[stages.steps.fields]]
id = "solved"
kind = "yes_no"
label.zh = "已解决"
label.en = "Solved"
"""


@pytest.fixture(scope="module")
def library() -> ScriptLibrary:
    return load_scripts()


def mini(text: str = MINI):
    script, problems = parse_script("mini.toml", text)
    assert script is not None, [str(p) for p in problems]
    return script


def run_of(script, clock, **context) -> ScriptRun:
    return ScriptRun.start(script, {"customer_name": "王女士", "agent_name": "小李", **context}, clock)


def through_greet(run: ScriptRun, kind: str = "a") -> None:
    run.tick("verify_identity")
    run.fill("kind", kind)
    run.fill("phone", "138 1234 5678")
    run.next()


DEFAULTS = {FieldKind.TEXT: "已记录", FieldKind.PHONE: "13812345678", FieldKind.YES_NO: True,
            FieldKind.AMOUNT: "10"}


def walk(run: ScriptRun, answers: dict[str, object], stop_at: str | None = None) -> None:
    """Do every step as a diligent agent would: tick what is required, answer, move on."""
    for _ in range(60):
        step = run.step
        if step is None or step.id == stop_at:
            return
        for item in step.checklist:
            run.tick(item.id)
        for f in step.fields:
            if f.id in answers or f.required:
                default = f.options[0].value if f.kind is FieldKind.CHOICE else DEFAULTS[f.kind]
                run.fill(f.id, answers.get(f.id, default))
        run.next()
    raise AssertionError("the run did not end")


# Loading


def test_every_shipped_script_loads_without_a_problem(library):
    assert library.problems == ()
    assert REQUIRED_SCRIPTS <= set(library.scripts)
    categories = set(load_catalog().categories)
    for script in library.scripts.values():
        assert tuple(stage.id for stage in script.stages) == STAGES, script.id
        assert set(script.applies_to.categories) <= categories, script.id
        fields = {f.id: f for _, step in script.flow for f in step.fields}
        needs = ["resolution_summary", "solved", "satisfaction", "follow_up_note"]
        if set(script.applies_to.work_types) != {"consultation"}:  # a consultation is not compensated
            needs += ["compensation_kind", "compensation_amount"]
        for needed in needs:
            assert needed in fields, (script.id, needed)
        assert [o.value for o in fields["satisfaction"].options] == ["1", "2", "3"]
        assert any(step.kb_hints for _, step in script.flow), script.id
        assert script.forbidden_phrases(), script.id


def test_stage_names_agree():
    assert get_args(StageId) == STAGES


@pytest.mark.parametrize("script_id", sorted(REQUIRED_SCRIPTS))
def test_a_dissatisfied_rating_leads_to_the_follow_up_note(library, script_id, clock):
    run = ScriptRun.start(library.get(script_id), {}, clock, library)
    walk(run, {"satisfaction": "3", "in_outage": False, "in_scope": True}, stop_at="follow_up")
    assert run.step is not None and run.step.id == "follow_up"
    assert run.missing()[0].id == "recorded_as_said"
    walk(run, {"follow_up_note": "等待时间太长"})
    assert run.finished and run.values["follow_up_note"] == "等待时间太长"


@pytest.mark.parametrize("satisfaction", ["1", "2"])
def test_a_satisfied_rating_goes_straight_to_goodbye(library, clock, satisfaction):
    run = ScriptRun.start(library.get("consultation"), {}, clock, library)
    walk(run, {"satisfaction": satisfaction})
    assert [v.step for v in run.trail][-2:] == ["survey", "farewell"]


def problems_in(tmp_path: Path, **files: str):
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    return load_scripts(tmp_path)


def test_broken_files_are_reported_with_file_and_place_while_the_rest_load(tmp_path, library):
    good = MINI.replace('id = "mini"', 'id = "trainer_good"')
    loaded = problems_in(
        tmp_path,
        bad_toml='id = "x"\ntitle.zh = \n',
        bad_goto=MINI.replace('goto = "fix_b"', 'goto = "fix_c"'),
        bad_order=MINI.replace('[[stages.steps.branches]]\ngoto = "close"',
                               '[[stages.steps.branches]]\ngoto = "listen"'),
        bad_placeholder=MINI.replace("{due_time}前", "{due_date}前"),
        good=good)
    by_file = {Path(p.file).stem: p for p in loaded.problems}
    assert set(by_file) == {"bad_toml", "bad_goto", "bad_order", "bad_placeholder"}
    assert by_file["bad_toml"].place == "line 2, column 12"
    assert by_file["bad_goto"].place == "stages[2].steps[0].branches[0].goto"
    assert "fix_c" in by_file["bad_goto"].message
    assert by_file["bad_order"].place == "stages[3].steps[0].branches[0].goto"
    assert "empathy after a solution" in by_file["bad_order"].message
    assert by_file["bad_placeholder"].place == "stages[4].steps[0].say.zh[0]"
    assert "{due_date}" in by_file["bad_placeholder"].message
    assert str(tmp_path / "bad_goto.toml") in str(by_file["bad_goto"])
    assert set(library.scripts) | {"trainer_good"} == set(loaded.scripts)


@pytest.mark.parametrize(("change", "place", "words"), [
    (('id = "listen"\ntitle.zh = "倾听"', 'id = "listen"\nskippable = true\ntitle.zh = "倾听"'),
     "stages[1].steps[0].skippable", "cannot be skippable"),
    (('id = "fix_b"', 'id = "fix_a"'), "stages[3].steps[1].id", "step id 'fix_a' is already used"),
    (('equals = "b"', 'equals = "c"'), "stages[2].steps[0].branches[0].equals", "only the options"),
    (('equals = "b"', "equals = true"), "stages[2].steps[0].branches[0].equals", "true/false"),
    (('field = "kind"\nequals = "b"', 'field = "nope"\nequals = "b"'),
     "stages[2].steps[0].branches[0].field", "unknown field 'nope'"),
    (('goto = "fix_b"', 'goto = "check"'), "stages[2].steps[0].branches[0].goto", "to itself"),
    (('[[stages.steps.branches]]\ngoto = "close"',
      '[[stages.steps.branches]]\ngoto = "close"\n\n[[stages.steps.branches]]\nfield = "kind"\n'
      'equals = "a"\ngoto = "close"'), "stages[3].steps[0].branches[0]", "must be the last one"),
    (('equals = "b"\ngoto = "fix_b"', 'equals = "b"'), "stages[2].steps[0].branches[0]", "give goto"),
    (('sets.handling = "direct_answer"', 'sets.handling = "maybe"'),
     "stages[3].steps[0].sets.handling", "not one of"),
    (('kind = "amount"', 'kind = "text"'), "stages[3].steps[0].fields[0].kind", "must be of kind amount"),
    (('say.en = ["Hello {customer_name}, this is {agent_name}."]', ''),
     "stages[0].steps[0].say", "both zh and en"),
    (('options = [{ value = "a", zh = "甲类", en = "kind A" }, ', 'options = ['),
     "stages[0].steps[0].fields[0]", "at least two options"),
    (('id = "empathy"', 'id = "empathie"'), "stages[1].id", "Input should be"),
    (('required = false\n\n[[stages.steps.fields]]', 'requird = false\n\n[[stages.steps.fields]]'),
     "stages[0].steps[0].checklist[1].requird", "unknown key"),
    (('[[stages]]\nid = "diagnosis"', '[[stages]]\nid = "resolution"'), "stages", "in this order"),
])
def test_rule_breaks_name_the_place(change, place, words):
    assert change[0] in MINI
    script, problems = parse_script("t.toml", MINI.replace(*change))
    assert script is None
    assert any(p.place == place and words in p.message for p in problems), problems


def test_a_branch_over_an_empathy_step_breaks_the_complaint_rule():
    text = MINI.replace('[[stages.steps.fields]]\nid = "phone"',
                        '[[stages.steps.branches]]\nfield = "kind"\nequals = "a"\ngoto = "check"\n\n'
                        '[[stages.steps.fields]]\nid = "phone"')
    _, problems = parse_script("t.toml", text)
    assert [(p.place, "jumps over an empathy step" in p.message) for p in problems] == [
        ("stages[0].steps[0].branches[0].goto", True)]
    consultation = text.replace('work_types = ["complaint"]', 'work_types = ["consultation"]')
    assert parse_script("t.toml", consultation)[1] == []
    # Going back from diagnosis to empathy is fine: nothing has been solved yet.
    assert parse_script("t.toml", MINI.replace('goto = "fix_b"', 'goto = "listen"'))[1] == []


def test_sub_scripts_must_exist_and_trainers_can_replace_a_shipped_script(tmp_path, library):
    loaded = problems_in(
        tmp_path,
        a_orphan=MINI.replace('id = "mini"', 'id = "orphan"').replace('goto = "fix_b"', 'script = "nowhere"'),
        b_entry=MINI.replace('id = "mini"', 'id = "entry"').replace(
            'goto = "fix_b"', 'script = "consultation"\ngoto = "no_such_step"'),
        c_override=MINI.replace('id = "mini"', 'id = "consultation"'),
        d_twice=MINI.replace('id = "mini"', 'id = "consultation"'))
    places = {(Path(p.file).stem, p.place) for p in loaded.problems}
    assert places == {("a_orphan", "stages[2].steps[0].branches[0].script"),
                      ("b_entry", "stages[2].steps[0].branches[0].goto"), ("d_twice", "id")}
    assert loaded.get("consultation").title.en == "Test script"
    assert loaded.sources["consultation"].endswith("c_override.toml")
    assert len(loaded.scripts) == len(library.scripts)


@pytest.mark.parametrize(("work_type", "category", "situation", "expected"), [
    ("fault", "broadband", None, "broadband_fault"), ("fault", "iptv", None, "broadband_fault"),
    ("fault", "mobile_network", None, "mobile_fault"), ("complaint", "billing", None, "billing_dispute"),
    ("complaint", "plan_dispute", None, "plan_dispute"), ("business", "vas", None, "vas_subscription"),
    ("complaint", "vas", None, "vas_subscription"), ("consultation", "broadband", None, "consultation"),
    ("complaint", "service_attitude", None, "service_attitude"),
    ("complaint", "number_porting", None, "general_complaint"),
    ("business", "plan_dispute", None, "business_handling"),
    ("info_change", "account_info", None, "info_change"),
    ("fault", "broadband", "known_outage", "known_outage"),
    ("fault", "mobile_network", "known_outage", "known_outage"),
])
def test_pick_script(library, work_type, category, situation, expected):
    assert pick_script(library, work_type, category, situation=situation).id == expected


def test_pick_script_with_nothing_fitting_says_so():
    with pytest.raises(LookupError, match="no script fits"):
        pick_script(ScriptLibrary({"mini": mini()}), "business", "vas")


# Running


def test_placeholders_are_filled_with_plain_text_and_missing_ones_are_read_around(clock):
    run = run_of(mini(), clock, customer_name="[bold]王[/bold]\x1b[31m女士")
    assert run.say("zh") == ["您好，[bold]王[/bold]女士，我是小李。"]
    run.update_context({"agent_name": "{customer_name}"})
    assert run.say("en") == ["Hello [bold]王[/bold]女士, this is {customer_name}."]
    through_greet(run, kind="b")
    assert run.say("zh") == ["您反映的是乙类问题。"] and run.say("en") == ["You are reporting a kind B problem."]
    walk(run, {}, stop_at="close")
    assert run.say("en") == []  # no ticket yet: the sentence is not read with holes in it
    run.update_context({"ticket_no": "T-0001", "due_time": "11-25 10:00"})
    assert run.say("zh") == ["工单号T-0001，11-25 10:00前答复。"]


def test_required_items_and_fields_block_next_and_say_which(clock):
    run = run_of(mini(), clock)
    with pytest.raises(StepIncomplete) as refused:
        run.next()
    assert [(m.kind, m.id) for m in refused.value.missing] == [
        ("item", "verify_identity"), ("field", "kind"), ("field", "phone")]
    assert "verify_identity" in str(refused.value) and "Phone" in str(refused.value)
    assert refused.value.missing[0].label.zh == "核实身份"
    run.tick("verify_identity")
    run.fill("kind", "甲类")
    with pytest.raises(StepIncomplete, match="phone"):
        run.next()
    run.fill("phone", "13812345678")
    assert run.next().id == "listen"


@pytest.mark.parametrize(("field", "value", "stored"), [
    ("phone", "138-1234 5678", None), ("phone", "010-12345678", "01012345678"),
    ("phone", "+8613812345678", "+8613812345678"), ("kind", "KIND B", "b"), ("kind", "乙类", "b"),
    ("solved", "是", True), ("solved", "no", False), ("solved", False, False),
    ("compensation_amount", "¥12.5", "12.50"), ("compensation_amount", "0", "0.00"),
    ("compensation_amount", 20, "20.00"),
])
def test_fill_checks_each_kind(clock, field, value, stored):
    run = run_of(mini(), clock)
    if stored is None:
        with pytest.raises(InputError) as refused:
            run.fill(field, value)
        assert refused.value.field == field
        return
    assert run.fill(field, value) == stored
    assert run.values[field] == stored


@pytest.mark.parametrize(("field", "value", "words"), [
    ("phone", "12345", "mobile number"), ("kind", "c", "'c' is not one of: a (kind A / 甲类)"),
    ("solved", "maybe", "yes or no"), ("compensation_amount", "-5", "cannot be negative"),
    ("compensation_amount", "1.234", "at most 2 decimals"),
    ("compensation_amount", "abc", "at most 2 decimals"),
    ("compensation_amount", True, "not yes/no"),
])
def test_fill_refusals_name_the_field(clock, field, value, words):
    run = run_of(mini(), clock)
    with pytest.raises(InputError, match=re.escape(words)) as refused:
        run.fill(field, value)
    assert str(refused.value).startswith(f"{field}: ")


def test_fill_cleans_text_clears_on_empty_and_knows_only_its_fields(library, clock):
    run = ScriptRun.start(library.get("consultation"), {}, clock)
    assert run.fill("question_text", "  国际漫游\x1b[2J怎么开通？\x07 ") == "国际漫游怎么开通？"
    assert run.fill("question_text", "x" * 100_000) == "x" * 4000
    assert run.fill("question_text", "  ") is None and "question_text" not in run.values
    with pytest.raises(RunError, match="no field 'nope'"):
        run.fill("nope", "1")
    with pytest.raises(RunError, match="no checklist item"):
        run.tick("verify_identity")  # it belongs to a later step


def test_branching_by_choice_and_back(clock):
    run = run_of(mini(), clock)
    through_greet(run, kind="b")
    run.next()
    assert run.next().id == "fix_b"
    assert run.back().id == "check"
    run.fill("kind", "a")
    assert run.next().id == "fix_a"
    assert run.next().id == "close" and run.values["handling"] == "direct_answer"
    run.back()
    run.back()
    run.fill("kind", "b")
    assert run.next().id == "fix_b" and "handling" not in run.values  # what a backed-out step set is gone
    run.next()
    assert run.values["handling"] == "complaint_ticket"
    assert [v.step for v in run.trail] == ["greet", "listen", "check", "fix_b"]
    run.back(), run.back(), run.back()
    assert run.back().id == "greet" and run.ticked("verify_identity")
    with pytest.raises(RunError, match="first step"):
        run.back()


def test_skip_needs_a_skippable_step_and_a_reason(clock):
    run = run_of(mini(), clock)
    with pytest.raises(RunError, match="cannot be skipped"):
        run.skip("客户赶时间")
    through_greet(run)
    run.next()
    with pytest.raises(InputError) as refused:
        run.skip(" \x1b[0m ")
    assert refused.value.code == "required" and refused.value.field == "reason"
    assert run.skip("系统故障，无法查询\n稍后补查").id == "fix_a"
    assert run.trail[-1].outcome == "skipped" and run.trail[-1].reason == "系统故障，无法查询 稍后补查"


def test_finishing_and_step_times_come_from_the_clock(clock: FrozenClock):
    run = run_of(mini(), clock)
    start = clock.now()
    clock.advance(timedelta(seconds=40))
    through_greet(run)
    clock.advance(timedelta(seconds=20))
    walk(run, {"solved": True})
    assert run.finished and run.step is None and run.say("zh") == []
    first, second = run.trail[:2]
    assert (first.entered_at, first.left_at) == (start, start + timedelta(seconds=40))
    assert (second.entered_at, second.left_at) == (start + timedelta(seconds=40),
                                                   start + timedelta(seconds=60))
    assert run.finished_at == clock.now()
    with pytest.raises(RunError, match="finished"):
        run.next()
    assert run.back().id == "close" and run.finished_at is None


def test_a_record_resumes_exactly_where_the_run_stood(library, clock: FrozenClock):
    run = ScriptRun.start(library.get("vas_subscription"), {"customer_name": "张先生", "ticket_no": "T-9"},
                          clock, library)
    walk(run, {"vas_name": "彩铃乐享包", "demand": "refund"}, stop_at="refund")
    run.fill("refund_amount", "15")
    clock.advance(timedelta(minutes=3))
    record = json.loads(json.dumps(run.to_record()))
    resumed = ScriptRun.from_record(record, library, clock)
    assert resumed.to_record() == run.to_record()
    assert resumed.step is not None and resumed.step.id == "refund"
    assert resumed.say("zh") == run.say("zh") and "15.00元" in resumed.say("zh")[0]
    assert resumed.step_entered_at == run.step_entered_at and resumed.trail == run.trail
    for each in (run, resumed):
        walk(each, {"refund_on_spot": True, "refund_accepted": True})
    assert resumed.to_record() == run.to_record()
    assert resumed.values["handling"] == "direct_answer"


def test_a_record_of_a_step_no_longer_there_is_refused(library, clock):
    record = ScriptRun.start(library.get("consultation"), {}, clock).to_record()
    record["step"] = "gone"
    with pytest.raises(RunError, match="no longer have"):
        ScriptRun.from_record(record, library, clock)


def test_a_run_needs_the_sub_scripts_its_branches_start(library, clock):
    with pytest.raises(RunError, match="known_outage"):
        ScriptRun.start(library.get("broadband_fault"), {}, clock)


def test_a_known_outage_found_in_a_fault_script_continues_in_the_outage_script(library, clock):
    run = ScriptRun.start(library.get("broadband_fault"), {}, clock, library)
    walk(run, {"in_outage": True, "account_state": "normal"}, stop_at="confirm_outage")
    assert run.script.id == "known_outage" and run.root == "broadband_fault"
    assert [v.stage for v in run.trail] == ["intake"] * 3 + ["empathy"] * 2 + ["diagnosis"]
    walk(run, {"in_scope": True}, stop_at="explain_outage")
    run.fill("outage_area", "幸福小区3栋")
    run.fill("restore_time", "今天18:00")
    assert run.say("zh")[0] == "经查询，幸福小区3栋目前出现了网络故障，技术人员正在全力抢修，预计今天18:00恢复。"
    assert "13812345678" in run.say("zh")[1]  # captured by the broadband script's verify step
    walk(run, {}, stop_at="record")
    assert run.values["handling"] == "direct_answer"


def test_outside_the_outage_the_run_returns_to_fault_diagnosis(library, clock):
    run = ScriptRun.start(library.get("known_outage"), {}, clock, library)
    walk(run, {"in_scope": False, "service": "mobile"}, stop_at="device_check")
    assert run.script.id == "mobile_fault"
    walk(run, {"device_fixed": True}, stop_at="record")
    assert run.values["handling"] == "direct_answer"
    assert run.adherence("").empathy_first


@pytest.mark.parametrize(("answers", "handling"), [
    ({"demand": "unsubscribe_only"}, "business"),
    ({"demand": "ask_why", "explanation_accepted": True}, "direct_answer"),
    ({"demand": "ask_why", "explanation_accepted": False}, "complaint_ticket"),
    ({"demand": "refund", "refund_on_spot": True, "refund_accepted": True}, "direct_answer"),
    ({"demand": "refund", "refund_on_spot": False}, "complaint_ticket"),
    ({"demand": "refund", "refund_on_spot": True, "refund_accepted": False}, "complaint_ticket"),
    ({"demand": "compensation"}, "complaint_ticket"),
])
def test_value_added_services_follow_the_complaint_or_not_rules(library, clock, answers, handling):
    run = ScriptRun.start(library.get("vas_subscription"), {}, clock, library)
    walk(run, answers, stop_at="record")
    assert run.values["handling"] == handling


# Adherence


def test_a_clean_run_scores_full_marks(library, clock):
    run = ScriptRun.start(library.get("service_attitude"), {}, clock, library)
    walk(run, {"customer_demand": "apology", "severity": "minor", "apology_accepted": True})
    figure = run.adherence("客户反映营业厅员工语气生硬，已当场致歉，客户接受。")
    assert figure.required_done == figure.required_total == len(run.trail)
    assert figure.empathy_first and figure.forbidden_found == () and figure.missed == ()
    assert figure.score == 100


def test_a_skipped_required_step_and_a_forbidden_phrase_cost_points(clock):
    run = run_of(mini(), clock)
    through_greet(run)
    run.next()
    run.skip("客户赶时间")
    walk(run, {"solved": True})
    figure = run.adherence("已告知客户：这不归我们管。 Told them it's NOT  our problem.")
    assert (figure.required_done, figure.required_total) == (4, 5)
    assert [(m.step, m.skipped) for m in figure.missed] == [("check", "客户赶时间")]
    assert figure.forbidden_found == ("这不归我们管", "not our problem")
    assert (figure.step_points, figure.empathy_points, figure.wording_points) == (48, 25, 0)
    assert figure.score == 73
    assert json.loads(figure.model_dump_json())["missed"][0]["title"]["zh"] == "查询"


def test_an_unfinished_run_counts_the_steps_still_ahead(clock):
    run = run_of(mini(), clock)
    through_greet(run, kind="b")
    figure = run.adherence("")
    assert (figure.required_done, figure.required_total) == (1, 5)
    assert [m.step for m in figure.missed] == ["listen", "check", "fix_b", "close"]
    assert all(m.skipped is None for m in figure.missed)


def test_skipping_empathy_breaks_empathy_first(clock):
    text = MINI.replace('work_types = ["complaint"]', 'work_types = ["consultation"]').replace(
        'id = "listen"\ntitle.zh = "倾听"', 'id = "listen"\nskippable = true\ntitle.zh = "倾听"')
    run = run_of(mini(text), clock)
    through_greet(run)
    run.skip("客户只想快点办完")
    walk(run, {"solved": True})
    figure = run.adherence("")
    assert not figure.empathy_first and figure.empathy_points == 0 and figure.score == 60 * 4 // 5 + 15


def test_going_back_to_empathy_after_a_solution_breaks_empathy_first(clock):
    text = MINI.replace('work_types = ["complaint"]', 'work_types = ["consultation"]').replace(
        '[[stages.steps.branches]]\ngoto = "close"', '[[stages.steps.branches]]\ngoto = "listen"')
    run = run_of(mini(text), clock)
    through_greet(run)
    run.next(), run.next(), run.next()
    assert run.stage == "empathy" and not run.adherence("").empathy_first


def test_the_engine_stays_headless():
    code = ("import sys, agent_console.services.script_run\n"
            "print('textual' in sys.modules, 'sqlmodel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
