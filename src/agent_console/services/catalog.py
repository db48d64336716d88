"""Operator data that supervisors tune: departments and categories with their routing."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


class CatalogError(Exception):
    """A catalog file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class Named:
    code: str
    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class Category(Named):
    department: str


@dataclass(frozen=True)
class Catalog:
    departments: dict[str, Named]
    categories: dict[str, Category]

    def department_for(self, category: str) -> str | None:
        found = self.categories.get(category)
        return found.department if found else None


def shipped_catalog_text() -> str:
    return resources.files("agent_console.content").joinpath("catalog.toml").read_text(encoding="utf-8")


def load_catalog() -> Catalog:
    """The shipped catalog (a site's own is kept in its store: services.site)."""
    return catalog_from_text(shipped_catalog_text(), "catalog.toml")


def catalog_from_text(text: str, source: str) -> Catalog:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML ({exc})") from None
    departments: dict[str, Named] = {}
    categories: dict[str, Category] = {}
    try:
        for code, row in data["departments"].items():
            departments[code] = Named(code, str(row["name_en"]), str(row["name_zh"]))
        for code, row in data["categories"].items():
            if row["department"] not in departments:
                raise CatalogError(f"{source}: [categories.{code}] unknown department {row['department']!r}")
            categories[code] = Category(code, str(row["name_en"]), str(row["name_zh"]), row["department"])
    except KeyError as exc:
        raise CatalogError(f"{source}: missing {exc.args[0]!r}") from None
    return Catalog(departments, categories)
