"""Time the command line's start-up: what an IVR or a script pays per call.

Each command runs --runs times on a demo store (1,000 tickets) in which agent a001 is bound to
this OS account, so `ticket new` signs in the way a scripted seat does (no PIN to hash);
the table shows the median wall time next to `python -c pass` measured in the same run.

Run:  .venv/bin/python scripts/bench_cli.py [--runs 7] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import pwd
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).with_name("agent-console"))


def timed(argv: list[str], env: dict[str, str], stdin: str = "") -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        env = {**os.environ, "AGENT_CONSOLE_CONFIG_DIR": tmp, "AGENT_CONSOLE_DB": db}
        env.pop("AGENT_CONSOLE_NOW", None)
        subprocess.run([CLI, "demo", "--no-open", "--tickets", "1000"], env=env, check=True,
                       capture_output=True)
        me = pwd.getpwuid(os.getuid()).pw_name
        subprocess.run([CLI, "agent", "bind", "a001", "--os-user", me, "--agent", "admin",
                        "--pin-stdin"], env=env, input="9999\n", check=True, capture_output=True,
                       text=True)
        seat = {**env, "AGENT_CONSOLE_OS_USER_SIGN_IN": "1"}
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "agent-console --version": ([CLI, "--version"], env),
            "ticket new": ([CLI, "ticket", "new", "--phone", "13912345678", "--channel", "hotline",
                            "--type", "fault", "--category", "broadband", "--description",
                            "光猫 LOS 灯红，断网"], seat),
            "ticket list --limit 20": ([CLI, "ticket", "list", "--limit", "20"], seat),
            "kb search 光猫": ([CLI, "kb", "search", "光猫"], env),
        }
        rows = []
        for name, (argv, cmd_env) in commands.items():
            times = [timed(argv, cmd_env) for _ in range(args.runs)]
            rows.append((name, statistics.median(times), min(times), max(times)))
    if args.markdown:
        print("| command | median s | min s | max s |\n|---|---:|---:|---:|")
        for name, med, lo, hi in rows:
            print(f"| `{name}` | {med:.3f} | {lo:.3f} | {hi:.3f} |")
    else:
        for name, med, lo, hi in rows:
            print(f"{name:<26} median {med:.3f} s  (min {lo:.3f}, max {hi:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
