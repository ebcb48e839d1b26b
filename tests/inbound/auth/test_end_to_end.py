"""Sender authentication end to end: SMTP from loopback addresses -> worker -> webhook.

A forged data request (From a p=reject domain, sent from an address outside its SPF,
unsigned, carrying a forged Authentication-Results) must arrive marked unverified, with a
lower confidence and evidence saying why; the genuine one (DKIM-signed, from inside the
SPF) verified. The first test runs ``inbound serve`` as a process, as a user would.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.inbound.auth import mail
from tests.support import dns as test_dns
from tests.support import spam_daemons
from tests.support.net import free_port
from tests.support.service import Running, assert_valid_event, settings_for, webhook_route
from tests.support.webhook import SECRET, Receiver

FORGED_AR = "Authentication-Results: mx.test; spf=pass; dkim=pass; dmarc=pass\r\n"


RCPTS = ["support@example.test", "postmark@example.test"]  # two routes, two formats


def _send(
    port: int,
    raw: bytes,
    *,
    ip: str,
    mail_from: str = "alice@reject.test",
    rcpts: list[str] | None = None,
) -> None:
    with smtplib.SMTP(
        "127.0.0.1", port, local_hostname="client.test", source_address=(ip, 0), timeout=30
    ) as s:
        s.sendmail(mail_from, rcpts or ["support@example.test"], raw)


def _genuine(subject: str = "Please delete all my data") -> bytes:
    return mail.sign(mail.raw(subject=subject), "reject.test")


def _forged() -> bytes:
    return mail.raw(extra=FORGED_AR)


@pytest.fixture
def serve(tmp_path: Path, receiver: Receiver) -> Iterator[int]:
    port = free_port()
    config = tmp_path / "inbound.toml"
    config.write_text(
        f"""
[server]
listen = "127.0.0.1:{port}"
hostname = "mx.test"
domains = ["example.test"]

[storage]
data_dir = "{tmp_path / "data"}"

[delivery]
allow_private_webhooks = true

[dns]
nameservers = ["{test_dns.shared().address}"]
timeout_seconds = 2

[[routes]]
name = "support"
recipients = ["support@example.test"]
url = "{receiver.url}"
secret = "{SECRET}"
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOUND_")}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "inbound", "serve", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "inbound serve did not listen"
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _by_subject(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["data"]["subject"]: e["data"] for e in events}


def test_forged_data_request_arrives_unverified_the_genuine_one_verified(
    serve: int, receiver: Receiver
) -> None:
    _send(serve, _forged(), ip=test_dns.BAD_IP)
    _send(
        serve,
        _genuine("Genuine: please delete all my data"),
        ip=test_dns.GOOD_IP,
    )
    receiver.wait_for(2, timeout=60)
    events = receiver.events()
    for event in events:
        assert_valid_event(event)
    by = _by_subject(events)
    forged, genuine = by["Please delete all my data"], by["Genuine: please delete all my data"]

    assert genuine["classification"]["kind"] == "data_request"
    assert genuine["classification"]["sender_verified"] is True
    assert genuine["authentication"]["spf"] == {"result": "pass", "domain": "reject.test"}
    assert genuine["authentication"]["dkim"] == [
        {"result": "pass", "domain": "reject.test", "selector": "sel"}
    ]
    assert genuine["authentication"]["dmarc"] == {
        "result": "pass",
        "policy": "reject",
        "domain": "reject.test",
        "aligned": True,
    }
    assert genuine["authentication"]["authentication_results"].startswith(
        "mx.test; spf=pass smtp.mailfrom=reject.test; dkim=pass header.d=reject.test"
    )
    assert not any(e["where"] == "authentication" for e in genuine["classification"]["evidence"])

    assert forged["classification"]["kind"] == "data_request"
    assert forged["classification"]["sender_verified"] is False
    assert forged["authentication"]["spf"] == {"result": "fail", "domain": "reject.test"}
    assert forged["authentication"]["dkim"] == []
    assert forged["authentication"]["dmarc"]["result"] == "fail"
    assert forged["authentication"]["dmarc"]["policy"] == "reject"
    assert forged["classification"]["confidence"] < genuine["classification"]["confidence"]
    [note] = [e for e in forged["classification"]["evidence"] if e["where"] == "authentication"]
    assert "not verified" in note["text"] and "reject.test" in note["text"]
    # The forged Authentication-Results claiming our own name is not passed on.
    assert not [h for h in forged["headers"] if h[0].lower() == "authentication-results"]
    assert forged["authentication"]["trusted_results"] == []


