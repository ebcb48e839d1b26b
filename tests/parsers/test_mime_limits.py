"""Hostile structure: nesting, part count and header size are bounded, with a defect."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from parsers import parse
from parsers.headers import MAX_HEADER_BYTES
from parsers.mime import FLANKER_MAX_BYTES
from parsers.structure import MAX_DEPTH, MAX_PARTS

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _nested(levels: int) -> bytes:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(levels)
    )
    tail = b"".join(b"\n--b%d--\n" % i for i in reversed(range(levels)))
    return b"Subject: deep\n" + head + b"Content-Type: text/plain\n\ninnermost" + tail


def test_deep_nesting_is_cut_with_a_defect() -> None:
    msg = parse(_nested(MAX_DEPTH + 5), NOW)
    assert any("nesting deeper" in d for d in msg.defects)
    assert "innermost" not in msg.text


def test_nesting_within_the_limit_is_read() -> None:
    msg = parse(_nested(MAX_DEPTH - 2), NOW)
    assert msg.text == "innermost"
    assert not any("nesting" in d for d in msg.defects)


def test_pathological_nesting_is_fast_and_never_raises() -> None:
    start = time.perf_counter()
    msg = parse(_nested(5000), NOW)
    assert time.perf_counter() - start < 5
    assert msg.defects
    assert msg.subject == "deep"


def _many_parts(count: int, pad: int = 0) -> bytes:
    part = b"--p\nContent-Type: application/octet-stream\n\nx" + b"y" * pad + b"\n"
    return (
        b"Subject: many\nContent-Type: multipart/mixed; boundary=p\n\n" + part * count + b"--p--\n"
    )


def test_part_count_is_bounded_small_message() -> None:
    msg = parse(_many_parts(MAX_PARTS + 50), NOW)
    assert len(msg.attachments) < MAX_PARTS
    assert any("MIME parts" in d for d in msg.defects)


def test_part_count_is_bounded_large_message() -> None:
    # Too large for the flanker fallback: the scanner alone bounds the parts.
    pad = FLANKER_MAX_BYTES // MAX_PARTS + 10
    msg = parse(_many_parts(MAX_PARTS + 50, pad), NOW)
    assert len(msg.attachments) < MAX_PARTS
    assert any("MIME parts" in d for d in msg.defects)


def test_oversized_header_block_is_truncated() -> None:
    lines = b"".join(b"X-Filler-%d: %s\n" % (i, b"v" * 400) for i in range(MAX_HEADER_BYTES // 200))
    raw = b"Subject: big headers\n" + lines + b"\nbody\n"
    msg = parse(raw, NOW)
    assert msg.subject == "big headers"
    assert any("header block over" in d for d in msg.defects)
    assert sum(len(k) + len(v) for k, v in msg.headers) <= MAX_HEADER_BYTES


def test_large_message_parses_through_the_scanner() -> None:
    body = b"A" * (FLANKER_MAX_BYTES + 1000)
    raw = (
        b"Subject: large\nContent-Type: multipart/mixed; boundary=L\n\n--L\n"
        b"Content-Type: text/plain; charset=utf-8\n\nhello\n--L\n"
        b"Content-Type: application/octet-stream\nContent-Disposition: attachment; "
        b"filename=big.bin\n\n" + body + b"\n--L--\n"
    )
    msg = parse(raw, NOW)
    assert msg.text == "hello"
    assert [(a.filename, a.size) for a in msg.attachments] == [("big.bin", len(body))]
    assert msg.defects == ()
