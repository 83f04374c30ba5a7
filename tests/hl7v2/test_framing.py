"""split_stream: MLLP frames, FHS/BHS batches, terminators, BOMs, junk chunks, streaming."""

from __future__ import annotations

import io
import json
import pickle
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leukoflag
from leukoflag import hl7v2
from leukoflag.hl7v2 import _framing
from leukoflag.model import Message, Number, Rejected
from leukoflag.settings import Settings

from .messages import ANC, CBC, MSH, OBR, PID, WBC, message, read, reject, split

SECOND = message(PID.replace("MRN100871", "MRN200002"), OBR, WBC).replace(
    "RS24-000117", "RS24-000118"
)
THIRD = message(PID.replace("MRN100871", "MRN300003"), OBR, ANC).replace(
    "RS24-000117", "RS24-000119"
)


def control_ids(chunks: list[bytes]) -> list[str]:
    ids = []
    for index, chunk in enumerate(chunks, start=1):
        read_message = read(chunk, index=index)
        ids.append(read_message.control_id)
    return ids


def test_single_message_is_one_chunk() -> None:
    assert split(CBC.encode()) == [CBC.encode()]


def test_messages_one_after_another_are_split_at_each_msh() -> None:
    data = (CBC + SECOND + THIRD).encode()
    assert control_ids(split(data)) == ["RS24-000117", "RS24-000118", "RS24-000119"]


def test_lf_and_crlf_terminators_split_and_read_like_cr() -> None:
    for terminator in ("\n", "\r\n"):
        data = (CBC + SECOND).replace("\r", terminator).encode()
        chunks = split(data)
        assert control_ids(chunks) == ["RS24-000117", "RS24-000118"]
        assert chunks[0].endswith(terminator.encode())
        assert read(chunks[0]).groups == read(CBC).groups


def test_mllp_frames_are_stripped() -> None:
    data = b"".join(b"\x0b" + m.encode() + b"\x1c\r" for m in (CBC, SECOND, THIRD))
    chunks = split(data)
    assert chunks[0] == CBC.encode()
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118", "RS24-000119"]


def test_mllp_frames_back_to_back_without_carriage_return() -> None:
    data = b"\x0b" + CBC.encode() + b"\x1c\x0b" + SECOND.encode() + b"\x1c"
    assert control_ids(split(data)) == ["RS24-000117", "RS24-000118"]


def test_batch_envelope_is_dropped_and_each_msh_is_a_message() -> None:
    batch = (
        "FHS|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124120000-0500||RS-BATCH-12.hl7\r"
        "BHS|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124120000-0500\r"
        + CBC
        + SECOND
        + "BTS|2\rFTS|1\r"
    )
    chunks = split(batch.encode())
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118"]
    assert all(b"BTS" not in c and b"FHS" not in c for c in chunks)


FILE_HEADER = "FHS|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124120000-0500||RS-BATCH-13.hl7\r"
BATCH_HEADER = "BHS|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124120000-0500\r"


def test_batch_cut_short_ends_with_a_rejected_trailer_after_its_messages() -> None:
    # BTS-1 says three messages; the transfer lost the third.
    data = (FILE_HEADER + BATCH_HEADER + CBC + SECOND + "BTS|3|end of day\rFTS|1\r").encode()
    chunks = split(data)
    assert control_ids(chunks[:2]) == ["RS24-000117", "RS24-000118"]
    trailer = chunks[2]
    assert isinstance(trailer, _framing.BatchTrailer)
    assert (bytes(trailer), trailer.expected, trailer.found) == (b"BTS|3|end of day", 3, 2)
    rejected = reject(trailer)
    assert rejected.reason == (
        "batch trailer BTS-1 counts 3 messages but the batch held 2; 1 message missing: the "
        "batch was cut short (the messages read are converted)"
    )
    assert rejected.raw == b"BTS|3|end of day"


