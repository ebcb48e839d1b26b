"""``parse(raw, received_at)``: one message's bytes to a ``ParsedMessage``; never raises.

Rationale: a tree builder only tells us *where* each entity is (its header bytes and
the byte range of its body); headers, transfer encodings and charsets are then decoded
here from the original bytes (``headers.py``, ``text.py``), so 8-bit parts in
different charsets are never mangled by one guessed charset.

The tree comes from, in order: ``structure.scan`` (byte ranges of the raw message, no
copy); flanker, given the bytes as latin-1 text (one character per byte, so its
offsets are byte offsets), for mail up to ``FLANKER_MAX_BYTES`` if the scanner fails;
the stdlib ``email`` parser; the whole message as one text entity last. Each fallback
is a defect, never an exception. The scanner comes first: on the corpora and our
fixtures it reads 811 of the 815 messages flanker accepts identically, and the other 4
by RFC 2046 where flanker does not (an enclosed message swallowing its parent's close
delimiter, a phantom empty part); it reads the 3 % flanker refuses (boundaries with "/"
or "(", RFC 2231 boundaries, delimiters that differ from the declared boundary); it
builds the tree 5x faster and holds ~1 MB where flanker holds ~5x the message.
``tests/parsers/test_mime_structure.py`` keeps the two builders in step.

Malformed multiparts are read as mail clients read them, each with a defect: a declared
boundary that is missing or never occurs gives way to the body's own delimiter lines
(``structure.infer_boundary``); a multipart with no delimiter at all is one text/plain
leaf (RFC 2045 §5.2); a body part whose header block is a whole message's (a bounce
returning the original right after a delimiter) is read as message/rfc822.

This is the one module that imports ``flanker.mime``. It does no I/O, reads no clock
(``received_at`` is passed in) and logs nothing.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import email.utils
import functools
import hashlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from parsers.addresses import parse_addresses
from parsers.budget import MAX_REPLY_CHARS, Budget, cap_defects
from parsers.entity import EntityHeaders, first_raw, read_headers, transfer_decode
from parsers.headers import header_window, message_ids, parse_date, split_header_block
from parsers.model import Address, Attachment, ParsedMessage, Part
from parsers.reply import split_html, split_reply
from parsers.structure import MAX_DEPTH, MAX_PARTS, Entity, scan
from parsers.text import MAX_HTML_CONVERT, MAX_HTML_TAGS, convertible, decode_bytes


@functools.cache
def _flanker_from_string() -> Callable[[str], Any] | None:
    """flanker's parser, imported on first use: it is only a fallback.

    flanker 0.9.11 imports the deprecated stdlib modules cgi and imghdr (removed in
    Python 3.13); the warnings are about flanker's code, not ours, and where the import
    fails the fallback is simply skipped.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from flanker.mime import from_string
        except ImportError:
            return None
    return cast(Callable[[str], Any], from_string)


# Above this size flanker is not tried even as a fallback: it holds the message in a
# StringIO, 4 bytes per character in CPython (~120 MB for a 25 MB message), and peaks at
# ~5x the message size (21 MB for 4 MB); structure.scan holds ~1 MB at any size.
FLANKER_MAX_BYTES = 4 * 1024 * 1024

# The machine-readable parts of reports, read as text for the classifiers:
# RFC 3464 (DSN), RFC 5965 (ARF), RFC 6522 (text/rfc822-headers), RFC 8098 (MDN).
_REPORT_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/feedback-report",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "text/rfc822-headers",
        "message/global-headers",
        # Not registered, but what some MTAs label the returned headers with.
        "message/rfc822-headers",
        # RFC 2046 §5.2.2: a fragment of a message, 7bit by definition; bounces return
        # the original's first fragment (its headers) under this type.
        "message/partial",
    }
)
# The same reports under the labels senders also use (``application/feedback-report``,
# ``message/x-feedback-report``, ``text/x-delivery-status``...): read by subtype, so an
# unusual label never hides a report's fields from the classifiers.
_REPORT_SUBTYPES = frozenset(
    {
        "feedback-report",
        "delivery-status",
        "global-delivery-status",
        "disposition-notification",
        "rfc822-headers",
    }
)
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


