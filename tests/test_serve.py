"""`agent-console serve` over HTTP: sign-in first, the same lockout, a session cap, local files."""

from __future__ import annotations

import re
import sqlite3
import subprocess

import aiohttp
import pytest

from agent_console import i18n
from agent_console.services import auth, web_session
from tests.e2e_pty import DEADLINE, EXE, demo_env, make_demo_store, poll_until
from tests.serve_e2e import Served


def _audit(served: Served, action: str, column: str = "detail") -> list[str]:
    conn = sqlite3.connect(served.db)
    try:
        return [row[0] for row in conn.execute(f"SELECT {column} FROM audit_log WHERE action = ?",
                                               (action,))]
    finally:
        conn.close()


def test_a_pass_is_checked_for_signature_purpose_and_time():
    secret = web_session.new_secret()
    token, granted = web_session.issue(secret, purpose=web_session.COOKIE, agent="a001",
                                       lang="zh", lifetime=60, now=1000.0)
    assert web_session.read(secret, token, purpose=web_session.COOKIE, now=1059.0) == granted
    for bad, purpose, now in [(token, web_session.CHILD, 1000.0), (token, web_session.COOKIE, 1060.0),
                              (token[:-2] + "AA", web_session.COOKIE, 1000.0), ("", web_session.COOKIE, 0),
                              ("x.y", web_session.COOKIE, 0)]:
        with pytest.raises(web_session.PassRefused):
            web_session.read(secret, bad, purpose=purpose, now=now)
    with pytest.raises(web_session.PassRefused):
        web_session.read(web_session.new_secret(), token, purpose=web_session.COOKIE, now=1000.0)


def test_sign_in_gives_a_strict_httponly_cookie_and_wrong_pins_lock_out(tmp_path):
    with Served(tmp_path, lockout_attempts=3) as served:
        status, cookie, page = served.sign_in("a002", "0000", "zh")
        assert status == 403 and cookie == ""
        assert "工号或 PIN 不正确。再错 2 次" in page
        assert 'name="pin"' in served.request("GET", "/", headers={"Cookie": cookie})[2]
        served.sign_in("a002", "0001")
        status, cookie, page = served.sign_in("a002", "0002")
        assert status == 403 and cookie == "" and "locked out" in page
        status, cookie, page = served.sign_in("a002", "1111")  # the right PIN, but locked
        assert status == 403 and cookie == "" and "locked out" in page
        assert any('"browser_pin"' in detail for detail in _audit(served, "sign_in_failed"))

        status, headers, _ = served.request("POST", "/sign-in",
                                            {"agent": "a001", "pin": "1111", "lang": "en"})
        assert status == 303
        flags = headers["Set-Cookie"].lower()
        assert "httponly" in flags and "samesite=strict" in flags and "max-age=" in flags
        assert any('"browser_pin"' in detail for detail in _audit(served, "sign_in"))
        cookie = headers["Set-Cookie"].split(";")[0]
        _, _, console = served.request("GET", "/", headers={"Cookie": cookie})
        assert 'id="terminal"' in console and "/ws" in console


def test_an_address_with_too_many_wrong_pins_is_held_whoever_it_tries():
    throttle = auth.AddressThrottle(attempts=3, minutes=10)
    for at in (0.0, 60.0, 120.0):
        assert throttle.refused_until("10.0.0.7", at) is None
        throttle.failed("10.0.0.7", at)
    assert throttle.refused_until("10.0.0.7", 130.0) == 600.0  # the first failure ages out
    assert throttle.refused_until("10.0.0.8", 130.0) is None  # another counter's PC
    assert throttle.refused_until("10.0.0.7", 600.5) is None


