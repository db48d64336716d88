"""`agent-console retention run` and `agent-console customer erase`: personal data kept no
longer than allowed."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from agent_console.cli_auth import add_proof_arguments, prove_actor
from agent_console.config import Settings
from agent_console.i18n import t
from agent_console.services.store import Store


def add_privacy_parsers(sub: argparse._SubParsersAction, common: Callable) -> None:
    retention = sub.add_parser("retention", help="anonymise what is past the site's retention "
                                                 "periods")
    rsub = retention.add_subparsers(dest="retention_command", parser_class=type(retention),
                                    required=True, metavar="{run}")
    run = rsub.add_parser("run", help="anonymise now (or count with --dry-run)")
    common(run)
    add_proof_arguments(run)
    run.add_argument("--dry-run", action="store_true", help="only count what would go")
    customer = sub.add_parser("customer", help="a customer's personal data")
    csub = customer.add_subparsers(dest="customer_command", parser_class=type(customer),
                                   required=True, metavar="{erase}")
    erase = csub.add_parser("erase", help="erase one customer's personal data on a valid request")
    common(erase)
    add_proof_arguments(erase)
    erase.add_argument("--phone", required=True, help="the customer's number")
    erase.add_argument("--reason", required=True)
    erase.add_argument("--reference", required=True, help="the request's number")


def run_privacy(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.services import privacy

    actor = prove_actor(args, store, settings)
    if args.command == "retention":
        report = privacy.retention_run(store, actor, dry_run=args.dry_run)
        key = "privacy.retention_dry" if args.dry_run else "privacy.retention_done"
        print(t(key, tickets=report.tickets, customers=report.customers))
        return 0
    report = privacy.erase_customer(store, actor, phone=args.phone, reason=args.reason,
                                    reference=args.reference)
    print(t("privacy.erased", tickets=report.tickets, notes=report.notes, drafts=report.drafts,
            cases=report.cases, other=sum(report.other.values())))
    return 0
