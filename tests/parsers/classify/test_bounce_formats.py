"""MTA layouts read as the reference (sisimai) reads them: Exim's give-up-after-retries
answers, OpenSMTPD's own verdicts, SES notifications after a line of text, and odd
feedback-type values. Every message here is team-written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from parsers import classify, parse
from parsers.model import Bounce, Kind

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _bounce(raw: str) -> Bounce:
    verdict = classify(parse(raw.encode(), NOW))
    assert verdict.kind == Kind.BOUNCE, verdict.kind
    assert verdict.bounce is not None
    return verdict.bounce


def _exim(explanation: str, intro: bool = True) -> str:
    created = (
        "This message was created automatically by mail delivery software.\n\n" if intro else ""
    )
    return (
        "Return-path: <>\nX-Failed-Recipients: ari@far.example.net\n"
        "From: Mail Delivery System <Mailer-Daemon@mx.shop.example>\nTo: news@shop.example\n"
        "Subject: Mail delivery failed: returning message to sender\n\n"
        f"{created}A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  ari@far.example.net\n{explanation}\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        "From: news@shop.example\nTo: ari@far.example.net\nSubject: offers\n\nhello\n"
    )


def test_exim_retry_timeout_without_a_code_is_a_temporary_class() -> None:
    bounce = _bounce(_exim("    retry timeout exceeded"))
    assert (bounce.type, bounce.reason, bounce.status, bounce.delayed) == (
        "soft",
        "expired",
        "4.4.7",
        False,
    )
    assert bounce.recipients == ("ari@far.example.net",)


def test_exim_gave_up_on_a_full_mailbox_keeps_the_reason_and_class_4() -> None:
    bounce = _bounce(_exim("    mailbox is full: retry timeout exceeded"))
    assert (bounce.reason, bounce.status) == ("mailboxfull", "4.2.2")


def test_exim_hosts_failing_for_a_long_time_is_the_same_verdict() -> None:
    text = (
        "    all hosts for 'far.example.net' have been failing for a long time"
        " (and retry time not reached)"
    )
    assert _bounce(_exim(text)).status == "4.4.7"


def test_exim_retry_answer_with_a_stated_code_keeps_the_code() -> None:
    text = (
        "    host mx.far.example.net [192.0.2.9]\n"
        "    SMTP error from remote mail server after RCPT TO:<ari@far.example.net>:\n"
        "    552 5.2.2 Mailbox full\n    retry timeout exceeded"
    )
    assert _bounce(_exim(text)).status == "5.2.2"


def test_retry_words_outside_exims_indented_block_stay_class_5() -> None:
    # Another MTA's "Reason:" paragraph with the same words is a permanent failure.
    raw = _exim("", intro=True).replace(
        "  ari@far.example.net\n",
        "<ari@far.example.net>\n\nReason:\n\ndelivery retry timeout exceeded\n",
    )
    assert (_bounce(raw).status or "").startswith("5.")


def _opensmtpd(line: str, *, delay: bool, status: str) -> str:
    if delay:
        intro = (
            "A message is delayed for more than 4 hours for the following\nlist of recipients:\n\n"
            f"{line}\n\nPlease note that this is only a temporary failure report.\n"
            "The message is kept in the queue for up to 4 days.\n"
            "You DO NOT NEED to re-send the message to these recipients.\n"
        )
    else:
        intro = (
            "An error has occurred while attempting to deliver a message for\n"
            f"the following list of recipients:\n\n{line}\n"
        )
    action = "delayed" if delay else "failed"
    return (
        "From: Mailer Daemon <MAILER-DAEMON@mx.shop.example>\nTo: news@shop.example\n"
        f"Subject: Delivery status notification: {'delay' if delay else 'error'}\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0"\n\n'
        "--b0\nContent-Type: text/plain; charset=us-ascii\n\nHi!\n\n"
        f"This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n{intro}\n"
        "Below is a copy of the original message:\n\n"
        "--b0\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.shop.example\n\n"
        f"Final-Recipient: rfc822; bo@nomx.example\nAction: {action}\nStatus: {status}\n\n"
        "--b0\nContent-Type: text/rfc822-headers\n\nFrom: news@shop.example\nTo: bo@nomx.example\n"
        "Subject: offers\n\n--b0--\n"
    )


def test_opensmtpd_own_verdict_in_a_delay_report_is_the_failure_it_names() -> None:
    raw = _opensmtpd("bo@nomx.example: No MX found for domain", delay=True, status="4.0.0")
    bounce = _bounce(raw)
    assert (bounce.type, bounce.reason, bounce.delayed) == ("hard", "notaccept", False)
    assert (bounce.status or "").startswith("5.")


def test_opensmtpd_envelope_expired_is_an_expired_failure() -> None:
    bounce = _bounce(_opensmtpd("bo@nomx.example: Envelope expired", delay=True, status="4.4.7"))
    assert (bounce.type, bounce.reason, bounce.status) == ("soft", "expired", "5.4.7")


def test_opensmtpd_delay_with_the_remote_reply_stays_a_delay() -> None:
    raw = _opensmtpd("bo@nomx.example: 421 4.7.0 Try again later", delay=True, status="4.0.0")
    bounce = _bounce(raw)
    assert (bounce.type, bounce.status, bounce.delayed) == ("soft", "4.7.0", True)


def test_opensmtpd_error_line_code_beats_the_generic_dsn_status() -> None:
    raw = _opensmtpd(
        "bo@nomx.example: 550 5.1.1 <bo@nomx.example>: User unknown", delay=False, status="5.0.0"
    )
    bounce = _bounce(raw)
    assert (bounce.type, bounce.status) == ("hard", "5.1.1")


_SES_JSON = (
    '{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"NoEmail",'
    '"bouncedRecipients":[{"emailAddress":"cy@mail.example.net","status":"5.1.1",'
    '"diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},'
    '"mail":{"messageId":"0100-abc","destination":["cy@mail.example.net"]}}'
)


def test_ses_notification_after_a_line_of_text_from_sns_is_read() -> None:
    raw = (
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: ops@shop.example\n"
        "Subject: AWS Notification Message\n\nA bounce notification for your topic:\n\n"
        f"{_SES_JSON}\n"
    )
    bounce = _bounce(raw)
    assert (bounce.type, bounce.status, bounce.recipients) == (
        "hard",
        "5.1.1",
        ("cy@mail.example.net",),
    )


def test_ses_json_quoted_in_a_persons_mail_is_not_a_bounce() -> None:
    raw = (
        "From: Dev <dev@shop.example>\nTo: ops@shop.example\nSubject: look at this payload\n\n"
        f"Hi, SES sends us this, can we parse it?\n\n{_SES_JSON}\n"
    )
    assert classify(parse(raw.encode(), NOW)).kind != Kind.BOUNCE


def _arf(fields: str) -> str:
    return (
        "From: fbl@isp.example\nTo: abuse@shop.example\nSubject: report\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="r"\n\n'
        "--r\nContent-Type: text/plain\n\nA complaint.\n\n"
        f"--r\nContent-Type: message/feedback-report\n\n{fields}\n"
        "--r\nContent-Type: text/rfc822-headers\n\n"
        "From: news@shop.example\nTo: di@isp.example\n\n--r--\n"
    )


def test_feedback_type_is_its_token_without_trailing_punctuation() -> None:
    verdict = classify(
        parse(_arf("Feedback-Type: fraud;\nUser-Agent: F/1\nVersion: 1\n").encode(), NOW)
    )
    assert verdict.complaint is not None
    assert verdict.complaint.feedback_type == "fraud"


def test_indented_feedback_report_fields_are_read() -> None:
    fields = "  Feedback-Type: not-spam\n  User-Agent: F/1\n  Version: 1\n  Source-IP: 192.0.2.4\n"
    verdict = classify(parse(_arf(fields).encode(), NOW))
    assert verdict.complaint is not None
    assert verdict.complaint.feedback_type == "not-spam"


def test_localised_exchange_subject_without_a_report_part_is_a_bounce() -> None:
    raw = (
        "From: Microsoft Outlook <correo@empresa.example.es>\nTo: news@shop.example\n"
        "Subject: No se puede entregar: Your December offers\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "No se pudo entregar el mensaje a los siguientes destinatarios:\n\n"
        "      eva@empresa.example.es\n"
        "            <mx.empresa.example.es #5.1.1 smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound>\n"
    )
    bounce = _bounce(raw)
    assert (bounce.type, bounce.status, bounce.recipients) == (
        "hard",
        "5.1.1",
        ("eva@empresa.example.es",),
    )
