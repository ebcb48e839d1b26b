"""Payload formats per route (DESIGN §11): postmark and raw, over a real receiver.

The receiver verifies the Standard Webhooks signature of every body (JSON or not), so
each format is checked as signed; Basic auth comes from the URL's userinfo and never
shows in a log line.
"""

from __future__ import annotations

import base64
import json
import logging
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from inbound.clock import FakeClock
from inbound.delivery.formats import Delivery as FormatDelivery
from inbound.delivery.formats import Format, basic_auth, postmark, render
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import SECRET, Receiver, decoded

PASSWORD = "s3cr3t:p@ss/word"


def _auth_url(receiver: Receiver, user: str = "anymail", password: str = PASSWORD) -> str:
    from urllib.parse import quote

    return f"http://{quote(user)}:{quote(password, safe='')}@127.0.0.1:{receiver.port}/hook"


def _rich() -> EmailMessage:
    m = message(
        "Order 1234",
        "Where is my order?\n\nOn Mon, Bob wrote:\n> old text\n",
        sender='"Alice Example" <alice+shop@sender.test>',
        to='"Support" <support+t42@example.test>',
        Cc="carol@sender.test",
        Reply_To="alice.reply@sender.test",
        Return_Path="<forged@evil.test>",
        X_Spam_Status="No",
    )
    m.add_alternative("<p>Where is my <b>order</b>?</p>", subtype="html")
    m.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="a.pdf")
    return m


