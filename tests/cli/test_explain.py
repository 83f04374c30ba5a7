"""``leukoflag explain``: value as written → cells/µL → code, with rule, range, finding, grade."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from leukoflag import api, fhir
from leukoflag._range_text import read_range_text
from leukoflag.cli._explain import _Item, _write_item
from leukoflag.model import (
    Coding,
    Concept,
    Identifier,
    LabResult,
    Message,
    Number,
    NumberRange,
    Order,
    Patient,
    PatientResult,
    ReferenceRange,
    ReportStatus,
    ResultStatus,
    Text,
    Timestamp,
    Unit,
)
from leukoflag.settings import Settings

from .conftest import Runner
from .messages import LOG_QUOTING_HL7, ndjson, observation, oru

DAY = Timestamp("20261124080500-0500", "2026-11-24T08:05:00-05:00", dt.date(2026, 11, 24))


def _result(n: int, code: str, value: str, unit: str, limits: tuple[str, str]) -> LabResult:
    low, high = limits
    number = value[0].isdigit()
    return LabResult(
        location=f"MSG[1]/OBX[{n}]",
        code=Concept((Coding(code, "", "http://loinc.org", "LN"),)),
        value=Number(Decimal(value), value) if number else Text(value),
        status=ResultStatus.FINAL,
        unit=Unit(unit),
        reference_range=ReferenceRange(f"{low}-{high}", Decimal(low), Decimal(high)),
        sender_flags=(Coding("N"),),
        effective=DAY,
        order="MSG[1]/OBR[1]",
    )


def _explained(*results: LabResult) -> str:
    order = Order(
        "MSG[1]/OBR[1]",
        Concept((Coding("58410-2", "", "http://loinc.org"),)),
        ReportStatus.FINAL,
        effective=DAY,
        results=results,
    )
    born = Timestamp("19610719", "1961-07-19", dt.date(1961, 7, 19))
    patient = Patient("MSG[1]/PID[1]", (Identifier("MRN100871"),), birth_date=born, sex="male")
    groups = (PatientResult(patient, None, (order,)),)
    message = Message(1, "feed.hl7", control_id="C-1", timestamp=DAY, groups=groups)
    evaluations = api.evaluate_groups(groups, Settings(), fallback=message)
    out = io.StringIO()
    _write_item(out, _Item("MSG[1]", "ORU^R01  control id C-1", groups, evaluations))
    return out.getvalue()


def test_judged_count_shows_value_as_written_count_code_rule_range_finding_grade() -> None:
    text = _explained(
        _result(1, "6690-2", "3.1", "K/uL", ("4.0", "11.0")),
        _result(2, "718-7", "12.9", "g/dL", ("13.5", "17.5")),
    )
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("  MSG[1]/OBX[1]"))
    assert re.fullmatch(r"  MSG\[1\]/OBX\[1\]  WBC  3\.1 K/uL  →  3,100 cells/µL  →  L", row)
    details = "\n".join(lines[lines.index(row) + 1 :])
    assert "rule     wbc-leukopenia-adult: threshold 4,000 cells/µL (" in details
    assert 'range    4,000–11,000 cells/µL, the lab\'s range, sent as "4.0-11.0"' in details
    assert "finding  Leukopenia (SNOMED CT 84828003)" in details
    assert "CTCAE    v5.0 grade 1 White blood cell decreased (C143948)" in details
    assert "sender   N" in details
    assert "flag.sender-disagrees" in details
    assert "patient MRN100871 · male · born 1961-07-19" in text
    assert text.rstrip().endswith("1 other result is not a WBC or ANC count")


def test_count_not_judged_says_why() -> None:
    text = _explained(_result(1, "751-8", "see comment", "K/uL", ("1.8", "7.7")))
    assert '  MSG[1]/OBX[1]  ANC  "see comment"  →  —  →  not judged' in text
    # the labels are as wide as the longest, here the sender's flag the output keeps
    assert "      sender  N\n      why     flag.value-not-numeric: " in text


def test_a_lab_range_limit_with_a_huge_exponent_is_shown_with_its_exponent() -> None:
    # written out in full, a low limit of 1E-99999 K/uL was a row of 100,000 characters
    text = _explained(_result(1, "6690-2", "3.1", "K/uL", ("1E-99999", "11.0")))
    assert "range    1E-99996–11,000 cells/µL, the lab's range" in text
    assert max(map(len, text.splitlines())) < 400


@pytest.mark.parametrize(
    ("sent", "whose"),
    [
        ("M: 4.0-10.0 F: 4.5-11.0", "for men (under 'M', English)"),
        # M beside H is women: the reader sees which range judged this man
        ("H: 4,5-11,0 M: 4,0-10,0", "for men (under 'H', Spanish, Portuguese)"),
    ],
)
def test_a_lab_range_per_sex_names_the_sex_and_label_it_judged_with(sent: str, whose: str) -> None:
    result = _result(1, "6690-2", "4.2", "K/uL", ("4.0", "11.0"))
    text = _explained(replace(result, reference_range=read_range_text(sent)[0]))
    span = "4,000–10,000" if sent.startswith("M") else "4,500–11,000"
    (line,) = [line.split(maxsplit=1)[1] for line in text.splitlines() if "  range " in line]
    assert line == f'{span} cells/µL, the lab\'s range {whose}, sent as "{sent}"'


def test_rows_of_one_message_are_aligned() -> None:
    text = _explained(
        _result(1, "6690-2", "3.1", "K/uL", ("4.0", "11.0")),
        _result(12, "751-8", "0.62", "10*3/uL", ("1.8", "7.7")),
    )
    rows = [line for line in text.splitlines() if line.startswith("  MSG[1]/OBX[")]
    assert len(rows) == 2
    assert rows[0].index("→") == rows[1].index("→")
    assert rows[0].rindex("→") == rows[1].rindex("→")


def test_a_message_about_two_patients_shows_each_patients_counts_below_them(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a reference lab's ORU with two PATIENT_RESULT groups: both patient lines came first and
    # every row after them, so the girl's WBC judged by her age band read as the man's
    man = oru("E-7", sex="M", birth="19610719", wbc="3.1").split(b"\r")[:-1]  # MSH, his CBC
    girl = [
        b"PID|2||MRN300412^^^EASTFIELD^MR||TESTCASE^MAYA||20240101|F",
        b"ORC|RE|EO-E-8^EHR|EL-E-8^CORELAB||CM",
        (
            b"OBR|2|EO-E-8^EHR|EL-E-8^CORELAB|58410-2^CBC panel - Blood by Automated count^LN"
            b"|||20261124081000-0500"
        ),
        (
            b"OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.0"
            b"|10*3/uL^^UCUM||||||F|||20261124081000-0500"
        ),
    ]
    (tmp_path / "two.hl7").write_bytes(b"\r".join([*man, *girl]) + b"\r")
    done = leukoflag("explain", "two.hl7")
    assert done.returncode == 0, done.stderr
    lines = [
        line.split("  →")[0].strip()
        for line in done.stdout.decode().splitlines()
        if line.startswith("  ") and not line.startswith("      ")
    ]
    assert lines == [
        "patient MRN200101 · male · born 1961-07-19",
        "MSG[1]/OBX[1]  WBC  3.1 10*3/uL",
        "MSG[1]/OBX[3]  ANC  3.9 10*3/uL",
        "patient MRN300412 · female · born 2024-01-01",
        "MSG[1]/OBX[4]  WBC  5.0 10*3/uL",
        "1 other result is not a WBC or ANC count",
    ]


def test_explain_command_on_hl7_v2(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "low.hl7").write_bytes(
        oru("E-1", sex="M", birth="19610719", wbc="3.1", wbc_unit="K/uL", anc="0.45")
    )
    done = leukoflag("explain", "low.hl7")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert text.startswith("low.hl7\n\nMSG[1]  ")
    assert re.search(r"MSG\[1\]/OBX\[1\]  WBC  3\.1 K/uL +→ +3,100 cells/µL  →  L\n", text)
    assert re.search(r"MSG\[1\]/OBX\[3\]  ANC  0\.45 10\*3/uL +→ +450 cells/µL  →  LL\n", text)
    assert "Neutropenia (SNOMED CT 165517008), severe" in text
    assert "CTCAE    v5.0 grade 4 Neutrophil count decreased (C143704)" in text
    done = leukoflag("explain", "low.hl7", "--ctcae-version", "6.0")
    assert "CTCAE    v6.0 grade 3 " in done.stdout.decode()


def test_explain_command_on_fhir_and_rejected_input(leukoflag: Runner, tmp_path: Path) -> None:
    (tmp_path / "obs.ndjson").write_bytes(ndjson(observation("o-1", 900, "/uL", "751-8")))
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7)
    done = leukoflag("explain", "obs.ndjson", "engine.log")
    assert done.returncode == 1
    text = done.stdout.decode()
    assert "ITEM[1]  Observation/o-1" in text
    assert re.search(r"ANC  900 /uL +→ +900 cells/µL  →  LU\n", text)
    assert (
        "engine.log\n\nITEM[1]  rejected: not an HL7 v2 message: MSH segment found at line 2"
        in text
    )


def test_explain_finds_no_item_in_a_file_of_a_byte_order_mark_alone(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # an empty file saved "with BOM" (Notepad): "ITEM[1]  rejected: empty input", status 1,
    # where convert finds no item in it, as in a file of zero bytes
    (tmp_path / "saved-with-bom.hl7").write_bytes(b"\xef\xbb\xbf\r\n")
    (tmp_path / "zero.hl7").write_bytes(b"")
    done = leukoflag("explain", "saved-with-bom.hl7", "zero.hl7")
    assert done.returncode == 0
    assert "rejected" not in done.stdout.decode()
    converted = leukoflag("convert", "saved-with-bom.hl7", "--report", "report.json")
    assert converted.returncode == 0


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b"\xef\xbb\xbf", b"[]\n"])
def test_explain_says_an_input_of_no_item_holds_nothing_to_explain(
    leukoflag: Runner, tmp_path: Path, content: bytes
) -> None:
    # an export that came out empty printed its name and nothing under it, as if explain had
    # stopped before reading it
    (tmp_path / "night.hl7").write_bytes(content)
    (tmp_path / "low.hl7").write_bytes(oru("E-6", wbc="3.1", wbc_unit="K/uL"))
    done = leukoflag("explain", "night.hl7", "low.hl7")
    assert done.returncode == 0
    text = done.stdout.decode()
    assert text.startswith("night.hl7\n\n  no message or resource in it\n\nlow.hl7\n\nMSG[1]  ")
    assert text.count("no message or resource") == 1


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le"])
def test_explain_reads_wide_ndjson_as_convert_does(
    leukoflag: Runner, tmp_path: Path, codec: str
) -> None:
    # explain read the UTF-16 bytes as UTF-8: one 'not valid JSON: Extra data' rejection
    lines = ndjson(observation("o-1", 900, "/uL", "751-8"), observation("o-2", 2.9, "K/uL"))
    (tmp_path / "export.ndjson").write_bytes(lines.decode().encode(codec))
    done = leukoflag("explain", "export.ndjson")
    assert done.returncode == 0, done.stdout
    text = done.stdout.decode()
    assert re.search(r"ITEM\[1\]/Observation  ANC  900 /uL +→ +900 cells/µL  →  LU\n", text)
    assert "ITEM[2]  Observation/o-2" in text


def test_explain_shows_text_from_the_input_on_its_own_line_without_terminal_sequences(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # A FHIR id, a unit and a value are the sender's text: a line feed in them forged rows, an
    # ESC drove the terminal (cleared the screen, set its title).
    resource = observation("o-1\x1b[2J\nITEM[9]  Observation/forged", 2.9, "K/uL")
    resource["valueQuantity"]["unit"] = "K/uL\x1b]0;owned\x07"
    text_value = observation("o-2", 0, "", "751-8")
    del text_value["valueQuantity"]
    text_value["valueString"] = "see note\nITEM[2]/Observation  ANC  0.4 K/uL  →  400  →  LL"
    (tmp_path / "feed.ndjson").write_bytes(ndjson(resource, text_value))
    done = leukoflag("explain", "feed.ndjson")
    text = done.stdout.decode()
    assert "\x1b" not in text
    assert "ITEM[1]  Observation/o-1\\x1b[2J\\x0aITEM[9]  Observation/forged\n" in text
    assert re.search(r"\n  ITEM\[1\]/Observation  WBC  2\.9 K/uL\\x1b\]0;owned\\x07  →", text)
    assert '  ANC  "see note\\x0aITEM[2]/Observation  ANC  0.4 K/uL  → ' in text
    assert not any(line.startswith("ITEM[9]") for line in text.splitlines())


def test_explain_names_a_file_whose_name_is_not_utf8(
    leukoflag: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a strict UTF-8 stdout (PYTHONIOENCODING, or a locale other than C.UTF-8) the lone
    # surrogate Python keeps for byte 0xE9 raised UnicodeEncodeError: a traceback.
    name = os.fsdecode(b"h\xe9mato.hl7")
    try:
        (tmp_path / name).write_bytes(oru("E-2", wbc="3.1", wbc_unit="K/uL"))
    except OSError:  # pragma: no cover - a file system that only takes UTF-8 names
        pytest.skip("the file system refuses names that are not UTF-8")
    monkeypatch.setenv("PYTHONIOENCODING", "utf-8")
    done = leukoflag("explain", name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("h\\xe9mato.hl7\n\nMSG[1]  ORU^R01^ORU_R01")


@pytest.mark.parametrize("codec", ["latin-1", "ascii"])
def test_explain_writes_to_a_stdout_in_a_legacy_code_page_without_a_traceback(
    leukoflag: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    # a server whose locale is Latin-1 (LANG=de_DE.ISO-8859-1) writes stdout in it, which has
    # no →: a UnicodeEncodeError traceback after the first lines, status 1
    (tmp_path / "low.hl7").write_bytes(oru("E-3", sex="M", birth="19610719", wbc="3.1"))
    monkeypatch.setenv("PYTHONIOENCODING", codec)
    done = leukoflag("explain", "low.hl7")
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    text = done.stdout.decode(codec)
    row = re.search(r"MSG\[1\]/OBX\[1\]  WBC  3\.1 \S+ +(\S+) +3,100 cells/(\S+)  (\S+)  L\n", text)
    assert row is not None, text
    # what the charset has is written as it is (µ in Latin-1), what it lacks escaped
    assert row.groups() == ("\\u2192", "µL" if codec == "latin-1" else "\\xb5L", "\\u2192")
    helped = leukoflag("explain", "--help")  # its options say cells/µL
    assert helped.returncode == 0, helped.stderr
    assert "cells/" in helped.stdout.decode(codec)


def test_explain_rejects_what_strict_convert_rejects(leukoflag: Runner, tmp_path: Path) -> None:
    # explain showed the counts of a message whose OBR comes before its PID, exit 0, while
    # `convert --strict` rejected it: the analyst was told the opposite of what happened
    segments = oru("E-3", wbc="3.1", wbc_unit="K/uL").split(b"\r")
    pid, orc, obr = segments[1:4]
    segments[1:4] = [orc, obr, pid]
    (tmp_path / "disordered.hl7").write_bytes(b"\r".join(segments))
    converted = leukoflag("convert", "--strict", "disordered.hl7")
    assert converted.returncode == 1
    done = leukoflag("explain", "--strict", "disordered.hl7")
    assert done.returncode == 1
    assert done.stdout.decode() == (
        "disordered.hl7\n\nMSG[1]  rejected: strict structure failed: OBR segment missing: "
        "ORU_R01 in HL7 v2.5.1 requires one in each ORDER_OBSERVATION group (the one at OBX[1])\n"
    )
    assert b"strict structure failed: OBR segment missing" in converted.stderr
    lenient = leukoflag("explain", "disordered.hl7")
    assert lenient.returncode == 0
    assert re.search(r"WBC  3\.1 K/uL +→ +3,100 cells/µL  →  L\n", lenient.stdout.decode())


def test_explain_rejects_a_fhir_item_strict_validation_rejects(
    leukoflag: Runner, tmp_path: Path
) -> None:
    anc = observation("o-5", 900, "/uL", "751-8")
    anc["status"] = "provisional"  # not an R4 ObservationStatus: invalid in strict mode
    (tmp_path / "obs.ndjson").write_bytes(ndjson(observation("o-4", 2.9, "10*3/uL"), anc))
    converted = leukoflag("convert", "--strict", "obs.ndjson")
    assert converted.returncode == 1
    done = leukoflag("explain", "--strict", "obs.ndjson")
    assert done.returncode == 1
    text = done.stdout.decode()
    assert "ITEM[1]  Observation/o-4" in text
    assert "ITEM[2]  rejected: strict FHIR validation failed: " in text
    assert "o-5" not in text


def test_explain_says_why_the_labs_age_range_was_passed_over(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # convert wrote fhir.range-not-applicable; explain said only "leukoflag's default range"
    wbc = observation("o-6", 2.1, "10*3/uL")
    infants = {"low": {"value": 0, "unit": "a"}, "high": {"value": 2, "unit": "a"}}
    wbc["referenceRange"] = [
        {"low": {"value": 6.0}, "high": {"value": 17.5}, "age": infants, "text": "6.0-17.5"}
    ]
    (tmp_path / "obs.ndjson").write_bytes(ndjson(wbc))
    done = leukoflag("explain", "obs.ndjson")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert re.search(r"WBC  2\.1 10\*3/uL +→ +2,100 cells/µL  →  LU\n", text)
    assert "range    4,500–11,000 cells/µL, leukoflag's default range" in text
    (note,) = [line for line in text.splitlines() if "fhir.range-not-applicable" in line]
    assert note.startswith("      note     fhir.range-not-applicable: ")
    assert "referenceRange[0] for ages 0 a-2 a" in note


def test_explain_shows_a_reader_issue_of_the_counts_own_segment(
    leukoflag: Runner, tmp_path: Path
) -> None:
    message = oru("E-4", wbc="3.1", wbc_unit="K/uL").replace(
        b"6690-2^Leukocytes [#/volume]", b"6690-2^Leukocytes\x07 [#/volume]"
    )
    (tmp_path / "bell.hl7").write_bytes(message)
    text = leukoflag("explain", "bell.hl7").stdout.decode()
    rows = text.split("\n  MSG[1]/OBX[")
    (wbc,) = [row for row in rows if row.startswith("1]")]
    assert "note     hl7v2.control-character: OBX-3 holds control character U+0007" in wbc
    assert "control-character" not in rows[0] + "".join(row for row in rows if row != wbc)


def test_explain_gives_a_writer_issue_of_a_count_not_judged_as_a_note_not_as_why(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a CBC cancelled with its values (OBX-11 X): the obs-6 Issue of writing it read as the
    # reason the count was not judged, beside the status that is
    (tmp_path / "cancelled.hl7").write_bytes(oru("E-5", status="X"))
    text = leukoflag("explain", "cancelled.hl7").stdout.decode()
    wbc = text.partition("  MSG[1]/OBX[1]  WBC  6.8 10*3/uL  →  —  →  not judged\n")[2]
    why, note = wbc.splitlines()[:2]
    assert why == (
        "      why   flag.status-not-flaggable: not flagged: result status cancelled (sent as 'X')"
    )
    assert note == (
        "      note  fhir.data-absent-with-value: the result has a value and data-absent reason "
        "'not-performed'; FHIR allows only one (obs-6): the value is written"
    )


def _explain_corrected_wbc(leukoflag: Runner, tmp_path: Path, lab_range: str, base: bytes) -> str:
    """explain of ``base`` with its results replaced by a preliminary WBC 3.1 K/uL flagged L and
    its correction 3.3 (OBX-11 P, then C), both beside ``lab_range``."""
    taken = "20261124081000-0500"
    wbc = "OBX|{n}|NM|6690-2^Leukocytes^LN||{value}|K/uL|" + lab_range + "|L|||{status}|||" + taken
    message = base.split(b"\rOBX|", 1)[0].decode() + "".join(
        "\r" + wbc.format(n=n, value=value, status=status)
        for n, value, status in ((1, "3.1", "P"), (2, "3.3", "C"))
    )
    (tmp_path / "corrected.hl7").write_bytes(message.encode() + b"\r")
    return leukoflag("explain", "corrected.hl7").stdout.decode()


def test_explain_shows_a_preliminary_wbc_made_final_by_a_u_as_one_judged_result(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # OBX-11 P with the count, then U (status change to final) without it: explain showed the
    # preliminary WBC 'not judged' (flag.result-superseded by the U) and the U 'no value
    # (sent-before)', and no leukopenia; it is one result, final, judged LU
    taken = "20261124081000-0500"
    wbc = "OBX|{n}|NM|6690-2^Leukocytes^LN||{value}|K/uL|4.0-11.0|{flag}|||{status}|||" + taken
    message = oru("E-10").split(b"\rOBX|", 1)[0].decode() + "".join(
        "\r" + wbc.format(n=n, value=value, flag=flag, status=status)
        for n, value, flag, status in ((1, "2.1", "L", "P"), (2, "", "", "U"))
    )
    (tmp_path / "made-final.hl7").write_bytes(message.encode() + b"\r")
    text = leukoflag("explain", "made-final.hl7").stdout.decode()
    rows = [line for line in text.splitlines() if line.startswith("  MSG[1]/")]
    assert rows == ["  MSG[1]/OBX[1]  WBC  2.1 K/uL  →  2,100 cells/µL  →  LU"]
    assert "finding  Leukopenia (SNOMED CT 84828003)" in text
    assert (
        "note     hl7v2.preliminary-completed: written final with its value: this result sent "
        "as preliminary (OBX-11 'P') is made final by OBX-11 'U' at MSG[1]/OBX[2]"
    ) in text
    assert "result-superseded" not in text
    assert "sent-before" not in text


def _preliminary_row(text: str) -> str:
    """The detail lines under the preliminary WBC's row of ``_explain_corrected_wbc``'s text."""
    return text.partition("  MSG[1]/OBX[1]  WBC  3.1 K/uL  →  3,100 cells/µL  →  not judged\n")[
        2
    ].partition("\n  MSG[1]/OBX[2]")[0]


def test_explain_gives_how_a_count_set_aside_was_judged_as_a_note_not_as_why(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a preliminary WBC of a patient with no birth date and a children's lab range, replaced by
    # its correction: explain gave 'why  flag.age-unknown: … judged with adult ranges and
    # thresholds' and 'why  flag.lab-range-children: … judged with leukoflag's adult range …
    # instead' beside flag.result-superseded, as if a count not judged were not judged because
    # it was judged with adult rules; they say how it was judged, as on the correction's row
    text = _explain_corrected_wbc(leukoflag, tmp_path, "Child: 5.0-15.0", oru("E-9", birth=""))
    preliminary = _preliminary_row(text)
    labels = [(line.split()[0], line.split()[1]) for line in preliminary.splitlines()]
    assert labels == [
        ("range", "4,500–11,000"),
        ("sender", "L"),
        ("why", "flag.result-superseded:"),
        ("note", "flag.age-unknown:"),
        ("note", "flag.lab-range-children:"),
    ]
    correction = text.partition("  MSG[1]/OBX[2]  WBC  3.3 K/uL")[2]
    assert "note     flag.age-unknown: the patient's birth date is not known" in correction


def test_explain_gives_a_critical_low_within_the_range_of_a_count_set_aside_as_a_note(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a preliminary WBC of 2,800 beside '2.5-9.0' with a critical low of 3,000, replaced by its
    # final 2,900: explain gave 'why  flag.critical-within-range: … below the critical low … so
    # it is LU' as the reason the preliminary was not judged; it says how it was judged before
    # it was set aside, as flag.age-unknown does, and is a note, as on the final's row
    taken = "20261124081000-0500"
    wbc = "OBX|{n}|NM|6690-2^Leukocytes^LN||{value}|10*3/uL|2.5-9.0|L|||{status}|||" + taken
    message = oru("E-11").split(b"\rOBX|", 1)[0].decode() + "".join(
        "\r" + wbc.format(n=n, value=value, status=status)
        for n, value, status in ((1, "2.8", "P"), (2, "2.9", "F"))
    )
    (tmp_path / "set-aside.hl7").write_bytes(message.encode() + b"\r")
    done = leukoflag("explain", "set-aside.hl7", "--critical-low", "wbc=3000")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    preliminary = text.partition("→  2,800 cells/µL  →  not judged\n")[2].partition("\n  MSG")[0]
    labels = [(line.split()[0], line.split()[1]) for line in preliminary.splitlines()]
    assert labels == [
        ("range", "2,500–9,000"),
        ("sender", "L"),
        ("why", "flag.result-superseded:"),
        ("note", "flag.critical-within-range:"),
    ]
    final = text.partition("→  2,900 cells/µL  →  LU\n")[2]
    assert "note     flag.critical-within-range: WBC 2,900 cells/µL is below" in final


def test_explain_gives_an_ambiguous_correction_of_a_count_not_judged_as_a_note(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # two corrections of one WBC, the second '>1.5' (LL or H: not judged): explain gave 'why
    # flag.correction-ambiguous: … none is set aside' beside flag.bound-inconclusive, though
    # which correction stands says nothing of why this one was not judged (as
    # flag.result-duplicate, a note)
    taken = "20261124081000-0500"
    wbc = "OBX|{n}|NM|6690-2^Leukocytes^LN||{value}|10*3/uL|4.0-11.0|L|||C|||" + taken
    message = oru("E-12").split(b"\rOBX|", 1)[0].decode() + "".join(
        "\r" + wbc.format(n=n, value=value) for n, value in ((1, "^3.1"), (2, ">^1.5"))
    )
    (tmp_path / "corrections.hl7").write_bytes(message.encode().replace(b"|NM|", b"|SN|") + b"\r")
    done = leukoflag("explain", "corrections.hl7")
    assert done.returncode == 0, done.stderr
    second = done.stdout.decode().partition("→  >1,500 cells/µL  →  not judged\n")[2]
    labels = [(line.split()[0], line.split()[1]) for line in second.splitlines()]
    assert labels == [
        ("range", "4,000–11,000"),
        ("sender", "L"),
        ("why", "flag.bound-inconclusive:"),
        ("note", "flag.correction-ambiguous:"),
    ]


def test_explain_shows_the_senders_flag_of_a_count_not_judged(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a preliminary WBC flagged L, replaced by its correction: not judged, its Bundle keeps the
    # sender's L as its interpretation, and explain did not show it
    text = _explain_corrected_wbc(leukoflag, tmp_path, "4.0-11.0", oru("E-8"))
    details = _preliminary_row(text).splitlines()
    assert [line.split()[0] for line in details] == ["range", "sender", "why"]
    assert "      sender   L" in details


def test_explain_says_why_a_segmented_count_alone_gave_no_anc(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # flag.anc-not-derived sits on the segmented count's evaluation, which is no row: explain
    # said only "no WBC or ANC count"
    message = oru("E-5", wbc="3.1", wbc_unit="K/uL").replace(
        b"OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN",
        b"OBX|1|NM|768-2^Segmented neutrophils [#/volume] in Blood by Manual count^LN",
    )
    message = message[: message.index(b"OBX|3|")]
    (tmp_path / "seg.hl7").write_bytes(message)
    text = leukoflag("explain", "seg.hl7").stdout.decode()
    lines = text.splitlines()
    assert lines[-3:] == [
        "  no WBC or ANC count",
        (
            "  note  flag.anc-not-derived: the order has no measured ANC, and none was derived"
            " from segmented neutrophil count MSG[1]/OBX[1]: segmented neutrophil count"
            " MSG[1]/OBX[1] has no band neutrophil count at 2026-11-24T08:10:00-05:00"
            " (both are needed)"
        ),
        "  2 other results are not a WBC or ANC count",
    ]


def test_explain_shows_a_flagging_issue_of_a_count_once(leukoflag: Runner, tmp_path: Path) -> None:
    # convert's copy of the Issue is equal to explain's own, not the same object: it showed twice
    (tmp_path / "nodob.hl7").write_bytes(oru("E-6", birth="", wbc="3.1", wbc_unit="K/uL"))
    text = leukoflag("explain", "nodob.hl7").stdout.decode()
    rows = text.split("\n  MSG[1]/OBX[")
    (wbc,) = [row for row in rows if row.startswith("1]")]
    assert wbc.count("flag.age-unknown") == 1


def test_explain_shows_the_messages_own_problems_below_its_rows(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a PID-7 that is no date makes the patient's age unknown: the row said only that
    (tmp_path / "baddob.hl7").write_bytes(oru("E-7", birth="20191345", wbc="3.1", wbc_unit="K/uL"))
    lines = leukoflag("explain", "baddob.hl7").stdout.decode().splitlines()
    assert lines[-2:] == [
        "  note  hl7v2.timestamp-invalid at MSG[1]/PID[1]-7: '20191345' is not a calendar date",
        "  1 other result is not a WBC or ANC count",
    ]
    # information about fields not carried (MSH-15, MSH-16) is convert's report, not the analyst's
    assert not any("hl7v2.field-unmapped" in line for line in lines)


def test_explain_says_an_anc_of_leukoflags_own_output_read_back_was_derived(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # an order with a WBC and a neutrophil % but no ANC: leukoflag derives one and writes it;
    # its Bundle explained again showed that ANC as a measured one (no `derived` line), though
    # convert's finding of it says derived (docs/fhir-input.md: "its finding still derived")
    message = (
        oru("E-9", sex="M", birth="19610719", wbc="2.2", wbc_unit="K/uL")
        .replace(
            b"OBX|3|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||3.9",
            b"OBX|3|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||22",
        )
        .replace(b"|22|10*3/uL^^UCUM|1.8-7.7|", b"|22|%|40-75|")
    )
    (bundle,) = api.convert(message).bundles
    (finding,) = [f for f in api.convert(message).findings if f.analyte == "anc"]
    assert (finding.derived, finding.value_per_ul) == (True, Decimal(484))
    (tmp_path / "out.json").write_bytes(fhir.dumps(bundle))
    (read_back,) = [f for f in api.convert(fhir.dumps(bundle)).findings if f.analyte == "anc"]
    assert read_back.derived
    text = leukoflag("explain", "out.json").stdout.decode()
    anc = text[text.index("  ANC  ") :]
    assert re.search(r"\n +derived +by leukoflag, read back from its own output\n", anc), text


def test_explain_labels_an_anc_of_leukoflags_own_output_read_back_derived_in_its_row(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # the same order's HL7 v2 row says 'ANC  (derived)  →'; its Bundle read back said
    # 'ANC  484 cells/µL  →' as if the lab had measured it, the label only in a detail line
    message = (
        oru("E-9", sex="M", birth="19610719", wbc="2.2", wbc_unit="K/uL")
        .replace(
            b"OBX|3|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||3.9",
            b"OBX|3|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||22",
        )
        .replace(b"|22|10*3/uL^^UCUM|1.8-7.7|", b"|22|%|40-75|")
    )
    (tmp_path / "order.hl7").write_bytes(message)
    (bundle,) = api.convert(message).bundles
    (tmp_path / "out.json").write_bytes(fhir.dumps(bundle))
    sent = leukoflag("explain", "order.hl7").stdout.decode()
    assert re.search(r"/ANC\[derived\] +ANC +\(derived\) +→ +484 cells/µL +→ +LL\n", sent), sent
    text = leukoflag("explain", "out.json").stdout.decode()
    (anc,) = [line for line in text.splitlines() if "  ANC  " in line]
    assert re.search(r"ANC +484 cells/µL \(derived\) +→ +484 cells/µL +→ +LL$", anc), anc
    (wbc,) = [line for line in text.splitlines() if "  WBC  " in line]
    assert "(derived)" not in wbc


def test_explain_skips_rejection_records_named_by_a_glob_as_convert_does(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # 'leukoflag explain out/rejected/*', to see why the night's items were set aside: each
    # record was read as a FHIR item and shown 'rejected: not a FHIR resource: no resourceType',
    # status 1, as if the record itself were a bad input
    (tmp_path / "night.hl7").write_bytes(oru("R-1") + b"MSH|^~\\&|CORELAB\r" + oru("R-3"))
    assert leukoflag("convert", "night.hl7", "-o", "out", "-q").returncode == 1
    rejected = sorted((tmp_path / "out/rejected").iterdir())
    assert [path.name for path in rejected] == ["night.hl7.2.hl7", "night.hl7.2.reason.json"]

    done = leukoflag("explain", *rejected)

    assert done.returncode == 1  # the raw item is still rejected, once
    text = done.stdout.decode()
    assert text.count("rejected:") == 1
    assert "not a FHIR resource" not in text
    assert text.startswith(f"{rejected[0]}\n\nMSG[1]  rejected: ")
    assert done.stderr.decode() == (
        f"leukoflag: skipped {rejected[1]}: a rejection record of leukoflag, not an input (the "
        "raw item it is about, if any, is the file beside it)\n"
    )


def test_explain_of_rejection_records_only_says_there_is_nothing_to_explain(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # a batch cut short: its trailer's record has no raw file. 'explain out/rejected' said 'no
    # input files found' (status 2) and 'explain out/rejected/*' read the record as a bad item
    # (status 1), where convert says 'nothing to replay' and exits 0
    batch = b"BHS|^~\\&|CORELAB|EASTFIELD\r" + oru("R-1") + oru("R-2") + b"BTS|3\r"
    (tmp_path / "short.hl7").write_bytes(batch)
    assert leukoflag("convert", "short.hl7", "-o", "out", "-q").returncode == 1
    record = tmp_path / "out/rejected/short.hl7.3.reason.json"
    assert [path.name for path in (tmp_path / "out/rejected").iterdir()] == [record.name]

    for named in ("out/rejected", record):
        done = leukoflag("explain", named)
        assert done.returncode == 0, done.stderr
        assert done.stdout == b""
        assert done.stderr.decode().endswith(
            f"leukoflag: nothing to explain: {named} holds only rejection records (1, "
            "*.reason.json), each saying why its item was rejected\n"
        )


def test_a_range_value_with_its_limits_in_two_units_shows_each_in_its_own() -> None:
    # a FHIR valueRange low 2.1 10*3/uL, high 3500 /uL: not '2.1-3500 10*3/uL'
    result = replace(
        _result(1, "6690-2", "2.1", "10*3/uL", ("4.0", "11.0")),
        value=NumberRange(Decimal("2.1"), Decimal(3500), "2.1-3500", Unit("/uL")),
    )
    row = next(line for line in _explained(result).splitlines() if "MSG[1]/OBX[1]" in line)
    assert row.startswith("  MSG[1]/OBX[1]  WBC  2.1 10*3/uL-3500 /uL  →  ")
    assert row.endswith("→  L")


def test_explain_rejects_a_large_unrecognized_input_with_converts_reason(
    leukoflag: Runner, tmp_path: Path
) -> None:
    # an interface engine's day log named by mistake: explain read it whole into memory (twice
    # its size) and gave a reason of its own, without what convert says of its size
    (tmp_path / "engine.log").write_bytes(LOG_QUOTING_HL7 * 20_000)  # 2.8 MB
    explained = leukoflag("explain", "engine.log")
    converted = leukoflag("convert", "engine.log", "-q")
    assert (explained.returncode, converted.returncode) == (1, 1)
    reason = converted.stderr.decode().partition("(ITEM[1]): ")[2].rstrip("\n")
    assert reason.endswith(
        "(input of 2820000 bytes: only its first 1048576 bytes are kept with this rejection)"
    )
    assert explained.stdout.decode() == f"engine.log\n\nITEM[1]  rejected: {reason}\n"
