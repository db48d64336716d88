"""`agent-console ticket new|list`: tickets from the shell, for IVR and other systems."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from agent_console.cli_auth import add_proof_arguments, prove_actor
from agent_console.config import Settings
from agent_console.i18n import current_language, label, t
from agent_console.models.vocab import Channel, Grade, Status, WorkType
from agent_console.services.errors import InputError
from agent_console.services.store import Store
from agent_console.services.validation import DESCRIPTION_LIMIT
from agent_console.text import clean_line, display_width

# Work types only the app makes (a follow-up belongs to the survey that opened it).
CLI_WORK_TYPES = [w.value for w in WorkType if w != WorkType.FOLLOW_UP]


def add_ticket_parser(sub: argparse._SubParsersAction, common: Callable, parser_class: type) -> None:
    ticket = sub.add_parser("ticket", help="create or list tickets without the screen")
    tsub = ticket.add_subparsers(dest="ticket_command", parser_class=parser_class, required=True,
                                 metavar="{new,list}")
    new = tsub.add_parser("new", help="create a ticket and print its number")
    common(new)
    add_proof_arguments(new)
    new.add_argument("--phone", required=True)
    new.add_argument("--channel", required=True, choices=[c.value for c in Channel])
    new.add_argument("--type", required=True, dest="work_type", choices=CLI_WORK_TYPES)
    new.add_argument("--category", required=True, help="a category code of the site's catalog")
    new.add_argument("--description", required=True)
    new.add_argument("--grade", choices=[g.value for g in Grade])
    new.add_argument("--name", default="", help="customer name, for a new customer")
    listing = tsub.add_parser("list", help="list tickets, most urgent first")
    common(listing)
    add_proof_arguments(listing)
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status", choices=[*(s.value for s in Status), "all"])
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--site", default="",
                         help="one site's tickets (a role that sees other sites; default: "
                              "your own site, or every site for such a role)")


def run_ticket(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    if args.ticket_command == "new":
        return _new(args, store, settings)
    return _list(args, store, settings)


def _new(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.services.tickets import create_ticket

    if len(args.description) > 1_000_000:
        raise InputError("description", "longer than 1,000,000 characters", code="too_long",
                         limit=1_000_000)
    actor = prove_actor(args, store, settings)
    created = create_ticket(store, actor, phone=args.phone, channel=args.channel,
                            work_type=args.work_type, category=args.category,
                            description=args.description, grade=args.grade,
                            customer_name=args.name)
    print(created.number)
    if created.description_cut:
        print(t("cli.description_cut", limit=DESCRIPTION_LIMIT), file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.db import ts
    from agent_console.formatting import countdown_text, sla_state_of
    from agent_console.services.queue import QueueFilter, QueueReader

    if args.limit < 1:
        raise InputError("limit", "must be at least 1", code="at_least_one")
    actor = prove_actor(args, store, settings)
    flt = QueueFilter(site=args.site)
    if args.status == "all":
        flt = flt.with_(view="all")
    elif args.status:
        flt = flt.with_(status=args.status,
                        view="closed" if args.status in (Status.RESOLVED, Status.CLOSED) else "open")
    now_ts = ts(store.clock.now())
    rows = QueueReader(store).page(flt, actor, now_ts=now_ts, limit=args.limit)
    if args.json:
        print(json.dumps([{
            "number": r.number, "grade": r.grade, "status": r.status, "work_type": r.work_type,
            "category": r.category, "customer": r.customer_name, "phone": r.phone_masked,
            "handler": r.handler_name, "channel": r.channel, "site": r.site,
            "sla_state": sla_state_of(r, now_ts).value,
            "seconds_left": r.due_key - now_ts if not r.paused and r.is_open else None,
        } for r in rows], ensure_ascii=False, indent=1))
        return 0
    lang = current_language()
    header = [t(f"cli.column.{c}") for c in ("number", "left", "grade", "status", "category",
                                               "phone", "customer", "handler", "channel", "site")]
    lines = [header] + [[
        r.number, countdown_text(r, now_ts), label("grade", r.grade), label("status", r.status),
        store.catalog.categories[r.category].name(lang) if r.category in store.catalog.categories
        else r.category, r.phone_masked, clean_line(r.customer_name) or "—",
        clean_line(r.handler_name) or "—", label("channel", r.channel), r.site] for r in rows]
    print_table(lines)
    return 0


def print_table(lines: list[list[str]]) -> None:
    """Columns aligned by display width (Chinese takes two cells), two spaces apart."""
    widths = [max(display_width(row[i]) for row in lines) for i in range(len(lines[0]))]
    for row in lines:
        cells = [cell + " " * (widths[i] - display_width(cell)) for i, cell in enumerate(row)]
        print("  ".join(cells).rstrip())
