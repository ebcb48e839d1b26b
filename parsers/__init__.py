"""inbound's pure core: bytes in, frozen values out.

Rationale: everything that decides what a message *says* and *is* lives here, with no
sockets, files, clocks or environment. The service (``inbound``) passes in what the
core would otherwise look up (``received_at``, route hints), so every decision can be
tested from a fixture and re-run later with the same answer.

    parsed = parse(raw, received_at)          # never raises on bad mail: see .defects
    verdict = classify(parsed, hints, received_at)
"""

from parsers.classify import classify
from parsers.mime import parse
from parsers.model import (
    Address,
    Attachment,
    AutoReply,
    Bounce,
    Classification,
    Complaint,
    Evidence,
    Hints,
    Kind,
    ParsedMessage,
    Part,
    Request,
    RequestType,
)

__all__ = [
    "Address",
    "Attachment",
    "AutoReply",
    "Bounce",
    "Classification",
    "Complaint",
    "Evidence",
    "Hints",
    "Kind",
    "ParsedMessage",
    "Part",
    "Request",
    "RequestType",
    "classify",
    "parse",
]
