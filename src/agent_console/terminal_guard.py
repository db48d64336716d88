"""TerminalGuardDriver: Textual's Linux driver, told when its terminal goes away.

Textual 8.2.8 reads the terminal in a thread that takes an empty read for piped input and
selects again; once the terminal is closed every read is empty at once, so a console whose tmux
pane or SSH link is dropped spins on select and read for ever, and it gets no SIGHUP when it is
not the session leader (under `make demo`, make is). This driver watches the terminal for a
hang-up (POLLHUP, an EIO read, or SIGHUP) and posts `TerminalClosed` to the app; output to a dead
terminal is dropped. In thin-link mode `ThinLinkDriver` also writes each update compacted.
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import signal
import threading
import time
from typing import IO, Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver

from agent_console.lone_escape import ESC, ESCAPE, LoneEscape
from agent_console.messages import LineMeasured, TerminalClosed
from agent_console.thin_output import ThinOutput

DEVICE_STATUS_REPORT = "\x1b[6n"  # the terminal answers with where its cursor is


class _DroppingOutput:
    """The terminal's output stream, which drops writes once the terminal has gone.

    Textual's writer thread dies on the first failed write, after which the app blocks as soon as
    its output queue fills; dropping keeps the app able to save and exit.
    """

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def write(self, text: str) -> None:
        try:
            self._file.write(text)
        except (OSError, ValueError):
            pass

    def flush(self) -> None:
        try:
            self._file.flush()
        except (OSError, ValueError):
            pass

    def fileno(self) -> int:
        return self._file.fileno()


class TerminalGuardDriver(LinuxDriver):
    """LinuxDriver plus a hang-up watch: POLLHUP on the terminal, an EIO read, or SIGHUP."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._file = _DroppingOutput(self._file)  # type: ignore[assignment]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watch_stop: int | None = None  # write end of the pipe that ends the watch
        self._probe_sent: float | None = None  # when the line's round trip was asked for

    def start_application_mode(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_signal_handler(signal.SIGHUP, self._closed)
        read_end, self._watch_stop = os.pipe()
        threading.Thread(target=self._watch, args=(read_end,), name="terminal-guard",
                         daemon=True).start()
        super().start_application_mode()
        if os.environ.get("SSH_CONNECTION"):
            self.measure_line()

    def measure_line(self) -> None:
        """Ask the terminal where its cursor is: the answer's delay is the line's round trip
        (posted as `LineMeasured`)."""
        self._probe_sent = time.monotonic()
        self.write(DEVICE_STATUS_REPORT)
        self.flush()

    def process_message(self, message: Any) -> None:
        if isinstance(message, events.CursorPosition) and self._probe_sent is not None:
            self._app.post_message(LineMeasured(time.monotonic() - self._probe_sent))
            self._probe_sent = None
            return
        super().process_message(message)

    def stop_application_mode(self) -> None:
        if self._watch_stop is not None:
            os.close(self._watch_stop)  # the watch sees the pipe close and returns
            self._watch_stop = None
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGHUP)
        super().stop_application_mode()

    def run_input_thread(self) -> None:
        try:
            self._read_input()
        except OSError as error:
            if error.errno != errno.EIO:
                raise
            self._closed()

    def _watch(self, stop: int) -> None:
        """Block until the terminal hangs up (POLLHUP/POLLERR need no mask) or the watch ends."""
        poller = select.poll()
        poller.register(self.fileno, 0)
        poller.register(stop, select.POLLIN)
        try:
            ready = dict(poller.poll())
        finally:
            os.close(stop)
        if self.fileno in ready:
            self._closed()

    def _closed(self) -> None:
        self._app.post_message(TerminalClosed())

    def _read_input(self) -> None:
        """Textual 8.2.8's `LinuxDriver.run_input_thread`, with each read passed through a
        `PasteFilter` (see `widgets.pasting`) and `LoneEscape` (see `lone_escape`) before the
        parser sees it."""
        import selectors
        from codecs import getincrementaldecoder

        from textual._loop import loop_last
        from textual._xterm_parser import XTermParser

        from agent_console.widgets.pasting import PasteFilter

        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        pastes, escapes = PasteFilter(), LoneEscape()
        decode = getincrementaldecoder("utf-8")().decode

        def escape_key() -> None:
            self.process_message(events.Key("escape", ESC))

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for last, (_key, mask) in loop_last(ready):
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(self.fileno, 1024 * 4), final=final and last)
                    if not data:
                        if escapes.flush():
                            escape_key()
                        break  # piped input
                    for piece in escapes(pastes(data)):
                        if piece is ESCAPE:
                            escape_key()
                            continue
                        for event in parser.feed(piece):
                            self.process_message(event)
            if escapes.expire():
                escape_key()
            for event in parser.tick():
                self.process_message(event)

        def timeout() -> float:
            held = escapes.wait()
            return 0.1 if held is None else min(0.1, held)

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(self.fileno)
            process(selector.select(0.1), final=True)
        finally:
            selector.close()


class ThinLinkDriver(TerminalGuardDriver):
    """The guard driver for thin-link mode: what the terminal already shows is not sent again,
    the rest goes out compacted, and a first screen goes once it has settled (`ThinOutput`).

    Output is held from the start, and again when the app calls `hold` (an agent has signed
    in), until the app calls `show_held` (its screen is drawn) or `HOLD_SECONDS` have passed.
    """

    HOLD_SECONDS = 3.0

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._output = ThinOutput(holding=True)
        self._size: os.terminal_size | None = None
        self._hold_limit: asyncio.TimerHandle | None = None

    def start_application_mode(self) -> None:
        super().start_application_mode()
        self._limit_hold()

    def stop_application_mode(self) -> None:
        if self._hold_limit is not None:
            self._hold_limit.cancel()
        super().stop_application_mode()

    def _limit_hold(self) -> None:
        if self._hold_limit is not None:
            self._hold_limit.cancel()
        if self._loop is not None:
            self._hold_limit = self._loop.call_later(self.HOLD_SECONDS, self.show_held)

    def hold(self) -> None:
        """Send nothing of the screen until `show_held`: a new screen is settling."""
        self._output.hold()
        self._limit_hold()

    def show_held(self) -> None:
        """The screen is drawn: send how it changed while held (later calls do nothing)."""
        if self._hold_limit is not None:
            self._hold_limit.cancel()
            self._hold_limit = None
        if held := self._output.release():
            super().write(held)

    def write(self, data: str) -> None:
        try:
            size = os.get_terminal_size(self._file.fileno())
        except (OSError, ValueError):
            size = None
        if size is None or size != self._size:  # a resized terminal may have moved its text
            self._output.forget()
        self._size = size
        super().write(self._output.update(data))
