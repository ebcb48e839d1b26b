"""The new text of a reply: quoted original, attribution and signature taken off.

Responsible for ``stripped_text`` and ``signature`` (DESIGN §5, §7: classifiers read only
the new words of a person). Two inputs:

* plain text: lines quoted with ``>`` and the attribution line above them are removed
  wherever they are (so inline and bottom-posted answers keep their new text); the
  first *hard* boundary ends the new text: an "-----Original Message-----" style
  separator, an Outlook "From:/Sent:/To:/Subject:" block (with a sending time, a subject
  or an address: "From: Berlin / To: Munich" in prose is no block), a forward marker, or
  a dated or addressed attribution line followed by the unquoted original (Gmail on
  mobile, Yahoo);
* HTML only: the quote containers of the common clients (Gmail ``gmail_quote``, Outlook
  ``divRplyFwdMsg``/``OLK_SRC_BODY_SECTION``/its border-top header, Apple and Thunderbird
  ``blockquote type=cite``, Yahoo ``yahoo_quoted``, GMX/web.de ``name="quote"``, Zimbra,
  Hotmail ``stopSpelling``) are marked before the HTML becomes text, and the text is cut
  at the mark, then read as above; with nothing above the mark (a bottom-posted answer)
  the whole text is read, its blockquotes being "> " lines.

The signature is a ``-- `` block (RFC 3676 §4.3) or a mobile client's "Sent from my
iPhone" line and its translations; it is returned separately. Sign-offs ("Thanks,
Alex") stay in the new text: they are the person's words. Never raises, does no I/O;
all patterns are data at the top of the module, per language.
"""

from __future__ import annotations

import bisect
import re

from parsers.text import html_to_text, sanitize_html

# Attribution verbs ("<someone> wrote:") in the languages of the mail clients we see;
# German, Dutch and the Nordic languages put the name after the verb ("schrieb Bob:").
_LATIN_VERBS = (
    r"wrote|writes|schrieb|schreef|a\s+écrit|a\s+ecrit|escribió|escribio|ha\s+scritto|"
    r"escreveu|skrev|skriver|napisał|napisała|napisał\(a\)|napsal|napsala|napísal|"
    r"kirjoitti|írta|написал|написала|написал\(а\)|пише|написав|написа|yazdı|έγραψε|"
    r"a\s+scris|kirjutas|rašė|rakstīja|je\s+napisal|je\s+napisala|je\s+napisao|"
    r"het\s+geskryf|escrigué|idatzi\s+zuen|wrote\s+on|geschreven|geschrieben|"
    r"şunu\s+yazdı|şunları\s+yazdı|va\s+escriure|ha\s+escrit|menulis|đã\s+viết|pisze|"
    r"skrifaði|كتب|เขียนว่า"
)
_CJK_VERBS = r"写道|寫道|のメッセージ|さんは書きました|が書きました|님이\s*작성|님이\s*씀"
_VERB = re.compile(rf"(?<![^\W\d_])(?:{_LATIN_VERBS})(?![^\W\d_])|(?:{_CJK_VERBS})", re.I)
_ENDS_VERB = re.compile(rf"(?:{_LATIN_VERBS}|{_CJK_VERBS})\s*$", re.IGNORECASE)
# The last word of every verb, for a cheap test before the regexes (which cost ~5 µs a line).
_VERB_LAST_WORDS = frozenset(
    alt.replace("\\(", "(").replace("\\)", ")").split("\\s+")[-1].lower()
    for alt in _LATIN_VERBS.split("|")
)
_CJK_VERB_ENDINGS = tuple(alt.replace("\\s*", "") for alt in _CJK_VERBS.split("|"))
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
    r"пересылаемое\s+сообщение|reply\s+message|原始邮件|原始郵件|元のメッセージ|"
    r"oryginalna\s+wiadomość|ursprungligt\s+meddelande|pôvodná\s+správa|orijinal\s+ileti|"
    r"оригинальное\s+сообщение|mesaj\s+original|originalna\s+poruka|izvirno\s+sporočilo|"
    r"αρχικό\s+μήνυμα|mensagem\s+encaminhada|wiadomość\s+przekazana\s+dalej|"
    r"vidarebefordrat\s+meddelande|videresendt\s+(?:meddelelse|melding)|přeposlaná\s+zpráva|"
    r"välitetty\s+viesti|пересланное\s+сообщение|転送メッセージ|转发的邮件|轉寄的郵件)"
    r"\s*(?:[-=_*]{2,})?\s*:?\s*$"
    r"|^\s*_{10,}\s*$"
    r"|^\s*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht|"
    r"début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado)\s*:\s*$"
    # Lotus Notes: "----- Forwarded by Bob/ACME on 23.11.2026 11:00 -----".
    r"|^\s*-{2,}\s*(?:forwarded\s+by|weitergeleitet\s+von|transféré\s+par)\s.{0,120}-{2,}\s*$"
    # Help desks' reply markers: "##- Please type your reply above this line -##".
    r"|^\W{0,6}(?:please\s+)?(?:type\s+your\s+|write\s+your\s+)?(?:reply|response|answer)\s+"
    r"above\s+this\s+line\W{0,6}$",
    re.IGNORECASE,
)

