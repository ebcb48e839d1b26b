"""SPF (RFC 7208) through pyspf and our resolver, against the test zone."""

from __future__ import annotations

import pytest

from inbound.auth import spf
from inbound.auth.model import Result
from inbound.auth.resolver import Resolver, ResolverSettings
from tests.support import dns as test_dns

GOOD, BAD = test_dns.GOOD_IP, test_dns.BAD_IP


@pytest.mark.parametrize(
    ("domain", "ip", "result"),
    [
        ("spf-pass.test", GOOD, Result.PASS),
        ("spf-pass.test", BAD, Result.FAIL),
        ("spf-fail.test", GOOD, Result.FAIL),
        ("spf-soft.test", GOOD, Result.SOFTFAIL),
        ("spf-neutral.test", GOOD, Result.NEUTRAL),
        ("spf-broken.test", GOOD, Result.PERMERROR),  # ip4:300.1.2.3
        ("spf-two.test", GOOD, Result.PERMERROR),  # two v=spf1 records (§4.5)
        ("chain.test", GOOD, Result.PASS),  # include -> include -> a:
        ("chain.test", BAD, Result.FAIL),
        ("mx.test", GOOD, Result.PASS),
        ("split.test", GOOD, Result.PASS),  # one record in two strings, joined (§3.3)
        ("many.test", GOOD, Result.PERMERROR),  # 11 includes: over the 10-lookup limit
        ("void.test", GOOD, Result.PERMERROR),  # 3 void lookups: over the limit of 2
        ("no-such-domain.test", GOOD, Result.NONE),
        ("reject.test", GOOD, Result.PASS),
    ],
)
def test_verdicts(resolver: Resolver, domain: str, ip: str, result: Result) -> None:
    verdict = spf.check(resolver, ip=ip, mail_from=f"someone@{domain}", helo="client.test")
    assert (verdict.result, verdict.domain, verdict.identity) == (result, domain, "mailfrom")


def test_lookup_limits_are_the_rfcs(resolver: Resolver) -> None:
    # The same records under the limits pass: it is the count that fails them above.
    ok = spf.check(resolver, ip=GOOD, mail_from="x@chain.test", helo=None)
    assert ok.result is Result.PASS
    many = spf.check(resolver, ip=GOOD, mail_from="x@many.test", helo=None)
    assert "lookups" in many.reason.lower()
    void = spf.check(resolver, ip=GOOD, mail_from="x@void.test", helo=None)
    assert "void" in void.reason.lower()


def test_a_bounce_checks_the_helo_name(resolver: Resolver) -> None:
    verdict = spf.check(resolver, ip=GOOD, mail_from="", helo="spf-pass.test")
    assert (verdict.result, verdict.domain, verdict.identity) == (
        Result.PASS,
        "spf-pass.test",
        "helo",
    )


def test_ipv4_mapped_ipv6_client(resolver: Resolver) -> None:
    verdict = spf.check(resolver, ip=f"::ffff:{GOOD}", mail_from="a@spf-pass.test", helo=None)
    assert verdict.result is Result.PASS


@pytest.mark.parametrize(
    ("ip", "mail_from", "helo"),
    [(None, "a@spf-pass.test", None), ("not-an-ip", "a@spf-pass.test", None), (GOOD, "", None)],
)
def test_nothing_to_check_is_none(
    resolver: Resolver, ip: str | None, mail_from: str, helo: str | None
) -> None:
    assert spf.check(resolver, ip=ip, mail_from=mail_from, helo=helo).result is Result.NONE


def test_dns_down_is_temperror() -> None:
    server = test_dns.DnsServer(test_dns.test_zone())
    server.stop()
    dead = Resolver(
        ResolverSettings(nameservers=(("127.0.0.1", server.port),), timeout_seconds=0.5)
    )
    verdict = spf.check(dead, ip=GOOD, mail_from="a@spf-pass.test", helo=None)
    assert verdict.result is Result.TEMPERROR
