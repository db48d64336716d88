"""The console behind a thin link: 20 kbit/s and 300 ms round trip, normal and --thin.

The link is simulated in this process on the console's pseudo-terminal: every chunk the
console writes is queued on a downlink of --kbit kbit/s and becomes readable half a round trip
after its last byte is sent; every key is sent byte by byte on the uplink and arrives half a
round trip later. On a demo store of --tickets tickets, signed in as an SSH seat, it reports:

  first screen   bytes of the first screen, raw and compressed as `ssh -C` would (zlib,
                 flushed per write)
  rows readable  seconds from launch until the first ticket row has crossed the link
  idle           bytes per second while nothing happens (countdowns running)
  move / flip    bytes per cursor move (j) and page flip (PgDn), and the echo time: key press
                 to the answer having crossed the link, median
  keys ok        a scripted session of 500 keys (arrows, j, Escape, and Escape with j arriving
                 together as on a lossy line) sent byte by byte: the cursor ends where the keys
                 put it (no Escape or arrow misread)

Run:  .venv/bin/python scripts/bench_link.py [--tickets 100000] [--kbit 20] [--rtt 0.3]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location("bench_queue", HERE / "bench_queue.py")
bench_queue = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
spec.loader.exec_module(bench_queue)  # type: ignore[union-attr]
Session, CLI, clean_env = bench_queue.Session, bench_queue.CLI, bench_queue.clean_env


class Link:
    """Delivery times of what the console wrote, had it gone through the thin link."""

    def __init__(self, session: object, kbit: float, rtt: float) -> None:
        self.session, self.rate, self.rtt = session, kbit * 1000 / 8, rtt

    def delivered(self, since: float, until: float = float("inf")) -> list[tuple[float, int]]:
        """(readable at, bytes) for each chunk written in [since, until)."""
        free, out = since, []
        with self.session.lock:  # type: ignore[attr-defined]
            log = [(t, n) for t, n in self.session.log if since <= t < until]  # type: ignore[attr-defined]
        for at, size in log:
            free = max(free, at) + size / self.rate
            out.append((free + self.rtt / 2, size))
        return out

    def done_at(self, since: float, until: float = float("inf")) -> float | None:
        chunks = self.delivered(since, until)
        return chunks[-1][0] if chunks else None

    def send_key(self, data: bytes) -> float:
        """Send one key over the uplink, byte by byte; the time it was pressed."""
        pressed = time.monotonic()
        time.sleep(self.rtt / 2)
        for byte in data:
            os.write(self.session.fd, bytes([byte]))  # type: ignore[attr-defined]
            time.sleep(8 / (self.rate * 8))
        return pressed


def compressed(data: bytes, chunks: list[int]) -> int:
    """Bytes on an `ssh -C` link: one zlib stream, flushed after each write."""
    stream, total, at = zlib.compressobj(6), 0, 0
    for size in chunks:
        total += len(stream.compress(data[at:at + size]) + stream.flush(zlib.Z_SYNC_FLUSH))
        at += size
    return total


def measure(db: Path, env: dict[str, str], thin: bool, link_args: argparse.Namespace) -> dict:
    session_env = {**env, "AGENT_CONSOLE_THIN": "1" if thin else "0"}
    s = Session(db, session_env)
    link = Link(s, link_args.kbit, link_args.rtt)
    first = s.wait_rows(limit=120)
    if first is None:
        s.quit()
        raise SystemExit("the console showed no rows")
    settled = s.wait_quiet(1.0, limit=20)
    raw = s.slice_since(s.t0)
    with s.lock:
        sizes = [n for t, n in s.log if t < settled]
    first_row_at = s.t0 + first
    readable = [at for at, _ in link.delivered(s.t0) if at >= first_row_at]
    result = {"mode": "thin" if thin else "normal", "screen": len(raw),
              "screen_z": compressed(raw, sizes),
              "readable": (min(readable) if readable else first_row_at) - s.t0}
    idle_from = time.monotonic()
    time.sleep(link_args.idle)
    result["idle"] = s.bytes_between(idle_from, time.monotonic()) / link_args.idle
    for name, key, count in (("move", b"j", 15), ("flip", b"\x1b[6~", 6)):
        sizes, echoes = [], []
        for _ in range(count):
            pressed = link.send_key(key)
            answered(s, pressed)
            sizes.append(s.bytes_between(pressed))
            done = link.done_at(pressed)
            echoes.append((done or time.monotonic()) - pressed)
        result[name] = statistics.mean(sizes)
        result[name + "_echo"] = statistics.median(echoes)
    result["keys_ok"] = scripted_session(s, link, queue_numbers(db))
    s.quit()
    return result


def queue_numbers(db: Path) -> list[str]:
    """The first rows of a001's queue, in order, as the console shows them."""
    from agent_console.clock import SystemClock
    from agent_console.db import ts
    from agent_console.services.directory import actor, load_queue_filter
    from agent_console.services.queue import QueueReader
    from agent_console.services.store import open_store

    store = open_store(db, clock=SystemClock())
    me = actor(store, "a001")
    rows = QueueReader(store).page(load_queue_filter(store, "a001"), me,
                                   now_ts=ts(store.clock.now()), limit=400)
    store.close()
    return [row.number for row in rows]


