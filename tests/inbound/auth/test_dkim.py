"""DKIM (RFC 6376) and ARC (RFC 8617): messages signed here by dkimpy, verified by inbound."""

from __future__ import annotations

from inbound.auth import check, dkim
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


def _shapes() -> dict[str, bytes]:
    """Messages whose header block ends in every way dkimpy and the email package know."""
    signed = mail.sign(mail.raw(), "reject.test")
    forwarded = mail.arc_forward(signed)
    return {
        "signed": signed,
        "unsigned": mail.raw(),
        "arc": forwarded,
        "arc, LF only": forwarded.replace(b"\r\n", b"\n"),
        "signed, LF only": signed.replace(b"\r\n", b"\n"),
        "no body": signed.split(b"\r\n\r\n")[0] + b"\r\n",
        "no headers": b"\r\nDKIM-Signature: v=1; d=reject.test\r\n",
        "lone CR in a header": b"Subject: a\rb\r\n" + signed,
        "signature after a bad line": b"Subject: x\r\nnot a header\r\n" + signed,
        "signature in the body": mail.raw(body=signed.decode()),
        "seal only": b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=list.test; s=arc; b=x\r\n"
        + mail.raw(),
        "empty": b"",
    }


def test_reading_only_the_header_block_changes_no_verdict(resolver: Resolver) -> None:
    """``names`` (the header block split once) skips dkimpy's parse of an unsigned
    message: every verdict must be the one dkimpy gives on the whole message."""
    for name, raw in _shapes().items():
        names = dkim.header_names(dkim.header_block(raw))
        assert dkim.verify_signatures(resolver, raw, names) == dkim.verify_signatures(
            resolver, raw
        ), name
        assert dkim.verify_arc(resolver, raw, names) == dkim.verify_arc(resolver, raw), name
        # The From domains and Authentication-Results come from the same block.
        assert check._headers(dkim.header_block(raw)) == check._headers(raw), name


def test_the_header_block_ends_at_the_first_empty_line() -> None:
    assert dkim.header_block(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\n") == b"A: 1\r\nB: 2\r\n\r\n"
    assert dkim.header_block(b"A: 1\nB: 2\n\nbody") == b"A: 1\nB: 2\n\n"
    assert dkim.header_block(b"A: 1\r\n\r\n") == b"A: 1\r\n\r\n"
    assert dkim.header_block(b"A: 1\r\nB: 2") == b"A: 1\r\nB: 2"  # no body: all of it
    assert dkim.header_block(b"\r\nA: 1\r\n") == b""
    assert dkim.header_names(b"A: 1\r\nDKIM-Signature: x\r\n\r\n") == frozenset(
        {b"a", b"dkim-signature"}
    )
    assert dkim.header_names(b"A: 1\r\nnot a header\r\n\r\n") is None
