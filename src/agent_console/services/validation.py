"""Checks on values users and other systems give, each naming the field and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent_console.services.errors import InputError
from agent_console.text import clean_line, strip_controls

# ASCII digits only: `\d` would also take Arabic-Indic or Devanagari digits.
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")
INTERNATIONAL = re.compile(r"^\+[0-9]{6,15}$")
# Chinese input methods type full-width digits and signs; they are the same number.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－（）　", "0123456789+-() ")
DESCRIPTION_LIMIT = 4000  # characters kept of a description; longer text is cut with a notice
NAME_LIMIT = 60


def choice(field: str, value: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if value not in allowed:
        raise InputError(field, f"{value!r} is not one of: {', '.join(allowed)}", code="choice",
                         allowed=allowed)
    return value


def phone(field: str, value: str) -> str:
    """A Chinese mobile (1[3-9] + 9 digits), a landline with area code, or +country digits."""
    compact = re.sub(r"[\s()]", "", value.translate(_FULL_WIDTH))
    if MOBILE.match(compact) or INTERNATIONAL.match(compact):
        return compact
    if LANDLINE.match(compact):
        return compact.replace("-", "")
    raise InputError(field, "expected a mobile number like 13812345678, a landline with area code "
                            "like 010-12345678, or +country digits", code="phone")


def required_text(field: str, value: str, limit: int) -> tuple[str, bool]:
    """Text with controls removed; (text, cut) where cut says it was longer than `limit`."""
    text = strip_controls(value).strip()
    if not text:
        raise InputError(field, "must not be empty", code="required")
    return (text[:limit], True) if len(text) > limit else (text, False)


def name(field: str, value: str) -> str:
    text = clean_line(value)[:NAME_LIMIT]
    if not text:
        raise InputError(field, "must not be empty", code="required")
    return text
