"""The SMTP edge's protocol details: trace headers, TLS policy, budgets, spooling, limits."""

from __future__ import annotations

import hashlib
import random
import re
import smtplib
import socket
import ssl
import time
from pathlib import Path

import pytest
import trustme

from inbound.config import from_mapping
from inbound.errors import ConfigError
from inbound.smtp import replies
from inbound.smtp.data import DataReader
from inbound.smtp.limits import client_key
from tests.inbound.test_smtp_hostile import ROUTES, Raw
from tests.support.service import Running, message, settings_for, webhook_route, without_trace
from tests.support.webhook import Receiver


def _tls_files(tmp_path: Path) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("mx.test", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return ca, cert_file, key_file


def _raw_files(data: Path) -> list[Path]:
    return sorted((data / "raw").rglob("*.eml"))


def test_trace_headers_no_auth_and_require_tls(tmp_path: Path) -> None:
    """RFC 5321 §4.4 stamp (HELO, IP, TLS version and cipher, queue id); AUTH never
    offered; MAIL before STARTTLS refused with require_tls."""
    ca, cert_file, key_file = _tls_files(tmp_path)
    data = tmp_path / "data"
    tls = {"tls_cert": str(cert_file), "tls_key": str(key_file), "require_tls": True}
    running = Running(settings_for(data, routes=ROUTES, server=tls))
    try:
        client = ssl.create_default_context()
        ca.configure_trust(client)
        with smtplib.SMTP("127.0.0.1", running.port, local_hostname="client.test") as s:
            s.ehlo()
            assert s.mail("a@sender.test") == (530, replies.TLS_REQUIRED[4:].encode())
            s.starttls(context=client)
            s.ehlo()
            assert not s.has_extn("auth")  # aiosmtpd offers AUTH after STARTTLS by default
            cipher = s.sock.cipher()  # type: ignore[union-attr]  # an SSLSocket after STARTTLS
            s.mail("a@sender.test")
            s.rcpt("support@example.test")
            code, reply = s.data(message().as_bytes())
            assert code == 250
        queue_id = reply.decode().rsplit(" ", 1)[1]
        [path] = _raw_files(data)
        stored = running.stored(path.relative_to(data).as_posix())
        assert without_trace(stored) == message().as_bytes()
        head = stored[: len(stored) - len(message().as_bytes())].decode()
        name, version, bits = cipher
        assert re.fullmatch(
            r"Return-Path: <a@sender\.test>\r\n"
            r"Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n"
            rf"\t\(using {re.escape(version)} with cipher {re.escape(name)} \({bits} bits\)\)\r\n"
            rf"\tby mx\.test \(inbound\) with ESMTPS id {queue_id}\r\n"
            r"\tfor <support@example\.test>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n",
            head,
        ), head
        assert path.stem == queue_id
        # A TLS session is counted once per client and released when it ends.
        deadline = time.monotonic() + 5
        while running.service.smtp and running.service.smtp.tracker.per_ip:
            assert time.monotonic() < deadline, running.service.smtp.tracker.per_ip
            time.sleep(0.02)
    finally:
        running.stop()


def test_require_tls_needs_a_certificate() -> None:
    with pytest.raises(ConfigError, match=r"server\.require_tls"):
        from_mapping({"server": {"require_tls": True}}, {}, {})
    with pytest.raises(ConfigError, match=r"server\.ipv6_prefix_length"):
        from_mapping({"server": {"ipv6_prefix_length": 129}}, {}, {})
    with pytest.raises(ConfigError, match=r"server\.max_line_length"):
        from_mapping({"server": {"max_line_length": 998}}, {}, {})


def test_trace_for_several_recipients_and_null_sender(tmp_path: Path) -> None:
    routes = [{"name": "support", "recipients": ["*@example.test"], "store": True}]
    running = Running(settings_for(tmp_path, routes=routes))
    try:
        with running.smtp() as s:
            s.ehlo()
            s.mail("<>")
            s.rcpt("a@example.test")
            s.rcpt("b@example.test")
            assert s.data(b"Subject: x\r\n\r\nx\r\n")[0] == 250
        [path] = _raw_files(tmp_path)
        stored = running.stored(path.relative_to(tmp_path).as_posix())
    finally:
        running.stop()
    assert stored.startswith(b"Return-Path: <>\r\nReceived: from client.test ([127.0.0.1])\r\n")
    assert b"for <" not in stored  # the other recipients are not disclosed (Postfix's rule)
    assert b"with ESMTP id msg_" in stored


# ---------------------------------------------------------------- budget and spool


def test_in_flight_byte_budget_gives_452_and_is_released(tmp_path: Path) -> None:
    """Before: nothing bounded the DATA bytes in flight (1,000 sessions x 30 MB)."""
    budget = 64 * 1024
    settings = settings_for(tmp_path, routes=ROUTES, server={"max_data_in_flight_bytes": budget})
    running = Running(settings)
    try:
        assert running.service.smtp is not None
        tracker = running.service.smtp.tracker
        big = Raw(running.port)
        for line in (
            b"EHLO a.test",
            b"MAIL FROM:<a@sender.test>",
            b"RCPT TO:<support@example.test>",
        ):
            assert big.cmd(line).startswith("250")
        assert big.cmd(b"DATA").startswith("354")
        big.send(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 0 + (b"y" * 998 + b"\r\n") * 80)
        deadline = time.monotonic() + 10
        while tracker.bytes_in_flight < budget:  # spent (it never runs past the budget)
            assert time.monotonic() < deadline
            time.sleep(0.01)
        other = Raw(running.port)
        for line in (
            b"EHLO b.test",
            b"MAIL FROM:<b@sender.test>",
            b"RCPT TO:<support@example.test>",
        ):
            assert other.cmd(line).startswith("250")
        assert other.cmd(b"DATA") == replies.NO_ROOM
        big.send(b".\r\n")
        assert big.reply() == replies.NO_ROOM  # it overran the budget: 4xx, sent again later
        assert tracker.bytes_in_flight == 0
        assert other.cmd(b"DATA").startswith("354")  # released: the next DATA goes through
        other.send(b"Subject: small\r\n\r\nok\r\n.\r\n")
        assert other.reply().startswith("250 2.0.0")
        big.close()
        other.close()
        assert len(_raw_files(tmp_path)) == 1
    finally:
        running.stop()


def test_ten_big_messages_at_once_stay_under_the_budget_and_none_is_lost(tmp_path: Path) -> None:
    """Issue 12: ten big messages in parallel against a DATA budget of about three. Each
    transfer gets 250 or 452 4.3.1 (try again later), never another answer or a dropped
    connection; the bytes in flight never pass the budget;
    the clients retry as MTAs do until all ten are taken, and all ten are delivered."""
    import threading

    size = 3 * 1024 * 1024
    budget = 3 * size
    receiver = Receiver()
    route = webhook_route(receiver.url)
    settings = settings_for(tmp_path, routes=[route], server={"max_data_in_flight_bytes": budget})
    running = Running(settings)
    bodies = [
        b"Subject: big %d\r\n\r\n" % i
        + (hashlib.sha256(b"%d" % i).hexdigest().encode() * 15 + b"\r\n") * (size // 962)
        for i in range(10)
    ]
    answers: list[int] = []
    seen_peak = 0
    stop = threading.Event()
    try:
        assert running.service.smtp is not None
        tracker = running.service.smtp.tracker

        def watch() -> None:
            nonlocal seen_peak
            while not stop.is_set():
                seen_peak = max(seen_peak, tracker.bytes_in_flight)
                time.sleep(0.001)

        def client(body: bytes) -> None:
            for _ in range(200):
                with running.smtp() as s:
                    s.ehlo()
                    assert s.mail("alice@sender.test")[0] == 250
                    assert s.rcpt("support@example.test")[0] == 250
                    try:
                        code = s.data(body)[0]
                    except smtplib.SMTPDataError as exc:  # 452 to DATA itself
                        code = exc.smtp_code
                answers.append(code)
                if code == 250:
                    return
                assert code == 452, code
                time.sleep(0.05)
            raise AssertionError("never accepted")

        watcher = threading.Thread(target=watch)
        watcher.start()
        clients = [threading.Thread(target=client, args=(b,)) for b in bodies]
        for c in clients:
            c.start()
        for c in clients:
            c.join(120)
        stop.set()
        watcher.join()
        assert answers.count(250) == 10
        assert set(answers) <= {250, 452}
        assert 0 < seen_peak <= budget
        assert tracker.bytes_in_flight == 0
        stored = sorted(
            without_trace(running.stored(p.relative_to(tmp_path).as_posix()))
            for p in _raw_files(tmp_path)
        )
        assert stored == sorted(bodies)
        assert running.deliver() == 10
    finally:
        stop.set()
        running.stop()
        receiver.close()
    assert sorted(e["data"]["subject"] for e in receiver.events()) == sorted(
        f"big {i}" for i in range(10)
    )


def test_a_big_message_is_spooled_to_disk_sealed_and_left_nowhere(tmp_path: Path) -> None:
    body = b"Subject: big\r\n\r\n" + b"".join(
        hashlib.sha256(str(i).encode()).hexdigest().encode() + b"\r\n" for i in range(100_000)
    )  # 6.6 MB, over the 1 MB kept in memory
    running = Running(settings_for(tmp_path, routes=ROUTES))
    try:
        assert running.send(body)[0] == 250
        [path] = _raw_files(tmp_path)
        key = path.relative_to(tmp_path).as_posix()
        assert path.read_bytes()[:4] == b"INB1"  # sealed on disk (encryption at rest)
        stored = running.stored(key)
        assert without_trace(stored) == body
        [row] = running.call(running.service.outbox.messages())
        assert row.raw_sha256 == hashlib.sha256(stored).hexdigest()  # hashed on the way
        assert row.raw_size == len(stored)
        assert list((tmp_path / ".tmp").glob("spool-*")) == []  # the spool is gone
    finally:
        running.stop()


# ---------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an ip", "not an ip"),
    ],
)
def test_ipv6_clients_count_per_64(ip: str, key: str) -> None:
    assert client_key(ip) == key
    assert client_key("2001:db8:1:2:aaaa::1", 48) == "2001:db8:1::/48"


