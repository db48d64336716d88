"""`agent-console compensation` and `agent-console callback`: compensation given at resolution
and call-backs promised to customers, from the command line.

    compensation give TICKET bill_credit|data_mb|points AMOUNT [--reason TEXT]
    compensation approve ID | compensation refuse ID     (someone whose own limit covers it)
    compensation pending                                  (run_reports)
    callback promise TICKET --at "YYYY-MM-DD HH:MM" [--note TEXT]   (the site's local time)
    callback done ID
    callback list [--mine]
TICKET is a ticket number (T…) or id. Each proves the agent with their PIN.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from agent_console.config import Settings
from agent_console.i18n import t
from agent_console.services.store import InputError, NotFoundError, Store


def add_shift_parsers(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from agent_console.cli_auth import add_proof_arguments

    comp = subparsers.add_parser("compensation", help="record compensation; approve above a limit")
    csub = comp.add_subparsers(dest="comp_command", parser_class=type(comp), required=True)
    give = csub.add_parser("give", help="compensation on a ticket (bill credit, data MB, points)")
    give.add_argument("ticket")
    give.add_argument("kind", choices=["bill_credit", "data_mb", "points"])
    give.add_argument("amount", type=float)
    give.add_argument("--reason", default="")
    for name in ("approve", "refuse"):
        cmd = csub.add_parser(name, help=f"{name} compensation waiting above its giver's limit")
        cmd.add_argument("id", type=int)
    pending = csub.add_parser("pending", help="compensation waiting for approval")
    for cmd in (give, pending, *[csub.choices[n] for n in ("approve", "refuse")]):
        common(cmd)
        add_proof_arguments(cmd)
    call = subparsers.add_parser("callback", help="promise a customer a call back at a time")
    bsub = call.add_subparsers(dest="callback_command", parser_class=type(call), required=True)
    promise = bsub.add_parser("promise", help="a reminder on the ticket, warned before it is due")
    promise.add_argument("ticket")
    promise.add_argument("--at", required=True, metavar="YYYY-MM-DD HH:MM")
    promise.add_argument("--note", default="")
    done = bsub.add_parser("done", help="the call-back was made")
    done.add_argument("id", type=int)
    listing = bsub.add_parser("list", help="call-backs promised and not yet made")
    listing.add_argument("--mine", action="store_true")
    for cmd in (promise, done, listing):
        common(cmd)
        add_proof_arguments(cmd)


def _ticket_id(store: Store, text: str) -> int:
    with store.read() as tx:
        found = tx.scalar("SELECT id FROM ticket WHERE number = ?", (text.strip(),))
        if found is None and text.strip().isdigit():
            found = tx.scalar("SELECT id FROM ticket WHERE id = ?", (int(text),))
    if found is None:
        raise NotFoundError(f"ticket {text}")
    return int(found)


def run_compensation(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import compensation

    actor = prove_actor(args, store, settings)
    if args.comp_command == "give":
        found = compensation.give_compensation(store, actor, ticket_id=_ticket_id(store, args.ticket),
                                               kind=args.kind, amount=args.amount,
                                               reason=args.reason)
        print(f"{found.id} " + t("compensation.given" if found.status == "given"
                                 else "compensation.pending"))
    elif args.comp_command in ("approve", "refuse"):
        found = compensation.decide_compensation(store, actor, compensation_id=args.id,
                                                 approve=args.comp_command == "approve")
        print(t(f"compensation.{found.status}"))
    else:
        for c in compensation.pending_compensation(store, actor):
            print(f"{c.id}\tticket {c.ticket_id}\t{t(f'compensation.kind_{c.kind}')}\t"
                  f"{c.amount:g}\t{c.given_by}")
    return 0


def run_callback(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import compensation, kpi

    actor = prove_actor(args, store, settings)
    zone = kpi.config_for(store).settings.zone
    if args.callback_command == "promise":
        try:
            when = datetime.strptime(args.at.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=zone)
        except ValueError:
            raise InputError("at", f"{args.at!r} is not a time like 2026-11-24 15:30",
                             code="time") from None
        found = compensation.promise_callback(store, actor, ticket_id=_ticket_id(store, args.ticket),
                                              due_at=when, note=args.note)
        print(f"{found.id} " + t("callback.promised",
                                 at=found.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")))
    elif args.callback_command == "done":
        compensation.complete_callback(store, actor, callback_id=args.id)
    else:
        for c in compensation.open_callbacks(store, actor, mine=args.mine):
            print(f"{c.id}\t{c.number}\t{c.due_at.astimezone(zone):%Y-%m-%d %H:%M}\t{c.note}")
    return 0
