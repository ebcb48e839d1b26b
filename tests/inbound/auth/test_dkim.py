"""DKIM (RFC 6376) and ARC (RFC 8617): messages signed here by dkimpy, verified by inbound."""

from __future__ import annotations

from inbound.auth import dkim
from inbound.auth.model import Result
from inbound.auth.resolver import Resolver, ResolverSettings
from tests.inbound.auth import mail
from tests.support import dns as test_dns


def _one(resolver: Resolver, raw: bytes) -> tuple[Result, str | None, str | None]:
    [sig] = dkim.verify_signatures(resolver, raw)
    return sig.result, sig.domain, sig.selector


def test_a_signed_message_passes(resolver: Resolver) -> None:
    signed = mail.sign(mail.raw(), "reject.test")
    assert _one(resolver, signed) == (Result.PASS, "reject.test", "sel")


def test_a_2048_bit_key_passes(resolver: Resolver) -> None:
    signed = mail.sign(mail.raw(), "reject.test", selector="big", key="big")
    assert _one(resolver, signed) == (Result.PASS, "reject.test", "big")


def test_altered_after_signing_fails(resolver: Resolver) -> None:
    signed = mail.sign(mail.raw(), "reject.test")
    body_changed = signed.replace(b"erase all personal data", b"erase nothing, thanks")
    subject_changed = signed.replace(b"Subject: Please delete", b"Subject: Please keep")
    assert _one(resolver, body_changed)[0] is Result.FAIL
    assert _one(resolver, subject_changed)[0] is Result.FAIL


def test_signed_with_another_key_than_published_fails(resolver: Resolver) -> None:
    signed = mail.sign(mail.raw(), "reject.test", selector="wrong", key="main")
    assert _one(resolver, signed) == (Result.FAIL, "reject.test", "wrong")


def test_no_key_in_dns_is_permerror(resolver: Resolver) -> None:
    signed = mail.sign(mail.raw(), "reject.test", selector="missing")
    assert _one(resolver, signed) == (Result.PERMERROR, "reject.test", "missing")


def test_a_malformed_signature_is_permerror(resolver: Resolver) -> None:
    raw = b"DKIM-Signature: v=1; a=rsa-sha256; d=reject.test; s=sel\r\n" + mail.raw()
    assert _one(resolver, raw) == (Result.PERMERROR, "reject.test", "sel")


def test_every_signature_gets_its_verdict_in_order(resolver: Resolver) -> None:
    raw = mail.sign(mail.sign(mail.raw(), "reject.test"), "evil.test", selector="wrong")
    results = [(s.result, s.domain) for s in dkim.verify_signatures(resolver, raw)]
    assert results == [(Result.PERMERROR, "evil.test"), (Result.PASS, "reject.test")]


def test_unsigned_mail_has_no_verdicts(resolver: Resolver) -> None:
    assert dkim.verify_signatures(resolver, mail.raw()) == ()
    assert dkim.verify_signatures(resolver, b"not a message at all") == ()


def test_dns_down_is_temperror() -> None:
    server = test_dns.DnsServer(test_dns.test_zone())
    server.stop()
    dead = Resolver(
        ResolverSettings(nameservers=(("127.0.0.1", server.port),), timeout_seconds=0.5)
    )
    signed = mail.sign(mail.raw(), "reject.test")
    assert _one(dead, signed)[0] is Result.TEMPERROR
    assert dkim.verify_arc(dead, mail.arc_forward(signed)).result is Result.TEMPERROR


# ---------------------------------------------------------------- ARC


def test_a_forward_with_a_valid_arc_chain_passes(resolver: Resolver) -> None:
    forwarded = mail.arc_forward(mail.sign(mail.raw(), "reject.test"))
    assert dkim.verify_arc(resolver, forwarded).result is Result.PASS
    # The list's footer broke the author's signature: ARC is what vouches for it now.
    [sig] = dkim.verify_signatures(resolver, forwarded)
    assert sig.result is Result.FAIL


def test_altered_after_the_seal_fails_arc(resolver: Resolver) -> None:
    forwarded = mail.arc_forward(mail.sign(mail.raw(), "reject.test"))
    tampered = forwarded.replace(b"erase all personal data", b"erase nothing")
    assert dkim.verify_arc(resolver, tampered).result is Result.FAIL


def test_no_arc_headers_is_none(resolver: Resolver) -> None:
    assert dkim.verify_arc(resolver, mail.raw()).result is Result.NONE
