"""OutageBoardScreen: active and recent outages with the customers they hit, the calls received,
the calls answered from the outage, the tickets linked, and the share answered from the outage
against the target. A permitted role confirms, marks restoring and restores from here."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from agent_console.formatting import local_time
from agent_console.i18n import current_language, t
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.services import outage
from agent_console.services.outage import Board, BoardRow
from agent_console.services.permissions import MANAGE_OUTAGES

REFRESH_SECONDS = 30.0
# What matters most first: a narrow terminal scrolls the rest.
COLUMNS = ("number", "status", "affected", "calls", "answered", "share", "tickets", "eta",
           "kind", "where")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


class OutageBoardScreen(ContextScreen[None]):
    DEFAULT_CSS = """
    OutageBoardScreen #outage-board-title { text-style: bold; padding: 0 1; }
    OutageBoardScreen #outage-board-share { padding: 0 1; }
    OutageBoardScreen #outage-board-share.-below { color: $error; }
    OutageBoardScreen #outage-board-table { height: auto; max-height: 60%; }
    OutageBoardScreen #outage-board-detail { height: 1fr; padding: 0 1; border-top: solid $primary; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "refresh", "Refresh", id="outage-refresh"),
        Binding("c", "move('confirmed')", "Confirm", id="outage-confirm"),
        Binding("s", "move('restoring')", "Restoring", id="outage-restoring"),
        Binding("x", "move('restored')", "Restored", id="outage-restore"),
        Binding("n", "bulk_note", "Note all", id="outage-note"),
    ]
    PERMISSIONS = {"move": MANAGE_OUTAGES, "bulk_note": MANAGE_OUTAGES}

    class Loaded(Message):
        def __init__(self, board: Board) -> None:
            super().__init__()
            self.board = board

    class Moved(Message):
        def __init__(self, number: str, status: str) -> None:
            super().__init__()
            self.number, self.status = number, status

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.board: Board | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(t("outage.board_title", hours=outage.config().recent_hours)),
                     id="outage-board-title")
        yield Static(id="outage-board-share")
        table: DataTable[Text] = DataTable(id="outage-board-table", cursor_type="row",
                                           zebra_stripes=True)
        table.add_columns(*(t(f"outage.col_{c}") for c in COLUMNS))
        yield table
        with VerticalScroll(id="outage-board-detail"):
            yield Static(id="outage-board-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()
        self.set_interval(REFRESH_SECONDS, self.load)

    def reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-board")
    def load(self) -> None:
        self.post_message(self.Loaded(outage.board(self.ctx.store, self.ctx.actor)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.board = board = event.board
        share = self.query_one("#outage-board-share", Static)
        target = percent(board.target)
        if board.share is None:
            share.update(Content(t("outage.board_share_none", target=target)))
            share.set_class(False, "-below")
        else:
            met = board.share >= board.target
            share.update(Content(t("outage.board_share", answered=board.answered,
                                   calls=board.calls, share=percent(board.share), target=target)
                                 + "  " + t("outage.board_met" if met else "outage.board_below")))
            share.set_class(not met, "-below")
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for row in board.rows:
            table.add_row(*(Text(v) for v in self._cells(row)), key=str(row.outage.id))
        if board.rows:
            table.move_cursor(row=min(max(keep, 0), len(board.rows) - 1))
        self._show_detail()

    def _cells(self, row: BoardRow) -> list[str]:
        o = row.outage
        eta = local_time(o.eta, self.ctx.zone) if o.eta else t("outage.eta_unknown")
        if o.restored_at is not None:
            eta = local_time(o.restored_at, self.ctx.zone)
        return [o.number, t(f"outage.status.{o.status}"), str(o.affected), str(row.calls),
                str(row.answered), percent(row.share), f"{row.tickets} ({row.open_tickets})",
                eta, t(f"outage.kind.{o.kind}"), o.where]

    def _selected(self) -> BoardRow | None:
        if self.board is None or not self.board.rows:
            return None
        index = self.query_one(DataTable).cursor_row
        return self.board.rows[index] if 0 <= index < len(self.board.rows) else None

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        text = self.query_one("#outage-board-text", Static)
        row = self._selected()
        if row is None:
            text.update(Content(t("outage.board_empty")))
            return
        o = row.outage
        self.show_history(o.id)
        text.update(Content("\n".join([
            f"{o.number}  {o.area}  ({o.affected} {t('outage.board_customers')})",
            f"{o.cause}" if o.cause else "",
            f"{t('outage.board_script')}: {o.script(current_language())}"])))

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-detail")
    def show_history(self, outage_id: int) -> None:
        self.post_message(self.HistoryLoaded(outage.get_outage(self.ctx.store, self.ctx.actor,
                                                               outage_id=outage_id)))

    class HistoryLoaded(Message):
        def __init__(self, found: outage.OutageView) -> None:
            super().__init__()
            self.found = found

    @on(HistoryLoaded)
    def _history(self, event: HistoryLoaded) -> None:
        row = self._selected()
        if row is None or row.outage.id != event.found.id:
            return
        o = event.found
        lines = [f"{o.number}  {o.area}  ({o.affected} {t('outage.board_customers')})"]
        if o.cause:
            lines.append(o.cause)
        lines.append(f"{t('outage.board_script')}: {o.script(current_language())}")
        lines.append(t("outage.board_eta_history") + ":")
        for e in o.etas:
            eta = local_time(e.eta, self.ctx.zone) if e.eta else t("outage.eta_unknown")
            lines.append(f"  {local_time(e.at, self.ctx.zone)}  {e.agent}  → {eta}"
                         + (f"  {e.note}" if e.note else ""))
        self.query_one("#outage-board-text", Static).update(Content("\n".join(lines)))

    def action_refresh(self) -> None:
        self.load()

    def action_move(self, status: str) -> None:
        row = self._selected()
        if row is not None:
            self.move(row.outage.id, status)

    @work(thread=True, exclusive=True, exit_on_error=False, group="outage-move")
    def move(self, outage_id: int, status: str) -> None:
        from agent_console.services.sms import SmsPolicy

        moved = outage.set_status(self.ctx.store, self.ctx.actor, outage_id=outage_id,
                                  status=status, policy=SmsPolicy.from_settings(self.ctx.settings))
        self.post_message(self.Moved(moved.number, moved.status))

    @on(Moved)
    def _moved(self, event: Moved) -> None:
        if event.number:
            self.notify(t("outage.status_changed", number=event.number,
                          status=t(f"outage.status.{event.status}")))
        self.load()

    def action_bulk_note(self) -> None:
        """One note on every ticket linked to the selected outage (zammad#699's gap)."""
        from agent_console.screens.context import DraftSlot
        from agent_console.screens.note_screen import NoteScreen
        from agent_console.services.directory import get_preference, set_preference

        row = self._selected()
        if row is None:
            return
        store, code, key = self.ctx.store, self.ctx.actor.code, f"outage_note:{row.outage.id}"
        draft = DraftSlot(lambda: get_preference(store, code, key),
                          lambda text: set_preference(store, code, key, text))

        def note_all(text: str) -> None:  # in the dialog's worker
            count = outage.bulk_note(store, self.ctx.actor, outage_id=row.outage.id, text=text)
            self.app.call_from_thread(self.notify, t("outage.noted", count=count))
            self.post_message(self.Moved("", ""))  # read the board again

        self.app.push_screen(NoteScreen(row.outage.number, draft, note_all))

    def action_back(self) -> None:
        self.dismiss(None)
