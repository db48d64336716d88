"""Text to FTS5 tokens so that two-character Chinese words are found, and user text to safe queries.

SQLite's unicode61 tokenizer keeps a run of Chinese as one token, so the text is tokenized here
first, as Lucene's CJK analyzer does: each run of CJK characters becomes its overlapping bigrams
(光猫断网 -> 光猫 猫断 断网) and letter/digit runs become lowercase words. The FTS table indexes
these tokens, space-separated, with unicode61. A multi-character run also ends with its last
character alone (… 断网 网), so that every character is the start of some token and a
one-character query can be a prefix query that finds every occurrence.

English words are stemmed (charges, charged -> charg; cancelled, cancelling -> cancel) by a
small suffix stripper, the same for the text indexed and for queries, so that a word is found
in any of its forms. Words with digits, words of three letters or fewer, and words with a
capital after the first letter (codes such as LOS, ONT, PPPoE) are kept as they are.
INDEX_VERSION names what the index holds: a store indexed with
an older version is re-indexed when opened.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

CJK_CLASS = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
              "\U00020000-\U0003134f")
_RUNS = re.compile(rf"(?P<cjk>[{CJK_CLASS}]+)|[^\W_{CJK_CLASS}]+")
_BIGRAMS = re.compile(r"(?=(..))")
_CJK_ONE = re.compile(f"[{CJK_CLASS}]")
# Whitespace and CJK/full-width punctuation separate the parts of a query (which must all match).
_QUERY_SPLIT = re.compile(r"[\s,;\u3000-\u303f\uff01\uff0c\uff1a\uff1b\uff1f]+")
_FLAT = str.maketrans("\t\n\r", "   ")  # same length, so spans stay put
# A short upper-case code (LOS, APN, IPTV, 4G) is typed whole: it never grows into LOST or LOSS.
_CODE = re.compile(r"(?=[0-9]*[A-Z])[A-Z0-9]{2,6}")
# An unfinished Latin word is a prefix from this length: "in"* would match half the index.
PREFIX_MIN = 3
ANY_TERMS_CAP = 64  # terms kept from a long text used to find similar cases
INDEX_VERSION = "3"  # 1: bigrams and lower-case words; 2: English words stemmed;
# 3: a prefix index of one character (db.SQLITE_EXTRAS), filter tokens no query can name
_VOWEL = re.compile("[aeiouy]")
_KEEP_DOUBLE = frozenset("slz")  # pass, call, buzz keep their double letter (as in Porter)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A lower-case English word without its inflection: the same stem for charge, charges,
    charged, charging. Only plain letters a-z of four or more are touched; the stem keeps the
    word's first letters, so its start is always found in the word."""
    if len(word) < 4 or not (word.isascii() and word.isalpha()):
        return word
    base = word
    if base.endswith("ies") and len(base) > 4:
        base = base[:-3] + "y"
    elif base.endswith("sses"):
        base = base[:-2]
    elif base.endswith("s") and not base.endswith(("ss", "us", "is")):
        base = base[:-1]
    for suffix in ("ing", "ed"):
        if base.endswith(suffix) and len(base) - len(suffix) >= 3 and \
                _VOWEL.search(base[:-len(suffix)]):
            base = base[:-len(suffix)]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in _KEEP_DOUBLE and \
                    base[-1] not in "aeiou":
                base = base[:-1]
            break
    if base.endswith("ll") and len(base) > 4:
        base = base[:-1]  # British cancelled / cancelling and cancel
    if base.endswith("e") and len(base) > 4 and base[-2] not in "aeiou":
        base = base[:-1]
    return base


@lru_cache(maxsize=65536)
def _word(run: str) -> str:
    """A Latin run as indexed: lower case, stemmed unless written as a code (PPPoE, IPTV)."""
    word = run.lower() if run.isascii() else _norm(run)
    return stem(word) if run[1:].islower() else word


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int  # code-point offsets into the original text
    end: int
    cjk: bool


@dataclass(frozen=True, slots=True)
class Phrase:
    """Tokens that must appear in this order; `prefix` lets the last one be a prefix."""

    terms: tuple[str, ...]
    prefix: bool = False

    def fts(self) -> str:
        # Terms hold only letters and digits, so quoting them is enough to keep them literal.
        return f'"{" ".join(self.terms)}"' + ("*" if self.prefix else "")


