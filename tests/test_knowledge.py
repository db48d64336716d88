"""The knowledge base: CJK tokens, search and ranking, cases with history and rules, JSONL
import/export, the `kb` CLI."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent_console import cli_auth
from agent_console.kb_cli import add_kb_parser, run_kb
from agent_console.models.kb import CaseCreate, CaseSearch, Fallback
from agent_console.services import audit, cjk, kb_jsonl, knowledge
from agent_console.services.store import InputError, NotFoundError, Refused
from agent_console.text import strip_controls

from .conftest import actor_for, make_store, settings_for

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
def editor(store):
    return actor_for(store, "s900", role="supervisor")


@pytest.fixture
def agent(store):
    return actor_for(store, "a001")


@pytest.fixture
def kb_store(store, editor):
    report = kb_jsonl.import_jsonl(store, editor, shipped_lines())
    assert not report.problems
    return store


def records(store, action: str) -> list[SimpleNamespace]:
    """The audit trail's records of one action, oldest first."""
    with store.read() as tx:
        rows = tx.all("SELECT agent_code, target, detail FROM audit_log WHERE action = ? "
                      "ORDER BY id", (action,))
    return [SimpleNamespace(agent_code=code, target=target, detail=json.loads(detail))
            for code, target, detail in rows]


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


def test_an_upper_case_code_or_a_short_word_is_never_unfinished():
    for whole in ("LOS", "APN", "IPTV", "4G", "in", "ported-in", "a"):
        assert not cjk.match_expression(cjk.query_phrases(whole, prefix_last=True)).endswith("*")
    for word in ("los", "Los", "PPPoE", "top-upd"):
        assert cjk.match_expression(cjk.query_phrases(word, prefix_last=True)).endswith("*")


def test_pieces_are_the_single_terms_of_longer_phrases():
    pieces = cjk.pieces(cjk.query_phrases("光猫断网故障 IPTV"))
    assert [p.terms for p in pieces] == [("光猫",), ("猫断",), ("断网",), ("网故",), ("故障",),
                                         ("iptv",)]


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
    if strip_controls(query).strip():
        assert isinstance(knowledge.find_cases(kb_store, query=query).hits, tuple)


def test_codes_numbers_and_mixed_queries(kb_store):
    for query in ("LOS", "PPPoE", "1302", "APN", "IPTV 黑屏", "pppoe 691"):
        hits = knowledge.search(kb_store, query=query)
        assert hits, query
        assert all(hit.marks or hit.title_marks for hit in hits), query


def test_a_title_match_ranks_above_a_body_only_match(store, editor):
    for filler in ("补卡", "欠费停机", "携号转网"):
        knowledge.create_case(store, editor, case=case(filler))
    body = knowledge.create_case(store, editor, case=case("宽带无法上网", "光猫断网后重启无效"))
    title = knowledge.create_case(store, editor, case=case("光猫断网", "客户无法上网"))
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
    assert knowledge.find_cases(kb_store, query="pppo").hits
    assert {h.id for h in knowledge.search(kb_store, query="断", limit=500)} >= {
        h.id for h in knowledge.search(kb_store, query="断网", limit=500)}


def test_category_filter(kb_store):
    hits = knowledge.search(kb_store, query="欠费", category="billing", limit=100)
    assert hits and {h.category for h in hits} == {"billing"}
    assert len(hits) < len(knowledge.search(kb_store, query="欠费", limit=100))


def test_retired_cases_are_hidden_unless_asked_for(store, editor):
    kept = knowledge.create_case(store, editor, case=case("补卡后无信号"))
    gone = knowledge.create_case(store, editor, case=case("补卡需要本人"))
    knowledge.retire_case(store, editor, case_id=gone.id, retired=True, reason="过时")
    assert [h.id for h in knowledge.search(store, query="补卡")] == [kept.id]
    hits = knowledge.search(store, query="补卡", include_retired=True)
    assert {(h.id, h.retired) for h in hits} == {(kept.id, False), (gone.id, True)}
    knowledge.retire_case(store, editor, case_id=gone.id, retired=False, reason="仍然适用")
    assert len(knowledge.search(store, query="补卡")) == 2


def test_a_broad_query_is_ranked_among_its_newest_matches(store, editor, monkeypatch):
    ids = [knowledge.create_case(store, editor, case=case(f"宽带 {n}")).id for n in range(5)]
    monkeypatch.setattr(knowledge, "RANK_ALL", 3)
    assert {h.id for h in knowledge.search(store, query="宽带")} == set(ids[-3:])
    assert {h.id for h in knowledge.search(store, query="宽带 1")} == {ids[1]}


