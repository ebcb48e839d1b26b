"""Blind figures of the person detector: fixtures/dsr/generalisation-blind-*.toml end to end.

The blind sets are everyday mails written by people who never read the detector's lexicons
(issue 11). They are read here and nowhere else: no test, no lexicon, no model is shaped by
them, so their figures say how the detector generalises. Each case is rendered as four
messages and run through the real pipeline, ``parsers.parse(raw, received_at)`` then
``parsers.classify(parsed, hints, received_at)``:

* ``plain``: a fresh text/plain UTF-8 mail (8bit);
* ``quoted``: a top-posted reply (quoted-printable) above an attribution line and a quoted
  newsletter whose footer says unsubscribe, privacy and delete your data;
* ``html``: an HTML-only mail (one text/html part, no text part);
* ``legacy``: the language's legacy charset (ISO-8859-2, -3, -7, -9, -13, -15,
  windows-1251, windows-1252), quoted-printable or base64 in turn; UTF-8 where no legacy
  charset fits the text.

Scores, per set: unsubscribe recall (kind ``unsubscribe``), data-request recall (kind
``data_request``), request type right (every expected type listed, and ``reminder`` when
expected), false positives on the traps (kind ``unsubscribe`` or ``data_request``); overall,
per language, per expected type and per shape, then the misses (language, case, style,
expected, got, shapes) without the texts. Prints, never asserts; it measures whatever
``parsers`` it imports, so ``PYTHONPATH=/other/tree`` measures another revision.

Run from the repository root: ``.venv/bin/python bench/blind_person.py``.
"""

from __future__ import annotations

import base64
import html
import quopri
import statistics
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import parsers
from parsers import Classification, Hints, Kind, classify, parse

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "fixtures" / "dsr"
RECEIVED = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
HINTS = Hints(rcpt_to=("hello@northwind.example",))
SHAPES = ("plain", "quoted", "html", "legacy")
_PERSON = {Kind.UNSUBSCRIBE, Kind.DATA_REQUEST}

# The legacy charset a mail client of that language would have used (ISO-8859-16 would fit
# Romanian better, but -2 with cedilla letters is what old clients sent).
LEGACY: dict[str, str] = {
    **dict.fromkeys(("cs", "hr", "hu", "pl", "ro", "sk", "sl"), "iso-8859-2"),
    "el": "iso-8859-7",
    "bg": "windows-1251",
    "uk": "windows-1251",
    "tr": "iso-8859-9",
    "lt": "iso-8859-13",
    "lv": "iso-8859-13",
    "mt": "iso-8859-3",
    "en": "windows-1252",
    **dict.fromkeys(
        ("da", "de", "es", "et", "fi", "fr", "ga", "it", "nl", "no", "pt", "sv"), "iso-8859-15"
    ),
}
# Romanian s/t with comma below have no place in ISO-8859-2: legacy clients sent the cedilla.
_CEDILLA = str.maketrans("șțȘȚ", "şţŞŢ")

# Attribution lines as the common webmail clients write them in each language.
_SENDER = "Northwind News <news@northwind.example>"
ATTRIBUTION: dict[str, str] = {
    "de": f"Am Mo., 2. März 2026 um 10:15 Uhr schrieb {_SENDER}:",
    "fr": f"Le lun. 2 mars 2026 à 10:15, {_SENDER} a écrit :",
    "es": "El lun, 2 mar 2026 a las 10:15, Northwind News (<news@northwind.example>) escribió:",
    "it": f"Il giorno lun 2 mar 2026 alle ore 10:15 {_SENDER} ha scritto:",
    "pt": f"Em seg., 2 de mar. de 2026 às 10:15, {_SENDER} escreveu:",
    "nl": f"Op ma 2 mrt 2026 om 10:15 schreef {_SENDER}:",
    "sv": f"Den mån 2 mars 2026 kl 10:15 skrev {_SENDER}:",
    "da": f"Den man. 2. mar. 2026 kl. 10.15 skrev {_SENDER}:",
    "no": f"man. 2. mar. 2026 kl. 10:15 skrev {_SENDER}:",
    "fi": "ma 2.3.2026 klo 10.15 Northwind News (news@northwind.example) kirjoitti:",
    "pl": f"pon., 2 mar 2026 o 10:15 {_SENDER} napisał(a):",
    "cs": f"po 2. 3. 2026 v 10:15 odesílatel {_SENDER} napsal:",
    "hu": f"{_SENDER} ezt írta (időpont: 2026. márc. 2., H, 10:15):",
    "tr": f"2 Mar 2026 Pzt, 10:15 tarihinde {_SENDER} şunu yazdı:",
    "el": f"Στις Δευ 2 Μαρ 2026 στις 10:15, ο/η {_SENDER} έγραψε:",
    "uk": f"пн, 2 бер. 2026 р. о 10:15 {_SENDER} пише:",
}
_ATTRIBUTION_EN = f"On Mon, 2 Mar 2026 at 10:15, {_SENDER} wrote:"
NEWSLETTER = """\
Northwind News - March 2026

Spring sale: 20% off all garden furniture until 31 March.
New in store: the Fjord outdoor lamp, now in three colours.

You are receiving this email because you subscribed to Northwind News.
Unsubscribe: https://northwind.example/unsubscribe?u=8f3a1c
Privacy policy: https://northwind.example/privacy - you can ask us at any time
to delete your data, correct it or send you a copy of it.
Manage your preferences | Opt out of marketing | Stop receiving these emails"""


