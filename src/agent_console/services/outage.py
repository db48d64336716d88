"""Outages and batch faults: the record keyed by the network path (OLT → PON port → ONU) or the
area/cell, matched to the customers it hits when it is made; found at intake by the caller's
account or by the area and words typed; answered from on the spot; tickets linked to it under
an explicit restore policy; SMS queued on confirm and on restore; alarms grouped into outages."""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, cast

from agent_console.db import from_db, to_db
from agent_console.models.vocab import EventKind, Status
from agent_console.services import permissions, tickets, validation
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError, NotFoundError
from agent_console.services.sms import SmsPolicy, queue_in
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line

KINDS = ("unplanned", "planned", "degradation")
SCOPES = ("olt", "pon", "onu", "area", "cell")
STATUSES = ("suspected", "confirmed", "restoring", "restored")
ACTIVE = ("suspected", "confirmed", "restoring")
NEXT = {"suspected": ("confirmed", "restored"), "confirmed": ("restoring", "restored"),
        "restoring": ("restored",), "restored": ()}
SERVICES = ("broadband", "iptv", "mobile", "voice")
POLICIES = ("resolve", "keep_open")


@dataclass(frozen=True)
class OutageConfig:
    interception_target: float
    recent_hours: int
    pon_min_onus: int
    onu_list_min: int
    olt_min_ports: int
    alarm_status: str
    alarm_services: tuple[str, ...]
    keywords: tuple[str, ...]
    script: dict[str, str]
    sms: dict[str, dict[str, str]]


@cache
def config() -> OutageConfig:
    data = tomllib.loads(resources.files("agent_console.content").joinpath("outage.toml")
                         .read_text("utf-8"))
    alarms = data["alarms"]
    return OutageConfig(float(data["interception_target"]), int(data["recent_hours"]),
                        int(alarms["pon_min_onus"]), int(alarms["onu_list_min"]),
                        int(alarms["olt_min_ports"]), str(alarms["status"]),
                        tuple(alarms["services"]), tuple(k.lower() for k in data["intake"]["keywords"]),
                        dict(data["script"]), {k: dict(v) for k, v in data["sms"].items()})


# --- read models ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EtaRevision:
    at: datetime
    agent: str
    eta: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class OutageView:
    id: int
    number: str
    kind: str
    scope: str
    where: str  # the scope in words: OLT-A/1/1/1, 浦东新区 张江路 …
    area: str  # what a customer would recognise: district street building or cell
    services: tuple[str, ...]
    started_at: datetime
    eta: datetime | None
    cause: str
    status: str
    script_zh: str
    script_en: str
    owner: str
    ticket_policy: str
    affected: int
    restored_at: datetime | None = None
    etas: tuple[EtaRevision, ...] = ()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def script(self, lang: str) -> str:
        return self.script_en if lang == "en" else self.script_zh


@dataclass(frozen=True, slots=True)
class BoardRow:
    outage: OutageView
    calls: int
    answered: int
    tickets: int
    open_tickets: int

    @property
    def share(self) -> float | None:
        return self.answered / self.calls if self.calls else None


@dataclass(frozen=True, slots=True)
class Board:
    rows: tuple[BoardRow, ...]
    calls: int
    answered: int
    target: float

    @property
    def share(self) -> float | None:
        return self.answered / self.calls if self.calls else None


def _where(r: Any) -> str:
    if r.scope == "olt":
        return cast(str, r.olt)
    if r.scope == "pon":
        return f"{r.olt} {r.pon_port}"
    if r.scope == "onu":
        onus = json.loads(r.onus or "[]")
        return f"{r.olt} {r.pon_port} ONU×{len(onus)}".strip()
    if r.scope == "cell":
        return cast(str, r.cell)
    return " ".join(p for p in (r.district, r.street, r.building) if p)


def _area(r: Any) -> str:
    return r.area or " ".join(p for p in (r.district, r.street, r.building) if p) or r.cell \
        or _where(r)


