"""Data-subject requests: which law, which article, and when the answer is due.

The words that name a request live in the lexicons (``lexicon/<lang>.toml``, read by
``person.py``); this module holds what does not depend on the language: the articles of
each law and the rights they grant, citations such as "Art. 17 DSGVO", "članak 15",
"15. cikk", "第15条" or "§ 1798.105", and the legal clock.

Deadlines (configurable per route through ``Hints.deadlines_days``):

* GDPR and UK GDPR, Art. 12(3): "without undue delay and in any event within one month of
  receipt of the request". A month is a calendar month (Regulation (EEC, Euratom)
  No 1182/71, Art. 3(2)(c)): 15 March is due 15 April; 31 January is due 28/29 February.
* CCPA/CPRA, Cal. Civ. Code § 1798.130(a)(2)(A): 45 calendar days.
* LGPD, Art. 19 II: 15 days for the full declaration.
* KVKK (Turkey, Law No. 6698), Art. 13(2): 30 days.
* The German churches' own laws (GDPR Art. 91): KDG § 14(3) one month, DSG-EKD § 16(3)
  three months.

A request whose law cannot be told gets the GDPR clock (inbound's users answer to it
first) but no ``law``. Pure functions only: no clock, no I/O.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

from parsers.model import RequestType

GDPR = "GDPR"
UK_GDPR = "UK GDPR"
CCPA = "CCPA"
CPRA = "CPRA"
LGPD = "LGPD"
KVKK = "KVKK"
KDG = "KDG"  # Catholic Church in Germany: Gesetz über den Kirchlichen Datenschutz
DSG_EKD = "DSG-EKD"  # Protestant Church in Germany: EKD-Datenschutzgesetz

# Calendar months per law when the route configures no number of days.
DEFAULT_DEADLINE_MONTHS: dict[str, int] = {
    GDPR: 1,  # GDPR Art. 12(3): one month
    UK_GDPR: 1,  # UK GDPR Art. 12(3): one month
    KDG: 1,  # KDG § 14 Abs. 3 S. 1: one month (GDPR Art. 91 lets churches keep own rules)
    DSG_EKD: 3,  # DSG-EKD § 16 Abs. 3 S. 1: three months
}
# Days per law when the route configures none.
DEFAULT_DEADLINE_DAYS: dict[str, int] = {
    CCPA: 45,  # Cal. Civ. Code § 1798.130(a)(2)(A)
    CPRA: 45,  # same section, as amended by the CPRA
    LGPD: 15,  # LGPD Art. 19 II
    KVKK: 30,  # Turkey, Law No. 6698 (KVKK) Art. 13(2): 30 days
}

# The article that grants each right, per law (GDPR Arts. 7(3), 15-21; Cal. Civ. Code
# §§ 1798.105-1798.121; LGPD Art. 18 lists every right of the data subject; KVKK Art. 11).
_GDPR_ARTICLES: dict[RequestType, str] = {
    RequestType.ACCESS: "15",
    RequestType.RECTIFICATION: "16",
    RequestType.ERASURE: "17",
    RequestType.RESTRICTION: "18",
    RequestType.PORTABILITY: "20",
    RequestType.OBJECTION: "21",
    RequestType.WITHDRAW_CONSENT: "7(3)",
}
_CCPA_ARTICLES: dict[RequestType, str] = {
    RequestType.ACCESS: "1798.110",
    RequestType.ERASURE: "1798.105",
    RequestType.RECTIFICATION: "1798.106",
    RequestType.OPT_OUT_SALE: "1798.120",
    RequestType.LIMIT_SENSITIVE: "1798.121",
    RequestType.PORTABILITY: "1798.130",
}
ARTICLES: dict[str, dict[RequestType, str]] = {
    GDPR: _GDPR_ARTICLES,
    UK_GDPR: _GDPR_ARTICLES,
    CCPA: _CCPA_ARTICLES,
    CPRA: _CCPA_ARTICLES,
    # KVKK Art. 11 lists every right of the data subject (learn, access, correct, erase,
    # object to automated analysis).
    KVKK: {
        t: "11"
        for t in (
            RequestType.ACCESS,
            RequestType.RECTIFICATION,
            RequestType.ERASURE,
            RequestType.OBJECTION,
        )
    },
    LGPD: {
        t: "18"
        for t in (
            RequestType.ACCESS,
            RequestType.RECTIFICATION,
            RequestType.ERASURE,
            RequestType.PORTABILITY,
            RequestType.WITHDRAW_CONSENT,
            RequestType.OBJECTION,
        )
    },
}

# Article number -> right, for citations of the GDPR (and UK GDPR, same numbering).
_GDPR_BY_NUMBER: dict[str, RequestType] = {
    "15": RequestType.ACCESS,
    "16": RequestType.RECTIFICATION,
    "17": RequestType.ERASURE,
    "18": RequestType.RESTRICTION,
    "20": RequestType.PORTABILITY,
    "21": RequestType.OBJECTION,
}
_CCPA_BY_SECTION: dict[str, RequestType] = {
    "100": RequestType.ACCESS,
    "110": RequestType.ACCESS,
    "115": RequestType.ACCESS,
    "105": RequestType.ERASURE,
    "106": RequestType.RECTIFICATION,
    "120": RequestType.OPT_OUT_SALE,
    "121": RequestType.LIMIT_SENSITIVE,
}

# "Art. 15", "Article 17(1)", "Artikel 15 Abs. 3", "artiklile 15", "članak 15", "čl. 17",
# "členom 15", "член 15", "статья 15", "άρθρο 15", "Artykuł 15", "Airteagal 15"...
_ARTICLE_BEFORE = (
    r"(?:\bart\w{0,8}\.?|\bairteagal\w*|\bčl\w*\.?|\bάρθρ\w*|\bчлен\w*|\bчл\.|\bстат\w*"
    r"|\bcikk\w*)\s*(\d{1,2})(?:\s*\(\s*(\d)\s*\))?"
)
# Number first: "15. cikk" (hu), "15. pants" (lv), "15 straipsnis" (lt),
# "15 artikla" (fi), "15. madde" (tr), "15. gr." (is), "15. člena" (sl), "第15条" (ja, zh).
_ARTICLE_AFTER = (
    r"(\d{1,2})\.?\s*(?:\(\s*(\d)\s*\)\s*)?(?:cikk\w*|pant\w*|straipsn\w*|artikla\w*|člen\w*"
    r"|madde\w*|gr\.|条|條)"
)
_CCPA_SECTION = r"1798\.(\d{3})"
ARTICLE_RE = re.compile(rf"{_ARTICLE_BEFORE}|{_ARTICLE_AFTER}|{_CCPA_SECTION}", re.IGNORECASE)


def cited_rights(sentence: str, law: str | None) -> list[tuple[RequestType, str, int]]:
    """Rights cited by article number in ``sentence``: (type, article, offset).

    Only meaningful when a law is named (in the sentence or elsewhere in the message):
    "Art. 15" alone could be any statute. Consent withdrawal is cited as Art. 7(3).
    """
    found: list[tuple[RequestType, str, int]] = []
    for match in ARTICLE_RE.finditer(sentence):
        number = match.group(1) or match.group(3)
        paragraph = match.group(2) or match.group(4)
        section = match.group(5)
        if section is not None:
            if section in _CCPA_BY_SECTION:
                found.append((_CCPA_BY_SECTION[section], f"1798.{section}", match.start()))
            continue
        if law in (GDPR, UK_GDPR, None):
            if number == "7" and paragraph == "3":
                found.append((RequestType.WITHDRAW_CONSENT, "7(3)", match.start()))
            elif number in _GDPR_BY_NUMBER:
                found.append((_GDPR_BY_NUMBER[number], number, match.start()))
    return found


def cites_complaint(sentence: str, law: str | None) -> bool:
    """Whether ``sentence`` cites the right to lodge a complaint (GDPR Art. 77)."""
    if law not in (GDPR, UK_GDPR, None):
        return False
    return any((m.group(1) or m.group(3)) == "77" for m in ARTICLE_RE.finditer(sentence))


def article_for(request_type: RequestType, law: str | None) -> str | None:
    """The article granting ``request_type`` under ``law``, if that law has the right."""
    if law is None:
        return None
    return ARTICLES.get(law, {}).get(request_type)


def add_months(moment: datetime, months: int = 1) -> datetime:
    """The same day ``months`` later, or that month's last day (Reg. 1182/71 Art. 3(2)(c))."""
    index = moment.month - 1 + months
    year = moment.year + index // 12
    month = index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_by(
    received_at: datetime | None,
    laws: list[str | None],
    deadlines_days: tuple[tuple[str, int], ...] | None,
) -> datetime | None:
    """The earliest deadline among ``laws`` (None: the GDPR clock), from ``received_at``."""
    if received_at is None:
        return None
    configured = dict(deadlines_days or ())
    dues: list[datetime] = []
    for law in laws or [None]:
        known = (configured, DEFAULT_DEADLINE_DAYS, DEFAULT_DEADLINE_MONTHS)
        key = law if law is not None and any(law in table for table in known) else GDPR
        days = configured.get(key, DEFAULT_DEADLINE_DAYS.get(key))
        if days is not None:
            dues.append(received_at + timedelta(days=days))
        else:
            dues.append(add_months(received_at, DEFAULT_DEADLINE_MONTHS.get(key, 1)))
    return min(dues)
