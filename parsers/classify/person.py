"""A person's words: unsubscribes and data-subject requests in the new text of a message.

Runs only when no machine detector (complaint, bounce, auto-reply) fired, and reads only
what the sender wrote this time: ``parsed.stripped_text`` (the parser removed quotes,
attributions and signatures) and the subject. ``parsed.text`` is never read, so a quoted
newsletter footer ("unsubscribe here", "you may request deletion of your data") cannot
trigger anything.

How it reads:

1. Mail to an unsubscribe address is an unsubscribe, whatever it says (``unsubscribe.py``);
   so is a subject or a body that is nothing but "unsubscribe", "abmelden", "退订"…
2. The language of the new text is guessed (``language.py``). The lexicons
   (``lexicon/<lang>.toml``, read by ``phrases.py``) of the guess, of its runners-up, of
   the non-Latin scripts present, and English (the lingua franca of privacy mail, and
   where the acronyms GDPR, CCPA, LGPD live) are matched against the text.
3. A lexicon holds phrases per request type and: ``reminder`` (a follow-up of an
   unanswered request), ``escalation`` (a complaint to a supervisory authority, GDPR
   Art. 77, usually copied to the company), ``context`` (data-protection words), ``law``
   (a law's name), ``ask`` (a formal "I hereby…") and ``mention``: phrases that talk
   *about* a request without making one ("I already unsubscribed", "don't delete my
   account", "I reserve the right to lodge a complaint"), which cancel the hits they
   overlap. A request phrased only as a right ("the right to be forgotten") counts beside
   an ``ask`` or another request, never alone.
   Beside the phrases, each lexicon's ``[grammar]`` word classes are read by the rules of
   ``grammar.py`` (stop + send + mail, move + file + data, wrong + field + system…),
   folded without case or diacritics: phrasings no entry was written for, text typed
   without accents, Greek/Bulgarian/Ukrainian in Latin letters. A sentence with a
   ``mention`` hit makes no request by rule; veto words of the language that asked
   (a colleague's distribution list, a late fee, a duplicate invoice, a slide deck)
   cancel the request of their sentence, by phrase or by rule.
4. An article cited next to a law ("Art. 17 DSGVO", "članku 15. GDPR-a", "第15条") names a
   right too, but only in a message that already asks for something, or in a sentence
   that asks formally: a citation alone is a mention. A follow-up that names no right
   is read as access when it names a law or speaks of personal data.
5. The sentences the decision rests on become ``evidence`` with offsets in
   ``stripped_text``; requests come in the order the text makes them. The reported
   language is lingua's, unless only another candidate's lexicon recognised the request.

Returns ``None`` for anything else, and the caller decides between reply and message.
May not read ``parsed.text``, files other than its lexicons, the clock or the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from parsers.classify import dsr, grammar, language, model, phrases, unsubscribe
from parsers.classify._once import once
from parsers.classify.phrases import Lexicon
from parsers.model import (
    Classification,
    Evidence,
    Hints,
    Kind,
    ParsedMessage,
    Request,
    RequestType,
)

REMINDER = phrases.REMINDER
ESCALATION = phrases.ESCALATION
MENTION = phrases.MENTION
LAW = phrases.LAW
CONTEXT = phrases.CONTEXT
ASK = phrases.ASK
_REQUEST_KINDS = frozenset(t.value for t in RequestType)
# Reported language -> lexicon file: Bokmål and Nynorsk share one Norwegian list.
_LEXICON_OF = {"nb": "no", "nn": "no"}
_EVIDENCE_MAX = 400  # characters of one evidence sentence around its match
_EVIDENCE_ITEMS = 8
# A request is made near the top; a 20 kB pasted log is not read to its end. Every step
# of detection reads at most this prefix of ``stripped_text`` (and of the subject, at most
# ``SUBJECT_LIMIT``), and each step is linear in what it reads: no expression retries an
# unbounded run at every position (issue 16: 40,000 "!" in a row, long "====" rules).
READ_LIMIT = 8000
SUBJECT_LIMIT = 1000
# The structural rules (``grammar.py``) read the first 4,000 characters: their word
# lookups cost about 3 µs a word, and a request is made near the top.
GRAMMAR_LIMIT = 4000
_MAX_READ = READ_LIMIT
# Below this many characters language guesses are unreliable ("Molim vas, uklonite me s
# mailing liste." reads as Estonian, then Finnish): read every lexicon, which the literal
# gate keeps at about 0.2 ms. Longer texts: the first three guesses, when lingua gives
# them at least 5 %.
_SHORT_TEXT = 200
_LONG_CANDIDATES = 3
_MIN_SHARE = 0.05

# Confidence of a decision, by what it rests on (heuristic, documented in the report).
_CONF_ADDRESS = 0.99  # sent to the route's unsubscribe address
_CONF_CITED = 0.95  # a request in words and a cited article of a named law
_CONF_WORDS = 0.9  # a request in words
_CONF_SUBJECT = 0.8  # the subject alone
_CONF_SHORT = 0.75  # a short message around an unsubscribe word
_CONF_MODEL = 0.85  # at most: what only the statistical model read has its probability
# What the model may add beside a request the rules read: its own threshold plus this.
_MODEL_MARGIN = 0.15
# An unsubscribe that only the rules read is dropped when the model gives it less than
# this (calibrated on held-out data: colleagues' internal lists sit below, people asking
# to leave a mailing list far above).
_MODEL_VETO = 0.02
# "Hi Priya,", "Hallo Jens!", "Salut Julien,": a person greeted by first name.
_GREETING = re.compile(r"\s*[^\W\d_]+(?:\s+[^\W\d_]+)?\s+([^\W\d_]+)\s*[,!]")
_MODEL_WORDS = 3  # the model reads texts of at least this many words
_MODEL_WORDS_BESIDE = 6  # and adds to what the rules read only in texts this long
# A "short message": at most this many words (or CJK characters).
_SHORT_WORDS = 12
_SHORT_CJK = 30


# Sentence ends: . ! ? ; followed by space (not before a digit or a lower-case letter,
# so "Art. 15" and "e.g. this" stay whole), CJK full stops, blank lines.
# A run of marks is tried once, from its first mark (the look-behind), and never given
# back (possessive): "!!!!…" without a space after it costs one pass, not one per mark.
_BOUNDARY = re.compile(r"(?<![.!?;])[.!?;]++[\"')»”]*+\s+|[。！？]+\s*|\n[ \t]*\n\s*|\n")
_SHORT_LINE = 60  # a line this short ends where it ends; longer ones are hard-wrapped


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, in order, trimmed of whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        sep = match.group()
        nxt = text[end : end + 1]
        before = text[match.start() - 1 : match.start()]
        if sep == "\n":
            line_start = text.rfind("\n", 0, match.start()) + 1
            if match.start() - line_start >= _SHORT_LINE and not _bullet(text, end):
                continue
        elif (
            sep[0] in ".!?;"
            and "\n" not in sep
            # "Art. 15", "e.g. this", and ordinals: "članku 15. GDPR-a", "15. cikk".
            and (nxt.isdigit() or nxt.islower() or (sep[0] == "." and before.isdigit()))
        ):
            continue
        spans.append((start, match.start() + len(sep.rstrip())))
        start = end
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _bullet(text: str, pos: int) -> bool:
    return bool(re.match(r"\s*(?:[-*•]|\d{1,2}[.)])\s", text[pos : pos + 6]))


def _sentence_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for s, e in spans:
        if s <= pos < e:
            return s, e
    return pos, pos


@dataclass(slots=True)
class _Found:
    """What one reading of a text found (mutable while reading, never handed out)."""

    requests: dict[RequestType, tuple[int, int, int, bool]] = field(default_factory=dict)
    by_language: dict[RequestType, str] = field(default_factory=dict)  # whose words asked
    laws: list[tuple[int, str]] = field(default_factory=list)
    reminder: list[tuple[int, int]] = field(default_factory=list)
    escalation: list[tuple[int, int]] = field(default_factory=list)
    cited: dict[RequestType, str] = field(default_factory=dict)
    context: bool = False  # words of data protection ("personal data", "Datenschutz")
    languages: set[str] = field(default_factory=set)  # lexicons whose requests matched
    rule_languages: set[str] = field(default_factory=set)  # grammars whose rules matched
    vetoed: set[RequestType] = field(default_factory=set)  # kinds a sentence's words veto
    mentioned: bool = False  # a ``mention`` matched: the text talks about requests
    concepts: frozenset[str] = frozenset()  # the grammar's concepts seen in the text

    def add(
        self, kind: RequestType, pos: int, span: tuple[int, int], cited: bool, lang: str = ""
    ) -> None:
        old = self.requests.get(kind)
        if old is None or pos < old[0]:
            self.requests[kind] = (pos, span[0], span[1], cited)
            self.by_language[kind] = lang


@once
def _grammar() -> grammar.Grammar:
    """Every lexicon's ``[grammar]`` word classes in one index (built once per process)."""
    tables = []
    for code in phrases.lexicon_codes():
        lex = phrases.load(code)
        if lex is not None and lex.grammar:
            tables.append((lex.language, {c: list(t) for c, t in lex.grammar}))
    return grammar.build(tables)


