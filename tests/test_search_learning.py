"""Search that finds what agents mean (synonyms, stems, one-character words, why a hit
matched) and the classifier learning from agents' overrides (proposals, a person's yes)."""

from __future__ import annotations

import io
import json
import re
import sys
from importlib import resources

import pytest

from agent_console import cli
from agent_console.db import to_db
from agent_console.models.kb import CaseCreate, Fallback
from agent_console.models.vocab import EventKind
from agent_console.services import cjk, knowledge, learning, site, synonyms
from agent_console.services.catalog import load_catalog
from agent_console.services.classifier import default_classifier
from agent_console.services.store import InputError, Refused

from .conftest import actor_for, make_store


def case(title: str, symptoms: str = "symptoms", **more: object) -> CaseCreate:
    return CaseCreate(**{"cause": "cause", "resolution": "resolution", "title": title,
                         "symptoms": symptoms, **more})


def records(store, action: str) -> list[tuple[str, str, dict]]:
    with store.read() as tx:
        rows = tx.all("SELECT agent_code, target, detail FROM audit_log WHERE action = ? "
                      "ORDER BY id", (action,))
    return [(agent, target, json.loads(detail)) for agent, target, detail in rows]


@pytest.fixture
def editor(store):
    return actor_for(store, "s900", role="supervisor")


def ids(found) -> list[int]:
    return [hit.id for hit in found.hits]


# --- stems ---------------------------------------------------------------------------------

@pytest.mark.parametrize("words", [("charge", "charges", "charged", "charging"),
                                   ("cancel", "cancels", "cancelled", "cancelling", "canceled"),
                                   ("router", "routers"), ("install", "installed", "installing"),
                                   ("battery", "batteries")])
def test_forms_of_a_word_share_a_stem(words):
    assert len({cjk.stem(word) for word in words}) == 1


def test_codes_and_numbers_are_indexed_as_written():
    assert cjk.index_text("LOS loss 691 1302 PPPoE IPTV APN ONT") == \
        "los loss 691 1302 pppoe iptv apn ont"


def test_any_form_of_an_english_word_finds_the_case(store, editor):
    charged = knowledge.create_case(store, editor, case=case("Customer charged twice for roaming"))
    cancel = knowledge.create_case(store, editor, case=case("Cancelling a ringback tone"))
    knowledge.create_case(store, editor, case=case("LOS light red", "loss of signal"))
    for query in ("charge", "charges", "CHARGED", "charging"):
        assert ids(knowledge.find_cases(store, query=query)) == [charged.id], query
    for query in ("cancel", "cancelled", "cancels"):
        assert ids(knowledge.find_cases(store, query=query)) == [cancel.id], query
    found = knowledge.find_cases(store, query="charges")
    assert found.hits[0].title_marks == ((9, 16),)  # "charged" marked whole
    assert len(knowledge.find_cases(store, query="LOS").hits) == 1


# --- synonyms ------------------------------------------------------------------------------

def test_a_synonym_finds_the_case_after_the_exact_word(store, editor):
    exact = knowledge.create_case(store, editor, case=case("光猫断网", "LOS 灯红"))
    slang = knowledge.create_case(store, editor, case=case("家里上不了网", "宽带用不了"))
    english = knowledge.create_case(store, editor, case=case("No internet after the storm"))
    knowledge.create_case(store, editor, case=case("IPTV 黑屏", "机顶盒认证失败"))
    found = knowledge.find_cases(store, query="断网")
    assert found.fallback == Fallback.NONE
    assert ids(found)[0] == exact.id and set(ids(found)) == {exact.id, slang.id, english.id}
    why = {hit.id: hit.matched for hit in found.hits}
    assert why[exact.id] == (("断网", "断网"),)
    assert why[slang.id] == (("断网", "上不了网"),)
    assert why[english.id] == (("断网", "no internet"),)
    # and the other way round: the English word finds the Chinese cases after the English one
    found = knowledge.find_cases(store, query="no internet")
    assert ids(found)[0] == english.id and set(ids(found)) == {exact.id, slang.id, english.id}


