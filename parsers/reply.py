"""The new text of a reply: quoted original, attribution and signature taken off.

Responsible for ``stripped_text`` and ``signature`` (DESIGN §5, §7: classifiers read only
the new words of a person). Two inputs:

* plain text: lines quoted with ``>`` and the attribution line above them are removed
  wherever they are (so inline and bottom-posted answers keep their new text); the
  first *hard* boundary ends the new text: an "-----Original Message-----" style
  separator, an Outlook "From:/Sent:/To:/Subject:" block, a forward marker, or an
  attribution line followed by the unquoted original (Gmail on mobile);
* HTML only: the quote containers of the common clients (Gmail ``gmail_quote``, Outlook
  ``divRplyFwdMsg``/``OLK_SRC_BODY_SECTION``/its border-top header, Apple and Thunderbird
  ``blockquote type=cite``, Yahoo ``yahoo_quoted``, GMX/web.de ``name="quote"``, Zimbra,
  Hotmail ``stopSpelling``) are marked before the HTML becomes text, and the text is cut
  at the mark, then read as above.

The signature is a ``-- `` block (RFC 3676 §4.3) or a mobile client's "Sent from my
iPhone" line and its translations; it is returned separately. Sign-offs ("Thanks,
Alex") stay in the new text: they are the person's words. Never raises, does no I/O;
all patterns are data at the top of the module, per language.
"""

from __future__ import annotations

import re

from parsers.text import html_to_text

# Attribution verbs ("<someone> wrote:") in the languages of the mail clients we see;
# German, Dutch and the Nordic languages put the name after the verb ("schrieb Bob:").
_LATIN_VERBS = (
    r"wrote|writes|schrieb|schreef|a\s+écrit|a\s+ecrit|escribió|escribio|ha\s+scritto|"
    r"escreveu|skrev|skriver|napisał|napisała|napisał\(a\)|napsal|napsala|napísal|"
    r"kirjoitti|írta|написал|написала|написал\(а\)|пише|написав|написа|yazdı|έγραψε|"
    r"a\s+scris|kirjutas|rašė|rakstīja|je\s+napisal|je\s+napisala|je\s+napisao|"
    r"het\s+geskryf|escrigué|idatzi\s+zuen|wrote\s+on"
)
_CJK_VERBS = r"写道|寫道|のメッセージ|さんは書きました|が書きました|님이\s*작성|님이\s*씀"
_VERB = re.compile(rf"(?<![^\W\d_])(?:{_LATIN_VERBS})(?![^\W\d_])|(?:{_CJK_VERBS})", re.I)
_ENDS_VERB = re.compile(rf"(?:{_LATIN_VERBS}|{_CJK_VERBS})\s*$", re.IGNORECASE)
# Words that open an attribution ("On …", "Am …", "Le …", "El …", "Il giorno …", …).
_ATTRIBUTION_START = re.compile(
    r"^\s*(?:-{2,}\s*)?(?:on|am|le|el|il|op|em|den|på|d\.|w\s+dniu|dne|dňa|dana|"
    r"в|στις|pada|vào|la|el\s+día|il\s+giorno|o|op\s+\w+|\d|在|于|於|\w+,\s*\d)",
    re.IGNORECASE,
)
# A date-led attribution without a verb: "2014-06-26 13:53 GMT+04:00 Bob <bob@x.org>:".
_DATED_ADDRESS = re.compile(r"^\s*\d{1,4}[./\-年].{0,120}[\w.+-]+@[\w.-]+>?\s*[:：]\s*$")
# Any line that ends in an address and a colon ("… от Bob <bob@x.ru>:", mail.ru, Yandex).
_ENDS_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?:&gt;|>)?\)?\s*[:：]\s*$")

