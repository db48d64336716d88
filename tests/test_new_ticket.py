"""Taking a new contact: validation in place, similar cases while typing, a draft that survives."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from textual.widgets import Input, Select, TextArea

from agent_console.screens.new_ticket_screen import NewTicketScreen
from agent_console.screens.ticket_screen import TicketScreen
from agent_console.services.directory import get_preference
from agent_console.widgets.case_list import CaseList

from .conftest import app_for, settle




async def test_new_contact_with_suggestions_and_checks(demo_store):
    app = app_for(demo_store, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, NewTicketScreen)
        await pilot.press(*"12345", "tab", *"王建国")
        screen.query_one("#new-category", Select).value = "broadband"
        screen.query_one("#new-description", TextArea).text = "光猫 LOS 灯红，家里断网"
        await settle(app, pilot, 0.4)
        hits = screen.query_one(CaseList).hits
        assert hits and any("LOS" in h.title or "断网" in h.title for h in hits[:3])
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "联系电话" in str(screen.query_one("#new-error").render())
        assert screen.focused is screen.query_one("#new-phone", Input)
        screen.query_one("#new-phone", Input).value = "13912345678"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, TicketScreen)
        detail = app.screen.detail
        assert detail.category == "broadband" and detail.customer.phone_masked == "139****5678"
        assert detail.department == "network" and detail.customer.name == "王建国"
        assert get_preference(demo_store, "a001", "new_ticket_draft") is None


async def test_an_unfinished_contact_comes_back(demo_store):
    app = app_for(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("N")
        await settle(app, pilot)
        await pilot.press(*"13700001111")
        app.screen.query_one("#new-description", TextArea).text = "IPTV 黑屏 1302"
        await settle(app, pilot, 1.0)  # the draft is written about a second behind
    saved = json.loads(get_preference(demo_store, "a001", "new_ticket_draft"))
    assert saved["phone"] == "13700001111" and saved["description"] == "IPTV 黑屏 1302"
    again = app_for(demo_store)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(again, pilot)
        await pilot.press("N")
        await settle(again, pilot)
        screen = again.screen
        assert screen.query_one("#new-phone", Input).value == "13700001111"
        assert screen.query_one("#new-description", TextArea).text == "IPTV 黑屏 1302"


def test_kill_9_mid_contact_keeps_what_was_typed(tmp_path: Path):
    """A real terminal: type into a new contact, kill the process, find the draft in the store."""
    exe = str(Path(sys.executable).parent / "agent-console")
    store = tmp_path / "s.db"
    env = {**os.environ, "AGENT_CONSOLE_NOW": "2026-11-24T02:00:00+00:00",
           "AGENT_CONSOLE_CONFIG_DIR": str(tmp_path), "TERM": "xterm-256color"}
    subprocess.run([exe, "demo", "--db", str(store), "--no-open", "--tickets", "30"], env=env,
                   check=True, capture_output=True)
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes the app in the pseudo-terminal
        os.execve(exe, [exe, "--db", str(store), "--agent", "a002", "--lang", "en"], env)

    def pump(seconds: float) -> None:
        """Keep reading what the app draws (so it never blocks) for a while."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    os.read(fd, 65536)
                except OSError:
                    return

    try:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        pump(3.0)
        os.write(fd, b"1111\r")  # a002's demo PIN: the app opens on sign-in
        pump(2.0)
        os.write(fd, b"N")
        pump(1.0)
        os.write(fd, b"13800138000")
        pump(2.0)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    conn = sqlite3.connect(store)
    row = conn.execute("SELECT value FROM agent_preference WHERE agent_code = 'a002' "
                       "AND key = 'new_ticket_draft'").fetchone()
    conn.close()
    assert row is not None and json.loads(row[0])["phone"] == "13800138000"
