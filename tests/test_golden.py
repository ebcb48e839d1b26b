"""Golden fixtures: every ``fixtures/<area>/<case>.eml`` against its ``.expected.json``.

One parametrized test, the path below ``fixtures/`` as test id. The sidecar holds the
*expected subset* of what the message turns into; keys not in it are not checked:

* any key of ``parse(...).to_dict()`` ("subject", "text", "attachments", …) or
  ``content_type``, ``content_params``, ``sender``: dicts are
  compared on the keys the sidecar gives, lists element by element with equal length,
  everything else by equality;
* ``"<key>__contains"``: a string or list of strings that must all occur in that field;
* ``"parts"``: the leaf MIME parts as ``{"content_type", "depth", "params", "text"}``;
* ``"defects__contains"``: substrings each found in some defect (``"defects": []``
  asserts a clean parse);
* ``"classification"``: a subset of ``classify(parsed, hints).to_dict()``, with optional
  ``"hints"`` (``Hints`` fields) and ``"received_at"`` (ISO 8601) beside it.

Areas add a folder and sidecars; nothing here needs to change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parsers import Hints, classify, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEFAULT_RECEIVED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_SPECIAL = {"parts", "classification", "hints", "received_at", "defects__contains"}


def _cases() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.eml") if _sidecar(p).is_file())


def _sidecar(eml: Path) -> Path:
    return eml.with_name(eml.name.removesuffix(".eml") + ".expected.json")


def _subset(expected: Any, actual: Any, where: str) -> list[str]:
    """Differences between ``expected`` and the matching part of ``actual``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        errors: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                errors.append(f"{where}.{key}: missing")
            else:
                errors.extend(_subset(value, actual[key], f"{where}.{key}"))
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        errors = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            errors.extend(_subset(want, got, f"{where}[{index}]"))
        return errors
    if expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def _hints(raw: dict[str, Any]) -> Hints:
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "deadlines_days":
            fields[key] = tuple((law, int(days)) for law, days in value)
        else:
            fields[key] = tuple(value) if isinstance(value, list) else value
    return Hints(**fields)


@pytest.mark.parametrize(
    "eml", _cases(), ids=lambda p: str(p.relative_to(FIXTURES).with_suffix(""))
)
def test_golden(eml: Path) -> None:
    expected: dict[str, Any] = json.loads(_sidecar(eml).read_text("utf-8"))
    received_at = (
        datetime.fromisoformat(expected["received_at"])
        if "received_at" in expected
        else DEFAULT_RECEIVED_AT
    )
    parsed = parse(eml.read_bytes(), received_at)
    actual = parsed.to_dict()
    # Fields of ParsedMessage that the event does not carry, checkable all the same.
    actual["content_type"] = parsed.content_type
    actual["content_params"] = [list(kv) for kv in parsed.content_params]
    actual["sender"] = parsed.sender.to_dict() if parsed.sender else None
    errors: list[str] = []
    for key, value in expected.items():
        if key in _SPECIAL:
            continue
        if key.endswith("__contains"):
            field = key.removesuffix("__contains")
            haystack = str(actual.get(field))
            for needle in [value] if isinstance(value, str) else value:
                if needle not in haystack:
                    errors.append(f"{field}: {needle!r} not in {haystack[:300]!r}")
            continue
        if key not in actual:
            errors.append(f"{key}: not a field of the parsed message")
            continue
        errors.extend(_subset(value, actual[key], key))
    for needle in expected.get("defects__contains", []):
        if not any(needle in defect for defect in parsed.defects):
            errors.append(f"defects: none contains {needle!r} in {list(parsed.defects)!r}")
    if "parts" in expected:
        parts = [
            {
                "content_type": p.content_type,
                "depth": p.depth,
                "params": [list(kv) for kv in p.params],
                "text": p.text,
            }
            for p in parsed.parts
        ]
        errors.extend(_subset(expected["parts"], parts, "parts"))
    if "classification" in expected:
        verdict = classify(parsed, _hints(expected.get("hints", {})), received_at).to_dict()
        errors.extend(_subset(expected["classification"], verdict, "classification"))
    # Whatever else the case is about, the output must be valid UTF-8 JSON.
    json.dumps(actual, ensure_ascii=False).encode("utf-8")
    assert not errors, "\n".join(errors)


def test_subset_reports_differences() -> None:
    assert _subset({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2, "c": 3}], "d": 4}, "x") == []
    assert _subset({"a": [1]}, {"a": [1, 2]}, "x") == ["x.a: expected [1], got [1, 2]"]
    assert _subset({"a": {"b": 1}}, {"a": {"b": 2}}, "x") == ["x.a.b: expected 1, got 2"]
