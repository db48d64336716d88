"""A running `agent-console serve` on a demo store, on a free port: start, wait, sign in, stop."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlencode

from tests.e2e_pty import DEADLINE, EXE, demo_env, make_demo_store, poll_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """`agent-console serve` in a subprocess; `with` waits until it answers and stops it after."""

    def __init__(self, tmp_path: Path, *, tls: tuple[Path, Path] | None = None,
                 **settings: object) -> None:
        self.tls = tls  # (certificate, key): the server speaks HTTPS
        self.env = demo_env(tmp_path)
        self.env.update({f"AGENT_CONSOLE_{k.upper()}": str(v) for k, v in settings.items()})
        self.db = tmp_path / "served.db"
        if not self.db.exists():
            make_demo_store(self.db, self.env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tmp_path / f"serve-{self.port}.log"  # its output, access log included

    def __enter__(self) -> Served:
        https = ["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else []
        self.process = subprocess.Popen([EXE, "--db", str(self.db), "serve", "--port", str(self.port),
                                         *https],
                                        env=self.env, stdout=(output := self.log.open("ab")),
                                        stderr=subprocess.STDOUT)
        output.close()  # the server holds its own copy
        poll_until(self._answers, DEADLINE, f"the server on port {self.port} to answer")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited: {self.log.read_text(errors='replace')[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def __exit__(self, *_: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def request(self, method: str, path: str, body: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """One request, redirects not followed: status, headers, body text."""
        conn = (http.client.HTTPSConnection("127.0.0.1", self.port, timeout=DEADLINE,
                                            context=ssl._create_unverified_context())
                if self.tls else http.client.HTTPConnection("127.0.0.1", self.port,
                                                            timeout=DEADLINE))
        try:
            data = urlencode(body) if body is not None else None
            sent = {**(headers or {})}
            if data is not None:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode("utf-8")
        finally:
            conn.close()

    def sign_in(self, agent: str, pin: str, lang: str = "en") -> tuple[int, str, str]:
        """Status, the session cookie ("" when none was given) and the page's text."""
        status, headers, text = self.request("POST", "/sign-in",
                                             {"agent": agent, "pin": pin, "lang": lang})
        cookie = headers.get("Set-Cookie", "").split(";")[0]
        return status, cookie, text