def _read_all(data: bytes, sizes: list[int], **kw: int) -> tuple[bytes, bytes | None]:
    out: list[bytes] = []
    reader = DataReader(out.append, limit=None, **kw)
    pos = 0
    for size in sizes:
        rest = reader.feed(data[pos : pos + size])
        pos += size
        if rest is not None:
            return b"".join(out), rest + data[pos:]
    return b"".join(out), None


@pytest.mark.parametrize("seed", range(20))
def test_data_reader_gives_the_same_bytes_however_the_blocks_fall(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [b"a", b"\r\n", b"\n", b"\r", b".", b"..", b"x" * 1500, b"\r\n.", b"\n.\n", b" "]
    body = b"H: v\r\n" + b"".join(rng.choice(pieces) for _ in range(400))
    data = body + b"\r\n.\r\nQUIT\r\n"
    whole, rest = _read_all(data, [len(data)], max_line_length=1000)
    assert rest is not None and rest.endswith(b"QUIT\r\n")  # the body may end DATA early
    for top in (3, 300, 5000):  # blocks of 1..top octets
        sizes, total = [], 0
        while total < len(data):
            sizes.append(rng.randint(1, top))
            total += sizes[-1]
        assert _read_all(data, sizes, max_line_length=1000) == (whole, rest)
    assert all(len(line) <= 1000 for line in whole.split(b"\r\n"))
    assert b"\n" not in whole.replace(b"\r\n", b"")  # every line ends in CRLF


def test_connection_limit_counts_an_ipv6_client_per_64(tmp_path: Path) -> None:
    """Before: per-IP limits keyed on the exact address (a /64 holds 2^64 of them)."""
    settings = settings_for(
        tmp_path, routes=ROUTES, server={"listen": "[::1]:0", "max_connections_per_ip": 1}
    )
    running = Running(settings)
    try:
        assert running.service.smtp is not None
        with socket.create_connection(("::1", running.port), timeout=10) as first:
            assert first.recv(200).startswith(b"220 ")
            assert running.service.smtp.tracker.per_ip == {"::/64": 1}
            with socket.create_connection(("::1", running.port), timeout=10) as second:
                assert second.recv(200).decode().strip() == replies.TOO_MANY_CONNECTIONS
    finally:
        running.stop()


def test_an_smtputf8_envelope_is_delivered_to_the_webhook(tmp_path: Path) -> None:
    """UTF-8 in EHLO, MAIL FROM and RCPT TO (with SMTPUTF8) reaches the event intact."""
    receiver = Receiver()
    route = webhook_route(receiver.url, recipients=["*@example.test"])
    running = Running(settings_for(tmp_path, routes=[route]))
    try:
        raw = Raw(running.port)
        assert raw.cmd("EHLO mx.bücher.test".encode()).startswith("250")
        assert raw.cmd("MAIL FROM:<jörg@bücher.test> SMTPUTF8".encode()) == replies.OK_SENDER
        assert raw.cmd("RCPT TO:<jürgen@example.test>".encode()) == replies.OK_RECIPIENT
        assert raw.cmd(b"DATA").startswith("354")
        raw.send("From: jörg@bücher.test\r\nSubject: Grüße\r\n\r\nÄpfel\r\n.\r\n".encode())
        assert raw.reply().startswith("250 2.0.0")
        raw.close()
        assert running.deliver() == 1
    finally:
        running.stop()
        receiver.close()
    [event] = receiver.events()
    envelope = event["data"]["envelope"]
    assert envelope["helo"] == "mx.bücher.test"
    assert envelope["mail_from"] == "jörg@bücher.test"
    assert envelope["rcpt_to"] == ["jürgen@example.test"]


def test_a_client_gone_mid_data_leaves_no_spool_and_no_budget_held(tmp_path: Path) -> None:
    running = Running(settings_for(tmp_path, routes=ROUTES))
    try:
        assert running.service.smtp is not None
        tracker = running.service.smtp.tracker
        raw = Raw(running.port)
        for line in (
            b"EHLO a.test",
            b"MAIL FROM:<a@sender.test>",
            b"RCPT TO:<support@example.test>",
        ):
            assert raw.cmd(line).startswith("250")
        assert raw.cmd(b"DATA").startswith("354")
        raw.send(b"Subject: cut\r\n\r\n" + (b"z" * 998 + b"\r\n") * 3000)  # 3 MB: on disk
        deadline = time.monotonic() + 10
        while tracker.bytes_in_flight < 3_000_000:
            assert time.monotonic() < deadline, tracker.bytes_in_flight
            time.sleep(0.01)
        assert list((tmp_path / ".tmp").glob("*spool-*"))  # it was spooling
        raw.close()
        while tracker.bytes_in_flight or tracker.in_data:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert list((tmp_path / ".tmp").glob("*spool-*")) == []
        assert _raw_files(tmp_path) == []
    finally:
        running.stop()
