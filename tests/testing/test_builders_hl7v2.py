from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

import leukoflag
from leukoflag.testing import (
    DEFAULT_COLLECTED,
    Code,
    anc,
    batch,
    convert_message,
    local_code,
    loinc,
    observation,
    order,
    oru_message,
    patient,
    patient_result,
    result,
    to_mllp,
    ucum,
    wbc,
    z_segment,
)

from .er7 import Er7


def test_default_message_has_every_segment_in_oru_r01_order() -> None:
    parsed = Er7.parse(oru_message().text)
    assert parsed.names == ["MSH", "PID", "PV1", "ORC", "OBR", "OBX", "OBX", "SPM"]


def test_default_message_carries_sender_version_and_charset() -> None:
    parsed = Er7.parse(oru_message().text)
    assert parsed.raw("MSH", 1) == "|"
    assert parsed.raw("MSH", 2) == "^~\\&"
    assert parsed.value("MSH", 3) == "LABSYS"
    assert parsed.value("MSH", 4) == "CITYLAB"
    assert parsed.components("MSH", 9) == ["ORU", "R01", "ORU_R01"]
    assert parsed.value("MSH", 12) == "2.5.1"
    assert parsed.value("MSH", 18) == "UNICODE UTF-8"


def test_timestamps_carry_the_offset_of_the_collection_time() -> None:
    parsed = Er7.parse(oru_message().text)
    assert parsed.value("OBR", 7) == "20261124083000-0500"
    assert parsed.value("OBX", 14) == "20261124083000-0500"
    assert parsed.value("SPM", 17) == "20261124083000-0500"
    assert parsed.value("SPM", 18) == "20261124085000-0500"  # received 20 minutes later
    assert parsed.value("MSH", 7) == "20261124092600-0500"


def test_times_after_the_collection_follow_it_by_elapsed_time_across_a_clock_change() -> None:
    # 01:30 CDT on the night clocks go back: the message time was 02:26 CST, 1 h 56 min after
    # the collection (wall-clock arithmetic), not the 56 min every other day has
    chicago = ZoneInfo("America/Chicago")
    message = oru_message(collected=dt.datetime(2026, 11, 1, 1, 30, tzinfo=chicago))
    parsed = Er7.parse(message.text)
    assert parsed.raw("OBR", 7) == "20261101013000-0500"
    assert parsed.raw("MSH", 7) == "20261101012600-0600"  # 07:26Z, 56 min after 06:30Z
    assert parsed.raw("OBR", 22) == "20261101012500-0600"
    assert parsed.raw("SPM", 18) == "20261101015000-0500"


def test_a_naive_collection_time_is_written_without_offset() -> None:
    parsed = Er7.parse(oru_message(collected=dt.datetime(2026, 3, 2, 7, 5)).text)
    assert parsed.value("OBR", 7) == "20260302070500"


def test_pid_carries_mrn_name_birth_date_and_sex() -> None:
    who = patient(mrn="A77", family="Lindqvist", given=["Maja", "Elin"], birth_date="19920607")
    parsed = Er7.parse(oru_message(patient=who, results=[wbc()]).text)
    assert parsed.components("PID", 3) == ["A77", "", "", "GENHOSP", "MR"]
    assert parsed.components("PID", 5) == ["Lindqvist", "Maja", "Elin"]
    assert parsed.value("PID", 7) == "19920607"
    assert parsed.value("PID", 8) == "F"


def test_sex_accepts_fhir_gender_words() -> None:
    assert patient(sex="male").sex == "M"
    assert patient(sex="unknown").gender == "unknown"
    with pytest.raises(ValueError, match="sex"):
        patient(sex="X")


def test_pediatric_birth_date_from_a_date() -> None:
    newborn = patient(birth_date=DEFAULT_COLLECTED.date() - dt.timedelta(days=3))
    parsed = Er7.parse(oru_message(patient=newborn).text)
    assert parsed.value("PID", 7) == "20261121"


@pytest.mark.parametrize("text", ["20190230", "20191301", "201913", "20230229"])
def test_a_birth_date_that_is_no_calendar_date_is_refused(text: str) -> None:
    # a typo (30 February) was written as sent: leukoflag reported hl7v2.timestamp-invalid and
    # judged the child with adult ranges (flag.age-unknown); the FHIR builders wrote an invalid
    # birthDate
    with pytest.raises(ValueError, match=f"birth_date: {text!r} is not a calendar date"):
        patient(birth_date=text)
    assert patient(birth_date="20240229").birth_date == "20240229"


@pytest.mark.parametrize("text", ["20261131", "2026112425", "202611240860", "20261124083000+2400"])
def test_a_time_that_is_no_calendar_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"time: {text!r} is not a calendar date")):
        oru_message(collected=text)
    with pytest.raises(ValueError, match="is not a calendar date and time"):
        oru_message(results=[wbc(observed=text)])
    with pytest.raises(ValueError, match="is not a calendar date and time"):
        observation(collected=text)


