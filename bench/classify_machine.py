"""Accuracy of the machine-mail detectors (bounce, complaint, auto-reply) on the corpora.

Prints figures overall and by MTA family, worst families first, then the fresh held-out
sets of ``fixtures/{bounces,arf}/heldout/`` round by round, each beside its first (blind)
score from ``rounds.json``; never asserts.
``tests/corpus/test_machine_corpus.py`` loads ``score()`` from here and checks the targets.
Run: ``.venv/bin/python bench/classify_machine.py [CORPORA_DIR] [-v]`` (``-v`` lists misses).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from parsers.model import Classification, Kind, ParsedMessage

Parse = Callable[[bytes], ParsedMessage]
Classify = Callable[[ParsedMessage], Classification]

# Sisimai renamed some reasons across versions; the labels use either name.
_REASON_ALIASES = {"toomanyconn": "ratelimited", "mesgtoobig": "toobig", "speeding": "ratelimited"}


@dataclass
class Tally:
    """Hits over trials for one figure."""

    hit: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, name: str) -> None:
        self.total += 1
        if ok:
            self.hit += 1
        else:
            self.misses.append(name)

    @property
    def rate(self) -> float:
        return self.hit / self.total if self.total else 1.0


@dataclass
class Scores:
    """Every figure of the issue's Measure section, overall and per MTA family."""

    detected: Tally = field(default_factory=Tally)
    hard_soft: Tally = field(default_factory=Tally)
    status: Tally = field(default_factory=Tally)
    recipient: Tally = field(default_factory=Tally)
    reason: Tally = field(default_factory=Tally)
    success_dsn: Tally = field(default_factory=Tally)
    arf: Tally = field(default_factory=Tally)
    autoreply: Tally = field(default_factory=Tally)
    normal: Tally = field(default_factory=Tally)
    families: dict[str, dict[str, Tally]] = field(default_factory=dict)

    def family(self, name: str) -> dict[str, Tally]:
        return self.families.setdefault(name, defaultdict(Tally))


def family_of(name: str) -> str:
    """``sisimai_lhost-postfix-07.eml`` -> ``postfix``; other sources by their prefix."""
    match = re.match(r"sisimai_(?:lhost|rhost)-([a-z0-9]+)-\d+", name)
    if match:
        return match[1]
    match = re.match(r"sisimai_(rfc\d+)", name)
    if match:
        return match[1]
    return name.split("_", 1)[0]


def _status_agrees(label: dict[str, Any], got: str | None) -> bool:
    want = label.get("status")
    if not want or not got:
        return False
    if label.get("status_is_sisimai_pseudo"):
        return bool(want[0] == got[0])
    return bool(want == got)


def score(corpora: Path, parse: Parse, classify: Classify) -> Scores:
    out = Scores()
    _score_bounces(corpora / "bounces", parse, classify, out)
    for name, label in _labelled(corpora / "arf"):
        verdict = classify(parse((corpora / "arf" / name).read_bytes()))
        want_type = label.get("feedback_type")
        ok = verdict.kind == Kind.COMPLAINT and verdict.complaint is not None
        if ok and want_type and verdict.complaint is not None:
            ok = verdict.complaint.feedback_type == want_type
        if ok and label.get("arf_format") is False and verdict.complaint is not None:
            ok = not verdict.complaint.arf
        out.arf.add(ok, name)
    for name, _label in _labelled(corpora / "autoreply"):
        verdict = classify(parse((corpora / "autoreply" / name).read_bytes()))
        out.autoreply.add(verdict.kind == Kind.AUTO_REPLY, name)
    for name, label in _labelled(corpora / "normal"):
        if label.get("body_only"):
            continue
        verdict = classify(parse((corpora / "normal" / name).read_bytes()))
        if "MDN" in (label.get("upstream_kind") or ""):
            ok = (
                verdict.kind == Kind.AUTO_REPLY
                and verdict.auto_reply is not None
                and verdict.auto_reply.type == "read_receipt"
            )
        else:
            ok = verdict.kind not in (Kind.BOUNCE, Kind.COMPLAINT, Kind.AUTO_REPLY)
        out.normal.add(ok, name)
    return out


HELDOUT = Path(__file__).resolve().parents[1] / "fixtures"


def score_heldout(fixtures: Path, parse: Parse, classify: Classify) -> dict[str, Scores]:
    """The fresh held-out sets (``fixtures/{bounces,arf}/heldout``), by round."""
    rounds: dict[str, Scores] = {}
    for name, label in _labelled(fixtures / "bounces" / "heldout"):
        out = rounds.setdefault(label.get("round", "A"), Scores())
        verdict = classify(parse((fixtures / "bounces" / "heldout" / name).read_bytes()))
        bounce = verdict.bounce if verdict.kind == Kind.BOUNCE else None
        out.detected.add(bounce is not None, name)
        want = "hard" if label["hard_bounce"] else "soft"
        out.hard_soft.add(bounce is not None and bounce.type == want, name)
        got = bounce.status if bounce is not None else None
        if label.get("status_is_pseudo"):
            out.status.add(got is not None and got[:1] == label["status"][:1], name)
        else:
            out.status.add(got == label["status"], name)
        want_set = set(label["failed_recipients"])
        out.recipient.add(bounce is not None and set(bounce.recipients) == want_set, name)
    for name, label in _labelled(fixtures / "arf" / "heldout"):
        out = rounds.setdefault(label.get("round", "A"), Scores())
        verdict = classify(parse((fixtures / "arf" / "heldout" / name).read_bytes()))
        complaint = verdict.complaint if verdict.kind == Kind.COMPLAINT else None
        ok = complaint is not None and complaint.feedback_type == label["feedback_type"]
        out.arf.add(ok, name)
    return dict(sorted(rounds.items()))


