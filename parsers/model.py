"""The values the pure core hands out: frozen, slotted, JSON-ready through ``to_dict()``.

Everything a parser or classifier decides ends up in one of these types. They hold no
behaviour beyond turning themselves into plain JSON values, so the service can put them
in an event (DESIGN §5) without knowing how they were computed. Malformed input is never
an exception here: it becomes a line in ``ParsedMessage.defects``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a message *is*, in DESIGN §7's order of precedence (complaint first)."""

    MESSAGE = "message"  # ordinary mail, not an answer to anything
    REPLY = "reply"  # a person's answer to earlier mail (In-Reply-To, References, "Re:")
    UNSUBSCRIBE = "unsubscribe"  # a request to stop receiving mail, and nothing more
    DATA_REQUEST = "data_request"  # a data-subject request (GDPR, CCPA/CPRA, LGPD)
    BOUNCE = "bounce"  # a delivery status notification for mail that failed or is delayed
    AUTO_REPLY = "auto_reply"  # a machine's answer: vacation, autoresponder, read receipt
    COMPLAINT = "complaint"  # a feedback-loop spam report (RFC 5965 ARF and kin)


class RequestType(StrEnum):
    """The one vocabulary of ``classification.requests[].type`` (DESIGN §7)."""

    UNSUBSCRIBE = "unsubscribe"  # stop sending me mail
    ACCESS = "access"  # GDPR Art. 15; CCPA right to know; LGPD Art. 18 II
    RECTIFICATION = "rectification"  # GDPR Art. 16; CPRA right to correct; LGPD Art. 18 III
    ERASURE = "erasure"  # GDPR Art. 17; CCPA right to delete; LGPD Art. 18 VI
    RESTRICTION = "restriction"  # GDPR Art. 18
    PORTABILITY = "portability"  # GDPR Art. 20; LGPD Art. 18 V
    OBJECTION = "objection"  # GDPR Art. 21 (incl. direct marketing, 21(2))
    WITHDRAW_CONSENT = "withdraw_consent"  # GDPR Art. 7(3); LGPD Art. 18 IX
    OPT_OUT_SALE = "opt_out_sale"  # CCPA/CPRA: do not sell or share
    LIMIT_SENSITIVE = "limit_sensitive"  # CPRA: limit use of sensitive personal information


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """One mailbox from an address header; ``name`` is "" when the header gave none."""

    name: str
    address: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address}


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A part that is not the message's text or HTML body."""

    filename: str | None
    content_type: str
    size: int
    sha256: str
    content_id: str | None  # without the angle brackets
    inline: bool  # Content-Disposition: inline (or an inline image referenced by cid:)
    content: bytes = field(repr=False)
    # For a nested message/rfc822: a summary of the forwarded message's own headers.
    message: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Metadata only: the service decides whether content travels inline or by URL."""
        out: dict[str, Any] = {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "content_id": self.content_id,
            "inline": self.inline,
        }
        if self.message is not None:
            out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """A leaf of the MIME tree as classifiers need it (not part of the event).

    ``text`` is the decoded body for textual parts, including the machine-readable report
    parts (``message/delivery-status``, ``message/feedback-report``,
    ``text/rfc822-headers``, ``message/disposition-notification``) and, for
    ``message/rfc822``, the enclosed message as text. ``None`` for binary parts.
    """

    content_type: str  # lower-case "type/subtype"
    params: tuple[tuple[str, str], ...]  # Content-Type parameters, names lower-case
    headers: tuple[tuple[str, str], ...]  # the part's own headers, in order, decoded
    text: str | None
    depth: int  # 0 for the top-level entity


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedMessage:
    """Everything ``parsers.parse`` reads from one message, decoded to valid UTF-8."""

    message_id: str | None  # without angle brackets
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None  # timezone-aware, from the Date header
    subject: str
    from_: Address | None
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    headers: tuple[tuple[str, str], ...]  # in order, duplicates kept, RFC 2047 decoded
    content_type: str  # top-level, lower-case "type/subtype"
    content_params: tuple[tuple[str, str], ...]  # top-level Content-Type parameters
    text: str  # the text/plain body ("" when none; derived from HTML when only HTML)
    html: str | None
    stripped_text: str  # the new text of a reply: no quote, attribution or signature
    signature: str | None
    attachments: tuple[Attachment, ...]
    parts: tuple[Part, ...] = field(repr=False)
    defects: tuple[str, ...]

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    def to_dict(self) -> dict[str, Any]:
        """The message fields of the event's ``data`` (DESIGN §5), without service fields."""
        return {
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "date": _iso(self.date),
            "subject": self.subject,
            "from": self.from_.to_dict() if self.from_ else None,
            "to": [a.to_dict() for a in self.to],
            "cc": [a.to_dict() for a in self.cc],
            "reply_to": [a.to_dict() for a in self.reply_to],
            "headers": [[k, v] for k, v in self.headers],
            "text": self.text,
            "html": self.html,
            "stripped_text": self.stripped_text,
            "signature": self.signature,
            "attachments": [a.to_dict() for a in self.attachments],
            "defects": list(self.defects),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What a decision rests on: a header, a report field, or words of the new text."""

    where: str  # "header:Auto-Submitted", "part:message/delivery-status", "stripped_text", …
    text: str
    start: int | None = None  # offsets in stripped_text when where == "stripped_text"
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"where": self.where, "text": self.text}
        if self.start is not None:
            out["start"] = self.start
            out["end"] = self.end
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One request found in a person's words (DESIGN §7)."""

    type: RequestType
    law: str | None = None  # "GDPR", "UK GDPR", "CCPA", "CPRA", "LGPD", … when it can be told
    article: str | None = None  # e.g. "17", "7(3)", "1798.105"
    reminder: bool = False  # a follow-up of an earlier, unanswered request
    # A complaint about the request to a supervisory authority (GDPR Art. 77), copied to us.
    escalation: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": str(self.type), "law": self.law, "article": self.article}
        if self.reminder:
            out["reminder"] = True
        if self.escalation:
            out["escalation"] = True
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce:
    """A failed (or delayed) delivery reported back to the sender."""

    type: str  # "hard" (suppress the address) or "soft" (try again later)
    reason: str  # vocabulary in parsers/classify/dsn.py: userunknown, mailboxfull, …
    status: str | None  # RFC 3463 enhanced status code, e.g. "5.1.1"
    recipient: str | None  # the (first) failed recipient
    recipients: tuple[str, ...] = ()  # all failed recipients
    diagnostic: str | None = None
    reporting_mta: str | None = None
    original_message_id: str | None = None
    smtp_code: int | None = None
    delayed: bool = False  # a "delayed" DSN: still being retried by the reporting MTA

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "reason": self.reason,
            "status": self.status,
            "recipient": self.recipient,
            "recipients": list(self.recipients),
            "diagnostic": self.diagnostic,
            "reporting_mta": self.reporting_mta,
            "original_message_id": self.original_message_id,
            "smtp_code": self.smtp_code,
            "delayed": self.delayed,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Complaint:
    """A feedback-loop report: someone marked our mail as spam (RFC 5965)."""

    feedback_type: str  # abuse, fraud, virus, other, not-spam, …
    original_recipient: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    original_message_id: str | None = None
    arf: bool = True  # False for the non-ARF formats (e.g. Hotmail JMRP)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feedback_type": self.feedback_type,
            "original_recipient": self.original_recipient,
            "source_ip": self.source_ip,
            "user_agent": self.user_agent,
            "original_message_id": self.original_message_id,
            "arf": self.arf,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoReply:
    """A machine's answer (RFC 3834) or a read receipt (RFC 8098)."""

    type: str  # vacation, autoresponder, auto_generated, read_receipt (classify/autoreply.py)
    # The message answered: MDN Original-Message-ID (RFC 8098 §3.2.5), else In-Reply-To.
    original_message_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "original_message_id": self.original_message_id}


