"""Complaints: RFC 5965 feedback reports and the known non-ARF complaint formats.

Responsible for: recognising a feedback-loop report (someone marked our mail as spam, or
asked out of it through their mailbox provider) and reading from it the feedback type,
the original recipient, the source IP, the reporting user agent and the original
Message-ID, with the evidence each rests on. Formats:

* ARF, RFC 5965: ``multipart/report; report-type=feedback-report`` with a
  ``message/feedback-report`` part (§3) holding ``Feedback-Type`` (§3.1, IANA registry:
  abuse, fraud, other, virus, not-spam, auth-failure of RFC 6591, …), ``Original-Rcpt-To``,
  ``Source-IP``, ``User-Agent``, followed by the reported message or its headers.
* Outlook.com / Hotmail JMRP (Junk Mail Reporting Program): not ARF; ``staff@hotmail.com``
  sends "complaint about message from <IP>" with the reported message attached, whose
  ``X-HmXmrOriginalRecipient`` header names the complaining recipient.
* Amazon SES complaint notifications (JSON ``"notificationType": "Complaint"``).
* Apple Mail's unsubscribe-by-mail (``X-Apple-Unsubscribe: true``): a complaint of
  feedback type ``opt-out``, as feedback loops file it.

It may not look at bounces or auto-replies, and never raises on odd input. Pure: no I/O.
"""

from __future__ import annotations

import re

from parsers.classify.bounce_report import address_of
from parsers.classify.bounce_ses import from_aws, read_notification
from parsers.model import Classification, Complaint, Evidence, Kind, ParsedMessage

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9\-]*)\s*:\s*(.*)$")
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}\b")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# The JMRP subject, "complaint about message from 192.0.2.1".
_JMRP_SUBJECT = re.compile(r"complaint about message from\s+(\S+)", re.IGNORECASE)
_ORIGINAL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
# A feedback report is a dozen fields; the reported message's header block is read up
# to here: a hostile part costs a bounded time.
_MAX_FIELDS_TEXT = 64 * 1024
_REQUIRED_FIELDS = frozenset({"feedback-type", "user-agent", "version"})  # RFC 5965 §3.1
# The feedback type is a token (RFC 5965 §3.1): "abuse", "not-spam", "auth-failure"; what
# follows it (a comment, a stray ";") is not part of it.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")


def detect(parsed: ParsedMessage) -> Classification | None:
    """A ``Kind.COMPLAINT`` classification, or None."""
    return _arf(parsed) or _ses(parsed) or _jmrp(parsed) or _apple_unsubscribe(parsed)


def _fields(text: str) -> dict[str, str]:
    """Header-style fields of a report part, first occurrence wins, folded lines joined."""
    fields: dict[str, str] = {}
    last: str | None = None
    for line in text[:_MAX_FIELDS_TEXT].replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and last is not None:
            fields[last] += " " + line.strip()
            continue
        match = _FIELD.match(line.strip() if last is None else line)
        if match is None:
            last = None
            continue
        name = match[1].lower()
        if name in fields:
            last = None
            continue
        fields[name] = match[2].strip()
        last = name
    return fields


def _original(parsed: ParsedMessage) -> dict[str, str]:
    for part in parsed.parts:
        if part.content_type in _ORIGINAL_TYPES and part.text:
            return _fields(part.text[:_MAX_FIELDS_TEXT].split("\n\n", 1)[0])
    return {}


def _message_id(headers: dict[str, str]) -> str | None:
    value = headers.get("message-id")
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    return match[1] if match else value.strip() or None


