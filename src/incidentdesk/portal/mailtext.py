"""Text out of a received mail, whatever charset it claims: an unknown or wrong charset falls
back to UTF-8 and then Windows-1252 rather than losing the message. The result is plain text,
never HTML-escaped; an HTML part is reduced to its text."""

from __future__ import annotations

import codecs
import html
from email.header import decode_header
from email.message import EmailMessage

from django.utils.html import strip_tags

FALLBACKS = ("utf-8", "cp1252")


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        info = codecs.lookup(charset.strip().strip('"').lower())
    except LookupError:
        return None
    # only codecs that turn bytes into text (not rot13, base64 and the like)
    return info.name if getattr(info, "_is_text_encoding", True) else None


def decode(data: bytes, charset: str | None) -> str:
    """`data` in its declared charset if that reads, else UTF-8, else Windows-1252 (which
    reads any byte string, with a replacement character for its five unused bytes)."""
    declared = _codec(charset)
    for name in (declared, *FALLBACKS) if declared else FALLBACKS:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def header_text(msg: EmailMessage, name: str) -> str:
    """The header's text with its encoded words decoded, whitespace folded to single spaces."""
    raw = next((value for key, value in msg.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    # 8-bit bytes in a header arrive as surrogate escapes: give them back as the bytes they were
    raw_bytes = str(raw).encode("ascii", "surrogateescape")
    pieces = []
    try:
        parts = decode_header(decode(raw_bytes, None))
    except ValueError:
        parts = [(decode(raw_bytes, None), None)]
    for piece, charset in parts:
        pieces.append(piece if isinstance(piece, str) else decode(piece, charset))
    return " ".join("".join(pieces).replace("\x00", "").split())


def body_text(msg: EmailMessage) -> str:
    """The plain-text body, or the text of the HTML body when there is no plain one."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    content = decode(payload, part.get_content_charset())
    if part.get_content_type() == "text/html":
        content = html.unescape(strip_tags(content))
    return content.replace("\r\n", "\n").replace("\x00", "").strip()
