"""Personal data kept no longer than the site allows, and erased on a customer's request.

`retention_run` anonymises what is past the site's retention periods; `erase_customer` removes
one customer's personal data everywhere the console keeps it, for a valid request. Both keep
what the reports need (ticket numbers, categories, channels, times, SLA outcomes) and the audit
trail (which holds masked values and references only). Capabilities that keep personal data in
tables of their own register a `Holder` in HOLDERS, so erasure reaches them too.

Deleted content is overwritten on disk (SQLite's secure_delete is on for every connection) and
the write-ahead log is checkpointed afterwards, so a plain reading of the file finds no trace.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources

from agent_console.db import to_db
from agent_console.services import knowledge, permissions
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.errors import InputError, NotFoundError
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line

ERASED_NOTE = {"erased": True}


@dataclass(frozen=True)
class RetentionPolicy:
    closed_ticket_days: int = 365
    customer_days: int = 730


def shipped_retention_text() -> str:
    return resources.files("agent_console.content").joinpath("retention.toml").read_text("utf-8")


def retention_from_text(text: str, source: str = "retention") -> RetentionPolicy:
    try:
        data = tomllib.loads(text)
        policy = RetentionPolicy(int(data.get("closed_ticket_days", 365)),
                                 int(data.get("customer_days", 730)))
    except (tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise InputError("file", f"{source}: cannot be used ({exc})") from None
    if unknown := set(data) - {"closed_ticket_days", "customer_days"}:
        raise InputError("file", f"{source}: unknown keys {sorted(unknown)}")
    if policy.closed_ticket_days < 1 or policy.customer_days < 1:
        raise InputError("file", f"{source}: periods are whole days, at least 1")
    return policy


# (tx, customer_id, words) -> how many records it cleared; `words` are the customer's name and
# numbers as they may appear in free text.
Holder = Callable[[Tx, int, tuple[str, ...]], int]


def _numbers(words: tuple[str, ...]) -> list[str]:
    return [w for w in words if w.isdigit()]


def _service_location(tx: Tx, customer_id: int, words: tuple[str, ...]) -> int:
    """The service address (the access equipment stays: it names no person)."""
    return int(tx.execute("UPDATE customer_service SET district = '', street = '', "
                          "building = '' WHERE customer_id = ?", (customer_id,)).rowcount)


def _sms(tx: Tx, customer_id: int, words: tuple[str, ...]) -> int:
    numbers = _numbers(words)
    marks = ", ".join("?" * len(numbers)) or "NULL"
    rows = tx.all(f"SELECT id FROM sms_outbox WHERE customer_id = ? OR phone IN ({marks})",
                  (customer_id, *numbers))
    for (row_id,) in rows:
        tx.execute("UPDATE sms_outbox SET phone = ?, body = '', customer_id = NULL WHERE id = ?",
                   (f"erased-{row_id}", row_id))
    return len(rows)


def _walk_ins(tx: Tx, customer_id: int, words: tuple[str, ...]) -> int:
    numbers = _numbers(words)
    marks = ", ".join("?" * len(numbers)) or "NULL"
    return int(tx.execute(f"UPDATE hall_visit SET phone = '', phone_masked = '' WHERE "
                          f"customer_id = ? OR phone IN ({marks})",
                          (customer_id, *numbers)).rowcount)


HOLDERS: dict[str, Holder] = {"service_location": _service_location, "sms": _sms,
                              "walk_ins": _walk_ins}


@dataclass
class Report:
    tickets: int = 0
    customers: int = 0
    notes: int = 0
    drafts: int = 0
    cases: int = 0
    other: dict[str, int] = field(default_factory=dict)


def _scrubber(words: tuple[str, ...]) -> Callable[[str], str]:
    def scrub(text: str) -> str:
        for word in words:
            if word:
                text = text.replace(word, "***")
        return text
    return scrub


def _clear_tickets(tx: Tx, ticket_ids: list[int], report: Report) -> None:
    """A ticket keeps its number, category, channel, times and SLA outcome; the customer's
    words go (description, resolution, notes, what the script captured)."""
    for chunk in (ticket_ids[i:i + 500] for i in range(0, len(ticket_ids), 500)):
        marks = ", ".join("?" * len(chunk))
        tx.execute(f"UPDATE ticket SET description = '', resolution = '', anonymised_at = ? "
                   f"WHERE id IN ({marks})", (to_db(tx.now), *chunk))
        report.notes += tx.execute(
            f"UPDATE ticket_event SET detail = ? WHERE kind = 'note' AND ticket_id IN ({marks})",
            (json.dumps(ERASED_NOTE), *chunk)).rowcount
        tx.execute(f"UPDATE script_run SET record = '{{}}' WHERE ticket_id IN ({marks})", chunk)
    report.tickets += len(ticket_ids)


def _clear_customer(tx: Tx, customer_id: int, prefix: str, report: Report) -> None:
    tx.execute("UPDATE customer SET name = '', phone = ?, id_number = '', address = '', "
               "contact_phone = '', plan = '', anonymised_at = ? WHERE id = ?",
               (f"{prefix}-{customer_id}", to_db(tx.now), customer_id))
    tx.execute("UPDATE customer_change SET old = '', new = '' WHERE customer_id = ?",
               (customer_id,))
    report.customers += 1


def _words(tx: Tx, customer_id: int) -> tuple[str, ...]:
    row = tx.one("SELECT name, phone, id_number, address, contact_phone FROM customer "
                 "WHERE id = ?", (customer_id,))
    changes = tx.all("SELECT old, new FROM customer_change WHERE customer_id = ?", (customer_id,))
    found = {w for w in (*row, *(v for pair in changes for v in pair)) if w and len(w) >= 2}
    return tuple(sorted(found, key=len, reverse=True))  # longest first: a number before its part


def _reach(tx: Tx, customer_id: int, ticket_ids: list[int], words: tuple[str, ...],
           report: Report) -> None:
    """Drafts, cases made from the customer's tickets and every registered holder."""
    scrub = _scrubber(words)
    for agent, key, value in tx.all("SELECT agent_code, key, value FROM agent_preference"):
        if any(word in value for word in words):
            tx.execute("DELETE FROM agent_preference WHERE agent_code = ? AND key = ?",
                       (agent, key))
            report.drafts += 1
    marks = ", ".join("?" * len(ticket_ids)) or "NULL"
    cases = {case_id for (case_id,) in tx.all(
        f"SELECT id FROM kb_case WHERE source_ticket_id IN ({marks})", ticket_ids)}
    for word in words:
        like = f"%{word}%"
        cases |= {case_id for (case_id,) in tx.all(
            "SELECT id FROM kb_case WHERE title LIKE ? OR symptoms LIKE ? OR cause LIKE ? OR "
            "resolution LIKE ? OR prevention LIKE ? OR tags LIKE ?", (like,) * 6)}
    scrubbed = sum(knowledge.scrub_case_in(tx, case_id, scrub) for case_id in sorted(cases))
    if scrubbed:  # merge the index's segments, so the old tokens are gone from the file too
        knowledge.index_for(tx.store).optimize(tx)
    report.cases += scrubbed
    for name, holder in HOLDERS.items():
        report.other[name] = report.other.get(name, 0) + holder(tx, customer_id, words)


