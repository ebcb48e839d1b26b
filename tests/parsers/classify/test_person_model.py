"""The statistical model beside the rules (parsers/classify/model.py) and how person.py uses it.

The sentences below were written for these tests: none is in the model's training data
(fixtures/dsr/training-*.toml) or in a generalisation set.
"""

from __future__ import annotations

import json

import pytest

from parsers.classify import model, person
from parsers.model import Kind, RequestType
from tests.parsers.classify.test_lexicon import classify


def _silent(text: str, m: model.Model | None = None) -> model.Verdict:
    """A model without an opinion (nothing over its threshold, no veto): the rules alone."""
    return model.Verdict(
        probability=dict.fromkeys(model.LABELS, 0.5),
        where=dict.fromkeys(model.LABELS, 0),
        threshold=dict.fromkeys(model.LABELS, 1.0),
        words=len(text.split()),
    )


def _types(text: str) -> list[RequestType] | None:
    verdict = classify(text)
    return [r.type for r in verdict.requests] if verdict else None


def test_the_model_is_read_once_per_process() -> None:
    first = model.load()
    assert model.load() is first
    assert model.load.built() == 1
    assert set(first.threshold) == set(model.LABELS)
    assert len(first.weights) > 10_000
    person.warm_up()
    assert model.load() is first


def test_a_model_file_with_other_labels_is_refused() -> None:
    text = json.dumps({"labels": ["unsubscribe"], "bias": [0], "threshold": [1], "weights": {}})
    with pytest.raises(ValueError, match="labels"):
        model.parse_model(text)


def test_greek_and_cyrillic_are_read_in_latin_letters() -> None:
    assert model.latin("διαγραψτε") == "diagrapste"
    assert model.latin("изтриите") == "iztriite"
    assert model.latin("видаліть") == "vidalit"
    assert [w for _, w in model.words("Διαγράψτε ΤΑ δεδομένα")] == ["diagrapste", "ta", "dedomena"]
    # Same features whether typed in Greek letters or in greeklish.
    assert set(model.features("Διαγράψτε τα δεδομένα μου")) == set(
        model.features("diagrapste ta dedomena mou")
    )


def test_features_are_words_stems_ngrams_and_pairs() -> None:
    feats = model.features("Löschen Sie")
    assert {"w:loschen", "p:losch", "c: lo", "c:losc", "b:losc sie"} <= set(feats)
    assert feats["w:sie"] == len("Löschen ")  # offsets are the text's own


def test_a_verdict_lists_the_labels_over_their_threshold() -> None:
    verdict = model.Verdict(
        probability={**dict.fromkeys(model.LABELS, 0.1), "erasure": 0.9, "access": 0.7},
        where=dict.fromkeys(model.LABELS, 0),
        threshold=dict.fromkeys(model.LABELS, 0.6),
        words=5,
    )
    assert verdict.above() == ["erasure", "access"]
    assert verdict.above(margin=0.15) == ["erasure"]


# Requests no rule reads, in the languages of issue 11: the model finds them.
MODEL_CATCHES = [
    ("es", "ya no me manden nada porfavor", RequestType.UNSUBSCRIBE),
    ("sv", "Vad gör jag för att slippa era utskick?", RequestType.UNSUBSCRIBE),
    ("uk", "shcho zrobyty, shchob ne otrymuvaty tsi lysty?", RequestType.UNSUBSCRIBE),
    ("hu", "Mit tegyek, hogy ne jöjjenek többé ezek a levelek?", RequestType.UNSUBSCRIBE),
    ("pl", "nie przysyłajcie mi już nic więcej", RequestType.UNSUBSCRIBE),
    ("no", "ikke send meg mer, takk", RequestType.UNSUBSCRIBE),
    ("el", "mi mou steilete tipota allo parakalo", RequestType.UNSUBSCRIBE),
    (
        "de",
        "Hören Sie auf, aus meinen Einkäufen ein Profil für Werbung zu bauen.",
        RequestType.OBJECTION,
    ),
    (
        "it",
        "Finché non chiarite la questione, non toccate i miei dati ma non cancellateli.",
        RequestType.RESTRICTION,
    ),
]


@pytest.mark.parametrize(("lang", "text", "kind"), MODEL_CATCHES, ids=lambda x: str(x)[:40])
def test_the_model_reads_what_no_rule_reads(
    lang: str, text: str, kind: RequestType, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _types(text)
    assert found is not None and kind in found, (lang, found)
    verdict = classify(text)
    assert verdict is not None and verdict.confidence is not None
    assert verdict.confidence <= 0.85  # the model's own confidence, below the rules'
    assert any(e.where == "stripped_text" and e.start is not None for e in verdict.evidence)
    monkeypatch.setattr(model, "read", _silent)
    rules = _types(text)
    assert rules is None or kind not in rules, "a rule reads it: not the model's case"


# Ordinary mail with request words: neither the rules nor the model make them requests.
ORDINARY = [
    "Please stop sending the reports to the old shared inbox, use the new one.",
    "Bitte schick die Rechnung nicht mehr an meine alte Adresse, sondern an die neue.",
    "Ne m'envoie plus les fichiers par mail, mets-les sur le drive.",
    "No me mandes más fotos del perro, que me llenas el móvil jaja",
    "Kun je het bestand met de cijfers naar mij doorsturen?",
    "Skicka gärna över filen med kundlistan till Erik.",
    "Mohl bys mi poslat ty fotky z výletu?",
    "Wir widersprechen der Nebenkostenabrechnung, sie ist zu hoch.",
    "Can you delete the test accounts we created for the demo?",
    "Proszę o przesłanie faktury za luty.",
    "Please correct the figures in the budget sheet before Monday.",
]


@pytest.mark.parametrize("text", ORDINARY, ids=lambda x: x[:40])
def test_ordinary_mail_with_request_words_stays_ordinary(text: str) -> None:
    assert classify(text) is None


COLLEAGUES = [
    "Hi Jana, could you take me off the distribution list for the monthly supplier report? "
    "I've changed teams.",
    "Hola Lucía, ¿me quitas de la lista de distribución del informe de proveedores? "
    "Ya no llevo ese tema.",
    "Ciao Marta, mi togli dalla lista di distribuzione del report fornitori? "
    "Non seguo più quel progetto.",
]


@pytest.mark.parametrize("text", COLLEAGUES, ids=lambda x: x[:30])
def test_a_colleague_greeted_by_name_is_not_unsubscribing(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _types(text) is None
    assert _types("Can you take me off your mailing list? I never signed up.") == [
        RequestType.UNSUBSCRIBE
    ]
    monkeypatch.setattr(model, "read", _silent)
    assert _types(text) == [RequestType.UNSUBSCRIBE], "the rules read it; the model vetoes"


def test_the_model_adds_nothing_to_a_one_word_unsubscribe() -> None:
    verdict = classify("διαγραφή")
    assert verdict is not None and verdict.kind is Kind.UNSUBSCRIBE
    assert [r.type for r in verdict.requests] == [RequestType.UNSUBSCRIBE]


def test_a_vetoed_type_is_not_added_by_the_model() -> None:
    # A duplicate invoice: the rules veto the erasure, and so the model may not add it.
    assert (
        classify("The invoice shows up twice in my account, please delete the second one.") is None
    )


def test_a_text_that_talks_about_requests_gets_nothing_from_the_model() -> None:
    assert classify("I already unsubscribed last month, so that's fine, thanks.") is None
