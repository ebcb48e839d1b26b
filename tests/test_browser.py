"""The admin page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Signs in with the token, filters by state, clicks Redeliver and Retry now, checks the
outbox changed, and takes a screenshot: the README's ``docs/admin.png`` is that file,
written when missing or when ``INBOUND_UPDATE_SCREENSHOT=1`` (so an ordinary run leaves
the work tree clean). If
``/usr/bin/chromium`` is missing the test installs it (``apt-get install chromium``; CI
runs as root with Debian reachable). Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from inbound.clock import FakeClock
from inbound.outbox.model import JobStatus
from tests.support import apt
from tests.support.service import Running, message, settings_for, webhook_route
from tests.support.webhook import Receiver

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "browser-test-token-0123456789"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "admin.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    apt.ensure(str(CHROMIUM), ["chromium"], recommends=True)  # when missing (support/apt.py)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.mark.timeout(300)  # the first run may install chromium
def test_sign_in_filter_redeliver_retry_and_screenshot(
    tmp_path: Path, receiver: Receiver, clock: FakeClock, browser: Browser
) -> None:
    route = webhook_route(receiver.url)
    support = {**route, "name": "billing", "recipients": ["billing@example.test"]}
    settings = settings_for(
        tmp_path, routes=[route, support], admin={"listen": "127.0.0.1:0", "token": TOKEN}
    )
    running = Running(settings, clock=clock)
    receiver.respond(500, 410, 200, 503)
    try:
        for subject, rcpt in (
            ("one", "support@example.test"),
            ("two", "support@example.test"),
            ("three", "billing@example.test"),
            ("four", "billing@example.test"),
        ):
            assert running.send(message(subject), rcpts=[rcpt])[0] == 250
            assert running.deliver() == 1
        jobs = {j.status: j for j in running.call(running.service.outbox.jobs())}
        refused, pending = jobs[JobStatus.REFUSED], jobs[JobStatus.PENDING]
        assert running.service.admin_address is not None
        base = f"http://127.0.0.1:{running.service.admin_address[1]}"
        page: Page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(base + "/")
        expect(page).to_have_url(base + "/login")
        page.fill("#token", "not-the-token")
        page.click("button[type=submit]")
        expect(page.locator(".err")).to_have_text("Wrong token.")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        expect(page).to_have_url(base + "/")
        cookie = next(c for c in page.context.cookies() if c["name"] == "inbound_admin")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        expect(page.locator("tr[data-job]")).to_have_count(4)

        page.click("nav a:text-is('refused')")
        expect(page.locator("tr[data-job]")).to_have_count(1)
        page.click(f"button[data-action=redeliver][data-job='{refused.id}']")
        expect(page.locator(".notice")).to_contain_text(f"Job {refused.id} is queued again.")
        assert running.call(running.service.outbox.job(refused.id)).status is JobStatus.PENDING  # type: ignore[union-attr]

        page.click("nav a:text-is('pending')")
        expect(page.locator(f"tr[data-job='{pending.id}']")).to_have_count(1)
        page.click(f"button[data-action=retry][data-job='{pending.id}']")
        expect(page.locator(".notice")).to_contain_text(f"Job {pending.id} is due now.")
        due = running.call(running.service.outbox.job(pending.id))
        assert due is not None and due.next_attempt_at <= clock.now()
        assert running.deliver() == 2  # the one retried now and the one redelivered
        page.goto(base + "/")
        for details in page.locator("details").all():
            details.evaluate("d => d.open = true")
        shot = tmp_path / "admin.png"
        page.screenshot(path=str(shot), full_page=True)
        page.close()
    finally:
        running.stop()
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    if not SCREENSHOT.exists() or os.environ.get("INBOUND_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
