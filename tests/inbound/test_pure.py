"""Pure decisions as plain values: schedule, outcome, routing, keys, signing, log masking."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from inbound.accept import address_hash, new_message_id
from inbound.config import Route, Target, from_mapping
from inbound.delivery import outcome, schedule, signing, urlguard
from inbound.log import PrivacyFilter, mask_address
from inbound.routing import Verdict, resolve, split_address
from inbound.storage import keys
from tests.support.webhook import SECRET

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


# ------------------------------------------------------------------ schedule


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 60, 120), (2, 120, 180), (3, 240, 300), (6, 1920, 1980)]
)
def test_backoff_is_exponential_from_a_minute_with_jitter(
    attempt: int, low: float, high: float
) -> None:
    waits = [schedule.backoff_seconds(schedule.Policy(), attempt) for _ in range(50)]
    assert all(low <= w <= high for w in waits)
    assert len(set(waits)) > 1  # jitter


def test_backoff_is_capped_at_an_hour() -> None:
    assert schedule.backoff_seconds(schedule.Policy(), 30) == 3600


def test_gives_up_after_three_days() -> None:
    policy = schedule.Policy()
    first = NOW - timedelta(days=3) + timedelta(minutes=30)
    assert schedule.next_attempt_at(policy, attempt=70, now=NOW, first_queued_at=first) is None
    assert schedule.next_attempt_at(
        policy, attempt=70, now=NOW, first_queued_at=NOW
    ) == NOW + timedelta(hours=1)


def test_retry_after_wins_and_is_clamped() -> None:
    policy = schedule.Policy()
    at = schedule.next_attempt_at(
        policy, attempt=1, now=NOW, first_queued_at=NOW, retry_after_seconds=5
    )
    assert at == NOW + timedelta(seconds=5)
    at = schedule.next_attempt_at(
        policy, attempt=1, now=NOW, first_queued_at=NOW, retry_after_seconds=10**9
    )
    assert at == NOW + timedelta(hours=6)


# ------------------------------------------------------------------ outcome


@pytest.mark.parametrize(
    ("code", "verdict"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (403, "refused"),
        (406, "refused"),
        (410, "refused"),
        (301, "retry"),
        (400, "retry"),
        (404, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
)
def test_outcome_of_status_codes(code: int, verdict: str) -> None:
    assert outcome.from_response(code, None, NOW).verdict == verdict


def test_retry_after_only_for_429_and_503() -> None:
    assert outcome.from_response(429, "30", NOW).retry_after_seconds == 30
    assert (
        outcome.from_response(503, "Sun, 22 Nov 2026 10:01:00 GMT", NOW).retry_after_seconds == 60
    )
    assert outcome.from_response(500, "30", NOW).retry_after_seconds is None
    assert outcome.from_response(429, "soon", NOW).retry_after_seconds is None
    assert outcome.from_response(429, "Sun, 22 Nov 2026 09:00:00 GMT", NOW).retry_after_seconds == 0


# ------------------------------------------------------------------ routing

ROUTES = (
    Route(name="reply", recipients=("reply@in.example.com",), target=None),
    Route(name="all", recipients=("*@example.com",), target=None),
    Route(name="any", recipients=("*",), target=None),
)


@pytest.mark.parametrize(
    ("address", "verdict", "route", "tag"),
    [
        ("reply+abc123@in.example.com", Verdict.ACCEPT, "reply", "abc123"),
        ("Reply+AbC@IN.example.com", Verdict.ACCEPT, "reply", "AbC"),
        ("reply@in.example.com", Verdict.ACCEPT, "reply", None),
        ("other@in.example.com", Verdict.ACCEPT, "any", None),
        ("x@example.com", Verdict.ACCEPT, "all", None),
        ("x@evil.test", Verdict.RELAY_DENIED, None, None),
        ("@in.example.com", Verdict.UNKNOWN_USER, None, None),
        ("no-at-sign", Verdict.RELAY_DENIED, None, None),
    ],
)
def test_resolve(address: str, verdict: Verdict, route: str | None, tag: str | None) -> None:
    match = resolve(address, ROUTES, ("in.example.com", "example.com"))
    assert match.verdict is verdict
    assert (match.route.name if match.route else None) == route
    assert match.mailbox_hash == tag


def test_unknown_user_on_a_served_domain_without_catch_all() -> None:
    assert (
        resolve("nobody@in.example.com", ROUTES[:2], ("in.example.com",)).verdict
        is Verdict.UNKNOWN_USER
    )


def test_split_address() -> None:
    assert split_address("a+b+c@Ex.COM.") == ("a", "ex.com", "b+c")
    assert split_address("a+@ex.com") == ("a", "ex.com", None)


# ------------------------------------------------------------------ keys and ids


def test_key_layout() -> None:
    at = datetime(2026, 1, 2, 23, 30, tzinfo=UTC)
    assert keys.raw_key("msg_1", at, "p/") == "p/raw/2026/01/02/msg_1.eml"
    assert keys.event_key("msg_1", at) == "events/2026/01/02/msg_1.json"
    assert (
        keys.attachment_key("msg_1", 3, "../../Rechnung März.pdf")
        == "attachments/msg_1/3-Rechnung_Marz.pdf"
    )
    assert keys.attachment_key("msg_1", 0, None) == "attachments/msg_1/0-attachment"
    assert keys.safe_filename("...") == "attachment"


def test_message_ids_sort_by_time_and_are_unique() -> None:
    a, b = new_message_id(1_000), new_message_id(2_000)
    assert a < b and len(a) == len(b) == 30
    assert len({new_message_id(5) for _ in range(1000)}) == 1000


def test_address_hash_is_keyed_and_case_insensitive() -> None:
    assert address_hash(b"k", "A@X.test") == address_hash(b"k", "a@x.test")
    assert address_hash(b"k", "a@x.test") != address_hash(b"other", "a@x.test")
    assert "a@x.test" not in address_hash(b"k", "a@x.test")


# ------------------------------------------------------------------ signing


def test_signature_verifies_with_the_standardwebhooks_package() -> None:
    body = b'{"type":"inbound.message","data":{}}'
    ts = int(datetime.now(UTC).timestamp())
    headers = signing.headers([SECRET], "evt_1", ts, body)
    assert Webhook(SECRET).verify(body, headers) == {"type": "inbound.message", "data": {}}
    assert headers["webhook-signature"].startswith("v1,")
    tampered = body.replace(b"{}", b"{ }")
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(tampered, headers)


def test_target_of_command_line_route_is_trusted() -> None:
    s = from_mapping({}, {}, {"webhook": "http://127.0.0.1:1/h", "secret": SECRET})
    target = s.routes[-1].target
    assert isinstance(target, Target) and target.trusted


# ------------------------------------------------------------------ logs


def test_log_filter_masks_addresses_in_messages_and_exceptions() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "from %s to %s", ("jane.doe@example.com", "x"), None
    )
    try:
        raise ValueError("bad rcpt bob@example.org")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    PrivacyFilter().filter(record)
    assert record.getMessage() == "from j***@***.com to x"
    assert record.exc_text is not None
    assert "bob@example.org" not in record.exc_text and "b***@***.org" in record.exc_text
    assert mask_address("jane@example.com") == "j***@***.com"


# ------------------------------------------------------------------ URL guard


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hook", "not https"),
        ("https://127.0.0.1/hook", "non-public"),
        ("https://10.1.2.3/hook", "non-public"),
        ("https://169.254.169.254/latest/meta-data", "non-public"),
        ("https://[::1]/hook", "non-public"),
        ("https://[fd00::1]/hook", "non-public"),
        ("https://localhost/hook", "localhost"),
    ],
)
async def test_url_guard_refuses(url: str, why: str) -> None:
    with pytest.raises(urlguard.Refused, match=why):
        await urlguard.check(url, allow_private=False)


async def test_url_guard_allows_public_https_and_private_when_allowed() -> None:
    await urlguard.check("https://93.184.215.14/hook", allow_private=False)
    await urlguard.check("http://127.0.0.1:8080/hook", allow_private=True)