def test_birth_date_at_year_precision_is_kept() -> None:
    assert patient(birth_date="2019").birth_date == "2019"
    with pytest.raises(ValueError, match="birth_date"):
        patient(birth_date="2019-03-02")


def test_obx_per_result_with_code_unit_range_flag_status_and_times() -> None:
    parsed = Er7.parse(oru_message(results=[wbc(3.2), anc(1.2)]).text)
    assert parsed.raw("OBX", 1) == "1"
    assert parsed.raw("OBX", 2) == "NM"
    assert parsed.components("OBX", 3)[:3] == [
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "LN",
    ]
    assert parsed.raw("OBX", 5) == "3.2"
    assert parsed.components("OBX", 6) == ["10*9/L", "10*9/L", "UCUM"]
    assert parsed.raw("OBX", 7) == "4.0-11.0"
    assert parsed.raw("OBX", 8) == "L"
    assert parsed.raw("OBX", 11) == "F"
    assert parsed.value("OBX", 19) == "20261124091500-0500"
    assert parsed.value("OBX", 3, occurrence=2) == "751-8"
    assert parsed.raw("OBX", 1, occurrence=2) == "2"
    assert parsed.raw("OBX", 7, occurrence=2) == "1.5-7.5"


def test_same_call_gives_the_same_text() -> None:
    def build() -> str:
        return oru_message(
            patient=patient(family="Ngata"),
            results=[wbc(3.2, "x10^3/uL"), anc("<0.5", flag="LL")],
            specimen="urine",
        ).text

    assert build() == build()


def test_control_id_is_unique_per_content_and_fits_msh10() -> None:
    ids = {
        oru_message().control_id,
        oru_message(results=[wbc(3.2)]).control_id,
        oru_message(results=[wbc(3.3)]).control_id,
        oru_message(patient=patient(mrn="OTHER")).control_id,
    }
    assert len(ids) == 4
    assert all(len(i) <= 20 for i in ids)
    assert Er7.parse(oru_message().text).value("MSH", 10) == oru_message().control_id


def test_given_control_id_is_used() -> None:
    message = oru_message(control_id="MSG-0001")
    assert message.control_id == "MSG-0001"
    assert message.segment("MSH").split("|")[9] == "MSG-0001"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (3.2, "3.2"),
        (0.1 + 0.2, "0.30000000000000004"),
        (Decimal("8.20"), "8.20"),
        (Decimal("1E+3"), "1000"),
        (7, "7"),
        (" 6.5 ", "6.5"),
    ],
)
def test_numbers_are_written_exactly(value: object, written: str) -> None:
    spec = wbc(value)  # type: ignore[arg-type]
    assert spec.value == written
    assert spec.value_type == "NM"


@pytest.mark.parametrize(
    ("value", "components"),
    [
        ("<0.5", ["<", "0.5"]),
        (">=100", [">=", "100"]),
        ("1.0-2.0", ["", "1.0", "-", "2.0"]),
        ("1:128", ["", "1", ":", "128"]),
    ],
)
def test_comparators_ranges_and_ratios_are_structured_numerics(
    value: str, components: list[str]
) -> None:
    parsed = Er7.parse(oru_message(results=[anc(value, flag=None)]).text)
    assert parsed.raw("OBX", 2) == "SN"
    assert parsed.components("OBX", 5) == components


def test_text_value_is_st_and_none_is_empty() -> None:
    parsed = Er7.parse(oru_message(results=[wbc("see comment"), wbc(None, status="X")]).text)
    assert parsed.raw("OBX", 2) == "ST"
    assert parsed.value("OBX", 5) == "see comment"
    assert parsed.raw("OBX", 5, occurrence=2) == ""
    assert parsed.raw("OBX", 11, occurrence=2) == "X"


def test_value_type_must_fit_the_value() -> None:
    with pytest.raises(ValueError, match="NM cannot carry"):
        wbc("pending", value_type="NM")
    with pytest.raises(ValueError, match="SN cannot carry"):
        wbc("about 3", value_type="SN")
    assert wbc("3.2", value_type="ST").value_type == "ST"


def test_local_code_alone_and_with_its_loinc() -> None:
    alone = wbc(code=local_code("WBC", "White cell count"))
    both = wbc(code=[local_code("WCC", "White cell count", "L"), loinc("26464-8")])
    parsed = Er7.parse(oru_message(results=[alone, both]).text)
    assert parsed.components("OBX", 3) == ["WBC", "White cell count", "99LAB"]
    assert parsed.components("OBX", 3, occurrence=2) == [
        "WCC",
        "White cell count",
        "L",
        "26464-8",
        "",
        "LN",
    ]


def test_ordering_provider_components_are_escaped() -> None:
    message = oru_message(ordering_provider=("77", "Smith^Jones", "Ann"))
    assert Er7.parse(message.text).components("OBR", 16) == ["77", "Smith^Jones", "Ann"]
    assert "|77^Smith\\S\\Jones^Ann|" in message.segment("OBR")


