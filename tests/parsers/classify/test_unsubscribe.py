"""Unsubscribes by address and bare subjects (parsers/classify/unsubscribe.py)."""

from __future__ import annotations

from dataclasses import replace

from parsers.classify import unsubscribe
from parsers.model import Address, Hints
from tests.parsers.classify.test_lexicon import message

ROUTE = Hints(unsubscribe_addresses=("unsubscribe@lists.example.com",))


def test_envelope_recipient_is_the_unsubscribe_address() -> None:
    hints = Hints(
        rcpt_to=("Unsubscribe@Lists.Example.com",),
        unsubscribe_addresses=("unsubscribe@lists.example.com",),
    )
    match = unsubscribe.by_address(message(""), hints)
    assert match is not None
    assert match.token is None
    assert match.evidence.where == "envelope:rcpt_to"
    assert match.evidence.text == "Unsubscribe@Lists.Example.com"


def test_plus_address_surfaces_the_token_as_minted() -> None:
    hints = Hints(
        rcpt_to=("someone@other.example", "unsubscribe+Ab12-XyZ@lists.example.com"),
        unsubscribe_addresses=ROUTE.unsubscribe_addresses,
    )
    match = unsubscribe.by_address(message(""), hints)
    assert match is not None
    assert match.token == "Ab12-XyZ"


def test_to_header_when_the_envelope_is_unknown() -> None:
    parsed = replace(
        message(""), to=(Address(name="", address="unsubscribe+t1@lists.example.com"),)
    )
    match = unsubscribe.by_address(parsed, ROUTE)
    assert match is not None
    assert (match.evidence.where, match.token) == ("header:To", "t1")


def test_other_addresses_are_not_unsubscribes() -> None:
    hints = Hints(rcpt_to=("unsubscribe@other.example", "reply+abc@lists.example.com"),
                  unsubscribe_addresses=ROUTE.unsubscribe_addresses)  # fmt: skip
    assert unsubscribe.by_address(message(""), hints) is None
    assert unsubscribe.by_address(message(""), Hints(rcpt_to=("a@b.c",))) is None


def test_subject_prefixes_and_punctuation() -> None:
    assert unsubscribe.strip_prefixes("Re: AW: Fwd: Abmelden!") == "Abmelden!"
    assert unsubscribe.strip_prefixes("回复：退订") == "退订"
    assert unsubscribe.bare("  ** UNSUBSCRIBE me **  ") == "unsubscribe me"
    assert unsubscribe.bare("Remove   me.") == "remove me"