# Separator lines that start the original message or a forward.
_SEPARATOR = re.compile(
    r"^\s*(?:[-=_*]{2,}\s*)?(?:original\s+message|original-nachricht|ursprüngliche\s+nachricht|"
    r"ursprüngliche\s+mail|originalnachricht|originalmeldung|e-mail\s+original|"
    r"message\s+d'origine|mensaje\s+original|messaggio\s+originale|mensagem\s+original|"
    r"oorspronkelijk\s+bericht|originalmeddelande|opprinnelig\s+melding|"
    r"oprindelig\s+meddelelse|alkuperäinen\s+viesti|wiadomość\s+oryginalna|"
    r"původní\s+zpráva|eredeti\s+üzenet|исходное\s+сообщение|"
    r"forwarded\s+message|weitergeleitete\s+nachricht|message\s+transféré|"
    r"mensaje\s+reenviado|messaggio\s+inoltrato|doorgestuurd\s+bericht|"
    r"пересылаемое\s+сообщение|reply\s+message|原始邮件|原始郵件|元のメッセージ)"
    r"\s*(?:[-=_*]{2,})?\s*:?\s*$"
    r"|^\s*_{10,}\s*$"
    r"|^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|"
    r"début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado)\s*:\s*$",
    re.IGNORECASE,
)

# Header fields of a quoted original (Outlook, Exchange, GMX, Yahoo, …), per language.
_FROM_FIELD = (
    r"from|von|de|da|van|od|från|fra|frá|lähettäjä|feladó|от|kimden|от\s+кого|"
    r"发件人|寄件者|差出人|보낸\s*사람|afzender|remetente|expéditeur|mittente"
)
_OTHER_FIELD = (
    r"sent|date|to|subject|cc|gesendet|datum|an|betreff|envoyé|date\s+d'envoi|objet|à|"
    r"enviado|enviado\s+el|enviada\s+em|fecha|asunto|para|inviato|data|oggetto|a|verzonden|onderwerp|aan|"
    r"skickat|ämne|till|sendt|emne|til|lähetetty|aihe|vastaanottaja|elküldve|tárgy|"
    r"címzett|отправлено|дата|тема|кому|wysłano|temat|do|odesláno|předmět|komu|"
    r"gönderildi|konu|kime|发送时间|时间|主题|收件人|日付|件名|宛先|送信日時|"
    r"보낸\s*날짜|제목|받는\s*사람|assunto|envoyé\s+le"
)
_FROM_LINE = re.compile(rf"^\s*[*>]?\s*(?:{_FROM_FIELD})\s*[:：]", re.IGNORECASE)
_OTHER_LINE = re.compile(rf"^\s*[*>]?\s*(?:{_OTHER_FIELD})\s*[:：]", re.IGNORECASE)

# RFC 3676 §4.3 signature separator "-- " (and the "--" left when trailing space is lost).
_SIG_DASHES = re.compile(r"^\s*--\s*$")
# Mobile clients' signatures, short lines only ("Sent from my desk, is …" is prose).
_MOBILE = re.compile(
    r"^\s*(?:sent\s+from\s+my\s+[\w\s'’.-]{1,40}|sent\s+from\s+(?:outlook|yahoo\s+mail|"
    r"mail\s+for\s+windows(?:\s+10)?|samsung\s+mobile|the\s+[\w\s]{1,30}app)[\w\s.-]{0,40}|"
    r"get\s+outlook\s+for\s+\w+|sent\s+via\s+[\w\s.-]{1,40}|"
    r"von\s+meinem\s+[\w\s.-]{1,40}\s+gesendet|gesendet\s+von\s+meinem\s+[\w\s.-]{1,40}|"
    r"envoyé\s+de\s+mon\s+[\w\s.-]{1,40}|enviado\s+desde\s+mi\s+[\w\s.-]{1,40}|"
    r"enviado\s+do\s+meu\s+[\w\s.-]{1,40}|inviato\s+da\s+(?:iphone|ipad|[\w\s.-]{1,40})|"
    r"verzonden\s+(?:vanaf|met)\s+(?:mijn\s+)?[\w\s.-]{1,40}|"
    r"skickat\s+från\s+min\s+[\w\s.-]{1,40}|sendt\s+fra\s+min\s+[\w\s.-]{1,40}|"
    r"lähetetty\s+[\w\s.-]{1,40}|wysłane\s+z\s+[\w\s.'’-]{1,40}|"
    r"odesláno\s+z\s+[\w\s.-]{1,40}|отправлено\s+с\s+[\w\s.-]{1,40}|"
    r"iphoneから送信|从我的\s*iphone\s*发送|发自我的\s*iphone|來自我的\s*iphone)\s*[.!]?\s*$",
    re.IGNORECASE,
)
_TRAILING_RULE = re.compile(r"^\s*(?:[-_=*—–]\s*){2,}$|^\s*—\s*$")

