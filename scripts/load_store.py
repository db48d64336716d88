"""Load the store from several processes at once and check that nothing is lost.

N processes (default 1, 2, 4, 8) work on one store for --seconds each, through the same
services the console uses, as agents of a hotline floor would: creating tickets (a share of
them for the same few new customers, who all call at once), claiming and moving shared
tickets, adding notes, and searching the knowledge base. Afterwards the store is checked
against what each process believes it wrote:

  ops/s       operations completed per second, all processes together
  conflicts   changes refused because someone else changed the ticket first (expected;
              reported to the agent as a conflict, never lost)
  busy        writes that waited longer than the store's limit ("try again"); target 0
  errors      anything else a user would see (a traceback); target 0
  lost        writes a process was told succeeded that the store does not hold; target 0
  dup numbers ticket numbers or customers that exist twice; target 0

Run:  .venv/bin/python scripts/load_store.py [--procs 1,2,4,8] [--seconds 30] [--markdown]
      [--postgres | --db postgresql://user@host/postgres]   (see scripts/bench_db.py)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
import traceback
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import bench_db

HOT_TICKETS = 24  # shared tickets everyone claims, moves and notes
SHARED_PHONES = ["13700000001", "13700000002", "13700000003"]  # new customers calling at once


def _store(db: str):
    from agent_console.clock import SystemClock
    from agent_console.services.store import open_store

    return open_store(db, clock=SystemClock())


def prepare(db: str, procs: int) -> list[int]:
    """A store with a senior agent per process and the hot tickets; returns their ids."""
    from agent_console.services import auth, tickets
    from agent_console.services.directory import actor

    store = _store(db)
    auth.add_agent(store, None, code="root", name="Root", role="admin", pin="9999")
    root = actor(store, "root")
    for n in range(procs):
        auth.add_agent(store, root, code=f"p{n}", name=f"Agent {n}", role="senior", pin="1111",
                       team="floor")
    ids = [tickets.create_ticket(store, root, phone=f"1390000{n:04d}", channel="hotline",
                                 work_type="fault", category="broadband",
                                 description=f"光猫 LOS 红灯 {n}").id
           for n in range(HOT_TICKETS)]
    store.close()
    return ids


def work(db: str, me: int, seconds: float, hot: list[int], out: mp.Queue, ready: mp.Queue,
         go: Any) -> None:
    """One agent's process: random operations until the time is up; report what it wrote."""
    from agent_console.services import knowledge, tickets
    from agent_console.services.directory import actor
    from agent_console.services.errors import BusyError, ConflictError

    store = _store(db)
    agent = actor(store, f"p{me}")
    ready.put(me)
    go.wait()  # every process has started and opened the store: the clock starts together
    rng = random.Random(me)
    done = Counter()
    wrote: dict[str, list] = {"numbers": [], "notes": [], "versions": []}
    end = time.monotonic() + seconds
    serial = 0
    while time.monotonic() < end:
        serial += 1
        op = rng.choices(["create", "claim", "status", "note", "search"],
                         weights=[25, 15, 15, 25, 20])[0]
        try:
            if op == "create":
                phone = rng.choice(SHARED_PHONES) if rng.random() < 0.4 else \
                    f"15{me:02d}{serial:07d}"
                created = tickets.create_ticket(store, agent, phone=phone, channel="hotline",
                                                work_type="fault", category="broadband",
                                                description=f"宽带断网 p{me}-{serial}")
                wrote["numbers"].append(created.number)
            elif op == "search":
                knowledge.search(store, query=rng.choice(["光猫", "断网", "LOS", "宽带"]))
            else:
                ticket_id = rng.choice(hot)
                detail = tickets.ticket_detail(store, agent, ticket_id=ticket_id)
                if op == "note":
                    text = f"note p{me}-{serial}"
                    tickets.add_note(store, agent, ticket_id=ticket_id, text=text)
                    wrote["notes"].append(text)
                elif op == "claim":
                    held = detail.handler is not None and detail.handler.code == agent.code
                    version = tickets.claim(store, agent, ticket_id=ticket_id,
                                            expected_version=detail.version)
                    if not held:  # claiming a ticket one already holds writes nothing
                        wrote["versions"].append((ticket_id, version))
                else:
                    target = "in_progress" if detail.status in ("new", "assigned") else (
                        "pending_customer" if detail.status == "in_progress" else "in_progress")
                    version = tickets.change_status(store, agent, ticket_id=ticket_id,
                                                    expected_version=detail.version,
                                                    status=target)
                    wrote["versions"].append((ticket_id, version))
            done[op] += 1
        except ConflictError:
            done["conflict"] += 1
        except BusyError:
            done["busy"] += 1
        except Exception:
            done["error"] += 1
            if done["error"] <= 3:
                traceback.print_exc(file=sys.stderr)
    store.close()
    out.put((dict(done), wrote))


