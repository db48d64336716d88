"""`agent-console serve`: the console in a browser, behind the console's own sign-in.

textual-serve starts one app process per browser websocket and has no sign-in of its own. This
server puts a sign-in page in front of it (the same PIN check and lockout as the terminal, in
services.auth), gives a signed-in browser a short-lived, single-use session cookie, refuses
`/ws` without one, caps how many sessions run at once, and starts each app process already
signed in through a signed pass in its environment. Every file the page needs comes from here.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import shlex
import shutil
import signal
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata, resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from agent_console import i18n
from agent_console.config import Settings
from agent_console.formatting import local_time
from agent_console.services import auth, web_session
from agent_console.services.sla import parse_zone
from agent_console.services.store import Store

COOKIE_NAME = "agent_console_session"
CHILD_PASS_SECONDS = 60.0  # the app process must start within this
FONT_STACK = ("'Noto Sans Mono CJK SC', 'Noto Sans Mono CJK', 'Sarasa Mono SC', "
              "'WenQuanYi Zen Hei Mono', NSimSun, 'DejaVu Sans Mono', Consolas, monospace")
# Everything the page may load comes from this server; styles are inline, as xterm.js adds its own.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "connect-src 'self'; img-src 'self' data:; font-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
# textual-serve's page script names a font only a public font service provides, and keeps its
# terminal out of reach; both are rewritten as it is served (pinned version, checked at start).
_JS_FONT = "fontFamily:\"'Roboto Mono', Monaco, 'Courier New', monospace\""
_JS_START = "const t=new w(e,{ping:r});"

log = logging.getLogger("agent_console.serve")


@dataclass(frozen=True)
class _Asset:
    content_type: str
    raw: bytes
    gz: bytes


def _assets() -> dict[str, _Asset]:
    static = resources.files("textual_serve") / "static"
    script = (static / "js" / "textual.js").read_text("utf-8")
    if _JS_FONT not in script or _JS_START not in script:
        raise RuntimeError("textual-serve's page script changed: check the pinned version")
    script = script.replace(_JS_FONT, f'fontFamily:"{FONT_STACK}"').replace(
        _JS_START, _JS_START + "window.agentConsoleTerminal=t;")
    files = {"textual.js": ("application/javascript", script.encode()),
             "xterm.css": ("text/css", (static / "css" / "xterm.css").read_bytes())}
    return {name: _Asset(kind, raw, gzip.compress(raw, 9, mtime=0))
            for name, (kind, raw) in files.items()}


def _text(lang: str) -> dict[str, str]:
    messages = i18n.catalog(lang)
    return {key.removeprefix("serve."): value for key, value in messages.items()
            if key.startswith("serve.")}


def _origin_ok(request: web.Request) -> bool:
    """A form post or websocket from a page of this server (or a client that sends no Origin)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


