"""django-anymail's real Postmark inbound view reads inbound's ``format = "postmark"``.

An app built on anymail's ``inbound`` signal switches from Postmark to inbound by
changing its MX and pointing a route at the same URL: these tests check what anymail
hands that app, and that a wrong password (anymail answers 400) is retried on the
schedule like any other non-2xx answer (DESIGN §6), with a WARNING per attempt.
"""

from __future__ import annotations

import hashlib
import logging
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from inbound.clock import FakeClock
from inbound.delivery.formats import postmark
from inbound.outbox.model import JobStatus
from tests.support.django_site import INBOUND_PATH, PASSWORD, USER, Site
from tests.support.service import Running, message, settings_for

PDF = b"%PDF-1.4 inbound test attachment\n" * 40
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _route(url: str) -> dict[str, object]:
    from tests.support.webhook import SECRET

    return {
        "name": "app",
        "recipients": ["support@example.test"],
        "url": url,
        "secret": SECRET,
        "format": "postmark",
    }


def _mail() -> bytes:
    m = message(
        "Re: Your order 1234",
        "Thanks, it arrived!\n\nOn Mon, 1 Dec 2026, Shop wrote:\n> Your order has shipped.\n",
        sender='"Alice Example" <alice@sender.test>',
        to='"Support" <support+ticket-77@example.test>',
        Cc='"Carol" <carol@sender.test>',
    )
    m.add_alternative("<p>Thanks, it <b>arrived</b>!</p>", subtype="html")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="receipt.pdf")
    html = m.get_body(("html",))
    assert isinstance(html, EmailMessage)
    html.add_related(PNG, maintype="image", subtype="png", cid="<logo@shop>")
    return m.as_bytes()


def test_anymail_reads_what_inbound_posts(
    tmp_path: Path, anymail_site: Site, clock: FakeClock
) -> None:
    running = Running(settings_for(tmp_path, routes=[_route(anymail_site.url())]), clock=clock)
    try:
        rcpts = ["support+ticket-77@example.test"]
        assert running.send(_mail(), sender="bounces+a1@sender.test", rcpts=rcpts)[0] == 250
        assert running.deliver() == 1
        [job] = running.call(running.service.outbox.jobs())
    finally:
        running.stop()
    assert anymail_site.statuses == [200]
    assert job.status is JobStatus.DELIVERED
    [msg] = anymail_site.received
    assert (msg.from_email.display_name, msg.from_email.addr_spec) == (
        "Alice Example",
        "alice@sender.test",
    )
    assert [a.addr_spec for a in msg.to] == ["support+ticket-77@example.test"]
    assert [(a.display_name, a.addr_spec) for a in msg.cc] == [("Carol", "carol@sender.test")]
    assert msg.subject == "Re: Your order 1234"
    assert msg.text.startswith("Thanks, it arrived!")
    assert "<b>arrived</b>" in msg.html
    assert msg.stripped_text.strip() == "Thanks, it arrived!"
    assert msg.envelope_sender == "bounces+a1@sender.test"
    assert msg.envelope_recipient == "support+ticket-77@example.test"  # the +tag kept
    by_sha = {hashlib.sha256(a.get_content_bytes()).hexdigest(): a for a in msg.attachments} | {
        hashlib.sha256(a.get_content_bytes()).hexdigest(): a for a in msg.inlines
    }
    pdf, png = by_sha[hashlib.sha256(PDF).hexdigest()], by_sha[hashlib.sha256(PNG).hexdigest()]
    assert pdf.get_filename() == "receipt.pdf" and pdf.get_content_type() == "application/pdf"
    assert png.is_inline() and msg.content_id_map["logo@shop"] is png
    assert not msg.spam_detected and msg.spam_score is None  # no spam check configured


def test_a_wrong_password_is_refused_by_anymail_and_retried(
    tmp_path: Path, anymail_site: Site, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    url = anymail_site.url(password="wrong-password")
    running = Running(settings_for(tmp_path, routes=[_route(url)]), clock=clock)
    caplog.set_level(logging.INFO, logger="inbound")
    try:
        assert running.send(_mail(), rcpts=["support@example.test"])[0] == 250
        assert running.deliver() == 1
        [job] = running.call(running.service.outbox.jobs())
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1)  # 400 is retried
        assert job.next_attempt_at > clock.now()
        clock.advance((job.next_attempt_at - clock.now()).total_seconds() + 1)
        assert running.deliver() == 1
        [job] = running.call(running.service.outbox.jobs())
        attempts = running.call(running.service.outbox.attempts(job.id))
    finally:
        running.stop()
    assert anymail_site.statuses == [400, 400] and anymail_site.received == []
    assert (job.status, job.attempts) == (JobStatus.PENDING, 2)
    assert [(a.outcome, a.status_code) for a in attempts] == [("retry", 400), ("retry", 400)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "400" in r.message]
    assert len(warnings) == 2
    assert all("wrong-password" not in r.getMessage() for r in caplog.records)


def test_anymail_reads_the_spam_verdict_and_spf_line(anymail_site: Site) -> None:
    """The worker's spam verdict (issue 15) reaches anymail as Postmark's X-Spam lines."""
    data = {
        "received_at": "2026-11-22T10:00:00Z",
        "envelope": {
            "mail_from": "a@sender.test",
            "rcpt_to": ["support@example.test"],
            "remote_ip": "192.0.2.1",
            "helo": "mx.sender.test",
            "tls": True,
        },
        "from": {"name": "", "address": "a@sender.test"},
        "to": [{"name": "", "address": "support@example.test"}],
        "headers": [["X-Spam-Status", "No"], ["Message-ID", "<x@sender.test>"]],
        "subject": "Cheap pills",
        "text": "buy",
        "attachments": [],
        "authentication": {"spf": {"result": "pass", "domain": "sender.test"}},
        "spam": {"score": 12.5, "threshold": 5.0, "is_spam": True, "symbols": ["BAYES_99"]},
    }
    body = postmark.encode(postmark.build(data, job_id="job_x", contents=[]))
    resp = httpx.post(
        f"http://127.0.0.1:{anymail_site.port}{INBOUND_PATH}",
        content=body,
        headers={"content-type": "application/json"},
        auth=(USER, PASSWORD),
    )
    assert resp.status_code == 200
    [msg] = anymail_site.received
    assert msg.spam_detected is True and msg.spam_score == 12.5
    assert msg["Received-SPF"].startswith("Pass ")
    assert msg.get_param("envelope-from", None, header="Received-SPF") == "a@sender.test"
