"""leukoflag.iter_file: a file converted item by item, as an integration engine reads a batch.

Each item ends as one Outcome (a Bundle or a Rejected) as soon as it is read; how far the file
was read is seen in /proc (the file position of the descriptor iter_file holds), so the bound
is checked without timing anything.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

import leukoflag
from leukoflag.model import Severity

_SEGMENTS = (
    "MSH|^~\\&|HEMLAB|BAYVIEW|EHR|BAYVIEW|20261209071500-0800||ORU^R01^ORU_R01|{control}|P|2.5.1",
    "PID|1||BV{mrn}^^^BAYVIEW^MR||OKONKWO^ADAEZE||19610914|F",
    "ORC|RE|EP-{control}^EHR|LF-{control}^HEMLAB||CM",
    (
        "OBR|1|EP-{control}^EHR|LF-{control}^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
        "|||20261209060000-0800|||||||||||||||20261209070500-0800|||F"
    ),
    (
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||{wbc}|10*3/uL^^UCUM"
        "|4.0-11.0||||F|||20261209060000-0800"
    ),
    (
        "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||{anc}|10*3/uL^^UCUM"
        "|1.8-7.7||||F|||20261209060000-0800"
    ),
)
_FHS = "FHS|^~\\&|HEMLAB|BAYVIEW|EHR|BAYVIEW|20261209080000-0800||night-0912.hl7\r"
_BHS = "BHS|^~\\&|HEMLAB|BAYVIEW|EHR|BAYVIEW|20261209080000-0800\r"


def _cbc(control: str, wbc: str = "6.4", anc: str = "3.8") -> str:
    mrn = control[-6:]
    return "\r".join(s.format(control=control, mrn=mrn, wbc=wbc, anc=anc) for s in _SEGMENTS) + "\r"


def _observation(identifier: str, value: str) -> bytes:
    line = (
        '{"resourceType":"Observation","id":"%s","status":"final","code":{"coding":[{"system":'
        '"http://loinc.org","code":"6690-2"}]},"subject":{"reference":"Patient/bv-%s"},'
        '"effectiveDateTime":"2026-12-09T06:00:00-08:00","valueQuantity":{"value":%s,'
        '"unit":"10*3/uL","system":"http://unitsofmeasure.org","code":"10*3/uL"}}\n'
    )
    return (line % (identifier, identifier, value)).encode()


def _counts(outcome: leukoflag.Outcome) -> list[tuple[str, Decimal, str]]:
    return [(f.location, f.value_per_ul, f.code) for f in outcome.findings]


def test_a_batch_file_gives_one_outcome_per_message_with_its_own_findings(tmp_path: Path) -> None:
    path = tmp_path / "night-0912.hl7"
    broken = "MSH|^~|HEMLAB|BAYVIEW\rPID|1||BV000002\r"
    path.write_bytes(
        (
            _FHS
            + _BHS
            + _cbc("BV0912000001", wbc="2.9")
            + broken
            + _cbc("BV0912000003", anc="0.4")
            + "BTS|3\rFTS|1\r"
        ).encode()
    )
    outcomes = list(leukoflag.iter_file(path))
    assert [(o.index, o.source) for o in outcomes] == [(n, str(path)) for n in (1, 2, 3)]
    first, second, third = outcomes
    assert first.rejected is None
    assert first.output is not None
    assert first.output["resourceType"] == "Bundle"
    assert _counts(first) == [
        ("MSG[1]/OBX[1]", Decimal(2900), "LU"),
        ("MSG[1]/OBX[2]", Decimal(3800), "N"),
    ]
    assert second.output is None
    assert second.rejected is not None
    assert (second.rejected.location, second.rejected.raw) == ("MSG[2]", broken.encode())
    assert second.findings == ()
    assert [(i.severity, i.code, i.location) for i in second.issues] == [
        (Severity.ERROR, "input.rejected", "MSG[2]")
    ]
    assert _counts(third) == [
        ("MSG[3]/OBX[1]", Decimal(6400), "N"),
        ("MSG[3]/OBX[2]", Decimal(400), "LL"),
    ]
    assert all(i.location.startswith("MSG[3]") for i in third.issues)


def test_the_outcomes_add_up_to_what_convert_file_gives(tmp_path: Path) -> None:
    path = tmp_path / "capture.mllp"
    frames = [_cbc("BV0912000101", wbc="1.1"), _cbc("BV0912000102"), "PID|1||BV000103\r"]
    path.write_bytes(b"".join(b"\x0b" + f.encode() + b"\x1c\r" for f in frames))
    settings = leukoflag.Settings(fhir_version="R5", bundle_type="collection")
    conversion = leukoflag.Conversion(fhir_version="R5")
    for outcome in leukoflag.iter_file(path, settings):
        conversion.add(outcome)
    whole = leukoflag.convert_file(path, settings)
    assert conversion == whole
    assert (len(whole.bundles), len(whole.rejected)) == (2, 1)
    assert whole.findings[0].value_per_ul == Decimal(1100)


def test_each_outcome_records_the_fhir_version_it_was_made_in(tmp_path: Path) -> None:
    # An engine streaming with R5 could not tell from an Outcome which version its Bundle was
    # in, and Conversion().add(outcome) gathered them as a Conversion of no version.
    batch = tmp_path / "night-0912.hl7"
    batch.write_bytes((_cbc("BV0912000201") + "MSH|^~|HEMLAB|BAYVIEW\r").encode())
    lines = tmp_path / "export.ndjson"
    lines.write_bytes(_observation("w1", "2.9") + b"{broken\n")
    log = tmp_path / "interface.log"
    log.write_bytes(b"2026-12-09 07:15 connection from 10.4.4.12 closed\n")
    r5 = leukoflag.Settings(fhir_version="R5")
    outcomes = [o for path in (batch, lines, log) for o in leukoflag.iter_file(path, r5)]
    assert [(o.rejected is None, o.fhir_version) for o in outcomes] == [
        (True, "R5"),
        (False, "R5"),
        (True, "R5"),
        (False, "R5"),
        (False, "R5"),
    ]
    gathered = leukoflag.Conversion()
    for outcome in leukoflag.iter_file(batch, r5):
        gathered.add(outcome)
    assert gathered == leukoflag.convert_file(batch, r5)
    assert gathered.fhir_version == "R5"
    (r4,) = leukoflag.iter_file(log)
    assert r4.fhir_version == "R4"
    with pytest.raises(ValueError, match=r"^Conversion.add: the outcome is FHIR R4, this "):
        gathered.add(r4)
    assert len(gathered.rejected) == 1


def test_adding_what_is_not_an_outcome_to_a_conversion_is_a_type_error_naming_add(
    tmp_path: Path,
) -> None:
    # an engine joining the Conversions of two feeds with add() got "'Conversion' object has no
    # attribute 'output'", and a dict (the output alone) "'dict' object has no attribute ..."
    path = tmp_path / "night-0912.hl7"
    path.write_bytes(_cbc("BV0912000301").encode())
    morning = leukoflag.convert_file(path)
    gathered = leukoflag.Conversion()
    with pytest.raises(TypeError) as caught:
        gathered.add(morning)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "Conversion.add() takes an Outcome, not Conversion: to join two Conversions, extend "
        "each of their lists"
    )
    with pytest.raises(TypeError, match=r"^Conversion.add\(\) takes an Outcome, not dict$"):
        gathered.add(morning.bundles[0])  # type: ignore[arg-type]
    assert gathered == leukoflag.Conversion()


def test_ndjson_lines_are_outcomes_of_their_line_and_a_bad_line_is_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(_observation("wbc-1", "3.4") + b"{not json\n" + _observation("wbc-3", "5.2"))
    outcomes = list(leukoflag.iter_file(path))
    assert [o.index for o in outcomes] == [1, 2, 3]
    assert outcomes[0].output is not None
    assert outcomes[0].output["id"] == "wbc-1"
    assert outcomes[0].output["valueQuantity"]["value"] == 3400
    assert _counts(outcomes[0]) == [("ITEM[1]/Observation", Decimal(3400), "L")]
    assert outcomes[1].rejected is not None
    assert outcomes[1].rejected.raw == b"{not json"
    assert _counts(outcomes[2]) == [("ITEM[3]/Observation", Decimal(5200), "N")]


def test_an_empty_file_gives_no_outcome(tmp_path: Path) -> None:
    path = tmp_path / "quiet-night.hl7"
    path.write_bytes(b"\r\n")
    assert list(leukoflag.iter_file(path)) == []


# --------------------------------------------------------------------------- errors


def test_a_missing_file_is_a_read_error_raised_by_the_call_itself(tmp_path: Path) -> None:
    # raised where convert_file raises it, not at the first next() of a loop far away
    missing = tmp_path / "no-such-feed.hl7"
    with pytest.raises(leukoflag.ReadError) as caught:
        leukoflag.iter_file(missing)
    assert caught.value.errno == errno.ENOENT
    assert caught.value.strerror == f"cannot read '{missing}': No such file or directory"


@pytest.mark.parametrize(
    ("path", "said"),
    [
        (b"feeds/night.hl7", r"not bytes$"),
        (None, r"not NoneType$"),
        (io.BytesIO(b"MSH|"), r"for an open file, use leukoflag\.convert\(stream\.read\(\)\)$"),
    ],
)
def test_iter_file_refuses_what_is_not_a_path_and_names_itself(path: object, said: str) -> None:
    with pytest.raises(TypeError, match=r"^iter_file\(\) takes a path as str or os\.PathLike, "):
        leukoflag.iter_file(path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=said):
        leukoflag.iter_file(path)  # type: ignore[arg-type]


def test_settings_of_iter_file_that_are_not_a_settings_object_are_a_type_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feed.hl7"
    path.write_bytes(_cbc("BV0912000201").encode())
    with pytest.raises(TypeError, match=r"^iter_file\(\): settings must be a leukoflag\."):
        leukoflag.iter_file(path, {"fhir_version": "R5"})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- streaming


def _open_position(path: Path) -> int | None:
    """The file position of this process's descriptor open on ``path``, ``None`` when none is."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                info = Path(f"/proc/self/fdinfo/{fd}").read_text("ascii")
                return int(info.split("pos:", 1)[1].split()[0])
        except OSError:  # the descriptor listdir itself used, closed since
            continue
    return None


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/fdinfo").is_dir(), reason="reads file positions from /proc"
)


