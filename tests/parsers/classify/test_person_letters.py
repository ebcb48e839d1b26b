"""Formal letters, own-words requests, unsubscribes and traps of the generalisation sets.

fixtures/dsr/generalisation-tuning.toml, -tuning-2, -3 and -5 (the lexicon additions
were written from them), generalisation-heldout.toml (other phrasings, measured before
and after, now regression data) and generalisation-templates.toml (generator letters in
15 more languages, measured once, now regression data). The fresh sets and tuning set 4
are measured by the bench only. Each case is the whole new text of a message; one
parametrized test per case.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from parsers.model import Kind, RequestType
from tests.parsers.classify.test_lexicon import classify as detect

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "dsr"
SETS = (
    "generalisation-tuning",
    "generalisation-heldout",
    "generalisation-tuning-2",
    "generalisation-tuning-3",
    "generalisation-tuning-5",
    "generalisation-templates",
)


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for name in SETS:
        data = tomllib.loads((FIXTURES / f"{name}.toml").read_text("utf-8"))
        out.extend((name.removeprefix("generalisation-"), case) for case in data["case"])
    return out


CASES = _cases()
_IDS = [f"{s}-{c['lang']}-{c['expect']}-{c['text'].split(chr(10))[-1][:30]}" for s, c in CASES]


def test_sets_cover_the_languages_and_kinds() -> None:
    wanted = {
        "fr", "it", "pl", "pt", "sv", "da", "fi", "el", "hu", "sk", "sl", "et", "lv", "lt",
        "no", "tr", "ru", "uk", "zh", "de", "en",
    }  # fmt: skip
    for name in ("tuning", "heldout"):  # the sets that cover every language and kind
        cases = [c for s, c in CASES if s == name]
        assert {c["lang"] for c in cases} == wanted
        assert {c["expect"] for c in cases} == {"request", "unsubscribe", "none"}
        assert sum(1 for c in cases if c.get("escalation")) >= 19
        assert sum(1 for c in cases if c.get("reminder")) >= 19


@pytest.mark.parametrize(("subset", "case"), CASES, ids=_IDS)
def test_case(subset: str, case: dict[str, Any]) -> None:
    verdict = detect(case["text"])
    kind = verdict.kind if verdict else None
    if case["expect"] == "none":
        assert kind not in (Kind.UNSUBSCRIBE, Kind.DATA_REQUEST), verdict
        return
    if case["expect"] == "unsubscribe":
        assert kind is Kind.UNSUBSCRIBE, verdict
        return
    assert verdict is not None
    assert kind is Kind.DATA_REQUEST, verdict
    types = [r.type for r in verdict.requests]
    if "type" in case:
        assert RequestType(case["type"]) in types, types
    if case.get("reminder"):
        assert any(r.reminder for r in verdict.requests), verdict.requests
    if case.get("escalation"):
        assert any(r.escalation for r in verdict.requests), verdict.requests
