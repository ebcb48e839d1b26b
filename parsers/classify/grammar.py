"""Requests by structure: per-language word classes combined by one set of rules.

The phrase lexicons (``phrases.py``) read the phrasings they were written for. This
module reads the *shape* of a request instead. Each lexicon has a ``[grammar]`` table of
word classes ("concepts"): ``stop`` (stop, cease, aufhören, prestať…), ``mail`` (emails,
newsletter, Newsletter, správy…), ``data``, ``delete``, ``file``, ``move`` (another
provider, transfer), ``wrong``, ``field`` (name, address, date of birth), ``nowant``,
``profil``… Every term is a *stem*: it matches any word that starts with it, so
inflection ("lösche", "löschen", "gelöscht" need "lösch" and "gelösch"), typos at a
word's end ("emailng") and compounds are read alike. A term of several words matches
consecutive words; a term ending in ``$`` matches a whole word only.

Words and terms are compared *folded*: lower case, diacritics dropped (``fold_char``), so
"moechte"/"möchte" differ but "smazte"/"smažte", "lopetage"/"lõpetage", "Θελω"/"Θέλω"
are one word. Greek, Bulgarian and Ukrainian lexicons also list the Latin spellings
people type ("diagrapsete", "iztriite", "vydalit").

The rules (``RULES``), the same for every language, say which concepts in one sentence
make which request: "stop" + "send" + "mail" is an unsubscribe, "move" + "file" + "data"
portability, "wrong" + "field" rectification, "nowant" + "use" + "profil" an objection.
Vetoes keep ordinary mail ordinary: ``internal`` (a colleague, a department, a meeting
series or calendar) cancels an unsubscribe anywhere in the text ("my colleague takes
over. Can you take me off the sales list?"), ``fee`` (a late fee, a penalty) an objection,
``invoice`` (a duplicate invoice; "račun" is an account and a bill) an erasure,
``document`` (a slide deck) a rectification, ``already`` ("I already unsubscribed") an
unsubscribe, ``restore`` ("I deleted my account by mistake, can you restore it") an
erasure; ``neg`` right before a delete verb ("don't delete") cancels the erasure.

The evidence is the sentence; offsets are the text's own (folding keeps one character
per character). Pure: reads only the tables given to it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from parsers.model import RequestType

# Characters whose folded form is not their first decomposed letter.
_SPECIAL = {
    "ß": "s",
    "ł": "l",
    "đ": "d",
    "ø": "o",
    "æ": "a",
    "œ": "o",
    "ı": "i",
    "ħ": "h",
    "ς": "σ",
    "þ": "t",
    "ð": "d",
    "\u2019": "'",
}


def fold_char(ch: str) -> str:
    """One character, lower-cased and without diacritics: always exactly one character."""
    low = ch.lower()
    if len(low) != 1:
        low = low[0]
    if low in _SPECIAL:
        return _SPECIAL[low]
    if low.isascii():
        return low
    base = unicodedata.normalize("NFD", low)[0]
    return _SPECIAL.get(base, base)


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on demand (idempotent, so concurrent fills agree)."""

    def __missing__(self, key: int) -> str:
        value = fold_char(chr(key))
        self[key] = value
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """``text`` folded character by character: same length, same offsets."""
    return text.translate(_FOLD)


_WORD = re.compile(r"\w+")
_TERM_WORD = re.compile(r"\w+\$?")  # a term's words: as the text's, "$" kept
_MAX_STEM = 16  # longer terms are cut to this: a word's first 16 letters decide


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a concept: its first stem is the table key, ``rest`` the next words."""

    language: str
    concept: str
    exact: bool  # the first word must be the whole word
    rest: tuple[tuple[str, bool], ...]  # following words: (stem, exact)


@dataclass(frozen=True, slots=True)
class Grammar:
    """Every lexicon's concepts, indexed by folded first stem."""

    terms: dict[str, tuple[Term, ...]]
    longest: int


def _stem(word: str) -> tuple[str, bool]:
    exact = word.endswith("$")
    stem = fold(word.rstrip("$"))[:_MAX_STEM]
    return stem, exact


