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
    """All messages of one language, keyed by dotted names: `en.toml` and the catalogs of
    each capability beside it (`en.training.toml`, `en.hall.toml` …)."""
    folder = resources.files("agent_console.i18n")
    name = LANGS[lang]
    parts = [f"{name}.toml", *sorted(p.name for p in folder.iterdir()
                                     if p.name.startswith(f"{name}.") and p.name.endswith(".toml")
                                     and p.name != f"{name}.toml")]
    messages: dict[str, str] = {}
    for part in parts:
        flat = _flatten(tomllib.loads(folder.joinpath(part).read_text("utf-8")))
        if clash := set(flat) & set(messages):
            raise ValueError(f"{part}: keys already defined: {sorted(clash)[:3]}")
        messages.update(flat)
    return messages


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