class _SignedInAppService(AppService):
    """An app process that starts signed in. The pass and the store's location (a database URL
    may hold a password) ride in its environment only, never on a command line."""

    def __init__(self, *args: Any, child_env: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._child_env = child_env

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        return {**super()._build_environment(width=width, height=height), **self._child_env}

    async def run(self) -> None:
        """Run the app process; however it ends, the browser's socket closes and its seat frees."""
        try:
            await super().run()
        finally:
            await self.remote_close()


class ConsoleServer(Server):
    """textual-serve with the console's sign-in, a session cap and only local files."""

    def __init__(self, store: Store, settings: Settings, *, host: str, port: int,
                 tls: ssl.SSLContext | None = None) -> None:
        self.store = store
        self.tls = tls
        self.settings = settings
        self.secret = web_session.new_secret()
        self._secret_dir = Path(tempfile.mkdtemp(prefix="agent-console-serve-"))
        secret_file = self._secret_dir / "secret"
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.secret)
        command = shlex.join([sys.executable, "-m", "agent_console.serve_session",
                              "--secret-file", str(secret_file)])
        super().__init__(command, host=host, port=port, title="agent-console")
        self.sessions: dict[str, str] = {}  # cookie nonce -> agent, of running app sessions
        self._spent: dict[str, float] = {}  # cookie nonce -> expiry, once it opened a session
        self._throttle = auth.AddressThrottle(settings.serve_address_attempts,
                                              settings.serve_address_minutes)
        self._assets = _assets()
        self._version = metadata.version("textual-serve")
        self._pages = jinja2.Environment(
            loader=jinja2.PackageLoader("agent_console", "web"), autoescape=True)

    # --- the server's life -------------------------------------------------------------------

    def serve(self, debug: bool = False) -> None:
        """textual-serve's `serve`, with HTTPS when a certificate was given."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGINT, self.request_exit)
        loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(self._make_app(), host=self.host, port=self.port, ssl_context=self.tls,
                    handle_signals=False, loop=loop, print=lambda *args: None)

    def initialize_logging(self) -> None:
        logging.basicConfig(level="INFO", format="%(message)s")

    async def on_startup(self, app: web.Application) -> None:
        print(i18n.t("serve.serving", host=self.host, port=self.port,
                     sessions=self.settings.serve_max_sessions), flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        shutil.rmtree(self._secret_dir, ignore_errors=True)

    async def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024)
        app.add_routes([
            web.get("/", self.handle_index, name="index"),
            web.post("/sign-in", self.handle_sign_in),
            web.get("/sign-out", self.handle_sign_out),
            web.get("/ws", self.handle_websocket, name="websocket"),
            web.get("/static/{name}", self.handle_static),
            web.get("/favicon.ico", self.handle_no_icon),
        ])
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    # --- pages -------------------------------------------------------------------------------

    def _lang(self, request: web.Request, chosen: object = None) -> str:
        choice = chosen if chosen is not None else request.query.get("lang")
        if choice in i18n.LANGS:
            return str(choice)
        accepted = request.headers.get("Accept-Language", "").lower()
        if accepted:
            return "zh" if accepted.startswith("zh") else "en"
        return self.settings.lang

    def _page(self, name: str, lang: str, status: int = 200, **values: Any) -> web.Response:
        other = "en" if lang == "zh" else "zh"
        html = self._pages.get_template(name).render(
            lang=lang, html_lang=i18n.LANGS[lang].replace("_", "-"), other_lang=other,
            other_html_lang=i18n.LANGS[other].replace("_", "-"), text=_text(lang),
            font_stack=FONT_STACK, version=self._version, **values)
        response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                                headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                                         "X-Content-Type-Options": "nosniff",
                                         "Referrer-Policy": "same-origin"})
        response.enable_compression()
        return response

    def _sign_in_page(self, lang: str, status: int = 200, error: str = "", agent: str = "",
                      full: bool = False) -> web.Response:
        return self._page("sign_in.html", lang, status, error=error, agent=agent, full=full)

    def _full(self) -> bool:
        return len(self.sessions) >= self.settings.serve_max_sessions

    def _full_page(self, lang: str) -> web.Response:
        error = _text(lang)["full"].format(count=len(self.sessions))
        return self._sign_in_page(lang, 503, error, full=True)

    def _cookie(self, request: web.Request) -> web_session.Pass | None:
        now = time.time()
        for nonce, expires in list(self._spent.items()):
            if expires <= now:
                del self._spent[nonce]
        try:
            granted = web_session.read(self.secret, request.cookies.get(COOKIE_NAME),
                                       purpose=web_session.COOKIE, now=now)
        except web_session.PassRefused:
            return None
        return None if granted.nonce in self._spent else granted

    async def handle_index(self, request: web.Request) -> web.Response:
        granted = self._cookie(request)
        if granted is None:
            lang = self._lang(request)
            return self._full_page(lang) if self._full() else self._sign_in_page(lang)
        if self._full():
            return self._full_page(granted.lang)
        scheme = "wss" if request.secure or request.headers.get("X-Forwarded-Proto") == "https" else "ws"
        try:
            font_size = min(max(int(request.query.get("fontsize", "16")), 8), 48)
        except ValueError:
            font_size = 16
        return self._page("console.html", granted.lang, ws_url=f"{scheme}://{request.host}/ws",
                          font_size=font_size)

    async def handle_sign_in(self, request: web.Request) -> web.Response:
        form = await request.post()
        lang = self._lang(request, form.get("lang"))
        text = _text(lang)
        if not _origin_ok(request):
            return self._sign_in_page(lang, 403, text["foreign"])
        code, pin = str(form.get("agent", "")).strip(), str(form.get("pin", "")).strip()
        if not auth.CODE_PATTERN.match(code) or not auth.PIN_PATTERN.match(pin):
            return self._sign_in_page(lang, 400, text["bad_input"],
                                      agent=code if auth.CODE_PATTERN.match(code) else "")
        if self._full():  # before the PIN is checked: a full server costs nobody a try
            return self._full_page(lang)
        address = request.remote or "?"
        if (until := self._throttle.refused_until(address, time.time())) is not None:
            log.warning("sign-in from %s refused: too many wrong PINs from there", address)
            when = local_time(datetime.fromtimestamp(until, timezone.utc),
                              parse_zone(self.settings.timezone))
            return self._sign_in_page(lang, 429, text["address_held"].format(until=when),
                                      agent=code)
        policy = auth.LockoutPolicy(self.settings.lockout_attempts, self.settings.lockout_minutes)
        try:
            agent = await asyncio.to_thread(auth.sign_in, self.store, code=code, pin=pin,
                                            policy=policy, method="browser_pin")
        except auth.SignInError as refused:
            self._throttle.failed(address, time.time())
            return self._sign_in_page(lang, 403, self._refusal(text, refused, policy), agent=code)
        token, granted = web_session.issue(
            self.secret, purpose=web_session.COOKIE, agent=agent.code, lang=lang,
            lifetime=self.settings.serve_sign_in_minutes * 60, now=time.time())
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE_NAME, token, max_age=int(granted.expires - time.time()),
                            path="/", httponly=True, samesite="Strict", secure=request.secure)
        raise response

    def _refusal(self, text: dict[str, str], refused: auth.SignInError,
                 policy: auth.LockoutPolicy) -> str:
        if refused.reason == "locked":
            return text["locked"].format(until=local_time(refused.until,
                                                          parse_zone(self.settings.timezone)))
        if refused.reason == "disabled":
            return text["disabled"]
        if refused.left is not None:
            return text["wrong"].format(left=max(refused.left, 0), minutes=f"{policy.minutes:g}")
        return text["wrong_plain"]

    async def handle_sign_out(self, request: web.Request) -> web.Response:
        response = web.HTTPSeeOther(f"/?lang={self._lang(request)}")
        response.del_cookie(COOKIE_NAME, path="/")
        raise response

    async def handle_no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})

    async def handle_static(self, request: web.Request) -> web.Response:
        asset = self._assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        zipped = "gzip" in request.headers.get("Accept-Encoding", "")
        headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
                   "Vary": "Accept-Encoding"}
        if zipped:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=asset.gz if zipped else asset.raw, headers=headers,
                            content_type=asset.content_type)

    # --- the app session ---------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        granted = self._cookie(request)
        if granted is None or not _origin_ok(request):
            raise web.HTTPForbidden(text="sign in first")
        if self._full():
            raise web.HTTPServiceUnavailable(text="too many sessions")
        self._spent[granted.nonce] = granted.expires  # one sign-in, one session
        self.sessions[granted.nonce] = granted.agent
        try:
            child_pass, _ = web_session.issue(
                self.secret, purpose=web_session.CHILD, agent=granted.agent, lang=granted.lang,
                lifetime=CHILD_PASS_SECONDS, now=time.time(), nonce=granted.nonce)
            return await self._run_session(request, child_pass)
        finally:
            del self.sessions[granted.nonce]

    async def _run_session(self, request: web.Request, child_pass: str) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=64 * 1024)
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        await websocket.prepare(request)
        service = _SignedInAppService(self.command, write_bytes=websocket.send_bytes,
                                      write_str=websocket.send_str, close=websocket.close,
                                      download_manager=self.download_manager,
                                      child_env={web_session.PASS_ENV: child_pass,
                                                 "AGENT_CONSOLE_DB": str(self.settings.db)})
        await service.start(width, height)
        try:
            await self._process_messages(websocket, service)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            await service.stop()
            await websocket.close()
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse,
                                app_service: AppService) -> None:
        """The browser's keys, sizes and focus; anything malformed is ignored, not fatal."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, *rest = message.json()
                data = rest[0] if rest else None
                if kind == "stdin" and isinstance(data, str):
                    await app_service.send_bytes(data.encode("utf-8"))
                elif kind == "resize" and isinstance(data, dict):
                    await app_service.set_terminal_size(_size(data.get("width"), 80),
                                                        _size(data.get("height"), 24))
                elif kind == "ping" and isinstance(data, str):
                    await websocket.send_json(["pong", data[:32]])
                elif kind == "blur":
                    await app_service.blur()
                elif kind == "focus":
                    await app_service.focus()
            except (ValueError, TypeError):
                continue


def _size(value: object, default: int) -> int:
    """A terminal dimension from the browser, kept within what a screen can show."""
    try:
        return min(max(int(str(value)), 10), 500)
    except ValueError:
        return default


class CertificateError(Exception):
    """The certificate or key given to `serve` cannot be used; the message says why."""


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 at least) from PEM files; a clear error when unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(i18n.t("serve.bad_cert",
                                      error=getattr(exc, "strerror", None) or exc)) from None
    return context


def run(store: Store, settings: Settings, *, host: str, port: int,
        tls: ssl.SSLContext | None = None) -> int:
    if host not in ("127.0.0.1", "localhost", "::1") and tls is None:
        print(i18n.t("serve.public_host", host=host), file=sys.stderr)
    server = ConsoleServer(store, settings, host=host, port=port, tls=tls)
    try:
        server.serve()
    except OSError as exc:
        print(f"agent-console: {i18n.t('cli.error')}: "
              f"{i18n.t('serve.port_busy', host=host, port=port, error=exc.strerror or exc)}",
              file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(server._secret_dir, ignore_errors=True)
    return 0
