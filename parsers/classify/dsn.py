"""Bounces: RFC 3464 delivery status notifications and the non-standard formats.

Responsible for: deciding whether a message reports a failed or delayed delivery, and
if so the ``Bounce``: hard or soft, a reason from ``bounce_reasons.REASONS``, the RFC 3463
status code (from the DSN, else from the server's reply or the diagnostic, else the code
the reason stands for), the failed recipients, the diagnostic text, the reporting MTA and
the original Message-ID, with the evidence each rests on.

Two paths, one result. A ``message/delivery-status`` part (RFC 3464 §2) is read field by
field (``bounce_report``); its ``Action`` decides: ``failed`` is a bounce, ``delayed`` a
soft bounce flagged ``delayed``, and a report whose every recipient was ``delivered``,
``relayed`` or ``expanded`` is no bounce at all (RFC 3464 §2.3.3); OpenSMTPD's reports are
read from their "addr: error" line instead, whose own verdicts (no MX, envelope expired)
are failures even in its delay report, as sisimai reads them. Without such a part,
``bounce_text`` recognises the notice by its sender, subject and words, and finds the
recipients and their explanations in the text before the returned original.

It may not look at auto-replies or complaints (``autoreply``, ``arf``), and it never
raises on odd input. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parsers.classify import autoreply, bounce_ses, bounce_text
from parsers.classify._status import Status, derived_status, find_reply_code, find_statuses
from parsers.classify._status import parse_status as _parse_status
from parsers.classify.bounce_reasons import HARD_REASONS, decide_reason, hard_or_soft
from parsers.classify.bounce_report import RecipientReport, parse_delivery_status, strip_type
from parsers.model import Bounce, Classification, Evidence, Kind, ParsedMessage

# RFC 3464 §2.3.3: actions that report success; a DSN with only these is not a bounce.
_SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
# Words of a delay warning (the MTA still retries): Exim "Warning: message … delayed",
# Gmail "Delivery Status Notification (Delay)", Sendmail "Warning: could not send message
# for past 4 hours", Postfix "Delayed Mail (still being retried)".
_DELAY = re.compile(
    r"\bdelay(ed)?\b|still being retried|will (continue|keep) (to )?(try|retry)|will retry"
    r"|could not send message for past|not yet been delivered|delivery attempts will continue",
    re.IGNORECASE,
)
_PERMANENT = re.compile(
    r"permanent(ly)?|given up|giving up|gave up|could not be delivered|failed",
    re.IGNORECASE,
)
_MAX_DIAGNOSTIC = 1000
# What the detector reads, so a giant or hostile report costs a bounded time (the reason
# table alone is ~200 searches over the report): the text (the returned original is
# looked for in it), the report part of it, and the delivery-status part. Real reports
# are a few KiB; a DSN for 1,000 recipients is ~200 KiB.
_MAX_TEXT = 256 * 1024
_MAX_REPORT = 32 * 1024
_MAX_DSN = 256 * 1024


def detect(parsed: ParsedMessage) -> Classification | None:
    """A ``Kind.BOUNCE`` classification, or None when the message is not a bounce."""
    text = bounce_text.report_text(parsed)[:_MAX_TEXT]
    report, original_text = bounce_text.split_original(text)
    report = report[:_MAX_REPORT]
    original = bounce_text.original_headers(parsed, original_text)
    if text.lstrip().startswith("{") or bounce_ses.from_aws(parsed):
        notification = bounce_ses.read_notification(text)
        if notification is not None:
            return _from_ses(notification) if notification.kind == "Bounce" else None
    dsn_parts = [p for p in parsed.parts if p.content_type in _DSN_TYPES and p.text]
    if dsn_parts:
        dsn_text = (dsn_parts[0].text or "")[:_MAX_DSN]
        verdict = _from_delivery_status(parsed, dsn_text, report, original)
        if verdict is not _NOT_A_DSN:
            return verdict if isinstance(verdict, Classification) else None
    sig = bounce_text.signals(parsed, report)
    if not bounce_text.looks_like_bounce(sig):
        return _dead_mailbox_notice(parsed, report)
    # Some formats embed the RFC 3464 fields in the text part (Amazon WorkMail, gateways),
    # and a multipart the MIME parser could not split carries them in its one leaf.
    if "final-recipient:" in text.lower():
        verdict = _from_delivery_status(parsed, text, report, original, where="text")
        if isinstance(verdict, Classification):
            return verdict
    return _from_text(parsed, report, original, sig)


class _NotADsn:
    """Marker: the part held no recipient fields, so read the message as text instead."""


_NOT_A_DSN = _NotADsn()


def _from_delivery_status(
    parsed: ParsedMessage,
    dsn_text: str,
    report: str,
    original: bounce_text.Original,
    where: str = "message/delivery-status",
) -> Classification | _NotADsn | None:
    dsn = parse_delivery_status(dsn_text)
    records = [r for r in dsn.recipients if r.final_recipient or r.original_recipient]
    if not records:
        return _NOT_A_DSN
    failing = [r for r in records if not _succeeded(r)]
    if not failing:
        return None  # RFC 3464 §2.3.3: delivered / relayed / expanded only
    first = failing[0]
    recipients = _unique(r.final_recipient or r.original_recipient or "" for r in failing)
    delayed = (first.action or "") == "delayed"
    diagnostic = (first.diagnostic or "").strip()
    # The DSN's Diagnostic-Code is the server's own words; the prose around it says the
    # same in the MTA's words and is read only when the server said nothing useful.
    # The code in the server's own reply is more specific than the one the reporting
    # MTA put in Status: (Sendmail writes 5.1.1 over a "550 5.7.1 IP blacklisted").
    status = _first_status(diagnostic) or _parse_status(first.status)
    from_prose = False  # the code was read from the MTA's prose, not from the DSN fields
    if status is None or status.klass == 2:
        status = _first_status(diagnostic) or _first_status(report)
    elif status.generic and not diagnostic:
        # "Status: 5.0.0" with the server's reply only in the prose (OpenSMTPD, Exchange).
        in_report = _first_status(report)
        if in_report is not None and in_report.klass == status.klass:
            status = in_report
            from_prose = True
    reply = find_reply_code(diagnostic) if diagnostic else None
    # Without a Diagnostic-Code, a code taken from the prose comes with the server's
    # words beside the recipient (OpenSMTPD "a@b: 550 5.7.1 … spam content"): those
    # words are the diagnostic, read before the code's own meaning.
    explained = diagnostic or _explanation(report, recipients[0] if recipients else None) or ""
    opensmtpd = bounce_text.opensmtpd_error(report, recipients[0] if recipients else None)
    if opensmtpd is not None and not diagnostic:
        # OpenSMTPD's delivery-status part restates its text line with a generic code
        # ("Status: 4.0.0" under "a@b: No MX found for domain"): the line is the report.
        status, reply, delayed = _opensmtpd_verdict(opensmtpd, delayed)
        explained, from_prose = opensmtpd, True
    klass = _klass(status, reply, delayed, report)
    words = explained if from_prose else diagnostic
    reason, because = decide_reason(words, status, report)
    reason, because = _about_sender(reason, because, words, original, recipients)
    fields = [f"Action: {first.action}"] if first.action else []
    if first.status:
        fields.append(f"Status: {first.status}")
    if first.diagnostic:
        fields.append(f"Diagnostic-Code: {first.diagnostic[:200]}")
    evidence = [Evidence(where=f"part:{where}", text="; ".join(fields) or "recipient fields")]
    if because and because not in " ".join(fields):
        evidence.append(Evidence(where="diagnostic", text=because))
    return _classification(
        reason=reason,
        klass=klass,
        status=status,
        delayed=delayed,
        recipients=recipients,
        diagnostic=explained or None,
        reporting_mta=dsn.reporting_mta or bounce_text.reporting_mta(parsed, report),
        original=original,
        reply=reply,
        evidence=evidence,
    )


def _from_text(
    parsed: ParsedMessage,
    report: str,
    original: bounce_text.Original,
    sig: bounce_text.Signals,
) -> Classification:
    exclude = {a.lower() for a in original.sender}
    for address in (parsed.from_, *parsed.to, *parsed.reply_to):
        if address is not None and address.address:
            exclude.add(address.address.lower())
    header_recipients = bounce_text.addresses_in(sig.failed_header) if sig.failed_header else []
    found = bounce_text.find_recipients(report, exclude)
    if header_recipients and not found:
        found = [(a, 0) for a in header_recipients]
    recipients = [address for address, _ in found]
    if not recipients:
        recipients = [a for a in original.to if a not in exclude][:1]
    by_recipient = bounce_text.segments(report, found)
    segment = by_recipient.get(recipients[0], report) if recipients else report
    delayed = _is_delay(parsed.subject, report)
    status = _first_status(segment) or _first_status(report)
    reply = find_reply_code(segment) or find_reply_code(report)
    opensmtpd = bounce_text.opensmtpd_error(report, recipients[0] if recipients else None)
    if opensmtpd is not None:
        status, reply, delayed = _opensmtpd_verdict(opensmtpd, delayed)
    klass = _klass(status, reply, delayed, report)
    if status is None and reply is None and bounce_text.exim_gave_up_retrying(report, segment):
        klass = 4  # Exim ran out of retries on a temporary failure (no code stated)
    reason, because = decide_reason(segment, status, report)
    reason, because = _about_sender(reason, because, segment, original, recipients)
    evidence = []
    if sig.failed_header:
        evidence.append(Evidence(where="header:X-Failed-Recipients", text=sig.failed_header))
    if sig.sender:
        evidence.append(Evidence(where="header:From", text=sig.sender))
    if sig.subject:
        evidence.append(Evidence(where="header:Subject", text=sig.subject[:200]))
    if sig.report:
        evidence.append(Evidence(where="text", text=sig.report[:200]))
    if because:
        evidence.append(Evidence(where="diagnostic", text=because))
    return _classification(
        reason=reason,
        klass=klass,
        status=status,
        delayed=delayed,
        recipients=recipients,
        diagnostic=_explanation(segment, recipients[0] if recipients else None),
        reporting_mta=bounce_text.reporting_mta(parsed, report),
        original=original,
        reply=reply,
        evidence=evidence,
    )


# SES bounceSubType -> reason, when the diagnostic names none (SES developer guide,
# "Bounce types"). A suppressed address is one that bounced hard before.
_SES_SUBTYPES = {
    "NoEmail": "userunknown",
    "Suppressed": "userunknown",
    "OnAccountSuppressionList": "userunknown",
    "MailboxFull": "mailboxfull",
    "MessageTooLarge": "toobig",
    "ContentRejected": "filtered",
    "AttachmentRejected": "contenterror",
}


def _from_ses(notification: bounce_ses.SesNotification) -> Classification:
    first = notification.recipients[0] if notification.recipients else None
    diagnostic = strip_type(first.diagnostic) if first and first.diagnostic else ""
    status = _first_status(diagnostic) or _parse_status(first.status if first else None)
    reason, because = decide_reason(diagnostic, status)
    subtype = notification.bounce_subtype or ""
    if reason == "undefined" and subtype in _SES_SUBTYPES:
        reason, because = _SES_SUBTYPES[subtype], f"bounceSubType: {subtype}"
    klass = status.klass if status else (5 if notification.bounce_type == "Permanent" else 4)
    evidence = [
        Evidence(
            where="text",
            text=f"notificationType: Bounce; bounceType: {notification.bounce_type}; "
            f"bounceSubType: {subtype}",
        )
    ]
    if because and not because.startswith("bounceSubType"):
        evidence.append(Evidence(where="diagnostic", text=because))
    return _classification(
        reason=reason,
        klass=klass,
        status=status,
        delayed=False,
        recipients=_unique(r.address for r in notification.recipients),
        diagnostic=diagnostic or None,
        reporting_mta=strip_type(notification.reporting_mta)
        if notification.reporting_mta
        else None,
        original=bounce_text.Original(sender=(), to=(), message_id=notification.message_id),
        reply=find_reply_code(diagnostic) if diagnostic else None,
        evidence=evidence,
    )


# An autoresponder that says the address is gone ("This email inbox is no longer in use")
# reports a dead mailbox: a bounce in all but format (sisimai reads it so too).
_DEAD_MAILBOX = re.compile(
    r"(address|mailbox|inbox|account|e-?mail)\b.{0,60}\b(is )?no longer (in use|active|valid"
    r"|monitored|exists?|available)|(has been|was) (deactivated|closed|deleted|disabled)",
    re.IGNORECASE,
)


def _dead_mailbox_notice(parsed: ParsedMessage, report: str) -> Classification | None:
    headers = autoreply.machine_headers(parsed)
    if not headers:
        return None
    match = _DEAD_MAILBOX.search(report[:2000])
    if match is None:
        return None
    found = bounce_text.find_recipients(match[0], set())
    recipients = [found[0][0]] if found else []
    if not recipients and parsed.from_ is not None and parsed.from_.address:
        recipients = [parsed.from_.address.lower()]
    evidence = [*headers[:1], Evidence(where="text", text=match[0][:200])]
    return _classification(
        reason="suspend",
        klass=5,
        status=None,
        delayed=False,
        recipients=recipients,
        diagnostic=bounce_text.line_of(report, match.start()),
        reporting_mta=None,
        original=bounce_text.Original(sender=(), to=(), message_id=None),
        reply=None,
        evidence=evidence,
    )


def _classification(
    *,
    reason: str,
    klass: int,
    status: Status | None,
    delayed: bool,
    recipients: list[str],
    diagnostic: str | None,
    reporting_mta: str | None,
    original: bounce_text.Original,
    reply: int | None,
    evidence: list[Evidence],
) -> Classification:
    if status is not None and status.klass in (4, 5) and not delayed:
        klass = status.klass
    status_text = str(status) if status is not None else derived_status(reason, klass)
    bounce = Bounce(
        type=hard_or_soft(reason, klass, delayed),
        reason=reason,
        status=status_text,
        recipient=recipients[0] if recipients else None,
        recipients=tuple(recipients),
        diagnostic=diagnostic[:_MAX_DIAGNOSTIC] if diagnostic else None,
        reporting_mta=reporting_mta,
        original_message_id=original.message_id,
        smtp_code=reply,
        delayed=delayed,
    )
    return Classification(kind=Kind.BOUNCE, bounce=bounce, evidence=tuple(evidence))


def _about_sender(
    reason: str,
    because: str,
    diagnostic: str,
    original: bounce_text.Original,
    recipients: list[str],
) -> tuple[str, str]:
    """A "no such user / domain" that names our sender, not the recipient, refuses the sender.

    Servers that verify the envelope sender answer "550 <sender@…>: Domain is invalid";
    the recipient's address is not condemned by that.
    """
    if reason not in HARD_REASONS or not diagnostic:
        return reason, because
    # Lines that merely list a recipient ("  a@b", "<a@b>:") say nothing about it.
    lowered = "\n".join(
        line
        for line in diagnostic.lower().split("\n")
        if not any(line.strip().lstrip("<").startswith(r) for r in recipients)
    )
    if any(r in lowered for r in recipients):
        return reason, because
    named = next((s for s in original.sender if s and s in lowered), None)
    if named is None:
        return reason, because
    return "rejected", f"{because} (about the sender {named})"


def _succeeded(record: RecipientReport) -> bool:
    if record.action:
        return record.action in _SUCCESS_ACTIONS
    status = _parse_status(record.status)
    return status is not None and status.klass == 2


def _opensmtpd_verdict(line: str, delayed: bool) -> tuple[Status | None, int | None, bool]:
    """Status, reply code and delay of OpenSMTPD's line for a recipient.

    A line with the remote server's reply ("421 4.7.0 Try again later") keeps its code and
    the report's delay; a line of OpenSMTPD's own ("No MX found for domain", "Envelope
    expired") states no code, and is read as the failure it names even in a delay report
    (sisimai reads it so), its class 5.
    """
    status = _first_status(line)
    reply = find_reply_code(line)
    if status is None and reply is None:
        return None, None, False
    return status, reply, delayed


def _first_status(text: str) -> Status | None:
    statuses = find_statuses(text)
    specific = [s for s in statuses if not s.generic]
    if specific:
        return specific[0]
    return statuses[0] if statuses else None


def _klass(status: Status | None, reply: int | None, delayed: bool, report: str) -> int:
    if delayed:
        return 4
    if status is not None and status.klass in (4, 5):
        return status.klass
    if reply is not None:
        return reply // 100
    return 5


def _is_delay(subject: str, report: str) -> bool:
    head = report[:3000]
    if _DELAY.search(subject or ""):
        return True
    return bool(_DELAY.search(head)) and not _PERMANENT.search(head)


def _explanation(text: str, recipient: str | None) -> str | None:
    """What the report says about ``recipient``: its paragraph, plus any line with a code.

    The paragraph starts at the recipient's first mention and runs to the next blank line
    (qmail's ``<a@b>:`` block, Exim's indented block, Postfix's wrapped "said:" line);
    lines elsewhere that carry a reply or status code are added after it.
    """
    lines = text.split("\n")
    start = None
    if recipient:
        start = next((i for i, line in enumerate(lines) if recipient in line.lower()), None)
    paragraph: list[str] = []
    if start is not None:
        for line in lines[start:]:
            if not line.strip() and len(paragraph) > 1:
                break
            if line.strip():
                paragraph.append(line.strip())
    coded = [
        line.strip()
        for line in lines
        if line.strip()
        and line.strip() not in paragraph
        and (find_statuses(line) or find_reply_code(line))
    ]
    picked = paragraph + coded
    if not picked:
        picked = [line.strip() for line in lines if line.strip()][:6]
    out = re.sub(r"\s+", " ", " ".join(picked)).strip()
    return out or None


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and value not in out:
            out.append(value)
    return out