def build(tables: Iterable[tuple[str, dict[str, list[str]]]]) -> Grammar:
    """The index of ``(language, {concept: [terms]})`` tables."""
    index: dict[str, list[Term]] = {}
    longest = 1
    for language, concepts in tables:
        for concept, terms in concepts.items():
            for term in terms:
                parts = [_stem(w) for w in _TERM_WORD.findall(term)]
                if not parts or not parts[0][0]:
                    continue
                (first, exact), rest = parts[0], tuple(parts[1:])
                index.setdefault(first, []).append(
                    Term(language=language, concept=concept, exact=exact, rest=rest)
                )
                longest = max(longest, len(first))
    return Grammar(terms={k: tuple(v) for k, v in index.items()}, longest=longest)


# A request: every concept of ``need`` in one sentence, and at least one of ``any_of``
# when given. Checked in order; one sentence may make several requests.
# ``near`` (a, b): some word of ``a`` is followed by one of ``b`` within ``_NEAR``
# characters ("what data", "welche Daten", "quels données": not "que … datos").
@dataclass(frozen=True, slots=True)
class Rule:
    kind: RequestType
    need: frozenset[str]
    any_of: frozenset[str] = frozenset()
    near: tuple[str, str] | None = None
    anchor: str = ""  # the concept whose word places the request (its verb, mostly)
    question: bool = False  # the sentence must be a question (an indirect "how do I…?")


_NEAR = 10
# Question marks: Latin, Greek (";" and U+037E), full-width.
_QUESTION = frozenset("?;\u037e\uff1f")


def _rule(
    kind: RequestType,
    need: str,
    any_of: str = "",
    near: tuple[str, str] | None = None,
    *,
    question: bool = False,
) -> Rule:
    return Rule(
        kind,
        frozenset(need.split()),
        frozenset(any_of.split()),
        near,
        need.split()[0],
        question,
    )


RULES: tuple[Rule, ...] = (
    # "unsubscribe me", "how do I unsubscribe?", "odhlaste mě"
    _rule(RequestType.UNSUBSCRIBE, "unsub"),
    # "stop emailing this address", "how do I stop receiving these"
    _rule(RequestType.UNSUBSCRIBE, "stop mail", "send receive"),
    # "I don't want to receive your newsletter any more"
    _rule(RequestType.UNSUBSCRIBE, "nowant mail", "send receive"),
    # "don't send me any more newsletters" (not "I no longer receive your emails")
    _rule(RequestType.UNSUBSCRIBE, "nomore mail send"),
    # "take this address off your mailing list"
    _rule(RequestType.UNSUBSCRIBE, "remove list", "me address"),
    # "delete all my data", "wipe everything you have on me"
    _rule(RequestType.ERASURE, "delete data", "mine aboutme"),
    _rule(RequestType.ERASURE, "forget me"),
    # a follow-up: "I asked you to delete the account three weeks ago"
    _rule(RequestType.ERASURE, "delete data asked"),
    # "export my data to a file so I can move to another provider"
    _rule(RequestType.PORTABILITY, "portab"),
    _rule(RequestType.PORTABILITY, "move file", "data mine"),
    _rule(RequestType.PORTABILITY, "move data", "send file"),
    # "you have my date of birth wrong in your system": a record of theirs, not a badge
    _rule(RequestType.RECTIFICATION, "wrong field", "system stored"),
    _rule(RequestType.RECTIFICATION, "fix field system"),
    # "I don't want you to use my data for profiling / advertising"
    _rule(RequestType.OBJECTION, "nowant profil", "use data mine"),
    _rule(RequestType.OBJECTION, "object profil"),
    # "freeze my data until you have checked", "don't use my data while you check"
    _rule(RequestType.RESTRICTION, "restrict data", "mine until"),
    # "stop using my data until my complaint is resolved": a pause, not an objection
    _rule(RequestType.RESTRICTION, "until use data", "neg nowant stop nomore"),
    # "I withdraw my consent", "I take back the permission I gave you"
    _rule(RequestType.WITHDRAW_CONSENT, "withdraw consent"),
    # "is there a way to not get these mails any more?"
    _rule(RequestType.UNSUBSCRIBE, "way mail receive", "neg nomore stop"),
    _rule(RequestType.UNSUBSCRIBE, "way stop mail"),
    # "how can I get off your list?"
    _rule(RequestType.UNSUBSCRIBE, "how remove list", "me address mail"),
    # "how do I stop getting these emails?", "jak mám přestat dostávat ty maily?"
    _rule(RequestType.UNSUBSCRIBE, "how stop mail receive", question=True),
    # "comment faire pour ne plus recevoir ces e-mails ?" (a question: "as I said, I no
    # longer receive your mail" is a complaint that the mail stopped, not an opt-out)
    _rule(RequestType.UNSUBSCRIBE, "how receive mail", "neg nomore", question=True),
    # "which details of mine do you store?", "what do you know about me?"
    _rule(RequestType.ACCESS, "which data", "aboutme mine", near=("which", "data")),
    _rule(RequestType.ACCESS, "which know aboutme"),
)

