"""`agent-console outage …` and `agent-console sms …`: import network alarms into outages, list
and move outages, look at the SMS outbox and send what is due.

    outage import ALARMS.jsonl [--json]   group ONU / PON / OLT alarms into outages; clears
                                          restore. A bad line: every bad line reported by
                                          number, nothing imported, exit 2.
    outage list [--json]                  active and recent outages
    outage create --kind K --scope S [--olt --pon-port --onu … --district --street --building
                  --cell] [--services …] [--eta TIME] [--cause] [--policy] [--confirm]
                                          an outage by hand; matched to the customers it hits
    outage status OUTAGE STATUS [--note]  confirmed | restoring | restored (OUTAGE: number or id)
    outage eta OUTAGE TIME [--note]       a new estimated restore time (earlier ones kept)
    outage note OUTAGE TEXT               one note on every ticket linked to the outage
    sms outbox [--due] [--json]           the queue, numbers masked
    sms preview OUTAGE [--restored]       what would be sent, to how many, from when
    sms send [--file PATH]                send what is due now (held in quiet hours), through
                                          the configured sms_command or, with --file, a file
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_console.config import Settings
from agent_console.formatting import local_time
from agent_console.i18n import t
from agent_console.services.errors import InputError
from agent_console.services.store import Store


def add_outage_parsers(subparsers: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from agent_console.cli_auth import add_proof_arguments

    out = subparsers.add_parser("outage", help="import network alarms into outages; list and "
                                               "move outages (needs manage_outages)")
    osub = out.add_subparsers(dest="outage_command", parser_class=type(out), required=True)
    imp = osub.add_parser("import", help="group ONU / PON / OLT alarm and clear events "
                                         "(JSON lines) into outages")
    common(imp)
    add_proof_arguments(imp)
    imp.add_argument("file", type=Path, metavar="ALARMS.jsonl")
    imp.add_argument("--json", action="store_true", help="print the result as JSON")
    lst = osub.add_parser("list", help="active and recent outages")
    common(lst)
    add_proof_arguments(lst)
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    st = osub.add_parser("status", help="move an outage: confirmed, restoring or restored")
    common(st)
    add_proof_arguments(st)
    st.add_argument("outage", metavar="OUTAGE", help="the outage's number or id")
    st.add_argument("status", choices=["confirmed", "restoring", "restored"])
    st.add_argument("--note", default="", help="recovery note (restored)")
    new = osub.add_parser("create", help="make an outage by hand and match its customers")
    common(new)
    add_proof_arguments(new)
    new.add_argument("--kind", required=True, choices=["unplanned", "planned", "degradation"])
    new.add_argument("--scope", required=True, choices=["olt", "pon", "onu", "area", "cell"])
    for name in ("olt", "pon-port", "district", "street", "building", "cell", "cause"):
        new.add_argument(f"--{name}", default="")
    new.add_argument("--onu", action="append", default=[], metavar="SERIAL",
                     help="an ONU serial (scope onu); repeatable")
    new.add_argument("--services", default="broadband",
                     help="comma-separated: broadband, iptv, mobile, voice (default broadband)")
    new.add_argument("--eta", default="", metavar="TIME",
                     help="estimated restore time, e.g. 2026-11-24T14:00+08:00 or 14:00 (hall zone)")
    new.add_argument("--policy", default="resolve", choices=["resolve", "keep_open"],
                     help="linked open tickets on restore: resolved with the note, or kept open")
    new.add_argument("--confirm", action="store_true",
                     help="confirmed now (queues the affected SMS) rather than suspected")
    eta = osub.add_parser("eta", help="revise the estimated restore time")
    common(eta)
    add_proof_arguments(eta)
    eta.add_argument("outage", metavar="OUTAGE")
    eta.add_argument("time", metavar="TIME")
    eta.add_argument("--note", default="")
    note = osub.add_parser("note", help="one note on every ticket linked to the outage")
    common(note)
    add_proof_arguments(note)
    note.add_argument("outage", metavar="OUTAGE")
    note.add_argument("text", metavar="TEXT")

    sms = subparsers.add_parser("sms", help="the outage SMS outbox (needs manage_outages)")
    ssub = sms.add_subparsers(dest="sms_command", parser_class=type(sms), required=True)
    box = ssub.add_parser("outbox", help="messages waiting (and the last sent), numbers masked")
    common(box)
    add_proof_arguments(box)
    box.add_argument("--due", action="store_true", help="only what would go out now")
    box.add_argument("--json", action="store_true", help="print a JSON array")
    pre = ssub.add_parser("preview", help="what an outage's message says and to how many")
    common(pre)
    add_proof_arguments(pre)
    pre.add_argument("outage", metavar="OUTAGE")
    pre.add_argument("--restored", action="store_true", help="the restored message")
    send = ssub.add_parser("send", help="send what is due now (nothing in quiet hours)")
    common(send)
    add_proof_arguments(send)
    send.add_argument("--file", type=Path, metavar="PATH",
                      help="append messages to this file instead of running sms_command")


def _outage_id(store: Store, text: str) -> int:
    with store.read() as tx:
        found = tx.scalar("SELECT id FROM outage WHERE number = ? OR CAST(id AS TEXT) = ?",
                          (text.strip(), text.strip()))
    if found is None:
        raise InputError("outage", f"no outage {text!r}", code="not_found")
    return int(found)


def parse_time(text: str, zone: Any, now: Any) -> Any:
    """An ISO time with its zone, or HH:MM today (tomorrow if already past) in the hall's zone."""
    from datetime import datetime, time, timedelta

    value = text.strip()
    try:
        if len(value) <= 5 and ":" in value:
            local = now.astimezone(zone)
            at = datetime.combine(local.date(), time.fromisoformat(value), tzinfo=zone)
            return at if at > now else at + timedelta(days=1)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InputError("eta", f"not a time: {text!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def run_outage(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    from agent_console.cli_auth import prove_actor
    from agent_console.services import outage
    from agent_console.services.sms import SmsPolicy, parse_zone

    actor = prove_actor(args, store, settings)
    policy = SmsPolicy.from_settings(settings)
    zone = parse_zone(settings.timezone or settings.sms_zone)
    if args.command == "outage" and args.outage_command == "import":
        try:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError("file", f"{args.file}: {getattr(exc, 'strerror', None) or exc}") \
                from None
        result = outage.import_alarms(store, actor, lines=lines, policy=policy)
        if args.json:
            print(json.dumps({"errors": [{"line": n, "problem": p} for n, p in result.errors],
                              "created": [{"number": o.number, "scope": o.scope, "where": o.where,
                                           "affected": o.affected, "status": o.status}
                                          for o in result.created],
                              "restored": list(result.restored), "alarms": result.alarms,
                              "clears": result.clears}, ensure_ascii=False))
            return 2 if result.errors else 0
        if result.errors:
            for line, problem in result.errors:
                print(t("outage.import_line", line=line, problem=problem), file=sys.stderr)
            print(t("outage.import_refused", count=len(result.errors)), file=sys.stderr)
            return 2
        for o in result.created:
            print(t("outage.import_created", number=o.number, scope=o.scope, where=o.where,
                    affected=o.affected, status=t(f"outage.status.{o.status}")))
        for number in result.restored:
            print(t("outage.import_restored", number=number))
        print(t("outage.import_summary", alarms=result.alarms, clears=result.clears,
                created=len(result.created), restored=len(result.restored)))
        return 0
    if args.command == "outage" and args.outage_command == "list":
        board = outage.board(store, actor)
        if args.json:
            print(json.dumps([{"number": r.outage.number, "status": r.outage.status,
                               "kind": r.outage.kind, "where": r.outage.where,
                               "affected": r.outage.affected, "calls": r.calls,
                               "answered": r.answered, "tickets": r.tickets,
                               "eta": r.outage.eta.isoformat() if r.outage.eta else None}
                              for r in board.rows], ensure_ascii=False))
            return 0
        if not board.rows:
            print(t("outage.list_empty"))
        for r in board.rows:
            o = r.outage
            print(t("outage.list_line", number=o.number, status=t(f"outage.status.{o.status}"),
                    kind=t(f"outage.kind.{o.kind}"), where=o.where, affected=o.affected,
                    eta=local_time(o.eta, zone) if o.eta else t("outage.eta_unknown")))
        return 0
    if args.command == "outage" and args.outage_command == "create":
        made = outage.create_outage(
            store, actor, policy=policy, kind=args.kind, scope=args.scope, olt=args.olt,
            pon_port=args.pon_port, onus=args.onu, district=args.district, street=args.street,
            building=args.building, cell=args.cell, cause=args.cause,
            services=[s.strip() for s in args.services.split(",") if s.strip()],
            eta=parse_time(args.eta, zone, store.clock.now()) if args.eta else None,
            ticket_policy=args.policy, status="confirmed" if args.confirm else "suspected")
        print(t("outage.import_created", number=made.number, scope=made.scope, where=made.where,
                affected=made.affected, status=t(f"outage.status.{made.status}")))
        return 0
    if args.command == "outage" and args.outage_command == "eta":
        revised = outage.revise_eta(store, actor, outage_id=_outage_id(store, args.outage),
                                    eta=parse_time(args.time, zone, store.clock.now()),
                                    note=args.note)
        print(t("outage.eta_revised", number=revised.number,
                eta=local_time(revised.eta, zone) if revised.eta else t("outage.eta_unknown")))
        return 0
    if args.command == "outage" and args.outage_command == "note":
        count = outage.bulk_note(store, actor, outage_id=_outage_id(store, args.outage),
                                 text=args.text)
        print(t("outage.noted", count=count))
        return 0
    if args.command == "outage":
        moved = outage.set_status(store, actor, outage_id=_outage_id(store, args.outage),
                                  status=args.status, note=args.note, policy=policy)
        print(t("outage.status_changed", number=moved.number,
                status=t(f"outage.status.{moved.status}")))
        return 0
    return _run_sms(args, store, actor, policy, settings, zone)


def _run_sms(args: argparse.Namespace, store: Store, actor: Any, policy: Any,
             settings: Settings, zone: Any) -> int:
    from agent_console.services import outage, sms

    if args.sms_command == "outbox":
        rows = sms.outbox(store, actor, due=args.due)
        if args.json:
            print(json.dumps([r.as_json() for r in rows], ensure_ascii=False))
            return 0
        if not rows:
            print(t("sms.outbox_empty"))
        for r in rows:
            print(t("sms.outbox_line", id=r.id, status=t(f"sms.status.{r.status}"), kind=r.kind,
                    phone=r.phone_masked, due=local_time(r.not_before, zone),
                    attempts=r.attempts, error=r.last_error))
        return 0
    if args.sms_command == "preview":
        body, count, when = outage.preview_sms(
            store, actor, outage_id=_outage_id(store, args.outage),
            kind="restored" if args.restored else "affected", policy=policy)
        print(t("sms.preview", count=count, when=local_time(when, zone), body=body))
        return 0
    transport: sms.Transport
    if args.file is not None:
        transport = sms.FileTransport(args.file)
    elif settings.sms_command:
        transport = sms.CommandTransport(settings.sms_command)
    else:
        print(t("sms.no_transport"), file=sys.stderr)
        return 2
    report = sms.send_due(store, actor, transport=transport, policy=policy)
    if report.held:
        opens = policy.hours.next_allowed(store.clock.now())
        print(t("sms.held", held=report.held, opens=local_time(opens, zone)))
        return 0
    for error in report.errors:
        print(t("sms.failed_line", error=error), file=sys.stderr)
    print(t("sms.sent", sent=report.sent, failed=report.failed, waiting=report.waiting))
    return 1 if report.failed else 0
