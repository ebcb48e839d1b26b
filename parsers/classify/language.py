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

import re
from dataclasses import dataclass

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from parsers.classify._once import once

# Detection cost grows with the text; the first characters tell the language as well as
# the whole letter does, and keep classification within its 1 ms budget.
SAMPLE_CHARS = 250

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
# Scripts other than Latin, and the supported languages written in them. A letter in a
# mostly-Latin text ("Заявка за данни access ... (GDPR)") still brings their lexicons in.
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_SCRIPTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"[\u0400-\u04ff]"), ("ru", "uk", "bg")),
    (re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"), ("el",)),
    (re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]"), ("ja",)),  # kana: Japanese only
    (re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]"), ("zh", "ja")),
)
_SCRIPT_WINDOW = 1000  # characters counted to tell which scripts a text uses


@dataclass(frozen=True, slots=True, kw_only=True)
class Guess:
    """The most likely language and the runners-up worth trying lexicons for."""

    language: str | None  # ISO 639-1 code, None for text without letters
    confidence: float  # lingua's relative confidence of ``language``, 0..1
    ranked: tuple[tuple[str, float], ...]  # (code, confidence), ``language`` first
    scripts: tuple[str, ...] = ()  # languages of the non-Latin scripts the text uses

    def candidates(self, *, top: int, min_share: float) -> list[str]:
        """The first ``top`` languages, and of those only the ones above ``min_share``."""
        return [c for i, (c, v) in enumerate(self.ranked[:top]) if i == 0 or v >= min_share]


@once
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


def detect(text: str, *, keep: int = 6) -> Guess:
    """Guess the language of ``text`` (only its first ``SAMPLE_CHARS`` are read)."""
    window = text[:_SCRIPT_WINDOW]
    latin = len(_LATIN.findall(window))
    scripts: list[str] = []
    sample = window[:SAMPLE_CHARS]
    for pattern, codes in _SCRIPTS:
        letters = len(pattern.findall(window))
        if letters:
            scripts.extend(c for c in codes if c not in scripts)
            if letters > latin:  # read the main script alone: names and URLs mislead
                sample = _LATIN.sub("", window)[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return Guess(language=None, confidence=0.0, ranked=(), scripts=tuple(scripts))
    if any(ch in _MALTESE_LETTERS for ch in sample):
        return Guess(language="mt", confidence=0.9, ranked=(("mt", 0.9), ("en", 0.1)))
    values = _detector().compute_language_confidence_values(sample)[:keep]
    ranked = tuple((_SUPPORTED[v.language], v.value) for v in values)
    if not ranked:
        return Guess(language=None, confidence=0.0, ranked=(), scripts=tuple(scripts))
    return Guess(
        language=ranked[0][0],
        confidence=round(ranked[0][1], 3),
        ranked=ranked,
        scripts=tuple(scripts),
    )


SUPPORTED_CODES: frozenset[str] = frozenset(_SUPPORTED.values()) | {"mt"}
