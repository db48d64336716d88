"""The screens in Chinese at any size: every word from the catalogs, pastes kept clean and in
order, wide characters whole, text wrapped by the Chinese rules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import Input, TextArea

from agent_console.models.read import EventView
from agent_console.screens.ticket_screen import TicketScreen, _describe
from agent_console.services import tickets
from agent_console.widgets.pasting import PasteFilter, prepare_paste
from agent_console.widgets.ticket_table import TicketTable

from .conftest import actor_for, app_for, settle, wait_until

SRC = Path(__file__).parent.parent / "src" / "agent_console"


# --- 1. every string from the catalogs ------------------------------------------------------

def test_every_select_has_a_prompt_from_the_catalog():
    """Textual's own prompt is the English word "Select": every Select names its own."""
    missing = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func.value if isinstance(node.func, ast.Subscript) else node.func
                if getattr(func, "id", "") == "Select" and not any(
                        k.arg == "prompt" for k in node.keywords):
                    missing.append(f"{path.name}:{node.lineno}")
    assert not missing


async def test_the_palette_speaks_chinese(demo_store):
    app = app_for(demo_store, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await wait_until(lambda: isinstance(app.screen, CommandPalette))
        assert app.screen.query_one(CommandInput).placeholder == "搜索命令…"
        await pilot.press(*"zzzqqq")

        def no_match() -> str:
            options = app.screen.query_one(CommandList)
            return "".join(str(options.get_option_at_index(i).prompt.renderable)
                           for i in range(options.option_count)
                           if options.get_option_at_index(i).disabled)
        assert "没有匹配的命令" in await wait_until(no_match)
        await pilot.press("escape")


def _event(kind: str, **detail) -> EventView:
    from datetime import datetime, timezone

    return EventView(at=datetime(2026, 1, 1, tzinfo=timezone.utc), kind=kind,
                     agent_name="", detail=detail)


def test_timeline_shows_catalog_names_not_codes(demo_store):
    from agent_console.i18n import set_language

    set_language("zh")
    try:
        catalog = demo_store.catalog
        names = {"department": {d.code: d.name("zh") for d in catalog.departments.values()},
                 "category": {c.code: c.name("zh") for c in catalog.categories.values()}}
        line = _describe(_event("classified", chosen={"category": "plan_dispute",
                                                      "work_type": "complaint",
                                                      "grade": "urgent"}), names)
        assert "plan_dispute" not in line and "complaint" not in line and "urgent" not in line
        assert catalog.categories["plan_dispute"].name_zh in line and "投诉" in line
        assert "网络部" in _describe(_event("assigned", department="network"), names)
        assert "处理中" in _describe(_event("status_changed", **{"from": "new",
                                                                 "to": "in_progress"}), names)
    finally:
        set_language("en")


def test_a_follow_up_is_stored_in_no_language(demo_store):
    from agent_console.services import intake

    with demo_store.write(actor_for(demo_store, "a001")) as tx:
        parent = dict(tx.one("SELECT * FROM ticket ORDER BY id LIMIT 1")._mapping)
        created = intake._open_follow_up(tx, parent, "客户仍不满意")
    detail = tickets.ticket_detail(demo_store, actor_for(demo_store, "s900"),
                                   ticket_id=created.id)
    assert "Follow-up" not in detail.description and "二次回访" not in detail.description
    assert parent["number"] in detail.description and "客户仍不满意" in detail.description


# --- 8. pastes -------------------------------------------------------------------------------

def _parsed(*chunks: str) -> list:
    from textual._xterm_parser import XTermParser

    parser, pastes = XTermParser(), PasteFilter()
    return [e for chunk in chunks for e in parser.feed(pastes(chunk))]


def test_a_paste_with_escapes_arrives_whole_clean_and_in_order():
    body = "P1: 断网\x1b[31mP2: 红字\x1b[0m \u202eevil\r\nP3"
    events_ = _parsed(f"\x1b[200~{body}\x1b[201~")
    assert [type(e).__name__ for e in events_] == ["Paste"]
    assert events_[0].text == "P1: 断网P2: 红字 evil\nP3"
    # split anywhere across reads, markers included, the same comes out
    raw = f"a\x1b[200~{body}\x1b[201~b"
    for cut in range(1, len(raw)):
        got = _parsed(raw[:cut], raw[cut:])
        assert [getattr(e, "text", getattr(e, "character", None)) for e in got] == \
            ["a", "P1: 断网P2: 红字 evil\nP3", "b"], cut


def test_a_lone_escape_key_is_not_held_back():
    from textual._xterm_parser import XTermParser

    pastes = PasteFilter()
    assert pastes("\x1b") == "\x1b"
    assert pastes("x") == "x"
    assert XTermParser  # the parser itself decides when ESC alone is the Escape key


async def test_every_text_field_takes_pastes_clean(demo_store):
    app = app_for(demo_store, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        search = app.screen.query_one("#queue-search", Input)
        search.focus()
        await pilot.pause()
        app.post_message(events.Paste("P1 \x1b[31m红\u202eP2:"))
        await wait_until(lambda: search.value)
        assert search.value == "P1 红P2:"
        search.value = ""
        app.post_message(events.Paste("长" * 500))
        await wait_until(lambda: search.value)
        assert search.value == "长" * 200
        assert any("200" in n.message for n in app._notifications)
        await pilot.press("enter")
        await settle(app, pilot)


def test_prepare_paste_keeps_lines_for_text_areas():
    area = TextArea()
    assert prepare_paste(area, "a\x1b[1mb\r\nc\u202e") == ("ab\nc", None)


# --- 2. wide characters whole where widgets overlap --------------------------------------------

def _overlap_app():
    from textual.app import App
    from textual.containers import Horizontal
    from textual.widgets import Static

    class Overlap(App[None]):
        CSS = """
        Screen { layers: base above; }
        #under Static { width: 3; height: 3; }
        #over { layer: above; offset: 1 1; width: 40; height: 1; background: red; }
        """

        def compose(self):
            with Horizontal(id="under"):
                for _number in range(20):  # an edge every three cells: odd and even places
                    yield Static("甲乙丙丁" * 2)
            yield Static("受理内容已保存为草稿，未查到订购记录", id="over")

    return Overlap()


async def test_a_widget_over_others_keeps_its_wide_characters_whole():
    from agent_console.widgets import whole_cells

    assert whole_cells.install(), "Textual is no longer 8.2.8: check WholeCellCompositor"
    app = _overlap_app()
    async with app.run_test(size=(60, 6)) as pilot:
        await pilot.pause()
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        assert "受理内容已保存为草稿，未查到订购记录" in lines[1]


async def test_the_footer_keeps_the_palette_key_whole_at_80_columns(demo_store):
    app = app_for(demo_store, lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        bottom = app.screen._compositor.render_strips()[-1].text
        assert "命令面板" in bottom


# --- 5/6. checklist labels wrap; a tick reads without colour ---------------------------------

def _screen_text(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("width", [120, 80, 44])
async def test_a_checklist_item_wraps_and_says_its_state(width):
    from textual.app import App

    from agent_console.widgets.script_panel import ScriptPanel, StepView

    label = ("已向客户说明：本次故障由光纤线路中断引起，预计修复时间为今晚八点前，"
             "修复后将以短信通知，并已登记回访电话。Ticket P2: notify by SMS.")

    class One(App[None]):
        def compose(self):
            yield ScriptPanel(id="panel")

        async def on_mount(self) -> None:
            await self.query_one(ScriptPanel).show(StepView(
                heading="受理", say=(), checklist=(("told", label, True, False),),
                fields=(), hints=""))

    app = One()
    async with app.run_test(size=(width, 20)) as pilot:
        await pilot.pause()
        box = app.query_one("#tick-told")
        await wait_until(lambda: box.size.height > 0)
        shown = "".join(line.strip() for line in _screen_text(app))
        assert "[ ]" in shown and "[x]" not in shown
        def bare(text: str) -> str:  # the words alone: no spaces, no box edges at line ends
            return re.sub(r"[\s\u00a0▎▊]", "", text)

        assert bare(label) in bare(shown)  # whole, never cut
        box.value = True
        await pilot.pause()
        shown = "".join(_screen_text(app))
        assert "[x]" in shown and "[ ]" not in shown


# --- 3/4. the timeline: time and text on one row, later rows under the text; long notes fold ---

LONG_NOTE = ("客户来电反映家中宽带每天晚上八点到十点之间频繁断线，已指导重启光猫和路由器，"
             "问题依旧。经查询，该小区上周进行过线路割接，疑似分光器端口松动。P2: 已与网络部"
             "值班人员确认，需要上门检查分光器及入户皮线，客户要求工程师周末上午上门，"
             "联系电话同登记号码。") * 2 + "最后一句只在全文里出现。"


@pytest.mark.parametrize(("lang", "size"), [("zh", (80, 24)), ("en", (120, 40)),
                                            ("zh", (120, 40)), ("en", (80, 24))])
async def test_a_long_note_keeps_the_timeline_in_columns_and_folds(demo_store, lang, size):
    from agent_console.screens.ticket_screen import NOTE_FOLD
    from agent_console.widgets.wrapped import Wrapped
    from agent_console.wrapping import NO_LINE_START

    app = app_for(demo_store, lang=lang, agent="a003")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        row = app.screen.query_one(TicketTable).current
        tickets.add_note(demo_store, actor_for(demo_store, "a003"), ticket_id=row.id,
                         text=LONG_NOTE)
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, TicketScreen) and app.screen.detail)
        await settle(app, pilot)
        events = app.screen.query_one("#ticket-events", Wrapped)
        width = events.content_size.width
        rows = events.rows(width).plain.split("\n")
        start = next(i for i, r in enumerate(rows) if "客户来电反映" in r)
        time_part = rows[start][:13]
        assert time_part[:2].isdigit() and time_part.endswith("  ")  # time, then the text
        following = [r for r in rows[start + 1:] if r.startswith(" " * 13)]
        assert following, rows[start:start + 3]  # the later rows sit under the text
        assert not any(r[13:14] in NO_LINE_START for r in following)
        folded = "\n".join(rows)
        assert len(LONG_NOTE) > NOTE_FOLD + 20
        assert "最后一句只在全文里出现" not in folded.replace(" ", "")
        await pilot.press("o")
        await pilot.pause()
        whole = events.rows(width).plain.replace("\n", "").replace(" ", "")
        assert LONG_NOTE.replace(" ", "") in whole


# --- 5. the queue at 80 columns; the footer's keys --------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_queue_fits_80_columns_and_scrolls_sideways(demo_store, lang):
    from rich.cells import cell_len

    from agent_console.widgets.ticket_table import COLUMNS, DROP_ORDER, columns_for

    assert len(columns_for(120)) == len(COLUMNS)
    narrow = [c.key for c in columns_for(80)]
    assert set(DROP_ORDER[:2]).isdisjoint(narrow) and "time_left" in narrow and "number" in narrow
    app = app_for(demo_store, lang=lang, agent="a003")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(TicketTable)
        lines = _screen_text(app)
        header = next(line for line in lines if "▶" in line)
        assert cell_len(header) == 80
        row = table.current
        assert row.number in "".join(lines)
        for _ in range(len(COLUMNS)):
            await pilot.press("right")
        await pilot.pause()
        shown = "".join(_screen_text(app))
        assert "◀" in shown and "▶" not in shown  # scrolled to the last column
        from agent_console.i18n import label
        assert label("channel", row.channel) in shown
        for _ in range(len(COLUMNS)):
            await pilot.press("left")
        await pilot.pause()
        assert "◀" not in "".join(_screen_text(app))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_help_and_cases_keys_stay_in_the_footer(demo_store, lang, size):
    from agent_console.i18n import set_language, t

    app = app_for(demo_store, lang=lang, agent="a003")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for step in ("queue", "ticket", "back"):
            if step == "ticket":
                await pilot.press("enter")
                await wait_until(lambda: isinstance(app.screen, TicketScreen))
            elif step == "back":
                await pilot.press("escape")
            await settle(app, pilot)
            bottom = _screen_text(app)[-1]
            set_language(lang)
            assert f"f1 {t('key.help')}" in bottom, bottom
            assert f"f2 {t('key.knowledge')}" in bottom, bottom


async def test_the_intake_footer_keeps_its_order_between_steps(demo_store):
    from textual.widgets import TextArea

    app = app_for(demo_store, lang="zh", agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        screen = app.screen
        await pilot.press(*"13912345678", "tab", *"王建国")
        screen.query_one("#new-description", TextArea).text = "家里宽带断网，光猫 LOS 灯红"
        await wait_until(lambda: screen.proposal is not None)
        await settle(app, pilot)

        def order() -> list[str]:
            return [b.binding.key for b in screen.active_bindings.values() if b.binding.show]

        seen = []
        for key in ("f6", "f6", "tab", "f5"):
            await pilot.press(key)
            await settle(app, pilot)
            seen.append(order())
        common = set.intersection(*(set(keys) for keys in seen))
        assert len({tuple(k for k in keys if k in common) for keys in seen}) == 1, seen
        assert seen[0][0] == "f1" and "f2" in seen[0][:4]


# --- 7. the knowledge base -------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_search_that_finds_nothing_says_so(demo_store, lang):
    from agent_console.i18n import t
    from agent_console.screens.knowledge_screen import KnowledgeScreen
    from agent_console.widgets.case_list import CaseList

    app = app_for(demo_store, lang=lang, agent="a003")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await wait_until(lambda: isinstance(app.screen, KnowledgeScreen))
        await settle(app, pilot)
        cases = app.screen.query_one(CaseList)

        def says() -> str:
            return str(cases.get_option_at_index(0).prompt) if cases.option_count else ""
        await wait_until(lambda: says() == t("kb.type_to_search"))
        await pilot.press(*"qqxzzv")
        await wait_until(lambda: says() == t("kb.no_hits"), what="the no-match line")
        await pilot.press(*["backspace"] * 6)
        await wait_until(lambda: says() == t("kb.type_to_search"))


async def test_retire_and_restore_are_named_apart(demo_store):
    from agent_console.screens.knowledge_screen import KnowledgeScreen
    from agent_console.services import knowledge

    s900 = actor_for(demo_store, "s900")
    hit = knowledge.find_cases(demo_store, query="光猫", limit=1).hits[0]
    app = app_for(demo_store, lang="zh", agent="s900")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2", *"光猫")
        await wait_until(lambda: isinstance(app.screen, KnowledgeScreen)
                         and app.screen.case is not None and app.screen.case.id == hit.id)
        await pilot.press("down")
        await settle(app, pilot)
        assert "d 下线" in _screen_text(app)[-1] and "重新上线" not in _screen_text(app)[-1]
        knowledge.retire_case(demo_store, s900, case_id=hit.id, retired=True, reason="重复")
        app.screen.load_case(hit.id)
        await wait_until(lambda: app.screen.case.retired)
        await pilot.press("up", "down")
        await settle(app, pilot)
        assert "d 重新上线" in _screen_text(app)[-1]


async def test_a_case_shows_who_changed_it(demo_store):
    from agent_console.screens.knowledge_screen import KnowledgeScreen
    from agent_console.services import knowledge
    from agent_console.widgets.wrapped import Wrapped

    hit = knowledge.find_cases(demo_store, query="光猫", limit=1).hits[0]
    case = knowledge.get_case(demo_store, case_id=hit.id)
    knowledge.update_case(demo_store, actor_for(demo_store, "s900"), case_id=case.id,
                          changes={"cause": case.cause + "（补充：已复核）"})
    app = app_for(demo_store, lang="zh", agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2", *"光猫")
        await wait_until(lambda: isinstance(app.screen, KnowledgeScreen)
                         and app.screen.case is not None and app.screen.case.id == case.id)
        await settle(app, pilot)
        detail = app.screen.query_one("#kb-detail", Wrapped)
        text = detail.rows(200).plain
        assert f"撰写人 {case.author}" in text
        editor = next(line for line in text.split("\n") if "最近一次" in line)
        assert "s900" in editor or "Zhao" in editor or "赵" in editor, editor
