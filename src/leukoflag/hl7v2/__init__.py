"""HL7 v2 reader: MLLP/batch splitting, ER7 tokenizing, escapes, charsets, ORU^R01 grouping.

Contract used by :mod:`leukoflag.api` (keep these signatures; the HL7 v2 work replaces the
placeholders below):

* ``split_stream(stream)`` — raw messages in input order (MLLP frames stripped, FHS/BHS/BTS/FTS
  envelopes removed, one chunk per MSH; leading garbage or a segment before MSH is yielded as its
  own chunk so that it can be rejected). Streams: memory stays flat for any input size.
* ``read_message(raw, index=, source=, settings=)`` — one ``Message`` or one ``Rejected``.
* ``validate_structure(raw, settings=)`` — hl7apy structure check for ``Settings(strict=True)``;
  an empty list when valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from leukoflag.model import Message, Rejected
from leukoflag.settings import Settings

__all__ = ["read_message", "split_stream", "validate_structure"]


def split_stream(stream: BinaryIO) -> Iterator[bytes]:
    raise NotImplementedError  # placeholder


def read_message(raw: bytes, *, index: int, source: str, settings: Settings) -> Message | Rejected:
    raise NotImplementedError  # placeholder


def validate_structure(raw: bytes, *, settings: Settings) -> list[str]:
    raise NotImplementedError  # placeholder
