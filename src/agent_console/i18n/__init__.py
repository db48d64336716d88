"""Message catalogs (en, zh_CN) and t(): every string on screen comes from here."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGS = {"en": "en", "zh": "zh_CN"}
_current = "en"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language, keyed by dotted names."""
    text = resources.files("agent_console.i18n").joinpath(f"{LANGS[lang]}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def set_language(lang: str) -> None:
    global _current
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    _current = lang


def current_language() -> str:
    return _current


def t(key: str, /, **values: Any) -> str:
    """The message for `key` in the current language, with {placeholders} filled."""
    messages = catalog(_current)
    text = messages.get(key)
    if text is None:
        text = catalog("en").get(key, key)
    return text.format(**values) if values else text


def label(kind: str, code: str) -> str:
    """The display name of a vocabulary value such as status.in_progress."""
    return t(f"{kind}.{code}") if f"{kind}.{code}" in catalog(_current) else code


def has_key(key: str) -> bool:
    return key in catalog("en")
