"""The knowledge base: CJK tokens, search and ranking, cases with history, JSONL import/export, `kb` CLI."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from agent_console.kb_cli import add_kb_parser, run_kb
from agent_console.models.kb import CaseCreate
from agent_console.services import cjk, knowledge
from agent_console.services.store import InputError, NotFoundError

from .conftest import make_store

WORDS = ("断网", "欠费", "光猫", "补卡")
HOSTILE = ['"', '""', "'", "AND", "OR", "NOT", "*", "(", ")", "NEAR(", "NEAR(a b", "-", "^", ":",
           "title:", "{title}:", "a AND", "OR b", '"unbalanced', "-LOS", "^断网", "断网*", "\x1b[31m",
           "", "   ", "光猫 NOT", "(IPTV OR", "IPTV : 黑屏", "a\x00b"]


def shipped_lines() -> list[str]:
    text = resources.files("agent_console.content").joinpath("kb_cases.jsonl").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


def case(title: str, symptoms: str = "symptoms", **more: object) -> CaseCreate:
    return CaseCreate(**{"cause": "cause", "resolution": "resolution", "title": title,
                         "symptoms": symptoms, **more})


@pytest.fixture
def kb_store(store):
    report = knowledge.import_jsonl(store, shipped_lines(), author="t")
    assert not report.problems
    return store


# --- tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize("word", WORDS)
def test_a_two_character_word_is_one_token(word):
    assert cjk.match_expression(cjk.query_phrases(word)) == f'"{word}"'
    assert word in cjk.index_text(f"客户{word}了").split()


def test_runs_become_overlapping_bigrams_and_latin_lowercase_words():
    assert cjk.index_text("光猫断网") == "光猫 猫断 断网 网"
    assert cjk.index_text("PPPoE 拨号 691，ＬＯＳ灯红") == "pppoe 拨号 号 691 los 灯红 红"
    assert cjk.match_expression(cjk.query_phrases("光猫断网")) == '"光猫 猫断 断网"'
    assert cjk.match_expression(cjk.query_phrases("IPTV 黑屏")) == '"iptv" AND "黑屏"'
    assert cjk.match_expression(cjk.query_phrases("光猫LOS")) == '"光猫 猫 los"'
    assert cjk.match_expression(cjk.query_phrases("Wi-Fi")) == '"wi fi"'


def test_one_character_and_unfinished_words_are_prefixes():
    assert cjk.match_expression(cjk.query_phrases("网")) == '"网"*'
    assert cjk.match_expression(cjk.query_phrases("ppp")) == '"ppp"'
    assert cjk.match_expression(cjk.query_phrases("IPTV ppp", prefix_last=True)) == '"iptv" AND "ppp"*'


def test_index_text_is_the_tokens_text():
    for line in shipped_lines():
        text = " ".join(str(v) for v in json.loads(line).values())
        assert cjk.index_text(text) == " ".join(t.text for t in cjk.tokens(text))


def test_spans_point_into_the_original_text():
    text = "光猫 LOS 灯红导致全屋断网，入户光纤"
    spans = cjk.find_spans(text, cjk.query_phrases("断网 光猫los 光"))
    assert [text[a:b] for a, b in spans] == ["光猫 LOS", "断网", "光"]


@pytest.mark.parametrize("query", HOSTILE)
def test_user_text_never_becomes_fts_syntax(query):
    expression = cjk.match_expression(cjk.query_phrases(query))
    assert re.fullmatch(r'("[^"\s]+( [^"\s]+)*"\*?( AND (?=")|$))*', expression), expression


# --- search ----------------------------------------------------------------------------------

@pytest.mark.parametrize("word", WORDS)
def test_a_word_finds_every_case_that_contains_it(kb_store, word):
    expected = {number for number, line in enumerate(shipped_lines(), start=1)
                if word in " ".join(str(v) for v in json.loads(line).values())}
    found = {hit.id for hit in knowledge.search(kb_store, query=word, limit=1000)}
    assert expected and found == expected


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_give_results_or_nothing(kb_store, query):
    assert isinstance(knowledge.search(kb_store, query=query), list)
    assert isinstance(knowledge.search(kb_store, query=query, prefix=True), list)


def test_codes_numbers_and_mixed_queries(kb_store):
    for query in ("LOS", "PPPoE", "1302", "APN", "IPTV 黑屏", "pppoe 691"):
        hits = knowledge.search(kb_store, query=query)
        assert hits, query
        assert all(hit.marks or hit.title_marks for hit in hits), query


def test_a_title_match_ranks_above_a_body_only_match(store):
    for filler in ("补卡", "欠费停机", "携号转网"):
        knowledge.create_case(store, case=case(filler), author="t")
    body = knowledge.create_case(store, case=case("宽带无法上网", "光猫断网后重启无效"), author="t")
    title = knowledge.create_case(store, case=case("光猫断网", "客户无法上网"), author="t")
    hits = knowledge.search(store, query="光猫断网")
    assert [h.id for h in hits] == [title.id, body.id]
    assert hits[0].score > hits[1].score


def test_snippet_is_one_plain_line_with_the_match_marked(kb_store):
    for hit in knowledge.search(kb_store, query="欠费"):
        assert "\n" not in hit.snippet and len(hit.snippet) <= knowledge.SNIPPET_CHARS + 2
        assert all(hit.snippet[a:b] == "欠费" for a, b in hit.marks)
        assert all(hit.title[a:b] == "欠费" for a, b in hit.title_marks)
    english = knowledge.search(kb_store, query="pppoe")[0]
    assert {english.snippet[a:b].lower() for a, b in english.marks} == {"pppoe"}


def test_search_as_you_type(kb_store):
    assert not knowledge.search(kb_store, query="pppo")
    assert knowledge.search(kb_store, query="pppo", prefix=True)
    assert {h.id for h in knowledge.search(kb_store, query="断", limit=500)} >= {
        h.id for h in knowledge.search(kb_store, query="断网", limit=500)}


def test_category_filter(kb_store):
    hits = knowledge.search(kb_store, query="欠费", category="billing", limit=100)
    assert hits and {h.category for h in hits} == {"billing"}
    assert len(hits) < len(knowledge.search(kb_store, query="欠费", limit=100))


def _supervisor(store, code: str) -> None:
    with store.connection() as conn:
        conn.execute("INSERT INTO agent (code, name, role) VALUES (?, ?, 'supervisor')", (code, code))


def test_retired_cases_are_hidden_unless_asked_for(store):
    _supervisor(store, "sup")
    kept = knowledge.create_case(store, case=case("补卡后无信号"), author="t")
    gone = knowledge.create_case(store, case=case("补卡需要本人"), author="t")
    knowledge.retire_case(store, case_id=gone.id, author="sup")
    assert [h.id for h in knowledge.search(store, query="补卡")] == [kept.id]
    hits = knowledge.search(store, query="补卡", include_retired=True)
    assert {(h.id, h.retired) for h in hits} == {(kept.id, False), (gone.id, True)}
    knowledge.retire_case(store, case_id=gone.id, author="sup", retired=False)
    assert len(knowledge.search(store, query="补卡")) == 2


def test_a_broad_query_is_ranked_among_its_newest_matches(store, monkeypatch):
    ids = [knowledge.create_case(store, case=case(f"宽带 {n}"), author="t").id for n in range(5)]
    monkeypatch.setattr(knowledge, "RANK_ALL", 3)
    assert {h.id for h in knowledge.search(store, query="宽带")} == set(ids[-3:])
    assert {h.id for h in knowledge.search(store, query="宽带 1")} == {ids[1]}


def test_similar_cases_for_a_description(kb_store):
    hits = knowledge.similar(kb_store, text="客户说电视 IPTV 一直黑屏，机顶盒提示账号已停机")
    assert hits and "IPTV" in hits[0].title


# --- cases -----------------------------------------------------------------------------------

def test_create_and_get_a_case_with_language_detected(store, clock):
    zh = knowledge.create_case(store, case=case("光猫 LOS 灯红", "客户家里断网", tags=("断网", " 光猫 ", "断网")),
                               author="a001")
    got = knowledge.get_case(store, case_id=zh.id)
    assert got == zh and got.language == "zh" and got.tags == ("断网", "光猫")
    assert got.created_at == clock.now() and got.author == "a001" and got.times_used == 0
    en = knowledge.create_case(store, case=case("PPPoE 691 after 断网"), author="a001")
    assert en.language == "en"
    with pytest.raises(NotFoundError):
        knowledge.get_case(store, case_id=999)


@pytest.mark.parametrize("bad", [{"title": " "}, {"symptoms": ""}, {"category": "nope"},
                                 {"language": "fr"}, {"title": "x" * 201}, {"tags": ("x" * 41,)}])
def test_a_bad_case_is_refused(store, bad):
    with pytest.raises(InputError):
        knowledge.create_case(store, case=replace(case("ok"), **bad), author="t")


def test_control_characters_are_stripped(store):
    made = knowledge.create_case(store, case=case("\x1b[31m光猫\x07 断网", "第一行\n第二行\x00"),
                                 author="t")
    assert made.title == "光猫 断网" and made.symptoms == "第一行\n第二行"


def test_update_keeps_history_and_reindexes(store, clock):
    _supervisor(store, "s001")
    made = knowledge.create_case(store, case=case("光猫断网", tags=("断网",)), author="a001")
    clock.set(made.created_at.replace(hour=5))
    updated = knowledge.update_case(store, case_id=made.id, author="s001", changes={
        "title": "补卡后无信号", "tags": ["补卡"], "cause": "cause"})
    assert updated.title == "补卡后无信号" and updated.updated_at == clock.now()
    history = knowledge.case_history(store, case_id=made.id)
    assert [(c.field, c.old, c.new, c.author) for c in history] == [
        ("title", "光猫断网", "补卡后无信号", "s001"), ("tags", '["断网"]', '["补卡"]', "s001")]
    assert not knowledge.search(store, query="光猫")
    assert [h.id for h in knowledge.search(store, query="补卡")] == [made.id]
    with pytest.raises(InputError):
        knowledge.update_case(store, case_id=made.id, author="s001", changes={"times_used": 9})


def test_a_case_from_a_ticket(store):
    from agent_console.services.tickets import add_note, create_ticket

    created = create_ticket(store, phone="13812345678", channel="hotline", work_type="fault",
                            category="broadband", description="家里宽带断网。光猫 LOS 灯红")
    with store.connection() as conn:
        ticket_id = conn.execute("SELECT id FROM ticket WHERE number = ?",
                                 (created.number,)).fetchone()[0]
    add_note(store, ticket_id=ticket_id, text="派装维重新熔接光纤", by=None)
    draft = knowledge.case_from_ticket(store, ticket_id=ticket_id)
    assert draft.title == "家里宽带断网" and draft.symptoms == "家里宽带断网。光猫 LOS 灯红"
    assert draft.category == "broadband" and draft.source_ticket_id == ticket_id
    assert draft.resolution == "派装维重新熔接光纤" and draft.language == "zh"
    saved = knowledge.create_case(store, case=replace(draft, cause="光纤弯折"), author="a001")
    assert saved.source_ticket_id == ticket_id
    with store.connection() as conn:
        conn.execute("UPDATE ticket SET resolution = '重新熔接' WHERE id = ?", (ticket_id,))
    assert knowledge.case_from_ticket(store, ticket_id=ticket_id).resolution == "重新熔接"
    with pytest.raises(NotFoundError):
        knowledge.case_from_ticket(store, ticket_id=999)


# --- JSON lines ------------------------------------------------------------------------------

def test_the_shipped_knowledge_base_imports_whole(store):
    lines = shipped_lines()
    report = knowledge.import_jsonl(store, lines, author="t")
    assert report.imported == len(lines) >= 150 and report.problems == ()


GOOD = json.dumps({"title": "补卡", "symptoms": "s", "cause": "c", "resolution": "r"},
                  ensure_ascii=False)
BAD_LINES = {
    "{not json": "not valid JSON",
    "[1, 2]": "must be a JSON object",
    json.dumps({"symptoms": "s", "cause": "c", "resolution": "r"}): "title: missing",
    json.dumps({**json.loads(GOOD), "colour": "red"}): "colour: unknown field",
    json.dumps({**json.loads(GOOD), "tags": "a,b"}): "tags: must be a list",
    json.dumps({**json.loads(GOOD), "category": "weather"}): "category: 'weather' is not one of",
    json.dumps({**json.loads(GOOD), "symptoms": "  "}): "symptoms: must not be empty",
    json.dumps({**json.loads(GOOD), "cause": 5}): "cause: must be text",
    json.dumps({**json.loads(GOOD), "language": "fr"}): "language:",
    '{"title": "\\ud800", "symptoms": "s", "cause": "c", "resolution": "r"}': "not valid UTF-8",
}


def test_bad_lines_are_reported_and_skipped(store):
    lines = ["\ufeff" + GOOD, "", *BAD_LINES, GOOD]
    report = knowledge.import_jsonl(store, lines, author="t")
    assert report.imported == 2
    assert [p.line for p in report.problems] == list(range(3, 3 + len(BAD_LINES)))
    for problem, reason in zip(report.problems, BAD_LINES.values()):
        assert reason in problem.reason
    assert len(knowledge.search(store, query="补卡")) == 2


def test_strict_import_is_all_or_nothing(store):
    report = knowledge.import_jsonl(store, [GOOD, "{not json", GOOD, "[]"], strict=True, author="t")
    assert report.imported == 0 and [p.line for p in report.problems] == [2, 4]
    assert knowledge.search(store, query="补卡") == []
    assert knowledge.import_jsonl(store, [GOOD], strict=True, author="t").imported == 1


def test_export_round_trips_through_import(store, tmp_path, clock):
    knowledge.import_jsonl(store, shipped_lines(), author="t")
    retired = knowledge.create_case(store, case=case("已退役"), author="t")
    _supervisor(store, "sup")
    knowledge.retire_case(store, case_id=retired.id, author="sup")
    exported = list(knowledge.export_jsonl(store))
    assert [json.loads(line) for line in exported] == [json.loads(line) for line in shipped_lines()]
    other = make_store(tmp_path / "other.db", clock)
    assert knowledge.import_jsonl(other, exported, strict=True, author="t").imported == len(exported)
    assert list(knowledge.export_jsonl(other)) == exported


# --- command line ----------------------------------------------------------------------------

def kb(store, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_kb_parser(parser.add_subparsers(dest="command"), lambda _parser: None)
    return run_kb(parser.parse_args(["kb", *argv]), store, author="cli")


def test_cli_import_reports_bad_lines_with_exit_1(store, tmp_path, capsys):
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD}\n{{oops\n{GOOD}\n", encoding="utf-8")
    assert kb(store, "import", str(path)) == 1
    out = capsys.readouterr()
    assert out.err.startswith(f"{path}:2: line: not valid JSON") and out.err.count("\n") == 1
    assert kb(store, "import", "--strict", str(path)) == 1
    assert len(knowledge.search(store, query="补卡")) == 2
    path.write_bytes(GOOD.encode() + b"\n" + GOOD.encode().replace("补卡".encode(), b"\xff\xfe") + b"\n")
    assert kb(store, "import", str(path)) == 1 and "not valid UTF-8" in capsys.readouterr().err
    with pytest.raises(InputError, match="no such file"):
        kb(store, "import", str(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="is a directory"):
        kb(store, "import", str(tmp_path))


def test_cli_export_to_file_and_stdout(kb_store, tmp_path, capsys):
    path = tmp_path / "out.jsonl"
    assert kb(kb_store, "export", str(path)) == 0
    assert path.read_text(encoding="utf-8").splitlines() == list(knowledge.export_jsonl(kb_store))
    capsys.readouterr()
    assert kb(kb_store, "export") == 0
    assert capsys.readouterr().out == path.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="cannot be written"):
        kb(kb_store, "export", str(tmp_path / "no" / "such" / "dir.jsonl"))


def test_cli_search_json_is_best_first(kb_store, capsys):
    assert kb(kb_store, "search", "欠费", "--json", "--limit", "5") == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 5 and {"id", "title", "category", "score", "snippet"} <= set(hits[0])
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert kb(kb_store, "search", "欠费", "--json", "--category", "billing") == 0
    assert {h["category"] for h in json.loads(capsys.readouterr().out)} == {"billing"}
    with pytest.raises(InputError):
        kb(kb_store, "search", "欠费", "--category", "weather")
    with pytest.raises(InputError):
        kb(kb_store, "search", "欠费", "--limit", "0")


def test_cli_plain_search_marks_matches_and_prints_no_controls(store, capsys):
    knowledge.create_case(store, case=case("\x1b]0;pwned\x07补卡 \x1b[2J失败", "补卡\r\n后无信号"),
                          author="t")
    assert kb(store, "search", "补卡") == 0
    out = capsys.readouterr().out
    assert "[补卡]" in out and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)
    for query in HOSTILE:
        assert kb(store, "search", "--", query) == 0


def test_cli_end_to_end_when_wired(tmp_path):
    exe = Path(sys.executable).with_name("agent-console")
    if "kb" not in subprocess.run([exe, "--help"], capture_output=True, text=True).stdout:
        pytest.skip("`kb` is not wired into agent-console's parser yet")
    db_path = tmp_path / "e2e.db"
    env = {**os.environ, "AGENT_CONSOLE_NOW": "2026-11-24T02:00:00+00:00", "LANG": "C.UTF-8"}
    source = resources.files("agent_console.content").joinpath("kb_cases.jsonl")
    with resources.as_file(source) as path:
        result = subprocess.run([exe, "kb", "import", str(path), "--db", str(db_path)],
                                capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([exe, "kb", "search", "断网", "--json", "--db", str(db_path)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0 and json.loads(result.stdout)
    result = subprocess.run([exe, "kb", "import", str(tmp_path / "none.jsonl"), "--db", str(db_path)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_the_knowledge_base_never_loads_textual_or_sqlmodel():
    code = ("import sys, agent_console.services.knowledge, agent_console.kb_cli\n"
            "print(' '.join(sys.modules))")
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
    assert "textual" not in modules and "sqlmodel" not in modules


def test_only_supervisors_may_edit_or_retire(store):
    from tests.conftest import ensure_agent
    from agent_console.services.permissions import NotAllowedError

    ensure_agent(store, "a001")
    made = knowledge.create_case(store, case=case("光猫断网"), author="a001")
    with pytest.raises(NotAllowedError):
        knowledge.update_case(store, case_id=made.id, author="a001", changes={"title": "改标题"})
    with pytest.raises(NotAllowedError):
        knowledge.retire_case(store, case_id=made.id, author="a001")
    with pytest.raises(NotAllowedError):
        knowledge.retire_case(store, case_id=made.id, author="nobody")
    assert knowledge.get_case(store, case_id=made.id).title == "光猫断网"