def _norm(text: str) -> str:
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[Token]:
    """The indexed tokens of `text`, with where each one is in it."""
    out: list[Token] = []
    for match in _RUNS.finditer(text):
        start, run = match.start(), match.group()
        if match.lastgroup != "cjk":
            out.append(Token(_word(run), start, match.end(), False))
            continue
        if len(run) > 1:
            out.extend(Token(run[i:i + 2], start + i, start + i + 2, True)
                       for i in range(len(run) - 1))
        out.append(Token(run[-1], match.end() - 1, match.end(), True))
    return out


def index_text(text: str) -> str:
    """What the FTS column holds for `text`: the token texts of tokens(), built faster."""
    parts: list[str] = []
    for match in _RUNS.finditer(text):
        run = match.group()
        if match.lastgroup == "cjk":
            parts.extend(_BIGRAMS.findall(run))
            parts.append(run[-1])
        else:
            parts.append(_word(run))
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Either:
    """One part of a query said in any of several ways (a word and its synonyms)."""

    options: tuple[Phrase, ...]

    def fts(self) -> str:
        return "(" + " OR ".join(option.fts() for option in self.options) + ")"


Part = Phrase | Either


def flat(parts: Iterable[Part]) -> list[Phrase]:
    """Every phrase of `parts`, for finding where they occur."""
    out: dict[Phrase, None] = {}
    for part in parts:
        for phrase in (part.options if isinstance(part, Either) else (part,)):
            out.setdefault(phrase)
    return list(out)


def word_phrase(word: str) -> Phrase | None:
    """A whole word or phrase (of a synonym table) as a query phrase."""
    return _chunk_phrase(word, False)


def _chunk_phrase(chunk: str, prefix_last: bool) -> Phrase | None:
    found = tokens(chunk)
    if not found:
        return None
    last = found[-1]
    if last.cjk and len(found) > 1 and found[-2].cjk and found[-2].end == last.end:
        # In the text searched the run may go on, and then its last character is not a token
        # of its own: drop it (the bigram ending in it is already in the phrase).
        found.pop()
        prefix = False
    else:
        # A lone CJK character begins a bigram (or ends a run); a last word may be half-typed,
        # unless it is short or an upper-case code.
        prefix = last.cjk or (prefix_last and len(last.text) >= PREFIX_MIN
                              and not _CODE.fullmatch(chunk[last.start:last.end]))
    return Phrase(tuple(token.text for token in found), prefix)


def query_phrases(text: str, *, prefix_last: bool = False) -> list[Phrase]:
    """User text -> phrases that must all match; `prefix_last` for search as you type."""
    chunks = [chunk for chunk in _QUERY_SPLIT.split(text) if chunk]
    phrases = [_chunk_phrase(chunk, prefix_last and i == len(chunks) - 1)
               for i, chunk in enumerate(chunks)]
    return [phrase for phrase in phrases if phrase is not None]


def any_terms(text: str, *, cap: int = ANY_TERMS_CAP) -> list[Phrase]:
    """Distinct single terms of a longer text, for "any of these" matching (similar cases)."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        if len(token.text) > 1 or token.text.isdigit():
            seen.setdefault(token.text)
    return [Phrase((term,)) for term in list(seen)[:cap]]


def pieces(phrases: list[Phrase]) -> list[Phrase]:
    """The single terms of multi-term phrases (光猫断网 -> 光猫, 猫断, 断网), for "any of
    these" matching when the whole phrases find nothing; one-letter terms are left out."""
    seen: dict[Phrase, None] = {}
    for phrase in phrases:
        if len(phrase.terms) == 1:
            seen.setdefault(phrase)
            continue
        for term in phrase.terms:
            if len(term) > 1 or term.isdigit():
                seen.setdefault(Phrase((term,)))
    return list(seen)


def match_expression(phrases: list[Part], *, any_: bool = False) -> str:
    """The FTS5 MATCH string; empty when there is nothing to search for."""
    return (" OR " if any_ else " AND ").join(phrase.fts() for phrase in phrases)


def _token_lists(text: str) -> tuple[list[str], list[int], list[int]]:
    """tokens() as three lists (texts, starts, ends), built without a Token per token."""
    texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for match in _RUNS.finditer(text):
        start, end, run = match.start(), match.end(), match.group()
        if match.lastgroup != "cjk":
            texts.append(_word(run))
            starts.append(start)
            ends.append(end)
            continue
        texts += _BIGRAMS.findall(run)
        texts.append(run[-1])
        starts += range(start, end)
        ends += range(start + 2, end + 1)
        ends.append(end)
    return texts, starts, ends


