"""Laws, articles and the legal clock of data-subject requests (parsers/classify/dsr.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parsers.classify import dsr
from parsers.model import RequestType

JAN_31 = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (datetime(2026, 3, 15, tzinfo=UTC), 1, datetime(2026, 4, 15, tzinfo=UTC)),
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 10, tzinfo=UTC), 1, datetime(2027, 1, 10, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
    ],
)
def test_a_month_is_a_calendar_month(start: datetime, months: int, due: datetime) -> None:
    assert dsr.add_months(start, months) == due


@pytest.mark.parametrize(
    ("laws", "due"),
    [
        ([None], datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),  # no law told: the GDPR clock
        (["GDPR"], datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),
        (["UK GDPR"], datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),
        (["CCPA"], JAN_31 + timedelta(days=45)),
        (["CPRA"], JAN_31 + timedelta(days=45)),
        (["LGPD"], JAN_31 + timedelta(days=15)),
        (["KVKK"], JAN_31 + timedelta(days=30)),
        (["DSG-EKD"], datetime(2026, 4, 30, 10, 0, tzinfo=UTC)),
        (["CCPA", "LGPD"], JAN_31 + timedelta(days=15)),  # the earliest deadline wins
        (["Some Other Act"], datetime(2026, 2, 28, 10, 0, tzinfo=UTC)),
    ],
)
def test_default_deadlines(laws: list[str | None], due: datetime) -> None:
    assert dsr.due_by(JAN_31, laws, None) == due


def test_configured_days_override_the_law() -> None:
    assert dsr.due_by(JAN_31, ["GDPR"], (("GDPR", 14),)) == JAN_31 + timedelta(days=14)
    assert dsr.due_by(JAN_31, [None], (("GDPR", 20),)) == JAN_31 + timedelta(days=20)
    assert dsr.due_by(JAN_31, ["CCPA"], (("GDPR", 14),)) == JAN_31 + timedelta(days=45)


def test_no_clock_without_received_at() -> None:
    assert dsr.due_by(None, ["GDPR"], None) is None


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Antrag auf Löschung nach Art. 17 Abs. 1 DSGVO", [(RequestType.ERASURE, "17")]),
        ("I withdraw consent (Art. 7(3) GDPR).", [(RequestType.WITHDRAW_CONSENT, "7(3)")]),
        ("zahtijevam pristup prema članku 15. GDPR-a", [(RequestType.ACCESS, "15")]),
        ("a GDPR 15. cikke alapján", [(RequestType.ACCESS, "15")]),
        ("GDPR第15条に基づき", [(RequestType.ACCESS, "15")]),
        ("na podlagi 17. člena GDPR zahtevam izbris", [(RequestType.ERASURE, "17")]),
        ("podle článku 16 Obecného nařízení", [(RequestType.RECTIFICATION, "16")]),
        ("pursuant to Cal. Civ. Code § 1798.105", [(RequestType.ERASURE, "1798.105")]),
        ("Art. 18(1)(d) GDPR and Art. 21(1) GDPR", [
            (RequestType.RESTRICTION, "18"), (RequestType.OBJECTION, "21")]),
        ("as defined by Article 4(1) and Article 12(3) GDPR", []),
        ("Article 20 of the LGPD", []),  # LGPD numbers its articles differently
    ],
)  # fmt: skip
def test_cited_rights(sentence: str, expected: list[tuple[RequestType, str]]) -> None:
    law = "LGPD" if "LGPD" in sentence else "GDPR"
    found = [(kind, article) for kind, article, _ in dsr.cited_rights(sentence, law)]
    assert found == expected


def test_article_of_each_right() -> None:
    assert dsr.article_for(RequestType.ERASURE, "GDPR") == "17"
    assert dsr.article_for(RequestType.ACCESS, "UK GDPR") == "15"
    assert dsr.article_for(RequestType.OPT_OUT_SALE, "CCPA") == "1798.120"
    assert dsr.article_for(RequestType.ERASURE, "LGPD") == "18"
    assert dsr.article_for(RequestType.ERASURE, "KVKK") == "11"
    assert dsr.article_for(RequestType.PORTABILITY, "KVKK") is None  # KVKK has no such right
    assert dsr.article_for(RequestType.RESTRICTION, "CCPA") is None  # no such right there
    assert dsr.article_for(RequestType.ACCESS, None) is None


def test_article_77_is_the_complaint_to_the_authority() -> None:
    assert dsr.cites_complaint("Ik dien een klacht in op grond van artikel 77 AVG.", "GDPR")
    assert dsr.cites_complaint("zgodnie z art. 77 RODO", "GDPR")
    assert not dsr.cites_complaint("zgodnie z art. 17 RODO", "GDPR")
    assert not dsr.cites_complaint("Article 77 of the CCPA", "CCPA")