def _is_report(ctype: str) -> bool:
    if ctype in _REPORT_TYPES:
        return True
    top, _, sub = ctype.partition("/")
    return top in ("message", "application", "text") and sub.removeprefix("x-") in _REPORT_SUBTYPES


# The fields that make a header block a message's (RFC 5322 §3.6): trace, origin,
# destination, identification and subject. Three of them, one naming where the message
# came from, tell a returned message from a body part's own (Content-*) header.
_MESSAGE_FIELDS = frozenset(
    {"received", "return-path", "message-id", "from", "sender", "to", "cc", "subject", "date"}
)
_ORIGIN_FIELDS = frozenset({"received", "return-path", "message-id", "from"})
_MESSAGE_FIELDS_NEEDED = 3
_PROTECTING_TYPES = frozenset({"multipart/signed", "multipart/encrypted"})  # RFC 1847
_PROTECTED_PARAMS = frozenset({"hp", "protected-headers"})
_CID_REF = re.compile(r"cid:([^\"'\s>)]+)", re.IGNORECASE)


@dataclass(slots=True)
class _State:
    defects: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    count: int = 0
    budget: Budget = field(default_factory=Budget)


def parse(raw: bytes, received_at: datetime) -> ParsedMessage:
    """Parse one message. Malformed input is described in ``.defects``, never raised.

    ``received_at`` is accepted for symmetry with ``classify`` (and future use such as
    dating a message without a Date header); parsing does not depend on it today.
    """
    del received_at  # not needed to parse; kept in the signature (DESIGN §2)
    try:
        return _parse(raw)
    except Exception as exc:  # the last net: a bug here must not lose a message
        return _minimal(raw, f"parser error {type(exc).__name__}: read as plain text")


def _parse(raw: bytes, tree: Callable[[bytes, list[str]], Entity] | None = None) -> ParsedMessage:
    """The parse itself; ``tree`` replaces the tree builder (tests compare builders)."""
    defects: list[str] = []
    if b"\n" not in raw and b"\r" in raw:
        # RFC 5322 §2.3 allows CR only in CRLF; old Mac clients end lines with CR alone.
        defects.append("lines end with a bare CR: read as line ends")
        raw = raw.replace(b"\r", b"\n")
    root = (tree or _tree)(raw, defects)
    state = _State(defects=defects)
    top = read_headers(root.header_block, state.defects, state.budget)
    _walk(root, top, state, depth=0, in_body=True)
    return _build(top, state)


def _tree(raw: bytes, defects: list[str]) -> Entity:
    """The entity tree: our scanner, else flanker, else the stdlib, else one entity."""
    try:
        return scan(raw)
    except Exception as exc:  # a bug in our scanner must not lose the message
        defects.append(f"MIME structure unreadable by the scanner ({type(exc).__name__})")
    if len(raw) <= FLANKER_MAX_BYTES:
        try:
            return _from_flanker(raw)
        except Exception as exc:  # flanker raises MimeError subclasses and worse on bad mail
            defects.append(f"MIME structure refused by flanker ({type(exc).__name__})")
    try:
        return _from_stdlib(raw)
    except Exception as exc:  # the stdlib parser is lenient, but never trust a parser
        defects.append(f"MIME structure unreadable ({type(exc).__name__}): read as one part")
    head, _ = split_header_block(raw)
    return Entity(header_block=head, source=raw, start=len(head), end=len(raw))


def _from_flanker(raw: bytes) -> Entity:
    # latin-1 maps each byte to one character, so flanker's offsets are byte offsets.
    from_string = _flanker_from_string()
    if from_string is None:
        raise ImportError("flanker is not importable here")
    message = from_string(raw.decode("latin-1"))
    return _flanker_entity(message, raw, 0)


def _flanker_entity(part: Any, raw: bytes, depth: int) -> Entity:
    container = part._container  # flanker keeps each entity's offsets there
    start: int = container.start
    end: int = container.end + 1  # flanker's end is inclusive
    window = header_window(raw, start, end)
    head, rest = split_header_block(window)
    entity = Entity(header_block=head, source=raw, start=start + len(window) - len(rest), end=end)
    if depth >= MAX_DEPTH:
        return entity
    entity.children = [_flanker_entity(child, raw, depth + 1) for child in part.parts or ()]
    if part.enclosed is not None:
        entity.enclosed = _flanker_entity(part.enclosed, raw, depth + 1)
    return entity


