"""ThinOutput: the console's screen updates in fewer bytes, for thin-link mode.

Two savings, both exact (the terminal ends up showing the same cells): of a piece of a line
only the cells the terminal does not already show there are sent (Textual repaints the whole
screen on every layout change, several times while the first screen settles, and a whole line
for one changed character); and each update is compacted (`compact`): styles sent only where
they change, blanks erased in place.
"""

from __future__ import annotations

import re

from rich.cells import cell_len

# What the console writes, split into escape sequences and text: CSI (SGR among them), OSC
# (hyperlinks, titles) and two-byte escapes; everything else is text.
_TOKENS = re.compile(r"(\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_])")
_BLANKS = re.compile(r" {5,}")
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
        if before_move:  # a line feed before a move to a place moves the cursor for nothing
            text = text.rstrip("\n")
        if current:
            out.append(text)
        elif text:
            out.append(_BLANKS.sub(lambda m: _erase(len(m.group()), before_move
                                                    and m.end() == len(text)), text))

    for i, part in enumerate(_TOKENS.split(data)):
        if not part:
            continue
        if i % 2 and part.startswith("\x1b[") and part.endswith("m"):
            wanted = _essential(part[2:-1])
        elif i % 2:  # any other escape sequence
            write_run(before_move=part.startswith("\x1b[") and part.endswith("H"))
            out.append(part)
        else:
            if wanted != current:
                write_run(before_move=False)
                out.append(f"\x1b[0;{wanted}m" if wanted and current else f"\x1b[{wanted}m")
                current = wanted
            run.append(part)
    write_run(before_move=False)
    if current:
        out.append("\x1b[m")
    return "".join(out)


def _essential(params: str) -> str:
    """An SGR's parameters as set from the reset state: without resets and default colours
    (39, 49), which change nothing there; "" for the reset state itself."""
    kept: list[str] = []
    codes = params.split(";")
    while codes:
        code = codes.pop(0)
        if code in ("38", "48", "58"):  # an extended colour takes its arguments with it
            count = 4 if codes[:1] == ["2"] else 2  # 2;r;g;b or 5;n
            kept += [code, *codes[:count]]
            del codes[:count]
        elif code not in ("", "0", "39", "49"):
            kept.append(code)
    return ";".join(kept)


def _erase(blanks: int, then_moved: bool) -> str:
    """`blanks` spaces in the default colours: erased in place when that is shorter."""
    if then_moved and blanks >= _ERASE_MIN:
        return f"\x1b[{blanks}X"
    if blanks >= _ERASE_AND_STEP_MIN:
        return f"\x1b[{blanks}X\x1b[{blanks}C"
    return " " * blanks


_MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
# Whatever clears or swaps the screen makes the record of what it shows worthless.
_CLEARS = ("\x1b[2J", "\x1b[?1049", "\x1b[J", "\x1bc")


Cells = list[tuple[str, str]]  # (character, style) per terminal cell; "" after a wide one


class ThinOutput:
    """What the terminal shows, as the pieces of lines written to it since the last clear.

    A piece written where one of the same width stands is sent as the cells that differ only:
    a moved cursor mark or a changed count costs a few bytes, not the line.
    """

    def __init__(self) -> None:
        self._rows: dict[int, dict[int, Cells]] = {}  # row -> {column: cells shown there}

    def forget(self) -> None:
        """The terminal's content is unknown (resized, cleared): send everything again."""
        self._rows.clear()

    def update(self, data: str) -> str:
        """What to send for `data`, one write of Textual's: what changes, compacted."""
        parts = _MOVE.split(data)
        if any(clear in data for clear in _CLEARS) or _TOKENS.sub("", parts[0]).strip("\r\n"):
            self.forget()  # cleared, or text written at a place not known here
        out = [parts[0]]
        for at in range(1, len(parts), 3):
            row, column, piece = int(parts[at]), int(parts[at + 1]), parts[at + 2]
            out.append(self._changes(row, column, piece))
        return compact("".join(out))

    def _changes(self, row: int, column: int, piece: str) -> str:
        """What to send for `piece` at row, column (1-based); note that the terminal shows it."""
        whole = f"\x1b[{row};{column}H{piece}"
        cells = _cells(piece)
        if cells is None:  # escapes other than styles: sent as it is, and the row is unknown
            self._rows.pop(row, None)
            return whole
        if not cells:  # the cursor's place
            return whole
        line = self._rows.setdefault(row, {})
        before = line.get(column)
        for start, shown in list(line.items()):
            if start < column + len(cells) and column < start + len(shown):
                del line[start]
        line[column] = cells
        if before is None or len(before) != len(cells):
            return whole
        first = next((x for x, cell in enumerate(cells) if cell != before[x]), None)
        if first is None:
            return ""
        last = next(x for x in range(len(cells) - 1, -1, -1) if cells[x] != before[x])
        while first and cells[first][0] == "":  # the right half of a wide character
            first -= 1
        if last + 1 < len(cells) and cells[last + 1][0] == "":
            last += 1
        changed = "".join(f"\x1b[{style}m{text}\x1b[0m" if style else text
                          for text, style in cells[first:last + 1])
        return f"\x1b[{row};{column + first}H{changed}"


def _cells(piece: str) -> Cells | None:
    """The cells a piece of a line writes, or None when it holds other escapes than styles."""
    cells: Cells = []
    style = ""
    for i, part in enumerate(_TOKENS.split(piece)):
        if i % 2:
            if not (part.startswith("\x1b[") and part.endswith("m")):
                return None
            style = _essential(part[2:-1])
            continue
        for char in part:
            width = cell_len(char)
            if char in "\r\n":
                continue
            if width == 0 and cells:  # a combining mark joins the character before it
                cells[-1] = (cells[-1][0] + char, style)
            elif width:
                cells.append((char, style))
                if width == 2:
                    cells.append(("", style))
    return cells
