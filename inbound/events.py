"""Pure: parsed message + classification + envelope + storage refs -> the event (DESIGN §5).

The event is the product's public contract: ``schema/event.v1.json`` describes it and
every event the tests produce is validated against it. Shape: a Standard Webhooks
envelope ``{"type": "inbound.message", "timestamp": …, "data": {…}}``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from inbound.auth.model import Authentication, Spam
from inbound.outbox.model import Envelope
from parsers import Classification, ParsedMessage

EVENT_TYPE = "inbound.message"
# 2 added ``authentication``, ``spam`` and ``classification.sender_verified`` (DESIGN §12);
# nothing was removed or changed, so a reader of version 1 reads version 2.
SCHEMA_VERSION = 2


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class RawRef:
    key: str | None  # None when the message was not stored (``inbound parse``)
    size: int
    sha256: str
    expires_at: datetime | None
    url: str | None = None  # presigned GET, when the route asks for it


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentPolicy:
    inline_limit: int  # bytes: larger attachments travel by URL (or not at all)
    urls: dict[int, str] = field(default_factory=dict)  # index -> presigned URL


def build(
    parsed: ParsedMessage,
    classification: Classification,
    *,
    message_id: str,
    received_at: datetime,
    route: str | None,
    envelope: Envelope,
    mailbox_hash: str | None,
    raw: RawRef,
    attachments: AttachmentPolicy,
    authentication: Authentication | None = None,  # None: not checked (``inbound parse``)
    spam: Spam | None = None,
) -> dict[str, Any]:
    message = parsed.to_dict()
    out_attachments = []
    for index, (att, meta) in enumerate(
        zip(parsed.attachments, message["attachments"], strict=True)
    ):
        inline = att.size <= attachments.inline_limit
        meta = dict(meta)
        meta["content"] = base64.b64encode(att.content).decode("ascii") if inline else None
        meta["url"] = None if inline else attachments.urls.get(index)
        out_attachments.append(meta)
    data: dict[str, Any] = {
        "id": message_id,
        "schema_version": SCHEMA_VERSION,
        "received_at": _iso(received_at),
        "route": route,
        "envelope": envelope.to_dict(),
        "message_id": message["message_id"],
        "in_reply_to": message["in_reply_to"],
        "references": message["references"],
        "date": message["date"],
        "subject": message["subject"],
        "from": message["from"],
        "to": message["to"],
        "cc": message["cc"],
        "reply_to": message["reply_to"],
        "mailbox_hash": mailbox_hash,
        "headers": message["headers"],
        "text": message["text"],
        "html": message["html"],
        "stripped_text": message["stripped_text"],
        "signature": message["signature"],
        "attachments": out_attachments,
        "classification": classification.to_dict(),
        "authentication": None if authentication is None else authentication.to_dict(),
        "spam": None if spam is None else spam.to_dict(),
        "raw": {
            "key": raw.key,
            "size": raw.size,
            "sha256": raw.sha256,
            "expires_at": None if raw.expires_at is None else _iso(raw.expires_at),
            "url": raw.url,
        },
        "defects": message["defects"],
    }
    return {"type": EVENT_TYPE, "timestamp": _iso(received_at), "data": data}


def encode(event: dict[str, Any]) -> bytes:
    """The exact bytes we sign and send: compact UTF-8 JSON."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def schema() -> dict[str, Any]:
    """The published JSON Schema of the event (inbound/schema/event.v1.json)."""
    text = resources.files("inbound").joinpath("schema/event.v1.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
