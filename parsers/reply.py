"""The new text of a reply: quoted original, attribution and signature taken off.

Responsible for ``stripped_text`` and ``signature``. Works on the plain text (or the
text derived from HTML); it never raises, and when it finds no quote it hands back the
whole text. It may not decode bytes or look at headers.
"""

from __future__ import annotations

import re

# "On <date>, <name> wrote:" and its translations, possibly wrapped over two lines.
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,200}\bwrote|am\b.{0,200}\bschrieb.{0,100}|le\b.{0,200}\ba écrit"
    r"|el\b.{0,200}\bescribió|il\b.{0,200}\bha scritto|op\b.{0,200}\bschreef.{0,100}"
    r"|em\b.{0,200}\bescreveu)\s*:?\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*(-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale|forwarded message|weitergeleitete nachricht)"
    r"\s*-{2,}|_{20,})\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(from|von|de|da|van|od|från|fra)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|to|subject|gesendet|datum|an|betreff|envoyé|objet|à|enviado|"
    r"asunto|para|inviato|oggetto|a|verzonden|onderwerp|aan|cc)\s*:",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^-- ?$")
_MOBILE = re.compile(
    r"^\s*(sent from my|sent from (outlook|yahoo|mail for)|get outlook for|"
    r"von meinem .* gesendet|envoyé de mon|enviado desde mi|inviato da)",
    re.IGNORECASE,
)


def split_reply(text: str, html: str | None = None) -> tuple[str, str | None]:
    """``(stripped_text, signature)`` for a message body; ``html`` is reserved for step 2."""
    del html
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _quote_start(lines)
    new = lines[:cut]
    signature: str | None = None
    for index, line in enumerate(new):
        if _SIGNATURE.match(line) or _MOBILE.match(line):
            signature = "\n".join(new[index:]).strip() or None
            new = new[:index]
            break
    return "\n".join(new).strip(), signature


def _quote_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            return _before_attribution(lines, index)
        if _ORIGINAL.match(line):
            return index
        if _ATTRIBUTION.match(line):
            return index
        if index + 1 < len(lines) and _ATTRIBUTION.match(line + " " + lines[index + 1]):
            return index
        if _HEADER_FROM.match(line) and any(
            _HEADER_NEXT.match(n) for n in lines[index + 1 : index + 4]
        ):
            return index
    return len(lines)


def _before_attribution(lines: list[str], index: int) -> int:
    """Move a quote's start up over blank lines and an attribution line just above it."""
    start = index
    while start > 0 and not lines[start - 1].strip():
        start -= 1
    if start > 0 and lines[start - 1].rstrip().endswith(":"):
        start -= 1
    return start