def test_an_unknown_value_type_is_refused() -> None:
    with pytest.raises(ValueError, match="NM, SN, ST, TX, FT, CWE or CE"):
        wbc("POS", value_type="ED")


def test_more_than_two_codes_is_refused() -> None:
    with pytest.raises(ValueError, match="one Code, or two"):
        result([loinc("1"), loinc("2"), loinc("3")], "1")


def test_unit_text_goes_in_the_first_component_only() -> None:
    parsed = Er7.parse(oru_message(results=[wbc(3.2, "K/uL")]).text)
    assert parsed.raw("OBX", 6) == "K/uL"


def test_caret_in_a_unit_is_escaped() -> None:
    message = oru_message(results=[wbc(3.2, "x10^3/uL")])
    assert "|x10\\S\\3/uL|" in message.segment("OBX")
    assert Er7.parse(message.text).value("OBX", 6) == "x10^3/uL"


def test_a_unit_sent_in_the_alternate_components_only() -> None:
    # some analyzers' interfaces leave OBX-6.1-3 empty and code the unit in OBX-6.4-6
    message = oru_message(results=[wbc(3.2, (Code(""), ucum("10*9/L")))])
    assert "|3.2|^^^10*9/L^10*9/L^UCUM|4.0-11.0|L|" in message.segment("OBX")
    conversion = leukoflag.convert(message.text, leukoflag.Settings(strict=True))
    assert [i.code for i in conversion.issues] == ["hl7v2.unit-alternate"]
    assert conversion.findings[0].value_per_ul == 3200
    lab_and_ucum = wbc(3.2, (Code("K/uL", "K/uL", "99LAB"), ucum("10*3/uL")))
    assert "|K/uL^K/uL^99LAB^10*3/uL^10*3/uL^UCUM|" in oru_message(results=[lab_and_ucum]).text
    quantity = observation(wbc(3.2, (Code(""), ucum("10*9/L"))))["valueQuantity"]
    assert (quantity["code"], quantity["system"]) == ("10*9/L", "http://unitsofmeasure.org")
    with pytest.raises(TypeError, match="two Codes"):
        wbc(3.2, (Code(""), "10*9/L"))  # type: ignore[arg-type]  # the wrong type under test


def test_every_delimiter_in_a_value_is_escaped() -> None:
    tricky = "A|B^C~D\\E&F"
    message = oru_message(
        patient=patient(family=tricky),
        results=[wbc(3.2, notes=[f"{tricky}\nsecond line"])],
    )
    pid = message.segment("PID")
    assert "A\\F\\B\\S\\C\\R\\D\\E\\E\\T\\F" in pid
    parsed = Er7.parse(message.text)
    assert parsed.value("PID", 5) == tricky
    assert parsed.value("NTE", 3) == f"{tricky}\nsecond line"
    assert "\\.br\\" in message.segment("NTE")


def test_line_break_outside_formatted_text_is_a_hex_escape() -> None:
    message = oru_message(patient=patient(family="Two\nLines"))
    assert "Two\\X0A\\Lines" in message.segment("PID")


def test_non_default_delimiters_are_used_everywhere() -> None:
    message = oru_message(
        delimiters="#$*@!", results=[wbc(3.2, "x10^3/uL"), anc("<0.5", flag="LL")]
    )
    assert message.text.startswith("MSH#$*@!#")
    parsed = Er7.parse(message.text)
    assert parsed.components("MSH", 9) == ["ORU", "R01", "ORU_R01"]
    assert parsed.components("OBX", 5, occurrence=2) == ["<", "0.5"]
    assert parsed.value("OBX", 6) == "x10^3/uL"  # ^ is no delimiter here: written as is
    assert "x10^3/uL" in message.segment("OBX")


def test_a_delimiter_of_a_custom_set_is_escaped_in_values() -> None:
    message = oru_message(delimiters="|!~\\&", patient=patient(family="Hello!World"))
    assert "Hello\\S\\World" in message.segment("PID")
    assert Er7.parse(message.text).value("PID", 5) == "Hello!World"


@pytest.mark.parametrize("delimiters", ["|^~\\", "|^~\\&&", "|^~\\a", "|^~\\ ", "|^~\\\n"])
def test_invalid_delimiters_are_refused(delimiters: str) -> None:
    with pytest.raises(ValueError, match="delimiters"):
        oru_message(delimiters=delimiters)


@pytest.mark.parametrize("delimiters", ["|^~\\-", "|.~\\&", "|^~\\+", "-^~\\&"])
def test_delimiters_that_times_and_versions_contain_are_refused(delimiters: str) -> None:
    # MSH-7 20261124092600-0500 and MSH-12 2.5.1 cannot escape them: the message would not read
    with pytest.raises(ValueError, match="times and version numbers"):
        oru_message(delimiters=delimiters)