def _read(text: str, lexicons: tuple[Lexicon, ...]) -> _Found:
    text = text[:_MAX_READ]
    folded = phrases.fold(text)
    present = phrases.present_literals(folded, lexicons)
    hits = [h for lex in lexicons for h in phrases.find_hits(text, lex, folded, present)]
    found = _Found()
    spans = sentence_spans(text)
    reading = grammar.read(
        text[:GRAMMAR_LIMIT], spans, _grammar(), frozenset(lex.language for lex in lexicons)
    )
    by_rule = reading.found
    found.vetoed = {kind for kinds in reading.vetoed.values() for kind in kinds}
    found.concepts = reading.concepts
    if not hits and not by_rule:
        return found
    found.reminder.extend(reading.reminders)
    vetoes = [(h.start, h.end) for h in hits if h.category == MENTION]
    found.mentioned = bool(vetoes)
    live = [
        h
        for h in hits
        if h.category != MENTION and not any(h.start < e and s < h.end for s, e in vetoes)
    ]
    mentioned = {_sentence_of(spans, s) for s, _ in vetoes}
    for rule_hit, span in by_rule:
        if span in mentioned:
            continue  # "I already unsubscribed", "don't delete my account"
        found.rule_languages.add(rule_hit.language)
        found.add(rule_hit.kind, rule_hit.start, span, cited=False, lang=rule_hit.language)
    if not live:
        _drop_vetoed(found, reading)
        return found
    law_by_sentence: dict[tuple[int, int], str] = {}
    asking: set[tuple[int, int]] = set()
    for hit in live:
        if hit.category == ASK:
            asking.add(_sentence_of(spans, hit.start))
    strong = any(
        (h.category in _REQUEST_KINDS and not h.weak) or h.category in (REMINDER, ESCALATION)
        for h in live
    )
    for hit in sorted(live, key=lambda h: h.start):
        span = _sentence_of(spans, hit.start)
        if hit.weak and not strong and span not in asking:
            continue  # "the right to be forgotten is an interesting concept"
        if hit.category == LAW and hit.entry.law:
            found.laws.append((hit.start, hit.entry.law))
            law_by_sentence.setdefault(span, hit.entry.law)
        elif hit.category == REMINDER:
            found.reminder.append(span)
        elif hit.category == ESCALATION:
            found.escalation.append(span)
        elif hit.category == CONTEXT:
            found.context = True
        elif hit.category in _REQUEST_KINDS:
            found.languages.add(hit.language)
            found.add(RequestType(hit.category), hit.start, span, cited=False, lang=hit.language)
    asks = bool(found.requests or found.reminder or found.escalation)
    if found.laws and (asks or asking):
        vetoed = [_sentence_of(spans, s) for s, _ in vetoes]
        for span in spans:
            if span in vetoed or not (asks or span in asking):
                continue
            law = law_by_sentence.get(span, found.laws[0][1])
            sentence = text[span[0] : span[1]]
            if span in asking and dsr.cites_complaint(sentence, law):
                found.escalation.append(span)  # "I hereby … Article 77 GDPR", any language
            for kind, article, offset in dsr.cited_rights(sentence, law):
                found.add(kind, span[0] + offset, span, cited=True)
                found.cited.setdefault(kind, article)
    _drop_vetoed(found, reading)
    return found


