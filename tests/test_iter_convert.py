"""leukoflag.iter_convert: content in memory or an open binary stream, item by item.

An engine receiving a batch over a connection had convert(stream.read()) (every output kept
until the end) or iter_file (a path) only; iter_convert gives iter_file's Outcomes for both.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import io
import socket
import tempfile
import threading
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

import leukoflag

_SEGMENTS = (
    "MSH|^~\\&|HEMLAB|LAKEVIEW|EHR|LAKEVIEW|20261214063000-0700||ORU^R01^ORU_R01|{control}|P|2.5.1",
    "PID|1||LV{control}^^^LAKEVIEW^MR||ABERNATHY^CORMAC||19520611|M",
    (
        "OBR|1|EP-{control}^EHR|LF-{control}^HEMLAB|58410-2^CBC panel^LN|||20261214054500-0700|||"
        "||||||||||||20261214062000-0700|||F"
    ),
    (
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||{wbc}|10*3/uL^^UCUM|"
        "4.0-11.0||||F|||20261214054500-0700"
    ),
)


def _cbc(control: str, wbc: str) -> bytes:
    return ("\r".join(s.format(control=control, wbc=wbc) for s in _SEGMENTS) + "\r").encode()


_BATCH = (
    _cbc("LV1214001", "2.6")
    + b"MSH|^~|HEMLAB|LAKEVIEW\rPID|1||LV1214002\r"
    + _cbc("LV1214003", "7.9")
)


def _summary(outcomes: list[leukoflag.Outcome]) -> list[tuple[int, str, bool, list[Decimal]]]:
    return [
        (o.index, o.source, o.rejected is None, [f.value_per_ul for f in o.findings])
        for o in outcomes
    ]


def test_a_stream_gives_the_outcomes_iter_file_gives_for_its_content(tmp_path: Path) -> None:
    path = tmp_path / "lakeview.hl7"
    path.write_bytes(_BATCH)
    r5 = leukoflag.Settings(fhir_version="R5")
    streamed = list(leukoflag.iter_convert(io.BytesIO(_BATCH), r5, source=str(path)))
    assert streamed == list(leukoflag.iter_file(path, r5))
    assert _summary(streamed) == [
        (1, str(path), True, [Decimal(2600)]),
        (2, str(path), False, []),
        (3, str(path), True, [Decimal(7900)]),
    ]
    assert {o.fhir_version for o in streamed} == {"R5"}


def test_content_in_memory_gives_the_outcomes_convert_gathers() -> None:
    gathered = leukoflag.Conversion()
    for outcome in leukoflag.iter_convert(_BATCH.decode(), source="lakeview"):
        gathered.add(outcome)
    assert gathered == leukoflag.convert(_BATCH, source="lakeview")
    assert [r.location for r in gathered.rejected] == ["MSG[2]"]


def test_a_connection_is_read_to_its_end_and_left_open_for_its_owner() -> None:
    sender, receiver = socket.socketpair()

    def send() -> None:
        with sender:
            sender.sendall(_BATCH)

    feed = threading.Thread(target=send)
    feed.start()
    with receiver, receiver.makefile("rb") as stream:
        outcomes = list(leukoflag.iter_convert(stream, source="mllp://lis:6661"))
        assert not stream.closed
    feed.join()
    assert _summary(outcomes) == [
        (1, "mllp://lis:6661", True, [Decimal(2600)]),
        (2, "mllp://lis:6661", False, []),
        (3, "mllp://lis:6661", True, [Decimal(7900)]),
    ]


@pytest.mark.parametrize("blanks", [b"\r\n" * 3000, b"\xef\xbb\xbf" + b" " * 5000 + b"\n"])
def test_a_connection_whose_first_4_kib_are_blank_is_told_by_what_follows(blanks: bytes) -> None:
    # An export sent with thousands of blank lines first: a file or bytes were told by what
    # follows the blanks (f4d2d1c), a connection by its blank first 4 KiB, so the whole feed was
    # one Rejected, "not HL7 v2 or FHIR JSON: content starts with 'MSH|^~\\&|HEMLAB|…'".
    sender, receiver = socket.socketpair()

    def send() -> None:
        with sender:
            sender.sendall(blanks)
            sender.sendall(_BATCH)

    feed = threading.Thread(target=send)
    feed.start()
    with receiver, receiver.makefile("rb") as stream:
        outcomes = list(leukoflag.iter_convert(stream, source="mllp://lis:6661"))
    feed.join()
    assert outcomes == list(leukoflag.iter_convert(blanks + _BATCH, source="mllp://lis:6661"))
    assert _summary(outcomes) == [
        (1, "mllp://lis:6661", True, [Decimal(2600)]),
        (2, "mllp://lis:6661", False, []),
        (3, "mllp://lis:6661", True, [Decimal(7900)]),
    ]


def test_fhir_ndjson_from_a_stream_is_read_line_by_line() -> None:
    line = (
        b'{"resourceType":"Observation","status":"final","code":{"coding":[{"system":'
        b'"http://loinc.org","code":"751-8"}]},"subject":{"reference":"Patient/lv-1"},'
        b'"effectiveDateTime":"2026-12-14T05:45:00-07:00","valueQuantity":{"value":0.4,'
        b'"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}\n'
    )
    outcomes = list(leukoflag.iter_convert(io.BufferedReader(io.BytesIO(line + b"{cut\n"))))
    assert [(o.index, o.rejected is None) for o in outcomes] == [(1, True), (2, False)]
    assert [(f.value_per_ul, f.code) for f in outcomes[0].findings] == [(Decimal(400), "LL")]


class _ResetAfterFirstBlock(io.RawIOBase):
    """A connection that gives one block, then is reset by its peer."""

    def __init__(self, block: bytes) -> None:
        super().__init__()
        self._block: bytes | None = block

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._block is None:
            raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
        size = len(self._block)
        buffer[:size] = self._block
        self._block = None
        return size


class _NoEnd(io.BytesIO):
    """A seekable stream that cannot seek to its end (a ranged reader of an object store that
    was given no length; a /proc file)."""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            raise io.UnsupportedOperation("seek from end not supported")
        return super().seek(offset, whence)


def test_a_stream_that_cannot_seek_to_its_end_rejects_what_is_neither_as_one_item() -> None:
    # Counting what is left of content that is neither HL7 v2 nor FHIR seeked to its end: a
    # ReadError "cannot read 'export.csv': seek from end not supported" came out of the loop
    # instead of the one Rejected the same content gives when it can seek, or in memory.
    content = b"patient,wbc\nng-771204,2.9\n"
    outcomes = list(leukoflag.iter_convert(_NoEnd(content), source="export.csv"))
    assert outcomes == list(leukoflag.iter_convert(content, source="export.csv"))
    (outcome,) = outcomes
    assert outcome.rejected is not None
    assert outcome.rejected.reason == "not HL7 v2 or FHIR JSON: content starts with 'patient,wbc'"


def test_a_stream_that_fails_while_it_is_read_is_a_read_error_naming_it() -> None:
    outcomes = leukoflag.iter_convert(_ResetAfterFirstBlock(_BATCH), source="mllp://lis:6661")
    with pytest.raises(leukoflag.ReadError) as caught:
        list(outcomes)
    assert caught.value.errno == errno.ECONNRESET
    assert str(caught.value) == (
        f"[Errno {errno.ECONNRESET}] cannot read 'mllp://lis:6661': Connection reset by peer"
    )


def test_an_upload_spooled_to_a_temporary_file_is_read_as_a_binary_stream() -> None:
    # A web framework hands an upload over as a SpooledTemporaryFile: an io.IOBase, neither a
    # RawIOBase nor a BufferedIOBase, so it was refused ("for a stream of another kind, pass its
    # .read()": the whole upload in memory) though it is a binary stream open for reading.
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as upload:
        upload.write(_BATCH)
        upload.seek(0)
        outcomes = list(leukoflag.iter_convert(upload, source="upload"))
        assert not upload.closed
    assert outcomes == list(leukoflag.iter_convert(_BATCH, source="upload"))
    assert _summary(outcomes) == [
        (1, "upload", True, [Decimal(2600)]),
        (2, "upload", False, []),
        (3, "upload", True, [Decimal(7900)]),
    ]


class _HttpBody(io.IOBase):
    """An HTTP client's response body: an io.IOBase that only reads, in pieces, never seeks;
    ``whole``: its first read gives the whole body, whatever size was asked (as some do)."""

    def __init__(self, body: bytes, *, whole: bool = False) -> None:
        self._body = body
        self._whole = whole

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = len(self._body) if size < 0 or self._whole else min(size, 700)
        block, self._body = self._body[:size], self._body[size:]
        return block


@pytest.mark.parametrize("whole", [False, True])
def test_a_response_body_that_only_reads_is_read_as_a_binary_stream(whole: bool) -> None:
    body = _HttpBody(_BATCH * 5, whole=whole)
    outcomes = list(leukoflag.iter_convert(body, source="https://lis/results"))
    assert outcomes == list(leukoflag.iter_convert(_BATCH * 5, source="https://lis/results"))


def test_an_asyncio_stream_is_refused_without_a_coroutine_left_unawaited() -> None:
    # its read(0) is a coroutine: left unawaited, it warned (an error under -W error)
    async def refused() -> str:
        reader = asyncio.StreamReader()
        reader.feed_data(_BATCH)
        reader.feed_eof()
        with pytest.raises(TypeError) as caught:
            leukoflag.iter_convert(reader)  # type: ignore[arg-type]
        return str(caught.value)

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        said = asyncio.run(refused())
        gc.collect()
    assert [str(w.message) for w in warned] == []
    assert said.endswith("not StreamReader: for a stream of another kind, pass its .read()")


def test_a_spooled_temporary_file_in_text_mode_is_refused_when_called() -> None:
    with tempfile.SpooledTemporaryFile(mode="w+", newline="") as upload:
        upload.write(_BATCH.decode())
        upload.seek(0)
        with pytest.raises(TypeError, match=r"open the stream in binary mode \('rb'\)"):
            leukoflag.iter_convert(upload)  # type: ignore[arg-type]
        assert upload.read() == _BATCH.decode()  # nothing was read from it


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (io.StringIO("MSH|^~\\&|HEMLAB"), "StringIO: open the stream in binary mode ('rb')"),
        (Path("feeds/lakeview.hl7"), "Path: for a file, use leukoflag.iter_file(path)"),
        (None, "NoneType"),
        (12, "int"),
    ],
)
def test_iter_convert_refuses_what_is_neither_content_nor_a_binary_stream_when_called(
    data: object, said: str
) -> None:
    with pytest.raises(TypeError, match=r"^iter_convert\(\) takes the content as bytes or str"):
        leukoflag.iter_convert(data)  # type: ignore[arg-type]
    with pytest.raises(TypeError) as caught:
        leukoflag.iter_convert(data)  # type: ignore[arg-type]
    assert said in str(caught.value)


def test_a_stream_open_for_writing_only_is_a_type_error(tmp_path: Path) -> None:
    said = r"^iter_convert\(\) takes a stream open for reading"
    with (tmp_path / "out.hl7").open("wb") as stream, pytest.raises(TypeError, match=said):
        leukoflag.iter_convert(stream)


def test_settings_and_source_of_the_wrong_type_are_refused_by_the_call() -> None:
    with pytest.raises(TypeError, match=r"^iter_convert\(\): settings must be a leukoflag"):
        leukoflag.iter_convert(_BATCH, {"fhir_version": "R5"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^iter_convert\(\): source must be str, not bytes$"):
        leukoflag.iter_convert(_BATCH, source=b"lis")  # type: ignore[arg-type]