def test_similar_cases_for_a_description(kb_store):
    hits = knowledge.similar(kb_store, text="客户说电视 IPTV 一直黑屏，机顶盒提示账号已停机")
    assert hits and "IPTV" in hits[0].title


def test_an_upper_case_code_finds_only_itself(store, editor):
    code = knowledge.create_case(store, editor, case=case("光猫 LOS 灯红"))
    knowledge.create_case(store, editor, case=case("Lost connection after rain"))
    knowledge.create_case(store, editor, case=case("Packet loss at night"))
    assert [h.id for h in knowledge.find_cases(store, query="LOS").hits] == [code.id]
    assert len(knowledge.find_cases(store, query="los").hits) == 3


def test_fallbacks_say_how_they_found(store, editor):
    both = knowledge.create_case(store, editor, case=case("光猫断网", "LOS 灯红"))
    iptv = knowledge.create_case(store, editor, case=case("IPTV 黑屏", "机顶盒认证失败"))
    found = knowledge.find_cases(store, query="光猫 LOS")
    assert (found.fallback, [h.id for h in found.hits]) == (Fallback.NONE, [both.id])
    found = knowledge.find_cases(store, query="光猫 IPTV")
    assert found.fallback == Fallback.WORDS and {h.id for h in found.hits} == {both.id, iptv.id}
    found = knowledge.find_cases(store, query="光猫断网故障")
    assert (found.fallback, [h.id for h in found.hits]) == (Fallback.PIECES, [both.id])
    assert found.hits[0].title_marks  # the pieces that matched are marked
    assert knowledge.find_cases(store, query="宽带提速") == CaseSearch(())


@pytest.mark.parametrize("query", ["", "   ", "\x1b[31m"])
def test_a_blank_query_is_refused(store, query):
    with pytest.raises(InputError, match="query: must not be empty"):
        knowledge.find_cases(store, query=query)


# --- cases, rules and the audit trail --------------------------------------------------------

def test_create_and_get_a_case_with_language_detected(store, editor, clock):
    zh = knowledge.create_case(store, editor, case=case("光猫 LOS 灯红", "客户家里断网",
                                                        tags=("断网", " 光猫 ", "断网")))
    got = knowledge.get_case(store, case_id=zh.id)
    assert got == zh and got.language == "zh" and got.tags == ("断网", "光猫")
    assert got.created_at == clock.now() and got.author == "s900" and got.times_used == 0
    en = knowledge.create_case(store, editor, case=case("PPPoE 691 after 断网"))
    assert en.language == "en"
    with pytest.raises(NotFoundError):
        knowledge.get_case(store, case_id=999)
    [record] = records(store, audit.Action.KB_CREATE)[:1]
    assert (record.agent_code, record.target) == ("s900", f"case:{zh.id}")


@pytest.mark.parametrize("bad", [{"title": " "}, {"symptoms": ""}, {"category": "nope"},
                                 {"language": "fr"}, {"title": "x" * 201}, {"tags": ("x" * 41,)}])
def test_a_bad_case_is_refused(store, editor, bad):
    with pytest.raises(InputError):
        knowledge.create_case(store, editor, case=replace(case("ok"), **bad))


def test_control_characters_are_stripped(store, editor):
    made = knowledge.create_case(store, editor, case=case("\x1b[31m光猫\x07 断网", "第一行\n第二行\x00"))
    assert made.title == "光猫 断网" and made.symptoms == "第一行\n第二行"


def test_update_keeps_history_and_reindexes(store, editor, clock):
    made = knowledge.create_case(store, editor, case=case("光猫断网", tags=("断网",)))
    clock.set(made.created_at.replace(hour=5))
    updated = knowledge.update_case(store, editor, case_id=made.id, changes={
        "title": "补卡后无信号", "tags": ["补卡"], "cause": "cause"})
    assert updated.title == "补卡后无信号" and updated.updated_at == clock.now()
    history = knowledge.case_history(store, case_id=made.id)
    assert [(c.field, c.old, c.new, c.author) for c in history] == [
        ("title", "光猫断网", "补卡后无信号", "s900"), ("tags", '["断网"]', '["补卡"]', "s900")]
    assert not knowledge.search(store, query="光猫")
    assert [h.id for h in knowledge.search(store, query="补卡")] == [made.id]
    [edit] = records(store, audit.Action.KB_EDIT)
    assert edit.detail == {"fields": ["tags", "title"]}
    with pytest.raises(InputError):
        knowledge.update_case(store, editor, case_id=made.id, changes={"times_used": 9})


