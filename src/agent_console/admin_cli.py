"""`agent-console agent …` and `agent-console audit …`: agents and the audit trail from the shell.

Commands that need a role (managing agents, exporting the trail) name who runs them (`--agent`)
and prove it with that agent's PIN (from the terminal, or standard input with --pin-stdin). A
store that never had an agent who may manage agents lets its first such agent be added without.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone

from agent_console.cli_auth import add_proof_arguments, prove_actor, read_secret
from agent_console.config import Settings
from agent_console.i18n import current_language, label, t
from agent_console.models.vocab import DEFAULT_SITE, Role, SiteKind
from agent_console.services import audit, auth, permissions
from agent_console.services.store import InputError, Store
from agent_console.text import clean_line


def add_admin_parsers(sub: argparse._SubParsersAction, common: Callable) -> None:
    agent = sub.add_parser("agent", help="manage agents: add, list, roles, PINs, disable")
    asub = agent.add_subparsers(dest="agent_command", parser_class=type(agent), required=True,
                                metavar="{add,list,set-role,set-site,reset-pin,disable,enable,bind}")
    roles = [r.value for r in Role]

    def command(name: str, help_text: str, *, code: bool = True):
        parser = asub.add_parser(name, help=help_text)
        common(parser)
        add_proof_arguments(parser)
        if code:
            parser.add_argument("code", metavar="ID")
        return parser

    add = command("add", "add an agent (their new PIN is asked for, or read from stdin after "
                         "yours)")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--team", default="")
    add.add_argument("--department")
    add.add_argument("--site", default=DEFAULT_SITE,
                     help=f"the hall or hotline centre they work at (default {DEFAULT_SITE})")
    command("list", "list agents", code=False).add_argument("--json", action="store_true")
    command("set-role", "change an agent's role").add_argument("role", choices=roles)
    command("set-site", "move an agent to another hall or hotline centre").add_argument("site")
    command("reset-pin", "set a new PIN and lift a lockout")
    command("disable", "stop an agent from signing in")
    command("enable", "let a disabled agent sign in again")
    bind = command("bind", "sign this OS account in as the agent without a PIN (SSH seats)")
    bind.add_argument("--os-user", help="the OS account; leave out to unbind")

    site = sub.add_parser("site", help="the halls and hotline centres of the store")
    ssub = site.add_subparsers(dest="site_command", parser_class=type(site), required=True,
                               metavar="{add,list}")
    site_add = ssub.add_parser("add", help="add a hall or hotline centre")
    common(site_add)
    add_proof_arguments(site_add)
    site_add.add_argument("code", metavar="CODE")
    site_add.add_argument("--name-en", required=True)
    site_add.add_argument("--name-zh", required=True)
    site_add.add_argument("--kind", required=True, choices=[k.value for k in SiteKind])
    site_list = ssub.add_parser("list", help="list the sites")
    common(site_list)
    site_list.add_argument("--json", action="store_true")

    trail = sub.add_parser("audit", help="verify or export the audit trail")
    tsub = trail.add_subparsers(dest="audit_command", parser_class=type(trail), required=True,
                                metavar="{verify,export,anchor}")
    common(tsub.add_parser("verify", help="walk the hash chain and report the first bad record"))
    common(tsub.add_parser("anchor", help="write the trail's head to the witness now"))
    export = tsub.add_parser("export", help="records for a compliance review (masked)")
    common(export)
    add_proof_arguments(export)
    export.add_argument("--since", help="only from this date (YYYY-MM-DD)")
    export.add_argument("--by", dest="by_agent", metavar="ID", help="only this agent's records")
    export.add_argument("--json", action="store_true")
    export.add_argument("--reveal", action="store_true",
                        help="full numbers (only for a role that may reveal them)")


def run_agent(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    command = args.agent_command
    if command == "add" and auth.bootstrap_open(store):
        actor = None  # the first agent who may manage agents, on a store that never had one
    else:
        actor = prove_actor(args, store, settings)
    if command == "list":
        actor.require(permissions.MANAGE_AGENTS)  # type: ignore[union-attr]
        rows = auth.list_all(store)
        if args.json:
            print(json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=1))
            return 0
        from agent_console.ticket_cli import print_table

        header = [t(f"cli.column.{c}") for c in ("agent", "name", "role", "site", "team",
                                                   "department", "os_user", "flags")]
        lines = [header]
        for row in rows:
            flags = [t(f"cli.flag.{f}") for f, on in (("disabled", not row.active),
                                                      ("locked", row.locked),
                                                      ("no_pin", not row.has_pin)) if on]
            department = store.catalog.departments.get(row.department or "")
            lines.append([row.code, clean_line(row.name), label("role", row.role), row.site,
                          row.team or "—", department.name(current_language())
                          if department else "—", row.os_user or "—", ", ".join(flags) or "—"])
        print_table(lines)
        return 0
    if command == "add":
        pin = read_secret(args, f"New PIN for {args.code}: ")
        auth.add_agent(store, actor, code=args.code, name=args.name, role=args.role, pin=pin,
                       team=args.team, department=args.department, site=args.site)
    elif command == "set-site":
        auth.set_site(store, actor, code=args.code, site=args.site)
    elif command == "set-role":
        auth.set_role(store, actor, code=args.code, role=args.role)
    elif command == "reset-pin":
        pin = read_secret(args, f"New PIN for {args.code}: ")
        auth.reset_pin(store, actor, code=args.code, pin=pin)
    elif command in ("disable", "enable"):
        auth.set_active(store, actor, code=args.code, active=command == "enable")
    else:
        auth.bind_os_user(store, actor, code=args.code, os_user=args.os_user)
    print(t("cli.agent_done", code=args.code))
    return 0


def run_site(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.services import sites

    if args.site_command == "add":
        actor = prove_actor(args, store, settings)
        sites.add_site(store, actor, code=args.code, name_en=args.name_en,
                       name_zh=args.name_zh, kind=args.kind)
        print(t("cli.agent_done", code=args.code))
        return 0
    found = sites.list_sites(store)
    if args.json:
        print(json.dumps([asdict(s) for s in found], ensure_ascii=False, indent=1))
        return 0
    from agent_console.ticket_cli import print_table

    lang = current_language()
    print_table([[t(f"cli.column.{c}") for c in ("site", "name", "kind")]] + [
        [s.code, clean_line(s.name(lang)), t(f"site.kind.{s.kind}")] for s in found])
    return 0


def run_audit(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    if args.audit_command == "verify":
        result = audit.verify(store)
        if result.ok:
            print(t("cli.audit_ok", count=result.count))
            return 0
        print(t("cli.audit_bad", id=result.first_bad_id, problem=result.problem))
        return 1
    if args.audit_command == "anchor":
        head = audit.anchor(store)
        print(t("cli.audit_anchored", id=head[0], hash=head[1][:16]))
        return 0
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since).replace(tzinfo=timezone.utc)
        except ValueError:
            raise InputError("since", f"{args.since!r} is not a date like 2026-11-24") from None
    actor = prove_actor(args, store, settings)
    records = audit.export(store, actor, since=since, agent=args.by_agent, reveal=args.reveal)
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
