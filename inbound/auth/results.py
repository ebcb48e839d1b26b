"""Authentication-Results (RFC 8601): the header inbound would add, and which to believe.

``header_value`` writes the verdicts as the value of the header field inbound would add,
with ``server.hostname`` as authserv-id. ``screen`` applies the trust rule of §5 to the
Authentication-Results fields already in the message: only those whose authserv-id is in
``trusted_authserv_ids`` (an operator's own relays) are believed and passed on; every other
one, and above all one claiming inbound's own authserv-id, may be forged by the sender,
so it is removed from the event's headers (the stored raw message stays as received).
Pure: strings in, strings out.
"""

from __future__ import annotations

import re

from inbound.auth.model import Arc, Dkim, Dmarc, Result, Spf

HEADER = "authentication-results"
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
# RFC 8601 §2.2 values are tokens or quoted strings; a domain or selector is a token.
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+\-./^_`{|}~@]+$")


def _value(text: str) -> str:
    if _TOKEN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header_value(
    authserv_id: str, *, spf: Spf, dkim: tuple[Dkim, ...], dmarc: Dmarc, arc: Arc
) -> str:
    """``authserv-id; spf=…; dkim=…; dmarc=…; arc=…`` (one method per verdict, §2.7)."""
    parts = [authserv_id]
    if spf.domain:
        prop = "smtp.mailfrom" if spf.identity == "mailfrom" else "smtp.helo"
        parts.append(f"spf={spf.result} {prop}={_value(spf.domain)}")
    else:
        parts.append(f"spf={spf.result}")
    if not dkim:
        parts.append("dkim=none")
    for sig in dkim:
        text = f"dkim={sig.result}"
        if sig.reason and sig.result is not Result.PASS:
            text += f" ({_comment(sig.reason)})"
        if sig.domain:
            text += f" header.d={_value(sig.domain)}"
        if sig.selector:
            text += f" header.s={_value(sig.selector)}"
        if sig.b:
            text += f" header.b={_value(sig.b)}"
        parts.append(text)
    text = f"dmarc={dmarc.result}"
    if dmarc.policy:
        text += f" (p={dmarc.policy})"
    if dmarc.domain:
        text += f" header.from={_value(dmarc.domain)}"
    parts.append(text)
    parts.append(f"arc={arc.result}")
    return "; ".join(parts)


def _comment(text: str) -> str:
    return " ".join(re.sub(r"[()\\]", " ", text).split())[:80]


def authserv_id(value: str) -> str | None:
    """The authserv-id that opens an Authentication-Results value (comments skipped)."""
    head = _COMMENT.sub(" ", value).split(";", 1)[0].strip()
    if not head:
        return None
    return head.split()[0].strip('"').lower().rstrip(".") or None


def screen(
    headers: tuple[tuple[str, str], ...] | list[tuple[str, str]],
    trusted_ids: tuple[str, ...],
    own_id: str = "",
) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """(headers without untrusted Authentication-Results, the trusted values kept).

    Inbound's own authserv-id is never trusted: inbound adds no header to what it stores,
    so one in the incoming mail was written by someone else (RFC 8601 §5).
    """
    trusted = {t.lower().rstrip(".") for t in trusted_ids} - {own_id.lower().rstrip(".")}
    kept: list[tuple[str, str]] = []
    believed: list[str] = []
    for name, value in headers:
        if name.lower() == HEADER:
            if authserv_id(value) not in trusted:
                continue
            believed.append(value)
        kept.append((name, value))
    return kept, tuple(believed)
