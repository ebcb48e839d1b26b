"""Every SMTP reply of DESIGN §3, over a real socket with smtplib."""

from __future__ import annotations

import smtplib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inbound.smtp import replies
from tests.support.service import Running, message, settings_for, without_trace
from tests.support.webhook import SECRET

ROUTES: list[dict[str, Any]] = [
    {"name": "support", "recipients": ["support@example.test", "*@catchall.test"], "store": True},
    {
        "name": "hook",
        "recipients": ["hook@example.test"],
        "url": "http://127.0.0.1:9/hook",
        "secret": SECRET,
    },
]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    r = Running(settings_for(tmp_path, routes=ROUTES, server={"max_message_bytes": 64 * 1024}))
    yield r
    r.stop()


def _line(code: int, text: bytes) -> str:
    return f"{code} {text.decode()}"


def test_ehlo_advertises_size_8bitmime_smtputf8(running: Running) -> None:
    with running.smtp() as s:
        code, _ = s.ehlo()
        assert code == 250
        assert s.has_extn("size") and s.esmtp_features["size"] == str(64 * 1024)
        assert s.has_extn("8bitmime")
        assert s.has_extn("smtputf8")
        assert not s.has_extn("starttls")  # no certificate configured


def test_greeting_uses_configured_hostname(running: Running) -> None:
    with running.smtp() as s:
        _, text = s.ehlo()
        assert text.split(b"\n")[0] == b"mx.test"


@pytest.mark.parametrize(
    ("rcpt", "expected"),
    [
        ("someone@elsewhere.test", replies.RELAY_DENIED),
        ("nobody@example.test", replies.UNKNOWN_USER),
        ("support@example.test", replies.OK_RECIPIENT),
        ("SUPPORT+tag@Example.TEST", replies.OK_RECIPIENT),
        ("anything@catchall.test", replies.OK_RECIPIENT),
        ("anything@sub.catchall.test", replies.RELAY_DENIED),
    ],
)
def test_rcpt_replies(running: Running, rcpt: str, expected: str) -> None:
    with running.smtp() as s:
        s.ehlo()
        s.mail("a@sender.test")
        assert _line(*s.rcpt(rcpt)) == expected


def test_more_than_100_recipients_gets_452(running: Running) -> None:
    with running.smtp() as s:
        s.ehlo()
        s.mail("a@sender.test")
        for i in range(100):
            assert s.rcpt(f"user{i}@catchall.test")[0] == 250
        assert _line(*s.rcpt("user100@catchall.test")) == replies.TOO_MANY_RECIPIENTS
        # The first 100 are still accepted in this transaction.
        code, _ = s.data(message().as_bytes())
        assert code == 250


def test_size_parameter_over_cap_gets_552(running: Running) -> None:
    with running.smtp() as s:
        s.ehlo()
        assert _line(*s.mail("a@sender.test", [f"SIZE={64 * 1024 + 1}"])) == replies.TOO_BIG
        assert s.mail("a@sender.test", ["SIZE=1000"])[0] == 250


def test_data_over_cap_gets_552_and_nothing_is_stored(running: Running, tmp_path: Path) -> None:
    with running.smtp() as s:
        s.ehlo()
        s.mail("a@sender.test")
        s.rcpt("support@example.test")
        code, text = s.data(message(body=("x" * 70 + "\n") * 1024).as_bytes())
        assert _line(code, text) == replies.TOO_BIG
        # The session goes on: a message under the cap is accepted next.
        s.mail("a@sender.test")
        s.rcpt("support@example.test")
        assert s.data(message().as_bytes())[0] == 250
    assert len(list((tmp_path / "raw").rglob("*.eml"))) == 1
    assert _count(tmp_path, "messages") == 1


def test_accepted_reply_names_the_id(running: Running) -> None:
    code, text = running.send(message())
    assert code == 250
    assert text.decode().startswith("2.0.0 OK queued as msg_")


def test_bad_command_gets_a_syntax_error_not_a_crash(running: Running) -> None:
    with running.smtp() as s:
        s.ehlo()
        assert s.docmd("MAIL", "FROM:")[0] == 501
        assert s.docmd("BOGUS")[0] == 500
        assert s.mail("a@sender.test")[0] == 250


def _count(data_dir: Path, table: str) -> int:
    with sqlite3.connect(data_dir / "outbox.sqlite3") as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608  (test table names)


def test_storage_failure_gets_451_and_leaves_nothing(running: Running, tmp_path: Path) -> None:
    # A regular file where the raw/ directory must go: every put fails, as on a broken disk.
    (tmp_path / "raw").write_bytes(b"")
    with running.smtp() as s:
        s.ehlo()
        s.mail("a@sender.test")
        s.rcpt("support@example.test")
        code, text = s.data(message().as_bytes())
    assert _line(code, text) == replies.TRY_AGAIN
    assert _count(tmp_path, "messages") == 0
    assert _count(tmp_path, "jobs") == 0
    assert not list((tmp_path / ".tmp").iterdir())


def test_outbox_failure_gets_451_and_removes_the_raw_file(running: Running, tmp_path: Path) -> None:
    running.call(running.service.outbox.open())
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        # The job insert fails after the message row went in: the whole transaction must go.
        conn.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with running.smtp() as s:
        s.ehlo()
        s.mail("a@sender.test")
        s.rcpt("support@example.test")
        code, text = s.data(message().as_bytes())
    assert _line(code, text) == replies.TRY_AGAIN
    assert b"disk full" not in text  # never echo internals
    assert _count(tmp_path, "messages") == 0
    assert not list((tmp_path / "raw").rglob("*.eml"))


def test_smtputf8_and_8bit_bodies_are_kept_byte_for_byte(running: Running, tmp_path: Path) -> None:
    raw = (
        "From: Jörg <jörg@sender.test>\r\nTo: support@example.test\r\n"
        "Subject: Grüße\r\n\r\nÄpfel und Öl\r\n"
    ).encode()
    with running.smtp() as s:
        s.ehlo()
        assert s.mail("jörg@sender.test", ["SMTPUTF8", "BODY=8BITMIME"])[0] == 250
        assert s.rcpt("support@example.test")[0] == 250
        code, _ = s.data(raw)
    assert code == 250
    [stored] = list((tmp_path / "raw").rglob("*.eml"))
    assert without_trace(running.stored(stored.relative_to(tmp_path).as_posix())) == raw


def test_quit_after_refused_recipients_only(running: Running) -> None:
    with running.smtp() as s:
        s.ehlo()
        s.mail("a@sender.test")
        s.rcpt("x@elsewhere.test")
        with pytest.raises(smtplib.SMTPDataError) as info:
            s.data(b"Subject: x\r\n\r\nx\r\n")
        assert info.value.smtp_code == 503
