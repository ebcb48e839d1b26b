"""Figures of the person detector: unsubscribes and data-subject requests (issue 7).

Prints, never asserts:

* dsar corpus (letters rendered as sent, and with placeholders stripped): data_request
  recall and request-type accuracy per language and per labelled type, reminders;
* false positives on the normal corpus (parse() -> stripped_text -> classify());
* our own cases in fixtures/unsubscribe, fixtures/dsr and fixtures/traps, per language;
* cost: building the language detector and the lexicons, and ms per message (median of
  5 runs) for ordinary mail, our cases and the request letters.

Run from the repository root: ``.venv/bin/python bench/classify_person.py``.
``tests/corpus/test_dsr_corpus.py`` holds the template rendering and checks the targets.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
import tomllib
from collections import defaultdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the corpus rendering lives in the test package

from parsers import Hints, ParsedMessage, classify, parse  # noqa: E402  (after sys.path)
from parsers.classify import language, person, phrases  # noqa: E402
from parsers.model import Kind  # noqa: E402
from tests.corpus.test_dsr_corpus import (  # noqa: E402
    RECEIVED,
    by_language,
    corpora,
    dsar_outcomes,
    message,
    render,
)
from tests.parsers.classify.test_person_cases import REQUESTS, UNSUBSCRIBES  # noqa: E402
from tests.parsers.classify.test_person_traps import ORDINARY  # noqa: E402

FIXTURES = ROOT / "fixtures"
RUNS = 5


def _pct(hit: int, total: int) -> str:
    return f"{hit}/{total} ({hit / total:.1%})" if total else "-"


def report_dsar() -> None:
    for fill in (True, False):
        outcomes = dsar_outcomes(fill=fill)
        print(f"\n## dsar corpus, placeholders {'rendered' if fill else 'stripped'}")
        print(f"{'language':10} {'n':>3}  {'data_request recall':22} type accuracy")
        for lang, group in sorted(by_language(outcomes).items()):
            detected = sum(o.detected for o in group)
            right = sum(o.type_right for o in group)
            print(f"{lang:10} {len(group):3}  {_pct(detected, len(group)):22} "
                  f"{_pct(right, len(group))}")  # fmt: skip
        by_type: dict[str, list[bool]] = defaultdict(list)
        for o in outcomes:
            by_type[o.label].append(o.type_right)
        print("per labelled type: " + ", ".join(
            f"{t} {_pct(sum(v), len(v))}" for t, v in sorted(by_type.items())))  # fmt: skip
        reminders = [o for o in outcomes if o.label in ("reminder", "complaint")]
        flagged = sum(
            1 for o in reminders if o.verdict and any(r.reminder for r in o.verdict.requests)
        )
        print(f"reminders and complaints flagged reminder: {_pct(flagged, len(reminders))}")
        for o in outcomes:
            if not o.type_right:
                got = [(str(r.type), r.reminder) for r in o.verdict.requests] if o.verdict else None
                print(f"  miss {o.name}: label {o.label}, got {got}")


def _normal() -> list[ParsedMessage]:
    folder = corpora() / "normal"
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    out = []
    for name in sorted(labels):
        raw = (folder / name).read_bytes()
        if labels[name].get("body_only"):
            raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + raw
        out.append(parse(raw, RECEIVED))
    return out


def _hints(raw: dict[str, object]) -> Hints:
    fields: dict[str, object] = {}
    for key, value in raw.items():
        if key == "deadlines_days" and isinstance(value, list):
            fields[key] = tuple((law, int(days)) for law, days in value)
        else:
            fields[key] = tuple(value) if isinstance(value, list) else value
    return Hints(**fields)  # type: ignore[arg-type]  # sidecar JSON mirrors the Hints fields


def _cases() -> list[tuple[str, str, ParsedMessage, Hints, str]]:
    """(area, language, parsed, hints, expected kind) for our own golden cases."""
    out = []
    for area in ("unsubscribe", "dsr", "traps"):
        for eml in sorted((FIXTURES / area).glob("*.eml")):
            sidecar = json.loads(eml.with_suffix(".expected.json").read_text("utf-8"))
            lang = eml.stem.split("-")[0]
            lang = lang if lang in phrases.lexicon_codes() else "(any)"
            parsed = parse(eml.read_bytes(), RECEIVED)
            hints = _hints(sidecar.get("hints", {}))
            out.append((area, lang, parsed, hints, sidecar["classification"]["kind"]))
    return out


def report_false_positives(normal: list[ParsedMessage]) -> None:
    flagged = [p for p in normal if classify(p, Hints(), RECEIVED).kind in _PERSON_KINDS]
    print("\n## false positives")
    print(f"normal corpus (parse -> stripped_text): {_pct(len(flagged), len(normal))}")
    for p in flagged:
        print(f"  flagged: {p.subject[:60]!r}")


_PERSON_KINDS = {Kind.UNSUBSCRIBE, Kind.DATA_REQUEST}


def report_cases(cases: list[tuple[str, str, ParsedMessage, Hints, str]]) -> None:
    print("\n## our cases (fixtures/unsubscribe, dsr, traps), by language")
    table: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for area, lang, parsed, hints, kind in cases:
        got = classify(parsed, hints, RECEIVED).kind
        if area == "traps":
            table[lang]["trap false positive"].append(got in _PERSON_KINDS)
        else:
            table[lang][f"{area} right"].append(str(got) == kind)
    for lang, text in UNSUBSCRIBES:
        verdict = person.detect(message(text), Hints(), RECEIVED)
        table[lang]["unsubscribe sentences"].append(
            verdict is not None and verdict.kind is Kind.UNSUBSCRIBE
        )
    for case in REQUESTS:
        verdict = person.detect(message(case["text"]), Hints(), RECEIVED)
        right = verdict is not None and verdict.kind is Kind.DATA_REQUEST
        if right and verdict is not None and "type" in case:
            types = [str(r.type) for r in verdict.requests]
            right = types[0] == case["type"] if case.get("first") else case["type"] in types
        if right and verdict is not None and case.get("reminder"):
            right = any(r.reminder for r in verdict.requests)
        if right and verdict is not None and case.get("escalation"):
            right = any(r.escalation for r in verdict.requests)
        table[case["lang"]]["request sentences"].append(right)
    columns = [
        "unsubscribe right",
        "unsubscribe sentences",
        "dsr right",
        "request sentences",
        "trap false positive",
    ]
    print("unsubscribe/dsr right: fixtures/*/*.eml; sentences: fixtures/*/sentences.toml")
    print(f"{'language':10} " + " ".join(f"{c:22}" for c in columns))
    totals: dict[str, list[bool]] = defaultdict(list)
    for lang, row in sorted(table.items()):
        cells = []
        for column in columns:
            values = row.get(column, [])
            totals[column] += values
            cells.append(f"{_pct(sum(values), len(values)):22}")
        print(f"{lang:10} " + " ".join(cells))
    print(f"{'all':10} " + " ".join(
        f"{_pct(sum(totals[c]), len(totals[c])):22}" for c in columns))  # fmt: skip
    examples = [
        (entry, example)
        for code in phrases.lexicon_codes()
        for entry in (phrases.load(code) or phrases.Lexicon.__new__(phrases.Lexicon)).entries
        for example in entry.examples
    ]
    ordinary = [person.detect(message(x), Hints(), RECEIVED) is not None for x in ORDINARY]
    print(f"ordinary-sentence traps (tests/…/test_person_traps.py) read as requests: "
          f"{_pct(sum(ordinary), len(ordinary))}")  # fmt: skip
    mentions = [x for e, x in examples if e.category == phrases.MENTION]
    wrong = sum(person.detect(message(x), Hints(), RECEIVED) is not None for x in mentions)
    print(f"lexicon 'mention' examples read as requests: {_pct(wrong, len(mentions))}")


_GENERALISATION = (
    "tuning",
    "heldout",
    "fresh",
    "tuning-2",
    "fresh-2",
    "tuning-3",
    "fresh-3",
    "fresh-4",
    "tuning-4",
    "fresh-5",
    "tuning-5",
    "fresh-6",
    "templates",
    "tuning-7",
    "tuning-8",
    "tuning-9",
    "tuning-9-colleague",
)


def _generalisation_right(case: dict[str, Any]) -> bool:
    verdict = person.detect(message(case["text"]), Hints(), RECEIVED)
    kind = verdict.kind if verdict else None
    if case["expect"] == "none":
        return kind not in _PERSON_KINDS
    if case["expect"] == "unsubscribe":
        return kind is Kind.UNSUBSCRIBE
    if verdict is None or kind is not Kind.DATA_REQUEST:
        return False
    types = {str(r.type) for r in verdict.requests}
    return (
        ("type" not in case or case["type"] in types)
        and set(case.get("types", ())) <= types  # a combined request keeps every type
        and (not case.get("reminder") or any(r.reminder for r in verdict.requests))
        and (not case.get("escalation") or any(r.escalation for r in verdict.requests))
    )


def _generalisation_label(case: dict[str, Any]) -> str:
    if case["expect"] != "request":
        return "trap" if case["expect"] == "none" else "unsubscribe"
    if case.get("escalation"):
        return "complaint"
    if case.get("reminder"):
        return "reminder"
    return str(case.get("type") or "+".join(case["types"]))


def report_generalisation() -> None:
    """Right answers on fixtures/dsr/generalisation-*.toml, per language and per type."""
    print("\n## generalisation sets (fixtures/dsr/generalisation-*.toml), right / total")
    for name in _GENERALISATION:
        path = FIXTURES / "dsr" / f"generalisation-{name}.toml"
        cases: list[dict[str, Any]] = tomllib.loads(path.read_text("utf-8"))["case"]
        by_lang: dict[str, list[bool]] = defaultdict(list)
        by_type: dict[str, list[bool]] = defaultdict(list)
        by_style: dict[str, list[bool]] = defaultdict(list)
        misses: list[str] = []
        for case in cases:
            right = _generalisation_right(case)
            by_lang[case["lang"]].append(right)
            by_type[_generalisation_label(case)].append(right)
            if "style" in case:
                by_style[case["style"]].append(right)
            if not right and "style" in case:
                misses.append(f"{case['lang']} {_generalisation_label(case)}: {case['text'][:70]}")
        every = [r for rows in by_lang.values() for r in rows]
        print(f"{name}: {_pct(sum(every), len(every))}")
        print("  by language: " + ", ".join(
            f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_lang.items())))  # fmt: skip
        print("  by type: " + ", ".join(
            f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_type.items())))  # fmt: skip
        if by_style:
            print("  by style: " + ", ".join(
                f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_style.items())))  # fmt: skip
        for miss in misses:
            print(f"  miss {miss}")


def report_cost(normal: list[ParsedMessage], cases: list[ParsedMessage]) -> None:
    print("\n## cost")
    letters = [message(render(p.read_text("utf-8"), label)) for p, label in _dsar_files()]
    for name, group in (("normal corpus", normal), ("our cases", cases), ("dsar letters", letters)):
        chars = statistics.median(len(p.stripped_text) for p in group)
        for parsed in group:  # warm: compiled patterns, lingua models
            person.detect(parsed, Hints(), RECEIVED)
        each = []
        for parsed in group:
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                person.detect(parsed, Hints(), RECEIVED)
                times.append((time.perf_counter() - start) * 1000)
            each.append(statistics.median(times))
        each.sort()
        print(
            f"{name:14} {len(group):3} messages, median {chars:.0f} chars of new text: "
            f"median {statistics.median(each):.3f} ms/message, mean {statistics.mean(each):.3f}, "
            f"p90 {each[int(len(each) * 0.9)]:.3f}, max {each[-1]:.3f}"
        )


def _dsar_files() -> list[tuple[Path, dict[str, str]]]:
    folder = corpora() / "dsar"
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    return [(folder / name, labels[name]) for name in sorted(labels)]


def main() -> None:
    print(f"# person detector (issue 7) — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"python {platform.python_version()}, "
          f"lingua-language-detector {version('lingua-language-detector')}")  # fmt: skip
    start = time.perf_counter()
    language.warm_up()
    built = time.perf_counter() - start
    phrases.load.cache_clear()  # the test modules imported above read them already
    start = time.perf_counter()
    for code in phrases.lexicon_codes():
        phrases.load(code)
    loaded = time.perf_counter() - start
    print(f"cold start, once per process: language detector built in {built * 1000:.0f} ms, "
          f"31 lexicons read and compiled in {loaded * 1000:.0f} ms")  # fmt: skip
    report_dsar()
    normal = _normal()
    report_false_positives(normal)
    cases = _cases()
    report_cases(cases)
    report_generalisation()
    report_cost(normal, [c[2] for c in cases])


if __name__ == "__main__":
    main()
