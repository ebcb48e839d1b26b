"""Amazon SES notifications: bounces, complaints and deliveries as JSON in a mail body.

Responsible for: finding an SES notification (``{"notificationType": "Bounce" | "Complaint"
| "Delivery", ...}``, as SES sends it to an e-mail subscription of its SNS topic, possibly
wrapped in the SNS envelope ``{"Type": "Notification", "Message": "<json>"}``) in a message's
text, and handing back its recipients and fields as plain values. Field names are those of
the SES developer guide, "Contents of notifications for Amazon SES". It decides nothing:
``dsn`` turns a bounce into a ``Bounce``, ``arf`` a complaint into a ``Complaint``; a
"Delivery" notification is a success report and no bounce. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from parsers.model import ParsedMessage

_START = re.compile(r"\{\s*\"(notificationType|Type|eventType)\"")
_KINDS = frozenset({"Bounce", "Complaint", "Delivery"})
# A notification is the body itself (or follows a line of SNS text): only the first few
# "{" that open one are tried, each decode being a scan to the end of a broken object,
# and the text is read up to a size no notification reaches (they are a few KiB).
_MAX_STARTS = 4
_MAX_TEXT = 256 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class SesRecipient:
    """One entry of ``bouncedRecipients`` / ``complainedRecipients``."""

    address: str
    status: str | None = None
    diagnostic: str | None = None
    action: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SesNotification:
    """The fields of one notification that classifiers use."""

    kind: str  # Bounce | Complaint | Delivery
    recipients: tuple[SesRecipient, ...]
    bounce_type: str | None = None  # Permanent | Transient | Undetermined
    bounce_subtype: str | None = None  # General, NoEmail, MailboxFull, ContentRejected, …
    feedback_type: str | None = None  # complaintFeedbackType: abuse, fraud, virus, …
    user_agent: str | None = None
    reporting_mta: str | None = None
    source_ip: str | None = None
    message_id: str | None = None


# The senders of SES notifications: SNS's e-mail subscriptions and SES itself.
_AWS_SENDER = re.compile(r"@(\S+\.)?(amazonaws\.com|amazonses\.com)$", re.IGNORECASE)


def from_aws(parsed: ParsedMessage) -> bool:
    """The message comes from SNS or SES, whose notification may follow a line of text."""
    address = parsed.from_.address if parsed.from_ is not None else None
    return bool(address and _AWS_SENDER.search(address))


def _decode(text: str) -> dict[str, Any] | None:
    # strict=False: SNS folds long lines inside JSON strings ("…!\n …").
    decoder = json.JSONDecoder(strict=False)
    text = text[:_MAX_TEXT]
    for tried, match in enumerate(_START.finditer(text)):
        if tried >= _MAX_STARTS:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):  # broken, or nested deeper than the stack
            continue
        if not isinstance(value, dict):
            continue
        inner = value.get("Message")
        if value.get("Type") == "Notification" and isinstance(inner, str):
            try:
                value = json.loads(inner, strict=False)
            except (ValueError, RecursionError):
                continue
            if not isinstance(value, dict):
                continue
        return value
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def read_notification(text: str) -> SesNotification | None:
    """The SES notification in ``text``, or None when there is none."""
    if "notificationType" not in text and "eventType" not in text:
        return None
    data = _decode(text)
    if data is None:
        return None
    kind = data.get("notificationType") or data.get("eventType")
    if kind not in _KINDS:
        return None
    mail = _object(data.get("mail"))
    headers = _object(mail.get("commonHeaders"))
    message_id = _text(headers.get("messageId")) or _text(mail.get("messageId"))
    if message_id:
        message_id = message_id.strip("<>")
    section = _object(data.get(str(kind).lower()))
    key = {
        "Bounce": "bouncedRecipients",
        "Complaint": "complainedRecipients",
        "Delivery": "recipients",
    }[str(kind)]
    recipients: list[SesRecipient] = []
    for entry in section.get(key) or []:
        if isinstance(entry, dict) and _text(entry.get("emailAddress")):
            recipients.append(
                SesRecipient(
                    address=str(entry["emailAddress"]).lower(),
                    status=_text(entry.get("status")),
                    diagnostic=_text(entry.get("diagnosticCode")),
                    action=_text(entry.get("action")),
                )
            )
        elif isinstance(entry, str):
            recipients.append(SesRecipient(address=entry.lower()))
    return SesNotification(
        kind=str(kind),
        recipients=tuple(recipients),
        bounce_type=_text(section.get("bounceType")),
        bounce_subtype=_text(section.get("bounceSubType")),
        feedback_type=_text(section.get("complaintFeedbackType")),
        user_agent=_text(section.get("userAgent")),
        reporting_mta=_text(section.get("reportingMTA")),
        source_ip=_text(mail.get("sourceIp")),
        message_id=message_id,
    )
