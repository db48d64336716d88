"""Settings layering: defaults < TOML in the config dir < AGENT_CONSOLE_* environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.config import ConfigError, default_lang, load_settings


def test_layers(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('lang = "zh"\nagent = "a003"\nrefresh_seconds = 2\n')
    settings = load_settings(config, environ={"AGENT_CONSOLE_AGENT": "a009"})
    assert (settings.lang, settings.agent, settings.refresh_seconds) == ("zh", "a009", 2.0)
    assert settings.with_overrides(lang="en", agent=None).lang == "en"


@pytest.mark.parametrize("text", ['lang = "fr"\n', "refresh_seconds = 0\n", "lang = [\n"])
def test_bad_config_names_the_problem(tmp_path: Path, text: str):
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_settings(config, environ={})


def test_language_follows_the_locale(monkeypatch: pytest.MonkeyPatch):
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert default_lang() == "zh"
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert default_lang() == "en"


def test_unknown_keys_are_named(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('lang = "zh"\nidle_lock_minuets = 3\n')
    with pytest.raises(ConfigError, match="idle_lock_minuets"):
        load_settings(config, environ={})


def test_fractional_minutes_are_kept(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text("lockout_minutes = 0.5\nidle_lock_minutes = 1.5\n")
    settings = load_settings(config, environ={})
    assert (settings.lockout_minutes, settings.idle_lock_minutes) == (0.5, 1.5)


@pytest.mark.uses_store
def test_half_a_minute_lockout_locks_for_half_a_minute(tmp_path: Path):
    from datetime import timedelta

    from agent_console.clock import FrozenClock
    from agent_console.services import auth
    from tests.conftest import NOW, make_store

    store = make_store(tmp_path / "s.db", FrozenClock(NOW))
    auth.add_agent(store, None, code="root", name="Root", role="admin", pin="9999")
    policy = auth.LockoutPolicy(attempts=2, minutes=0.5)
    for _ in range(2):
        with pytest.raises(auth.SignInError):
            auth.sign_in(store, code="root", pin="0000", policy=policy)
    with pytest.raises(auth.SignInError) as locked:
        auth.sign_in(store, code="root", pin="9999", policy=policy)
    assert locked.value.reason == "locked" and locked.value.until == NOW + timedelta(seconds=30)
    store.clock.advance(timedelta(seconds=31))
    assert auth.sign_in(store, code="root", pin="9999", policy=policy).code == "root"
