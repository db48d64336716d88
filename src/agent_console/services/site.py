"""What the site decides, kept in its store: the permission table, the SLA policy and the
catalog. Shipped defaults seed a new store; afterwards only a permitted role changes them,
through the console, each change on the audit trail with before and after. A file in someone's
config dir never changes what they may do."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from agent_console.db import to_db
from agent_console.services import compensation, hall_rules, kpi, learning, permissions, synonyms
from agent_console.services.actor import Actor
from agent_console.services.catalog import Catalog, CatalogError, catalog_from_text, shipped_catalog_text
from agent_console.services.classifier import RulesError
from agent_console.services.errors import InputError
from agent_console.services.sla import PolicyError, SlaPolicy, policy_from_text, shipped_policy_text
from agent_console.services.store import Store, Tx


def _shipped_retention() -> str:
    from agent_console.services.privacy import shipped_retention_text

    return shipped_retention_text()


def _retention(text: str, source: str) -> object:
    from agent_console.services.privacy import retention_from_text

    return retention_from_text(text, source)


@dataclass(frozen=True)
class Kind:
    name: str
    shipped: Any  # () -> str
    parse: Any  # (text, source) -> object
    permission: str


KINDS: dict[str, Kind] = {
    "permissions": Kind("permissions", permissions.shipped_text, permissions.table_from_text,
                        permissions.MANAGE_AGENTS),
    "sla_policy": Kind("sla_policy", shipped_policy_text, policy_from_text,
                       permissions.EDIT_POLICY),
    "catalog": Kind("catalog", shipped_catalog_text, catalog_from_text, permissions.EDIT_POLICY),
    "retention": Kind("retention", _shipped_retention, _retention, permissions.EDIT_POLICY),
    "hall": Kind("hall", hall_rules.shipped_text, hall_rules.config_from_text,
                 permissions.EDIT_POLICY),
    "kpis": Kind("kpis", kpi.shipped_text, kpi.config_from_text, permissions.EDIT_POLICY),
    "compensation": Kind("compensation", compensation.shipped_text, compensation.limits_from_text,
                         permissions.EDIT_POLICY),
    # The site's own groups of words that mean the same, over content/synonyms.toml.
    "synonyms": Kind("synonyms", synonyms.site_default_text, synonyms.parse, permissions.EDIT_KB),
    # The site's classifier rules over content/classifier_rules.toml (see services.learning).
    "classifier_rules": Kind("classifier_rules", lambda: learning.SITE_EMPTY, learning.parse,
                             permissions.EDIT_POLICY),
}
DOCUMENT_LIMIT = 1_000_000
PARSE_ERRORS = (permissions.PermissionTableError, PolicyError, CatalogError, InputError,
                hall_rules.HallConfigError, kpi.KpiFileError, compensation.CompensationFileError,
                synonyms.SynonymError, RulesError)


def _documents(tx: Tx) -> dict[str, str]:
    return {kind: body for kind, body in tx.all(
        "SELECT kind, body FROM site_document WHERE name = ''")}


def _seed(tx: Tx, kind: str, body: str) -> None:
    tx.execute("INSERT INTO site_document (kind, name, body, updated_at, updated_by) "
               "VALUES (?, '', ?, ?, 'system') ON CONFLICT (kind, name) DO NOTHING",
               (kind, body, to_db(tx.now)))


def load(store: Store) -> Store:
    """The store with the site's policy loaded (seeding the shipped one where none is kept)."""
    with store.read() as tx:
        found = _documents(tx)
    if missing := [k for k in KINDS if k not in found]:
        with store.write() as tx:
            for kind in missing:
                _seed(tx, kind, KINDS[kind].shipped())
            found = _documents(tx)
    table = permissions.table_from_text(found["permissions"], "store: permissions")
    policy: SlaPolicy = policy_from_text(found["sla_policy"], "store: sla_policy")
    catalog: Catalog = catalog_from_text(found["catalog"], "store: catalog")
    loaded = replace(store, policy=policy, catalog=catalog, permissions=table)
    sync_catalog(loaded)
    return loaded


def sync_catalog(store: Store) -> None:
    """Make the department table match the catalog (tickets refer to departments by code)."""
    with store.write() as tx:
        tx.executemany(
            "INSERT INTO department (code, name_en, name_zh) VALUES (?, ?, ?) ON CONFLICT(code) "
            "DO UPDATE SET name_en=excluded.name_en, name_zh=excluded.name_zh "
            "WHERE department.name_en != excluded.name_en OR department.name_zh != excluded.name_zh",
            [(d.code, d.name_en, d.name_zh) for d in store.catalog.departments.values()])


def export_document(store: Store, actor: Actor, *, kind: str) -> str:
    spec = _kind(kind)
    actor.require(spec.permission)
    with store.read() as tx:
        return _documents(tx)[kind]


def import_document(store: Store, actor: Actor, *, kind: str, text: str) -> Store:
    """Replace one policy document after checking it parses; audited with before and after."""
    spec = _kind(kind)
    actor.require(spec.permission)
    if len(text) > DOCUMENT_LIMIT:
        raise InputError("file", f"longer than {DOCUMENT_LIMIT} characters", code="too_long",
                         limit=DOCUMENT_LIMIT)
    try:
        spec.parse(text, kind)
    except PARSE_ERRORS as exc:
        raise InputError("file", str(exc)) from None
    with store.write(actor) as tx:
        before = _documents(tx).get(kind, "")
        if before == text:
            return store
        tx.execute("UPDATE site_document SET body = ?, updated_at = ?, updated_by = ? "
                   "WHERE kind = ? AND name = ''", (text, to_db(tx.now), actor.code, kind))
        tx.audit("policy_change", f"policy:{kind}", {
            "before_sha256": hashlib.sha256(before.encode()).hexdigest(),
            "after_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "before": before, "after": text})
    synonyms.forget(store.url)
    return load(store)


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise InputError("kind", f"{kind!r} is not one of: {', '.join(KINDS)}", code="choice",
                         allowed=list(KINDS))
    return KINDS[kind]
