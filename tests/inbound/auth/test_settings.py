"""The [dns], [spam] and [auth] tables: good values read, bad ones name their key."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.config import from_mapping
from inbound.errors import ConfigError
from tests.support.webhook import SECRET


def _load(raw: dict[str, Any]) -> Any:
    return from_mapping(raw, {}, {})


def test_defaults_are_the_system_resolver_and_no_spam_filter() -> None:
    auth = _load({}).auth
    assert auth.enabled and auth.nameservers == () and auth.trusted_authserv_ids == ()
    assert not auth.spam.enabled


def test_good_values() -> None:
    auth = _load(
        {
            "dns": {
                "nameservers": ["127.0.0.1:5353", "9.9.9.9", "[::1]:53", "2001:db8::1"],
                "timeout_seconds": 2,
            },
            "spam": {"spamd": "127.0.0.1", "timeout_seconds": 3},
            "auth": {"trusted_authserv_ids": ["Relay.Corp.Example."]},
        }
    ).auth
    assert auth.nameservers == (
        ("127.0.0.1", 5353),
        ("9.9.9.9", 53),
        ("::1", 53),
        ("2001:db8::1", 53),
    )
    assert auth.dns_timeout_seconds == 2.0
    assert auth.spam.spamd == ("127.0.0.1", 783) and auth.spam.timeout_seconds == 3.0
    assert auth.trusted_authserv_ids == ("relay.corp.example",)
    rspamd = _load({"spam": {"rspamd_url": "http://127.0.0.1:11333/"}}).auth.spam
    assert rspamd.rspamd_url == "http://127.0.0.1:11333" and rspamd.enabled


@pytest.mark.parametrize(
    ("raw", "key", "problem"),
    [
        ({"dns": {"nameservers": "1.1.1.1"}}, "dns.nameservers", "must be an array"),
        ({"dns": {"nameservers": ["dns.google"]}}, "dns.nameservers[0]", "IP address"),
        ({"dns": {"nameservers": ["1.1.1.1:99999"]}}, "dns.nameservers[0]", "port"),
        ({"dns": {"nameservers": ["[::1"]}}, "dns.nameservers[0]", "host:port"),
        ({"dns": {"timeout_seconds": 0}}, "dns.timeout_seconds", "at least"),
        ({"dns": {"servers": []}}, "dns.servers", "unknown key"),
        ({"spam": {"rspamd_url": "127.0.0.1:11333"}}, "spam.rspamd_url", "http(s) URL"),
        (
            {"spam": {"rspamd_url": "http://h:1", "spamd": "h:2"}},
            "spam.spamd",
            "not both",
        ),
        ({"spam": {"spamd": "h:port"}}, "spam.spamd", "port"),
        ({"auth": {"enabled": "yes"}}, "auth.enabled", "true or false"),
        ({"auth": {"trusted_authserv_ids": ["a b"]}}, "auth.trusted_authserv_ids[0]", "authserv"),
        (
            {
                "auth": {"enabled": False},
                "routes": [
                    {
                        "name": "r",
                        "recipients": ["*@x.test"],
                        "store": True,
                        "require_verified_sender": True,
                    }
                ],
            },
            "routes[0].require_verified_sender",
            "[auth] enabled",
        ),
        (
            {
                "routes": [
                    {"name": "r", "recipients": ["*@x.test"], "store": True, "quarantine": "x"}
                ]
            },
            "routes[0].quarantine",
            "table",
        ),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(raw)
    assert err.value.key == key
    assert problem in err.value.problem


def test_a_route_quarantine_target() -> None:
    route = {
        "name": "privacy",
        "recipients": ["privacy@x.test"],
        "url": "https://hooks.example.com/privacy",
        "secret": SECRET,
        "require_verified_sender": True,
        "quarantine": {"url": "https://hooks.example.com/held", "secret": SECRET},
    }
    [r] = _load({"routes": [route]}).routes
    assert r.require_verified_sender
    assert r.quarantine is not None and r.quarantine.url == "https://hooks.example.com/held"
