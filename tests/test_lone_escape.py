"""An Escape key followed at once by another key is read as two keys, however the bytes arrive.

Textual's parser alone reads ESC then `j` in one read as `alt+j` and ESC then Enter as Enter,
so an agent on a slow line loses Escapes; `LoneEscape` splits them out before the parser. The
end-to-end test sends both keys in one write to the installed console.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from agent_console.lone_escape import ESCAPE, LoneEscape

from .e2e_pty import Terminal, demo_env, make_demo_store


def keys(*reads: str) -> list[str]:
    """The keys the console gets for these reads, as the terminal driver feeds them."""
    parser, escapes, out = XTermParser(), LoneEscape(delay=0.1), []
    for data in reads:
        for piece in escapes(data, now=0.0):
            if piece is ESCAPE:
                out.append("escape")
            else:
                out += [e.key for e in parser.feed(piece) if isinstance(e, events.Key)]
    if escapes.flush():
        out.append("escape")
    return out + [e.key for e in parser.feed("") if isinstance(e, events.Key)]


def test_the_parser_alone_misreads_an_escape_glued_to_the_next_key():
    def parsed(data: str) -> list[str]:
        parser = XTermParser()  # the end of input ends its wait for more of a sequence
        return [e.key for e in [*parser.feed(data), *parser.feed("")] if isinstance(e, events.Key)]

    assert parsed("\x1bj") == ["alt+j"]  # what LoneEscape is for
    assert parsed("\x1b\r") == ["enter"]  # the Escape is dropped


def test_an_escape_glued_to_a_key_is_two_keys():
    assert keys("\x1bj") == ["escape", "j"]
    assert keys("\x1b\r") == ["escape", "enter"]
    assert keys("\x1b\x1b\x1bj") == ["escape", "escape", "escape", "j"]
    assert keys("a\x1bb\x1bc") == ["a", "escape", "b", "escape", "c"]
    assert keys("\x1b张") == ["escape", "张"]


def test_sequences_are_left_whole_even_split_across_reads():
    assert keys("\x1b[B\x1b[A") == ["down", "up"]
    assert keys("\x1b", "[B") == ["down"]  # ESC held until the next read shows a sequence
    assert keys("\x1b[", "B") == ["down"]
    assert keys("\x1bOA") == ["up"]
    assert keys("\x1b\x1b[B") == ["escape", "down"]
    assert keys("\x1b[6~j") == ["pagedown", "j"]


def test_a_held_escape_becomes_a_key_after_its_delay_or_at_the_end():
    escapes = LoneEscape(delay=0.1)
    assert escapes("j\x1b", now=10.0) == ["j"]
    assert escapes.wait(now=10.05) == pytest.approx(0.05)
    assert not escapes.expire(now=10.05)
    assert escapes.expire(now=10.1)
    assert escapes.wait(now=10.2) is None
    assert escapes("\x1b", now=11.0) == []
    assert escapes("j", now=11.01) == [ESCAPE, "j"]  # the next read shows it was a key
    assert escapes("\x1b", now=12.0) == [] and escapes.flush() and not escapes.flush()


def test_a_bracketed_paste_and_a_mouse_report_pass_untouched():
    paste = "\x1b[200~hello\x1b[201~"
    assert LoneEscape()(paste) == [paste]
    mouse = "\x1b[<35;10;5M"
    assert LoneEscape()(mouse) == [mouse]


@pytest.mark.uses_store
def test_an_escape_glued_to_j_on_the_queue_moves_the_cursor(tmp_path: Path):
    """The console in a pty gets ESC and `j` in one write, as a lossy line delivers them: the
    mark moves down one row (read as alt+j, it would not move)."""
    env = demo_env(tmp_path)
    store = make_demo_store(tmp_path / "s.db", env, tickets=300)
    with Terminal(["--db", str(store), "--agent", "a002", "--lang", "en"], env) as term:
        term.expect("PIN")
        term.send("1111\r")
        term.expect("Row 1 of")
        term.settle(0.5)
        term.send(b"\x1bj")
        term.expect("Row 2 of")
        term.send(b"\x1bj\x1bj\x1b\x1b[B")
        term.expect("Row 5 of")
