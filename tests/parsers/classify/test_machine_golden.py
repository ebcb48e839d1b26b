"""Machine-mail fixtures (bounces, complaints, auto-replies): contract checks beyond the sidecars.

``tests/test_golden.py`` already compares every ``fixtures/**.eml`` with its sidecar. This
test adds what holds for *every* machine-mail case, whatever its sidecar says: the
classification fits the published event schema, each bounce, complaint or auto-reply
carries evidence, header evidence quotes the header it names, a bounce's reason is from
the documented vocabulary, and "hard" only ever goes with a reason that condemns the address.
``fixtures/bounces/generalisation-sets.json`` records which hand-written cases were tuned
on and which were held out (measured before being tuned on); the manifest is checked here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from parsers import Kind, classify, parse
from parsers.classify.bounce_reasons import HARD_REASONS, REASONS

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"
AREAS = ("bounces", "arf", "autoreply")
SCHEMA = json.loads((ROOT / "inbound" / "schema" / "event.v1.json").read_text("utf-8"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_MACHINE = {Kind.BOUNCE, Kind.COMPLAINT, Kind.AUTO_REPLY}


def _cases() -> list[Path]:
    return sorted(p for area in AREAS for p in (FIXTURES / area).glob("*.eml"))


def _classification_validator() -> jsonschema.protocols.Validator:
    schema: dict[str, Any] = {
        "$defs": SCHEMA["$defs"],
        "$ref": "#/$defs/data/properties/classification",
    }
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    return validator_class(schema)


def test_there_are_cases_in_every_area() -> None:
    for area in AREAS:
        assert len(list((FIXTURES / area).glob("*.eml"))) >= 3, area


@pytest.mark.parametrize("eml", _cases(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_machine_fixture_contract(eml: Path) -> None:
    parsed = parse(eml.read_bytes(), NOW)
    verdict = classify(parsed)
    _classification_validator().validate(verdict.to_dict())
    if verdict.kind in _MACHINE:
        assert verdict.evidence, "a machine-mail decision without evidence"
    for item in verdict.evidence:
        assert item.text.strip(), f"empty evidence at {item.where}"
        if item.where.startswith("header:"):
            values = parsed.header_all(item.where.removeprefix("header:"))
            assert any(item.text in value for value in values), (item.where, item.text)
    if verdict.bounce is not None:
        assert verdict.kind == Kind.BOUNCE
        assert verdict.bounce.reason in REASONS
        if verdict.bounce.type == "hard":
            assert verdict.bounce.reason in HARD_REASONS
            assert not verdict.bounce.delayed
        if verdict.bounce.recipient is not None:
            assert verdict.bounce.recipient == verdict.bounce.recipients[0]


def test_generalisation_sets_name_existing_disjoint_cases() -> None:
    """The tuning / held-out manifest names real fixtures, each in exactly one set."""
    manifest = json.loads((FIXTURES / "bounces" / "generalisation-sets.json").read_text("utf-8"))
    sets = {name: cases for name, cases in manifest.items() if name != "about"}
    assert sets, "no sets"
    seen: set[str] = set()
    for name, cases in sets.items():
        assert cases, name
        for case in cases:
            assert (FIXTURES / f"{case}.eml").is_file(), case
            assert (FIXTURES / f"{case}.expected.json").is_file(), case
            assert case not in seen, f"{case} is in two sets"
            seen.add(case)


def test_the_validator_rejects_an_unknown_reason() -> None:
    bad: dict[str, Any] = {
        "kind": "bounce",
        "requests": [],
        "bounce": {
            "type": "hard",
            "reason": "no-such-reason",
            "status": "5.1.1",
            "recipient": None,
            "recipients": [],
            "diagnostic": None,
            "reporting_mta": None,
            "original_message_id": None,
            "smtp_code": None,
            "delayed": False,
        },
        "complaint": None,
        "auto_reply": None,
        "language": None,
        "confidence": None,
        "due_by": None,
        "unsubscribe_token": None,
        "evidence": [],
    }
    with pytest.raises(jsonschema.ValidationError):
        _classification_validator().validate(bad)
