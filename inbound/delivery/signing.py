"""Standard Webhooks signatures (DESIGN §6): HMAC-SHA256 over ``id.timestamp.body``.

The secret is ``whsec_`` + base64 of the key bytes; the signature header is
``v1,<base64>``, one per secret, space-separated during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105  (a format prefix, not a secret)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    prefix = f"{msg_id}.{timestamp}.".encode()
    return " ".join("v1," + base64.b64encode(_mac(_key(s), prefix, body)).decode() for s in secrets)


def _mac(key: bytes, prefix: bytes, body: bytes) -> bytes:
    """HMAC of prefix + body without building that concatenation (a copy of a big body)."""
    mac = hmac.new(key, prefix, hashlib.sha256)
    mac.update(body)
    return mac.digest()


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }
