"""The sandbox store a run works on: a store file of its own, made for the run from the
scenario's sandbox data, with the trainee as its only agent. The real intake screen runs over
it, so the run's tickets, drafts and audit records land there and never in the live store."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent_console.clock import Clock
from agent_console.services.actor import Actor
from agent_console.services.store import Store, open_store
from agent_console.services.training.scenario import Scenario


@dataclass(frozen=True)
class Sandbox:
    store: Store
    actor: Actor
    folder: Path

    def close(self) -> None:
        import shutil

        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def open_sandbox(scenario: Scenario, trainee: Actor, *, lang: str, clock: Clock,
                 knowledge_from: Store | None = None) -> Sandbox:
    """A new store in a temporary folder, filled for `scenario` (and the knowledge-base cases of
    `knowledge_from`, which hold no customer data); close() removes it."""
    from agent_console.services import tickets
    from agent_console.services.directory import find_agent

    folder = Path(tempfile.mkdtemp(prefix="agent-console-training-"))
    store = open_store(folder / "sandbox.db", clock=clock)
    data = scenario.spec.sandbox
    zh = lang.startswith("zh")
    with store.write() as tx:
        tx.execute("INSERT INTO store_meta (key, value) VALUES ('origin', 'training')"
                   " ON CONFLICT (key) DO NOTHING")
        tx.execute("INSERT INTO agent (code, name, role, team) VALUES (?, ?, ?, ?)",
                   (trainee.code, trainee.name, trainee.role, trainee.team))
        customer = data.customer
        plan = data.plan
        tx.execute("INSERT INTO customer (name, phone, tier, created_at, address, plan) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (customer.name.get(lang), customer.phone, str(customer.tier.value if hasattr(
                       customer.tier, "value") else customer.tier),
                    _to_db(tx.now), customer.address.get(lang) if customer.address else "",
                    f"{plan.name.get(lang)} ¥{plan.monthly_fee}" + ("/月" if zh else "/month")))
    if knowledge_from is not None:
        from agent_console.services.kb_jsonl import export_jsonl, import_in

        lines = list(export_jsonl(knowledge_from))
        with store.write() as tx:
            import_in(tx, lines, author="training")
    found = find_agent(store, trainee.code)
    assert found is not None
    actor = Actor.of(found, store.permissions)
    for past in data.tickets:
        tickets.create_ticket(store, actor, phone=customer.phone, channel="hotline",
                              work_type=str(getattr(past.work_type, "value", past.work_type)),
                              category=past.category, description=past.summary.get(lang),
                              customer_name=customer.name.get(lang))
    return Sandbox(store, actor, folder)


def _to_db(value: datetime) -> str:
    from agent_console import db

    return db.to_db(value)