# HTML quote containers, marked before conversion; the text is cut at the first mark.
_MARK = "INBOUNDQUOTEMARKf3a9"
_HTML_QUOTE = re.compile(
    r"<(?:div|span|blockquote|section|table)\b[^>]*?(?:"
    r"class\s*=\s*[\"']?[^\"'>]*\b(?:x_)?(?:gmail_quote|gmail_attr|moz-cite-prefix|"
    r"yahoo_quoted|protonmail_quote|zmail_extra|OutlookMessageHeader|"
    r"moz-forward-container|quote-wrapper)\b"
    r"|id\s*=\s*[\"']?(?:x_)?(?:divRplyFwdMsg|OLK_SRC_BODY_SECTION|appendonsend|"
    r"mail-editor-reference-message-container|ydp[\w]*yahoo_quoted[\w]*|yahoo_quoted[\w]*|"
    r"isForwardContent|isReplyContent|reply-intro|zwchr)"
    r"|name\s*=\s*[\"']?(?:quote|quoted-content)[\"'\s>]"
    r"|type\s*=\s*[\"']?cite"
    r"|style\s*=\s*[\"'][^\"']*border-top:\s*solid\s*#(?:B5C4DF|E1E1E1)"
    r")"
    r"|<hr\b[^>]*id\s*=\s*[\"']?(?:stopSpelling|zwchr|reply-divider|replyDivider)",
    re.IGNORECASE,
)


def split_reply(text: str) -> tuple[str, str | None]:
    """``(stripped_text, signature)`` of a plain-text body; both whitespace-trimmed."""
    try:
        return _split_text(text)
    except RecursionError:  # a pathological regex backtrack is not a reason to fail
        return text.strip(), None


def split_html(html: str) -> tuple[str, str, str | None]:
    """``(text, stripped_text, signature)`` of an HTML-only message, converted once."""
    try:
        match = _HTML_QUOTE.search(html)
        if match is None:
            text = html_to_text(html)
            return (text, *_split_text(text))
        marked = html[: match.start()] + f"<p>{_MARK}</p>" + html[match.start() :]
        converted = html_to_text(marked)
        before, _, after = converted.partition(_MARK)
        text = (before.rstrip() + "\n\n" + after.lstrip()).strip() + "\n"
        return (text, *_split_text(before))
    except RecursionError:  # a pathological regex backtrack is not a reason to fail
        text = html_to_text(html)
        return text, text.strip(), None


def _split_text(text: str) -> tuple[str, str | None]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _hard_boundary(lines)]
    kept = _drop_quotes(lines)
    body, signature = _signature(kept)
    while body and (not body[-1].strip() or _TRAILING_RULE.match(body[-1])):
        body.pop()
    stripped = "\n".join(body).strip("\n")
    # Keep indentation of the first line only if it is part of the text; trim the ends.
    return stripped.strip(), signature


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_at(lines: list[str], index: int) -> int:
    """How many lines (1-3) form an attribution starting at ``index``; 0 if none."""
    first = lines[index]
    if not first.strip() or _quoted(first):
        return 0
    # Cheap tests first: this runs on every line of every message.
    if _ends_colon(first) and (
        _DATED_ADDRESS.match(first) or (len(first) < 300 and _ENDS_ADDRESS.search(first))
    ):
        return 1
    if _is_attribution(first):
        return 1
    if not _ATTRIBUTION_START.match(first):
        return 0
    joined = first
    for extra in (1, 2):
        if index + extra >= len(lines):
            break
        nxt = lines[index + extra]
        if not nxt.strip() or _quoted(nxt):
            break
        joined += " " + nxt.strip()
        if len(joined) > 300:
            break
        if (_ends_colon(joined) and _DATED_ADDRESS.match(joined)) or _is_attribution(joined):
            return extra + 1
    return 0


