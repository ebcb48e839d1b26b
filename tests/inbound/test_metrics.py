"""Metrics agree with what happened: mail sent, refused and retried, then ``/metrics`` read.

Also the multi-process mode: counts made in separate processes (as ``inbound serve
--processes N`` runs them) add up in the exposition of any one of them.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from inbound.clock import FakeClock
from inbound.metrics import Metrics
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
