"""CaseList: knowledge-base hits with the matched words marked, for search and suggestions."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from agent_console.models.kb import CaseHit, Span
from agent_console.text import clean_line
from agent_console.widgets.localized import localize_bindings

MARK = "bold reverse"


def marked(text: str, spans: tuple[Span, ...]) -> Content:
    """Literal text (never markup) with the matched spans emphasised."""
    content = Content(text)
    for start, end in spans:
        content = content.stylize(MARK, start, end)
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

    def show_hits(self, hits: list[CaseHit], category_names: dict[str, str], retired_label: str,
                  empty_label: str) -> None:
        if [h.id for h in hits] == [h.id for h in self.hits] and hits == self.hits:
            return  # same results: no repaint
        self.hits = hits
        self.clear_options()
        if not hits:
            self.add_option(Option(Content(empty_label), disabled=True))
            return
        options = []
        for hit in hits:
            head = marked(clean_line(hit.title), hit.title_marks)
            tail = Content(f"  [{category_names.get(hit.category, hit.category) or '—'}]")
            if hit.retired:
                tail = tail + Content(f"  {retired_label}")
            body = marked(hit.snippet, hit.marks).stylize("dim")
            options.append(Option(Content.assemble(head, tail, "\n", body), id=f"case-{hit.id}"))
        self.add_options(options)
        self.highlighted = 0

    def current_case(self) -> int | None:
        if self.highlighted is None or not self.hits:
            return None
        option = self.get_option_at_index(self.highlighted)
        return int(option.id.removeprefix("case-")) if option.id else None
