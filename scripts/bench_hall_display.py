"""How long a counter's call takes to reach a running hall display (another process).

Starts `agent-console hall display` in a pseudo-terminal on a demo store, then calls numbers
from this process through the queue services and times each until the display has drawn it.

    python scripts/bench_hall_display.py [--calls 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e_pty import Terminal, demo_env, make_demo_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args(argv)
    from agent_console.clock import SystemClock
    from agent_console.services import hall
    from agent_console.services.directory import actor
    from agent_console.services.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="bench_hall_"))
    env = demo_env(folder)
    db = make_demo_store(folder / "hall.db", env)
    store = open_store(db, clock=SystemClock())
    desk = actor(store, "a005")
    hall.open_counter(store, desk, counter="4")
    seen = []
    with Terminal(["--db", str(db), "--lang", "en", "hall", "display"], env) as display:
        display.expect("Waiting now")
        for _ in range(args.calls):
            hall.issue(store, desk, service="payment")
            visit = hall.call_next(store, desk, counter="4")
            start = time.monotonic()
            display.expect(visit.number, timeout=30)
            seen.append(time.monotonic() - start)
            hall.finish(store, desk, visit_id=visit.id)
    print(f"{'calls':>5} {'median':>8} {'p90':>8} {'max':>8}")
    ordered = sorted(seen)
    print(f"{len(seen):>5} {statistics.median(seen):>7.2f}s "
          f"{ordered[int(0.9 * (len(ordered) - 1))]:>7.2f}s {max(seen):>7.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
