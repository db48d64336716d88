"""QueueScreen: the agent's ticket queue, most urgent SLA first, live across processes."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, Static

from agent_console.db import ts
from agent_console.i18n import current_language, label, t
from agent_console.messages import FirstScreenDrawn, OpenTicket, TicketChanged
from agent_console.models.read import TicketRow
from agent_console.models.vocab import Channel
from agent_console.screens.context import ScreenContext, WatchesStore
from agent_console.screens.ticket_actions import ACTION_BINDINGS, TicketActions, TicketRef
from agent_console.services import directory
from agent_console.services.queue import SORTS, QueueFilter, QueueReader
from agent_console.text import clean_line
from agent_console.widgets.ticket_table import TicketTable

SWEEP_EVERY = 30  # ticks between SLA crossing sweeps
SEARCH_DELAY = 0.15


@dataclass(frozen=True)
class QueueCounts:
    total: int
    overdue: int
    warning: int


class QueueScreen(TicketActions, WatchesStore):
    BINDINGS = [
        *ACTION_BINDINGS,
        Binding("slash", "search", "Search", id="search"),
        Binding("escape", "clear_search", "Clear search", id="clear-search", show=False),
        Binding("m", "scope('mine')", "Mine", id="scope-mine"),
        Binding("t", "scope('team')", "My team", id="scope-team", show=False),
        Binding("e", "scope('all')", "Everyone", id="scope-all", show=False),
        Binding("b", "scope('created')", "Taken by me", id="scope-created", show=False),
        Binding("number_sign", "go_to_ticket", "Go to ticket", id="go-to-ticket", show=False),
        Binding("o", "state('overdue')", "Overdue", id="state-overdue"),
        Binding("w", "state('warning')", "Warning", id="state-warning", show=False),
        Binding("f", "pick_category", "Category", id="filter-category", show=False),
        Binding("h", "pick_channel", "Channel", id="filter-channel", show=False),
        Binding("l", "pick_site", "Site", id="filter-site", show=False),
        Binding("x", "toggle_view", "Open/closed", id="toggle-closed", show=False),
        Binding("r", "cycle_sort", "Sort", id="cycle-sort"),
    ]

    class RowsLoaded(Message):
        def __init__(self, flt: QueueFilter, rows: list[TicketRow], base: int, *,
                     at_start: bool, at_end: bool, keep_id: int | None, keep_index: int | None,
                     from_end: bool) -> None:
            super().__init__()
            self.flt, self.rows, self.base = flt, rows, base
            self.at_start, self.at_end, self.from_end = at_start, at_end, from_end
            self.keep_id, self.keep_index = keep_id, keep_index

    class CountsLoaded(Message):
        def __init__(self, flt: QueueFilter, counts: QueueCounts) -> None:
            super().__init__()
            self.flt, self.counts = flt, counts

    class MoreRowsLoaded(Message):
        def __init__(self, flt: QueueFilter, direction: str, rows: list[TicketRow],
                     complete: bool) -> None:
            super().__init__()
            self.flt, self.direction, self.rows, self.complete = flt, direction, rows, complete

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__(ctx)
        self.filter = QueueFilter()
        self.reader = QueueReader(ctx.store)
        self.counts = QueueCounts(0, 0, 0)
        self._ticks = 0
        self._search_timer = None
        self._site_names: dict[str, str] = {}  # site code -> its name, once a site is picked
        self._loaded = False

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="queue-title")
        yield Static(id="queue-filters")
        yield Input(id="queue-search", placeholder=t("queue.search_placeholder"), max_length=200)
        lang = current_language()
        names = {c.code: c.name(lang) for c in self.ctx.store.catalog.categories.values()}
        yield TicketTable(category_names=names, id="queue-table", thin=self.ctx.settings.thin)
        yield Static(id="queue-status")
        yield Footer()

    def on_mount(self) -> None:
        agent = self.ctx.actor
        self.query_one("#queue-title", Static).update(Content(t(
            "queue.title", name=clean_line(agent.name), code=clean_line(agent.code),
            role=label("role", agent.role))))
        self.query_one("#queue-search").display = False
        self.query_one(TicketTable).focus()
        self.table.now_ts = self._shown_now()
        # Before the first layout the table has no height: estimate it from the terminal.
        self.load_queue(self.filter, mode="first", page=max(self.table.page_size, self.app.size.height))
        self.offer_draft()
        self.open_feed()
        self.set_interval(self.ctx.settings.refresh_seconds, self._tick)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Everyone's tickets are offered only to a role that may see other teams'."""
        if action == "scope" and parameters == ("all",):
            return self.ctx.actor.sees_all_teams
        if action == "pick_site":  # other sites only for a role that sees them
            return self.ctx.actor.sees_all_sites
        return super().check_action(action, parameters)

    @property
    def table(self) -> TicketTable:
        return self.query_one(TicketTable)

    def _now_ts(self) -> int:
        return ts(self.ctx.store.clock.now())

    def _shown_now(self) -> int:
        """The time the countdowns show: on a thin line they move together once a minute, one
        small frame rather than sixty."""
        now = self._now_ts()
        return now - now % 60 if self.ctx.settings.thin else now

    # --- loading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-loader")
    def load_queue(self, flt: QueueFilter, *, mode: str, anchor: tuple[int, ...] | None = None,
                   keep_id: int | None = None, keep_index: int | None = None,
                   size: int = 0, page: int = 40) -> None:
        """Load a buffer of rows: from the top, from the end, or again from an anchor row."""
        reader, actor = self.reader, self.ctx.actor
        if mode == "first":
            flt = directory.load_queue_filter(self.ctx.store, actor.code, actor)
            mode = "home"
        if flt.site and flt.site not in self._site_names:  # the filter line names the site
            from agent_console.services import sites

            lang = current_language()
            self._site_names = {s.code: s.name(lang) for s in sites.list_sites(self.ctx.store)}
        size = max(size, page * 2, 40)
        now_ts = self._now_ts()
        rows: list[TicketRow] = []
        base, total, at_end = 0, None, True
        if mode == "anchor" and anchor is not None:
            rows = reader.page(flt, actor, now_ts=now_ts, limit=size + 1, after=anchor,
                               inclusive=True)
            base = reader.count(flt, actor, now_ts=now_ts, before=anchor)
            if len(rows) < page and base > 0:
                mode = "end"
        elif mode != "end":
            rows = reader.page(flt, actor, now_ts=now_ts, limit=size + 1)
        if mode == "end":
            rows = reader.page(flt, actor, now_ts=now_ts, limit=size, from_end=True)
            total = reader.count(flt, actor, now_ts=now_ts)
            base = max(0, total - len(rows))
        else:
            at_end = len(rows) <= size
            rows = rows[:size]
        # Rows go out first; the counts for the status line follow (they cost more at 100k).
        self.post_message(self.RowsLoaded(
            flt, rows, base, at_start=base == 0, at_end=at_end, keep_id=keep_id,
            keep_index=keep_index, from_end=mode == "end"))
        self.post_message(self.CountsLoaded(flt, QueueCounts(
            total if total is not None else reader.count(flt, actor, now_ts=now_ts),
            reader.count(flt.with_(state="overdue"), actor, now_ts=now_ts),
            reader.count(flt.with_(state="warning"), actor, now_ts=now_ts))))

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-more")
    def load_more(self, flt: QueueFilter, direction: str, key: tuple[int, ...], page: int) -> None:
        size = max(page * 2, 40)
        kwargs = {"after": key} if direction == "down" else {"before": key}
        rows = self.reader.page(flt, self.ctx.actor, now_ts=self._now_ts(), limit=size, **kwargs)
        self.post_message(self.MoreRowsLoaded(flt, direction, rows, len(rows) < size))

    @work(thread=True, exclusive=True, exit_on_error=False, group="sla-sweep")
    def sweep_sla(self) -> None:
        from agent_console.services.tickets import record_crossings

        record_crossings(self.ctx.store)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prefs")
    def save_filter(self, flt: QueueFilter) -> None:
        directory.save_queue_filter(self.ctx.store, self.ctx.actor.code, flt)

    def reload(self) -> None:
        """Same place, fresh data: the buffer is read again from its first row's key."""
        table = self.table
        if not table.rows:
            self.load_queue(self.filter, mode="home", page=table.page_size)
            return
        self.load_queue(self.filter, mode="anchor", anchor=table.rows[0].sort_key(self.filter.sort),
                        keep_id=table.current.id if table.current else None,
                        keep_index=table.cursor, size=len(table.rows), page=table.page_size)

    def set_filter(self, flt: QueueFilter) -> None:
        if flt == self.filter:
            return
        self.filter = flt
        self.table.sort = flt.sort
        self._show_filter()
        self.load_queue(flt, mode="home", page=self.table.page_size)
        self.save_filter(flt)

    # --- results -------------------------------------------------------------------------------

    @on(RowsLoaded)
    def _rows_loaded(self, event: RowsLoaded) -> None:
        if self._loaded and event.flt != self.filter:
            return
        if not self._loaded:
            self.call_after_refresh(self.post_message, FirstScreenDrawn())
        self._loaded = True
        self.filter = event.flt
        table = self.table
        keep_id, keep_index = event.keep_id, event.keep_index
        if keep_id is not None and table.current is not None and table.current.id != keep_id:
            # The agent moved on while this reload was being read: keep them where they are now
            # (on a slow line keys keep arriving meanwhile), or read again around that row.
            if table.current.id not in {row.id for row in event.rows}:
                self.reload()
                return
            keep_id, keep_index = table.current.id, table.base + table.cursor - event.base
        table.sort = event.flt.sort
        table.now_ts = self._shown_now()
        table.set_rows(event.rows, base=event.base, at_start=event.at_start, at_end=event.at_end,
                       keep_id=keep_id, keep_index=keep_index, from_end=event.from_end)
        self._show_filter()
        self._show_status()
        if self.is_current:
            self.tell_take_overs()

    @on(CountsLoaded)
    def _counts_loaded(self, event: CountsLoaded) -> None:
        if event.flt == self.filter:
            self.counts = event.counts
            self._show_status()

    @on(MoreRowsLoaded)
    def _more_loaded(self, event: MoreRowsLoaded) -> None:
        if event.flt == self.filter:
            self.table.add_rows(event.direction, event.rows, complete=event.complete)
        self._show_status()

    @on(TicketTable.NeedRows)
    def _need_rows(self, event: TicketTable.NeedRows) -> None:
        if event.direction in ("first", "last"):
            self.load_queue(self.filter, mode="home" if event.direction == "first" else "end",
                            page=self.table.page_size)
        elif event.key is not None:
            self.load_more(self.filter, event.direction, event.key, self.table.page_size)

    @on(TicketTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_status()

    @on(TicketTable.Opened)
    def _opened(self, event: TicketTable.Opened) -> None:
        self.post_message(OpenTicket(event.row.id))

    @on(TicketChanged)
    def _changed(self, event: TicketChanged) -> None:
        self.notify(t(f"ticket.done.{event.action}"))
        self.reload()

    def _tick(self) -> None:
        self.table.tick(self._shown_now())
        self.poll_store()
        self._ticks += 1
        if self._ticks % SWEEP_EVERY == 1:
            self.sweep_sla()

    # --- showing -------------------------------------------------------------------------------

    def _show_filter(self) -> None:
        flt, lang = self.filter, current_language()
        catalog = self.ctx.store.catalog
        category = catalog.categories[flt.category].name(lang) if flt.category in \
            catalog.categories else t("queue.any")
        scope = "team" if flt.scope == "all" and not self.ctx.actor.sees_all_teams else flt.scope
        parts = [
            t("queue.filter.scope", value=t(f"queue.scope.{scope}")),
            t("queue.filter.state", value=t(f"queue.state.{flt.state}")),
            t("queue.filter.category", value=category),
            t("queue.filter.channel",
              value=label("channel", flt.channel) if flt.channel else t("queue.any")),
            t("queue.filter.sort", value=t(f"queue.sort.{flt.sort}")),
            t(f"queue.view.{flt.view}"),
        ]
        if flt.site:
            name = self._site_names.get(flt.site, flt.site)
            parts.insert(0, t("queue.filter.site", value=clean_line(name)))
        if flt.text:
            parts.append(t("queue.filter.text", value=clean_line(flt.text)[:30]))
        _update(self.query_one("#queue-filters", Static), "  ·  ".join(parts))

    def _show_status(self) -> None:
        table, counts = self.table, self.counts
        position = table.base + table.cursor + 1 if table.rows else 0
        _update(self.query_one("#queue-status", Static), t(
            "queue.status", position=position, total=counts.total, overdue=counts.overdue,
            warning=counts.warning))

    # --- actions -------------------------------------------------------------------------------

    def action_target(self) -> TicketRef | None:
        row = self.table.current
        if row is None:
            self.notify(t("queue.nothing_selected"), severity="warning")
            return None
        return TicketRef(row.id, row.number, row.version, row.status)

    @work(thread=True, exclusive=True, exit_on_error=False, group="draft-offer")
    def offer_draft(self) -> None:
        """Contacts left unfinished (parked, line dropped, process killed): say so at once,
        without a dialog that would take the keys the agent is already typing."""
        from agent_console.services import intake

        if count := len(intake.parked_contacts(self.ctx.store, self.ctx.actor)):
            self.app.call_from_thread(self.notify, t("intake.parked_offer", count=count),
                                      timeout=15)
        # Ready the contact screen before N is pressed: built from cold it took seconds while
        # the keys typed right after N went to this queue instead.
        import agent_console.screens.intake_screen  # noqa: F401
        from agent_console.services.classifier import classify

        self.ctx.scripts.get()
        classify("宽带")

    def action_go_to_ticket(self) -> None:
        from agent_console.screens.contact_dialogs import GoToTicketScreen

        def entered(number: str | None) -> None:
            if number:
                self.find_ticket(number)

        self.app.push_screen(GoToTicketScreen(), entered)

    @work(thread=True, exclusive=True, exit_on_error=False, group="go-to-ticket")
    def find_ticket(self, number: str) -> None:
        """Open the ticket with this number if the agent may see it; "not found" otherwise."""
        from agent_console.services.contact import find_ticket
        from agent_console.services.errors import NotFoundError, OtherSiteError

        try:
            ticket_id = find_ticket(self.ctx.store, self.ctx.actor, number=number)
        except NotFoundError:
            self.app.call_from_thread(self.notify, t("contact.goto.not_found",
                                                     number=clean_line(number)[:20]),
                                      severity="warning")
            return
        except OtherSiteError as exc:
            self.app.call_from_thread(self.notify, exc.localized(), severity="warning")
            return
        self.post_message(OpenTicket(ticket_id))

    def action_scope(self, scope: str) -> None:
        self.set_filter(self.filter.with_(scope=scope))

    def action_state(self, state: str) -> None:
        self.set_filter(self.filter.with_(state="any" if self.filter.state == state else state))

    def action_toggle_view(self) -> None:
        self.set_filter(self.filter.with_(view="closed" if self.filter.view == "open" else "open"))

    def action_cycle_sort(self) -> None:
        self.set_filter(self.filter.with_(sort=SORTS[(SORTS.index(self.filter.sort) + 1) % len(SORTS)]))

    def action_pick_category(self) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        lang = current_language()
        choices = [(t("queue.any"), "")] + [(c.name(lang), c.code)
                                            for c in self.ctx.store.catalog.categories.values()]
        self.app.push_screen(ChoiceScreen(t("queue.pick_category"), choices, self.filter.category),
                             self._picked("category"))

    def action_pick_channel(self) -> None:
        from agent_console.screens.choice_screen import ChoiceScreen

        choices = [(t("queue.any"), "")] + [(label("channel", c), c.value) for c in Channel]
        self.app.push_screen(ChoiceScreen(t("queue.pick_channel"), choices, self.filter.channel),
                             self._picked("channel"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="site-picker")
    def action_pick_site(self) -> None:
        """Every site's tickets, or one site's (a role that sees other sites)."""
        from agent_console.screens.choice_screen import ChoiceScreen
        from agent_console.services import sites

        lang = current_language()
        choices = [(t("queue.every_site"), "")] + [
            (f"{s.code}  {clean_line(s.name(lang))}", s.code)
            for s in sites.list_sites(self.ctx.store)]
        self.app.call_from_thread(self.app.push_screen, ChoiceScreen(
            t("queue.pick_site"), choices, self.filter.site), self._picked("site"))

    def _picked(self, field: str):
        def apply(value: str | None) -> None:
            if value is not None:
                self.set_filter(self.filter.with_(**{field: value}))
        return apply

    def action_search(self) -> None:
        search = self.query_one("#queue-search", Input)
        search.display = True
        search.focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#queue-search", Input)
        if not search.display and not self.filter.text:
            return  # nothing to clear: the agent keeps their place in the queue
        if search.value:
            search.value = ""
        search.display = False
        self.table.focus()
        self.set_filter(self.filter.with_(text=""))

    @on(Input.Changed, "#queue-search")
    def _search_typed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        text = event.value[:200]
        self._search_timer = self.set_timer(
            SEARCH_DELAY, lambda: self.set_filter(self.filter.with_(text=text)))

    @on(Input.Submitted, "#queue-search")
    def _search_done(self) -> None:
        self.table.focus()


def _update(static: Static, text: str) -> None:
    """Repaint a one-line bar only when its text changed: every repaint costs bytes on the line."""
    if getattr(static, "_shown_text", None) != text:
        static._shown_text = text  # type: ignore[attr-defined]
        static.update(Content(text))
