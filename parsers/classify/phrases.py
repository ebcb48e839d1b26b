"""The phrase lexicons (``lexicon/<lang>.toml``): loading, compiling, and fast matching.

A lexicon is data reviewed like code: per language, ``[[entry]]`` tables with a
``type`` (a request type of DESIGN §7, or ``reminder``, ``escalation``, ``context``,
``law``, ``ask``, ``mention``), a ``pattern`` (a Python regular expression, case-insensitive, in
which a space matches any run of whitespace) and the ``examples`` that test it; plus
``unsubscribe_subjects``, the words that alone make a subject or a body an unsubscribe,
``unsubscribe_stems``, which make a short message one, ``rights``, the words for
"a right", ``macros``: named parts (``%mydata%``) that patterns share, and ``grammar``:
the language's word classes for the structural rules of ``grammar.py``.

Speed: a regular expression with many alternatives is tried at every position of the
text, which costs about 1.5 µs per character per lexicon. So each entry also carries the
literal words one of which any match must contain (read from the compiled pattern's
syntax tree), and its expression only runs when one of them occurs in the case-folded
text: most entries never run on ordinary mail.

Lexicons are read and compiled once per process through ``importlib.resources``, under
a lock (``_once.py``: parse threads that start together do not each compile them);
``parsers.classify.warm_up()`` does it before a process serves. This module may not read
anything else, and holds no state besides those memos.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from parsers.classify._once import once
from parsers.model import RequestType

REMINDER = "reminder"  # a follow-up of an earlier, unanswered request
ESCALATION = "escalation"  # a complaint to a supervisory authority (GDPR Art. 77)
CONTEXT = "context"  # data-protection words: make a follow-up a data-subject matter
MENTION = "mention"  # words about a request that make none: cancel what they overlap
LAW = "law"  # a law's name; the entry's ``law`` is its canonical name
ASK = "ask"  # a formal "I hereby request": makes an article cited beside it a request
CATEGORIES: frozenset[str] = frozenset({t.value for t in RequestType}) | {
    REMINDER,
    ESCALATION,
    CONTEXT,
    MENTION,
    LAW,
    ASK,
}

_REQUEST_TYPES = frozenset(t.value for t in RequestType)

# The regex syntax tree. re._parser is CPython's own (sre_parse warns when imported by
# that name since 3.11); any surprise there only turns the prefilter off for an entry.
_sre: Any = importlib.import_module("re._parser")
_MIN_LITERAL = 2  # shorter required literals filter nothing


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One reviewed phrase of a lexicon, with the examples that test it."""

    category: str
    pattern: str
    examples: tuple[str, ...]
    law: str | None = None  # for ``law`` entries: the canonical name (GDPR, LGPD…)
    case_sensitive: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Compiled:
    """An entry ready to match: its expression and the literals that gate it."""

    entry: Entry
    regex: re.Pattern[str] = field(repr=False)
    required: frozenset[str] | None  # case-folded; None: always run the expression


@dataclass(frozen=True, slots=True, kw_only=True)
class Lexicon:
    """A language's phrases."""

    language: str
    entries: tuple[Entry, ...]
    unsubscribe_subjects: frozenset[str]
    rights: tuple[str, ...]  # the language's words for "a right" (see ``Hit.weak``)
    unsubscribe_stems: tuple[str, ...]  # case-folded; make a short message an unsubscribe
    compiled: tuple[Compiled, ...] = field(repr=False)
    rights_regex: re.Pattern[str] | None = field(repr=False)
    literals: frozenset[str] = field(repr=False, default=frozenset())  # every gate literal
    # ``[grammar]``: word classes (concept -> stems) read by ``grammar.py``.
    grammar: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """A match of an entry in a text."""

    category: str
    start: int
    end: int
    entry: Entry
    # Phrased as a right ("right to erasure", "Recht auf Auskunft"): about a request
    # rather than one, unless the sentence asks or the message makes another request.
    weak: bool = False
    language: str = ""  # the lexicon the entry comes from


@once
def lexicon_codes() -> tuple[str, ...]:
    """The languages with a lexicon file, sorted."""
    folder = resources.files("parsers.classify").joinpath("lexicon")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


def compile_pattern(entry: Entry) -> str:
    """An entry's pattern as regex source: a space matches any run of whitespace."""
    source = entry.pattern.replace(" ", r"\s+")
    return f"(?-i:{source})" if entry.case_sensitive else source


def expand(pattern: str, macros: dict[str, str]) -> str:
    """``%name%`` in a pattern replaced by the lexicon's macro of that name, as a group.

    Macros name the parts many phrases share ("my data", "delete"), so a request is a
    verb and an object in either order rather than one fixed sentence.
    """
    for name, value in macros.items():
        pattern = pattern.replace(f"%{name}%", f"(?:{value})")
    return pattern


