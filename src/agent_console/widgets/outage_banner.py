"""The outage banner at intake: the outage the caller is inside (or may be), its estimated
restore time and the script to read; and, when the number matched no customer, a box for the
area the caller names. Plain data in; the screen decides what it says."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static


class OutageBanner(Vertical):
    DEFAULT_CSS = """
    OutageBanner {
        height: auto;
        display: none;
        padding: 0 1;
        border-left: thick $warning;
        background: $warning-muted;
    }
    OutageBanner.-shown, OutageBanner.-ask-area { display: block; }
    OutageBanner #outage-text { height: auto; display: none; }
    OutageBanner.-shown #outage-text { display: block; }
    OutageBanner #outage-area { display: none; }
    OutageBanner.-ask-area #outage-area { display: block; }
    """

    def __init__(self, area_prompt: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.area_prompt = area_prompt

    def compose(self) -> ComposeResult:
        yield Static(id="outage-text")
        yield Input(id="outage-area", placeholder=self.area_prompt, max_length=60)

    def show(self, lines: list[str]) -> None:
        """The banner's lines (user text is shown as text, never markup); none hides it."""
        self.query_one("#outage-text", Static).update(Content("\n".join(lines)))
        self.set_class(bool(lines), "-shown")

    def ask_area(self, ask: bool) -> None:
        self.set_class(ask, "-ask-area")

    @property
    def area(self) -> str:
        return self.query_one("#outage-area", Input).value
