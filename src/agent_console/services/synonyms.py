"""Words that mean the same, for searching the knowledge base: the shipped table
(content/synonyms.toml) and the site's additions, kept in the store as the site document
"synonyms" (changed by those who may edit the knowledge base, audited).

`expand` turns a query into parts: every word of the query found in a group becomes "this word
or any of its synonyms", the rest of the query is split as before (services.cjk). Each phrase
made from a synonym remembers the word typed and the word it stands for, so that a hit can say
why it matched.
"""

from __future__ import annotations

import hashlib
import re
import time
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from agent_console.db import to_db
from agent_console.services import cjk
from agent_console.services.actor import Actor
from agent_console.services.errors import InputError
from agent_console.services.permissions import EDIT_KB
from agent_console.services.store import Store, Tx
from agent_console.text import clean_line

FILE = "synonyms.toml"
KIND = "synonyms"
WORD_LIMIT = 40
GROUP_MAX = 30
SITE_EMPTY = ("# The site's own groups of words that mean the same (over the shipped table).\n"
              "version = 1\n")
_LATIN_EDGE = "[a-z0-9]"


class SynonymError(ValueError):
    """A synonym table that cannot be used; the message names its source."""


@dataclass(frozen=True)
class Table:
    groups: tuple[tuple[str, ...], ...] = ()
    single: frozenset[str] = frozenset()
    _by_word: dict[str, int] = field(default_factory=dict, compare=False)
    _finder: Any = field(default=None, compare=False)

    def group_of(self, word: str) -> tuple[str, ...]:
        index = self._by_word.get(_fold(word))
        return self.groups[index] if index is not None else ()


def _fold(word: str) -> str:
    return " ".join(cjk._norm(word).split())


def _word_regex(word: str) -> str:
    body = r"\s+".join(re.escape(part) for part in word.split())
    if re.match(_LATIN_EDGE, word):
        body = f"(?<!{_LATIN_EDGE})" + body
    if re.search(f"{_LATIN_EDGE}$", word):
        body += f"(?!{_LATIN_EDGE})"
    return body


def _check_word(word: Any, source: str) -> str:
    if not isinstance(word, str) or not clean_line(word).strip():
        raise SynonymError(f"{source}: a word must be non-empty text")
    if len(word) > WORD_LIMIT:
        raise SynonymError(f"{source}: {word[:20]!r}… is longer than {WORD_LIMIT} characters")
    if cjk.word_phrase(word) is None:
        raise SynonymError(f"{source}: {word!r} has no letters, digits or Chinese characters")
    return _fold(clean_line(word))


def parse(text: str, source: str) -> dict[str, Any]:
    """A synonyms document, checked: {"groups": [[word, ...], ...], "single": [char, ...]}."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SynonymError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(data) - {"version", "group", "single"}
    if unknown:
        raise SynonymError(f"{source}: unknown key {sorted(unknown)[0]!r} (version, group, single)")
    groups = []
    for number, group in enumerate(data.get("group", []), start=1):
        words = group.get("words") if isinstance(group, dict) else None
        if not isinstance(words, list) or len(words) < 2 or len(words) > GROUP_MAX:
            raise SynonymError(f"{source}: [[group]] #{number}: give words = [...], "
                               f"2 to {GROUP_MAX} of them")
        groups.append(list(dict.fromkeys(_check_word(w, f"{source}: [[group]] #{number}")
                                         for w in words)))
    single = data.get("single", [])
    if not isinstance(single, list) or not all(
            isinstance(c, str) and len(c) == 1 and re.match(f"[{cjk.CJK_CLASS}]", c)
            for c in single):
        raise SynonymError(f"{source}: single: a list of single Chinese characters")
    return {"groups": groups, "single": single}


def shipped_text() -> str:
    return resources.files("agent_console.content").joinpath(FILE).read_text(encoding="utf-8")


def site_default_text() -> str:
    """What a new store keeps as the site's additions: none."""
    return SITE_EMPTY


@lru_cache(maxsize=8)
def table_from(site_text: str) -> Table:
    """The shipped table with the site's groups: a site group sharing a word with a shipped
    group joins it."""
    shipped, site = parse(shipped_text(), FILE), parse(site_text, "store: synonyms")
    groups: list[list[str]] = []
    by_word: dict[str, int] = {}
    for words in (*shipped["groups"], *site["groups"]):
        joined = next((by_word[w] for w in words if w in by_word), None)
        if joined is None:
            joined = len(groups)
            groups.append([])
        for word in words:
            if word not in by_word:
                by_word[word] = joined
                groups[joined].append(word)
    words = sorted(by_word, key=len, reverse=True)
    finder = re.compile("|".join(_word_regex(w) for w in words)) if words else None
    return Table(tuple(map(tuple, groups)), frozenset(shipped["single"] + site["single"]),
                 by_word, finder)


def site_text(tx: Tx) -> str:
    row = tx.one("SELECT body FROM site_document WHERE kind = ? AND name = ''", (KIND,))
    return row[0] if row else SITE_EMPTY