# Header fields of a quoted original (Outlook, Exchange, GMX, Yahoo, …), per language.
_FROM_FIELD = (
    r"from|von|de|da|van|od|från|fra|frá|lähettäjä|feladó|от|kimden|от\s+кого|"
    r"发件人|寄件者|差出人|보낸\s*사람|afzender|remetente|expéditeur|mittente|de\s+la|від|"
    r"šalje|nuo|saatja|από|dari|từ"
)
_OTHER_FIELD = (
    r"sent|date|to|subject|cc|gesendet|datum|an|betreff|envoyé|date\s+d'envoi|objet|à|"
    r"enviado|enviado\s+el|enviada\s+em|fecha|asunto|para|inviato|data|oggetto|a|verzonden|onderwerp|aan|"
    r"skickat|ämne|till|sendt|emne|til|lähetetty|aihe|vastaanottaja|elküldve|tárgy|"
    r"címzett|отправлено|дата|тема|кому|wysłano|temat|do|odesláno|předmět|komu|"
    r"gönderildi|konu|kime|发送时间|时间|主题|收件人|日付|件名|宛先|送信日時|"
    r"보낸\s*날짜|제목|받는\s*사람|assunto|envoyé\s+le|trimis|către|subiect|надіслано|"
    r"изпратено|относно|poslano|prima|predmet|zadeva|za|odoslané|išsiųsta|kam|saadetud|"
    r"adressaat|teema|στάλθηκε|προς|θέμα|dikirim|kepada|subjek|đã\s+gửi|đến|chủ\s+đề|"
    r"enviat|per\s+a|assumpte"
)
# Fields only an original's header block has (a sending time, a subject): with them, or an
# address in the From field, "From: Berlin / To: Munich / Date: …" in prose is no block.
_SENT_OR_SUBJECT_FIELD = (
    r"sent|subject|gesendet|betreff|envoyé|date\s+d'envoi|objet|enviado|enviado\s+el|"
    r"enviada(?:\s+em)?|asunto|inviato|oggetto|verzonden|onderwerp|skickat|ämne|sendt|emne|"
    r"lähetetty|aihe|elküldve|tárgy|отправлено|тема|wysłano|wysłane|temat|odesláno|předmět|"
    r"gönderildi|konu|发送时间|主题|送信日時|件名|보낸\s*날짜|제목|assunto|envoyé\s+le|"
    r"trimis|subiect|надіслано|изпратено|относно|poslano|predmet|zadeva|odoslané|išsiųsta|"
    r"saadetud|teema|στάλθηκε|θέμα|dikirim|subjek|đã\s+gửi|chủ\s+đề|enviat|assumpte"
)
_SENT_OR_SUBJECT_LINE = re.compile(
    rf"^\s*[*>]?\s*(?:{_SENT_OR_SUBJECT_FIELD})\s*[*]?\s*[:：]", re.IGNORECASE
)
_FROM_LINE = re.compile(rf"^\s*[*>]?\s*(?:{_FROM_FIELD})\s*[:：]", re.IGNORECASE)
_OTHER_LINE = re.compile(rf"^\s*[*>]?\s*(?:{_OTHER_FIELD})\s*[:：]", re.IGNORECASE)