def test_postmark_payload_has_postmarks_fields(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    route = webhook_route(_auth_url(receiver), format="postmark", raw_email=True)
    route["recipients"] = ["support@example.test"]
    running = Running(settings_for(tmp_path, routes=[route]), clock=clock)
    receiver.respond(500)  # one retry: MessageID must not change
    caplog.set_level(logging.DEBUG)
    try:
        rcpts = ["support+t42@example.test", "support@example.test"]
        assert running.send(_rich(), sender="bounce+x@sender.test", rcpts=rcpts)[0] == 250
        assert running.deliver() == 1
        clock.advance(200)
        assert running.deliver() == 1
    finally:
        running.stop()
    first, second = receiver.deliveries
    for d in (first, second):
        assert d.error is None, d.error  # signed like every format
        assert d.headers["content-type"] == "application/json"
        user, _, password = base64.b64decode(d.headers["authorization"][6:]).decode().partition(":")
        assert (user, password) == ("anymail", PASSWORD)
    body = decoded(second)
    assert decoded(first)["MessageID"] == body["MessageID"]  # stable across retries
    assert body["From"] == "alice+shop@sender.test" and body["FromName"] == "Alice Example"
    assert body["FromFull"] == {
        "Email": "alice+shop@sender.test",
        "Name": "Alice Example",
        "MailboxHash": "shop",
    }
    assert body["To"] == '"Support" <support+t42@example.test>'
    assert body["ToFull"] == [
        {"Email": "support+t42@example.test", "Name": "Support", "MailboxHash": "t42"}
    ]
    assert body["CcFull"] == [{"Email": "carol@sender.test", "Name": "", "MailboxHash": ""}]
    # The envelope recipient not in To/Cc is a Bcc; the one in To is not repeated.
    assert body["Bcc"] == "support@example.test"
    assert [b["Email"] for b in body["BccFull"]] == ["support@example.test"]
    assert body["OriginalRecipient"] == "support+t42@example.test"
    assert body["MailboxHash"] == "t42"
    assert body["ReplyTo"] == "alice.reply@sender.test"
    assert body["Subject"] == "Order 1234"
    assert body["TextBody"].startswith("Where is my order?")
    assert "<b>order</b>" in body["HtmlBody"]
    assert body["StrippedTextReply"].strip() == "Where is my order?"
    assert body["Date"]
    names = [h["Name"] for h in body["Headers"]]
    assert body["Headers"][0] == {"Name": "Return-Path", "Value": "<bounce+x@sender.test>"}
    assert names.count("Return-Path") == 1  # the sender's forged one is dropped
    assert "X-Spam-Status" not in names  # the sender's own verdict is not passed on
    for given in ("From", "To", "Cc", "Bcc", "Subject", "Reply-To", "Date"):
        assert given not in names
    assert "Message-ID" in names
    [att] = body["Attachments"]
    assert att["Name"] == "a.pdf" and att["ContentType"] == "application/pdf"
    assert base64.b64decode(att["Content"]) == b"%PDF-1.4 test"
    assert att["ContentLength"] == len(b"%PDF-1.4 test") and att["ContentID"] is None
    assert "Subject: Order 1234" in body["RawEmail"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "retry 500" in logged  # the attempts were logged ...
    assert "s3cr3t" not in logged  # ... and the password never was
    assert "anymail:" not in logged


def test_raw_format_posts_the_message_itself_with_basic_auth(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    route = webhook_route(_auth_url(receiver, "mailbox", "pw"), format="raw")
    running = Running(settings_for(tmp_path, routes=[route]), clock=clock)
    raw = _rich().as_bytes()
    try:
        assert running.send(raw)[0] == 250
        assert running.deliver() == 1
    finally:
        running.stop()
    [d] = receiver.deliveries
    # The message as stored: inbound's trace lines (Return-Path, Received) on top of it.
    assert d.body.endswith(raw) and d.body.startswith(b"Return-Path: <alice@sender.test>")
    assert d.headers["content-type"] == "message/rfc822"
    # standardwebhooks' verify() parses JSON; the signature itself is checked with its sign().
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    when = datetime.fromtimestamp(int(d.headers["webhook-timestamp"]), UTC)
    expected = Webhook(SECRET).sign(d.headers["webhook-id"], when, d.body.decode("ascii"))
    assert d.headers["webhook-signature"] == expected
    assert d.headers["authorization"] == "Basic " + base64.b64encode(b"mailbox:pw").decode()


def test_inbound_format_is_unchanged_by_default(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    running = Running(settings_for(tmp_path, routes=[webhook_route(receiver.url)]), clock=clock)
    try:
        assert running.send(message())[0] == 250
        assert running.deliver() == 1
    finally:
        running.stop()
    [event] = receiver.events()
    assert event["type"] == "inbound.message"
    assert "authorization" not in receiver.deliveries[0].headers


def _data(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "received_at": "2026-11-22T10:00:00Z",
        "envelope": {
            "mail_from": "a@s.test",
            "rcpt_to": ["in+t@e.test"],
            "remote_ip": "192.0.2.7",
            "helo": "mx.s.test",
            "tls": True,
        },
        "from": {"name": 'Al "the" Pal', "address": "a@s.test"},
        "to": [{"name": "", "address": "in+t@e.test"}],
        "cc": [],
        "reply_to": [],
        "mailbox_hash": "t",
        "headers": [["Received-SPF", "pass (forged)"], ["X-Spam-Score", "-50"]],
        "subject": "s",
        "text": "t",
        "html": None,
        "stripped_text": "t",
        "attachments": [
            {"filename": "i.png", "content_type": "image/png", "content_id": "i1@x", "inline": True}
        ],
    }
    data.update(extra)
    return data


def test_postmark_carries_spf_and_spam_verdicts_as_postmark_does() -> None:
    data = _data(
        authentication={"spf": {"result": "pass", "domain": "s.test"}},
        spam={"score": 3.25, "threshold": 5.0, "is_spam": False, "symbols": ["BAYES_00", "X"]},
    )
    body = postmark.build(data, job_id="job_1", contents=[b"png"])
    headers = [(h["Name"], h["Value"]) for h in body["Headers"]]
    assert headers[0] == ("Return-Path", "<a@s.test>")
    spf = dict(headers)["Received-SPF"]
    assert spf.startswith("Pass ") and "envelope-from=a@s.test;" in spf
    assert "client-ip=192.0.2.7;" in spf and spf.endswith("receiver=in+t@e.test")
    assert ("X-Spam-Status", "No") in headers and ("X-Spam-Score", "3.2") in headers
    assert ("X-Spam-Tests", "BAYES_00,X") in headers
    # The sender's own lines are gone: only ours remain.
    assert [n for n, _ in headers].count("Received-SPF") == 1
    assert [n for n, _ in headers].count("X-Spam-Score") == 1
    assert body["FromName"] == 'Al "the" Pal'
    assert body["To"] == "in+t@e.test"
    assert body["Attachments"][0]["ContentID"] == "i1@x"  # inline parts keep theirs
    spam = postmark.build(
        _data(spam={"score": 9, "is_spam": True, "symbols": {"A": 1, "B": 2}}),
        job_id="job_1",
        contents=[b"png"],
    )
    spam_headers = {h["Name"]: h["Value"] for h in spam["Headers"]}
    assert spam_headers["X-Spam-Status"] == "Yes" and spam_headers["X-Spam-Tests"] == "A,B"
    none = postmark.build(_data(spam=None), job_id="job_1", contents=[b"png"])
    assert not any(h["Name"].startswith("X-Spam") for h in none["Headers"])
    assert not any(h["Name"] == "Received-SPF" for h in none["Headers"])


def test_basic_auth_split_decodes_and_strips_userinfo() -> None:
    url, header = basic_auth.split("https://u%40x:p%3Aw@hooks.test:8443/in?q=1")
    assert url == "https://hooks.test:8443/in?q=1"
    assert header == "Basic " + base64.b64encode(b"u@x:p:w").decode()
    assert basic_auth.split("https://hooks.test/in") == ("https://hooks.test/in", None)


def test_render_signs_the_body_it_sends() -> None:
    import time

    from standardwebhooks import Webhook

    delivery = FormatDelivery(
        format=Format.POSTMARK,
        url="https://u:p@h.test/x",
        secrets=(SECRET,),
        job_id="job_abc",
        timestamp=int(time.time()),
    )
    event = {"data": _data()}
    req = render(delivery, event=event, event_body=b"{}", raw=b"raw", contents=[b"png"])
    assert req.url == "https://h.test/x"
    Webhook(SECRET).verify(req.body, req.headers)
    assert "RawEmail" not in json.loads(req.body)


def test_a_bad_url_with_a_password_is_reported_without_it() -> None:
    from inbound.config import from_mapping
    from inbound.errors import ConfigError

    route = {"name": "r", "recipients": ["*@x.test"], "url": "ftp://u:hunter2@h/x"}
    with pytest.raises(ConfigError) as caught:
        from_mapping({"routes": [{**route, "secret": SECRET}]}, {}, {})
    assert "hunter2" not in str(caught.value) and "ftp://***@h/x" in str(caught.value)
