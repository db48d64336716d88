"""Signed passes for the browser console: who signed in, for how long, and for what use.

A pass is `payload.signature`, both URL-safe base64, the signature an HMAC-SHA256 over the
purpose and the payload. The purpose keeps one kind of pass from being used as another (the
browser's cookie never starts an app process by itself). The secret lives only in the serving
process and a file only its account reads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

COOKIE = "cookie"  # the browser's session cookie: lets one websocket start one app session
CHILD = "child"  # handed to the app process that the websocket starts
PASS_ENV = "AGENT_CONSOLE_SESSION_PASS"  # where the app process finds its child pass


class PassRefused(Exception):
    """A pass that is missing, forged, of another purpose, or out of date."""


@dataclass(frozen=True, slots=True)
class Pass:
    agent: str
    lang: str
    nonce: str
    expires: float


def new_secret() -> bytes:
    return os.urandom(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}.{payload}".encode(), hashlib.sha256).digest())


def issue(secret: bytes, *, purpose: str, agent: str, lang: str, lifetime: float, now: float,
          nonce: str | None = None) -> tuple[str, Pass]:
    """A new pass and what it says; `nonce` ties a child pass to the cookie it came from."""
    granted = Pass(agent=agent, lang=lang, nonce=nonce or _b64(os.urandom(12)),
                   expires=now + lifetime)
    payload = _b64(json.dumps({"a": granted.agent, "l": granted.lang, "n": granted.nonce,
                               "e": granted.expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, purpose, payload)}", granted


def read(secret: bytes, token: str | None, *, purpose: str, now: float) -> Pass:
    """What a pass says, once its signature, purpose and time are checked."""
    payload, _, signature = (token or "").partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(secret, purpose, payload)):
        raise PassRefused("not signed by this server")
    try:
        data = json.loads(_unb64(payload))
        granted = Pass(agent=str(data["a"]), lang=str(data["l"]), nonce=str(data["n"]),
                       expires=float(data["e"]))
    except (ValueError, KeyError, TypeError):
        raise PassRefused("unreadable") from None
    if granted.expires <= now:
        raise PassRefused("expired")
    return granted
