"""Text given to the public API (``convert(str)``, ``read_message(str)``) as the bytes the readers
take."""

from __future__ import annotations

import unicodedata

__all__ = ["invisible", "invisible_name", "text_bytes", "utf8_bytes"]

# characters that show nothing, pasted with a code from a file or a web page: a code holding one
# is not the code it shows (fhir.code-invisible-character, hl7v2.code-invisible-character)
_INVISIBLE_NAMES = {
    "\ufeff": "a byte-order mark (U+FEFF)",
    "\u200b": "a zero-width space (U+200B)",
    "\u200c": "a zero-width non-joiner (U+200C)",
    "\u200d": "a zero-width joiner (U+200D)",
    "\u2060": "a word joiner (U+2060)",
}


def invisible(char: str) -> bool:
    """A character that shows nothing: Unicode's format characters (Cf), the five above and
    the soft hyphen U+00AD, the left-to-right and right-to-left marks U+200E/U+200F … alike."""
    return unicodedata.category(char) == "Cf"


def invisible_name(char: str) -> str:
    """How an Issue names an invisible ``char``: 'a soft hyphen (U+00AD)'."""
    known = _INVISIBLE_NAMES.get(char)
    if known is not None:
        return known
    name = unicodedata.name(char, "format character").lower()
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} (U+{ord(char):04X})"


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