# Concepts that cancel a request type in their sentence.
VETOES: dict[str, frozenset[RequestType]] = {
    "internal": frozenset({RequestType.UNSUBSCRIBE}),
    "fee": frozenset({RequestType.OBJECTION}),
    "invoice": frozenset({RequestType.ERASURE}),
    "document": frozenset({RequestType.RECTIFICATION}),
    "already": frozenset({RequestType.UNSUBSCRIBE}),  # "I already unsubscribed"
    # A newsletter's own footer ("click here to unsubscribe", "if you no longer wish to
    # receive these messages"): mail that is not a reply is read whole.
    "footer": frozenset({RequestType.UNSUBSCRIBE}),
    "restore": frozenset({RequestType.ERASURE}),  # "I deleted my account, restore it"
}
# A follow-up of an earlier request: "three weeks ago I asked you…", "nothing has happened".
REMINDER_RULES: tuple[frozenset[str], ...] = (frozenset({"ago", "asked"}), frozenset({"still"}))
CONCEPTS: frozenset[str] = frozenset(
    {c for r in RULES for c in r.need | r.any_of}
    | set(VETOES)
    | {"neg"}
    | {c for need in REMINDER_RULES for c in need}
)


@dataclass(frozen=True, slots=True)
class Found:
    """A request the rules read in one sentence."""

    kind: RequestType
    start: int  # the first concept word of the rule, in the text
    language: str


_SPEAKS = 3  # concepts of one language in a sentence that make it that sentence's language


@dataclass(frozen=True, slots=True)
class Reading:
    """What the rules read in a text.

    ``vetoed`` is per (sentence, language); ``strength`` counts the concepts each
    language found in each sentence. ``reminders`` are the sentences that follow up an
    earlier request.
    """

    found: list[tuple[Found, tuple[int, int]]] = field(default_factory=list)
    vetoed: dict[tuple[tuple[int, int], str], set[RequestType]] = field(default_factory=dict)
    reminders: list[tuple[int, int]] = field(default_factory=list)
    strength: dict[tuple[tuple[int, int], str], int] = field(default_factory=dict)
    # Languages whose ``internal`` words (a colleague, a department, a meeting series)
    # occur anywhere in the text: "I've moved to finance. Can you take me off the list?"
    colleague: frozenset[str] = frozenset()
    concepts: frozenset[str] = frozenset()  # every concept seen, in any language read

    def vetoes(self, kind: RequestType, span: tuple[int, int], language: str) -> bool:
        """Whether words of ``span`` cancel ``kind`` asked in ``language``: that language's
        own veto words, or those of a language that clearly is the sentence's (``_SPEAKS``
        concepts or more, and more than ``language`` found there)."""
        own = self.strength.get((span, language), 0)
        if kind is RequestType.UNSUBSCRIBE and language in self.colleague:
            return True
        for (where, lang), kinds in self.vetoed.items():
            if where != span or kind not in kinds:
                continue
            if lang == language:
                return True
            speaks = self.strength.get((where, lang), 0)
            if speaks >= _SPEAKS and speaks > own:
                return True
        return False


