"""classify(parsed, hints, received_at): what a message is, and the evidence for it.

Order is policy (DESIGN §7): a complaint beats a bounce, a bounce beats an auto-reply,
and only then are a person's words read, and only the new text of a reply
(``stripped_text``). Each detector is a small pure function returning a
``Classification`` or ``None``; the first answer wins.

``warm_up()`` builds, once per process, everything the detectors read (the language
detector, the 31 compiled lexicons, the unsubscribe word tables): call it at process
start, before serving, so no message pays for it. Import it as ``from parsers.classify
import warm_up`` (``parsers.classify`` the attribute is the ``classify`` function).
Without it the first messages build the tables (thread-safely, once); a second call
costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from parsers.classify import arf, autoreply, dsn, person
from parsers.model import Classification, Evidence, Hints, Kind, ParsedMessage

_Machine = Callable[[ParsedMessage], Classification | None]

# Machine-written mail first, most specific first (DESIGN §7).
_MACHINE_DETECTORS: tuple[_Machine, ...] = (arf.detect, dsn.detect, autoreply.detect)


def warm_up() -> None:
    """Build every table the classifiers read, once per process (thread-safe, idempotent)."""
    person.warm_up()


def classify(
    parsed: ParsedMessage, hints: Hints | None = None, received_at: datetime | None = None
) -> Classification:
    """Decide the kind of ``parsed``; never raises on odd input."""
    hints = hints or Hints()
    for detect in _MACHINE_DETECTORS:
        verdict = detect(parsed)
        if verdict is not None:
            return verdict
    verdict = person.detect(parsed, hints, received_at)
    if verdict is not None:
        return verdict
    return _reply_or_message(parsed)


def _reply_or_message(parsed: ParsedMessage) -> Classification:
    if parsed.in_reply_to or parsed.references:
        header = "In-Reply-To" if parsed.in_reply_to else "References"
        value = parsed.in_reply_to or " ".join(parsed.references)
        return Classification(
            kind=Kind.REPLY, evidence=(Evidence(where=f"header:{header}", text=value),)
        )
    subject = parsed.subject.lstrip()
    if _REPLY_PREFIX.match(subject):
        return Classification(
            kind=Kind.REPLY, evidence=(Evidence(where="header:Subject", text=subject[:80]),)
        )
    return Classification(kind=Kind.MESSAGE)


# "Re:" and its translations as mail clients write them (AW: de, SV: sv/da/no, VS: fi,
# RE: fr/es/it, Odp: pl, Atb.: lv, Ats.: lt, ВЛ/Отв: ru, 回复/答复: zh, 返信: ja).
_REPLY_PREFIX = re.compile(
    r"^(re|aw|sv|vs|odp|atb\.?|ats\.?|antw|antwort|res|r|ynt|yan[ıi]t|отв|ответ|вл|回复|答复|返信|回覆)"
    r"\s*(\[\d+\])?\s*[:：]",
    re.IGNORECASE,
)