def _batch_file(path: Path, messages: int) -> int:
    with path.open("wb") as out:
        out.write((_FHS + _BHS).encode())
        for n in range(1, messages + 1):
            out.write(_cbc(f"BV0912{n:06d}", wbc=f"{2 + n % 7}.{n % 10}").encode())
        out.write(f"BTS|{messages}\rFTS|1\r".encode())
    return path.stat().st_size


@needs_proc
def test_items_come_before_the_file_is_read_and_break_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "month-end.hl7"
    size = _batch_file(path, 4000)  # about 3.7 MB: several of the splitter's 1 MiB blocks
    outcomes = leukoflag.iter_file(path)
    first: list[leukoflag.Outcome] = []
    for outcome in outcomes:
        first.append(outcome)
        if len(first) == 200:
            break
    position = _open_position(path)
    assert position is not None
    assert position <= (2 << 20) < size
    assert [o.index for o in first] == list(range(1, 201))
    assert first[199].findings[0].value_per_ul == Decimal(6000)  # message 200 sent 6.0
    del outcome
    outcomes.close()
    assert _open_position(path) is None


@needs_proc
def test_an_abandoned_loop_releases_the_file(tmp_path: Path) -> None:
    path = tmp_path / "month-end.hl7"
    _batch_file(path, 50)
    for outcome in leukoflag.iter_file(path):
        assert outcome.output is not None
        break
    assert _open_position(path) is None  # the generator was collected with the loop


