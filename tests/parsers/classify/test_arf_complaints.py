"""Complaint detection (arf): ARF fields, JMRP, Apple unsubscribe, and what is no complaint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers import Kind, parse
from parsers.classify import arf

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _msg(raw: str) -> bytes:
    return raw.lstrip("\n").replace("\n", "\r\n").encode("utf-8")


ARF_WITHOUT_RCPT = _msg("""
From: fbl@isp.example
To: abuse@shop.example
Subject: report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="X"

--X
Content-Type: text/plain

An abuse report.
--X
Content-Type: message/feedback-report

Feedback-Type: fraud
Version: 1
Source-IP: 2001:db8::25

--X
Content-Type: text/rfc822-headers

From: news@shop.example
To: Someone <someone@isp.example>
Message-ID: <m-1@shop.example>
Subject: hi

--X--
""")


def test_arf_falls_back_to_the_reported_headers() -> None:
    verdict = arf.detect(parse(ARF_WITHOUT_RCPT, NOW))
    assert verdict is not None
    assert verdict.kind == Kind.COMPLAINT
    assert verdict.complaint is not None
    assert verdict.complaint.feedback_type == "fraud"
    assert verdict.complaint.original_recipient == "someone@isp.example"
    assert verdict.complaint.source_ip == "2001:db8::25"
    assert verdict.complaint.original_message_id == "m-1@shop.example"
    assert verdict.evidence[0].where == "part:message/feedback-report"


def test_subject_alone_is_not_a_jmrp_complaint() -> None:
    raw = _msg("""
From: friend@example.org
To: me@shop.example
Subject: complaint about message from 192.0.2.1
Content-Type: text/plain

Your server sent me something odd.
""")
    assert arf.detect(parse(raw, NOW)) is None


def test_apple_unsubscribe_is_an_opt_out_complaint() -> None:
    raw = _msg("""
From: reader@icloud.example
To: opt-out-123@shop.example
Subject: unsubscribe
X-Apple-Unsubscribe: true
Content-Type: text/plain

Apple Mail sent this email to unsubscribe from the message.
""")
    verdict = arf.detect(parse(raw, NOW))
    assert verdict is not None
    assert verdict.complaint is not None
    assert verdict.complaint.feedback_type == "opt-out"
    assert not verdict.complaint.arf
    assert verdict.complaint.original_recipient == "reader@icloud.example"


def test_ordinary_mail_is_no_complaint() -> None:
    raw = _msg("""
From: a@example.org
To: b@example.org
Subject: Feedback-Type: abuse (just kidding)
Content-Type: text/plain

Feedback-Type: abuse
""")
    assert arf.detect(parse(raw, NOW)) is None


MIXED_REPORT = _msg("""
From: fbl@isp.example
To: abuse@shop.example
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="X"

--X
Content-Type: text/plain

A user of ours marked your message as spam.
--X
Content-Type: text/plain; name="report.txt"

Feedback-Type: abuse
User-Agent: ISP-FBL/2.1
Version: 1
Original-Rcpt-To: <zed@isp.example>
--X--
""")


def test_feedback_fields_outside_multipart_report_are_a_complaint() -> None:
    # RFC 5965 §3.1's three required fields in a text part: a feedback report whose
    # sender used multipart/mixed and text/plain for it.
    verdict = arf.detect(parse(MIXED_REPORT, NOW))
    assert verdict is not None and verdict.complaint is not None
    assert verdict.complaint.feedback_type == "abuse"
    assert verdict.complaint.original_recipient == "zed@isp.example"
    assert verdict.evidence[0].where == "part:text/plain"


def test_a_feedback_type_line_alone_outside_a_report_is_no_complaint() -> None:
    raw = MIXED_REPORT.replace(b"User-Agent: ISP-FBL/2.1\r\nVersion: 1\r\n", b"")
    assert arf.detect(parse(raw, NOW)) is None


def _arf_labelled(report_type: str, outer: str = "multipart/report") -> bytes:
    return _msg(f"""
From: feedback@mailbox.example
To: fbl@shop.example
Subject: Complaint about a message you sent
MIME-Version: 1.0
Content-Type: {outer}; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

A user marked a message from your service as junk.
--B
Content-Type: {report_type}

Feedback-Type: abuse
User-Agent: MailboxFBL/2.1
Version: 1
Original-Rcpt-To: <reader@mailbox.example>
Source-IP: 198.51.100.7

--B
Content-Type: text/rfc822-headers

From: news@shop.example
To: reader@mailbox.example
Message-ID: <n-42@shop.example>
Subject: This week

--B--
""")


@pytest.mark.parametrize(
    "report_type",
    [
        "application/feedback-report",
        "message/x-feedback-report",
        "application/x-feedback-report",
        "text/feedback-report",
    ],
)
def test_a_feedback_report_under_an_unusual_label_is_still_a_complaint(report_type: str) -> None:
    parsed = parse(_arf_labelled(report_type), NOW)
    verdict = arf.detect(parsed)
    assert verdict is not None, report_type
    assert verdict.kind == Kind.COMPLAINT
    assert verdict.complaint is not None
    assert verdict.complaint.feedback_type == "abuse"
    assert verdict.complaint.original_recipient == "reader@mailbox.example"
    assert verdict.complaint.source_ip == "198.51.100.7"
    assert verdict.complaint.original_message_id == "n-42@shop.example"
    assert verdict.evidence[0].where == f"part:{report_type}"
    # The report part is still listed as what it was sent as, never as the body text.
    assert "Feedback-Type" not in (parsed.text or "")


def test_an_unusual_report_label_without_report_type_needs_every_required_field() -> None:
    # Outside multipart/report, a part of that label with only Feedback-Type is no report.
    raw = _msg("""
From: someone@example.org
To: me@shop.example
Subject: notes
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/plain

See the attached notes.
--B
Content-Type: application/x-feedback-report

Feedback-Type: suggestion

--B--
""")
    assert arf.detect(parse(raw, NOW)) is None
