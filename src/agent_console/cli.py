"""Command line: `agent-console` opens the queue; subcommands fill demo stores and script tickets."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from agent_console import __version__, db, i18n
from agent_console.admin_cli import add_admin_parsers, run_agent, run_audit, run_site
from agent_console.backup_cli import add_backup_parsers, add_migrate_parser, run_backup, run_migrate, run_restore
from agent_console.classify_cli import add_classify_parser, run_classify, run_learn, wants_store
from agent_console.cli_auth import add_proof_arguments
from agent_console.clock import Clock, FrozenClock, SystemClock
from agent_console.config import ConfigError, Settings, load_settings, validate_lang
from agent_console.hall_cli import add_hall_parser, run_hall
from agent_console.i18n import t
from agent_console.kb_cli import add_kb_parser, run_kb
from agent_console.kpi_cli import add_kpi_parser, run_kpi
from agent_console.models.read import AgentInfo
from agent_console.outage_cli import add_outage_parsers, run_outage
from agent_console.privacy_cli import add_privacy_parsers, run_privacy
from agent_console.report_cli import add_report_parser, run_report
from agent_console.services.catalog import CatalogError
from agent_console.services.errors import ServiceError
from agent_console.services.sla import PolicyError
from agent_console.services.store import Store
from agent_console.shift_cli import add_shift_parsers, run_callback, run_compensation
from agent_console.ticket_cli import add_ticket_parser, run_ticket
from agent_console.training_cli import add_train_parser, run_train, run_train_results

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
    parser.add_argument("--db", default=default, metavar="PATH|URL",
                        help="store file or database URL (default: AGENT_CONSOLE_DB or the user "
                             "data dir)")
    parser.add_argument("--lang", default=default, metavar="en|zh", help="language on screen")
    parser.add_argument("--agent", default=default, metavar="ID",
                        help="who is working (default: the OS user)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Ticket queue, SLA clocks and service scripts for "
                                            "telecom front-line staff.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--thin", action="store_true", default=None,
                        help="thin-link mode: 16 colours, no animation, only changes sent (slow SSH)")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser,
                                metavar="{demo,check,ticket,policy,kb,agent,audit,classify,train,"
                                        "backup,restore,migrate,retention,customer,hall,outage,sms,"
                                        "kpi,report,compensation,callback,serve}")

    demo = sub.add_parser("demo", help="fill a store with demo data and open it")
    _common(demo, suppress=True)
    demo.add_argument("--tickets", type=int, default=300, help="how many tickets (default 300)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument("--no-open", action="store_true", help="only fill the store")
    demo.add_argument("--reset", action="store_true", help="empty the store first")

    check = sub.add_parser("check", help="report the schema version and run SQLite's integrity check")
    _common(check, suppress=True)

    add_ticket_parser(sub, lambda p: _common(p, suppress=True), _Parser)
    policy = sub.add_parser("policy", help="export or import what the site decides (permissions, "
                                           "SLA policy, catalog)")
    psub = policy.add_subparsers(dest="policy_command", parser_class=_Parser, required=True,
                                 metavar="{export,import}")
    for name in ("export", "import"):
        cmd = psub.add_parser(name, help=f"{name} one policy document")
        _common(cmd, suppress=True)
        add_proof_arguments(cmd)
        cmd.add_argument("kind", choices=["permissions", "sla_policy", "catalog", "retention",
                                          "hall", "kpis", "compensation", "synonyms",
                                          "classifier_rules"])
        cmd.add_argument("file", nargs="?" if name == "export" else None, metavar="FILE")
    add_kb_parser(sub, lambda p: _common(p, suppress=True))
    add_admin_parsers(sub, lambda p: _common(p, suppress=True))
    add_classify_parser(sub, lambda p: _common(p, suppress=True))
    add_train_parser(sub, lambda p: _common(p, suppress=True))
    add_backup_parsers(sub, lambda p: _common(p, suppress=True))
    add_migrate_parser(sub, lambda p: _common(p, suppress=True))
    add_privacy_parsers(sub, lambda p: _common(p, suppress=True))
    add_hall_parser(sub, lambda p: _common(p, suppress=True))
    add_outage_parsers(sub, lambda p: _common(p, suppress=True))
    add_kpi_parser(sub, lambda p: _common(p, suppress=True))
    add_report_parser(sub, lambda p: _common(p, suppress=True))
    add_shift_parsers(sub, lambda p: _common(p, suppress=True))
    serve = sub.add_parser("serve", help="serve the console to browsers, behind its own sign-in")
    _common(serve, suppress=True)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--cert", metavar="FILE",
                       help="serve HTTPS with this certificate (PEM; with --key)")
    serve.add_argument("--key", metavar="FILE", help="the certificate's private key (PEM)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    lang = validate_lang(args.lang) if getattr(args, "lang", None) else None
    return settings.with_overrides(db=getattr(args, "db", None), lang=lang,
                                   agent=getattr(args, "agent", None),
                                   thin=getattr(args, "thin", None))


FROZEN_CLOCK_ENV = "AGENT_CONSOLE_NOW"


def _check_text(args: argparse.Namespace) -> None:
    """Bytes that are not UTF-8 (kept by Python as surrogates) are named, never stored."""
    from agent_console.services.errors import InputError

    for name, value in vars(args).items():
        if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
            raise InputError(name, "is not valid UTF-8 text", code="utf8")


def open_store(settings: Settings, *, create: bool = True, demo: bool = False) -> Store:
    """Check, create or migrate the store, and load the site's policy kept in it.

    The clock is the system clock. Only a demo store (made by `demo`, with its known PINs and
    invented customers) may run on a frozen clock from AGENT_CONSOLE_NOW, for tests and
    benchmarks: on a real store that variable would lift lockouts and backdate the audit trail.
    """
    from agent_console.services.demo import is_demo_store
    from agent_console.services.store import open_store as open_at

    location = str(settings.db)
    path = db.sqlite_path(db.store_url(location))
    if path is not None and path == db.sqlite_path(db.store_url(Settings().db)):
        path.parent.mkdir(parents=True, exist_ok=True)
    store = open_at(location, clock=SystemClock(), create=create)
    from dataclasses import replace

    from agent_console.services.audit import Witness

    witness = Path(settings.audit_witness) if settings.audit_witness else (
        path.with_name(path.name + ".witness") if path is not None else None)
    if witness is not None:
        store = replace(store, witness=Witness(witness, syslog=settings.audit_syslog))
    frozen = os.environ.get(FROZEN_CLOCK_ENV)
    if frozen and (demo or is_demo_store(store)):
        store = replace(store, clock=_frozen(frozen))
    return store


def _frozen(value: str) -> Clock:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{FROZEN_CLOCK_ENV}: {value!r} is not an ISO time") from None
    return FrozenClock(at if at.tzinfo else at.replace(tzinfo=timezone.utc))


def make_app(store: Store, settings: Settings, *, agent: AgentInfo | None = None) -> AgentConsoleApp:
    """The one app factory, shared by the command line and the tests.

    Without `agent` the app opens on sign-in, unless this process's OS account is bound to an
    agent and the `os_user_sign_in` setting allows it.
    """
    from agent_console.thin_link import prepare

    prepare(settings.thin)
    from agent_console.app import AgentConsoleApp
    from agent_console.services.auth import sign_in_os_user

    if agent is None and settings.os_user_sign_in:
        agent = sign_in_os_user(store)
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


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from agent_console.services.demo import DemoRefused, check_demo_target, fill_demo

    if args.tickets < 0 or args.tickets > 2_000_000:
        raise UsageError("--tickets: must be between 0 and 2000000")
    store = open_store(settings, demo=True)
    try:
        check_demo_target(store)
    except DemoRefused:
        raise UsageError(t("cli.demo_refused", path=settings.db)) from None
    with store.read() as tx:
        existing = tx.scalar("SELECT count(*) FROM agent")
    if existing and args.reset:
        # A fresh file rather than deleting rows: the audit trail is append-only by design.
        path = store.path
        store.close()
        for suffix in ("", "-wal", "-shm", ".witness"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        store = open_store(settings, demo=True)
        existing = 0
    if existing:
        print(t("cli.demo_kept", path=settings.db))
    else:
        summary = fill_demo(store, tickets=args.tickets, seed=args.seed)
        print(t("cli.demo_filled", tickets=summary.tickets, customers=summary.customers,
                agents=summary.agents, path=settings.db))
        print(t("cli.demo_cases", count=summary.cases))
        if summary.sites:
            print(t("cli.demo_sites", sites=", ".join(summary.sites),
                    tickets=summary.site_tickets))
        print(t("cli.demo_pins"))
    if args.no_open:
        return 0
    if not settings.agent or settings.agent == Settings().agent:
        settings = settings.with_overrides(agent="a001")
    return _run_app(store, settings)


def _cmd_check(settings: Settings) -> int:
    """A diagnostic: never creates a store and never writes to a damaged one."""
    store = open_store(settings, create=False)
    print(t("cli.check_schema", version=db.schema_version(store.engine), latest=db.SCHEMA_VERSION))
    problems = db.schema_problems(store.engine)
    result = db.integrity_check(store.engine) if store.is_sqlite else ["ok"]
    for line in problems:
        print(t("cli.check_problem", problem=line))
    if result == ["ok"] and not problems:
        print(t("cli.check_ok"))
        return 0
    for line in result[:20]:
        if line != "ok":
            print(line)
    return 1


def _cmd_policy(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import site

    actor = prove_actor(args, store, settings)
    if args.policy_command == "export":
        text = site.export_document(store, actor, kind=args.kind)
        if args.file:
            Path(args.file).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.file}: {exc.strerror if isinstance(exc, OSError) else exc}") \
            from None
    site.import_document(store, actor, kind=args.kind, text=text)
    print(t("cli.policy_imported", kind=args.kind))
    return 0


def _cmd_serve(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(t("serve.bad_port", port=args.port))
    if bool(args.cert) != bool(args.key):
        raise UsageError(t("serve.cert_pair"))
    try:
        from agent_console.serve import CertificateError, run, tls_context
    except ImportError:
        raise UsageError(t("serve.missing")) from None
    try:
        tls = tls_context(args.cert, args.key) if args.cert else None
    except CertificateError as exc:
        raise UsageError(str(exc)) from None
    return run(store, settings, host=args.host, port=args.port, tls=tls)


StoreCommand = Callable[[argparse.Namespace, Store, Settings], int]

# The commands that work on an open store, by the name typed; no command opens the app.
STORE_COMMANDS: dict[str, StoreCommand] = {
    "ticket": run_ticket, "policy": _cmd_policy, "kb": run_kb, "classify": run_learn,
    "agent": run_agent, "site": run_site, "audit": run_audit, "backup": run_backup, "retention": run_privacy,
    "customer": run_privacy, "hall": run_hall, "outage": run_outage, "sms": run_outage,
    "train": run_train_results, "kpi": run_kpi, "report": run_report,
    "compensation": run_compensation, "callback": run_callback, "serve": _cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        settings = _settings(args)
        i18n.set_language(settings.lang)
        _check_text(args)
        if args.command == "classify" and not wants_store(args):  # needs no store
            return run_classify(args)
        if args.command == "train" and args.train_command in ("lint", "autoplay"):
            return run_train(args)
        if args.command == "demo":
            return _cmd_demo(args, settings)
        if args.command == "check":
            return _cmd_check(settings)
        if args.command == "restore":
            return run_restore(args, settings)
        if args.command == "migrate":
            return run_migrate(args, settings)
        store = open_store(settings)
        if (command := STORE_COMMANDS.get(args.command)) is not None:
            return command(args, store, settings)
        return _run_app(store, settings)
    except ServiceError as exc:
        print(f"{PROG}: {t('cli.error')}: {exc.localized()}", file=sys.stderr)
        return 2
    except db.StoreError as exc:
        print(f"{PROG}: {t('cli.error')}: {exc.localized()}", file=sys.stderr)
        return 2
    except (UsageError, ConfigError, PolicyError, CatalogError) as exc:
        print(f"{PROG}: {t('cli.error')}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining
        # about the closed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a damaged store: one line, never a traceback
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        if db.connection_lost(exc):
            print(f"{PROG}: {t('cli.error')}: {t('store_error.lost')}", file=sys.stderr)
            return 2
        print(f"{PROG}: {t('cli.error')}: {t('cli.store_damaged', error=str(exc.orig)[:200])}",
              file=sys.stderr)
        return 2


def _entry() -> Any:
    sys.exit(main())