def test_retire_and_restore_are_audited_with_the_reason(store, editor):
    made = knowledge.create_case(store, editor, case=case("光猫断网"))
    with pytest.raises(InputError, match="reason: must not be empty"):
        knowledge.retire_case(store, editor, case_id=made.id, retired=True, reason=" ")
    assert knowledge.retire_case(store, editor, case_id=made.id, retired=True, reason="已过时").retired
    assert not knowledge.retire_case(store, editor, case_id=made.id, retired=False,
                                     reason="新设备仍适用").retired
    [retire] = records(store, audit.Action.KB_RETIRE)
    [restore] = records(store, audit.Action.KB_RESTORE)
    assert retire.detail == {"reason": "已过时"} and restore.detail == {"reason": "新设备仍适用"}
    assert retire.agent_code == restore.agent_code == "s900"


def test_a_case_and_its_audit_record_land_together(store, editor, monkeypatch):
    from agent_console.services.store import Tx

    def broken(*_args, **_kwargs):
        raise RuntimeError("the audit trail is full")

    monkeypatch.setattr(Tx, "audit", broken)
    with pytest.raises(RuntimeError):
        knowledge.create_case(store, editor, case=case("光猫断网"))
    with pytest.raises(RuntimeError):
        kb_jsonl.import_jsonl(store, editor, shipped_lines()[:3])
    monkeypatch.undo()
    assert knowledge.search(store, query="光猫断网") == [] and list(kb_jsonl.export_jsonl(store)) == []


def test_a_plain_agent_may_not_change_the_knowledge_base(store, editor, agent):
    made = knowledge.create_case(store, editor, case=case("光猫断网"))
    refused = [
        lambda: knowledge.create_case(store, agent, case=case("补卡")),
        lambda: knowledge.update_case(store, agent, case_id=made.id, changes={"title": "改标题"}),
        lambda: knowledge.retire_case(store, agent, case_id=made.id, retired=True, reason="x"),
        lambda: kb_jsonl.import_jsonl(store, agent, shipped_lines()),
    ]
    for call in refused:
        with pytest.raises(Refused):
            call()
    assert knowledge.get_case(store, case_id=made.id) == made
    assert list(kb_jsonl.export_jsonl(store)) == [json.dumps(
        {"title": "光猫断网", "symptoms": "symptoms", "cause": "cause", "resolution": "resolution",
         "prevention": "", "category": "", "tags": [], "language": "zh"}, ensure_ascii=False)]
    assert knowledge.find_cases(store, query="光猫").hits  # searching is for everyone


def test_a_case_from_a_ticket(store, editor):
    from agent_console.services.tickets import add_note, create_ticket

    created = create_ticket(store, editor, phone="13812345678", channel="hotline",
                            work_type="fault", category="broadband",
                            description="家里宽带断网。光猫 LOS 灯红")
    add_note(store, editor, ticket_id=created.id, text="派装维重新熔接光纤")
    draft = knowledge.case_from_ticket(store, editor, ticket_id=created.id)
    assert draft.title == "家里宽带断网" and draft.symptoms == "家里宽带断网。光猫 LOS 灯红"
    assert draft.category == "broadband" and draft.source_ticket_id == created.id
    assert draft.resolution == "派装维重新熔接光纤" and draft.language == "zh"
    saved = knowledge.create_case(store, editor, case=replace(draft, cause="光纤弯折"))
    assert saved.source_ticket_id == created.id
    with store.write(editor) as tx:
        tx.execute("UPDATE ticket SET resolution = '重新熔接' WHERE id = ?", (created.id,))
    assert knowledge.case_from_ticket(store, editor, ticket_id=created.id).resolution == "重新熔接"
    with pytest.raises(NotFoundError):
        knowledge.case_from_ticket(store, editor, ticket_id=999)


