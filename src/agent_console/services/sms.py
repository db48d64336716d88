"""The SMS outbox: outage messages queued once per number, held outside the allowed hours (in the
hall's zone) and sent next morning, throttled, retried with back-off, audited with the number
masked. Delivery goes through a transport: a command the operator configures (their SMS gateway
script, one JSON line per message on its stdin) or a file (tests and demos)."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from datetime import time as dtime
from pathlib import Path
from typing import Any, Protocol

from agent_console.db import from_db, to_db
from agent_console.services import permissions
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError
from agent_console.services.store import Store, Tx
from agent_console.text import mask_phone

MAX_BACKOFF = timedelta(hours=1)
AUDIT_SENT = "sms_sent"
AUDIT_FAILED = "sms_failed"
AUDIT_QUEUED = "sms_queued"


def parse_zone(text: str) -> tzinfo:
    """`+08:00` (the hall's zone) or an IANA name."""
    value = (text or "+08:00").strip()
    if value[:1] in "+-" and len(value) == 6 and value[3] == ":":
        sign = 1 if value[0] == "+" else -1
        return timezone(sign * timedelta(hours=int(value[1:3]), minutes=int(value[4:6])))
    from zoneinfo import ZoneInfo

    return ZoneInfo(value)


@dataclass(frozen=True)
class QuietHours:
    """Messages go out only between `start` and `end` local time (08:00–22:00 by default)."""

    start: dtime = dtime(8, 0)
    end: dtime = dtime(22, 0)
    zone: tzinfo = timezone(timedelta(hours=8))

    @classmethod
    def parse(cls, hours: str = "08:00-22:00", zone: str = "+08:00") -> QuietHours:
        try:
            first, _, second = hours.partition("-")
            start, end = dtime.fromisoformat(first.strip()), dtime.fromisoformat(second.strip())
        except ValueError:
            raise InputError("sms_hours", f"not a window like 08:00-22:00: {hours!r}") from None
        if not start < end:
            raise InputError("sms_hours", f"the window must start before it ends: {hours!r}")
        return cls(start, end, parse_zone(zone))

    def allows(self, at: datetime) -> bool:
        local = at.astimezone(self.zone).time()
        return self.start <= local < self.end

    def next_allowed(self, at: datetime) -> datetime:
        """`at` itself when sending is allowed then; otherwise the next window's opening."""
        if self.allows(at):
            return at
        local = at.astimezone(self.zone)
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=self.zone).astimezone(timezone.utc)


@dataclass(frozen=True)
class SmsPolicy:
    hours: QuietHours = QuietHours()
    rate_per_minute: int = 60
    lang: str = "zh"

    @classmethod
    def from_settings(cls, settings: Any) -> SmsPolicy:
        return cls(QuietHours.parse(getattr(settings, "sms_hours", "08:00-22:00"),
                                    getattr(settings, "sms_zone", "+08:00")),
                   max(1, int(getattr(settings, "sms_rate_per_minute", 60))),
                   "en" if getattr(settings, "sms_lang", "zh") == "en" else "zh")


# --- queueing (inside an outage's transaction) ---------------------------------------------------

def queue_in(tx: Tx, *, outage_id: int, kind: str, body: str, lang: str, policy: SmsPolicy) -> int:
    """One message of `kind` to every customer the outage hits, once per number (the contact
    number when the account has one: several accounts of a family share it); held until
    the window opens when now is outside it. Returns how many were added."""
    not_before = policy.hours.next_allowed(tx.now)
    before = tx.scalar("SELECT count(*) FROM sms_outbox WHERE outage_id = ? AND kind = ?",
                       (outage_id, kind))
    tx.execute(
        "INSERT INTO sms_outbox (outage_id, customer_id, phone, kind, lang, body, created_at,"
        " not_before, status, attempts, last_error) "
        "SELECT ?, min(c.id), coalesce(nullif(c.contact_phone, ''), c.phone), ?, ?, ?, ?, ?,"
        " 'queued', 0, '' "
        "FROM outage_customer oc JOIN customer c ON c.id = oc.customer_id "
        "WHERE oc.outage_id = ? GROUP BY coalesce(nullif(c.contact_phone, ''), c.phone) "
        "ON CONFLICT (outage_id, kind, phone) DO NOTHING",
        (outage_id, kind, lang, body, to_db(tx.now), to_db(not_before), outage_id))
    added = int(tx.scalar("SELECT count(*) FROM sms_outbox WHERE outage_id = ? AND kind = ?",
                          (outage_id, kind))) - int(before)
    tx.audit(AUDIT_QUEUED, f"outage:{outage_id}", {"kind": kind, "count": added,
                                                   "not_before": to_db(not_before)})
    return added


# --- the outbox ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    outage_id: int | None
    phone_masked: str
    kind: str
    status: str
    attempts: int
    created_at: datetime
    not_before: datetime
    sent_at: datetime | None
    last_error: str
    body: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "outage": self.outage_id, "phone": self.phone_masked,
                "kind": self.kind, "status": self.status, "attempts": self.attempts,
                "created_at": self.created_at.isoformat(), "not_before": self.not_before.isoformat(),
                "sent_at": self.sent_at.isoformat() if self.sent_at else None,
                "last_error": self.last_error, "body": self.body}


