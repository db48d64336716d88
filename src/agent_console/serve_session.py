"""One browser session's app process, started by `agent-console serve` already signed in.

The server hands over who signed in as a signed, short-lived pass in this process's
environment, as is the store's location (never on the command line); the pass is checked against the server's secret and
taken out of the environment before anything else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from agent_console import db, i18n
from agent_console.config import ConfigError, load_settings
from agent_console.services import auth, web_session
from agent_console.services.errors import ServiceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent_console.serve_session")
    parser.add_argument("--secret-file", required=True, type=Path)
    args = parser.parse_args(argv)
    token = os.environ.pop(web_session.PASS_ENV, "")
    try:
        secret = args.secret_file.read_bytes()
        granted = web_session.read(secret, token, purpose=web_session.CHILD, now=time.time())
        settings = load_settings().with_overrides(lang=granted.lang, agent=granted.agent)
        i18n.set_language(settings.lang)
        from agent_console.cli import make_app, open_store

        store = open_store(settings, create=False)
        agent = auth.signed_in_agent(store, code=granted.agent)
    except db.StoreError as exc:
        print(f"agent-console: session refused: {exc.localized()}", file=sys.stderr)
        return 2
    except (OSError, web_session.PassRefused, auth.SignInError, ConfigError, ServiceError) as exc:
        print(f"agent-console: session refused: {exc}", file=sys.stderr)
        return 2
    app = make_app(store, settings, agent=agent)
    try:
        app.run()
    finally:
        auth.sign_out(store, code=agent.code, why="browser session ended")
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
