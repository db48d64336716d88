"""The hall as separate processes on one store: a call at a counter (one process) shows on a
running display (another) within a second or so; the queue survives kill -9 of any of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from .e2e_pty import EXE, Terminal, demo_env, make_demo_store, poll_until, stored_rows


def _cli(db, env, *args: str, pin: str = "1111") -> str:
    done = subprocess.run([EXE, "--db", str(db), *args, "--pin-stdin"], input=pin + "\n",
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.uses_store
def test_a_counters_call_shows_on_a_running_display(tmp_path):
    env = demo_env(tmp_path)
    db = make_demo_store(tmp_path / "hall.db", env)
    with Terminal(["--db", str(db), "--lang", "en", "hall", "display"], env) as display:
        display.expect("Waiting now")
        _cli(db, env, "--agent", "a005", "hall", "open", "4")
        printed = _cli(db, env, "--agent", "a005", "hall", "call", "4")
        number = printed.split()[0]
        called = time.monotonic()
        display.expect(f"{number}", timeout=45)
        display.expect("Counter 4")
        seen = time.monotonic() - called
        print(f"call → display: {seen:.2f} s")
        # the board polls the store's change counter every 0.2 s; allow for a busy machine
        assert seen < 5.0


@pytest.mark.uses_store
def test_the_queue_survives_kill_9(tmp_path):
    env = demo_env(tmp_path)
    db = make_demo_store(tmp_path / "hall.db", env)
    # a kiosk process taking numbers in a tight loop, killed mid-stream
    code = ("import sys\n"
            "from agent_console.clock import SystemClock\n"
            "from agent_console.services import hall\n"
            "from agent_console.services.store import open_store\n"
            "from agent_console.services.directory import actor\n"
            "store = open_store(sys.argv[1], clock=SystemClock())\n"
            "desk = actor(store, 'a005')\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            "    hall.issue(store, desk, service='payment')\n")
    before = _count(db)
    kiosk = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE,
                             env=env, start_new_session=True, text=True)
    assert kiosk.stdout.readline().strip() == "ready"
    poll_until(lambda: _count(db) >= before + 20, what="numbers taken")
    os.killpg(kiosk.pid, signal.SIGKILL)
    kiosk.wait()
    if not str(db).startswith("postgresql"):  # a server keeps its own files whole
        assert stored_rows(db, "PRAGMA integrity_check") == [("ok",)]
    day = stored_rows(db, "SELECT max(day) FROM hall_visit")[0][0]
    numbers = [n for (n,) in stored_rows(  # today's at a005's hall, afresh each day
        db, "SELECT number FROM hall_visit WHERE service = 'payment' AND day = ? AND "
        "site = 'main' ORDER BY id", (day,))]
    carried = {n for (n,) in stored_rows(  # still in the hall from an earlier day
        db, "SELECT number FROM hall_visit WHERE service = 'payment' AND day != ? AND status "
        "IN ('waiting', 'called', 'serving', 'hold') AND site = 'main'", (day,))}
    assert len(numbers) >= 20
    expected = [n for n in (f"E{i:03d}" for i in range(1, len(numbers) + len(carried) + 1))
                if n not in carried][:len(numbers)]
    assert numbers == expected, "no gap, no repeat (a number still in the hall is skipped)"
    # a display killed and started again shows the same queue
    with Terminal(["--db", str(db), "--lang", "en", "hall", "display"], env) as display:
        display.expect("Payments:")
        os.killpg(display.pid, signal.SIGKILL)
    with Terminal(["--db", str(db), "--lang", "en", "hall", "display"], env) as display:
        display.expect(f"Payments: {_waiting(db, 'payment')} waiting")


def _count(db) -> int:
    return stored_rows(db, "SELECT count(*) FROM hall_visit")[0][0]


def _waiting(db, service: str) -> int:
    return stored_rows(db, "SELECT count(*) FROM hall_visit WHERE status = 'waiting' AND "
                           "service = ? AND site = 'main'", (service,))[0][0]
