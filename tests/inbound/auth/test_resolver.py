"""The resolver against the suite's real DNS server: typed answers, the TTL cache, failures."""

from __future__ import annotations

import time

import pytest

from inbound.auth.resolver import LookupFailed, Resolver, ResolverSettings
from tests.support import dns as test_dns


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _resolver(port: int, clock: Clock | None = None, **kw: float) -> Resolver:
    settings = ResolverSettings(nameservers=(("127.0.0.1", port),), **kw)  # type: ignore[arg-type]  # test knobs
    return Resolver(settings, monotonic=clock or time.monotonic)


def test_typed_answers(dns_server: test_dns.DnsServer) -> None:
    r = _resolver(dns_server.port)
    assert r.txt("spf-pass.test") == [(f"v=spf1 ip4:{test_dns.GOOD_IP} -all".encode(),)]
    assert r.txt("split.test") == [
        (b"v=spf1 ip4:192.0.2.1 ", f"ip4:{test_dns.GOOD_IP} -all".encode())
    ]
    assert r.mx("mx.test") == [(10, "mail.mx.test")]
    assert r.addresses("mail.mx.test") == [test_dns.GOOD_IP]
    assert r.txt("nothing-here.test") == []  # NXDOMAIN
    assert r.txt("_domainkey.reject.test") == []  # exists, no TXT (empty non-terminal)
    assert r.addresses("spf-pass.test", "AAAA") == []


def test_a_2048_bit_key_comes_whole(dns_server: test_dns.DnsServer) -> None:
    [record] = _resolver(dns_server.port).txt("big._domainkey.reject.test")
    assert b"".join(record).decode().endswith(test_dns.keys()["big"].public_b64)


def test_answers_are_cached_for_their_ttl(dns_server: test_dns.DnsServer) -> None:
    clock = Clock()
    r = _resolver(dns_server.port, clock)
    before = dns_server.count("spf-fail.test")
    for _ in range(5):
        r.txt("spf-fail.test")
    assert dns_server.count("spf-fail.test") == before + 1
    assert (r.hits, r.misses) == (4, 1)
    clock.now += 299  # the zone's TTL is 300 s
    r.txt("spf-fail.test")
    assert dns_server.count("spf-fail.test") == before + 1
    clock.now += 2
    r.txt("spf-fail.test")
    assert dns_server.count("spf-fail.test") == before + 2


def test_negative_answers_live_the_soa_minimum(dns_server: test_dns.DnsServer) -> None:
    clock = Clock()
    r = _resolver(dns_server.port, clock)
    before = dns_server.count("gone-forever.test")
    r.txt("gone-forever.test")
    r.txt("gone-forever.test")
    assert dns_server.count("gone-forever.test") == before + 1
    clock.now += 61  # SOA minimum of the test zone: 60 s
    r.txt("gone-forever.test")
    assert dns_server.count("gone-forever.test") == before + 2


def test_the_cache_is_bounded(dns_server: test_dns.DnsServer) -> None:
    r = Resolver(ResolverSettings(nameservers=(("127.0.0.1", dns_server.port),), cache_entries=2))
    for name in ("spf-pass.test", "spf-fail.test", "spf-soft.test"):
        r.txt(name)
    before = dns_server.count("spf-pass.test")
    r.txt("spf-pass.test")  # the oldest entry went out
    assert dns_server.count("spf-pass.test") == before + 1


def test_a_dead_server_is_lookup_failed_and_not_cached() -> None:
    server = test_dns.DnsServer(test_dns.test_zone())
    r = _resolver(server.port, timeout_seconds=0.5)
    assert r.txt("spf-pass.test")
    server.stop()
    started = time.monotonic()
    with pytest.raises(LookupFailed):
        r.txt("spf-fail.test")
    assert time.monotonic() - started < 3
    with pytest.raises(LookupFailed):
        r.txt("spf-fail.test")  # the failure was not remembered as "no record"
    assert r.txt("spf-pass.test")  # what was cached before still answers


def test_names_that_cannot_exist_have_no_records(dns_server: test_dns.DnsServer) -> None:
    r = _resolver(dns_server.port)
    assert r.txt("a" * 64 + ".test") == []
    assert r.txt("a..test") == []