def fold(text: str) -> str:
    """Case-folded text for the literal gate (offsets are not kept: only ``in`` is asked).

    Dropping U+0307 makes Turkish "İPTAL" (folded "i̇ptal") contain "iptal".
    """
    return text.casefold().replace("\u0307", "")


def required_literals(source: str) -> frozenset[str] | None:
    """Literals one of which every match of ``source`` contains, or None if unknown."""
    try:
        found = _required(_sre.parse(source, re.IGNORECASE))
    except Exception:  # a private API: any surprise means "no gate"
        return None
    return frozenset(fold(s) for s in found) if found else None


def _required(items: Any) -> frozenset[str] | None:
    """The most selective set of required literals of one sequence of the syntax tree."""
    best: tuple[tuple[int, int], frozenset[str]] | None = None
    run: list[str] = []

    def consider(candidate: frozenset[str] | None) -> None:
        nonlocal best
        if not candidate:
            return
        shortest = min(len(s) for s in candidate)
        if shortest < _MIN_LITERAL:
            return
        key = (shortest, -len(candidate))
        if best is None or key > best[0]:
            best = (key, candidate)

    def flush() -> None:
        if run:
            consider(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is _sre.SUBPATTERN:
            consider(_required(av[-1]))
        elif op is _sre.BRANCH:
            alternatives = [_required(alt) for alt in av[1]]
            if all(alternatives):
                consider(frozenset().union(*(a for a in alternatives if a)))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            consider(_required(av[2]))
        # Anything else (a class, a boundary, a look-around) requires no literal.
    flush()
    return best[1] if best else None


@once
def load(code: str) -> Lexicon | None:
    """The lexicon of ``code`` (read once, from package data), None if there is none."""
    path = resources.files("parsers.classify").joinpath("lexicon", f"{code}.toml")
    if not path.is_file():
        return None
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    macros = {str(k): str(v) for k, v in data.get("macros", {}).items()}
    entries = tuple(
        Entry(
            category=str(item["type"]),
            pattern=expand(str(item["pattern"]), macros),
            examples=tuple(str(e) for e in item.get("examples", ())),
            law=item.get("law"),
            case_sensitive=bool(item.get("case_sensitive", False)),
        )
        for item in data.get("entry", ())
    )
    compiled = tuple(
        Compiled(
            entry=entry,
            regex=re.compile(compile_pattern(entry), re.IGNORECASE),
            required=required_literals(compile_pattern(entry)),
        )
        for entry in entries
    )
    subjects = frozenset(str(s).lower() for s in data.get("unsubscribe_subjects", ()))
    rights = tuple(str(r) for r in data.get("rights", ()))
    words = "|".join(re.escape(r) for r in rights)
    return Lexicon(
        language=str(data.get("language", code)),
        entries=entries,
        unsubscribe_subjects=subjects,
        rights=rights,
        unsubscribe_stems=tuple(fold(str(x)) for x in data.get("unsubscribe_stems", ())),
        compiled=compiled,
        rights_regex=re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE) if rights else None,
        literals=frozenset(lit for item in compiled for lit in item.required or ()),
        grammar=tuple(
            (str(concept), tuple(str(t) for t in terms))
            for concept, terms in data.get("grammar", {}).items()
        ),
    )


def present_literals(folded: str, lexicons: tuple[Lexicon, ...]) -> set[str]:
    """The gate literals of ``lexicons`` that ``folded`` contains (one pass for them all)."""
    return {lit for lit in _literal_union(tuple(lex.language for lex in lexicons)) if lit in folded}


@once
def _literal_union(codes: tuple[str, ...]) -> frozenset[str]:
    lexicons = [load(code) for code in codes]
    return frozenset().union(*(lex.literals for lex in lexicons if lex is not None))


def find_hits(
    text: str,
    lexicon: Lexicon,
    folded: str | None = None,
    present: set[str] | None = None,
) -> list[Hit]:
    """Every match of every entry of ``lexicon`` in ``text``.

    ``folded`` is ``fold(text)`` and ``present`` is ``present_literals(folded, …)`` for a
    set of lexicons including this one: computed once when several lexicons read a text.
    """
    folded = fold(text) if folded is None else folded
    if present is None:
        present = present_literals(folded, (lexicon,))
    hits: list[Hit] = []
    for item in lexicon.compiled:
        if item.required is not None and item.required.isdisjoint(present):
            continue
        for match in item.regex.finditer(text):
            if match.end() > match.start():
                weak = bool(
                    lexicon.rights_regex
                    and item.entry.category in _REQUEST_TYPES
                    and lexicon.rights_regex.search(match.group())
                )
                hits.append(
                    Hit(
                        category=item.entry.category,
                        start=match.start(),
                        end=match.end(),
                        entry=item.entry,
                        weak=weak,
                        language=lexicon.language,
                    )
                )
    return hits
