"""ThinOutput: the console's screen updates in fewer bytes, for thin-link mode.

Three savings, all exact (the terminal ends up showing the same cells): of a piece of a line
only the cells the terminal does not already show there are sent (Textual repaints the whole
screen on every layout change and a whole line for one changed character); while the first
screen settles (Textual draws it several times, a default screen's footer first) nothing is
sent until it has, and then it goes once; and each update is compacted (`compact`): styles
sent only where they change, blanks erased in place.
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
# Mode switches at the end of a piece (the end of a synchronized update, the cursor shown) are
# sent as they are after the piece's cells.
_TRAILING_MODES = re.compile(r"(?:\x1b\[\?[0-9;]*[hl])+\Z")
# Two changed stretches of a line closer than this many cells go as one (a cursor move costs
# about as much).
_JOIN_GAP = 8


Cell = tuple[str, str]  # (character, style); the character is "" right of a wide one
Cells = list[Cell]


class ThinOutput:
    """What the terminal shows, cell by cell, as written to it since the last clear.

    A piece of a line is sent as the stretches of cells that differ from what the terminal
    already shows there: a moved cursor mark or a changed count costs a few bytes, not the line.
    While `holding` (a first screen settling), nothing of the screen is sent: `release` then
    sends how it changed meanwhile, once.
    """

    def __init__(self, *, holding: bool = False) -> None:
        self._rows: dict[int, list[Cell | None]] = {}  # row -> cell per column; None: not known
        # While holding: what the terminal still shows (what `_rows` held when the hold began).
        self._held_from: dict[int, list[Cell | None]] | None = {} if holding else None
        self._cursor = ""  # while holding: the last cursor placement, sent on release

    @property
    def holding(self) -> bool:
        return self._held_from is not None

    def hold(self) -> None:
        """Send nothing of the screen until `release` (a new screen is settling)."""
        if self._held_from is None:
            self._held_from = {row: list(line) for row, line in self._rows.items()}

    def forget(self) -> None:
        """The terminal's content is unknown (resized, cleared): send everything again."""
        self._rows.clear()
        if self._held_from is not None:
            self._held_from = {}

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

    def release(self) -> str:
        """Stop holding: how the screen changed meanwhile, as one update."""
        if self._held_from is None:
            return ""
        then, self._held_from = self._held_from, None
        cursor, self._cursor = self._cursor, ""
        out: list[str] = []
        for row in sorted(self._rows.keys() | then.keys()):
            now = self._rows.get(row, [])
            was = then.get(row, [])
            width = max(len(now), len(was))
            now = now + [None] * (width - len(now))
            was = was + [None] * (width - len(was))
            # A cell no longer known but shown before: the piece over it blanked it.
            cells: Cells = [cell if cell is not None else (" ", "") for cell in now]
            changed = [x for x in range(width) if (now[x] is not None or was[x] is not None)
                       and cells[x] != was[x]]
            out += [f"\x1b[{row};{a + 1}H{_styled(cells[a:b])}"
                    for a, b in _stretches(cells, changed)]
        return compact("".join(out) + cursor)

    def _changes(self, row: int, column: int, piece: str) -> str:
        """What to send for `piece` at row, column (1-based); note that the terminal shows it."""
        modes = _TRAILING_MODES.search(piece)
        tail = modes.group() if modes else ""
        piece = piece[:len(piece) - len(tail)]
        whole = f"\x1b[{row};{column}H{piece}"
        cells = _cells(piece)
        if cells is None:  # escapes other than styles: sent as they are, and the row is unknown
            held = self.release()  # what is held must go first, or it would be drawn over this
            self._rows.pop(row, None)
            return held + whole + tail
        if not cells:  # the cursor's place
            if self.holding:
                self._cursor = whole
                return tail
            return whole + tail
        before = self._record(row, column - 1, cells)
        if self.holding:
            return tail
        changed = [x for x, cell in enumerate(cells) if cell != before[x]]
        sent = "".join(f"\x1b[{row};{column + a}H{_styled(cells[a:b])}"
                       for a, b in _stretches(cells, changed))
        return (sent if len(sent) < len(whole) else whole) + tail

    def _record(self, row: int, start: int, cells: Cells) -> list[Cell | None]:
        """Note that `cells` stand from column `start` (0-based); what stood there before."""
        line = self._rows.setdefault(row, [])
        end = start + len(cells)
        if len(line) < end:
            line.extend([None] * (end - len(line)))
        before = line[start:end]
        line[start:end] = cells
        # A wide character cut in half by the piece is blanked by the terminal: not known here.
        if start and before and before[0] is not None and before[0][0] == "":
            line[start - 1] = None
        if end < len(line) and (after := line[end]) is not None and after[0] == "" \
                and cells[-1][0] != "":
            line[end] = None
        return before


def _stretches(cells: Cells, changed: list[int]) -> list[tuple[int, int]]:
    """The [start, end) stretches of `cells` holding the `changed` columns (in order), close
    ones joined, each widened to hold whole wide characters."""
    out: list[tuple[int, int]] = []
    for x in changed:
        if out and x - out[-1][1] < _JOIN_GAP:
            out[-1] = (out[-1][0], x + 1)
        else:
            out.append((x, x + 1))
    widened = []
    for a, b in out:
        while a and cells[a][0] == "":  # the right half of a wide character
            a -= 1
        while b < len(cells) and cells[b][0] == "":
            b += 1
        widened.append((a, b))
    return widened


def _styled(cells: Cells) -> str:
    """Cells as text, one style sequence for each run of a style."""
    out: list[str] = []
    run, style = "", ""
    for text, cell_style in cells:
        if cell_style != style:
            out.append(f"\x1b[{style}m{run}\x1b[0m" if style else run)
            run, style = "", cell_style
        run += text
    out.append(f"\x1b[{style}m{run}\x1b[0m" if style else run)
    return "".join(out)


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
