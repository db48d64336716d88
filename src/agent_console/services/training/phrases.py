"""Bilingual phrase sets and matching what a trainee types against them.

A phrase set is a named list of phrases in Chinese and English (`apology`, `empathy`,
`explanation`, `promise`, `greeting`, `farewell`, `forbidden`, `misleading`, or a scenario's own
such as `terms_disclosure`). A set marked `bad` holds wording a trainee must never use.

What the trainee typed matches a phrase when, after NFKC folding, case folding and collapsing
whitespace, the phrase occurs in it: Chinese phrases as substrings, English phrases on word
boundaries (so "sorry" is not found in "sorryness"). Both languages are always tried, whatever
language the trainee works in.

API:
    PhraseSet(zh=..., en=..., bad=False)           one set, as in the TOML
    Phrasebook(sets={name: PhraseSet})             every set a scenario can name
        .merged(other) -> Phrasebook               sets of `other` extend (not replace) these
        .hits(text) -> tuple[PhraseHit, ...]       every (set, phrase, lang) found in `text`
    parse_phrasebook(data) -> Phrasebook           from a TOML table {name: {zh, en, bad}}
    normalise(text) -> str                         the form both sides are compared in
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Lang = Literal["zh", "en"]

_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_WORD = re.compile(r"[0-9a-z]")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def normalise(text: str) -> str:
    """NFKC, case-folded, curly quotes made straight, whitespace runs folded to one space."""
    folded = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACES.sub(" ", folded).strip()


def _pattern(phrase: str) -> re.Pattern[str]:
    body = re.escape(normalise(phrase))
    start = r"(?<![0-9a-z])" if _WORD.match(body[:1]) else ""
    end = r"(?![0-9a-z])" if _WORD.match(normalise(phrase)[-1:]) else ""
    return re.compile(start + body + end)


class PhraseHit(_Frozen):
    """One phrase of one set found in what the trainee typed."""

    set: str
    phrase: str
    lang: Lang
    bad: bool = False


class PhraseSet(_Frozen):
    zh: tuple[Phrase, ...] = ()
    en: tuple[Phrase, ...] = ()
    bad: bool = False  # wording never to use: forbidden, misleading, hiding terms

    def phrases(self) -> tuple[tuple[Lang, str], ...]:
        return (*(("zh", p) for p in self.zh), *(("en", p) for p in self.en))

    def extended(self, other: PhraseSet) -> PhraseSet:
        return PhraseSet(zh=tuple(dict.fromkeys((*self.zh, *other.zh))),
                         en=tuple(dict.fromkeys((*self.en, *other.en))), bad=self.bad or other.bad)


class Phrasebook(_Frozen):
    sets: dict[Ident, PhraseSet] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.sets

    def merged(self, other: Phrasebook) -> Phrasebook:
        """These sets with `other`'s phrases added; a set only in `other` is taken as it is."""
        out = dict(self.sets)
        for name, extra in other.sets.items():
            out[name] = out[name].extended(extra) if name in out else extra
        return Phrasebook(sets=out)

    @cached_property
    def _compiled(self) -> tuple[tuple[str, bool, Lang, str, re.Pattern[str]], ...]:
        return tuple((name, group.bad, lang, phrase, _pattern(phrase))
                     for name, group in sorted(self.sets.items())
                     for lang, phrase in group.phrases())

    def hits(self, text: str) -> tuple[PhraseHit, ...]:
        """Every phrase found in `text`, in set-name order then the set's own order."""
        said = normalise(text)
        if not said:
            return ()
        return tuple(PhraseHit(set=name, phrase=phrase, lang=lang, bad=bad)
                     for name, bad, lang, phrase, pattern in self._compiled if pattern.search(said))


def parse_phrasebook(data: Mapping[str, Any]) -> Phrasebook:
    """A phrasebook from a TOML table of sets; raises pydantic.ValidationError."""
    return Phrasebook.model_validate({"sets": dict(data)})
