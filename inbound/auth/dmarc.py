"""DMARC (RFC 7489): policy discovery on the From domain and alignment with SPF and DKIM.

The organisational domain (§3.2) comes from the Public Suffix List shipped inside the
``publicsuffixlist`` package (refreshed with each release; nothing is downloaded at run
time): the one user of that package. The policy record is looked up at
``_dmarc.<From domain>``, then at ``_dmarc.<organisational domain>`` whose ``sp=`` then
applies (§6.6.3). Alignment is relaxed (same organisational domain) unless the record says
``adkim=s`` / ``aspf=s`` (identical domains). ``pct`` and the reporting tags change
nothing about the verdict and are not read.

Verdicts: ``pass`` with a record and an aligned SPF or DKIM pass; ``fail`` with a record
and no aligned pass; ``none`` without a record; ``temperror`` when the policy lookup, or
an SPF/DKIM check that could have aligned, hit a DNS failure; ``permerror`` when the
message names several From domains (§6.6.1).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from inbound.auth.model import Dkim, Dmarc, Result, Spf
from inbound.auth.resolver import LookupFailed, Resolver

POLICIES = ("none", "quarantine", "reject")


_PSL: list[PublicSuffixList] = []
_PSL_LOCK = threading.Lock()


def _suffix_list() -> PublicSuffixList:
    """Parsed once per process (~0.1 s of CPU), read-only afterwards. Under a lock: the
    worker's auth threads that miss at once would each parse it (``functools.cache``
    does not stop that), seconds of CPU under load. ``warm_up`` does it before serving."""
    if _PSL:
        return _PSL[0]
    with _PSL_LOCK:
        if not _PSL:
            _PSL.append(PublicSuffixList())
        return _PSL[0]


def warm_up() -> None:
    """Load the public suffix list now (``inbound serve`` does, before the workers fork)."""
    _suffix_list()


def organisational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the registrable domain (itself when it is a public suffix)."""
    domain = domain.lower().rstrip(".")
    found = _suffix_list().privatesuffix(domain)
    return str(found) if found else domain


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """A DMARC policy record, as far as the verdict needs it."""

    p: str
    sp: str | None = None
    adkim: str = "r"
    aspf: str = "r"


def parse_record(text: str) -> Record | None:
    """One TXT string -> a Record, or None when it is not a usable DMARC record."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, eq, value = part.partition("=")
        if eq:
            tags.setdefault(key.strip().lower(), value.strip())
    if tags.get("v") != "DMARC1" or not text.lstrip().startswith("v"):
        return None
    p = tags.get("p", "").lower()
    if p not in POLICIES:
        # §6.6.3: an invalid or missing p= with a reporting address reads as p=none.
        if "mailto:" not in tags.get("rua", "").lower():
            return None
        p = "none"
    sp = tags.get("sp", "").lower() or None
    if sp is not None and sp not in POLICIES:
        sp = None
    adkim = "s" if tags.get("adkim", "r").lower() == "s" else "r"
    aspf = "s" if tags.get("aspf", "r").lower() == "s" else "r"
    return Record(p=p, sp=sp, adkim=adkim, aspf=aspf)


def _discover(resolver: Resolver, domain: str) -> Record | None:
    """The one DMARC record at _dmarc.<domain> (several, or none usable: no policy)."""
    found = []
    for chunks in resolver.txt(f"_dmarc.{domain}"):
        text = b"".join(chunks).decode("utf-8", "replace")
        if text.lstrip().lower().startswith("v=dmarc1"):
            found.append(text)
    if len(found) != 1:
        return None
    return parse_record(found[0])


def evaluate(
    resolver: Resolver,
    *,
    from_domains: tuple[str, ...],
    spf: Spf,
    dkim: tuple[Dkim, ...],
) -> Dmarc:
    if not from_domains:
        return Dmarc(result=Result.NONE, policy=None, domain=None, aligned=False)
    if len(set(from_domains)) > 1:
        return Dmarc(result=Result.PERMERROR, policy=None, domain=from_domains[0], aligned=False)
    domain = from_domains[0]
    org_domain = organisational_domain(domain)
    record: Record | None = None
    subdomain = False
    lookup_failed = False
    try:
        record = _discover(resolver, domain)
        if record is None and org_domain != domain:
            record = _discover(resolver, org_domain)
            subdomain = record is not None
    except LookupFailed:
        lookup_failed = True
    adkim = record.adkim if record else "r"
    aspf = record.aspf if record else "r"

    def aligns(other: str | None, mode: str) -> bool:
        if not other:
            return False
        other = other.lower().rstrip(".")
        return other == domain if mode == "s" else organisational_domain(other) == org_domain

    aligned = (spf.result is Result.PASS and aligns(spf.domain, aspf)) or any(
        d.result is Result.PASS and aligns(d.domain, adkim) for d in dkim
    )
    could_align_failed = (spf.result is Result.TEMPERROR and aligns(spf.domain, aspf)) or any(
        d.result is Result.TEMPERROR and aligns(d.domain, adkim) for d in dkim
    )
    policy = None
    if record is not None:
        policy = (record.sp or record.p) if subdomain else record.p
    if aligned:
        if record is not None:
            result = Result.PASS
        else:
            result = Result.TEMPERROR if lookup_failed else Result.NONE
    elif lookup_failed or could_align_failed:
        result = Result.TEMPERROR
    elif record is None:
        result = Result.NONE
    else:
        result = Result.FAIL
    return Dmarc(
        result=result,
        policy=policy,
        domain=domain,
        aligned=aligned,
        org_domain=org_domain if subdomain else None,
    )
