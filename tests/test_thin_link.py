"""Thin-link mode: what the console writes to a slow line, and that it shows the same screen.

The unit tests drive `ThinOutput` on strings; the end-to-end test counts the bytes the installed
console writes to a pseudo-terminal with `--thin` at 120×40, against the README's targets.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import pytest

from agent_console.terminal_guard import DEVICE_STATUS_REPORT
from agent_console.thin_output import ThinOutput, compact

from .e2e_pty import Terminal, demo_env, make_demo_store, poll_until

FIRST_SCREEN_RAW = 18 * 1024  # targets for --thin (README, "A thin link")
# As one zlib stream: ssh -C flushes per write, which bench_link counts (about 2.2 KB, over).
FIRST_SCREEN_COMPRESSED = 2 * 1024
CURSOR_MOVE = 120  # bytes: about 100 leave the echo within one round trip + 50 ms at 20 kbit/s


def test_default_colours_are_the_reset_state_and_a_style_is_sent_once():
    frame = ("\x1b[3;1H\x1b[39;49mab\x1b[0m\x1b[39;49mcd\x1b[0m"
             "\x1b[1;31;49mX\x1b[0m\x1b[1;31;49mY\x1b[0m\x1b[39;49mz\x1b[0m")
    assert compact(frame) == "\x1b[3;1Habcd\x1b[1;31mXY\x1b[mz"


def test_a_styled_run_at_the_end_is_closed():
    assert compact("\x1b[1;1H\x1b[7mX\x1b[0m") == "\x1b[1;1H\x1b[7mX\x1b[m"
    assert compact("\x1b[1;1H\x1b[7mX\x1b[0m\x1b[44mY\x1b[0m") == \
        "\x1b[1;1H\x1b[7mX\x1b[0;44mY\x1b[m"
    assert compact("\x1b[1;1H\x1b[38;5;39;49mX\x1b[0m") == "\x1b[1;1H\x1b[38;5;39mX\x1b[m"


def test_blanks_in_the_default_colours_are_erased_in_place():
    before_a_move = compact("\x1b[1;1H\x1b[39;49mab" + " " * 40 + "\x1b[0m\x1b[2;1Hc")
    assert before_a_move == "\x1b[1;1Hab\x1b[40X\x1b[2;1Hc"
    assert compact("\x1b[1;1Hab\n\x1b[2;1Hc") == "\x1b[1;1Hab\x1b[2;1Hc"  # the move does it
    between_text = compact("\x1b[1;1Hab" + " " * 40 + "cd")
    assert between_text == "\x1b[1;1Hab\x1b[40X\x1b[40Ccd"
    assert compact("\x1b[1;1Ha    b") == "\x1b[1;1Ha    b"  # shorter as it is
    coloured = "\x1b[1;1H\x1b[44m" + " " * 40 + "\x1b[0m"  # ECH would lose the colour
    assert compact(coloured) == coloured.replace("[0m", "[m")


def test_of_a_changed_line_only_the_changed_cells_are_sent():
    out = ThinOutput()
    out.update("\x1b[39;1H\x1b[39;49m Row 5 of 260 \x1b[0m")
    assert out.update("\x1b[39;1H\x1b[39;49m Row 6 of 260 \x1b[0m") == "\x1b[39;6H6"
    out.update("\x1b[3;1H\x1b[1m张伟ab\x1b[0m")
    assert out.update("\x1b[3;1H\x1b[1m张杰ab\x1b[0m") == "\x1b[3;3H\x1b[1m杰\x1b[m"


def test_what_the_terminal_shows_is_not_sent_again():
    out = ThinOutput()
    line = "\x1b[5;1H\x1b[1mT0001\x1b[0m open\n"
    assert "T0001" in out.update(line + "\x1b[2;5H")
    assert out.update(line + "\x1b[2;5H") == "\x1b[2;5H"  # the cursor's place is always sent
    out.update("\x1b[5;3Hxx")  # overwrites part of the line: that part goes again
    assert out.update(line) == "\x1b[5;3H\x1b[1m00\x1b[m"
    out.update("\x1b[?1049h")  # a new screen: everything again
    assert "T0001" in out.update(line)
    out.update("\x1b[5;1H\x1b]8;id=1;https://x\x1b\\link\x1b]8;;\x1b\\")  # not modelled
    assert "T0001" in out.update(line)


def test_a_line_drawn_in_pieces_is_known_whole():
    """A countdown drawn over the start of a row, then the whole row again: nothing to send
    (a record of pieces rather than cells sent the row whole)."""
    out = ThinOutput()
    row = "\x1b[6;1H\x1b[7mOVERDUE 23h 54m\x1b[0m T261129000961 Sun Lei"
    out.update(row)
    assert out.update("\x1b[6;1H\x1b[7mOVERDUE 23h 53m\x1b[0m") == "\x1b[6;14H\x1b[7m3\x1b[m"
    assert out.update(row.replace("54m", "53m")) == ""
    far_apart = row.replace("54m", "52m").replace("Sun Lei", "Li Na  ")
    assert out.update(far_apart) == "\x1b[6;14H\x1b[7m2\x1b[6;31H\x1b[mLi Na  "


def test_half_of_a_wide_character_overwritten_is_not_known():
    out = ThinOutput()
    out.update("\x1b[3;1H张伟ab")
    out.update("\x1b[3;2Hxy")  # the terminal blanks 张's other half
    assert "张" in out.update("\x1b[3;1H张伟ab")


def test_held_updates_go_once_as_what_the_screen_came_to_show():
    out = ThinOutput(holding=True)
    assert out.update("\x1b[?1049h\x1b[1;1HHelp  Quit\x1b[2;5H") == "\x1b[?1049h"
    assert out.update("\x1b[3;1H\x1b[1mT0001\x1b[0m open\x1b[1;1HOpen  Claim\x1b[2;5H") == ""
    assert out.release() == "\x1b[1;1HOpen  Claim\x1b[3;1H\x1b[1mT0001\x1b[m open\x1b[2;5H"
    assert out.update("\x1b[3;1H\x1b[1mT0001\x1b[0m open") == ""  # known once released
    assert out.release() == ""


def test_a_second_hold_sends_only_how_the_screen_changed():
    """Signing in holds the screen again: the queue replacing the sign-in screen goes as the
    cells that differ, once, however many times it was drawn meanwhile."""
    out = ThinOutput()
    out.update("\x1b[1;1HAgent Console\x1b[2;1HPIN: ****\x1b[3;1Hf1 Help")
    out.hold()
    out.update("\x1b[2;1HLoading  \x1b[3;1Hf1 Help")
    out.update("\x1b[2;1HT0001 new\x1b[3;1Hf1 Help\x1b[2;2H")
    assert out.release() == "\x1b[2;1HT0001 new\x1b[2;2H"
    out.hold()
    out.update("\x1b[?1049h\x1b[1;1HAgent Console")  # a cleared screen: all of it again
    assert out.release() == "\x1b[1;1HAgent Console"


def test_what_cannot_be_modelled_ends_the_hold_in_order():
    out = ThinOutput(holding=True)
    out.update("\x1b[1;1HQueue")
    link = "\x1b[2;1H\x1b]8;id=1;https://x\x1b\\link\x1b]8;;\x1b\\"
    assert out.update(link) == "\x1b[1;1HQueue" + link
    assert not out.holding


def test_the_end_of_a_synchronized_update_does_not_make_a_line_unknown():
    out = ThinOutput()
    out.update("\x1b[?2026h\x1b[4;1HT0001 open\x1b[?2026l")
    assert out.update("\x1b[?2026h\x1b[4;1HT0001 open\x1b[?2026l") == "\x1b[?2026h\x1b[?2026l"


@pytest.mark.uses_store
def test_thin_first_screen_and_cursor_move_stay_within_the_targets(tmp_path: Path):
    env = demo_env(tmp_path)
    store = make_demo_store(tmp_path / "s.db", env, tickets=300)
    args = ["--db", str(store), "--agent", "a002", "--lang", "en", "--thin"]
    with Terminal(args, env) as term:
        term.expect("PIN")
        term.settle(0.5)
        signed_in = len(term.raw)
        term.send("1111\r")
        term.expect("Row 1 of")
        term.settle()
        screen = term.raw[signed_in:]
        term.send("j")  # the mark moves to row 2 and the status line says so: "Row 2 of"
        term.settle(0.5, beyond=len(term.raw))
        move = term.raw[signed_in + len(screen):]
    assert "▶".encode() in move and b"2" in move, move
    squeezed = zlib.compressobj(6)
    compressed = len(squeezed.compress(screen) + squeezed.flush(zlib.Z_SYNC_FLUSH))
    print(f"first screen {len(screen)} B raw, {compressed} B compressed; move {len(move)} B")
    assert len(screen) <= FIRST_SCREEN_RAW
    assert compressed <= FIRST_SCREEN_COMPRESSED
    assert len(move) <= CURSOR_MOVE, move


@pytest.mark.uses_store
def test_over_ssh_a_slow_answer_from_the_terminal_offers_thin_mode(tmp_path: Path):
    """Over SSH the console asks the terminal where its cursor is and times the answer. Here the
    terminal answers 0.4 s late, as across a slow line: the offer names the round trip."""
    env = {**demo_env(tmp_path), "SSH_CONNECTION": "10.0.0.9 50000 10.0.0.1 22"}
    store = make_demo_store(tmp_path / "s.db", env, tickets=30)
    with Terminal(["--db", str(store), "--agent", "a002", "--lang", "en"], env) as term:
        term.started()
        poll_until(lambda: (term.drain(), DEVICE_STATUS_REPORT.encode() in term.raw)[1],
                   what="the console to ask where the cursor is")
        asked = time.monotonic()
        poll_until(lambda: time.monotonic() - asked >= 0.4, what="the line's delay")
        term.send("\x1b[1;1R")
        term.expect("ms to answer")
        term.expect("--thin")


@pytest.mark.uses_store
def test_without_ssh_the_line_is_not_measured(tmp_path: Path):
    env = demo_env(tmp_path)
    env.pop("SSH_CONNECTION", None)
    store = make_demo_store(tmp_path / "s.db", env, tickets=30)
    with Terminal(["--db", str(store), "--agent", "a002", "--lang", "en"], env) as term:
        term.expect("PIN")
        term.settle(0.3)
    assert DEVICE_STATUS_REPORT.encode() not in term.raw