@pytest.mark.parametrize(
    ("data", "envelopes"),
    [
        (FILE_HEADER + BATCH_HEADER + CBC + "BTS|3\rFTS|1\r", ["", "BTS"]),
        (FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|2\r", ["", "FTS"]),
        (FILE_HEADER + BATCH_HEADER + CBC, ["", "BHS"]),  # no BTS: the batch was cut
        (FILE_HEADER + CBC, ["", "FHS"]),  # no FTS: the file was cut
        (FILE_HEADER + BATCH_HEADER, ["BHS"]),  # header only
        ("\ufeff" + BATCH_HEADER + CBC + "BTS|2\r", ["", "BTS"]),  # UTF-16 below
        # a segment's tail (a SegmentTail), then its batch's trailer, which counts what came before
        ("ood^LN||1.1|L|||F\rBTS|1\rFTS|1\r" + FILE_HEADER + CBC + "FTS|1\r", ["", "BTS", ""]),
    ],
)
def test_a_rejected_envelope_line_says_it_is_no_message_to_send_again(
    data: str, envelopes: list[str]
) -> None:
    # an engine's dead-letter queue replays Rejected.raw: a BTS line alone is rejected again
    encoded = data.encode("utf-16-le") if data.startswith("\ufeff") else data.encode()
    conversion = leukoflag.convert(encoded)
    items = [*conversion.rejected, *([None] * len(conversion.bundles))]
    assert sorted(r.envelope if r else "" for r in items) == sorted(envelopes)
    for rejected in conversion.rejected:
        assert pickle.loads(pickle.dumps(rejected)) == rejected  # --jobs workers send it back
        if rejected.envelope:
            assert f"envelope={rejected.envelope!r}" in repr(rejected)
            assert _line(rejected.raw).lstrip().startswith(rejected.envelope)
        else:  # a segment's tail is the input's own text, kept to fix and send again
            assert rejected.raw.startswith(b"ood^LN")


def _line(raw: bytes) -> str:
    return raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode()


def test_each_batch_of_a_file_is_counted_on_its_own() -> None:
    data = (
        FILE_HEADER
        + BATCH_HEADER
        + CBC
        + "BTS|1\r"
        + BATCH_HEADER
        + SECOND
        + "BTS|3\r"  # two missing
        + BATCH_HEADER
        + THIRD
        + "BTS|0\r"  # a count below the messages held: nothing lost, not reported
        + BATCH_HEADER
        + "BTS|0\r"  # an empty batch, counted right
        + "FTS|4\r"
    ).encode()
    chunks = split(data)
    assert [isinstance(chunk, _framing.BatchTrailer) for chunk in chunks] == [
        False,
        False,
        True,
        False,
    ]
    trailer = chunks[2]
    assert isinstance(trailer, _framing.BatchTrailer)
    assert (trailer.expected, trailer.found) == (3, 1)
    assert "; 2 messages missing: the batch was cut short" in reject(trailer).reason
    assert control_ids([chunks[0], chunks[1], chunks[3]]) == [
        "RS24-000117",
        "RS24-000118",
        "RS24-000119",
    ]


def test_batch_without_bhs_counts_from_the_file_header() -> None:
    data = (FILE_HEADER + CBC + SECOND + "BTS|2\rFTS|1\r").encode()
    assert control_ids(split(data)) == ["RS24-000117", "RS24-000118"]


def test_trailer_without_a_count_is_not_checked() -> None:
    for trailer in ("BTS\r", "BTS|\r", "BTS|two\r", "BTS| \r"):
        data = (BATCH_HEADER + CBC + trailer).encode()
        assert split(data) == [CBC.encode()], trailer


def test_trailer_chunk_travels_to_worker_processes_with_its_counts() -> None:
    trailer = _framing.BatchTrailer(b"BTS|5", 5, 4)
    copied = pickle.loads(pickle.dumps(trailer))
    assert isinstance(copied, _framing.BatchTrailer)
    assert (bytes(copied), copied.expected, copied.found) == (b"BTS|5", 5, 4)
    headless = pickle.loads(pickle.dumps(_framing.BatchTrailer(b"BTS|3", 3, 0, headless=True)))
    assert (headless.expected, headless.found, headless.headless) == (3, 0, True)


_TAIL_OF_A_BATCH = (
    "OBX|7|NM|26499-4^Neutrophils [#/volume] in Blood^LN||1.1|10*3/uL^^UCUM|1.8-7.7|L|||F\r"
    "BTS|3\rFTS|1\r"
)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_a_capture_rotated_inside_a_batch_does_not_call_the_batch_cut_short(codec: str) -> None:
    # its trailer counts the messages of the previous capture: "the batch held 0; 3 messages
    # missing: the batch was cut short" blamed a transfer that lost nothing of this input
    data = _TAIL_OF_A_BATCH + FILE_HEADER + BATCH_HEADER + CBC + SECOND + "BTS|2\rFTS|1\r"
    conversion = leukoflag.convert(data.encode(codec))
    assert len(conversion.bundles) == 2
    fragment, trailer = conversion.rejected
    assert (fragment.location, trailer.location) == ("MSG[1]", "MSG[2]")
    assert fragment.reason.startswith("segment OBX before MSH: ")
    assert trailer.reason == (
        "batch trailer BTS-1 counts 3 messages but no batch header (BHS) or message came "
        "before it: the input starts after the batch's messages (a capture rotated or cut "
        "inside a batch?), or they were lost"
    )


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
@pytest.mark.parametrize("before", ["", "BTS|3\r", _TAIL_OF_A_BATCH.replace("FTS|1\r", "")])
def test_a_capture_rotated_before_a_file_trailer_does_not_call_part_of_the_file_lost(
    codec: str, before: str
) -> None:
    # "file trailer FTS-1 counts 2 batches but the file held 0 messages and no batch header
    # (BHS); 2 missing, …: part of the file was lost" blamed a transfer for a file that began
    # before the input, and the BTS before it stood for one of the two batches
    data = before + "FTS|2\r" + FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|1\r"
    outcomes = list(leukoflag.iter_convert(data.encode(codec)))
    assert [o.rejected is None for o in outcomes][-2:] == [False, True]
    trailer = outcomes[-2].rejected
    assert trailer is not None
    assert trailer.raw.decode(codec).lstrip("\ufeff") == "FTS|2"
    assert trailer.reason == (
        "file trailer FTS-1 counts 2 batches but no file header (FHS), batch header (BHS) or "
        "message came before it: the input starts after the file's batches (a capture rotated "
        "or cut inside a file?), or they were lost"
    )


@pytest.mark.parametrize(
    "data",
    [
        FILE_HEADER + "FTS|2\r",  # its header came: the file held nothing of what it counts
        CBC + "FTS|1\rFTS|2\r",  # a file came before it
        CBC + "FTS|3\r",
    ],
)
def test_a_file_trailer_after_its_file_began_is_not_called_headless(data: str) -> None:
    trailer = split(data.encode())[-1]
    assert isinstance(trailer, _framing.FileTrailer)
    assert not trailer.headless
    assert "missing, batches or messages however the sender counted" in reject(trailer).reason
    copied = pickle.loads(pickle.dumps(_framing.FileTrailer(b"FTS|2", 2, 0, True, True)))
    assert (copied.bare, copied.headless) == (True, True)


@pytest.mark.parametrize("resent", ["FTS|1\r", "BTS|2\rFTS|1\r", "fts|1\r\r  FTS|1\r"])
@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_a_trailer_sent_again_after_a_whole_file_is_not_a_loss(resent: str, codec: str) -> None:
    # A resend of the trailers: "file trailer FTS-1 counts 1 batch but the file held 0 messages
    # …: part of the file was lost", or a BTS "the input starts after the batch's messages"
    whole = FILE_HEADER + BATCH_HEADER + CBC + SECOND + "BTS|2\rFTS|1\r"
    outcomes = list(leukoflag.iter_convert((whole + resent).encode(codec)))
    assert [o.rejected for o in outcomes] == [None, None]
    # ... and the batch it closes is counted once: a file trailer after it counts from there
    data = BATCH_HEADER + CBC + "BTS|1\rBTS|1\r" + BATCH_HEADER + SECOND + "BTS|1\rFTS|3\r"
    (*_, trailer) = split(data.encode())
    assert isinstance(trailer, _framing.FileTrailer)
    assert (trailer.expected, trailer.found) == (3, 2)


@pytest.mark.parametrize(
    "data",
    [
        CBC + "FTS|1\rFTS|2\r",  # another count: not the same trailer
        BATCH_HEADER + CBC + "BTS|1\r" + BATCH_HEADER + "BTS|1\r",  # a header between them
        "BTS|1\r" + CBC + "BTS|2\r",  # a message between them
    ],
)
def test_a_trailer_after_another_is_still_checked_unless_it_repeats_it(data: str) -> None:
    assert isinstance(split(data.encode())[-1], _framing.BatchTrailer)


def test_an_empty_batch_whose_trailer_counts_messages_is_still_cut_short() -> None:
    # its header came: the batch held none of the messages its trailer counts
    (trailer,) = split((FILE_HEADER + BATCH_HEADER + "BTS|2\rFTS|1\r").encode())
    assert isinstance(trailer, _framing.BatchTrailer)
    assert not trailer.headless
    assert reject(trailer).reason.startswith(
        "batch trailer BTS-1 counts 2 messages but the batch held 0; 2 messages missing"
    )


@pytest.mark.parametrize(
    ("data", "envelope"),
    [
        ("FHS|^~\\&|HEMLAB|RIVERSIDE|||20261124101500-0600\r", "FHS"),
        ("FHS|^~\\&|HEMLAB|RIVERSIDE\rBHS|^~\\&|HEMLAB|RIVERSIDE|||20261124101500-0600\r", "BHS"),
        (f"FHS|^~\\&|HEMLAB\r{BATCH_HEADER}{CBC}BTS|1\r{BATCH_HEADER}", "BHS"),
    ],
)
def test_input_cut_right_after_a_batch_header_is_rejected(data: str, envelope: str) -> None:
    # nothing came after the header: no Bundle, no Rejected, exit 0, and the batch's messages lost
    chunks = split(data.encode())
    header = chunks[-1]
    assert isinstance(header, _framing.HeaderOnly)
    rejected = reject(header)
    assert rejected.reason == (
        f"the input ends after a batch header ({envelope}) with no message and no trailer after "
        "it: the batch was cut short after its header"
    )
    copied = pickle.loads(pickle.dumps(header))
    assert isinstance(copied, _framing.HeaderOnly)
    assert (bytes(copied), copied.envelope) == (bytes(header), envelope)


@pytest.mark.parametrize(
    "data",
    [
        f"{BATCH_HEADER}BTS|0\r",  # an empty batch says so
        f"FHS|^~\\&|HEMLAB\r{BATCH_HEADER}{CBC}",  # messages came: they are converted
        f"{BATCH_HEADER}this is not a message\r",  # what came is rejected for itself
    ],
)
def test_a_header_followed_by_anything_is_not_reported_as_cut(data: str) -> None:
    assert not any(isinstance(c, _framing.HeaderOnly) for c in split(data.encode()))


@pytest.mark.parametrize("terminator", ["\r", "\n"])
@pytest.mark.parametrize("framing", ["plain", "mllp"])
def test_a_batch_whose_trailer_never_came_is_rejected_after_its_messages(
    terminator: str, framing: str
) -> None:
    # The transfer stopped after two results of the batch: no BTS, so no count to compare,
    # and nothing told the operator that the rest of the batch was lost
    batch = FILE_HEADER + BATCH_HEADER + CBC + SECOND
    if framing == "mllp":
        batch = (
            "\x0b"
            + FILE_HEADER
            + BATCH_HEADER
            + "\x1c\r\x0b"
            + CBC
            + "\x1c\r\x0b"
            + SECOND
            + "\x1c\r"
        )
    data = batch.replace("\r", terminator).encode()
    *messages, cut = split(data, 100)
    assert control_ids(messages) == ["RS24-000117", "RS24-000118"]
    assert isinstance(cut, _framing.CutBatch)
    rejected = reject(cut)
    assert rejected.raw == BATCH_HEADER.rstrip("\r").encode()
    assert rejected.reason == (
        "the input ends after 2 messages of a batch (BHS) with no batch trailer (BTS): the "
        "batch was cut short, or its sender writes no BTS; messages after those may be lost (the "
        "messages read are converted): check with the sender that none are missing (a sender "
        "that writes no BTS gets this for every batch, and should send one with its count)"
    )
    assert list(hl7v2.split_bytes(data)) == split(data)
    copied = pickle.loads(pickle.dumps(cut))
    assert type(copied) is _framing.CutBatch
    assert copied.reason == cut.reason


@pytest.mark.parametrize("header", [BATCH_HEADER, FILE_HEADER + BATCH_HEADER])
def test_a_batch_cut_before_the_next_header_is_rejected_there(header: str) -> None:
    # A transfer restarted: the first batch lost its trailer and the messages after its first
    data = (BATCH_HEADER + CBC + header + SECOND + THIRD + "BTS|2\r").encode()
    if header.startswith("FHS"):  # the new file ends whole (CutFile otherwise)
        data += b"FTS|1\r"
    conversion = leukoflag.convert(data)
    assert conversion.bundles == leukoflag.convert(CBC + SECOND + THIRD).bundles
    (rejected,) = conversion.rejected
    assert (rejected.index, rejected.raw) == (2, BATCH_HEADER.rstrip("\r").encode())
    assert rejected.reason == (
        f"a {'batch' if header == BATCH_HEADER else 'file'} header ({header[:3]}) came after 1 "
        "message of a batch (BHS) with no batch trailer (BTS) between them: the batch was cut "
        "short, or its sender writes no BTS; messages after those may be lost (the messages "
        "read are converted): check with the sender that none are missing (a sender that writes "
        "no BTS gets this for every batch, and should send one with its count)"
    )


@pytest.mark.parametrize("file_header", ["", FILE_HEADER])
def test_a_batch_ended_by_the_file_trailer_without_its_own_is_rejected_there(
    file_header: str,
) -> None:
    # The BTS is missing before the FTS: FTS-1 counts batches, so the messages lost after the
    # last one read went unseen, and a sender writing no BTS had every batch but its last reported
    data = (file_header + BATCH_HEADER + CBC + BATCH_HEADER + SECOND + THIRD + "FTS|2\r").encode()
    conversion = leukoflag.convert(data)
    assert conversion.bundles == leukoflag.convert(CBC + SECOND + THIRD).bundles
    first, last = conversion.rejected
    assert (first.index, last.index) == (2, 5)
    assert last.raw == BATCH_HEADER.rstrip("\r").encode()
    assert last.reason == (
        "a file trailer (FTS) came after 2 messages of a batch (BHS) with no batch trailer (BTS) "
        "between them: the batch was cut short, or its sender writes no BTS; messages after those "
        "may be lost (the messages read are converted): check with the sender that none are "
        "missing (a sender that writes no BTS gets this for every batch, and should send one with "
        "its count)"
    )
    assert first.reason == last.reason.replace(
        "a file trailer (FTS) came after 2 messages", "a batch header (BHS) came after 1 message"
    )
    assert list(hl7v2.split_bytes(data)) == split(data, 64)


def test_a_batch_ended_by_the_file_trailer_is_rejected_before_the_file_count() -> None:
    _, cut, trailer = split((BATCH_HEADER + CBC + "FTS|2\r").encode())
    assert isinstance(cut, _framing.CutBatch)
    assert isinstance(trailer, _framing.FileTrailer)
    assert (cut.after, trailer.expected, trailer.found) == ("FTS", 2, 1)


@pytest.mark.parametrize(
    "data",
    [
        f"{BATCH_HEADER}{CBC}BTS|1\r",  # its trailer came
        f"{BATCH_HEADER}{CBC}BTS|1\rFTS|1\r",  # both trailers came
        f"{BATCH_HEADER}FTS|1\r",  # a header alone, then the file's trailer: nothing was read
        f"{FILE_HEADER}{CBC}{SECOND}",  # no batch header: no batch to be cut
        f"{BATCH_HEADER}{CBC}BTS|1\r{BATCH_HEADER}{SECOND}BTS|1\r",
        f"{BATCH_HEADER}{BATCH_HEADER}{CBC}BTS|1\r",  # a header sent twice: nothing between
    ],
)
def test_a_batch_that_ended_is_not_reported_as_cut(data: str) -> None:
    assert not any(isinstance(c, _framing.CutBatch) for c in split(data.encode()))


@pytest.mark.parametrize(
    ("body", "held"),
    [
        (CBC + SECOND, "2 messages"),  # a file of messages with no BHS: counted as FTS-1 may
        (BATCH_HEADER + CBC + SECOND + "BTS|2\r", "1 batch"),
    ],
)
def test_a_file_whose_trailer_never_came_is_rejected_after_its_messages(
    body: str, held: str
) -> None:
    # The transfer stopped after the file's first batch (or messages): FTS-1 never came to
    # count the batches, so the ones lost after it vanished unseen
    data = (FILE_HEADER + body).encode()
    conversion = leukoflag.convert(data)
    assert conversion.bundles == leukoflag.convert(CBC + SECOND).bundles
    (rejected,) = conversion.rejected
    assert (rejected.index, rejected.raw) == (3, FILE_HEADER.rstrip("\r").encode())
    assert rejected.reason == (
        f"the input ends after {held} of a file (FHS) with no file trailer (FTS): the file was "
        "cut short, or its sender writes no FTS; batches or messages after those may be lost (the "
        "messages read are converted): check with the sender that none are missing (a sender "
        "that writes FHS but no FTS gets this for every file, and should send one with its batch "
        "count)"
    )
    cut = split(data, 64)[-1]
    assert isinstance(cut, _framing.CutFile)
    assert list(hl7v2.split_bytes(data)) == split(data, 64)
    copied = pickle.loads(pickle.dumps(cut))
    assert (type(copied), copied.reason) == (_framing.CutFile, cut.reason)


def test_a_file_cut_before_the_next_file_header_is_rejected_there() -> None:
    data = (FILE_HEADER + CBC + FILE_HEADER + SECOND + "FTS|1\r").encode()
    conversion = leukoflag.convert(data)
    assert conversion.bundles == leukoflag.convert(CBC + SECOND).bundles
    (rejected,) = conversion.rejected
    assert rejected.index == 2
    assert rejected.reason.startswith(
        "a file header (FHS) came after 1 message of a file (FHS) with no file trailer (FTS) "
        "between them: the file was cut short"
    )


@pytest.mark.parametrize(
    "data",
    [
        f"{FILE_HEADER}{CBC}FTS|1\r",  # its trailer came
        f"{FILE_HEADER}{BATCH_HEADER}{CBC}",  # the batch is reported cut (CutBatch), once
        f"{FILE_HEADER}{BATCH_HEADER}{CBC}{FILE_HEADER}{SECOND}FTS|1\r",  # so here
        f"{FILE_HEADER}{FILE_HEADER}{CBC}FTS|1\r",  # a header sent twice: nothing between
        f"{CBC}{SECOND}",  # no file header: no file to be cut
    ],
)
def test_a_file_that_ended_or_whose_batch_was_cut_is_not_reported_as_cut(data: str) -> None:
    assert not any(isinstance(c, _framing.CutFile) for c in split(data.encode()))


def test_utf16_file_whose_trailer_never_came_is_rejected_in_its_own_encoding() -> None:
    cut = split(("\ufeff" + FILE_HEADER + CBC).encode("utf-16-le"))[-1]
    assert isinstance(cut, _framing.CutFile)
    assert (bytes(cut).decode("utf-16"), cut.found, cut.bare) == (FILE_HEADER[:-1], 1, True)


def test_utf16_batch_whose_trailer_never_came_is_rejected_in_its_own_encoding() -> None:
    chunks = split(("\ufeff" + BATCH_HEADER + CBC).encode("utf-16-le"))
    cut = chunks[-1]
    assert isinstance(cut, _framing.CutBatch)
    assert (bytes(cut).decode("utf-16"), cut.found, cut.after) == (BATCH_HEADER[:-1], 1, "")


def test_utf16_input_cut_after_its_header_names_the_header() -> None:
    chunks = split(("\ufeff" + BATCH_HEADER).encode("utf-16-le"))
    (header,) = chunks
    assert isinstance(header, _framing.HeaderOnly)
    assert header.envelope == "BHS"


def test_utf16_batch_cut_short_is_rejected_in_its_own_encoding() -> None:
    data = ("\ufeff" + BATCH_HEADER + CBC + "BTS|2\r").encode("utf-16-le")
    chunks = split(data)
    assert len(chunks) == 2
    trailer = chunks[1]
    assert isinstance(trailer, _framing.BatchTrailer)
    assert bytes(trailer).decode("utf-16") == "BTS|2"
    assert (trailer.expected, trailer.found) == (2, 1)


def test_file_missing_a_whole_batch_ends_with_a_rejected_file_trailer() -> None:
    # FTS-1 says three batches; the second of them never arrived, its neighbours are whole.
    data = (
        FILE_HEADER
        + BATCH_HEADER
        + CBC
        + "BTS|1\r"
        + BATCH_HEADER
        + SECOND
        + "BTS|1\r"
        + "FTS|3|end of file\r"
    ).encode()
    chunks = split(data)
    assert control_ids(chunks[:2]) == ["RS24-000117", "RS24-000118"]
    trailer = chunks[2]
    assert isinstance(trailer, _framing.FileTrailer)
    assert (bytes(trailer), trailer.expected, trailer.found, trailer.bare) == (
        b"FTS|3|end of file",
        3,
        2,
        False,
    )
    rejected = reject(trailer)
    assert rejected.reason == (
        "file trailer FTS-1 counts 3 batches but the file held 2; 1 batch missing: a whole "
        "batch was lost (the messages read are converted)"
    )
    assert rejected.raw == b"FTS|3|end of file"
    # Read in blocks of a few bytes, the counts carry over from block to block.
    assert [type(chunk) for chunk in split(data, block_size=7)] == [type(c) for c in chunks]
    assert split(data, block_size=7) == chunks


def test_file_trailer_counting_the_batches_held_or_fewer_is_not_reported() -> None:
    two_batches = FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\r" + BATCH_HEADER + SECOND + "BTS|1\r"
    for trailer in ("FTS|2\r", "FTS|1\r", "FTS|0\r", "FTS|02\r"):
        chunks = split((two_batches + trailer).encode())
        assert control_ids(chunks) == ["RS24-000117", "RS24-000118"], trailer


def test_both_trailers_of_a_cut_file_are_rejected_in_order() -> None:
    data = (FILE_HEADER + BATCH_HEADER + CBC + "BTS|2\rFTS|2\r").encode()
    message, batch_trailer, file_trailer = split(data)
    assert control_ids([message]) == ["RS24-000117"]
    assert type(batch_trailer) is _framing.BatchTrailer
    assert (batch_trailer.expected, batch_trailer.found) == (2, 1)
    assert type(file_trailer) is _framing.FileTrailer
    assert (file_trailer.expected, file_trailer.found) == (2, 1)
    assert reject(file_trailer).reason.startswith(
        "file trailer FTS-1 counts 2 batches but the file held 1; 1 batch missing"
    )


def test_file_without_batch_headers_tolerates_a_count_of_its_messages() -> None:
    # No BHS: senders write 0, 1 (the implicit batch) or the number of messages in FTS-1.
    bare = FILE_HEADER + CBC + SECOND
    for tolerated in ("FTS|0\r", "FTS|1\r", "FTS|2\r", "BTS|2\rFTS|1\r"):
        chunks = split((bare + tolerated).encode())
        assert control_ids(chunks) == ["RS24-000117", "RS24-000118"], tolerated
    chunks = split((bare + "FTS|5\r").encode())
    trailer = chunks[2]
    assert isinstance(trailer, _framing.FileTrailer)
    assert (trailer.expected, trailer.found, trailer.bare) == (5, 2, True)
    assert reject(trailer).reason == (
        "file trailer FTS-1 counts 5 batches but the file held 2 messages and no batch header "
        "(BHS); 3 missing, batches or messages however the sender counted: part of the file "
        "was lost (the messages read are converted)"
    )


def test_batch_header_without_trailer_still_counts_as_a_batch() -> None:
    # The first batch has no BTS: the next BHS starts the second batch all the same (and the
    # first is reported as cut after its message).
    head = FILE_HEADER + BATCH_HEADER + CBC + BATCH_HEADER + SECOND + "BTS|1\r"
    first, cut, second = split((head + "FTS|2\r").encode())
    assert control_ids([first, second]) == ["RS24-000117", "RS24-000118"]
    assert isinstance(cut, _framing.CutBatch)
    trailer = split((head + "FTS|3\r").encode())[3]
    assert isinstance(trailer, _framing.FileTrailer)
    assert (trailer.expected, trailer.found) == (3, 2)


def test_file_trailer_without_file_header_counts_from_the_start_or_the_last_file() -> None:
    alone = (BATCH_HEADER + CBC + "BTS|1\rFTS|2\r").encode()
    trailer = split(alone)[1]
    assert isinstance(trailer, _framing.FileTrailer)
    assert (trailer.expected, trailer.found) == (2, 1)
    # Two files one after the other (cat): each FTS counts its own file's batches only.
    first = FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|1\r"
    second = BATCH_HEADER + SECOND + "BTS|1\r" + BATCH_HEADER + THIRD + "BTS|1\rFTS|3\r"
    chunks = split((first + second).encode())
    assert control_ids(chunks[:3]) == ["RS24-000117", "RS24-000118", "RS24-000119"]
    trailer = chunks[3]
    assert isinstance(trailer, _framing.FileTrailer)
    assert (trailer.expected, trailer.found) == (3, 2)


def test_trailer_counts_that_are_not_numbers_are_not_checked() -> None:
    for count in ("", " ", "two", "-1", "1.0", "+3", "\uff13", "9" * 5000):
        file_trailer = (FILE_HEADER + BATCH_HEADER + CBC + f"BTS|1\rFTS|{count}\r").encode()
        assert split(file_trailer) == [CBC.encode()], count[:10]
        batch_trailer = (BATCH_HEADER + CBC + f"BTS|{count}\r").encode()
        assert split(batch_trailer) == [CBC.encode()], count[:10]
    assert split((FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS\r").encode()) == [CBC.encode()]


def test_trailers_inside_mllp_frames_are_checked() -> None:
    # A whole batch in one frame: the end block follows the count directly.
    one_frame = ("\x0b" + BATCH_HEADER + CBC + "BTS|2\x1c\r").encode()
    message, trailer = split(one_frame)
    assert control_ids([message]) == ["RS24-000117"]
    assert isinstance(trailer, _framing.BatchTrailer)
    assert (bytes(trailer), trailer.expected, trailer.found) == (b"BTS|2", 2, 1)
    # Envelope lines in frames of their own around one frame per message.
    framed = (
        f"\x0b{FILE_HEADER}{BATCH_HEADER}\x1c\r"
        f"\x0b{CBC}\x1c\r"
        f"\x0b{SECOND}\x1c\r"
        "\x0bBTS|2\rFTS|3\x1c\r"
    ).encode()
    chunks = split(framed)
    assert control_ids(chunks[:2]) == ["RS24-000117", "RS24-000118"]
    trailer = chunks[2]
    assert isinstance(trailer, _framing.FileTrailer)
    assert (bytes(trailer), trailer.expected, trailer.found) == (b"FTS|3", 3, 1)
    assert len(chunks) == 3


def test_file_trailer_travels_to_worker_processes_with_its_counts() -> None:
    for bare in (False, True):
        trailer = _framing.FileTrailer(b"FTS|4", 4, 3, bare)
        copied = pickle.loads(pickle.dumps(trailer))
        assert type(copied) is _framing.FileTrailer
        assert (bytes(copied), copied.expected, copied.found, copied.bare) == (b"FTS|4", 4, 3, bare)
        assert copied.reason == trailer.reason


def test_utf16_file_missing_a_batch_is_rejected_in_its_own_encoding() -> None:
    data = ("\ufeff" + FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|2\r").encode("utf-16-le")
    chunks = split(data)
    assert len(chunks) == 2
    trailer = chunks[1]
    assert isinstance(trailer, _framing.FileTrailer)
    assert bytes(trailer).decode("utf-16") == "FTS|2"
    assert (trailer.expected, trailer.found, trailer.bare) == (2, 1, False)


@pytest.mark.parametrize("header", ["msh", "Msh", " MSH", "\tMSH", "  \tMSH"])
@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_a_header_in_lower_case_or_indented_starts_a_message(header: str, terminator: str) -> None:
    # The reader reads 'msh|' and '  MSH|' as MSH, as any segment so sent; the splitter did not
    # start a message there, so two results ended as one "more than one MSH" Rejected
    data = (CBC + header + SECOND[3:] + THIRD).replace("\r", terminator).encode()
    chunks = split(data)
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118", "RS24-000119"]
    assert chunks[1].startswith(header.encode())
    second = read(chunks[1], index=2)
    found = [(i.code, i.location) for i in second.issues if "segment" in i.code]
    code = "hl7v2.segment-id-case" if header[:1].isalpha() else "hl7v2.segment-indented"
    assert found == [(code, "MSG[2]/MSH[1]")]
    assert [r.value for r in second.groups[0].orders[0].results] == [Number(Decimal("3.1"), "3.1")]
    assert list(hl7v2.split_bytes(data)) == chunks


def test_a_first_header_in_lower_case_or_indented_is_read_with_its_warning() -> None:
    outcome = leukoflag.convert("msh" + CBC[3:] + "\t" + SECOND)
    assert (len(outcome.bundles), outcome.rejected) == (2, [])
    found = [(i.code, i.location, i.text) for i in outcome.issues if "segment" in i.code]
    assert found == [
        (
            "hl7v2.segment-id-case",
            "MSG[1]/MSH[1]",
            "segment ID 'msh' is not in upper case, as HL7 segment IDs are: read as MSH",
        ),
        (
            "hl7v2.segment-indented",
            "MSG[2]/MSH[1]",
            "segment 'MSH' is indented with a tab, which HL7 segments are not: read as MSH",
        ),
    ]


def test_comment_text_that_starts_with_msh_does_not_start_a_message() -> None:
    # Wrapped text: no header's delimiters after 'msh|', or indented and in lower case at once
    for wrapped in ("msh| resent after the LIS fix", "   msh|^~\\&|CORELAB was the header"):
        comment = f"NTE|1||Corrected report\n{wrapped}"
        for terminator in ("\r", "\n"):
            data = message(PID, OBR, WBC, comment, ANC, terminator=terminator).encode()
            (chunk,) = split(data)
            read_message = read(chunk)
            assert len(read_message.groups[0].orders[0].results) == 2
            codes = {i.code for i in read_message.issues}
            assert codes & {"hl7v2.line-break-raw", "hl7v2.line-not-segment"}


@pytest.mark.parametrize("padding", [b"\0", b"\0" * 3, b"\0" * 512])
def test_an_msh_after_nul_padding_starts_a_message(padding: bytes) -> None:
    # An export padded to its block size: the MSH after the NULs was read as a line that is not
    # a segment of the message before, and the second result vanished behind a warning
    data = CBC.encode() + padding + SECOND.encode() + padding + THIRD.encode()
    chunks = split(data)
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118", "RS24-000119"]
    assert chunks[1].startswith(b"MSH|")
    assert list(hl7v2.split_bytes(data)) == chunks
    outcome = leukoflag.convert(data)
    assert (len(outcome.bundles), outcome.rejected) == (3, [])
    skipped = [i.location for i in outcome.issues if i.code == "hl7v2.line-not-segment"]
    assert skipped == ["MSG[1]", "MSG[2]"]  # the padding, said where it was


@pytest.mark.parametrize("header", ["msh", "  MSH", "\tMSH"])
@pytest.mark.parametrize("padding", [b"\0", b"\0" * 3, b"\0" * 512])
def test_a_lower_case_or_indented_header_after_nul_padding_starts_a_message(
    padding: bytes, header: str
) -> None:
    # Padding then a header the reader reads as MSH: the splitter took the line for text of the
    # message before, and the second result vanished behind hl7v2.line-not-segment
    data = CBC.encode() + padding + (header + SECOND[3:]).encode() + THIRD.encode()
    chunks = split(data)
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118", "RS24-000119"]
    assert chunks[1].startswith(header.encode())
    assert list(hl7v2.split_bytes(data)) == chunks
    outcome = leukoflag.convert(data)
    assert (len(outcome.bundles), outcome.rejected) == (3, [])
    skipped = [i.location for i in outcome.issues if i.code == "hl7v2.line-not-segment"]
    assert skipped == ["MSG[1]"]  # the padding, said where it was


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
@pytest.mark.parametrize(
    ("header", "trailer"),
    [("bhs", "bts"), ("  BHS", "  BTS"), ("\tBHS", "Bts")],
)
def test_envelope_lines_in_lower_case_or_indented_are_envelope_lines(
    header: str, trailer: str, terminator: str
) -> None:
    # 'bhs|' at the start was no HL7 v2 (the input rejected whole, both CBCs lost); '  BHS|'
    # was a Rejected of its own, and 'bts|3' a segment of the message before, its count lost
    batch = (
        BATCH_HEADER.replace("BHS", header)
        + CBC
        + SECOND
        + f"{trailer}|3\r"
        + BATCH_HEADER.replace("BHS", header)
        + THIRD
        + f"{trailer}|1\r"
    ).replace("\r", terminator)
    outcomes = list(leukoflag.iter_convert(batch))
    assert [o.rejected is None for o in outcomes] == [True, True, False, True]
    conversion = leukoflag.convert(batch)
    assert conversion.bundles == leukoflag.convert(CBC + SECOND + THIRD).bundles
    (rejected,) = conversion.rejected
    assert rejected.raw == f"{trailer}|3".encode()
    assert rejected.reason.startswith(
        "batch trailer BTS-1 counts 3 messages but the batch held 2; 1 message missing"
    )
    assert not [i for i in conversion.issues if i.code.startswith("hl7v2.segment")]
    assert list(hl7v2.split_bytes(batch.encode())) == split(batch.encode(), 7)


def test_text_like_an_envelope_line_indented_and_in_lower_case_stays_in_its_message() -> None:
    # as for MSH: indented and in lower case at once is text, and so is 'bts|' with no count
    for text in ("  bts|3", "bts| resent by the LIS"):
        data = message(PID, OBR, WBC, text, ANC).encode()
        (chunk,) = split(data)
        assert len(read(chunk).groups[0].orders[0].results) == 2


def test_junk_before_first_msh_is_its_own_rejected_chunk() -> None:
    data = b"Exported by LabBridge 4.2 on 2026-11-24\r\n" + CBC.encode()
    junk, first = split(data)
    assert junk == b"Exported by LabBridge 4.2 on 2026-11-24"
    rejected = reject(junk)
    assert "no MSH segment" in rejected.reason
    assert read(first).control_id == "RS24-000117"


@pytest.mark.parametrize("framed", [False, True])
@pytest.mark.parametrize("tabs", [1, 2], ids=["one", "back-to-back"])
def test_vertical_tabs_inside_a_field_are_control_characters_not_a_frame_start(
    framed: bool, tabs: int
) -> None:
    # A comment typed in a word processor: Shift+Enter writes a vertical tab (0x0B, the MLLP
    # start block byte) for its line break (twice for a blank line), and the ANC after the
    # comment is the neutropenia.
    note = "NTE|1||Smear reviewed." + "\x0b" * tabs + "Toxic granulation noted."
    text = message(PID, OBR, WBC, note, ANC)
    conversion, bundle = _one_message(text, framed)
    observations = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert [o["code"]["coding"][0]["code"] for o in observations] == ["6690-2", "751-8"]
    replaced = "Smear reviewed." + "\ufffd" * tabs + "Toxic granulation noted."
    assert observations[0]["note"] == [{"text": replaced}]
    assert [(f.analyte.value, f.code) for f in conversion.findings] == [("wbc", "L"), ("anc", "L")]
    (found,) = [i for i in conversion.issues if i.code == "hl7v2.control-character"]
    assert found.location == "MSG[1]/NTE[1]-3"
    assert found.text == (
        "NTE-3 holds control character U+000B, which FHIR strings do not allow: replaced with "
        "U+FFFD"
    )


@pytest.mark.parametrize(
    ("framed", "end"),
    [(False, "\r"), (True, "\r"), (True, "\x1c\r"), (False, "")],
    ids=["segment", "framed-segment", "frame", "input"],
)
def test_a_vertical_tab_ending_a_field_is_a_control_character_not_a_frame_start(
    framed: bool, end: str
) -> None:
    # Shift+Enter typed after the comment's last word: the vertical tab (0x0B) comes right
    # before the segment's terminator (or the frame's end block, or the end of the file). It
    # was a start block: unframed, the ANC after it was rejected ('segment OBX before MSH');
    # framed, the whole message was a truncated frame and the ANC rejected too.
    note = "NTE|1||Smear reviewed.\x0b"
    text = message(PID, OBR, WBC, note, ANC) if end == "\r" else message(PID, OBR, WBC, ANC, note)
    text = text.removesuffix("\r") + ("\r" if end == "\r" else "")
    conversion, bundle = _one_message(text, framed)
    notes = [
        e["resource"]["note"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and "note" in e["resource"]
    ]
    assert notes == [[{"text": "Smear reviewed.\ufffd"}]]
    assert [(f.analyte.value, f.code) for f in conversion.findings] == [("wbc", "L"), ("anc", "L")]
    (found,) = [i for i in conversion.issues if i.code == "hl7v2.control-character"]
    assert found.location == "MSG[1]/NTE[1]-3"


@pytest.mark.parametrize("framed", [False, True])
def test_a_file_separator_byte_inside_a_text_is_a_control_character_not_an_end_block(
    framed: bool,
) -> None:
    # A 0x1C (FS) pasted into a comment, text on both sides: MLLP ends a frame with 0x1C 0x0D,
    # and unframed there is no frame to end. It ended the message there: the WBC's Bundle
    # lost the rest of the note and the ANC after it (rejected as 'the rest of a message cut
    # inside a segment'), a neutropenia left unjudged.
    note = "NTE|1||Smear reviewed\x1c toxic granulation."
    text = message(PID, OBR, WBC, note, ANC)
    conversion, bundle = _one_message(text, framed)
    observations = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert observations[0]["note"] == [{"text": "Smear reviewed\ufffd toxic granulation."}]
    assert [(f.analyte.value, f.code) for f in conversion.findings] == [("wbc", "L"), ("anc", "L")]
    (found,) = [i for i in conversion.issues if i.code == "hl7v2.control-character"]
    assert found.location == "MSG[1]/NTE[1]-3"
    assert "U+001C" in found.text


def test_a_frame_cut_after_a_file_separator_byte_in_a_text_is_still_truncated() -> None:
    # a frame cut before its end block, whose comment holds a 0x1C with text on both sides:
    # the reader took that 0x1C for the frame's end and read the message up to it, the rest
    # (the ANC) lost without a word
    note = "NTE|1||Smear reviewed\x1c toxic granulation."
    data = b"\x0b" + message(PID, OBR, WBC, note, ANC).encode()
    conversion = leukoflag.convert(data)
    assert conversion.bundles == []
    (rejected,) = conversion.rejected
    assert rejected.reason.startswith("truncated MLLP frame")
    # ... and a whole frame given to read_message is read whole, the 0x1C a character
    framed = read(data + b"\x1c\r")
    assert [r.code.codings[0].code for r in framed.groups[0].orders[0].results] == [
        "6690-2",
        "751-8",
    ]


def test_an_end_block_still_ends_a_frame_before_a_line_end_another_frame_or_a_header() -> None:
    # 0x1C 0x0D (MLLP), 0x1C 0x0A, 0x1C then the next frame's 0x0B, 0x1C then the next header
    # glued to it, 0x1C at the end of the input: each ends its frame, as before
    for between in (b"\x1c\r", b"\x1c\n", b"\x1c\x0b", b"\x1c"):
        data = b"\x0b" + CBC.encode() + between + (b"" if between.endswith(b"\x0b") else b"\x0b")
        data += SECOND.encode() + b"\x1c"
        assert control_ids(split(data)) == ["RS24-000117", "RS24-000118"]
    glued = b"\x0b" + CBC.encode().rstrip(b"\r") + b"\x1c" + SECOND.encode()
    assert control_ids(split(glued)) == ["RS24-000117", "RS24-000118"]


def test_junk_between_mllp_frames_is_its_own_chunk() -> None:
    data = (
        b"\x0b"
        + CBC.encode()
        + b"\x1c\r"
        + b"-- keepalive --\r"
        + b"\x0b"
        + SECOND.encode()
        + b"\x1c\r"
    )
    chunks = split(data)
    assert len(chunks) == 3
    assert chunks[1] == b"-- keepalive --"
    assert isinstance(
        hl7v2.read_message(chunks[1], index=2, source="feed", settings=Settings()), Rejected
    )


def test_segment_before_msh_is_rejected_with_its_name() -> None:
    data = (PID + "\r" + CBC).encode()
    orphan, _ = split(data)
    assert reject(orphan).reason.startswith("segment PID before MSH")


def test_the_rest_of_a_message_cut_by_an_end_block_is_not_called_a_log_line() -> None:
    # a 0x1C 0x0D inside PID-5 ends the frame there: the rest, PID's tail and the message's
    # results, was rejected as "(text between messages, or a log line?)"
    cut = CBC.index("DANIEL")
    data = b"\x0b" + (CBC[:cut] + "\x1c\r" + CBC[cut:]).encode() + b"\x1c\r"
    conversion = leukoflag.convert(data)
    assert [r.location for r in conversion.rejected] == ["MSG[1]", "MSG[2]"]
    assert conversion.rejected[1].reason == (
        "not an HL7 v2 message: no MSH segment; text starts with 'DANIEL^C||19610719|M' and "
        "segments follow it (PV1, ORC, OBR, OBX, SPM): the rest of a message cut inside a "
        "segment (an input that starts inside a message, a capture rotated or cut there, or an "
        "MLLP end block, 0x1C, inside the message?) or sent without its header"
    )


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
@pytest.mark.parametrize(("trailer", "kind"), [("BTS|3", "batch"), ("FTS|1", "file")])
def test_the_tail_of_a_batch_s_last_message_is_not_called_a_log_line(
    codec: str, trailer: str, kind: str
) -> None:
    # A capture rotated inside the last OBX of a batch: its tail, then the trailers, then the
    # next file. The trailer ended the text (no segment after it to tell) and it was rejected
    # as "(text between messages, or a log line?)"
    tail = "ood^LN||1.1|10*3/uL^^UCUM|1.8-7.7|L|||F"
    data = f"{tail}\r{trailer}\r" + FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|1\r"
    outcomes = list(leukoflag.iter_convert(data.encode(codec)))
    assert [o.rejected is None for o in outcomes] == [False, False, True]
    rejected = outcomes[0].rejected
    assert rejected is not None
    assert rejected.raw.decode(codec).lstrip("\ufeff") == tail
    assert rejected.reason == (
        f"not an HL7 v2 message: no MSH segment; text starts with '{tail}' and a {kind} trailer "
        f"({trailer[:3]}) follows it: the rest of a message cut inside a segment (an input that "
        "starts inside a message, a capture rotated or cut there, or an MLLP end block, 0x1C, "
        "inside the message?) or sent without its header"
    )
    chunk = split(data.encode(codec))[0]
    assert pickle.loads(pickle.dumps(chunk)).reason == rejected.reason  # to --jobs workers


@pytest.mark.parametrize("indent", ["  ", "        ", "\t\t\t\t\t\t"])
def test_the_tail_of_a_batch_s_last_message_is_told_before_an_indented_trailer(
    indent: str,
) -> None:
    # a trailer indented six or more characters (a log's layout) is counted as BTS, but the tail
    # before it was still "(text between messages, or a log line?)": its first 8 bytes were read
    tail = "ood^LN||1.1|10*3/uL^^UCUM|1.8-7.7|L|||F"
    data = f"{tail}\r{indent}BTS|3\r" + FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|1\r"
    first = split(data.encode())[0]
    assert reject(first).reason.startswith(
        f"not an HL7 v2 message: no MSH segment; text starts with '{tail}' and a batch trailer "
        "(BTS) follows it: the rest of a message cut inside a segment"
    )


@pytest.mark.parametrize("trailer", ["      BTS|3", "\tFTS|1", "bts|3", "  BTS|3|end of day"])
def test_an_input_starting_with_a_tail_and_an_indented_trailer_converts_its_messages(
    trailer: str,
) -> None:
    # detect wanted a plain segment after the tail: the whole input was rejected as not HL7 v2,
    # its CBC lost, though the splitter counts the trailer as one sent plain
    tail = "ood^LN||1.1|10*3/uL^^UCUM|1.8-7.7|L|||F"
    data = f"{tail}\r{trailer}\r" + FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|1\r"
    plain = data.replace(trailer, trailer.strip().upper())
    for content in (data.encode(), io.BytesIO(data.encode())):
        outcomes = list(leukoflag.iter_convert(content))
        assert [o.rejected.location if o.rejected else "" for o in outcomes] == [
            "MSG[1]",
            "MSG[2]",
            "",
        ]
        assert outcomes[2].output is not None
        assert outcomes[2].output["entry"][0]["resource"]["identifier"][0]["value"] == "MRN100871"
    conversion = leukoflag.convert(data.encode())
    expected = leukoflag.convert(plain.encode())
    assert [r.reason for r in conversion.rejected] == [r.reason for r in expected.rejected]
    assert conversion.rejected[0].reason.startswith("not an HL7 v2 message: no MSH segment; text")


@pytest.mark.parametrize(
    "data",
    [
        "-- rotated 02:00 --\rBTS|3\rFTS|1\r",  # no field separator: a log line
        "PID|1||MRN100871\rBTS|3\r",  # a segment: said so
        "OBX|7|NM\r-- note --\rBTS|3\r",  # ... with text after it
        "ood^LN||1.1|L|||F\rBHS|^~\\&|CORELAB\r" + CBC + "BTS|1\r",  # a header: no tail told
    ],
)
def test_other_text_before_a_trailer_keeps_its_reason(data: str) -> None:
    first = split(data.encode())[0]
    assert type(first) is bytes  # read as any text is, not as a SegmentTail
    assert "follows it: the rest of a message" not in reject(first).reason


def test_stray_text_between_frames_is_still_told_as_such() -> None:
    data = b"\x0b" + CBC.encode() + b"\x1c\r-- keepalive --\rCBC\r\x0b" + CBC.encode() + b"\x1c\r"
    (rejected,) = leukoflag.convert(data).rejected
    assert rejected.reason == (
        "not an HL7 v2 message: no MSH segment; text starts with '-- keepalive --' "
        "(text between messages, or a log line?)"
    )


def test_blank_lines_are_ignored_and_the_byte_order_mark_goes_with_every_message() -> None:
    data = b"\xef\xbb\xbf\r\n\r\n" + CBC.encode() + b"\r\n\r\n\n" + SECOND.encode() + b"\n\n"
    chunks = split(data)
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118"]
    # The file's mark says every message is UTF-8: each is handed over with it.
    assert chunks[0] == b"\xef\xbb\xbf" + CBC.encode()
    assert chunks[1].startswith(b"\xef\xbb\xbfMSH")


def test_files_concatenated_with_their_byte_order_marks() -> None:
    data = CBC.encode() + b"\xef\xbb\xbf" + SECOND.encode() + b"\xef\xbb\xbf" + THIRD.encode()
    chunks = split(data)
    assert chunks == [
        CBC.encode(),
        b"\xef\xbb\xbf" + SECOND.encode(),
        b"\xef\xbb\xbf" + THIRD.encode(),
    ]


def test_utf8_byte_order_mark_of_a_file_wins_over_msh18_for_each_message() -> None:
    # A Windows engine saved the feed as UTF-8 with a mark; the headers still say 8859/1.
    def latin_header(text: str) -> str:
        return text.replace("UNICODE UTF-8", "8859/1").replace("OKAFOR", "MÜLLER")

    data = b"\xef\xbb\xbf" + (latin_header(CBC) + latin_header(SECOND)).encode()
    for index, chunk in enumerate(split(data), start=1):
        read_message = read(chunk, index=index)
        assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
        assert "hl7v2.charset-bom-mismatch" in {i.code for i in read_message.issues}


def test_frame_without_end_block_is_rejected_as_truncated() -> None:
    data = b"\x0b" + CBC.encode() + b"\x1c\r" + b"\x0b" + SECOND.encode()[:-40]
    first, cut = split(data)
    assert read(first).control_id == "RS24-000117"
    assert "truncated MLLP frame" in reject(cut).reason


def test_frame_cut_short_before_an_unframed_message_is_the_truncated_one() -> None:
    # The capture lost the rest of a framed message; a plain export was appended after it.
    head = "\r".join(CBC.split("\r")[:4]) + "\r"
    data = ("\x0b" + head + SECOND + THIRD).encode()
    for block_size in (None, 7):
        cut, second, third = split(data, block_size)
        assert "truncated MLLP frame" in reject(cut).reason
        assert control_ids([second, third]) == ["RS24-000118", "RS24-000119"]
    # A framed message after the unframed ones is read too.
    framed = data + b"\x0b" + CBC.encode() + b"\x1c\r"
    cut, *rest = split(framed)
    assert "truncated MLLP frame" in reject(cut).reason
    assert control_ids(rest) == ["RS24-000118", "RS24-000119", "RS24-000117"]


def test_frame_holding_messages_without_a_batch_header_reads_each() -> None:
    data = ("\x0b" + CBC + SECOND + "\x1c\r\x0b" + THIRD + "\x1c\r").encode()
    for block_size in (None, 5):
        assert control_ids(split(data, block_size)) == [
            "RS24-000117",
            "RS24-000118",
            "RS24-000119",
        ]


def test_frame_left_open_past_the_hold_limit_is_taken_as_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_framing, "HOLD_LIMIT", len(CBC) + len(SECOND))
    head = "\r".join(CBC.split("\r")[:4]) + "\r"
    data = ("\x0b" + head + SECOND + THIRD + SECOND).encode()
    chunks = list(_framing.split_stream(io.BytesIO(data), 64))
    assert "truncated MLLP frame" in reject(chunks[0]).reason
    assert control_ids(chunks[1:]) == ["RS24-000118", "RS24-000119", "RS24-000118"]


def test_utf16_stream_with_byte_order_mark() -> None:
    text = (CBC + SECOND).replace("OKAFOR", "ÖZDEMIR")
    chunks = split(text.encode("utf-16"))
    assert len(chunks) == 2
    first = read(chunks[0])
    assert first.groups[0].patient is not None
    assert first.groups[0].patient.family == "ÖZDEMIR"
    assert read(chunks[1]).control_id == "RS24-000118"


def test_split_stream_reads_lazily_in_blocks() -> None:
    """The first message comes out before the stream is read to its end (memory stays flat)."""

    class Feed(io.RawIOBase):
        def __init__(self, parts: Iterator[bytes]) -> None:
            self.parts = parts
            self.reads = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.reads += 1
            return next(self.parts, b"")

    def endless() -> Iterator[bytes]:
        for number in range(1_000_000):
            yield message(PID, OBR, WBC).replace("RS24-000117", f"N{number}").encode()

    feed = Feed(endless())
    chunks = hl7v2.split_stream(feed)  # type: ignore[arg-type]
    first = next(iter(chunks))
    assert read(first).control_id == "N0"
    assert feed.reads <= 3


def test_every_message_of_a_file_ends_as_message_or_rejected() -> None:
    data = "\r".join(
        (
            CBC.rstrip("\r"),
            "MSH|^~|CORELAB|RIVERSIDE",  # broken delimiters
            "PID|1||X",
            SECOND.rstrip("\r"),
            MSH.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01") + "\rPID|1||MRN1\rPV1|1|I",
            THIRD,
        )
    ).encode()
    outcomes = [
        hl7v2.read_message(chunk, index=i, source="mixed.hl7", settings=Settings())
        for i, chunk in enumerate(split(data), start=1)
    ]
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["Message", "Rejected", "Message", "Rejected", "Message"]
    assert "MSH-2 encoding characters" in outcomes[1].reason  # type: ignore[union-attr]
    assert "ADT^A01" in outcomes[3].reason  # type: ignore[union-attr]


POOL = (CBC, SECOND, THIRD)


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(
    picks=st.lists(st.sampled_from(range(3)), min_size=1, max_size=6),
    terminator=st.sampled_from(["\r", "\n", "\r\n"]),
    framing=st.sampled_from(["plain", "mllp", "batch", "bom"]),
    block_size=st.integers(min_value=1, max_value=700),
)
def test_any_concatenation_and_chunking_yields_the_same_messages(
    picks: list[int], terminator: str, framing: str, block_size: int
) -> None:
    texts = [POOL[p].replace("\r", terminator) for p in picks]
    if framing == "mllp":
        data = b"".join(b"\x0b" + t.encode() + b"\x1c\r" for t in texts)
    elif framing == "bom":
        data = b"".join(b"\xef\xbb\xbf" + t.encode() for t in texts)
    elif framing == "batch":
        data = ("BHS|^~\\&|CORELAB\r" + "".join(texts) + f"BTS|{len(texts)}\r").encode()
    else:
        data = "".join(texts).encode()
    chunks = split(data, block_size)
    assert [c.decode("utf-8-sig") for c in chunks] == texts
    read_all = [hl7v2.read_message(c, index=1, source="p", settings=Settings()) for c in chunks]
    assert all(isinstance(m, Message) for m in read_all)


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(
    parts=st.lists(
        st.sampled_from(
            [
                CBC,
                SECOND.replace("\r", "\n"),
                "\x0b" + THIRD + "\x1c\r",
                "\x0b" + SECOND,  # a frame cut before its end block
                "BHS|^~\\&|CORELAB\r",
                "BTS|2\r",
                "\ufeff",
                "stray words\r\n",
                "\r\n",
            ]
        ),
        max_size=6,
    ),
    block_size=st.integers(min_value=1, max_value=900),
)
def test_bytes_in_memory_split_like_the_same_bytes_streamed(
    parts: list[str], block_size: int
) -> None:
    from leukoflag.hl7v2 import _framing

    data = "".join(parts).encode("utf-8")
    streamed = list(_framing.split_stream(io.BytesIO(data), block_size))
    assert list(_framing.split_bytes(data, block_size)) == streamed
    assert list(hl7v2.split_bytes(data)) == list(hl7v2.split_stream(io.BytesIO(data)))


ENVELOPES = (b"FHS", b"BHS", b"BTS", b"FTS")
ATOMS = (b"MSH", b"FHS", b"BTS", b"MS", b"H", b"BT", b"S", b"A", b"7", b" ", b"|", b"^")
ATOMS_VARIANT = (
    *ATOMS,
    b"msh",
    b"\t",
    b"|^~\\&|",
    b"\0",
    b"bts",
    b"Bhs",
    b"#$%!@#",
    b"#",
)  # headers and envelope lines indented, in lower case, padded; other delimiters
BREAKS = (b"\r", b"\n", b"\r\n", b"\x0b", b"\x1c", b"\xef\xbb\xbf")


def header_variant(line: bytes) -> bool:
    """An indented 'MSH', or 'msh' in another case than upper, then a separator, 3 to 5
    encoding characters and the separator again: a header the reader reads as MSH."""
    text = line.lstrip(b" \t")
    name = text[:3]
    if text != line and name != b"MSH":
        return False  # indented and in lower case: text
    if text == line and (name.upper() != b"MSH" or name == b"MSH"):
        return False  # plain MSH is the marker itself
    separator, rest = text[3:4], text[4:]
    if not separator or separator.isalnum() or separator in b" \t\r\n" or separator not in rest:
        return False
    encoding = rest[: rest.index(separator)]
    return 3 <= len(encoding) <= 5 and all(
        not bytes([c]).isalnum() and c not in b" \t\r\n" for c in encoding
    )


def envelope_variant(line: bytes) -> bool:
    """An indented envelope ID, or one in another case than upper (not both); a header (FHS,
    BHS) then a header's delimiters, as header_variant's; a trailer (BTS, FTS) then a separator,
    field 1 a count or nothing, then the separator again or the end of the line."""
    text = line.lstrip(b" \t")
    name = text[:3]
    if name.upper() not in ENVELOPES or (text != line) != (name in ENVELOPES):
        return False
    if name.upper() in {b"FHS", b"BHS"}:
        return header_variant(b"msh" + text[3:])
    separator = text[3:4]
    if not separator or separator.isalnum() or separator in b" \t\r\n":
        return False
    return re.fullmatch(rb"[ \t]*[0-9]*[ \t]*", text[4:].split(separator)[0]) is not None


def naive_boundaries(region: bytes) -> list[tuple[int, int]]:
    """The boundary rule read straight from its definition, one byte at a time."""
    found = [(at, byte) for at, byte in enumerate(region) if byte in (0x0B, 0x1C)]
    starts = [0] + [at + 1 for at, byte in enumerate(region) if byte in b"\r\n\x0b\x1c"]
    for start in starts:
        at = start + 3 if region[start : start + 3] == b"\xef\xbb\xbf" else start
        marker, following = region[at : at + 3], region[at + 3 : at + 4]
        line = re.split(b"[\r\n\x0b\x1c]", region[at:])[0]
        if marker == b"MSH" or header_variant(line):
            found.append((at, 0))
        elif (unpadded := line.lstrip(b"\0")) != line and (
            unpadded[:3] == b"MSH" or header_variant(unpadded)
        ):  # NUL padding before it
            found.append((at + len(line) - len(unpadded), 0))
        elif (marker in ENVELOPES and following and not following.isalnum()) or envelope_variant(
            line
        ):
            found.append((at, 1))
    # a header after text on its line: the next message glued to the one before. A header is
    # MSH, a separator, 3 to 5 encoding characters, each once, and the separator; with others
    # than the recommended ^~\& (and a fifth), 6 more separators on its line (to MSH-9).
    for at in range(1, len(region)):
        before = region[:at].rstrip(b" \t\0").removesuffix(b"\xef\xbb\xbf")
        line = re.split(b"[\r\n\x0b\x1c]", region[at:])[0]
        if not (line.startswith(b"MSH") and before and before[-1:] not in b"\r\n\x0b\x1c"):
            continue
        separator = line[3:4]
        if not separator or separator.isalnum() or separator in b" \t":
            continue
        fields = line[4:].split(separator)
        encoding = fields[0]
        if (
            len(fields) > 1
            and 3 <= len(encoding) <= 5
            and len(set(encoding)) == len(encoding)
            and not any(bytes([c]).isalnum() or c in b" \t" for c in encoding)
            and (encoding[:4] == b"^~\\&" or len(fields) - 2 >= 6)
        ):
            found.append((at, 0))
    # A 0x0B after text on its line, before text that starts no message or envelope line (no
    # marker on the rest of its line) or before the line's end, is a vertical tab inside a
    # field, no start block. A 0x1C between text on its line and text that starts no message
    # or envelope line is a control character inside a field too, no end block.
    breaks = b"\r\n\x0b\x1c"
    markers = [at for at, token in found if token in (0, 1)]

    def in_field(at: int) -> bool:
        first = after = at  # a run of 0x0B back to back is one (Shift+Enter twice)
        if region[at] == 0x0B:
            while first and region[first - 1] == 0x0B:
                first -= 1
            while after < len(region) and region[after] == 0x0B:
                after += 1
        else:
            after = at + 1
            if after == len(region) or region[after] in breaks:
                return False
        if first == 0 or region[first - 1] in breaks:
            return False
        end = min([n for n in range(after, len(region)) if region[n] in breaks] or [len(region)])
        return not [m for m in markers if at < m < end]

    return sorted(entry for entry in found if not (entry[1] in (0x0B, 0x1C) and in_field(entry[0])))


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(
    st.lists(
        st.sampled_from((*ATOMS_VARIANT, *BREAKS)),
        max_size=40,
    )
)
def test_boundaries_found_line_by_line_are_those_of_the_definition(atoms: list[bytes]) -> None:
    from leukoflag.hl7v2._framing import _boundaries

    region = b"".join(atoms)
    assert _boundaries(region) == naive_boundaries(region)


def test_a_header_padded_with_nul_after_a_bom_is_a_boundary_after_the_padding() -> None:
    # the padding was looked for only at the line's first byte: a BOM then NUL padding then
    # MSH was no message start, though the definition (and padding without a BOM) says it is
    from leukoflag.hl7v2._framing import _boundaries

    region = b"\xef\xbb\xbf\0\0MSH|^~\\&|LAB\r"
    assert _boundaries(region) == naive_boundaries(region) == [(5, 0)]


@settings(deadline=None)  # no wall-clock limit on a loaded machine
@given(st.lists(st.sampled_from((*ATOMS_VARIANT, *BREAKS)), max_size=40))
def test_one_plain_message_in_memory_splits_like_the_stream(atoms: list[bytes]) -> None:
    # split_bytes answers a lone message starting with MSH without the line-by-line splitter.
    data = b"MSH|" + b"".join(atoms)
    assert list(hl7v2.split_bytes(data)) == list(hl7v2.split_stream(io.BytesIO(data)))


def test_one_plain_message_keeps_its_last_terminator_and_drops_trailing_blanks() -> None:
    body = CBC.rstrip("\r").encode()
    assert list(hl7v2.split_bytes(body + b"\r\n\r\n  \n")) == [body + b"\r\n"]
    assert list(hl7v2.split_bytes(body + b"\n")) == [body + b"\n"]
    assert list(hl7v2.split_bytes(body)) == [body]


def test_a_batch_without_bhs_after_a_whole_file_counts_from_its_fts() -> None:
    # cat of a complete file and a headerless batch: the second BTS counts only its own message.
    data = (FILE_HEADER + BATCH_HEADER + CBC + "BTS|1\rFTS|1\r" + SECOND + "BTS|1\r").encode()
    assert control_ids(split(data)) == ["RS24-000117", "RS24-000118"]
    trailer = split((FILE_HEADER + CBC + "FTS|1\r" + SECOND + "BTS|2\r").encode())[2]
    assert isinstance(trailer, _framing.BatchTrailer)
    assert (trailer.expected, trailer.found) == (2, 1)


@pytest.mark.parametrize(
    ("region", "end"),
    [
        (b"BTS|1\rMSH|x\n", 6),  # CR ends it (an LF further on belongs to a later line)
        (b"BTS|1\nMSH|x\r", 6),  # LF-only file: the LF before a later CR
        (b"BTS|1\r\nMSH|x", 6),  # CRLF: the LF is the next (empty) line's, dropped as blank
        (b"BTS|1\x1c\rMSH|x\r", 5),  # MLLP end block right after it: left for the splitter
        (b"BTS|1\rMSH|x\x1c\r", 6),  # an end block after the line is not the line's
        (b"BTS|1", 5),  # the input ends with it
    ],
)
def test_an_envelope_line_ends_at_its_own_terminator(region: bytes, end: int) -> None:
    # Each search stops at the line's end: one to the end of a block per envelope line made
    # splitting a file of many small batches quadratic.
    assert _framing._line_end(b"FHS|^~\\&\r" + region, 9) == 9 + end


@pytest.mark.parametrize("glue", ["", "\ufeff"], ids=["plain", "bom"])
@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_files_concatenated_after_one_without_its_last_terminator_are_each_a_message(
    glue: str, terminator: str
) -> None:
    # cat of exports that end their last segment without a terminator: the next file's MSH
    # comes right after the SPM's last field. It was read as more segments of the message
    # before (the second patient's results under the first's MSH, MSH-1.. as SPM-19..): one
    # Bundle for two messages, and the second's header lost.
    first = CBC.replace("\r", terminator).rstrip(terminator)
    data = (first + glue + SECOND.replace("\r", terminator) + THIRD).encode()
    for block_size in (None, 9):
        chunks = split(data, block_size)
        assert control_ids(chunks) == ["RS24-000117", "RS24-000118", "RS24-000119"]
        assert chunks[0].decode("utf-8-sig") == first
    conversion = leukoflag.convert(data)
    assert len(conversion.bundles) == 3
    assert conversion.rejected == []
    patients = [
        [
            e["resource"]["identifier"][0]["value"]
            for e in b["entry"]
            if e["resource"]["resourceType"] == "Patient"
        ]
        for b in conversion.bundles
    ]
    assert patients == [["MRN100871"], ["MRN200002"], ["MRN300003"]]
    assert "hl7v2.timestamp-invalid" not in {i.code for i in conversion.issues}


def _delimited(text: str, encoding: str) -> str:
    """``text`` written with the field separator and encoding characters ``encoding`` (five:
    the field separator first) instead of ``|^~\\&``."""
    return text.translate(str.maketrans("|^~\\&", encoding))


@pytest.mark.parametrize("encoding", ["#$%!@", "|$~!&", "!^~\\&"])
def test_a_header_with_other_delimiters_glued_to_the_message_before_starts_a_message(
    encoding: str,
) -> None:
    # cat of an export that ends without its last terminator and one of a lab that writes
    # other delimiters (MSH#$%!@#…): the second message's MSH was read as more of the SPM before
    # it, its patient's results under the first's header, while MSH|^~\&| was split off
    from leukoflag.hl7v2._framing import _boundaries

    second = _delimited(SECOND, encoding)
    data = (CBC.rstrip("\r") + second).encode()
    assert _boundaries(data) == naive_boundaries(data) == [(0, 0), (len(CBC) - 1, 0)]
    for block_size in (None, 9):
        chunks = split(data, block_size)
        assert chunks == [CBC.rstrip("\r").encode(), second.encode()]
    conversion = leukoflag.convert(data)
    assert conversion.rejected == []
    patients = [
        [
            e["resource"]["identifier"][0]["value"]
            for e in b["entry"]
            if e["resource"]["resourceType"] == "Patient"
        ]
        for b in conversion.bundles
    ]
    assert patients == [["MRN100871"], ["MRN200002"]]


@pytest.mark.parametrize(
    "note",
    [
        "NTE|1||Sender switched to MSH#$%!@# delimiters on 2026-11-20.",
        "NTE|1||Header MSH|<>{}| refused by the engine: resend.",
        "NTE|1||MSH|...| is the header's start",
    ],
)
def test_text_quoting_a_header_s_start_stays_in_its_segment(note: str) -> None:
    # a header's shape with other delimiters in a comment, without the fields of a header
    # after it (MSH-3 to MSH-9), is text: no message starts there
    from leukoflag.hl7v2._framing import _boundaries

    data = message(PID, OBR, WBC, note, ANC).encode()
    assert split(data) == [data]
    assert _boundaries(data) == naive_boundaries(data) == [(0, 0)]


def test_text_with_msh_inside_a_line_stays_in_its_segment() -> None:
    # only a header's delimiters after MSH make it a header: a name or word holding MSH is text
    data = CBC.replace("OKAFOR", "HAMSHIRE").replace("BLDV^Blood", "MSH|x^Blood").encode()
    assert split(data) == [data]


@pytest.mark.parametrize("framed", [False, True], ids=["plain", "mllp"])
def test_a_vertical_tab_inside_a_comment_is_a_character_not_a_start_block(framed: bool) -> None:
    # A comment pasted from a word processor keeps its manual line break as 0x0B, the MLLP
    # start byte. Taken as a start block, it cut the message there: unframed, the comment's
    # rest was rejected as text and the next message as a truncated frame; framed, the message
    # itself was rejected as truncated. Mid-line with no header after it, it is a character.
    comment = "NTE|1|L|Smear reviewed.\x0bCall ward 4B with results\r"
    texts = [CBC + comment, SECOND]
    if framed:
        data = b"".join(b"\x0b" + t.encode() + b"\x1c\r" for t in texts)
    else:
        data = "".join(texts).encode()
    for block_size in (None, 11):
        chunks = split(data, block_size)
        assert control_ids(chunks) == ["RS24-000117", "RS24-000118"]
        assert chunks[0] == texts[0].encode()
    conversion = leukoflag.convert(data)
    assert (len(conversion.bundles), conversion.rejected) == (2, [])
    (control,) = [i for i in conversion.issues if i.code == "hl7v2.control-character"]
    assert control.location == "MSG[1]/NTE[1]-3"


def test_a_start_block_inside_a_line_before_a_header_still_starts_a_frame() -> None:
    # a connection cut mid-segment and the sender's next frame right after it
    head = "\r".join(CBC.split("\r")[:5]) + "\rOBX|1|NM|6690-2^WBC^LN||3."
    data = ("\x0b" + head + "\x0b" + SECOND + "\x1c\r").encode()
    cut, second = split(data)
    assert "truncated MLLP frame" in reject(cut).reason
    assert control_ids([second]) == ["RS24-000118"]


def _one_message(text: str, framed: bool) -> tuple[leukoflag.Conversion, dict[str, Any]]:
    """``text`` (framed in MLLP if ``framed``) split as one message in blocks of every size the
    framing tests use, and its conversion with its one Bundle."""
    data = b"\x0b" + text.encode() + b"\x1c\r" if framed else text.encode()
    for block_size in (None, 1, 16, 23):
        assert len(split(data, block_size)) == 1
    conversion = leukoflag.convert(data)
    assert not conversion.rejected
    (bundle,) = conversion.bundles
    return conversion, bundle


def test_a_byte_order_mark_before_each_mllp_frame_goes_with_its_frame() -> None:
    # Frames saved one file each with a UTF-8 mark, then concatenated (or a sender writing the
    # mark before each start block): only the first mark, at the start of the input, was
    # dropped; each later one was a chunk of its own, rejected as 'empty message: no segments',
    # a message counted that was never sent (5 read for 3 frames). The mark goes with its
    # frame, as a mark before an MSH line does.
    latin = SECOND.replace("UNICODE UTF-8", "8859/1").replace("OKAFOR", "MÜLLER")
    data = b"".join(b"\xef\xbb\xbf\x0b" + text.encode() + b"\x1c\r" for text in (CBC, latin, THIRD))
    chunks = split(data)
    assert control_ids(chunks) == ["RS24-000117", "RS24-000118", "RS24-000119"]
    second = read(chunks[1], index=2)  # the mark decides over MSH-18, as documented
    assert second.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    conv = leukoflag.convert(data)
    assert (len(conv.bundles), conv.rejected) == (3, [])


@pytest.mark.parametrize("terminator", ["\r", "\r\n"])
def test_one_mllp_payload_with_a_byte_order_mark_before_its_start_block_is_read(
    terminator: str,
) -> None:
    # An engine handing read_message one frame as saved to a UTF-8 file with a mark (EF BB BF
    # 0x0B MSH… 0x1C 0x0D): the frame was not seen, and the message was rejected as
    # 'segment MSH before MSH: a message must start with an MSH segment', a reason that names
    # no real fault (convert, which splits first, read it).
    latin = SECOND.replace("UNICODE UTF-8", "8859/1").replace("OKAFOR", "MÜLLER")
    framed = "\ufeff\x0b" + latin.replace("\r", terminator) + "\x1c" + terminator
    read_message = read(framed.encode())
    assert read_message.control_id == "RS24-000118"
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert [i.code for i in read_message.issues if "charset" in i.code] == [
        "hl7v2.charset-bom-mismatch"
    ]
    cut = ("\ufeff\x0b" + latin).encode()  # ... and one cut before its end block is truncated
    assert reject(cut).reason.startswith("truncated MLLP frame")


@pytest.mark.parametrize(
    "after",
    ["\rFTS|1\r", "\r", "", "\rBHS|^~\\&|CORELAB\r" + THIRD + "BTS|1\rFTS|2\r"],
    ids=["file-trailer", "line-end", "input-end", "next-batch"],
)
def test_a_batch_trailer_glued_to_a_last_segment_without_terminator_ends_the_batch(
    after: str,
) -> None:
    # The batch's last message ended without its terminator, as a sender writing segments
    # joined by CR does: '…|20261124080500-0500BTS|2' read 'BTS' into OBX-14 (timestamp
    # invalid, the OBR-7 time used instead) and '2' as OBX-15, and the batch was then rejected
    # as cut short with no BTS ('a file trailer (FTS) came after 2 messages of a batch (BHS)
    # with no batch trailer'). The trailer ends the batch there, as a glued MSH starts one.
    last = SECOND.rstrip("\r")
    file_header = FILE_HEADER if "FTS" in after else ""  # a file without its trailer is cut
    data = (file_header + BATCH_HEADER + CBC + last + "BTS|2" + after).encode()
    for block_size in (None, 7):
        chunks = split(data, block_size)
        assert chunks[:2] == [CBC.encode(), last.encode()]
    conv = leukoflag.convert(data)
    assert conv.rejected == []
    assert [i for i in conv.issues if i.location.startswith("MSG[2]/OBX")] == []
    second = conv.bundles[1]
    (wbc,) = [
        e["resource"] for e in second["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert wbc["effectiveDateTime"] == "2026-11-24T08:05:00-05:00"
    short = (FILE_HEADER + BATCH_HEADER + CBC + last + "BTS|3\rFTS|1\r").encode()
    trailer = split(short)[-1]  # its count is checked as any trailer's: one message missing
    assert isinstance(trailer, _framing.BatchTrailer)
    assert (trailer.expected, trailer.found) == (3, 2)


@pytest.mark.parametrize(
    "line",
    [
        "NTE|1|L|Patient reports GIFTS|",  # text ending in 'FTS' before an empty last field
        "NTE|1|L|NO DOUBTS|2",
    ],
)
def test_text_ending_like_a_trailer_inside_a_batch_stays_text(line: str) -> None:
    # only a trailer shape with a message start, an envelope line or the input's end after
    # its line is one: a note that ends so, with more segments after it, is the note's text
    text = message(PID, OBR, WBC, line, ANC)
    data = (BATCH_HEADER + text + "BTS|1\r").encode()
    (chunk,) = split(data)
    assert chunk == text.encode()


@pytest.mark.parametrize("header", [FILE_HEADER + BATCH_HEADER, BATCH_HEADER])
def test_a_byte_order_mark_before_a_later_batch_header_goes_with_its_batch(header: str) -> None:
    # Two batch files, each saved with a UTF-8 mark, concatenated: the second mark, before an
    # FHS or BHS line, was a chunk of its own, rejected as 'empty message: no segments' (3
    # messages read for 2 sent), as a mark before a start block was.
    trailer = "BTS|1\rFTS|1\r" if header.startswith("FHS") else "BTS|1\r"
    data = b"".join(b"\xef\xbb\xbf" + (header + text + trailer).encode() for text in (CBC, SECOND))
    assert control_ids(split(data)) == ["RS24-000117", "RS24-000118"]
    conv = leukoflag.convert(data)
    assert (len(conv.bundles), conv.rejected) == (2, [])


@pytest.mark.parametrize(
    ("line", "envelope"),
    [
        ("NTE|1|L|MARKED LEFT SHIFTS|", (FILE_HEADER, "BTS|1\rFTS|1\r")),  # FTS, then BTS
        ("NTE|1|L|SMEAR REVIEWED, NO DOUBTS|", ("", "BTS|1\r")),  # BTS, then BTS
        ("NTE|1|L|SEE GIFTS|", (FILE_HEADER, "BTS|1\rFTS|1\r")),
    ],
)
def test_text_ending_like_a_trailer_before_the_batch_s_own_trailer_stays_text(
    line: str, envelope: tuple[str, str]
) -> None:
    # The last segment of a batch's last message ending in 'FTS|' or 'BTS|' (an empty last
    # field sent) was taken for a trailer glued to it though the batch's own trailer came on
    # the next line: 'MARKED LEFT SHIFTS|' lost 'FTS' ('MARKED LEFT SHI'), and the real BTS
    # and FTS after it were each a Rejected ('a file trailer (FTS) came after 1 message of a
    # batch (BHS) with no batch trailer', 'BTS-1 counts 1 message but no batch header (BHS)
    # … came before it'). A trailer cannot be followed by a batch trailer, nor a file trailer
    # by a file trailer: the line is text.
    text = message(PID, OBR, WBC, line)
    data = (envelope[0] + BATCH_HEADER + text + envelope[1]).encode()
    conv = leukoflag.convert(data)
    assert conv.rejected == []
    (bundle,) = conv.bundles
    dumped = json.dumps(bundle, default=str)
    assert line.split("|")[3] in dumped
