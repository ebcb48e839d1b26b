"""Every lexicon entry is covered: its examples match it and the detector reads them right.

The lexicons (parsers/classify/lexicon/<lang>.toml) are data reviewed like code; this
module is their test suite. An entry whose example no longer triggers it, or that the
detector reads as something else, fails here with the language and pattern as test id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from parsers.classify import language, person, phrases
from parsers.model import Classification, Hints, Kind, RequestType
from tests.support.messages import text_message

RECEIVED = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)

# The languages of issue 7: the 24 official EU languages, Norwegian, Icelandic, Turkish,
# Russian, Ukrainian, Chinese and Japanese (Brazilian Portuguese and Latin-American
# Spanish share pt.toml and es.toml).
EXPECTED_LEXICONS = {
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it",
    "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
    "no", "is", "tr", "ru", "uk", "zh", "ja",
}  # fmt: skip


message = text_message


def classify(text: str, subject: str = "") -> Classification | None:
    return person.detect(message(text, subject), Hints(), RECEIVED)


def _entries() -> list[tuple[str, int, phrases.Entry, str]]:
    out = []
    for code in phrases.lexicon_codes():
        lex = phrases.load(code)
        assert lex is not None
        for index, entry in enumerate(lex.entries):
            for example in entry.examples:
                out.append((code, index, entry, example))
    return out


ENTRIES = _entries()


def test_every_language_of_the_issue_has_a_lexicon() -> None:
    assert set(phrases.lexicon_codes()) == EXPECTED_LEXICONS


def test_every_reported_language_has_a_lexicon() -> None:
    codes = set(phrases.lexicon_codes())
    for code in language.SUPPORTED_CODES:
        assert {"nb": "no", "nn": "no"}.get(code, code) in codes


@pytest.mark.parametrize("code", sorted(EXPECTED_LEXICONS))
def test_lexicon_is_well_formed(code: str) -> None:
    lex = phrases.load(code)
    assert lex is not None
    assert lex.language == code
    assert lex.unsubscribe_subjects, "every language names its one-word unsubscribe subjects"
    assert lex.rights, "every language names its word for 'a right'"
    for entry in lex.entries:
        assert entry.category in phrases.CATEGORIES, entry
        assert entry.examples, f"{code}: entry without an example: {entry.pattern}"
        assert "(?P<" not in entry.pattern, "named groups are reserved for the matcher"
        assert (entry.category == phrases.LAW) == (entry.law is not None), entry
        re.compile(phrases.compile_pattern(entry))
    kinds = {e.category for e in lex.entries}
    assert {"unsubscribe", "access", "erasure", "mention"} <= kinds, code


@pytest.mark.parametrize(
    ("code", "index", "entry", "example"),
    ENTRIES,
    ids=[f"{c}-{i}-{e.category}-{x[:30]}" for c, i, e, x in ENTRIES],
)
def test_entry_example(code: str, index: int, entry: phrases.Entry, example: str) -> None:
    flags = 0 if entry.case_sensitive else re.IGNORECASE
    assert re.search(phrases.compile_pattern(entry), example, flags), "example misses its entry"
    verdict = classify(example)
    if entry.category == phrases.MENTION:
        assert verdict is None, verdict
        return
    assert verdict is not None, "the detector ignores this example"
    types = {r.type for r in verdict.requests}
    if entry.category == phrases.LAW:
        assert entry.law in {r.law for r in verdict.requests}
    elif entry.category in (phrases.REMINDER, phrases.CONTEXT):
        # A context entry's example is a follow-up that names no law: the data-protection
        # words are what make it a request.
        assert verdict.kind is Kind.DATA_REQUEST
        assert all(r.reminder for r in verdict.requests if r.type is not RequestType.UNSUBSCRIBE)
    elif entry.category == phrases.ASK:
        # An ask entry's example is a formal request that names its right only by article.
        assert verdict.kind is Kind.DATA_REQUEST
        assert any(r.article for r in verdict.requests)
    elif entry.category == phrases.ESCALATION:
        assert any(r.escalation for r in verdict.requests)
    else:
        assert RequestType(entry.category) in types, verdict
        expected = Kind.UNSUBSCRIBE if types == {RequestType.UNSUBSCRIBE} else Kind.DATA_REQUEST
        assert verdict.kind is expected
    assert verdict.evidence


SUBJECTS = [
    (code, subject)
    for code in sorted(EXPECTED_LEXICONS)
    for subject in sorted((phrases.load(code) or pytest.fail(code)).unsubscribe_subjects)
]


@pytest.mark.parametrize(("code", "subject"), SUBJECTS, ids=[f"{c}-{s}" for c, s in SUBJECTS])
def test_unsubscribe_subject(code: str, subject: str) -> None:
    by_subject = classify("", subject=subject.upper() if code == "en" else subject)
    assert by_subject is not None
    assert by_subject.kind is Kind.UNSUBSCRIBE
    assert by_subject.evidence[0].where == "header:Subject"
    by_body = classify(f"{subject}\n")
    assert by_body is not None
    assert by_body.kind is Kind.UNSUBSCRIBE


@pytest.mark.parametrize(
    ("pattern", "required"),
    [
        (r"\bunsubscribe (me|us)\b", {"unsubscribe"}),
        (r"\b(please|kindly) (unsubscribe|opt out)\b", {"please", "kindly"}),
        (r"\b(delete|erase) my (data|account)\b", {"delete", "erase"}),
        (r"(?<![a-z0-9])gdpr(?![a-z0-9])", {"gdpr"}),
        (r"\b(a|b) (c|d)\b", None),  # nothing long enough to gate on
        (r"\b(x )?[a-z]+\b", None),
    ],
)
def test_required_literals(pattern: str, required: set[str] | None) -> None:
    entry = phrases.Entry(category="access", pattern=pattern, examples=())
    found = phrases.required_literals(phrases.compile_pattern(entry))
    assert (set(found) if found is not None else None) == required


def test_fold_keeps_turkish_capitals_findable() -> None:
    assert "iptal" in phrases.fold("ABONELİĞİMİ İPTAL EDİN")
    assert "strasse" in phrases.fold("Straße")


def test_gate_never_hides_an_example() -> None:
    for code, _index, entry, example in ENTRIES:
        lex = phrases.load(code)
        assert lex is not None
        (item,) = [c for c in lex.compiled if c.entry is entry]
        if item.required is not None:
            folded = phrases.fold(example)
            assert any(s in folded for s in item.required), (code, entry.pattern, example)


@pytest.mark.parametrize("code", sorted(EXPECTED_LEXICONS))
def test_unsubscribe_stems_are_grounded_in_reviewed_phrases(code: str) -> None:
    lex = phrases.load(code)
    assert lex is not None
    assert lex.unsubscribe_stems
    texts = [phrases.fold(s) for s in lex.unsubscribe_subjects] + [
        phrases.fold(x) for e in lex.entries if e.category == "unsubscribe" for x in e.examples
    ]
    for stem in lex.unsubscribe_stems:
        assert any(stem in t for t in texts), f"{code}: stem {stem!r} in no example or subject"


def test_macros_expand_as_groups() -> None:
    assert phrases.expand(r"\b%erase% %mine%", {"erase": "delete|erase", "mine": "my data"}) == (
        r"\b(?:delete|erase) (?:my data)"
    )


@pytest.mark.parametrize("code", sorted(EXPECTED_LEXICONS))
def test_no_macro_is_left_unexpanded(code: str) -> None:
    lex = phrases.load(code)
    assert lex is not None
    for entry in lex.entries:
        assert not re.search(r"%[a-z_]+%", entry.pattern), entry.pattern
