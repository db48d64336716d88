"""The browser console in Debian's headless Chromium: sign in, the queue, a ticket, in Chinese.

The terminal's text is not in the page's DOM; it is read from xterm.js's buffer. The browser is
installed by scripts/ensure_browser.py when missing (as root with apt), never downloaded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e_pty import DEADLINE, poll_until
from tests.serve_e2e import Served

ROOT = Path(__file__).parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREEN_TEXT = """() => {
  const held = window.agentConsoleTerminal;
  if (!held) return "";
  const term = held.terminal, lines = [];
  for (let y = 0; y < term.rows; y++) {
    const line = term.buffer.active.getLine(y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""


@pytest.fixture(scope="module")
def chromium() -> str:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "ensure_browser.py")],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        pytest.fail(f"no browser for the browser test: {result.stderr.strip()}", pytrace=False)
    return result.stdout.strip().splitlines()[-1]


def test_sign_in_see_the_queue_and_open_a_ticket_in_chinese(tmp_path, chromium):
    from playwright.sync_api import sync_playwright

    with Served(tmp_path) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            asked: list[str] = []
            page.on("request", lambda request: asked.append(request.url))
            page.set_default_timeout(DEADLINE * 1000)
            page.goto(served.url + "/")
            assert page.locator("h1").inner_text() == "登录坐席工作台"  # from Accept-Language

            page.fill("input[name=agent]", "a001")
            page.fill("input[name=pin]", "0000")
            page.click("button[type=submit]")
            assert "工号或 PIN 不正确" in page.locator(".error").inner_text()

            page.fill("input[name=agent]", "")  # the right PIN, by keyboard alone
            page.focus("input[name=agent]")
            page.keyboard.type("a001")
            page.keyboard.press("Tab")
            page.keyboard.type("1111")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            page.wait_for_selector("#terminal")

            def screen() -> str:
                return str(page.evaluate(SCREEN_TEXT))

            poll_until(lambda: all(part in screen() for part in ("坐席工作台", "张伟（a001）",
                                                                 "剩余时间", "T26")),
                       DEADLINE, "the queue in Chinese")
            assert page.evaluate("document.fonts.check(\"16px 'Noto Sans Mono CJK SC'\", '坐席')")

            page.focus(".xterm-helper-textarea")
            page.keyboard.press("Enter")
            poll_until(lambda: "处理记录" in (text := screen()) and "问题类别" in text, DEADLINE,
                       "the ticket opened from the queue")
            page.screenshot(path=str(tmp_path / "ticket-zh.png"))

            hosts = {url.split("/")[2] for url in asked}
            assert hosts == {f"127.0.0.1:{served.port}"}, asked

            page.keyboard.press("Control+q")
            page.wait_for_selector("body.-closed .ended")
            page.click(".ended a")
            page.wait_for_selector("input[name=pin]")  # the next person signs in afresh
        finally:
            browser.close()
