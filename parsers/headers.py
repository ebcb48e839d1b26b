"""Header blocks: split, unfold and decode, keeping order and duplicates.

Responsible for turning the raw header bytes of one MIME entity into ``(name, value)``
pairs with RFC 2047 encoded-words decoded (RFC 6532 UTF-8 and stray 8-bit bytes too),
and for the typed getters built on them: message-ids, dates. It never raises on
malformed input: what it had to guess is reported as defect strings.

It may not parse MIME structure (``mime.py``) or addresses (``addresses.py``).
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from parsers.budget import Budget
from parsers.text import decode_base64, decode_bytes

# RFC 5322 §2.1.1 says 998 characters per line; real mail goes far beyond that, so the
# limits below are our own, chosen so a hostile header block cannot exhaust memory or
# time: 256 KiB of header bytes and 1,000 fields kept per entity (Gmail and Exchange both
# reject messages with much smaller header blocks). One field over 128 KiB (a To: of
# 3,000 recipients is 100 KiB) is dropped, and the fields after it are still read: the
# end of a header block is looked for in its first 4 MiB.
MAX_HEADER_BYTES = 256 * 1024
MAX_HEADER_FIELDS = 1000
MAX_FIELD_BYTES = 128 * 1024
MAX_HEADER_SCAN = 4 * 1024 * 1024

# RFC 2047 §2: encoded-word = "=?" charset ["*" language] "?" encoding "?" text "?="
_ENCODED_WORD = re.compile(rb"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_FIELD_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:")
# RFC 2045 §5.1 ``attribute "=" value`` at the start of a line: a parameter (token
# characters, RFC 2231 ``*0*`` suffixes included) that some MTAs (Exchange Online among
# them) put on a line of its own *without* the leading whitespace of RFC 5322 §2.2.3
# folding. Read as a continuation only right after a line that ends with ";", where the
# parameter list is visibly unfinished; otherwise such a line ends the header block.
_BARE_PARAMETER = re.compile(rb"^[!#$%&'*+.^_`{|}~0-9A-Za-z-]+[ \t]*=")
_LINE_SPLIT = re.compile(rb"\r\n|\n|\r")
_MSG_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")


_BLANK_LINE = re.compile(rb"\n\r?\n")


def header_window(raw: bytes, start: int, end: int) -> bytes:
    """The bytes of ``raw[start:end]`` that can hold the entity's header block.

    Up to the first empty line (where the block ends at the latest), at most
    ``MAX_HEADER_SCAN`` bytes: a copy of a few hundred bytes per part, not of 4 MiB.
    """
    if raw.startswith((b"\n", b"\r\n"), start):
        return raw[start : min(end, start + 2)]
    limit = min(end, start + MAX_HEADER_SCAN)
    blank = _BLANK_LINE.search(raw, start, limit)
    return raw[start : limit if blank is None else blank.end()]


def split_header_block(data: bytes) -> tuple[bytes, bytes]:
    """Split an entity into (header bytes, body bytes) at the first empty line.

    A line that is neither a field nor a continuation also ends the headers
    (as the stdlib parser does); a leading mbox ``From `` line is part of the headers.
    A parameter line after a line ending in ";" is a continuation (``_BARE_PARAMETER``).
    """
    pos = 0
    length = len(data)
    first = True
    previous = b""
    while pos < length:
        nl = data.find(b"\n", pos)
        end = length if nl < 0 else nl + 1
        line = data[pos:end].rstrip(b"\r\n")
        if not line:
            return data[:pos], data[end:]
        if not (
            line[:1] in (b" ", b"\t")
            or _FIELD_NAME.match(line)
            or _bare_continuation(previous, line)
            or (first and line.startswith(b"From "))
        ):
            return data[:pos], data[pos:]
        first = False
        previous = line
        pos = end
    return data, b""


def _bare_continuation(previous: bytes, line: bytes) -> bool:
    """Whether ``line`` continues an unfinished parameter list without folding whitespace."""
    return previous.rstrip().endswith(b";") and _BARE_PARAMETER.match(line) is not None


def parse_header_block(block: bytes) -> tuple[list[tuple[str, bytes]], list[str]]:
    """Raw (name, unfolded raw value) pairs, in order, with defects for what was dropped."""
    defects: list[str] = []
    fields: list[tuple[str, list[bytes]]] = []
    for line in _LINE_SPLIT.split(block[:MAX_HEADER_SCAN]):
        if not line:
            continue
        if fields and _bare_continuation(fields[-1][1][-1], line):
            # Checked before the field name: "h=From:Date" (DKIM) is a parameter too.
            defects.append("header continuation line without leading whitespace: unfolded")
            fields[-1][1].append(b" " + line)
            continue
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1].append(line)
            else:
                defects.append("header block starts with a continuation line")
            continue
        match = _FIELD_NAME.match(line)
        if match is None:
            if not (not fields and line.startswith(b"From ")):
                defects.append("header line without a field name ignored")
            continue
        if len(fields) >= MAX_HEADER_FIELDS:
            defects.append(f"more than {MAX_HEADER_FIELDS} header fields: rest ignored")
            break
        name = match.group(1).decode("ascii")
        fields.append((name, [line[match.end() :]]))
    out: list[tuple[str, bytes]] = []
    kept = 0
    for name, parts in fields:
        size = sum(len(part) for part in parts)
        if size > MAX_FIELD_BYTES:
            defects.append(f"{name[:40]} header over {MAX_FIELD_BYTES} bytes: dropped")
            continue
        kept += len(name) + size
        if kept > MAX_HEADER_BYTES:
            defects.append(f"header block over {MAX_HEADER_BYTES} bytes: the rest ignored")
            break
        out.append((name, b"".join(parts).strip()))
    return out, defects


def decode_header_value(raw: bytes, budget: Budget | None = None) -> tuple[str, list[str]]:
    """RFC 2047/6532 decoding of one unfolded header value into valid text.

    Charset detection draws on ``budget`` (one message's caps), when given.
    """
    defects: list[str] = []
    if b"=?" not in raw:
        return _plain(raw, defects, budget), defects
    out: list[str] = []
    pos = 0
    pending: list[tuple[str, bytes]] = []  # adjacent encoded words: (charset, bytes)

    def flush() -> None:
        # Adjacent encoded-words in one charset are joined as bytes first: senders split
        # multi-byte characters across words (RFC 2047 §5 forbids it; Outlook does it).
        index = 0
        while index < len(pending):
            charset, chunk = pending[index]
            index += 1
            while index < len(pending) and pending[index][0] == charset:
                chunk += pending[index][1]
                index += 1
            text, text_defects = decode_bytes(chunk, charset, budget)
            defects.extend(f"encoded-word: {d}" for d in text_defects)
            out.append(text)
        pending.clear()

    for match in _ENCODED_WORD.finditer(raw):
        between = raw[pos : match.start()]
        if between and not (pending and between.isspace()):
            flush()
            out.append(_plain(between, defects, budget))
        charset = match.group(1).decode("ascii", "replace").lower()
        kind = match.group(2).upper()
        payload = match.group(3)
        if kind == b"B":
            data, ok = decode_base64(payload)
            if not ok:
                defects.append("encoded-word: invalid base64 recovered")
        else:
            data = _q_decode(payload)
        pending.append((charset, data))
        pos = match.end()
    flush()
    tail = raw[pos:]
    if tail:
        out.append(_plain(tail, defects, budget))
    text = "".join(out)
    if "=?" in text and re.search(r"=\?[^?\s]+\?[bBqQ]\?", text):
        defects.append("encoded-word not terminated: left as is")
    return text, defects


def _plain(raw: bytes, defects: list[str], budget: Budget | None = None) -> str:
    if raw.isascii():
        return raw.decode("ascii")
    # RFC 6532 allows UTF-8 in headers; anything else is a guess.
    text, text_defects = decode_bytes(raw, None, budget)
    if text_defects:
        defects.append("8-bit header bytes that are not UTF-8: charset guessed")
    return text


def _q_decode(payload: bytes) -> bytes:
    # RFC 2047 §4.2: "_" is a space, "=XX" a byte.
    return binascii.a2b_qp(payload.replace(b"_", b" "))


def unfold(value: str) -> str:
    """RFC 5322 §2.2.3 unfolding: CRLF before whitespace removed."""
    return _FOLD.sub("", value)


def message_ids(value: str) -> list[str]:
    """The ``<id>`` tokens of a Message-ID/In-Reply-To/References value, without brackets.

    Values without angle brackets (some MTAs) give their whitespace-separated words.
    """
    found = _MSG_ID.findall(value)
    if found:
        return found
    return [word.strip("<>") for word in value.split() if word.strip("<>")]


def parse_date(value: str) -> tuple[datetime | None, list[str]]:
    """RFC 5322 §3.3 date, always timezone-aware (``-0000`` and no zone read as UTC)."""
    if not value.strip():
        return None, []
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:  # some scripts write ISO 8601 ("2026-11-23T10:00:00Z") instead of RFC 5322
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, [f"unparseable Date header: {value[:80]!r}"]
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), [
            "Date header in ISO 8601, not RFC 5322 §3.3"
        ]
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), []
    return parsed, []
