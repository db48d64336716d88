"""Benchmark outages at size: match an outage to its customers and queue its SMS; the outage
check added to the intake lookup.

A temp store gets N customers (default 100,000), each with a service location; one OLT carries
`--hit` of them (default 10,000). Then, as a supervisor:

  create+match+queue   outage.create_outage(scope=olt, status=confirmed): the outage row, the
                       customers it hits matched into outage_customer, one "affected" SMS per
                       number queued (with quiet hours applied), audited; one transaction.
                       Budget: <= 2 s.
  restore+queue        outage.set_status(restored): the ticket policy and the "restored" SMS.
  intake lookup        intake.lookup for a random customer's number (what the intake screen
                       already does), and the same followed by outage.active_for_customer
                       (what the outage banner adds). Budget: the added time <= 20 ms.

Run:  .venv/bin/python scripts/bench_outage.py [--customers 100000] [--hit 10000]
      [--lookups 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from agent_console.clock import FrozenClock
from agent_console.db import to_db
from agent_console.services import intake, outage
from agent_console.services.actor import Actor
from agent_console.services.directory import find_agent
from agent_console.services.sms import SmsPolicy
from agent_console.services.store import open_store

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # 10:00 in the hall


def fill(store, customers: int, hit: int, seed: int) -> None:
    rng = random.Random(seed)
    now = to_db(NOW)
    with store.write() as tx:
        tx.execute("INSERT INTO agent (code, name, role) VALUES ('s900', 'sup', 'supervisor')")
        tx.execute("INSERT INTO agent (code, name, role) VALUES ('a001', 'agent', 'agent')")
        rows, services = [], []
        for cid in range(1, customers + 1):
            rows.append((cid, f"客户{cid}", f"13{cid:09d}", "standard", now))
            olt = "OLT-BIG" if cid <= hit else f"OLT-{cid % 97:03d}"
            services.append((cid, f"区{cid % 16}", f"路{cid % 211}", f"{cid % 40}号", olt,
                             f"1/{cid % 8}/{cid % 16}", f"ONU{cid:08X}", f"CELL-{cid % 500}"))
        tx.executemany("INSERT INTO customer (id, name, phone, tier, created_at) "
                       "VALUES (?, ?, ?, ?, ?)", rows)
        tx.executemany("INSERT INTO customer_service VALUES (?, ?, ?, ?, ?, ?, ?, ?)", services)
        # a few other outages active, as on a bad day
        for n in range(5):
            tx.execute("INSERT INTO outage (number, kind, scope, cell, status, started_at, "
                       "created_at) VALUES (?, 'unplanned', 'cell', ?, 'confirmed', ?, ?)",
                       (f"OUT-{n}", f"CELL-{rng.randrange(500)}", now, now))
    with store.write() as tx:
        tx.execute("ANALYZE")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--hit", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "bench.db", clock=FrozenClock(NOW))
        started = time.perf_counter()
        fill(store, args.customers, args.hit, args.seed)
        print(f"store: {args.customers:,} customers, {args.hit:,} on OLT-BIG "
              f"(filled in {time.perf_counter() - started:.1f} s)")
        sup = Actor.of(find_agent(store, "s900"), store.permissions)
        agent = Actor.of(find_agent(store, "a001"), store.permissions)

        started = time.perf_counter()
        made = outage.create_outage(store, sup, kind="unplanned", scope="olt", olt="OLT-BIG",
                                    status="confirmed", policy=SmsPolicy())
        create_s = time.perf_counter() - started
        with store.read() as tx:
            queued = tx.scalar("SELECT count(*) FROM sms_outbox WHERE outage_id = ?", (made.id,))
        started = time.perf_counter()
        outage.set_status(store, sup, outage_id=made.id, status="restoring")
        outage.set_status(store, sup, outage_id=made.id, status="restored")
        restore_s = time.perf_counter() - started

        again = outage.create_outage(store, sup, kind="unplanned", scope="olt", olt="OLT-BIG",
                                     status="confirmed", policy=SmsPolicy())
        rng = random.Random(args.seed)
        phones = [f"13{rng.randrange(1, args.customers + 1):09d}"
                  for _ in range(args.lookups)]
        base, both, check = [], [], []
        for phone in phones:
            t0 = time.perf_counter()
            snap = intake.lookup(store, agent, phone=phone)
            t1 = time.perf_counter()
            found = outage.active_for_customer(store, agent, customer_id=snap.id)
            t2 = time.perf_counter()
            base.append(t1 - t0)
            both.append(t2 - t0)
            check.append(t2 - t1)
            assert (snap.id <= args.hit) == any(o.id == again.id for o in found)

        def p95(values: list[float]) -> float:
            return statistics.quantiles(values, n=20)[-1]

        print()
        print(f"{'step':34} {'time':>11}   budget")
        print(f"{'create + match + queue SMS':34} {ms(create_s)}   <= 2000 ms  "
              f"({made.affected:,} customers, {queued:,} SMS queued)")
        print(f"{'restoring + restored + queue SMS':34} {ms(restore_s)}")
        print(f"{'intake lookup, median':34} {ms(statistics.median(base))}")
        print(f"{'intake lookup + outage, median':34} {ms(statistics.median(both))}")
        print(f"{'outage check alone, median':34} {ms(statistics.median(check))}   <= 20 ms")
        print(f"{'outage check alone, p95':34} {ms(p95(check))}   <= 20 ms")
        ok = create_s <= 2.0 and p95(check) <= 0.020
        print("\nwithin budget" if ok else "\nOVER BUDGET")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
