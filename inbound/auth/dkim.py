"""DKIM signatures (RFC 6376) and the ARC chain (RFC 8617): the one dkimpy user.

dkimpy is the maintained Python implementation of both (canonicalisation, the RSA and
Ed25519 algorithms, the ARC set ordering rules). It takes a ``dnsfunc`` for key lookups,
so keys come through our ``Resolver`` (its cache, its timeouts); a DNS failure raises
``LookupFailed`` out of dkimpy, which we report as ``temperror``. Keys shorter than
1024 bits are refused (RFC 8301 §3.2). Every signature is verified, up to
``MAX_SIGNATURES`` (a message with hundreds of signatures is a denial of service, not
mail), and each gets its own verdict: a signature whose key is missing or unusable, or
which is itself malformed, is ``permerror``; one that does not verify is ``fail``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import dkim as dkimpy
from dkim import util as dkim_util

from inbound.auth.model import Arc, Dkim, Result
from inbound.auth.resolver import LookupFailed, Resolver

# Verified per message; further signatures are reported as permerror ("not checked").
MAX_SIGNATURES = 8
# RFC 8301 §3.2: verifiers MUST NOT consider keys under 1024 bits valid.
MIN_KEY_BITS = 1024
# Characters of b= kept to tell signatures apart (RFC 6008 §4 suggests at least 8).
B_PREFIX = 8

# dkimpy logs each failed check at ERROR; verdicts are what we report, not its log lines.
_quiet = logging.getLogger("inbound.auth.dkimpy")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False

_WSP = re.compile(rb"\s+")


class _Keys:
    """dkimpy's dnsfunc, remembering which key records came back empty."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.empty: set[str] = set()

    def __call__(self, name: bytes, timeout: int = 5) -> bytes:
        text = name.decode("ascii", "replace").rstrip(".")
        records = self.resolver.txt(text)
        if not records:
            self.empty.add(text.lower())
            return b""
        # RFC 6376 §3.6.2.2: several records for one selector are undefined; use the first.
        return b"".join(records[0])


# The first empty line as dkimpy splits lines (``\r?\n``): where its header block ends.
_END_OF_HEADERS = re.compile(rb"\n\r?\n")
ARC_HEADERS = frozenset(dkimpy.ARC.ARC_HEADERS)  # arc-seal, arc-message-signature, ...
NOT_ARC_SIGNED = "Message is not ARC signed"  # dkimpy's reason for CV_None, word for word


def header_block(raw: bytes) -> bytes:
    """The header fields of ``raw`` and the empty line after them: all that dkimpy, or
    the email package, reads as headers (both stop at that line; the email package may
    stop earlier, at a lone CR, never later)."""
    if raw.startswith((b"\n", b"\r\n")):
        return b""
    end = _END_OF_HEADERS.search(raw)
    return raw if end is None else raw[: end.end()]


def header_names(head: bytes) -> frozenset[bytes] | None:
    """Lower-cased names of the fields dkimpy finds in ``head`` (``header_block``'s), or
    None when dkimpy cannot split them (then the checks run on the whole message and
    report what dkimpy says about it)."""
    try:
        headers, _body = dkimpy.rfc822_parse(head)
    except Exception:
        return None
    return frozenset(bytes(name).lower() for name, _value in headers)


def verify_signatures(
    resolver: Resolver, raw: bytes, names: frozenset[bytes] | None = None
) -> tuple[Dkim, ...]:
    """One verdict per DKIM-Signature header, in header order (empty: none present).

    ``names`` (``header_names`` of the message) lets an unsigned message skip dkimpy's
    parse of the whole message: with no DKIM-Signature field the answer is empty anyway.
    """
    if names is not None and b"dkim-signature" not in names:
        return ()
    try:
        signer = dkimpy.DKIM(raw, logger=_quiet, minkey=MIN_KEY_BITS)
    except Exception:  # a message dkimpy cannot even split into headers has no signature
        return ()
    headers = [v for k, v in signer.headers if k.lower() == b"dkim-signature"]
    out: list[Dkim] = []
    for index, value in enumerate(headers):
        tags = _tags(value)
        domain = _text(tags.get(b"d"))
        selector = _text(tags.get(b"s"))
        b = _WSP.sub(b"", tags.get(b"b", b"")).decode("ascii", "replace")[:B_PREFIX]
        if index >= MAX_SIGNATURES:
            out.append(_verdict(Result.PERMERROR, domain, selector, b, "not checked: too many"))
            continue
        keys = _Keys(resolver)
        try:
            ok = signer.verify(idx=index, dnsfunc=keys)
        except LookupFailed as exc:
            out.append(_verdict(Result.TEMPERROR, domain, selector, b, str(exc)))
            continue
        except dkimpy.DKIMException as exc:
            # dkimpy raises for a body altered after signing too: that one is a plain fail.
            altered = "body hash mismatch" in str(exc)
            result = Result.FAIL if altered else Result.PERMERROR
            why = "body hash did not verify" if altered else type(exc).__name__
            out.append(_verdict(result, domain, selector, b, why))
            continue
        except Exception as exc:  # untrusted input into a third-party parser: report, go on
            out.append(_verdict(Result.PERMERROR, domain, selector, b, type(exc).__name__))
            continue
        if ok:
            out.append(_verdict(Result.PASS, domain, selector, b, ""))
        elif keys.empty:
            out.append(_verdict(Result.PERMERROR, domain, selector, b, "no key"))
        else:
            out.append(_verdict(Result.FAIL, domain, selector, b, "signature did not verify"))
    return tuple(out)


def verify_arc(resolver: Resolver, raw: bytes, names: frozenset[bytes] | None = None) -> Arc:
    """The chain validation status of RFC 8617 §5.2 (none when the mail has no ARC set).

    ``names`` as for ``verify_signatures``: without any ARC field dkimpy's answer is
    ``none``, "Message is not ARC signed", so it is given without parsing the message.
    """
    if names is not None and not names & ARC_HEADERS:
        return Arc(result=Result.NONE, reason=NOT_ARC_SIGNED)
    try:
        chain = dkimpy.ARC(raw, logger=_quiet, minkey=MIN_KEY_BITS)
        status, _sets, reason = chain.verify(dnsfunc=_Keys(resolver))
    except LookupFailed as exc:
        return Arc(result=Result.TEMPERROR, reason=str(exc))
    except Exception as exc:  # malformed ARC headers: a broken chain
        return Arc(result=Result.FAIL, reason=type(exc).__name__)
    if status == dkimpy.CV_Pass:
        return Arc(result=Result.PASS, reason=str(reason))
    if status == dkimpy.CV_None:
        return Arc(result=Result.NONE, reason=str(reason))
    # CV_Fail, or None: a seal reported cv=fail and the chain ended there.
    return Arc(result=Result.FAIL, reason=str(reason))


def _tags(value: bytes) -> dict[bytes, bytes]:
    try:
        parsed: dict[bytes, bytes] = dkim_util.parse_tag_value(_WSP.sub(b" ", value))
    except Exception:
        return {}
    return parsed


def _text(value: bytes | None) -> str | None:
    if not value:
        return None
    return value.decode("ascii", "replace").strip().lower() or None


def _verdict(result: Result, domain: str | None, selector: str | None, b: str, why: Any) -> Dkim:
    return Dkim(result=result, domain=domain, selector=selector, b=b, reason=str(why))
