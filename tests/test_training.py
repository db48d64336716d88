"""Role-play training core: scenario loading and lint, the scripted customer, scoring, autoplay."""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from agent_console.services.store import InputError
from agent_console.services.training.autoplay import autoplay, branches
from agent_console.services.training.customer import CustomerSim, replay
from agent_console.services.training.lint import lint
from agent_console.services.training.moves import (
    CaseUsed,
    Classified,
    Compensation,
    Ending,
    RunRecord,
    Said,
    StepDone,
    StepSkipped,
    Tick,
    frames,
)
from agent_console.services.training.phrases import Phrasebook, PhraseSet
from agent_console.services.training.rubric import CertificationRule, certify, load_certification_rule, score
from agent_console.services.training.scenario import Scenario, load_scenarios
from agent_console.training_cli import add_train_parser, run_train

REQUIRED = ("outage_angry_broadband", "billing_overcharge", "plan_hidden_terms", "porting_contract",
            "roaming_bill_shock", "elderly_bill_confused", "regulator_threat", "vas_unauthorised")

MINI = """
id = "mini"
title.zh = "测试情景"
title.en = "Test scenario"
brief.zh = "客户来电投诉。"
brief.en = "A customer calls to complain."
time_budget = 300
start = "open"
hang_up = "gone"
rubric = "complaint"

[contact]
work_type = "complaint"
category = "number_porting"
script = "general_complaint"

[persona]
name.zh = "张三"
name.en = "Zhang San"
mood = 30
patience = 50
drain = 6

[sandbox.customer]
name.zh = "张三"
name.en = "Zhang San"
phone = "13800000001"

[sandbox.plan]
code = "basic"
name.zh = "基础套餐"
name.en = "Basic plan"
monthly_fee = 58

[phrases.porting]
zh = ["携号转网", "携转"]
en = ["port my number", "number porting"]

[[nodes]]
id = "open"
lines = [{ zh = "你们怎么回事？", en = "What is going on?" }, { zh = "怎么又是这样？", en = "Not again!" }]

[[nodes.on]]
when.said = ["apology"]
goto = "calm"
mood = 30

[[nodes.on]]
when.after = 30
lines = [{ zh = "喂？", en = "Hello?" }]
patience = -20

[[nodes]]
id = "calm"
lines = [{ zh = "好吧，那怎么办？", en = "Fine, so what now?" }]

[[nodes.on]]
when.step_done = ["direct_answer"]
if.mood_min = 50
goto = "happy"

[[nodes.on]]
when.step_done = ["direct_answer"]
goto = "meh"

[[nodes]]
id = "happy"
end = "solved_satisfied"
lines = [{ zh = "谢谢。", en = "Thanks." }]

[[nodes]]
id = "meh"
end = "solved_dissatisfied"
lines = [{ zh = "行吧。", en = "Fine." }]

[[nodes]]
id = "gone"
end = "hung_up"
lines = [{ zh = "不说了！", en = "Forget it!" }]

[[anywhere]]
when.said = ["forbidden"]
mood = -30
patience = -30
lines = [{ zh = "什么态度！", en = "What an attitude!" }]
"""


@pytest.fixture(scope="module")
def library():
    return load_scenarios()


def write(tmp_path: Path, text: str, name: str = "mini.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mini(tmp_path: Path, text: str = MINI) -> Scenario:
    found = load_scenarios(files=[write(tmp_path, text)])
    assert not found.problems, found.problems
    return found.get("mini")


def problems_of(tmp_path: Path, text: str) -> list[str]:
    return [str(p) for p in lint([write(tmp_path, text)])]


def only(problems: list[str], place: str, words: str) -> None:
    """Exactly one problem, at `place`, saying `words`, in file:place: what form."""
    assert len(problems) == 1, problems
    file, found_place, message = problems[0].split(":", 2)
    assert file.endswith("mini.toml") and found_place == place and words in message, problems[0]


# ── shipped content ──────────────────────────────────────────────────────────

def test_the_shipped_scenarios_load_and_pass_the_linter(library):
    assert not library.problems
    assert set(REQUIRED) <= set(library.scenarios)
    assert lint() == []


def test_the_mini_scenario_is_clean(tmp_path):
    assert problems_of(tmp_path, MINI) == []


@pytest.mark.parametrize("scenario_id", REQUIRED)
def test_autoplay_takes_every_branch_without_a_failure(library, scenario_id):
    coverage = autoplay(library.get(scenario_id), seed=1, runs=500)
    assert coverage.missing == () and coverage.failures == ()
    assert set(coverage.endings) >= {"solved_satisfied", "hung_up"}
    assert coverage.as_dict()["nodes_missing"] == []


# ── the linter, one defect at a time ─────────────────────────────────────────

def test_lint_reports_broken_toml_with_its_line(tmp_path):
    problems = problems_of(tmp_path, MINI.replace('id = "mini"', 'id = "mini'))
    assert len(problems) == 1 and "line 2" in problems[0] and "not valid TOML" in problems[0]


def test_lint_reports_a_file_it_cannot_read(tmp_path):
    (tmp_path / "latin1.toml").write_bytes("title = \"caf\u00e9\"".encode("latin-1"))
    problems = [str(p) for p in lint([tmp_path / "missing.toml", tmp_path / "latin1.toml"])]
    assert problems == [f"{tmp_path / 'missing.toml'}: cannot be read: No such file or directory",
                        f"{tmp_path / 'latin1.toml'}: cannot be read: not UTF-8 text"]


def test_lint_reports_an_unknown_key(tmp_path):
    only(problems_of(tmp_path, MINI.replace("drain = 6", "drain = 6\nmod = 3")), "persona.mod", "unknown key")


def test_lint_reports_a_missing_language(tmp_path):
    text = MINI.replace('{ zh = "谢谢。", en = "Thanks." }', '{ zh = "谢谢。" }')
    only(problems_of(tmp_path, text), "nodes[2].lines[0].en", "missing")


def test_lint_reports_an_untranslated_line(tmp_path):
    text = MINI.replace('{ zh = "行吧。", en = "Fine." }', '{ zh = "Fine.", en = "Fine." }')
    only(problems_of(tmp_path, text), "nodes[3].lines[0].zh", "no Chinese")
    text = MINI.replace('{ zh = "行吧。", en = "Fine." }', '{ zh = "行吧。", en = "行吧。" }')
    only(problems_of(tmp_path, text), "nodes[3].lines[0].en", "Chinese in the English")


def test_lint_reports_an_unreachable_node(tmp_path):
    text = MINI + '\n[[nodes]]\nid = "lost"\nend = "escalated"\nlines = [{ zh = "好。", en = "OK." }]\n'
    only(problems_of(tmp_path, text), "nodes[5]", "cannot be reached")


def test_lint_reports_a_dead_end(tmp_path):
    text = MINI.replace('goto = "meh"\n', 'goto = "meh"\n\n[[nodes.on]]\nwhen.said = ["empathy"]\ngoto = "stuck"\n') + (
        '\n[[nodes]]\nid = "stuck"\nlines = [{ zh = "嗯？", en = "Hm?" }]\n')
    only(problems_of(tmp_path, text), "nodes[5]", "dead end")


def test_lint_reports_a_node_from_which_only_hanging_up_ends_the_run(tmp_path):
    text = MINI.replace('goto = "meh"\n', 'goto = "meh"\n\n[[nodes.on]]\nwhen.said = ["empathy"]\ngoto = "loop"\n') + (
        '\n[[nodes]]\nid = "loop"\nlines = [{ zh = "嗯？", en = "Hm?" }]\n'
        '[[nodes.on]]\nwhen.said_anything = true\ngoto = "loop"\n')
    only(problems_of(tmp_path, text), "nodes[5]", "trap")


def test_lint_reports_a_then_loop(tmp_path):
    text = MINI.replace('goto = "meh"\n', 'goto = "meh"\n\n[[nodes.on]]\nwhen.said = ["empathy"]\ngoto = "a"\n') + (
        '\n[[nodes]]\nid = "a"\nthen = "b"\nlines = [{ zh = "嗯？", en = "Hm?" }]\n'
        '\n[[nodes]]\nid = "b"\nthen = "a"\nlines = [{ zh = "啊？", en = "Eh?" }]\n')
    loops = [p for p in problems_of(tmp_path, text) if "loops" in p]  # a and b are traps, too
    assert len(loops) == 1 and loops[0].endswith(":nodes[5].then: `then` loops: a → b → a"), loops


def test_load_reports_names_that_point_nowhere(tmp_path):
    only(problems_of(tmp_path, MINI.replace('goto = "meh"', 'goto = "nowhere"')), "nodes[1].on[1].goto",
         "unknown node id 'nowhere'")
    only(problems_of(tmp_path, MINI.replace('["direct_answer"]\ngoto = "meh"', '["refund"]\ngoto = "meh"')),
         "nodes[1].on[1].when.step_done", "not in script 'general_complaint'")
    only(problems_of(tmp_path, MINI.replace('when.said = ["apology"]', 'when.said = ["apologies"]')),
         "nodes[0].on[0].when.said", "unknown phrase set")
    only(problems_of(tmp_path, MINI.replace('hang_up = "gone"', 'hang_up = "meh"')), "hang_up", "hung_up")


def test_lint_reports_a_transition_that_can_never_be_taken(tmp_path):
    only(problems_of(tmp_path, MINI.replace("if.mood_min = 50", "if.flags = [\"calmed\"]")),
         "nodes[1].on[0].if.flags", "no transition sets flag 'calmed'")
    only(problems_of(tmp_path, MINI.replace("if.mood_min = 50\n", "")), "nodes[1].on[1]",
         "same condition")
    only(problems_of(tmp_path, MINI.replace("if.mood_min = 50", "if.mood_min = 50\nif.mood_max = 40")),
         "nodes[1].on[0].if", "above mood_max")


def test_lint_reports_a_transition_that_does_nothing(tmp_path):
    text = MINI.replace('lines = [{ zh = "喂？", en = "Hello?" }]\npatience = -20\n', "")
    only(problems_of(tmp_path, text), "nodes[0].on[1]", "does nothing")


def test_lint_reports_rubric_items_that_can_never_pass(tmp_path):
    own = MINI.replace('rubric = "complaint"', 'rubric.extends = "complaint"') + """
[[rubric.sections]]
id = "extra"
title.zh = "附加"
title.en = "Extra"

[[rubric.sections.items]]
id = "refunded"
title.zh = "退费"
title.en = "Refunded"
check = "steps"
steps = ["refund"]

[[rubric.sections.items]]
id = "escalated"
title.zh = "升级"
title.en = "Escalated"
check = "ending"
endings = ["escalated"]

[[rubric.sections.items]]
id = "warm"
title.zh = "热情"
title.en = "Warm"
check = "happened"
when = [{ said = ["warmth"] }]
"""
    problems = problems_of(tmp_path, own)
    assert len(problems) == 3, problems
    assert ":rubric.extra.refunded: can never pass: step 'refund'" in problems[0]
    assert ":rubric.extra.escalated: can never pass: no reachable ending" in problems[1]
    assert ":rubric.extra.warm: can never be met: unknown phrase set 'warmth'" in problems[2]


@pytest.mark.parametrize(("phrases", "place", "words"), [
    ('zh = ["携号转网"]\nen = []', "phrases.porting.en", "no en phrases"),
    ('zh = ["携号转网", "携号转网"]\nen = ["port my number"]', "phrases.porting.zh", "twice"),
    ('zh = ["携"]\nen = ["port my number"]', "phrases.porting.zh", "too short"),
    ('zh = ["携号转网", "我也没办法"]\nen = ["port my number"]', "phrases.porting.zh", "also in the bad set"),
    ('zh = ["携号转网这个我也没办法处理"]\nen = ["port my number"]', "phrases.porting.zh", "would count as"),
    ('zh = ["携号转网"]\nen = ["port 转网"]', "phrases.porting.en", "Chinese in an English phrase"),
])
def test_lint_reports_bad_phrase_sets(tmp_path, phrases, place, words):
    text = MINI.replace('zh = ["携号转网", "携转"]\nen = ["port my number", "number porting"]', phrases)
    only(problems_of(tmp_path, text), place, words)


def test_lint_reports_a_contact_the_console_would_script_differently(tmp_path):
    only(problems_of(tmp_path, MINI.replace('category = "number_porting"', 'category = "billing"')),
         "contact.script", "picks 'billing_dispute'")


def test_a_broken_file_is_reported_and_the_others_still_load(tmp_path):
    good = write(tmp_path, MINI)
    bad = write(tmp_path, MINI.replace('id = "mini"', 'id = "Mini Two"'), "bad.toml")
    found = load_scenarios(files=[good, bad])
    assert list(found.scenarios) == ["mini"]
    assert [(p.file, p.place) for p in found.problems] == [(str(bad), "id")]


# ── the scripted customer ────────────────────────────────────────────────────

def test_the_customer_reacts_to_moves_and_reaches_an_ending(tmp_path):
    sim = CustomerSim(mini(tmp_path), seed=1, lang="en")
    assert [line.source for line in sim.opening()] == ["open"]
    quiet = sim.react(StepDone(step="greet"), 5)
    assert quiet.lines == () and quiet.edge is None and quiet.state.node == "open"
    calmer = sim.react(Said(text="I'm SO sorry about this."), 10)
    assert calmer.edge == "open.on[0]" and calmer.mood == 60 and [h.set for h in calmer.hits] == ["apology"]
    assert sim.say(calmer.lines[0]) == "Fine, so what now?"
    done = sim.react(StepDone(step="direct_answer"), 20)
    assert done.ending is Ending.SOLVED_SATISFIED and done.stage == "resolution"
    after = sim.react(StepDone(step="farewell"), 25)  # wrap-up is still recorded
    assert after.lines == () and after.ending is Ending.SOLVED_SATISFIED and len(sim.record.events) == 4


def test_guards_pick_the_ending_by_mood(tmp_path):
    sim = CustomerSim(mini(tmp_path), seed=1)
    sim.react(Said(text="不好意思"), 5)
    sim.react(Said(text="这不归我们管"), 8)  # mood 60 → 30
    assert sim.react(StepDone(step="direct_answer"), 12).ending is Ending.SOLVED_DISSATISFIED


def test_waiting_costs_patience_until_the_customer_hangs_up(tmp_path):
    sim = CustomerSim(mini(tmp_path), seed=1)
    first = sim.react(Tick(), 31)
    assert first.edge == "open.on[1]" and first.patience == 50 - 3 - 20
    endings = [sim.react(Tick(), second).ending for second in range(40, 400, 10)]
    assert Ending.HUNG_UP in endings and sim.record.events[-1].reaction.lines == ()
    with pytest.raises(ValueError, match="forward"):
        sim.react(Tick(), 1)


def test_phrases_match_both_languages_case_and_width_insensitive():
    book = Phrasebook(sets={"apology": PhraseSet(zh=("抱歉",), en=("sorry",)),
                            "late": PhraseSet(zh=("ＶＩＰ",), en=("I apologise",))})
    assert [h.set for h in book.hits("真的很抱歉")] == ["apology"]
    assert [h.set for h in book.hits("SORRY!")] == ["apology"]
    assert book.hits("sorryness") == ()
    assert [h.phrase for h in book.hits("您是vip客户, i   apologise")] == ["ＶＩＰ", "I apologise"]


def test_the_same_seed_and_moves_give_the_same_transcript(library):
    scenario = library.get("outage_angry_broadband")
    records = []
    for _ in range(2):
        sim = CustomerSim(scenario, seed=42, lang="zh")
        for move, second in PASSING:
            sim.react(move, second)
        records.append(sim.record)
    assert records[0] == records[1]
    assert RunRecord.model_validate_json(records[0].model_dump_json()) == records[0]
    assert replay(scenario, records[0]) == records[0]
    shown = frames(records[0])
    assert len(shown) == len(PASSING) + 1 and shown[0].move is None and shown[0].lines == records[0].opening
    assert shown[-1].state == records[0].state


def test_different_seeds_choose_among_alternative_lines(library):
    scenario = library.get("outage_angry_broadband")
    openings = {CustomerSim(scenario, seed=seed).opening()[0].index for seed in range(20)}
    assert openings == {0, 1}


def test_the_customer_answers_within_50_ms(library):
    rng = random.Random(5)
    scenarios = [library.get(s) for s in REQUIRED]
    long_text = "您好，非常抱歉给您添麻烦了，我非常理解您的心情，经查询原因是这样的，I am sorry, let me explain. " * 5
    slowest, moves, sim, second = 0.0, 0, CustomerSim(scenarios[0], seed=0), 0.0
    while moves < 200:
        if sim.ending is not None:
            sim, second = CustomerSim(rng.choice(scenarios), seed=moves), 0.0
        second += rng.choice((1, 5, 20))
        move = rng.choice([Said(text=long_text), Tick(), StepDone(step="listen"), StepDone(step="record"),
                           CaseUsed(category="billing"), Compensation(offer="bill_credit", amount=Decimal(10))])
        # The thread's own CPU time: a busy machine that preempts the test costs no time here.
        started = time.thread_time()
        sim.react(move, second)
        slowest = max(slowest, time.thread_time() - started)
        moves += 1
    assert slowest < 0.050


# ── scoring ──────────────────────────────────────────────────────────────────

PASSING = [
    (StepDone(step="greet"), 3), (Said(text="您好，很高兴为您服务，我是小李。"), 4),
    (StepDone(step="verify"), 15),
    (Said(text="赵先生，真的非常抱歉，断网一上午确实让人着急，我非常理解您的心情。"), 25),
    (StepDone(step="listen"), 30), (StepDone(step="reassure"), 32),
    (CaseUsed(case_id="K2", category="broadband", tags=("区域故障", "光缆")), 45),
    (StepDone(step="confirm_outage"), 55), (StepDone(step="explain_outage"), 70),
    (Said(text="经查询，是市政施工挖断了光缆，抢修人员正在处理，预计今天18:00前恢复。"), 75),
    (Said(text="开会这段时间您可以先用手机热点应急。"), 95),
    (Compensation(offer="data_gift", amount=Decimal(10)), 120),
    (Classified(category="broadband", work_type="complaint", complaint_form="direct_answer"), 130),
    (StepDone(step="record"), 140), (StepDone(step="compensation"), 150),
    (StepDone(step="compensation_amount"), 155), (StepDone(step="confirm_solved"), 170),
    (StepDone(step="anything_else"), 180), (StepDone(step="survey"), 190),
    (Said(text="感谢您的理解，祝您生活愉快，再见！"), 200), (StepDone(step="farewell"), 201),
]


def play(scenario: Scenario, moves, seed: int = 7) -> RunRecord:
    sim = CustomerSim(scenario, seed=seed, lang="zh")
    for move, second in moves:
        sim.react(move, second)
    return sim.record


def test_a_scripted_play_passes_with_evidence(library):
    scenario = library.get("outage_angry_broadband")
    result = score(play(scenario, PASSING), scenario.rubric)
    assert result.ending is Ending.SOLVED_SATISFIED
    assert result.passed and result.total == 100.0 and result.auto_fail == ()
    items = {item.id: item for item in result.items}
    assert not items["commitment"].applicable and not items["complaint_logged"].applicable
    first, then = items["empathy_first"].evidence
    assert (first.frame, first.second, then.second) == (4, 25, 70)
    assert "apology: “抱歉” (zh)" in first.text and "empathy: “理解您的心情” (zh)" in first.text
    assert items["kb_outage"].evidence[0].second == 45


def test_forbidden_wording_fails_the_whole_run(library):
    scenario = library.get("outage_angry_broadband")
    moves = [*PASSING[:4], (Said(text="您冷静一点，这不归我们管。"), 28), *PASSING[4:]]
    record = play(scenario, moves)
    result = score(record, scenario.rubric)
    assert result.total == 0.0 and not result.passed
    assert [(f.item, f.scope) for f in result.auto_fail] == [("no_forbidden", "run")]
    evidence = next(i for i in result.items if i.id == "no_forbidden").evidence
    assert evidence[0].second == 28 and "forbidden: “您冷静一点” (zh)" in evidence[0].text
    assert record.events[4].reaction.mood < record.events[3].reaction.mood


def test_compensation_beyond_policy_zeroes_only_its_section(library):
    scenario = library.get("outage_angry_broadband")
    moves = [(m, s) if not isinstance(m, Compensation) else (Compensation(offer="bill_credit", amount=Decimal(100)), s)
             for m, s in PASSING]
    result = score(play(scenario, moves), scenario.rubric)
    assert [(f.item, f.scope) for f in result.auto_fail] == [("compensation_policy", "section")]
    assert all(i.points == 0 for i in result.items if i.section == "scenario")
    assert 0 < result.total < 100 and not result.passed


def test_a_skipped_step_shows_as_evidence_but_earns_nothing(library):
    scenario = library.get("outage_angry_broadband")
    moves = [(StepSkipped(step="verify", reason="客户着急"), s) if m == StepDone(step="verify") else (m, s)
             for m, s in PASSING]
    item = next(i for i in score(play(scenario, moves), scenario.rubric).items if i.id == "required_steps")
    assert not item.passed and item.points == pytest.approx(20 * 5 / 6, abs=0.01)
    assert "step_skipped verify (客户着急)" in [e.text for e in item.evidence]


def test_empathy_and_the_answer_in_one_breath_counts_as_empathy_first(tmp_path):
    scenario = mini(tmp_path)
    for text, first in (("非常抱歉，经查询是系统原因。", True), ("经查询是系统原因。", False)):
        item = next(i for i in score(play(scenario, [(Said(text=text), 5), (Said(text="对不起"), 9)]),
                                     scenario.rubric).items if i.id == "empathy_first")
        assert item.passed is first


def test_the_same_transcript_scores_the_same_every_time(library):
    scenario = library.get("outage_angry_broadband")
    record = play(scenario, PASSING[:12])
    first = score(record, scenario.rubric)
    again = RunRecord.model_validate_json(record.model_dump_json())
    assert all(score(again, scenario.rubric) == first for _ in range(100))


def good_run(spec: str) -> list[tuple[object, float]]:
    """The moves of tests/fixtures/training_good_runs.toml, 10 seconds apart."""
    moves: list[object] = []
    for line in spec:
        kind, _, rest = line.partition(":")
        if kind == "step":
            moves.append(StepDone(step=rest))
        elif kind == "said":
            moves.append(Said(text=rest))
        elif kind == "case":
            moves.append(CaseUsed(tags=(rest,)))
        elif kind == "offer":
            offer, amount = rest.split(":")
            moves.append(Compensation(offer=offer, amount=Decimal(amount)))
        else:
            category, work_type, form = rest.split("/")
            moves.append(Classified(category=category, work_type=work_type, complaint_form=form))
    return [(move, 10.0 * n) for n, move in enumerate(moves, start=1)]


GOOD_RUNS = tomllib.loads((Path(__file__).parent / "fixtures" / "training_good_runs.toml").read_text("utf-8"))


@pytest.mark.parametrize("scenario_id", REQUIRED)
def test_every_shipped_scenario_can_be_passed_by_a_well_played_run(library, scenario_id):
    scenario = library.get(scenario_id)
    result = score(play(scenario, good_run(GOOD_RUNS[scenario_id]["moves"])), scenario.rubric)
    failed = [item.id for item in result.items if item.applicable and not item.passed]
    assert result.ending is Ending.SOLVED_SATISFIED and result.passed and result.total >= 95, failed


# ── certification ────────────────────────────────────────────────────────────

def test_certification_needs_k_different_scenarios_at_the_threshold(library):
    def result(scenario_id: str, moves) -> object:
        scenario = library.get("outage_angry_broadband")
        return score(play(scenario, moves), scenario.rubric).model_copy(update={"scenario": scenario_id})

    good, failed = result("a", PASSING), result("b", [*PASSING[:4], (Said(text="我也没办法"), 28)])
    rule = CertificationRule(scenarios_needed=2, threshold=80)
    assert certify([good, good.model_copy(update={"scenario": "b"})], rule).certified
    assert not certify([good, good], rule).certified  # the same scenario twice counts once
    assert certify([good, failed], rule).counted == ("a",)
    later_fail = [good.model_copy(update={"scenario": "b"}), failed, good]
    assert not certify(later_fail, rule).certified
    assert certify(later_fail, rule.model_copy(update={"attempt": "best"})).certified
    assert not certify([good, good.model_copy(update={"scenario": "b", "total": 79.9, "auto_fail": ()})],
                       rule).certified
    assert load_certification_rule().scenarios_needed >= 1


# ── command line and house rules ─────────────────────────────────────────────

def train(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers(dest="command"), lambda p: None)
    return run_train(parser.parse_args(["train", *argv]))


def test_train_lint_prints_file_place_what_and_exits_1(tmp_path, capsys):
    path = write(tmp_path, MINI.replace('goto = "meh"', 'goto = "nowhere"'))
    assert train("lint", str(path)) == 1
    assert f"{path}:nodes[1].on[1].goto: unknown node id 'nowhere'" in capsys.readouterr().out
    assert train("lint", str(write(tmp_path, MINI, "good.toml"))) == 0


def test_train_autoplay_prints_coverage(tmp_path, capsys):
    assert train("autoplay", str(write(tmp_path, MINI)), "--seed", "3", "--json") == 0
    found = json.loads(capsys.readouterr().out)
    assert found["percent"] == 100.0 and found["taken"] == found["branches"] == 5 and found["failures"] == []
    with pytest.raises(InputError):
        train("autoplay", "no_such_scenario")


def test_autoplay_is_repeatable(tmp_path):
    scenario = mini(tmp_path)
    first, again = (autoplay(scenario, seed=9, runs=30).as_dict() for _ in range(2))
    assert {**first, "slowest_ms": 0} == {**again, "slowest_ms": 0}
    assert branches(scenario) == ("open.on[0]", "open.on[1]", "calm.on[0]", "calm.on[1]", "anywhere[0]")


def test_the_train_command_keeps_start_up_lean():
    code = "import sys, agent_console.training_cli\nprint('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_the_training_core_stays_headless():
    code = ("import sys, agent_console.services.training.autoplay, agent_console.services.training.lint, "
            "agent_console.training_cli\nprint('textual' in sys.modules, 'sqlmodel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
