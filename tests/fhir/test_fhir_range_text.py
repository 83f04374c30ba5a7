"""FHIR input: a referenceRange sent as text only (no low/high, as converters of HL7 v2 write
OBX-7) is read as OBX-7 is, with the same parser; text that gives no limits is not used."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fhir_builders import finding_and_range

import leukoflag
from leukoflag import fhir

UCUM = "http://unitsofmeasure.org"
EXPLANATION = "http://leukoflag.org/fhir/StructureDefinition/interpretation-explanation"
PQ = "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation"
PER_UL = {"unit": "cells/µL", "system": UCUM, "code": "/uL"}
PATIENT = {"resourceType": "Patient", "id": "pt", "gender": "female", "birthDate": "1979-05-14"}


def observation(code: str, value: str, ranges: list[dict[str, Any]]) -> bytes:
    """A Riverside lab result as its v2-to-FHIR interface writes it: OBX-7 as range text."""
    return fhir.dumps(
        {
            "resourceType": "Observation",
            "id": "rs-obs-55120",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": "#pt"},
            "contained": [PATIENT],
            "effectiveDateTime": "2026-11-24T08:05:00-05:00",
            "valueQuantity": {
                "value": Decimal(value),
                "unit": "x10^3/uL",
                "system": UCUM,
                "code": "10*3/uL",
            },
            "referenceRange": ranges,
        }
    )


def limits(low: str, high: str, text: str, **more: Any) -> dict[str, Any]:
    """A referenceRange with its low and high in x10^3/uL beside ``text``."""
    return {
        "low": {"value": Decimal(low), "unit": "x10^3/uL", "system": UCUM, "code": "10*3/uL"},
        "high": {"value": Decimal(high), "unit": "x10^3/uL", "system": UCUM, "code": "10*3/uL"},
        "text": text,
        **more,
    }


def range_source(output: dict[str, Any]) -> str:
    (explained,) = (e for e in output["extension"] if e["url"] == EXPLANATION)
    (source,) = (e["valueCode"] for e in explained["extension"] if e["url"] == "rangeSource")
    return str(source)


def test_range_text_with_its_unit_is_the_labs_range() -> None:
    # 4,200 is within the lab's 4.0-11.0, below leukoflag's default 4,500
    conv = leukoflag.convert(observation("6690-2", "4.2", [{"text": "4.0-11.0 x10^3/uL"}]))
    (output,) = conv.bundles
    assert output["interpretation"][0]["coding"][0]["code"] == "N"
    assert range_source(output) == "lab"
    # the limits as read from the text are kept as an OBX-7 range's are: a PQ translation each
    assert output["referenceRange"] == [
        {
            "low": {
                "extension": [{"url": PQ, "valueQuantity": {"value": 4, "unit": "x10^3/uL"}}],
                "value": 4000,
                **PER_UL,
            },
            "high": {
                "extension": [{"url": PQ, "valueQuantity": {"value": 11, "unit": "x10^3/uL"}}],
                "value": 11000,
                **PER_UL,
            },
            "text": "4.0-11.0 x10^3/uL",
        }
    ]
    assert "flag.lab-range-unusable" not in {i.code for i in conv.issues}


def test_range_text_without_unit_is_read_in_the_values_unit() -> None:
    conv = leukoflag.convert(observation("751-8", "1.6", [{"text": "1.8 - 7.7"}]))
    finding, applied = finding_and_range(conv)
    assert (applied.low, applied.high, applied.source) == (
        Decimal("1.8E+3"),
        Decimal("7.7E+3"),
        "lab",
    )
    assert finding.code == "L"


def test_range_text_open_at_one_end_gives_that_limit_only() -> None:
    _, applied = finding_and_range(
        leukoflag.convert(observation("751-8", "1.6", [{"text": ">=1.8"}]))
    )
    assert (applied.low, applied.high, applied.source) == (
        Decimal("1.8E+3"),
        None,
        "lab",
    )


def test_range_text_that_gives_no_limits_is_not_used_and_said_so() -> None:
    conv = leukoflag.convert(observation("6690-2", "4.2", [{"text": "see lab comment"}]))
    (output,) = conv.bundles
    assert range_source(output) == "default"
    (unusable,) = (i for i in conv.issues if i.code == "flag.lab-range-unusable")
    assert "'see lab comment'" in unusable.text
    assert "no numeric limits were read" in unusable.text
    assert output["referenceRange"][1] == {"text": "see lab comment"}
    assert "fhir.range-inverted" not in {i.code for i in conv.issues}


def test_range_text_whose_low_is_above_its_high_is_not_used_and_says_why() -> None:
    # the limits typed the wrong way round: "no numeric limits were read" alone did not say why
    conv = leukoflag.convert(observation("6690-2", "4.2", [{"text": "11.0-4.0 x10^3/uL"}]))
    (output,) = conv.bundles
    assert range_source(output) == "default"
    (inverted,) = (i for i in conv.issues if i.code == "fhir.range-inverted")
    assert inverted.severity is leukoflag.Severity.WARNING
    assert inverted.location == "ITEM[1]/Observation.referenceRange[0].text"
    assert inverted.text == "reference range '11.0-4.0 x10^3/uL': low above high; not used"
    assert output["referenceRange"][1] == {"text": "11.0-4.0 x10^3/uL"}


def test_range_read_from_text_reads_back_the_same() -> None:
    (first,) = leukoflag.convert(observation("6690-2", "4.2", [{"text": "4.0-11.0"}])).bundles
    (again,) = leukoflag.convert(fhir.dumps(first)).bundles
    assert again == first


def test_range_text_with_decimal_commas_is_the_labs_range() -> None:
    # as OBX-7 is: a European lab's 1,8-7,7 was unused, and the default range judged the ANC
    conv = leukoflag.convert(observation("751-8", "1.6", [{"text": "1,8–7,7 x10^3/uL"}]))
    finding, applied = finding_and_range(conv)
    assert (applied.low, applied.high, applied.source) == (
        Decimal("1.8E+3"),
        Decimal("7.7E+3"),
        "lab",
    )
    assert finding.code == "L"
    (output,) = conv.bundles
    assert output["referenceRange"][0]["text"] == "1,8–7,7 x10^3/uL"
    assert (
        output["referenceRange"][0]["low"]["value"],
        output["referenceRange"][0]["high"]["value"],
    ) == (1800, 7700)


def test_range_text_with_a_comma_before_three_digits_is_not_used_and_says_why() -> None:
    conv = leukoflag.convert(observation("6690-2", "4.2", [{"text": "4,000-11,000"}]))
    (output,) = conv.bundles
    assert range_source(output) == "default"
    (unusable,) = (i for i in conv.issues if i.code == "flag.lab-range-unusable")
    assert "the comma in '4,000' may separate thousands or be a decimal comma" in unusable.text


def test_range_text_per_sex_judges_with_the_patients_sex() -> None:
    # the contained Patient is female: her 4,200 is below the lab's 4.5-11.0 for women
    conv = leukoflag.convert(
        observation("6690-2", "4.2", [{"text": "Male 4.0-10.0 / Female 4.5-11.0"}])
    )
    finding, applied = finding_and_range(conv)
    assert (applied.low, applied.high, applied.source, applied.sex) == (
        Decimal("4.5E+3"),
        Decimal("1.10E+4"),
        "lab",
        "female",
    )
    assert finding.code == "L"
    (output,) = conv.bundles
    assert output["referenceRange"][0]["text"] == "Male 4.0-10.0 / Female 4.5-11.0"
    assert "flag.lab-range-unusable" not in {i.code for i in conv.issues}


@pytest.mark.parametrize(
    ("gender", "index", "limits"),
    [("female", 1, ("4.5E+3", "1.10E+4")), ("male", 0, ("4.0E+3", "1.00E+4"))],
)
def test_ranges_of_one_sex_each_sent_as_two_texts_judge_each_patient_with_their_own(
    gender: str, index: int, limits: tuple[str, str]
) -> None:
    # the first, the men's, was taken as the range for everyone: a woman was judged with the
    # default range, flag.lab-range-unusable saying it was for men only
    document = fhir.loads(
        observation("6690-2", "4.2", [{"text": "Männer 4,0-10,0"}, {"text": "Frauen 4,5-11,0"}])
    )
    document["contained"][0]["gender"] = gender
    conv = leukoflag.convert(fhir.dumps(document))
    finding, applied = finding_and_range(conv)
    assert (applied.source, applied.sex) == ("lab", gender)
    assert (applied.low, applied.high) == tuple(map(Decimal, limits))
    assert finding.code == ("L" if gender == "female" else "N")
    (output,) = conv.bundles
    assert output["referenceRange"][index]["low"]["value"] == Decimal(limits[0])
    assert not [i for i in conv.issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


@pytest.mark.parametrize(("value", "code"), [("4.2", "N"), ("3.9", "L")])
def test_range_text_per_sex_judges_a_patient_of_unknown_gender_with_their_union(
    value: str, code: str
) -> None:
    # neither range was used: 4,200 was L against leukoflag's 4,500-11,000, though normal for men
    sent = "Male 4.0-10.0 / Female 4.5-11.0"
    document = fhir.loads(observation("6690-2", value, [{"text": sent}]))
    document["contained"][0]["gender"] = "unknown"
    conv = leukoflag.convert(fhir.dumps(document))
    finding, applied = finding_and_range(conv)
    assert (applied.low, applied.high, applied.source, applied.sex) == (
        Decimal("4.0E+3"),
        Decimal("1.10E+4"),
        "lab",
        "",
    )
    assert finding.code == code
    (output,) = conv.bundles
    assert output["referenceRange"][0]["text"] == sent
    (said,) = (i for i in conv.issues if i.code == "flag.lab-range-sex-union")
    assert said.text.startswith(f"the lab's reference range {sent!r} gives one range for men")
    assert "flag.lab-range-unusable" not in {i.code for i in conv.issues}


INFANTS_AND_ADULTS = [{"text": "6.0-17.5 (3-12 mo)"}, {"text": "4.0-11.0 (18 y and over)"}]


@pytest.mark.parametrize(
    ("birth", "code", "limits"),
    [("1979-05-14", "N", ("4.0E+3", "1.10E+4")), ("2026-06-01", "L", ("6.0E+3", "1.75E+4"))],
)
def test_range_texts_noted_for_ages_judge_each_patient_with_their_own(
    birth: str, code: str, limits: tuple[str, str]
) -> None:
    # the first, the infants', judged the woman of 47: 5.2 was L against 6.0-17.5
    document = fhir.loads(observation("6690-2", "5.2", INFANTS_AND_ADULTS))
    document["contained"][0]["birthDate"] = birth
    conv = leukoflag.convert(fhir.dumps(document))
    finding, applied = finding_and_range(conv)
    assert applied.source == "lab"
    assert (applied.low, applied.high) == tuple(map(Decimal, limits))
    assert finding.code == code
    assert not [i for i in conv.issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


def test_range_limits_beside_a_text_naming_other_ages_do_not_judge_the_patient() -> None:
    # the limits were used for the woman of 47, the text '3-12 mo' beside them unread
    infants = limits("6.0", "17.5", "3-12 mo")
    conv = leukoflag.convert(observation("6690-2", "5.2", [infants]))
    finding, applied = finding_and_range(conv)
    assert (applied.source, finding.code) == ("default", "N")
    (issue,) = (i for i in conv.issues if i.code == "flag.lab-range-unusable")
    assert issue.text == (
        "the lab's reference range '3-12 mo' is not used (it is for ages '3-12 mo', and the "
        "patient (born 1979-05-14) is not of those ages on the result date 2026-11-24); "
        "leukoflag's default range applies"
    )


def test_range_limits_beside_a_text_naming_ages_in_german_do_not_judge_an_adult() -> None:
    # the text '1-5 Jahre' was not read: 4.8 was N against the children's 5.0-15.0
    children = limits("5.0", "15.0", "1-5 Jahre")
    conv = leukoflag.convert(observation("6690-2", "4.8", [children]))
    finding, applied = finding_and_range(conv)
    assert (applied.source, finding.code) == ("default", "N")
    (issue,) = (i for i in conv.issues if i.code == "flag.lab-range-unusable")
    assert "(it is for ages '1-5 Jahre', and the patient (born 1979-05-14) is not" in issue.text


@pytest.mark.parametrize(
    "restricted",
    [
        {},
        {"appliesTo": [{"coding": [{"system": "http://hl7.org/fhir/administrative-gender",
                                    "code": "female"}]}]},
        # (with an age, the limits are that age's: test_fhir_reference_range_choice.py)
    ],
)  # fmt: skip
@pytest.mark.parametrize("birth", ["2026-02-10", "1979-05-14"])
def test_range_limits_beside_a_text_of_ranges_per_age_say_which_is_not_known(
    restricted: dict[str, Any], birth: str
) -> None:
    # the Issue said the text "is noted for ages '0-1 y: 6.0-17.5; 1-5 y: 5.5-15.5', which
    # leukoflag cannot read": it reads both bands; which one the limits are is what is not known
    infants = limits("6.0", "17.5", "0-1 y: 6.0-17.5; 1-5 y: 5.5-15.5", **restricted)
    document = fhir.loads(observation("6690-2", "5.2", [infants]))
    document["contained"][0]["birthDate"] = birth
    conv = leukoflag.convert(fhir.dumps(document))
    _, applied = finding_and_range(conv)
    assert applied.source == ("age-band" if birth.startswith("2026") else "default")
    (issue,) = (i for i in conv.issues if i.code.startswith(("flag.lab-range", "fhir.range")))
    assert issue.text == (
        "the lab's reference range '0-1 y: 6.0-17.5; 1-5 y: 5.5-15.5' is not used (its text "
        "gives ranges for the ages '0-1 y' and '1-5 y', and which of them its own limits are "
        "is not known); leukoflag's default range applies"
    )


@pytest.mark.parametrize(
    ("birth", "code", "limits"),
    [("2023-06-01", "N", ("5.0E+3", "1.50E+4")), ("1979-05-14", "H", ("4.0E+3", "1.10E+4"))],
)
def test_range_text_per_age_judges_a_child_and_gives_way_for_an_adult(
    birth: str, code: str, limits: tuple[str, str]
) -> None:
    # the text of bands was read as 6.0-17.5 in the unit '1-5 y: 5.0-15.0', and judged no one
    bands = {"text": "0-1 y: 6.0-17.5\n1-5 y: 5.0-15.0\n6-17 y: 4.5-13.5"}
    document = fhir.loads(observation("6690-2", "12.0", [bands, {"text": "4.0-11.0"}]))
    document["contained"][0]["birthDate"] = birth
    conv = leukoflag.convert(fhir.dumps(document))
    finding, applied = finding_and_range(conv)
    assert (applied.source, finding.code) == ("lab", code)
    assert (applied.low, applied.high) == tuple(map(Decimal, limits))
    assert not [i for i in conv.issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


@pytest.mark.parametrize("text", ["4.0-11.0 (18 y and over)", "Adult 4.0-11.0 (18 y and over)"])
def test_limits_beside_a_text_labelled_for_adults_by_age_judge_an_adult(text: str) -> None:
    # the whole text was taken for an age note that cannot be read: 'it is noted for ages
    # '4.0-11.0 (18 y and over)', which leukoflag cannot read', and the woman of 47 was judged
    # with the default range (4.2 L against 4,500-11,000, N against the lab's 4.0-11.0); so was
    # leukoflag's own output of an OBX-7 '4.0-11.0 (18 y and over)' read back
    adults = limits("4.0", "11.0", text)
    conv = leukoflag.convert(observation("6690-2", "4.2", [adults]))
    finding, applied = finding_and_range(conv)
    assert (applied.source, finding.code, applied.adults) == ("lab", "N", True)
    assert (applied.low, applied.high) == (Decimal("4.0E+3"), Decimal("1.10E+4"))
    assert not [i for i in conv.issues if i.code.startswith(("flag.lab-range", "fhir.range"))]
    again = leukoflag.convert(fhir.dumps(conv.bundles[0]))
    assert [(f.code, f.range) for f in again.findings] == [(f.code, f.range) for f in conv.findings]