def test_a_case_from_a_ticket_goes_through_the_tickets_visibility(store, agent, monkeypatch):
    from agent_console.services import tickets

    asked = []

    def detail(store_, actor, *, ticket_id):
        asked.append((actor, ticket_id))
        raise NotFoundError(f"ticket {ticket_id}")

    monkeypatch.setattr(tickets, "ticket_detail", detail)
    with pytest.raises(NotFoundError):
        knowledge.case_from_ticket(store, agent, ticket_id=7)
    assert asked == [(agent, 7)]


# --- JSON lines ------------------------------------------------------------------------------

def test_the_shipped_knowledge_base_imports_whole(store, editor):
    lines = shipped_lines()
    report = kb_jsonl.import_jsonl(store, editor, lines, source="kb_cases.jsonl")
    assert report.imported == len(lines) >= 150 and report.problems == ()
    [record] = records(store, audit.Action.KB_IMPORT)
    assert record.agent_code == "s900" and record.detail["imported"] == len(lines)
    assert record.detail["source"] == "kb_cases.jsonl"


GOOD = json.dumps({"title": "补卡", "symptoms": "s", "cause": "c", "resolution": "r"},
                  ensure_ascii=False)
FIELDS_OK = json.loads(GOOD)
BAD_LINES = {
    "{not json": "not valid JSON",
    "[1, 2]": "must be a JSON object",
    json.dumps({"symptoms": "s", "cause": "c", "resolution": "r"}): "title: missing",
    json.dumps({**FIELDS_OK, "colour": "red"}): "colour: unknown field",
    json.dumps({**FIELDS_OK, "tags": "a,b"}): "tags: must be a list",
    json.dumps({**FIELDS_OK, "tags": [1]}): "tags: must be text",
    json.dumps({**FIELDS_OK, "category": "weather"}): "category: 'weather' is not one of",
    json.dumps({**FIELDS_OK, "symptoms": "  "}): "symptoms: must not be empty",
    json.dumps({**FIELDS_OK, "cause": 5}): "cause: must be text",
    json.dumps({**FIELDS_OK, "title": None}): "title: must be text",
    json.dumps({**FIELDS_OK, "language": "fr"}): "language:",
    json.dumps({**FIELDS_OK, "language": ["zh"] * 1000}): "language: \"['zh', 'zh'",
    '{"title": "\\ud800", "symptoms": "s", "cause": "c", "resolution": "r"}': "not valid UTF-8",
    GOOD.replace("补卡", "补\udcff卡"): "line: is not valid UTF-8 (byte 0xff at column 13)",
    "[" * 50_000 + "]" * 50_000: "nested too deeply",
    '{"title": ' + "9" * 5000 + "}": "a number of more than 4300 digits",
    json.dumps({**FIELDS_OK, "cause": "x" * (kb_jsonl.LINE_LIMIT + 1)}): "line: is longer than",
}


def test_bad_lines_are_reported_with_their_number_and_skipped(store, editor):
    lines = ["\ufeff" + GOOD, "", *BAD_LINES, GOOD.replace("补卡", "换卡")]
    report = kb_jsonl.import_jsonl(store, editor, lines)
    assert report.imported == 2
    assert [p.line for p in report.problems] == list(range(3, 3 + len(BAD_LINES)))
    for problem, reason in zip(report.problems, BAD_LINES.values()):
        assert reason in problem.reason and len(problem.reason) < 200, problem
    assert len(knowledge.search(store, query="卡")) == 2


def test_strict_import_is_all_or_nothing(store, editor):
    report = kb_jsonl.import_jsonl(store, editor, [GOOD, "{not json", GOOD, "[]"], strict=True)
    assert report.imported == 0 and [p.line for p in report.problems] == [2, 4]
    assert knowledge.search(store, query="补卡") == [] and records(store, "kb_import") == []
    assert kb_jsonl.import_jsonl(store, editor, [GOOD], strict=True).imported == 1


def test_duplicates_are_skipped_and_counted(store, editor):
    knowledge.create_case(store, editor, case=case("补卡", "s"))
    twice = GOOD.replace("补卡", "换卡")
    report = kb_jsonl.import_jsonl(store, editor, [GOOD.replace("补卡", " 补卡 "), twice, twice])
    assert (report.imported, report.duplicates, report.updated) == (1, 2, 0)
    assert len(knowledge.search(store, query="卡")) == 2
    again = kb_jsonl.import_jsonl(store, editor, [GOOD, twice])
    assert (again.imported, again.duplicates) == (0, 2)
    assert len(records(store, "kb_import")) == 1  # nothing imported, nothing recorded


