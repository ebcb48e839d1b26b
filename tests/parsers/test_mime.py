"""parsers.parse: fields, structure, defects, and never raising on bad input."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import pytest

from parsers import mime, parse
from parsers.model import Address, ParsedMessage

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _parse(raw: bytes) -> ParsedMessage:
    return parse(raw, NOW)


SIMPLE = (
    b"From: =?utf-8?q?J=C3=B6rg?= <jorg@example.com>\r\n"
    b'To: a@example.com, "B, Bee" <b@example.com>\r\n'
    b"Cc: c@example.com\r\n"
    b"Reply-To: r@example.com\r\n"
    b"Sender: s@example.com\r\n"
    b"Subject: Re: =?iso-8859-1?q?Gr=FC=DFe?=\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    b"Message-ID: <abc@example.com>\r\n"
    b"In-Reply-To: <prev@example.com>\r\n"
    b"References: <first@example.com>\r\n <prev@example.com>\r\n"
    b"Received: from one\r\n"
    b"Received: from two\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Thanks, that works.\r\n\r\nOn Mon, 23 Nov 2026, Ann <ann@example.com> wrote:\r\n"
    b"> the question\r\n"
)


def test_simple_fields() -> None:
    msg = _parse(SIMPLE)
    assert msg.message_id == "abc@example.com"
    assert msg.in_reply_to == "prev@example.com"
    assert msg.references == ("first@example.com", "prev@example.com")
    assert msg.date == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert msg.date is not None and msg.date.utcoffset() == timedelta(hours=1)
    assert msg.subject == "Re: Grüße"
    assert msg.from_ == Address(name="Jörg", address="jorg@example.com")
    assert msg.sender == Address(name="", address="s@example.com")
    assert msg.to == (
        Address(name="", address="a@example.com"),
        Address(name="B, Bee", address="b@example.com"),
    )
    assert [a.address for a in msg.cc] == ["c@example.com"]
    assert [a.address for a in msg.reply_to] == ["r@example.com"]
    assert msg.header_all("received") == ["from one", "from two"]
    assert msg.text.startswith("Thanks, that works.\n")
    assert msg.stripped_text == "Thanks, that works."
    assert msg.html is None
    assert msg.attachments == ()
    assert msg.defects == ()
    assert msg.content_type == "text/plain"
    assert [p.content_type for p in msg.parts] == ["text/plain"]


MULTI = (
    b"From: a@example.com\n"
    b"Subject: files\n"
    b"Content-Type: multipart/mixed; boundary=XX\n"
    b"\n"
    b"--XX\n"
    b"Content-Type: multipart/alternative; boundary=YY\n"
    b"\n"
    b"--YY\n"
    b"Content-Type: text/plain; charset=iso-8859-2\n"
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"P=F3jdziemy\n"
    b"--YY\n"
    b"Content-Type: text/html; charset=utf-8\n"
    b"\n"
    b'<p>P\xc3\xb3jdziemy <img src="cid:img1@x"></p>\n'
    b"--YY--\n"
    b"--XX\n"
    b"Content-Type: image/png\n"
    b"Content-ID: <img1@x>\n"
    b"Content-Transfer-Encoding: base64\n"
    b"\n"
    b"iVBORw0KGgo=\n"
    b"--XX\n"
    b'Content-Type: application/pdf; name="a.pdf"\n'
    b"Content-Disposition: attachment; filename*=utf-8''%C5%BC%C3%B3%C5%82w.pdf\n"
    b"Content-Transfer-Encoding: base64\n"
    b"\n"
    b"JVBERi0=\n"
    b"--XX\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"From: Orig <orig@example.com>\n"
    b"Subject: =?utf-8?b?w6k=?=\n"
    b"Message-ID: <orig@example.com>\n"
    b"\n"
    b"forwarded body\n"
    b"--XX--\n"
)


def test_multipart_structure() -> None:
    msg = _parse(MULTI)
    assert msg.content_type == "multipart/mixed"
    assert ("boundary", "XX") in msg.content_params
    assert msg.text == "Pójdziemy"  # the CRLF before a boundary is the boundary's
    assert msg.html is not None and "Pójdziemy" in msg.html
    png, pdf, fwd = msg.attachments
    assert png.content_type == "image/png"
    assert png.content_id == "img1@x"
    assert png.inline is True  # referenced from the HTML by cid:
    assert png.content == b"\x89PNG\r\n\x1a\n"
    assert png.size == 8
    assert pdf.filename == "żółw.pdf"
    assert pdf.inline is False
    assert pdf.content == b"%PDF-"
    assert fwd.content_type == "message/rfc822"
    assert fwd.message is not None
    assert fwd.message["subject"] == "é"
    assert fwd.message["message_id"] == "orig@example.com"
    assert fwd.message["from"] == {"name": "Orig", "address": "orig@example.com"}
    rfc822 = [p for p in msg.parts if p.content_type == "message/rfc822"]
    assert rfc822 and rfc822[0].text is not None and "forwarded body" in rfc822[0].text
    assert msg.defects == ()


def test_missing_closing_boundary_is_a_defect() -> None:
    raw = MULTI.replace(b"--XX--\n", b"")
    msg = _parse(raw)
    assert msg.text == "Pójdziemy"  # the CRLF before a boundary is the boundary's
    assert any("closing boundary" in d for d in msg.defects)


def test_broken_encoded_word_is_a_defect() -> None:
    raw = b"Subject: =?utf-8?b?w6k?= and =?x-nonsense?q?=E9t=E9?=\n\nbody\n"
    msg = _parse(raw)
    assert msg.subject.startswith("é and ")
    assert msg.defects


def test_report_parts_are_text() -> None:
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nfailed\n"
        b"--b\nContent-Type: message/delivery-status\n\n"
        b"Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; x@example.com\n"
        b"Status: 5.1.1\n"
        b"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: <o@example.com>\n"
        b"--b--\n"
    )
    msg = _parse(raw)
    kinds = {p.content_type: p.text for p in msg.parts}
    assert "Status: 5.1.1" in (kinds["message/delivery-status"] or "")
    assert "o@example.com" in (kinds["text/rfc822-headers"] or "")
    assert msg.text == "failed"


def test_garbage_never_raises_and_is_valid_utf8() -> None:
    rng = random.Random(5)
    pieces = [
        b"Content-Type: multipart/mixed; boundary=a\n",
        b"--a\n",
        b"=?utf-8?b?",
        b"\xff\xfe",
        b"\n\n",
        b"Subject: x\n",
        b"--a--",
        b"Content-Transfer-Encoding: base64\n",
        b"=?",
    ]
    for _ in range(300):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        raw += bytes(rng.randrange(256) for _ in range(rng.randint(0, 50)))
        msg = _parse(raw)
        for value in (msg.text, msg.subject, msg.stripped_text, *(v for _, v in msg.headers)):
            value.encode("utf-8")


def test_undeclared_latin1_body_is_detected() -> None:
    raw = b"Subject: x\n\nCaf\xe9 cr\xe8me br\xfbl\xe9e, d\xe9j\xe0 vu, tr\xe8s bien.\n"
    msg = _parse(raw)
    assert "Café crème brûlée" in msg.text
    assert msg.defects


@pytest.mark.parametrize("value", [b"", b"\n", b"\r\n\r\n", b"no headers at all"])
def test_degenerate_input(value: bytes) -> None:
    msg = _parse(value)
    assert msg.subject == ""
    assert msg.message_id is None


def _boom(*_args: object) -> NoReturn:
    raise RuntimeError("simulated bug")


def test_tree_builders_fall_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "scan", _boom)
    msg = _parse(MULTI)
    assert msg.text == "Pójdziemy"
    assert [a.content_type for a in msg.attachments] == [
        "image/png",
        "application/pdf",
        "message/rfc822",
    ]
    assert msg.defects == ("MIME structure unreadable by the scanner (RuntimeError)",)
    monkeypatch.setattr(mime, "_from_flanker", _boom)
    msg = _parse(MULTI)
    assert msg.text == "Pójdziemy"
    assert len(msg.attachments) == 3
    assert "MIME structure refused by flanker (RuntimeError)" in msg.defects
    monkeypatch.setattr(mime, "_from_stdlib", _boom)
    msg = _parse(MULTI)
    assert msg.subject == "files"
    assert "--XX" in msg.text  # the body as one text part
    assert "MIME structure unreadable (RuntimeError): read as one part" in msg.defects


def test_bare_cr_line_ends_are_line_ends() -> None:
    raw = b"Subject: old Mac\rContent-Type: text/plain\r\rfirst line\rsecond line\r"
    msg = _parse(raw)
    assert msg.subject == "old Mac"
    assert msg.text == "first line\nsecond line\n"
    assert "lines end with a bare CR: read as line ends" in msg.defects


def test_returned_headers_under_unregistered_types_are_text() -> None:
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nfailed\n"
        b"--b\nContent-Type: message/rfc822-headers\n\nMessage-ID: <o1@example.com>\n"
        b"--b\nContent-Type: message/partial\n\nMessage-ID: <o2@example.com>\n"
        b"--b--\n"
    )
    texts = {p.content_type: p.text for p in _parse(raw).parts}
    assert "o1@example.com" in (texts["message/rfc822-headers"] or "")
    assert "o2@example.com" in (texts["message/partial"] or "")


@pytest.mark.parametrize(
    ("outer", "param"),
    [
        ("multipart/signed; protocol=application/pgp-signature", ""),
        ("multipart/mixed", '; hp="clear"'),
    ],
)
def test_protected_headers_stay_the_body_parts_own(outer: str, param: str) -> None:
    # RFC 9788 and its drafts copy Subject/From/To/Message-ID into the signed part.
    raw = (
        f"From: ann@example.com\nSubject: hi\nContent-Type: {outer}; boundary=o\n\n"
        f"--o\nContent-Type: text/plain; charset=utf-8{param}\n"
        "From: ann@example.com\nTo: bob@example.org\nSubject: hi\n"
        "Message-ID: <p1@example.com>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n\n"
        "the signed words\n--o\nContent-Type: application/pgp-signature\n\nSIG\n--o--\n"
    ).encode()
    msg = _parse(raw)
    assert msg.text == "the signed words"
    assert not any(a.content_type == "message/rfc822" for a in msg.attachments)