def concepts_at(
    folded: str, grammar: Grammar, languages: frozenset[str]
) -> list[tuple[int, int, str, str]]:
    """(start, end, language, concept) of every term of ``languages`` in ``folded``."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(folded)]
    out: list[tuple[int, int, str, str]] = []
    terms = grammar.terms
    for i, (start, end, word) in enumerate(words):
        for size in range(1, min(len(word), grammar.longest) + 1):
            found = terms.get(word[:size])
            if found is None:
                continue
            for term in found:
                if term.language not in languages or (term.exact and size != len(word)):
                    continue
                last = end
                for j, (stem, exact) in enumerate(term.rest, start=1):
                    if i + j >= len(words):
                        break
                    nxt = words[i + j][2]
                    if not nxt.startswith(stem) or (exact and nxt != stem):
                        break
                    last = words[i + j][1]
                else:
                    out.append((start, last, term.language, term.concept))
    return out


def read(
    text: str,
    spans: list[tuple[int, int]],
    grammar: Grammar,
    languages: frozenset[str],
) -> Reading:
    """Requests by rule per sentence of ``text``, the types each sentence vetoes, reminders.

    A veto is per (sentence, language): a word of one language's ``fee`` list does not
    cancel what another language's words asked for (short texts are read with every
    lexicon, and folded stems of one language are ordinary words of another).
    """
    folded = fold(text)
    hits = concepts_at(folded, grammar, languages)
    if not hits:
        return Reading()
    by_sentence: dict[tuple[tuple[int, int], str], dict[str, list[tuple[int, int]]]] = {}
    k = 0
    for start, end, lang, concept in hits:
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        if k >= len(spans):
            break
        span = spans[k]
        if start < span[0]:
            continue
        seen = by_sentence.setdefault((span, lang), {})
        seen.setdefault(concept, []).append((start, end))
    found: list[tuple[Found, tuple[int, int]]] = []
    vetoed: dict[tuple[tuple[int, int], str], set[RequestType]] = {}
    reminders: list[tuple[int, int]] = []
    strength: dict[tuple[tuple[int, int], str], int] = {}
    for (span, lang), seen in by_sentence.items():
        for concept, kinds in VETOES.items():
            if concept in seen:
                vetoed.setdefault((span, lang), set()).update(kinds)
        strength[(span, lang)] = len(seen.keys() - VETOES.keys())
        if span not in reminders and any(need <= seen.keys() for need in REMINDER_RULES):
            reminders.append(span)
        kinds_here: set[RequestType] = set()
        for rule in RULES:
            if rule.kind in kinds_here or not rule.need <= seen.keys():
                continue
            if rule.any_of and rule.any_of.isdisjoint(seen):
                continue
            if rule.near and not _near(seen, *rule.near):
                continue
            if rule.question and not _QUESTION.intersection(text[span[0] : span[1] + 1]):
                continue
            if rule.kind is RequestType.ERASURE and _negated(seen, "delete"):
                continue
            kinds_here.add(rule.kind)
            first = seen[rule.anchor][0][0]
            found.append((Found(kind=rule.kind, start=first, language=lang), span))
    found.sort(key=lambda item: item[0].start)
    colleague = frozenset(lang for (_, lang), seen in by_sentence.items() if "internal" in seen)
    return Reading(
        found=found,
        vetoed=vetoed,
        reminders=sorted(reminders),
        strength=strength,
        colleague=colleague,
        concepts=frozenset(c for seen in by_sentence.values() for c in seen),
    )


def _near(seen: dict[str, list[tuple[int, int]]], first: str, then: str) -> bool:
    return any(
        0 <= b_start - a_end <= _NEAR
        for _, a_end in seen.get(first, ())
        for b_start, _ in seen.get(then, ())
    )


def _negated(seen: dict[str, list[tuple[int, int]]], concept: str) -> bool:
    """A ``neg`` word shortly before ``concept`` ("don't delete", "nicht löschen")."""
    return any(
        0 <= target - neg <= 24
        for neg, _ in seen.get("neg", ())
        for target, _ in seen.get(concept, ())[:1]
    )