@pytest.mark.parametrize("delimiters", ["|^~\\_", "|_~\\&", "_^~\\&"])
def test_a_delimiter_that_the_message_structure_contains_is_refused(delimiters: str) -> None:
    # MSH-9.3 ORU_R01 was written ORU\T\R01, which strict mode (the fixture's default)
    # rejected, as hl7apy has no message structure of that name
    with pytest.raises(ValueError, match="MSH-9's message structure ORU_R01 contains it"):
        oru_message(delimiters=delimiters)


def test_a_delimiter_that_the_charset_name_contains_is_refused() -> None:
    # MSH-18 '8859/15' was written 8859\T\15, which leukoflag reads before any unescaping:
    # an unknown charset, read as cp1252 with hl7v2.charset-unknown and -fallback, so the
    # builder's own Šimek came back as ¦imek
    with pytest.raises(ValueError, match="MSH-18's charset '8859/15' contains it"):
        oru_message(delimiters="|^~\\/", charset="8859/15", patient=patient(family="Šimek"))
    with pytest.raises(ValueError, match="MSH-18's charset '8859/1' contains it"):
        oru_message(delimiters="|^/\\&", charset="8859/1")
    # the other charsets hold no such character: '/' is a delimiter as any other there
    message = oru_message(delimiters="|^~\\/", patient=patient(family="Šimek"))
    conversion = convert_message(message, strict=True)
    assert [i.code for i in conversion.issues] == []
    people = [e["resource"] for e in conversion.bundles[0]["entry"]]
    assert [p["name"][0]["family"] for p in people if p["resourceType"] == "Patient"] == ["Šimek"]


@pytest.mark.parametrize(
    ("given", "written"),
    [("F", "F"), ("final", "F"), ("C", "C"), ("corrected", "C"), ("X", "X"), ("D", "D")],
)
def test_result_status_accepts_v2_codes_and_fhir_words(given: str, written: str) -> None:
    assert wbc(status=given).status == written


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        wbc(status="Z")


@pytest.mark.parametrize(
    ("statuses", "report"),
    [
        (["F", "F"], "F"),
        (["F", "C"], "C"),
        (["X", "D"], "X"),
        (["P", "F"], "P"),
        # a corrected WBC beside a differential still preliminary: the report is not complete
        (["C", "P"], "P"),
        # OBX-11 N (not asked) is read as cancelled: a report none of whose tests was done
        (["N", "N"], "X"),
        (["N", "X"], "X"),
        (["N", "F"], "F"),
    ],
)
def test_report_status_follows_the_results(statuses: list[str], report: str) -> None:
    results = [wbc(status=s) for s in statuses]
    assert Er7.parse(oru_message(results=results).text).raw("OBR", 25) == report


def test_a_preliminary_result_made_final_by_a_u_leaves_the_report_final() -> None:
    # OBX-11 U without its value makes the preliminary WBC before it final (leukoflag writes it
    # final, hl7v2.result-made-final): the builder wrote OBR-25 P, a report still preliminary
    made_final = [wbc(2.1, status="P"), wbc(None, status="U"), anc(1.1)]
    assert Er7.parse(oru_message(results=made_final).text).raw("OBR", 25) == "F"
    # a U after the preliminary ANC completes nothing of the WBC's, nor one with its value
    for results in (
        [wbc(2.1, status="P"), anc(None, status="U")],
        [wbc(2.1, status="P"), wbc(2.1, status="U")],
        [wbc(2.1, status="P"), wbc(None, status="U", sub_id="2")],
    ):
        assert Er7.parse(oru_message(results=results).text).raw("OBR", 25) == "P"


def test_a_u_sent_at_the_preliminarys_time_written_otherwise_leaves_the_report_final() -> None:
    # observed left to default is the collection time, which OBX-14 of both carries: leukoflag
    # makes the WBC final (hl7v2.result-made-final), but the builder compared observed as given
    # (None against the same time spelled out) and wrote OBR-25 P
    drawn = dt.datetime(2026, 11, 24, 7, 15, tzinfo=dt.timezone(-dt.timedelta(hours=5)))
    for results in (
        [wbc(2.1, status="P"), wbc(None, status="U", observed=drawn)],
        [wbc(2.1, status="P", observed=drawn), wbc(None, status="U")],
        [wbc(2.1, status="P", observed="20261124071500-0500"), wbc(None, status="U")],
        [
            wbc(2.1, status="P", observed=drawn),
            wbc(None, status="U", observed="20261124121500+0000"),
        ],
    ):
        message = oru_message(results=results, collected=drawn)
        assert Er7.parse(message.text).raw("OBR", 25) == "F"
        conv = leukoflag.convert(message.text)
        assert "hl7v2.result-made-final" in [i.code for i in conv.issues]
    # another time is another result: the preliminary stays so
    later = [wbc(2.1, status="P"), wbc(None, status="U", observed=drawn + dt.timedelta(hours=1))]
    assert Er7.parse(oru_message(results=later, collected=drawn).text).raw("OBR", 25) == "P"


