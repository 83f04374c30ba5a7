"""Text given to the public API (``convert(str)``, ``read_message(str)``) as the bytes the readers
take."""

from __future__ import annotations

__all__ = ["text_bytes", "utf8_bytes"]


def text_bytes(text: str) -> tuple[bytes, bool]:
    """:func:`utf8_bytes` of ``text``, and whether ``text`` is decoded text (it holds no lone
    surrogate): then its characters are the message's, whatever MSH-18 says its bytes were."""
    try:
        return text.encode("utf-8"), True
    except UnicodeEncodeError:
        return utf8_bytes(text), False


def utf8_bytes(text: str) -> bytes:
    """``text`` encoded as UTF-8, never raising.

    A lone surrogate cannot be encoded. Text read with ``errors="surrogateescape"`` (PEP 383)
    holds them for the bytes it could not decode: those bytes come back as they were, so the
    reader decodes them with MSH-18 or the fallback character set. Any other lone surrogate is
    written as its three UTF-8-style bytes, which no UTF-8 reader accepts: the HL7 v2 reader
    decodes them with the fallback character set and an Issue, the FHIR reader rejects the item.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
