"""headers.split_header_block / parse_header_block: where a header block ends, unfolding."""

from __future__ import annotations

from parsers.headers import parse_header_block, split_header_block


def test_parameter_line_without_folding_whitespace_continues_the_field() -> None:
    block = (
        b"Content-Type: multipart/alternative; differences=Content-Type;\r\n"
        b'boundary="b1"\r\n'
        b"\r\n"
        b"--b1\r\n"
    )
    head, body = split_header_block(block)
    assert body == b"--b1\r\n"
    fields, defects = parse_header_block(head)
    assert fields == [
        ("Content-Type", b'multipart/alternative; differences=Content-Type; boundary="b1"')
    ]
    assert defects == ["header continuation line without leading whitespace: unfolded"]


def test_parameter_line_is_a_continuation_even_if_it_holds_a_colon() -> None:
    # DKIM's "h=From:Date" would otherwise be read as a field named "h=From".
    fields, _ = parse_header_block(
        b"DKIM-Signature: v=1; d=example.com;\nh=From:Date:Subject;\nSubject: hi\n"
    )
    assert fields == [
        ("DKIM-Signature", b"v=1; d=example.com; h=From:Date:Subject;"),
        ("Subject", b"hi"),
    ]


def test_parameter_line_after_a_finished_value_ends_the_headers() -> None:
    block = b"Content-Type: text/plain\nx=1 is the first body line\n"
    head, body = split_header_block(block)
    assert head == b"Content-Type: text/plain\n"
    assert body == b"x=1 is the first body line\n"


def test_field_after_an_unfinished_parameter_list_is_a_field() -> None:
    fields, defects = parse_header_block(
        b"Content-Type: text/plain;\nContent-Transfer-Encoding: 7bit\n"
    )
    assert [name for name, _ in fields] == ["Content-Type", "Content-Transfer-Encoding"]
    assert defects == []
