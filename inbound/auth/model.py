"""The verdicts as frozen values: what each check concluded, JSON-ready through ``to_dict()``.

Pure: no lookups here. Result names are those of RFC 8601 §2.7 (and RFC 8617 §4.4 for
ARC), so the event, the Authentication-Results string and the RFCs speak one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Result(StrEnum):
    """One check's verdict, by its RFC 8601 name."""

    PASS = "pass"  # noqa: S105  (a result name, not a password): authorised / verifies
    FAIL = "fail"  # explicitly not authorised, or the signature does not verify
    SOFTFAIL = "softfail"  # SPF: probably not authorised (~all)
    NEUTRAL = "neutral"  # SPF: the domain states nothing (?all)
    NONE = "none"  # nothing to check: no record, no signature, no From domain
    TEMPERROR = "temperror"  # a DNS failure: the answer may differ later
    PERMERROR = "permerror"  # a broken record or signature: retrying will not help


@dataclass(frozen=True, slots=True, kw_only=True)
class Spf:
    """RFC 7208 for the MAIL FROM identity (the HELO identity when MAIL FROM is empty)."""

    result: Result
    domain: str | None  # the domain whose policy was checked
    identity: str = "mailfrom"  # "mailfrom" or "helo" (RFC 7208 §2.3, §2.4)
    reason: str = ""  # pyspf's explanation, for the Authentication-Results comment

    def to_dict(self) -> dict[str, Any]:
        return {"result": str(self.result), "domain": self.domain}


@dataclass(frozen=True, slots=True, kw_only=True)
class Dkim:
    """One DKIM-Signature header (RFC 6376), in the order they appear."""

    result: Result
    domain: str | None  # d=
    selector: str | None  # s=
    b: str = ""  # the first characters of b=, to tell signatures apart (RFC 6008)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"result": str(self.result), "domain": self.domain, "selector": self.selector}


@dataclass(frozen=True, slots=True, kw_only=True)
class Dmarc:
    """RFC 7489 for the RFC5322.From domain."""

    result: Result  # pass, fail, none (no policy record), temperror, permerror
    policy: str | None  # none, quarantine, reject (sp= for a subdomain), None without record
    domain: str | None  # the From domain
    aligned: bool  # an SPF or DKIM pass aligned with the From domain exists
    org_domain: str | None = None  # where the policy was found, when not the From domain

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": str(self.result),
            "policy": self.policy,
            "domain": self.domain,
            "aligned": self.aligned,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Arc:
    """RFC 8617 chain validation: pass, fail or none (no ARC sets); temperror on DNS."""

    result: Result
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"result": str(self.result)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Spam:
    """A spam filter's verdict (rspamd or SpamAssassin's spamd)."""

    score: float
    threshold: float
    is_spam: bool
    symbols: tuple[str, ...] = ()
    engine: str = ""  # "rspamd" or "spamassassin"

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "threshold": self.threshold,
            "is_spam": self.is_spam,
            "symbols": list(self.symbols),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Authentication:
    """All verdicts for one message, and the Authentication-Results inbound would add."""

    spf: Spf
    dkim: tuple[Dkim, ...]
    dmarc: Dmarc
    arc: Arc
    authentication_results: str
    # Authentication-Results headers of the incoming mail from a trusted_authserv_id,
    # as received (RFC 8601 §5); all others are dropped from the event's headers.
    trusted_results: tuple[str, ...] = field(default=())

    @property
    def sender_verified(self) -> bool | None:
        """DESIGN §12: an aligned pass proves the From domain; a DNS failure leaves it open."""
        if self.dmarc.aligned:
            return True
        if self.dmarc.result is Result.TEMPERROR:
            return None  # the policy, or an SPF/DKIM check that could align, hit a DNS failure
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "spf": self.spf.to_dict(),
            "dkim": [d.to_dict() for d in self.dkim],
            "dmarc": self.dmarc.to_dict(),
            "arc": self.arc.to_dict(),
            "authentication_results": self.authentication_results,
            "trusted_results": list(self.trusted_results),
        }
