"""Which language a person wrote in: the one lingua-language-detector user.

The detector is restricted to the languages inbound has lexicons for (DESIGN §7: the 24
official EU languages, Norwegian, Icelandic, Turkish, Russian, Ukrainian, Chinese and
Japanese), built lazily on first use and kept for the life of the process: building it is
the expensive part, detecting is cheap. Low-accuracy mode is used because it is several
times faster on short texts and the lexicon matcher looks at the runner-up languages too.

Maltese is not among lingua's languages: its letters ħ, ġ and ċ (found in no other
supported language) name it here instead.

This module may not read files other than lingua's own models, and holds no other state
than the detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

# Detection cost grows with the text; the first characters tell the language as well as
# the whole letter does, and keep classification within its 1 ms budget.
SAMPLE_CHARS = 400

# lingua language -> the code inbound reports (ISO 639-1, as lingua names them).
_SUPPORTED: dict[Language, str] = {
    Language.BULGARIAN: "bg",
    Language.CROATIAN: "hr",
    Language.CZECH: "cs",
    Language.DANISH: "da",
    Language.DUTCH: "nl",
    Language.ENGLISH: "en",
    Language.ESTONIAN: "et",
    Language.FINNISH: "fi",
    Language.FRENCH: "fr",
    Language.GERMAN: "de",
    Language.GREEK: "el",
    Language.HUNGARIAN: "hu",
    Language.IRISH: "ga",
    Language.ITALIAN: "it",
    Language.LATVIAN: "lv",
    Language.LITHUANIAN: "lt",
    Language.POLISH: "pl",
    Language.PORTUGUESE: "pt",
    Language.ROMANIAN: "ro",
    Language.SLOVAK: "sk",
    Language.SLOVENE: "sl",
    Language.SPANISH: "es",
    Language.SWEDISH: "sv",
    Language.BOKMAL: "nb",
    Language.NYNORSK: "nn",
    Language.ICELANDIC: "is",
    Language.TURKISH: "tr",
    Language.RUSSIAN: "ru",
    Language.UKRAINIAN: "uk",
    Language.CHINESE: "zh",
    Language.JAPANESE: "ja",
}

_MALTESE_LETTERS = frozenset("ħĦġĠċĊ")


@dataclass(frozen=True, slots=True, kw_only=True)
class Guess:
    """The most likely language and the runners-up worth trying lexicons for."""

    language: str | None  # ISO 639-1 code, None for text without letters
    confidence: float  # lingua's relative confidence of ``language``, 0..1
    candidates: tuple[str, ...]  # ``language`` first, then plausible runners-up


@cache
def _detector() -> LanguageDetector:
    return (
        LanguageDetectorBuilder.from_languages(*_SUPPORTED)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def warm_up() -> None:
    """Build the detector now (benchmarks measure construction apart from detection)."""
    _detector().detect_language_of("warm up")


def detect(text: str, *, min_share: float = 0.05, max_candidates: int = 3) -> Guess:
    """Guess the language of ``text`` (only its first ``SAMPLE_CHARS`` are read)."""
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return Guess(language=None, confidence=0.0, candidates=())
    if any(ch in _MALTESE_LETTERS for ch in sample):
        return Guess(language="mt", confidence=0.9, candidates=("mt", "en", "it"))
    values = _detector().compute_language_confidence_values(sample)
    ranked = [
        (_SUPPORTED[v.language], v.value)
        for v in values[:max_candidates]
        if v.value >= min_share or v is values[0]
    ]
    if not ranked:
        return Guess(language=None, confidence=0.0, candidates=())
    return Guess(
        language=ranked[0][0],
        confidence=round(ranked[0][1], 3),
        candidates=tuple(code for code, _ in ranked),
    )


SUPPORTED_CODES: frozenset[str] = frozenset(_SUPPORTED.values()) | {"mt"}
