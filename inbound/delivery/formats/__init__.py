"""Payload formats per route (DESIGN §11): what one delivery POSTs, and with which headers.

``inbound`` (default) is the event of DESIGN §5 as signed JSON; ``postmark`` is Postmark's
inbound JSON, so receivers written for Postmark (django-anymail, Action Mailbox,
laravel-mailbox) take inbound unchanged; ``raw`` is the message itself as
``message/rfc822`` (Action Mailbox's relay ingress). Every format carries the Standard
Webhooks headers (the ``webhook-id`` is the job id: a receiver's idempotency key) and, when
the route's URL has ``user:password@``, HTTP Basic auth; the userinfo is taken out of the
URL before anything sees it, so it is never logged. Pure: values in, a request out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inbound.delivery import signing
from inbound.delivery.formats import basic_auth, postmark


class Format(StrEnum):
    """What a route's webhook receives."""

    INBOUND = "inbound"  # the event of DESIGN §5 (application/json, Standard Webhooks)
    POSTMARK = "postmark"  # Postmark's inbound webhook JSON (application/json)
    RAW = "raw"  # the message as received (message/rfc822)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    url: str  # without userinfo
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What one job sends: the route's choices and this job's identity."""

    format: Format
    url: str  # as configured, userinfo and all
    secrets: tuple[str, ...]
    job_id: str
    timestamp: int  # webhook-timestamp, from the wall clock
    raw_email: bool = False  # postmark: add RawEmail


def render(
    delivery: Delivery,
    *,
    event: dict[str, Any],
    event_body: bytes,
    raw: bytes,
    contents: Sequence[bytes] = (),
) -> Request:
    """The request for one attempt; ``event_body`` is ``events.encode(event)``.

    ``contents`` are the attachments' bytes (the Postmark format carries them all inline).
    """
    url, auth = basic_auth.split(delivery.url)
    if delivery.format is Format.POSTMARK:
        payload = postmark.build(
            event["data"],
            job_id=delivery.job_id,
            contents=contents,
            raw=raw if delivery.raw_email else None,
        )
        body = postmark.encode(payload)
        content_type = "application/json"
    elif delivery.format is Format.RAW:
        body, content_type = raw, "message/rfc822"
    else:
        body, content_type = event_body, "application/json"
    headers = signing.headers(list(delivery.secrets), delivery.job_id, delivery.timestamp, body)
    headers["content-type"] = content_type
    if auth is not None:
        headers["authorization"] = auth
    return Request(url=url, body=body, headers=headers)


def public_url(url: str) -> str:
    """The URL without its userinfo: what logs and the admin page may show."""
    return basic_auth.split(url)[0]