def outbox(store: Store, actor: Actor, *, due: bool = False, limit: int = 200) -> list[OutboxRow]:
    """Messages not yet sent (and, without `due`, the last sent ones), numbers masked."""
    actor.require(permissions.MANAGE_OUTAGES)
    now = to_db(store.clock.now())
    where = "status != 'sent' AND not_before <= ?" if due else "1 = 1"
    params: tuple[Any, ...] = (now,) if due else ()
    with store.read() as tx:
        rows = tx.all(f"SELECT * FROM sms_outbox WHERE {where} "
                      "ORDER BY status = 'sent', not_before, id LIMIT ?", (*params, limit))
    return [OutboxRow(r.id, r.outage_id, mask_phone(r.phone), r.kind, r.status, r.attempts,
                      from_db(r.created_at), from_db(r.not_before), from_db(r.sent_at),
                      r.last_error, r.body) for r in rows]


# --- transports -------------------------------------------------------------------------------------

class Transport(Protocol):
    def deliver(self, message: dict[str, Any]) -> None:
        """Hand one message over; raise on failure (it will be retried)."""


class CommandTransport:
    """Runs the operator's command once per message, the message as one JSON line on its stdin;
    exit status 0 means delivered."""

    def __init__(self, command: str, timeout: float = 30.0) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise InputError("sms_command", "no SMS command is configured")
        self.timeout = timeout

    def deliver(self, message: dict[str, Any]) -> None:
        try:
            done = subprocess.run(self.argv, input=json.dumps(message, ensure_ascii=False) + "\n",
                                  capture_output=True, text=True, timeout=self.timeout,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DeliveryError(str(exc)) from None
        if done.returncode != 0:
            first = (done.stderr or done.stdout or "").strip().splitlines()[:1]
            raise DeliveryError(f"exit {done.returncode}: {first[0] if first else ''}"[:200])


class FileTransport:
    """Appends each message as a JSON line to a file (tests and demos)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def deliver(self, message: dict[str, Any]) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(message, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise DeliveryError(str(exc)) from None


class DeliveryError(Exception):
    """The transport could not hand a message over."""


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int
    held: int  # due but the window is closed now
    waiting: int  # still queued after this run (throttled or not yet due)
    errors: tuple[str, ...] = ()


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** max(0, attempts - 1)), MAX_BACKOFF)


def send_due(store: Store, actor: Actor, *, transport: Transport, policy: SmsPolicy,
             pause: Callable[[float], None] = time.sleep) -> SendReport:
    """Send what is due now, at most `rate_per_minute` messages spaced evenly; nothing at all
    outside the allowed hours. A failed message stays in the outbox with a later retry time."""
    actor.require(permissions.MANAGE_OUTAGES)
    now = store.clock.now()
    with store.read() as tx:
        due = tx.all("SELECT id, outage_id, customer_id, phone, kind, lang, body, attempts "
                     "FROM sms_outbox WHERE status != 'sent' AND not_before <= ? "
                     "ORDER BY not_before, id LIMIT ?", (to_db(now), policy.rate_per_minute))
        total_due = int(tx.scalar("SELECT count(*) FROM sms_outbox WHERE status != 'sent' "
                                  "AND not_before <= ?", (to_db(now),)))
    if not policy.hours.allows(now):
        return SendReport(0, 0, total_due, total_due)
    sent = failed = 0
    errors: list[str] = []
    gap = 60.0 / policy.rate_per_minute
    for index, row in enumerate(due):
        if index:
            pause(gap)
        message = {"id": row.id, "to": row.phone, "text": row.body, "kind": row.kind,
                   "lang": row.lang, "outage": row.outage_id}
        try:
            transport.deliver(message)
            error = ""
        except DeliveryError as exc:
            error = str(exc) or "failed"
        with store.write(actor) as tx:
            masked = mask_phone(row.phone)
            if not error:
                tx.execute("UPDATE sms_outbox SET status = 'sent', sent_at = ?, attempts = ?,"
                           " last_error = '' WHERE id = ?", (to_db(tx.now), row.attempts + 1, row.id))
                tx.audit(AUDIT_SENT, f"sms:{row.id}", {"to": masked, "kind": row.kind,
                                                      "outage": row.outage_id})
                sent += 1
            else:
                retry = policy.hours.next_allowed(tx.now + backoff(row.attempts + 1))
                tx.execute("UPDATE sms_outbox SET status = 'failed', attempts = ?, not_before = ?,"
                           " last_error = ? WHERE id = ?",
                           (row.attempts + 1, to_db(retry), error[:200], row.id))
                tx.audit(AUDIT_FAILED, f"sms:{row.id}", {"to": masked, "kind": row.kind,
                                                        "error": error[:200],
                                                        "retry_at": to_db(retry)})
                failed += 1
                errors.append(f"{masked}: {error}")
    with store.read() as tx:
        waiting = int(tx.scalar("SELECT count(*) FROM sms_outbox WHERE status != 'sent'"))
    return SendReport(sent, failed, 0, waiting, tuple(errors))
