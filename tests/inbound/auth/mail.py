"""Messages for the auth tests, signed here with the suite's generated keys (dkimpy signs)."""

from __future__ import annotations

import dkim

from inbound.outbox.model import Envelope
from tests.support import dns as test_dns


def raw(
    from_: str = "Alice <alice@reject.test>",
    subject: str = "Please delete all my data",
    body: str = "Please erase all personal data you hold about me (GDPR Art. 17).\r\n",
    extra: str = "",
) -> bytes:
    return (
        f"From: {from_}\r\n"
        "To: support@example.test\r\n"
        f"Subject: {subject}\r\n"
        "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <m1@reject.test>\r\n"
        f"{extra}"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}"
    ).encode()


def sign(message: bytes, domain: str, selector: str = "sel", key: str = "main") -> bytes:
    """The message with a DKIM-Signature of ``domain`` prepended."""
    header = dkim.sign(
        message,
        selector.encode(),
        domain.encode(),
        test_dns.keys()[key].private_pem,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    return bytes(header) + message


def arc_forward(message: bytes, *, footer: bool = True) -> bytes:
    """What the list.test mailing list does: check, alter (a footer), ARC-seal, re-send."""
    if footer:
        message = message + b"-- \r\nlist.test: you are subscribed\r\n"
    ar = b"Authentication-Results: lists.list.test; dkim=pass header.d=reject.test\r\n"
    message = ar + message
    headers = dkim.arc_sign(
        message,
        b"arc",
        b"list.test",
        test_dns.keys()["main"].private_pem,
        b"lists.list.test",
    )
    return b"".join(headers) + message


def envelope(mail_from: str = "alice@reject.test", ip: str = test_dns.GOOD_IP) -> Envelope:
    return Envelope(
        mail_from=mail_from,
        rcpt_to=("support@example.test",),
        remote_ip=ip,
        helo="client.test",
        tls=False,
    )