@dataclass(frozen=True, slots=True)
class Case:
    """One blind case: what a person wrote and what the detector should answer."""

    set_name: str
    n: int  # 1-based position in its set
    lang: str
    expect: str  # "unsubscribe" | "request" | "none"
    types: tuple[str, ...]
    reminder: bool
    style: str
    text: str

    @property
    def expected(self) -> str:
        if self.expect != "request":
            return self.expect
        return f"request[{','.join(self.types)}{',reminder' if self.reminder else ''}]"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one case in one shape, and the scores it earns."""

    case: Case
    shape: str
    got: str
    detected: bool  # the expected kind (for a trap: not a person kind)
    type_right: bool  # requests only: every expected type, and the reminder flag
    listed: frozenset[str]  # the request types of a data_request verdict
    reminder: bool  # a request of the verdict carries reminder: true


def load_sets() -> dict[str, list[Case]]:
    """Every generalisation-blind-*.toml beside this repository's fixtures, by set name."""
    out: dict[str, list[Case]] = {}
    for path in sorted(SETS.glob("generalisation-blind-*.toml")):
        name = path.stem.removeprefix("generalisation-")
        rows: list[dict[str, Any]] = tomllib.loads(path.read_text("utf-8"))["case"]
        out[name] = [
            Case(
                set_name=name,
                n=i,
                lang=row["lang"],
                expect=row["expect"],
                types=tuple(row.get("types", ())),
                reminder=bool(row.get("reminder", False)),
                style=row.get("style", ""),
                text=row["text"].strip(),
            )
            for i, row in enumerate(rows, 1)
        ]
    return out


