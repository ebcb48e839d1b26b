"""The MIME tree as byte ranges of the raw message: boundaries found, nothing copied.

Responsible for locating entities (RFC 2046 §5.1.1 delimiters, §5.2.1 enclosed
messages) in every message; ``mime.py`` falls back to flanker only if this raises.
flanker's scanner keeps a ``StringIO`` of the whole message, which CPython stores at 4
bytes per character, so a 25 MB message costs ~120 MB before any part is decoded; it
is also ~5x slower here. Here an entity is its header
bytes plus a ``(start, end)`` range of the original bytes; bodies are sliced only when
a leaf is decoded. Depth and part count are bounded (``MAX_DEPTH``, ``MAX_PARTS``).

A multipart whose declared boundary is missing or never occurs in its body is split at
the body's own delimiter lines when they are unambiguous (``infer_boundary``); the
entity records the boundary it used so the caller can report it.

It may not decode anything (``headers.py``, ``text.py`` do) and never raises on bad
input: a multipart without any delimiter simply has no children.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from parsers.headers import header_window, parse_header_block, split_header_block

# Our own limits against hostile mail; no RFC sets them. Real mail nests a few levels
# (a forward of a forward inside multipart/mixed) and has tens of parts.
MAX_DEPTH = 20
MAX_PARTS = 1000

_BOUNDARY = re.compile(rb"""boundary(\*)?\s*=\s*(?:"([^"]*)"|([^\s;"]+))""", re.IGNORECASE)
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")  # RFC 2231 §4 %-encoding
# RFC 2046 §5.1.1: a delimiter line is "--" and 1 to 70 bchars, the last not a space.
# Used only to find the delimiters of a multipart whose declared boundary is missing or
# never occurs (a truncated parameter, a boundary rewritten in the header only).
_DELIMITER_LINE = re.compile(
    rb"^--([0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-])[ \t\r]*$", re.MULTILINE
)
_PART_START = re.compile(rb"\r?\n(?:\r?\n|[\x21-\x39\x3b-\x7e]+[ \t]*:)")
_MAX_CANDIDATES = 1000  # delimiter-like lines looked at, so a hostile body stays linear
_ENCLOSING = (b"message/rfc822", b"message/global")
_IDENTITY = (b"", b"7bit", b"8bit", b"binary")


@dataclass(slots=True)
class Entity:
    """One MIME entity: its header block and where its body lies in ``source``."""

    header_block: bytes
    source: bytes
    start: int
    end: int  # exclusive
    children: list[Entity] = field(default_factory=list)
    enclosed: Entity | None = None
    truncated: bool = False  # children left out: MAX_PARTS reached
    # The boundary read from the body's own delimiter lines when the declared one is
    # missing or never occurs (``infer_boundary``); None when the declared one was used.
    inferred_boundary: bytes | None = None
    # Set by a builder that checked the delimiters itself (the stdlib parser): its
    # findings, and no byte range to check them again.
    checked: bool = False
    notes: list[str] = field(default_factory=list)

    def body(self) -> bytes:
        return self.source[self.start : self.end]

    def body_view(self) -> memoryview:
        """The body without a copy (a big base64 attachment is decoded straight from it)."""
        return memoryview(self.source)[self.start : self.end]

    def contains(self, marker: bytes) -> bool:
        return self.source.find(marker, self.start, self.end) >= 0

    def has_text(self) -> bool:
        return bool(self.source[self.start : self.end].strip())


def scan(raw: bytes) -> Entity:
    """The entity tree of ``raw`` (the whole message)."""
    budget = [MAX_PARTS]
    return _entity(raw, 0, len(raw), 0, budget)


def _entity(raw: bytes, start: int, end: int, depth: int, budget: list[int]) -> Entity:
    entity, _ = _entity_until(raw, start, end, depth, budget, None)
    return entity


def _entity_until(
    raw: bytes, start: int, end: int, depth: int, budget: list[int], outer: bytes | None
) -> tuple[Entity, int]:
    """The entity at ``start``, and where the parent should go on looking for delimiters.

    ``outer`` is the parent's boundary. A multipart that reuses it (seen in the wild,
    and in CPython's test suite) owns the delimiters up to its own close delimiter, as in
    flanker's recursive descent; the parent then goes on after that.
    """
    window = header_window(raw, start, end)
    head, rest = split_header_block(window)
    body_start = start + len(window) - len(rest)
    entity = Entity(header_block=head, source=raw, start=body_start, end=end)
    budget[0] -= 1
    if depth >= MAX_DEPTH or budget[0] <= 0:
        return entity, end
    fields, _ = parse_header_block(head)
    ctype = b""
    cte = b""
    for name, value in fields:
        lname = name.lower()
        if lname == "content-type" and not ctype:
            ctype = value
        elif lname == "content-transfer-encoding" and not cte:
            cte = value.strip().lower()
    main = ctype.split(b";", 1)[0].strip().lower()
    resume = end
    if main.startswith(b"multipart/"):
        boundary = _boundary(ctype)
        if not boundary or _delimiter(raw, b"--" + boundary, body_start, end, body_start) is None:
            inferred = infer_boundary(raw, body_start, end)
            if inferred is not None:
                boundary = entity.inferred_boundary = inferred
        if boundary:
            resume = _children(raw, entity, boundary, depth, budget)
            if boundary == outer:
                entity.end = min(resume, end)
                return entity, resume
    elif main in _ENCLOSING and cte in _IDENTITY and body_start < end:
        entity.enclosed = _entity(raw, body_start, end, depth + 1, budget)
    return entity, end


def _boundary(value: bytes) -> bytes | None:
    """The boundary parameter, also in RFC 2231 form (``boundary*=us-ascii''abc``)."""
    match = _BOUNDARY.search(value)
    if match is None:
        return None
    boundary = match.group(2) or match.group(3)
    if match.group(1) and boundary.count(b"'") >= 2:
        boundary = _PERCENT.sub(lambda m: bytes((int(m.group(1), 16),)), boundary.split(b"'", 2)[2])
    return boundary or None


def infer_boundary(raw: bytes, start: int, end: int) -> bytes | None:
    """The boundary the body of ``raw[start:end]`` really uses, or None.

    Read from its delimiter lines: the first ``--X`` line that starts a part (an empty
    line or a header field follows it) and that is either closed by ``--X--`` or occurs
    twice. ``X`` needs a letter or digit, so rules of dashes or "=" are not taken for
    delimiters. The same recovery as in mail clients that open such messages as
    multipart; the caller records the mismatch as a defect.
    """
    opened: dict[bytes, int] = {}
    closed: set[bytes] = set()
    order: list[bytes] = []
    for seen, match in enumerate(_DELIMITER_LINE.finditer(raw, start, end)):
        if seen >= _MAX_CANDIDATES:
            break
        token = match.group(1)
        if not any(c.isalnum() for c in token.decode("latin-1")):
            continue
        if token.endswith(b"--") and len(token) > 2:
            closed.add(token[:-2])
            continue
        if token not in opened:
            if _PART_START.match(raw, match.end(), end) is None and match.end() < end:
                continue
            order.append(token)
        opened[token] = opened.get(token, 0) + 1
    for token in order:
        if token in closed or opened[token] >= 2:
            return token
    return None


def _children(raw: bytes, entity: Entity, boundary: bytes, depth: int, budget: list[int]) -> int:
    """Fill ``entity.children``; return the offset after the close delimiter (or end).

    RFC 2046 §5.1.1: a delimiter starts a line; the line break before it belongs to
    the delimiter; transport padding (spaces, tabs) may follow it. A missing close
    delimiter ends the last part at the end of the entity.
    """
    marker = b"--" + boundary
    end = entity.end
    position = entity.start
    current: int | None = None
    while True:
        found = _delimiter(raw, marker, position, end, entity.start)
        if found is None:
            break
        line_start, line_end, closing = found
        if current is not None:
            part_end = _before_line_break(raw, line_start, current)
            _add_child(raw, entity, current, part_end, depth, budget)
            if budget[0] <= 0:
                entity.truncated = True
                return end
        if closing:
            return min(line_end + 1, end)
        current = min(line_end + 1, end)
        position = current
        # A part that reuses our boundary for itself consumes delimiters up to its close.
        child_end = _nested_same_boundary(raw, current, end, boundary, depth, budget, entity)
        if child_end is not None:
            current = None
            position = child_end
    if current is not None:
        _add_child(raw, entity, current, end, depth, budget)
    return end


def _nested_same_boundary(
    raw: bytes,
    start: int,
    end: int,
    boundary: bytes,
    depth: int,
    budget: list[int],
    parent: Entity,
) -> int | None:
    window = header_window(raw, start, end)
    head, _ = split_header_block(window)
    if _boundary(head) != boundary:
        return None
    if b"multipart/" not in head.lower():
        return None
    child, resume = _entity_until(raw, start, end, depth + 1, budget, boundary)
    parent.children.append(child)
    return resume


def _add_child(
    raw: bytes,
    entity: Entity,
    start: int,
    end: int,
    depth: int,
    budget: list[int],
) -> None:
    child, _ = _entity_until(raw, start, end, depth + 1, budget, None)
    entity.children.append(child)


def _delimiter(
    raw: bytes, marker: bytes, position: int, end: int, floor: int
) -> tuple[int, int, bool] | None:
    """The next delimiter line: (its start, its line end, whether it closes).

    One regex search over the bytes: lines that merely start with the marker (a longer
    boundary, "--BB" for "B") were skipped one by one in Python, ~3 µs each.
    """
    at_line, at_floor = _delimiter_patterns(marker)
    match = at_floor.match(raw, position, end) if position == floor else None
    if match is None:
        match = at_line.search(raw, position, end)
    if match is None:
        return None
    return match.start(), match.end(), match[1] is not None


@functools.lru_cache(maxsize=64)
def _delimiter_patterns(marker: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """A delimiter line at a line start, and one at the start of the body (no "\n" before)."""
    tail = re.escape(marker) + rb"(--)?[ \t\r]*$"
    return re.compile(rb"^" + tail, re.MULTILINE), re.compile(tail, re.MULTILINE)


def _before_line_break(raw: bytes, delimiter: int, floor: int) -> int:
    """The end of a part: the CRLF (or LF) before its delimiter is not part of it."""
    cut = delimiter
    if cut > floor and raw[cut - 1 : cut] == b"\n":
        cut -= 1
        if cut > floor and raw[cut - 1 : cut] == b"\r":
            cut -= 1
    return cut