def test_synonyms_join_with_the_other_words_of_a_query(store, editor):
    modem = knowledge.create_case(store, editor, case=case("Modem restarts every afternoon"))
    knowledge.create_case(store, editor, case=case("光猫 LOS 灯红"))
    found = knowledge.find_cases(store, query="光猫 restarts")
    assert ids(found) == [modem.id]
    assert ("光猫", "modem") in found.hits[0].matched


def test_a_site_adds_synonyms_in_the_store_audited(store, editor):
    fix = knowledge.create_case(store, editor, case=case("小区光交箱被撞坏", "整栋楼宽带中断"))
    assert knowledge.find_cases(store, query="大面积故障").hits == ()
    with pytest.raises(Refused):
        synonyms.add_group(store, actor_for(store, "a001"), words=["大面积故障", "光交箱"])
    with pytest.raises(InputError):
        synonyms.add_group(store, editor, words=["大面积故障"])
    group = synonyms.add_group(store, editor, words=["大面积故障", "光交箱"])
    assert group == ("大面积故障", "光交箱")
    assert ids(knowledge.find_cases(store, query="大面积故障")) == [fix.id]
    [(agent, target, detail)] = records(store, "policy_change")
    assert (agent, target, detail["added"]) == ("s900", "policy:synonyms", ["大面积故障", "光交箱"])
    # the shipped file is untouched; the document is the site's, exported like any policy
    assert "大面积故障" not in synonyms.shipped_text()
    assert "大面积故障" in site.export_document(store, editor, kind="synonyms")


def test_a_bad_synonyms_document_is_refused(store, editor):
    with pytest.raises(InputError):
        site.import_document(store, editor, kind="synonyms", text="[[group]]\nwords = [1]\n")


# --- one-character words -------------------------------------------------------------------

def test_a_one_character_field_word_finds_cases_after_longer_matches(store, editor):
    arrears = knowledge.create_case(store, editor, case=case("欠费停机", "余额不足"))
    sim = knowledge.create_case(store, editor, case=case("SIM 卡损坏", "换一张"))
    knowledge.create_case(store, editor, case=case("IPTV 黑屏", "机顶盒认证失败"))
    found = knowledge.find_cases(store, query="欠费的卡")
    assert found.fallback == Fallback.PIECES
    assert ids(found) == [arrears.id, sim.id]
    assert found.hits[1].matched == (("卡", "卡"),)
    assert ids(knowledge.find_cases(store, query="卡")) == [sim.id]


# --- the index is rebuilt when its tokens change ------------------------------------------

@pytest.mark.uses_store
def test_an_older_index_is_rebuilt_when_the_store_opens(tmp_path, clock):
    store = make_store(tmp_path / "s.db", clock)
    editor = actor_for(store, "s900", role="supervisor")
    charged = knowledge.create_case(store, editor, case=case("Customer charged twice"))
    if store.is_sqlite:
        with store.write() as tx:  # as a version 1 store: unstemmed tokens
            tx.execute("INSERT INTO kb_fts (kb_fts) VALUES ('delete-all')")
            tx.execute("INSERT INTO kb_fts (rowid, title, body, meta) VALUES (?, ?, ?, ?)",
                       (charged.id, "customer charged twice", "symptoms cause resolution", "k"))
            tx.execute("UPDATE store_meta SET value = '1' WHERE key = ?", (knowledge.INDEX_META,))
        assert knowledge.search(store, query="charges") == []
    else:
        with store.write() as tx:  # as PostgreSQL's first format: tokens without counts
            tx.execute("DROP TABLE kb_token")
            tx.execute("DROP TABLE kb_doc")
            tx.execute("CREATE TABLE kb_doc (case_id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
                       "body TEXT NOT NULL, category VARCHAR NOT NULL, retired SMALLINT NOT NULL, "
                       "size INTEGER NOT NULL)")
            tx.execute("CREATE TABLE kb_token (token VARCHAR NOT NULL, case_id INTEGER NOT NULL "
                       "REFERENCES kb_doc (case_id) ON DELETE CASCADE, PRIMARY KEY (token, case_id))")
            tx.execute("UPDATE store_meta SET value = ? WHERE key = ?",
                       (cjk.INDEX_VERSION, knowledge.INDEX_META))
    store = make_store(tmp_path / "s.db", clock)
    assert [hit.id for hit in knowledge.search(store, query="charges")] == [charged.id]
    assert knowledge.ensure_index(store) == 0  # current now: nothing to do