def _from_stdlib(raw: bytes) -> Entity:
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    message = parser.parsebytes(raw)
    return _stdlib_entity(message, 0)


def _stdlib_entity(message: email.message.Message, depth: int) -> Entity:
    head = b"".join(
        f"{name}: {value}\n".encode("utf-8", "surrogateescape")
        for name, value in message.raw_items()
    )
    entity = Entity(header_block=head, source=b"", start=0, end=0, checked=True)
    entity.notes = [
        _STDLIB_DEFECTS.get(type(d).__name__, type(d).__name__) for d in message.defects
    ]
    # get_payload() would decode 8-bit bodies with the declared charset and "replace";
    # the private _payload keeps the bytes (as surrogate escapes) for text.py to decode.
    payload = getattr(message, "_payload", None)
    if isinstance(payload, list):
        if depth < MAX_DEPTH:
            subs = [
                _stdlib_entity(sub, depth + 1)
                for sub in payload
                if isinstance(sub, email.message.Message)
            ]
            if message.get_content_maintype() == "message" and subs:
                entity.enclosed = subs[0]
            else:
                entity.children = subs
    elif isinstance(payload, str):
        # BytesParser keeps 8-bit bytes as surrogate escapes: this gives them back.
        entity.source = payload.encode("utf-8", "surrogateescape")
        entity.end = len(entity.source)
    return entity


_STDLIB_DEFECTS = {
    "StartBoundaryNotFoundDefect": "multipart: boundary never found in the body",
    "CloseBoundaryNotFoundDefect": "multipart: closing boundary missing",
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter",
    "MultipartInvariantViolationDefect": "multipart without parts: body read as text",
    "FirstHeaderLineIsContinuationDefect": "header block starts with a continuation line",
    "MissingHeaderBodySeparatorDefect": "header line without a field name: body starts there",
    "InvalidBase64PaddingDefect": "broken base64 recovered",
    "InvalidBase64CharactersDefect": "broken base64 recovered",
}


def _walk(entity: Entity, headers: EntityHeaders, state: _State, depth: int, in_body: bool) -> None:
    """Read one entity into ``state``; a failure inside it costs that entity only.

    What a part's failing step leaves out (its text, its children) is a defect; the
    part's bytes are kept as an attachment, and the parts around it are read as usual.
    """
    parts, texts, htmls = len(state.parts), len(state.texts), len(state.htmls)
    try:
        _walk_entity(entity, headers, state, depth, in_body)
    except Exception as exc:  # a bug in one part's step must not cost the other parts
        del state.texts[texts:], state.htmls[htmls:]
        state.defects.append(
            f"{headers.content_type} part unreadable ({type(exc).__name__}): kept as bytes"
        )
        if len(state.parts) == parts:
            state.parts.append(_part(headers, None, depth))
            state.attachments.append(_attachment(headers, entity.body(), None))


