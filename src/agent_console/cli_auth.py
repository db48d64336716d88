"""Who runs a command, proven the same way for every command that touches customer data.

The agent is named by `--agent` (or is the one bound to this process's OS account when the
site allows that sign-in); the PIN is read from the terminal, or from standard input with
`--pin-stdin`. A PIN is never taken from the command line, where every user could read it in
the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from agent_console.config import Settings
from agent_console.services import auth
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError
from agent_console.services.store import Store


def add_proof_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pin-stdin", action="store_true",
                        help="read your PIN from the first line of standard input")


def read_secret(args: argparse.Namespace, prompt: str) -> str:
    """A PIN from standard input (with --pin-stdin) or typed at the terminal, never echoed."""
    if getattr(args, "pin_stdin", False):
        if getattr(args, "_stdin_lines", None) is None:
            args._stdin_lines = sys.stdin.read(4096).splitlines()
        if not args._stdin_lines:
            raise InputError("pin", "standard input holds no PIN", code="pin_missing")
        return args._stdin_lines.pop(0).strip()
    if not sys.stdin.isatty():
        raise InputError("pin", "give it at a terminal, or with --pin-stdin", code="pin_missing")
    return getpass.getpass(prompt)


def prove_actor(args: argparse.Namespace, store: Store, settings: Settings) -> Actor:
    """The acting agent, signed in with their PIN (lockout rules as in the console)."""
    policy = auth.LockoutPolicy(settings.lockout_attempts, settings.lockout_minutes)
    named = getattr(args, "agent", None)
    if settings.os_user_sign_in and not named:
        bound = auth.sign_in_os_user(store)
        if bound is not None:
            return Actor.of(bound, store.permissions)
    code = named or settings.agent
    pin = read_secret(args, f"PIN for {code}: ")
    try:
        agent = auth.sign_in(store, code=code, pin=pin, policy=policy)
    except auth.SignInError as exc:
        raise InputError("pin", f"{code!r}: wrong agent or PIN, disabled, or locked out",
                         code=f"signin_{exc.reason}", agent=code) from None
    return Actor.of(agent, store.permissions)
