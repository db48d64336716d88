"""Settings layering: defaults < TOML in the config dir < AGENT_CONSOLE_* environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.clock import FrozenClock, SystemClock, clock_from_env
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


def test_clock_from_env():
    assert isinstance(clock_from_env(None), SystemClock)
    frozen = clock_from_env("2026-11-24T10:00:00+08:00")
    assert isinstance(frozen, FrozenClock) and frozen.now().hour == 2