def test_a_u_naming_the_preliminarys_code_without_its_display_leaves_the_report_final() -> None:
    # a status change sent bare ('6690-2^^LN', or the local code beside its LOINC without their
    # texts) is the same code to leukoflag (codings compared by system and code), which makes
    # the WBC final: the builder compared the displays too and wrote OBR-25 P
    local = [local_code("WBC", "White cell count"), loinc("6690-2", "Leukocytes")]
    for results in (
        [wbc(2.1, status="P"), result(loinc("6690-2"), None, status="U")],
        [
            wbc(2.1, status="P", code=local),
            result([local_code("WBC"), loinc("6690-2")], None, status="U"),
        ],
    ):
        message = oru_message(results=results)
        assert Er7.parse(message.text).raw("OBR", 25) == "F"
        assert "hl7v2.result-made-final" in [i.code for i in leukoflag.convert(message.text).issues]
    # another coding system, or the local code without its LOINC, is another code: P stays
    for results in (
        [wbc(2.1, status="P"), result(local_code("6690-2"), None, status="U")],
        [wbc(2.1, status="P", code=local), result(local_code("WBC"), None, status="U")],
    ):
        message = oru_message(results=results)
        assert Er7.parse(message.text).raw("OBR", 25) == "P"
        assert "hl7v2.result-made-final" not in [
            i.code for i in leukoflag.convert(message.text).issues
        ]


@pytest.mark.parametrize(
    ("value", "reference_range", "flags"),
    [
        ("3.2", "4.0-11.0", "L"),
        ("12.5", "4.0-11.0", "H"),
        ("4.0", "4.0-11.0", "N"),
        ("<0.5", "1.5-7.5", "L"),
        (">20", "4.0-11.0", "H"),
        ("<5.0", "4.0-11.0", ""),
        ("1.0-2.0", "4.0-11.0", ""),
        ("3.2", "", ""),
        ("3.2", ">4.0", "L"),
    ],
)
def test_auto_flag_compares_the_value_with_the_range(
    value: str, reference_range: str, flags: str
) -> None:
    spec = wbc(value, reference_range=reference_range)
    assert "~".join(spec.flags) == flags


def test_sender_flags_as_given_repeat_with_the_repetition_separator() -> None:
    message = oru_message(results=[wbc(3.2, flag=["L", "A"]), wbc(3.2, flag=None)])
    assert Er7.parse(message.text).raw("OBX", 8) == "L~A"
    assert Er7.parse(message.text).raw("OBX", 8, occurrence=2) == ""


def test_several_sender_flags_in_v24_are_refused_where_obx8_does_not_repeat() -> None:
    # hl7apy's v2.4 OBX-8 does not repeat: strict mode (the fixture's default) rejected the
    # message 'OBX[1]-8[2] 'A': OBX-8 (abnormal flags) does not repeat in ORU_R01 in HL7 v2.4'
    with pytest.raises(ValueError, match=r"flag: OBX-8 does not repeat in HL7 v2\.4"):
        oru_message(version="2.4", results=[wbc(3.2, flag=["L", "A"])])
    one = leukoflag.convert(
        oru_message(version="2.4", results=[wbc(3.2, flag="L")]).encode(),
        leukoflag.Settings(strict=True),
    )
    assert (one.rejected, [f.code for f in one.findings]) == ([], ["L"])
    for version in ("2.3", "2.3.1", "2.5.1", "2.7"):
        both = oru_message(version=version, results=[wbc(3.2, flag=["L", "A"])])
        done = leukoflag.convert(both.encode(), leukoflag.Settings(strict=True))
        assert (done.rejected, [f.code for f in done.findings]) == ([], ["L"])


@pytest.mark.parametrize(
    ("unit", "wbc_range", "anc_range"),
    [
        (ucum("10*9/L"), "4.0-11.0", "1.5-7.5"),
        ("K/uL", "4.0-11.0", "1.5-7.5"),
        ("cells/uL", "4000-11000", "1500-7500"),
        ("Tsd/µl", "", ""),
    ],
)
def test_default_range_is_written_in_the_scale_of_the_unit(
    unit: Code | str, wbc_range: str, anc_range: str
) -> None:
    assert wbc(unit=unit).reference_range == wbc_range
    assert anc(unit=unit).reference_range == anc_range


def test_specimen_type_goes_in_spm4() -> None:
    parsed = Er7.parse(oru_message(specimen="urine").text)
    assert parsed.components("SPM", 4) == ["UR", "Urine", "HL70487"]
    assert parsed.components("SPM", 2) == ["", "SPLAB2001&LABSYS"]


def test_specimen_as_a_code_and_no_specimen() -> None:
    cord = oru_message(specimen=Code("122556008", "Cord blood specimen", "SCT"))
    assert Er7.parse(cord.text).components("SPM", 4) == [
        "122556008",
        "Cord blood specimen",
        "SCT",
    ]
    assert "SPM" not in Er7.parse(oru_message(specimen=None).text).names
    with pytest.raises(ValueError, match="specimen"):
        oru_message(specimen="saliva")