def test_the_page_holds_an_address_trying_pins_for_many_agents(tmp_path):
    """Two wrong PINs each for three agents (none locked out) and the address is held: the
    right PIN of a fourth agent is not even checked, in the user's language."""
    with Served(tmp_path, serve_address_attempts=6, lockout_attempts=5) as served:
        for agent in ("a002", "a003", "a004"):
            for pin in ("0000", "0001"):
                assert served.sign_in(agent, pin)[0] == 403
        status, cookie, page = served.sign_in("a001", "1111", "zh")
        assert status == 429 and cookie == ""
        assert "这台电脑上 PIN 输错次数过多" in page
        assert "a001" not in _audit(served, "sign_in", "agent_code")


def _self_signed(folder) -> tuple:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_with_a_certificate_the_page_and_its_websocket_are_https(tmp_path):
    with Served(tmp_path, tls=_self_signed(tmp_path)) as served:
        status, headers, _ = served.request("POST", "/sign-in",
                                            {"agent": "a001", "pin": "1111", "lang": "en"})
        assert status == 303 and "secure" in headers["Set-Cookie"].lower()
        cookie = headers["Set-Cookie"].split(";")[0]
        _, _, console = served.request("GET", "/", headers={"Cookie": cookie})
        assert f"wss://127.0.0.1:{served.port}/ws" in console


def test_a_certificate_without_its_key_or_unreadable_is_one_line(tmp_path):
    env = demo_env(tmp_path)
    store = make_demo_store(tmp_path / "s.db", env)
    for extra, words in ((["--cert", str(tmp_path / "none.pem")], "--cert and --key"),
                         (["--cert", str(tmp_path / "none.pem"), "--key", str(tmp_path / "k.pem")],
                          "Cannot use the certificate")):
        done = subprocess.run([EXE, "--db", str(store), "serve", *extra], env=env,
                              capture_output=True, text=True, timeout=DEADLINE)
        assert done.returncode == 2 and words in done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("agent, pin", [("<script>alert(1)</script>", "1111"), ("a001", "12ab"),
                                        ("a001\x1b[2J", "1111"), ("", ""), ("a" * 5000, "1" * 5000)])
def test_hostile_input_is_refused_in_one_line_and_never_echoed(tmp_path, agent, pin):
    with Served(tmp_path) as served:
        status, cookie, page = served.sign_in(agent, pin)
        assert status in (400, 413) and cookie == ""
        assert "<script>alert" not in page and "\x1b" not in page
        if status == 400:
            assert i18n.catalog("en")["serve.bad_input"] in page


def test_the_pages_ask_no_other_host_and_forged_posts_are_ignored(tmp_path):
    with Served(tmp_path) as served:
        status, _, page = served.request("GET", "/?lang=%3Cscript%3Ealert(1)%3C/script%3E")
        assert status == 200 and "<script" not in page and "alert(1)" not in page
        status, headers, page = served.request("GET", "/?lang=zh")
        assert status == 200 and "登录坐席工作台" in page
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        _, cookie, _ = served.sign_in("a001", "1111")
        _, _, console = served.request("GET", "/", headers={"Cookie": cookie})
        for html in (page, console):
            links = re.findall(r'(?:src|href)="([^"]*)"', html)
            assert links and all(link.startswith("/") for link in links), links
            assert "http://" not in html.replace("http://www.w3.org", "")
            assert "https://" not in html
        for asset in ("textual.js", "xterm.css"):
            status, _, body = served.request("GET", f"/static/{asset}")
            assert status == 200 and "googleapis" not in body and "Roboto Mono" not in body
        assert served.request("GET", "/static/../server.py")[0] == 404
        status, headers, _ = served.request("POST", "/sign-in", {"agent": "a001", "pin": "1111"},
                                            {"Origin": "http://evil.example"})
        assert status == 403 and "Set-Cookie" not in headers


