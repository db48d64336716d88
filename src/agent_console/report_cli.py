"""`agent-console report`: the monthly complaint analysis, and its actions.

    report monthly [--month YYYY-MM] [--format md|csv|json] [--out FILE]
    report action add --month YYYY-MM --text TEXT --owner WHO --due YYYY-MM-DD [--category C]
    report action status ID open|done|dropped
Needs the run_reports permission (proved with the agent's PIN). The same store and month give
the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_console.config import Settings
from agent_console.i18n import t
from agent_console.services.store import InputError, Store


def add_report_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from agent_console.cli_auth import add_proof_arguments

    report = subparsers.add_parser("report", help="the monthly complaint analysis report")
    rsub = report.add_subparsers(dest="report_command", parser_class=type(report), required=True)
    monthly = rsub.add_parser("monthly", help="write one month's complaint analysis")
    common(monthly)
    add_proof_arguments(monthly)
    monthly.add_argument("--month", default=None, metavar="YYYY-MM",
                         help="the month (default: the current one)")
    monthly.add_argument("--format", default="md", choices=["md", "csv", "json"])
    monthly.add_argument("--out", default=None, metavar="FILE", help="write here, not to stdout")
    monthly.add_argument("--site", default="", help="one site (default: the sites you see)")
    action = rsub.add_parser("action", help="add an action or change its status")
    asub = action.add_subparsers(dest="action_command", parser_class=type(report), required=True)
    add = asub.add_parser("add", help="an action from a month's report, with owner and due date")
    common(add)
    add_proof_arguments(add)
    add.add_argument("--month", required=True, metavar="YYYY-MM")
    add.add_argument("--text", required=True)
    add.add_argument("--owner", required=True)
    add.add_argument("--due", required=True, metavar="YYYY-MM-DD")
    add.add_argument("--category", default="")
    status = asub.add_parser("status", help="mark an action open, done or dropped")
    common(status)
    add_proof_arguments(status)
    status.add_argument("id", type=int)
    status.add_argument("status", choices=["open", "done", "dropped"])


def run_report(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import report

    actor = prove_actor(args, store, settings)
    if args.report_command == "action":
        if args.action_command == "add":
            found = report.add_action(store, actor, month=args.month, text=args.text,
                                      owner=args.owner, due=args.due, category=args.category)
            print(found)
        else:
            report.set_action_status(store, actor, action_id=args.id, status=args.status)
        return 0
    month = args.month or report.default_month(store)
    data = report.monthly_report(store, actor, month=month, site=args.site)
    text = report.render(store, data, args.format)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError("out", f"{args.out}: {exc.strerror}", code="file") from None
        print(t("report.written", path=args.out), file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
