"""LoneEscape: an Escape key followed at once by another key stays two keys.

Textual 8.2.8's parser (`_xterm_parser.XTermParser.parse`) reads ESC followed by a character it
does not know as one key with Alt held: ESC then `j` becomes `alt+j`, and ESC then Enter becomes
Enter alone (the Escape is dropped without a word). On a slow or lossy line two keystrokes often
arrive in one read, and even typed apart they can: the parser only gives up waiting after a lone
ESC (100 ms) when its reading thread next wakes, which may be after the next key has come. The
console binds nothing to Alt, so an agent's Escape is always meant as Escape.

`LoneEscape` sits in the raw input before the parser (after `widgets.pasting.PasteFilter`): an
ESC that does not start an escape sequence is taken out and becomes an Escape key in its place
(`ESCAPE`); an ESC at the very end of a read is held until the next read shows what it starts,
or until `ESCAPE_DELAY` has passed without one.
"""

from __future__ import annotations

import time

from textual import constants

ESC = "\x1b"
ESCAPE = None  # stands for one Escape key among the pieces `LoneEscape` gives
# What follows ESC when it starts a sequence rather than being a key: CSI, SS3, OSC, DCS, APC,
# PM and the string terminator.
INTRODUCERS = frozenset("[O]P_^\\")

Piece = str | None  # text for the parser, or ESCAPE


class LoneEscape:
    """Splits lone Escape keys out of the terminal's input; see the module's note."""

    def __init__(self, delay: float | None = None) -> None:
        self.delay = constants.ESCAPE_DELAY if delay is None else delay
        self._held_since: float | None = None  # a trailing ESC held back, and since when

    def __call__(self, data: str, now: float | None = None) -> list[Piece]:
        """The pieces of one read, in order: text for the parser, or ESCAPE."""
        if self._held_since is not None:
            data, self._held_since = ESC + data, None
        pieces: list[Piece] = []
        start = 0
        at = data.find(ESC)
        while at >= 0:
            following = data[at + 1:at + 2]
            if not following:  # the read ends on it: what it starts is not known yet
                self._held_since = time.monotonic() if now is None else now
                break
            if following not in INTRODUCERS:
                if at > start:
                    pieces.append(data[start:at])
                pieces.append(ESCAPE)
                start = at + 1
            at = data.find(ESC, at + 1)
        end = len(data) - (self._held_since is not None)
        if end > start:
            pieces.append(data[start:end])
        return pieces

    def wait(self, now: float | None = None) -> float | None:
        """Seconds until a held ESC becomes an Escape key; None when none is held."""
        if self._held_since is None:
            return None
        now = time.monotonic() if now is None else now
        return max(0.0, self._held_since + self.delay - now)

    def expire(self, now: float | None = None) -> bool:
        """True once a held ESC has waited its delay: it is an Escape key (and no longer held)."""
        if self.wait(now) == 0.0:
            self._held_since = None
            return True
        return False

    def flush(self) -> bool:
        """At the end of input: True when an ESC was held (it is an Escape key)."""
        held, self._held_since = self._held_since is not None, None
        return held
