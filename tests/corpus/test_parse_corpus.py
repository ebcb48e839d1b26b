"""Every file of every corpus folder parses, with valid UTF-8 text, and no parser bug."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parsers import parse

ROOT = Path(__file__).resolve().parents[2]
CORPORA = Path(os.environ.get("INBOUND_CORPORA", ROOT.parent / "shared" / "corpora"))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(
        path
        for path in CORPORA.glob("*/*")
        if path.is_file() and path.name not in ("labels.json", "README.md")
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@pytest.mark.corpus
def test_corpus_is_present() -> None:
    assert len(_files()) > 400, f"corpora not found at {CORPORA}"


@pytest.mark.corpus
def test_every_corpus_file_parses_to_valid_utf8() -> None:
    failures: list[str] = []
    for path in _files():
        parsed = parse(path.read_bytes(), NOW)
        data = parsed.to_dict()
        # json.dumps(ensure_ascii=False).encode raises on lone surrogates: not valid UTF-8.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
        for text in _strings(data) + [p.text or "" for p in parsed.parts]:
            text.encode("utf-8")
        if any(d.startswith("parser error") for d in parsed.defects):
            failures.append(f"{path.parent.name}/{path.name}: {parsed.defects}")
        if path.suffix in (".eml",) and not parsed.headers:
            failures.append(f"{path.parent.name}/{path.name}: no headers read")
    assert not failures, "\n".join(failures)


@pytest.mark.corpus
def test_corpus_fields_keep_their_promises() -> None:
    """Ids without brackets, aware dates, consistent attachment sizes, parts for bodies."""
    dated = 0
    for path in _files():
        parsed = parse(path.read_bytes(), NOW)
        for mid in (parsed.message_id, parsed.in_reply_to, *parsed.references):
            assert mid is None or ("<" not in mid and ">" not in mid and mid.strip() == mid)
        if parsed.date is not None:
            dated += 1
            assert parsed.date.utcoffset() is not None, path.name
        for attachment in parsed.attachments:
            assert attachment.size == len(attachment.content), path.name
        if parsed.text and path.suffix == ".eml":
            assert parsed.parts, path.name
    assert dated > 300