def _view(r: Any, etas: Sequence[Any] = ()) -> OutageView:
    return OutageView(r.id, r.number, r.kind, r.scope, _where(r), _area(r),
                      tuple(json.loads(r.services or "[]")), from_db(r.started_at),
                      from_db(r.eta), r.cause, r.status, r.script_zh, r.script_en, r.owner,
                      r.ticket_policy, r.affected, from_db(r.restored_at),
                      tuple(EtaRevision(from_db(e.at), e.agent_code, from_db(e.eta), e.note)
                            for e in etas))


# --- making an outage -------------------------------------------------------------------------

def _text(field_name: str, value: str, limit: int = 200) -> str:
    return clean_line(str(value or ""))[:limit].strip()


def _default_script(lang: str, *, kind: str, area: str, services: Sequence[str],
                    eta: datetime | None, zone: Any) -> str:
    from agent_console.i18n import catalog

    messages = catalog("en" if lang == "en" else "zh")
    kind_word = messages.get(f"outage.kind.{kind}", kind)
    words = "、".join(messages.get(f"outage.service.{s}", s) for s in services) if lang != "en" \
        else ", ".join(messages.get(f"outage.service.{s}", s) for s in services)
    when = eta.astimezone(zone).strftime("%m-%d %H:%M") if eta else messages.get(
        "outage.eta_unknown", "—")
    return config().script["en" if lang == "en" else "zh"].format(
        kind=kind_word, area=area, services=words or "—", eta=when)


def hall_zone() -> Any:
    from agent_console.services.sms import parse_zone

    return parse_zone("+08:00")


def _match(tx: Tx, outage_id: int, r: Any) -> int:
    """Put every customer the scope hits in outage_customer; returns how many."""
    if r.scope == "olt":
        where, params = "olt = ?", [r.olt]
    elif r.scope == "pon":
        where, params = "olt = ? AND pon_port = ?", [r.olt, r.pon_port]
    elif r.scope == "onu":
        onus = json.loads(r.onus or "[]")
        where, params = f"onu_serial IN ({', '.join('?' * len(onus))})", list(onus)
    elif r.scope == "cell":
        where, params = "cell = ?", [r.cell]
    else:
        parts = [(c, getattr(r, c)) for c in ("district", "street", "building") if getattr(r, c)]
        where = " AND ".join(f"{c} = ?" for c, _ in parts)
        params = [v for _, v in parts]
    tx.execute(f"INSERT INTO outage_customer (outage_id, customer_id) SELECT ?, customer_id "
               f"FROM customer_service WHERE {where} ON CONFLICT DO NOTHING",
               [outage_id, *params])
    count = int(tx.scalar("SELECT count(*) FROM outage_customer WHERE outage_id = ?", (outage_id,)))
    area = r.area
    if r.scope in ("olt", "pon", "onu") and not area:
        places = tx.all("SELECT s.district, s.street, count(*) AS n FROM outage_customer oc "
                        "JOIN customer_service s ON s.customer_id = oc.customer_id "
                        "WHERE oc.outage_id = ? GROUP BY s.district, s.street "
                        "ORDER BY n DESC LIMIT 2", (outage_id,))
        area = "、".join(f"{p.district}{p.street}" for p in places if p.district)
    tx.execute("UPDATE outage SET affected = ?, area = ? WHERE id = ?", (count, area, outage_id))
    return count