def _ends_colon(text: str) -> bool:
    return text.rstrip().endswith((":", "："))


def _is_attribution(text: str) -> bool:
    """One (joined) line that says who wrote the quote below: a verb and a colon at the
    end, or an "On …"-style opening with the verb at the end (colon lost)."""
    if len(text) > 400:
        return False
    if _ends_colon(text):
        if _VERB.search(text) is None:
            return False
        return bool(
            _ATTRIBUTION_START.match(text)
            or "@" in text
            or re.search(r"\d", text)
            or len(text) < 80
        )
    if not _ATTRIBUTION_START.match(text):
        return False
    return bool(_VERB.search(text) and _ENDS_VERB.search(text))


def _next_content(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _hard_boundary(lines: list[str]) -> int:
    """Index of the first line of the quoted original that is not ``>``-quoted."""
    for index, line in enumerate(lines):
        if _quoted(line):
            continue
        if _SEPARATOR.match(line):
            return index
        span = _attribution_at(lines, index)
        if span:
            after = _next_content(lines, index + span)
            if after >= len(lines) or not _quoted(lines[after]):
                return index
            continue
        if _header_block_at(lines, index):
            return index
    return len(lines)


def _header_block_at(lines: list[str], index: int) -> bool:
    """An original's header block: a From-like field and another field right below it."""
    line = lines[index]
    if not (_FROM_LINE.match(line) or _OTHER_LINE.match(line)):
        return False
    fields = 0
    has_from = False
    position = index
    while position < len(lines) and position < index + 8:
        current = lines[position]
        if _FROM_LINE.match(current):
            has_from = True
            fields += 1
        elif _OTHER_LINE.match(current):
            fields += 1
        elif not current.strip():
            break
        position += 1
    return has_from and fields >= 2 and bool(_FROM_LINE.match(line) or fields >= 3)


def _drop_quotes(lines: list[str]) -> list[str]:
    """Remove ``>`` blocks and the attribution (plus blank lines) just above each."""
    drop = [False] * len(lines)
    index = 0
    while index < len(lines):
        if not _quoted(lines[index]):
            index += 1
            continue
        start = index
        while index < len(lines) and (_quoted(lines[index]) or not lines[index].strip()):
            drop[index] = True
            index += 1
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        for span_start in range(max(0, above - 2), above + 1):
            span = _attribution_at(lines, span_start)
            if span and span_start + span - 1 == above:
                for position in range(span_start, start):
                    drop[position] = True
                break
        else:
            if (
                above >= 0
                and lines[above].rstrip().endswith((":", "："))
                and ("@" in lines[above] or re.search(r"\d{1,2}:\d{2}", lines[above]))
            ):
                for position in range(above, start):
                    drop[position] = True
    return [line for line, dropped in zip(lines, drop, strict=True) if not dropped]


def _signature(lines: list[str]) -> tuple[list[str], str | None]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return lines, None
    for index, line in enumerate(lines):
        if _SIG_DASHES.match(line) and len(content) - _rank(content, index) <= 20:
            signature = "\n".join(lines[index + 1 :]).strip()
            return lines[:index], signature or None
    for index in content[-3:]:
        if _MOBILE.match(lines[index]):
            signature = "\n".join(lines[index:]).strip()
            return lines[:index], signature or None
    return lines, None


def _rank(content: list[int], index: int) -> int:
    """How many content lines come before ``index``."""
    return sum(1 for i in content if i < index)