def _checkpoint(store: Store) -> None:
    """Fold the write-ahead log into the file, so old page images do not linger in it."""
    if not store.is_sqlite:
        return
    raw = store.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def erase_customer(store: Store, actor: Actor, *, phone: str, reason: str,
                   reference: str) -> Report:
    """Remove one customer's personal data everywhere, for a valid request (its reference)."""
    from agent_console.services import validation

    actor.require(permissions.ERASE_PERSONAL_DATA)
    number = validation.phone("phone", phone)
    why = clean_line(reason)[:200]
    ref = clean_line(reference)[:64]
    if not why:
        raise InputError("reason", "must not be empty", code="required")
    if not ref:
        raise InputError("reference", "must not be empty", code="required")
    report = Report()
    with store.write(actor) as tx:
        customer_id = tx.scalar("SELECT id FROM customer WHERE phone = ?", (number,))
        if customer_id is None:
            raise NotFoundError("customer")
        ticket_ids = [i for (i,) in tx.all("SELECT id FROM ticket WHERE customer_id = ?",
                                           (customer_id,))]
        words = _words(tx, customer_id)
        _reach(tx, customer_id, ticket_ids, words, report)
        _clear_tickets(tx, ticket_ids, report)
        _clear_customer(tx, customer_id, "erased", report)
        # What was erased is not written down: only that it was, why, and the request.
        tx.audit(Action.ERASURE, f"customer:{customer_id}", {
            "reason": why, "reference": ref, "tickets": report.tickets, "notes": report.notes,
            "drafts": report.drafts, "cases": report.cases, **report.other})
    _checkpoint(store)
    return report


def retention_policy(store: Store) -> RetentionPolicy:
    with store.read() as tx:
        text = tx.scalar("SELECT body FROM site_document WHERE kind = 'retention' AND name = ''")
    return retention_from_text(text or shipped_retention_text())


def _past_retention(tx: Tx, policy: RetentionPolicy) -> tuple[list[int], list[int]]:
    """Closed tickets past their period, and customers quiet for longer than theirs."""
    cutoff = to_db(tx.now - timedelta(days=policy.closed_ticket_days))
    tickets = [i for (i,) in tx.all(
        "SELECT id FROM ticket WHERE status = 'closed' AND closed_at < ? "
        "AND anonymised_at IS NULL", (cutoff,))]
    quiet = to_db(tx.now - timedelta(days=policy.customer_days))
    customers = [i for (i,) in tx.all(
        "SELECT c.id FROM customer c WHERE c.anonymised_at IS NULL AND c.created_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM ticket t WHERE t.customer_id = c.id AND "
        "(t.is_open = 1 OR t.created_at >= ?))", (quiet, quiet))]
    return tickets, customers


def retention_run(store: Store, actor: Actor | None, *, dry_run: bool = False) -> Report:
    """Anonymise what is past the site's periods; with `dry_run`, only count it. An agent
    needs a role that may edit policy; None is the console's own daily run."""
    if actor is not None:
        actor.require(permissions.EDIT_POLICY)
    policy = retention_policy(store)
    report = Report()
    if dry_run:
        with store.read() as tx:
            tickets, customers = _past_retention(tx, policy)
        report.tickets, report.customers = len(tickets), len(customers)
        return report
    with store.write(actor) as tx:
        tickets, customers = _past_retention(tx, policy)
        _clear_tickets(tx, tickets, report)
        for customer_id in customers:
            own = [i for (i,) in tx.all("SELECT id FROM ticket WHERE customer_id = ? AND "
                                        "anonymised_at IS NULL", (customer_id,))]
            words = _words(tx, customer_id)
            _reach(tx, customer_id, own, words, report)
            _clear_tickets(tx, own, report)
            _clear_customer(tx, customer_id, "anon", report)
        tx.audit(Action.RETENTION, "store", {
            "tickets": report.tickets, "customers": report.customers, "notes": report.notes,
            "drafts": report.drafts, "cases": report.cases,
            "closed_ticket_days": policy.closed_ticket_days,
            "customer_days": policy.customer_days})
    _checkpoint(store)
    return report
