"""A contact from sign-in to resolution, keyboard only: sign-in and lock fields reached by Tab,
lockout hints, take-overs, the live ticket, going to a ticket by number, the resolution."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input

from agent_console.cli import make_app
from agent_console.screens.queue_screen import QueueScreen
from agent_console.screens.sign_in_screen import SignInScreen

from .conftest import app_for, settings_for, settle, wait_until


async def test_tab_reaches_the_agent_id_on_the_lock_screen_and_another_agent_signs_in(demo_store):
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.action_lock()
        await settle(app, pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.focused.id == "sign-in-pin"
        await pilot.press("shift+tab")
        assert app.focused.id == "sign-in-code"
        code = app.screen.query_one("#sign-in-code", Input)
        code.value = ""
        await pilot.press(*"a004", "tab")
        assert app.focused.id == "sign-in-pin"
        await pilot.press(*"1111", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen) and app.agent.code == "a004"


async def test_sign_in_says_how_many_tries_remain_and_when_the_lock_ends(demo_store, clock):
    app = make_app(demo_store, settings_for(demo_store, agent="a002", lockout_attempts=3,
                                            lockout_minutes=5))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)

        def error() -> str:
            return str(app.screen.query_one("#sign-in-error").render())

        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        assert "locked: 2" in error()
        await pilot.press("shift+tab", "tab")  # to the id and back: Tab works signed out
        assert app.focused.id == "sign-in-pin"
        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        assert "locked: 1" in error()
        app.screen.query_one("#sign-in-pin", Input).focus()
        await pilot.press(*"0000", "enter")
        await settle(app, pilot)
        until = (clock.now() + timedelta(minutes=5)).astimezone(app.zone).strftime("%H:%M")
        assert "locked until" in error() and until in error()


def _held_by_other(store, me: str) -> tuple[int, str]:
    """A ticket someone other than `me` handles, and that handler's id."""
    with store.read() as tx:
        row = tx.one("SELECT t.id, a.code FROM ticket t JOIN agent a ON a.id = t.handler_id "
                     "WHERE a.code != ? AND t.is_open = 1 ORDER BY t.id LIMIT 1", (me,))
    return row[0], row[1]


def _handler(store, ticket_id: int) -> str:
    with store.read() as tx:
        return tx.scalar("SELECT a.code FROM ticket t JOIN agent a ON a.id = t.handler_id "
                         "WHERE t.id = ?", (ticket_id,))


async def test_taking_over_a_held_ticket_asks_first_and_the_previous_handler_is_told(demo_store):
    from agent_console.screens.choice_screen import ChoiceScreen
    from agent_console.screens.ticket_screen import TicketScreen

    ticket_id, previous = _held_by_other(demo_store, "a003")
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(TicketScreen(app.ctx, ticket_id))
        await settle(app, pilot)
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, ChoiceScreen)
                         and app.screen.query("#dialog-title"), what="the question")
        assert f"({previous})" in str(app.screen.query_one("#dialog-title").render())
        await pilot.press("enter")  # the first answer leaves it with them
        await settle(app, pilot)
        assert _handler(demo_store, ticket_id) == previous
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, ChoiceScreen)
                         and app.screen.query("#dialog-title"), what="the question")
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert _handler(demo_store, ticket_id) == "a003"

    told = app_for(demo_store, agent=previous)
    async with told.run_test(size=(120, 40)) as pilot:
        await wait_until(lambda: any("a003" in n.message or "took over" in n.message
                                     for n in told._notifications), what="the notice")
        await settle(told, pilot)
        assert sum("took over" in n.message for n in told._notifications) == 1


async def test_an_open_ticket_shows_another_agents_change_keeping_the_place(demo_store, clock,
                                                                           tmp_path):
    from agent_console.screens.ticket_screen import TicketScreen
    from agent_console.services import tickets

    from .conftest import actor_for, make_store

    ticket_id, _previous = _held_by_other(demo_store, "a003")
    other = make_store(tmp_path / "store.db", clock)  # a second handle, as another process has
    assert other.url == demo_store.url
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(TicketScreen(app.ctx, ticket_id))
        await settle(app, pilot)
        screen = app.screen
        for _ in range(30):  # more lines than the timeline shows
            tickets.add_note(other, actor_for(other, "s900"), ticket_id=ticket_id, text="已联系")
        await wait_until(lambda: "已联系" in str(screen.query_one("#ticket-events").render()))
        timeline = screen.query_one("#ticket-timeline")
        timeline.scroll_to(y=3, animate=False)
        await wait_until(lambda: timeline.scroll_y == 3, what="scrolled to the fourth line")
        tickets.add_note(other, actor_for(other, "s900"), ticket_id=ticket_id,
                         text="客户回电确认恢复")
        await wait_until(lambda: "客户回电确认恢复" in str(screen.query_one("#ticket-events").render()),
                         what="the other agent's note")
        assert app.screen is screen and timeline.scroll_y == 3


async def test_resolving_asks_for_the_resolution_prefilled_with_the_draft(demo_store):
    from textual.widgets import TextArea

    from agent_console.screens.contact_dialogs import ResolutionScreen
    from agent_console.screens.status_screen import StatusScreen
    from agent_console.screens.ticket_screen import TicketScreen
    from agent_console.services import contact, tickets

    from .conftest import actor_for

    me = actor_for(demo_store, "a003")
    ticket_id, _previous = _held_by_other(demo_store, "a003")
    detail = tickets.ticket_detail(demo_store, me, ticket_id=ticket_id)
    contact.set_resolution(demo_store, me, ticket_id=ticket_id, expected_version=detail.version,
                           text="已远程重启光猫")
    app = app_for(demo_store, agent="a003")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(TicketScreen(app.ctx, ticket_id))
        await settle(app, pilot)
        await pilot.press("s")
        await wait_until(lambda: isinstance(app.screen, StatusScreen))
        app.screen.dismiss("resolved")
        await wait_until(lambda: isinstance(app.screen, ResolutionScreen)
                         and app.screen.query(TextArea), what="the question")
        area = app.screen.query_one(TextArea)
        assert area.text == "已远程重启光猫"
        await pilot.press("ctrl+a")  # keys go to the text: the agent edits the draft
        area.text = ""
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ResolutionScreen)  # required
        area.insert("已远程重启光猫，客户确认上网恢复")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen)
    done = tickets.ticket_detail(demo_store, me, ticket_id=ticket_id)
    assert done.status == "resolved" and done.resolution == "已远程重启光猫，客户确认上网恢复"


