"""Line breaking for Chinese and mixed Chinese/Latin text, by terminal cells.

The usual rules (GB/T 15834 and the JIS "kinsoku" practice): closing punctuation (。，、）」…)
never begins a line and opening punctuation (（「“…) never ends one; a Latin word or number is
not split unless it is longer than a whole line; Chinese may break between any two characters.
Used by the app's own text widgets (`widgets.wrapped.Wrapped`): the case detail, the ticket's
timeline and the script panel.
"""

from __future__ import annotations

from rich.cells import cell_len, get_character_cell_size
from rich.text import Text

NO_LINE_START = set("，。、；：？！）］｝」』】〕》〉”’…‥—～·％,.;:?!)]}%")
NO_LINE_END = set("（［｛「『【〔《〈“‘([{")


def _units(line: str) -> list[tuple[int, int]]:
    """(start, end) of the pieces a line may break between: a Latin word, one wide character,
    a run of spaces; punctuation glued to the piece it belongs with."""
    units: list[tuple[int, int]] = []
    index, size = 0, len(line)
    while index < size:
        char = line[index]
        end = index + 1
        if char == " ":
            while end < size and line[end] == " ":
                end += 1
        elif get_character_cell_size(char) == 1 and char not in NO_LINE_END:
            while end < size and line[end] != " " and get_character_cell_size(line[end]) == 1 \
                    and line[end] not in NO_LINE_END:
                end += 1
        units.append((index, end))
        index = end
    glued: list[tuple[int, int]] = []
    pending_open: int | None = None  # start of opening punctuation waiting for its word
    for start, end in units:
        text = line[start:end]
        if pending_open is not None:
            if text != " " * len(text):
                start = pending_open
            else:
                glued.append((pending_open, start))
            pending_open = None
        if text[0] in NO_LINE_START and glued and line[glued[-1][1] - 1] != " " \
                and glued[-1][1] == start:
            glued[-1] = (glued[-1][0], end)
        elif end - start == 1 and text in NO_LINE_END:
            pending_open = start
        else:
            glued.append((start, end))
    if pending_open is not None:
        glued.append((pending_open, len(line)))
    return glued


def _break_line(line: str, width: int, rest_width: int) -> list[tuple[int, int]]:
    """(start, end) of each row of one line: the first `width` cells wide, the rest `rest_width`."""
    rows: list[tuple[int, int]] = []
    start = end = None  # the row being filled
    room = width
    for unit_start, unit_end in _units(line):
        piece = line[unit_start:unit_end]
        if piece.strip(" ") == "":
            if start is None:  # spaces that begin a line are kept: an indent of its own
                start, end = unit_start, min(unit_end, unit_start + width - 1)
            elif start is not None:
                end = unit_end if cell_len(line[start:unit_end]) <= room else end
            continue
        if start is None:
            start = unit_start
        if cell_len(line[start:unit_end]) <= room:
            end = unit_end
            continue
        if end is not None and end > start:
            rows.append((start, end))
            room = rest_width
            start = unit_start
        # a piece longer than a whole row is cut by cells
        while cell_len(line[start:unit_end]) > room:
            cut, cells = start, 0
            while cut < unit_end and cells + get_character_cell_size(line[cut]) <= room:
                cells += get_character_cell_size(line[cut])
                cut += 1
            if cut < unit_end and line[cut] in NO_LINE_START and cut - 1 > start:
                cut -= 1  # not even a cut word's next row begins with a full stop
            cut = max(cut, start + 1)
            rows.append((start, cut))
            room = rest_width
            start = cut
        end = unit_end
    if start is not None and end is not None:
        rows.append((start, end))
    # spaces at a row's end are not shown
    return [(s, s + len(line[s:e].rstrip(" "))) for s, e in rows] or [(0, 0)]


def wrap_offsets(text: str, width: int, indent: int = 0) -> list[tuple[int, int]]:
    """(start, end) in `text` of each screen row; rows after the first leave `indent` cells."""
    width = max(1, width)
    rest = max(1, width - indent)
    rows: list[tuple[int, int]] = []
    offset, first = 0, True
    for line in text.split("\n"):
        for start, end in _break_line(line, width if first else rest, rest):
            rows.append((offset + start, offset + end))
        offset += len(line) + 1
        first = False
    return rows


def wrap_text(text: Text, width: int, indent: int = 0) -> Text:
    """`text` broken into rows of at most `width` cells, styles kept; a hanging indent of
    `indent` cells after the first row."""
    rows = wrap_offsets(text.plain, width, indent)
    out = Text()
    pad = " " * indent
    for number, (start, end) in enumerate(rows):
        if number:
            out.append("\n" + pad)
        out.append_text(text[start:end])
    return out


def wrap_plain(text: str, width: int, indent: int = 0) -> list[str]:
    """The rows of `text` as strings (continuation rows start with `indent` spaces)."""
    return wrap_text(Text(text), width, indent).plain.split("\n")
