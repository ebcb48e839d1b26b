"""Metrics agree with what happened: mail sent, refused and retried, then ``/metrics`` read.

Also the multi-process mode: counts made in separate processes (as ``inbound serve
--processes N`` runs them) add up in the exposition of any one of them.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from inbound.clock import FakeClock
from inbound.metrics import Metrics
from tests.inbound.test_serve import Serve, serve_factory  # noqa: F401  (fixture)
from tests.support.net import free_port
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _scrape(running: Running) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert running.service.admin_address is not None
    resp = httpx.get(f"http://127.0.0.1:{running.service.admin_address[1]}/metrics")
    assert resp.status_code == 200
    return _samples(resp.text)


def test_counters_agree_with_what_was_sent_refused_and_retried(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    settings = settings_for(
        tmp_path, routes=[webhook_route(receiver.url)], admin={"listen": "127.0.0.1:0"}
    )
    running = Running(settings, clock=clock)
    receiver.respond(500, 410)  # first message: 500 then (later) 200; second: 410
    try:
        assert running.send(message("one"))[0] == 250
        assert running.deliver() == 1
        assert running.send(message("two"))[0] == 250
        assert running.deliver() == 1
        with running.smtp() as s:
            s.ehlo()
            s.mail("x@sender.test")
            assert s.rcpt("nobody@example.test")[0] == 550  # served domain, no route
            assert s.rcpt("a@elsewhere.test")[0] == 550  # relay denied
            s.rset()
        m = _scrape(running)
        assert m[("inbound_outbox_due_jobs", ())] == 0  # the retry is not due yet
        [pending] = [
            j
            for j in running.call(running.service.outbox.jobs())
            if j.attempts == 1 and j.status.value == "pending"
        ]
        late = (pending.next_attempt_at - clock.now()).total_seconds() + 30
        clock.advance(late)
        m_due = _scrape(running)
        assert m_due[("inbound_outbox_due_jobs", ())] == 1
        assert 29 <= m_due[("inbound_outbox_oldest_due_seconds", ())] <= 31
        assert running.deliver() == 1  # 200 now
        m = _scrape(running)
        sizes = sum(msg.raw_size for msg in running.call(running.service.outbox.messages()))
    finally:
        running.stop()
    assert m[("inbound_messages_accepted_total", ())] == 2
    assert m[("inbound_received_bytes_total", ())] == sizes
    assert m[("inbound_smtp_replies_total", (("code", "250"),))] == 2
    assert m[("inbound_smtp_replies_total", (("code", "550"),))] == 2
    assert m[("inbound_deliveries_total", (("outcome", "retry"),))] == 1
    assert m[("inbound_deliveries_total", (("outcome", "delivered"),))] == 1
    assert m[("inbound_deliveries_total", (("outcome", "refused"),))] == 1
    assert m[("inbound_delivery_duration_seconds_count", ())] == 3
    assert m[("inbound_classified_total", (("kind", "message"),))] == 2  # once per message
    assert m[("inbound_outbox_due_jobs", ())] == 0
    assert len(receiver.deliveries) == 3
    # No label holds anything but a code, an outcome or a kind.
    labels = {v for (_, ls) in m for _, v in ls}
    assert not any("@" in v or v == "one" for v in labels)


def test_too_big_and_451_are_counted(tmp_path: Path, clock: FakeClock) -> None:
    settings = settings_for(
        tmp_path,
        server={"max_message_bytes": 2048},
        admin={"listen": "127.0.0.1:0"},
    )
    running = Running(settings, clock=clock)
    try:
        with running.smtp() as s:
            s.ehlo()
            s.mail("a@sender.test")
            s.rcpt("support@example.test")
            try:
                code, _ = s.data(message("big", "x" * 4000 + "\n").as_bytes())
            except smtplib.SMTPResponseException as exc:
                code = exc.smtp_code
            assert code == 552
        m = _scrape(running)
    finally:
        running.stop()
    assert m[("inbound_smtp_replies_total", (("code", "552"),))] == 1
    assert ("inbound_messages_accepted_total", ()) in m
    assert m[("inbound_messages_accepted_total", ())] == 0


_CHILD = """
import sys
from inbound.metrics import Metrics
m = Metrics(multiprocess_dir=sys.argv[1])
m.message_accepted(int(sys.argv[2]))
m.smtp_reply("250 2.0.0 OK queued as x")
m.delivery_attempt("delivered", 0.02)
"""


def test_multiprocess_mode_adds_up_every_process(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for size in ("100", "250"):
        subprocess.run(
            [sys.executable, "-c", _CHILD, str(tmp_path), size], env=env, check=True, timeout=60
        )
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one set of files per process
    m = _samples(Metrics(multiprocess_dir=str(tmp_path)).exposition(None).decode())
    assert m[("inbound_messages_accepted_total", ())] == 2
    assert m[("inbound_received_bytes_total", ())] == 350
    assert m[("inbound_smtp_replies_total", (("code", "250"),))] == 2
    assert m[("inbound_delivery_duration_seconds_count", ())] == 2
    # This process counted nothing itself: without the directory it reports only its own.
    own = _samples(Metrics().exposition(None).decode())
    assert own[("inbound_messages_accepted_total", ())] == 0


def test_inbound_serve_with_two_processes_reports_the_whole_service(
    tmp_path: Path,
    serve_factory: list[Serve],  # noqa: F811  (the fixture)
) -> None:
    """Acceptors of one `inbound serve --processes 2` share the count; any of them answers."""
    admin_port = free_port()
    data = ["--data-dir", str(tmp_path / "d"), "--domain", "example.test"]
    serve = Serve(tmp_path, *data, "--processes", "2", "--admin-listen", f"127.0.0.1:{admin_port}")
    serve_factory.append(serve)
    sent = 6
    for i in range(sent):  # one connection each: the kernel spreads them over acceptors
        with smtplib.SMTP("127.0.0.1", serve.port, timeout=30) as s:
            s.sendmail("a@sender.test", ["x@example.test"], message(f"m{i}").as_bytes())
        with smtplib.SMTP("127.0.0.1", serve.port, timeout=30) as s:
            s.ehlo()
            s.mail("a@sender.test")
            assert s.rcpt("x@elsewhere.test")[0] == 550
    deadline = time.monotonic() + 30
    while True:
        try:  # each child opens the admin port once its SMTP side is up
            m = _samples(httpx.get(f"http://127.0.0.1:{admin_port}/metrics").text)
        except httpx.ConnectError:
            m = {}
        if m.get(("inbound_classified_total", (("kind", "message"),))) == sent:
            break
        assert time.monotonic() < deadline, m
        time.sleep(0.2)
    for _ in range(4):  # whichever process answers, the figures are the service's
        m = _samples(httpx.get(f"http://127.0.0.1:{admin_port}/metrics").text)
        assert m[("inbound_messages_accepted_total", ())] == sent
        assert m[("inbound_smtp_replies_total", (("code", "550"),))] == sent
        assert m[("inbound_smtp_replies_total", (("code", "250"),))] == sent
    pids = {p.name.split("_")[-1] for p in (tmp_path / "d" / "run").rglob("*.db")}
    assert len(pids) >= 3  # the acceptors and the workers each wrote their own files
    serve.signal(signal.SIGTERM)
    assert serve.wait() == 0
