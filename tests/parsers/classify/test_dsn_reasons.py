"""The reason vocabulary, the text rules and hard/soft (bounce_reasons)."""

from __future__ import annotations

import pytest

from parsers.classify._status import REASON_STATUS_DETAIL, STATUS_REASON, parse_status
from parsers.classify.bounce_phrases import FALLBACK_RULES, TEXT_RULES
from parsers.classify.bounce_reasons import HARD_REASONS, REASONS, decide_reason, hard_or_soft


def test_every_reason_used_anywhere_is_documented() -> None:
    used = {reason for reason, _ in TEXT_RULES + FALLBACK_RULES}
    used |= set(STATUS_REASON.values()) | set(REASON_STATUS_DETAIL) | set(HARD_REASONS)
    assert used <= set(REASONS), used - set(REASONS)


@pytest.mark.parametrize(
    ("diagnostic", "status", "reason"),
    [
        ("550 5.1.1 <a@b.example>... User Unknown", "5.1.1", "userunknown"),
        ("552 5.2.2 Mailbox full", "5.2.2", "mailboxfull"),
        ("550 Requested action not taken: mailbox unavailable (over quota)", None, "mailboxfull"),
        ("Host or domain name not found. Name service error", None, "hostunknown"),
        ("554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org", "5.7.1", "blocked"),
        ("550 5.7.1 Message rejected as spam by Content Filtering", "5.7.1", "spamdetected"),
        ("550 5.7.26 Unauthenticated email ... DMARC policy", "5.7.26", "authfailure"),
        ("550 5.7.25 Reverse DNS validation failed", "5.7.25", "requireptr"),
        ("554 5.4.7 Message expired: unable to deliver in 840 minutes", "5.4.7", "expired"),
        ("550 5.2.1 The email account that you tried to reach is disabled", "5.2.1", "suspend"),
        ("552 5.3.4 Message size exceeds fixed maximum message size", "5.3.4", "toobig"),
        ("554 5.4.6 Hop count exceeded - possible mail loop", "5.4.6", "networkerror"),
        ("Почтовый ящик переполнен", None, "mailboxfull"),
        # Exim's sender verification: about our sender, not the "Unrouteable address" line.
        (
            "550-Verification failed for <news@shop.example>\n550-Unrouteable address\n"
            "550 Sender verify failed",
            None,
            "rejected",
        ),
        # A DNSBL refusal of the client, not X.3.2 (no mail accepted at all).
        ("554 mx.example ESMTP not accepting messages from 192.0.2.7: listed", None, "blocked"),
        ("421 mx.example ESMTP not accepting messages", None, "notaccept"),
        ("local delivery failed: user zoe does not exist", None, "userunknown"),
        ("550 mailbox <zoe@x.example> does not exist", None, "userunknown"),
        ("nothing useful here", "5.1.6", "hasmoved"),  # the status code speaks alone
        ("nothing useful here", None, "undefined"),
    ],
)
def test_decide_reason(diagnostic: str, status: str | None, reason: str) -> None:
    assert decide_reason(diagnostic, parse_status(status))[0] == reason


def test_user_unknown_in_reply_to_data_is_a_filter() -> None:
    # The recipient was accepted at RCPT TO; the refusal after DATA is a content filter.
    text = "550 Unknown user a@b.example (in reply to end of DATA command)"
    assert decide_reason(text, None)[0] == "filtered"
    # ... unless the server's status code itself says "bad mailbox".
    assert decide_reason(text, parse_status("5.1.1"))[0] == "userunknown"


def test_kddi_empty_address_user_unknown_is_a_filter() -> None:
    assert decide_reason("550 : User unknown", None)[0] == "filtered"
    assert decide_reason("550 <a@au.example>: User unknown", None)[0] == "userunknown"


def test_context_is_read_only_when_diagnostic_and_status_say_nothing() -> None:
    assert decide_reason("550 rejected", None, "User unknown")[0] == "userunknown"
    assert decide_reason("550 rejected", parse_status("5.2.2"), "User unknown")[0] == "mailboxfull"


@pytest.mark.parametrize(
    ("reason", "klass", "delayed", "expected"),
    [
        ("userunknown", 5, False, "hard"),
        ("userunknown", 4, False, "hard"),  # 450 to an unknown user still means no mailbox
        ("hostunknown", 5, False, "hard"),
        ("hostunknown", 4, False, "soft"),  # a transient DNS failure
        ("notaccept", 5, False, "hard"),
        ("hasmoved", 5, False, "hard"),
        ("mailboxfull", 5, False, "soft"),
        ("filtered", 5, False, "soft"),
        ("blocked", 5, False, "soft"),
        ("suspend", 5, False, "soft"),
        ("userunknown", 4, True, "soft"),  # a delay notice never suppresses
    ],
)
def test_hard_or_soft(reason: str, klass: int, delayed: bool, expected: str) -> None:
    assert hard_or_soft(reason, klass, delayed) == expected


def test_a_reason_after_recipient_address_rejected_wins() -> None:
    assert decide_reason("550 Recipient address rejected: Spam detected", None)[0] == (
        "spamdetected"
    )
    assert decide_reason("550 <a@b.example>: Recipient address rejected.", None)[0] == (
        "userunknown"
    )


def test_optional_space_in_a_phrase_is_optional() -> None:
    assert decide_reason("Sorry, your address has been blacklisted", None)[0] == "blocked"
    assert decide_reason("user is overquota", None)[0] == "mailboxfull"


def test_user_unknown_words_under_a_policy_code_are_a_filter_unless_rcpt_answered() -> None:
    words = "550 5.7.1 550 User Unknown: a@b.example"
    assert decide_reason(words, parse_status("5.7.1"))[0] == "filtered"
    transcript = ">>> RCPT TO:<a@b.example>\n<<< 553 Invalid recipient a@b.example"
    assert decide_reason("553 Invalid recipient", parse_status("5.7.1"), transcript)[0] == (
        "userunknown"
    )
    # A generic code says nothing against the words.
    assert decide_reason("550 User unknown", parse_status("5.0.0"))[0] == "userunknown"