def test_with_update_a_duplicate_changes_the_case(store, editor):
    made = knowledge.create_case(store, editor, case=case("补卡", "s"))
    changed = json.dumps({**FIELDS_OK, "resolution": "带身份证到营业厅", "tags": ["补卡"]},
                         ensure_ascii=False)
    later = json.dumps({**FIELDS_OK, "title": "换卡", "resolution": "r2"}, ensure_ascii=False)
    report = kb_jsonl.import_jsonl(store, editor, [changed, GOOD.replace("补卡", "换卡"), later, GOOD],
                                   update=True)
    assert (report.imported, report.updated, report.duplicates) == (1, 3, 0)
    assert knowledge.get_case(store, case_id=made.id).resolution == "r"  # the last line wins
    assert [c.field for c in knowledge.case_history(store, case_id=made.id)] == [
        "cause", "resolution", "tags", "resolution", "tags"]
    same = kb_jsonl.import_jsonl(store, editor, [GOOD], update=True)
    assert (same.updated, same.duplicates) == (0, 1)
    [record] = records(store, "kb_import")
    assert record.detail["updated"] == 3 and record.detail["update"] is True


def test_categories_can_be_mapped_skipped_or_dropped(store, editor):
    weather = json.dumps({**FIELDS_OK, "category": "weather"})
    lines = [weather, json.dumps({**FIELDS_OK, "title": "换卡", "category": "Billing"})]
    mapped = kb_jsonl.import_jsonl(store, editor, lines,
                                   categories={"weather": "broadband", "Billing": "billing"})
    assert mapped.imported == 2 and not mapped.problems
    assert {h.category for h in knowledge.search(store, query="卡")} == {"broadband", "billing"}
    other = [json.dumps({**FIELDS_OK, "title": f"销户 {n}", "category": "weather"}) for n in range(2)]
    skipped = kb_jsonl.import_jsonl(store, editor, [*other, '{"category": "weather"}'],
                                    unknown_category=kb_jsonl.SKIP)
    assert (skipped.imported, skipped.unknown_categories, len(skipped.problems)) == (0, 2, 1)
    kept = kb_jsonl.import_jsonl(store, editor, other,
                                 unknown_category=kb_jsonl.KEEP_UNCATEGORISED)
    assert (kept.imported, kept.uncategorised) == (2, 2)
    assert {h.category for h in knowledge.search(store, query="销户")} == {""}
    with pytest.raises(InputError, match="map"):
        kb_jsonl.import_jsonl(store, editor, [], categories={"weather": "rain"})


def test_a_fill_imports_inside_its_own_transaction(store):
    with store.write() as tx:
        report = kb_jsonl.import_in(tx, shipped_lines(), author="demo")
    assert report.imported == len(shipped_lines()) and records(store, "kb_import") == []
    assert knowledge.get_case(store, case_id=1).author == "demo"
    with pytest.raises(kb_jsonl.StrictImportFailed), store.write() as tx:
        kb_jsonl.import_in(tx, [GOOD.replace("补卡", "zzyzx"), "{oops"], author="demo",
                           strict=True)
    assert knowledge.search(store, query="zzyzx") == []


def test_an_endless_line_is_read_in_bounded_pieces():
    stream = io.StringIO("x" * 50 + "\n" + "y" * 30 + "\n" + "z\n")
    assert [len(line) for line in kb_jsonl.read_lines(stream, limit=20)] == [21, 21, 2]


def test_export_round_trips_through_import(store, editor, tmp_path, clock):
    kb_jsonl.import_jsonl(store, editor, shipped_lines())
    retired = knowledge.create_case(store, editor, case=case("已退役"))
    knowledge.retire_case(store, editor, case_id=retired.id, retired=True, reason="过时")
    exported = list(kb_jsonl.export_jsonl(store))
    assert [json.loads(line) for line in exported] == [json.loads(line) for line in shipped_lines()]
    other = make_store(tmp_path / "other.db", clock)
    report = kb_jsonl.import_jsonl(other, actor_for(other, "s900", role="supervisor"), exported,
                                   strict=True)
    assert report.imported == len(exported)
    assert list(kb_jsonl.export_jsonl(other)) == exported


# --- command line ----------------------------------------------------------------------------

