"""SMTP reply codes and RFC 3463 enhanced status codes: finding them in text, and what they mean.

Responsible for: recognising an enhanced status code (``5.1.1``) or an SMTP reply code
(``550``) in a line of a bounce, and the facts that tie a status code to a bounce reason
(RFC 3463 §3 for the standard subjects and details, the IANA "SMTP Enhanced Status Codes"
registry and the providers' published codes for the rest). It may not decide hard or soft
on its own: ``bounce_reasons`` owns the reason vocabulary and the hard/soft mapping.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 3463 §2: class "." subject "." detail; class is 2, 4 or 5; subject 0-999, detail 0-999.
# The look-arounds keep IP addresses (192.0.2.5), dates and version numbers out.
# A leading "#" is kept: Exchange and Yahoo write "#5.1.0", "[#4.1.9]".
ENHANCED_STATUS = re.compile(r"(?<![\w.\-/])([245])\.(\d{1,3})\.(\d{1,3})(?![\w.\-]|\.\d)")

# RFC 5321 §4.2: a three-digit reply code; 2yz success, 4yz transient, 5yz permanent.
# Only codes that stand where a server's reply stands: at a line start, or after "said:",
# "returned", "error", "reply", "response", "smtp;" or the like.
# The space after the context is bounded: a whitespace character is itself a context, so
# nothing is lost, and an unbounded run backtracked quadratically over a long run of spaces.
_REPLY_CONTEXT = re.compile(
    r"(?:^|[\s:;'\"(\[>=]|said:|returned|error|reply|response|smtp;)\s{0,16}"
    r"(?P<code>[45][0-5]\d)(?=[\s\-:;,.)]|$)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """An enhanced status code as three numbers (RFC 3463 §2)."""

    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"

    @property
    def generic(self) -> bool:
        """``x.0.0``: says only success / transient / permanent, nothing about why."""
        return self.subject == 0 and self.detail == 0


def parse_status(value: str | None) -> Status | None:
    """The first enhanced status code in ``value`` (a DSN ``Status:`` field or any text)."""
    if not value:
        return None
    match = ENHANCED_STATUS.search(value)
    if match is None:
        return None
    return Status(klass=int(match[1]), subject=int(match[2]), detail=int(match[3]))


def find_statuses(text: str) -> list[Status]:
    """Every enhanced status code of class 4 or 5 in ``text``, in order."""
    return [
        Status(klass=int(m[1]), subject=int(m[2]), detail=int(m[3]))
        for m in ENHANCED_STATUS.finditer(text)
        if m[1] in "45"
    ]


def find_reply_code(text: str) -> int | None:
    """The first SMTP reply code of class 4 or 5 standing where a reply stands in ``text``."""
    for match in _REPLY_CONTEXT.finditer(text):
        start = match.start("code")
        if text[max(0, start - 2) : start][:1].isdigit() and text[start - 1 : start] in ":.":
            continue  # a clock or a number ("12:550"), not a reply
        code = int(match["code"])
        # 4yz/5yz with y in 0-5 (RFC 5321 §4.2.1); 421-554 cover every real reply.
        if 420 <= code <= 559:
            return code
    return None


# What a status code says about the reason, where RFC 3463 (and the registry) is specific.
# Keys are "subject.detail"; the class decides hard/soft separately.
STATUS_REASON: dict[str, str] = {
    "1.0": "userunknown",  # other address status; in practice "no such user" (Exchange 5.1.0)
    "1.1": "userunknown",  # RFC 3463 §3.2 X.1.1 bad destination mailbox address
    "1.2": "hostunknown",  # X.1.2 bad destination system address
    "1.3": "userunknown",  # X.1.3 bad destination mailbox address syntax
    "1.4": "userunknown",  # X.1.4 destination mailbox address ambiguous
    "1.6": "hasmoved",  # X.1.6 destination mailbox has moved, no forwarding address
    "1.7": "rejected",  # X.1.7 bad sender's mailbox address syntax
    "1.8": "rejected",  # X.1.8 bad sender's system address
    "1.10": "notaccept",  # RFC 7505 §4.2: X.1.10 recipient address has null MX
    "2.0": "filtered",  # X.2.0 other or undefined mailbox status
    "2.1": "suspend",  # X.2.1 mailbox disabled, not accepting messages
    "2.2": "mailboxfull",  # X.2.2 mailbox full
    "2.3": "exceedlimit",  # X.2.3 message length exceeds administrative limit
    "2.4": "systemerror",  # X.2.4 mailing list expansion problem
    "3.0": "systemerror",  # X.3.0 other or undefined mail system status
    "3.1": "systemfull",  # X.3.1 mail system full
    "3.2": "notaccept",  # X.3.2 system not accepting network messages
    "3.3": "systemerror",  # X.3.3 system not capable of selected features
    "3.4": "toobig",  # X.3.4 message too big for system
    "3.5": "systemerror",  # X.3.5 system incorrectly configured
    "4.0": "networkerror",  # X.4.0 other or undefined network or routing status
    "4.1": "networkerror",  # X.4.1 no answer from host
    "4.2": "networkerror",  # X.4.2 bad connection
    "4.3": "systemerror",  # X.4.3 directory server failure
    "4.4": "hostunknown",  # X.4.4 unable to route
    "4.5": "systemerror",  # X.4.5 mail system congestion
    "4.6": "networkerror",  # X.4.6 routing loop detected
    "4.7": "expired",  # X.4.7 delivery time expired
    "5.0": "systemerror",  # X.5.0 other or undefined protocol status
    "5.3": "ratelimited",  # X.5.3 too many recipients
    "5.4": "syntaxerror",  # X.5.4 invalid command arguments
    "6.0": "contenterror",  # X.6.0 other or undefined media error
    "6.1": "contenterror",  # X.6.1 media not supported
    "7.1": "rejected",  # X.7.1 delivery not authorized, message refused
    "7.23": "authfailure",  # RFC 7372 §3.2: SPF validation error
    "7.24": "authfailure",  # RFC 7372 §3.2: SPF validation failed
    "7.25": "requireptr",  # RFC 7372 §3.3: reverse DNS validation failed
    "7.26": "authfailure",  # RFC 7372 §3.1: multiple authentication checks failed
    "7.27": "notaccept",  # RFC 7505 §4.1: sender address has null MX
    "7.509": "authfailure",  # Microsoft 365: sender domain fails DMARC
    "7.606": "blocked",  # Microsoft 365: access denied, banned sending IP
    "7.0": "securityerror",  # X.7.0 other or undefined security status
    "7.6": "securityerror",  # X.7.6 cryptographic algorithm not supported
    "7.9": "policyviolation",  # X.7.9 (RFC 4954 / registry): mechanism too weak / policy
}


def reason_for_status(status: Status) -> str | None:
    """The reason a status code names on its own, or None for the generic ones."""
    return STATUS_REASON.get(f"{status.subject}.{status.detail}")


# The code a reason stands for when the mail states none (RFC 3463 §3).
REASON_STATUS_DETAIL: dict[str, str] = {
    "userunknown": "1.1",
    "hostunknown": "1.2",
    "hasmoved": "1.6",
    "notaccept": "4.4",  # X.4.4 unable to route: no MX (a null MX states its own X.1.10)
    "mailboxfull": "2.2",
    "suspend": "2.1",
    "exceedlimit": "2.3",
    "toobig": "3.4",
    "systemfull": "3.1",
    "systemerror": "3.0",
    "networkerror": "4.0",
    "expired": "4.7",
    "ratelimited": "4.5",
    "rejected": "7.1",
    "blocked": "7.1",
    "filtered": "2.0",
    "spamdetected": "7.1",
    "virusdetected": "7.1",
    "policyviolation": "7.1",
    "authfailure": "7.26",
    "requireptr": "7.25",
    "norelaying": "7.1",
    "securityerror": "7.0",
    "badreputation": "7.1",
    "contenterror": "6.0",
    "syntaxerror": "5.4",
}


def derived_status(reason: str, klass: int) -> str:
    """An enhanced status code for a reason the mail gave no code for."""
    return f"{klass}.{REASON_STATUS_DETAIL.get(reason, '0.0')}"
