"""`agent-console agent …` and `agent-console audit …`: agents and the audit trail from the shell.

Commands that need a role (managing agents, exporting the trail) name who runs them (`--agent`)
and prove it with that agent's PIN; a store with nobody in that role yet accepts its first one
without.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone

from agent_console.i18n import label, t
from agent_console.services import audit, auth, permissions
from agent_console.services.store import InputError, Store
from agent_console.text import clean_line


def add_admin_parsers(sub: argparse._SubParsersAction, common: Callable) -> None:
    agent = sub.add_parser("agent", help="manage agents: add, list, roles, PINs, disable")
    asub = agent.add_subparsers(dest="agent_command", parser_class=type(agent), required=True)

    def command(name: str, help_text: str, *, code: bool = True, pin: bool = False):  # noqa: ANN202
        parser = asub.add_parser(name, help=help_text)
        common(parser)
        if code:
            parser.add_argument("code", metavar="ID")
        if pin:
            parser.add_argument("--pin", help="the new PIN (asked for when typing at a terminal)")
        parser.add_argument("--my-pin", help="your own PIN (asked for when typing at a terminal)")
        return parser

    add = command("add", "add an agent", pin=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True)
    add.add_argument("--team", default="")
    add.add_argument("--department")
    command("list", "list agents", code=False).add_argument("--json", action="store_true")
    command("set-role", "change an agent's role").add_argument("role")
    command("reset-pin", "set a new PIN and lift a lockout", pin=True)
    command("disable", "stop an agent from signing in")
    command("enable", "let a disabled agent sign in again")
    bind = command("bind", "sign this OS account in as the agent without a PIN (SSH seats)")
    bind.add_argument("--os-user", help="the OS account; leave out to unbind")

    trail = sub.add_parser("audit", help="verify or export the audit trail")
    tsub = trail.add_subparsers(dest="audit_command", parser_class=type(trail), required=True)
    common(tsub.add_parser("verify", help="walk the hash chain and report the first bad record"))
    export = tsub.add_parser("export", help="records for a compliance review (masked)")
    common(export)
    export.add_argument("--since", help="only from this date (YYYY-MM-DD)")
    export.add_argument("--by", dest="by_agent", metavar="ID", help="only this agent's records")
    export.add_argument("--json", action="store_true")
    export.add_argument("--reveal", action="store_true",
                        help="full numbers (only for a role that may reveal them)")
    export.add_argument("--my-pin", help="your own PIN (asked for when typing at a terminal)")


def _secret(given: str | None, flag: str, prompt: str) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise InputError(flag, "required when not typing at a terminal")
    return getpass.getpass(prompt)


def _prove(args: argparse.Namespace, store: Store, actor: str, permission: str) -> str:
    """The actor's role, proven by their PIN; refused unless the role has `permission`.

    A store where no agent holds the permission yet lets its first one in (bootstrap).
    """
    if not any(permissions.can(a.role, permission) and a.active and a.has_pin
               for a in auth.list_all(store)):
        return ""
    pin = _secret(args.my_pin, "--my-pin", f"PIN for {actor}: ")
    try:
        signed = auth.sign_in(store, code=actor, pin=pin)
    except auth.SignInError:
        raise InputError("--my-pin", f"wrong PIN for {actor!r}, or locked out") from None
    permissions.require(signed.role, permission)
    return signed.role


def run_agent(args: argparse.Namespace, store: Store, *, actor: str) -> int:
    command = args.agent_command
    if command == "list":
        rows = auth.list_all(store)
        if args.json:
            print(json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=1))
        for row in [] if args.json else rows:
            flags = [f for f, on in (("disabled", not row.active), ("locked", row.locked),
                                     ("no PIN", not row.has_pin)) if on]
            print("  ".join([row.code, clean_line(row.name), label("role", row.role), row.team,
                             row.department or "—", row.os_user or "—", ", ".join(flags)]))
        return 0
    _prove(args, store, actor, permissions.MANAGE_AGENTS)
    if command == "add":
        pin = _secret(args.pin, "--pin", f"New PIN for {args.code}: ")
        auth.add_agent(store, by=actor, code=args.code, name=args.name, role=args.role, pin=pin,
                       team=args.team, department=args.department)
    elif command == "set-role":
        auth.set_role(store, by=actor, code=args.code, role=args.role)
    elif command == "reset-pin":
        pin = _secret(args.pin, "--pin", f"New PIN for {args.code}: ")
        auth.reset_pin(store, by=actor, code=args.code, pin=pin)
    elif command in ("disable", "enable"):
        auth.set_active(store, by=actor, code=args.code, active=command == "enable")
    else:
        auth.bind_os_user(store, by=actor, code=args.code, os_user=args.os_user)
    print(t("cli.agent_done", code=args.code))
    return 0


def run_audit(args: argparse.Namespace, store: Store, *, actor: str) -> int:
    if args.audit_command == "verify":
        result = audit.verify(store)
        if result.ok:
            print(t("cli.audit_ok", count=result.count))
            return 0
        print(t("cli.audit_bad", id=result.first_bad_id, problem=result.problem))
        return 1
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=timezone.utc)
        except ValueError:
            raise InputError("--since", f"{args.since!r} is not a date like 2026-11-24") from None
    role = _prove(args, store, actor, permissions.RUN_REPORTS)
    if args.reveal:
        permissions.require(role, permissions.REVEAL_PII)
    audit.record(store, agent=actor, action=audit.Action.EXPORT, target="audit",
                 detail={"since": args.since or "", "agent": args.by_agent or "",
                         "revealed": args.reveal})
    records = audit.export(store, since=since, agent=args.by_agent, reveal=args.reveal)
    if args.json:
        print(json.dumps([{"id": r.id, "at": r.at.isoformat(), "agent": r.agent_code,
                           "action": r.action, "target": r.target, "detail": r.detail}
                          for r in records], ensure_ascii=False, indent=1))
        return 0
    for r in records:
        detail = json.dumps(r.detail, ensure_ascii=False)
        print(clean_line(f"{r.id}  {r.at:%Y-%m-%d %H:%M:%S}  {r.agent_code}  {r.action}  "
                         f"{r.target}  {detail}"))
    return 0