async def _ws(served: Served, cookie: str, origin: str | None = None) -> tuple[int, object]:
    """Open /ws with this cookie: (status, the open socket or None)."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DEADLINE))
    headers = {"Cookie": cookie} if cookie else {}
    if origin:
        headers["Origin"] = origin
    try:
        socket = await session.ws_connect(f"{served.url}/ws?width=100&height=30", headers=headers)
    except aiohttp.WSServerHandshakeError as refused:
        await session.close()
        return refused.status, None
    return 101, (session, socket)


async def _close(opened: object) -> None:
    session, socket = opened  # type: ignore[misc]
    await socket.close()
    await session.close()


async def test_ws_needs_a_fresh_cookie_and_the_session_cap_holds(tmp_path):
    with Served(tmp_path, serve_max_sessions=1) as served:
        assert (await _ws(served, ""))[0] == 403
        forged = "agent_console_session=" + web_session.issue(
            web_session.new_secret(), purpose=web_session.COOKIE, agent="a001", lang="en",
            lifetime=600, now=0)[0]
        assert (await _ws(served, forged))[0] == 403
        _, first, _ = served.sign_in("a001", "1111")
        _, second, _ = served.sign_in("a002", "1111")
        assert (await _ws(served, first, origin="http://evil.example"))[0] == 403
        status, opened = await _ws(served, first)
        assert status == 101
        try:
            assert (await _ws(served, first))[0] == 403  # one sign-in opens one session
            assert (await _ws(served, second))[0] == 503
            status, _, page = served.request("GET", "/?lang=zh")
            assert status == 503 and "工作台已满" in page and 'name="pin"' not in page
            status, cookie, page = served.sign_in("a003", "0000")
            assert status == 503 and cookie == ""
        finally:
            await _close(opened)
        # Once its app process has quit, the seat is free; the used cookie leads back to sign-in.
        poll_until(lambda: 'name="pin"' in served.request("GET", "/", headers={"Cookie": first})[2],
                   DEADLINE, "the closed session to free its seat")


def test_the_session_cap_is_a_setting_with_bounds(tmp_path):
    from agent_console.config import ConfigError, load_settings

    assert load_settings(environ={"AGENT_CONSOLE_SERVE_MAX_SESSIONS": "3"}).serve_max_sessions == 3
    with pytest.raises(ConfigError, match="serve_max_sessions"):
        load_settings(environ={"AGENT_CONSOLE_SERVE_MAX_SESSIONS": "0"})


def test_a_busy_port_is_one_line_and_no_traceback(tmp_path):
    import subprocess

    from tests.e2e_pty import EXE

    with Served(tmp_path) as served:
        result = subprocess.run([EXE, "--db", str(served.db), "serve", "--port", str(served.port)],
                                env=served.env, capture_output=True, text=True, timeout=DEADLINE)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and f"127.0.0.1:{served.port}" in result.stderr


@pytest.mark.parametrize("forge", ["none", "other secret", "cookie purpose", "disabled agent"])
def test_an_app_process_starts_only_with_a_pass_from_the_server(tmp_path, forge):
    import subprocess
    import sys
    import time

    from tests.e2e_pty import demo_env, make_demo_store

    env = demo_env(tmp_path)
    db = make_demo_store(tmp_path / "child.db", env)
    secret = web_session.new_secret()
    (tmp_path / "secret").write_bytes(secret)
    purpose = web_session.COOKIE if forge == "cookie purpose" else web_session.CHILD
    key = web_session.new_secret() if forge == "other secret" else secret
    token, _ = web_session.issue(key, purpose=purpose, agent="a001", lang="en", lifetime=60,
                                 now=time.time())
    if forge != "none":
        env[web_session.PASS_ENV] = token
    if forge == "disabled agent":
        conn = sqlite3.connect(db)
        conn.execute("UPDATE agent SET active = 0 WHERE code = 'a001'")
        conn.commit()
        conn.close()
    env["AGENT_CONSOLE_DB"] = str(db)
    result = subprocess.run([sys.executable, "-m", "agent_console.serve_session",
                             "--secret-file", str(tmp_path / "secret")], env=env,
                            capture_output=True, text=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert result.returncode == 2 and "session refused" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