@needs_proc
def test_an_ndjson_export_is_read_only_as_far_as_it_was_converted(tmp_path: Path) -> None:
    path = tmp_path / "bulk-export.ndjson"
    with path.open("wb") as out:
        for n in range(12000):  # about 3.8 MB
            out.write(_observation(f"wbc-{n:05d}", f"{3 + n % 5}.{n % 10}"))
    outcomes = leukoflag.iter_file(path)
    first = list(islice(outcomes, 100))
    assert [o.output["id"] for o in first if o.output][-1] == "wbc-00099"
    position = _open_position(path)
    assert position is not None
    assert position <= (2 << 20) < path.stat().st_size
    outcomes.close()
    assert _open_position(path) is None


@needs_proc
def test_an_outcome_never_asked_for_leaves_no_file_open(tmp_path: Path) -> None:
    path = tmp_path / "feed.hl7"
    path.write_bytes(_cbc("BV0912000301").encode())
    outcomes: Iterator[leukoflag.Outcome] = leukoflag.iter_file(path)
    assert _open_position(path) == 0  # opened by the call, nothing read yet
    del outcomes
    assert _open_position(path) is None


def test_a_read_error_after_some_items_ends_the_loop_with_a_read_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "share-feed.hl7"
    messages = [_cbc(f"BV09120004{n:02d}").encode() for n in range(1, 13)]
    path.write_bytes(b"".join(messages))
    good = len(b"".join(messages[:9])) + 100  # nine messages (5 kB) and the start of the tenth
    opened = Path.open

    class ShareGone(io.FileIO):
        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            if self.tell() >= good:
                raise OSError(errno.EIO, "Input/output error")
            return super().readinto(memoryview(buffer)[: good - self.tell()])

    def open_on_share(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            return io.BufferedReader(ShareGone(path, "rb"), 1024)
        return opened(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", open_on_share)
    outcomes = leukoflag.iter_file(path)
    # what was read before the share went away is converted, then the loop ends with the error
    assert [o.index for o in islice(outcomes, 9)] == list(range(1, 10))
    with pytest.raises(leukoflag.ReadError) as caught:
        next(outcomes)
    assert caught.value.errno == errno.EIO
    assert caught.value.strerror == f"cannot read '{path}': Input/output error"