@dataclass(frozen=True, slots=True, kw_only=True)
class Hints:
    """What the service knows that the message does not say (no lookups in the core)."""

    rcpt_to: tuple[str, ...] = ()
    mailbox_hash: str | None = None
    # Addresses (lower-case) that mean "unsubscribe" when mail is sent to them.
    unsubscribe_addresses: tuple[str, ...] = ()
    # Days to answer a data-subject request, per law ("GDPR" -> 30 …); None = defaults.
    deadlines_days: tuple[tuple[str, int], ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """The answer of ``parsers.classify``: one kind, and what it rests on."""

    kind: Kind
    requests: tuple[Request, ...] = ()
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    auto_reply: AutoReply | None = None
    language: str | None = None  # ISO 639-1 of the new text, when detected
    confidence: float | None = None
    due_by: datetime | None = None  # received_at + the law's deadline
    unsubscribe_token: str | None = None  # from unsubscribe+<token>@… addresses
    evidence: tuple[Evidence, ...] = ()
    # Set by the service after SPF/DKIM/DMARC (DESIGN §12): True = an aligned pass for the
    # From domain, False = none, None = not checked or a DNS failure. Never set here.
    sender_verified: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "requests": [r.to_dict() for r in self.requests],
            "bounce": self.bounce.to_dict() if self.bounce else None,
            "complaint": self.complaint.to_dict() if self.complaint else None,
            "auto_reply": self.auto_reply.to_dict() if self.auto_reply else None,
            "language": self.language,
            "confidence": self.confidence,
            "due_by": _iso(self.due_by),
            "unsubscribe_token": self.unsubscribe_token,
            "evidence": [e.to_dict() for e in self.evidence],
            "sender_verified": self.sender_verified,
        }
