"""Key descriptions in the agent's language: bindings are declared once, described from the catalog."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import BindingsMap
from textual.dom import DOMNode

from agent_console.i18n import t


def localize_bindings(node: DOMNode) -> None:
    """Give every binding with an id the description `key.<id>` from the current catalog."""
    keys = {
        key: [replace(b, description=t(f"key.{b.id}")) if b.id else b for b in bindings]
        for key, bindings in node._bindings.key_to_bindings.items()
    }
    node._bindings = BindingsMap.from_keys(keys)
