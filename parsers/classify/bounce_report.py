"""RFC 3464 delivery-status fields: the machine-readable half of a standard bounce.

Responsible for: reading the per-message fields (``Reporting-MTA``, ``Arrival-Date``) and
the per-recipient fields (``Final-Recipient``, ``Original-Recipient``, ``Action``,
``Status``, ``Diagnostic-Code``, ``Remote-MTA``) from the text of a
``message/delivery-status`` part (RFC 3464 §2.2, §2.3), or from a text part that carries
the same fields (Amazon WorkMail, some Exchange and gateway bounces). Lenient on purpose:
folded lines, a missing blank line between recipients, ``<>`` around addresses, and
field names in any case are all read. It may not decide anything: ``dsn`` does.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9\-]*)\s*:\s*(.*)$")
_RECIPIENT_FIELDS = frozenset({"final-recipient", "original-recipient", "x-actual-recipient"})
# RFC 3464 §2.3 per-recipient fields (and the X- ones MTAs add there).
_PER_RECIPIENT = _RECIPIENT_FIELDS | {
    "action",
    "status",
    "diagnostic-code",
    "remote-mta",
    "last-attempt-date",
    "will-retry-until",
    "final-log-id",
    "x-supplementary-info",
    "x-display-name",
}
_ADDRESS = re.compile(r"(\"[^\"\s@]+\"|[^\s<>\"';,()\[\]]+)@[^\s<>\"';,()\[\]]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientReport:
    """One per-recipient block of a DSN (RFC 3464 §2.3); raw field values, trimmed."""

    final_recipient: str | None
    original_recipient: str | None
    action: str | None  # failed | delayed | delivered | relayed | expanded (lower-case)
    status: str | None
    diagnostic: str | None  # Diagnostic-Code without its "smtp;" type
    remote_mta: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """A whole ``message/delivery-status`` body."""

    reporting_mta: str | None
    recipients: tuple[RecipientReport, ...] = field(default=())


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines and lines[-1]:
            lines[-1] = lines[-1] + " " + raw.strip()
        else:
            lines.append(raw.rstrip())
    return lines


def strip_type(value: str) -> str:
    """``"rfc822; a@b"`` -> ``"a@b"``; ``"smtp; 550 ..."`` -> ``"550 ..."`` (RFC 3464 §2.1.2)."""
    head, sep, tail = value.partition(";")
    if sep and re.fullmatch(r"\s*[A-Za-z0-9][A-Za-z0-9\-.]*\s*", head):
        return tail.strip()
    return value.strip()


def address_of(value: str | None) -> str | None:
    """The address in a recipient field, lower-cased; None when it holds no address."""
    if not value:
        return None
    match = _ADDRESS.search(strip_type(value))
    if match is None:
        return None
    return match[0].strip(".").lower()


def parse_delivery_status(text: str) -> DeliveryReport:
    """Read every field group in ``text``; unknown fields are ignored."""
    reporting_mta: str | None = None
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}

    def close() -> None:
        nonlocal current
        if any(k in current for k in _RECIPIENT_FIELDS) or "action" in current:
            records.append(current)
        current = {}

    for line in _unfold(text):
        if not line.strip():
            close()
            continue
        match = _FIELD.match(line)
        if match is None:
            continue
        name, value = match[1].lower(), match[2].strip()
        if name == "reporting-mta" and reporting_mta is None:
            reporting_mta = strip_type(value)
            continue
        if name not in _PER_RECIPIENT:
            continue
        # A field the open record already has starts the next recipient (no blank line).
        if name in current and (name in _RECIPIENT_FIELDS or name == "action"):
            close()
        current.setdefault(name, value)
    close()
    return DeliveryReport(
        reporting_mta=reporting_mta or None,
        recipients=tuple(
            RecipientReport(
                final_recipient=address_of(r.get("final-recipient"))
                or address_of(r.get("x-actual-recipient")),
                original_recipient=address_of(r.get("original-recipient")),
                action=(r.get("action") or "").split()[0].lower() if r.get("action") else None,
                status=r.get("status"),
                diagnostic=strip_type(r["diagnostic-code"]) if r.get("diagnostic-code") else None,
                remote_mta=strip_type(r["remote-mta"]) if r.get("remote-mta") else None,
            )
            for r in records
        ),
    )
