"""The wallboard in a pseudo-terminal: nothing goes over the line while nothing changes, a
change elsewhere is drawn, and the queue under it is drawn whole with that change on return."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e_pty import EXE, Terminal, demo_env, make_demo_store, poll_until

F4 = "\x1bOS"
IDLE_SECONDS = 5.0
IDLE_BUDGET = 20.0  # bytes a second on average: a cursor or a clock would be over it


@pytest.mark.uses_store
def test_an_idle_wallboard_sends_nothing_and_a_change_is_drawn(tmp_path: Path):
    env = demo_env(tmp_path)
    db = make_demo_store(tmp_path / "store.db", env)
    with Terminal(["--db", str(db), "--lang", "en", "--agent", "s900"], env,
                  size=(80, 24)) as term:
        term.started()
        term.expect("PIN")
        term.send("3333\r")
        term.expect("Row ")
        term.send(F4)
        term.expect("Figures as of")  # drawn once the figures are read
        idle = term.idle_bytes_per_second(IDLE_SECONDS, quiet=1.0)
        print(f"\nidle wallboard: {idle:.1f} B/s over {IDLE_SECONDS:g} s")
        assert idle <= IDLE_BUDGET

        before = len(term.raw)
        made = subprocess.run(
            [EXE, "ticket", "new", "--db", str(db), "--agent", "a001", "--pin-stdin",
             "--phone", "13912340000", "--channel", "hotline", "--type", "complaint",
             "--category", "billing", "--description", "多扣费"],
            env=env, input="1111\n", text=True, capture_output=True, check=True)
        number = made.stdout.split()[0]

        def drawn_more() -> bool:
            term.drain()
            return len(term.raw) > before

        poll_until(drawn_more, what="the wallboard to draw the new ticket's figures")
        term.send("\x1b")
        term.expect(number)  # the queue, covered while the ticket came, shows it
