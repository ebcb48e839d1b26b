"""Optional spam verdicts: rspamd's HTTP protocol and SpamAssassin's spamc protocol.

Both clients speak their protocol over asyncio streams (no HTTP library: one small
request, one response, the connection closed after it) and share one rule: the whole
exchange has a deadline (``[spam] timeout_seconds``), and a timeout, a refused
connection or an answer we cannot read gives ``None`` (the event's ``spam: null``) and one
log line, never an exception out of the worker, never a stuck or lost delivery.

rspamd (https://rspamd.com/doc/developers/protocol.html): ``POST /checkv2`` with the
envelope in headers (``IP``, ``Helo``, ``From``, ``Rcpt``); the JSON answer has ``score``,
``required_score``, ``action`` and ``symbols``. spamd (SpamAssassin's PROTOCOL file,
SPAMC/1.5): ``SYMBOLS`` with ``Content-length``; the answer's ``Spam: True ; 7.1 / 5.0``
header and a body listing the rules that hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
from typing import Protocol
from urllib.parse import urlsplit

from inbound.auth.model import Spam
from inbound.outbox.model import Envelope

log = logging.getLogger("inbound.auth")

# rspamd actions that mean "treat as spam" (the others: "no action", "greylist",
# "soft reject", which is a rate limit, not a verdict).
RSPAMD_SPAM_ACTIONS = frozenset({"reject", "add header", "rewrite subject"})
MAX_ANSWER_BYTES = 1024 * 1024
_SPAMD_STATUS = re.compile(rb"^SPAMD/\d+\.\d+\s+(\d+)\s+(.*)$")
_SPAMD_SPAM = re.compile(
    rb"^Spam:\s*(True|False|Yes|No)\s*;\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)", re.IGNORECASE
)


class ProtocolError(Exception):
    """The filter answered something we cannot read."""


class SpamChecker(Protocol):
    async def check(self, raw: bytes, envelope: Envelope) -> Spam | None: ...


class _Client:
    """The deadline and failure rule both protocols share."""

    engine = ""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    async def check(self, raw: bytes, envelope: Envelope) -> Spam | None:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._exchange(raw, envelope)
        except TimeoutError:
            log.warning(
                "spam: %s gave no verdict within %g s; spam is null",
                self.engine,
                self.timeout_seconds,
            )
        except OSError as exc:
            log.warning("spam: cannot reach %s (%s); spam is null", self.engine, exc.strerror)
        except (ProtocolError, ValueError) as exc:
            log.warning("spam: unreadable answer from %s (%s); spam is null", self.engine, exc)
        return None

    async def _exchange(self, raw: bytes, envelope: Envelope) -> Spam:
        raise NotImplementedError


async def _talk(host: str, port: int, request: bytes, tls: ssl.SSLContext | None = None) -> bytes:
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        writer.write(request)
        await writer.drain()
        data = await reader.read(MAX_ANSWER_BYTES + 1)
        chunks = [data]
        total = len(data)
        while data and total <= MAX_ANSWER_BYTES:
            data = await reader.read(MAX_ANSWER_BYTES + 1 - total)
            chunks.append(data)
            total += len(data)
        if total > MAX_ANSWER_BYTES:
            raise ProtocolError("answer too large")
        return b"".join(chunks)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Rspamd(_Client):
    engine = "rspamd"

    def __init__(self, url: str, timeout_seconds: float) -> None:
        super().__init__(timeout_seconds)
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.port = parts.port or (443 if self.tls else 80)
        self.path = (parts.path.rstrip("/") or "") + "/checkv2"

    def request(self, raw: bytes, envelope: Envelope) -> bytes:
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Connection: close",
            "Content-Type: message/rfc822",
            f"Content-Length: {len(raw)}",
        ]
        if envelope.remote_ip:
            lines.append(f"IP: {envelope.remote_ip}")
        if envelope.helo:
            lines.append(f"Helo: {_header_safe(envelope.helo)}")
        if envelope.mail_from:
            lines.append(f"From: {_header_safe(envelope.mail_from)}")
        lines.extend(f"Rcpt: {_header_safe(r)}" for r in envelope.rcpt_to)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + raw

    async def _exchange(self, raw: bytes, envelope: Envelope) -> Spam:
        answer = await _talk(self.host, self.port, self.request(raw, envelope), self.tls)
        return parse_rspamd(answer)


def parse_rspamd(answer: bytes) -> Spam:
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        raise ProtocolError("no end of HTTP headers")
    status_line, *header_lines = head.split(b"\r\n")
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or fields[1] != b"200":
        raise ProtocolError(f"HTTP status {status_line[:40]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        body = _dechunk(body)
    elif (length := headers.get(b"content-length")) is not None and length.isdigit():
        body = body[: int(length)]
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("not JSON") from exc
    if not isinstance(doc, dict) or "score" not in doc:
        raise ProtocolError("no score in the answer")
    score = float(doc["score"])
    threshold = float(doc.get("required_score", 15.0))
    action = str(doc.get("action", "")).lower()
    symbols = doc.get("symbols") or {}
    names = tuple(str(s) for s in symbols) if isinstance(symbols, dict | list) else ()
    return Spam(
        score=round(score, 2),
        threshold=round(threshold, 2),
        is_spam=action in RSPAMD_SPAM_ACTIONS or score >= threshold,
        symbols=names,
        engine="rspamd",
    )


def _dechunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            raise ProtocolError("bad chunked body")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError as exc:
            raise ProtocolError("bad chunk size") from exc
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


class Spamd(_Client):
    engine = "spamassassin"

    def __init__(self, host: str, port: int, timeout_seconds: float) -> None:
        super().__init__(timeout_seconds)
        self.host, self.port = host, port

    @staticmethod
    def request(raw: bytes) -> bytes:
        return b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(raw) + raw

    async def _exchange(self, raw: bytes, envelope: Envelope) -> Spam:
        return parse_spamd(await _talk(self.host, self.port, self.request(raw)))


def parse_spamd(answer: bytes) -> Spam:
    head, _sep, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = _SPAMD_STATUS.match(lines[0])
    if not status:
        raise ProtocolError(f"status line {lines[0][:40]!r}")
    if status.group(1) != b"0":
        raise ProtocolError(f"spamd error {status.group(1).decode()} {status.group(2)[:40]!r}")
    for line in lines[1:]:
        spam = _SPAMD_SPAM.match(line)
        if spam:
            names = body.decode("ascii", "replace").strip()
            return Spam(
                score=round(float(spam.group(2)), 2),
                threshold=round(float(spam.group(3)), 2),
                is_spam=spam.group(1).lower() in (b"true", b"yes"),
                symbols=tuple(n.strip() for n in names.split(",") if n.strip()),
                engine="spamassassin",
            )
    raise ProtocolError("no Spam header")


def _header_safe(text: str) -> str:
    return re.sub(r"[\r\n]", " ", text)
