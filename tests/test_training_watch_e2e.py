"""Two processes on one store: a trainee runs a scenario in one terminal while a trainer, in
another, watches it live, whispers, and takes over the customer's part. Also measures what an
idle watch screen writes to its terminal."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e_pty import Terminal, demo_env, make_demo_store, stored_row

F8, F9 = "\x1b[23~", "\x1b[20~"  # F11 opens training; F9 is the run screen's say box
IDLE_SECONDS = 8.0


def _sign_in(term: Terminal, pin: str) -> None:
    term.started()
    term.expect("PIN")
    term.send(pin + "\r")
    term.expect("Row ")


def _shown_within(term: Terminal, text: str, sent_at: float, timeout: float = 20.0) -> float:
    term.expect(text, timeout=timeout)
    return time.monotonic() - sent_at


def _drain(term: Terminal) -> None:
    """Read what a terminal has written, so the app never blocks on a full pty."""
    while True:
        before = len(term.raw)
        term._read(0.05)
        if len(term.raw) == before:
            return


def idle_bytes_per_second(term: Terminal, seconds: float = IDLE_SECONDS,
                          other: Terminal | None = None) -> float:
    """What the app writes to its terminal while nothing happens, in bytes a second (the
    other terminal is read meanwhile: its app must not block on a full pty)."""
    term._read(0.5)  # let the last repaint out
    while True:  # drain
        before = len(term.raw)
        term._read(0.3)
        if len(term.raw) == before:
            break
    start, began = len(term.raw), time.monotonic()
    while (left := seconds - (time.monotonic() - began)) > 0:
        term._read(min(left, 0.2))
        if other is not None:
            _drain(other)
    return (len(term.raw) - start) / seconds


def test_a_trainer_watches_a_running_session_from_another_process(tmp_path: Path):
    env = demo_env(tmp_path)
    db = make_demo_store(tmp_path / "store.db", env)
    args = ["--db", str(db), "--lang", "en"]
    with Terminal([*args, "--agent", "a002"], env) as trainee, \
            Terminal([*args, "--agent", "t800"], env) as trainer:
        _sign_in(trainee, "1111")
        trainee.send(F8)
        trainee.expect("Practise a scenario")
        trainee.send("\r")  # the first scenario
        trainee.expect("The call is connected", timeout=60)
        run_id = stored_row(db, "SELECT id FROM training_run WHERE trainee = 'a002' "
                                "AND state = 'running'")[0]

        _sign_in(trainer, "4444")
        trainer.send(F8)
        trainer.expect("Role-play training")
        trainer.send("g")
        trainer.expect("LIVE")
        trainer.send("w")
        trainer.expect("Watching")
        trainee.expect("Watched by t800")
        assert stored_row(db, "SELECT agent_code FROM audit_log WHERE action = "
                              "'training_watch' AND target = ?", (f"training_run:{run_id}",)) \
            == ("t800",)

        idle = idle_bytes_per_second(trainer, other=trainee)
        print(f"\nidle watch screen: {idle:.0f} B/s over {IDLE_SECONDS:.0f} s")
        assert idle <= 300

        _drain(trainee)
        trainee.send(F9)
        sent = time.monotonic()
        trainee.send("I am so sorry for the trouble\r")
        latency = _shown_within(trainer, "I am so sorry for the trouble", sent)
        print(f"trainee's line on the watch screen after {latency:.2f} s")
        assert latency < 3.0  # polled each second; generous for a busy machine

        _drain(trainee)
        trainer.send("verify first\r")
        trainee.expect("(only you)")  # the whisper; its words may wrap in the pane
        _drain(trainee)
        trainer.send(F9)
        trainer.expect("You are playing the customer")
        trainee.expect("t800 plays the customer")
        _drain(trainee)
        trainer.send("refund now\r")
        trainee.expect("refund now")
        kinds = stored_row(db, "SELECT group_concat(kind, ',') FROM (SELECT kind FROM "
                               "training_event WHERE run_id = ? ORDER BY seq)", (run_id,))[0]
        assert "whisper" in kinds and "take_over" in kinds and "trainer_line" in kinds
