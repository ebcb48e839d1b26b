"""Placeholder: a person's words (unsubscribe, data-subject requests); issue 7 replaces it."""

from __future__ import annotations

from datetime import datetime

from parsers.model import Classification, Hints, ParsedMessage


def detect(
    parsed: ParsedMessage, hints: Hints, received_at: datetime | None
) -> Classification | None:
    return None
