"""STARTTLS with a configured certificate, and the per-client limits (DESIGN §3)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path

import trustme

from inbound.smtp import replies
from inbound.smtp.limits import RateLimiter
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver


def test_starttls_is_offered_and_recorded_in_the_envelope(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("mx.test", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    receiver = Receiver()
    settings = settings_for(
        tmp_path / "data",
        routes=[webhook_route(receiver.url)],
        server={"tls_cert": str(cert_file), "tls_key": str(key_file)},
    )
    running = Running(settings)
    try:
        client = ssl.create_default_context()
        ca.configure_trust(client)
        with smtplib.SMTP("127.0.0.1", running.port, local_hostname="client.test", timeout=30) as s:
            s.ehlo()
            assert s.has_extn("starttls")
            code, _ = s.starttls(context=client)
            assert code == 220
            s.ehlo()
            assert not s.has_extn("starttls")  # not offered twice
            assert s.sendmail("a@sender.test", ["support@example.test"], message().as_bytes()) == {}
        running.deliver()
    finally:
        running.stop()
        receiver.close()
    [event] = receiver.events()
    assert event["data"]["envelope"]["tls"] is True


def test_too_many_connections_from_one_client_get_421(tmp_path: Path) -> None:
    running = Running(settings_for(tmp_path, server={"max_connections_per_ip": 2}))
    held: list[smtplib.SMTP] = []
    try:
        for _ in range(2):
            s = running.smtp()
            assert s.noop()[0] == 250
            held.append(s)
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as raw:
            greeting = raw.recv(200).decode()
            assert greeting.strip() == replies.TOO_MANY_CONNECTIONS
            assert raw.recv(10) == b""  # and closed
        held.pop().quit()
        with running.smtp() as s:  # a slot is free again
            assert s.noop()[0] == 250
    finally:
        for s in held:
            s.close()
        running.stop()


def test_rate_limiter_token_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(60, lambda: now[0])  # one a second, bursts of 60
    assert all(limiter.allow("10.0.0.1") for _ in range(60))
    assert not limiter.allow("10.0.0.1")
    assert limiter.allow("10.0.0.2")  # per client
    now[0] += 1.0
    assert limiter.allow("10.0.0.1")
    assert not limiter.allow("10.0.0.1")
    assert RateLimiter(0, lambda: 0.0).allow("x")  # 0 = no limit


def test_rate_limiter_forgets_idle_clients() -> None:
    now = [0.0]
    limiter = RateLimiter(60, lambda: now[0], max_clients=2)
    limiter.allow("a")
    limiter.allow("b")
    now[0] += 120.0  # both buckets are full again
    limiter.allow("c")
    assert set(limiter._buckets) == {"c"}


def test_a_client_over_its_message_rate_gets_450(tmp_path: Path) -> None:
    running = Running(settings_for(tmp_path, server={"max_messages_per_minute_per_ip": 2}))
    try:
        with running.smtp() as s:
            s.ehlo()
            for _ in range(2):
                assert s.mail("a@sender.test")[0] == 250
                s.rset()
            code, text = s.mail("a@sender.test")
            assert f"{code} {text.decode()}" == replies.RATE_LIMITED
    finally:
        running.stop()
