"""Train the person detector's statistical model (``parsers/classify/model.py``), offline.

Data, all written by the team (never the shared corpora, never a blind set it measures):

* ``fixtures/dsr/training-*.toml``: training data written for the model (every language);
* ``fixtures/dsr/generalisation-*.toml`` except the blind sets still to be measured
  (``_NEVER``: blind-8, blind-10a, blind-10b and any later ``blind-*`` not in ``_USED``),
  and ``fixtures/dsr/sentences.toml``;
* the examples of every lexicon entry (a request type's examples are positives, the
  ``mention`` examples negatives). The tests' own sentences are not read: they stay a
  check of the model, not its data.

Each text also gives one noisy copy (a dropped, doubled or swapped letter in one or two
long words), so typed-in-a-hurry mail reads like its clean form.

Model: one logistic regression per label (``model.LABELS``), binary features scaled by
1/sqrt(count), AdaGrad, class-weighted positives; weights under ``--prune`` dropped,
features seen in fewer than ``--min-count`` texts dropped.

    .venv/bin/python tools/train_person_model.py --holdout blind-7   # measure, write nothing
    .venv/bin/python tools/train_person_model.py                     # write the model file

``--holdout NAME`` trains without ``generalisation-NAME.toml`` and prints, per threshold,
recall per label and false positives on its traps, to choose ``--threshold``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsers.classify import model, phrases  # noqa: E402

DSR = ROOT / "fixtures" / "dsr"
OUT = ROOT / "parsers" / "classify" / model.MODEL_FILE
# Blind sets that measure the detector: never read here.
_NEVER = ("blind-8", "blind-10a", "blind-10b")
# Blind sets already used to tune (their figures are no longer blind).
_USED = ("blind-7",)
LABEL_INDEX = {label: i for i, label in enumerate(model.LABELS)}
# Labels whose ordinary-mail look-alikes are common ("send me the quote", "I don't want
# the ad to be dear", "could you give me information about your prices") need more.
_THRESHOLD_MIN = {"unsubscribe": 0.8, "access": 0.8, "objection": 0.8}

Doc = tuple[str, frozenset[int], str]  # text, label indexes, source


def _labels(case: dict[str, Any]) -> frozenset[int] | None:
    expect = case.get("expect", "request")
    if expect == "none":
        return frozenset()
    if expect == "unsubscribe":
        return frozenset({LABEL_INDEX["unsubscribe"]})
    types = list(case.get("types", ())) + ([case["type"]] if "type" in case else [])
    known = {LABEL_INDEX[t] for t in types if t in LABEL_INDEX}
    if not known:
        return None  # a request of a type the model does not learn (opt_out_sale…)
    if case.get("reminder"):
        known.add(LABEL_INDEX["reminder"])
    return frozenset(known)


def _training(data: dict[str, Any], source: str) -> list[Doc]:
    """A training file: per language, label ("none", "erasure+reminder"…) -> texts."""
    out: list[Doc] = []
    for table in data.values():
        for key, texts in table.items():
            names = [] if key == "none" else key.split("+")
            labels = frozenset(LABEL_INDEX[n] for n in names)
            out += [(text.strip(), labels, source) for text in texts]
    return out


def _sets(holdout: str | None) -> list[Path]:
    out = []
    for path in sorted(DSR.glob("generalisation-*.toml")):
        name = path.stem.removeprefix("generalisation-")
        if name.startswith("blind-") and name not in _USED:
            continue  # _NEVER and any blind set not yet used for tuning
        if name == holdout:
            continue
        out.append(path)
    out += sorted(DSR.glob("training-*.toml"))
    out.append(DSR / "sentences.toml")
    return out


def load_docs(holdout: str | None) -> list[Doc]:
    docs: list[Doc] = []
    for path in _sets(holdout):
        data = tomllib.loads(path.read_text("utf-8"))
        if path.stem.startswith("training-"):
            docs += _training(data, path.stem)
            continue
        for case in data.get("case", []):
            labels = _labels(case)
            if labels is not None:
                docs.append((case["text"].strip(), labels, path.stem))
    for code in phrases.lexicon_codes():
        lex = phrases.load(code)
        if lex is None:
            continue
        for entry in lex.entries:
            for example in entry.examples:
                if entry.category == phrases.MENTION:
                    docs.append((example, frozenset(), "lexicon"))
                elif entry.category in LABEL_INDEX:
                    docs.append((example, frozenset({LABEL_INDEX[entry.category]}), "lexicon"))
    return docs


def holdout_docs(name: str) -> list[tuple[str, str, frozenset[int]]]:
    path = DSR / f"generalisation-{name}.toml"
    if name in _NEVER or (name.startswith("blind-") and name not in _USED):
        raise SystemExit(f"{name}: a blind set that measures the detector is never read here")
    out = []
    for case in tomllib.loads(path.read_text("utf-8"))["case"]:
        labels = _labels(case)
        if labels is not None:
            out.append((case["text"].strip(), case.get("expect", "request"), labels))
    return out


def noisy(text: str, rng: random.Random) -> str:
    """``text`` with one or two long words mistyped (a letter dropped, doubled, swapped)."""
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text
    for i in rng.sample(long_words, min(len(long_words), rng.choice((1, 2)))):
        w = words[i]
        j = rng.randrange(1, len(w) - 1)
        how = rng.randrange(3)
        if how == 0:
            w = w[:j] + w[j + 1 :]
        elif how == 1:
            w = w[:j] + w[j] + w[j:]
        else:
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        words[i] = w
    return " ".join(words)


def train(
    docs: list[Doc], epochs: int, rate: float, seed: int, weight_none: float, min_count: int
) -> tuple[dict[str, list[float]], list[float]]:
    """Per-feature weights and biases; ordinary mail (no label) weighs ``weight_none``."""
    rng = random.Random(seed)  # noqa: S311  (noise for augmentation, not secrets)
    k = len(model.LABELS)
    texts = [(text, labels) for text, labels, _ in docs]
    texts += [(noisy(text, rng), labels) for text, labels, _ in docs]
    featured = [(list(model.features(text)), labels) for text, labels in texts]
    seen: Counter[str] = Counter(f for feats, _ in featured for f in feats)
    featured = [([f for f in feats if seen[f] >= min_count], labels) for feats, labels in featured]
    positives = Counter(i for _, labels in featured for i in labels)
    total = len(featured)
    weight_pos = [
        min(4.0, math.sqrt((total - positives[i]) / max(1, positives[i])) / 2) for i in range(k)
    ]
    weights: dict[str, list[float]] = {}
    grads: dict[str, list[float]] = {}
    bias = [-2.0] * k
    bias_g = [1.0] * k
    order = list(range(len(featured)))
    for epoch in range(epochs):
        rng.shuffle(order)
        loss = 0.0
        for n in order:
            feats, labels = featured[n]
            if not feats:
                continue
            scale = 1.0 / math.sqrt(len(feats))
            rows = [weights.setdefault(f, [0.0] * k) for f in feats]
            accs = [grads.setdefault(f, [1e-6] * k) for f in feats]
            columns = map(sum, zip(*rows, strict=True))
            sums = [b + scale * s for b, s in zip(bias, columns, strict=True)]
            for i in range(k):
                p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, sums[i]))))
                y = 1.0 if i in labels else 0.0
                g = (p - y) * (weight_pos[i] if y else weight_none if not labels else 1.0)
                loss -= math.log(p if y else 1.0 - p + 1e-12) if 0 < p < 1 else 0.0
                if abs(g) < 1e-3:
                    continue
                gs = g * scale
                g2 = gs * gs
                for row, acc in zip(rows, accs, strict=True):
                    acc[i] += g2
                    row[i] -= rate * gs / math.sqrt(acc[i])
                bias_g[i] += g * g
                bias[i] -= rate * g / math.sqrt(bias_g[i])
        print(f"epoch {epoch + 1}: loss {loss / len(order):.4f}", file=sys.stderr)
    return weights, bias


def to_model(
    weights: dict[str, list[float]], bias: list[float], prune: float, thresholds: list[float]
) -> tuple[model.Model, str]:
    kept: dict[str, list[float]] = {}
    for feature in sorted(weights):
        flat: list[float] = []
        for i, w in enumerate(weights[feature]):
            if abs(w) >= prune:
                flat += [i, round(w, 3)]
        if flat:
            kept[feature] = flat
    data = {
        "about": "The person detector's statistical model (parsers/classify/model.py), "
        "generated by tools/train_person_model.py from team-written data; do not edit.",
        "labels": list(model.LABELS),
        "bias": [round(b, 4) for b in bias],
        "threshold": [round(t, 3) for t in thresholds],
        "weights": kept,
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    return model.parse_model(text), text


def evaluate(m: model.Model, name: str) -> None:
    cases = holdout_docs(name)
    print(f"holdout {name}: {len(cases)} cases")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        unsub = request = typed = fp = 0
        n_unsub = n_req = n_none = 0
        for text, expect, labels in cases:
            v = model.read(text, m)
            hit = {LABEL_INDEX[x] for x in model.LABELS if v.probability[x] >= threshold}
            if expect == "none":
                n_none += 1
                fp += bool(hit)
            elif expect == "unsubscribe":
                n_unsub += 1
                unsub += LABEL_INDEX["unsubscribe"] in hit
            else:
                n_req += 1
                request += bool(hit - {0, LABEL_INDEX["reminder"]})
                typed += labels <= hit
        print(
            f"  threshold {threshold:.1f}: unsubscribe {unsub}/{n_unsub}, "
            f"request found {request}/{n_req}, all types {typed}/{n_req}, trap FP {fp}/{n_none}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holdout", help="generalisation set to leave out and measure")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--prune", type=float, default=0.05)
    parser.add_argument("--threshold", type=float, default=0.67)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--weight-none", type=float, default=3.0)
    parser.add_argument("--min-count", type=int, default=2, help="texts a feature needs")
    parser.add_argument("--write", action="store_true", help="with --holdout: write it too")
    args = parser.parse_args()
    docs = load_docs(args.holdout)
    counts = Counter(model.LABELS[i] for _, labels, _ in docs for i in labels)
    negatives = sum(1 for _, labels, _ in docs if not labels)
    print(f"{len(docs)} texts; negatives {negatives}; " + ", ".join(
        f"{label} {counts[label]}" for label in model.LABELS), file=sys.stderr)  # fmt: skip
    weights, bias = train(docs, args.epochs, args.rate, args.seed, args.weight_none, args.min_count)
    thresholds = [max(args.threshold, _THRESHOLD_MIN.get(label, 0.0)) for label in model.LABELS]
    m, text = to_model(weights, bias, args.prune, thresholds)
    print(f"{len(m.weights)} features kept, {len(text) / 1e6:.2f} MB", file=sys.stderr)
    if args.holdout:
        evaluate(m, args.holdout)
        if not args.write:
            return
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