def create_in(tx: Tx, *, kind: str, scope: str, olt: str = "", pon_port: str = "",
              onus: Iterable[str] = (), district: str = "", street: str = "", building: str = "",
              cell: str = "", services: Iterable[str] = ("broadband",),
              started_at: datetime | None = None, eta: datetime | None = None, cause: str = "",
              script_zh: str = "", script_en: str = "", ticket_policy: str = "resolve",
              status: str = "suspected", source: str = "manual",
              policy: SmsPolicy | None = None) -> OutageView:
    validation.choice("kind", kind, list(KINDS))
    validation.choice("scope", scope, list(SCOPES))
    validation.choice("status", status, [s for s in STATUSES if s != "restored"])
    validation.choice("ticket_policy", ticket_policy, list(POLICIES))
    services = tuple(dict.fromkeys(services))
    for s in services:
        validation.choice("services", s, list(SERVICES))
    values = {"olt": _text("olt", olt, 60), "pon_port": _text("pon_port", pon_port, 30),
              "district": _text("district", district, 60), "street": _text("street", street, 60),
              "building": _text("building", building, 60), "cell": _text("cell", cell, 60)}
    onu_list = sorted({_text("onus", o, 40) for o in onus if str(o).strip()})
    need = {"olt": ("olt",), "pon": ("olt", "pon_port"), "cell": ("cell",),
            "area": ("district",), "onu": ()}[scope]
    for name in need:
        if not values[name]:
            raise InputError(name, f"{name} is needed for a {scope} outage", code="required")
    if scope == "onu" and not onu_list:
        raise InputError("onus", "an ONU outage needs at least one ONU serial", code="required")
    now = tx.now
    actor = tx.actor
    agent = actor.code if actor else "system"
    started = started_at or now
    zone = hall_zone()
    outage_id = tx.scalar(
        "INSERT INTO outage (number, kind, scope, olt, pon_port, onus, district, street, building,"
        " cell, services, started_at, eta, cause, status, script_zh, script_en, owner,"
        " ticket_policy, source, created_at, created_by, confirmed_at, recovery_note, affected) "
        "VALUES ('', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0) "
        "RETURNING id",
        (kind, scope, values["olt"], values["pon_port"], json.dumps(onu_list), values["district"],
         values["street"], values["building"], values["cell"], json.dumps(list(services)),
         to_db(started), to_db(eta), _text("cause", cause, 300), status, script_zh, script_en,
         agent, ticket_policy, source, to_db(now), agent,
         to_db(now) if status == "confirmed" else None))
    number = f"OUT{started.astimezone(zone):%Y%m%d}-{outage_id:04d}"
    tx.execute("UPDATE outage SET number = ? WHERE id = ?", (number, outage_id))
    tx.execute("INSERT INTO outage_eta (outage_id, at, agent_code, eta, note) VALUES (?, ?, ?, ?, ?)",
               (outage_id, to_db(now), agent, to_db(eta), ""))
    count = _match(tx, outage_id, tx.one("SELECT * FROM outage WHERE id = ?", (outage_id,)))
    area = _area(tx.one("SELECT * FROM outage WHERE id = ?", (outage_id,)))
    script_zh = _text("script_zh", script_zh, 500) or _default_script(
        "zh", kind=kind, area=area, services=services, eta=eta, zone=zone)
    script_en = _text("script_en", script_en, 500) or _default_script(
        "en", kind=kind, area=area, services=services, eta=eta, zone=zone)
    tx.execute("UPDATE outage SET script_zh = ?, script_en = ? WHERE id = ?",
               (script_zh, script_en, outage_id))
    tx.audit("outage_create", f"outage:{number}", {"kind": kind, "scope": scope, "status": status,
                                                   "affected": count, "source": source})
    if status == "confirmed":
        _queue(tx, outage_id, "affected", policy or SmsPolicy())
    return _view(tx.one("SELECT * FROM outage WHERE id = ?", (outage_id,)))


def create_outage(store: Store, actor: Actor, *, policy: SmsPolicy | None = None,
                  **fields: Any) -> OutageView:
    """Make an outage by hand (manage_outages) and match the customers it hits."""
    actor.require(permissions.MANAGE_OUTAGES)
    with store.write(actor) as tx:
        return create_in(tx, policy=policy, **fields)


def _row(tx: Tx, outage_id: int) -> Any:
    row = tx.one("SELECT * FROM outage WHERE id = ?", (outage_id,))
    if row is None:
        raise NotFoundError(f"outage {outage_id}")
    return row


