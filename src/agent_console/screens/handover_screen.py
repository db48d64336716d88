"""HandoverScreen (交接班): the agent's own handover, drafted from what they hold (open tickets,
those near their deadline, promised call-backs) with notes, completed to the incoming agent;
and the handovers waiting for this agent, acknowledged item by item."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from agent_console.i18n import t
from agent_console.messages import OpenTicket
from agent_console.screens.context import ContextScreen, ScreenContext
from agent_console.screens.wallboard_screen import fit
from agent_console.services.handover import HandoverView
from agent_console.text import clean_line


class HandoverScreen(ContextScreen[None]):
    DEFAULT_CSS = """
    HandoverScreen #ho-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    HandoverScreen #ho-items { height: 1fr; }
    HandoverScreen Input { height: 3; }
    HandoverScreen #ho-status { height: 1; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("d", "draft", "Draft", id="ho-draft"),
        Binding("c", "complete", "Hand over", id="ho-complete"),
        Binding("a", "acknowledge", "Acknowledge", id="ho-ack"),
    ]

    class Loaded(Message):
        def __init__(self, views: list[HandoverView], note: str = "") -> None:
            super().__init__()
            self.views, self.note = views, note

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.views: list[HandoverView] = []

    def compose(self) -> ComposeResult:
        yield Static(Content(t("handover.title")), id="ho-title")
        yield DataTable(id="ho-items", cursor_type="row")
        yield Input(id="ho-notes", placeholder=t("handover.notes"), max_length=2000)
        yield Input(id="ho-to", placeholder=t("handover.to_agent"), max_length=20)
        yield Static(id="ho-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(t("handover.from_col"), t("handover.kind_col"), t("report.ticket"),
                          t("report.due"), t("handover.text_col"), t("handover.ack_col"))
        table.focus()
        self.load(draft_if_none=True)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self, draft_if_none: bool = False, note: str = "") -> None:
        from agent_console.services import handover

        store, actor = self.ctx.store, self.ctx.actor
        views = handover.my_handovers(store, actor)
        if draft_if_none and not any(v.agent == actor.code for v in views):
            handover.draft_handover(store, actor)
            views = handover.my_handovers(store, actor)
        self.post_message(self.Loaded(views, note))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.views = event.views
        table = self.query_one(DataTable)
        table.clear()
        zone = self.ctx.zone
        for view in event.views:
            source = t("handover.mine") if view.agent == self.ctx.actor.code else \
                t("handover.from", agent=clean_line(view.agent_name))
            for item in view.items:
                due = item.due_at.astimezone(zone).strftime("%m-%d %H:%M") if item.due_at else ""
                acked = t("handover.acked_by", agent=item.acked_by,
                          at=item.acked_at.astimezone(zone).strftime("%H:%M")) \
                    if item.acked_at else t("handover.not_acked")
                table.add_row(source, t(f"handover.{item.kind}"), item.number, due,
                              fit(clean_line(item.text), 24).rstrip(), acked,
                              key=f"{view.id}:{item.id}:{item.ticket_id or ''}")
        if not event.views:
            event.note = event.note or t("handover.none")
        self.query_one("#ho-status", Static).update(Content(event.note))

    def _selected(self) -> tuple[HandoverView, int, int | None] | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        view_id, item_id, ticket = key.split(":")
        view = next(v for v in self.views if v.id == int(view_id))
        return view, int(item_id), int(ticket) if ticket else None

    def _mine(self) -> HandoverView | None:
        return next((v for v in self.views if v.agent == self.ctx.actor.code
                     and v.completed_at is None), None)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_draft(self) -> None:
        self.act("draft", notes=self.query_one("#ho-notes", Input).value)

    def action_complete(self) -> None:
        mine = self._mine()
        if mine is not None:
            self.act("complete", handover_id=mine.id,
                     to_agent=self.query_one("#ho-to", Input).value.strip() or None,
                     notes=self.query_one("#ho-notes", Input).value)

    def action_acknowledge(self) -> None:
        found = self._selected()
        if found is not None and found[0].agent != self.ctx.actor.code:
            self.act("ack", item_id=found[1])

    @work(thread=True, exclusive=True, exit_on_error=False, group="handover-act")
    def act(self, what: str, **kw: Any) -> None:
        from agent_console.services import handover
        from agent_console.services.errors import ServiceError

        store, actor = self.ctx.store, self.ctx.actor
        try:
            if what == "draft":
                view = handover.draft_handover(store, actor, notes=kw["notes"])
                note = t("handover.drafted", count=len(view.items))
            elif what == "complete":
                handover.complete_handover(store, actor, **kw)
                note = t("handover.completed")
            else:
                handover.acknowledge(store, actor, **kw)
                note = t("handover.acked")
        except ServiceError as exc:
            note = exc.localized()
        self.load(note=note)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        ticket = str(event.row_key.value).split(":")[2]
        if ticket:
            self.post_message(OpenTicket(int(ticket)))
