"""What a paste puts in a text field: clean text, in order, cut to the field's limit.

Two causes, both Textual 8.2.8's (`_xterm_parser.XTermParser.parse`):

* An ESC inside a bracketed paste starts an escape sequence in the parser; a sequence it does
  not know is "reissued as keys" at once, the ESC itself as `^`. Those keys reach the field
  while the paste is still being collected, so `^[31mP2:` is typed first and the paste text
  (which also keeps the raw ESC) lands after it: the text appears reordered, with `^[` in it.
  `PasteFilter` cleans the paste body in the raw input, before the parser sees it, so the
  parser never finds an escape inside a paste.
* The paste event carries control and bidirectional characters as they came, and `Input`
  drops a paste that would pass its `max_length` without a word. `prepare_paste` cleans the
  text and cuts it to what the focused field can take (the app tells the agent).
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input

from agent_console.text import clean_paste

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


def _partial_end(data: str, marker: str) -> int:
    """How many characters at the end of `data` could be the start of `marker`."""
    for size in range(min(len(marker) - 1, len(data)), 0, -1):
        if marker.startswith(data[-size:]):
            return size
    return 0


class PasteFilter:
    """Feeds the terminal's input through, cleaning the body of each bracketed paste.

    Outside a paste every character passes at once (a lone ESC key is never held back); a
    paste's body is held until its end marker arrives and then passed on cleaned.
    """

    def __init__(self) -> None:
        self._body: str | None = None  # the paste being collected; None outside a paste
        self._look = ""  # the last characters seen outside a paste (a start marker may span reads)
        self._tail = ""  # inside a paste: characters that may begin the end marker

    def __call__(self, data: str) -> str:
        if not data:
            return data  # end of input: the parser's own signal
        out: list[str] = []
        while data:
            if self._body is None:
                seen = self._look + data
                found = seen.find(PASTE_START)
                if found < 0:
                    out.append(data)
                    self._look = seen[-(len(PASTE_START) - 1):]
                    break
                cut = found + len(PASTE_START) - len(self._look)
                out.append(data[:cut])
                data, self._body, self._look = data[cut:], "", ""
            else:
                data, self._tail = self._tail + data, ""
                found = data.find(PASTE_END)
                if found < 0:
                    keep = _partial_end(data, PASTE_END)
                    self._body += data[:len(data) - keep]
                    self._tail = data[len(data) - keep:]
                    break
                out.append(clean_paste(self._body + data[:found]) + PASTE_END)
                data, self._body = data[found + len(PASTE_END):], None
        return "".join(out)


def prepare_paste(focused: Widget | None, text: str) -> tuple[str, int | None]:
    """The text a paste puts in `focused`, and the limit it was cut to (None when whole)."""
    text = clean_paste(text)
    if isinstance(focused, Input) and focused.max_length:
        line = text.splitlines()[0] if text else ""
        start, end = sorted(focused.selection)
        room = focused.max_length - (len(focused.value) - (end - start))
        if len(line) > room:
            return line[:max(0, room)], focused.max_length
    return text, None
