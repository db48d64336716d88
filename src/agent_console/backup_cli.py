"""`agent-console backup` and `agent-console restore`: copies of a live store, checked."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from agent_console.cli_auth import add_proof_arguments, prove_actor
from agent_console.config import Settings
from agent_console.i18n import t
from agent_console.services.store import Store


def add_backup_parsers(sub: argparse._SubParsersAction, common: Callable) -> None:
    backup = sub.add_parser("backup", help="copy the live store while agents work, and check "
                                           "the copy")
    common(backup)
    add_proof_arguments(backup)
    backup.add_argument("--to", metavar="DIR", help="folder for backups (default: the "
                                                    "backup_dir setting, or backups/ beside the "
                                                    "store)")
    backup.add_argument("--keep", type=int, help="how many backups to keep (default: the "
                                                 "backup_keep setting, 7)")
    restore = sub.add_parser("restore", help="check a backup, then make it the store at --db")
    common(restore)
    restore.add_argument("file", metavar="FILE", help="a backup's .db file")
    restore.add_argument("--replace", action="store_true",
                         help="overwrite the store at --db (refused while it is in use)")


def backup_folder(store: Store, settings: Settings, given: str | None) -> Path:
    if given:
        return Path(given)
    if settings.backup_dir:
        return Path(settings.backup_dir)
    return store.path.parent / "backups"


def run_backup(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.services.backup import backup, refuse_server_store

    refuse_server_store(store)
    actor = prove_actor(args, store, settings)
    manifest = backup(store, actor, to=backup_folder(store, settings, args.to),
                      keep=args.keep or settings.backup_keep)
    print(t("backup.done", file=manifest.file, tickets=manifest.counts["ticket"],
            records=manifest.counts["audit_log"], head=manifest.audit_head[0]))
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    from agent_console.clock import SystemClock
    from agent_console.db import sqlite_path, store_url
    from agent_console.services import audit
    from agent_console.services.audit import Action, Witness
    from agent_console.services.backup import restore
    from agent_console.services.store import open_store

    target = sqlite_path(store_url(settings.db))
    if target is None:
        from agent_console.services.backup import BackupError

        raise BackupError("restore writes a store file; a database server has its own tools")
    manifest = restore(Path(args.file), db=target, replace=args.replace, clock=SystemClock())
    store = open_store(target, clock=SystemClock())
    from dataclasses import replace

    store = replace(store, witness=Witness(target.with_name(target.name + ".witness")))
    audit.record(store, agent="system", action=Action.RESTORE, target=manifest.file,
                 detail={"sha256": manifest.sha256, "audit_head": manifest.audit_head[0]})
    result = audit.verify(store)
    print(t("backup.restored", file=manifest.file, at=manifest.taken_at,
            tickets=manifest.counts["ticket"], customers=manifest.counts["customer"],
            records=manifest.counts["audit_log"], head=manifest.audit_head[0],
            hash=manifest.audit_head[1][:16], db=target))
    print(t("cli.audit_ok", count=result.count) if result.ok
          else t("cli.audit_bad", id=result.first_bad_id, problem=result.problem))
    return 0 if result.ok else 1


def add_migrate_parser(sub: argparse._SubParsersAction, common: Callable) -> None:
    migrate = sub.add_parser("migrate", help="copy a whole store to another database (e.g. a "
                                             "SQLite file to PostgreSQL) and check the copy")
    common(migrate)
    add_proof_arguments(migrate)
    migrate.add_argument("--from", dest="source", required=True, metavar="DB",
                         help="the store to copy: a file or a database URL")
    migrate.add_argument("--to", dest="target", required=True, metavar="DB",
                         help="a new, empty store: a file or a database URL "
                              "(postgresql://user@host/dbname)")


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Copy `--from` into `--to`; prints each table's counts and exits 1 if the copy differs."""
    from agent_console.clock import SystemClock
    from agent_console.services.store import open_store
    from agent_console.services.store_copy import copy_store

    source = open_store(args.source, clock=SystemClock(), create=False)
    target = open_store(args.target, clock=SystemClock())
    try:
        actor = prove_actor(args, source, settings)
        report = copy_store(source, target, actor)
    finally:
        source.close()
        target.close()
    for name, (before, after) in report.counts.items():
        print(t("migrate.table", table=name, source=before, copy=after))
    if report.mismatched:
        print(t("migrate.mismatch", tables=", ".join(report.mismatched)))
        return 1
    if not report.audit.ok:
        print(t("migrate.audit_failed", problem=report.audit.problem))
        return 1
    print(t("migrate.done", source=_shown(source.url), target=_shown(target.url),
            tables=len(report.counts), records=report.audit.count))
    return 0


def _shown(url: str) -> str:
    """A store's URL without a password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