def check(db: str, reports: list[tuple[dict, dict]]) -> dict[str, int]:
    """Compare what the processes believe they wrote with what the store holds."""
    store = _store(db)
    with store.read() as tx:
        numbers = Counter(n for (n,) in tx.all("SELECT number FROM ticket"))
        phones = Counter(p for (p,) in tx.all("SELECT phone FROM customer"))
        note_texts = Counter(json.loads(detail).get("text") for (detail,) in tx.all(
            "SELECT detail FROM ticket_event WHERE kind = 'note'"))
        versions = {i: v for i, v in tx.all("SELECT id, version FROM ticket")}
    lost = 0
    claimed_versions: Counter = Counter()
    for _done, wrote in reports:
        lost += sum(1 for n in wrote["numbers"] if numbers[n] != 1)
        lost += sum(1 for n in wrote["notes"] if note_texts[n] != 1)
        for ticket_id, version in wrote["versions"]:
            claimed_versions[(ticket_id, version)] += 1
            lost += version > versions[ticket_id]
    duplicated = sum(c - 1 for c in numbers.values() if c > 1) + \
        sum(c - 1 for c in phones.values() if c > 1) + \
        sum(c - 1 for c in claimed_versions.values() if c > 1)  # two writers, one version
    store.close()
    return {"lost": lost, "dup": duplicated}


def run(procs: int, seconds: float, stores: bench_db.Stores) -> dict[str, object]:
    db = stores.new()
    hot = prepare(db, procs)
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    ready: mp.Queue = ctx.Queue()
    go = ctx.Event()
    workers = [ctx.Process(target=work, args=(db, n, seconds, hot, out, ready, go))
               for n in range(procs)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.get(timeout=600)
    started = time.monotonic()
    go.set()
    reports = [out.get(timeout=seconds + 300) for _ in workers]
    for w in workers:
        w.join()
    wall = time.monotonic() - started
    totals: Counter = Counter()
    for done, _wrote in reports:
        totals.update(done)
    found = check(db, reports)
    ops = sum(totals[k] for k in ("create", "claim", "status", "note", "search"))
    return {"db": stores.kind, "procs": procs, "ops/s": ops / wall, "creates": totals["create"],
            "conflicts": totals["conflict"], "busy": totals["busy"], "errors": totals["error"],
            "lost": found["lost"], "dup numbers": found["dup"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--markdown", action="store_true")
    bench_db.add_arguments(parser)
    args = parser.parse_args()
    with bench_db.stores(args) as stores:
        rows = [run(int(n), args.seconds, stores) for n in args.procs.split(",")]
    columns = list(rows[0])
    if args.markdown:
        print("| " + " | ".join(columns) + " |")
        print("|" + "---:|" * len(columns))
    else:
        print("  ".join(f"{c.replace(' ', '_'):>11}" for c in columns))
    for row in rows:
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()]
        print(("| " + " | ".join(cells) + " |") if args.markdown
              else "  ".join(f"{c:>11}" for c in cells))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n{stamp}, {args.seconds:g} s per row, load average at the end: {load}",
          file=sys.stderr)
    return 0 if all(r["errors"] == r["busy"] == r["lost"] == r["dup numbers"] == 0
                    for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