def test_dns_down_gives_temperror_and_the_event_is_still_delivered(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = test_dns.DnsServer(test_dns.test_zone())
    server.stop()
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url)],
        dns={"nameservers": [server.address], "timeout_seconds": 0.3},
    )
    running = Running(settings)
    try:
        _send(running.port, _genuine(), ip=test_dns.GOOD_IP)
        assert running.deliver() == 1
    finally:
        running.stop()
    [event] = receiver.events()
    assert_valid_event(event)
    auth = event["data"]["authentication"]
    assert auth["spf"]["result"] == "temperror"
    assert [d["result"] for d in auth["dkim"]] == ["temperror"]
    assert auth["dmarc"]["result"] == "temperror"
    assert event["data"]["classification"]["sender_verified"] is None
    [note] = [
        e for e in event["data"]["classification"]["evidence"] if e["where"] == "authentication"
    ]
    assert "DNS failure" in note["text"]


def test_require_verified_sender_sends_unverified_requests_to_quarantine(
    tmp_path: Path, receiver: Receiver
) -> None:
    held = Receiver()
    route = webhook_route(
        receiver.url,
        require_verified_sender=True,
        quarantine={"url": held.url, "secret": SECRET},
    )
    running = Running(settings_for(tmp_path, routes=[route]))
    try:
        _send(running.port, _forged(), ip=test_dns.BAD_IP)
        _send(running.port, _genuine(), ip=test_dns.GOOD_IP)
        # An unverified message that is not a data request goes the usual way.
        _send(
            running.port,
            mail.raw(subject="Where is my order?", body="Where is my order?\r\n"),
            ip=test_dns.BAD_IP,
        )
        assert running.deliver() == 3
    finally:
        running.stop()
        held.close()
    kept = [e["data"] for e in receiver.events()]
    quarantined = [e["data"] for e in held.events()]
    assert [
        (d["classification"]["kind"], d["classification"]["sender_verified"]) for d in kept
    ] in (
        [("data_request", True), ("message", False)],
        [("message", False), ("data_request", True)],
    )
    assert [
        (d["classification"]["kind"], d["classification"]["sender_verified"]) for d in quarantined
    ] == [("data_request", False)]


def test_without_a_quarantine_target_the_event_is_only_stored(
    tmp_path: Path, receiver: Receiver
) -> None:
    route = webhook_route(receiver.url, require_verified_sender=True)
    running = Running(settings_for(tmp_path, routes=[route]))
    try:
        _send(running.port, _forged(), ip=test_dns.BAD_IP)
        assert running.deliver() == 1
        [job] = running.call(running.service.outbox.jobs())
        attempts = running.call(running.service.outbox.attempts(job.id))
        [kept] = list((tmp_path / "events").rglob("*.json"))
        event = json.loads(running.stored(kept.relative_to(tmp_path).as_posix()))
    finally:
        running.stop()
    assert receiver.deliveries == []
    assert event["data"]["classification"]["sender_verified"] is False
    assert [a.detail for a in attempts] == ["stored: unverified sender (require_verified_sender)"]


# ---------------------------------------------------------------- spam in the event


