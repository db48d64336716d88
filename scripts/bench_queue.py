"""Benchmark the queue screen in a real pseudo-terminal, at several store sizes.

For each size, a demo store is built in a temp dir (timed), then `agent-console` is started
in a 120x40 pty (TERM=xterm-256color, COLORTERM=truecolor, empty config dir, real clock) and
the bytes it writes are read continuously. Measured:

  build        wall time of `agent-console demo --tickets N --seed 7 --no-open`
  first frame  launch (just before fork+exec) -> first output holding a ticket number
               (T + 12 digits); median of --runs launches
  first screen bytes written until output is quiet for 0.5 s after the first rows
  peak RSS     VmHWM of the app process (polled; last value before quitting)
  idle         bytes/s written over --idle-seconds with the countdowns running (the SLA
               sweep runs every 30 s; --idle-seconds 65 shows its steady-state repaints)
  cursor move  `j` x20, 0.25 s apart: total bytes / 20 (max single move in brackets)
  page flip    PageDown x10, 0.4 s apart: total bytes / 10 (max single flip in brackets)
  exit         ctrl+q, then how the process ended (killed after 5 s)

Run:  .venv/bin/python scripts/bench_queue.py [--sizes 1000,10000,100000] [--idle-seconds 10]
      [--runs 3] [--markdown] [--dump DIR]   (--dump saves each phase's raw output)
      [--postgres | --db postgresql://user@host/postgres]   (stores on PostgreSQL: bench_db.py)
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import pwd
import re
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import bench_db

CLI = Path(sys.executable).with_name("agent-console")
ROWS, COLS = 40, 120
TICKET = re.compile(rb"T\d{12}")
BUDGET_SIZE = 100_000
# The floor: a hello-world Textual app whose first frame shows a ticket-like number.
HELLO = ("from textual.app import App\nfrom textual.widgets import Static\n"
         "class Hello(App):\n    def compose(self):\n        yield Static('T000000000000')\n"
         "Hello().run()\n")
# column key -> (budget, unit shown in the budget row)
BUDGETS = {"first": (0.6, "s"), "rss": (120.0, "MB"), "idle": (300.0, "B/s"), "move": (1024.0, "B")}


def clean_env(config_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGENT_CONSOLE_", "TEXTUAL")) and k != "NO_COLOR"}
    env.update(TERM="xterm-256color", COLORTERM="truecolor", AGENT_CONSOLE_CONFIG_DIR=config_dir)
    return env


class Session:
    """One app process on a pty; a thread drains the master fd into a timestamped log."""

    def __init__(self, db: str | None, env: dict[str, str]) -> None:
        argv = ([str(CLI), "--db", db, "--agent", "a001", "--lang", "en"] if db is not None
                else [sys.executable, "-c", HELLO])
        self.log: list[tuple[float, int]] = []  # (time, bytes) per read
        self.raw = bytearray()
        self.first_rows: float | None = None
        self.lock = threading.Lock()
        self.status: int | None = None
        self.rss_mb: float | None = None  # last VmHWM seen, polled while the app runs
        self.t0 = time.monotonic()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: size the pty, then become the console script (same pid)
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        threading.Thread(target=self._sample_rss, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not chunk:
                break
            now = time.monotonic()
            with self.lock:
                tail = len(self.raw)
                self.raw += chunk
                self.log.append((now, len(chunk)))
                if self.first_rows is None and TICKET.search(self.raw, max(0, tail - 16)):
                    self.first_rows = now

    def _sample_rss(self) -> None:
        while self.status is None:
            self.rss_mb = self.peak_rss_mb() or self.rss_mb
            time.sleep(0.2)

    def bytes_between(self, start: float, end: float = float("inf")) -> int:
        with self.lock:
            return sum(n for t, n in self.log if start <= t < end)

    def slice_since(self, start: float) -> bytes:
        with self.lock:
            before = sum(n for t, n in self.log if t < start)
            return bytes(self.raw[before:])

    def wait_quiet(self, quiet: float, limit: float = 10.0) -> float:
        """Wait until nothing has been read for `quiet` seconds; return that moment."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self.lock:
                last = self.log[-1][0] if self.log else self.t0
            if time.monotonic() - last >= quiet:
                break
            time.sleep(0.01)
        return time.monotonic()

    def wait_rows(self, limit: float) -> float | None:
        deadline = time.monotonic() + limit
        while self.first_rows is None and time.monotonic() < deadline and self.alive():
            time.sleep(0.005)
        return None if self.first_rows is None else self.first_rows - self.t0

    def send(self, data: bytes) -> float:
        now = time.monotonic()
        os.write(self.fd, data)
        return now

    def alive(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
        return self.status is None

    def peak_rss_mb(self) -> float | None:
        try:
            text = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        found = re.search(r"VmHWM:\s+(\d+) kB", text)
        return int(found.group(1)) / 1024 if found else None

    def quit(self) -> str:
        if self.alive():
            self.send(b"\x11")
        deadline = time.monotonic() + 5
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        how = "ok"
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)
            how = "KILLED"
        self.reader.join(2)
        os.close(self.fd)
        code = os.waitstatus_to_exitcode(self.status)
        return f"{how} rc={code}" if how != "ok" or code else "ok"


