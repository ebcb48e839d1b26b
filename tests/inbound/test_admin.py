"""The admin listener over real HTTP: health, auth, the JSON API, the page's forms, files.

The service runs with ``[admin] listen = "127.0.0.1:0"``; httpx speaks to it as an
operator's script or browser would (cookies, forms, CSRF tokens).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from inbound.clock import FakeClock
from inbound.config import from_mapping
from inbound.errors import ConfigError
from inbound.outbox.model import JobStatus
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver

TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture
def admin(tmp_path: Path, receiver: Receiver, clock: FakeClock) -> Iterator[Running]:
    route = webhook_route(receiver.url, inline_attachment_limit=100)
    settings = settings_for(
        tmp_path, routes=[route], admin={"listen": "127.0.0.1:0", "token": TOKEN}
    )
    running = Running(settings, clock=clock)
    yield running
    running.stop()


def _base(running: Running) -> str:
    assert running.service.admin_address is not None
    return f"http://127.0.0.1:{running.service.admin_address[1]}"


def _client(running: Running, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=_base(running), timeout=10, **kw)


def _bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_open_endpoints_and_the_token_everywhere_else(admin: Running) -> None:
    with _client(admin) as c:
        assert c.get("/healthz").text == "ok\n"
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {
            "ready": True,
            "outbox": "ok",
            "storage": "ok",
        }
        assert c.get("/metrics").status_code == 200
        assert c.get("/api/messages").status_code == 401
        assert c.get("/api/messages", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/api/jobs/x/retry").status_code == 401
        page = c.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"
        assert c.get("/api/messages", headers=_bearer()).json() == {"messages": []}


def test_readyz_answers_503_when_storage_cannot_be_read(admin: Running, tmp_path: Path) -> None:
    (tmp_path / "readyz-probe").mkdir()  # reading the probe key now fails with an OSError
    with _client(admin) as c:
        ready = c.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert (
        body["ready"] is False and body["outbox"] == "ok" and "local get failed" in body["storage"]
    )


def test_api_lists_without_personal_data_and_shows_attempts(
    admin: Running, receiver: Receiver
) -> None:
    receiver.respond(500)
    receiver.response_body = b'{"error": "database is down"}' + b"x" * 2000
    assert admin.send(message("Secret subject"), sender="alice@sender.test")[0] == 250
    assert admin.deliver() == 1
    with _client(admin, headers=_bearer()) as c:
        listing = c.get("/api/messages")
        [msg] = listing.json()["messages"]
        text = listing.text
        assert "alice" not in text and "Secret subject" not in text and "support@" not in text
        [job] = msg["jobs"]
        assert (job["status"], job["kind"], job["route"]) == ("pending", "message", "support")
        assert "next_attempt_at" in job
        detail = c.get(f"/api/jobs/{job['id']}").json()
        [attempt] = detail["attempts"]
        assert attempt["status_code"] == 500 and attempt["outcome"] == "retry"
        assert attempt["response"].startswith('{"error": "database is down"}')
        assert len(attempt["response"]) == 1024  # the first 1 KB
        assert attempt["duration_ms"] is not None
        one = c.get(f"/api/messages/{msg['id']}").json()
        assert "envelope" not in one
        asked = c.get(f"/api/messages/{msg['id']}", params={"addresses": "1"}).json()
        assert asked["envelope"]["mail_from"] == "alice@sender.test"
        assert c.get("/api/jobs/evt_nope").status_code == 404
        assert c.get("/api/messages", params={"status": "nope"}).status_code == 400
        assert c.get("/api/messages", params={"status": "failed"}).json() == {"messages": []}


def test_api_retry_redeliver_and_bulk(admin: Running, receiver: Receiver, clock: FakeClock) -> None:
    receiver.respond(500, 410)
    assert admin.send(message("one"))[0] == 250
    assert admin.deliver() == 1  # 500: pending
    assert admin.send(message("two"))[0] == 250
    assert admin.deliver() == 1  # 410: refused
    jobs = {j.status: j for j in admin.call(admin.service.outbox.jobs())}
    pending, refused = jobs[JobStatus.PENDING], jobs[JobStatus.REFUSED]
    with _client(admin, headers=_bearer()) as c:
        assert c.post(f"/api/jobs/{refused.id}/retry").status_code == 409
        assert c.post(f"/api/jobs/{pending.id}/retry").json()["due"] == "now"
        assert admin.deliver() == 1  # due now, without moving the clock
        assert c.post(f"/api/jobs/{pending.id}/redeliver").json()["status"] == "pending"
        bad = c.post("/api/redeliver", json={"status": "refused"})
        assert bad.status_code == 400 and "since" in bad.json()["error"]
        since = (clock.now().replace(year=2000)).isoformat()
        bulk = c.post("/api/redeliver", json={"status": "refused", "since": since})
        assert bulk.json() == {"requeued": [refused.id]}
    assert admin.deliver() == 2
    assert [d.headers["webhook-id"] for d in receiver.deliveries].count(pending.id) == 3


def _csrf(html: str) -> str:
    found = re.search(r"name=csrf value='([0-9a-f]+)'", html)
    assert found, html[:500]
    return found.group(1)


def test_login_cookie_and_csrf_safe_forms(admin: Running, receiver: Receiver) -> None:
    receiver.respond(410)
    assert admin.send(message())[0] == 250
    assert admin.deliver() == 1
    [job] = admin.call(admin.service.outbox.jobs())
    with _client(admin) as c:
        wrong = c.post("/login", data={"token": "nope"})
        assert wrong.status_code == 401 and "Wrong token" in wrong.text
        ok = c.post("/login", data={"token": TOKEN}, follow_redirects=False)
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        page = c.get("/")
        assert page.status_code == 200 and job.id in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        # A form POST without the CSRF token (what another site's page could send) fails.
        forged = c.post(f"/ui/jobs/{job.id}/redeliver", data={})
        assert forged.status_code == 403
        assert admin.call(admin.service.outbox.job(job.id)).status is JobStatus.REFUSED  # type: ignore[union-attr]
        done = c.post(
            f"/ui/jobs/{job.id}/redeliver",
            data={"csrf": _csrf(page.text)},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"].startswith("/?done=redeliver")
        assert admin.call(admin.service.outbox.job(job.id)).status is JobStatus.PENDING  # type: ignore[union-attr]
        assert "is queued again" in c.get(done.headers["location"]).text
    # Another client's cookie jar: the token's session cookie is what lets it in.
    with _client(admin) as other:
        other.cookies.set("inbound_admin", "1.2.3")
        assert other.get("/", follow_redirects=False).status_code == 303


def _big_attachment() -> EmailMessage:
    m = message("Big")
    m.add_attachment(b"A" * 5000, maintype="application", subtype="octet-stream", filename="b.bin")
    return m


def test_large_attachments_of_the_local_store_travel_as_signed_urls(
    admin: Running, receiver: Receiver, clock: FakeClock
) -> None:
    assert admin.send(_big_attachment())[0] == 250
    assert admin.deliver() == 1
    [event] = receiver.events()
    [att] = event["data"]["attachments"]
    assert att["content"] is None and att["url"].startswith(_base(admin) + "/files/attachments/")
    fetched = httpx.get(att["url"])  # no token: the signature is the credential
    assert fetched.status_code == 200 and fetched.content == b"A" * 5000
    assert fetched.headers["content-disposition"] == "attachment"
    assert httpx.get(att["url"].replace("sig=", "sig=0")).status_code == 403
    other = att["url"].replace("/files/attachments/", "/files/raw/")
    assert httpx.get(other).status_code == 403  # only attachment keys are ever served
    clock.advance(8 * 24 * 3600)  # past the default 7 days
    assert httpx.get(att["url"]).status_code == 403


def test_without_an_admin_listener_large_attachments_are_inlined(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    route = webhook_route(receiver.url, inline_attachment_limit=100)
    running = Running(settings_for(tmp_path, routes=[route]), clock=clock)
    try:
        assert running.send(_big_attachment())[0] == 250
        assert running.deliver() == 1
    finally:
        running.stop()
    [event] = receiver.events()
    [att] = event["data"]["attachments"]
    assert att["url"] is None and att["content"] is not None  # never unreachable


def test_open_loopback_listener_checks_the_host_header(tmp_path: Path, clock: FakeClock) -> None:
    running = Running(settings_for(tmp_path, admin={"listen": "127.0.0.1:0"}), clock=clock)
    try:
        with _client(running) as c:
            page = c.get("/")
            assert page.status_code == 200 and "Sign out" not in page.text
            assert "HttpOnly" in page.headers["set-cookie"]  # keys the CSRF token
            rebound = c.get("/", headers={"Host": "evil.example"})
            assert rebound.status_code == 421
            assert c.post("/api/jobs/x/retry").status_code == 403  # but POSTs need CSRF
            # No token on loopback; a stored event (no webhook) is listed with its kind.
            assert running.send(message(), rcpts=["anyone@example.test"])[0] == 250
            assert running.deliver() == 1
            [msg] = c.get("/api/messages").json()["messages"]
            assert [(j["status"], j["kind"]) for j in msg["jobs"]] == [("delivered", "message")]
    finally:
        running.stop()


def test_admin_config_rules() -> None:
    def load(admin: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
        return from_mapping({"admin": admin}, environ or {}, {})

    assert load({}).admin is None  # off unless configured
    with pytest.raises(ConfigError, match=r"admin\.token.*required"):
        load({"listen": "0.0.0.0:8025"})
    with pytest.raises(ConfigError, match=r"admin\.token.*at least 16"):
        load({"listen": "127.0.0.1:8025", "token": "short"})
    env = load({}, {"INBOUND_ADMIN_LISTEN": "0.0.0.0:9", "INBOUND_ADMIN_TOKEN": TOKEN}).admin
    assert (env.host, env.port, env.token.reveal()) == ("0.0.0.0", 9, TOKEN)
    assert TOKEN not in repr(env)
    flag = from_mapping({}, {}, {"admin_listen": "127.0.0.1:7"}).admin
    assert flag is not None
    assert (flag.host, flag.port, flag.token) == ("127.0.0.1", 7, None)
    with pytest.raises(ConfigError, match=r"admin\.token_file"):
        load({"listen": "0.0.0.0:1", "token_file": "/nonexistent/token"})
    with pytest.raises(ConfigError, match=r"routes\[0\]\.format"):
        from_mapping(
            {"routes": [{"name": "r", "recipients": ["*@x.test"], "store": True, "format": "x"}]},
            {},
            {},
        )
