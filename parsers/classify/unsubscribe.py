"""Unsubscribes that need no reading: mail sent to an unsubscribe address, or a bare subject.

A route's unsubscribe addresses (the ``mailto:`` of the List-Unsubscribe header its
sender puts on outgoing mail, RFC 2369 §3.2; one-click RFC 8058 is HTTP and never
reaches us) arrive in ``Hints.unsubscribe_addresses``. Mail to one of them, or to its
plus-addressed form ``unsubscribe+<token>@…``, is an unsubscribe whatever its body says;
the token (which the sender minted to know who is leaving) is surfaced.

A subject that is nothing but "unsubscribe", "remove me", "abmelden", "退订"… is what
mail clients send for a List-Unsubscribe ``mailto:`` and what people type; the words are
per-language data (``unsubscribe_subjects`` in ``lexicon/<lang>.toml``).

Requests written in a person's own words are found by the lexicons (``person.py``).
This module may not read the message body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.model import Evidence, Hints, ParsedMessage

# Reply and forward prefixes a client may have put before a one-word subject.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|odp|atb|ats|antw|res|r|fw|fwd|wg|tr|rv|enc|ynt|отв|вл|回复|答复|返信|転送)"
    r"\s*(?:\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
# The first letter or digit ("\w" without "_"). Edges are found by searching forward in
# the text and in its reverse: one linear scan each. (``^[\s\W_]+|[\s\W_]+$`` retried its
# tail at every character of a run: 40,000 "!" took 30 s, issue 16.)
_WORD_CHAR = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressMatch:
    """Mail addressed to an unsubscribe address."""

    evidence: Evidence
    token: str | None


def by_address(parsed: ParsedMessage, hints: Hints) -> AddressMatch | None:
    """The envelope recipient (else a To/Cc address) that is an unsubscribe address."""
    wanted = {a.strip().lower() for a in hints.unsubscribe_addresses if a.strip()}
    if not wanted:
        return None
    candidates = [("envelope:rcpt_to", a) for a in hints.rcpt_to]
    candidates += [("header:To", a.address) for a in parsed.to]
    candidates += [("header:Cc", a.address) for a in parsed.cc]
    for where, address in candidates:
        lowered = address.strip().lower()
        local, sep, domain = lowered.rpartition("@")
        if not sep:
            continue
        base, plus, _ = local.partition("+")
        if lowered in wanted:
            token = None  # the configured address itself, whatever characters it holds
        elif plus and f"{base}@{domain}" in wanted:
            # Keep the token's case: the sender minted it and may compare it exactly.
            token = address.strip().rpartition("@")[0].partition("+")[2] or None
        else:
            continue
        return AddressMatch(evidence=Evidence(where=where, text=address.strip()), token=token)
    return None


def strip_prefixes(subject: str) -> str:
    """The subject without "Re:", "AW:", "Fwd:"… prefixes, otherwise as written."""
    return _PREFIX.sub("", subject).strip()


def bare(text: str) -> str:
    """``text`` without surrounding punctuation and space, lower-cased, one-spaced.

    Linear in ``text``; "" when it holds no letter or digit.
    """
    first = _WORD_CHAR.search(text)
    if first is None:
        return ""
    last = _WORD_CHAR.search(text[::-1])
    end = len(text) - (last.start() if last else 0)
    return " ".join(text[first.start() : end].lower().split())
