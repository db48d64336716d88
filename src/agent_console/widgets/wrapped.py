"""Wrapped: text broken into rows by the Chinese rules (`wrapping`) at the widget's own width."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from agent_console.wrapping import wrap_text


class Wrapped(Widget):
    """Paragraphs, each a Rich Text with a hanging indent, re-broken whenever the width changes.

    Takes plain data only (`update`); Textual's own wrapping never sees a row wider than the
    widget, so it never breaks one again.
    """

    DEFAULT_CSS = """
    Wrapped { height: auto; }
    """

    def __init__(self, paragraphs: list[tuple[Text, int]] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.paragraphs: list[tuple[Text, int]] = paragraphs or []

    def update(self, paragraphs: list[tuple[Text, int]] | Text) -> None:
        if isinstance(paragraphs, Text):
            paragraphs = [(paragraphs, 0)]
        self.paragraphs = paragraphs
        self.refresh(layout=True)

    def rows(self, width: int) -> Text:
        out = Text()
        for number, (text, indent) in enumerate(self.paragraphs):
            if number:
                out.append("\n")
            out.append_text(wrap_text(text, width, indent))
        out.no_wrap = True
        return out

    def render(self) -> Text:
        return self.rows(self.content_size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.rows(width).plain.split("\n")) if self.paragraphs else 0

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width
