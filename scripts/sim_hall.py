"""Replay a seeded day in the retail hall through the real queue services, on a simulated clock.

Arrivals by hour, a service mix, priority lanes, counters opening and closing, no-shows; every
number is issued, called, started and finished by `services.hall` on a real store. Prints the
wait-estimate error (median and 90th percentile, absolute minutes), how often the priority cap
held, backward moves, and whether every number was called.

    python scripts/sim_hall.py [--seed 7] [--days 1] [--scale 1.0]

Targets: median error ≤ 3 min, cap kept 100 %, backward moves 0.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from agent_console.clock import FrozenClock
from agent_console.services import hall, hall_rules
from agent_console.services.actor import Actor
from agent_console.services.store import open_store

# Local hall hours 09:00–18:00 (UTC+8): customers per hour.
ARRIVALS = [14, 24, 28, 22, 16, 22, 26, 22, 12]
MIX = {"business": 0.33, "fault": 0.2, "complaint": 0.07, "consult": 0.22, "payment": 0.18}
LANES = {"green": 0.07, "vip": 0.04}
NO_SHOW = 0.04
# counter -> local hours it is open [from, to)
OPEN = {"1": [(9, 18)], "2": [(9, 12.5), (13.5, 18)], "3": [(10, 18)],
        "4": [(11, 14), (15, 18)]}
STEP = timedelta(seconds=20)
ARRIVE_AFTER = timedelta(seconds=40)  # from the call to the customer at the counter


@dataclass
class Seat:
    actor: Actor
    visit: int | None = None
    service_ends: datetime | None = None
    called_at: datetime | None = None
    absent: bool = False


@dataclass
class Result:
    issued: int = 0
    called: int = 0
    errors: list[float] = field(default_factory=list)
    inside: int = 0
    backward: int = 0
    calls_checked: int = 0
    left_waiting: int = 0


def _agent(store, code: str) -> Actor:
    with store.write() as tx:
        tx.execute("INSERT INTO agent (code, name, role) VALUES (?, ?, 'agent') "
                   "ON CONFLICT DO NOTHING", (code, code))
        row = tx.one("SELECT id FROM agent WHERE code = ?", (code,))
    return Actor(row.id, code, code, "agent", "", None, store.permissions["agent"])


def _service_minutes(rng: random.Random, expected: float) -> float:
    sigma = 0.45
    return max(0.7, rng.lognormvariate(math.log(expected) - sigma * sigma / 2, sigma))


def _backward(before: list[hall_rules.Waiting], chosen: int, counter: str,
              profile: hall_rules.Profile, cfg: hall_rules.HallConfig,
              reserved: dict[int, str | None]) -> bool:
    """Called ahead of someone in the same lane who came earlier and could be called here."""
    mine = [w for w in before if w.service in profile.services and
            reserved.get(w.id) in (None, counter)]
    pick = next(w for w in mine if w.id == chosen)
    if not pick.front and any(w.front for w in mine):
        return True
    return any(w.lane == pick.lane and w.front == pick.front and
               (w.line_at, w.id) < (pick.line_at, pick.id) for w in mine)


def simulate(seed: int, scale: float = 1.0, directory: Path | None = None) -> Result:
    rng = random.Random(seed)
    start = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # 09:00 in the hall
    clock = FrozenClock(start)
    folder = directory or Path(tempfile.mkdtemp(prefix="sim_hall_"))
    store = open_store(folder / "hall.db", clock=clock)
    cfg = hall.config(store)
    kiosk = _agent(store, "k001")
    seats = {code: Seat(_agent(store, f"c{code}")) for code in cfg.counters}
    arrivals: list[tuple[datetime, str, str]] = []
    for hour, count in enumerate(ARRIVALS):
        for _ in range(round(count * scale)):
            at = start + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
            service = rng.choices(list(MIX), weights=list(MIX.values()))[0]
            roll, lane = rng.random(), "normal"
            for name, share in LANES.items():
                if roll < share:
                    lane = name
                    break
                roll -= share
            arrivals.append((at, service, lane))
    arrivals.sort()
    plan: dict[int, tuple[float, bool]] = {}
    result = Result()
    end = start + timedelta(hours=len(ARRIVALS))
    index = 0
    while True:
        now = clock.now()
        local = 9 + (now - start).total_seconds() / 3600
        while index < len(arrivals) and arrivals[index][0] <= now:
            _, service, lane = arrivals[index]
            issued = hall.issue(store, kiosk, service=service, lane=lane)
            plan[issued.id] = (_service_minutes(rng, cfg.services[service].expected_minutes),
                               rng.random() < NO_SHOW)
            result.issued += 1
            index += 1
        for code, seat in seats.items():
            should_open = any(a <= local < b for a, b in OPEN[code]) or (
                now >= end and any(b >= 18 for _, b in OPEN[code]))
            if seat.visit is not None:
                if seat.service_ends is not None and now >= seat.service_ends:
                    hall.finish(store, seat.actor, visit_id=seat.visit)
                    seat.visit = seat.service_ends = None
                elif seat.service_ends is None and seat.absent and now >= seat.called_at + \
                        timedelta(seconds=float(cfg.setting("no_show_after_seconds"))):
                    hall.no_show(store, seat.actor, visit_id=seat.visit)
                    seat.visit = None
                elif seat.service_ends is None and not seat.absent and \
                        now >= seat.called_at + ARRIVE_AFTER:
                    hall.start(store, seat.actor, visit_id=seat.visit)
                    seat.service_ends = now + timedelta(minutes=plan[seat.visit][0])
                continue
            view = hall.counter_view(store, seat.actor, counter=code)
            if view.is_open and not should_open:
                hall.close_counter(store, seat.actor, counter=code)
                continue
            if not view.is_open and should_open:
                hall.open_counter(store, seat.actor, counter=code)
            if not should_open:
                continue
            with store.read() as tx:
                rows = tx.all("SELECT id, service, lane, line_at, front, counter FROM hall_visit "
                              "WHERE status = 'waiting'")
            from agent_console.db import from_db
            before = [hall_rules.Waiting(r.id, r.service, r.lane, from_db(r.line_at),
                                         bool(r.front)) for r in rows]
            reserved = {r.id: r.counter for r in rows}
            visit = hall.call_next(store, seat.actor, counter=code)
            if visit is None:
                continue
            result.called += 1
            result.calls_checked += 1
            result.backward += _backward(before, visit.id, code, cfg.profile_of(code), cfg,
                                         reserved)
            seat.visit, seat.called_at = visit.id, now
            seat.absent = plan[visit.id][1]
            seat.service_ends = None
        with store.read() as tx:
            left = tx.scalar("SELECT count(*) FROM hall_visit WHERE status IN ('waiting', "
                             "'called', 'serving')")
        if now >= end and index >= len(arrivals) and not left:
            break
        if now > end + timedelta(hours=4):
            result.left_waiting = left
            break
        clock.advance(STEP)
    with store.read() as tx:
        rows = tx.all("SELECT estimate_error, estimate_low, estimate_high, first_called_at, "
                      "issued_at FROM hall_visit WHERE status = 'done' AND "
                      "estimate_error IS NOT NULL")
        calls = tx.all("SELECT counter, priority, normal_waiting, reason FROM hall_call "
                       "WHERE kind = 'call' ORDER BY id")
    result.errors = [abs(r.estimate_error) for r in rows]
    result.inside = sum(r.estimate_low <= r.estimate_error + (r.estimate_low + r.estimate_high) / 2
                        <= r.estimate_high for r in rows)
    per_counter: dict[str, list[tuple[bool, bool, str]]] = {}
    for c in calls:
        per_counter.setdefault(c.counter, []).append((bool(c.priority), bool(c.normal_waiting),
                                                      c.reason))
    result.cap = {code: hall_rules.cap_kept(seq, cfg.profile_of(code).normal_per_priority)
                  for code, seq in per_counter.items()}  # type: ignore[attr-defined]
    store.close()
    return result


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=1, help="replay this many seeded days")
    parser.add_argument("--scale", type=float, default=1.0, help="arrivals × this")
    args = parser.parse_args(argv)
    print(f"{'seed':>5} {'issued':>6} {'called':>6} {'median err':>10} {'p90 err':>8} "
          f"{'in range':>8} {'cap kept':>8} {'backward':>8} {'left':>5}")
    ok = True
    for day in range(args.days):
        r = simulate(args.seed + day, args.scale)
        cap = sum(r.cap.values()) / len(r.cap) if r.cap else 1.0  # type: ignore[attr-defined]
        med = statistics.median(r.errors) if r.errors else float("nan")
        p90 = _p90(r.errors) if r.errors else float("nan")
        inside = r.inside / len(r.errors) if r.errors else float("nan")
        print(f"{args.seed + day:>5} {r.issued:>6} {r.called:>6} {med:>8.1f} m {p90:>6.1f} m "
              f"{inside:>7.0%} {cap:>7.0%} {r.backward:>8} {r.left_waiting:>5}")
        ok &= med <= 3 and cap == 1.0 and r.backward == 0 and r.left_waiting == 0
    print("targets: median ≤ 3 min, cap kept 100 %, backward moves 0, every number called:",
          "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
