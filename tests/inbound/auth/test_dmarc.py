"""DMARC (RFC 7489): policy discovery, subdomain policy, relaxed and strict alignment."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from publicsuffixlist import PublicSuffixList

from inbound.auth import dmarc
from inbound.auth.model import Dkim, Result, Spf
from inbound.auth.resolver import Resolver, ResolverSettings
from tests.support import dns as test_dns

NO_SPF = Spf(result=Result.NONE, domain=None)


def _spf(domain: str, result: Result = Result.PASS) -> Spf:
    return Spf(result=result, domain=domain)


def _dkim(domain: str, result: Result = Result.PASS) -> Dkim:
    return Dkim(result=result, domain=domain, selector="sel")


@pytest.mark.parametrize(
    ("from_domain", "spf", "dkim", "result", "policy", "aligned"),
    [
        ("reject.test", _spf("reject.test"), (), Result.PASS, "reject", True),
        ("reject.test", NO_SPF, (_dkim("reject.test"),), Result.PASS, "reject", True),
        ("reject.test", _spf("evil.test"), (_dkim("evil.test"),), Result.FAIL, "reject", False),
        ("reject.test", _spf("reject.test", Result.FAIL), (), Result.FAIL, "reject", False),
        ("reject.test", NO_SPF, (_dkim("reject.test", Result.FAIL),), Result.FAIL, "reject", False),
        ("quarantine.test", _spf("evil.test"), (), Result.FAIL, "quarantine", False),
        ("none.test", _spf("evil.test"), (), Result.FAIL, "none", False),
        # No record at the From domain: the organisational domain's sp= applies.
        ("child.parent.test", _spf("evil.test"), (), Result.FAIL, "quarantine", False),
        ("child.parent.test", _spf("child.parent.test"), (), Result.PASS, "quarantine", True),
        # Relaxed (default): same organisational domain aligns, both ways.
        ("news.relaxed.test", NO_SPF, (_dkim("relaxed.test"),), Result.PASS, "reject", True),
        ("relaxed.test", _spf("bounce.relaxed.test"), (), Result.PASS, "reject", True),
        # Strict: only the identical domain aligns.
        ("mail.strict.test", NO_SPF, (_dkim("strict.test"),), Result.FAIL, "reject", False),
        ("mail.strict.test", _spf("strict.test"), (), Result.FAIL, "reject", False),
        ("strict.test", _spf("strict.test"), (), Result.PASS, "reject", True),
        # No policy anywhere: none, whether or not something aligned.
        ("nopolicy.test", _spf("evil.test"), (), Result.NONE, None, False),
        ("nopolicy.test", _spf("nopolicy.test"), (), Result.NONE, None, True),
    ],
)
def test_verdicts(
    resolver: Resolver,
    from_domain: str,
    spf: Spf,
    dkim: tuple[Dkim, ...],
    result: Result,
    policy: str | None,
    aligned: bool,
) -> None:
    v = dmarc.evaluate(resolver, from_domains=(from_domain,), spf=spf, dkim=dkim)
    assert (v.result, v.policy, v.domain, v.aligned) == (result, policy, from_domain, aligned)


def test_no_from_and_several_from_domains(resolver: Resolver) -> None:
    none = dmarc.evaluate(resolver, from_domains=(), spf=NO_SPF, dkim=())
    assert (none.result, none.domain) == (Result.NONE, None)
    two = dmarc.evaluate(
        resolver, from_domains=("reject.test", "evil.test"), spf=_spf("evil.test"), dkim=()
    )
    assert two.result is Result.PERMERROR


def test_dns_down_is_temperror_unless_an_aligned_pass_is_known() -> None:
    server = test_dns.DnsServer(test_dns.test_zone())
    server.stop()
    dead = Resolver(
        ResolverSettings(nameservers=(("127.0.0.1", server.port),), timeout_seconds=0.5)
    )
    v = dmarc.evaluate(dead, from_domains=("reject.test",), spf=_spf("evil.test"), dkim=())
    assert (v.result, v.aligned) == (Result.TEMPERROR, False)
    v = dmarc.evaluate(dead, from_domains=("reject.test",), spf=_spf("reject.test"), dkim=())
    assert (v.result, v.aligned) == (Result.TEMPERROR, True)


def test_an_spf_temperror_that_could_align_is_temperror(resolver: Resolver) -> None:
    v = dmarc.evaluate(
        resolver,
        from_domains=("reject.test",),
        spf=_spf("reject.test", Result.TEMPERROR),
        dkim=(),
    )
    assert v.result is Result.TEMPERROR
    # One that could not align anyway changes nothing.
    v = dmarc.evaluate(
        resolver, from_domains=("reject.test",), spf=_spf("evil.test", Result.TEMPERROR), dkim=()
    )
    assert v.result is Result.FAIL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v=DMARC1; p=reject", dmarc.Record(p="reject")),
        (
            "v=DMARC1;p=quarantine;sp=none;adkim=s",
            dmarc.Record(p="quarantine", sp="none", adkim="s"),
        ),
        ("v=DMARC1; p=bogus; rua=mailto:d@example.com", dmarc.Record(p="none")),
        ("v=DMARC1; p=bogus", None),
        ("v=DMARC1", None),
        ("p=reject; v=DMARC1", None),  # v= must come first (§6.4)
        ("v=spf1 -all", None),
    ],
)
def test_parse_record(text: str, expected: dmarc.Record | None) -> None:
    assert dmarc.parse_record(text) == expected


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("mail.example.com", "example.com"),
        ("example.com", "example.com"),
        ("user.github.io", "user.github.io"),  # the private section of the list
        ("news.relaxed.test", "relaxed.test"),
        ("co.uk", "co.uk"),
    ],
)
def test_organisational_domain(domain: str, org: str) -> None:
    assert dmarc.organisational_domain(domain) == org


def test_the_suffix_list_is_built_once_by_threads_that_miss_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []
    gate = threading.Barrier(8)

    class Counting(PublicSuffixList):
        def __init__(self) -> None:
            built.append(1)
            time.sleep(0.05)  # a slow build: the others arrive while it runs
            super().__init__()

    monkeypatch.setattr(dmarc, "PublicSuffixList", Counting)
    monkeypatch.setattr(dmarc, "_PSL", [])

    def first_use() -> str:
        gate.wait()
        return dmarc.organisational_domain("a.b.example.co.uk")

    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: first_use(), range(8)))
    assert found == ["example.co.uk"] * 8
    assert built == [1]
