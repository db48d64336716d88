"""CaseList: knowledge-base hits with the matched words marked, for search and suggestions."""

from __future__ import annotations

from rich.cells import cell_len, get_character_cell_size
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from agent_console.models.kb import CaseHit, Span
from agent_console.text import clean_line
from agent_console.widgets.localized import localize_bindings
from agent_console.wrapping import wrap_offsets

MARK = "bold reverse"


def marked(text: str, spans: tuple[Span, ...], width: int) -> Content:
    """Literal text (never markup) cut to `width` cells, with the matched spans emphasised."""
    cells = 0
    for index, char in enumerate(text):
        cells += get_character_cell_size(char)
        if cells > width:
            text = text[:max(0, index - 1)] + "…"
            break
    content = Content(text)
    for start, end in spans:
        if start < len(text):
            content = content.stylize(MARK, start, min(end, len(text)))
    return content


class CaseList(OptionList):
    """Takes hits as plain data; the screen reacts to OptionList's own messages."""

    DEFAULT_CSS = """
    CaseList { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        localize_bindings(self)
        self.hits: list[CaseHit] = []
        self._empty = ""  # what the list says while it has no hits

    def show_hits(self, hits: list[CaseHit], category_names: dict[str, str], retired_label: str,
                  empty_label: str) -> None:
        if hits == self.hits and self.option_count and (hits or empty_label == self._empty):
            return  # same results: no repaint (an empty list repaints when what it says changes)
        self.hits, self._empty = hits, empty_label
        self.clear_options()
        if not hits:
            self.add_option(Option(Content(empty_label), disabled=True))
            return
        options = []
        width = max(20, self.size.width - 4)  # one line each for title and snippet
        for hit in hits:
            tail = Content(f"  [{category_names.get(hit.category, hit.category) or '—'}]")
            if hit.retired:
                tail = tail + Content(f"  {retired_label}")
            # The title whole, over as many rows as it needs (Chinese line breaking); the
            # snippet on one row below it.
            title = clean_line(hit.title)
            head = Content.assemble(marked(title, hit.title_marks, cell_len(title)), tail)
            rows = Content("\n").join([head[start:end] for start, end in
                                       wrap_offsets(head.plain, width)])
            body = marked(hit.snippet, hit.marks, width).stylize("dim")
            options.append(Option(Content.assemble(rows, "\n", body), id=f"case-{hit.id}"))
        self.add_options(options)
        self.highlighted = 0

    def current_case(self) -> int | None:
        if self.highlighted is None or not self.hits:
            return None
        option = self.get_option_at_index(self.highlighted)
        return int(option.id.removeprefix("case-")) if option.id else None
