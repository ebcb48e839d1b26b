"""stripped_text on the labelled replies of the normal corpus (talon, email-reply-parser).

A case passes when every label it has holds: the expected new text (compared as the
label's ``compare`` says, after whitespace normalisation), every ``reply_must_contain``
string present, no ``reply_must_not_contain`` string present. Target: >= 95 % of cases.
bench/reply_compare.py scores the cases (this test asserts with its judge()) and prints the
same figures per source beside the other libraries.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from parsers import parse

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("INBOUND_CORPORA", ROOT.parent / "shared" / "corpora"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _bench() -> ModuleType:
    """bench/reply_compare.py holds the one scoring (loaded by path: bench is no package)."""
    spec = importlib.util.spec_from_file_location(
        "reply_compare", ROOT / "bench" / "reply_compare.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _bench()
judge: Callable[[str, dict[str, Any]], dict[str, bool]] = BENCH.judge
message_bytes: Callable[[Path, dict[str, Any]], bytes] = BENCH.message_bytes


@pytest.mark.corpus
def test_reply_cases_pass() -> None:
    assert (CORPORA / "normal" / "labels.json").is_file(), f"corpora not found at {CORPORA}"
    cases = BENCH.labelled_cases(CORPORA)
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
