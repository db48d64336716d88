"""A dropped terminal leaves nothing behind: the console keeps the drafts and exits.

Each test closes the master side of the pty, as a killed tmux pane or a dropped SSH link does.
Run straight in the pty the console is the session leader and gets SIGHUP; behind a shell that
holds on to the SIGHUP (as make does under `make demo`) it only sees its terminal go.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import pytest

from .e2e_pty import EXE, Terminal, demo_env, make_demo_store, stored_row

pytestmark = pytest.mark.uses_store  # a demo store: a file, or a database in the PostgreSQL pass

HUNG_UP = 129  # the console's exit status after a hang-up, as for a process ended by SIGHUP
DRAFT = "SELECT value FROM agent_preference WHERE agent_code = 'a002' AND key LIKE ?"


class Demo(NamedTuple):
    db: Path | str  # what --db takes
    home: Path  # the console's config dir


@pytest.fixture
def store(tmp_path: Path) -> Demo:
    return Demo(make_demo_store(tmp_path / "s.db", demo_env(tmp_path)), tmp_path)


def _launch(store: Demo, *, behind_shell: bool = True) -> Terminal:
    env = demo_env(store.home)
    args = ["--db", str(store.db), "--agent", "a002", "--lang", "en"]
    if not behind_shell:
        return Terminal(args, env)
    # The shell is the session leader and waits out the SIGHUP; the console gets none.
    script = 'trap : HUP; "$CONSOLE" "$@"; exit $?'
    return Terminal(["-c", script, "sh", *args], {**env, "CONSOLE": EXE}, exe="/bin/sh")


def _signed_in(term: Terminal) -> None:
    term.expect("PIN")
    term.send("1111\r")  # a002's demo PIN
    term.expect("Row 1 of")


def _hang_up(term: Terminal, point: str) -> None:
    seconds = term.hang_up()
    print(f"{point}: exited {seconds:.2f} s after its terminal closed")
    assert os.waitstatus_to_exitcode(term.status) == HUNG_UP  # type: ignore[arg-type]


def test_hang_up_while_starting(store: Demo):
    with _launch(store) as term:
        term.started()
        _hang_up(term, "starting")


def test_hang_up_on_sign_in(store: Demo):
    with _launch(store) as term:
        term.expect("PIN")
        _hang_up(term, "sign-in")


def test_hang_up_on_the_queue(store: Demo):
    with _launch(store) as term:
        _signed_in(term)
        _hang_up(term, "queue")


@pytest.mark.parametrize("behind_shell", [True, False], ids=["no-sighup", "sighup"])
def test_hang_up_mid_contact_keeps_the_draft(store: Demo, behind_shell: bool):
    with _launch(store, behind_shell=behind_shell) as term:
        _signed_in(term)
        term.send("N")
        term.expect("What the customer says")
        term.send("13800138000")
        term.expect("13800138000")  # drawn: typed less than a draft's delay ago, most likely
        _hang_up(term, f"mid-contact ({'no SIGHUP' if behind_shell else 'SIGHUP'})")
    draft = json.loads(stored_row(store.db, DRAFT, ("contact_draft:%",), timeout=1)[0])
    assert draft["form"]["phone"] == "13800138000"


def test_hang_up_in_the_note_dialog_keeps_the_note(store: Demo):
    with _launch(store) as term:
        _signed_in(term)
        term.send("n")
        term.expect("Note on")
        term.send("call back after six")
        term.expect("call back after six")
        _hang_up(term, "note dialog")
    assert stored_row(store.db, DRAFT, ("note_draft:%",), timeout=1)[0] == "call back after six"


def test_hang_up_in_help(store: Demo):
    with _launch(store) as term:
        _signed_in(term)
        term.send("\x1bOP")  # F1
        term.expect("Keys on this screen")
        _hang_up(term, "help")
