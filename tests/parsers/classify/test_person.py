"""A person's words: what person.detect reads, what it ignores, and what it reports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from parsers import classify
from parsers.classify import person
from parsers.model import Hints, Kind, RequestType
from tests.parsers.classify.test_lexicon import RECEIVED, message
from tests.parsers.classify.test_lexicon import classify as detect


def test_only_the_new_text_counts() -> None:
    quoted = "Thanks!\n\n> To unsubscribe, reply 'unsubscribe me'. Please delete my data."
    parsed = replace(message("Thanks!"), text=quoted)
    assert person.detect(parsed, Hints(), RECEIVED) is None


@pytest.mark.parametrize(
    "text",
    [
        "I already unsubscribed, thanks",
        "Will you delete the old photos from our shared album?",
        "What does GDPR mean for our contract?",
        "I haven't received a reply about my invoice yet, and I sent you a request last week.",
        "You can unsubscribe at any time; customers may request deletion of their data.",
        "Please don't unsubscribe me, I love the newsletter.",
        "",
    ],
)
def test_mentions_are_not_requests(text: str) -> None:
    assert detect(text) is None


def test_evidence_points_into_stripped_text() -> None:
    text = (
        "Hello team,\n\nplease delete my account. Also, I object to the processing of my "
        "data for marketing.\n\nBye"
    )
    verdict = detect(text)
    assert verdict is not None
    assert [r.type for r in verdict.requests] == [RequestType.ERASURE, RequestType.OBJECTION]
    assert [e.text for e in verdict.evidence] == [
        "please delete my account.",
        "Also, I object to the processing of my data for marketing.",
    ]
    for item in verdict.evidence:
        assert item.where == "stripped_text"
        assert item.start is not None and item.end is not None
        assert text[item.start : item.end] == item.text


def test_request_and_unsubscribe_together_is_a_data_request_listing_both() -> None:
    verdict = detect("Please unsubscribe me. Also send me a copy of my personal data (GDPR).")
    assert verdict is not None
    assert verdict.kind is Kind.DATA_REQUEST
    assert [(r.type, r.law, r.article) for r in verdict.requests] == [
        (RequestType.UNSUBSCRIBE, None, None),
        (RequestType.ACCESS, "GDPR", "15"),
    ]
    assert verdict.due_by == datetime(2026, 4, 16, 9, 30, tzinfo=UTC)
    assert verdict.language == "en"
    assert verdict.confidence is not None and 0 < verdict.confidence <= 1


def test_unsubscribe_alone_has_no_clock() -> None:
    verdict = detect("Please remove me from your mailing list.")
    assert verdict is not None
    assert verdict.kind is Kind.UNSUBSCRIBE
    assert verdict.due_by is None


def test_no_received_at_no_due_by() -> None:
    verdict = person.detect(message("Please delete all my personal data."), Hints(), None)
    assert verdict is not None
    assert verdict.kind is Kind.DATA_REQUEST
    assert verdict.due_by is None


def test_law_told_by_its_local_name_and_the_article_cited() -> None:
    verdict = detect("Ich bitte hiermit um Auskunft gemäß Art. 15 DSGVO.")
    assert verdict is not None
    assert [(r.type, r.law, r.article) for r in verdict.requests] == [
        (RequestType.ACCESS, "GDPR", "15")
    ]
    assert verdict.language == "de"


def test_a_cited_article_alone_is_a_mention() -> None:
    assert detect("Article 17 GDPR is interesting, we discussed it at the meetup.") is None


def test_reminder_flags_every_request() -> None:
    verdict = detect(
        "On 2 March I sent you a request under Article 15 GDPR and I have not received any "
        "response. Please also delete my account."
    )
    assert verdict is not None
    assert {r.type for r in verdict.requests} == {RequestType.ACCESS, RequestType.ERASURE}
    assert all(r.reminder for r in verdict.requests)
    assert not any(r.escalation for r in verdict.requests)


def test_a_follow_up_naming_no_right_is_read_as_access() -> None:
    verdict = detect("This is a reminder: my GDPR request from March is still unanswered.")
    assert verdict is not None
    assert [(r.type, r.reminder) for r in verdict.requests] == [(RequestType.ACCESS, True)]


def test_complaint_to_the_authority_is_an_escalated_request() -> None:
    verdict = detect(
        "I am hereby lodging a complaint according to Article 77 GDPR. On 1 February I sent "
        "a request according to Article 17 GDPR to the controller below."
    )
    assert verdict is not None
    assert verdict.kind is Kind.DATA_REQUEST
    assert [(r.type, r.reminder, r.escalation) for r in verdict.requests] == [
        (RequestType.ERASURE, True, True)
    ]


def test_unsubscribe_address_wins_over_an_ordinary_body() -> None:
    hints = Hints(
        rcpt_to=("unsubscribe+tok@lists.example.com",),
        unsubscribe_addresses=("unsubscribe@lists.example.com",),
    )
    verdict = person.detect(message("Sent from my phone"), hints, RECEIVED)
    assert verdict is not None
    assert verdict.kind is Kind.UNSUBSCRIBE
    assert verdict.unsubscribe_token == "tok"
    assert verdict.evidence[0].where == "envelope:rcpt_to"


def test_subject_alone() -> None:
    verdict = detect("", subject="Re: ODJAVA")
    assert verdict is not None
    assert verdict.kind is Kind.UNSUBSCRIBE
    assert verdict.evidence[0].where == "header:Subject"
    assert verdict.evidence[0].text == "ODJAVA"


def test_subject_names_a_request() -> None:
    verdict = detect("See attachment.", subject="Subject access request")
    assert verdict is not None
    assert verdict.requests[0].type is RequestType.ACCESS


def test_machines_are_never_read_as_people() -> None:
    parsed = replace(
        message("Please unsubscribe me."),
        headers=(("Auto-Submitted", "auto-replied"),),
        subject="Out of office",
    )
    assert classify(parsed, Hints(), RECEIVED).kind is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Ich bitte um Auskunft gemäß Art. 15 DSGVO. Danke.", 2),
        ("zahtijevam pristup prema članku 15. GDPR-a. Hvala.", 2),
        ("e.g. this stays. One more!", 2),
        ("Hi,\nplease unsubscribe me\nThanks", 3),
        ("A hard-wrapped line that is long enough to be wrapped by a client\nand continues.", 1),
        ("请帮我退订。谢谢！", 2),
    ],
)
def test_sentence_spans(text: str, sentences: int) -> None:
    spans = person.sentence_spans(text)
    assert len(spans) == sentences, [text[s:e] for s, e in spans]
    assert all(text[s:e].strip() == text[s:e] for s, e in spans)


def test_maltese_is_told_by_its_letters() -> None:
    verdict = detect("Bonġu, jekk jogħġbok neħħuni mil-lista tal-posta. Grazzi ħafna.")
    assert verdict is not None
    assert (verdict.kind, verdict.language) == (Kind.UNSUBSCRIBE, "mt")


def test_cyrillic_inside_latin_placeholders_still_reads_bulgarian() -> None:
    verdict = detect(
        "Example Ltd (example.com), Jane Doe, General Data Protection Regulation (GDPR), "
        "Article 17, example.com, Example Ltd, Jane Doe. "
        "Пиша Ви, за да поискам да изтриете личните ми данни от всички Ваши записи."
    )
    assert verdict is not None
    assert verdict.requests[0].type is RequestType.ERASURE


@pytest.mark.parametrize(
    "text",
    [
        "The right to be forgotten is an interesting legal concept.",
        "Das Recht auf Vergessenwerden ist ein spannendes Thema.",
        "El derecho de acceso se explica en la página 4.",
    ],
)
def test_a_right_named_is_not_a_right_exercised(text: str) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I am exercising my right to be forgotten.",
        "Ich mache mein Recht auf Vergessenwerden geltend.",
        "Ejerzo mi derecho de supresión.",
    ],
)
def test_a_right_exercised_is_a_request(text: str) -> None:
    verdict = detect(text)
    assert verdict is not None
    assert [r.type for r in verdict.requests] == [RequestType.ERASURE]


def test_a_formal_complaint_citing_article_77_in_any_language() -> None:
    verdict = detect(
        "Prin prezenta, în temeiul articolului 77 din RGPD, sesizez autoritatea. "
        "Pe 1 februarie am trimis operatorului o cerere conform articolului 15 din RGPD."
    )
    assert verdict is not None
    assert [(r.type, r.escalation, r.reminder) for r in verdict.requests] == [
        (RequestType.ACCESS, True, True)
    ]


def test_the_lexicon_that_matched_corrects_a_short_guess() -> None:
    verdict = detect("Molim vas da me odjavite s popisa.")  # lingua alone says Slovene
    assert verdict is not None
    assert verdict.language == "hr"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pls unsubscribe", Kind.UNSUBSCRIBE),
        ("Abmelden, danke!", Kind.UNSUBSCRIBE),
        ("Odjava s liste hvala", Kind.UNSUBSCRIBE),
        ("Désabonnement svp", Kind.UNSUBSCRIBE),
        ("退订谢谢", Kind.UNSUBSCRIBE),
        # Asking how to stop the mail is asking to stop it (issue 11: indirect questions).
        ("How can I unsubscribe?", Kind.UNSUBSCRIBE),
        ("Wie melde ich mich ab?", Kind.UNSUBSCRIBE),
        ("I already unsubscribed", None),  # a mention of the same word
    ],
)
def test_a_short_message_around_an_unsubscribe_word(text: str, expected: Kind | None) -> None:
    verdict = detect(text)
    assert (verdict.kind if verdict else None) == expected
    if verdict is not None:
        assert verdict.confidence is not None and verdict.confidence <= 0.9
