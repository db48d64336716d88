"""The result of a run with its evidence, and its replay step by step.

TrainingResultScreen: the total and pass mark, any automatic fail, then every rubric item with
its points and its evidence: which line or action matched, at what second (frame n of the
replay). `r` opens the replay: one frame per move, as it happened, stepped with ←/→.
"""

from __future__ import annotations

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
from agent_console.screens.training_common import banner, clock, move_text
from agent_console.services.training import runs
from agent_console.services.training.moves import RunRecord, frames
from agent_console.text import clean_line

BANNER_CSS = "{screen} .train-banner { height: 1; background: $warning; color: $text; text-style: bold; padding: 0 1; }"


def _lang() -> str:
    from agent_console.i18n import current_language

    return current_language()


class TrainingResultScreen(ContextScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "replay", "Replay", id="train-replay"),
    ]

    DEFAULT_CSS = BANNER_CSS.replace("{screen}", "TrainingResultScreen") + """
    TrainingResultScreen #result-body { height: 1fr; padding: 0 1; }
    """

    class Loaded(Message):
        def __init__(self, detail: runs.RunDetail) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, ctx: ScreenContext, run_id: int) -> None:
        super().__init__(ctx)
        self.run_id = run_id
        self.detail: runs.RunDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(banner(t("train.result.title"))), classes="train-banner",
                     id="result-banner")
        with VerticalScroll(id="result-body"):
            yield Static(id="result-head")
            yield Static(id="result-items")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-result")
    def load(self) -> None:
        self.post_message(self.Loaded(runs.run_detail(self.ctx.store, self.ctx.actor,
                                                      run_id=self.run_id)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.detail = detail = event.detail
        lang = _lang()
        summary, result = detail.summary, detail.result
        scenario = runs.library().scenarios.get(summary.scenario)
        title = scenario.title.get(lang) if scenario else summary.scenario
        self.query_one("#result-banner", Static).update(Content(banner(
            t("train.result.title"), title, f"{summary.trainee_name} ({summary.trainee})")))
        if result is None:
            self.query_one("#result-head", Static).update(Content(t("train.result.unfinished")))
            return
        head = Text()
        head.append(t("train.result.passed") if result.passed else t("train.result.failed"),
                    style="bold green" if result.passed else "bold red")
        head.append("  " + t("train.result.total", total=f"{result.total:.0f}",
                             pass_mark=f"{result.pass_mark:.0f}"))
        head.append("  " + t("train.result.duration", time=clock(result.duration)))
        head.append("  " + t("train.result.ending",
                             ending=t(f"train.ending.{result.ending or 'none'}")))
        titles = {i.id: i.title.get(lang) for i in result.items}
        for failure in result.auto_fail:
            key = "train.result.auto_fail_run" if failure.scope == "run" else \
                "train.result.auto_fail_section"
            head.append("\n")
            head.append(t(key, item=titles.get(failure.item, failure.item),
                          section=failure.section), style="bold red")
        self.query_one("#result-head", Static).update(head)
        table = Table(expand=True, show_edge=False, pad_edge=False)
        table.add_column(t("train.result.item"), ratio=3)
        table.add_column(t("train.result.points"), justify="right", width=9)
        table.add_column(t("train.result.evidence"), ratio=5)
        for item in result.items:
            if not item.applicable:
                points = t("train.result.not_applicable")
            else:
                points = f"{item.points:.1f}/{item.weight:g}"
            mark = "✓ " if item.passed else ("· " if not item.applicable else "✗ ")
            evidence = Text()
            for n, found in enumerate(item.evidence):
                if n:
                    evidence.append("\n")
                where = ""
                if found.second is not None:
                    where = f"[{clock(found.second)}]"
                if found.frame is not None:
                    where += " " + t("train.result.frame", frame=found.frame)
                evidence.append(where.strip() + " ", style="dim")
                evidence.append(clean_line(found.text))
            if not item.evidence:
                evidence.append(t("train.result.no_evidence"), style="dim")
            style = "green" if item.passed else ("dim" if not item.applicable else "red")
            table.add_row(Text(mark + item.title.get(lang), style=style), points, evidence)
        self.query_one("#result-items", Static).update(table)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_replay(self) -> None:
        if self.detail is not None and self.detail.record is not None:
            self.app.push_screen(ReplayScreen(self.ctx, self.detail.record))


class ReplayScreen(ContextScreen[None]):
    """A run step by step: the frame's move, what the customer said, and how they felt."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("left,p", "step(-1)", "Previous", id="replay-previous"),
        Binding("right,n", "step(1)", "Next", id="replay-next"),
        Binding("home", "jump(0)", "First", id="replay-first", show=False),
        Binding("end", "jump(-1)", "Last", id="replay-last", show=False),
    ]

    DEFAULT_CSS = BANNER_CSS.replace("{screen}", "ReplayScreen") + """
    ReplayScreen #replay-frame { height: auto; padding: 0 1; border-bottom: solid $panel; }
    ReplayScreen #replay-so-far { height: 1fr; padding: 0 1; }
    """

    def __init__(self, ctx: ScreenContext, record: RunRecord) -> None:
        super().__init__(ctx)
        self.record = record
        # Time passing with nothing said is left out; frame numbers stay as the evidence gives them.
        self.frames = [f for f in frames(record)
                       if f.move is None or f.move.kind != "tick" or f.lines or f.state.ending]
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static(id="replay-banner", classes="train-banner")
        yield Static(id="replay-frame")
        with VerticalScroll(id="replay-so-far"):
            yield Static(id="replay-lines")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        lang = _lang()
        frame = self.frames[self.index]
        self.query_one("#replay-banner", Static).update(Content(banner(
            t("train.replay.title"), t("train.replay.position", n=frame.index,
                                       total=len(self.frames) - 1), clock(frame.second))))
        now = Text()
        now.append(t("train.replay.move") + " ", style="bold")
        now.append(move_text(frame.move) if frame.move is not None else t("train.replay.opening"))
        for hit in frame.hits:
            now.append(f"  [{hit.set}: {hit.phrase}]", style="red" if hit.bad else "green")
        state = frame.state
        now.append("\n" + t("train.replay.state", mood=state.mood, patience=state.patience,
                            node=state.node,
                            ending=t(f"train.ending.{state.ending or 'none'}")), style="dim")
        self.query_one("#replay-frame", Static).update(now)
        so_far = Text()
        for shown in self.frames[:self.index + 1]:
            if shown.move is not None and shown.move.kind != "tick":
                so_far.append(f"[{clock(shown.second)}] ", style="dim")
                so_far.append(move_text(shown.move) + "\n",
                              style="bold" if shown is frame else "green")
            for said in shown.lines:
                so_far.append(f"[{clock(shown.second)}] ", style="dim")
                so_far.append(t("train.run.customer") + ": ", style="bold cyan")
                so_far.append(clean_line(said.text(lang)) + "\n",
                              style="reverse" if shown is frame else "")
        self.query_one("#replay-lines", Static).update(so_far)

    def action_step(self, delta: int) -> None:
        self.index = max(0, min(len(self.frames) - 1, self.index + delta))
        self.show()

    def action_jump(self, where: int) -> None:
        self.index = where if where >= 0 else len(self.frames) - 1
        self.show()

    def action_back(self) -> None:
        self.dismiss(None)