def sms_body(row: Any, kind: str, lang: str) -> str:
    zone = hall_zone()
    eta = from_db(row.eta)
    from agent_console.i18n import catalog

    when = eta.astimezone(zone).strftime("%m-%d %H:%M") if eta else catalog(
        "en" if lang == "en" else "zh").get("outage.eta_unknown", "—")
    return config().sms[kind]["en" if lang == "en" else "zh"].format(area=_area(row), eta=when)


def _queue(tx: Tx, outage_id: int, kind: str, policy: SmsPolicy) -> int:
    row = _row(tx, outage_id)
    return queue_in(tx, outage_id=outage_id, kind=kind, body=sms_body(row, kind, policy.lang),
                    lang=policy.lang, policy=policy)


def preview_sms(store: Store, actor: Actor, *, outage_id: int, kind: str = "affected",
                policy: SmsPolicy | None = None) -> tuple[str, int, datetime]:
    """What the message will say, to how many numbers, and when it would first go out."""
    actor.require(permissions.MANAGE_OUTAGES)
    validation.choice("kind", kind, ["affected", "restored"])
    policy = policy or SmsPolicy()
    with store.read() as tx:
        row = _row(tx, outage_id)
        numbers = int(tx.scalar(
            "SELECT count(DISTINCT coalesce(nullif(c.contact_phone, ''), c.phone)) "
            "FROM outage_customer oc JOIN customer c "
            "ON c.id = oc.customer_id WHERE oc.outage_id = ?", (outage_id,)))
    return sms_body(row, kind, policy.lang), numbers, policy.hours.next_allowed(store.clock.now())


# --- its life: ETA, status, restore ------------------------------------------------------------

