"""Split a byte stream into raw HL7 v2 messages, reading it in blocks (memory stays flat).

Boundaries: an MSH segment at the start of a line starts a message (so does one sent indented
or in lower case with a header's delimiters, :data:`leukoflag.detect.HEADER_VARIANT`, and an MSH
with a header's delimiters inside a line: a message before it ended without a terminator);
MLLP blocks (0x0B … 0x1C 0x0D) start and end one; FHS/BHS/BTS/FTS batch envelope lines end one
(a trailer glued to the end of a batch's last segment too: :func:`_glued_trailers`)
and are dropped (v2.5.1 ch. 2.10.3: each MSH inside a batch is its own message), also when sent
indented or in lower case (:data:`leukoflag.detect.ENVELOPE_VARIANT`). A batch trailer whose
message count (BTS-1) is more than the messages its batch held is yielded as a
:class:`BatchTrailer` chunk after them, and a file trailer whose batch count (FTS-1) is more
than the batches its file held as a :class:`FileTrailer`, so that what went missing does not
vanish unseen; so is the header of a batch whose trailer never comes (the input ends, or another
header or the file trailer comes, after its messages) as a :class:`CutBatch`, and the header of a
file (FHS) whose trailer never comes as a :class:`CutFile`.
NUL bytes before an MSH (or such a header) at a line start are padding: the header after
them starts a message. A UTF-8 byte-order mark before an MSH line, a start block or an
envelope line goes with the messages after it (it decides over MSH-18).
Lines end with CR, LF or CRLF. Text before the first MSH, or after an MLLP end block or a batch
trailer and before the next MSH, is yielded as its own chunk, so the reader rejects it with a
reason. A frame cut before its end block is yielded with its 0x0B start byte, so the reader
reports it as truncated. A frame holds one message, or a batch: when a second MSH comes in a
frame that has no batch envelope line, the frame's messages are held until its end decides.
An end block means they were all framed; the next start block, the end of the input or
:data:`HOLD_LIMIT` bytes first mean the frame was cut in its first message and the messages
after it came unframed.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO, Self

from leukoflag.detect import ENVELOPE_VARIANT, HEADER_VARIANT, wide_encoding
from leukoflag.hl7v2._charset import describe_junk

__all__ = [
    "BatchTrailer",
    "CutBatch",
    "CutFile",
    "FileTrailer",
    "SegmentTail",
    "split_bytes",
    "split_stream",
]

BLOCK_SIZE = 1 << 20
# The most bytes held while a frame with a second message is undecided (memory stays bounded).
HOLD_LIMIT = 4 * BLOCK_SIZE
_START = 0x0B
_END = 0x1C
_ENVELOPE = (b"FHS", b"BHS", b"BTS", b"FTS")
_BOM_UTF8 = b"\xef\xbb\xbf"
_MARKER_TOKENS = {b"MSH": 0, **dict.fromkeys(_ENVELOPE, 1)}
# The first three bytes of a line that may be a header sent indented or in lower or mixed case
# (``  MSH|``, ``msh|``: HEADER_VARIANT decides), looked at as the markers' are.
_VARIANT_STARTS = frozenset(
    {bytes(case) for case in itertools.product(b"Mm", b"Ss", b"Hh")} - {b"MSH"}
    | {
        (bytes(indent) + b"MSH")[:3]
        for width in (1, 2, 3)
        for indent in itertools.product(b" \t", repeat=width)
    }
)
# ... and of a line of NUL padding before an MSH or such a header (a block-padded export)
_PADDED_STARTS = frozenset(
    (b"\0" * width + start)[:3] for width in (1, 2, 3) for start in {b"MSH", *_VARIANT_STARTS}
)
# ... and of an envelope line sent so (``bts|3``, ``  BHS|^~\&|``: ENVELOPE_VARIANT decides)
_ENVELOPE_VARIANT_STARTS = frozenset(
    {bytes(case) for case in itertools.product(b"BbFf", b"HhTt", b"Ss")}
    | {
        (bytes(indent) + name)[:3]
        for name in _ENVELOPE
        for width in (1, 2, 3)
        for indent in itertools.product(b" \t", repeat=width)
    }
)
_LINE_MARKERS = frozenset(
    {*_MARKER_TOKENS, _BOM_UTF8, *_VARIANT_STARTS, *_PADDED_STARTS, *_ENVELOPE_VARIANT_STARTS}
)
# A line after the first that starts with a marker (line breaks made CR first). One search in
# C: splitting a message into lines and slicing each cost twice as much on every message. The
# look-ahead at the first byte keeps the classes of the header variants off every other line.
_LATER_MARKER = re.compile(
    b"\r(?=[BFMbfm \t\xef\0])(?:"
    + b"|".join(map(re.escape, sorted({*_ENVELOPE, _BOM_UTF8})))
    + b"|\0*(?:[Mm][Ss][Hh]|[ \t]+MSH)|[BbFf][HhTt][Ss]|[ \t]+[BF][HT]S)"
)
# An MSH with a header's delimiters inside a line: the next file's header after a message that
# ended without a terminator (files concatenated with cat). A field cannot hold it unescaped.
# Its shape is a header's, as the reader takes one (HEADER_VARIANT's): a field separator, 3 to
# 5 encoding characters, the separator again. The encoding characters v2.5.1 ch. 2.5.4
# recommends (and most senders use) are enough; with others (MSH#$%!@#), which text may hold
# (a comment quoting a header), so are the separators of MSH-3 to MSH-9 after them on its line.
# One search for 'MSH' past the first bytes, as cheap as any on a message with none.
_ENCODING = b"^~\\&"
_GLUED_HEADER = re.compile(rb"MSH([^0-9A-Za-z \t\r\n])((?:(?!\1)[^0-9A-Za-z \t\r\n]){3,5})\1")
_HEADER_FIELDS = 6  # field separators from MSH-3 to MSH-9
# A batch or file trailer glued to the end of a segment line, the last segment of a batch's last
# message sent without its terminator (``…|20261124080500-0500BTS|2``): the trailer's ID, a
# separator, a count or nothing, and at most its two other fields (BTS-2/3, FTS-2) to the line's
# end. _glued_trailers decides with the line around it.
_GLUED_TRAILER = re.compile(
    rb"(?<=[^\r\n\x0b\x1c])(?:BTS|FTS)([^0-9A-Za-z \t\r\n\x0b\x1c])[0-9]*"
    rb"(?:\1[^\r\n\x0b\x1c]*)?(?=[\r\n\x1c]|\Z)"
)
_TRAILER_FIELDS = 2  # separators after the count: BTS-2 and BTS-3
# What may start the line after a glued trailer: a message, an envelope line, a frame, a mark
_AFTER_TRAILER = frozenset({b"MSH", *_ENVELOPE, _BOM_UTF8})
# What may come between a line's start and its header: a byte-order mark, indentation, padding
_BEFORE_HEADER = b" \t\0"
_LINE_STARTS_TO_CR = bytes.maketrans(b"\n\x0b\x1c", b"\r\r\r")
# The bytes that end a line for the splitter: line ends and MLLP block bytes (see _in_field and
# _glued_headers).
_BREAKS = frozenset(b"\r\n\x0b\x1c")
_BREAK = re.compile(b"[\r\n\x0b\x1c]")
_BLANK = b" \t\r\n"
# A count with more digits than this is no count a sender meant (and int() refuses 4300+ digits).
_COUNT_DIGITS = 18


class BatchTrailer(bytes):
    """A batch trailer line (BTS) whose message count, BTS-1 (``expected``), is more than the
    messages its batch held (``found``: MSH segments since the BHS, or since the start of the
    input, the FHS or the previous FTS when there is no BHS).
    :func:`leukoflag.hl7v2.read_message` rejects it with both counts: a batch cut short in
    transfer loses messages that no other chunk shows. A count below the messages found loses
    nothing (some senders always write 0) and is not reported. :class:`FileTrailer` is its
    subclass for the file trailer (FTS), rejected the same way."""

    expected: int
    found: int
    # No BHS and no message came before it in its file: its batch began before the input.
    headless: bool
    # the envelope segment the chunk is (Rejected.envelope): a line, not a message to replay
    envelope: str = "BTS"

    def __new__(cls, line: bytes, expected: int, found: int, headless: bool = False) -> Self:
        made = super().__new__(cls, line)
        made.expected, made.found, made.headless = expected, found, headless
        return made

    def __reduce__(self) -> tuple[type[BatchTrailer], tuple[bytes | int | bool | str, ...]]:
        # --jobs sends chunks to worker processes: the counts travel with the bytes.
        return (BatchTrailer, (bytes(self), self.expected, self.found, self.headless))

    @property
    def reason(self) -> str:
        if self.headless:  # "held 0 … cut short" would blame a transfer that lost nothing here
            return (
                f"batch trailer BTS-1 counts {_plural(self.expected, 'message', 'messages')} but "
                "no batch header (BHS) or message came before it: the input starts after the "
                "batch's messages (a capture rotated or cut inside a batch?), or they were lost"
            )
        missing = self.expected - self.found
        return (
            f"batch trailer BTS-1 counts {self.expected} message{'s' if self.expected != 1 else ''}"
            f" but the batch held {self.found}; {missing} message{'s' if missing != 1 else ''} "
            "missing: the batch was cut short (the messages read are converted)"
        )


class HeaderOnly(BatchTrailer):
    """A batch or file header line (FHS, BHS: ``envelope``) at the end of the input, with no
    message and no trailer after it: the transfer stopped right after the header, and every
    message of the batch is lost (an empty batch sends its trailer, ``BTS|0``). Rejected with
    the reason."""

    envelope: str

    def __new__(cls, line: bytes, envelope: str = "") -> Self:
        made = super().__new__(cls, line, 0, 0)
        made.envelope = envelope or line.lstrip(b" \t")[:3].upper().decode("ascii", "replace")
        return made

    def __reduce__(self) -> tuple[type[BatchTrailer], tuple[bytes | int | bool | str, ...]]:
        return (HeaderOnly, (bytes(self), self.envelope))

    @property
    def reason(self) -> str:
        return (
            f"the input ends after a batch header ({self.envelope}) with no message and no "
            "trailer after it: the batch was cut short after its header"
        )


class CutBatch(BatchTrailer):
    """The header line (BHS) of a batch that held ``found`` messages and never got its trailer
    (BTS): the input ended (``after`` is ``""``), the header of another batch or file came
    (``after``: ``"BHS"`` or ``"FHS"``, a transfer restarted?), or the file's trailer (``"FTS"``).
    The messages after the last one read are lost unseen, as a cut count (BTS-1) would show;
    rejected with the reason, which tells the operator to check with the sender."""

    after: str
    envelope = "BHS"

    def __new__(cls, line: bytes, found: int, after: str = "") -> Self:
        made = super().__new__(cls, line, 0, found)
        made.after = after
        return made

    def __reduce__(self) -> tuple[type[BatchTrailer], tuple[bytes | int | bool | str, ...]]:
        return (CutBatch, (bytes(self), self.found, self.after))

    @property
    def reason(self) -> str:
        held = _plural(self.found, "message", "messages")
        came = {"BHS": "a batch header", "FHS": "a file header", "FTS": "a file trailer"}
        if self.after:
            where = (
                f"{came[self.after]} ({self.after}) came after {held} of a batch (BHS) with no "
                "batch trailer (BTS) between them"
            )
        else:
            where = f"the input ends after {held} of a batch (BHS) with no batch trailer (BTS)"
        return (
            f"{where}: the batch was cut short, or its sender writes no BTS; messages after "
            "those may be lost (the messages read are converted): check with the sender that "
            "none are missing (a sender that writes no BTS gets this for every batch, and should "
            "send one with its count)"
        )


class CutFile(BatchTrailer):
    """The header line (FHS) of a file that held ``found`` batches (``found`` messages when
    ``bare``: it held no BHS, as :class:`FileTrailer` counts) and never got its trailer (FTS):
    the input ended (``after`` is ``""``) or another file's header came (``"FHS"``). Batches
    after the last one read are lost unseen, as a cut count (FTS-1) would show; rejected with
    the reason. A batch of it cut at the same point is a :class:`CutBatch` instead."""

    bare: bool
    after: str
    envelope = "FHS"

    def __new__(cls, line: bytes, found: int, bare: bool, after: str = "") -> Self:
        made = super().__new__(cls, line, 0, found)
        made.bare, made.after = bare, after
        return made

    def __reduce__(self) -> tuple[type[BatchTrailer], tuple[bytes | int | bool | str, ...]]:
        return (CutFile, (bytes(self), self.found, self.bare, self.after))

    @property
    def reason(self) -> str:
        counted = ("message", "messages") if self.bare else ("batch", "batches")
        held = _plural(self.found, *counted)
        if self.after:
            where = (
                f"a file header (FHS) came after {held} of a file (FHS) with no file trailer (FTS) "
                "between them"
            )
        else:
            where = f"the input ends after {held} of a file (FHS) with no file trailer (FTS)"
        return (
            f"{where}: the file was cut short, or its sender writes no FTS; batches or messages "
            "after those may be lost (the messages read are converted): check with the sender "
            "that none are missing (a sender that writes FHS but no FTS gets this for every file, "
            "and should send one with its batch count)"
        )


class SegmentTail(BatchTrailer):
    """Text that is no message, ended by a batch or file trailer line (BTS, FTS) and not by a
    segment, whose first line has a field separator (``L|||F``: the tail of a batch's last
    message, a capture rotated inside it): rejected with ``why``, which says so, where the text
    alone would read as text between messages. Made only where the two reasons differ."""

    why: str
    envelope = ""  # the text is the input's own, a fragment of a message: no envelope line

    def __new__(cls, text: bytes, why: str) -> Self:
        made = super().__new__(cls, text, 0, 0)
        made.why = why
        return made

    def __reduce__(self) -> tuple[type[BatchTrailer], tuple[bytes | int | bool | str, ...]]:
        return (SegmentTail, (bytes(self), self.why))

    @property
    def reason(self) -> str:
        return self.why


def _before_trailer(chunk: bytes, region: bytes, at: int) -> bytes:
    """``chunk``, text ended by the envelope line at ``at``, as a :class:`SegmentTail` when that
    line is a trailer and changes the text's reason (its first line a segment's tail)."""
    # the whole line: an envelope line may be indented more than a few bytes (ENVELOPE_VARIANT)
    trailer = region[at : _line_end(region, at)].lstrip(b" \t")[:3].upper().decode("ascii")
    if not chunk or trailer not in ("BTS", "FTS"):
        return chunk
    why = describe_junk(chunk, trailer)
    return SegmentTail(chunk, why) if why != describe_junk(chunk) else chunk


class FileTrailer(BatchTrailer):
    """A file trailer line (FTS) whose batch count, FTS-1 (``expected``), is more than the
    batches its file held (``found``: BHS … BTS batches since the FHS, or since the start of the
    input or the previous FTS when there is no FHS; messages or a BTS outside any BHS form a
    batch of their own). A whole batch lost between its neighbours leaves no other trace.

    ``bare``: the file held no BHS at all. Senders of such files write 0, 1 or the number of
    messages in FTS-1, so ``found`` is then the number of messages, and only a count above both
    it and the implicit batch is reported."""

    bare: bool
    envelope = "FTS"

    def __new__(
        cls, line: bytes, expected: int, found: int, bare: bool = False, headless: bool = False
    ) -> Self:
        made = super().__new__(cls, line, expected, found, headless)
        made.bare = bare
        return made

    def __reduce__(self) -> tuple[type[BatchTrailer], tuple[bytes | int | bool | str, ...]]:
        # As BatchTrailer's, with ``bare``.
        return (FileTrailer, (bytes(self), self.expected, self.found, self.bare, self.headless))

    @property
    def reason(self) -> str:
        missing = self.expected - self.found
        counted = f"file trailer FTS-1 counts {_plural(self.expected, 'batch', 'batches')}"
        if self.headless:  # "held 0 messages … part of the file was lost", as for a BTS
            return (
                f"{counted} but no file header (FHS), batch header (BHS) or message came before "
                "it: the input starts after the file's batches (a capture rotated or cut inside "
                "a file?), or they were lost"
            )
        if self.bare:
            return (
                f"{counted} but the file held {_plural(self.found, 'message', 'messages')} and "
                f"no batch header (BHS); {missing} missing, batches or messages however the "
                "sender counted: part of the file was lost (the messages read are converted)"
            )
        return (
            f"{counted} but the file held {self.found}; "
            f"{_plural(missing, 'batch', 'batches')} missing: a whole batch was lost (the "
            "messages read are converted)"
        )


def _plural(count: int, one: str, more: str) -> str:
    return f"{count} {one if count == 1 else more}"


def split_stream(stream: BinaryIO, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Yield one raw chunk per message (or per stretch of junk), in input order."""
    return _split(_read_blocks(stream, block_size))


