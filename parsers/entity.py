"""One MIME entity's own headers read for what they say about its content.

Responsible for Content-Type (type, parameters with RFC 2231 continuations and charsets,
RFC 2047 and raw 8-bit values), Content-Disposition and its filename, and undoing the
Content-Transfer-Encoding (RFC 2045 §6) with recovery. It never raises: what it had to
guess becomes a defect string. It may not walk the MIME tree (``mime.py``) or decide
what is body text and what is an attachment.
"""

from __future__ import annotations

import email.message
import email.utils
import re
from dataclasses import dataclass

from parsers.budget import Budget
from parsers.headers import decode_header_value, parse_header_block
from parsers.text import decode_base64, decode_bytes, decode_quoted_printable


@dataclass(slots=True)
class EntityHeaders:
    """The header fields of one entity, raw and decoded, and its content description."""

    raw: list[tuple[str, bytes]]
    decoded: list[tuple[str, str]]
    content_type: str
    params: list[tuple[str, str]]
    disposition: str | None
    filename: str | None


def read_headers(block: bytes, defects: list[str], budget: Budget | None = None) -> EntityHeaders:
    """The entity's fields; charset detection draws on ``budget`` (one message's caps)."""
    raw, header_defects = parse_header_block(block)
    defects.extend(header_defects)
    decoded: list[tuple[str, str]] = []
    for name, value in raw:
        text, value_defects = decode_header_value(value, budget)
        defects.extend(f"{name}: {d}" for d in value_defects)
        decoded.append((name, text))
    ctype_raw = first_raw(raw, "content-type")
    disp_raw = first_raw(raw, "content-disposition")
    probe = email.message.Message()
    content_type = "text/plain"
    params: list[tuple[str, str]] = []
    if ctype_raw is not None:
        # latin-1 carries raw 8-bit parameter bytes through the stdlib's parameter
        # parser unchanged (one character per byte); _param_text decodes them.
        probe["Content-Type"] = ctype_raw.decode("latin-1")
        main_value = ctype_raw.split(b";", 1)[0].strip().lower().decode("ascii", "replace")
        if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", main_value):
            content_type = main_value
        else:
            defects.append(f"invalid Content-Type {main_value[:40]!r}: text/plain assumed")
        for key, param in (probe.get_params(header="content-type") or [])[1:]:
            params.append((key.lower(), _param_text(param, defects, budget)))
    disposition: str | None = None
    filename: str | None = None
    if disp_raw is not None:
        probe["Content-Disposition"] = disp_raw.decode("latin-1")
        disposition = disp_raw.split(b";", 1)[0].strip().lower().decode("ascii", "replace")
        for key, param in (probe.get_params(header="content-disposition") or [])[1:]:
            if key.lower() == "filename":
                filename = _param_text(param, defects, budget)
    if filename is None:
        filename = dict(params).get("name")
    return EntityHeaders(
        raw=raw,
        decoded=decoded,
        content_type=content_type,
        params=params,
        disposition=disposition,
        filename=filename or None,
    )


def _param_text(
    value: str | tuple[str, str, str], defects: list[str], budget: Budget | None
) -> str:
    """A parameter value as text: RFC 2231 (charset'lang'value) or RFC 2047 in quotes."""
    if isinstance(value, tuple):
        charset, _lang, text = value
        # email.utils.decode_params has already %-decoded the value as latin-1.
        decoded, d = decode_bytes(text.encode("latin-1", "replace"), charset or "utf-8", budget)
        defects.extend(f"RFC 2231 parameter: {x}" for x in d)
        return decoded
    data = email.utils.unquote(value).encode("latin-1", "replace")
    if b"=?" in data:
        decoded_text, d = decode_header_value(data, budget)
        defects.extend(d)
        return decoded_text
    if not data.isascii():
        decoded_text, d = decode_bytes(data, None, budget)  # UTF-8 (RFC 6532) first, else detected
        defects.extend(f"raw 8-bit parameter: {x}" for x in d)
        return decoded_text
    return data.decode("ascii")


def first_raw(raw: list[tuple[str, bytes]], name: str) -> bytes | None:
    for key, value in raw:
        if key.lower() == name:
            return value
    return None


def transfer_decode(body: bytes | memoryview, headers: EntityHeaders, defects: list[str]) -> bytes:
    """The body with its Content-Transfer-Encoding undone; ``body`` may be a view of the
    raw message, so base64 (the big attachments) is decoded without copying it first."""
    cte_raw = first_raw(headers.raw, "content-transfer-encoding")
    cte = cte_raw.decode("ascii", "replace").strip().lower() if cte_raw else "7bit"
    if cte == "base64":
        data, clean = decode_base64(body)
        if not clean:
            defects.append(f"{headers.content_type}: broken base64 recovered")
        return data
    body = bytes(body)
    if cte == "quoted-printable":
        data, clean = decode_quoted_printable(body)
        if not clean:
            defects.append(f"{headers.content_type}: invalid quoted-printable kept literally")
        return data
    if cte not in ("7bit", "8bit", "binary", ""):
        defects.append(f"unknown Content-Transfer-Encoding {cte[:40]!r}: body read as is")
    return body