def _walk_entity(
    entity: Entity, headers: EntityHeaders, state: _State, depth: int, in_body: bool
) -> None:
    state.count += 1
    if state.count > MAX_PARTS:
        if state.count == MAX_PARTS + 1:
            state.defects.append(f"more than {MAX_PARTS} MIME parts: the rest ignored")
        return
    ctype = headers.content_type
    if entity.checked:
        state.defects.extend(entity.notes)
    if ctype.startswith("multipart/"):
        if not entity.checked:
            _check_boundary(entity, headers, state.defects)
        if depth >= MAX_DEPTH:
            state.defects.append(f"MIME nesting deeper than {MAX_DEPTH}: inner parts ignored")
            return
        if entity.truncated:
            state.defects.append(f"more than {MAX_PARTS} MIME parts: the rest ignored")
        if not entity.children:
            if entity.has_text():
                # RFC 2045 §5.2: what cannot be read as its declared type is text/plain.
                state.defects.append(f"{ctype} without parts: body read as text/plain")
                body = transfer_decode(entity.body(), headers, state.defects)
                text, d = decode_bytes(body, dict(headers.params).get("charset"), state.budget)
                state.defects.extend(d)
                as_text = replace(headers, content_type="text/plain")
                _leaf_text(state, as_text, _newlines(text), depth, in_body)
            return
        for child in entity.children:
            try:
                child_headers = read_headers(child.header_block, state.defects, state.budget)
            except Exception as exc:  # one part's unreadable header costs that part only
                state.defects.append(f"part header unreadable ({type(exc).__name__}): skipped")
                continue
            if _is_message_header(child_headers, ctype):
                _inline_message(child, state, depth + 1)
                continue
            if not first_raw(child_headers.raw, "content-type") and ctype == "multipart/digest":
                child_headers.content_type = "message/rfc822"
            _walk(child, child_headers, state, depth + 1, in_body)
        return
    body = transfer_decode(entity.body_view(), headers, state.defects)
    if ctype in _MESSAGE_TYPES:
        _enclosed(entity, headers, body, state, depth)
        return
    if ctype.startswith("text/") or _is_report(ctype):
        text, d = decode_bytes(body, dict(headers.params).get("charset"), state.budget)
        text = _newlines(text)
        state.defects.extend(f"{ctype}: {x}" for x in d)
        state.parts.append(_part(headers, text, depth))
        is_body = in_body and headers.disposition != "attachment" and headers.filename is None
        if is_body and ctype == "text/plain":
            state.texts.append(text)
            return
        if is_body and ctype == "text/html":
            state.htmls.append(text)
            return
    else:
        state.parts.append(_part(headers, None, depth))
    state.attachments.append(_attachment(headers, body, None))


def _is_message_header(headers: EntityHeaders, parent: str) -> bool:
    """Whether a body part's own header block is in fact a whole message's header.

    RFC 2046 §5.1 gives meaning only to Content-* fields in a body part. A part that
    starts with the trace and origin fields of a message (``_MESSAGE_FIELDS``) is a
    message pasted right after the delimiter without ``Content-Type: message/rfc822``
    and its blank line, as bounces that return the original message often do.
    Not so the protected headers of signed or encrypted mail (RFC 9788 ``hp``, the
    drafts' ``protected-headers``): there Subject/From/To/Message-ID are the body part's.
    """
    if headers.content_type.startswith("message/") or _is_report(headers.content_type):
        return False
    if parent in _PROTECTING_TYPES or any(k in _PROTECTED_PARAMS for k, _ in headers.params):
        return False
    names = {name.lower() for name, _ in headers.raw}
    found = names & _MESSAGE_FIELDS
    return len(found) >= _MESSAGE_FIELDS_NEEDED and bool(found & _ORIGIN_FIELDS)


def _inline_message(entity: Entity, state: _State, depth: int) -> None:
    """A part whose header block is a message's: read as an enclosed message/rfc822."""
    state.defects.append(
        "body part starts with a message header, no Content-Type: read as message/rfc822"
    )
    head = entity.header_block
    blank = b"\r\n" if head.endswith(b"\r\n") else b"\n"
    content = head + blank + entity.body() if head else entity.body()
    wrapper = Entity(header_block=b"", source=content, start=0, end=len(content), enclosed=entity)
    headers = EntityHeaders(
        raw=[],
        decoded=[],
        content_type="message/rfc822",
        params=[],
        disposition=None,
        filename=None,
    )
    _enclosed(wrapper, headers, content, state, depth)