def test_control_material_is_marked_in_spm11() -> None:
    message = oru_message(orders=[order([wbc()], specimen_role="Q")])
    assert Er7.parse(message.text).components("SPM", 11) == [
        "Q",
        "Control specimen",
        "HL70369",
    ]


@pytest.mark.parametrize(("version", "specimen"), [("2.4", "blood"), ("2.5.1", None)])
def test_control_material_without_an_spm_is_refused(version: str, specimen: str | None) -> None:
    # SPM-11 is the only place the role goes: without it the control would be judged as a patient
    control = order([wbc(3.2)], specimen=specimen, specimen_role="Q")
    with pytest.raises(ValueError, match="specimen_role needs an SPM"):
        oru_message(orders=[control], version=version)


def test_specimen_results_follow_the_spm() -> None:
    message = oru_message(orders=[order([wbc()], specimen_results=[anc()])])
    parsed = Er7.parse(message.text)
    assert parsed.names[-3:] == ["OBX", "SPM", "OBX"]
    assert parsed.raw("OBX", 1, occurrence=2) == "2"


def test_two_orders_get_their_own_numbers_and_specimens() -> None:
    message = oru_message(
        orders=[order([wbc()]), order([anc()], specimen="venous blood", placer_id="P-9")]
    )
    parsed = Er7.parse(message.text)
    assert parsed.names.count("OBR") == 2
    assert parsed.value("OBR", 2, occurrence=1) == "ORD1001"
    assert parsed.value("OBR", 2, occurrence=2) == "P-9"
    assert parsed.value("SPM", 4, occurrence=2) == "BLDV"


def test_results_and_orders_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        oru_message(results=[wbc()], orders=[order([anc()])])


def test_notes_follow_their_obx() -> None:
    parsed = Er7.parse(oru_message(results=[wbc(notes=["Smear reviewed"]), anc()]).text)
    assert parsed.names[5:8] == ["OBX", "NTE", "OBX"]
    assert parsed.value("NTE", 3) == "Smear reviewed"


def test_a_note_given_as_one_str_is_one_nte() -> None:
    # it was iterated: one NTE per character, "S", "m", "e" …
    message = oru_message(
        orders=[order([wbc(3.2, notes="Smear reviewed")], notes="Specimen slightly hemolyzed")]
    )
    parsed = Er7.parse(message.text)
    assert parsed.names[3:8] == ["ORC", "OBR", "NTE", "OBX", "NTE"]
    assert parsed.value("NTE", 3, occurrence=1) == "Specimen slightly hemolyzed"
    assert parsed.value("NTE", 3, occurrence=2) == "Smear reviewed"
    assert observation(wbc(3.2, notes="Smear reviewed"))["note"] == [{"text": "Smear reviewed"}]


def test_builder_arguments_of_the_wrong_type_are_refused_with_what_was_expected() -> None:
    # each of these wrote a message without complaint: N^g^u^y^e^n in OBR-16, "[3.2]" as ST
    with pytest.raises(TypeError, match="ordering_provider: the XCN components as a sequence"):
        oru_message(ordering_provider="Nguyen")
    with pytest.raises(TypeError, match="value: a number, text, a Code or None, not list"):
        wbc([3.2])  # type: ignore[arg-type]  # the wrong type under test
    with pytest.raises(TypeError, match="unit: a Code, the lab's spelling as text, two Codes"):
        wbc(3.2, 9)  # type: ignore[arg-type]  # the wrong type under test


# A morphology comment the lab codes in its own table, sent next to the counts.
TOXIC = result(
    local_code("NEUMOR", "Neutrophil morphology", "99CLB"),
    Code("TOXGR", "Toxic granulation present", "99CLB"),
)


def test_a_code_value_is_a_cwe_result() -> None:
    parsed = Er7.parse(oru_message(results=[wbc(3.1), TOXIC]).text)
    assert parsed.value("OBX", 2, occurrence=2) == "CWE"
    assert parsed.components("OBX", 5, occurrence=2) == [
        "TOXGR",
        "Toxic granulation present",
        "99CLB",
    ]
    assert parsed.raw("OBX", 8, occurrence=2) == ""  # "auto" puts no flag on a coded value
    assert parsed.raw("OBX", 6, occurrence=2) == ""


@pytest.mark.parametrize(("version", "kind"), [("2.4", "CE"), ("2.5", "CWE"), ("2.7", "CWE")])
def test_a_code_value_is_ce_before_v25(version: str, kind: str) -> None:
    parsed = Er7.parse(oru_message(results=[TOXIC], version=version).text)
    assert parsed.value("OBX", 2) == kind


def test_a_coded_value_type_needs_a_code_and_a_code_needs_one() -> None:
    with pytest.raises(ValueError, match="must be a Code"):
        result(loinc("751-8"), "1.2", value_type="CWE")
    with pytest.raises(ValueError, match="CWE or CE"):
        result(loinc("751-8"), Code("LOW", "Low"), value_type="ST")


