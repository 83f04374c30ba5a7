"""HL7 v2 reader: MLLP/batch splitting, ER7 tokenizing, escapes, charsets, ORU^R01 grouping.

Contract used by :mod:`leukoflag.api` (keep these signatures):

* ``split_stream(stream: BinaryIO) -> Iterator[bytes]`` — raw messages in input order (MLLP frames
  stripped, FHS/BHS/BTS/FTS envelopes removed, one chunk per MSH; leading garbage or a segment
  before MSH is yielded as its own chunk so that it can be rejected).
* ``read_message(raw: bytes, *, index: int, source: str, settings: Settings) -> Message | Rejected``
* ``validate_structure(raw: bytes, *, settings: Settings) -> list[str]`` — hl7apy structure check
  for ``Settings(strict=True)``; empty list when valid.
"""
