"""The bounce reason vocabulary, the words that name each reason, and hard versus soft.

Responsible for: turning a diagnostic (the remote server's words, an MTA's explanation)
plus an enhanced status code into one reason of ``REASONS``, and each reason into
"hard" (suppress the address) or "soft" (the address may work later). The rules are data:
``TEXT_RULES`` is an ordered table of (reason, phrases); the first reason with a phrase in
the diagnostic wins, then the status code's own meaning (``_status.STATUS_REASON``).
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


# Ordered: more specific reasons first ("mailbox full" before "mailbox"; "user unknown"
# before the generic "rejected"). Phrases are regular expressions matched case-insensitively
# against the diagnostic; whitespace in a phrase matches any run of whitespace.
TEXT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "mailboxfull",
        (
            r"mailbox (is )?full",
            r"mail ?box.{0,20}(over|exceeded|full|quota)",
            r"full mailbox",
            r"over ?quota",
            r"quota (exceeded|full)",
            r"exceeded (his|her|their|the)? ?(storage|quota)",
            r"(user|recipient|mailbox).{0,20}quota",
            r"insufficient (user )?(storage|disk space) for",
            r"not enough storage",
            r"storage (allocation|space) exceeded",
            r"mailbox size limit",
            r"too much mail data",
            r"mail ?folder is full",
            r"почтовый ящик (переполнен|заполнен)",
            r"ящик переполнен",
        ),
    ),
    (
        "exceedlimit",
        (
            r"exceeds? (the )?(recipient'?s? )?mailbox size limit",
            r"message length exceeds administrative limit",
        ),
    ),
    (
        "toobig",
        (
            r"message (is )?too (big|large)",
            r"(message )?size (of the message )?exceeds",
            r"exceeds the maximum (allowed )?(message )?size",
            r"message size limit",
        ),
    ),
    (
        "hasmoved",
        (r"has been moved", r"address has changed", r"mailbox has moved", r"user has moved"),
    ),
    (
        "suspend",
        (
            r"(account|mailbox|user|address) (has been |is )?"
            r"(disabled|suspended|deactivated|inactive|frozen|locked)",
            r"(suspended|disabled|inactive|deactivated) (account|mailbox|user)",
            r"account (is )?(temporarily )?(unavailable|closed|expired)",
            r"no longer (in use|active|used)",
            r"is not active",
            r"mailbox unavailable for this recipient",
        ),
    ),
    (
        "norelaying",
        (
            r"relay(ing)? (access )?(denied|not permitted|not allowed|prohibited)",
            r"not permitted to relay",
            r"unable to relay",
            r"relay not permitted",
            r"we do not relay",
            r"no relaying",
            r"not local host",
        ),
    ),
    (
        "authfailure",
        (
            r"\bdmarc\b",
            r"\bspf\b.{0,40}(fail|check|record|reject|not pass)",
            r"(fail|failed|not pass).{0,30}\bspf\b",
            r"\bdkim\b.{0,30}(fail|invalid|reject)",
            r"sender authentication",
            r"authentication (check )?fail",
            r"unauthenticated email",
        ),
    ),
    (
        "requireptr",
        (
            r"\bptr\b",
            r"reverse (dns|lookup|mapping)",
            r"rdns",
            r"(cannot|can't|unable to) (find|resolve) your hostname",
            r"reverse hostname",
            r"no host ?name for",
            r"ip name lookup failed",
            r"client host .{0,40} (does not|doesn't) (have|resolve)",
        ),
    ),
    # KDDI (au / ezweb) answers a recipient's sender filter with an empty address,
    # "550 : User unknown"; a missing mailbox there reads "550 <addr>: User unknown".
    ("filtered", (r"\b[45]\d\d : user unknown",)),
    # X.3.2 in words; before "userunknown", whose "recipient address rejected" it often follows.
    ("notaccept", (r"not accepting (network )?messages",)),
    (
        "mailererror",
        (
            r"procmail",
            r"maildrop",
            r"mail\.local",
            r"command died with status",
            r"unknown mailer error",
            r"(couldn'?t|could not|cannot) create .{0,40}/(var/)?(spool|mail)",
        ),
    ),
    (
        "userunknown",
        (
            r"user ?(unknown|not found|not exist|doesn'?t exist|does not exist|not known)",
            r"unknown (user|recipient|mailbox|local.?part|address)",
            r"no such (user|recipient|mailbox|person|address|account)",
            r"(recipient|mailbox|address|account|user) (does not|doesn'?t|did not) exist",
            r"(mailbox|recipient|address|user|account) (is )?"
            r"(unknown|not found|unavailable|invalid)",
            r"invalid (recipient|mailbox|address|user)",
            r"(recipient|mailbox) (address )?(not found|not valid|unknown)",
            r"(recipient|address) rejected: (user unknown|undeliverable|not found|access denied)",
            r"recipnotfound",
            r"not listed in (domino directory|public name & address book)",
            r"(couldn't|could not|cannot|can't) be found",
            r"not a valid (mailbox|user|recipient)",
            r"no mailbox (here )?by that name",
            r"(mailbox|address) not available",
            r"user (is )?not (a )?(local|valid)",
            r"this user doesn'?t have a .{1,40} account",
            r"is not a known user",
            r"no account by that name",
            r"unknown or illegal alias",
            r"recipient (is )?not (found|exist|local)",
            r"address (does not|doesn't) exist",
            r"not our customer",
            r"(bad|invalid) destination mailbox",
            r"550 #5\.1\.0 address rejected",
            r"destination address (was )?rejected",
            r"invalid .{0,20}userid",
            r"no valid recipients",
            r"not our user",
            r"не существует",
            r"нет такого",
        ),
    ),
    (
        "notaccept",
        (
            r"does not accept (e-?)?mail",
            r"null mx",
            r"accepts no mail",
            r"not accepting mail",
            r"(couldn'?t|could not|cannot|unable to) find (a|any) mail exchanger",
            r"no mx (record )?found",
        ),
    ),
    (
        "hostunknown",
        (
            r"host ?(unknown|not found)",
            r"unknown host",
            r"(domain|host) ?name (lookup )?(failure|not found)",
            r"(domain|host) (does not|doesn'?t) exist",
            r"no (such|valid) (domain|host)",
            r"name or service not known",
            r"unrouteable (mail domain|address)",
            r"domain (is )?(not found|unknown|invalid)",
            r"no mx (record|host)",
            r"\bnxdomain\b",
            r"dns error",
            r"unable to resolve",
            r"recipient domain .{0,30} (not found|does not exist)",
            r"domain not exist",
            r"dns lookup failure",
            r"host [\w.\-]+ not found",
            r"(couldn'?t|could not|cannot) find any host",
            r"account or domain may not exist",
            r"domain (is )?not reachable",
            r"name service error for name=\S+ type=mx",
            r"(^|[245]\d\d\s+)[a-z0-9][\w\-]*(\.[\w\-]+)*\.[a-z]{2,}\s+does not exist",
        ),
    ),
    (
        "virusdetected",
        (r"\bvirus", r"malware", r"infected", r"contains an? (unsafe|dangerous) attachment"),
    ),
    (
        "spamdetected",
        (
            r"\bspam\b",
            r"\bspam(my|ming|\s?score|\s?detected|\s?content)",
            r"junk mail",
            r"unsolicited",
            r"message content rejected",
            r"content (was )?rejected",
            r"bulk (e-?mail|mail)",
            r"looks like spam",
            r"classified as spam",
        ),
    ),
    (
        "badreputation",
        (r"reputation", r"low sender score", r"sender score"),
    ),
    (
        "blocked",
        (
            r"\bblock(ed|list|listed)?\b",
            r"black ?list",
            r"\brbl\b",
            r"dnsbl",
            r"spamhaus",
            r"spamcop",
            r"client host .{0,60}rejected",
            r"(ip|host|address) .{0,40}(is )?(not allowed|denied|banned|refused)",
            r"access denied",
            r"connection (refused|rejected) .{0,30}(policy|ip)",
            r"(your|the sending) ip",
            r"sender ip",
        ),
    ),
    (
        "filtered",
        (
            r"filtered",
            r"content filter",
            r"refused by (the )?(recipient|filter)",
            r"rejected by (the )?recipient",
            r"recipient (has )?(blocked|refused)",
            r"mail (is )?not accepted from",
            r"does not accept mail from",
            r"message (has been |was )?refused",
            r"recipient preferences",
        ),
    ),
    (
        "ratelimited",
        (
            r"too many (connections|messages|recipients|emails|concurrent)",
            r"rate limit",
            r"rate.?limited",
            r"throttl",
            r"sending (rate|quota)",
            r"exceeded .{0,30}(limit|threshold)",
        ),
    ),
    (
        "securityerror",
        (
            r"\btls\b",
            r"starttls",
            r"encryption required",
            r"must issue a starttls",
            r"authentication required",
            r"certificate",
        ),
    ),
    (
        "rejected",
        (
            r"sender (address )?(rejected|denied|refused|blocked|verify failed)",
            r"(from|sender|envelope) address .{0,20}(rejected|refused|invalid)",
            r"domain of sender",
            r"sender domain",
            r"(invalid|bad|unknown) sender",
            r"sender (is )?not (allowed|permitted|authorized)",
            r"you are not allowed",
            r"not authorized to (send|post)",
            r"permission to post",
            r"may not exist, or you may not have permission",
            r"please use the smtp server of your isp",
        ),
    ),
    (
        "policyviolation",
        (r"policy", r"violat", r"prohibited", r"not allowed", r"not permitted"),
    ),
    (
        "notcompliantrfc",
        (
            r"rfc ?(2)?822",
            r"rfc ?5322",
            r"not (rfc|standard) compliant",
            r"malformed",
            r"duplicate header",
        ),
    ),
    (
        "syntaxerror",
        (r"syntax error", r"command unrecognized", r"unrecognized command", r"bad sequence"),
    ),
    (
        "systemfull",
        (r"(disk|file ?system|system|spool) (is )?full", r"insufficient system storage"),
    ),
    (
        "expired",
        (
            r"retry (timeout|time) (exceeded|expired|not reached)",
            r"(message|delivery) (time )?(expired|timed out)",
            r"could not be delivered (within|for)",
            r"(too long|too many retries) in (the )?queue",
            r"have been unable to deliver",
            r"been delayed",
            r"delivery attempts will continue",
            r"giving up",
            r"unable to deliver .{0,40} (days|hours)",
            r"was not delivered within",
            r"time-?out",
            r"timed out",
            r"expired",
        ),
    ),
    (
        "networkerror",
        (
            r"connection (refused|reset|timed out|closed|lost)",
            r"could not connect",
            r"(couldn't|cannot|can't|unable to) connect",
            r"network (is )?unreachable",
            r"no route to host",
            r"host (is )?unreachable",
            r"too many hops",
            r"mail loop",
            r"routing loop",
            r"loops back to myself",
            r"lost connection",
            r"temporary (dns|lookup) failure",
            r"did not accept our requests to connect",
            r"socket error",
        ),
    ),
    (
        "mailererror",
        (r"(mailer|delivery program|pipe to) .{0,20}(error|failed)", r"command died", r"exit code"),
    ),
    (
        "systemerror",
        (
            r"system error",
            r"internal (server )?error",
            r"configuration error",
            r"temporar(il)?y (failure|unavailable|error)",
            r"service (is )?(currently |temporarily )?(not |un)available",
            r"local error",
            r"resources",
            r"try again later",
        ),
    ),
)


# Last resort: Postfix's bare "Recipient address rejected" (no reason after the colon)
# means the address; with a reason ("…: Spam detected") the rules above win.
FALLBACK_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("userunknown", (r"recipient address rejected",)),
)


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
        if status is not None and status.subject == 7:  # X.7.x: refused by policy
            return "filtered", f"{found[1]} (status {status})"
    if found is not None:
        return found
    if by_status is not None and status is not None:
        return by_status, f"status {status}"
    return "undefined", ""