def _arf(parsed: ParsedMessage) -> Classification | None:
    report = next(
        (p for p in parsed.parts if p.content_type == "message/feedback-report" and p.text),
        None,
    )
    report_type = dict(parsed.content_params).get("report-type", "").lower()
    fields = _fields(report.text or "") if report is not None else {}
    where = "part:message/feedback-report" if report is not None else "header:Content-Type"
    if report is None:
        # A feedback report whose report part was mis-labelled (text/plain, an attachment
        # type) or sent outside multipart/report: read the fields from the part that
        # carries them. Without report-type=feedback-report, all three fields RFC 5965
        # §3.1 requires (Feedback-Type, User-Agent, Version) must be there.
        for part in parsed.parts:
            head = (part.text or "")[:_MAX_FIELDS_TEXT]
            if re.search(r"^[ \t]*+Feedback-Type:", head, re.M | re.I):
                found = _fields(head)
                if report_type == "feedback-report" or found.keys() >= _REQUIRED_FIELDS:
                    fields, where = found, f"part:{part.content_type}"
                    break
        if not fields and report_type != "feedback-report":
            return None
    original = _original(parsed)
    token = _TOKEN.match(fields.get("feedback-type") or "")
    feedback_type = token[0].lower() if token else "abuse"
    recipient = address_of(fields.get("original-rcpt-to")) or address_of(
        fields.get("removal-recipient")
    )
    if recipient is None:
        recipient = address_of(original.get("to"))
    ip_match = _IP.search(fields.get("source-ip", ""))
    complaint = Complaint(
        feedback_type=feedback_type,
        original_recipient=recipient,
        source_ip=ip_match[0] if ip_match else None,
        user_agent=fields.get("user-agent") or None,
        original_message_id=_message_id(original),
        arf=True,
    )
    evidence = [
        Evidence(
            where=where,
            text=f"Feedback-Type: {fields['feedback-type']}"
            if "feedback-type" in fields
            else "multipart/report; report-type=feedback-report",
        )
    ]
    return Classification(kind=Kind.COMPLAINT, complaint=complaint, evidence=tuple(evidence))


def _ses(parsed: ParsedMessage) -> Classification | None:
    """Amazon SES complaint notifications (JSON, relayed by SNS to an e-mail subscription)."""
    text = parsed.text or ""
    if not text.lstrip().startswith("{") and not from_aws(parsed):
        return None
    notification = read_notification(text)
    if notification is None or notification.kind != "Complaint":
        return None
    complaint = Complaint(
        feedback_type=(notification.feedback_type or "abuse").lower(),
        original_recipient=notification.recipients[0].address if notification.recipients else None,
        source_ip=notification.source_ip,
        user_agent=notification.user_agent,
        original_message_id=notification.message_id,
        arf=False,
    )
    evidence = (
        Evidence(
            where="text",
            text="notificationType: Complaint; complaintFeedbackType: "
            f"{notification.feedback_type or 'none'}",
        ),
    )
    return Classification(kind=Kind.COMPLAINT, complaint=complaint, evidence=evidence)


def _jmrp(parsed: ParsedMessage) -> Classification | None:
    subject_match = _JMRP_SUBJECT.search(parsed.subject or "")
    original = _original(parsed)
    marker = original.get("x-hmxmroriginalrecipient")
    if marker is None and subject_match is None:
        return None
    if marker is None and not original:
        return None  # a subject alone, with no reported message attached, is not enough
    evidence = []
    if subject_match is not None:
        evidence.append(Evidence(where="header:Subject", text=parsed.subject[:200]))
    if marker is not None:
        evidence.append(
            Evidence(where="part:message/rfc822", text=f"X-HmXmrOriginalRecipient: {marker}")
        )
    ip_match = _IP.search(subject_match[1]) if subject_match else None
    complaint = Complaint(
        feedback_type="abuse",
        original_recipient=address_of(marker) or address_of(original.get("to")),
        source_ip=ip_match[0] if ip_match else None,
        user_agent=None,
        original_message_id=_message_id(original),
        arf=False,
    )
    return Classification(kind=Kind.COMPLAINT, complaint=complaint, evidence=tuple(evidence))


def _apple_unsubscribe(parsed: ParsedMessage) -> Classification | None:
    value = parsed.header("X-Apple-Unsubscribe")
    if value is None or value.strip().lower() != "true":
        return None
    recipient = parsed.from_.address.lower() if parsed.from_ and parsed.from_.address else None
    complaint = Complaint(
        feedback_type="opt-out",
        original_recipient=recipient,
        source_ip=None,
        user_agent="Apple Mail",
        original_message_id=parsed.in_reply_to,
        arf=False,
    )
    evidence = (Evidence(where="header:X-Apple-Unsubscribe", text=value.strip()),)
    return Classification(kind=Kind.COMPLAINT, complaint=complaint, evidence=evidence)
