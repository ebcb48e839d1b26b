"""Auto-reply signals (autoreply): decisive headers and subjects, paired weak signals, MDNs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers import Kind, classify, parse
from parsers.classify import autoreply, dsn

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _msg(headers: str, body: str = "Hello.") -> bytes:
    raw = "From: a@example.org\nTo: b@shop.example\n" + headers.strip() + "\n"
    raw += "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n"
    return raw.replace("\n", "\r\n").encode("utf-8")


@pytest.mark.parametrize(
    ("headers", "body", "kind"),
    [
        ("Subject: Hi\nAuto-Submitted: auto-replied", "Thanks.", "autoresponder"),
        ("Subject: Hi\nAuto-Submitted: auto-generated", "Your ticket 7.", "auto_generated"),
        ("Subject: Hi\nX-Autoreply: yes", "Thanks.", "autoresponder"),
        ("Subject: Hi\nPrecedence: auto_reply", "Thanks.", "autoresponder"),
        ("Subject: Out of Office: Hi", "Back Monday.", "vacation"),
        ("Subject: Réponse automatique : Hi", "Merci.", "autoresponder"),
        ("Subject: Respuesta automática: Hi", "Gracias.", "autoresponder"),
        ("Subject: Automatisch antwoord: Hi", "Bedankt.", "autoresponder"),
        ("Subject: 自動返信: Hi", "ありがとう", "autoresponder"),
        ("Subject: Re: Hi\nPrecedence: junk", "Sono fuori ufficio fino a lunedì.", "vacation"),
    ],
)
def test_auto_replies(headers: str, body: str, kind: str) -> None:
    verdict = autoreply.detect(parse(_msg(headers, body), NOW))
    assert verdict is not None
    assert verdict.kind == Kind.AUTO_REPLY
    assert verdict.auto_reply is not None
    assert verdict.auto_reply.type == kind
    assert verdict.evidence


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ("Subject: Hi\nAuto-Submitted: no", "Thanks."),  # RFC 3834 §5: "no" is a person
        ("Subject: Weekly news\nPrecedence: bulk", "Our news."),  # one weak signal only
        ("Subject: Re: plans", "I am out of the office tomorrow, call me."),  # a person
        (
            "Subject: Re: plans\nPrecedence: bulk\nList-Id: <dev.lists.example>",
            "I'm away next week.",
        ),
    ],
)
def test_not_auto_replies(headers: str, body: str) -> None:
    assert autoreply.detect(parse(_msg(headers, body), NOW)) is None


def test_a_bounce_with_auto_submitted_is_still_a_bounce() -> None:
    # DESIGN §7: a bounce beats an auto-reply, and MTAs mark bounces Auto-Submitted too.
    raw = _msg(
        "From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail Returned to Sender\n"
        "Auto-Submitted: auto-replied",
        "I'm sorry to have to inform you that your message could not be delivered.\n\n"
        "<x@y.example>: host mx.y.example said: 550 5.1.1 User unknown",
    )
    verdict = classify(parse(raw, NOW))
    assert verdict.kind == Kind.BOUNCE


def test_an_autoresponder_announcing_a_dead_mailbox_is_a_soft_bounce() -> None:
    raw = _msg(
        "Subject: AutoResponse: Hi\nAuto-Submitted: auto-replied",
        "This mailbox old@corp.example is no longer in use. Please write to desk@corp.example.",
    )
    verdict = dsn.detect(parse(raw, NOW))
    assert verdict is not None
    assert verdict.bounce is not None
    assert (verdict.bounce.type, verdict.bounce.reason) == ("soft", "suspend")
    assert verdict.bounce.recipient == "old@corp.example"


def test_a_persons_vacation_subject_alone_is_not_an_auto_reply() -> None:
    assert autoreply.detect(parse(_msg("Subject: Vacation photos", "Look!"), NOW)) is None
    # ... but with the words of an absence notice it is one.
    verdict = autoreply.detect(
        parse(_msg("Subject: Away until Monday", "I am out of the office until Monday."), NOW)
    )
    assert verdict is not None
    assert verdict.auto_reply is not None
    assert verdict.auto_reply.type == "vacation"
