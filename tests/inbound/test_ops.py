"""Operations: log lines an operator greps for, the JSON log format, SIGHUP TLS reload.

Rejections log code, client IP and a masked recipient; a failed attempt is a WARNING and
a job that failed for good an ERROR; storage errors name their cause; no line carries
an address or a subject.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import smtplib
import ssl
import time
from pathlib import Path

import pytest
import trustme

from inbound import log as inbound_log
from inbound.clock import FakeClock
from inbound.errors import StorageError
from inbound.storage import causes
from tests.inbound.test_serve import Serve, serve_factory  # noqa: F401  (a fixture)
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver


def test_rejections_failures_and_final_failures_are_logged_without_addresses(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="inbound")
    settings = settings_for(
        tmp_path, routes=[webhook_route(receiver.url)], delivery={"max_attempt_days": 0.01}
    )
    running = Running(settings, clock=clock)
    receiver.respond(500, 500)
    try:
        with running.smtp() as s:
            s.ehlo()
            s.mail("sender@sender.test")
            assert s.rcpt("nobody@example.test")[0] == 550
            assert s.rcpt("victim@y.test")[0] == 550
        assert running.send(message("Very private subject"))[0] == 250
        assert running.deliver() == 1  # 500: retried
        clock.advance(3600)
        assert running.deliver() == 1  # 500 past max_attempt_days: failed for good
    finally:
        running.stop()
    records = [r for r in caplog.records if r.name.startswith("inbound")]
    text = [r.getMessage() for r in records]
    refused = [t for t in text if t.startswith("refused RCPT")]
    nobody = inbound_log.mask_address("nobody@example.test")
    victim = inbound_log.mask_address("victim@y.test")
    assert refused == [
        f"refused RCPT from 127.0.0.1 to {nobody}: 550 5.1.1 Mailbox unknown",
        f"refused RCPT from 127.0.0.1 to {victim}: 550 5.7.1 Relaying denied",
    ]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    errors = [r.getMessage() for r in records if r.levelno == logging.ERROR]
    assert any("attempt 1: retry 500" in w for w in warnings)
    assert any("attempt 2: retry 500 -> failed" in e for e in errors)
    for line in text:
        assert "Very private subject" not in line
        assert "nobody@" not in line and "sender@sender.test" not in line


def test_storage_errors_name_their_cause() -> None:
    cases = {
        "s3 put failed: NoSuchBucket": "bucket missing",
        "s3 get failed: AccessDenied": "access denied",
        "s3 put failed: EndpointConnectionError": "endpoint unreachable",
        "local put failed: No space left on device": "disk full",
    }
    for text, cause in cases.items():
        assert causes.describe(StorageError(text)).startswith(cause), text
    assert causes.describe(StorageError("something new")) == "something new"


def test_json_log_format_is_one_object_per_line_and_masked() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        inbound_log.setup("INFO", stream, log_format="json")
        logging.getLogger("inbound.test").warning("job %s for %s", "evt_1", "bob@example.test")
        try:
            raise ValueError("from carol@example.test")
        except ValueError:
            logging.getLogger("inbound.test").exception("boom")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "inbound.test"
    assert first["message"] == f"job evt_1 for {inbound_log.mask_address('bob@example.test')}"
    assert first["time"].endswith("+00:00")
    assert "ValueError" in second["exc"] and "carol@" not in second["exc"]


def _write_cert(ca: trustme.CA, cert_file: Path, key_file: Path) -> None:
    cert = ca.issue_cert("mx.test", "127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))


def _issuer_trusted(port: int, ca: trustme.CA) -> bool:
    client = ssl.create_default_context()
    ca.configure_trust(client)
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30) as s:
        s.ehlo()
        try:
            s.starttls(context=client)
        except ssl.SSLCertVerificationError:
            return False
        return True


def _wait_for(serve: Serve, line: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while serve.log.read_text().count(line) < count:
        assert time.monotonic() < deadline, serve.log.read_text()
        time.sleep(0.1)


@pytest.mark.parametrize("processes", [1, 2])
def test_sighup_reloads_the_tls_certificate_without_a_restart(
    tmp_path: Path,
    serve_factory: list[Serve],  # noqa: F811  (the fixture)
    processes: int,
) -> None:
    old_ca, new_ca = trustme.CA(), trustme.CA()
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    _write_cert(old_ca, cert_file, key_file)
    config = tmp_path / "inbound.toml"
    config.write_text(
        f'[server]\ndomains = ["example.test"]\ntls_cert = "{cert_file}"\ntls_key = "{key_file}"\n'
    )
    data = ["--config", str(config), "--data-dir", str(tmp_path / "d")]
    serve = Serve(tmp_path, *data, "--processes", str(processes))
    serve_factory.append(serve)
    _wait_for(serve, "SMTP listening", processes)  # every acceptor has loaded the old files
    assert _issuer_trusted(serve.port, old_ca) and not _issuer_trusted(serve.port, new_ca)
    _write_cert(new_ca, cert_file, key_file)  # the renewal (certbot, acme.sh...)
    assert _issuer_trusted(serve.port, old_ca)  # nothing changes before the signal
    serve.signal(signal.SIGHUP)
    _wait_for(serve, "TLS certificate reloaded", processes)
    # Every acceptor reloaded (connections spread over them): each one trusts the new CA.
    for _ in range(4 * processes):
        assert _issuer_trusted(serve.port, new_ca)
    assert not _issuer_trusted(serve.port, old_ca)
    assert serve.proc.poll() is None  # SIGHUP stopped nothing
    serve.signal(signal.SIGTERM)
    assert serve.wait() == 0
