"""Cases proposed from tickets, and their review.

Any agent may propose a case from a ticket they may see; it waits, unsearchable, until an
agent who may edit the knowledge base approves it (then it is indexed) or rejects it with a
reason (then it is kept retired). Each act is audited in its transaction.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from agent_console.db import to_db
from agent_console.models.kb import Case, CaseCreate
from agent_console.services import knowledge, tickets
from agent_console.services.actor import Actor
from agent_console.services.permissions import EDIT_KB
from agent_console.services.store import NotFoundError, Store, Tx
from agent_console.text import clean_line

KB_PROPOSE = "kb_propose"
KB_REVIEW = "kb_review"

_INSERT_PROPOSAL = (
    "INSERT INTO kb_case (id, title, symptoms, cause, resolution, prevention, category, tags, "
    "language, source_ticket_id, author, created_at, updated_at, pending_review) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)")


def propose_case(store: Store, actor: Actor, *, ticket_id: int, case: CaseCreate) -> int:
    """Save a case drawn from a ticket the actor may see, to wait for review; its id."""
    clean = replace(knowledge.check_case(store, asdict(case)), source_ticket_id=ticket_id)
    with store.write(actor) as tx:
        row = tickets.visible_row(tx, tickets.acting(tx), ticket_id)
        case_id = knowledge.next_case_id(tx)
        now = to_db(tx.now)
        tx.execute(_INSERT_PROPOSAL, (
            case_id, clean.title, clean.symptoms, clean.cause, clean.resolution, clean.prevention,
            clean.category, knowledge._tags_json(clean.tags), clean.language, ticket_id,
            actor.code, now, now))
        tx.audit(KB_PROPOSE, f"case:{case_id}", {"ticket": row["number"]})
    return case_id


def pending_cases(store: Store, actor: Actor) -> list[Case]:
    """The proposals waiting for review, oldest first."""
    actor.require(EDIT_KB)
    with store.read() as tx:
        return [knowledge._case(row) for row in tx.all(
            f"SELECT {knowledge._CASE_COLUMNS} FROM kb_case WHERE pending_review = 1 "
            "ORDER BY id")]


def review_case(store: Store, actor: Actor, *, case_id: int, approve: bool,
                reason: str = "") -> Case:
    """Approve a proposal (it becomes searchable) or reject it with a reason (kept retired)."""
    actor.require(EDIT_KB)
    why = knowledge._text("reason", reason, required=not approve, limit=knowledge.REASON_LIMIT,
                          line=True)
    index = knowledge.index_for(store)
    with store.write(actor) as tx:
        if not tx.scalar("SELECT pending_review FROM kb_case WHERE id = ?", (case_id,)):
            raise NotFoundError(f"proposal {case_id}")
        tx.execute("UPDATE kb_case SET pending_review = 0, retired = ?, updated_at = ? "
                   "WHERE id = ?", (int(not approve), to_db(tx.now), case_id))
        case = knowledge.load_case(tx, case_id)
        index.add(tx, [knowledge._entry(case_id, case)])
        tx.audit(KB_REVIEW, f"case:{case_id}",
                 {"approved": approve, **({"reason": why} if why else {})})
        return case


def demo_proposal_in(tx: Tx) -> None:
    """The demo's one proposal waiting for review (a senior's, from a resolved ticket)."""
    row = tx.one("SELECT id, description, resolution FROM ticket WHERE status = 'resolved' "
                 "AND category = 'broadband' ORDER BY id LIMIT 1")
    if row is None:
        return
    now = to_db(tx.now)
    tx.execute(_INSERT_PROPOSAL, (
        knowledge.next_case_id(tx), clean_line(row.description)[:30], row.description,
        "光纤接头松动，光猫 LOS 灯红", row.resolution or "上门重新插紧光纤接头后恢复上网", "",
        "broadband", "[]", "zh", row.id, "a003", now, now))