class _FakeRspamd:
    def __init__(self, delay: float = 0.0) -> None:
        answer = json.dumps(
            {"score": 9.5, "required_score": 15, "action": "add header", "symbols": {"X": {}}}
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's method name
                self.rfile.read(int(self.headers["content-length"]))
                time.sleep(delay)
                try:
                    self.send_response(200)
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except BrokenPipeError:
                    pass  # the client gave up waiting: what the timeout test wants

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("delay", "expected"), [(0.0, 9.5), (1.5, None)])
def test_spam_verdict_in_the_event_and_null_on_timeout(
    tmp_path: Path, receiver: Receiver, delay: float, expected: float | None
) -> None:
    rspamd = _FakeRspamd(delay)
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url)],
        spam={"rspamd_url": rspamd.url, "timeout_seconds": 0.5},
    )
    running = Running(settings)
    try:
        _send(running.port, _genuine(), ip=test_dns.GOOD_IP)
        assert running.deliver() == 1
    finally:
        running.stop()
        rspamd.close()
    [event] = receiver.events()
    assert_valid_event(event)
    spam = event["data"]["spam"]
    if expected is None:
        assert spam is None
    else:
        assert spam == {"score": 9.5, "threshold": 15.0, "is_spam": True, "symbols": ["X"]}


# ---------------------------------------------------------------- the real spam filters


@pytest.mark.timeout(600)  # the first run may install the daemon (tests/support/apt.py)
@pytest.mark.parametrize("engine", ["rspamd", "spamd"])
def test_a_real_filter_scores_through_the_worker_into_both_formats(
    tmp_path: Path, receiver: Receiver, engine: str, request: pytest.FixtureRequest
) -> None:
    """GTUBE is spam and an ordinary signed mail is not, as the real daemon says: in the
    event's ``spam`` and in the Postmark format's X-Spam-Status / X-Spam-Score."""
    daemon: spam_daemons.Daemon = request.getfixturevalue(f"real_{engine}")
    spam_table = (
        {"rspamd_url": f"http://{daemon.address}"}
        if engine == "rspamd"
        else {"spamd": daemon.address}
    )
    pm = webhook_route(receiver.url, format="postmark")
    pm.update(name="postmark", recipients=["postmark@example.test"])
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url), pm],
        spam={**spam_table, "timeout_seconds": 60},
    )
    gtube = mail.raw(subject="Test pattern", body=spam_daemons.GTUBE + "\r\n")
    ordinary = _genuine("Lunch on Thursday?")
    running = Running(settings)
    try:
        for raw in (gtube, ordinary):
            _send(running.port, raw, ip=test_dns.GOOD_IP, rcpts=RCPTS)
        assert running.deliver() == 4
    finally:
        running.stop()
    inbound_events = {
        d.event["data"]["subject"]: d.event["data"]
        for d in receiver.deliveries
        if d.event is not None and "data" in d.event
    }
    postmark_bodies = {
        d.event["Subject"]: {h["Name"]: h["Value"] for h in d.event["Headers"]}
        for d in receiver.deliveries
        if d.event is not None and "Subject" in d.event
    }
    assert len(inbound_events) == len(postmark_bodies) == 2, daemon.log_tail()
    for d in receiver.deliveries:
        assert d.error is None, d.error  # both formats are signed
        if d.event is not None and "data" in d.event:
            assert_valid_event(d.event)
    spam_event, ham_event = inbound_events["Test pattern"], inbound_events["Lunch on Thursday?"]
    assert spam_event["spam"] is not None and ham_event["spam"] is not None, daemon.log_tail()
    assert spam_event["spam"]["is_spam"] is True and "GTUBE" in spam_event["spam"]["symbols"]
    assert spam_event["spam"]["score"] >= spam_event["spam"]["threshold"]
    assert ham_event["spam"]["is_spam"] is False
    assert ham_event["spam"]["score"] < ham_event["spam"]["threshold"]
    spam_pm, ham_pm = postmark_bodies["Test pattern"], postmark_bodies["Lunch on Thursday?"]
    assert spam_pm["X-Spam-Status"] == "Yes" and ham_pm["X-Spam-Status"] == "No"
    assert float(spam_pm["X-Spam-Score"]) == round(spam_event["spam"]["score"], 1)
    assert float(ham_pm["X-Spam-Score"]) == round(ham_event["spam"]["score"], 1)
    assert "GTUBE" in spam_pm["X-Spam-Tests"].split(",")