def answered(s: object, pressed: float) -> None:
    """Wait until the console has answered a key pressed at `pressed` and gone quiet."""
    deadline = time.monotonic() + 10
    while not s.bytes_between(pressed) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.005)
    s.wait_quiet(0.3, limit=10)  # type: ignore[attr-defined]


def scripted_session(s: object, link: Link, expected_numbers: list[str]) -> str:
    """500 keys, byte by byte: the cursor must end exactly where they put it (Enter then opens
    the ticket at that row, whose number must show)."""
    answered(s, link.send_key(b"g"))
    expected = 0
    # Escape then j in one write is how a lossy line delivers two keystrokes together: 50 of them
    # (100 keys). 180 + 30 + 80 + 100 + 100 + 10 = 500 keys.
    script = ([b"\x1b[B"] * 180 + [b"\x1b"] * 30 + [b"j"] * 80 + [b"\x1bj"] * 50
              + [b"\x1b[A"] * 100 + [b"\x1b"] * 10)
    for key in script:
        link.send_key(key)
        step = {b"\x1b[B": 1, b"j": 1, b"\x1bj": 1, b"\x1b[A": -1}.get(key, 0)
        expected = max(0, expected + step)
    s.wait_quiet(1.0, limit=30)  # type: ignore[attr-defined]
    want = expected_numbers[min(expected, len(expected_numbers) - 1)]
    opened = link.send_key(b"\r")
    answered(s, opened)
    deadline = time.monotonic() + 30  # a ticket at 100k may take a moment past the first bytes
    while not re.search(rb"T\d{12}", s.slice_since(opened)) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    s.wait_quiet(0.5, limit=10)  # type: ignore[attr-defined]
    shown = s.slice_since(opened)  # type: ignore[attr-defined]
    if os.environ.get("BENCH_LINK_DUMP"):
        Path(os.environ["BENCH_LINK_DUMP"]).write_bytes(shown)
    if want.encode() in shown:
        return "ok"
    found = [n.decode() for n in re.findall(rb"T\d{12}", shown)]
    at = [expected_numbers.index(n) for n in found if n in expected_numbers]
    return f"row {at[0] if at else '?'} opened, keys put the cursor on row {expected}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--kbit", type=float, default=20.0)
    parser.add_argument("--rtt", type=float, default=0.3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        work = Path(tmp)
        (work / "config").mkdir()
        env = clean_env(str(work / "config"))
        db = work / "link.db"
        subprocess.run([str(CLI), "demo", "--db", str(db), "--tickets", str(args.tickets),
                        "--no-open"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(CLI), "agent", "bind", "a001", "--os-user",
                        pwd.getpwuid(os.getuid()).pw_name, "--db", str(db), "--agent", "admin",
                        "--pin-stdin"], env=env, check=True, stdout=subprocess.DEVNULL,
                       input=b"9999\n")
        (work / "config" / "config.toml").write_text("os_user_sign_in = true\n")
        rows = [measure(db, env, thin, args) for thin in (False, True)]
    print(f"\n{args.tickets:,} tickets, 120x40, link {args.kbit:g} kbit/s, "
          f"{args.rtt * 1000:.0f} ms round trip, idle over {args.idle:g} s\n")
    print("| mode | first screen B | compressed B | rows readable s | idle B/s | move B | "
          "move echo s | flip B | flip echo s | 500 keys |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['screen']:,} | {r['screen_z']:,} | {r['readable']:.2f} | "
              f"{r['idle']:.1f} | {r['move']:.0f} | {r['move_echo']:.2f} | {r['flip']:.0f} | "
              f"{r['flip_echo']:.2f} | {r['keys_ok']} |")
    thin = rows[1]
    print(f"\nTargets for --thin: idle ≤ 20 B/s ({thin['idle']:.1f}), first screen ≤ 18 KB raw "
          f"({thin['screen'] / 1024:.1f}) and ≤ 2 KB compressed ({thin['screen_z'] / 1024:.1f}), "
          f"echo ≤ {args.rtt + 0.05:.2f} s ({thin['move_echo']:.2f}), keys: {thin['keys_ok']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
