"""Bounces written for people: the non-standard formats of MTAs and mailbox providers.

Responsible for: telling whether a message without a usable ``message/delivery-status``
part is a bounce notice (who sent it, its subject, the words of its first lines), cutting
its text where the returned original begins, and finding there the failed recipients and
the lines that explain each failure. The formats differ (qmail's ``<addr>:`` paragraphs,
Exim's indented address list, Postfix's transcript, Sendmail's "----- The following
addresses had permanent fatal errors -----", Gmail's and Office 365's prose, Domino,
mail.ru, Yahoo, the Japanese carriers, …) but share a shape: a report about addresses,
then the original. So this module is tables of those shapes (senders, subjects, report
phrases, original-message markers) and small functions over them, not one regex per MTA.
It may not decide reason or hard/soft (``bounce_reasons``). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.classify._status import ENHANCED_STATUS
from parsers.model import ParsedMessage

# Local parts and display names bounce notices come from (RFC 5321 §4.5.1 postmaster;
# MAILER-DAEMON by long convention; the providers' own names).
_SENDER = re.compile(
    r"mailer[-_ .]?daemon|^postmaster$|^post[-_]?master@|mail[-_ .]?delivery[-_ .]?"
    r"(system|subsystem|service)|mail[-_. ]?administrator|^mdaemon|^bounce[sd]?@"
    r"|^no-?reply@.*(amazonses|amazonaws)|^sysadmin@|-admin@|^root@",
    re.IGNORECASE,
)

# Subjects of bounce notices in the major MTAs and languages.
_SUBJECT = re.compile(
    r"undeliver|undelivered|non[- ]?deliver|delivery (status )?notification|delivery fail"
    r"|delivery has failed|failed delivery|failure delivery|failure notice|mail delivery fail"
    r"|returned mail|returned to sender|mail system error|message delivery has failed"
    r"|delivery problem|could not be delivered|not delivered|delivery failure|bounce"
    r"|error sending|was an error sending|delivery report|mail failure|rejected"
    r"|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|non remis|non distribu"
    r"|[ée]chec de (la )?distribution|недоставленн"
    r"|no entregado|imposible entregar|non recapitat|niet bezorgd|onbestelbaar"
    r"|не доставлено|недоставлено|配信できません|送信できません|エラー|未送達|退信|无法投递"
    r"|are not member|mail failed|returning to sender|warning: message .* delayed|delayed mail"
    # Exchange / Outlook's localised "Undeliverable:" (es, pt, sv, da/no, pl, cs, ja, ko)
    # and a bare "Delivery Status" (McAfee gateways).
    r"|no se puede entregar|não é possível entregar|kan inte levereras|kan ikke leveres"
    r"|niedostarczalne|nedoručitelné|配信不能|배달 못 함|^\s*delivery status\s*$",
    re.IGNORECASE,
)

# Words of the report part that say a delivery failed (or is delayed).
_REPORT_PHRASES = re.compile(
    r"could ?n[o']?t be deliver|was ?n[o']?t deliver|not be delivered|undeliverable"
    r"|delivery (to .{1,80} )?(has )?failed|failed permanently|permanent (fatal )?error"
    r"|unable to deliver|wasn'?t able to deliver|not able to deliver|could not deliver"
    r"|following address(\(es\)|es)? failed|error (has )?occurred while|error delivering"
    r"|message (was )?not delivered|was not delivered|delivery failure|failed to deliver"
    r"|has been delayed|have been delayed|delivery (is )?delayed|still trying|will retry"
    r"|returned mail|message could not|rejected your message|could not be sent|not member"
    r"|following recipients?|following address|did not reach|not reach|unknown user"
    r"|user unknown|mailbox (is )?full|remote host said|smtp error|said:|returned the error"
    r"|this is the (qmail|mail system|mailer|dragonfly)|does not exist|address rejected"
    r"|konnte nicht zugestellt|nicht\s+zugestellt|n'a pas pu être|no se (pudo|ha podido) entregar"
    r"|non è stato possibile|impossibile recapitare|non è stato recapitato"
    r"|не может быть доставлено|не доставлено|не удалось доставить|не было доставлено"
    r"|配信でき|届きません|送信でき"
    r"|宛先不明|エラー|host unknown|failure reasons|fatal errors?|will be retried|warning message"
    r"|failed addresses|trouble delivering|permanent errors|not a member|could not be reached",
    re.IGNORECASE,
)

# Lines where the copy of the original message (or its headers) starts.
# One possessive run of the leading decoration (whitespace, dashes, rules): two adjacent
# runs that both match a space backtrack quadratically on a long line of spaces.
_ORIGINAL_MARKER = re.compile(
    r"^[\s\-=*_]*+("
    r"original (message|mail)|this is a copy of|below this line is a copy|copy of the message"
    r"|returned message|original message follows|message headers follow|original message headers"
    r"|below is a copy of the original message|unsent message below|unsent message follows"
    r"|headers of the original|original headers|message text follows|the message you sent"
    r"|your message reads|returned mail follows|the text of your message"
    r"|content of (the )?original|元のメッセージ|原始邮件"
    r"|Исходное сообщение|forwarded message"
    r")",
    re.IGNORECASE,
)
# A header block (the returned original without a marker line) begins with one of these.
# (Trace and signature fields: a summary of the original, "Subject: … Date: …", is no copy.)
_HEADER_START = re.compile(
    r"^(Received|Return-Path|DKIM-Signature|ARC-Seal|X-Received|Delivered-To"
    r"|Authentication-Results|X-Originating-IP):\s?\S",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(r"^[!-9;-~]+:\s")
_ADDRESS = re.compile(
    r"(?<![\w.+\-=/%])(\"[^\"\s@]{1,64}\"@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+|[A-Za-z0-9!#$%&'*+=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+)"
)
# Reply and forward prefixes of mail clients (en, de, fr, es/it/pt, nl, nordic, pl).
_PERSON_PREFIX = re.compile(
    r"^\s*(re|fwd?|wg|aw|tr|rv|enc|i|doorst|vs|sv|vb|odp|pd)\s*(\[\d+\])?\s*:", re.IGNORECASE
)
_RETURNED_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"})
# A line that starts with a 4xx/5xx reply, or quotes one after "said:" / "error:".
_REPLY_LINE = re.compile(
    r"(^|\n)\s*[45]\d\d[ -]|(said|error|returned|reason):?\s*[45]\d\d\b", re.IGNORECASE
)
_URL = re.compile(r"(https?|ftp)://\S+", re.IGNORECASE)
# Addresses standing after these words are senders, not failed recipients.
_SENDER_CONTEXT = re.compile(
    r"(mail from:?|envelope-from|from:|sender:?|return-path:?|hello|dear|reply-to:?|contact"
    r"|mail to|write to|e-?mail to|to the address)\s*<?$",
    re.IGNORECASE,
)
_REPORTING_MTA = (
    re.compile(r"this is the mail system at host\s+([\w.\-]+)", re.IGNORECASE),
    re.compile(r"this is the qmail-send program at\s+([\w.\-]+)", re.IGNORECASE),
    re.compile(r"this is the dragonfly mail agent [\w.]+ at\s+([\w.\-]+)", re.IGNORECASE),
    re.compile(r"generating server:\s*([\w.\-]+)", re.IGNORECASE),
    re.compile(r"reporting-mta:\s*(?:dns;\s*)?([\w.\-]+)", re.IGNORECASE),
)


# OpenSMTPD's report ("Hi! This is the MAILER-DAEMON, please DO NOT REPLY to this email.")
# lists each recipient as "addr: <error>" under its intro, in the error and the delay
# report alike; its delivery-status part only restates that line as a generic code.
_OPENSMTPD_INTRO = re.compile(
    r"this is the mailer-daemon, please do not reply to this e-?mail", re.IGNORECASE
)
# Exim's words for giving up after retrying, in its indented address block ("  a@b" then
# "    retry timeout exceeded", "    all hosts for 'x' have been failing for a long time
# (and retry time not reached)", a frozen message): a temporary failure that ran out of
# time, not a permanent refusal; its class is 4 unless the mail states a code.
_EXIM_INTRO = re.compile(
    r"this message was created automatically by mail delivery software", re.IGNORECASE
)
_EXIM_RETRY = re.compile(
    r"^[ \t]{2,}(\S[^\n]*?)?(retry time(out)? (exceeded|not reached)"
    r"|been failing for a long time|(has been|was) frozen)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Signals:
    """Why a message looks like a bounce notice; each is the words it rests on, or None."""

    sender: str | None
    subject: str | None
    report: str | None
    failed_header: str | None  # X-Failed-Recipients (Exim)
    null_sender: str | None  # Return-Path: <> (RFC 5321 §4.5.5: notifications use it)
    machinery: str | None  # an SMTP reply/status code, a returned message, Auto-Submitted
    forwarded: bool  # "Fwd:" / "Re:": a person passing a bounce on, not the bounce itself
    report_type: str | None  # multipart/report; report-type=delivery-status (RFC 3462)
    list_mail: bool = False  # List-Id / List-Unsubscribe (RFC 2919, 2369): a list posting


@dataclass(frozen=True, slots=True, kw_only=True)
class Original:
    """What the bounce shows of the returned message's headers."""

    sender: tuple[str, ...]  # From, Sender, Return-Path of the original (lower-case)
    to: tuple[str, ...]
    message_id: str | None


