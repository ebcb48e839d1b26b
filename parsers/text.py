"""Bytes in any declared or detected charset to valid text; HTML to readable text.

Responsible for the one rule of DESIGN §5: text is always valid UTF-8. The declared
charset is tried first (through the superset a mail client really meant: windows-1252
for iso-8859-1, gb18030 for gb2312, cp932 for shift_jis …), then detection with
charset-normalizer, then a lossy decode with a defect. Also the content-transfer
decodings (base64, quoted-printable) with recovery, and HTML-to-text (html2text).

This is the one module that imports charset-normalizer and html2text. It may not look
at MIME structure or headers.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from functools import lru_cache

from parsers.budget import DETECTION_SCORED, Budget

# Labels senders write for a charset they did not quite use. Decoding through the
# superset is what browsers do (WHATWG Encoding Standard §4.2, "labels"): iso-8859-1 and
# us-ascii are windows-1252 there, gb2312/gbk are gb18030, and Windows' shift_jis is cp932.
_SUPERSETS: dict[str, str] = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ms_kanji": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unicode20utf8": "utf-8",
    "ansi_x3.4-1968": "cp1252",
    "cp-850": "cp850",
}

# Labels that say nothing: decode by detection.
_UNKNOWN = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "default", "8bit", "none"})

# Decoding is linear, but detection is not free: charset-normalizer looks at a sample.
_DETECT_SAMPLE = 16 * 1024
_SCORE_SAMPLE = DETECTION_SCORED


@lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """The Python codec to use for a MIME charset label, or None when unknown."""
    if label is None:
        return None
    # Read past what no charset name holds: a NUL or other control characters (codecs
    # raises ValueError on a NUL), quotes, and anything after a run of 40 characters.
    name = _LABEL_JUNK.sub("", label[:80]).strip().strip("\"'").lower()[:40]
    if name in _UNKNOWN:
        return None
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        alias = _SUPERSETS.get(name.replace("_", "-"))
        return codecs.lookup(alias).name if alias else None


_LABEL_JUNK = re.compile(r"[\x00-\x1f\x7f]")


def decode_bytes(
    data: bytes, charset: str | None, budget: Budget | None = None
) -> tuple[str, list[str]]:
    """Decode ``data`` declared as ``charset`` (None: not declared) to valid text.

    Returns the text and defects (empty when the declared charset, or UTF-8/ASCII for
    undeclared data, decoded it cleanly). Charset detection draws on ``budget`` (one
    message's caps, ``parsers.budget``); once it is spent, such bytes are read as
    windows-1252.
    """
    if not data:
        return "", []
    codec = codec_for(charset)
    defects: list[str] = []
    if codec is not None:
        if codec != "utf-8" and not data.isascii():
            # UTF-8 declared as a legacy charset is the most common mislabel, and valid
            # multi-byte UTF-8 sequences almost never occur in legacy-charset text.
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return _valid(text), [f"declared charset {charset} is wrong: read as utf-8"]
        try:
            return _valid(data.decode(codec)), []
        except (UnicodeDecodeError, LookupError, ValueError):
            defects.append(f"bytes invalid in declared charset {charset}: charset detected")
    else:
        if data.isascii():
            escaped = b"\x1b$" in data or b"\x1b(" in data  # RFC 1468 escapes: ISO-2022-JP
            if escaped and (budget is None or budget.detect(len(data))):
                detected = detect_codec(data)
                if detected is not None:
                    return _valid(data.decode(detected)), [f"undeclared {detected}: decoded"]
            return _valid(data.decode("ascii")), []
        try:
            return _valid(data.decode("utf-8")), (
                [f"unknown charset {charset}: read as utf-8"] if charset else []
            )
        except UnicodeDecodeError:
            defects.append(
                f"unknown charset {charset}: charset detected"
                if charset
                else "undeclared 8-bit charset: charset detected"
            )
    if budget is not None and not budget.detect(len(data)):
        return _valid(data.decode(codec or "cp1252", "replace")), defects
    detected = detect_codec(data)
    if detected is not None:
        try:
            return _valid(data.decode(detected)), defects
        except (UnicodeDecodeError, LookupError):
            pass
    fallback = codec or "utf-8"
    defects.append("undecodable bytes replaced")
    return _valid(data.decode(fallback, "replace")), defects


# Candidates for undeclared or mislabelled 8-bit text, in order of preference when two
# read equally well: the Windows code pages and ISO 8859 parts of the big mail markets,
# then the East Asian multi-byte charsets.
_CANDIDATES = (
    "cp1252",
    "iso8859_2",
    "cp1250",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "iso8859_15",
    "cp1254",
    "cp1257",
    "cp1253",
    "iso8859_7",
    "cp1255",
    "cp1256",
    "cp874",
    "cp932",
    "euc_jp",
    "cp949",
    "gb18030",
    "big5hkscs",
    "iso8859_5",
    "cp866",
    "mac_roman",
)


def detect_codec(data: bytes) -> str | None:
    """The most plausible codec for undeclared 8-bit ``data`` (a bounded sample), or None.

    charset-normalizer alone misreads short texts (a few accented words come out as
    cp1250, KOI8-R as Shift_JIS), so each candidate decoding is also scored for how much
    it reads like text: letters in one script per word, sensible letter case, no
    control or symbol characters where letters should be.
    """
    sample = data[:_DETECT_SAMPLE]
    if b"\x1b$" in sample or b"\x1b(" in sample:
        for codec in ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_kr"):
            try:
                sample.decode(codec)
            except UnicodeDecodeError:
                continue
            return codec
    candidates = list(_CANDIDATES)
    suggested, coherent = _normalizer_guess(sample)
    if suggested is not None and suggested not in candidates:
        candidates.append(suggested)
    best: str | None = None
    best_score = float("-inf")
    scores: dict[str, float] = {}
    for codec in candidates:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError as exc:
            # A sample cut in the middle of a multi-byte character only fails at its end.
            if len(sample) < len(data) and exc.start >= len(sample) - 4:
                text = sample[: exc.start].decode(codec, "replace")
            else:
                continue
        except LookupError:
            continue
        text = text[:_SCORE_SAMPLE]
        score = plausibility(text, codec)
        scores[codec] = score
        if score > best_score:
            best, best_score = codec, score
    # When charset-normalizer recognised a language, its pick wins a near tie (it tells
    # Turkish cp1254 from cp1252, which letter shapes alone cannot).
    if suggested is not None and coherent and scores.get(suggested, -9.0) >= best_score - 0.05:
        return suggested
    return best


def _normalizer_guess(sample: bytes) -> tuple[str | None, bool]:
    from charset_normalizer import from_bytes  # imported lazily: it loads large tables

    match = from_bytes(sample[:_SCORE_SAMPLE]).best()
    if match is None:
        return None, False
    return codec_for(match.encoding), match.coherence >= 0.3


def _table(codec: str, leads: range, trails: list[int]) -> set[str]:
    chars: set[str] = set()
    for lead in leads:
        for trail in trails:
            try:
                chars.add(bytes((lead, trail)).decode(codec))
            except UnicodeDecodeError:
                continue
    return chars


@lru_cache(maxsize=1)
def _common_cjk() -> dict[str, frozenset[str]]:
    """The everyday characters of each East Asian charset family, from the charsets' own
    frequency-ordered regions: GB 2312 level 1 (3,755 hanzi), Big5 "frequently used"
    (5,401), JIS X 0208 level 1 (2,965 kanji) plus kana, KS X 1001 Hangul (2,350)."""
    high = list(range(0xA1, 0xFF))
    punct = set(
        "、。〃〈〉《》「」『』【】〔〕〜・ー（）！？：；，．＂＇％＆＊＋－／＠［］｛｝～￥"
    )
    gb = _table("gb2312", range(0xB0, 0xD8), high) | punct
    big5 = _table("big5", range(0xA4, 0xC7), list(range(0x40, 0x7F)) + high) | punct
    kana = {chr(c) for c in range(0x3041, 0x3097)} | {chr(c) for c in range(0x30A1, 0x30FB)}
    jis = _table("euc_jp", range(0xB0, 0xD0), high) | kana | punct
    hangul = _table("euc_kr", range(0xB0, 0xC9), high) | punct
    return {
        "gb18030": frozenset(gb),
        "big5hkscs": frozenset(big5),
        "cp950": frozenset(big5),
        "cp932": frozenset(jis),
        "euc_jp": frozenset(jis),
        "shift_jis": frozenset(jis),
        "shift_jis_2004": frozenset(jis),
        "euc_jis_2004": frozenset(jis),
        "cp949": frozenset(hangul),
        "euc_kr": frozenset(hangul),
    }


def plausibility(text: str, codec: str = "") -> float:
    """How much ``text`` reads like human writing; higher is better (per non-ASCII char).

    For the East Asian codecs, characters outside the charset's everyday repertoire
    count against it: Shift_JIS read as GBK gives rare hanzi, not errors.
    """
    common = _common_cjk().get(codec)
    score = 0.0
    count = 0
    ideographs = 0
    kana = 0
    for word in text.split():
        if word.isascii():
            continue
        letters = [ch for ch in word if ch.isalpha()]
        # ASCII letters beside CJK ("使用Python") are normal; beside Cyrillic they are not.
        scripts = {_script(ch) for ch in letters if not ch.isascii()}
        if not scripts <= {"CJK", "HANGUL"}:
            scripts |= {"LATIN"} if any(ch.isascii() for ch in letters) else set()
        non_ascii_letters = sum(1 for ch in letters if not ch.isascii())
        for index, ch in enumerate(word):
            if ch.isascii():
                continue
            count += 1
            category = unicodedata.category(ch)
            if common is not None and ch >= "\u2e80":
                score += 1.0 if ch in common else -1.0
                if "\u3041" <= ch <= "\u30ff":
                    kana += 1
                elif "\u4e00" <= ch <= "\u9fff":
                    ideographs += 1
            elif category[0] == "L" and not "\u3130" <= ch <= "\u318f":
                score += 1.0
                prev = word[index - 1] if index else ""
                if ch.isupper() and prev.isalpha() and prev.islower():
                    score -= 1.5  # "ÐÑÐ¸Ð²" and KOI8 read as cp1251 alternate case
            elif category in ("Cc", "Co", "Cn", "Cs") or ch == "\ufffd":
                score -= 4.0
            elif "\u3130" <= ch <= "\u318f":
                score -= 2.0  # Hangul compatibility jamo: EUC-JP kana read as cp949
            elif ch < "\u3000" and (category[0] in "SN" or category in ("Po", "Pd", "Ps", "Pe")):
                # symbols and punctuation glued to letters are mojibake
                score -= 1.0 if letters else 0.0
        if len(scripts) > 1:
            score -= 2.0 * len(word)
        latin = scripts <= {"LATIN"}
        if latin and len(letters) >= 3 and non_ascii_letters * 2 > len(letters):
            score -= 1.0 * non_ascii_letters  # Latin words are mostly ASCII letters
    if codec in _JAPANESE and ideographs >= 6 and not kana:
        score -= 1.5 * ideographs  # Japanese prose always has kana; Korean read as EUC-JP not
    return score / count if count else 0.0


_JAPANESE = frozenset({"cp932", "euc_jp", "shift_jis", "shift_jis_2004", "euc_jis_2004"})


def _script(ch: str) -> str:
    if ch.isascii():
        return "LATIN"
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "UNKNOWN"
    head = name.split(" ", 1)[0]
    if head in ("CJK", "HIRAGANA", "KATAKANA", "HALFWIDTH", "FULLWIDTH", "IDEOGRAPHIC"):
        return "CJK"
    return head


def _valid(text: str) -> str:
    """Text that encodes to UTF-8: lone surrogates (utf-7, broken utf-16) replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_WS = re.compile(rb"\s+")


_B64_BAD = re.compile(rb"[^A-Za-z0-9+/=\s]")


def decode_base64(data: bytes | memoryview) -> tuple[bytes, bool]:
    """Base64 (RFC 2045 §6.8) without crashing; returns bytes and whether it was clean.

    Characters outside the alphabet are ignored (§6.8 says so), missing padding is
    repaired, and data after the padding is decoded too (some senders concatenate).
    """
    clean = _B64_BAD.search(data) is None
    try:
        decoded = binascii.a2b_base64(data)  # lenient: skips line breaks and junk
    except (binascii.Error, ValueError):
        pass
    else:
        if clean and not _padding_inside(data):
            return decoded, True
    compact = _WS.sub(b"", data)
    chunks: list[bytes] = []
    for piece in compact.split(b"="):
        cleaned = _B64_JUNK.sub(b"", piece)
        if len(cleaned) % 4 == 1:  # one stray character cannot encode a byte
            cleaned = cleaned[:-1]
        if not cleaned:
            continue
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            chunks.append(base64.b64decode(cleaned))
        except (binascii.Error, ValueError):
            continue
    return b"".join(chunks), False


_EQUALS = re.compile(rb"=")


def _padding_inside(data: bytes | memoryview) -> bool:
    """Whether "=" occurs before the end (concatenated base64 blobs)."""
    first = _EQUALS.search(data)
    if first is None:
        return False
    tail = bytes(data[first.start() :])  # from the first "=": usually the padding alone
    return bool(tail.strip(b"=\r\n\t ").strip())


_QP_BAD = re.compile(rb"=(?![0-9A-Fa-f]{2}|\r?\n|\r|[ \t]*$)", re.MULTILINE)


def decode_quoted_printable(data: bytes) -> tuple[bytes, bool]:
    """Quoted-printable (RFC 2045 §6.7); a lone "=" is kept literally, as §6.7 (1) advises."""
    clean = _QP_BAD.search(data) is None
    return binascii.a2b_qp(data), clean


_MD_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*(?:\([^)\s]*\)[^)\s]*)*)(?:\s+\"[^\"]*\")?\)")
_MD_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_BLANKISH = re.compile(r"^[ \t\u00a0\u200b\u200c\u200d\ufeff]+$", re.MULTILINE)
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    if not url or url.startswith("#"):
        return label
    bare = url.removeprefix("mailto:")
    if not label or label in (url, bare):
        return bare if url.startswith("mailto:") else url
    return f"{label} ({bare})"