# RFC 3676 §4.3 signature separator "-- " (and the "--" left when trailing space is lost).
_SIG_DASHES = re.compile(r"^\s*--\s*$")
# Mobile clients' signatures, short lines only ("Sent from my desk, is …" is prose): the
# default signature strings of iOS/Android mail apps, Outlook mobile ("Get Outlook for iOS",
# often followed by its aka.ms link), Yahoo, GMX/web.de, Proton Mail, per language.
_DEVICE = r"[\w\s'’.®™-]{1,40}"
_MOBILE = re.compile(
    rf"^\s*(?:sent\s+from\s+my\s+{_DEVICE}|sent\s+from\s+(?:outlook|yahoo\s+mail|proton\s*mail|"
    r"mail\s+for\s+windows(?:\s+10)?|samsung\s+mobile|the\s+[\w\s]{1,30}app)[\w\s.-]{0,40}|"
    r"sent\s+(?:with|using)\s+proton\s*mail[\w\s.-]{0,40}|"
    r"(?:get|obtenir|obtener|obter(?:\s+o)?|scarica|skaffa|hent|pobierz)\s+outlook\s+"
    r"(?:for|pour|para|per|för|til|dla)\s+\w+|outlook\s+(?:für|voor)\s+\w+\s+"
    r"(?:beziehen|herunterladen|downloaden)|"
    rf"sent\s+via\s+[\w\s.-]{{1,40}}|von\s+meine[mr]\s+{_DEVICE}\s+gesendet|"
    rf"gesendet\s+von\s+meine[mr]\s+{_DEVICE}|gesendet\s+(?:von|mit)\s+(?:der\s+|dem\s+)?"
    r"(?:yahoo|outlook|gmx|web\.de|mail\.de|t-online|freenet|proton|1&1)[\w\s.&-]{0,40}|"
    r"diese\s+nachricht\s+wurde\s+von\s+meine[mr]\s+[\w\s.-]{1,60}\s+gesendet|"
    rf"envoyé\s+(?:de|depuis|à\s+partir\s+de)\s+(?:mon|ma)\s+{_DEVICE}|"
    r"envoyé\s+(?:de|depuis|à\s+partir\s+de)\s+(?:yahoo|outlook|courrier)[\w\s.-]{0,40}|"
    rf"enviado\s+desde\s+mi\s+{_DEVICE}|enviado\s+desde\s+(?:yahoo|outlook|correo)[\w\s.-]{{0,40}}|"
    rf"enviado\s+do\s+(?:meu|minha)\s+{_DEVICE}|enviado\s+do\s+(?:yahoo|outlook|email)[\w\s.-]{{0,40}}|"
    rf"inviato\s+da(?:l)?\s+(?:mio\s+|mia\s+)?{_DEVICE}|"
    rf"(?:verzonden|verstuurd)\s+(?:vanaf|met|van|via)\s+(?:mijn\s+)?{_DEVICE}|"
    rf"skickat\s+från\s+(?:min\s+)?{_DEVICE}|sendt\s+fra\s+(?:min\s+)?{_DEVICE}|"
    rf"lähetetty\s+{_DEVICE}|wysłane\s+z\s+{_DEVICE}|"
    rf"odesláno\s+z\s+{_DEVICE}|отправлено\s+(?:с|из)\s+{_DEVICE}|"
    r"[\w\s'’.-]{1,40}\s+gönderildi|[\w\s.-]{1,30}から送信|[\w\s]{1,30}에서\s*보냄|"
    r"从我的\s*[\w\s]{1,20}发送|发自我的\s*[\w\s]{1,20}|來自我的\s*[\w\s]{1,20})"
    # Outlook mobile appends its link: "Get Outlook for iOS<https://aka.ms/o0ukef>".
    r"\s*(?:<https?://[^\s>]{1,200}>|\(https?://[^\s)]{1,200}\)|\[https?://[^\s\]]{1,200}\])?"
    r"\s*[.!]?\s*$",
    re.IGNORECASE,
)
# The longest mobile signature line the pattern can match: its phrase (<= ~100 characters)
# and an appended link of up to 200.
_MOBILE_MAX_CHARS = 320
_DIGIT = re.compile(r"\d")
_TRAILING_RULE = re.compile(r"^\s*(?:[-_=*—–]\s*){2,}$|^\s*—\s*$")

