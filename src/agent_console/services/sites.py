"""The halls and hotline centres of a store (the `site` table). Which of them an actor's reads
cover is `Actor.site_reach`: their own by default, any with `see_other_sites`."""

from __future__ import annotations

from dataclasses import dataclass

from agent_console.models.vocab import SiteKind
from agent_console.services import permissions
from agent_console.services.actor import Actor
from agent_console.services.audit import Action
from agent_console.services.catalog import Named
from agent_console.services.errors import InputError
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line

CODE_LIMIT = 16


@dataclass(frozen=True)
class SiteInfo(Named):
    """A hall or hotline centre: its code, names in both languages, and kind."""

    kind: str


def list_sites(store: Store) -> list[SiteInfo]:
    with store.read() as tx:
        return _sites(tx)


def _sites(tx: Tx) -> list[SiteInfo]:
    return [SiteInfo(*row) for row in tx.all(
        "SELECT code, name_en, name_zh, kind FROM site ORDER BY code")]


def add_site(store: Store, actor: Actor, *, code: str, name_en: str, name_zh: str,
             kind: str) -> SiteInfo:
    """A new hall or hotline centre; audited."""
    actor.require(permissions.MANAGE_AGENTS)
    code = code.strip()
    if not code or len(code) > CODE_LIMIT or not code.replace("-", "").replace("_", "").isalnum():
        raise InputError("site", "letters, digits, '-' or '_', up to 16", code="agent_id")
    kinds = [k.value for k in SiteKind]
    if kind not in kinds:
        raise InputError("kind", f"{kind!r} is not one of: {', '.join(kinds)}", code="choice",
                         allowed=kinds)
    site = SiteInfo(code, clean_line(name_en)[:60], clean_line(name_zh)[:60], kind)
    if not site.name_en or not site.name_zh:
        raise InputError("name", "must not be empty", code="required")
    with store.write(actor) as tx:
        if tx.one("SELECT 1 FROM site WHERE code = ?", (code,)):
            raise InputError("site", f"{code!r} already exists", code="exists", value=code)
        tx.execute("INSERT INTO site (code, name_en, name_zh, kind) VALUES (?, ?, ?, ?)",
                   (site.code, site.name_en, site.name_zh, site.kind))
        tx.audit(Action.SITE_ADD, f"site:{code}", {"kind": kind})
    return site

