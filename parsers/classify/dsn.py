"""Placeholder detector (dsn); the classification issues replace it."""

from __future__ import annotations

from parsers.model import Classification, ParsedMessage


def detect(parsed: ParsedMessage) -> Classification | None:
    return None
