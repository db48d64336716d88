"""HallDisplayScreen: the hall's public board (叫号显示屏).

The number just called and its counter in big digits, the numbers called before it, how many
wait for each service with the estimated wait as a range, and the rule that let a priority
number go first. It shows numbers and counts only, never a name or a phone. A call made at any
counter (another process on the same store) shows here within a second: the screen polls the
store's change counter (`SqliteChangeFeed`) a few times a second and reads the board only when
something was committed.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from agent_console.formatting import local_time
from agent_console.hall_text import wait_text
from agent_console.i18n import current_language, t
from agent_console.models.vocab import DEFAULT_SITE
from agent_console.services import hall
from agent_console.services.hall_rules import HallConfig
from agent_console.services.store import Store
from agent_console.widgets.big_text import BigText

POLL_SECONDS = 0.2
REFRESH_SECONDS = 30.0  # estimates move with the clock even when nothing is committed
DIGIT_CHARS = set(" 0123456789+-^x:ABCDEF")


def reason_text(call: hall.BoardCall, cfg: HallConfig, lang: str) -> str:
    """Why this number went when it did, in words customers read on the board."""
    lane = cfg.lanes.get(call.lane)
    counter = cfg.counters.get(call.counter)
    profile = cfg.profile_of(call.counter) if counter else None
    values: dict[str, Any] = {
        "number": call.number, "lane": lane.name(lang) if lane else "",
        "ratio": profile.normal_per_priority if profile else 2,
        "limit": int(profile.normal_wait_limit) if profile else 20}
    return t(f"hall.reason.{call.reason}", **values) if call.reason else ""


class HallDisplayScreen(Screen[None]):
    """Numbers and counts only: nothing on it needs a signed-in agent."""

    CSS_PATH = "../styles/hall.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    class BoardLoaded(Message):
        def __init__(self, board: hall.Board, cfg: HallConfig) -> None:
            super().__init__()
            self.board, self.cfg = board, cfg

    def __init__(self, store: Store, zone: tzinfo, site: str = DEFAULT_SITE) -> None:
        super().__init__()
        self.store, self.zone, self.site = store, zone, site
        self.feed: Any = None
        self.loaded: hall.Board | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(t("hall.display.title")), id="hall-display-title")
        with Horizontal(id="hall-now"):
            with Vertical(id="hall-now-number"):
                yield Static(Content(t("hall.display.now")), classes="hall-caption")
                yield BigText(id="hall-now-digits")
                yield Static("", id="hall-now-text")
            with Vertical(id="hall-now-counter"):
                yield Static(Content(t("hall.display.go_to")), classes="hall-caption")
                yield BigText(id="hall-counter-digits")
                yield Static("", id="hall-counter-text")
        with Horizontal(id="hall-lists"):
            yield Static("", id="hall-recent")
            yield Static("", id="hall-waiting")
        yield Static("", id="hall-why")
        yield Static("", id="hall-rule")

    def on_mount(self) -> None:
        from agent_console.services.changes import open_feed

        self.feed = open_feed(self.store)
        self.load()
        self.set_interval(POLL_SECONDS, self._poll)
        self.set_interval(REFRESH_SECONDS, self.load)

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.close()

    def _poll(self) -> None:
        if self.feed is None or self.feed.changed():
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="hall-board")
    def load(self) -> None:
        self.post_message(self.BoardLoaded(hall.board(self.store, site=self.site), hall.config(self.store)))

    def on_worker_state_changed(self, event: Any) -> None:
        report = getattr(self.app, "report_worker_error", None)
        if report is not None:
            report(event)

    @on(BoardLoaded)
    def _loaded(self, event: BoardLoaded) -> None:
        self.loaded = board = event.board
        cfg, lang = event.cfg, current_language()
        latest = board.calls[0] if board.calls else None
        digits = self.query_one("#hall-now-digits", BigText)
        counter_digits = self.query_one("#hall-counter-digits", BigText)
        if latest is None:
            digits.text = ""
            counter_digits.text = ""
            self.query_one("#hall-now-text", Static).update(Content(t("hall.display.none")))
            self.query_one("#hall-counter-text", Static).update("")
        else:
            counter = cfg.counters.get(latest.counter)
            digits.text = latest.number
            counter_digits.text = latest.counter
            self.query_one("#hall-now-text", Static).update(Content(latest.number))
            self.query_one("#hall-counter-text", Static).update(
                Content(counter.name(lang) if counter else latest.counter))
        recent = [t("hall.display.recent")]
        for call in board.calls[1:]:
            counter = cfg.counters.get(call.counter)
            recent.append(f"{call.number:<6} → {counter.name(lang) if counter else call.counter}"
                          f"  {local_time(call.at, self.zone, with_date=False)}")
        self.query_one("#hall-recent", Static).update(Content("\n".join(recent)))
        lines = [t("hall.display.waiting")]
        for estimate in board.estimates:
            service = cfg.services[estimate.service]
            lines.append(t("hall.display.service_line", prefix=service.prefix,
                           service=service.name(lang), count=estimate.waiting,
                           wait=wait_text(estimate)))
        inside, checked = board.accuracy
        if checked:
            lines.append(t("hall.display.accuracy", share=round(100 * inside / checked),
                           count=checked))
        self.query_one("#hall-waiting", Static).update(Content("\n".join(lines)))
        why = next((c for c in board.calls if c.reason not in ("", "fifo")), None)
        self.query_one("#hall-why", Static).update(
            Content(reason_text(why, cfg, lang) if why else ""))
        profile = next(iter(cfg.profiles.values()), None)
        self.query_one("#hall-rule", Static).update(Content(t(
            "hall.display.rule", ratio=profile.normal_per_priority if profile else 2,
            limit=int(profile.normal_wait_limit) if profile else 20)))