def _headers(case: Case, shape: str, content_type: str, encoding: str) -> str:
    reply = shape == "quoted"
    lines = [
        "From: Sam Sender <sam.sender@example.net>",
        "To: Northwind <hello@northwind.example>",
        f"Subject: {'Re: Northwind News - March 2026' if reply else 'Northwind'}",
        "Date: Mon, 16 Mar 2026 09:29:00 +0000",
        f"Message-ID: <{case.set_name}.{case.n}.{shape}@example.net>",
    ]
    if reply:
        lines += [
            "In-Reply-To: <march-2026@news.northwind.example>",
            "References: <march-2026@news.northwind.example>",
        ]
    lines += [
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
        f"Content-Transfer-Encoding: {encoding}",
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _qp(data: bytes) -> bytes:
    return quopri.encodestring(data.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def render(case: Case, shape: str) -> tuple[bytes, str]:
    """The raw message of ``case`` in ``shape``, and the charset its body is in."""
    if shape == "plain":
        head = _headers(case, shape, 'text/plain; charset="utf-8"', "8bit")
        return head.encode("ascii") + _crlf(case.text + "\n").encode("utf-8"), "utf-8"
    if shape == "quoted":
        attribution = ATTRIBUTION.get(case.lang, _ATTRIBUTION_EN)
        quoted = "\n".join(f"> {line}".rstrip() for line in NEWSLETTER.splitlines())
        body = f"{case.text}\n\n{attribution}\n\n{quoted}\n"
        head = _headers(case, shape, 'text/plain; charset="utf-8"', "quoted-printable")
        return head.encode("ascii") + _qp(body.encode("utf-8")), "utf-8"
    if shape == "html":
        lines = "".join(
            f"<div>{html.escape(line) if line.strip() else '<br>'}</div>\r\n"
            for line in case.text.splitlines()
        )
        page = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            f'</head>\r\n<body><div dir="ltr">\r\n{lines}</div></body></html>\r\n'
        )
        head = _headers(case, shape, 'text/html; charset="utf-8"', "quoted-printable")
        return head.encode("ascii") + _qp(page.encode("utf-8")), "utf-8"
    charset = LEGACY.get(case.lang, "utf-8")
    text = case.text.translate(_CEDILLA) if charset == "iso-8859-2" else case.text
    try:
        data = _crlf(text + "\n").encode(charset)
    except UnicodeEncodeError:
        charset, data = "utf-8", _crlf(case.text + "\n").encode("utf-8")
    encoding = "base64" if case.n % 2 else "quoted-printable"
    encoded = _b64(data) if encoding == "base64" else _qp(data)
    head = _headers(case, shape, f'text/plain; charset="{charset}"', encoding)
    return head.encode("ascii") + encoded, charset


def _got(verdict: Classification) -> str:
    if verdict.kind is not Kind.DATA_REQUEST:
        return str(verdict.kind)
    types = ",".join(str(r.type) + ("+reminder" if r.reminder else "") for r in verdict.requests)
    return f"data_request[{types}]"


def judge(case: Case, shape: str, verdict: Classification) -> Outcome:
    """Score one verdict: the kind expected, and for requests every type (and reminder)."""
    kind = verdict.kind
    listed = (
        frozenset(str(r.type) for r in verdict.requests)
        if kind is Kind.DATA_REQUEST
        else frozenset()
    )
    reminder = any(r.reminder for r in verdict.requests)
    if case.expect == "none":
        detected = kind not in _PERSON
        type_right = detected
    elif case.expect == "unsubscribe":
        detected = type_right = kind is Kind.UNSUBSCRIBE
    else:
        detected = kind is Kind.DATA_REQUEST
        type_right = detected and set(case.types) <= listed and (not case.reminder or reminder)
    return Outcome(case, shape, _got(verdict), detected, type_right, listed, reminder)


def _pct(values: Iterable[bool]) -> str:
    rows = list(values)
    if not rows:
        return "-"
    return f"{sum(rows)}/{len(rows)} ({sum(rows) / len(rows):.1%})"


def _row(outcomes: list[Outcome]) -> list[str]:
    """unsubscribe recall, data-request recall, type right, trap false positives."""
    unsub = [o.detected for o in outcomes if o.case.expect == "unsubscribe"]
    requests = [o for o in outcomes if o.case.expect == "request"]
    traps = [not o.detected for o in outcomes if o.case.expect == "none"]
    return [
        _pct(unsub),
        _pct(o.detected for o in requests),
        _pct(o.type_right for o in requests),
        _pct(traps),
    ]


_COLUMNS = ("unsubscribe recall", "data-request recall", "request type right", "trap false pos.")


def _table(title: str, groups: dict[str, list[Outcome]]) -> None:
    print(f"\n{title}")
    print(f"{'':14}" + "".join(f"{c:22}" for c in _COLUMNS))
    for key, group in groups.items():
        print(f"{key:14}" + "".join(f"{cell:22}" for cell in _row(group)))


def _group(outcomes: list[Outcome], key: Callable[[Outcome], str]) -> dict[str, list[Outcome]]:
    out: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        out[key(o)].append(o)
    return dict(sorted(out.items()))


def report_types(outcomes: list[Outcome]) -> None:
    """Per expected type: the type listed (in a data_request); reminders; combined requests."""
    print("\nper expected type (the type listed in a data_request verdict)")
    by_type: dict[str, list[bool]] = defaultdict(list)
    reminders: list[bool] = []
    combined: list[bool] = []
    for o in outcomes:
        if o.case.expect != "request":
            continue
        for t in o.case.types:
            by_type[t].append(t in o.listed)
        if o.case.reminder:
            reminders.append(o.reminder)
        if len(o.case.types) > 1:
            combined.append(o.type_right)
    for t, values in sorted(by_type.items()):
        print(f"  {t:18} {_pct(values)}")
    print(f"  {'reminder flag':18} {_pct(reminders)}")
    print(f"  {'combined, all kept':18} {_pct(combined)}")


def report_styles(outcomes: list[Outcome]) -> None:
    """Right answers per style tag (the comma-separated words of ``style``), per kind."""
    table: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for o in outcomes:
        for tag in o.case.style.split(","):
            tag = tag.split("(")[0].strip()
            if tag:
                table[tag][o.case.expect].append(o.type_right)
    kinds = ("unsubscribe", "request", "none")
    print("\nper style tag, right (requests: type right; none: kept ordinary)")
    print(f"  {'':30}" + "".join(f"{k:20}" for k in kinds))
    for tag, row in sorted(table.items()):
        print(f"  {tag[:30]:30}" + "".join(f"{_pct(row.get(k, [])):20}" for k in kinds))


def report_misses(outcomes: list[Outcome]) -> None:
    """Each case missed in any shape: language, case, style, expected, got per shape."""
    by_case: dict[tuple[str, int], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_case[(o.case.lang, o.case.n)].append(o)
    misses = [group for group in by_case.values() if not all(o.type_right for o in group)]
    print(f"\nmisses ({len(misses)} cases wrong in at least one shape; texts not printed)")
    for group in sorted(misses, key=lambda g: (g[0].case.lang, g[0].case.n)):
        case = group[0].case
        wrong: dict[str, list[str]] = defaultdict(list)
        for o in group:
            if not o.type_right:
                wrong[o.got].append(o.shape)
        got = "; ".join(f"{g} ({'/'.join(s)})" for g, s in wrong.items())
        print(
            f"  {case.lang} #{case.n:<3} {case.style[:44]:44} expected {case.expected:34} got {got}"
        )


def run(cases: list[Case]) -> tuple[list[Outcome], list[float], dict[str, int]]:
    """Every case in every shape through parse + classify; outcomes, ms each, charsets used."""
    outcomes: list[Outcome] = []
    times: list[float] = []
    charsets: dict[str, int] = defaultdict(int)
    for case in cases:
        for shape in SHAPES:
            raw, charset = render(case, shape)
            if shape == "legacy":
                charsets[charset] += 1
            start = time.perf_counter()
            verdict = classify(parse(raw, RECEIVED), HINTS, RECEIVED)
            times.append((time.perf_counter() - start) * 1000)
            outcomes.append(judge(case, shape, verdict))
    return outcomes, times, dict(charsets)


def report(name: str, cases: list[Case]) -> None:
    """All figures of one blind set."""
    kinds = _count(cases)
    print(f"\n## {name}: {len(cases)} cases x {len(SHAPES)} shapes ({kinds})")
    recorded = recorded_figures(SETS / f"generalisation-{name}.toml")
    if recorded:
        print("recorded in the set's header (before and after each round):")
        print("\n".join(f"  {line}" for line in recorded))
    outcomes, times, charsets = run(cases)
    _table("overall (now)", {"all shapes": outcomes})
    _table("per shape", _group(outcomes, lambda o: o.shape))
    _table("per language (all shapes)", _group(outcomes, lambda o: o.case.lang))
    report_types(outcomes)
    report_styles(outcomes)
    print("\nlegacy shape charsets: " + ", ".join(f"{c} {n}" for c, n in sorted(charsets.items())))
    times.sort()
    print(
        f"parse + classify: {len(times)} messages, median {statistics.median(times):.2f} ms, "
        f"p99 {times[int(len(times) * 0.99)]:.2f} ms, max {times[-1]:.2f} ms "
        f"(first message includes the cold start)"
    )
    report_misses(outcomes)


def recorded_figures(path: Path) -> list[str]:
    """The figures a set's header records: its BEFORE / AFTER lines and their overall rows.

    Each set keeps, in its own header comment, what the detector scored on it before the
    round it was written for and after it (and any later rounds), so this bench prints
    every set's history beside today's figure.
    """
    lines = []
    for line in path.read_text("utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith(("BEFORE", "AFTER", "overall", "this half", "set 10")) or (
            text[:1].isdigit() and "|" in text
        ):
            lines.append(text)
    return lines


def _count(cases: list[Case]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        counts[case.expect] += 1
    languages = len({c.lang for c in cases})
    return f"{languages} languages; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def main() -> None:
    started = time.perf_counter()
    print(f"# blind person-detector figures — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"parsers imported from {Path(parsers.__file__).resolve().parent}")
    sets = load_sets()
    if not sets:
        print(f"no generalisation-blind-*.toml under {SETS}", file=sys.stderr)
        return
    for name, cases in sets.items():
        report(name, cases)
    print(f"\nbench took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
