"""The public entry points: :func:`convert`, :func:`convert_file`, :func:`iter_convert`,
:func:`iter_file`, :class:`Conversion` and :class:`Outcome`.

This module only joins the steps; each step is a plain function in its own package:

    detect → hl7v2.read_message / fhir.read_items → flagging.evaluate_order
           → fhir.write_bundle / fhir.flag_in_place → (strict) validation

:func:`iter_outcomes` is the streaming form the command line uses: it reads a binary stream
message by message, so memory stays flat however large the input (:func:`iter_file` and
:func:`iter_convert` are the public forms, for a file and for content or an open stream).
:func:`convert` takes content already in memory and splits HL7 v2 straight from it (same
chunks, no stream in between).
"""

from __future__ import annotations

import codecs
import errno
import functools
import inspect
import io
import os
from collections.abc import Generator, Iterable, Iterator, Sized
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from leukoflag import detect, fhir, flagging, hl7v2
from leukoflag._construct import constructor
from leukoflag._quote import defect, shortened
from leukoflag._text import text_bytes
from leukoflag.errors import Error, ReadError
from leukoflag.model import (
    Evaluation,
    Finding,
    Issue,
    Message,
    PatientResult,
    Rejected,
    Severity,
    Timestamp,
)
from leukoflag.settings import Settings

__all__ = [
    "Conversion",
    "Outcome",
    "ReadsBytes",
    "convert",
    "convert_file",
    "iter_convert",
    "iter_file",
    "iter_outcomes",
]

# Bytes looked at to tell the format (detect.detect).
_HEAD = 4096
# Content that is neither HL7 v2 nor FHIR is one Rejected item; it keeps at most this many bytes
# of the input as its raw, so a large file of something else does not fill memory.
REJECTED_RAW_LIMIT = 1 << 20
_DRAIN_BLOCK = 1 << 20
_TRANSCODE_BLOCK = 1 << 16


@dataclass(slots=True)
class Conversion:
    """Everything one conversion produced.

    ``bundles`` holds one output per accepted input item: a FHIR Bundle for each HL7 v2 message,
    the flagged resource itself for each FHIR input item (an Observation stays an Observation).
    ``len(bundles) + len(rejected)`` always equals the number of items read. ``fhir_version``
    is the ``Settings.fhir_version`` it was made with (``None`` for one built by hand): the
    version of the Bundles written for HL7 v2, and of strict mode's validation.
    """

    bundles: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    fhir_version: str | None = None

    # A slotted class without these pickles with protocols 2 and up only (copyreg refuses 0
    # and 1); by fields, as dataclasses does for frozen ones, so subclasses keep theirs too.
    def __getstate__(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]

    def __setstate__(self, state: list[Any]) -> None:
        for f, value in zip(fields(self), state, strict=True):
            setattr(self, f.name, value)

    def __repr__(self) -> str:
        # An engine logs its results: the output (names, MRNs, birth dates) stays out, as in
        # Rejected's repr; each Finding, Issue and Rejected can be shown on its own.
        return (
            f"{type(self).__name__}(bundles={_counted(self.bundles, 'output')}, "
            f"findings={_counted(self.findings, 'finding')}, "
            f"issues={_counted(self.issues, 'issue')}, "
            f"rejected={_counted(self.rejected, 'rejected item')}, "
            f"fhir_version={self.fhir_version!r})"
        )

    def add(self, outcome: Outcome) -> None:
        """Append one item's outcome. A Conversion built by hand (``fhir_version`` None) takes
        the outcome's ``fhir_version``; an outcome of another version is a ``ValueError``."""
        if not isinstance(outcome, Outcome):  # a Conversion failed on .output, saying nothing
            raise TypeError(_not_outcome(outcome))
        if outcome.fhir_version is not None and outcome.fhir_version != self.fhir_version:
            if self.fhir_version is not None:  # its Bundles would be validated as the wrong one
                raise ValueError(
                    f"Conversion.add: the outcome is FHIR {outcome.fhir_version}, this "
                    f"Conversion holds FHIR {self.fhir_version}"
                )
            self.fhir_version = outcome.fhir_version
        if outcome.output is not None:
            self.bundles.append(outcome.output)
        if outcome.rejected is not None:
            self.rejected.append(outcome.rejected)
        self.findings.extend(outcome.findings)
        self.issues.extend(outcome.issues)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one input item: exactly one of ``output`` and ``rejected`` is set.

    ``index`` is the item's 1-based position in its input, ``source`` names the input;
    ``findings`` and ``issues`` are the item's own (a rejected item's ``input.rejected`` too).
    ``fhir_version`` is the ``Settings.fhir_version`` it was made with, as
    :attr:`Conversion.fhir_version` (``None`` for one built by hand). ``normalized`` counts the
    WBC and ANC values the output holds normalized to cells/µL whose value or unit leukoflag
    rewrote (not one sent so already, as a FHIR lab may, nor a derived ANC).
    """

    index: int
    source: str
    output: dict[str, Any] | None
    rejected: Rejected | None
    findings: tuple[Finding, ...] = ()
    issues: tuple[Issue, ...] = ()
    fhir_version: str | None = None
    normalized: int = 0

    def __repr__(self) -> str:
        # As Conversion's: the output's kind, never its content; the Rejected without its raw.
        return (
            f"{type(self).__name__}(index={self.index!r}, source={self.source!r}, "
            f"output={_output_summary(self.output)}, rejected={self.rejected!r}, "
            f"findings={_counted(self.findings, 'finding')}, "
            f"issues={_counted(self.issues, 'issue')}, fhir_version={self.fhir_version!r})"
        )


def _not_outcome(given: object) -> str:
    """Why ``Conversion.add(given)`` refuses ``given``."""
    said = f"Conversion.add() takes an Outcome, not {type(given).__name__}"
    if isinstance(given, Conversion):
        return f"{said}: to join two Conversions, extend each of their lists"
    return said


def _counted(items: Sized, what: str) -> str:
    """``items`` for a repr, by number only: ``<3 findings>``."""
    return f"<{len(items):,} {what}{'' if len(items) == 1 else 's'}>"


def _output_summary(output: dict[str, Any] | None) -> str:
    """An item's output for a repr, by kind only: ``<Bundle, 9 entries>``, ``<Observation>``."""
    if output is None:
        return "None"
    kind = output.get("resourceType")
    shown = shortened(kind, 40) if isinstance(kind, str) else "FHIR JSON"
    entries = output.get("entry")
    if isinstance(entries, list):
        return f"<{shown}, {len(entries):,} entr{'y' if len(entries) == 1 else 'ies'}>"
    return f"<{shown}>"


