"""A paste through a real terminal: escape sequences and bidirectional overrides never reach the
note, and the text keeps its order (Textual's parser used to type the part after an ESC first)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .e2e_pty import Terminal, demo_env, make_demo_store, stored_row

PASTE = "P1: 光猫红灯\x1b[31mP2: 断网\x1b[0m \u202eevil\x1b]0;title\x07 P3"
NOTE = "SELECT detail FROM ticket_event WHERE kind = 'note' AND detail LIKE '%P3%'"


@pytest.mark.uses_store
def test_a_bracketed_paste_lands_clean_and_in_order(tmp_path: Path):
    store = make_demo_store(tmp_path / "s.db", demo_env(tmp_path))
    args = ["--db", str(store), "--agent", "a002", "--lang", "zh"]
    with Terminal(args, demo_env(tmp_path), size=(80, 24)) as term:
        term.expect("PIN")
        term.send("1111\r")
        term.expect("第 1 / ")
        term.send("n")
        term.expect("备注")
        term.send(b"\x1b[200~" + PASTE.encode() + b"\x1b[201~")
        term.expect("P3")
        term.send("\x13")  # ctrl+s saves the note
        detail = json.loads(stored_row(store, NOTE)[0])
    assert detail["text"] == "P1: 光猫红灯P2: 断网 evil P3"
