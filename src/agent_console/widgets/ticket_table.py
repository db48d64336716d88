"""TicketTable: the queue's rows drawn line by line from a small buffer the screen keeps filled."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from agent_console.formatting import countdown_text, sla_state_of
from agent_console.i18n import label, t
from agent_console.models.read import TicketRow
from agent_console.models.vocab import SlaState
from agent_console.text import clean_line
from agent_console.widgets.localized import localize_bindings


@dataclass(frozen=True)
class Column:
    key: str
    width: int


# Time left comes first: it is what ticks, and a repaint only resends up to the last changed cell.
CALLBACK_WARN_SECONDS = 15 * 60  # a promised call-back warns this long before it is due


def callback_marker(row: TicketRow, now_ts: int) -> str:
    """☎ and the minutes to a promised call-back (☎! once it is due), before the status."""
    if row.callback_ts is None:
        return ""
    left = row.callback_ts - now_ts
    if left <= 0:
        return t("callback.overdue_marker") + " "
    return t("callback.marker", minutes=(left + 59) // 60) + " "


COLUMNS = (
    Column("time_left", 15), Column("grade", 10), Column("number", 14), Column("work_type", 9),
    Column("category", 12), Column("customer", 10), Column("phone", 11), Column("status", 12),
    Column("handler", 8), Column("channel", 8),
)
GAP = 1
# Where the terminal is too narrow for every column, these go first, least useful first; the
# agent scrolls sideways (left/right) to see them. Time left stays put at the left edge.
DROP_ORDER = ("channel", "handler", "phone", "customer")


def columns_for(width: int, shift: int = 0) -> list[Column]:
    """The columns shown in `width` cells: all that fit (dropping by DROP_ORDER) or, scrolled
    `shift` columns sideways, time left and then the columns from that place on."""
    if shift:
        return [COLUMNS[0], *COLUMNS[1 + shift:]]
    shown = list(COLUMNS)
    for key in DROP_ORDER:
        if sum(c.width + GAP for c in shown) - GAP <= width:
            break
        shown = [c for c in shown if c.key != key]
    return shown


def fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` terminal cells (Chinese characters take two)."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class TicketTable(Widget, can_focus=True):
    """Keyboard-first ticket list. The screen feeds rows; the table asks for more at its edges."""

    DEFAULT_CSS = """
    TicketTable {
        height: 1fr;
        background: $surface;
    }
    TicketTable > .ticket-table--header { text-style: bold; background: $panel; color: $text; }
    TicketTable > .ticket-table--cursor { background: $accent 40%; }
    TicketTable:focus > .ticket-table--cursor { background: $accent; color: $text; }
    TicketTable > .ticket-table--urgent { background: $error; color: $text; text-style: bold; }
    TicketTable > .ticket-table--important { background: $warning; color: $background; text-style: bold; }
    TicketTable > .ticket-table--general { background: $primary; color: $text; }
    TicketTable > .ticket-table--warning { color: $warning; text-style: bold; }
    TicketTable > .ticket-table--breached { color: $error; text-style: bold reverse; }
    TicketTable > .ticket-table--paused { color: $text-muted; }
    TicketTable > .ticket-table--on-track { color: $success; }
    TicketTable > .ticket-table--empty { color: $text-muted; }
    """

    COMPONENT_CLASSES = {
        "ticket-table--header", "ticket-table--cursor", "ticket-table--urgent",
        "ticket-table--important", "ticket-table--general", "ticket-table--warning",
        "ticket-table--breached", "ticket-table--paused", "ticket-table--on-track",
        "ticket-table--empty",
    }

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", id="cursor-down", show=False),
        Binding("up,k", "cursor_up", "Up", id="cursor-up", show=False),
        Binding("pagedown,space", "page_down", "Page down", id="page-down", show=False),
        Binding("pageup", "page_up", "Page up", id="page-up", show=False),
        Binding("home,g", "first", "First", id="first", show=False),
        Binding("end,G", "last", "Last", id="last", show=False),
        Binding("enter", "open", "Open", id="open-ticket"),
        Binding("right", "shift(1)", "Columns right", id="columns-right", show=False),
        Binding("left", "shift(-1)", "Columns left", id="columns-left", show=False),
    ]

    class NeedRows(Message):
        """The cursor is near the buffer's edge: fetch rows after (or before) this key."""

        def __init__(self, direction: str, key: tuple[int, ...] | None) -> None:
            super().__init__()
            self.direction = direction
            self.key = key

    class CursorMoved(Message):
        def __init__(self, row: TicketRow | None, position: int) -> None:
            super().__init__()
            self.row = row
            self.position = position

    class Opened(Message):
        def __init__(self, row: TicketRow) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, category_names: dict[str, str], sort: str = "due", buffer_pages: int = 3,
                 thin: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.category_names = category_names
        # On a thin line the cursor is a mark in a one-cell gutter, not a highlighted row: a
        # move then repaints two cells at the left edge instead of two whole rows.
        self.thin = thin
        localize_bindings(self)
        self.sort = sort
        self.rows: list[TicketRow] = []
        self.cursor = 0
        self.top = 0
        self.base = 0  # absolute queue position of rows[0]
        self.at_start = True
        self.at_end = True
        self.fetching: str | None = None  # which edge is being fetched
        self.buffer_pages = buffer_pages
        self.now_ts = 0
        self._shown: dict[int, tuple[str, SlaState]] = {}
        self.shift = 0  # columns scrolled sideways (left/right)

    # --- data in -----------------------------------------------------------------------------

    @property
    def page_size(self) -> int:
        return max(1, self.size.height - 1)

    @property
    def current(self) -> TicketRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(self, rows: list[TicketRow], *, base: int, at_start: bool, at_end: bool,
                 keep_id: int | None = None, keep_index: int | None = None,
                 from_end: bool = False) -> None:
        """Replace the buffer; keep the cursor on `keep_id` if still present, else its index.

        Only lines whose content changed are repainted: a reload that finds the same rows
        sends nothing to the terminal.
        """
        before = self._visible()
        old_screen_row = self.cursor - self.top
        self.rows, self.base, self.at_start, self.at_end = rows, base, at_start, at_end
        self.fetching = None
        ids = [r.id for r in rows]
        if keep_id is not None and keep_id in ids:
            self.cursor = ids.index(keep_id)
        elif from_end:
            self.cursor = len(rows) - 1
        else:
            self.cursor = min(keep_index or 0, max(0, len(rows) - 1))
        self.top = max(0, self.cursor - max(0, old_screen_row)) if keep_id or keep_index else 0
        if from_end:
            self.top = max(0, len(rows) - self.page_size)
        self._clamp_top()
        self._refresh_changed(before)
        self._moved()

    def _visible(self) -> list[tuple[TicketRow, bool] | None]:
        """What each screen line shows: the row and whether the cursor is on it."""
        page = self.rows[self.top:self.top + self.page_size]
        lines: list[tuple[TicketRow, bool] | None] = [
            (row, self.top + i == self.cursor) for i, row in enumerate(page)]
        return lines + [None] * (self.page_size - len(lines))

    def _refresh_changed(self, before: list[tuple[TicketRow, bool] | None]) -> None:
        after = self._visible()
        if len(before) != len(after) or not any(before) or not any(after):
            self.refresh()
            return
        width = self.size.width
        for y, (old, new) in enumerate(zip(before, after), start=1):
            if old != new:
                self.refresh(Region(0, y, width, 1))

    def add_rows(self, direction: str, rows: list[TicketRow], *, complete: bool) -> None:
        """Extend the buffer at one edge and drop rows far from the cursor at the other."""
        before = self._visible()
        self.fetching = None
        limit = self.page_size * self.buffer_pages
        if direction == "down":
            self.rows.extend(rows)
            self.at_end = complete
            drop = max(0, len(self.rows) - limit)
            drop = min(drop, max(0, self.top - self.page_size))
            if drop:
                del self.rows[:drop]
                self.base += drop
                self.cursor -= drop
                self.top -= drop
                self.at_start = False
        else:
            self.rows[:0] = rows
            self.cursor += len(rows)
            self.top += len(rows)
            self.base -= len(rows)
            self.at_start = complete
            drop = max(0, len(self.rows) - limit)
            drop = min(drop, max(0, len(self.rows) - (self.top + 2 * self.page_size)))
            if drop:
                del self.rows[len(self.rows) - drop:]
                self.at_end = False
        self._refresh_changed(before)

    def tick(self, now_ts: int) -> None:
        """Advance the clocks; repaint only the countdown cells whose text or state changed."""
        self.now_ts = now_ts
        width = COLUMNS[0].width + (1 if self.thin else 0)
        for y, row in enumerate(self.rows[self.top:self.top + self.page_size], start=1):
            shown = (countdown_text(row, now_ts), sla_state_of(row, now_ts))
            if row.callback_ts is not None:
                shown += (callback_marker(row, now_ts),)
                self._warn_callback(row, now_ts)
            if self._shown.get(row.id) != shown:
                self.refresh(Region(0, y, self.size.width if len(shown) > 2 else width, 1))

    # --- drawing -------------------------------------------------------------------------------

    def _warn_callback(self, row: TicketRow, now_ts: int) -> None:
        """Once per promise: a warning shortly before a promised call-back is due."""
        warned = self.__dict__.setdefault("_callbacks_warned", set())
        key = (row.id, row.callback_ts)
        if key not in warned and row.callback_ts is not None \
                and 0 <= row.callback_ts - now_ts <= CALLBACK_WARN_SECONDS:
            warned.add(key)
            self.notify(t("callback.warning", minutes=(row.callback_ts - now_ts + 59) // 60,
                          number=row.number), severity="warning", timeout=10)

    def _clamp_top(self) -> None:
        page = self.page_size
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + page:
            self.top = self.cursor - page + 1
        self.top = max(0, min(self.top, max(0, len(self.rows) - page)))

    def _cells(self, row: TicketRow) -> list[str]:
        return [
            countdown_text(row, self.now_ts), label("grade", row.grade), row.number,
            label("work_type", row.work_type), self.category_names.get(row.category, row.category),
            clean_line(row.customer_name), row.phone_masked,
            callback_marker(row, self.now_ts) + label("status", row.status),
            clean_line(row.handler_name) or "—", label("channel", row.channel),
        ]

    @property
    def columns(self) -> list[Column]:
        return columns_for(self.size.width - (1 if self.thin else 0), self.shift)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base_style = self.rich_style
        columns = self.columns
        gutter = " " if self.thin else ""
        if y == 0:
            style = self.get_component_rich_style("ticket-table--header")
            text = gutter + "".join(fit(t(f"queue.column.{c.key}"), c.width) + " " * GAP
                                    for c in columns)
            more = ("◀" if self.shift else "") + ("▶" if self._more_right(columns) else "")
            if more:  # columns off screen: the arrows say which way to scroll
                text = fit(text, width - cell_len(more)) + more
            return Strip([Segment(fit(text, width), style)], width)
        index = self.top + y - 1
        if index >= len(self.rows):
            if not self.rows and y == 1:
                empty = self.get_component_rich_style("ticket-table--empty")
                return Strip([Segment(fit(t("queue.empty"), width), empty)], width)
            return Strip.blank(width, base_style)
        row = self.rows[index]
        cells = self._cells(row)
        state = sla_state_of(row, self.now_ts)
        self._shown[row.id] = (cells[0], state) + (
            (callback_marker(row, self.now_ts),) if row.callback_ts is not None else ())
        row_style = base_style
        if index == self.cursor and not self.thin:
            row_style = base_style + self.get_component_rich_style("ticket-table--cursor")
        clock_style = row_style + self.get_component_rich_style(
            f"ticket-table--{state.value.replace('_', '-')}", default=Style())
        grade_style = self.get_component_rich_style(f"ticket-table--{row.grade}", default=Style())
        by_key = dict(zip((c.key for c in COLUMNS), cells))
        mark = [Segment("▶" if index == self.cursor else " ", row_style)] if self.thin else []
        segments = [*mark, Segment(fit(cells[0], COLUMNS[0].width), clock_style)]
        for column in columns[1:]:
            segments.append(Segment(" " * GAP, row_style))
            style = row_style + grade_style if column.key == "grade" else row_style
            segments.append(Segment(fit(by_key[column.key], column.width), style))
        return Strip(segments).crop(0, width).adjust_cell_length(width, row_style)

    def _more_right(self, columns: list[Column]) -> bool:
        return sum(c.width + GAP for c in columns) - GAP > self.size.width or \
            columns[-1].key != COLUMNS[-1].key

    def action_shift(self, step: int) -> None:
        """Scroll the columns sideways (time left stays)."""
        wanted = max(0, min(len(COLUMNS) - 2, self.shift + step))
        if wanted == self.shift or (step > 0 and not self._more_right(self.columns)):
            return
        self.shift = wanted
        self.refresh()

    # --- keys ----------------------------------------------------------------------------------

    def _moved(self) -> None:
        self.post_message(self.CursorMoved(self.current, self.base + self.cursor))

    def _move(self, delta: int) -> None:
        if not self.rows:
            return
        old_cursor, old_top = self.cursor, self.top
        self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
        self._clamp_top()
        if self.top != old_top:
            self.refresh()
        elif self.cursor != old_cursor:
            width = 1 if self.thin else self.size.width
            self.refresh(Region(0, old_cursor - self.top + 1, width, 1),
                         Region(0, self.cursor - self.top + 1, width, 1))
        if self.cursor != old_cursor:
            self._moved()
        self._maybe_fetch()

    def _maybe_fetch(self) -> None:
        if self.fetching or not self.rows:
            return
        margin = self.page_size
        if not self.at_end and len(self.rows) - 1 - self.cursor < margin:
            self.fetching = "down"
            self.post_message(self.NeedRows("down", self.rows[-1].sort_key(self.sort)))
        elif not self.at_start and self.cursor < margin:
            self.fetching = "up"
            self.post_message(self.NeedRows("up", self.rows[0].sort_key(self.sort)))

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_page_down(self) -> None:
        self._move(self.page_size)

    def action_page_up(self) -> None:
        self._move(-self.page_size)

    def action_first(self) -> None:
        if self.at_start:
            self._move(-len(self.rows))
        else:
            self.fetching = "first"
            self.post_message(self.NeedRows("first", None))

    def action_last(self) -> None:
        if self.at_end:
            self._move(len(self.rows))
        else:
            self.fetching = "last"
            self.post_message(self.NeedRows("last", None))

    def action_open(self) -> None:
        if (row := self.current) is not None:
            self.post_message(self.Opened(row))

    def on_resize(self) -> None:
        self._clamp_top()
        self._maybe_fetch()