# HTML quote containers, marked before conversion; the text is cut at the first mark.
_MARK = "INBOUNDQUOTEMARKf3a9"
_HTML_QUOTE = re.compile(
    r"<(?:div|span|blockquote|section|table)\b[^<>]*?(?:"
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
    r"|<hr\b[^<>]*id\s*=\s*[\"']?(?:stopSpelling|zwchr|reply-divider|replyDivider)",
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
        # Every "<" of the sanitized HTML opens a complete tag, so the quote pattern's
        # scan of one tag ends at its ">" (on "<div " repeated it ran to the end each time).
        html = sanitize_html(html)
        match = _HTML_QUOTE.search(html)
        if match is None:
            text = html_to_text(html)
            return (text, *_split_text(text))
        marked = html[: match.start()] + f"<p>{_MARK}</p>" + html[match.start() :]
        converted = html_to_text(marked)
        before, _, after = converted.partition(_MARK)
        text = (before.rstrip() + "\n\n" + after.lstrip()).strip() + "\n"
        if not before.strip():
            # Nothing above the quote: a bottom-posted answer. The converter writes the
            # blockquotes as "> " lines, which the plain-text rules take off.
            return (text, *_split_text(text))
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
    # Wrapped over lines: an "On …"-style opening, or a line naming the address first
    # ("Ann <ann@x.org>, 23 Kas 2026 … şunu" / "yazdı:", "Ann <ann@x.org> schrieb am …").
    if not ("@" in first or _ATTRIBUTION_START.match(first)):
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
        if not _ends_colon(nxt) and not _may_end_with_verb(nxt):
            continue  # cheap: an attribution ends in a colon or its verb
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
        verbs = list(_VERB.finditer(text))
        if not verbs:
            return False
        # After the verb comes nothing, a name, an address or a date ("schrieb Ann:",
        # "a scris în lun., 23 nov."); lower-case words alone are prose ("wrote to us:").
        rest = text[verbs[-1].end() :].strip(" \t:：")
        if rest[:1].islower() and "@" not in rest and not _DIGIT.search(rest):
            return False
        # English puts nothing but "on <date>" after the verb ("wrote to me on 12 May:").
        english = verbs[-1].group().lower() in ("wrote", "writes")
        if english and rest and not rest.lower().startswith("on "):
            return False
        return bool(
            _ATTRIBUTION_START.match(text)
            or "@" in text
            or re.search(r"\d", text)
            or len(text) < 80
        )
    if not _ATTRIBUTION_START.match(text):
        return False
    return bool(_may_end_with_verb(text) and _VERB.search(text) and _ENDS_VERB.search(text))


def _may_end_with_verb(text: str) -> bool:
    """Cheap pre-test for ``_ENDS_VERB``: the last word is the last word of a verb."""
    tail = text.rstrip()
    if tail[-12:].replace(" ", "").endswith(_CJK_VERB_ENDINGS):
        return True
    words = tail[-40:].split()
    return bool(words) and words[-1].lower() in _VERB_LAST_WORDS


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
            if after < len(lines) and _quoted(lines[after]):
                continue
            # Unquoted original below (Gmail mobile, Yahoo): only a dated or addressed
            # attribution ends the reply; "your colleague wrote in the ticket:" is prose.
            attribution = " ".join(lines[index : index + span])
            if after >= len(lines) or "@" in attribution or _DIGIT.search(attribution):
                return index
            continue
        if _header_block_at(lines, index):
            return index
        if len(line) < 6 and line.strip().lower() in _LOTUS_TO:
            start = _lotus_block_start(lines, index)
            if start is not None:
                return start
    return len(lines)


# Lotus Notes' layout table as text: one line per field name, the value below it.
_LOTUS_TO = frozenset(("to", "an", "à", "a", "para", "aan", "till", "til", "do", "komu"))
_LOTUS_SUBJECT = frozenset(
    ("subject", "betreff", "objet", "oggetto", "asunto", "assunto", "onderwerp", "ämne", "emne")
)


def _lotus_block_start(lines: list[str], index: int) -> int | None:
    """Start of a Lotus Notes header ("Ann <ann@x>" / date / "Please respond to" above a
    "To" line, "cc" and "Subject" lines below), or None."""
    below = lines[index + 1 : index + 9]
    if not any(line.strip().lower() in _LOTUS_SUBJECT for line in below):
        return None
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    start = above
    while start > 0 and lines[start - 1].strip() and above - start < 5:
        start -= 1
    sender = "\n".join(lines[start : above + 1])
    if above < 0 or not ("@" in sender or _DIGIT.search(sender)):
        return None
    return start


def _header_block_at(lines: list[str], index: int) -> bool:
    """An original's header block: a From-like field and another field right below it."""
    line = lines[index]
    head = line[:60]
    if ":" not in head and "：" not in head:  # cheap: field names are short
        return False
    if not (_FROM_LINE.match(line) or _OTHER_LINE.match(line)):
        return False
    fields = 0
    has_from = False
    telling = False  # a sending time or subject field, or an address in From
    position = index
    while position < len(lines) and position < index + 8:
        current = lines[position]
        if _FROM_LINE.match(current):
            has_from = True
            fields += 1
            telling = telling or "@" in current
        elif _OTHER_LINE.match(current):
            fields += 1
            telling = telling or bool(_SENT_OR_SUBJECT_LINE.match(current))
        elif not current.strip():
            break
        position += 1
    return has_from and telling and fields >= 2 and bool(_FROM_LINE.match(line) or fields >= 3)


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
        # bisect: how many content lines come before this one (a count per "-- " line
        # made 50,000 of them quadratic).
        if _SIG_DASHES.match(line) and len(content) - bisect.bisect_left(content, index) <= 20:
            signature = "\n".join(lines[index + 1 :]).strip()
            return lines[:index], signature or None
    for index in content[-3:]:
        candidate = lines[index].strip()
        # Short lines only, by construction: the pattern's leading whitespace and its
        # word-or-space runs backtrack quadratically on a long line of spaces.
        if len(candidate) <= _MOBILE_MAX_CHARS and _MOBILE.match(candidate):
            signature = "\n".join(lines[index:]).strip()
            return lines[:index], signature or None
    return lines, None