def find_spans(text: str, phrases: list[Phrase]) -> list[tuple[int, int]]:
    """Where `phrases` occur in `text`, as sorted, merged (start, end) code-point spans."""
    folded, base = _norm(text), 0
    if len(folded) == len(text):
        # A phrase begins where its first term's probe begins a token: nothing before the
        # first such place needs tokenizing.
        heads = [(_head_at(folded, phrase), phrase) for phrase in phrases]
        phrases = [phrase for at, phrase in heads if at >= 0]
        if not phrases:
            return []
        base = _run_start(text, min(at for at, _ in heads if at >= 0))
    texts, starts, ends = _token_lists(text[base:])
    if base:
        starts = [start + base for start in starts]
        ends = [end + base for end in ends]
    at: dict[str, list[int]] = {}
    for i, token in enumerate(texts):
        at.setdefault(token, []).append(i)
    spans: list[tuple[int, int]] = []
    for phrase in phrases:
        size, last = len(phrase.terms), phrase.terms[-1]
        if size == 1 and phrase.prefix:
            for token, places in at.items():
                if token == last:
                    spans += ((starts[i], ends[i]) for i in places)
                elif token.startswith(last):
                    spans += ((starts[i], min(ends[i], starts[i] + len(last))) for i in places)
            continue
        for i in at.get(phrase.terms[0], ()):
            j = i + size - 1
            if j >= len(texts) or tuple(texts[i:j]) != phrase.terms[:-1]:
                continue
            if texts[j] == last:
                spans.append((starts[i], ends[j]))
            elif phrase.prefix and texts[j].startswith(last):
                spans.append((starts[i], min(ends[j], starts[j] + len(last))))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _probe(term: str) -> str:
    """What of a term must be in lower-cased text where it occurs: a Chinese term whole, an
    English stem less its last letter (battery -> batteri... keeps batter)."""
    return term if not term.isascii() else term[:max(1, len(term) - 1)]


@lru_cache(maxsize=4096)
def _head_finder(term: str) -> re.Pattern[str]:
    """Where a phrase's first term can begin: its probe, for a Latin word at a word start."""
    probe = re.escape(_probe(term))
    return re.compile(probe if not term.isascii() else f"(?<![a-z0-9]){probe}")


def _head_at(folded: str, phrase: Phrase) -> int:
    """The first place in lower-cased text where `phrase` may begin; -1 when nowhere."""
    found = _head_finder(phrase.terms[0]).search(folded)
    return found.start() if found else -1


def _run_start(text: str, at: int) -> int:
    """Where the token at `at` begins: a Chinese character begins tokens of its own; a Latin
    word is tokenized whole."""
    if at >= len(text) or _CJK_ONE.match(text, at):
        return at
    while at and text[at - 1].isalnum() and not _CJK_ONE.match(text, at - 1):
        at -= 1
    return at


def seen_in(folded: str, phrase: Phrase) -> bool:
    """Whether `phrase` is in lower-cased text, cheaply: each Chinese term whole, each English
    stem less its last letter (a stem keeps its word's first letters). For saying why a case
    the index found matched, not for finding it."""
    return all(_probe(term) in folded for term in phrase.terms)


def snippet(fields: Iterable[str], phrases: list[Phrase], *, width: int,
            lead: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A one-line window of the first field with a match (else the first field), and the
    matches in it; `lead` characters are shown before the first match."""
    fields = list(fields)
    text, spans = fields[0], []
    for candidate in fields:
        spans = find_spans(candidate, phrases)
        if spans:
            text = candidate
            break
    text = text.translate(_FLAT)
    start = max(0, spans[0][0] - lead) if spans else 0
    if start and " " in text[start:spans[0][0]]:
        start = text.index(" ", start) + 1  # begin at a word in spaced text
    end = min(len(text), start + width)
    head, tail = ("…" if start else ""), ("…" if end < len(text) else "")
    shift = len(head) - start
    marks = tuple((max(a, start) + shift, min(b, end) + shift) for a, b in spans
                  if a < end and b > start)
    return head + text[start:end] + tail, marks