def _newlines(text: str) -> str:
    """Line ends as "\n" (RFC 5322 CRLF, and the bare CR of old Mac clients)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _leaf_text(state: _State, headers: EntityHeaders, text: str, depth: int, in_body: bool) -> None:
    state.parts.append(_part(headers, text, depth))
    if in_body:
        state.texts.append(text)


def _enclosed(
    entity: Entity, headers: EntityHeaders, body: bytes, state: _State, depth: int
) -> None:
    """A forwarded or bounced message: one attachment with a summary, one text part."""
    inner = entity.enclosed
    content = body
    if inner is None or first_raw(headers.raw, "content-transfer-encoding") not in (
        None,
        b"7bit",
        b"8bit",
        b"binary",
    ):
        head, inner_body = split_header_block(body)
        inner = Entity(header_block=head, source=inner_body, start=0, end=len(inner_body))
    inner_defects: list[str] = []
    inner_headers = read_headers(inner.header_block, inner_defects, state.budget)
    summary = _summary(inner_headers, inner_defects)
    text, d = decode_bytes(content, dict(inner_headers.params).get("charset"), state.budget)
    state.defects.extend(f"{headers.content_type}: {x}" for x in d)
    state.parts.append(_part(headers, _newlines(text), depth))
    state.attachments.append(_attachment(headers, content, summary))


def _summary(headers: EntityHeaders, defects: list[str]) -> dict[str, Any]:
    def get(name: str) -> str | None:
        for key, value in headers.decoded:
            if key.lower() == name:
                return value
        return None

    from_, _ = parse_addresses([v for k, v in headers.raw if k.lower() == "from"][:1])
    to, _ = parse_addresses([v for k, v in headers.raw if k.lower() == "to"])
    date, _ = parse_date(get("date") or "")
    ids = message_ids(get("message-id") or "")
    return {
        "message_id": ids[0] if ids else None,
        "subject": get("subject") or "",
        "from": from_[0].to_dict() if from_ else None,
        "to": [a.to_dict() for a in to],
        "date": date.isoformat().replace("+00:00", "Z") if date else None,
    }


def _check_boundary(entity: Entity, headers: EntityHeaders, defects: list[str]) -> None:
    declared = dict(headers.params).get("boundary")
    inferred = entity.inferred_boundary
    if inferred is not None:
        shown = inferred.decode("latin-1")[:80]
        problem = " without a boundary parameter" if not declared else ": boundary never found"
        defects.append(f"{headers.content_type}{problem}; its delimiter lines --{shown} read")
    elif not declared:
        defects.append(f"{headers.content_type} without a boundary parameter")
        return
    boundary = inferred or (declared or "").encode("utf-8", "replace")
    marker = b"--" + boundary
    if not entity.contains(marker):
        defects.append(f"{headers.content_type}: boundary never found in the body")
    elif not entity.contains(marker + b"--"):
        defects.append(f"{headers.content_type}: closing boundary missing")


def _part(headers: EntityHeaders, text: str | None, depth: int) -> Part:
    return Part(
        content_type=headers.content_type,
        params=tuple(headers.params),
        headers=tuple(headers.decoded),
        text=text,
        depth=depth,
    )


def _attachment(
    headers: EntityHeaders, content: bytes, message: dict[str, Any] | None
) -> Attachment:
    cid_raw = next((v for k, v in headers.decoded if k.lower() == "content-id"), None)
    content_id = None
    if cid_raw:
        ids = message_ids(cid_raw)
        content_id = ids[0] if ids else None
    return Attachment(
        filename=headers.filename,
        content_type=headers.content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content_id=content_id,
        inline=headers.disposition == "inline",
        content=content,
        message=message,
    )


def _build(top: EntityHeaders, state: _State) -> ParsedMessage:
    defects = state.defects

    def values(name: str) -> list[bytes]:
        return [v for k, v in top.raw if k.lower() == name]

    def first_text(name: str) -> str | None:
        for key, value in top.decoded:
            if key.lower() == name:
                return value
        return None

    from_list, d1 = parse_addresses(values("from")[:1])
    sender_list, d2 = parse_addresses(values("sender")[:1])
    to, d3 = parse_addresses(values("to"))
    cc, d4 = parse_addresses(values("cc"))
    reply_to, d5 = parse_addresses(values("reply-to"))
    for d in (d1, d2, d3, d4, d5):
        defects.extend(d)
    date, date_defects = parse_date(first_text("date") or "")
    defects.extend(date_defects)
    mid = message_ids(first_text("message-id") or "")
    irt = message_ids(first_text("in-reply-to") or "")
    refs = message_ids(" ".join(v for k, v in top.decoded if k.lower() == "references"))

    html = "\n".join(state.htmls) if state.htmls else None
    signature: str | None
    if state.texts and (html is None or any(t.strip() for t in state.texts)):
        # Several inline text parts (text, image, more text): one after the other.
        text = "".join(t if t.endswith("\n") else t + "\n" for t in state.texts[:-1])
        text += state.texts[-1]
        stripped, signature = split_reply(_reply_input(text, defects))
    elif html is not None:
        # Without a text part the HTML is read, its quote containers marked (reply.py).
        if not convertible(html):
            defects.append(
                f"HTML over {MAX_HTML_CONVERT} bytes or {MAX_HTML_TAGS} tags: "
                "converted without layout"
            )
        text, stripped, signature = split_html(html)
        if len(stripped) > MAX_REPLY_CHARS:
            stripped, signature = split_reply(_reply_input(text, defects))
    else:
        text, stripped, signature = "", "", None
    attachments = _mark_inline(state.attachments, html)
    parsed = ParsedMessage(
        message_id=mid[0] if mid else None,
        in_reply_to=irt[0] if irt else None,
        references=tuple(refs),
        date=date,
        subject=first_text("subject") or "",
        from_=_one(from_list),
        sender=_one(sender_list),
        to=to,
        cc=cc,
        reply_to=reply_to,
        headers=tuple(top.decoded),
        content_type=top.content_type,
        content_params=tuple(top.params),
        text=text,
        html=html,
        stripped_text=stripped,
        signature=signature,
        attachments=tuple(attachments),
        parts=tuple(state.parts),
        defects=(),
    )
    return _finish(parsed, defects, tuple(state.budget.spent))


def _reply_input(text: str, defects: list[str]) -> str:
    """What the reply splitter reads: the first ``MAX_REPLY_CHARS`` of the text."""
    if len(text) <= MAX_REPLY_CHARS:
        return text
    defects.append(
        f"text over {MAX_REPLY_CHARS} characters: reply and signature read from the first "
        f"{MAX_REPLY_CHARS}"
    )
    cut = text.rfind("\n", 0, MAX_REPLY_CHARS)
    return text[: cut if cut > 0 else MAX_REPLY_CHARS]


def _finish(
    parsed: ParsedMessage, defects: list[str], spent: tuple[str, ...] = ()
) -> ParsedMessage:
    """NUL characters replaced in every text field (with a defect), the defects capped.

    U+0000 is valid in a JSON string but PostgreSQL's text and jsonb refuse it, and many
    receivers stop reading a C string there; U+FFFD shows that something was there.
    """
    scrubbed: ParsedMessage = _without_nul(parsed)
    if scrubbed is not parsed:
        defects.append("NUL characters replaced with U+FFFD")
    return replace(scrubbed, defects=cap_defects(defects, first=spent))


def _without_nul(value: Any) -> Any:
    """``value`` with every "\0" in its strings replaced; the same object when none."""
    if isinstance(value, str):
        return value.replace("\0", "\ufffd") if "\0" in value else value
    if isinstance(value, tuple | list):
        items = [_without_nul(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        pairs = [(_without_nul(k), _without_nul(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    if isinstance(value, ParsedMessage | Address | Attachment | Part):
        changes = {}
        for name in value.__dataclass_fields__:
            old = getattr(value, name)
            new = _without_nul(old)
            if new is not old:
                changes[name] = new
        return replace(value, **changes) if changes else value
    return value


def _one(addresses: tuple[Address, ...]) -> Address | None:
    return addresses[0] if addresses else None


def _mark_inline(attachments: list[Attachment], html: str | None) -> list[Attachment]:
    """An attachment without disposition that the HTML shows by ``cid:`` is inline."""
    if not html:
        return attachments
    referenced = {ref.lower() for ref in _CID_REF.findall(html)}
    out: list[Attachment] = []
    for att in attachments:
        if not att.inline and att.content_id and att.content_id.lower() in referenced:
            att = Attachment(
                filename=att.filename,
                content_type=att.content_type,
                size=att.size,
                sha256=att.sha256,
                content_id=att.content_id,
                inline=True,
                content=att.content,
                message=att.message,
            )
        out.append(att)
    return out


def _minimal(raw: bytes, defect: str) -> ParsedMessage:
    """The message as one text body, for when everything else failed."""
    try:
        text, _ = decode_bytes(raw, None)
    except Exception:  # decode_bytes should never fail; this is the last net anyway
        text = raw.decode("utf-8", "replace")
    parsed = ParsedMessage(
        message_id=None,
        in_reply_to=None,
        references=(),
        date=None,
        subject="",
        from_=None,
        sender=None,
        to=(),
        cc=(),
        reply_to=(),
        headers=(),
        content_type="text/plain",
        content_params=(),
        text=text,
        html=None,
        stripped_text=text,
        signature=None,
        attachments=(),
        parts=(),
        defects=(),
    )
    return _finish(parsed, [defect])