@pytest.fixture
def kb(store, editor, monkeypatch):
    """Run `kb …` in this process as the supervisor s900 (proving an agent is cli_auth's)."""
    monkeypatch.setattr(cli_auth, "prove_actor", lambda _args, _store, _settings: editor)

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        add_kb_parser(parser.add_subparsers(dest="command"), lambda _parser: None)
        return run_kb(parser.parse_args(["kb", *argv]), store, settings_for(store))

    return run


def test_cli_import_reports_bad_lines_with_exit_1(store, kb, tmp_path, capsys):
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD}\n{{oops\n{GOOD.replace('补卡', '换卡')}\n", encoding="utf-8")
    assert kb("import", str(path)) == 1
    out = capsys.readouterr()
    assert out.err.startswith(f"{path}:2: line: not valid JSON") and out.err.count("\n") == 1
    assert "Imported 2 cases" in out.out
    assert kb("import", "--strict", str(path)) == 1
    assert kb("import", str(path)) == 1
    assert "skipped 2 duplicates" in capsys.readouterr().out
    assert len(knowledge.search(store, query="卡")) == 2
    path.write_bytes(GOOD.encode().replace("补卡".encode(), b"\xff\xfe") + b"\n")
    assert kb("import", str(path)) == 1
    assert f"{path}:1: line: is not valid UTF-8 (byte 0xff" in capsys.readouterr().err


def test_cli_import_refuses_an_overlong_line_by_number(store, kb, tmp_path, capsys):
    path = tmp_path / "long.jsonl"
    huge = json.dumps({**FIELDS_OK, "cause": "x" * (3 * kb_jsonl.LINE_LIMIT)})
    path.write_text(f"{huge}\n{GOOD}\n", encoding="utf-8")
    assert kb("import", str(path)) == 1
    err = capsys.readouterr().err
    assert err == f"{path}:1: line: is longer than {kb_jsonl.LINE_LIMIT} characters\n"
    assert len(knowledge.search(store, query="补卡")) == 1


def test_cli_import_says_what_a_path_is(kb, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="no such file"):
        kb("import", str(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="is a directory"):
        kb("import", str(tmp_path))
    if Path("/dev/zero").exists():
        with pytest.raises(InputError, match="is a device"):
            kb("import", "/dev/zero")
    locked = tmp_path / "locked.jsonl"
    locked.write_text(GOOD, encoding="utf-8")
    real_open = Path.open

    def no_access(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", no_access)
    with pytest.raises(InputError, match=r"cannot be read \(Permission denied\)"):
        kb("import", str(locked))


def test_cli_import_maps_and_handles_unknown_categories(store, kb, tmp_path, capsys):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps({**FIELDS_OK, "title": f"销户 {n}", "category": cat})
                              for n, cat in enumerate(["weather", "fees", "fees"])),
                    encoding="utf-8")
    assert kb("import", str(path)) == 1  # unknown categories are bad lines by default
    assert kb("import", str(path), "--map", "fees=billing", "--unknown-category", "skip") == 0
    assert "Imported 2 cases" in capsys.readouterr().out
    assert kb("import", str(path), "--unknown-category", "keep-uncategorised") == 0
    out = capsys.readouterr().out
    assert "Imported 1 cases" in out and "1 of them were imported without a category" in out
    with pytest.raises(InputError, match="OLD=NEW"):
        kb("import", str(path), "--map", "fees")


def test_cli_import_needs_a_proven_editor(store, tmp_path, monkeypatch):
    from agent_console.services import auth

    auth.add_agent(store, None, code="adm", name="Admin", role="admin", pin="9999")
    admin = actor_for(store, "adm")
    auth.add_agent(store, admin, code="a002", name="Agent", role="agent", pin="1111")
    path = tmp_path / "cases.jsonl"
    path.write_text(GOOD + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_kb_parser(parser.add_subparsers(dest="command"),
                  lambda p: p.add_argument("--agent"))

    def run(agent: str, pin: str) -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(pin + "\n"))
        args = parser.parse_args(["kb", "import", str(path), "--agent", agent, "--pin-stdin"])
        return run_kb(args, store, settings_for(store, agent=agent))

    with pytest.raises(InputError, match="wrong agent or PIN"):
        run("adm", "0000")
    with pytest.raises(Refused):
        run("a002", "1111")
    assert knowledge.search(store, query="补卡") == []
    assert run("adm", "9999") == 0
    assert records(store, "kb_import")[0].agent_code == "adm"


def test_cli_export_to_file_and_stdout(kb_store, kb, tmp_path, capsys):
    path = tmp_path / "out.jsonl"
    assert kb("export", str(path)) == 0
    assert path.read_text(encoding="utf-8").splitlines() == list(kb_jsonl.export_jsonl(kb_store))
    capsys.readouterr()
    assert kb("export") == 0
    assert capsys.readouterr().out == path.read_text(encoding="utf-8")
    with pytest.raises(InputError, match="cannot be written"):
        kb("export", str(tmp_path / "no" / "such" / "dir.jsonl"))


def test_cli_search_json_is_best_first(kb_store, kb, capsys):
    assert kb("search", "欠费", "--json", "--limit", "5") == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 5 and {"id", "title", "category", "score", "snippet", "match"} <= set(hits[0])
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert kb("search", "欠费", "--json", "--category", "billing") == 0
    assert {h["category"] for h in json.loads(capsys.readouterr().out)} == {"billing"}
    with pytest.raises(InputError):
        kb("search", "欠费", "--category", "weather")
    with pytest.raises(InputError):
        kb("search", "欠费", "--limit", "0")


def test_cli_and_app_share_one_search(kb_store, kb, capsys):
    for query in ("LOS", "los", "pppo", "补卡 IPTV", "光猫断网故障"):
        assert kb("search", query, "--json") == 0
        printed = json.loads(capsys.readouterr().out)
        found = knowledge.find_cases(kb_store, query=query)
        assert [h["id"] for h in printed] == [h.id for h in found.hits], query
        assert {h["match"] for h in printed} <= {found.fallback or "all"}
    assert kb("search", "补卡 IPTV") == 0
    assert capsys.readouterr().out.startswith("No case has all of these words")


def test_cli_plain_search_marks_matches_and_prints_no_controls(store, editor, kb, capsys):
    knowledge.create_case(store, editor, case=case("\x1b]0;pwned\x07补卡 \x1b[2J失败", "补卡\r\n后无信号"))
    assert kb("search", "补卡") == 0
    out = capsys.readouterr().out
    assert "[补卡]" in out and not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)
    for query in HOSTILE:
        if strip_controls(query).strip():
            assert kb("search", "--", query) == 0
        else:
            with pytest.raises(InputError):
                kb("search", "--", query)


def test_cli_a_blank_search_is_one_line_and_exit_2(store, capsys):
    from agent_console.cli import main

    for query in ("", "  "):
        assert main(["kb", "search", query, "--db", store.url]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "must not be empty" in err


class _GoneReader(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [("export",), ("search", "欠费"), ("search", "欠费", "--json")])
def test_cli_output_stops_quietly_when_the_reader_goes(kb_store, kb, monkeypatch, argv):
    monkeypatch.setattr(sys, "stdout", _GoneReader())
    assert kb(*argv) == 0


def _agent_console() -> Path:
    return Path(sys.executable).with_name("agent-console")


def test_cli_end_to_end(store, tmp_path):
    from agent_console.services import auth

    auth.add_agent(store, None, code="adm", name="Admin", role="admin", pin="9999")
    exe, db_path = _agent_console(), store.url
    env = {**os.environ, "LANG": "C.UTF-8"}
    source = resources.files("agent_console.content").joinpath("kb_cases.jsonl")
    with resources.as_file(source) as path:
        result = subprocess.run([exe, "kb", "import", str(path), "--db", db_path, "--agent", "adm",
                                 "--pin-stdin"], input="9999\n", capture_output=True, text=True,
                                env=env)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([exe, "kb", "search", "断网", "--json", "--db", db_path],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0 and json.loads(result.stdout)
    for missing in (tmp_path / "none.jsonl", "/dev/zero"):
        result = subprocess.run([exe, "kb", "import", str(missing), "--db", db_path, "--agent",
                                 "adm", "--pin-stdin"], input="9999\n", capture_output=True,
                                text=True, env=env)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    # The reader closes the pipe before the export writes a byte.
    with subprocess.Popen([exe, "kb", "export", "--db", db_path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env) as export:
        export.stdout.close()
        assert export.wait(timeout=60) == 0 and export.stderr.read() == b""


def test_the_knowledge_base_never_loads_textual_or_sqlmodel():
    code = ("import sys, agent_console.services.knowledge, agent_console.services.kb_jsonl, "
            "agent_console.kb_cli\nprint(' '.join(sys.modules))")
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
    assert "textual" not in modules and "sqlmodel" not in modules
