"""A small character n-gram classifier of categories, trained on the dev split of the shipped
labelled set (content/classifier_eval.jsonl) and on the training set (content/classifier_train.jsonl),
that the rules consult when they find nothing or hesitate between categories.

Naive Bayes over the presence of features: Chinese character bigrams and trigrams and English
words (stemmed as search stems them). Its decision is explained like a rule's: the features
that weighed most for the category it chose, with where they are in the text. The held-out
and fresh splits, and the validation set (content/classifier_val.jsonl) that chose the
thresholds in services/classifier.py, are never trained on.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

from agent_console.services import cjk

LABELLED = "classifier_eval.jsonl"
TRAIN_FILE = "classifier_train.jsonl"
VAL_FILE = "classifier_val.jsonl"
TRAIN_SPLITS = ("dev", "train")
ALPHA = 0.5  # smoothing
EXPLAIN = 3  # features shown as the reason
_CJK_RUN = re.compile(f"[{cjk.CJK_CLASS}]+")
_WORD = re.compile(r"[a-z][a-z0-9]{2,}")


def features(folded: str) -> dict[str, tuple[int, int]]:
    """feature -> (start, end) of its first place in the lower-cased text."""
    found: dict[str, tuple[int, int]] = {}
    for match in _WORD.finditer(folded):
        found.setdefault("w:" + cjk.stem(match.group()), match.span())
    for match in _CJK_RUN.finditer(folded):
        run, start = match.group(), match.start()
        for size in (2, 3):
            for i in range(len(run) - size + 1):
                found.setdefault(run[i:i + size], (start + i, start + i + size))
    return found


@dataclass(frozen=True)
class Guess:
    category: str
    margin: float  # log-odds of the best category over the second
    evidence: tuple[tuple[str, int, int], ...]  # (feature, start, end), strongest first


class NgramModel:
    def __init__(self, examples: list[tuple[str, str]]) -> None:
        self.docs = Counter(category for _, category in examples)
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        for text, category in examples:
            self.counts[category].update(features(text.lower()).keys())
        self.vocabulary = {f for counter in self.counts.values() for f in counter}
        total = sum(self.docs.values())
        self.prior = {c: math.log(n / total) for c, n in self.docs.items()}

    def _weight(self, feature: str, category: str) -> float:
        seen = (self.counts[category][feature] + ALPHA) / (self.docs[category] + 2 * ALPHA)
        return math.log(seen / (1 - seen))

    def guess(self, folded: str) -> Guess | None:
        found = {f: span for f, span in features(folded).items() if f in self.vocabulary}
        if not found:
            return None
        scores = {c: self.prior[c] + sum(self._weight(f, c) for f in found) for c in self.docs}
        ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
        (best, top), (_, second) = ranked[0], ranked[1]
        lift = sorted(((self._weight(f, best) - max(self._weight(f, c) for c in self.docs
                                                    if c != best), f) for f in found),
                      reverse=True)
        evidence = tuple((f.removeprefix("w:"), *found[f]) for gain, f in lift[:EXPLAIN]
                         if gain > 0)
        return Guess(best, top - second, evidence)


def labelled_rows(name: str) -> list[dict[str, str]]:
    """The rows of a shipped JSON-lines labelled file."""
    text = resources.files("agent_console.content").joinpath(name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@cache
def trained_model() -> NgramModel:
    """The model of the dev split and the training set (never the held-out, val or fresh)."""
    rows = labelled_rows(LABELLED) + labelled_rows(TRAIN_FILE)
    return NgramModel([(row["text"], row["category"]) for row in rows
                       if row.get("split") in TRAIN_SPLITS])