def test_a_coded_result_converts_to_a_codeable_concept() -> None:
    conversion = leukoflag.convert(oru_message(results=[wbc(3.1), TOXIC]).text)
    (bundle,) = conversion.bundles
    coded = [
        e["resource"]["valueCodeableConcept"]
        for e in bundle["entry"]
        if "valueCodeableConcept" in e["resource"]
    ]
    assert [c["coding"][0]["code"] for c in coded] == ["TOXGR"]
    assert [f.code for f in conversion.findings] == ["L"]  # the WBC, beside it


def test_z_segments_follow_pv1_and_the_order_results_escaped() -> None:
    message = oru_message(
        orders=[order([wbc(), anc()], z_segments=[z_segment("ZBX", "1", "SMEAR|REV", "Y")])],
        z_segments=[z_segment("ZPI", "1", ("ISO", "Neutropenic precautions", "99CLB"))],
    )
    parsed = Er7.parse(message.text)
    assert parsed.names == ["MSH", "PID", "PV1", "ZPI", "ORC", "OBR", "OBX", "OBX", "ZBX", "SPM"]
    assert parsed.components("ZPI", 2) == ["ISO", "Neutropenic precautions", "99CLB"]
    assert parsed.raw("ZBX", 2) == "SMEAR\\F\\REV"
    assert parsed.value("ZBX", 2) == "SMEAR|REV"


@pytest.mark.parametrize("name", ["ZB", "ZBXX", "zbx", "OBX", "Z-1"])
def test_a_z_segment_name_is_z_and_two_characters(name: str) -> None:
    with pytest.raises(ValueError, match="Z and two"):
        z_segment(name, "1")


def test_z_segments_pass_strict_mode_and_are_reported_unmapped() -> None:
    message = oru_message(
        orders=[order([wbc(3.1)], z_segments=[z_segment("ZBX", "1", "Y")])],
        z_segments=[z_segment("ZPI", "1")],
    )
    conversion = leukoflag.convert(message.text, leukoflag.Settings(strict=True))
    assert (len(conversion.bundles), conversion.rejected) == (1, [])
    unmapped = [i.location for i in conversion.issues if i.code == "hl7v2.segment-unmapped"]
    assert unmapped == ["MSG[1]/ZPI[1]", "MSG[1]/ZBX[1]"]


TODDLER = patient(mrn="C-3301", family="Haddad", given="Rami", birth_date="20240305", sex="M")
ADULT = patient(mrn="C-1187", family="Moreau", given="Claire", birth_date="19610918", sex="F")


def test_a_message_about_two_patients_has_a_group_each() -> None:
    message = oru_message(
        patient_results=[
            patient_result(TODDLER, [wbc(6.8)], z_segments=[z_segment("ZPI", "1")]),
            patient_result(ADULT, orders=[order([wbc(3.4)]), order([anc(0.9)])]),
        ]
    )
    parsed = Er7.parse(message.text)
    assert [n for n in parsed.names if n in ("PID", "PV1", "ZPI", "OBR")] == [
        "PID",
        "PV1",
        "ZPI",
        "OBR",
        "PID",
        "PV1",
        "OBR",
        "OBR",
    ]
    assert [parsed.raw("PID", 1, occurrence=k) for k in (1, 2)] == ["1", "2"]
    assert [parsed.raw("OBR", 1, occurrence=k) for k in (1, 2, 3)] == ["1", "2", "3"]
    assert [parsed.value("OBR", 2, occurrence=k) for k in (1, 2, 3)] == [
        "ORD1001",
        "ORD1002",
        "ORD1003",
    ]


def test_each_patient_of_a_message_is_judged_as_themselves() -> None:
    message = oru_message(
        patient_results=[
            patient_result(TODDLER, [wbc(5.1)]),
            patient_result(ADULT, [wbc(5.1), anc(0.9)]),
        ]
    )
    conversion = leukoflag.convert(message.text, leukoflag.Settings(strict=True))
    assert conversion.rejected == []
    (bundle,) = conversion.bundles
    resources = [e["resource"] for e in bundle["entry"]]
    urls = {r["id"]: r for r in resources}
    names = {}
    for r in resources:
        if r["resourceType"] == "Observation":
            subject = urls[r["subject"]["reference"].removeprefix("urn:uuid:")]
            names[(subject["name"][0]["family"], r["valueQuantity"]["value"])] = r
    assert sorted(names) == [
        ("Haddad", Decimal(5100)),
        ("Moreau", Decimal(900)),
        ("Moreau", Decimal(5100)),
    ]
    # the same 5.1 K/µL is low for a 2-year-old (age band) and normal for an adult
    assert [(f.analyte.value, f.code) for f in conversion.findings] == [
        ("wbc", "L"),
        ("wbc", "N"),
        ("anc", "LU"),
    ]


