"""What a trainer's watch screen costs on the wire: bytes per second written to its terminal
while the watched run is idle, and how long a trainee's move takes to show.

    .venv/bin/python scripts/bench_watch.py [--seconds 10] [--show]

Makes a demo store, starts a run for a002 through the services (as the trainee's console
would), opens `agent-console` as t800 in a pseudo-terminal on the watch screen, then measures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e_pty import Terminal, demo_env, make_demo_store

F8 = "\x1b[19~"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--show", action="store_true", help="print what was written while idle")
    parser.add_argument("--queue-refresh", type=float, default=None,
                        help="the queue's refresh_seconds (default: the shipped 1 s)")
    args = parser.parse_args()
    from agent_console.clock import SystemClock
    from agent_console.services.actor import Actor
    from agent_console.services.directory import find_agent
    from agent_console.services.store import open_store
    from agent_console.services.training import runs
    from agent_console.services.training.customer import CustomerSim
    from agent_console.services.training.moves import Said

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        env = demo_env(tmp)
        if args.queue_refresh is not None:
            (tmp / "config.toml").write_text(f"refresh_seconds = {args.queue_refresh}\n")
        db = make_demo_store(tmp / "store.db", env)
        store = open_store(db, clock=SystemClock())
        trainee = Actor.of(find_agent(store, "a002"), store.permissions)
        scenario = runs.library().get("outage_angry_broadband")
        sim = CustomerSim(scenario, seed=1, lang="en")
        sim.opening()
        run_id = runs.start_run(store, trainee, scenario_id=scenario.id, lang="en",
                                opening=sim.record)
        rows = []
        for size in ((120, 40), (80, 24)):
            with Terminal(["--db", str(db), "--lang", "en", "--agent", "t800"], env,
                          size=size) as term:
                term.started()
                term.expect("PIN")
                term.send("4444\r")
                term.expect("Row ")
                term.send(F8)
                term.expect("Role-play training")
                term.send("g")
                term.expect("LIVE")
                term.send("w")
                term.expect("Watching")
                term.expect("running score")
                _drain(term)
                start, began = len(term.raw), time.monotonic()
                while (left := args.seconds - (time.monotonic() - began)) > 0:
                    term._read(min(left, 0.2))
                idle = term.raw[start:]
                if args.show:
                    print(repr(idle[:2000]))
                text = f"move at {time.time():.0f}"
                move = Said(text=text)
                sent = time.monotonic()
                runs.record_move(store, trainee, run_id=run_id, second=sim.now + 1, move=move,
                                 reaction=sim.react(move, sim.now + 1))
                term.expect(text, timeout=10)
                shown = time.monotonic() - sent
                rows.append((f"{size[0]}x{size[1]}", len(idle) / args.seconds, shown))
                term.send("\x1b")
        print(f"{'terminal':<10}{'idle B/s':>10}{'move shown after (s)':>24}")
        for name, rate, shown in rows:
            print(f"{name:<10}{rate:>10.1f}{shown:>24.2f}")
    return 0


def _drain(term: Terminal) -> None:
    term._read(0.5)
    while True:
        before = len(term.raw)
        term._read(0.5)
        if len(term.raw) == before:
            return


if __name__ == "__main__":
    raise SystemExit(main())