def keys(session: Session, key: bytes, count: int, spacing: float) -> tuple[float, int]:
    """Press `key` `count` times; return (mean bytes per press, max bytes of one press)."""
    start, sizes = time.monotonic(), []
    for _ in range(count):
        pressed = session.send(key)
        session.wait_quiet(0.15, limit=spacing * 4)
        time.sleep(max(0.0, pressed + spacing - time.monotonic()))
        sizes.append(session.bytes_between(pressed, time.monotonic()))
    time.sleep(0.3)
    session.wait_quiet(0.15, limit=2)
    return session.bytes_between(start) / count, max(sizes)


def measure(size: int, args: argparse.Namespace, work: Path, stores: bench_db.Stores
            ) -> dict[str, object]:
    env = clean_env(str(work / "config"))
    (work / "config").mkdir()
    db = stores.new()
    started = time.monotonic()
    subprocess.run([str(CLI), "demo", "--db", str(db), "--tickets", str(size), "--seed", "7",
                    "--no-open"], env=env, check=True, stdout=subprocess.DEVNULL)
    result: dict[str, object] = {"db": stores.kind, "size": size,
                                 "build": time.monotonic() - started}
    # Sign in as a001 without a PIN prompt: bind this OS account to the agent, as an SSH seat is.
    subprocess.run([str(CLI), "agent", "bind", "a001", "--os-user",
                    pwd.getpwuid(os.getuid()).pw_name, "--db", str(db), "--agent", "admin",
                    "--pin-stdin"], env=env, check=True, stdout=subprocess.DEVNULL,
                   input=b"9999\n")
    (work / "config" / "config.toml").write_text("os_user_sign_in = true\n")
    firsts, screens, exits = [], [], []
    dump = Path(args.dump) / str(size) if args.dump else None
    if dump:
        dump.mkdir(parents=True, exist_ok=True)
    for run in range(args.runs):
        s = Session(db, env)
        first = s.wait_rows(limit=60)
        if first is None:
            result["exit"] = f"no rows ({s.quit()})"
            sys.stderr.write(s.raw[-2000:].decode(errors="replace") + "\n")
            break
        settled = s.wait_quiet(0.5)
        firsts.append(first)
        screens.append(s.bytes_between(s.t0, settled))
        if run < args.runs - 1:
            exits.append(s.quit())
            continue
        phases = {"first_screen": s.slice_since(s.t0)}
        idle_from = time.monotonic()
        time.sleep(args.idle_seconds)
        result["idle"] = s.bytes_between(idle_from, time.monotonic()) / args.idle_seconds
        phases["idle"] = s.slice_since(idle_from)
        mark = time.monotonic()
        result["move"], result["move_max"] = keys(s, b"j", 20, 0.25)
        phases["cursor"] = s.slice_since(mark)
        mark = time.monotonic()
        result["flip"], result["flip_max"] = keys(s, b"\x1b[6~", 10, 0.4)
        phases["pagedown"] = s.slice_since(mark)
        result["rss"] = s.peak_rss_mb() or s.rss_mb
        exits.append(s.quit())
        if dump:
            for name, data in phases.items():
                (dump / f"{name}.bin").write_bytes(data)
    result["firsts"] = firsts
    if firsts:
        result["first"] = statistics.median(firsts)
        result["screen_kb"] = statistics.median(screens) / 1024
    result.setdefault("exit", "ok" if set(exits) == {"ok"} else ", ".join(exits))
    return result


