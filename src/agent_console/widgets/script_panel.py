"""ScriptPanel: the current step of a service script — what to say, what to tick, what to fill."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Checkbox, Input, Label, Select, Static

from agent_console.i18n import t
from agent_console.text import clean_line
from agent_console.widgets.tick_box import TickBox
from agent_console.widgets.wrapped import Wrapped


@dataclass(frozen=True)
class FieldView:
    id: str
    label: str
    kind: str  # text, phone, amount, choice, yes_no
    required: bool
    value: str
    options: tuple[tuple[str, str], ...] = ()  # (label, value)


@dataclass(frozen=True)
class StepView:
    """Plain data for one step, already in the agent's language with placeholders filled."""

    heading: str
    say: tuple[str, ...]
    checklist: tuple[tuple[str, str, bool, bool], ...]  # (id, text, required, ticked)
    fields: tuple[FieldView, ...]
    hints: str
    message: str = ""
    key: str = ""  # script/step: the same key is updated in place, never rebuilt
    forbidden: str = ""  # the phrases never to say here, as one line


class ScriptPanel(VerticalScroll):
    """Rebuilt for each step; `values()` reads back what the agent ticked and filled."""

    DEFAULT_CSS = """
    ScriptPanel { height: 1fr; padding: 0 1; }
    ScriptPanel > .script-heading { text-style: bold; background: $panel; width: 100%; }
    ScriptPanel > .script-say { color: $text; margin: 1 0; }
    ScriptPanel > .script-hints { color: $text-muted; }
    ScriptPanel > .script-message { color: $error; }
    ScriptPanel > .script-forbidden { color: $warning; }
    ScriptPanel > Checkbox { border: none; padding: 0; height: auto; }
    ScriptPanel > Input, ScriptPanel > Select { margin-bottom: 0; }
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("can_focus", False)  # Tab goes to its items, never to the panel itself
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.view: StepView | None = None
        self._showing = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield from self._children(self.view)

    def _children(self, view: StepView | None) -> ComposeResult:
        if view is None:
            return
        yield Static(Content(view.heading), classes="script-heading")
        # What to say, broken by the Chinese rules: a quote's later rows under its first word.
        yield Wrapped([(Text(f"“{line}”"), 1) for line in view.say], classes="script-say")
        for item_id, text, required, ticked in view.checklist:
            mark = "* " if required else ""
            yield TickBox(Content(mark + clean_line(text)), ticked, id=f"tick-{item_id}")
        for field in view.fields:
            yield Label(Content(("* " if field.required else "") + field.label))
            if field.options:
                yield Select[str](list(field.options), id=f"field-{field.id}", prompt=t("ui.select"),
                                  value=field.value if field.value in {v for _, v in field.options}
                                  else Select.NULL)
            else:
                yield Input(field.value, id=f"field-{field.id}", max_length=500)
        yield Wrapped(_hints(view), classes="script-hints")
        for text, name in ((view.forbidden, "script-forbidden"), (view.message, "script-message")):
            line = Static(Content(text), classes=name)
            line.display = bool(text)
            yield line

    def _fields_of(self, view: StepView | None) -> tuple[object, ...]:
        if view is None:
            return ()
        return (tuple(c[0] for c in view.checklist),
                tuple((f.id, f.kind, f.options) for f in view.fields))

    async def show(self, view: StepView, *, focus: bool = False) -> None:
        """Show a step. The step already shown is updated in place: what the agent is typing in
        it and where the cursor stands stay. A new step is built and, with `focus`, its first
        item takes the focus."""
        async with self._showing:  # one at a time: a rebuild is never updated half-built
            await self._show(view, focus)

    async def _show(self, view: StepView, focus: bool) -> None:
        old = self.view
        self.view = view
        if old is not None and old.key == view.key and self._fields_of(old) == self._fields_of(view):
            for selector, text in ((".script-heading", view.heading),
                                   (".script-forbidden", view.forbidden),
                                   (".script-message", view.message)):
                for found in self.query(selector):
                    found.update(Content(text))  # type: ignore[attr-defined]
                    found.display = bool(text) or selector == ".script-heading"
            for found in self.query(".script-say"):
                found.update(_say(view))  # type: ignore[attr-defined]
            for found in self.query(".script-hints"):
                found.update(_hints(view))  # type: ignore[attr-defined]
                found.display = bool(view.hints)
            if focus:
                self.focus_first()
            return
        await self.remove_children()
        await self.mount_all(list(self._children(view)))
        self.scroll_home(animate=False)
        if focus:
            self.focus_first()

    def focus_first(self) -> bool:
        """Put the cursor on the step's first item or field; False when it has none."""
        for widget in self.query("Checkbox, Input, Select"):
            widget.focus()
            return True
        return False

    def values(self) -> tuple[dict[str, bool], dict[str, str]]:
        """(ticks by item id, field values by field id) as the agent left them."""
        ticks = {box.id.removeprefix("tick-"): box.value for box in self.query(Checkbox)
                 if box.id}
        fields: dict[str, str] = {}
        for widget in self.query("Input, Select"):
            if widget.id and widget.id.startswith("field-"):
                value = widget.value
                fields[widget.id.removeprefix("field-")] = "" if value is Select.NULL else str(value)
        return ticks, fields


def _say(view: StepView) -> list[tuple[Text, int]]:
    """What to say, broken by the Chinese rules: a quote's later rows under its first word."""
    return [(Text(f"“{line}”"), 1) for line in view.say]


def _hints(view: StepView) -> list[tuple[Text, int]]:
    return [(Text(view.hints), 0)] if view.hints else []
