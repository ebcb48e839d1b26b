"""Memory of a parse: a big base64 attachment is decoded from the raw bytes, not a copy."""

from __future__ import annotations

import os
import tracemalloc
from datetime import UTC, datetime
from email.message import EmailMessage

from parsers import parse


def test_a_big_attachment_costs_its_decoded_size_not_a_copy_of_its_base64() -> None:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.test", "b@example.test", "Scans"
    m.set_content("The scans.\n")
    content = os.urandom(3 * 1024 * 1024)
    m.add_attachment(content, maintype="application", subtype="octet-stream", filename="s.bin")
    raw = m.as_bytes()
    encoded = len(raw)  # about 4 MB of base64
    tracemalloc.start()
    try:
        parsed = parse(raw, datetime(2026, 12, 4, tzinfo=UTC))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [attachment] = parsed.attachments
    assert attachment.content == content
    # The decoded bytes (3 MB) and small change; a copy of the base64 body would add 4 MB.
    assert peak < len(content) + encoded // 4, (peak, len(content), encoded)
