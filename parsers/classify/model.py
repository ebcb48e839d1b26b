"""A compact statistical reader beside the rules: a character n-gram linear model.

The rules (``grammar.py``, the phrase lexicons) read the phrasings and structures they
were written for. This model reads what they miss: a logistic regression per request
type (one-vs-rest, ``LABELS``) over the words and character n-grams of the text, trained
offline by ``tools/train_person_model.py`` on multilingual mail the team wrote
(``fixtures/dsr/training-*.toml`` and the generalisation tuning sets; never the shared
corpora, never a blind set). Its weights ship as package data (``person_model.json``) and
are read once per process (``_once.py``).

Features, all from the text folded without case or diacritics (``grammar.fold``) and with
Greek and Cyrillic letters written in Latin ones (``latin``), so "διαγράψτε" and
"diagrapste", "изтрийте" and "iztriite", "löschen" and "loeschen" share most of them:

* ``w:<word>`` each word, ``p:<first 5 letters>`` its stem;
* ``c:<n-gram>`` the 3- and 4-letter n-grams of `` word ``;
* ``b:<stem> <stem>`` two consecutive words by their first 4 letters.

A feature counts once per text; the score of a type is its bias plus the weights of the
text's features divided by the square root of how many there are. ``read`` returns the
probability of each type and, for each, the sentence that contributes most to it (the
evidence). The caller (``person.py``) decides what the probabilities are allowed to add.

Pure: reads only its own package data file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources

from parsers.classify._once import once
from parsers.classify.grammar import fold

LABELS: tuple[str, ...] = (
    "unsubscribe",
    "access",
    "rectification",
    "erasure",
    "restriction",
    "portability",
    "objection",
    "withdraw_consent",
    "reminder",  # a follow-up of an earlier, unanswered request (not a request type)
)
UNSUBSCRIBE = "unsubscribe"
REMINDER = "reminder"
MODEL_FILE = "person_model.json"
READ_LIMIT = 1500  # characters read: a request is made near the top
_MAX_WORDS = 300

_WORD = re.compile(r"\w+")

# Greek and Cyrillic to the Latin letters people type when their keyboard has none
# (greeklish, "shliokavica", translit): one canonical spelling each.
_LATIN: dict[str, str] = {
    # Greek (folded: no tonos, final sigma already σ)
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",
    "ρ": "r", "σ": "s", "τ": "t", "υ": "i", "φ": "f", "χ": "h", "ψ": "ps", "ω": "o",
    # Cyrillic (Bulgarian, Ukrainian, Russian)
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sht", "ъ": "a", "ь": "",
    "ю": "iu", "я": "ia", "ы": "i", "э": "e", "ё": "e",
}  # fmt: skip
_LATIN_TABLE = str.maketrans(_LATIN)


def latin(word: str) -> str:
    """A folded word with Greek and Cyrillic letters in Latin ones (other scripts kept);
    Greek "ου" is "ou" as people type it ("μου" "mou")."""
    return word.replace("ου", "ou").translate(_LATIN_TABLE)


def words(text: str) -> list[tuple[int, str]]:
    """(offset, Latin folded word) of each word of ``text``, at most ``_MAX_WORDS``."""
    out: list[tuple[int, str]] = []
    for match in _WORD.finditer(fold(text)):
        out.append((match.start(), latin(match.group())))
        if len(out) >= _MAX_WORDS:
            break
    return out


def word_features(word: str, previous: str) -> list[str]:
    """The features one word adds (``previous``: the word before it, "" at the start)."""
    out = [f"w:{word}", f"p:{word[:5]}"]
    padded = f" {word} "
    for n in (3, 4):
        out.extend(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
    if previous:
        out.append(f"b:{previous[:4]} {word[:4]}")
    return out


def features(text: str) -> dict[str, int]:
    """Each feature of ``text`` and the offset of the word that first gave it."""
    return _features(words(text))


def _features(found: list[tuple[int, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    previous = ""
    for offset, word in found:
        for feature in word_features(word, previous):
            out.setdefault(feature, offset)
        previous = word
    return out


@dataclass(frozen=True, slots=True)
class Model:
    """Per-feature weights (one per label, dense; equal values share one float), biases,
    and the threshold of each label."""

    weights: dict[str, tuple[float, ...]]
    bias: tuple[float, ...]
    threshold: dict[str, float]  # calibrated per label by the training script


def parse_model(text: str) -> Model:
    """The model file: JSON ``{"labels": [...], "bias": [...], "threshold": [...],
    "weights": {feature: [index, weight, index, weight, ...]}}``."""
    data = json.loads(text)
    if tuple(data["labels"]) != LABELS:
        raise ValueError(f"model labels {data['labels']} are not {list(LABELS)}")
    shared: dict[float, float] = {}
    rows: dict[tuple[float, ...], tuple[float, ...]] = {}
    weights: dict[str, tuple[float, ...]] = {}
    for feature, flat in data["weights"].items():
        row = [0.0] * len(LABELS)
        for i, w in zip(flat[::2], flat[1::2], strict=True):
            row[int(i)] = shared.setdefault(float(w), float(w))
        key = tuple(row)
        weights[feature] = rows.setdefault(key, key)
    return Model(
        weights=weights,
        bias=tuple(float(b) for b in data["bias"]),
        threshold=dict(zip(LABELS, (float(t) for t in data["threshold"]), strict=True)),
    )


@once
def load() -> Model:
    """The shipped model (read and parsed once per process)."""
    path = resources.files("parsers.classify").joinpath(MODEL_FILE)
    return parse_model(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The model's reading of a text: a probability per label, the offset of the word
    that contributes most to each label, and the threshold each must reach."""

    probability: dict[str, float]
    where: dict[str, int]
    threshold: dict[str, float]
    words: int  # how many words were read

    def above(self, margin: float = 0.0) -> list[str]:
        """Labels whose probability reaches their threshold (plus ``margin``), best first."""
        hits = [
            label
            for label in LABELS
            if self.probability[label] >= min(0.99, self.threshold[label] + margin)
        ]
        return sorted(hits, key=lambda label: -self.probability[label])


def score(feats: dict[str, int], model: Model) -> tuple[list[float], list[int]]:
    """Raw scores per label and, for each label that scores above its bias, the offset of
    the feature that adds most to it (0 for the others)."""
    if not feats:
        return list(model.bias), [0] * len(LABELS)
    scale = 1.0 / math.sqrt(len(feats))
    table = model.weights
    found = [(table[f], offset) for f, offset in feats.items() if f in table]
    if not found:
        return list(model.bias), [0] * len(LABELS)
    columns = zip(*(row for row, _ in found), strict=True)
    sums = [b + scale * sum(column) for b, column in zip(model.bias, columns, strict=True)]
    where = [0] * len(LABELS)
    for i, (total, bias) in enumerate(zip(sums, model.bias, strict=True)):
        if total > bias:
            where[i] = max(found, key=lambda item: item[0][i])[1]
    return sums, where


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def read(text: str, model: Model | None = None) -> Verdict:
    """The model's probabilities for the first ``READ_LIMIT`` characters of ``text``."""
    model = model or load()
    found = words(text[:READ_LIMIT])
    sums, where = score(_features(found), model)
    return Verdict(
        probability={label: _sigmoid(s) for label, s in zip(LABELS, sums, strict=True)},
        where=dict(zip(LABELS, where, strict=True)),
        threshold=model.threshold,
        words=len(found),
    )
