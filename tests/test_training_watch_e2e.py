"""Two processes on one store: a trainee runs a scenario in one terminal while a trainer, in
another, watches it live, whispers, and takes over the customer's part. Also measures what an
idle watch screen writes to its terminal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e_pty import Terminal, demo_env, make_demo_store, stored_row, stored_rows

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


@pytest.mark.uses_store
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
        trainee.expect("TRAINING", timeout=60)  # the run screen's banner
        run_id = stored_row(db, "SELECT id FROM training_run WHERE trainee = 'a002' "
                                "AND state = 'running'", timeout=60)[0]

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

        idle = trainer.idle_bytes_per_second(IDLE_SECONDS, other=trainee)
        print(f"\nidle watch screen: {idle:.0f} B/s over {IDLE_SECONDS:.0f} s")
        assert idle <= 300

        trainee.drain()
        trainee.send(F9)
        sent = time.monotonic()
        trainee.send("I am so sorry for the trouble\r")
        latency = _shown_within(trainer, "I am so sorry for the trouble", sent)
        print(f"trainee's line on the watch screen after {latency:.2f} s")
        assert latency < 3.0  # polled each second; generous for a busy machine

        trainee.drain()
        trainer.send("verify first\r")
        trainee.expect("(only you)")  # the whisper; its words may wrap in the pane
        trainee.drain()
        trainer.send(F9)
        trainer.expect("You are playing the customer")
        trainee.expect("t800 plays the customer")
        trainee.drain()
        trainer.send("refund now\r")
        trainee.expect("refund now")
        kinds = [kind for (kind,) in stored_rows(db, "SELECT kind FROM training_event WHERE "
                                                     "run_id = ? ORDER BY seq", (run_id,))]
        assert "whisper" in kinds and "take_over" in kinds and "trainer_line" in kinds
