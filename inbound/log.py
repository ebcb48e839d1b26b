"""Logging setup, and the filter that keeps addresses out of every log line (DESIGN §8).

Log calls in inbound never pass subjects; addresses may slip in through arguments or
exception text, so a filter on the root handler masks anything address-shaped after
formatting: ``j***@***.com`` names neither the person nor their (possibly personal)
domain, for UTF-8 addresses (RFC 6531) and quoted local parts too. Identifiers (msg_…,
evt_…) are how log lines refer to mail.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

# Any RFC 5321/6531 address: a quoted local part or one of any non-special characters
# (UTF-8 included), then a domain of Unicode labels or an address literal. Bounded
# repetitions only, so a long line without "@" costs linear time.
_ADDRESS = re.compile(
    r'(?:"[^"\r\n]{0,64}"|[^\s@<>()\[\]\\,;:"]{1,64})'
    r"@"
    r"(?:\[[^\]\s]{1,64}\]|(?:[\w\-]{1,63}[.\uff0e\u3002\uff61]){0,16}([\w\-]{1,63}))",
)


def mask_address(address: str) -> str:
    """``j***@***.de``: the first letter of the local part and the top-level domain at
    most, which neither names a person nor their (possibly personal) domain."""
    match = _ADDRESS.fullmatch(address.strip())
    if match is None:
        return "***"
    return _masked(match)


def _masked(match: re.Match[str]) -> str:
    local = match.group(0).rpartition("@")[0]
    first = local[:1] if local[:1].isascii() and local[:1].isalnum() else ""
    tld = match.group(1)
    if tld is None or tld == match.group(0).rpartition("@")[2]:
        return f"{first}***@***"  # an address literal, or a domain of one label
    return f"{first}***@***.{tld}"


def _mask(text: str) -> str:
    if "@" not in text and "\uff20" not in text:
        return text
    return _ADDRESS.sub(_masked, text.replace("\uff20", "@"))


class PrivacyFilter(logging.Filter):
    """Masks addresses in the rendered message and in exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = _mask(message), None
        if record.exc_text:
            record.exc_text = _mask(record.exc_text)
        return True


def setup(
    level: str = "INFO", stream: TextIO | None = None, *, log_format: str = "text"
) -> logging.Handler:
    """Send logs to ``stream`` (stderr) through the privacy filter; return the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        from inbound.log_json import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiosmtpd logs peers' commands (with addresses) at INFO/DEBUG; we log our own lines.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    for noisy in ("aiohttp", "botocore", "boto3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # flanker's address grammar (ply) warns about unreachable symbols at every import.
    logging.getLogger("flanker").setLevel(logging.ERROR)
    return handler
