"""Time the supervisors' reads on a large demo store: the monthly complaint report (every
format), the KPIs for a month and the whole wallboard.

    python scripts/bench_report.py [--tickets 100000] [--runs 3]

Prints one line per measurement: the best and the median of the runs, in seconds, and the
least processor time of this process (SQLite runs in it), which a busy machine disturbs less.
The first, the floor, only fetches the rows of the month's tickets.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from agent_console.clock import FrozenClock
from agent_console.db import to_db
from agent_console.services import kpi, report
from agent_console.services.actor import Actor
from agent_console.services.demo import fill_demo
from agent_console.services.directory import find_agent
from agent_console.services.store import Store, open_store

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)


def read_month(store: Store, month: str) -> int:
    """The floor: every ticket row created in the month, fetched by the driver, nothing done."""
    span = kpi.month_period(month, kpi.config_for(store).settings.zone)
    with store.read() as tx:
        return len(kpi.fetch_all(tx, "SELECT * FROM ticket WHERE created_at >= ? AND "
                                     "created_at < ?", (to_db(span.start), to_db(span.end))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None,
                        help="keep the demo store in this file and reuse it on the next run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.store or Path(folder) / "bench.db"
        fresh = not path.exists()
        store = open_store(path, clock=FrozenClock(NOW))
        if fresh:
            started = time.perf_counter()
            fill_demo(store, tickets=args.tickets, seed=7)
            print(f"demo store: {args.tickets} tickets filled in "
                  f"{time.perf_counter() - started:.1f} s")
        sup = Actor.of(find_agent(store, "s900"), store.permissions)  # type: ignore[arg-type]
        with store.read() as tx:
            per_month = tx.all("SELECT substr(created_at, 1, 7), count(*) FROM ticket "
                               "GROUP BY 1 ORDER BY 1")
        print("tickets by month (UTC): " + ", ".join(f"{m} {n}" for m, n in per_month))
        cases = {
            "floor: read 2026-11 rows": lambda: read_month(store, "2026-11"),
            "report 2026-11 md": lambda: report.render(
                store, report.monthly_report(store, sup, month="2026-11"), "md"),
            "report 2026-10 md": lambda: report.render(
                store, report.monthly_report(store, sup, month="2026-10"), "md"),
            "report 2026-10 csv": lambda: report.render(
                store, report.monthly_report(store, sup, month="2026-10"), "csv"),
            "report 2026-10 json": lambda: report.render(
                store, report.monthly_report(store, sup, month="2026-10"), "json"),
            "kpi month": lambda: kpi.measure(store, sup, period="month"),
            "kpi today": lambda: kpi.measure(store, sup, period="today"),
            "wallboard (30-day trends)": lambda: kpi.wallboard(store, sup, trend_days=30),
        }
        print(f"{'measurement':<28}{'best s':>9}{'median s':>10}{'cpu s':>8}")
        for name, call in cases.items():
            times, cpu = [], []
            for _ in range(args.runs):
                started, used = time.perf_counter(), time.process_time()
                call()
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - used)
            print(f"{name:<28}{min(times):>9.3f}{statistics.median(times):>10.3f}{min(cpu):>8.3f}")


if __name__ == "__main__":
    main()