# Made once: a constructor() call is a cache look-up of about 900 instructions.
_new_outcome = constructor(Outcome)


def convert(
    data: bytes | bytearray | memoryview | str,
    settings: Settings | None = None,
    *,
    source: str = "<input>",
) -> Conversion:
    """Convert HL7 v2 or FHIR JSON/NDJSON ``data`` (bytes, a bytearray or memoryview of them, or
    text); the format is detected from the content."""
    if isinstance(data, str):
        raw, decoded = text_bytes(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw, decoded = bytes(data), False
    else:  # bytes() would take a path's name or an int's NUL bytes for content
        raise TypeError(_not_content(data))
    settings = _settings_given("convert", settings)
    if not isinstance(source, str):  # it names the input in every Rejected
        raise TypeError(f"convert(): source must be str, not {type(source).__name__}")
    conversion = Conversion(fhir_version=settings.fhir_version)
    for outcome in _iter_data_outcomes(raw, settings, source, decoded):
        conversion.add(outcome)
    return conversion


def _not_content(data: object) -> str:
    """Why ``convert(data)`` refuses ``data``, and what to call instead."""
    said = f"convert() takes the content as bytes or str, not {type(data).__name__}"
    if isinstance(data, os.PathLike):
        return f"{said}: for a file, use leukoflag.convert_file(path)"
    if hasattr(data, "read"):
        return f"{said}: for a stream, pass its .read(), or use leukoflag.iter_convert(stream)"
    return said


class ReadsBytes(Protocol):
    """A binary stream open for reading, of any class: what :func:`iter_convert` takes beside
    content (a SpooledTemporaryFile upload, an HTTP client's response body)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left for -1); ``b""`` at the end."""
        ...


def iter_convert(
    # BufferedIOBase, a SpooledTemporaryFile, an HTTP response body: ReadsBytes
    data: bytes | bytearray | memoryview | str | BinaryIO | io.RawIOBase | ReadsBytes,
    settings: Settings | None = None,
    *,
    source: str = "<input>",
) -> Generator[Outcome, None, None]:
    """Convert ``data`` item by item: one :class:`Outcome` per item, in input order, each made
    as it is read. ``data`` is content, as for :func:`convert`, or a binary stream open for
    reading (a socket's ``makefile("rb")``, ``sys.stdin.buffer``, a web framework's
    ``SpooledTemporaryFile`` upload: any object whose ``read(size)`` gives bytes): read to its
    end, never closed by this call, memory flat however long it is.

    Arguments are checked by the call (a ``TypeError``, as :func:`convert` raises it); a read
    of the stream that fails is a :class:`leukoflag.ReadError` from the loop naming ``source``.
    """
    settings = _settings_given("iter_convert", settings)
    if not isinstance(source, str):  # it names the input in every Rejected
        raise TypeError(f"iter_convert(): source must be str, not {type(source).__name__}")
    if isinstance(data, str):
        raw, decoded = text_bytes(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw, decoded = bytes(data), False
    elif isinstance(data, io.RawIOBase | io.BufferedIOBase):
        if not data.readable():  # open for writing only: each read would fail
            raise TypeError(f"iter_convert() takes a stream open for reading, not {data!r}")
        return _stream_outcomes(cast("BinaryIO", data), settings, source)
    elif _reads(data):  # a SpooledTemporaryFile (io.IOBase only), an HTTP response body
        readable = getattr(data, "readable", None)
        if callable(readable) and not readable():
            raise TypeError(f"iter_convert() takes a stream open for reading, not {data!r}")
        nothing = _read_nothing(cast("ReadsBytes", data))
        if not isinstance(nothing, bytes | bytearray):
            raise TypeError(_not_streamable(data, text=isinstance(nothing, str)))
        stream = io.BufferedReader(_BytesReads(cast("ReadsBytes", data), bytes(nothing)))
        return _stream_outcomes(cast("BinaryIO", stream), settings, source)
    else:
        raise TypeError(_not_streamable(data))
    return _generated(_iter_data_outcomes(raw, settings, source, decoded))


def _reads(data: object) -> bool:
    """Whether ``data`` is a stream of another class than io's (a web framework's
    SpooledTemporaryFile upload, an HTTP client's response body), text streams apart."""
    return callable(getattr(data, "read", None)) and not isinstance(
        data, io.TextIOBase | os.PathLike
    )


def _read_nothing(stream: ReadsBytes) -> object:
    """``stream.read(0)``, which reads nothing: b"" from a binary stream, "" from one in text
    mode (a SpooledTemporaryFile opened "w+"); None for a read() that takes no size. A read that
    gives all it holds whatever the size gives content here: it is read first."""
    try:
        nothing: object = stream.read(0)
    except TypeError:
        return None
    if inspect.iscoroutine(nothing):  # asyncio's StreamReader: not awaited, so not left to warn
        nothing.close()
        return None
    return nothing


class _BytesReads(io.RawIOBase):
    """A stream that has only ``read`` as the raw stream a BufferedReader takes; closing this
    leaves the stream open (iter_convert never closes its caller's stream)."""

    def __init__(self, stream: ReadsBytes, first: bytes = b"") -> None:
        super().__init__()
        self._read = stream.read
        # what a read gave beyond the size asked (some give all they hold, to read(0) too)
        self._left = first

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        block = self._left or self._read(len(buffer))
        chunk, self._left = block[: len(buffer)], block[len(buffer) :]
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _generated(outcomes: Iterator[Outcome]) -> Generator[Outcome, None, None]:
    """``outcomes`` as a generator, as :func:`iter_file` gives them (``close()`` too)."""
    yield from outcomes


def _stream_outcomes(
    stream: BinaryIO, settings: Settings, source: str
) -> Generator[Outcome, None, None]:
    """:func:`iter_outcomes` of a caller's stream; a failed read is a ReadError naming it."""
    try:
        yield from iter_outcomes(stream, settings, source=source)
    except ReadError:
        raise
    except OSError as exc:  # a connection reset or timed out mid-stream
        raise ReadError(exc.errno, f"cannot read '{source}': {exc.strerror or exc}") from exc


def _not_streamable(data: object, *, text: bool = False) -> str:
    """Why ``iter_convert(data)`` refuses ``data``, and what to call instead."""
    said = (
        "iter_convert() takes the content as bytes or str, or a binary stream, "
        f"not {type(data).__name__}"
    )
    if isinstance(data, os.PathLike):
        return f"{said}: for a file, use leukoflag.iter_file(path)"
    if isinstance(data, io.TextIOBase) or text:  # text: a SpooledTemporaryFile opened "w+"
        return f"{said}: open the stream in binary mode ('rb'), or pass its .read()"
    if hasattr(data, "read"):
        return f"{said}: for a stream of another kind, pass its .read()"
    return said


def convert_file(path: str | os.PathLike[str], settings: Settings | None = None) -> Conversion:
    """Convert one file; raises :class:`leukoflag.ReadError` when it cannot be read."""
    _check_path("convert_file", path)
    settings = _settings_given("convert_file", settings)
    conversion = Conversion(fhir_version=settings.fhir_version)
    for outcome in iter_file_outcomes(path, settings):
        conversion.add(outcome)
    return conversion


def iter_file(
    path: str | os.PathLike[str], settings: Settings | None = None
) -> Generator[Outcome, None, None]:
    """Convert one file item by item: one :class:`Outcome` per item, in input order, each made
    as the file is read (memory stays flat however large the file).

    The file is opened by this call (a :class:`leukoflag.ReadError` now, as :func:`convert_file`
    raises it) and closed when the generator ends, is closed or is collected (``break``).
    """
    _check_path("iter_file", path)
    return iter_file_outcomes(path, _settings_given("iter_file", settings))


def _check_path(call: str, path: object) -> None:
    """A ``TypeError`` naming ``call`` for a ``path`` that is no str or os.PathLike of str."""
    if not isinstance(path, str | os.PathLike):  # os.fspath's error would not name the call
        raise TypeError(_not_path(call, path))
    if not isinstance(os.fspath(path), str):  # os.scandir(b"feeds")'s entries: pathlib refuses
        raise TypeError(_not_path(call, path))


def _not_path(call: str, path: object) -> str:
    """Why ``call(path)`` refuses ``path``, and what to call instead."""
    said = f"{call}() takes a path as str or os.PathLike, not {type(path).__name__}"
    if hasattr(path, "read"):
        return f"{said}: for an open file, use leukoflag.convert(stream.read())"
    if isinstance(path, os.PathLike):
        return f"{said} giving bytes: for a bytes path, pass os.fsdecode(path)"
    return said


def _settings_given(call: str, settings: object) -> Settings:
    """``settings``, or the defaults for None; anything else is a caller's mistake, said so
    before it fails deep inside as an AttributeError (or an empty dict quietly means defaults)."""
    if settings is None:
        return default_settings()
    if not isinstance(settings, Settings):
        raise TypeError(
            f"{call}(): settings must be a leukoflag.Settings, not {type(settings).__name__} "
            "(build one: leukoflag.Settings(fhir_version='R5', ...))"
        )
    return settings


@functools.cache
def default_settings() -> Settings:
    """The ``Settings()`` used when none are given (immutable, so one instance serves all)."""
    return Settings()


def iter_file_outcomes(
    path: str | os.PathLike[str], settings: Settings
) -> Generator[Outcome, None, None]:
    """Stream the outcomes of one file (see :func:`iter_outcomes`), opened by this call."""
    name = os.fspath(path)
    if not name:  # Path("") is ".": the error would name the working directory, not ""
        raise ReadError(errno.ENOENT, "cannot read '': the path is empty (no file named)")
    try:
        stream = Path(path).open("rb")  # noqa: SIM115 - closed by the generator's with block
    except OSError as exc:
        raise ReadError(exc.errno, f"cannot read '{name}': {exc.strerror}") from exc
    except ValueError as exc:  # a NUL in the path: pathlib raises ValueError, not OSError
        raise ReadError(errno.EINVAL, f"cannot read {name!r}: {exc}") from exc
    outcomes = _file_outcomes(stream, settings, name)
    # started into its with block: closing or collecting it unstarted would not close the file
    next(outcomes)
    return cast("Generator[Outcome, None, None]", outcomes)


def _file_outcomes(
    stream: BinaryIO, settings: Settings, name: str
) -> Generator[Outcome | None, None, None]:
    """``None`` once the stream is owned (see :func:`iter_file_outcomes`), then its outcomes."""
    with stream:
        yield None
        try:
            yield from iter_outcomes(stream, settings, source=name)
        except ReadError:
            raise
        except OSError as exc:  # a read failing after the open (a network share gone, EIO)
            raise ReadError(exc.errno, f"cannot read '{name}': {exc.strerror or exc}") from exc


def iter_outcomes(stream: BinaryIO, settings: Settings, *, source: str) -> Iterator[Outcome]:
    """Read ``stream`` item by item and yield one :class:`Outcome` per item, in input order."""
    stream, head = _peekable(stream)
    kind = detect.detect(head)
    if kind == "hl7v2":
        yield from _v2_outcomes(hl7v2.split_stream(stream), settings, source)
    elif kind == "fhir":
        yield from _fhir_outcomes(_utf8(stream, head), settings, source)
    else:
        yield from _unknown_outcomes(stream, source, settings)


def _iter_data_outcomes(
    raw: bytes, settings: Settings, source: str, decoded: bool
) -> Iterator[Outcome]:
    """:func:`iter_outcomes` of ``io.BytesIO(raw)``: HL7 v2 is split from ``raw`` itself.
    ``decoded``: ``raw`` is the UTF-8 of text given as ``str`` (see hl7v2.read_message)."""
    head = raw[:_HEAD]
    if len(raw) > _HEAD and raw[:1] in b" \t\r\n\xef":  # a blank head: told after the blanks
        rest = (raw[at : at + _HEAD] for at in range(_HEAD, len(raw), _HEAD))
        head = detect.past_blanks(head, rest)
    if detect.detect(head) == "hl7v2":
        return _v2_outcomes(hl7v2.split_bytes(raw), settings, source, decoded=decoded)
    return iter_outcomes(io.BytesIO(raw), settings, source=source)


def _v2_outcomes(
    raws: Iterable[bytes], settings: Settings, source: str, *, decoded: bool = False
) -> Iterator[Outcome]:
    for index, raw in enumerate(raws, start=1):
        yield convert_v2_message(raw, index, source, settings, decoded=decoded)


def _unknown_outcomes(stream: BinaryIO, source: str, settings: Settings) -> Iterator[Outcome]:
    """Content that is neither HL7 v2 nor FHIR: one Rejected item, keeping at most
    :data:`REJECTED_RAW_LIMIT` bytes (the rest is counted, not kept: memory stays flat)."""
    kept = _read_up_to(stream, REJECTED_RAW_LIMIT)
    rest = _remaining_size(stream)
    if not rest and detect.is_blank(kept):
        return  # an empty input holds no items: nothing read, nothing rejected
    reason = detect.describe_unknown(kept)
    if rest:
        reason += (
            f" (input of {len(kept) + rest} bytes: only its first {len(kept)} bytes are kept "
            "with this rejection)"
        )
    rejected = Rejected(index=1, source=source, reason=reason, raw=kept, location="ITEM[1]")
    issues = (_rejection_issue(rejected),)
    yield Outcome(1, source, None, rejected, issues=issues, fhir_version=settings.fhir_version)


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes of ``stream``, fewer only at its end (a raw stream may return less)."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0 and (block := stream.read(wanted)):
        parts.append(block)
        wanted -= len(block)
    return b"".join(parts)


def _remaining_size(stream: BinaryIO) -> int:
    """How many bytes are left in ``stream``, read in blocks and dropped when it cannot seek."""
    if stream.seekable():
        position = stream.tell()
        try:
            end = stream.seek(0, io.SEEK_END)
        except OSError:  # seekable, but not to its end (a /proc file, a ranged reader): read on
            stream.seek(position)
        else:
            return max(end - position, 0)
    total = 0
    while block := stream.read(_DRAIN_BLOCK):
        total += len(block)
    return total


def convert_v2_message(
    raw: bytes, index: int, source: str, settings: Settings, *, decoded: bool = False
) -> Outcome:
    """Read, evaluate and write one raw HL7 v2 message (a picklable unit of work for --jobs);
    ``decoded`` as for :func:`leukoflag.hl7v2.read_message`."""
    try:
        return _convert_v2_message(raw, index, source, settings, decoded)
    except Error:
        raise  # a settings or packaging problem: every message would fail alike
    except Exception as exc:  # noqa: BLE001 - a defect must cost one message, not the whole run
        return _defect(index, source, bytes(raw), f"MSG[{index}]", "message", exc, settings)


def _convert_v2_message(
    raw: bytes, index: int, source: str, settings: Settings, decoded: bool
) -> Outcome:
    read = hl7v2.read_message(raw, index=index, source=source, settings=settings, decoded=decoded)
    if isinstance(read, Rejected):
        return _rejected(read, index, source, settings)
    unchecked: tuple[Issue, ...] = ()
    if settings.strict:
        why = hl7v2.structure_unchecked(read.version, read.message_type)
        if why:  # not the message's fault: say so, and go on without the structure check
            text = f"HL7 v{read.version} structure not checked in strict mode: {why}"
            where = f"{read.location}/MSH[1]-12"
            unchecked = (Issue(Severity.WARNING, "hl7v2.structure-unchecked", where, text),)
        elif problems := hl7v2.validate_structure(raw, settings=settings):
            rejected = _reject(
                read.index, source, raw, read.location, what="structure", problems=problems
            )
            return _rejected(rejected, index, source, settings)
    evaluations = evaluate_groups(read.groups, settings, fallback=read)
    bundle, write_issues = fhir.write_bundle(read, evaluations, settings)
    issues = (*read.issues, *unchecked, *_evaluation_issues(evaluations), *write_issues)
    return _finished(index, source, raw, read.location, bundle, evaluations, issues, settings)


def _fhir_outcomes(stream: BinaryIO, settings: Settings, source: str) -> Iterator[Outcome]:
    for item in fhir.read_items(stream, source=source, settings=settings):
        yield _fhir_outcome(item, source, settings)


def split_fhir(stream: BinaryIO) -> Iterator[bytes | fhir.Document]:
    """The items of a FHIR ``stream`` unparsed, read as :func:`iter_outcomes` reads them (UTF-16/32
    transcoded to UTF-8): NDJSON lines or one document (see :func:`leukoflag.fhir.split_items`).
    With :func:`convert_fhir_line` and :func:`convert_fhir_document`, the same outcomes."""
    stream, head = _peekable(stream)
    return fhir.split_items(_utf8(stream, head))


def convert_fhir_line(raw: bytes, index: int, source: str, settings: Settings) -> Outcome:
    """Read, evaluate and flag one NDJSON line (a picklable unit of work for --jobs)."""
    return _fhir_outcome(fhir.read_line(raw, index=index, source=source), source, settings)


def convert_fhir_document(
    document: fhir.Document, source: str, settings: Settings
) -> Iterator[Outcome]:
    """The outcomes of a FHIR input that is one JSON document (a resource or an array)."""
    for item in fhir.read_document(document, source=source):
        yield _fhir_outcome(item, source, settings)


def _fhir_outcome(item: fhir.FhirItem | Rejected, source: str, settings: Settings) -> Outcome:
    if isinstance(item, Rejected):
        return _rejected(item, item.index, source, settings)
    try:
        return _flagged_outcome(item, source, settings)
    except Error:
        raise  # a settings or packaging problem: every item would fail alike
    except Exception as exc:  # noqa: BLE001 - a defect must cost one item, not the whole run
        return _defect(item.index, source, item.raw, item.location, "item", exc, settings)


def _flagged_outcome(item: fhir.FhirItem, source: str, settings: Settings) -> Outcome:
    evaluations = evaluate_groups(item.groups, settings, fallback=None, sent=item.sent)
    for location in item.derived:  # leukoflag's derived ANC read back: its finding says so
        found = evaluations.get(location)
        if found is not None and found.finding is not None:
            finding = replace(found.finding, derived=True)
            evaluations[location] = replace(found, finding=finding)
    output, write_issues = fhir.flag_in_place(item, evaluations, settings)
    issues = (*item.issues, *_evaluation_issues(evaluations), *write_issues)
    return _finished(
        item.index, source, item.raw, item.location, output, evaluations, issues, settings
    )


def _finished(  # noqa: PLR0917 - one item's whole story, told once for both formats
    index: int,
    source: str,
    raw: bytes,
    location: str,
    output: dict[str, Any],
    evaluations: dict[str, Evaluation],
    issues: tuple[Issue, ...],
    settings: Settings,
) -> Outcome:
    """The outcome of a converted item; in strict mode, rejected when its output is not valid
    FHIR."""
    version = settings.fhir_version
    # a problem sent again and again (a bad flag in each of 2,000 repetitions of OBX-8) is one
    # Issue: the same code, location and text said twice tells nothing more
    if len(issues) > 1:  # hashing an Issue is a Python call: not for a single one
        issues = tuple(dict.fromkeys(issues))
    if settings.strict:
        problems = fhir.validate(output, version)
        if problems:
            rejected = _reject(
                index, source, raw, location, what="FHIR validation", problems=problems
            )
            issues = (*issues, _rejection_issue(rejected))
            return Outcome(index, source, None, rejected, issues=issues, fhir_version=version)
    findings, normalized = _findings(evaluations)
    # once per converted item: the frozen dataclass's own __init__ costs about 6k instructions more
    return _new_outcome(index, source, output, None, findings, issues, version, normalized)


def evaluate_groups(
    groups: tuple[PatientResult, ...],
    settings: Settings,
    *,
    fallback: Message | None,
    sent: Timestamp | None = None,
) -> dict[str, Evaluation]:
    """The flagging step's evaluation of every result, by location (``leukoflag explain`` uses it
    to show what the conversion decided; ``fallback`` dates results by the message time; its
    offset, or that of ``sent``, a FHIR message Bundle's timestamp, names the zone of the
    message's local times)."""
    evaluations: dict[str, Evaluation] = {}
    message_time = fallback.timestamp if fallback is not None else sent
    message_day = message_time.day if fallback is not None and message_time is not None else None
    for group in groups:
        context = flagging.patient_context(group.patient, settings, message_time)
        replaced = flagging.replaced_across_orders(group.orders, context, settings)
        for order in group.orders:
            for evaluation in flagging.evaluate_order(
                order,
                context,
                settings,
                fallback_day=message_day,
                replaced=replaced,
                orders=group.orders,
            ):
                evaluations[evaluation.location] = evaluation
        if len(group.orders) > 1:  # an order sent again: final counts that differ (rare)
            evaluations.update(
                flagging.duplicated_across_orders(group.orders, context, settings, evaluations)
            )
    return evaluations


def _evaluation_issues(evaluations: dict[str, Evaluation]) -> list[Issue]:
    # most evaluations hold none: a test of the tuple costs half of iterating it empty
    return [issue for e in evaluations.values() if e.issues for issue in e.issues]


def _findings(evaluations: dict[str, Evaluation]) -> tuple[tuple[Finding, ...], int]:
    """The findings of ``evaluations``, and how many values they rewrote to cells/µL
    (Outcome.normalized: a count sent so, or derived, is not). One loop in Python: the
    interpreter reads a slot for a few instructions, where map() with attrgetter() goes through
    the generic attribute lookup (8k instructions against 23k for a 20-result CBC)."""
    findings = []
    normalized = 0
    for evaluation in evaluations.values():
        if evaluation.finding is not None:
            findings.append(evaluation.finding)
        if evaluation.quantity is not None and evaluation.quantity.rewritten:
            normalized += 1
    return tuple(findings), normalized


def _reject(
    index: int, source: str, raw: bytes, location: str, *, what: str, problems: list[str]
) -> Rejected:
    shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
    return Rejected(index, source, f"strict {what} failed: {shown}", raw, location)


def _defect(  # noqa: PLR0917 - the item's identity and the exception, as Rejected needs them
    index: int,
    source: str,
    raw: bytes,
    location: str,
    what: str,
    exc: Exception,
    settings: Settings,
) -> Outcome:
    """A Rejected outcome for an item leukoflag itself failed on, kept raw for the bug report."""
    rejected = Rejected(index, source, defect(f"convert this {what}", exc), raw, location)
    return _rejected(rejected, index, source, settings)


def _rejected(rejected: Rejected, index: int, source: str, settings: Settings) -> Outcome:
    """The outcome of an item that gave no output: its Rejected and the Issue saying so."""
    issues = (_rejection_issue(rejected),)
    return Outcome(index, source, None, rejected, issues=issues, fhir_version=settings.fhir_version)


def _rejection_issue(rejected: Rejected) -> Issue:
    return Issue(
        Severity.ERROR,
        "input.rejected",
        rejected.location or f"ITEM[{rejected.index}]",
        rejected.reason,
    )


class _Utf8Transcoder(io.RawIOBase):
    """A UTF-16/32 binary stream read as UTF-8, block by block (memory stays flat); the
    byte-order mark is consumed, undecodable bytes become U+FFFD."""

    def __init__(self, stream: BinaryIO, codec: str) -> None:
        super().__init__()
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder(codec)("replace")
        self._pending = b""
        self._offset = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._offset >= len(self._pending) and not self._ended:
            block = self._stream.read(_TRANSCODE_BLOCK)
            self._ended = not block
            self._pending = self._decoder.decode(block, final=self._ended).encode("utf-8")
            self._offset = 0
        chunk = self._pending[self._offset : self._offset + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._offset += len(chunk)
        return len(chunk)


def _utf8(stream: BinaryIO, head: bytes) -> BinaryIO:
    """``stream`` read as UTF-8: UTF-16/32 JSON, with or without byte-order mark, is transcoded
    (the FHIR reader reads UTF-8)."""
    codec = detect.wide_encoding(head) or detect.bare_wide_encoding(head)
    if codec:
        return cast("BinaryIO", io.BufferedReader(_Utf8Transcoder(stream, codec)))
    return stream


def _peekable(stream: BinaryIO, size: int = _HEAD) -> tuple[BinaryIO, bytes]:
    """``stream`` (wrapped if needed) and its first bytes, not consumed."""
    if stream.seekable():
        position = stream.tell()
        head = stream.read(size)
        if len(head) == size:  # a blank head: the format is told after the blanks
            head = detect.past_blanks(head, iter(functools.partial(stream.read, size), b""))
        stream.seek(position)
        return stream, head
    return peek_head(stream, size)


def peek_head(stream: BinaryIO, size: int = _HEAD) -> tuple[BinaryIO, bytes]:
    """A stream that cannot seek (a pipe, a socket), buffered, and its first bytes to tell its
    format by: what its first read holds, or more when that tells nothing yet (a sender's first
    write of '\\r\\n' or 'M', or of a segment's tail alone: the whole feed was rejected), or what
    follows the blanks when its first ``size`` bytes are blank (at most :data:`_BLANKS_LIMIT`
    bytes kept). The stream returned reads those bytes again; it is ``stream`` when nothing more
    was read."""
    if not isinstance(stream, io.BufferedReader):
        stream = cast("BinaryIO", io.BufferedReader(cast("io.RawIOBase", stream)))
    head = cast("io.BufferedReader", stream).peek(size)[:size]
    if not _head_undecided(head, size) and not _blank_head(head, size):
        return stream, head
    parts = [stream.read(len(head))]
    buffered = cast("io.BufferedReader", stream)
    while _head_undecided(head, size) and (block := buffered.read1(size - len(head))):
        parts.append(block)
        head = b"".join(parts)
    if _blank_head(head, size):  # thousands of blank lines first: told by what follows them
        head = detect.past_blanks(head, _kept_blocks(buffered, parts, size))
    return cast("BinaryIO", io.BufferedReader(_Replayed(b"".join(parts), stream))), head


# The most blank bytes read from a stream that cannot seek to tell its format by what follows
# them: they are kept, to be read again (memory stays bounded).
_BLANKS_LIMIT = 1 << 20


def _blank_head(head: bytes, size: int) -> bool:
    """Whether ``head`` is ``size`` blank bytes (and maybe a byte-order mark), so that its format
    is told by what follows the blanks (:func:`leukoflag.detect.past_blanks`)."""
    return len(head) >= size and detect.is_blank(head) and not detect.wide_encoding(head)


def _kept_blocks(stream: io.BufferedReader, parts: list[bytes], size: int) -> Iterator[bytes]:
    """The next blocks of ``stream``, each appended to ``parts`` (read again later), until
    :data:`_BLANKS_LIMIT` bytes are kept."""
    kept = sum(map(len, parts))
    while kept < _BLANKS_LIMIT and (block := stream.read1(size)):
        parts.append(block)
        kept += len(block)
        yield block


def _head_undecided(head: bytes, size: int) -> bool:
    """Whether ``head``, shorter than ``size``, tells no format and may with the next bytes:
    blanks, no whole line, or one line that the next can make HL7 v2 or FHIR (the tail of a
    segment before ``SPM|…``, a JSON value before an object line)."""
    if not head or len(head) >= size or detect.detect(head) != "unknown":
        return False
    # UTF-16/32: a blank line is its characters' zero bytes too (and the byte-order mark's)
    if codec := detect.wide_encoding(head):
        head = head.decode(codec, "ignore").encode()
    elif b"\x00" in head[:4]:  # without byte-order mark (FHIR JSON may come so)
        head = head.replace(b"\x00", b"")
    lines = head.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")[:-1]
    return sum(1 for line in lines if line.strip()) < 2


class _Replayed(io.RawIOBase):
    """``head``, then what ``stream`` reads: a stream whose first bytes were read to tell its
    format, as if they had not been. Each read after them is one read of ``stream`` (read1), so
    a live feed is read as it arrives."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:  # the command line watches a live feed's descriptor
        return self._stream.fileno()

    def readinto(self, buffer: Any) -> int:
        if self._head:
            chunk, self._head = self._head[: len(buffer)], self._head[len(buffer) :]
        else:
            chunk = cast("io.BufferedReader", self._stream).read1(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)
