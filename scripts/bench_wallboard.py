"""What the supervisors' wallboard costs on the line: bytes written to the terminal while nothing
changes (it should be none), and when a ticket is added elsewhere (one update).

    python scripts/bench_wallboard.py [--tickets 300] [--idle-seconds 10] [--size 80x24]

The console runs on a pseudo-terminal signed in as the demo supervisor s900; the wallboard is
opened with F4 and the output is read continuously.
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_queue

CLI = bench_queue.CLI


def drawn_since(session: bench_queue.Session, start: float, limit: float = 20.0) -> None:
    """Wait until the app writes something after `start` (or `limit` seconds pass)."""
    deadline = time.monotonic() + limit
    while not session.bytes_between(start) and time.monotonic() < deadline:
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--size", default="80x24")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    bench_queue.ROWS, bench_queue.COLS = rows, cols
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "config").mkdir()
        env = bench_queue.clean_env(str(work / "config"))
        db = work / "board.db"
        subprocess.run([str(CLI), "demo", "--db", str(db), "--tickets", str(args.tickets),
                        "--no-open"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(CLI), "agent", "bind", "s900", "--os-user", getpass.getuser(),
                        "--db", str(db), "--agent", "admin", "--pin-stdin"], env=env,
                       input="9999\n", text=True, check=True, stdout=subprocess.DEVNULL)
        (work / "config" / "config.toml").write_text("os_user_sign_in = true\n")
        session = bench_queue.Session(db, env)
        if session.wait_rows(limit=60) is None:
            print("the queue never showed")
            session.quit()
            return
        session.wait_quiet(0.5)
        opened = session.send(b"" if os.environ.get("BENCH_NO_F4") else b"\x1bOS")  # F4
        drawn_since(session, opened)
        session.wait_quiet(1.0, limit=20)
        first = session.bytes_between(opened)
        start = time.monotonic()
        time.sleep(args.idle_seconds)
        idle = session.bytes_between(start)
        changed = time.monotonic()
        subprocess.run([str(CLI), "ticket", "new", "--db", str(db), "--agent", "a001",
                        "--pin-stdin", "--phone", "13912340000", "--channel", "hotline",
                        "--type", "complaint", "--category", "billing", "--description",
                        "多扣费"], env=env, input="1111\n", text=True, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        drawn_since(session, changed)  # the change is seen at the next look at the store
        session.wait_quiet(1.0, limit=20)
        update = session.bytes_between(changed)
        print(f"{'wallboard ' + args.size:<28}{'bytes':>10}")
        print(f"{'first paint (F4)':<28}{first:>10}")
        print(f"{f'idle {args.idle_seconds:g} s':<28}{idle:>10}")
        print(f"{'idle B/s (budget 20)':<28}{idle / args.idle_seconds:>10.1f}")
        print(f"{'one ticket added elsewhere':<28}{update:>10}")
        print("exit:", session.quit())


if __name__ == "__main__":
    main()
