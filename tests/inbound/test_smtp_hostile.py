"""Hostile and unusual SMTP, over raw sockets: what a sender, a spammer or an attacker sends.

Each test speaks bytes to the real server (no smtplib where smtplib would tidy the input)
and then looks at what was stored: how many messages, and which bytes.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inbound.smtp import replies
from tests.support.service import Running, settings_for, without_trace

ROUTES: list[dict[str, Any]] = [
    {"name": "support", "recipients": ["support@example.test"], "store": True},
]
_REPLY_END = re.compile(rb"(?:^|\r\n)\d{3} [^\r\n]*\r\n$")


class Raw:
    """A raw SMTP client: send bytes, read whole replies (multi-line ones too)."""

    def __init__(self, port: int, *, greet: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""
        if greet:
            assert self.reply().startswith("220 ")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> str:
        """The next reply (its last line tells: "NNN text")."""
        while True:
            end = self._reply_end()
            if end is not None:
                out, self.buf = self.buf[:end], self.buf[end:]
                return out.decode("utf-8", "replace").rstrip("\r\n")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; unread: {self.buf!r}")
            self.buf += chunk

    def _reply_end(self) -> int | None:
        pos = 0
        while (nl := self.buf.find(b"\r\n", pos)) >= 0:
            if re.match(rb"\d{3} ", self.buf[pos : nl + 2]):
                return nl + 2
            pos = nl + 2
        return None

    def cmd(self, line: bytes) -> str:
        self.send(line + b"\r\n")
        return self.reply()

    def replies(self, n: int) -> list[str]:
        return [self.reply() for _ in range(n)]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    r = Running(settings_for(tmp_path, routes=ROUTES))
    yield r
    r.stop()


def _stored(running: Running, tmp_path: Path) -> list[bytes]:
    """Every raw message the service stored, trace headers removed."""
    files = sorted((tmp_path / "raw").rglob("*.eml"))
    return [without_trace(running.stored(f.relative_to(tmp_path).as_posix())) for f in files]


def _session(raw: Raw) -> None:
    assert raw.cmd(b"EHLO client.test").startswith("250")
    assert raw.cmd(b"MAIL FROM:<alice@sender.test>").startswith("250")
    assert raw.cmd(b"RCPT TO:<support@example.test>").startswith("250")
    assert raw.cmd(b"DATA").startswith("354")


# ---------------------------------------------------------------- smuggling


SMUGGLE_ENDINGS = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r.\n", b"\r.\r\n", b"\n.\r"]


@pytest.mark.parametrize("ending", SMUGGLE_ENDINGS, ids=lambda e: repr(e)[2:-1])
def test_no_smuggled_second_message(running: Running, tmp_path: Path, ending: bytes) -> None:
    """A fake end of data followed by a second transaction stays inside the first message."""
    raw = Raw(running.port)
    _session(raw)
    smuggled = (
        b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<support@example.test>\r\nDATA\r\n"
        b"From: admin@example.test\r\nSubject: smuggled\r\n\r\nforged\r\n"
    )
    raw.send(b"From: alice@sender.test\r\nSubject: one\r\n\r\nhello" + ending + smuggled)
    raw.send(b".\r\n")
    assert raw.reply().startswith("250 2.0.0")
    assert raw.cmd(b"QUIT").startswith("221")
    raw.close()
    [stored] = _stored(running, tmp_path)
    assert b"Subject: smuggled" in stored  # the "second message" is body of the first


def test_dot_stuffing_and_empty_message(running: Running, tmp_path: Path) -> None:
    raw = Raw(running.port)
    _session(raw)
    raw.send(b"Subject: dots\r\n\r\n..leading dot\r\n...\r\n.\r\n")
    assert raw.reply().startswith("250 2.0.0")
    _session(raw)
    raw.send(b".\r\n")  # an empty message ends at once
    assert raw.reply().startswith("250 2.0.0")
    raw.close()
    bodies = sorted(_stored(running, tmp_path), key=len)
    assert bodies == [b"", b"Subject: dots\r\n\r\n.leading dot\r\n..\r\n"]


def test_bare_lf_is_stored_as_crlf_and_never_ends_data(running: Running, tmp_path: Path) -> None:
    """Postfix >= 3.9 (smtpd_forbid_bare_newline = normal): LF lines read as CRLF lines,
    but only <CRLF>.<CRLF> ends DATA."""
    raw = Raw(running.port)
    _session(raw)
    raw.send(b"Subject: unix\nX-A: 1\n\nline one\nline two\n.\nstill body\r\n.\r\n")
    assert raw.reply().startswith("250 2.0.0")
    raw.close()
    [stored] = _stored(running, tmp_path)
    assert stored == b"Subject: unix\r\nX-A: 1\r\n\r\nline one\r\nline two\r\n\r\nstill body\r\n"


# ---------------------------------------------------------------- long lines (item 1)


def test_long_lines_are_accepted_byte_for_byte(running: Running, tmp_path: Path) -> None:
    """Before: '500 Line too long' (permanent) for any DATA line over 1,001 octets."""
    to = ", ".join(f"person{i}@example.test" for i in range(100))  # one 2,300-octet header
    html = b"<p>" + b"word " * 40_000 + b"</p>"  # 200 KB without a line break
    body = f"To: {to}\r\nSubject: long\r\n\r\n".encode() + html + b"\r\n"
    raw = Raw(running.port)
    _session(raw)
    raw.send(body + b".\r\n")
    assert raw.reply().startswith("250 2.0.0")
    raw.close()
    assert _stored(running, tmp_path) == [body]


def test_lines_over_the_cap_are_folded_never_refused(tmp_path: Path) -> None:
    running = Running(settings_for(tmp_path, routes=ROUTES, server={"max_line_length": 1000}))
    try:
        raw = Raw(running.port)
        _session(raw)
        raw.send(b"X-Long: " + b"a" * 2500 + b"\r\nSubject: s\r\n\r\n" + b"b" * 2500 + b"\r\n.\r\n")
        assert raw.reply().startswith("250 2.0.0")
        raw.close()
        [stored] = _stored(running, tmp_path)
    finally:
        running.stop()
    head, _, body = stored.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert all(len(line) <= 1000 for line in stored.split(b"\r\n"))
    # In the header the fold is a continuation (CRLF SP): still one header, same letters.
    assert lines[0].startswith(b"X-Long: ") and all(x.startswith(b" ") for x in lines[1:3])
    assert lines[0] + b"".join(x[1:] for x in lines[1:3]) == b"X-Long: " + b"a" * 2500
    assert lines[3] == b"Subject: s"
    assert body.replace(b"\r\n", b"") == b"b" * 2500


# ---------------------------------------------------------------- envelopes (items 11, 14)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (b"MAIL FROM:<\xff\xfe@sender.test>", replies.NOT_UTF8),
        (b"MAIL FROM:<j\xe9r\xf4me@sender.test> SMTPUTF8", replies.NOT_UTF8),  # Latin-1
        (b"MAIL FROM:<j\xc3\xb6rg@sender.test>", replies.NEEDS_SMTPUTF8),
        (b"MAIL FROM:<a\x00b@sender.test>", replies.NUL_IN_COMMAND),
        (b"MAIL FROM:<j\xc3\xb6rg@sender.test> SMTPUTF8", replies.OK_SENDER),
    ],
)
def test_eight_bit_and_nul_in_mail_from(running: Running, command: bytes, expected: str) -> None:
    """Before: 250, then the worker failed on the lone surrogates for 3 days."""
    raw = Raw(running.port)
    assert raw.cmd(b"EHLO client.test").startswith("250")
    assert raw.cmd(command) == expected
    raw.close()


def test_eight_bit_and_nul_in_helo_and_rcpt(running: Running) -> None:
    raw = Raw(running.port)
    assert raw.cmd(b"EHLO cli\xffent.test") == replies.NOT_UTF8
    assert raw.cmd(b"EHLO cli\x00ent.test") == replies.NUL_IN_COMMAND
    assert raw.cmd(b"HELO cli\x00ent.test") == replies.NUL_IN_COMMAND
    assert raw.cmd(b"EHLO client.test").startswith("250")
    assert raw.cmd(b"MAIL FROM:<alice@sender.test>") == replies.OK_SENDER
    assert raw.cmd(b"RCPT TO:<supp\xe9rt@example.test>") == replies.NOT_UTF8
    assert raw.cmd(b"RCPT TO:<s\xc3\xbcpport@example.test>") == replies.NEEDS_SMTPUTF8
    assert raw.cmd(b"RCPT TO:<support@example.test>") == replies.OK_RECIPIENT
    raw.close()


def test_command_word_in_8bit_or_overlong_is_refused_and_session_goes_on(running: Running) -> None:
    raw = Raw(running.port)
    assert raw.cmd(b"EH\xffLO client.test").startswith("500")
    assert raw.cmd(b"RCPT TO:<" + b"a" * 600 + b"@example.test>") == replies.COMMAND_TOO_LONG
    assert raw.cmd(b"NOOP " + b"x" * 300_000) == replies.COMMAND_TOO_LONG  # over the buffer
    assert raw.cmd(b"EHLO client.test").startswith("250")
    assert raw.cmd(b"NOOP").startswith("250")
    raw.close()


# ---------------------------------------------------------------- protocol order


def test_early_talker_and_unadvertised_pipelining_get_every_reply_in_order(
    running: Running, tmp_path: Path
) -> None:
    """Everything sent at once, before the greeting and without PIPELINING being offered:
    served in order, one message, no reply lost or merged (choice: like Postfix without
    postscreen, an early talker is answered, not dropped)."""
    raw = Raw(running.port, greet=False)
    raw.send(
        b"EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<support@example.test>\r\n"
        b"DATA\r\nSubject: eager\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n"
    )
    got = raw.replies(7)
    raw.close()
    assert [r[:3] for r in got] == ["220", "250", "250", "250", "354", "250", "250"]
    assert "PIPELINING" not in got[1]
    assert _stored(running, tmp_path) == [b"Subject: eager\r\n\r\nbody\r\n"]


def test_help_lists_what_is_served_and_auth_is_not_there(running: Running) -> None:
    raw = Raw(running.port)
    assert raw.cmd(b"EHLO client.test").startswith("250")
    assert raw.cmd(b"HELP").split(": ", 1)[1].split() == [
        "DATA", "EHLO", "HELO", "HELP", "MAIL", "NOOP", "QUIT", "RCPT", "RSET", "VRFY"
    ]  # fmt: skip
    assert raw.cmd(b"HELP MAIL").startswith("250 Syntax: MAIL FROM: <address>")
    assert raw.cmd(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==") == replies.NO_AUTH
    raw.close()


def test_vrfy_and_expn_reveal_nothing(running: Running) -> None:
    raw = Raw(running.port)
    assert raw.cmd(b"EHLO client.test").startswith("250")
    known = raw.cmd(b"VRFY support@example.test")
    assert known == raw.cmd(b"VRFY nobody@example.test") == raw.cmd(b"VRFY x@elsewhere.test")
    assert known.startswith("252")
    assert raw.cmd(b"EXPN support").startswith("502")
    assert raw.cmd(b"EXPN staff@example.test").startswith("502")
    raw.close()


# ---------------------------------------------------------------- open relay

RELAY_ATTEMPTS = [
    "victim@evil.test",
    "victim%evil.test@example.test",  # percent hack
    "evil.test!victim@example.test",  # bang path
    "@example.test:victim@evil.test",  # source route (RFC 5321 §4.1.2 obs-route)
    '"victim@evil.test"@example.test',  # quoted local part holding an @
    '"victim@evil.test"',
    "victim@[127.0.0.1]",  # IP literal
    "victim@[IPv6:::1]",
    "postmaster@[127.0.0.1]",
    "victim@evil.test.",  # trailing dot
    "victim@example.test.evil.test",
    "support@example.test.evil.test",
    "victim@evil.test@example.test",
    "support@xn--exmple-cua.test",  # IDN lookalike (punycode)
    "support@exаmple.test",  # Cyrillic "а": a lookalike without SMTPUTF8
    "support@localhost",
    "support@EXAMPLE.TEST.",
]
SERVED = ["support@example.test", "SUPPORT@Example.Test"]  # controls: these must be taken


def test_open_relay_battery_relays_nothing(running: Running, tmp_path: Path) -> None:
    """No disguise gets a foreign domain accepted; only the served route ever stores."""
    raw = Raw(running.port)
    assert raw.cmd(b"EHLO client.test").startswith("250")
    accepted = []
    for sender in ("<>", "<alice@sender.test>"):
        for rcpt in RELAY_ATTEMPTS + SERVED:
            assert raw.cmd(f"MAIL FROM:{sender}".encode()).startswith("250")
            reply = raw.cmd(f"RCPT TO:<{rcpt}>".encode())
            if reply.startswith("250"):
                accepted.append(rcpt)
                assert raw.cmd(b"DATA").startswith("354")
                raw.send(b"Subject: relay?\r\n\r\nx\r\n.\r\n")
                assert raw.reply().startswith("250")
            else:
                assert reply[0] == "5", (rcpt, reply)
                assert raw.cmd(b"RSET").startswith("250")
    raw.close()
    # The only ones taken are the served route's own address (the controls).
    assert sorted(set(accepted)) == sorted(SERVED)
    rows = running.call(running.service.outbox.messages())
    assert len(rows) == 2 * len(SERVED)  # each with the null sender and with alice
    assert sorted(r.envelope.rcpt_to[0] for r in rows) == sorted(SERVED * 2)
    jobs = {j.route for r in rows for j in running.call(running.service.outbox.jobs_of(r.id))}
    assert jobs == {"support"}


# ---------------------------------------------------------------- slow senders


def test_idle_and_slow_senders_are_cut_with_421(tmp_path: Path) -> None:
    """aiosmtpd's timer is per command: a trickle inside DATA does not re-arm it."""
    running = Running(settings_for(tmp_path, routes=ROUTES, server={"timeout_seconds": 1.0}))
    try:
        idle = Raw(running.port)
        start = time.monotonic()
        assert idle.reply() == replies.TIMEOUT
        assert time.monotonic() - start < 5
        idle.close()
        slow = Raw(running.port)
        _session(slow)
        start, got = time.monotonic(), b""
        slow.sock.settimeout(0.1)
        while time.monotonic() - start < 5 and replies.TIMEOUT.encode() not in got:
            try:
                got += slow.sock.recv(4096)  # read first: the 421 arrives while we wait
                slow.send(b"x")  # one byte every 0.1 s, well inside DATA
            except TimeoutError:
                slow.send(b"x")
            except OSError:
                break
        assert replies.TIMEOUT.encode() in got, got
        assert time.monotonic() - start < 3
        slow.close()
        assert _stored(running, tmp_path) == []
    finally:
        running.stop()