def _drop_vetoed(found: _Found, reading: grammar.Reading) -> None:
    """Requests read in a sentence whose words (in the language that asked) make them
    something else: a colleague's list, a late fee, a duplicate invoice (``grammar``)."""
    for kind, (_, start, end, cited) in list(found.requests.items()):
        if not cited and reading.vetoes(kind, (start, end), found.by_language.get(kind, "")):
            del found.requests[kind]


def _evidence(text: str, span: tuple[int, int], pos: int) -> Evidence:
    start, end = span
    if end - start > _EVIDENCE_MAX:
        start = max(start, pos - _EVIDENCE_MAX // 2)
        end = min(end, start + _EVIDENCE_MAX)
    return Evidence(where="stripped_text", text=text[start:end], start=start, end=end)


@once
def _unsubscribe_words() -> frozenset[str]:
    """Every language's one-word unsubscribes: a set lookup, no need to know the language."""
    words: set[str] = set()
    for code in phrases.lexicon_codes():
        lex = phrases.load(code)
        if lex is not None:
            words |= lex.unsubscribe_subjects
    return frozenset(words)


@once
def _unsubscribe_stems() -> tuple[str, ...]:
    stems: list[str] = []
    for code in phrases.lexicon_codes():
        lex = phrases.load(code)
        if lex is not None:
            stems.extend(lex.unsubscribe_stems)
    return tuple(dict.fromkeys(stems))


def warm_up() -> None:
    """Build the language detector, every lexicon and the word tables (see ``_once.py``)."""
    language.warm_up()
    for code in phrases.lexicon_codes():
        phrases.load(code)
    _unsubscribe_words()
    _unsubscribe_stems()
    phrases.present_literals("", _lexicons(None))  # the every-lexicon gate of short texts
    model.load()


def _short_unsubscribe(text: str) -> int | None:
    """Where an unsubscribe stem sits in a short message that is not a question.

    "Abmelden bitte!", "pls unsubscribe", "odjavite me hvala": a few words around an
    unsubscribe word are an unsubscribe in any language; "How do I unsubscribe?" is not.
    """
    stripped = text.strip()
    if not stripped or stripped.endswith(("?", "？")):
        return None
    words = len(stripped.split())
    cjk = sum(1 for ch in stripped if "\u3040" <= ch <= "\u9fff")
    if words > _SHORT_WORDS or cjk > _SHORT_CJK:
        return None
    folded = phrases.fold(stripped)
    lowered = stripped.lower()
    offset = len(text) - len(text.lstrip())
    for stem in _unsubscribe_stems():
        if stem in folded:
            at = lowered.find(stem) if len(lowered) == len(stripped) else -1
            return offset + max(at, 0)
    return None


def _named_greeting(text: str) -> bool:
    match = _GREETING.match(text)
    return match is not None and match.group(1)[0].isupper()


def _by_model(
    verdict: model.Verdict | None, body: _Found, order: dict[RequestType, float]
) -> tuple[dict[RequestType, tuple[int, float]], bool]:
    """Request types the statistical model reads where the rules read none (or, beside
    what they read, with a margin): never a type the text's words veto (a colleague's
    list, a late fee, a duplicate invoice, a slide deck), never in a text that talks
    about requests (a ``mention``). And whether the text reads as a follow-up of an
    earlier request (``reminder``)."""
    if body.mentioned or verdict is None or verdict.words < _MODEL_WORDS:
        return {}, False
    if order and verdict.words < _MODEL_WORDS_BESIDE:
        return {}, False  # "διαγραφή" alone: an unsubscribe, not an erasure besides
    follow_up = verdict.probability[model.REMINDER] >= verdict.threshold[model.REMINDER]
    margin = _MODEL_MARGIN if order else 0.0
    out: dict[RequestType, tuple[int, float]] = {}
    for label in verdict.above(margin):
        if label == model.REMINDER:
            continue
        kind = RequestType(label)
        if kind in order or kind in body.vetoed or not _grounded(kind, body.concepts):
            continue
        out[kind] = (verdict.where[label], verdict.probability[label])
    return out, follow_up


# What the model reads must rest on words of its kind (``grammar`` concepts of any
# language read): every group needs one of its concepts. "Nechci, aby reklama byla příliš
# drahá" has advertising words but nothing about data or its use: not an objection.
_GROUNDS: dict[RequestType, tuple[frozenset[str], ...]] = {
    RequestType.UNSUBSCRIBE: (frozenset({"unsub", "mail", "list", "address", "send", "receive"}),),
    RequestType.ACCESS: (
        frozenset({"data", "aboutme", "stored", "know"}),
        frozenset({"aboutme", "mine"}),
    ),
    RequestType.ERASURE: (frozenset({"delete", "forget"}),),
    RequestType.RECTIFICATION: (frozenset({"wrong", "fix", "field"}),),
    RequestType.RESTRICTION: (frozenset({"restrict", "until", "use"}),),
    RequestType.PORTABILITY: (frozenset({"move", "file", "portab"}),),
    RequestType.OBJECTION: (
        frozenset({"profil", "object", "nowant"}),
        frozenset({"use", "data", "mine", "aboutme", "stop"}),
    ),
    RequestType.WITHDRAW_CONSENT: (frozenset({"withdraw", "consent"}),),
}


def _grounded(kind: RequestType, concepts: frozenset[str]) -> bool:
    return all(not group.isdisjoint(concepts) for group in _GROUNDS.get(kind, ()))


def _language(guess: language.Guess, matched: set[str]) -> str | None:
    """lingua's guess, unless only another candidate's lexicon recognised the request.

    Short texts fool lingua ("Molim vas da me odjavite s popisa." reads as Slovene); the
    Croatian phrase that matched says more. English matches say nothing (read always).
    """
    guessed = _LEXICON_OF.get(guess.language or "", guess.language)
    others = matched - {"en"}
    if guessed in matched or len(others) != 1:
        return guess.language
    (only,) = others
    if only == "no":
        return "nn" if guess.language == "nn" else "nb"
    return only


def _lexicons(guess: language.Guess | None) -> tuple[Lexicon, ...]:
    """Every lexicon (``guess`` None: a short text), else the guessed ones and English."""
    if guess is None:
        picked = list(phrases.lexicon_codes())
        guess = language.Guess(language=None, confidence=0.0, ranked=())
    else:
        picked = guess.candidates(top=_LONG_CANDIDATES, min_share=_MIN_SHARE)
    codes = [_LEXICON_OF.get(c, c) for c in picked] + list(guess.scripts) + ["en"]
    out: list[Lexicon] = []
    for code in dict.fromkeys(codes):
        lex = phrases.load(code)
        if lex is not None:
            out.append(lex)
    return tuple(out)


def detect(
    parsed: ParsedMessage, hints: Hints, received_at: datetime | None
) -> Classification | None:
    """An unsubscribe or data-subject request in the sender's new words, else None."""
    address = unsubscribe.by_address(parsed, hints)
    text = (parsed.stripped_text or "")[:READ_LIMIT]
    subject = unsubscribe.strip_prefixes((parsed.subject or "")[:SUBJECT_LIMIT])
    if address is None and not text.strip() and not subject:
        return None
    sample = f"{subject}\n{text}".strip()
    short = len(text) + len(subject) < _SHORT_TEXT
    # A short text is read with every lexicon; lingua only runs when there is something
    # to report (most short replies ask for nothing).
    guess = None if short else language.detect(sample)
    lexicons = _lexicons(guess)
    body = _read(text, lexicons)
    head = _read(subject, lexicons) if subject else _Found()

    evidence: list[Evidence] = []
    order: dict[RequestType, float] = {}
    confidence = 0.0
    if address is not None:
        order[RequestType.UNSUBSCRIBE] = -3
        evidence.append(address.evidence)
        confidence = _CONF_ADDRESS
    bare_subject = unsubscribe.bare(subject)
    if bare_subject in _unsubscribe_words():
        order.setdefault(RequestType.UNSUBSCRIBE, -2)
        evidence.append(Evidence(where="header:Subject", text=subject))
        confidence = max(confidence, _CONF_SUBJECT)
    for kind in head.requests:
        order.setdefault(kind, -1)
    if head.requests:
        evidence.append(Evidence(where="header:Subject", text=subject))
        confidence = max(confidence, _CONF_SUBJECT)
    bare_body = unsubscribe.bare(text)
    short_only = False
    # The model reads only a text with words of some request (``_GROUNDS``): what it
    # could add must rest on them anyway, and most ordinary mail has none.
    grounded = any(_grounded(kind, body.concepts) for kind in _GROUNDS)
    verdict = model.read(text) if grounded and text.strip() else None
    if (
        verdict is not None
        and set(body.requests) == {RequestType.UNSUBSCRIBE}
        and verdict.probability[model.UNSUBSCRIBE] < _MODEL_VETO
        and bare_body not in _unsubscribe_words()
        and _named_greeting(text)
    ):
        # The rules read "take me off the list", the model reads a colleague greeted by
        # name asking about an internal list ("Hi Priya, could you take me off the ops
        # report list?").
        del body.requests[RequestType.UNSUBSCRIBE]
        body.vetoed.add(RequestType.UNSUBSCRIBE)
    if bare_body and bare_body in _unsubscribe_words():
        body.add(RequestType.UNSUBSCRIBE, 0, sentence_spans(text)[0], cited=False)
    elif not body.requests and not body.mentioned and RequestType.UNSUBSCRIBE not in body.vetoed:
        stem_at = _short_unsubscribe(text)
        if stem_at is not None:
            short_only = True
            body.add(
                RequestType.UNSUBSCRIBE,
                stem_at,
                _sentence_of(sentence_spans(text), stem_at),
                cited=False,
            )
    for kind, (pos, start, end, _) in sorted(body.requests.items(), key=lambda kv: kv[1][0]):
        order.setdefault(kind, pos)
        evidence.append(_evidence(text, (start, end), pos))
    if body.requests:
        any_cited = any(c for *_, c in body.requests.values())
        words = _CONF_SHORT if short_only else _CONF_WORDS
        confidence = max(confidence, _CONF_CITED if any_cited else words)

    by_model, follow_up = _by_model(verdict, body, order)
    for kind, (pos, _) in by_model.items():
        order[kind] = pos
        evidence.append(_evidence(text, _sentence_of(sentence_spans(text), pos), pos))
    if by_model and confidence == 0.0:
        confidence = round(min(_CONF_MODEL, max(p for _, p in by_model.values())), 2)

    laws = [law for _, law in head.laws + body.laws]
    reminder = bool(body.reminder or head.reminder or body.escalation or head.escalation)
    escalation = bool(body.escalation or head.escalation)
    dsr_kinds = [k for k in order if k is not RequestType.UNSUBSCRIBE]
    reminder = reminder or (follow_up and bool(dsr_kinds))
    if reminder and not dsr_kinds and (laws or escalation or body.context or head.context):
        # A follow-up that does not say which right: access is by far the most asked for;
        # the evidence shows the person what the message actually says.
        order[RequestType.ACCESS] = min(s for s, _ in body.reminder + body.escalation or [(0, 0)])
        dsr_kinds = [RequestType.ACCESS]
        confidence = max(confidence, _CONF_WORDS)
    if not order:
        return None
    guess = guess or language.detect(sample)
    if reminder and dsr_kinds:
        for span in (body.escalation + body.reminder)[:2]:
            evidence.append(_evidence(text, span, span[0]))
        confidence = max(confidence, _CONF_WORDS)

    law = laws[0] if laws else None
    law_list: list[str | None] = list(dict.fromkeys(laws)) or [None]
    cited = {**head.cited, **body.cited}
    requests = []
    for kind in sorted(order, key=lambda k: order[k]):
        if kind is RequestType.UNSUBSCRIBE:
            requests.append(Request(type=kind))
            continue
        requests.append(
            Request(
                type=kind,
                law=law,
                article=cited.get(kind)
                if law is None
                else dsr.article_for(kind, law) or cited.get(kind),
                reminder=reminder,
                escalation=escalation,
            )
        )
    unique: list[Evidence] = []
    for item in evidence:
        if item not in unique:
            unique.append(item)
    return Classification(
        kind=Kind.DATA_REQUEST if dsr_kinds else Kind.UNSUBSCRIBE,
        requests=tuple(requests),
        language=_language(
            guess,
            body.languages | head.languages or body.rule_languages | head.rule_languages,
        ),
        confidence=confidence,
        due_by=dsr.due_by(received_at, law_list, hints.deadlines_days) if dsr_kinds else None,
        unsubscribe_token=address.token if address else None,
        evidence=tuple(unique[:_EVIDENCE_ITEMS]),
    )
