"""Pure key layout (DESIGN §4): readable in any S3 console, dated for expiry by prefix.

{prefix}raw/YYYY/MM/DD/{id}.eml
{prefix}events/YYYY/MM/DD/{id}.json
{prefix}attachments/{id}/{n}-{safe filename}
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

RAW = "raw/"
EVENTS = "events/"
ATTACHMENTS = "attachments/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# accept.new_message_id: "msg_" + 26 lowercase Crockford base-32 characters.
_MESSAGE_ID = re.compile(r"(?:^|/)(msg_[0-9a-hjkmnp-tv-z]{26})(?:[./]|$)")
_MAX_NAME = 100


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y/%m/%d")


def raw_key(message_id: str, received_at: datetime, prefix: str = "") -> str:
    return f"{prefix}{RAW}{_day(received_at)}/{message_id}.eml"


def event_key(message_id: str, received_at: datetime, prefix: str = "") -> str:
    return f"{prefix}{EVENTS}{_day(received_at)}/{message_id}.json"


def attachment_key(message_id: str, index: int, filename: str | None, prefix: str = "") -> str:
    return f"{prefix}{ATTACHMENTS}{message_id}/{index}-{safe_filename(filename)}"


def message_id_of(key: str) -> str | None:
    """The message id a raw, event or attachment key belongs to (None: not one of ours)."""
    found = _MESSAGE_ID.search(key)
    return None if found is None else found.group(1)


def safe_filename(filename: str | None) -> str:
    """ASCII letters, digits, '.', '_' and '-' only; never empty, never a dot path."""
    text = unicodedata.normalize("NFKD", filename or "").encode("ascii", "ignore").decode()
    text = _UNSAFE.sub("_", text).strip("._") or "attachment"
    return text[-_MAX_NAME:]
