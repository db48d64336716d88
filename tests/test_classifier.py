"""The intake classifier: rules as data, complaint-or-not rules, explanations, hostile text,
accuracy on the held-out labelled set, and the `classify` command."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
from rich.cells import cell_len

from agent_console import i18n
from agent_console.classify_cli import add_classify_parser, read_examples, run_classify, score
from agent_console.config import config_dir
from agent_console.models.vocab import WorkType
from agent_console.services.catalog import load_catalog
from agent_console.services.classifier import (
    RULES_FILE,
    Classifier,
    RulesError,
    classify,
    default_classifier,
    load_rules,
)
from agent_console.services.store import InputError

CATALOG = load_catalog()


@pytest.fixture(autouse=True)
def _fresh_classifier():
    """Each test reads its own (isolated) config dir."""
    default_classifier.cache_clear()
    yield
    default_classifier.cache_clear()


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_rules(categories=CATALOG.categories), CATALOG)


@pytest.fixture(scope="module")
def eval_path():
    shipped = resources.files("agent_console.content").joinpath("classifier_eval.jsonl")
    with resources.as_file(shipped) as path:
        yield path


def override(text: str) -> Path:
    path = config_dir() / RULES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    default_classifier.cache_clear()  # how the app reloads the rules
    return path


# --- rules as data ------------------------------------------------------------------------------

def test_shipped_rules_load_and_cover_every_category_and_work_type():
    rules = load_rules(categories=CATALOG.categories)
    assert {r.target for r in rules.category} == set(CATALOG.categories)
    # Complaints come from the complaint rules; follow-ups are made by the app, never classified.
    assert {r.target for r in rules.work_type} == set(WorkType) - {WorkType.COMPLAINT, WorkType.FOLLOW_UP}
    assert all(r.zh or r.patterns for r in rules.category)  # every category is found in Chinese
    assert all(r.en or r.patterns for r in rules.category)  # ... and in English


CATEGORY = '[[category]]\nid = "x.rule"\ntarget = "broadband"\nzh = ["光猫"]\n'


@pytest.mark.parametrize(("text", "message"), [
    ("[[category]\nid = 1", r"classifier_rules\.toml: not valid TOML \(.*line 1"),
    (CATEGORY.replace('zh = ["光猫"]', "patterns = ['(光猫']"),
     r"\[\[category\]\] 'x\.rule' patterns\[0\]: not a valid regular expression"),
    (CATEGORY.replace('zh = ["光猫"]', "patterns = ['a?']"),
     r"patterns\[0\]: the pattern matches empty"),
    (CATEGORY.replace('zh = ["光猫"]', "patterns = ['Modem']"),
     r"patterns\[0\]: write patterns in lower case"),
    (CATEGORY.replace("broadband", "weather"), r"'x\.rule' target: 'weather' is not a category"),
    (CATEGORY + "wieght = 2\n", r"'x\.rule' wieght: Extra inputs are not permitted"),
    (CATEGORY.replace('zh = ["光猫"]', ""), r"'x\.rule': .*at least one of zh, en or patterns"),
    (CATEGORY.replace('zh = ["光猫"]', 'zh = ["*"]'), r"zh\[0\]: .*keyword must not be empty"),
    ('[[grade]]\nid = "g"\ntarget = "red"\nzh = ["x"]\n', r"\[\[grade\]\] 'g' target: Input should be"),
    ('[defaults]\nconfident_score = 0\n',
     r"\[defaults\] confident_score: Input should be greater than 0"),
    ('[complaint]\nwhen = [["furious"]]\n',
     r": \[complaint\]: 'furious' is neither a signal nor a group"),
    ('[[category]]\nid = [1]\n', r": \[\[category\]\]: each rule must be a table with a text id"),
    ('category = "x"\n', r": \[\[category\]\]: each rule must be a table with a text id"),
    ('[[signal]]\nid = "sig.why"\nweight = -1\n',
     r"\[\[signal\]\] 'sig\.why' weight: Input should be greater"),
    (CATEGORY + CATEGORY.replace("[[category]]", "[[signal]]"), r"rule id 'x\.rule' is used twice"),
])
def test_a_broken_rules_file_names_the_file_and_the_place(text, message):
    path = override(text)
    with pytest.raises(RulesError, match=message) as caught:
        classify("光猫")
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_the_config_dir_file_adds_changes_and_turns_off_rules():
    assert classify("the ONT is dead").category is None
    assert classify("No signal at home").category == "mobile_network"
    override('[[category]]\nid = "bb.ont"\ntarget = "broadband"\nen = ["ont"]\nweight = 4\n'
             '[[category]]\nid = "mn.signal"\nenabled = false\n'
             '[[category]]\nid = "tv.box"\nen = ["telly"]\n'
             '[grade_by_work_type]\nbusiness = "important"\n')
    assert classify("the ONT is dead").category == "broadband"
    assert classify("No signal at home").category is None
    assert classify("my telly is black").category == "iptv" and classify("my tv").category is None
    assert classify("机顶盒坏了").category == "iptv"  # the fields not given are kept
    assert classify("please cancel my plan").grade == "important"
    assert classify("宽带断网了").grade == "important"


# --- complaint or not (Jiangsu rules) -----------------------------------------------------------

@pytest.mark.parametrize(("text", "work_type", "form"), [
    # unsubscribe, resend and blocking are plain business ...
    ("帮我把彩铃退订了", "business", "none"),
    ("这个彩铃太吵了，烦死了，帮我退订", "business", "none"),
    ("验证码短信没收到，麻烦再发一次", "business", "none"),
    ("Please block the marketing texts on my number", "business", "none"),
    # ... unless the customer demands to know why or calls it unauthorised
    ("为什么给我开了彩铃？帮我退订", "complaint", "complaint_ticket"),
    ("Why is this ringtone on my line? Cancel it.", "complaint", "complaint_ticket"),
    ("这个业务未经我同意就开通了，帮我退订", "complaint", "complaint_ticket"),
    ("I never signed up for this game pack, unsubscribe me", "complaint", "complaint_ticket"),
    ("我没有同意过开这个会员，你们乱订业务", "complaint", "complaint_ticket"),
    # every refund is a complaint: direct answer when a simple refund is accepted ...
    ("这个月多扣了5块月租，退给我就行", "complaint", "direct_answer"),
    ("Charged twice this month, just refund the extra please", "complaint", "direct_answer"),
    # ... a ticket when compensation is demanded or the refund must be passed on
    ("多扣了5块钱，要求退还，还要赔偿我的损失", "complaint", "complaint_ticket"),
    ("去年开始每个月都多扣，要求全部退到我的银行卡", "complaint", "complaint_ticket"),
    ("Refund everything you took since last year to my bank card", "complaint", "complaint_ticket"),
    # dissatisfaction plus an explicit demand
    ("营业员态度太差了，我要求她道歉", "complaint", "complaint_ticket"),
    ("宽带断了三天太过分了，要求马上恢复", "complaint", "complaint_ticket"),
    ("I'm fed up, I want the signal fixed and compensation for the month",
     "complaint", "complaint_ticket"),
    ("信号差我很不满意，要求尽快恢复。坐席告知明天恢复，客户接受。",
     "complaint", "direct_answer"),
    ("The agent was rude, I want an apology. Supervisor apologised, customer accepted.",
     "complaint", "direct_answer"),
    ("合约机坏了说要自费修，我不接受，要求换新的", "complaint", "complaint_ticket"),
    # no demand, or no dissatisfaction: not a complaint
    ("宽带断网了，请尽快恢复", "fault", "none"),
    ("信号太差了，打电话老断", "fault", "none"),
    ("不是投诉，就想问问这个月话费为什么多了", "consultation", "none"),
    ("请问断网几天有补偿吗？", "fault", "none"),
    ("携号转网以后余额能退吗？", "consultation", "none"),
])
def test_complaint_or_not(classifier, text, work_type, form):
    proposal = classifier.classify(text)
    assert (proposal.work_type, proposal.complaint_form) == (work_type, form)
    assert bool(proposal.reasons_for("complaint")) == (work_type == "complaint")


@pytest.mark.parametrize(("text", "grade", "jump"), [
    ("我的身份证号和住址被泄露了，天天接到诈骗电话", "urgent", True),
    ("Someone used my identity to open a number, my data was leaked", "urgent", True),
    ("宽带断网了，家里只有一个七十多岁的老人", "urgent", False),
    ("I work from home and the broadband is down", "urgent", False),
    ("整栋楼的宽带都断了", "urgent", False),
    ("宽带断网了", "important", False),
    ("请问千兆宽带多少钱？", "general", False),
    ("营业员态度差，要求道歉，不然我去工信部", "urgent", False),
])
def test_grade_hints(classifier, text, grade, jump):
    proposal = classifier.classify(text)
    assert (proposal.grade, proposal.jump_queue) == (grade, jump)


def test_category_routes_to_its_department(classifier):
    for text, category, department in [
            ("光猫LOS灯红了", "broadband", "network"), ("套餐说好送的流量没给", "plan_dispute", "marketing"),
            ("账单上多扣了二十块", "billing", "finance"),
            ("I need to change my billing address", "account_info", "service")]:
        proposal = classifier.classify(text)
        assert (proposal.category, proposal.department) == (category, department)


# --- explanations -------------------------------------------------------------------------------

def test_every_reason_points_at_the_text_it_matched(classifier):
    text = "我在家办公，宽带从昨天断网到现在，太耽误事了，要求赔偿！"
    proposal = classifier.classify(text)
    assert proposal.reasons and all(r.hits for r in proposal.reasons)
    for reason in proposal.reasons:
        for hit in reason.hits:
            assert text[hit.start:hit.end] == hit.text
    assert {h.text for r in proposal.reasons_for("category") for h in r.hits} >= {"宽带", "断网"}
    assert {h.text for r in proposal.reasons_for("grade") for h in r.hits} >= {"断网", "在家办公"}
    (decision,) = proposal.reasons_for("complaint")
    assert decision.target == "dissatisfied+demand"
    assert [h.text for h in decision.hits] == ["耽误", "赔偿"]
    (form,) = proposal.reasons_for("form")
    assert form.rule == "complaint.form[0]" and [h.text for h in form.hits] == ["赔偿"]


def test_spans_stay_true_for_full_width_and_mixed_case_text(classifier):
    text = "ＷｉＦｉ连不上，IPTV黑屏？"
    proposal = classifier.classify(text)
    hits = {h.text: (h.start, h.end) for r in proposal.reasons for h in r.hits}
    assert hits["ＷｉＦｉ"] == (0, 4) and hits["IPTV"] == (8, 12) and hits["？"] == (14, 15)
    assert proposal.category == "iptv"


def test_latin_keywords_never_match_inside_words(classifier):
    assert classifier.classify("The simple activation went fine").category is None
    (refund,) = [r for r in classifier.classify("Refunded? no").reasons if r.rule == "sig.refund"]
    assert refund.hits[0].text == "Refunded"


# --- hostile text -------------------------------------------------------------------------------

HOSTILE = ["", " ", "\x00\x1b[31m\x1b]0;pwned\x07", "[bold red]宽带[/]断网<script>", "？？？!!!",
           "\ud800断网", "\u202e宽带断网", "\\b(?:.*)*$^", "投诉" * 5000, "a" * 1_000_000,
           "宽带断网。" + "\x1b[2J" * 200_000]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_classified_quickly_and_safely(classifier, text):
    started = time.perf_counter()
    proposal = classifier.classify(text)
    assert time.perf_counter() - started < 0.05
    assert proposal.scanned == min(len(text), classifier.rules.scan_limit)
    for reason in proposal.reasons:
        for hit in reason.hits:
            assert hit.end <= proposal.scanned and not re.search(r"[\x00-\x1f\x7f-\x9f]", hit.text)
    assert classifier.classify(text) == proposal  # deterministic


def test_nothing_recognised_gives_an_empty_proposal(classifier):
    proposal = classifier.classify("hello")
    assert (proposal.category, proposal.department, proposal.confidence) == (None, None, 0.0)
    assert (proposal.work_type, proposal.grade, proposal.complaint_form) == \
        ("consultation", "general", "none")


def test_markup_in_the_text_is_only_text(classifier):
    proposal = classifier.classify("[link=http://x]宽带[/link]断网")
    assert proposal.category == "broadband"
    assert "[link=http://x]" not in {h.text for r in proposal.reasons for h in r.hits}


# --- the labelled set ---------------------------------------------------------------------------

def test_the_labelled_set_is_big_bilingual_and_covers_everything(eval_path):
    examples = read_examples(eval_path, categories=CATALOG.categories)
    assert len(examples) >= 320 and len({e.text for e in examples}) == len(examples)
    heldout = [e for e in examples if e.split == "heldout"]
    assert 0.35 <= len(heldout) / len(examples) <= 0.45
    chinese = sum(bool(re.search(r"[\u4e00-\u9fff]", e.text)) for e in examples)
    assert 0.6 <= chinese / len(examples) <= 0.7
    for part in (heldout, [e for e in examples if e.split == "dev"]):
        assert {e.category for e in part} == set(CATALOG.categories)
        assert {e.work_type for e in part} == set(WorkType) - {WorkType.FOLLOW_UP}
        assert {e.complaint_form for e in part} == {"complaint_ticket", "direct_answer", "none"}
    assert not any(re.search(r"1[3-9]\d{9}", e.text) for e in examples)  # numbers are masked


def test_heldout_accuracy_meets_the_target(classifier, eval_path):
    examples = read_examples(eval_path, categories=CATALOG.categories)
    scores = score(classifier, [e for e in examples if e.split == "heldout"])
    report = {name: round(scores.accuracy(name), 3)
              for name in ("category", "work_type", "complaint_form")}
    print(f"\nheld-out accuracy over {scores.total}: {report}")
    assert report["category"] >= 0.90, report
    assert report["work_type"] >= 0.85, report
    assert report["complaint_form"] >= 0.90, report


def test_classification_takes_well_under_two_milliseconds(classifier, eval_path):
    texts = [e.text for e in read_examples(eval_path, categories=CATALOG.categories)]
    started = time.perf_counter()
    for text in texts:
        classifier.classify(text)
    assert (time.perf_counter() - started) / len(texts) < 0.002


# --- the command --------------------------------------------------------------------------------

def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_classify_parser(parser.add_subparsers(dest="command"), lambda _parser: None)
    return run_classify(parser.parse_args(["classify", *argv]))


def test_cli_prints_the_proposal_and_each_rule_with_its_text(capsys):
    assert run("宽带断网三天了，太过分了，要求赔偿\x1b[31m") == 0
    out = capsys.readouterr().out
    assert "category        broadband" in out and "complaint_form  complaint_ticket" in out
    assert re.search(r'category\s+broadband\s+\+3\s+bb\.service\s+"宽带"@0\s+"断网"@2', out)
    assert re.search(r'form\s+complaint_ticket\s+complaint\.form\[0\]\s+"赔偿"@15', out)
    assert "\x1b" not in out


def test_cli_json(capsys):
    assert run("--json", "I want to port my number out") == 0
    proposal = json.loads(capsys.readouterr().out)
    assert (proposal["category"], proposal["work_type"], proposal["department"]) == \
        ("number_porting", "business", "marketing")
    assert proposal["reasons"][0]["hits"][0] == {"start": 10, "end": 14, "text": "port"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_eval_prints_accuracy_and_an_aligned_confusion_table(eval_path, capsys, lang):
    i18n.set_language(lang)
    assert run("--eval", str(eval_path), "--split", "heldout") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "classifier_eval.jsonl: 132 descriptions (split: heldout)"
    assert re.fullmatch(r"category\s+\d+\.\d%\s+\d+/132", lines[1])
    assert lines[2].startswith("work_type") and lines[3].startswith("complaint_form")
    table = lines[lines.index("category: rows expected, columns predicted") + 1:]
    assert len(table) == 1 + len(CATALOG.categories)
    assert len({cell_len(line) for line in table}) == 1
    assert ("宽带装机" in "".join(table)) == (lang == "zh")
    columns = len(CATALOG.categories) + 1
    assert sum(int(c) for row in table[1:] for c in row.split()[-columns:] if c != ".") == 132


def test_cli_eval_splits_and_lists_misses(eval_path, capsys):
    assert run("--eval", str(eval_path), "--split", "dev", "--errors") == 0
    out = capsys.readouterr().out
    assert "201 descriptions (split: dev)" in out
    assert all(line.startswith("classifier_eval.jsonl:") for line in out.split("\n\n")[-1].splitlines())


GOOD = json.dumps({"text": "宽带断网", "category": "broadband", "work_type": "fault",
                   "complaint_form": "none", "split": "dev"}, ensure_ascii=False)


@pytest.mark.parametrize(("second", "reason"), [
    ("{oops", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (GOOD.replace('"宽带断网"', '""'), "text: must be a non-empty string"),
    (GOOD.replace("broadband", "weather"), "category: 'weather' is not one of: mobile_network"),
    (GOOD.replace('"dev"', '"test"'), "split: 'test' is not one of: heldout, dev"),
    (GOOD.replace('"none"', '"maybe"'), "complaint_form: 'maybe' is not one of"),
])
def test_cli_a_bad_eval_line_is_file_line_reason(tmp_path, second, reason):
    path = tmp_path / "set.jsonl"
    path.write_text(f"{GOOD}\n\n{second}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        run("--eval", str(path))
    assert str(caught.value).startswith(f"{path}:3: {reason}")
    assert "\n" not in str(caught.value)


def test_cli_eval_file_problems(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_bytes(GOOD.encode() + b"\n\xff\xfe\n")
    with pytest.raises(InputError, match=r"set\.jsonl:2: not valid UTF-8"):
        run("--eval", str(path))
    with pytest.raises(InputError, match="no such file"):
        run("--eval", str(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="is a directory"):
        run("--eval", str(tmp_path))


def test_cli_end_to_end_when_wired(eval_path):
    exe = Path(sys.executable).with_name("agent-console")
    if "classify" not in subprocess.run([exe, "--help"], capture_output=True, text=True).stdout:
        pytest.skip("`classify` is not wired into agent-console's parser yet")
    env = {**os.environ, "LANG": "C.UTF-8"}
    result = subprocess.run([exe, "classify", "--json", "宽带断网了"], capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0 and json.loads(result.stdout)["category"] == "broadband"
    result = subprocess.run([exe, "classify", "--eval", str(eval_path.parent / "none.jsonl")],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_the_classifier_never_loads_textual_or_sqlmodel():
    code = ("import sys, agent_console.services.classifier, agent_console.classify_cli\n"
            "agent_console.services.classifier.classify('宽带断网')\n"
            "print(' '.join(sys.modules))")
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
    assert "textual" not in modules and "sqlmodel" not in modules
