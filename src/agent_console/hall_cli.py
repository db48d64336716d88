"""`agent-console hall …`: the retail hall's walk-in queue from the command line.

    hall kiosk                     the reception / self-service screen (signed in once with a PIN)
    hall display                   the hall's full-screen board (numbers and counts only)
    hall issue SERVICE [--lane L] [--phone P]   take a number, print it with the wait
    hall open COUNTER | close COUNTER           a counter opens or stops calling
    hall call COUNTER              call the next number at a counter, print it
    hall measures [--day D]        per service and counter: wait, service time, no-shows
    hall close-day [--reason R]    closing time: carry or close what still waits (hall setting)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from agent_console.cli_auth import add_proof_arguments
from agent_console.i18n import current_language, t
from agent_console.models.vocab import DEFAULT_SITE


def add_hall_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    hall = subparsers.add_parser("hall", help="the retail hall's walk-in queue: kiosk, display, "
                                              "counters, measures")
    hsub = hall.add_subparsers(dest="hall_command", parser_class=type(hall), required=True)
    kiosk = hsub.add_parser("kiosk", help="the reception / self-service screen: take a number")
    common(kiosk)
    add_proof_arguments(kiosk)
    display = hsub.add_parser("display", help="the hall's board: numbers called, waits")
    common(display)
    display.add_argument("--site", default=DEFAULT_SITE,
                         help=f"which site's hall (default {DEFAULT_SITE})")
    issue = hsub.add_parser("issue", help="take a number for a service")
    common(issue)
    add_proof_arguments(issue)
    issue.add_argument("service", help="a service code from the hall's setup (business, fault …)")
    issue.add_argument("--lane", default="normal", help="normal, vip or green")
    issue.add_argument("--phone", default="", help="the customer's phone (shown masked)")
    for name, text in (("open", "open a counter"), ("close", "close a counter"),
                       ("call", "call the next number at a counter")):
        cmd = hsub.add_parser(name, help=text)
        common(cmd)
        add_proof_arguments(cmd)
        cmd.add_argument("counter")
    measures = hsub.add_parser("measures", help="the day's measures per service and counter")
    common(measures)
    add_proof_arguments(measures)
    measures.add_argument("--day", default="", help="YYYY-MM-DD (default: today in the hall)")
    measures.add_argument("--site", default="", help="one site's hall (default: your own; "
                                                     "every hall for a role that sees other sites)")
    close = hsub.add_parser("close-day", help="closing time: numbers still waiting are carried "
                                              "or closed, as the hall's setting says")
    common(close)
    add_proof_arguments(close)
    close.add_argument("--reason", default="", help="why (kept with closed numbers)")
    close.add_argument("--site", default="", help="one site's hall (default: your own; every "
                                                  "hall for a role that sees other sites)")


def run_hall(args: argparse.Namespace, store: Any, settings: Any) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import hall

    command = args.hall_command
    if command == "display":
        return _run_screen(store, settings, None, site=args.site)
    actor = prove_actor(args, store, settings)
    if command == "kiosk":
        return _run_screen(store, settings, actor)
    if command == "issue":
        issued = hall.issue(store, actor, service=args.service, lane=args.lane, phone=args.phone)
        from agent_console.hall_text import wait_text

        print(t("hall.cli.issued", number=issued.number, ahead=issued.ahead,
                wait=wait_text(issued.estimate)))
        return 0
    if command == "open":
        hall.open_counter(store, actor, counter=args.counter)
        print(t("hall.done.open_counter", number=""))
        return 0
    if command == "close":
        hall.close_counter(store, actor, counter=args.counter)
        print(t("hall.done.close_counter", number=""))
        return 0
    if command == "call":
        visit = hall.call_next(store, actor, counter=args.counter)
        print(t("hall.counter.nobody") if visit is None else
              t("hall.cli.called", number=visit.number, counter=args.counter))
        return 0
    if command == "measures":
        return _measures(hall.day_measures(store, actor, day=args.day, site=args.site), hall.config(store))
    carried, closed = hall.close_day(store, actor, reason=args.reason, site=args.site)
    print(t("hall.cli.closed_day", carried=carried, closed=closed))
    return 0


def _measures(rows: list[Any], cfg: Any) -> int:
    from agent_console.hall_text import pad as cell_pad

    lang = current_language()
    head = [t("hall.measure.service"), t("hall.measure.counter"), t("hall.measure.served"),
            t("hall.measure.no_shows"), t("hall.measure.wait"), t("hall.measure.service_time"),
            t("hall.measure.within"), t("hall.measure.error")]
    widths = [18, 10, 6, 6, 9, 9, 9, 9]
    print(" ".join(cell_pad(h, w) for h, w in zip(head, widths)))

    def minutes(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f}"

    for r in rows:
        service = cfg.services.get(r.service)
        counter = cfg.counters.get(r.counter)
        cells = [service.name(lang) if service else r.service,
                 counter.name(lang) if counter else r.counter, str(r.served), str(r.no_shows),
                 minutes(r.wait_median), minutes(r.service_median),
                 "—" if r.within_target is None else f"{r.within_target:.0%}",
                 minutes(r.estimate_error_median)]
        print(" ".join(cell_pad(c, w) for c, w in zip(cells, widths)))
    if not rows:
        print(t("hall.measure.none"))
    return 0


def _run_screen(store: Any, settings: Any, actor: Any, site: str = DEFAULT_SITE) -> int:
    make_hall_app(store, settings, actor, site).run()
    return 0


def make_hall_app(store: Any, settings: Any, actor: Any, site: str = DEFAULT_SITE) -> Any:
    """A hall screen as an app of its own: the kiosk (with an actor) or the display (without);
    each runs in a process of its own on the shared store."""
    from textual.app import App

    from agent_console.i18n import set_language
    from agent_console.services.sla import parse_zone

    set_language(settings.lang)
    zone = parse_zone(settings.timezone)

    class HallApp(App[None]):
        TITLE = t("hall.display.title")

        def report_worker_error(self, event: Any) -> None:
            from textual.worker import WorkerState

            from agent_console.services.errors import ServiceError
            from agent_console.text import clean_line

            if event.state == WorkerState.ERROR:
                error = event.worker.error
                self.notify(clean_line(error.localized() if isinstance(error, ServiceError)
                                       else str(error)), severity="error", timeout=8)

        def on_mount(self) -> None:
            self.push_screen(make_hall_screen(store, settings, actor, zone, site))

    return HallApp()


def make_hall_screen(store: Any, settings: Any, actor: Any, zone: Any,
                     site: str = DEFAULT_SITE) -> Any:
    """The kiosk (with an actor) or the display (without)."""
    if actor is None:
        from agent_console.screens.hall_display_screen import HallDisplayScreen

        return HallDisplayScreen(store, zone, site)
    from agent_console.screens.context import ScreenContext
    from agent_console.screens.hall_kiosk_screen import HallKioskScreen

    return HallKioskScreen(ScreenContext(store, actor, zone, settings))
