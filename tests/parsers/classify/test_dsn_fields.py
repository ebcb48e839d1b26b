"""RFC 3464 field reading (bounce_report) and status / reply codes in text (_status)."""

from __future__ import annotations

import pytest

from parsers.classify._status import find_reply_code, find_statuses, parse_status
from parsers.classify.bounce_report import address_of, parse_delivery_status, strip_type


def test_recipient_blocks_with_final_before_original_stay_one_recipient() -> None:
    report = parse_delivery_status(
        "Reporting-MTA: dns; mx.example\n\n"
        "Final-Recipient: rfc822; a@one.example\n"
        "Original-Recipient: rfc822;a@one.example\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <a@one.example>: Recipient\n"
        "    address rejected: User unknown\n"
    )
    assert report.reporting_mta == "mx.example"
    assert len(report.recipients) == 1
    rec = report.recipients[0]
    assert (rec.final_recipient, rec.original_recipient) == ("a@one.example", "a@one.example")
    assert rec.action == "failed"
    assert rec.status == "5.1.1"
    assert rec.diagnostic == "550 5.1.1 <a@one.example>: Recipient address rejected: User unknown"


def test_recipients_without_blank_line_between_them_are_split() -> None:
    report = parse_delivery_status(
        "Final-Recipient: RFC822; a@one.example\nAction: failed\nStatus: 5.1.1\n"
        "Final-Recipient: RFC822; <B@Two.example>\nAction: delayed\nStatus: 4.4.1\n"
    )
    assert [r.final_recipient for r in report.recipients] == ["a@one.example", "b@two.example"]
    assert [r.action for r in report.recipients] == ["failed", "delayed"]


def test_per_message_block_alone_has_no_recipients() -> None:
    assert (
        parse_delivery_status("Reporting-MTA: dns; x.example\nArrival-Date: now\n").recipients == ()
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("rfc822; a@b.example", "a@b.example"),
        ("RFC822;<A@B.example>", "a@b.example"),
        ('rfc822; "odd..name"@b.example', '"odd..name"@b.example'),
        ("x-unix; kijitora", None),
        (None, None),
    ],
)
def test_address_of(value: str | None, expected: str | None) -> None:
    assert address_of(value) == expected


def test_strip_type_keeps_text_without_a_type() -> None:
    assert strip_type("smtp; 550 no") == "550 no"
    assert strip_type("550 no; really") == "550 no; really"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 5.1.1 <a@b>: User unknown", ["5.1.1"]),
        ("host mx [192.0.2.5] said: 550 no", []),  # an IP address is no status code
        ("550 #5.1.0 Address rejected.", ["5.1.0"]),  # Exchange writes "#5.1.0"
        ("try again later [#4.1.9].", ["4.1.9"]),
        ("version 4.8.5.36 of the agent", []),
        ("Status: 2.0.0", []),  # success codes are not failures
    ],
)
def test_find_statuses(text: str, expected: list[str]) -> None:
    assert [str(s) for s in find_statuses(text)] == expected


def test_parse_status_generic() -> None:
    status = parse_status("5.0.0 (permanent failure)")
    assert status is not None
    assert status.generic
    assert str(status) == "5.0.0"
    assert parse_status("no code here") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Remote host said: 550 5.1.1 no such user", 550),
        ("host mx.example[192.0.2.4] said: 450 4.1.1 <a@b>", 450),
        ("SMTP error from remote server: 421 try later", 421),
        ("Received 2000 bytes at 12:550", None),
        ("The error that the other server returned was:\n554 denied", 554),
    ],
)
def test_find_reply_code(text: str, expected: int | None) -> None:
    assert find_reply_code(text) == expected