# html2text converts about 1 MB/s; above this size a regex pass keeps a hostile or
# giant HTML body from costing seconds (Gmail clips messages at 102 KB anyway).
MAX_HTML_CONVERT = 1024 * 1024
# html2text spends ~8 µs a tag: a body of nothing but tags goes the regex way too.
MAX_HTML_TAGS = 50_000

_BREAKS = re.compile(r"<(?:br|/p|/div|/tr|/li|/h[1-6]|hr)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]*>")
# A "<" that opens no complete tag: not followed by a name, "/", "!" or "?" and then a
# ">" before the next "<". The look-ahead stops at the next "<", so one pass is linear.
_LONE_LT = re.compile(r"<(?!!--)(?![A-Za-z/!?][^<>]*>)")
# Elements whose content is never shown: dropped by the tag-stripping pass.
_HIDDEN = ("style", "script", "head", "title")
# Elements html2text indents or prefixes once per level ("> " per blockquote, two spaces
# per list): nested deeper than this, their output grows with the square of the depth.
_INDENTING = ("blockquote", "ul", "ol", "dl", "dd")
MAX_HTML_NESTING = 32
# The tags the second pass looks at (all others are left alone, at C speed).
_SPECIAL_TAG = re.compile(
    rf"<(?:!--|[!?][^<>]*>|(/?)({'|'.join(_INDENTING + _HIDDEN)})\b[^<>]*>)", re.IGNORECASE
)


