"""HL7 v2 reader: MLLP/batch splitting, ER7 tokenizing, escapes, charsets, ORU^R01 grouping.

Contract used by :mod:`leukoflag.api`:

* ``split_stream(stream)`` — raw messages in input order (MLLP frames stripped, FHS/BHS/BTS/FTS
  envelopes removed, one chunk per MSH; leading garbage or a segment before MSH is yielded as its
  own chunk so that it can be rejected; a batch trailer whose BTS-1 count is more than the
  messages its batch held is yielded after them as a ``BatchTrailer``, a ``bytes`` that
  ``read_message`` rejects with both counts, and a file trailer whose FTS-1 count is more than
  the batches its file held as a ``FileTrailer``, a ``BatchTrailer`` rejected the same way; an
  input that ends right after a batch or file header yields that header as a ``HeaderOnly``,
  rejected too, and a batch whose trailer never came, the input ending or another header or the
  file trailer coming after its messages, yields its header as a ``CutBatch``, and so a file
  whose FTS never came as a ``CutFile``).
  Streams: memory stays flat for any input size.
* ``split_bytes(data)`` — the same chunks for content already in memory, without copying it.
* ``read_message(raw, index=, source=, settings=)`` — one ``Message`` or one ``Rejected``.
* ``validate_structure(raw, settings=)`` — hl7apy structure check for ``Settings(strict=True)``;
  an empty list when valid.

``docs/hl7v2.md`` describes what is read and how; the tables it shows come from ``data/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from leukoflag._quote import defect
from leukoflag._text import text_bytes
from leukoflag.hl7v2._framing import BatchTrailer, CutBatch, CutFile, FileTrailer, HeaderOnly
from leukoflag.hl7v2._framing import split_bytes as _split_bytes
from leukoflag.hl7v2._framing import split_stream as _split_stream
from leukoflag.hl7v2._read import read_message as _read_message
from leukoflag.model import Message, Rejected
from leukoflag.settings import Settings

__all__ = [
    "BatchTrailer",
    "CutBatch",
    "CutFile",
    "FileTrailer",
    "HeaderOnly",
    "read_message",
    "split_bytes",
    "split_stream",
    "structure_unchecked",
    "validate_structure",
]


def split_stream(stream: BinaryIO) -> Iterator[bytes]:
    """Yield one raw chunk per message (or per stretch of text that is not one), in input
    order, reading ``stream`` in blocks."""
    return _split_stream(stream)


def split_bytes(data: bytes) -> Iterator[bytes]:
    """The chunks :func:`split_stream` yields for ``io.BytesIO(data)``, taken from ``data``
    directly (``leukoflag.convert`` of bytes already in memory)."""
    return _split_bytes(data)


def read_message(
    raw: bytes | str, *, index: int, source: str, settings: Settings, decoded: bool = False
) -> Message | Rejected:
    """Read one raw message (bytes or text) into a :class:`Message`, or say why it cannot be.

    Text is read as its characters: MSH-18 then names only the set of ``\\Xhh\\`` escapes
    (text read with ``errors="surrogateescape"`` is read as the bytes it came from). ``decoded``
    says that bytes are the UTF-8 of such text (``leukoflag.convert(str)``).

    Never raises for bad input: a message that cannot be read is a :class:`Rejected` with the
    reason; everything read but not mapped is an Issue on the Message.
    """
    if isinstance(raw, str):
        data, decoded = text_bytes(raw)
    else:  # a BatchTrailer (or FileTrailer) stays one: its counts are the reason
        data = raw if isinstance(raw, BatchTrailer) else bytes(raw)
    try:
        return _read_message(data, index=index, source=source, settings=settings, decoded=decoded)
    except (ValueError, LookupError, TypeError, AttributeError, ArithmeticError) as exc:
        # A reader defect must not take the rest of the input down with it: reject this message
        # with the cause, so the operator can report it with the raw message kept for replay.
        return Rejected(index, source, defect("read this message", exc), data, f"MSG[{index}]")


def structure_unchecked(version: str, message_type: str = "ORU^R01") -> str:
    """Why strict mode cannot check the structure of a message of HL7 ``version`` (MSH-12) and
    ``message_type`` (MSH-9, as ``Message.message_type``), or ``""`` when it can: a release
    hl7apy does not know, or one whose definition of the message in hl7apy no valid message
    passes (ORU^R01 in 2.8.x, ORU^R30-R32 from 2.6)."""
    from leukoflag.hl7v2 import _hl7apy  # noqa: PLC0415 - hl7apy is imported only in strict mode

    return _hl7apy.unchecked(version, message_type)


def validate_structure(raw: bytes, *, settings: Settings) -> list[str]:
    """Problems hl7apy finds in the message structure (strict mode); ``[]`` when valid."""
    from leukoflag.hl7v2 import _hl7apy  # noqa: PLC0415 - hl7apy is imported only in strict mode

    return _hl7apy.validate(raw, fallback_charset=settings.fallback_charset)