# --- the classifier learns from overrides --------------------------------------------------

POINTS = ["积分兑换的东西一直没收到", "我的积分怎么清零了", "积分兑换不了话费", "查一下积分还剩多少"]


def plant(store, texts: list[str], chosen: str) -> list[str]:
    """Tickets whose agent chose `chosen` over what the rules proposed."""
    with store.write() as tx:
        rows = tx.all("SELECT id, number FROM ticket ORDER BY id LIMIT ?", (len(texts),))
        for (ticket_id, _), text in zip(rows, texts):
            proposed = default_classifier().classify(text).category
            tx.execute("UPDATE ticket SET description = ? WHERE id = ?", (text, ticket_id))
            tx.execute("INSERT INTO ticket_event (ticket_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                       (ticket_id, to_db(tx.now), EventKind.CLASSIFIED, json.dumps(
                           {"proposed": {"category": proposed}, "chosen": {"category": chosen},
                            "overridden": ["category"]})))
    return [number for _, number in rows]


def test_overrides_become_proposals_with_their_evidence(demo_store):
    supervisor = actor_for(demo_store, "s900")
    numbers = plant(demo_store, POINTS, "vas")
    changes = learning.proposals(demo_store, supervisor)
    first = changes[0]
    assert (first.kind, first.category, first.word) == ("keyword", "vas", "积分")
    assert set(first.tickets) == set(numbers)
    assert first.total == len(learning.labelled()) and first.broken <= first.fixed
    with pytest.raises(Refused):
        learning.proposals(demo_store, actor_for(demo_store, "a001"))


def test_only_an_accepted_proposal_changes_the_rules_and_only_in_the_store(demo_store, tmp_path):
    supervisor = actor_for(demo_store, "s900")
    plant(demo_store, POINTS, "vas")
    assert learning.classifier_for(demo_store).classify("积分清零了").category is None
    change = learning.proposals(demo_store, supervisor)[0]
    with pytest.raises(Refused):
        learning.accept(demo_store, actor_for(demo_store, "a001"), change=change)
    learning.accept(demo_store, supervisor, change=change)
    assert learning.classifier_for(demo_store).classify("积分清零了").category == "vas"
    assert default_classifier().classify("积分清零了").category is None  # shipped rules as they were
    [(agent, target, detail)] = records(demo_store, "policy_change")
    assert (agent, target, detail["accepted"]) == ("s900", "policy:classifier_rules", change.id)
    assert "积分" in detail["after"] and "积分" not in detail["before"]
    assert all(c.id != change.id for c in learning.proposals(demo_store, supervisor))


def test_a_rejected_proposal_is_not_made_again(demo_store):
    supervisor = actor_for(demo_store, "s900")
    plant(demo_store, POINTS, "vas")
    change = learning.proposals(demo_store, supervisor)[0]
    learning.reject(demo_store, supervisor, change_id=change.id)
    assert all(c.id != change.id for c in learning.proposals(demo_store, supervisor))
    assert learning.classifier_for(demo_store).classify("积分清零了").category is None
    assert records(demo_store, "classifier_reject")[0][2] == {"rejected": change.id}


def test_no_overrides_no_proposals(demo_store):
    assert learning.proposals(demo_store, actor_for(demo_store, "s900")) == []


def _cli(store, monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("3333\n"))
    code = cli.main(["classify", "--db", store.url, "--agent", "s900", "--pin-stdin", *args])
    return code, capsys.readouterr().out


