"""WallboardScreen: the supervisors' wallboard. Today, this week and this month against target
(or this month by team, department or channel), daily trends as sparklines, the tickets nearest
their deadline; Enter on any number lists the tickets behind it.

It reads again only when the store changed (its change feed, a local check), and repaints only
what changed, so nothing is sent to the terminal while nothing changes. States are written as
a mark (✓ ! ✗) as well as a colour, so 16 colours or none still read.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Sparkline, Static

from agent_console.i18n import current_language, t
from agent_console.kpi_cli import value_text
from agent_console.messages import OpenTicket
from agent_console.screens.context import ReportsWorkerErrors, ScreenContext, WatchesStore
from agent_console.services.kpi import KpiValue, Wallboard
from agent_console.text import clean_line, display_width
from agent_console.widgets.localized import localize_bindings

TREND_DAYS = 30
MARK = {"ok": "✓", "warn": "!", "bad": "✗", "none": " "}
STYLE = {"ok": "green", "warn": "yellow", "bad": "bold red", "none": ""}
VIEWS = ("periods", "team", "department", "channel")
LABEL_WIDTH = 16


def cell(value: KpiValue) -> Text:
    """A value with its state as a mark and a colour (the mark alone carries the meaning)."""
    return Text(f"{value_text(value.value, value.unit)} {MARK[value.state]}",
                style=STYLE[value.state], justify="right")


def span(minutes: int) -> str:
    """A short duration: minutes up to two hours, then hours, then days."""
    if minutes < 120:
        return t("wallboard.minutes", n=minutes)
    if minutes < 48 * 60:
        return t("wallboard.hours", n=minutes // 60)
    return t("wallboard.days", n=minutes // 1440)


def fit(text: str, width: int) -> str:
    """Cut to `width` terminal cells (Chinese characters take two) and pad to it."""
    out, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * (width - used)


class WallboardScreen(WatchesStore):
    DEFAULT_CSS = """
    WallboardScreen #wb-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    WallboardScreen #wb-table { height: auto; max-height: 16; }
    WallboardScreen #wb-lower { height: 1fr; }
    WallboardScreen #wb-trends { width: 1fr; height: 1fr; }
    WallboardScreen .wb-trend { height: 1; }
    WallboardScreen .wb-trend-label { width: 16; height: 1; }
    WallboardScreen .wb-trend Sparkline { width: 1fr; height: 1; }
    WallboardScreen #wb-near-box { width: 38; height: 1fr; }
    WallboardScreen #wb-near { height: 1fr; }
    WallboardScreen .wb-heading { height: 1; text-style: bold; }
    WallboardScreen #wb-status { height: 1; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("v", "next_view", "View", id="wb-view"),
        Binding("m", "monthly", "Monthly", id="monthly-report"),
        Binding("r", "refresh", "Refresh", id="wb-refresh", show=False),
    ]

    class Loaded(Message):
        def __init__(self, board: Wallboard, unacked: int) -> None:
            super().__init__()
            self.board, self.unacked = board, unacked

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.board: Wallboard | None = None
        self.unacked = 0
        self.view = "periods"
        self.cells: dict[tuple[str, str], KpiValue] = {}
        self._shown: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="wb-title")
        table: DataTable[Any] = DataTable(id="wb-table", cursor_type="cell", zebra_stripes=False)
        yield table
        with Horizontal(id="wb-lower"):
            with VerticalScroll(id="wb-trends"):
                yield Static(t("wallboard.trend", days=TREND_DAYS), classes="wb-heading",
                             id="wb-trend-heading")
            with Vertical(id="wb-near-box"):
                yield Static(classes="wb-heading", id="wb-near-heading")
                near: DataTable[Any] = DataTable(id="wb-near", cursor_type="row")
                yield near
        yield Static(t("wallboard.loading"), id="wb-status")
        yield Footer()

    def on_mount(self) -> None:
        self._set("wb-title", t("wallboard.title"))
        near = self.query_one("#wb-near", DataTable)
        near.add_columns(t("report.ticket"), t("report.grade"), t("report.due"))
        self.load()
        self.open_feed()
        self.set_interval(self.ctx.settings.refresh_seconds, self.poll_store)

    def _set(self, widget_id: str, text: str) -> None:
        """Repaint a line only when its text changed."""
        if self._shown.get(widget_id) != text:
            self._shown[widget_id] = text
            self.query_one(f"#{widget_id}", Static).update(Content(text))

    # --- data ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="wallboard-load")
    def load(self) -> None:
        from agent_console.services import handover, kpi

        board = kpi.wallboard(self.ctx.store, self.ctx.actor, trend_days=TREND_DAYS)
        unacked = sum(len(h.unacknowledged)
                      for h in handover.unacknowledged(self.ctx.store, self.ctx.actor))
        self.post_message(self.Loaded(board, unacked))

    def reload(self) -> None:
        self.load()

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.board, self.unacked = event.board, event.unacked
        self._show()

    # --- drawing ------------------------------------------------------------------------------

    def _show(self) -> None:
        board = self.board
        if board is None:
            return
        self._show_table(board)
        self._show_trends(board)
        self._show_near(board)
        now = self.ctx.store.clock.now().astimezone(self.ctx.zone).strftime("%Y-%m-%d %H:%M")
        status = t("wallboard.updated", at=now)
        if self.unacked:
            status += "   " + t("wallboard.unacked", count=self.unacked)
        self._set("wb-status", status)

    def _show_table(self, board: Wallboard) -> None:
        table = self.query_one("#wb-table", DataTable)
        keep = table.cursor_coordinate
        table.clear(columns=True)
        self.cells = {}
        table.add_column(t("kpi.name"), key="name")
        if self.view == "periods":
            columns = [("today", t("wallboard.today")), ("week", t("wallboard.week")),
                       ("month", t("wallboard.month"))]
            for key, title in columns:
                table.add_column(title, key=key)
            table.add_column(t("wallboard.target"), key="target")
            for row, kpi_def in enumerate(board.periods[0].values):
                cells: list[Any] = [t(f"kpi.label.{kpi_def.name}")]
                for (key, _), period in zip(columns, board.periods):
                    value = period.values[row]
                    self.cells[(kpi_def.name, key)] = value
                    cells.append(cell(value))
                cells.append(Text(value_text(kpi_def.target, kpi_def.unit), justify="right"))
                table.add_row(*cells, key=kpi_def.name)
        else:
            found = board.breakdown.get(self.view, {})
            keys = list(found)
            for key in keys:
                table.add_column(self._dim_name(key), key=key)
            names = [v.name for v in board.periods[0].values]
            for row, name in enumerate(names):
                cells = [t(f"kpi.label.{name}")]
                for key in keys:
                    value = found[key][row]
                    self.cells[(name, key)] = value
                    cells.append(cell(value))
                table.add_row(*cells, key=name)
        if keep.row < table.row_count and keep.column < len(table.columns):
            table.cursor_coordinate = keep
        heading = t("wallboard.by", dim=t(f"wallboard.dim_{self.view}")) \
            if self.view != "periods" else t("wallboard.title")
        self._set("wb-title", heading)

    def _dim_name(self, key: str) -> str:
        lang = current_language()
        if self.view == "department":
            found = self.ctx.store.catalog.departments.get(key)
            return found.name(lang) if found else key
        if self.view == "channel":
            return t(f"channel.{key}")
        return clean_line(key)

    def _show_trends(self, board: Wallboard) -> None:
        box = self.query_one("#wb-trends", VerticalScroll)
        for name, values in board.trends.items():
            row_id = f"wb-trend-{name}"
            found = box.query(f"#{row_id}")
            latest = values[-1] if values else 0.0
            label = fit(t(f"kpi.label.{name}"), LABEL_WIDTH - 1) + " "
            if found:
                spark = found.first().query_one(Sparkline)
                if list(spark.data or []) != list(values):
                    spark.data = list(values)
                continue
            box.mount(Horizontal(Static(label, classes="wb-trend-label"),
                                 Sparkline(list(values), summary_function=max),
                                 id=row_id, classes="wb-trend"))
            del latest

    def _show_near(self, board: Wallboard) -> None:
        near = self.query_one("#wb-near", DataTable)
        self._set("wb-near-heading", t("wallboard.near_breach", count=len(board.near_breach)))
        rows = [(str(r["id"]), r["number"], t(f"grade.{r['grade']}"),
                 t("wallboard.due_in", time=span(r["minutes"])) if r["minutes"] >= 0
                 else t("wallboard.overdue_by", time=span(-r["minutes"])))
                for r in board.near_breach]
        if self._shown.get("near-rows") == rows:
            return
        self._shown["near-rows"] = rows
        # Columns as wide as what they hold, set here: a table sizing itself when next idle
        # was caught now and then showing header-wide columns ("T261", "超26").
        labels = (t("report.ticket"), t("report.grade"), t("report.due"))
        near.clear(columns=True)
        for index, label in enumerate(labels):
            near.add_column(label, width=max([display_width(label),
                                              *(display_width(r[index + 1]) for r in rows)]))
        for key, *cells in rows:
            near.add_row(*cells, key=key)

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss(None)

    def action_next_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        if self.board is not None:
            self._show_table(self.board)

    def action_refresh(self) -> None:
        self.load()

    def action_monthly(self) -> None:
        from agent_console.screens.report_screen import ReportScreen

        self.app.push_screen(ReportScreen(self.ctx))

    @on(DataTable.CellSelected, "#wb-table")
    def _drill(self, event: DataTable.CellSelected) -> None:
        name = str(event.cell_key.row_key.value)
        column = str(event.cell_key.column_key.value)
        value = self.cells.get((name, column))
        if value is None:
            return
        period = {"today": t("wallboard.today"), "week": t("wallboard.week"),
                  "month": t("wallboard.month")}.get(column, self._dim_name(column))
        title = t("wallboard.drill", kpi=t(f"kpi.label.{name}"), period=period,
                  count=len(value.base))
        self.app.push_screen(DrillScreen(self.ctx, title, value))

    @on(DataTable.RowSelected, "#wb-near")
    def _open_near(self, event: DataTable.RowSelected) -> None:
        self.post_message(OpenTicket(int(str(event.row_key.value))))


