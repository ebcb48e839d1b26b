"""The webhook URL guard (issue 16, items 2 and 5): every non-public form refused at
start and at send time, a DNS failure retried, and the checked address pinned."""

from __future__ import annotations

import dataclasses
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from inbound.config import load
from inbound.delivery import urlguard
from inbound.delivery.sender import Sender
from inbound.errors import ConfigError, PermanentError, TransientError
from inbound.outbox.model import Attempt, Job

# Disguised loopback / metadata / private hosts: each must be refused by check-config.
DISGUISED = [
    "2130706433",  # decimal 127.0.0.1
    "0x7f000001",  # hex
    "0177.0.0.1",  # octal
    "017700000001",  # octal, one number
    "127.1",  # short form
    "127.0.1",
    "0",  # 0.0.0.0
    "0.0.0.0",
    "127.0.0.1.",  # trailing dot
    "localhost.",
    "LOCALHOST",
    "localhost.localdomain.",
    "foo.localhost",
    "127\uff0e0\uff0e0\uff0e1",  # fullwidth dots
    "127\u30020\u30020\u30021",  # ideographic dots
    "\uff11\uff12\uff17.0.0.1",  # fullwidth digits
    "169.254.169.254",
    "0xa9fea9fe",  # metadata, hex
    "[::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::127.0.0.1]",  # IPv4-compatible
    "[64:ff9b::a9fe:a9fe]",  # NAT64 of the metadata address
    "[64:ff9b:1::a00:1]",  # local-use NAT64
    "[2002:7f00:1::1]",  # 6to4 of loopback
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[fe80::1]",
    "[fd12:3456::1]",
    "100.64.0.1",  # CGNAT
    "198.18.0.1",  # benchmarking
    "192.0.2.10",  # documentation
    "203.0.113.7",
    "[2001:db8::1]",
]


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "inbound.toml"
    path.write_text(
        "[server]\ndomains = ['in.example.com']\n\n[[routes]]\nname = 'r'\n"
        f"recipients = ['*@in.example.com']\nurl = {url!r}\n"
        "secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("host", DISGUISED)
def test_check_config_refuses_every_disguised_non_public_host(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(_config(tmp_path, f"https://{host}/hook"), environ={})
    assert raised.value.key == "routes[0].url"
    assert "localhost" in raised.value.problem or "non-public" in raised.value.problem


@pytest.mark.parametrize("host", DISGUISED)
async def test_send_time_guard_refuses_every_disguised_host(host: str) -> None:
    with pytest.raises(urlguard.Refused):
        await urlguard.check(f"https://{host}/hook", allow_private=False)


def test_public_hosts_pass_at_config_time(tmp_path: Path) -> None:
    for host in ("hooks.example.com", "93.184.215.14", "[2606:4700::1111]", "bücher.example"):
        load(_config(tmp_path, f"https://{host}/hook"), environ={})


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("64:ff9b::a9fe:a9fe", True),
        ("2002:c000:0204::1", True),
        ("2001::1", True),
        ("::ffff:8.8.8.8", True),  # mapped: connect to the IPv4 address itself instead
        ("100.127.255.255", True),
        ("198.19.255.255", True),
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
    ],
)
def test_refusal_names_special_ranges_whatever_python_says(address: str, blocked: bool) -> None:
    assert (urlguard.refusal(ipaddress.ip_address(address)) is not None) is blocked


async def test_a_name_that_does_not_resolve_is_transient_not_refused() -> None:
    with pytest.raises(urlguard.Unresolved) as raised:
        await urlguard.check("https://no-such-host.invalid/hook", allow_private=False)
    assert isinstance(raised.value, TransientError)
    assert not isinstance(raised.value, PermanentError)


async def test_public_literal_is_pinned_to_itself() -> None:
    pinned = await urlguard.check("https://93.184.215.14/hook", allow_private=False)
    assert pinned.ip == "93.184.215.14"
    assert (await urlguard.check("http://127.0.0.1/h", allow_private=True)).ip is None


def _one_attempt(tmp_path: Path, clock: Any, url: str) -> tuple[Job, list[Attempt]]:
    """Send one message to a route at ``url`` with the guard on; the job after one try."""
    from tests.support.service import Running, message, settings_for, webhook_route

    settings = settings_for(tmp_path, routes=[webhook_route(url)])
    settings = dataclasses.replace(settings, allow_private_webhooks=False)
    running = Running(settings, clock=clock)
    try:
        running.send(message())
        running.deliver()
        [job] = running.call(running.service.outbox.jobs())
        return job, running.call(running.service.outbox.attempts(job.id))
    finally:
        running.stop()


def test_a_configured_localhost_url_fails_for_good_without_a_post(
    tmp_path: Path, clock: Any
) -> None:
    # localhost, however it is spelt, is refused before any lookup.
    job, attempts = _one_attempt(tmp_path, clock, "https://localhost:9/hook")
    assert job.status == "failed"
    assert "localhost" in (attempts[0].detail or "")


def test_dns_failure_is_retried_on_the_schedule(tmp_path: Path, clock: Any) -> None:
    # Before issue 16 the job became `failed` at once: a DNS blip dropped the webhook.
    job, attempts = _one_attempt(tmp_path, clock, "https://no-such-host.invalid/h")
    assert job.status == "pending"
    assert job.next_attempt_at is not None
    assert [a.detail for a in attempts] == ["dns_error"]


# ------------------------------------------------------------------ pinning


@dataclasses.dataclass
class _Seen:
    hosts: list[str]


@pytest.fixture
def tls_server() -> Iterator[tuple[int, trustme.CA, _Seen]]:
    ca = trustme.CA()
    cert = ca.issue_cert("hooks.example.test")
    seen = _Seen(hosts=[])

    class _Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's method name
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen.hosts.append(self.headers.get("host", ""))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], ca, seen
    server.shutdown()
    server.server_close()


async def test_sender_connects_to_the_pinned_address_and_checks_the_name(
    tls_server: tuple[int, trustme.CA, _Seen],
) -> None:
    port, ca, seen = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)
    sender = Sender(1, verify=context)
    try:
        # The name does not resolve at all: only the pinned address can reach the server,
        # so the sender did not look it up again (no rebinding window).
        ok = await sender.post(
            f"https://hooks.example.test:{port}/hook", b"{}", {}, pin="127.0.0.1"
        )
        # The certificate is checked against the name, not the address.
        wrong = await sender.post(
            f"https://other.example.test:{port}/hook", b"{}", {}, pin="127.0.0.1"
        )
    finally:
        await sender.close()
    assert ok.status_code == 204
    assert seen.hosts == [f"hooks.example.test:{port}"]
    assert wrong.status_code is None and wrong.error is not None


def test_every_delivery_key_is_explained_and_in_the_readme(tmp_path: Path) -> None:
    from inbound.config import _SCHEMA
    from inbound.config_explain import DELIVERY_KEYS, explain

    assert set(DELIVERY_KEYS) == set(_SCHEMA["delivery"])
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for key in DELIVERY_KEYS:
        assert f"| `{key}` |" in readme, key
    path = tmp_path / "c.toml"
    path.write_text(
        "[delivery]\njitter_seconds = 7\ninitial_backoff_seconds = 30\n"
        "[[routes]]\nname = 'r'\nrecipients = ['*@localhost']\nstore = true\n",
        encoding="utf-8",
    )
    settings = load(path, environ={})
    assert settings.jitter_seconds == 7
    lines = explain(settings)
    assert "  jitter_seconds = 7s: " in lines[4]
    assert "waits of 30s, 60s, 120s" in lines[-1] and "0-7s jitter" in lines[-1]