def test_patient_results_replace_the_single_patient_arguments() -> None:
    two = [patient_result(TODDLER), patient_result(ADULT)]
    with pytest.raises(ValueError, match="not with results="):
        oru_message(results=[wbc()], patient_results=two)
    with pytest.raises(ValueError, match="not with patient="):
        oru_message(patient=ADULT, patient_results=two)
    with pytest.raises(ValueError, match="at least one patient"):
        oru_message(patient_results=[])
    with pytest.raises(ValueError, match="not both"):
        patient_result(ADULT, [wbc()], orders=[order([anc()])])


def test_no_patient_leaves_out_pid_and_pv1() -> None:
    assert Er7.parse(oru_message(patient=None).text).names[:2] == ["MSH", "ORC"]


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4"])
def test_before_v25_the_specimen_is_in_obr15(version: str) -> None:
    parsed = Er7.parse(oru_message(version=version).text)
    assert "SPM" not in parsed.names
    assert parsed.raw("OBR", 15) == "BLD&Whole blood&HL70070"
    assert parsed.raw("OBX", 19) == ""


def test_version_23_has_no_message_structure_and_carries_quantity_timing() -> None:
    parsed = Er7.parse(oru_message(version="2.3").text)
    assert parsed.components("MSH", 9) == ["ORU", "R01"]
    assert parsed.raw("ORC", 7) == "^^^^^R"  # TQ-6 priority routine: the field is required
    assert parsed.raw("OBR", 27) == "^^^^^R"


@pytest.mark.parametrize(("version", "sub_id"), [("2.3.1", "1"), ("2.5.1", ""), ("2.7", "1")])
def test_sub_id_is_filled_where_the_version_requires_it(version: str, sub_id: str) -> None:
    assert Er7.parse(oru_message(version=version).text).raw("OBX", 4) == sub_id
    given = oru_message(version=version, results=[wbc(sub_id="a")])
    assert Er7.parse(given.text).raw("OBX", 4) == "a"


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        oru_message(version="2.9")


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n"])
def test_line_ending_ends_every_segment(ending: str) -> None:
    message = oru_message(line_ending=ending)
    assert message.text.endswith(f"SPM{message.segment('SPM')[3:]}{ending}")
    assert message.text.count(ending) == 8
    assert len(message.segments) == 8


def test_encode_uses_the_msh18_charset() -> None:
    latin = oru_message(charset="8859/1", patient=patient(family="Müller"))
    assert "Müller".encode("latin-1") in latin.encode()
    utf8 = oru_message(patient=patient(family="Müller"))
    assert "Müller".encode() in utf8.encode()
    assert latin.encode("utf-8") != latin.encode()


def test_a_charset_that_cannot_carry_the_text_is_refused() -> None:
    unencodable = oru_message(charset=None, patient=patient(family="Müller"))
    with pytest.raises(ValueError, match="cannot carry 'ü'"):
        unencodable.encode()
    with pytest.raises(ValueError, match="cannot carry 'ü'"):
        unencodable.mllp()
    with pytest.raises(ValueError, match="cannot carry 'ü'"):
        batch(unencodable).encode()
    with pytest.raises(ValueError, match="charset"):
        oru_message(charset="KOI8-R")
    assert Er7.parse(oru_message(charset=None).text).raw("MSH", 18) == ""


def test_a_feed_without_msh18_sending_windows_bytes_can_be_built() -> None:
    # the usual mislabelled feed: no MSH-18 (ASCII), the lab's Windows system writes cp1252
    message = oru_message(charset=None, results=[wbc(3.2, "K/µL", flag="L")])
    data = message.encode("cp1252")
    assert b"|K/\xb5L|" in data
    assert to_mllp(data) == b"\x0b" + data + b"\x1c\r"
    conversion = leukoflag.convert(data, leukoflag.Settings(strict=True))
    assert "hl7v2.charset-fallback" in [i.code for i in conversion.issues]
    (count,) = [f.value_per_ul for f in conversion.findings]
    assert count == Decimal(3200)


def test_mllp_frames_one_message_and_several() -> None:
    first, second = oru_message(), oru_message(results=[wbc(3.2)])
    assert first.mllp() == b"\x0b" + first.encode() + b"\x1c\r"
    framed = to_mllp(first, second.text)
    assert framed == first.mllp() + b"\x0b" + second.text.encode() + b"\x1c\r"


def test_batch_wraps_messages_with_counts() -> None:
    file = batch(oru_message(), oru_message(results=[wbc(3.2)]), batch_id="B42")
    names = [line[:3] for line in file.text.split("\r") if line]
    assert names[:3] == ["FHS", "BHS", "MSH"]
    assert names.count("MSH") == 2
    assert names[-2:] == ["BTS", "FTS"]
    assert "BTS|2\r" in file.text
    assert file.text.split("\r")[0].split("|")[10] == "B42"
    assert file.mllp().startswith(b"\x0bFHS|")


def test_batch_refuses_messages_with_different_delimiters() -> None:
    with pytest.raises(ValueError, match="delimiters"):
        batch(oru_message(), oru_message(delimiters="|!~\\&"))
