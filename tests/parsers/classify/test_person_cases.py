"""Sentence cases in every supported language (fixtures/unsubscribe and fixtures/dsr).

Each sentence is the whole new text of a message; one parametrized test per case, the
language and the start of the sentence as test id.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from parsers.model import Kind, RequestType
from tests.parsers.classify.test_lexicon import EXPECTED_LEXICONS
from tests.parsers.classify.test_lexicon import classify as detect

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def _unsubscribes() -> list[tuple[str, str]]:
    data = tomllib.loads((FIXTURES / "unsubscribe" / "sentences.toml").read_text("utf-8"))
    return [(lang, text) for lang, texts in sorted(data.items()) for text in texts]


def _requests() -> list[dict[str, Any]]:
    data = tomllib.loads((FIXTURES / "dsr" / "sentences.toml").read_text("utf-8"))
    cases: list[dict[str, Any]] = data["case"]
    return cases


UNSUBSCRIBES = _unsubscribes()
REQUESTS = _requests()


def test_every_language_has_cases() -> None:
    assert {lang for lang, _ in UNSUBSCRIBES} == EXPECTED_LEXICONS
    assert {c["lang"] for c in REQUESTS} == EXPECTED_LEXICONS


@pytest.mark.parametrize(
    ("lang", "text"), UNSUBSCRIBES, ids=[f"{lang}-{text[:25]}" for lang, text in UNSUBSCRIBES]
)
def test_unsubscribe_sentence(lang: str, text: str) -> None:
    verdict = detect(text)
    assert verdict is not None
    assert verdict.kind is Kind.UNSUBSCRIBE


@pytest.mark.parametrize("case", REQUESTS, ids=[f"{c['lang']}-{c['text'][:25]}" for c in REQUESTS])
def test_request_sentence(case: dict[str, Any]) -> None:
    verdict = detect(case["text"])
    assert verdict is not None
    assert verdict.kind is Kind.DATA_REQUEST
    types = [r.type for r in verdict.requests]
    if "type" in case:
        wanted = RequestType(case["type"])
        assert (types[0] == wanted) if case.get("first") else (wanted in types), types
    if case.get("reminder"):
        assert any(r.reminder for r in verdict.requests)
    if case.get("escalation"):
        assert any(r.escalation for r in verdict.requests)
