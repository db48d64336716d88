"""Thin-link mode: what the console writes to a slow line, and that it shows the same screen.

The unit tests drive `ThinOutput` on strings; the end-to-end test counts the bytes the installed
console writes to a pseudo-terminal with `--thin` at 120×40, against the README's targets.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from agent_console.thin_output import ThinOutput, compact

from .e2e_pty import Terminal, demo_env, make_demo_store

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
    out.update("\x1b[5;3Hxx")  # overwrites part of the line: it must go again
    assert "T0001" in out.update(line)
    out.update("\x1b[?1049h")  # a new screen: everything again
    assert "T0001" in out.update(line)
    out.update("\x1b[5;1H\x1b]8;id=1;https://x\x1b\\link\x1b]8;;\x1b\\")  # not modelled
    assert "T0001" in out.update(line)


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