COLUMNS = [  # (header, key, format)
    ("db", "db", "{}"), ("tickets", "size", "{:,}"), ("build s", "build", "{:.2f}"),
    ("first frame s", "first", "{:.3f}"),
    ("peak RSS MB", "rss", "{:.1f}"), ("first screen KB", "screen_kb", "{:.1f}"),
    ("idle B/s", "idle", "{:.0f}"), ("cursor move B", "move", "{:.0f}"),
    ("page flip B", "flip", "{:.0f}"), ("exit", "exit", "{}"),
]


def cells(r: dict[str, object]) -> list[str]:
    out = []
    for _, key, fmt in COLUMNS:
        value = r.get(key)
        text = "—" if value is None else fmt.format(value)
        if key in ("move", "flip") and value is not None:
            text += f" (max {r[key + '_max']:.0f})"
        if r["size"] == BUDGET_SIZE and key in BUDGETS and value is not None:
            text += " ✓" if value <= BUDGETS[key][0] else " ✗"
        out.append(text)
    return out


def budget_row() -> list[str]:
    row = []
    for _, key, _ in COLUMNS:
        if key == "size":
            row.append(f"budget @{BUDGET_SIZE:,}")
        elif key in BUDGETS:
            limit, unit = BUDGETS[key]
            row.append(f"≤ {limit:g} {unit}" if key != "move" else "≤ 1 KB")
        else:
            row.append("")
    return row


def render(results: list[dict[str, object]], markdown: bool) -> str:
    headers = [h for h, _, _ in COLUMNS]
    rows = [cells(r) for r in results] + [budget_row()]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(headers, *rows)]
    fmt = lambda row: "  ".join(c.rjust(w) for c, w in zip(row, widths))  # noqa: E731
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3, help="launches per size for first frame")
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument("--dump", metavar="DIR", help="save each phase's raw pty output here")
    bench_db.add_arguments(parser)
    args = parser.parse_args()
    floors = []
    for _ in range(args.runs):
        hello = Session(None, clean_env(tempfile.gettempdir()))
        floors.append(hello.wait_rows(limit=60) or float("nan"))
        os.kill(hello.pid, signal.SIGKILL)
        os.waitpid(hello.pid, 0)
    floor = statistics.median(floors)
    results = []
    with bench_db.stores(args) as stores:
        for size in (int(s.replace("_", "")) for s in args.sizes.split(",")):
            results.append(_measure_size(size, args, stores))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\nQueue screen on {stores.kind}, {COLS}x{ROWS} pty, first frame = median of "
          f"{args.runs}; idle over {args.idle_seconds:g}s; ✓/✗ = budget at {BUDGET_SIZE:,}; "
          f"load average at the end {load} ({os.cpu_count()} CPUs)")
    print(f"Floor in the same run: a hello-world Textual app's first frame {floor:.3f} s; "
          f"the queue's first frame at each size is "
          + ", ".join(f"{r['first'] / floor:.1f}×" for r in results if r.get("first")) + "\n")
    print(render(results, markdown=False))
    if args.markdown:
        print()
        print(render(results, markdown=True))
    return 0


def _measure_size(size: int, args: argparse.Namespace, stores: bench_db.Stores
                  ) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        print(f"# {size:,} tickets on {stores.kind} ...", file=sys.stderr, flush=True)
        r = measure(size, args, Path(tmp), stores)
        firsts = ", ".join(f"{x:.3f}" for x in r.get("firsts", []))
        print(f"#   build {r['build']:.2f}s, first frames [{firsts}], "
              f"exit {r['exit']}", file=sys.stderr, flush=True)
    return r


if __name__ == "__main__":
    sys.exit(main())
