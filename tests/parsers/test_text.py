"""text.py: charsets (declared, superset, mislabelled, detected), transfer encodings, HTML."""

from __future__ import annotations

import base64

import pytest

from parsers.text import (
    MAX_HTML_CONVERT,
    codec_for,
    decode_base64,
    decode_bytes,
    decode_quoted_printable,
    detect_codec,
    html_to_text,
)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("iso-8859-1", "cp1252"),
        ("US-ASCII", "cp1252"),
        ('"gb2312"', "gb18030"),
        ("GBK", "gb18030"),
        ("shift_jis", "cp932"),
        ("ISO-2022-JP", "iso2022_jp_ext"),
        ("ks_c_5601-1987", "cp949"),
        ("utf8", "utf-8"),
        ("unicode-1-1-utf-7", "utf-7"),
        ("x-unknown", None),
        ("no-such-charset", None),
        (None, None),
    ],
)
def test_codec_for_labels(label: str | None, codec: str | None) -> None:
    assert codec_for(label) == codec


SAMPLES = [
    ("Café crème brûlée, déjà vu, très bien.", "cp1252"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "iso-8859-2"),
    ("Zażółć gęślą jaźń, pójdziemy jutro.", "cp1250"),
    ("Привет, как дела? Всё хорошо, спасибо.", "koi8_r"),
    ("Привет, как дела? Всё хорошо, спасибо.", "cp1251"),
    ("Добрий день, як справи? Ґанок і їжак.", "koi8_u"),
    ("Γειά σου κόσμε, τι κάνεις σήμερα;", "iso-8859-7"),
    ("会議の資料を送ります。よろしくお願いします。", "shift_jis"),
    ("こんにちは、元気ですか。明日会いましょう。", "euc_jp"),
    ("我们明天下午三点在会议室开会，请准时参加。", "gb2312"),
    ("我們明天下午三點在會議室開會，請準時參加。", "big5"),
    ("안녕하세요. 회의는 내일 오후 세 시입니다.", "euc_kr"),
    ("こんにちは、会議は明日です。", "iso2022_jp"),
]


@pytest.mark.parametrize(("text", "charset"), SAMPLES, ids=[c for _, c in SAMPLES])
def test_undeclared_bytes_are_detected(text: str, charset: str) -> None:
    decoded, defects = decode_bytes(text.encode(charset), None)
    assert decoded == text
    assert defects  # a guess is always reported


@pytest.mark.parametrize(("text", "charset"), SAMPLES, ids=[c for _, c in SAMPLES])
def test_declared_charset_is_used_without_defect(text: str, charset: str) -> None:
    assert decode_bytes(text.encode(charset), charset) == (text, [])


def test_utf8_declared_as_legacy_is_read_as_utf8() -> None:
    text, defects = decode_bytes("Grüße – 你好".encode(), "iso-8859-1")
    assert text == "Grüße – 你好"
    assert defects == ["declared charset iso-8859-1 is wrong: read as utf-8"]


def test_legacy_bytes_declared_as_utf8_are_detected() -> None:
    text, defects = decode_bytes("Très bien, à demain.".encode("cp1252"), "utf-8")
    assert text == "Très bien, à demain."
    assert defects


def test_never_raises_and_always_valid_utf8() -> None:
    for data in (b"\xff\xfe\x00", b"\x1b$B\x1b(", b"+AGEA-+2D3d-", bytes(range(256))):
        for charset in (None, "utf-8", "utf-7", "iso-2022-jp", "bogus", "utf-16"):
            text, _ = decode_bytes(data, charset)
            text.encode("utf-8")


def test_detect_codec_on_ascii_is_harmless() -> None:
    assert decode_bytes(b"plain ascii", None) == ("plain ascii", [])
    assert detect_codec(b"\xe9t\xe9") is not None


def test_base64_clean_and_broken() -> None:
    data = base64.encodebytes(b"hello world, this is base64")
    assert decode_base64(data) == (b"hello world, this is base64", True)
    broken, clean = decode_base64(data[:8] + b"!" + data[8:].rstrip(b"=\n"))
    assert not clean
    assert broken.startswith(b"hello world")
    assert decode_base64(b"aGVsbG8=\nd29ybGQ=\n") == (b"helloworld", False)  # concatenated
    assert decode_base64(b"") == (b"", True)


def test_quoted_printable() -> None:
    assert decode_quoted_printable(b"caf=C3=A9 =\nsoft") == ("café soft".encode(), True)
    decoded, clean = decode_quoted_printable(b"100=%")
    assert decoded == b"100=%"
    assert not clean


def test_html_to_text_keeps_links_readable() -> None:
    html = (
        '<p>Read <a href="https://example.com/a_b?x=1&amp;y=2">the terms</a>, or '
        '<a href="https://example.com">https://example.com</a>, or mail '
        '<a href="mailto:help@example.com">help@example.com</a>.</p>'
        "<ul><li>one</li><li>two</li></ul><p>1. not a list &amp; *not bold*</p>"
    )
    text = html_to_text(html)
    assert "Read the terms (https://example.com/a_b?x=1&y=2), or https://example.com," in text
    assert "mail help@example.com." in text
    assert "* one\n  * two" in text
    assert "1. not a list & *not bold*" in text


def test_html_to_text_drops_styles_and_blank_lines() -> None:
    text = html_to_text("<style>p{color:red}</style><p>a</p><p>&nbsp;</p><p></p><p>b</p>")
    assert text == "a\n\nb\n"


def test_huge_html_is_converted_without_html2text() -> None:
    html = "<style>x{}</style>" + "<p>word &amp; more</p>" * (MAX_HTML_CONVERT // 20)
    text = html_to_text(html)
    assert text.startswith("word & more\n")
    assert "<p>" not in text