def report_text(parsed: ParsedMessage) -> str:
    """The human-readable report: the text parts outside the returned message."""
    texts = [
        p.text for p in parsed.parts if p.content_type == "text/plain" and p.text and p.text.strip()
    ]
    if not texts:
        # A multipart the MIME parser could not split arrives as one leaf: read it whole.
        texts = [
            p.text
            for p in parsed.parts
            if p.content_type.startswith("multipart/") and p.text and p.text.strip()
        ]
    if not texts:
        return parsed.text or ""
    return "\n".join(texts)


def split_original(text: str) -> tuple[str, str]:
    """(report, original): the text before the returned message and the copy itself."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if index > 0 and _ORIGINAL_MARKER.match(line):
            return "\n".join(lines[:index]), "\n".join(lines[index + 1 :])
    # No marker: an unannounced header block of two header lines in a row.
    for index in range(1, len(lines) - 1):
        starts_block = _HEADER_START.match(lines[index]) and (
            _HEADER_LINE.match(lines[index + 1]) or lines[index + 1][:1] in (" ", "\t")
        )
        if starts_block and _HEADER_LINE.match(lines[index - 1]) is None:
            return "\n".join(lines[:index]), "\n".join(lines[index:])
    return text, ""


def signals(parsed: ParsedMessage, report: str) -> Signals:
    from_text = ""
    if parsed.from_ is not None:
        from_text = parsed.from_.address or parsed.from_.name
    sender = None
    # The raw header too: "From: MAILER-DAEMON <>" parses to no address at all.
    raw_from = parsed.header("From") or ""
    for candidate in (from_text, parsed.from_.name if parsed.from_ else "", raw_from):
        if candidate and _SENDER.search(candidate):
            sender = candidate
            break
    subject_match = _SUBJECT.search(parsed.subject or "")
    head = report[:4000]
    failed = parsed.header("X-Failed-Recipients")
    return_path = (parsed.header("Return-Path") or "").strip()
    report_type = dict(parsed.content_params).get("report-type", "").lower()
    null_sender = return_path in ("<>", "") and parsed.header("Return-Path") is not None
    # The text searches cost more than everything else here; without one of the cheap
    # signals above, looks_like_bounce() is False whatever they find, so skip them.
    cheap = sender or subject_match or null_sender or failed or report_type
    report_match = _REPORT_PHRASES.search(head) if cheap else None
    machinery = None
    code = (ENHANCED_STATUS.search(head) or _REPLY_LINE.search(head)) if cheap else None
    if code is not None:
        machinery = line_of(head, code.start())
    elif any(p.content_type in _RETURNED_TYPES for p in parsed.parts):
        machinery = "returned message attached"
    elif parsed.header("Auto-Submitted"):
        machinery = f"Auto-Submitted: {parsed.header('Auto-Submitted')}"
    return Signals(
        forwarded=bool(_PERSON_PREFIX.match(parsed.subject or "")),
        machinery=machinery,
        null_sender=return_path if null_sender else None,
        report_type=report_type
        if parsed.content_type == "multipart/report"
        and report_type in ("delivery-status", "global-delivery-status")
        else None,
        sender=sender,
        subject=parsed.subject if subject_match else None,
        report=line_of(head, report_match.start()) if report_match else None,
        failed_header=failed,
        list_mail=any(parsed.header(h) is not None for h in ("List-Id", "List-Unsubscribe")),
    )


def looks_like_bounce(sig: Signals) -> bool:
    """Two of: a bounce-like sender, subject, null sender, report phrase; or a DSN's type.

    Without a mailer-daemon-like sender, the words must come with mail machinery (a reply
    or status code, the returned message, Auto-Submitted): a parcel service's "Delivery
    failed: your parcel could not be delivered" is not a bounce. Nor is, without such a
    sender, a forward ("Fwd:") or a list posting (``List-Id``) that quotes one.
    """
    if sig.failed_header or sig.report_type:
        return True
    if (sig.forwarded or sig.list_mail) and sig.sender is None:
        return False  # a person passing a bounce on; a list posting that talks about them
    if sig.sender is not None:
        return sig.subject is not None or sig.report is not None
    return (
        sig.report is not None
        and (sig.subject is not None or sig.null_sender is not None)
        and sig.machinery is not None
    )


def addresses_in(text: str) -> list[str]:
    """Every address in ``text``, lower-cased, in order."""
    return [match.lower() for match in _ADDRESS.findall(text)]


def line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end != -1 else len(text)].strip()


def _header_block(text: str) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    last: str | None = None
    started = False
    for line in text.split("\n"):
        if not line.strip():
            if started:
                break
            continue
        if line[:1] in (" ", "\t") and last is not None:
            headers[last][-1] += " " + line.strip()
            continue
        match = re.match(r"^([!-9;-~]+):\s*(.*)$", line)
        if match is None:
            if started:
                break
            continue
        started = True
        last = match[1].lower()
        headers.setdefault(last, []).append(match[2])
    return headers


def original_headers(parsed: ParsedMessage, original_text: str) -> Original:
    """The returned message's headers: its attached part, else the text after the marker."""
    source = ""
    for part in parsed.parts:
        if part.content_type in ("message/rfc822", "text/rfc822-headers") and part.text:
            source = part.text
            break
    if not source:
        source = original_text
    headers = _header_block(source)

    def addresses(*names: str) -> tuple[str, ...]:
        found: list[str] = []
        for name in names:
            for value in headers.get(name, []):
                found.extend(m.lower() for m in _ADDRESS.findall(value))
        return tuple(found)

    ids = headers.get("message-id") or []
    message_id = None
    if ids:
        match = re.search(r"<([^<>\s]+)>", ids[0])
        message_id = match[1] if match else (ids[0].strip() or None)
    return Original(
        sender=addresses("from", "sender", "return-path"),
        to=addresses("to", "cc"),
        message_id=message_id,
    )