def sanitize_html(html: str, drop_blocks: bool = False) -> str:
    """``html`` in which every "<" opens a complete tag, in linear passes.

    Python's ``html.parser`` (under html2text) rescans the rest of its input at every
    construct it cannot finish (an unclosed tag, comment or marked section), which makes
    a hostile body cost the square of its length; browsers read such a "<" as text. So:
    a "<" that starts no complete tag becomes "&lt;"; comments, processing instructions
    and ``<!`` declarations other than DOCTYPE are dropped, an unclosed comment with the
    rest of the document (as browsers hide it); indenting elements nested deeper than
    ``MAX_HTML_NESTING`` lose their extra levels. With ``drop_blocks`` the content of
    ``_HIDDEN`` elements goes too, an unclosed one to the end.
    """
    html = _LONE_LT.sub("&lt;", html)
    out: list[str] = []
    pos = 0
    lower: str | None = None
    depth = excess = 0
    while True:
        match = _SPECIAL_TAG.search(html, pos)
        if match is None:
            out.append(html[pos:])
            break
        out.append(html[pos : match.start()])
        pos = match.end()
        tag = match[0]
        if tag == "<!--":
            close = html.find("-->", pos)
            if close < 0:
                break
            pos = close + 3
            continue
        if tag[1] in "!?":
            if tag[:9].lower() == "<!doctype":
                out.append(tag)
            continue
        closing, name = bool(match[1]), match[2].lower()
        if name in _INDENTING and not tag.endswith("/>"):
            if closing and excess:
                excess -= 1
                continue
            if closing:
                depth = max(0, depth - 1)
            elif depth >= MAX_HTML_NESTING:
                excess += 1
                continue
            else:
                depth += 1
        elif drop_blocks and not closing:
            lower = lower if lower is not None else html.lower()
            close = lower.find("</" + name, pos)
            if close < 0:
                break
            gt = html.find(">", close)
            pos = len(html) if gt < 0 else gt + 1
            continue
        out.append(tag)
    return "".join(out)