_READ: dict[str, tuple[float, str]] = {}  # store url -> (when read, the site's text)
FRESH_SECONDS = 5.0  # a group added on another terminal is searched within this time


def table(tx: Tx, url: str | None = None) -> Table:
    """The table searched: the site's text is read again when FRESH_SECONDS old (a search
    must not pay for a read of it each time)."""
    if url is None:
        return table_from(site_text(tx))
    now = time.monotonic()
    found = _READ.get(url)
    if found is None or now - found[0] > FRESH_SECONDS:
        found = _READ[url] = (now, site_text(tx))
    return table_from(found[1])


def forget(url: str) -> None:
    _READ.pop(url, None)


# --- queries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expanded:
    exact: list[cjk.Phrase]  # the query as typed (cjk.query_phrases)
    literal: list[cjk.Phrase]  # the query split at the words of the table, as typed
    parts: list[cjk.Part]  # the same with each such word or any of its synonyms (cjk.Either)
    labels: dict[cjk.Phrase, tuple[str, str]]  # phrase -> (word typed, word it stands for)
    single: list[cjk.Phrase]  # the query's one-character words, when they are in the list

    @property
    def expanded(self) -> bool:
        return any(isinstance(part, cjk.Either) for part in self.parts)


def _typed(text: str, labels: dict[cjk.Phrase, tuple[str, str]], *,
           prefix_last: bool = False) -> list[cjk.Phrase]:
    """cjk.query_phrases of `text`, each labelled with the text typed."""
    chunks = [chunk for chunk in cjk._QUERY_SPLIT.split(text) if chunk]
    out = []
    for i, chunk in enumerate(chunks):
        phrase = cjk._chunk_phrase(chunk, prefix_last and i == len(chunks) - 1)
        if phrase is not None:
            out.append(phrase)
            labels.setdefault(phrase, (clean_line(chunk), clean_line(chunk)))
    return out


def expand(text: str, table: Table, *, prefix_last: bool) -> Expanded:
    labels: dict[cjk.Phrase, tuple[str, str]] = {}
    exact = _typed(text, labels, prefix_last=prefix_last)
    folded = cjk._norm(text)
    parts: list[cjk.Part] = []
    literal: list[cjk.Phrase] = []
    found = list(table._finder.finditer(folded)) if table._finder is not None and \
        len(folded) == len(text) else []
    pos = 0
    for match in found:
        before = _typed(text[pos:match.start()], labels)
        typed = clean_line(text[match.start():match.end()])
        own = cjk.word_phrase(typed)
        options: dict[cjk.Phrase, None] = {}
        if own is not None:
            options.setdefault(own)
            labels.setdefault(own, (typed, typed))
        for word in table.group_of(match.group()):
            phrase = cjk.word_phrase(word)
            if phrase is not None:
                options.setdefault(phrase)
                labels.setdefault(phrase, (typed, word))
        parts += [*before, cjk.Either(tuple(options))]
        literal += [*before, *([own] if own is not None else [])]
        pos = match.end()
    tail = _typed(text[pos:], labels, prefix_last=prefix_last)
    parts += tail
    literal += tail
    single = [cjk.Phrase((char,), True) for char in dict.fromkeys(folded)
              if char in table.single]
    for phrase in single:
        labels.setdefault(phrase, (phrase.terms[0], phrase.terms[0]))
    return Expanded(exact, literal, parts, labels, single)


# --- the site's additions --------------------------------------------------------------------

def _toml_string(word: str) -> str:
    import json
    return json.dumps(word, ensure_ascii=False)


def add_group(store: Store, actor: Actor, *, words: list[str]) -> tuple[str, ...]:
    """Add a group of words that mean the same to the site's table (joining a group that
    already holds one of them); audited. The words of the group it is now part of."""
    actor.require(EDIT_KB)
    clean = []
    for word in words:
        try:
            clean.append(_check_word(word, "words"))
        except SynonymError as exc:
            raise InputError("words", str(exc).removeprefix("words: ")) from None
    clean = list(dict.fromkeys(clean))
    if len(clean) < 2:
        raise InputError("words", "give at least two words that mean the same",
                         code="synonyms_two")
    if len(clean) > GROUP_MAX:
        raise InputError("words", f"at most {GROUP_MAX} words", code="too_long", limit=GROUP_MAX)
    with store.write(actor) as tx:
        before = site_text(tx)
        after = (before.rstrip("\n") + "\n\n[[group]]\nwords = ["
                 + ", ".join(map(_toml_string, clean)) + "]\n")
        parse(after, "store: synonyms")
        tx.execute("INSERT INTO site_document (kind, name, body, updated_at, updated_by) "
                   "VALUES (?, '', ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                   "body = excluded.body, updated_at = excluded.updated_at, "
                   "updated_by = excluded.updated_by", (KIND, after, to_db(tx.now), actor.code))
        tx.audit("policy_change", f"policy:{KIND}", {
            "added": clean,
            "before_sha256": hashlib.sha256(before.encode()).hexdigest(),
            "after_sha256": hashlib.sha256(after.encode()).hexdigest(),
            "before": before, "after": after})
    forget(store.url)
    return table_from(after).group_of(clean[0])
