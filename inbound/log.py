"""Logging setup, and the filter that keeps addresses out of every log line (DESIGN §8).

Log calls in inbound never pass subjects; addresses may slip in through arguments or
exception text, so a filter on the root handler masks anything address-shaped
(``j***@example.com``) after formatting. Identifiers (msg_…, evt_…) are how log lines
refer to mail.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

_ADDRESS = re.compile(r"([A-Za-z0-9._%+\-=']{1,64})@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")


def mask_address(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _mask(text: str) -> str:
    return _ADDRESS.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)


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


def setup(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Send logs to ``stream`` (stderr) through the privacy filter; return the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiosmtpd logs peers' commands (with addresses) at INFO/DEBUG; we log our own lines.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "botocore", "boto3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # flanker's address grammar (ply) warns about unreachable symbols at every import.
    logging.getLogger("flanker").setLevel(logging.ERROR)
    return handler
