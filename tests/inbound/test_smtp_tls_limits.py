"""STARTTLS with a configured certificate, and the per-client connection limit (DESIGN §3)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path

import trustme

from inbound.smtp import replies
from tests.support.service import Running, message, settings_for
from tests.support.webhook import SECRET, Receiver


def test_starttls_is_offered_and_recorded_in_the_envelope(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("mx.test", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    receiver = Receiver()
    settings = settings_for(
        tmp_path / "data",
        routes=[
            {
                "name": "support",
                "recipients": ["support@example.test"],
                "url": receiver.url,
                "secret": SECRET,
            }
        ],
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
