"""The screens in Chinese at any size: every word from the catalogs, pastes kept clean and in
order, wide characters whole, text wrapped by the Chinese rules."""

from __future__ import annotations

import ast
from pathlib import Path

from textual import events
from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import Input, TextArea

from agent_console.screens.ticket_screen import TicketScreen, _describe
from agent_console.models.read import EventView
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
                for number in range(20):  # an edge every three cells: odd and even places
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
