"""Trace headers for the stored message (RFC 5321 §4.4): ``Return-Path`` and ``Received``.

Every MTA adds them at delivery: the envelope sender, then one ``Received:`` stamp naming
the client's HELO and IP, this server, the protocol (RFC 3848 / RFC 6531 §4.3 "with"
keywords), the TLS version and cipher, the queue id (our message id) and the time. Like
Postfix, ``for <address>`` appears only with a single recipient, so a stamp never lists a
message's other (Bcc) recipients. Pure: values in, header bytes out.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime

# What a HELO name may print as in the stamp; anything else (spaces, parentheses, which
# would end the comment early) becomes "?". A HELO argument is one line without NUL
# and valid UTF-8 by the time it gets here (server.py checks every command).
_HELO_UNSAFE = re.compile(r"[^\w.:\[\]-]")


def headers(
    *,
    mail_from: str,
    rcpt_to: tuple[str, ...],
    helo: str | None,
    remote_ip: str | None,
    hostname: str,
    esmtp: bool,
    smtputf8: bool,
    tls: tuple[str, str, int] | None,
    queue_id: str,
    received_at: datetime,
) -> bytes:
    """``Return-Path:`` and ``Received:`` lines, CRLF-terminated, to put before the message."""
    helo_text = _HELO_UNSAFE.sub("?", helo) if helo else "unknown"
    ip = remote_ip or "unknown"
    protocol = ("UTF8SMTP" if smtputf8 else "ESMTP" if esmtp else "SMTP") + ("S" if tls else "")
    lines = [f"Received: from {helo_text} ([{ip}])"]
    if tls is not None:
        cipher, version, bits = tls
        lines.append(f"\t(using {version} with cipher {cipher} ({bits} bits))")
    lines.append(f"\tby {hostname} (inbound) with {protocol} id {queue_id}")
    stamp = format_datetime(received_at)
    if len(rcpt_to) == 1:
        lines.append(f"\tfor <{rcpt_to[0]}>; {stamp}")
    else:
        lines[-1] += ";"
        lines.append(f"\t{stamp}")
    sender = "" if mail_from == "<>" else mail_from  # aiosmtpd keeps "<>" for the null sender
    text = f"Return-Path: <{sender}>\r\n" + "\r\n".join(lines) + "\r\n"
    return text.encode("utf-8")
