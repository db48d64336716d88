"""Command line: `agent-console` opens the queue; subcommands fill demo stores and script tickets."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from agent_console import __version__, db, i18n
from agent_console.clock import Clock, clock_from_env
from agent_console.config import (ConfigError, Settings, config_dir, load_settings, os_user,
                                  validate_lang)
from agent_console.models.read import AgentInfo
from agent_console.i18n import t
from agent_console.admin_cli import add_admin_parsers, run_agent, run_audit
from agent_console.classify_cli import add_classify_parser, run_classify
from agent_console.kb_cli import add_kb_parser, run_kb
from agent_console.services.catalog import CatalogError, load_catalog
from agent_console.services.sla import PolicyError, load_policy
from agent_console.services.store import InputError, Store, sync_catalog

if TYPE_CHECKING:
    from agent_console.app import AgentConsoleApp

PROG = "agent-console"


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--db", type=Path, default=default, metavar="PATH",
                        help="store file (default: AGENT_CONSOLE_DB or the user data dir)")
    parser.add_argument("--lang", default=default, metavar="en|zh", help="language on screen")
    parser.add_argument("--agent", default=default, metavar="ID",
                        help="who is working (default: the OS user)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Ticket queue, SLA clocks and service scripts for "
                                            "telecom front-line staff.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    demo = sub.add_parser("demo", help="fill a store with demo data and open it")
    _common(demo, suppress=True)
    demo.add_argument("--tickets", type=int, default=300, help="how many tickets (default 300)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument("--no-open", action="store_true", help="only fill the store")
    demo.add_argument("--reset", action="store_true", help="empty the store first")

    check = sub.add_parser("check", help="report the schema version and run SQLite's integrity check")
    _common(check, suppress=True)

    ticket = sub.add_parser("ticket", help="create or list tickets without the screen")
    tsub = ticket.add_subparsers(dest="ticket_command", parser_class=_Parser, required=True)
    new = tsub.add_parser("new", help="create a ticket and print its number")
    _common(new, suppress=True)
    new.add_argument("--phone", required=True)
    new.add_argument("--channel", required=True)
    new.add_argument("--type", required=True, dest="work_type")
    new.add_argument("--category", required=True)
    new.add_argument("--description", required=True)
    new.add_argument("--grade")
    new.add_argument("--name", default="", help="customer name, for a new customer")
    listing = tsub.add_parser("list", help="list tickets, most urgent first")
    _common(listing, suppress=True)
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=100)
    add_kb_parser(sub, lambda p: _common(p, suppress=True))
    add_admin_parsers(sub, lambda p: _common(p, suppress=True))
    add_classify_parser(sub, lambda p: _common(p, suppress=True))
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    lang = validate_lang(args.lang) if getattr(args, "lang", None) else None
    return settings.with_overrides(db=getattr(args, "db", None), lang=lang,
                                   agent=getattr(args, "agent", None))


def open_store(settings: Settings, clock: Clock) -> Store:
    """Check or create the store file, then load the policy and catalog it is used with."""
    path = settings.db.expanduser()
    if path == Settings().db and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    db.open_store(path)
    store = Store(path=path, clock=clock, policy=load_policy(config_dir() / "sla_policy.toml"),
                  catalog=load_catalog(config_dir() / "catalog.toml"))
    sync_catalog(store)
    return store


def make_app(store: Store, settings: Settings, *, agent: AgentInfo | None = None) -> AgentConsoleApp:
    """The one app factory, shared by the command line and the tests.

    Without `agent` the app opens on sign-in, unless this OS account is bound to an agent and
    the `os_user_sign_in` setting allows it.
    """
    from agent_console.app import AgentConsoleApp
    from agent_console.services.auth import sign_in_os_user

    if agent is None and settings.os_user_sign_in:
        agent = sign_in_os_user(store, os_user=os_user())
    return AgentConsoleApp(store=store, settings=settings, agent=agent)


def _run_app(store: Store, settings: Settings) -> int:
    from agent_console.services.auth import sign_out

    app = make_app(store, settings)
    try:
        app.run()
    finally:
        if app.agent is not None:
            sign_out(store, code=app.agent.code)
    return app.return_code or 0


def _cmd_demo(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.services.demo import fill_demo

    if args.tickets < 0 or args.tickets > 2_000_000:
        raise UsageError("--tickets: must be between 0 and 2000000")
    with store.connection() as conn:
        existing = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
    if existing and args.reset:
        # A fresh file rather than deleting rows: the audit trail is append-only by design.
        for suffix in ("", "-wal", "-shm"):
            store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
        db.open_store(store.path)
        sync_catalog(store)
        existing = 0
    if existing:
        print(t("cli.demo_kept", count=existing, path=store.path))
    else:
        summary = fill_demo(store, tickets=args.tickets, seed=args.seed)
        print(t("cli.demo_filled", tickets=summary.tickets, customers=summary.customers,
                agents=summary.agents, path=store.path))
        print(t("cli.demo_cases", count=summary.cases))
        print(t("cli.demo_pins"))
    if args.no_open:
        return 0
    if not settings.agent or settings.agent == Settings().agent:
        settings = settings.with_overrides(agent="a001")
    return _run_app(store, settings)


def _cmd_check(store: Store) -> int:
    version = db.schema_version(store.path)
    result = db.integrity_check(store.path)
    print(t("cli.check_schema", version=version, latest=db.SCHEMA_VERSION))
    if result == ["ok"]:
        print(t("cli.check_ok"))
        return 0
    for line in result[:20]:
        print(line)
    return 1


def _cmd_ticket_new(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.services.tickets import create_ticket

    created = create_ticket(store, phone=args.phone, channel=args.channel, work_type=args.work_type,
                            category=args.category, description=args.description,
                            grade=args.grade, customer_name=args.name, by=settings.agent)
    print(created.number)
    return 0


def _cmd_ticket_list(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.db import ts
    from agent_console.models.vocab import Status
    from agent_console.services import validation
    from agent_console.services.directory import find_agent
    from agent_console.services.queue import QueueFilter, QueueReader, Viewer
    from agent_console.formatting import countdown_text, sla_state_of

    flt = QueueFilter()
    if args.status:
        validation.choice("status", args.status, [s.value for s in Status])
        flt = flt.with_(status=args.status,
                        view="closed" if args.status in (Status.RESOLVED, Status.CLOSED) else "open")
    if args.limit < 1:
        raise UsageError("--limit: must be at least 1")
    agent = find_agent(store, settings.agent)
    viewer = Viewer(agent.id if agent else None)
    now_ts = ts(store.clock.now())
    reader = QueueReader(store.path)
    try:
        rows = reader.page(flt, viewer, now_ts=now_ts, limit=args.limit)
    finally:
        reader.close()
    if args.json:
        print(json.dumps([{
            "number": r.number, "grade": r.grade, "status": r.status, "work_type": r.work_type,
            "category": r.category, "customer": r.customer_name, "phone": r.phone_masked,
            "handler": r.handler_name, "channel": r.channel,
            "sla_state": sla_state_of(r, now_ts).value,
            "seconds_left": r.due_key - now_ts if not r.paused and r.is_open else None,
        } for r in rows], ensure_ascii=False, indent=1))
        return 0
    from agent_console.text import clean_line

    for r in rows:
        print("  ".join([r.number, countdown_text(r, now_ts), i18n.label("grade", r.grade),
                         i18n.label("status", r.status), r.category, r.phone_masked,
                         clean_line(r.customer_name), clean_line(r.handler_name), r.channel]))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        settings = _settings(args)
        i18n.set_language(settings.lang)
        if args.command == "classify":  # needs no store
            return run_classify(args)
        clock = clock_from_env(os.environ.get("AGENT_CONSOLE_NOW"))
        store = open_store(settings, clock)
        if args.command == "demo":
            return _cmd_demo(args, store, settings)
        if args.command == "check":
            return _cmd_check(store)
        if args.command == "ticket":
            if args.ticket_command == "new":
                return _cmd_ticket_new(args, store, settings)
            return _cmd_ticket_list(args, store, settings)
        if args.command == "kb":
            return run_kb(args, store, author=settings.agent)
        if args.command == "agent":
            return run_agent(args, store, actor=settings.agent)
        if args.command == "audit":
            return run_audit(args, store, actor=settings.agent)
        return _run_app(store, settings)
    except (UsageError, InputError, ConfigError, db.StoreError, PolicyError, CatalogError,
            ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _entry() -> Any:
    sys.exit(main())
