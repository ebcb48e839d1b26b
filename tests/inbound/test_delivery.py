"""The delivery worker against a real receiver: retries, refusals, Retry-After, restarts.

The clock is injected: a retry "an hour later" is a clock move and ``run_until_empty()``,
never a sleep.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from inbound.clock import FakeClock
from inbound.outbox.model import JobStatus
from tests.support.service import (
    START,
    Running,
    assert_valid_event,
    message,
    settings_for,
    webhook_route,
)
from tests.support.webhook import SECRET, Receiver


def _settings(tmp_path: Path, url: str, **route: Any) -> Any:
    return settings_for(
        tmp_path,
        routes=[webhook_route(url, **route)],
    )


def _jobs(tmp_path: Path) -> list[tuple[str, str, int, float]]:
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        return conn.execute("SELECT id, status, attempts, next_attempt_at FROM jobs").fetchall()


def test_500_then_200_is_delivered_on_the_second_attempt_with_the_same_id(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.respond(500)
    running = Running(_settings(tmp_path, receiver.url), clock=clock)
    try:
        assert running.send(message())[0] == 250
        assert running.deliver() == 1
        [(job_id, status, attempts, next_at)] = _jobs(tmp_path)
        assert (status, attempts) == ("pending", 1)
        # Exponential from one minute, with up to a minute of jitter.
        assert 60 <= next_at - clock.now().timestamp() <= 120
        assert running.deliver() == 0  # not due yet: nothing is sent early
        clock.advance(121)
        assert running.deliver() == 1
    finally:
        running.stop()
    first, second = receiver.deliveries
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == job_id
    assert [status for _, status, _, _ in _jobs(tmp_path)] == ["delivered"]
    for event in receiver.events():
        assert_valid_event(event)


def test_410_is_refused_and_never_retried(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.respond(410)
    running = Running(_settings(tmp_path, receiver.url), clock=clock)
    try:
        running.send(message())
        running.deliver()
        clock.advance(7 * 24 * 3600)
        assert running.deliver() == 0
    finally:
        running.stop()
    assert len(receiver.deliveries) == 1
    assert [(s, a) for _, s, a, _ in _jobs(tmp_path)] == [("refused", 1)]


def test_429_retry_after_is_honoured(tmp_path: Path, receiver: Receiver, clock: FakeClock) -> None:
    receiver.respond((429, {"Retry-After": "900"}))
    running = Running(_settings(tmp_path, receiver.url), clock=clock)
    try:
        running.send(message())
        running.deliver()
        [(_, status, _, next_at)] = _jobs(tmp_path)
        assert status == "pending"
        assert next_at == clock.now().timestamp() + 900
        clock.advance(899)
        assert running.deliver() == 0
        clock.advance(1)
        assert running.deliver() == 1
    finally:
        running.stop()
    assert len(receiver.deliveries) == 2
    assert [s for _, s, _, _ in _jobs(tmp_path)] == ["delivered"]


def test_503_with_http_date_retry_after(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.respond((503, {"Retry-After": "Sun, 22 Nov 2026 10:30:00 GMT"}))
    running = Running(_settings(tmp_path, receiver.url), clock=clock)
    try:
        running.send(message())
        running.deliver()
    finally:
        running.stop()
    [(_, status, _, next_at)] = _jobs(tmp_path)
    assert status == "pending"
    assert next_at == (START + timedelta(minutes=30)).timestamp()


def test_a_pending_retry_survives_a_restart(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.respond(502)
    settings = _settings(tmp_path, receiver.url)
    first = Running(settings, clock=clock)
    try:
        first.send(message(subject="Survivor"))
        first.deliver()
    finally:
        first.stop()
    assert [s for _, s, _, _ in _jobs(tmp_path)] == ["pending"]
    clock.advance(3600)
    second = Running(settings, clock=clock)  # a new process: same data dir, nothing in memory
    try:
        assert second.deliver() == 1
    finally:
        second.stop()
    assert [s for _, s, _, _ in _jobs(tmp_path)] == ["delivered"]
    assert receiver.events()[-1]["data"]["subject"] == "Survivor"
    assert len({d.headers["webhook-id"] for d in receiver.deliveries}) == 1


def test_connection_errors_retry_until_three_days_then_fail(
    tmp_path: Path, clock: FakeClock
) -> None:
    # Port 9 (discard) on loopback: nothing listens, every attempt is a connection error.
    running = Running(_settings(tmp_path, "http://127.0.0.1:9/hook"), clock=clock)
    try:
        running.send(message())
        attempts = 0
        while True:
            attempts += running.deliver()
            [(_, status, _, _)] = _jobs(tmp_path)
            if status != "pending":
                break
            clock.advance(3600)  # the cap between attempts
            assert attempts < 200
    finally:
        running.stop()
    [(_, status, n, _)] = _jobs(tmp_path)
    assert status == "failed"
    # 3 days of attempts at most an hour apart, first ones sooner.
    assert 70 <= n <= 80
    assert clock.now() - START <= timedelta(days=3, hours=1)


def test_redirects_are_not_followed(tmp_path: Path, receiver: Receiver, clock: FakeClock) -> None:
    receiver.respond((302, {"Location": "http://127.0.0.1:9/elsewhere"}))
    running = Running(_settings(tmp_path, receiver.url), clock=clock)
    try:
        running.send(message())
        running.deliver()
        job_id = _jobs(tmp_path)[0][0]
        attempts = running.call(running.service.outbox.attempts(job_id))
    finally:
        running.stop()
    assert len(receiver.deliveries) == 1
    assert [(a.outcome, a.status_code) for a in attempts] == [("retry", 302)]


def test_secret_rotation_signs_with_both(
    tmp_path: Path, receiver: Receiver, clock: FakeClock
) -> None:
    old = "whsec_" + "b2xkLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
    running = Running(
        settings_for(
            tmp_path,
            routes=[
                {
                    "name": "support",
                    "recipients": ["support@example.test"],
                    "url": receiver.url,
                    "secrets": [old, SECRET],
                }
            ],
        ),
        clock=clock,
    )
    try:
        running.send(message())
        running.deliver()
    finally:
        running.stop()
    [delivery] = receiver.deliveries
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    assert delivery.error is None  # the receiver knows only the new secret and still verifies


def test_kinds_filter_skips_and_by_kind_sends_elsewhere(tmp_path: Path, clock: FakeClock) -> None:
    main, privacy = Receiver(), Receiver()
    try:
        route = {
            "name": "support",
            "recipients": ["support@example.test"],
            "url": main.url,
            "secret": SECRET,
            "by_kind": {"reply": {"url": privacy.url, "secret": SECRET}},
        }
        only = {
            "name": "bulk",
            "recipients": ["bulk@example.test"],
            "url": main.url,
            "secret": SECRET,
            "kinds": ["bounce", "complaint"],
        }
        running = Running(settings_for(tmp_path, routes=[route, only]), clock=clock)
        try:
            running.send(message(subject="Re: your order", In_Reply_To="<x@shop.test>"))
            running.send(message(subject="plain"), rcpts=["bulk@example.test"])
            running.deliver()
            statuses = sorted(j.status for j in running.call(running.service.outbox.jobs()))
        finally:
            running.stop()
        assert [e["data"]["classification"]["kind"] for e in privacy.events()] == ["reply"]
        assert main.deliveries == []
        assert statuses == [JobStatus.DELIVERED, JobStatus.SKIPPED]
    finally:
        main.close()
        privacy.close()
