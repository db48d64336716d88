"""TickBox: a checkbox whose state reads without colour (`[x]` / `[ ]`) and whose label wraps."""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widgets import Checkbox

from agent_console.wrapping import wrap_plain

TICKED, UNTICKED = "[x]", "[ ]"
INDENT = len(TICKED) + 1  # the label's later rows start under its first character


class TickBox(Checkbox):
    """Textual's Checkbox shows its state only by the colour of an `X`; this one says it in
    the glyph too, and breaks a long label into rows (Chinese rules) instead of cutting it."""

    DEFAULT_CSS = """
    TickBox { width: 1fr; height: auto; text-wrap: wrap; }
    """

    @property
    def _button(self) -> Content:
        return Content(TICKED if self.value else UNTICKED).stylize_before(
            self.get_visual_style("toggle--button"))

    def _rows(self, width: int) -> list[str]:
        return wrap_plain(f"{UNTICKED} {self._label.plain}", max(INDENT + 2, width), INDENT)

    def render(self) -> Content:
        rows = self._rows(self.content_size.width)
        label = Content("\n".join(rows)[INDENT:]).stylize_before(
            self.get_visual_style("toggle--label"))
        return Content.assemble(self._button, " ", label)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._rows(width))
