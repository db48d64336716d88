"""ThinOutput: the console's screen updates in fewer bytes, for thin-link mode.

Two savings, both exact (the terminal ends up showing the same cells): a piece of a line that
the terminal already shows, at the same place, is not sent again (Textual repaints the whole
screen on every layout change, several times while the first screen settles); and each update
is compacted (`compact`): styles sent only where they change, blanks erased in place.
"""

from __future__ import annotations

import re

from rich.cells import cell_len


# What the console writes, split into escape sequences and text: CSI (SGR among them), OSC
# (hyperlinks, titles) and two-byte escapes; everything else is text.
_TOKENS = re.compile(r"(\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_])")
_BLANKS = re.compile(r" {5,}")
_PLAIN = frozenset({"", "0", "39", "49", "39;49", "49;39", "0;39;49"})
# A run of blanks is erased in place (ECH) rather than sent when that is shorter: on its own
# before a cursor move, or with a cursor step over it (CUF) before more text.
_ERASE_MIN, _ERASE_AND_STEP_MIN = 5, 11


def compact(data: str) -> str:
    """The same screen update in fewer bytes, for a thin line.

    Textual writes every styled run as `SGR text SGR0`, even where the style does not change
    and where it is only the terminal's default colours. Here a style is sent only when it
    changes (the default colours are the reset state), and blanks in the default colours are
    erased in place. The update starts and ends in the reset state, as Textual's own does.
    """
    out: list[str] = []
    current = wanted = ""
    run: list[str] = []  # text in the current style, not yet written

    def write_run(before_move: bool) -> None:
        text = "".join(run)
        run.clear()
        if current:
            out.append(text)
        elif text:
            out.append(_BLANKS.sub(lambda m: _erase(len(m.group()), before_move
                                                    and m.end() == len(text)), text))

    for i, part in enumerate(_TOKENS.split(data)):
        if not part:
            continue
        if i % 2 and part.startswith("\x1b[") and part.endswith("m"):
            params = part[2:-1]
            wanted = "" if params in _PLAIN else params.removeprefix("0;")
        elif i % 2:  # any other escape sequence
            write_run(before_move=part.startswith("\x1b[") and part.endswith("H"))
            out.append(part)
        else:
            if wanted != current:
                write_run(before_move=False)
                out.append(f"\x1b[0;{wanted}m" if wanted and current else f"\x1b[{wanted or 0}m")
                current = wanted
            run.append(part)
    write_run(before_move=False)
    if current:
        out.append("\x1b[0m")
    return "".join(out)


def _erase(blanks: int, then_moved: bool) -> str:
    """`blanks` spaces in the default colours: erased in place when that is shorter."""
    if then_moved and blanks >= _ERASE_MIN:
        return f"\x1b[{blanks}X"
    if blanks >= _ERASE_AND_STEP_MIN:
        return f"\x1b[{blanks}X\x1b[{blanks}C"
    return " " * blanks


_MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
_STYLE = re.compile(r"\x1b\[[0-9;]*m")
# Whatever clears or swaps the screen makes the record of what it shows worthless.
_CLEARS = ("\x1b[2J", "\x1b[?1049", "\x1b[J", "\x1bc")


class ThinOutput:
    """What the terminal shows, as the pieces of lines written to it since the last clear."""

    def __init__(self) -> None:
        self._rows: dict[int, dict[int, tuple[int, str]]] = {}  # row -> {column: (end, piece)}

    def forget(self) -> None:
        """The terminal's content is unknown (resized, cleared): send everything again."""
        self._rows.clear()

    def update(self, data: str) -> str:
        """What to send for `data`, one write of Textual's: the new pieces, compacted."""
        if any(clear in data for clear in _CLEARS):
            self.forget()
        parts = _MOVE.split(data)
        out = [parts[0]]
        for at in range(1, len(parts), 3):
            row, column, piece = int(parts[at]), int(parts[at + 1]), parts[at + 2]
            if self._shown(row, column, piece):
                continue
            out.append(f"\x1b[{row};{column}H{piece}")
        return compact("".join(out))

    def _shown(self, row: int, column: int, piece: str) -> bool:
        """Whether the terminal already shows `piece` there; if not, note that it will."""
        text = _STYLE.sub("", piece)
        if "\x1b" in text:  # other escapes (cursor, modes): always sent, never remembered
            return False
        width = cell_len(text.replace("\r", "").replace("\n", ""))
        if not width:
            return False
        line = self._rows.setdefault(row, {})
        if line.get(column) == (column + width, piece):
            return True
        for start, (end, _) in list(line.items()):
            if start < column + width and column < end:
                del line[start]
        line[column] = (column + width, piece)
        return False
