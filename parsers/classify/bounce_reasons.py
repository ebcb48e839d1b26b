"""The bounce reason vocabulary, the words that name each reason, and hard versus soft.

Responsible for: turning a diagnostic (the remote server's words, an MTA's explanation)
plus an enhanced status code into one reason of ``REASONS``, and each reason into
"hard" (suppress the address) or "soft" (the address may work later). The rules are data:
``bounce_phrases.TEXT_RULES`` is an ordered table of (reason, phrases); the first reason
with a phrase in the diagnostic wins, then the status code's own meaning
(``_status.STATUS_REASON``).
It may not read a message: callers hand it strings. Pure: no I/O.

Hard means the address itself is the problem and will stay so: it does not exist, its
domain does not exist, it moved, or its domain accepts no mail at all. A full mailbox,
a disabled account, a filter, a block of the sending IP, an expired queue entry or a
policy complaint about the content say nothing final about the address: soft. This is
the judgement of sisimai (``Sisimai::Reason`` hard-bounce list) and of the common ESPs.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from parsers.classify._status import Status, reason_for_status
from parsers.classify.bounce_phrases import FALLBACK_RULES, TEXT_RULES

# reason -> what it means. Every Bounce.reason is one of these keys.
REASONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "userunknown": "the mailbox does not exist at the recipient's domain",
        "hostunknown": "the recipient's domain does not exist or has no mail server",
        "hasmoved": "the mailbox moved and mail is not forwarded (X.1.6)",
        "notaccept": "the recipient's domain accepts no mail (null MX, RFC 7505)",
        "mailboxfull": "the mailbox is over its quota",
        "suspend": "the mailbox exists but is disabled, suspended or inactive",
        "exceedlimit": "the message exceeds the mailbox's size limit (X.2.3)",
        "toobig": "the message exceeds the server's size limit (X.3.4)",
        "filtered": "a recipient-side filter refused the message",
        "rejected": "the sender address or domain was refused",
        "blocked": "the sending IP address or host is blocked",
        "badreputation": "the sending IP or domain has a bad reputation",
        "spamdetected": "the message was judged to be spam",
        "virusdetected": "the message was judged to carry malware",
        "policyviolation": "the message breaks the recipient's policy",
        "authfailure": "SPF, DKIM or DMARC authentication failed",
        "requireptr": "the sending IP has no valid reverse DNS (PTR)",
        "securityerror": "a security requirement (TLS, authentication) was not met",
        "norelaying": "relaying was refused",
        "ratelimited": "too many connections, messages or recipients",
        "notcompliantrfc": "the message does not comply with the RFCs",
        "contenterror": "the message's content or media type was refused",
        "syntaxerror": "an SMTP syntax error",
        "networkerror": "connection, DNS or routing trouble between the servers",
        "systemerror": "the remote mail system failed or is misconfigured",
        "systemfull": "the remote mail system is out of disk space",
        "mailererror": "the local delivery program failed",
        "expired": "delivery was retried until the queue lifetime ran out",
        "undefined": "the bounce gives no reason that could be read",
    }
)

# Reasons that say the address itself is dead: suppress it.
HARD_REASONS: frozenset[str] = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept"})


def hard_or_soft(reason: str, klass: int, delayed: bool) -> str:
    """Hard for a reason that condemns the address; never for a delay notice.

    A 4.x.x "user unknown" is still hard: servers that answer 450 to unknown users (greylisting
    set-ups, Postfix ``unknown_local_recipient_reject_code``) mean the same thing. Only
    ``userunknown`` is read so: for the domain reasons a 4.x.x is a transient DNS problem.
    """
    if delayed or reason not in HARD_REASONS:
        return "soft"
    if reason != "userunknown" and klass != 5:
        return "soft"  # a 4.x.x DNS failure is a transient lookup problem
    return "hard"


def _compile(phrase: str) -> re.Pattern[str]:
    # " ?" is an optional space, " " any run of whitespace (diagnostics are re-wrapped).
    spaced = phrase.replace(" ?", "\0").replace(" ", r"\s+").replace("\0", r"\s*")
    return re.compile(spaced, re.IGNORECASE)


_COMPILED: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = tuple(
    (reason, tuple(_compile(p) for p in phrases)) for reason, phrases in TEXT_RULES + FALLBACK_RULES
)


def reason_from_text(text: str) -> tuple[str, str] | None:
    """The first reason whose phrase occurs in ``text``, with the words that matched."""
    if not text:
        return None
    for reason, patterns in _COMPILED:
        for pattern in patterns:
            match = pattern.search(text)
            if match is not None:
                return reason, match[0]
    return None


# The SMTP phase the remote server answered in (RFC 5321 §3.3): after DATA, the recipient
# had already been accepted at RCPT TO, so a "user unknown" then is a content or sender
# filter speaking (the Japanese carriers answer so), not a missing mailbox.
_DATA_PHASE = re.compile(
    r"in reply to end of data|after end of data|after data\b|smtp command\W*data\b"
    r"|end of data command|while sending the message body",
    re.IGNORECASE,
)
# The refusal answered RCPT TO (Postfix "in reply to RCPT TO command", Exim "after RCPT
# TO:", Sendmail ">>> RCPT To:", Yahoo "[RCPT_TO]").
_RCPT_PHASE = re.compile(r"rcpt[ _]to", re.IGNORECASE)
# Sendmail's transcript: ">>> DATA" then "<<< 550 ..." (the reply to DATA itself).
_DATA_TRANSCRIPT = re.compile(r">>>\s*DATA\s*\n\s*<<<\s*([^\n]*)", re.IGNORECASE)


def _data_reply(context: str) -> re.Match[str] | None:
    """The DATA phase in ``context``, when the reply to DATA itself says "user unknown"."""
    phase = _DATA_PHASE.search(context)
    if phase is not None:
        return phase
    for match in _DATA_TRANSCRIPT.finditer(context):
        found = reason_from_text(match[1])
        if found is not None and found[0] == "userunknown":
            return match
    return None


def decide_reason(diagnostic: str, status: Status | None, context: str = "") -> tuple[str, str]:
    """Reason and what it rests on: the diagnostic's words, the status code, then ``context``.

    ``context`` is the MTA's prose around the diagnostic (the rest of the report), read
    only when neither the diagnostic nor the status code names a reason.

    A specific status code (``5.1.1``) is what the remote server meant; the words are
    read first anyway because servers put specific codes on generic texts less often
    than generic codes (``5.0.0``, ``5.7.1``) on specific texts.
    """
    found = reason_from_text(diagnostic)
    by_status = reason_for_status(status) if status is not None else None
    if found is None and by_status is None and context:
        found = reason_from_text(context)
    if found is not None and found[0] == "userunknown":
        phase = _DATA_PHASE.search(diagnostic) or _data_reply(context)
        # Unless the status code itself says "bad mailbox" (X.1.x): Sendmail pipelines
        # RCPT and DATA, so its transcript shows a RCPT refusal after ">>> DATA".
        if phase is not None and (status is None or status.generic or status.subject == 2):
            return "filtered", f"{found[1]} ({phase[0]})"
        # A code that names another class of trouble (X.2 mailbox, X.3 system, X.7
        # policy) under "user unknown" words: the words are a filter's pretext, unless
        # the refusal visibly answered RCPT TO, where only the address was known.
        if (
            status is not None
            and status.subject in (2, 3, 7)
            and not status.generic
            and _RCPT_PHASE.search(diagnostic + "\n" + context) is None
        ):
            return "filtered", f"{found[1]} (status {status})"
    if found is not None:
        return found
    if by_status is not None and status is not None:
        return by_status, f"status {status}"
    return "undefined", ""
