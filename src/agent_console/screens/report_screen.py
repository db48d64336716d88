"""ReportScreen: the monthly complaint analysis on screen, month by month ([ and ])."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Static

from agent_console.i18n import t
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.services import kpi


class ReportScreen(ContextScreen[None]):
    DEFAULT_CSS = """
    ReportScreen #report-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    ReportScreen #report-body { height: 1fr; }
    ReportScreen #report-tables { height: auto; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("left_square_bracket", "month(-1)", "Previous month", id="report-previous"),
        Binding("right_square_bracket", "month(1)", "Next month", id="report-next"),
    ]

    class Loaded(Message):
        def __init__(self, month: str, parts: list[tuple[str, list[str], list[list[str]]]],
                     summary: str) -> None:
            super().__init__()
            self.month, self.parts, self.summary = month, parts, summary

    def __init__(self, ctx: ScreenContext, month: str | None = None) -> None:
        super().__init__(ctx)
        self.month = month

    def compose(self) -> ComposeResult:
        yield Static(id="report-title")
        with VerticalScroll(id="report-body"):
            yield Static(Content(t("wallboard.loading")), id="report-tables")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#report-body").focus()
        self.load(self.month)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self, month: str | None) -> None:
        from agent_console.services import report

        store = self.ctx.store
        month = month or report.default_month(store)
        data = report.monthly_report(store, self.ctx.actor, month=month)
        flagged = [c["category"] for c in data["categories"] if c["flag_share"]]
        grower = data["biggest_grower"]
        summary = t("report.summary",
                    flagged=", ".join(report._category(store, c) for c in flagged)
                    or t("report.none"),
                    grower=report._category(store, grower) if grower else t("report.none"))
        self.post_message(self.Loaded(month, report.tables(store, data), summary))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.month = event.month
        self.query_one("#report-title", Static).update(
            Content(t("report.title", month=event.month)))
        blocks: list[Any] = [Text(event.summary, style="bold"), Text("")]
        for title, head, rows in event.parts:
            table = Table(title=title, title_justify="left", title_style="bold", expand=False,
                          show_edge=False, pad_edge=False)
            for i, name in enumerate(head):
                table.add_column(name, justify="left" if i == 0 else "right", overflow="fold")
            for row in rows:
                table.add_row(*row)
            if not rows:
                table.add_row(t("report.empty"), *[""] * (len(head) - 1))
            blocks += [table, Text("")]
        self.query_one("#report-tables", Static).update(Group(*blocks))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_month(self, step: int) -> None:
        if self.month is None:
            return
        if step < 0:
            self.load(kpi.previous_month(self.month))
        else:
            year, mon = (int(x) for x in self.month.split("-"))
            following = f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"
            from agent_console.services import report

            if following <= report.default_month(self.ctx.store):
                self.load(following)
