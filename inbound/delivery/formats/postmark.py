"""Postmark's inbound webhook JSON, built from inbound's event (DESIGN §11).

The field names and shapes are Postmark's, so receivers written for it (django-anymail's
``PostmarkInboundWebhookView``, Rails Action Mailbox's Postmark ingress, laravel-mailbox)
read inbound's POSTs unchanged:

* ``From``/``FromName``/``FromFull``; ``To``/``Cc`` as header-style strings with ``ToFull``/
  ``CcFull`` lists of ``{Email, Name, MailboxHash}``; ``Bcc``/``BccFull``: this route's
  envelope recipients that appear in neither To nor Cc.
* ``OriginalRecipient``: the envelope recipient as the sender wrote it (the +tag kept);
  ``MailboxHash``: its tag.
* ``MessageID``: a UUID derived from the job id, so it is the same on every retry (an
  idempotency key, like Postmark's); the message's own Message-ID stays in ``Headers``.
* ``Headers``: ``Return-Path`` (the envelope sender) first, then ``Received-SPF`` when the
  worker checked SPF and ``X-Spam-Status``/``X-Spam-Score``/``X-Spam-Tests`` when a spam
  verdict exists (as Postmark adds them), then the message's headers without the ones
  given as fields (From, To, Cc, Bcc, Subject, Date, Reply-To). The sender's own
  Return-Path, Received-SPF and X-Spam-* lines are dropped: a receiver reading them would
  trust what the sender wrote.
* ``Attachments``: every attachment inline as base64, whatever its size, because the
  format has no URLs. ``ContentID`` only for inline parts (null otherwise). A receiver
  must take bodies up to about 1.37 x ``server.max_message_bytes``; one that cannot
  answers 413 and the delivery is retried, then fails and can be redelivered by hand.
* ``RawEmail`` (route ``raw_email = true``): the message as text, with our Received-SPF
  and X-Spam-* lines on top (UTF-8; bytes that are not UTF-8 become U+FFFD, so a receiver
  that needs exact bytes uses ``format = "raw"``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

# Header lines Postmark gives as fields of their own, never repeated in Headers.
_AS_FIELDS = frozenset({"from", "to", "cc", "bcc", "subject", "date", "reply-to"})
# Lines only the receiving server may write; the sender's copies are not passed on.
_OURS = frozenset({"return-path", "received-spf", "x-spam-status", "x-spam-score", "x-spam-tests"})
_NAMESPACE = uuid.UUID("1f0c7b52-3c2e-4c5e-9a57-6f2d0e1b9a11")  # inbound's job-id UUIDs


def mailbox_hash(address: str) -> str:
    local = address.partition("@")[0]
    return local.partition("+")[2]


def _full(entry: dict[str, Any]) -> dict[str, str]:
    email = entry.get("address") or ""
    return {"Email": email, "Name": entry.get("name") or "", "MailboxHash": mailbox_hash(email)}


def _line(entries: Sequence[dict[str, Any]]) -> str:
    out = []
    for entry in entries:
        email, name = entry.get("address") or "", entry.get("name") or ""
        if name:
            quoted = name.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'"{quoted}" <{email}>')
        else:
            out.append(email)
    return ", ".join(out)


def message_uuid(job_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, job_id))


def build(
    data: dict[str, Any],
    *,
    job_id: str,
    contents: Sequence[bytes],
    raw: bytes | None = None,
) -> dict[str, Any]:
    """Postmark's JSON for one delivery; ``contents[i]`` is attachment i's bytes."""
    envelope = data.get("envelope") or {}
    rcpts: list[str] = list(envelope.get("rcpt_to") or [])
    sender = data.get("from") or {"name": "", "address": ""}
    to, cc = list(data.get("to") or []), list(data.get("cc") or [])
    shown = {(e.get("address") or "").lower() for e in to + cc}
    bcc = [{"name": "", "address": r} for r in rcpts if r.lower() not in shown]
    original = rcpts[0] if rcpts else ""
    out: dict[str, Any] = {
        "FromName": sender.get("name") or "",
        "MessageStream": "inbound",
        "From": sender.get("address") or "",
        "FromFull": _full(sender),
        "To": _line(to),
        "ToFull": [_full(e) for e in to],
        "Cc": _line(cc),
        "CcFull": [_full(e) for e in cc],
        "Bcc": _line(bcc),
        "BccFull": [_full(e) for e in bcc],
        "OriginalRecipient": original,
        "ReplyTo": _line(list(data.get("reply_to") or [])),
        "Subject": data.get("subject") or "",
        "MessageID": message_uuid(job_id),
        "Date": _date(data),
        "MailboxHash": data.get("mailbox_hash") or mailbox_hash(original),
        "TextBody": data.get("text") or "",
        "HtmlBody": data.get("html") or "",
        "StrippedTextReply": data.get("stripped_text") or "",
        "Tag": "",
        "Headers": _headers(data, original),
        "Attachments": _attachments(data.get("attachments") or [], contents),
    }
    if raw is not None:
        # Our verdict lines go on top, as a receiving server adds them, so a reader of
        # RawEmail finds them before any the sender wrote.
        ours = "".join(
            f"{h['Name']}: {h['Value']}\r\n"
            for h in out["Headers"]
            if h["Name"].lower() in _OURS - {"return-path"}
        )
        out["RawEmail"] = ours + raw.decode("utf-8", errors="replace")
    return out


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _date(data: dict[str, Any]) -> str:
    for name, value in data.get("headers") or []:
        if name.lower() == "date":
            return str(value)
    received = datetime.fromisoformat(str(data["received_at"]).replace("Z", "+00:00"))
    return format_datetime(received)


def _headers(data: dict[str, Any], original: str) -> list[dict[str, str]]:
    envelope = data.get("envelope") or {}
    mail_from = envelope.get("mail_from") or ""
    out = [{"Name": "Return-Path", "Value": f"<{mail_from}>"}]
    spf = (data.get("authentication") or {}).get("spf")
    if isinstance(spf, dict) and spf.get("result"):
        result = str(spf["result"])
        out.append(
            {
                "Name": "Received-SPF",
                "Value": f"{result.capitalize()} (SPF {result} for {spf.get('domain') or '-'})"
                f" identity=mailfrom; client-ip={envelope.get('remote_ip') or ''};"
                f" helo={envelope.get('helo') or ''}; envelope-from={mail_from};"
                f" receiver={original}",
            }
        )
    spam = data.get("spam")
    if isinstance(spam, dict) and spam.get("score") is not None:
        symbols = spam.get("symbols") or []
        names = sorted(symbols) if isinstance(symbols, dict) else [str(s) for s in symbols]
        out.append({"Name": "X-Spam-Status", "Value": "Yes" if spam.get("is_spam") else "No"})
        out.append({"Name": "X-Spam-Score", "Value": f"{float(spam['score']):.1f}"})
        out.append({"Name": "X-Spam-Tests", "Value": ",".join(names)})
    for name, value in data.get("headers") or []:
        lower = str(name).lower()
        if lower in _AS_FIELDS or lower in _OURS:
            continue
        out.append({"Name": str(name), "Value": str(value)})
    return out


def _attachments(
    entries: Sequence[dict[str, Any]], contents: Sequence[bytes]
) -> list[dict[str, Any]]:
    out = []
    for entry, content in zip(entries, contents, strict=True):
        item: dict[str, Any] = {
            "Name": entry.get("filename") or "",
            "Content": base64.b64encode(content).decode("ascii"),
            "ContentType": entry.get("content_type") or "application/octet-stream",
            "ContentLength": len(content),
        }
        item["ContentID"] = entry.get("content_id") if entry.get("inline") else None
        out.append(item)
    return out
