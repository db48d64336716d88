"""BigText: a number drawn in blocks, as large as its space allows (a hall's display board).

A 3×5 pixel font for digits, letters and a dash; each pixel is 2·s cells wide and s rows tall,
with s the largest scale that fits the widget. Characters outside the font are left blank.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_FONT_ROWS = {
    "0": "### #.# #.# #.# ###", "1": ".#. ##. .#. .#. ###", "2": "### ..# ### #.. ###",
    "3": "### ..# ### ..# ###", "4": "#.# #.# ### ..# ..#", "5": "### #.. ### ..# ###",
    "6": "### #.. ### #.# ###", "7": "### ..# ..# ..# ..#", "8": "### #.# ### #.# ###",
    "9": "### #.# ### ..# ###", "A": ".#. #.# ### #.# #.#", "B": "##. #.# ##. #.# ##.",
    "C": "### #.. #.. #.. ###", "D": "##. #.# #.# #.# ##.", "E": "### #.. ##. #.. ###",
    "F": "### #.. ##. #.. #..", "G": "### #.. #.# #.# ###", "H": "#.# #.# ### #.# #.#",
    "I": "### .#. .#. .#. ###", "J": "..# ..# ..# #.# ###", "K": "#.# #.# ##. #.# #.#",
    "L": "#.. #.. #.. #.. ###", "M": "#.# ### ### #.# #.#", "N": "##. #.# #.# #.# #.#",
    "O": ".#. #.# #.# #.# .#.", "P": "### #.# ### #.. #..", "Q": "### #.# #.# ### ..#",
    "R": "##. #.# ##. #.# #.#", "S": "### #.. ### ..# ###", "T": "### .#. .#. .#. .#.",
    "U": "#.# #.# #.# #.# ###", "V": "#.# #.# #.# #.# .#.", "W": "#.# #.# ### ### #.#",
    "X": "#.# #.# .#. #.# #.#", "Y": "#.# #.# .#. .#. .#.", "Z": "### ..# .#. #.. ###",
    "-": "... ... ### ... ...", " ": "... ... ... ... ...",
}
FONT = {char: rows.split() for char, rows in _FONT_ROWS.items()}
GLYPH_ROWS = 5


def block_lines(text: str, scale: int) -> list[str]:
    """The text in blocks at this scale (pure, for tests)."""
    lines = []
    for row in range(GLYPH_ROWS):
        cells = []
        for char in text.upper():
            glyph = FONT.get(char, FONT[" "])[row]
            cells.append("".join(("█" if pixel == "#" else " ") * 2 * scale for pixel in glyph))
        line = (" " * scale).join(cells)
        lines.extend([line] * scale)
    return lines


class BigText(Widget):
    DEFAULT_CSS = """
    BigText {
        height: 1fr;
        min-height: 5;
        width: 1fr;
    }
    """

    text: reactive[str] = reactive("")

    def __init__(self, text: str = "", *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.text = text

    def scale_for(self, width: int, height: int) -> int:
        count = max(1, len(self.text))
        across = width // max(1, count * 7 - 1)  # 6 cells a glyph and 1 between, per scale
        return max(1, min(height // GLYPH_ROWS, across))

    def render(self) -> Text:
        if not self.text:
            return Text("")
        scale = self.scale_for(self.size.width, self.size.height)
        return Text("\n".join(block_lines(self.text, scale)), no_wrap=True, overflow="crop")