def reporting_mta(parsed: ParsedMessage, report: str) -> str | None:
    for pattern in _REPORTING_MTA:
        match = pattern.search(report)
        if match is not None:
            return match[1].strip(".")
    if parsed.from_ is not None and _SENDER.search(parsed.from_.address or ""):
        _, _, domain = (parsed.from_.address or "").partition("@")
        return domain or None
    return None


# Where MTAs put a failed address: first on its line ("<a@b>:", "  a@b", ">>> a@b"),
# or right after "to", "recipient", "address" and kin.
_LEADING = re.compile(r"(^|\n)[ \t>*\-\[]*[<\"']?$")
_RECIPIENT_CONTEXT = re.compile(
    r"(\bto|recipients?|address(es)?|addressee|destinataire|empfänger|получател\w*)"
    r"\W{0,4}(:|\s)\s*[<\"'(\[]?$",
    re.IGNORECASE,
)
_MESSAGE_ID_CONTEXT = re.compile(r"(message-id|\bid)\s*:?\s*<?$", re.IGNORECASE)


def find_recipients(report: str, exclude: set[str]) -> list[tuple[str, int]]:
    """Addresses the report speaks about, in order of first mention, with that position.

    Addresses in a recipient's place (first on a line, or after "to:", "recipient") are
    preferred to the others; ``exclude`` (the bounce's own sender and addressee, the
    original's sender) is dropped unless it stands in such a place.
    """
    masked = _URL.sub(lambda m: " " * len(m[0]), report)
    strong: dict[str, int] = {}
    weak: dict[str, int] = {}
    for match in _ADDRESS.finditer(masked):
        address = match[1].strip(".").lower()
        if masked[match.end() : match.end() + 2] in ("=\n", "=\r") or masked[
            max(0, match.start() - 2) : match.start()
        ].endswith("=\n"):
            continue  # cut by a quoted-printable soft line break: the rest is elsewhere
        before = masked[max(0, match.start() - 40) : match.start()]
        if _SENDER_CONTEXT.search(before) or _MESSAGE_ID_CONTEXT.search(before):
            continue
        local = address.partition("@")[0]
        if local in ("mailer-daemon", "postmaster") or address.endswith(".invalid"):
            continue
        if _LEADING.search(before) or (
            _RECIPIENT_CONTEXT.search(before) and address not in exclude
        ):
            strong.setdefault(address, match.start())
        elif address not in exclude:
            weak.setdefault(address, match.start())
    chosen = strong or weak
    return sorted(chosen.items(), key=lambda item: item[1])


def segments(report: str, recipients: list[tuple[str, int]]) -> dict[str, str]:
    """For each recipient: the report from the line of its first mention to the next one's."""
    if len(recipients) <= 1:
        return {address: report for address, _ in recipients}
    starts = sorted((report.rfind("\n", 0, pos) + 1, address) for address, pos in recipients)
    out: dict[str, str] = {}
    for index, (start, address) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(report)
        out[address] = report[start:end] if end > start else report[start:]
    return out


def opensmtpd_error(report: str, recipient: str | None) -> str | None:
    """OpenSMTPD's error for ``recipient`` (the text after "addr:" on its line), or None.

    None when the report is not OpenSMTPD's or does not list the recipient so.
    """
    if not recipient or _OPENSMTPD_INTRO.search(report) is None:
        return None
    for line in report.split("\n"):
        head, sep, tail = line.strip().partition(": ")
        if sep and head.strip("<>").lower() == recipient:
            return tail.strip() or None
    return None


def exim_gave_up_retrying(report: str, segment: str) -> bool:
    """Exim's report saying it gave up retrying ``segment``'s address (see ``_EXIM_RETRY``)."""
    return _EXIM_INTRO.search(report) is not None and _EXIM_RETRY.search(segment) is not None