class DrillScreen(ReportsWorkerErrors, ModalScreen[None]):
    """The tickets behind one number: those counted marked ✓, the rest of the base after."""

    DEFAULT_CSS = """
    DrillScreen { align: center middle; }
    DrillScreen #drill-box { width: 90%; height: 90%; border: round $primary; background: $panel; }
    DrillScreen #drill-title { height: auto; text-style: bold; padding: 0 1; }
    DrillScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="close")]

    class Rows(Message):
        def __init__(self, rows: list[dict[str, Any]]) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, ctx: ScreenContext, title: str, value: KpiValue) -> None:
        super().__init__()
        self.ctx, self.title_text, self.value = ctx, title, value
        localize_bindings(self)

    def compose(self) -> ComposeResult:
        with Vertical(id="drill-box"):
            yield Static(Content(self.title_text), id="drill-title")
            yield DataTable(id="drill-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", t("report.ticket"), t("report.category"), t("report.grade"),
                          t("report.status"))
        table.focus()
        self.fetch()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def fetch(self) -> None:
        from agent_console.services.kpi import tickets_of

        ids = list(self.value.base) or list(self.value.counted)
        self.post_message(self.Rows(tickets_of(self.ctx.store, self.ctx.actor, ids=ids)))

    @on(Rows)
    def _rows(self, event: Rows) -> None:
        table = self.query_one(DataTable)
        counted = set(self.value.counted)
        lang = current_language()
        names = {c.code: c.name(lang) for c in self.ctx.store.catalog.categories.values()}
        rows = sorted(event.rows, key=lambda r: (r["id"] not in counted, r["id"]))
        if not rows:
            self.query_one("#drill-title", Static).update(
                Content(self.title_text + "  " + t("wallboard.drill_empty")))
        for r in rows:
            table.add_row("✓" if r["id"] in counted else "·", r["number"],
                          names.get(r["category"], r["category"]), t(f"grade.{r['grade']}"),
                          t(f"status.{r['status']}"), key=str(r["id"]))

    def action_close(self) -> None:
        self.dismiss(None)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        self.app.post_message(OpenTicket(int(str(event.row_key.value))))