async def test_taken_by_me_and_go_to_ticket_by_number(demo_store):
    from agent_console.screens.contact_dialogs import GoToTicketScreen
    from agent_console.screens.ticket_screen import TicketScreen

    from .pilot import help_text

    with demo_store.read() as tx:
        mine = tx.one("SELECT t.number FROM ticket t JOIN agent a ON a.id = t.created_by "
                      "WHERE a.code = 'a001' ORDER BY t.id LIMIT 1")[0]
    app = app_for(demo_store, agent="a001")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "Taken by me" in await help_text(app, pilot)
        await pilot.press("b")
        await settle(app, pilot)
        assert app.screen.filter.scope == "created"
        await pilot.press("number_sign")
        await wait_until(lambda: isinstance(app.screen, GoToTicketScreen))
        await pilot.press(*"T000000000000", "enter")
        await settle(app, pilot)
        assert any("No ticket T000000000000" in n.message for n in app._notifications)
        await pilot.press("number_sign")
        await wait_until(lambda: isinstance(app.screen, GoToTicketScreen))
        await pilot.press(*mine.lower(), "enter")
        await wait_until(lambda: isinstance(app.screen, TicketScreen), what="the ticket opened")
        await settle(app, pilot)
        assert mine in str(app.screen.query_one("#ticket-title").render())


async def test_the_customers_recent_tickets_are_on_the_ticket_and_open_with_enter(demo_store):
    from textual.widgets import OptionList

    from agent_console.screens.ticket_screen import TicketScreen

    with demo_store.read() as tx:
        first, second = tx.one("SELECT min(id), max(id) FROM ticket GROUP BY customer_id "
                               "HAVING count(*) > 1 ORDER BY customer_id LIMIT 1")
        number = tx.scalar("SELECT number FROM ticket WHERE id = ?", (first,))
    app = app_for(demo_store, agent="s900")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(TicketScreen(app.ctx, second))
        await settle(app, pilot)
        listed = app.screen.query_one("#customer-tickets", OptionList)
        await wait_until(lambda: listed.option_count > 0, what="the customer's tickets")
        ids = [listed.get_option_at_index(i).id for i in range(listed.option_count)]
        assert str(first) in ids and str(second) not in ids
        listed.focus()
        listed.highlighted = ids.index(str(first))
        await pilot.press("enter")
        await wait_until(lambda: isinstance(app.screen, TicketScreen)
                         and app.screen.ticket_id == first, what="the older ticket opened")
        await settle(app, pilot)
        assert number in str(app.screen.query_one("#ticket-title").render())


async def test_an_agent_proposes_a_case_and_a_supervisor_approves_it_in_the_knowledge_base(
        demo_store):
    from textual.widgets import TextArea

    from agent_console.screens.case_edit_screen import CaseEditScreen
    from agent_console.screens.choice_screen import ChoiceScreen
    from agent_console.screens.knowledge_screen import KnowledgeScreen
    from agent_console.screens.ticket_screen import TicketScreen
    from agent_console.services import knowledge

    from .conftest import actor_for

    me = actor_for(demo_store, "a003")
    with demo_store.read() as tx:
        ticket_id = tx.scalar("SELECT id FROM ticket WHERE status = 'resolved' ORDER BY id LIMIT 1")
    app = app_for(demo_store, agent="a003")  # a senior: may not edit the knowledge base
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(TicketScreen(app.ctx, ticket_id))
        await settle(app, pilot)
        await pilot.press("M")
        await wait_until(lambda: isinstance(app.screen, CaseEditScreen)
                         and app.screen.query("#case-cause"), what="the case form")
        form = app.screen
        form.query_one("#case-cause", TextArea).text = "机顶盒认证失败"
        form.query_one("#case-resolution", TextArea).text = "重新绑定机顶盒账号后恢复"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen)
        assert any("waits for a supervisor" in n.message for n in app._notifications)
    assert knowledge.search(demo_store, query="机顶盒认证失败") == []
    assert me.code == "a003"

    boss = app_for(demo_store, agent="s900")
    async with boss.run_test(size=(120, 40)) as pilot:
        await settle(boss, pilot)
        await pilot.press("f2")
        await wait_until(lambda: isinstance(boss.screen, KnowledgeScreen))
        await settle(boss, pilot)
        await boss.screen.run_action("review_proposals")
        await wait_until(lambda: isinstance(boss.screen, ChoiceScreen)
                         and boss.screen.query("#dialog-title"), what="the proposals")
        await pilot.press("end", "enter")  # the newest proposal (the demo has one before it)
        await wait_until(lambda: isinstance(boss.screen, ChoiceScreen) and
                         "机顶盒认证失败" in str(boss.screen.query_one("#dialog-title").render()),
                         what="the proposal shown")
        await pilot.press("enter")  # approve
        await settle(boss, pilot)
        await wait_until(lambda: knowledge.search(demo_store, query="机顶盒认证失败"),
                         what="the case found")