def _labelled(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    labels: dict[str, dict[str, Any]] = json.loads((folder / "labels.json").read_text())
    return sorted(labels.items())


def _score_bounces(folder: Path, parse: Parse, classify: Classify, out: Scores) -> None:
    for name, label in _labelled(folder):
        verdict = classify(parse((folder / name).read_bytes()))
        bounce = verdict.bounce if verdict.kind == Kind.BOUNCE else None
        fam = out.family(family_of(name))
        if label.get("reason") == "delivered":
            out.success_dsn.add(bounce is None, name)
            continue
        out.detected.add(bounce is not None, name)
        fam["detected"].add(bounce is not None, name)
        if label.get("hard_bounce") is not None:
            want = "hard" if label["hard_bounce"] else "soft"
            ok = bounce is not None and bounce.type == want
            out.hard_soft.add(ok, name)
            fam["hard_soft"].add(ok, name)
        if label.get("status"):
            ok = _status_agrees(label, bounce.status if bounce else None)
            out.status.add(ok, name)
            fam["status"].add(ok, name)
        if label.get("reason"):
            want_reason = _REASON_ALIASES.get(label["reason"], label["reason"])
            out.reason.add(bounce is not None and bounce.reason == want_reason, name)
        if label.get("failed_recipients"):
            want_set = {a.lower() for a in label["failed_recipients"]}
            ok = bounce is not None and {r.lower() for r in bounce.recipients} == want_set
            out.recipient.add(ok, name)
            fam["recipient"].add(ok, name)


def _line(title: str, tally: Tally) -> str:
    return f"  {title:<28} {tally.hit:>4}/{tally.total:<4} {100 * tally.rate:6.1f}%"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def main(argv: list[str]) -> None:
    from parsers import classify, parse  # the corpus test imports score() alone

    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("corpora", nargs="?", default=os.environ.get("INBOUND_CORPORA"))
    args.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args.add_argument("--runs", type=int, default=5, help="timed runs over the corpora")
    options = args.parse_args(argv[1:])
    corpora = Path(options.corpora or Path(__file__).resolve().parents[2] / "shared" / "corpora")
    received = datetime(2026, 1, 1, tzinfo=UTC)

    def parse_one(raw: bytes) -> ParsedMessage:
        return parse(raw, received)

    def classify_one(parsed: ParsedMessage) -> Classification:
        return classify(parsed)

    timings = []
    scores = Scores()
    for _ in range(max(1, options.runs)):
        start = time.perf_counter()
        scores = score(corpora, parse_one, classify_one)
        timings.append(time.perf_counter() - start)
    print(
        f"corpora: {corpora.resolve()}  (parse+classify of every labelled file, median of "
        f"{len(timings)} runs: {statistics.median(timings):.2f} s)"
    )
    print(
        f"python {platform.python_version()}, flanker {_version('flanker')}, "
        f"charset-normalizer {_version('charset-normalizer')}"
    )
    print("overall")
    for title, tally in (
        ("bounce detected", scores.detected),
        ("hard/soft agrees (sisimai)", scores.hard_soft),
        ("status agrees", scores.status),
        ("failed recipients exact", scores.recipient),
        ("reason agrees (info only)", scores.reason),
        ("success DSN not a bounce", scores.success_dsn),
        ("ARF / complaints", scores.arf),
        ("auto-replies", scores.autoreply),
        ("normal mail left alone", scores.normal),
    ):
        print(_line(title, tally))
    print("by MTA family, worst first (detected, hard/soft, status, recipients)")
    rows = []
    for fam, tallies in scores.families.items():
        rates = [tallies[k].rate for k in ("detected", "hard_soft", "status", "recipient")]
        rows.append((min(rates), sum(rates), fam, tallies))
    for _, _, fam, tallies in sorted(rows):
        cells = "  ".join(
            f"{tallies[k].hit}/{tallies[k].total}"
            for k in ("detected", "hard_soft", "status", "recipient")
        )
        print(f"  {fam:<18} {cells}")
    history = json.loads((HELDOUT / "bounces" / "heldout" / "rounds.json").read_text("utf-8"))
    heldout = score_heldout(HELDOUT, parse_one, classify_one)
    print("fresh held-out sets (fixtures/*/heldout), now | first blind score (rounds.json)")
    for round_name, round_scores in heldout.items():
        first = history["rounds"].get(round_name, {}).get("first_score", {})
        print(f"  round {round_name}: {first.get('code', '')}")
        for key, title in (
            ("detected", "bounce detected"),
            ("hard_soft", "hard/soft agrees"),
            ("status", "status agrees"),
            ("recipient", "failed recipients exact"),
            ("arf", "ARF / complaints"),
        ):
            print(f"  {_line(title, getattr(round_scores, key))}   | {first.get(key, '-')}")
            if options.verbose and getattr(round_scores, key).misses:
                print(f"      missed: {' '.join(getattr(round_scores, key).misses)}")
    if options.verbose:
        for title, tally in (
            ("detected", scores.detected),
            ("hard_soft", scores.hard_soft),
            ("status", scores.status),
            ("recipient", scores.recipient),
            ("arf", scores.arf),
            ("autoreply", scores.autoreply),
            ("normal", scores.normal),
            ("success", scores.success_dsn),
        ):
            if tally.misses:
                print(f"missed {title}: {' '.join(tally.misses)}")


if __name__ == "__main__":
    main(sys.argv)