def test_the_cli_accepts_and_rejects_by_id(demo_store, monkeypatch, capsys):
    plant(demo_store, POINTS, "vas")
    change = learning.proposals(demo_store, actor_for(demo_store, "s900"))[0]
    code, out = _cli(demo_store, monkeypatch, capsys, "--accept", change.id)
    assert code == 0 and f"Accepted {change.id}" in out and "积分" in out
    assert learning.classifier_for(demo_store).classify("积分清零了").category == "vas"
    code, out = _cli(demo_store, monkeypatch, capsys, "--accept", "00000000")
    assert code == 2


def test_the_cli_asks_for_each_proposal(demo_store, monkeypatch):
    from types import SimpleNamespace

    from agent_console.classify_cli import run_learn

    from .conftest import settings_for

    plant(demo_store, POINTS, "vas")
    monkeypatch.setattr(sys, "stdin", io.StringIO("3333\n"))
    args = SimpleNamespace(learn=True, accept=None, reject=None, since=None, agent="s900",
                           pin_stdin=True)
    supervisor = actor_for(demo_store, "s900")
    asked = {change.id for change in learning.proposals(demo_store, supervisor)}
    answers = iter(["n"] * 20)
    assert run_learn(args, demo_store, settings_for(demo_store), ask=lambda _: next(answers)) == 0
    assert not asked & {change.id for change in learning.proposals(demo_store, supervisor)}
    assert learning.classifier_for(demo_store).classify("积分清零了").category is None


# --- the n-gram model, when no rule knows the words --------------------------------------

def test_the_ngram_model_guesses_only_where_no_rule_fires_and_says_why():
    from agent_console.services.classifier import Classifier
    from agent_console.services.ngram import trained_model

    rules = default_classifier()
    both = Classifier(rules.rules, rules.catalog, trained_model())
    text = "帮我查下这个月用了多少"
    assert rules.classify(text).category is None
    proposal = both.classify(text)
    assert proposal.category == "billing" and proposal.confidence == 0.3
    [reason] = proposal.reasons_for("category")
    assert reason.rule == "ngram" and reason.hits
    assert all(text[h.start:h.end] == h.text for h in reason.hits)
    for ruled in ("客服说话很冲", "收不到短信了", "电视节目看着看着就卡住"):  # rules decide
        assert both.classify(ruled) == rules.classify(ruled)


# --- the knowledge-base screen ---------------------------------------------------------------

async def test_the_screen_says_why_and_a_supervisor_adds_synonyms(demo_store):
    from textual.widgets import Input

    from agent_console.screens.knowledge_screen import KnowledgeScreen
    from agent_console.screens.reason_screen import ReasonScreen
    from agent_console.widgets.case_list import CaseList

    from .conftest import Dispatched, app_for, settle, wait_until

    app = app_for(demo_store, lang="en", agent="s900")
    dispatched = Dispatched()
    async with app.run_test(size=(120, 40), message_hook=dispatched) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press(*"上不了网")
        await dispatched.wait_for(KnowledgeScreen.HitsLoaded, lambda m: m.query == "上不了网")
        screen = app.screen
        await wait_until(lambda: screen.case is not None, what="a case shown")
        why = await wait_until(lambda: screen._why(screen.case.id), what="why it matched")
        assert why.plain.startswith("Matched: 上不了网")
        await pilot.press("down")
        await pilot.press("y")
        await wait_until(lambda: isinstance(app.screen, ReasonScreen), what="the synonyms dialog")
        app.screen.query_one(Input).value = "大面积故障 / 光交箱"
        await pilot.press("enter")
        await wait_until(lambda: synonyms.table_from(
            site.export_document(demo_store, actor_for(demo_store, "s900"), kind="synonyms"))
            .group_of("光交箱") == ("大面积故障", "光交箱"), what="the group saved")
        assert isinstance(app.screen, KnowledgeScreen) and screen.query_one(CaseList)


# --- the n-gram model learns from the training set and decides where the rules hesitate -------

def _shipped(name: str):
    from agent_console.classify_cli import read_examples

    with resources.as_file(resources.files("agent_console.content").joinpath(name)) as path:
        return read_examples(path, categories=load_catalog().categories)


