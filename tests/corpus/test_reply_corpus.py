"""stripped_text on the labelled replies of the normal corpus (talon, email-reply-parser).

A case passes when every label it has holds: the expected new text (compared as the
label's ``compare`` says, after whitespace normalisation), every ``reply_must_contain``
string present, no ``reply_must_not_contain`` string present. Target: >= 95 % of cases.
bench/reply_compare.py prints the same figures per source beside the other libraries.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parsers import parse
from parsers.text import html_to_text

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("INBOUND_CORPORA", ROOT.parent / "shared" / "corpora"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def message_bytes(path: Path, label: dict[str, Any]) -> bytes:
    """The file as a message: body-only texts and bare HTML get a minimal header."""
    data = path.read_bytes()
    if path.suffix == ".html":
        return b"Content-Type: text/html; charset=utf-8\n\n" + data
    if label.get("body_only"):
        return b"Content-Type: text/plain; charset=utf-8\n\n" + data
    return data


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _norm(text: str, compare: str) -> str:
    if "all whitespace removed" in compare:
        return re.sub(r"\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def judge(stripped: str, label: dict[str, Any]) -> dict[str, bool]:
    """Per label kind: did ``stripped`` satisfy it? Kinds absent from the label are absent."""
    out: dict[str, bool] = {}
    compare = str(label.get("compare", ""))
    if "expected_reply_text" in label:
        out["exact"] = _norm(stripped, compare) == _norm(label["expected_reply_text"], compare)
    elif "expected_reply_html" in label:
        expected = html_to_text(label["expected_reply_html"])
        out["exact"] = _norm(stripped, compare) == _norm(expected, compare)
    must = _as_list(label.get("reply_must_contain"))
    must_not = _as_list(label.get("reply_must_not_contain"))
    if must or must_not:
        out["contains"] = all(s in stripped for s in must) and not any(
            s in stripped for s in must_not
        )
    return out


def labelled_cases() -> list[tuple[Path, dict[str, Any]]]:
    labels_path = CORPORA / "normal" / "labels.json"
    if not labels_path.is_file():
        return []
    labels: dict[str, dict[str, Any]] = json.loads(labels_path.read_text("utf-8"))
    keys = (
        "expected_reply_text",
        "expected_reply_html",
        "reply_must_contain",
        "reply_must_not_contain",
    )
    return [
        (CORPORA / "normal" / name, label)
        for name, label in sorted(labels.items())
        if any(k in label for k in keys)
    ]


@pytest.mark.corpus
def test_reply_cases_pass() -> None:
    cases = labelled_cases()
    assert len(cases) >= 10, f"labelled reply cases not found under {CORPORA}"
    failures = []
    for path, label in cases:
        parsed = parse(message_bytes(path, label), NOW)
        verdict = judge(parsed.stripped_text, label)
        if not all(verdict.values()):
            failures.append(f"{path.name}: {verdict} got {parsed.stripped_text[:200]!r}")
    rate = 1 - len(failures) / len(cases)
    assert rate >= 0.95, f"{rate:.0%} of {len(cases)} pass:\n" + "\n".join(failures)


def test_judge_catches_a_wrong_answer() -> None:
    label = {"expected_reply_text": "Hello", "reply_must_not_contain": ["wrote:"]}
    assert judge("Hello", label) == {"exact": True, "contains": True}
    assert judge("Hello\nOn Monday Bob wrote:", label) == {"exact": False, "contains": False}
