"""Authentication-Results: the header inbound would add, and the RFC 8601 §5 trust rule."""

from __future__ import annotations

import pytest

from inbound.auth import results
from inbound.auth.model import Arc, Dkim, Dmarc, Result, Spf


def test_header_value_names_every_method() -> None:
    value = results.header_value(
        "mx.example.com",
        spf=Spf(result=Result.PASS, domain="example.org"),
        dkim=(
            Dkim(result=Result.PASS, domain="example.org", selector="s1", b="AbCdEfGh"),
            Dkim(result=Result.FAIL, domain="other.org", selector="x", reason="bad (sig)"),
        ),
        dmarc=Dmarc(result=Result.PASS, policy="reject", domain="example.org", aligned=True),
        arc=Arc(result=Result.NONE),
    )
    assert value == (
        "mx.example.com; spf=pass smtp.mailfrom=example.org;"
        " dkim=pass header.d=example.org header.s=s1 header.b=AbCdEfGh;"
        " dkim=fail (bad sig) header.d=other.org header.s=x;"
        " dmarc=pass (p=reject) header.from=example.org; arc=none"
    )


def test_header_value_without_anything_to_check() -> None:
    value = results.header_value(
        "mx.test",
        spf=Spf(result=Result.NONE, domain="relay.test", identity="helo"),
        dkim=(),
        dmarc=Dmarc(result=Result.NONE, policy=None, domain=None, aligned=False),
        arc=Arc(result=Result.NONE),
    )
    assert value == "mx.test; spf=none smtp.helo=relay.test; dkim=none; dmarc=none; arc=none"


@pytest.mark.parametrize(
    ("value", "authserv_id"),
    [
        ("mx.example.com; spf=pass", "mx.example.com"),
        ("  MX.Example.COM. 1 ; dkim=pass", "mx.example.com"),  # a version, case, a dot
        ("(comment) relay.corp (more); none", "relay.corp"),
        ("mx.example.com", "mx.example.com"),
        ("; spf=pass", None),
    ],
)
def test_authserv_id(value: str, authserv_id: str | None) -> None:
    assert results.authserv_id(value) == authserv_id


def test_screen_keeps_only_trusted_and_never_our_own_id() -> None:
    headers = [
        ("Received", "from a by b"),
        ("Authentication-Results", "relay.corp.test; dmarc=pass header.from=bank.test"),
        ("Authentication-Results", "mx.test; dmarc=pass header.from=bank.test"),
        ("authentication-results", "attacker.test; dkim=pass"),
        ("Subject", "hi"),
    ]
    kept, trusted = results.screen(headers, ("relay.corp.test", "mx.test"), own_id="mx.test")
    assert kept == [headers[0], headers[1], headers[4]]
    assert trusted == ("relay.corp.test; dmarc=pass header.from=bank.test",)
    kept, trusted = results.screen(headers, ())
    assert kept == [headers[0], headers[4]] and trusted == ()
