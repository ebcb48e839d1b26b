"""Hostile shapes that once stalled or broke ``parse`` (issue 16, items 12-14).

Each test bounds the CPU time of one parse generously (10x or more what it takes now; the
shapes took from 2.4 s to minutes before): the bound is there to fail on a quadratic step,
not to measure speed. ``tests/parsers/test_mime_fuzz.py`` runs the mutation battery.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from parsers import Hints, classify, mime, parse, text
from parsers.budget import MAX_DEFECTS, MAX_DETECTION_BYTES, MAX_REPLY_CHARS, Budget
from parsers.classify import warm_up
from parsers.model import ParsedMessage
from parsers.text import codec_for, html_to_text, sanitize_html

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HEAD = b"From: Ann <ann@example.com>\nTo: bob@example.org\nSubject: hi\nMIME-Version: 1.0\n"
BOUND = 2.0  # CPU seconds for one parse of the shapes below (each takes < 0.2 s now)


def _html(body: bytes) -> bytes:
    return HEAD + b"Content-Type: text/html; charset=utf-8\n\n" + body


def _text(body: bytes) -> bytes:
    return HEAD + b"Content-Type: text/plain; charset=utf-8\n\n" + body


def _timed(raw: bytes) -> tuple[ParsedMessage, float]:
    start = time.process_time()
    parsed = parse(raw, NOW)
    return parsed, time.process_time() - start


# ---------------------------------------------------------------- item 12: bounded time

SHAPES = {
    # reply.py's HTML quote pattern scanned to the end from every unclosed "<div ".
    "unclosed-div-40k": _html(b"hello <div " * 4000),
    # html.parser (html2text) rescans the rest of the input at every unclosed construct.
    "unclosed-anchor": _html(b"<p>hi</p>" + b"<a href=x " * 4000),
    "unclosed-comment": _html(b"<p>hi</p>" + b"<!--" * 8000),
    "lone-lt": _html(b"<p>hi</p>" + b"<" * 40000),
    # Over MAX_HTML_CONVERT: _DROP_BLOCKS scanned to the end from every unclosed <style>.
    "unclosed-style-2mb": _html(b"<p>hi</p>" + b"<style>" * 300_000),
    "unclosed-tags-2mb": _html(b"<p>hi</p>" + b"<b " * 700_000),
    # The signature ranking counted the lines above each "-- " line: quadratic.
    "signature-lines-50k": _text(b"hello\n" + b"-- \n" * 50_000),
    # Lines that start like a delimiter but are longer were walked one by one in Python.
    "delimiter-prefix-lines": HEAD
    + b'Content-Type: multipart/mixed; boundary="B"\n\n'
    + b"--BB\n" * 300_000
    + b"--B\nContent-Type: text/plain\n\nlast\n--B--\n",
    # One detection per encoded-word in an unknown charset: ~1 ms each, 5,000 of them.
    "encoded-words-unknown-charset": HEAD.replace(b"Subject: hi", b"Subject: x")
    + b"X-Junk: "
    + b" x ".join(b"=?x-%d?q?=E9=E8=FC?=" % i for i in range(5000))
    + b"\n\nbody\n",
    # A data-request letter with its header block repeated in the body, 110 KB.
    "repeated-headers": _text(
        b"Dear Sir or Madam,\n\n"
        + (
            b"From: Ann <ann@example.com>\nTo: privacy@example.org\n"
            b"Subject: Request under Art. 15 GDPR\nDate: Mon, 23 Nov 2026 10:00:00 +0100\n"
            b"Message-ID: <a@example.com>\n\n"
        )
        * 800
    ),
    "long-text-3mb": _text(b"> quoted line\nOn Mon, Ann <a@b.c> wrote:\n" * 80_000),
    # The mobile-signature pattern tried on a last line of 200 KB of spaces and a word: its
    # leading whitespace and word-or-space runs backtracked quadratically (found by
    # bench/mime_fuzz.py, case 3926 of seed 1).
    "spaces-then-word-200k": _text(b"hello\n" + b" " * 200_000 + b"x\n"),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_hostile_shape_parses_within_a_cpu_bound(name: str) -> None:
    parsed, seconds = _timed(SHAPES[name])
    assert seconds < BOUND, f"{name}: {seconds:.2f} s of CPU"
    json.dumps(parsed.to_dict())


def test_unclosed_div_keeps_the_text() -> None:
    parsed = parse(_html(b"<p>Hello there</p>" + b"<div " * 2000), NOW)
    assert parsed.text.startswith("Hello there")


def test_sanitize_html_closes_nothing_it_should_keep() -> None:
    html = '<p class="a">x &lt; y</p><!-- c --><a href="u">l</a><b>3 < 4</b><br/>'
    assert sanitize_html(html) == '<p class="a">x &lt; y</p><a href="u">l</a><b>3 &lt; 4</b><br/>'


def test_sanitize_html_drops_unclosed_comment_and_style_to_the_end() -> None:
    assert sanitize_html("a<!-- never closed <p>b</p>") == "a"
    assert sanitize_html("a<style>p{} <p>b</p>", drop_blocks=True) == "a"
    assert sanitize_html("a<STYLE x>p{}</style >b", drop_blocks=True) == "ab"


def test_big_html_with_unclosed_style_keeps_the_text_before_it() -> None:
    assert html_to_text("<p>kept</p><style>" + "x" * 1_100_000).strip() == "kept"


def test_signature_after_many_dash_lines_is_found() -> None:
    parsed = parse(_text(b"hello\n" + b"-- \n" * 50_000 + b"-- \nAnn\n"), NOW)
    assert parsed.stripped_text.startswith("hello")


def test_the_reply_splitter_reads_a_capped_prefix_with_a_defect() -> None:
    line = b"new words " * 10 + b"\n"
    parsed = parse(_text(line * (MAX_REPLY_CHARS // len(line) + 100)), NOW)
    assert any("reply" in d and str(MAX_REPLY_CHARS) in d for d in parsed.defects)
    assert len(parsed.stripped_text) <= MAX_REPLY_CHARS
    assert len(parsed.text) > MAX_REPLY_CHARS  # the text itself is delivered whole


def test_charset_detection_is_capped_per_message_with_a_defect() -> None:
    parsed = parse(SHAPES["encoded-words-unknown-charset"], NOW)
    assert any(str(MAX_DETECTION_BYTES) in d and "detection" in d for d in parsed.defects)
    assert parsed.text.strip() == "body"


def test_defects_are_capped() -> None:
    parsed = parse(SHAPES["encoded-words-unknown-charset"], NOW)
    assert len(parsed.defects) == MAX_DEFECTS + 1
    assert parsed.defects[-1].endswith("more defects not listed")


# ---------------------------------------------------------------- item 13: bad charset label

MIXED = (
    HEAD + b'Content-Type: multipart/mixed; boundary="B"\n\n'
    b"--B\n"
    b'Content-Type: multipart/alternative; boundary="A"\n\n'
    b'--A\nContent-Type: text/plain; charset="utf-8\x00"\n\nGr\xc3\xbc\xc3\x9fe\n'
    b'--A\nContent-Type: text/html; charset="utf-8\x00"\n\n<p>Gr\xc3\xbc\xc3\x9fe</p>\n'
    b"--A--\n"
    b'--B\nContent-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64\n\n'
    b"JVBERi0=\n"
    b"--B--\n"
)


def test_codec_for_reads_past_a_nul_in_the_label() -> None:
    assert codec_for("utf-8\x00") == "utf-8"
    assert codec_for("\x00") is None


def test_nul_in_charset_keeps_the_structure() -> None:
    parsed = parse(MIXED, NOW)
    assert parsed.text == "Grüße"
    assert parsed.html == "<p>Grüße</p>"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert not any("parser error" in d for d in parsed.defects)


@pytest.mark.parametrize(
    "label", [b'"utf-8\x00"', b"\xff\xfe", b"=?x?q?y?=", b'"' + b"a" * 5000 + b'"', b"utf-8''x"]
)
def test_any_bad_charset_falls_back_for_that_part_only(label: bytes) -> None:
    raw = MIXED.replace(b'charset="utf-8\x00"', b"charset=" + label, 1)
    parsed = parse(raw, NOW)
    assert parsed.html == "<p>Grüße</p>"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert not any("parser error" in d for d in parsed.defects)


def test_a_part_whose_step_fails_costs_that_part_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the HTML part's decoding fails as a bug would (before: the whole
    # message was read again as one text part, losing the attachment).
    real = text.decode_bytes

    def failing(data: bytes, charset: str | None, budget: Budget | None = None) -> Any:
        if data.startswith(b"<p>"):
            raise ValueError("injected")
        return real(data, charset, budget)

    monkeypatch.setattr(mime, "decode_bytes", failing)
    parsed = parse(MIXED, NOW)
    assert parsed.text == "Grüße"
    assert parsed.html is None
    assert [a.content_type for a in parsed.attachments] == ["text/html", "application/pdf"]
    assert "text/html part unreadable (ValueError): kept as bytes" in parsed.defects


# ---------------------------------------------------------------- item 14: NUL bytes

NULS = (
    b"From: =?utf-8?q?A=00nn?= <ann@example.com>\nTo: bob@example.org\n"
    b"Subject: hi\x00there\nX-Note: a\x00b\nMIME-Version: 1.0\n"
    b'Content-Type: multipart/mixed; boundary="B"\n\n'
    b"--B\nContent-Type: text/plain; charset=utf-8\n\nhello\x00world\n"
    b"--B\nContent-Type: text/html; charset=utf-8\n\n<p>a\x00b</p>\n"
    b'--B\nContent-Type: application/pdf; name="x\x00.pdf"\n\n%PDF\n'
    b"--B\nContent-Type: message/rfc822\n\nSubject: in\x00ner\nFrom: c@d.e\n\nx\n"
    b"--B--\n"
)


def test_nul_bytes_never_reach_the_event() -> None:
    parsed = parse(NULS, NOW)
    dumped = json.dumps(parsed.to_dict())
    assert "\\u0000" not in dumped
    assert parsed.subject == "hi\ufffdthere"
    assert parsed.text == "hello\ufffdworld"
    assert parsed.html == "<p>a\ufffdb</p>"
    assert parsed.header("X-Note") == "a\ufffdb"
    assert parsed.from_ is not None and "\x00" not in parsed.from_.name
    assert parsed.attachments[0].filename == "x\ufffd.pdf"
    assert any("NUL" in d for d in parsed.defects)
    assert all("\x00" not in (p.text or "") for p in parsed.parts)


def test_no_nul_no_defect() -> None:
    parsed = parse(NULS.replace(b"\x00", b"-").replace(b"=00", b"-"), NOW)
    assert not any("NUL" in d for d in parsed.defects)


# ---------------------------------------------------------------- structure kept


def test_a_one_megabyte_header_line_is_dropped_and_the_structure_kept() -> None:
    raw = HEAD + b"X-Long: " + b"a" * (1 << 20) + b"\n" + MIXED[len(HEAD) :]
    parsed = parse(raw, NOW)
    assert parsed.text == "Grüße"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert "X-Long header over 131072 bytes: dropped" in parsed.defects
    assert parsed.header("X-Long") is None


# ---------------------------------------------------------------- item 12: classify too

_BOUNCE_HEAD = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: bob@example.org\n"
    b"Subject: Undelivered Mail Returned to Sender\nReturn-Path: <>\nMIME-Version: 1.0\n"
)
CLASSIFY_SHAPES = {
    # The bounce splitter's returned-message marker began with two runs that both take a
    # space: on one 200 KB line of spaces it backtracked for minutes (found by
    # bench/mime_fuzz.py, case 6562 of seed 1).
    "space-line-200k": _text(b"hello\n" + b" " * 200_000 + b"\n"),
    "bounce-space-line-200k": _BOUNCE_HEAD
    + b"Content-Type: text/plain\n\n550 5.1.1 user unknown\n"
    + b" " * 200_000
    + b"\n",
    "decoration-line-200k": _text(b"hello\n" + b" -=*_\t" * 40_000 + b"\n"),
    # The ARF fallback's "^\s*Feedback-Type:" (MULTILINE) scanned the whole whitespace run
    # from every line start in it; the reply-code finder's context then "\s*" from every
    # whitespace character (bench/mime_fuzz.py, seed 1 cases 334 and 405: 12-17 s).
    "blank-lines-100k": _text(b"hello\n" + b" \n" * 100_000 + b"bye\n"),
    "bounce-tab-run-200k": _BOUNCE_HEAD
    + b"Content-Type: text/plain\n\nI was not able to deliver your message.\n"
    + b"\t" * 200_000
    + b"\n",
}


@pytest.mark.parametrize("name", [*SHAPES, *CLASSIFY_SHAPES])
def test_hostile_shape_parses_and_classifies_within_a_cpu_bound(name: str) -> None:
    raw = SHAPES.get(name) or CLASSIFY_SHAPES[name]
    warm_up()  # the tables are built once per process (~1 s): not this message's cost
    start = time.process_time()
    parsed = parse(raw, NOW)
    verdict = classify(parsed, Hints(rcpt_to=("bob@example.org",)), NOW)
    seconds = time.process_time() - start
    assert seconds < BOUND, f"{name}: {seconds:.2f} s of CPU"
    json.dumps(verdict.to_dict())