def split_bytes(data: bytes, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """The chunks ``split_stream(io.BytesIO(data))`` yields, taken from ``data`` without copying
    it into a stream first (a message shorter than a block is yielded as ``data`` itself)."""
    if len(data) <= block_size:
        single = _single_message(data)
        if single is not None:
            return iter((single,))
        return _split(iter((data,)))
    return _split(data[at : at + block_size] for at in range(0, len(data), block_size))


def _single_message(data: bytes) -> bytes | None:
    """The chunk :func:`_split` yields for ``data`` when it is one plain message (starts with
    MSH; no MLLP block byte, and no other line starts with a marker: MSH, a batch envelope or a
    byte-order mark); ``None`` otherwise. One search, far cheaper than the splitter."""
    if not data.startswith(b"MSH") or _START in data or _END in data:
        return None
    if _LATER_MARKER.search(data.replace(b"\n", b"\r") if b"\n" in data else data):
        return None
    if data.find(b"MSH", 1) >= 0 and _glued_headers(data):
        return None
    return _message_chunk(data)


def _message_chunk(chunk: bytes) -> bytes:
    """A message's bytes without trailing blank lines; the last segment's terminator is kept as
    sent (CRLF, CR or LF)."""
    stripped = chunk.rstrip(_BLANK)
    terminator = chunk[len(stripped) : len(stripped) + 2]
    if terminator != b"\r\n":
        terminator = terminator[:1] if terminator[:1] in (b"\r", b"\n") else b""
    return chunk[: len(stripped) + len(terminator)]


def _read_blocks(stream: BinaryIO, block_size: int) -> Iterator[bytes]:
    # read1: what a pipe or socket holds now, so a live feed (`nc -l 2575 | leukoflag convert -`)
    # is split as it arrives; read() would wait for a full block or the end of the input
    read = getattr(stream, "read1", stream.read)
    while block := read(block_size):
        yield block


def _split(blocks: Iterator[bytes]) -> Iterator[bytes]:
    first = next(blocks, b"")
    codec = wide_encoding(first)
    if codec:
        yield from _split_wide(first, blocks, codec)
        return
    splitter = _Splitter()
    if first.startswith(_BOM_UTF8):
        first = first[len(_BOM_UTF8) :]
        splitter.bom = True
    yield from splitter.feed_blocks(chain((first,), blocks))


def _split_wide(first: bytes, blocks: Iterator[bytes], codec: str) -> Iterator[bytes]:
    """UTF-16/32 with a byte-order mark: split the UTF-8 transcoding, hand back each message in
    the original encoding (with its byte-order mark, so the reader knows it)."""
    decoder = codecs.getincrementaldecoder(codec)("replace")

    def transcoded() -> Iterator[bytes]:
        for block in chain((first,), blocks):
            yield decoder.decode(block).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")

    # Each chunk gets its encoding's own mark below; a UTF-8 one from the transcoding must not.
    for chunk in _Splitter(keeps_bom=False).feed_blocks(transcoded()):
        recoded = chunk.decode("utf-8").encode(codec)
        if isinstance(chunk, FileTrailer):
            recoded = FileTrailer(recoded, chunk.expected, chunk.found, chunk.bare, chunk.headless)
        elif isinstance(chunk, HeaderOnly):
            recoded = HeaderOnly(recoded, chunk.envelope)
        elif isinstance(chunk, CutBatch):
            recoded = CutBatch(recoded, chunk.found, chunk.after)
        elif isinstance(chunk, CutFile):
            recoded = CutFile(recoded, chunk.found, chunk.bare, chunk.after)
        elif isinstance(chunk, SegmentTail):
            recoded = SegmentTail(recoded, chunk.why)
        elif isinstance(chunk, BatchTrailer):
            recoded = BatchTrailer(recoded, chunk.expected, chunk.found, chunk.headless)
        yield recoded


class _Splitter:
    """The splitting state machine over complete lines."""

    __slots__ = (
        "batch_header",
        "batch_messages",
        "batch_open",
        "bom",
        "file_batches",
        "file_has_bhs",
        "file_header",
        "file_line",
        "file_messages",
        "files_ended",
        "frame_batch",
        "held",
        "held_size",
        "in_frame",
        "keeps_bom",
        "kind",
        "open_header",
        "parts",
        "trailers",
    )

    def __init__(self, *, keeps_bom: bool = True) -> None:
        self.keeps_bom = keeps_bom
        self.parts: list[bytes] = []
        self.kind = ""  # "", "message" or "junk"
        self.in_frame = False
        self.frame_batch = False  # the open frame holds a batch envelope line
        # The chunks of an open frame with a second message, from its first: see the module doc.
        self.held: list[bytes] | None = None
        self.held_size = 0
        # A UTF-8 byte-order mark was seen (at the start, or before an MSH line): the messages
        # from there on are handed over with it, so that it decides over MSH-18 (as documented).
        self.bom = False
        self.batch_messages = 0  # MSH segments since the last BHS or FHS (or the start)
        # The last FHS/BHS line while nothing followed it (no message, chunk or trailer yet).
        self.open_header: bytes | None = None
        # The BHS line of the batch open since it (no BTS or FTS yet): cut if another header or
        # the end of the input comes first.
        self.batch_header: bytes | None = None
        self.files_ended = 0  # FTS lines so far
        # The trailer lines (as counted) since the last message or header: one of them again is
        # a resend (of a file's trailers after the file), not a batch or file lost.
        self.trailers: set[bytes] = set()
        self._new_file()

    def _new_file(self) -> None:
        """Start counting the batches of a file (at the start, an FHS or after an FTS)."""
        self.file_batches = 0  # batches since then: BHS, or messages/BTS outside any BHS
        self.file_messages = 0
        self.file_has_bhs = False
        self.file_header = False  # the file began with an FHS
        self.file_line: bytes | None = None  # ... that FHS line, while its FTS has not come
        self.batch_open = False  # a BHS, or a message outside any BHS, not yet closed by BTS

    def feed_blocks(self, blocks: Iterator[bytes]) -> Iterator[bytes]:
        pending: list[bytes] = []
        for block in blocks:
            cut = max(block.rfind(b"\r"), block.rfind(b"\n"))
            if cut < 0:
                pending.append(block)  # no line end yet: wait for the rest of the line
                continue
            pending.append(block[: cut + 1])
            region = b"".join(pending)
            pending = [block[cut + 1 :]]
            yield from self._region(region)
        rest = b"".join(pending)
        if rest:
            yield from self._region(rest)
        chunk = self._flush(cut=self.in_frame and self.held is None)
        yield from self._emit(chunk)
        yield from self._release(cut=True)
        if self.open_header is not None:  # the input stopped right after a batch header
            yield HeaderOnly(self.open_header)
        elif self.batch_header is not None:  # ... or inside the batch, after its messages
            yield CutBatch(self.batch_header, self.batch_messages)
        elif self.file_line is not None:  # ... or inside the file
            yield from self._cut_file(self.file_line, "")

    def _region(self, region: bytes) -> Iterator[bytes]:
        """Handle a run of complete lines (``region`` starts at a line start)."""
        position = 0
        batched = self.batch_header is not None or self.file_line is not None
        for at, token in _boundaries(region, batched):
            if at < position:
                continue  # inside an envelope line already skipped
            # A byte-order mark before a line's MSH (files concatenated with cat), a start block
            # (frames saved one file each) or an envelope line (batch files) goes with what
            # follows; not before an end block, which ends a message's text.
            bom = 3 if token != _END and region[max(at - 3, 0) : at] == _BOM_UTF8 else 0
            self._add(region[position : at - bom])
            # A frame's second message: hold its messages until the frame's end (module doc).
            hold = token == 0 and self.in_frame and self.kind == "message" and not self.frame_batch
            # Text ended by a trailer: the tail of a message, maybe (SegmentTail)
            tail = token == 1 and self.kind == "junk"
            # A start block while a frame is open: that frame never got its end block.
            chunk = self._flush(cut=token == _START and self.in_frame and self.held is None)
            if tail:
                chunk = _before_trailer(chunk, region, at)
            if hold and self.held is None:
                self.held = []
            yield from self._emit(chunk)
            if token == _START:
                yield from self._release(cut=True)
                self.bom = self.bom or (bool(bom) and self.keeps_bom)
                self.in_frame = True
                self.frame_batch = False
                position = at + 1
            elif token == _END:
                yield from self._release(cut=False)
                self.in_frame = False
                position = at + 1
            elif token == 0:  # MSH
                self.kind = "message"
                self.bom = self.bom or (bool(bom) and self.keeps_bom)
                self.batch_messages += 1
                self.file_messages += 1
                if not self.batch_open:  # a message outside any BHS: a batch of its own
                    self.file_batches += 1
                    self.batch_open = True
                position = at
            else:  # a batch envelope line: ends the message, dropped
                self.bom = self.bom or (bool(bom) and self.keeps_bom)
                position = _line_end(region, at)
                self.frame_batch = self.in_frame
                made = self._envelope(region[at:position].rstrip(_BLANK))
                header = self.open_header  # a header's chunk is a batch cut before it (CutBatch)
                for trailer in made:
                    yield from self._emit(trailer)
                    self.open_header = header
        self._add(region[position:])

    def _emit(self, chunk: bytes) -> Iterator[bytes]:
        """Yield ``chunk`` (``b""``: none), or hold it while its frame is undecided."""
        if not chunk:
            return
        self.open_header = None
        if self.held is None:
            yield chunk
            return
        self.held.append(chunk)
        self.held_size += len(chunk)
        if self.held_size > HOLD_LIMIT:  # no end block in sight: take the frame as cut
            self.in_frame = False
            yield from self._release(cut=True)

    def _release(self, *, cut: bool) -> Iterator[bytes]:
        """Yield the held chunks; ``cut``: the frame ended in its first message."""
        held, self.held, self.held_size = self.held, None, 0
        if not held:
            return
        if cut:
            held[0] = b"\x0b" + held[0]
        yield from held

    def _envelope(self, line: bytes) -> tuple[BatchTrailer, ...]:
        """Count an envelope line (FHS, BHS, BTS or FTS); the chunks it makes (a trailer whose
        count is more than what arrived, a batch cut before it) are returned to be yielded."""
        # an envelope line sent indented or in lower case (ENVELOPE_VARIANT) counts as sent plain
        envelope = line.lstrip(b" \t")[:3].upper()
        if envelope in (b"BTS", b"FTS"):
            sent = line.lstrip(b" \t").upper()
            if not self.batch_messages and sent in self.trailers:  # no message since: resent
                return ()
            if self.batch_messages:  # (BTS and FTS start the count again: messages since it)
                self.trailers.clear()
            self.trailers.add(sent)
        else:
            self.trailers.clear()
        cut: tuple[BatchTrailer, ...] = ()
        if envelope != b"BTS" and self.batch_header is not None and not self.open_header:
            # a header or file trailer inside a batch whose trailer never came (after a header
            # alone: HeaderOnly is for the end of the input, and the second is the batch resent)
            cut = (CutBatch(self.batch_header, self.batch_messages, envelope.decode()),)
        elif envelope == b"FHS" and self.file_line is not None and not self.open_header:
            cut = self._cut_file(self.file_line, "FHS")  # a file's trailer never came: as above
        self.batch_header = line if envelope == b"BHS" else None
        self.open_header = line if envelope in (b"FHS", b"BHS") else None
        if envelope == b"BHS":
            self.batch_messages = 0
            self.file_batches += 1
            self.file_has_bhs = self.batch_open = True
        elif envelope == b"BTS":
            found, self.batch_messages = self.batch_messages, 0
            headless = not self.batch_open and not self.file_batches
            if not self.batch_open:  # a BTS with neither BHS nor messages before it
                self.file_batches += 1
            self.batch_open = False
            count = _count(line)
            if count is not None and count > found:
                return (BatchTrailer(line, count, found, headless),)
        elif envelope == b"FTS":
            count = _count(line)
            bare = not self.file_has_bhs
            found = self.file_messages if bare else self.file_batches
            # Without BHS, FTS-1 may count the one implicit batch or the messages themselves.
            most = max(found, self.file_batches)
            # Nothing of its file came, and no file before it (a trailer alone, or after a BTS
            # whose batch began before the input: BatchTrailer.headless): it began before the input
            headless = bare and not (self.file_messages or self.file_header or self.files_ended)
            self.files_ended += 1
            self.batch_messages = 0
            self._new_file()
            if count is not None and count > most:
                return (*cut, FileTrailer(line, count, found, bare, headless))
        else:  # FHS
            self.batch_messages = 0
            self._new_file()
            self.file_header = True
            self.file_line = line
        return cut

    def _cut_file(self, line: bytes, after: str) -> tuple[CutFile, ...]:
        """The open file's header ``line`` as cut before ``after`` (see :class:`CutFile`); none
        when nothing of the file came (a header alone, or text: rejected as such)."""
        if not self.file_batches:
            return ()
        bare = not self.file_has_bhs
        return (CutFile(line, self.file_messages if bare else self.file_batches, bare, after),)

    def _add(self, data: bytes) -> None:
        if not data:
            return
        if not self.kind:
            if not data.strip(_BLANK):
                return  # blank lines between messages
            self.kind = "junk"
        self.parts.append(data)

    def _junk(self) -> bytes:
        """The text read so far, not a message, without the blanks around it: stripped part by
        part (the first holds more than blanks: see _add), not joined and then stripped, which
        copied a log of 100 MB once more."""
        parts = self.parts
        self.parts = []
        self.kind = ""
        parts[0] = parts[0].lstrip(_BLANK)
        while not parts[-1].strip(_BLANK):
            parts.pop()
        parts[-1] = parts[-1].rstrip(_BLANK)
        return b"".join(parts)

    def _flush(self, *, cut: bool) -> bytes:
        """The chunk read so far (``b""``: none); ``cut``: it is a message whose MLLP frame never
        ended."""
        if not self.kind:
            return b""
        if self.kind == "junk":
            return self._junk()
        chunk = b"".join(self.parts)
        self.parts = []
        self.kind = ""
        message = _message_chunk(chunk)
        if self.bom:
            message = _BOM_UTF8 + message
        return b"\x0b" + message if cut else message


def _boundaries(region: bytes, batched: bool = False) -> list[tuple[int, int]]:
    """Positions of MLLP block bytes, line-start MSH (token 0) and envelope lines (token 1);
    ``batched``: a batch or file header came before ``region`` and is open (a trailer glued to
    a segment is looked for only then, or when ``region`` holds an envelope line)."""
    found: list[tuple[int, int]] = []
    framed = _START in region or _END in region
    if framed:
        for token in (_START, _END):
            at = region.find(token)
            while at >= 0:
                found.append((at, token))
                at = region.find(token, at + 1)
    # Markers count only at a line start, so look at the first bytes of each line (a search for
    # each marker over the whole region costs several times more on typical messages).
    lines = (region.translate(_LINE_STARTS_TO_CR) if framed or b"\n" in region else region).split(
        b"\r"
    )
    candidates = [number for number, line in enumerate(lines) if line[:3] in _LINE_MARKERS]
    last = len(lines) - 1
    at = line_number = 0  # the start of line ``line_number`` in ``region``
    for number in candidates:
        at += sum(map(len, lines[line_number:number])) + number - line_number
        line_number = number
        line = lines[number]
        skip = 3 if line[:3] == _BOM_UTF8 else 0
        marker = _MARKER_TOKENS.get(line[skip : skip + 3])
        if marker is None:
            # '  MSH|^~\&|' or 'msh|^~\&|': the reader reads it as MSH, so it starts a message
            if HEADER_VARIANT.match(line, skip):
                found.append((at + skip, 0))
            elif line[skip : skip + 1] == b"\0" and (
                (unpadded := line[skip:].lstrip(b"\0"))[:3] == b"MSH"
                or HEADER_VARIANT.match(unpadded)
            ):
                # the padding (after a BOM too) is not the message's: a line of the one before
                found.append((at + len(line) - len(unpadded), 0))
            elif ENVELOPE_VARIANT.match(line, skip):  # 'bts|3': an envelope line as 'BTS|3' is
                found.append((at + skip, 1))
            continue
        # A line end after the marker is a separator too (an envelope line with no fields).
        following = line[skip + 3 : skip + 4] or (b"\r" if number < last else b"")
        if marker == 0 or (following and not following.isalnum()):
            found.append((at + skip, marker))
    found.extend((at, 0) for at in _glued_headers(region))
    if batched or any(token == 1 for _, token in found):  # a trailer can only end a batch
        found.extend((at, 1) for at in _glued_trailers(region))
    found.sort()
    if framed:
        kept: list[tuple[int, int]] = []
        inside = 0  # where the last run of block bytes inside a field ends
        for at, entry in enumerate(found):
            if entry[0] >= inside:
                inside = _in_field(region, found, at)
                if not inside:
                    kept.append(entry)
        return kept
    return found


def _in_field(region: bytes, found: list[tuple[int, int]], at: int) -> int:
    """Where the run of 0x0B that ``found[at]`` (of ``found``, sorted) starts ends, when it is
    inside a field, no MLLP start block; else 0. It is inside a field when after text on its
    line and before text that starts no message or envelope line (no marker in ``found``
    before the line's end) or before the line's end (the end of the field's text), as a word
    processor writes for a line break typed with Shift+Enter (twice for a blank line:
    ``\\x0b\\x0b``). It is a control character of the message (see the reader), not a frame
    that cuts it. A start block comes at a line start, after an end block, or before the
    message it frames. A 0x1C is inside a field (where it ends) when between text on its line
    and text that starts no message or envelope line, as for a 0x0B: an end block is 0x1C 0x0D
    (MLLP; or 0x1C before a line feed, the next frame's 0x0B or the end of the input), and a
    0x1C with text on both sides ends no frame."""
    position, token = found[at]
    if not position or region[position - 1] in _BREAKS:
        return 0
    after = position + 1
    if token == _START:
        while region[after : after + 1] == b"\x0b":  # each is in found, after this one
            after += 1
        # Right before the line's end, an end block or the input's end, it ends the field's
        # text (Shift+Enter after its last word): no message follows it on its line either.
    elif token != _END or region[after : after + 1] in (b"", b"\r", b"\n", b"\x0b", b"\x1c"):
        return 0
    end = _BREAK.search(region, after)
    following = at + after - position
    following = found[following][0] if following < len(found) else len(region)
    return after if following >= (end.start() if end else len(region)) else 0  # no marker


def _glued_headers(region: bytes) -> list[int]:
    """Where an MSH with a header's delimiters (:data:`_GLUED_HEADER`) starts inside a line of
    ``region``, after other text than indentation, padding or a byte-order mark (a header at a
    line start is a marker already): the next message after one that ended without its last
    terminator."""
    glued = []
    header = region.find(b"MSH", 1)
    while header >= 0:
        if region[header - 1] not in _BREAKS and (shape := _GLUED_HEADER.match(region, header)):
            start = header
            while start and region[start - 1] in _BEFORE_HEADER:
                start -= 1
            if region[max(start - 3, 0) : start] == _BOM_UTF8:
                start -= 3
            if start and region[start - 1] not in _BREAKS and _header_shape(region, shape):
                glued.append(header)
        header = region.find(b"MSH", header + 3)
    return glued


def _glued_trailers(region: bytes) -> list[int]:
    """Where a batch or file trailer (:data:`_GLUED_TRAILER`) starts at the end of a segment
    line of ``region``: the line starts with a segment ID and the trailer's separator, the
    character before the trailer is no separator (``|BTS|2`` is a field 'BTS'), and the line
    after it starts a message, an envelope line or a frame, or none follows (the input's or the
    region's end). Text ending so (``…|Patient reports GIFTS|``) with segments after it stays,
    and so does text so ending before a batch trailer, or a file trailer after ``FTS``
    (``…|MARKED LEFT SHIFTS|`` then the batch's own ``BTS|1``)."""
    glued = []
    for shape in _GLUED_TRAILER.finditer(region):
        at, separator = shape.start(), shape.group(1)
        if region[at - 1 : at] == separator or shape.group().count(separator) > 1 + _TRAILER_FIELDS:
            continue
        start = max(region.rfind(b"\r", 0, at), region.rfind(b"\n", 0, at)) + 1
        line = region[start:at]
        if line[3:4] != separator or not line[:3].isalnum() or not line[:3].isupper():
            continue
        after = region[shape.end() :].lstrip(b"\r\n")
        if after and after[:1] not in (b"\x0b", b"\x1c") and after[:3] not in _AFTER_TRAILER:
            continue
        if after[:3] == b"BTS" or after[:3] == shape.group()[:3] == b"FTS":
            # no trailer follows a batch trailer, nor a file trailer a file trailer: the
            # line's end is text ('MARKED LEFT SHIFTS|' before the batch's own BTS)
            continue
        glued.append(at)
    return glued


def _header_shape(region: bytes, shape: re.Match[bytes]) -> bool:
    """Whether the header shape ``shape`` (of :data:`_GLUED_HEADER`) is a header's: encoding
    characters each once (the reader refuses others), those HL7 recommends, or others followed
    by the fields of a header up to MSH-9 on its line."""
    separator, encoding = shape.group(1), shape.group(2)
    if len(set(encoding)) < len(encoding):
        return False
    if encoding[:4] == _ENCODING:
        return True
    end = _BREAK.search(region, shape.end())
    line = region[shape.end() : end.start() if end else len(region)]
    return line.count(separator) >= _HEADER_FIELDS


def _count(line: bytes) -> int | None:
    """The count in field 1 of a trailer line (BTS-1, FTS-1); None when it is empty or not a
    number (not checked)."""
    line = line.lstrip(b" \t")
    fields = line.split(line[3:4]) if len(line) > 3 else [line]
    count = fields[1].strip() if len(fields) > 1 else b""
    if not count.isdigit() or len(count.lstrip(b"0")) > _COUNT_DIGITS:
        return None
    return int(count)


def _line_end(region: bytes, at: int) -> int:
    """Where the envelope line at ``at`` ends: after its CR or LF, or at an MLLP end block
    (0x1C, left for the splitter: the frame ends there)."""
    # Each search stops where the line has already been seen to end: a region holds many
    # batches, and a search to its end per envelope line would make splitting quadratic.
    end = region.find(b"\r", at)
    limit = end if end >= 0 else len(region)
    feed = region.find(b"\n", at, limit)
    if feed >= 0:
        end = limit = feed
    block_end = region.find(b"\x1c", at, limit)
    if block_end >= 0:
        return block_end
    return end + 1 if end >= 0 else len(region)