def revise_eta(store: Store, actor: Actor, *, outage_id: int, eta: datetime | None,
               note: str = "") -> OutageView:
    """A new estimated restore time; every earlier one is kept with who set it and when."""
    actor.require(permissions.MANAGE_OUTAGES)
    with store.write(actor) as tx:
        row = _row(tx, outage_id)
        tx.execute("UPDATE outage SET eta = ? WHERE id = ?", (to_db(eta), outage_id))
        tx.execute("INSERT INTO outage_eta (outage_id, at, agent_code, eta, note) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (outage_id, to_db(tx.now), actor.code, to_db(eta), _text("note", note, 200)))
        tx.audit("outage_eta", f"outage:{row.number}", {"from": row.eta, "to": to_db(eta)})
    return get_outage(store, actor, outage_id=outage_id)


def set_status(store: Store, actor: Actor, *, outage_id: int, status: str, note: str = "",
               policy: SmsPolicy | None = None) -> OutageView:
    """suspected → confirmed → restoring → restored. Confirming queues one "affected" SMS per
    number; restoring to service queues one "restored" SMS and applies the ticket policy."""
    actor.require(permissions.MANAGE_OUTAGES)
    with store.write(actor) as tx:
        status_in(tx, outage_id=outage_id, status=status, note=note, policy=policy or SmsPolicy())
    return get_outage(store, actor, outage_id=outage_id)


def status_in(tx: Tx, *, outage_id: int, status: str, note: str = "",
              policy: SmsPolicy) -> None:
    row = _row(tx, outage_id)
    validation.choice("status", status, list(STATUSES))
    if status not in NEXT[row.status]:
        raise InputError("status", f"cannot move an outage from {row.status} to {status}",
                         allowed=list(NEXT[row.status]))
    now = to_db(tx.now)
    if status == "confirmed":
        tx.execute("UPDATE outage SET status = ?, confirmed_at = ? WHERE id = ?",
                   (status, now, outage_id))
    elif status == "restored":
        text = _text("note", note, 500) or sms_body(row, "restored", "zh")
        tx.execute("UPDATE outage SET status = ?, restored_at = ?, recovery_note = ? WHERE id = ?",
                   (status, now, text, outage_id))
        tx.execute("UPDATE outage_alarm SET cleared_at = coalesce(cleared_at, ?) "
                   "WHERE outage_id = ?", (now, outage_id))
    else:
        tx.execute("UPDATE outage SET status = ? WHERE id = ?", (status, outage_id))
    tx.audit("outage_status", f"outage:{row.number}", {"from": row.status, "to": status})
    if status == "confirmed":
        _queue(tx, outage_id, "affected", policy)
    if status == "restored":
        _apply_ticket_policy(tx, row, text)
        if row.confirmed_at is not None or row.status != "suspected":
            _queue(tx, outage_id, "restored", policy)


def _apply_ticket_policy(tx: Tx, row: Any, note: str) -> None:
    """Each linked open ticket: resolved with the recovery note (its own clock stops as its
    own), or left open with a call-back note. Resolved or closed tickets are left as they are."""
    linked = tx.all("SELECT t.id, t.version, t.status, t.resolution FROM outage_ticket ot "
                    "JOIN ticket t ON t.id = ot.ticket_id WHERE ot.outage_id = ? AND t.is_open = 1 "
                    "ORDER BY t.id", (row.id,))
    for ticket in linked:
        if row.ticket_policy == "resolve" and Status.RESOLVED in _allowed(ticket.status):
            if not ticket.resolution:
                tx.execute("UPDATE ticket SET resolution = ? WHERE id = ?", (note, ticket.id))
            tx.event(ticket.id, EventKind.NOTE, text=note, outage=row.number, policy="resolve")
            tickets.status_in(tx, ticket_id=ticket.id, expected_version=ticket.version,
                              status=Status.RESOLVED.value)
        else:
            tx.event(ticket.id, EventKind.NOTE, text=note, outage=row.number, policy="keep_open",
                     call_back=True)


def _allowed(status: str) -> tuple[Status, ...]:
    from agent_console.models.vocab import TRANSITIONS

    return TRANSITIONS[Status(status)]


def bulk_note(store: Store, actor: Actor, *, outage_id: int, text: str) -> int:
    """One note on every ticket linked to the outage (open or not); returns how many."""
    actor.require(permissions.MANAGE_OUTAGES)
    note, cut = validation.required_text("note", text, validation.DESCRIPTION_LIMIT)
    with store.write(actor) as tx:
        row = _row(tx, outage_id)
        ids = [r.ticket_id for r in tx.all("SELECT ticket_id FROM outage_ticket WHERE outage_id = ?"
                                            " ORDER BY ticket_id", (outage_id,))]
        for ticket_id in ids:
            tx.event(ticket_id, EventKind.NOTE, text=note, cut=cut, outage=row.number)
        tx.audit("outage_bulk_note", f"outage:{row.number}", {"tickets": len(ids),
                                                              "chars": len(note)})
    return len(ids)


# --- at intake ------------------------------------------------------------------------------------

def active_for_customer(store: Store, actor: Actor, *, customer_id: int) -> list[OutageView]:
    """The active outages that hit this customer (their equipment, cell or area)."""
    with store.read() as tx:
        rows = tx.all("SELECT o.* FROM outage_customer oc JOIN outage o ON o.id = oc.outage_id "
                      "WHERE oc.customer_id = ? AND o.status IN ('suspected', 'confirmed', "
                      "'restoring') ORDER BY o.started_at DESC", (customer_id,))
    return [_view(r) for r in rows]


def suggest(store: Store, actor: Actor, *, text: str = "", area: str = "",
            limit: int = 3) -> list[OutageView]:
    """Active outages a caller without a customer match may be inside: the area typed names
    their district, street, building, cell or OLT, or the description has outage words."""
    words = clean_line(f"{text} {area}").lower()
    place = clean_line(area).lower()
    if not words.strip():
        return []
    hinted = any(k in words for k in config().keywords)
    with store.read() as tx:
        rows = tx.all("SELECT * FROM outage WHERE status IN ('suspected', 'confirmed', "
                      "'restoring') ORDER BY started_at DESC LIMIT 200")
    scored = []
    for r in rows:
        names = [n.lower() for n in (r.district, r.street, r.building, r.cell, r.olt) if n]
        names += [n.lower() for n in r.area.replace("、", " ").split() if n]
        hits = sum(1 for n in names if n in words or (place and place in n))
        if hits and (hinted or place):
            scored.append((hits, r))
    scored.sort(key=lambda p: (-p[0], -p[1].id))
    return [_view(r) for _, r in scored[:limit]]


def answer_contact(store: Store, actor: Actor, *, outage_id: int, customer_id: int | None,
                   channel: str = "hotline") -> int:
    """The caller was answered from the outage: no ticket; recorded with the outage."""
    with store.write(actor) as tx:
        row = _row(tx, outage_id)
        contact = tx.scalar("INSERT INTO outage_contact (outage_id, customer_id, at, agent_code,"
                            " channel, outcome) VALUES (?, ?, ?, ?, ?, 'answered') RETURNING id",
                            (outage_id, customer_id, to_db(tx.now), actor.code,
                             _text("channel", channel, 20)))
        tx.audit("outage_answered", f"outage:{row.number}", {"customer": customer_id})
    return int(contact)


def link_ticket(store: Store, actor: Actor, *, outage_id: int, ticket_id: int,
                channel: str = "hotline") -> bool:
    """A ticket the contact still needed, linked to the outage; False if already linked."""
    with store.write(actor) as tx:
        return link_in(tx, outage_id=outage_id, ticket_id=ticket_id, channel=channel)


def link_in(tx: Tx, *, outage_id: int, ticket_id: int, channel: str = "hotline") -> bool:
    row = _row(tx, outage_id)
    actor = tickets.acting(tx)
    ticket = tickets.visible_row(tx, actor, ticket_id)
    done = tx.execute("INSERT INTO outage_ticket (outage_id, ticket_id, linked_at, agent_code) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                      (outage_id, ticket_id, to_db(tx.now), actor.code)).rowcount
    if not done:
        return False
    tx.execute("INSERT INTO outage_contact (outage_id, customer_id, at, agent_code, channel,"
               " outcome, ticket_id) VALUES (?, ?, ?, ?, ?, 'ticket', ?)",
               (outage_id, ticket["customer_id"], to_db(tx.now), actor.code,
                _text("channel", channel, 20), ticket_id))
    tx.event(ticket_id, EventKind.NOTE, text=row.number, outage=row.number, linked=True)
    tx.audit("outage_link", f"outage:{row.number}", {"ticket": ticket["number"]})
    return True


# --- reading --------------------------------------------------------------------------------------

def get_outage(store: Store, actor: Actor, *, outage_id: int) -> OutageView:
    with store.read() as tx:
        row = _row(tx, outage_id)
        etas = tx.all("SELECT * FROM outage_eta WHERE outage_id = ? ORDER BY at, id", (outage_id,))
    return _view(row, etas)


def board(store: Store, actor: Actor) -> Board:
    """Active and recently restored outages with their calls, answers and tickets."""
    cfg = config()
    since = to_db(store.clock.now() - timedelta(hours=cfg.recent_hours))
    with store.read() as tx:
        rows = tx.all("SELECT * FROM outage WHERE status != 'restored' OR restored_at >= ? "
                      "ORDER BY status = 'restored', started_at DESC LIMIT 100", (since,))
        ids = [r.id for r in rows] or [0]
        marks = ", ".join("?" * len(ids))
        calls = {r.outage_id: (r.calls, r.answered) for r in tx.all(
            "SELECT outage_id, count(*) AS calls, "
            "sum(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) AS answered "
            f"FROM outage_contact WHERE outage_id IN ({marks}) GROUP BY outage_id", ids)}
        linked = {r.outage_id: (r.n, r.open) for r in tx.all(
            f"SELECT ot.outage_id, count(*) AS n, sum(t.is_open) AS open FROM outage_ticket ot "
            f"JOIN ticket t ON t.id = ot.ticket_id WHERE ot.outage_id IN ({marks}) "
            f"GROUP BY ot.outage_id", ids)}
    out = []
    for r in rows:
        c, a = calls.get(r.id, (0, 0))
        n, o = linked.get(r.id, (0, 0))
        out.append(BoardRow(_view(r), int(c or 0), int(a or 0), int(n or 0), int(o or 0)))
    return Board(tuple(out), sum(b.calls for b in out), sum(b.answered for b in out),
                 cfg.interception_target)


# --- alarms ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlarmImport:
    created: tuple[OutageView, ...] = ()
    restored: tuple[str, ...] = ()  # outage numbers
    alarms: int = 0
    clears: int = 0
    errors: tuple[tuple[int, str], ...] = ()  # (line number, what is wrong)


@dataclass
class _Event:
    line: int
    event: str
    level: str
    olt: str
    pon_port: str = ""
    onu_serial: str = ""
    at: datetime | None = None


def _parse_alarm(number: int, text: str) -> _Event:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("line", f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InputError("line", "not a JSON object")
    event = str(data.get("event", "")).lower()
    if event not in ("alarm", "clear"):
        raise InputError("event", "event must be alarm or clear")
    level = str(data.get("level", "")).lower()
    if level not in ("olt", "pon", "onu"):
        raise InputError("level", "level must be olt, pon or onu")
    olt = clean_line(str(data.get("olt", ""))).strip()[:60]
    pon = clean_line(str(data.get("pon_port", ""))).strip()[:30]
    onu = clean_line(str(data.get("onu_serial", ""))).strip()[:40]
    if not olt:
        raise InputError("olt", "olt is missing")
    if level in ("pon", "onu") and not pon and level == "pon":
        raise InputError("pon_port", "pon_port is missing")
    if level == "onu" and not onu:
        raise InputError("onu_serial", "onu_serial is missing")
    at = None
    if data.get("at"):
        try:
            at = datetime.fromisoformat(str(data["at"]))
        except ValueError:
            raise InputError("at", f"not a time: {data['at']!r}") from None
        if at.tzinfo is None:
            raise InputError("at", "the time needs its zone, e.g. +08:00")
    return _Event(number, event, level, olt, pon, onu, at)


def import_alarms(store: Store, actor: Actor, *, lines: Iterable[str],
                  policy: SmsPolicy | None = None) -> AlarmImport:
    """Read ONU / PON / OLT alarm and clear events (JSON lines) and group them: enough ONUs down
    on one port make a PON-port outage, enough ports (or every known port) of an OLT an OLT
    outage, a few ONUs on one port an ONU outage. Clears restore the outages whose alarms have
    all cleared. A bad line is reported by number and nothing is imported."""
    actor.require(permissions.MANAGE_OUTAGES)
    events, errors = [], []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            events.append(_parse_alarm(number, text))
        except InputError as exc:
            errors.append((number, str(exc)))
    if errors:
        return AlarmImport(errors=tuple(errors))
    cfg = config()
    policy = policy or SmsPolicy()
    created: list[OutageView] = []
    restored: list[str] = []
    with store.write(actor) as tx:
        downs = [e for e in events if e.event == "alarm"]
        clears = [e for e in events if e.event == "clear"]
        # group downs: OLT → ports → ONUs
        olt_alarm = {e.olt: e for e in downs if e.level == "olt"}
        pon_alarm = {(e.olt, e.pon_port): e for e in downs if e.level == "pon"}
        onus: dict[tuple[str, str], dict[str, _Event]] = defaultdict(dict)
        for e in downs:
            if e.level == "onu":
                port = e.pon_port or _port_of(tx, e.olt, e.onu_serial)
                onus[(e.olt, port)][e.onu_serial] = e
        ports_down: dict[str, set[str]] = defaultdict(set)
        for (o, p) in pon_alarm:
            ports_down[o].add(p)
        for (o, p), found in onus.items():
            if len(found) >= cfg.pon_min_onus:
                ports_down[o].add(p)
        for o, ports in ports_down.items():
            known = {r.pon_port for r in tx.all("SELECT DISTINCT pon_port FROM customer_service "
                                                "WHERE olt = ?", (o,))}
            if len(ports) >= cfg.olt_min_ports or (known and known <= ports):
                olt_alarm.setdefault(o, _Event(0, "alarm", "olt", o))
        groups: list[tuple[dict[str, Any], list[_Event]]] = []
        for o, e in olt_alarm.items():
            members = [e] + [a for (oo, _), a in pon_alarm.items() if oo == o] + \
                [a for (oo, _), f in onus.items() if oo == o for a in f.values()]
            groups.append(({"scope": "olt", "olt": o}, members))
        for (o, p), e in pon_alarm.items():
            if o in olt_alarm:
                continue
            groups.append(({"scope": "pon", "olt": o, "pon_port": p},
                           [e, *onus.get((o, p), {}).values()]))
        for (o, p), found in onus.items():
            if o in olt_alarm or (o, p) in pon_alarm:
                continue
            if len(found) >= cfg.pon_min_onus:
                groups.append(({"scope": "pon", "olt": o, "pon_port": p}, list(found.values())))
            elif len(found) >= cfg.onu_list_min:
                groups.append(({"scope": "onu", "olt": o, "pon_port": p, "onus": sorted(found)},
                               list(found.values())))
        for scope, members in groups:
            if _already(tx, scope):
                continue
            started = min((m.at for m in members if m.at), default=None)
            view = create_in(tx, kind="unplanned", services=cfg.alarm_services,
                             started_at=started, status=cfg.alarm_status, source="alarm",
                             policy=policy, cause="alarm", **scope)
            tx.executemany("INSERT INTO outage_alarm (outage_id, level, olt, pon_port, onu_serial,"
                           " raised_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [(view.id, m.level, m.olt, m.pon_port, m.onu_serial,
                             to_db(m.at or tx.now)) for m in members])
            created.append(view)
        for e in clears:
            where = ["olt = ?", "cleared_at IS NULL"]
            params: list[Any] = [e.olt]
            if e.level in ("pon", "onu") and e.pon_port:
                where.append("pon_port = ?")
                params.append(e.pon_port)
            if e.level == "onu":
                where.append("onu_serial = ?")
                params.append(e.onu_serial)
            if e.level == "olt":
                pass  # an OLT clear clears everything raised on it
            elif e.level == "pon":
                where.append("level IN ('pon', 'onu')")
            tx.execute(f"UPDATE outage_alarm SET cleared_at = ? WHERE {' AND '.join(where)}",
                       [to_db(e.at or tx.now), *params])
        for r in tx.all("SELECT o.id, o.number FROM outage o WHERE o.source = 'alarm' AND "
                        "o.status != 'restored' AND EXISTS (SELECT 1 FROM outage_alarm a "
                        "WHERE a.outage_id = o.id) AND NOT EXISTS (SELECT 1 FROM outage_alarm a "
                        "WHERE a.outage_id = o.id AND a.cleared_at IS NULL)"):
            status_in(tx, outage_id=r.id, status="restored", policy=policy)
            restored.append(r.number)
        tx.audit("outage_import", "alarms", {"alarms": len(downs), "clears": len(clears),
                                             "created": len(created), "restored": len(restored)})
    return AlarmImport(tuple(created), tuple(restored), len(downs), len(clears))


def _port_of(tx: Tx, olt: str, onu: str) -> str:
    return tx.scalar("SELECT pon_port FROM customer_service WHERE olt = ? AND onu_serial = ?",
                     (olt, onu)) or ""


def _already(tx: Tx, scope: dict[str, Any]) -> bool:
    """An active outage already covers this scope (the same alarms imported twice)."""
    if scope["scope"] == "olt":
        found = tx.one("SELECT 1 FROM outage WHERE status != 'restored' AND scope = 'olt' "
                       "AND olt = ?", (scope["olt"],))
    else:
        found = tx.one("SELECT 1 FROM outage WHERE status != 'restored' AND ((scope = 'olt' AND "
                       "olt = ?) OR (scope = ? AND olt = ? AND pon_port = ?))",
                       (scope["olt"], scope["scope"], scope["olt"], scope.get("pon_port", "")))
    return found is not None
