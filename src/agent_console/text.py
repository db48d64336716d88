"""Making user-supplied text safe to show: no control characters, no markup, masked numbers."""

from __future__ import annotations

import re

# C0/C1 controls and DEL; tab and newline are turned into spaces by clean_line.
# Bidirectional overrides and isolates (U+202A–202E, U+2066–2069) can make text read in a
# different order than it is stored, so they go too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_SPACE_RUN = re.compile(r"[\t\n\r ]+")


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters, keeping newlines and tabs."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def clean_line(text: str) -> str:
    """One display line: controls removed and all whitespace runs folded to one space."""
    return _SPACE_RUN.sub(" ", strip_controls(text)).strip()


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile number; keep the area code and last four of other numbers."""
    digits = phone.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) == 11 else (
            f"{digits[:-8]}****{digits[-4:]}"
        )
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_id_number(id_number: str) -> str:
    """The first three and last four characters of an ID number."""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return f"{id_number[:3]}{'*' * (len(id_number) - 7)}{id_number[-4:]}"


def display_width(text: str) -> int:
    """Terminal cells the text takes: East Asian wide and full-width characters take two."""
    from unicodedata import east_asian_width

    return sum(2 if east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clean_paste(text: str) -> str:
    """Pasted text as it reads: line ends kept (a terminal sends them as CR), escape sequences,
    control characters and bidirectional overrides gone, nothing reordered."""
    return strip_controls(text.replace("\r\n", "\n").replace("\r", "\n"))