def _same(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def test_the_training_and_val_sets_load_and_are_bilingual_and_cover_every_category():
    train, val = _shipped("classifier_train.jsonl"), _shipped("classifier_val.jsonl")
    assert len(train) >= 400 and len(val) >= 100
    assert {e.split for e in train} == {"train"} and {e.split for e in val} == {"val"}
    categories = set(load_catalog().categories)
    for examples in (train, val):
        assert {e.category for e in examples} == categories
        chinese = sum(bool(re.search("[\u4e00-\u9fff]", e.text)) for e in examples)
        assert 0.6 <= chinese / len(examples) < 0.95  # mostly Chinese, some English
        billing_area = sum(e.category in ("billing", "plan_dispute", "vas") for e in examples)
        assert billing_area / len(examples) > 0.3  # the weight is on billing and its neighbours


def test_no_train_or_val_line_repeats_a_labelled_line():
    eval_rows = _shipped("classifier_eval.jsonl")
    train, val = _shipped("classifier_train.jsonl"), _shipped("classifier_val.jsonl")
    heldout = {_same(e.text) for e in eval_rows if e.split == "heldout"}
    trained = [_same(e.text) for e in train]
    assert len(set(trained)) == len(trained)
    assert not set(trained) & heldout
    assert not set(trained) & {_same(e.text) for e in val}
    assert not {_same(e.text) for e in val} & heldout


def test_the_model_trains_on_dev_and_train_only():
    from agent_console.services.ngram import trained_model

    eval_rows = _shipped("classifier_eval.jsonl")
    dev = sum(e.split == "dev" for e in eval_rows)
    assert sum(trained_model().docs.values()) == dev + len(_shipped("classifier_train.jsonl"))


class _Sure:
    """A model that is sure of one category, with one n-gram as its evidence."""

    def __init__(self, category: str, ngram: str, margin: float = 9.0) -> None:
        self.category, self.ngram, self.margin = category, ngram, margin

    def guess(self, folded: str):
        from agent_console.services.ngram import Guess

        start = folded.find(self.ngram)
        evidence = ((self.ngram, start, start + len(self.ngram)),) if start >= 0 else ()
        return Guess(self.category, self.margin, evidence)


def test_the_model_decides_only_between_the_categories_of_hesitating_rules_and_says_why():
    from agent_console.services.classifier import NGRAM_DECIDED, Classifier

    rules = default_classifier()
    text = "手机卡丢了要补卡，身份证在身上"  # device (补卡) against account_info (身份证)
    alone = rules.classify(text)
    assert alone.category == "account_info"
    proposal = Classifier(rules.rules, rules.catalog, _Sure("device", "补卡")).classify(text)
    assert proposal.category == "device" and proposal.department == "marketing"
    first, *others = proposal.reasons_for("category")
    assert (first.rule, first.target) == (NGRAM_DECIDED, "device")
    assert [text[h.start:h.end] for h in first.hits] == ["补卡"]  # the n-grams, where they are
    assert others and all(r.target == "device" and r.weight > 0 for r in others)  # the rule words
    assert 0 < proposal.confidence < alone.confidence
    # Not a category no rule proposed, nor a guess short of sure, nor against a clear rule lead.
    for model in (_Sure("billing", "补卡"), _Sure("device", "补卡", margin=1.0)):
        assert Classifier(rules.rules, rules.catalog, model).classify(text) == alone
    clear = "家里宽带断网，光猫红灯"
    assert Classifier(rules.rules, rules.catalog, _Sure("iptv", "宽带")).classify(clear) == \
        rules.classify(clear)


def test_the_trained_model_fixes_a_hesitation_of_the_rules():
    from agent_console.services.classifier import NGRAM_DECIDED, Classifier
    from agent_console.services.ngram import trained_model

    rules = default_classifier()
    both = Classifier(rules.rules, rules.catalog, trained_model())
    proposal = both.classify("手机卡丢了要补卡，身份证在身上")
    assert proposal.category == "device"
    assert proposal.reasons_for("category")[0].rule == NGRAM_DECIDED