def convertible(html: str) -> bool:
    """Whether ``html`` is small enough for html2text (else the tag-stripping pass)."""
    return len(html) <= MAX_HTML_CONVERT and html.count("<") <= MAX_HTML_TAGS


def html_to_text(html: str) -> str:
    """Readable plain text for an HTML body: paragraphs, lists, links as "text (url)".

    html2text writes Markdown; its link and escape syntax is turned back into plain
    text, layout tables become paragraphs, and blank-looking lines are blank. Bodies
    over ``MAX_HTML_CONVERT`` or with more than ``MAX_HTML_TAGS`` tags get a plain
    tag-stripping pass instead. Either way the HTML is sanitized first (``sanitize_html``).
    """
    if not convertible(html):
        import html as html_lib

        text = _TAG.sub("", _BREAKS.sub("\n", sanitize_html(html, drop_blocks=True)))
        text = _TRAILING_SPACE.sub("", _BLANKISH.sub("", html_lib.unescape(text)))
        return _valid(re.sub(r"\n{3,}", "\n\n", text).strip() + "\n")
    import html2text  # lazily: only HTML-only mail needs it

    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.inline_links = True
    converter.protect_links = False
    converter.unicode_snob = True
    converter.single_line_break = False
    try:
        text = converter.handle(sanitize_html(html))
    except Exception:  # html2text is a best-effort converter; never let it sink a parse
        text = re.sub(r"<[^>]*>", " ", html)
    text = _MD_LINK.sub(_link, text)
    text = _MD_AUTOLINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
    text = _MD_ESCAPE.sub(r"\1", text)
    text = _BLANKISH.sub("", text)
    text = _TRAILING_SPACE.sub("", text)
    return _valid(re.sub(r"\n{3,}", "\n\n", text).strip() + "\n")
