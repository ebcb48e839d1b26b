"""Hand-built parsed messages for classifier tests that start from words, not MIME."""

from __future__ import annotations

from parsers import ParsedMessage


def text_message(text: str, subject: str = "") -> ParsedMessage:
    """A plain-text message whose new text is ``text`` (nothing quoted, no headers)."""
    return ParsedMessage(
        message_id=None,
        in_reply_to=None,
        references=(),
        date=None,
        subject=subject,
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
