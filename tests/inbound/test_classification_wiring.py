"""Route and classification settings reach the classifier: deadlines, unsubscribe addresses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from inbound.clock import FakeClock
from inbound.config import from_mapping
from inbound.errors import ConfigError
from tests.support.service import (
    START,
    Running,
    assert_valid_event,
    message,
    settings_for,
    webhook_route,
)
from tests.support.webhook import SECRET, Receiver


def test_configured_deadline_sets_due_by(
    tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    settings = settings_for(
        tmp_path,
        routes=[webhook_route(receiver.url)],
        classification={"deadlines_days": {"GDPR": 10}},
    )
    running = Running(settings, clock=clock)
    try:
        body = "Under Art. 17 GDPR, please erase all personal data you hold about me.\n"
        running.send(message("Erasure request", body))
        running.deliver()
    finally:
        running.stop()
    [event] = receiver.events()
    assert_valid_event(event)
    verdict = event["data"]["classification"]
    assert verdict["kind"] == "data_request"
    assert {"type": "erasure", "law": "GDPR", "article": "17"} in verdict["requests"]
    assert verdict["due_by"] == (START + timedelta(days=10)).isoformat().replace("+00:00", "Z")


def test_mail_to_the_routes_unsubscribe_address_is_an_unsubscribe(
    tmp_path: Path, clock: FakeClock, receiver: Receiver
) -> None:
    settings = settings_for(
        tmp_path,
        routes=[
            {
                "name": "lists",
                "recipients": ["*@lists.example.test"],
                "url": receiver.url,
                "secret": SECRET,
                "unsubscribe_addresses": ["unsubscribe@lists.example.test"],
            }
        ],
        server={"domains": ["lists.example.test"]},
    )
    running = Running(settings, clock=clock)
    try:
        running.send(
            message("", "", to="unsubscribe+Tok3n@lists.example.test"),
            rcpts=["unsubscribe+Tok3n@lists.example.test"],
        )
        running.deliver()
    finally:
        running.stop()
    [event] = receiver.events()
    verdict = event["data"]["classification"]
    assert verdict["kind"] == "unsubscribe"
    assert verdict["unsubscribe_token"] == "Tok3n"
    assert event["data"]["mailbox_hash"] == "Tok3n"


def test_bad_deadlines_config_names_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping({"classification": {"deadlines_days": {"GDPR": "a month"}}}, {}, {})
    assert info.value.key == "classification.deadlines_days.GDPR"
