"""What the verdicts do to inbound's conclusions: sender_verified, confidence, evidence."""

from __future__ import annotations

import logging
import threading

import pytest

from inbound.auth import check
from inbound.auth.check import Authenticator, Checked
from inbound.auth.model import Arc, Authentication, Dmarc, Result, Spf
from inbound.auth.resolver import Resolver
from inbound.auth.settings import AuthSettings
from parsers.model import Classification, Evidence, Kind
from tests.inbound.auth import mail
from tests.support import dns as test_dns
from tests.support.messages import text_message


def _auth(result: Result, aligned: bool) -> Authentication:
    return Authentication(
        spf=Spf(result=Result.FAIL, domain="reject.test"),
        dkim=(),
        dmarc=Dmarc(result=result, policy="reject", domain="reject.test", aligned=aligned),
        arc=Arc(result=Result.NONE),
        authentication_results="mx.test; spf=fail",
    )


REQUEST = Classification(
    kind=Kind.DATA_REQUEST,
    confidence=0.9,
    evidence=(Evidence(where="stripped_text", text="delete my data"),),
)


@pytest.mark.parametrize(
    ("result", "aligned", "verified", "confidence", "note"),
    [
        (Result.PASS, True, True, 0.9, None),
        (Result.NONE, True, True, 0.9, None),  # no DMARC record, but an aligned pass
        (Result.FAIL, False, False, 0.45, "no SPF or DKIM pass aligned with reject.test"),
        (Result.NONE, False, False, 0.45, "dmarc=none"),
        (Result.TEMPERROR, False, None, 0.72, "DNS failure"),
    ],
)
def test_sender_verified_and_what_it_does_to_a_request(
    result: Result, aligned: bool, verified: bool | None, confidence: float, note: str | None
) -> None:
    checked = Checked(authentication=_auth(result, aligned), spam=None)
    _parsed, verdict = checked.apply(text_message("x"), REQUEST)
    assert verdict.sender_verified is verified
    assert verdict.confidence == confidence
    notes = [e.text for e in verdict.evidence if e.where == "authentication"]
    if note is None:
        assert notes == []
    else:
        [text] = notes
        assert note in text and text.startswith("sender not verified")
    assert verdict.evidence[0] == REQUEST.evidence[0]  # what was found stays first
    assert checked.holds(verdict) is (verified is not True)


def test_other_kinds_keep_their_confidence() -> None:
    reply = Classification(kind=Kind.REPLY, confidence=0.8)
    _parsed, verdict = Checked(authentication=_auth(Result.FAIL, False), spam=None).apply(
        text_message("x"), reply
    )
    assert (verdict.sender_verified, verdict.confidence, verdict.evidence) == (False, 0.8, ())
    assert not Checked(authentication=None, spam=None).holds(reply)


def test_checks_off_change_nothing() -> None:
    parsed = text_message("x")
    assert Checked(authentication=None, spam=None).apply(parsed, REQUEST) == (parsed, REQUEST)


async def test_the_deadline_makes_every_verdict_temperror(
    resolver: Resolver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    auth = Authenticator(AuthSettings(), hostname="mx.test", resolver=resolver)
    release = threading.Event()

    def slow(raw: bytes, envelope: object) -> Authentication:
        release.wait(5)
        raise AssertionError("not reached in time")

    monkeypatch.setattr(check, "DEADLINE_SECONDS", 0.2)
    monkeypatch.setattr(auth, "verdicts", slow)
    try:
        with caplog.at_level(logging.WARNING, "inbound.auth"):
            checked = await auth.check(mail.raw(), mail.envelope())
    finally:
        release.set()
        await auth.close()
    assert checked.authentication is not None
    a = checked.authentication
    assert (a.spf.result, a.dmarc.result, a.arc.result) == (Result.TEMPERROR,) * 3
    assert a.dmarc.domain == "reject.test" and checked.sender_verified is None
    assert "verdicts are temperror" in caplog.text


async def test_trusted_authentication_results_pass_through(resolver: Resolver) -> None:
    relay = "Authentication-Results: relay.corp.test; dmarc=pass header.from=reject.test\r\n"
    forged = "Authentication-Results: mx.test; dmarc=pass header.from=reject.test\r\n"
    raw = mail.raw(extra=relay + forged)
    auth = Authenticator(
        AuthSettings(trusted_authserv_ids=("relay.corp.test", "mx.test")),
        hostname="mx.test",
        resolver=resolver,
    )
    try:
        checked = await auth.check(raw, mail.envelope(ip=test_dns.BAD_IP))
    finally:
        await auth.close()
    assert checked.authentication is not None
    assert checked.authentication.trusted_results == (
        "relay.corp.test; dmarc=pass header.from=reject.test",
    )
    # Believing the relay's word is the reader's choice; our own verdict stays ours.
    assert checked.sender_verified is False


async def test_switched_off(resolver: Resolver) -> None:
    auth = Authenticator(AuthSettings(enabled=False), hostname="mx.test", resolver=resolver)
    checked = await auth.check(mail.raw(), mail.envelope())
    await auth.close()
    assert checked == Checked(authentication=None, spam=None, screen_ids=())
