"""A result time sent as a month or a year (OBX-14 '202611', effectiveDateTime '2026') dates the
draw to any day of it: the patient is judged at every age those days allow, as for a birth date
sent as a year or month, not as of its first day."""

from __future__ import annotations

import json

import pytest

import leukoflag

_ANC = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"
_WBC = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN"


def _message(*, born: str, drawn: str, code: str, value: str, sex: str = "F") -> str:
    """A lab's result message sent on 30 November 2026 (MSH-7), the draw stamped ``drawn`` in
    OBR-7 and OBX-14 at the precision its instrument interface keeps."""
    segments = [
        "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261130091047-0500||ORU^R01|NG-7713|P|2.5.1",
        f"PID|1||MRN55120^^^NORTHGATE^MR||HALVORSEN^INGRID||{born}|{sex}",
        f"OBR|1|ORD-5512^EHR|LAB-5512^CORELAB|58410-2^CBC panel - Blood by Automated count^LN"
        f"|||{drawn}" + "|" * 18 + "F",
        f"OBX|1|NM|{code}||{value}|10*3/uL^^UCUM|||||F|||{drawn}",
    ]
    return "\r".join(segments) + "\r"


def _judged(text: str) -> tuple[str | None, str | None, dict[str, str]]:
    conversion = leukoflag.convert(text)
    assert conversion.rejected == []
    (finding,) = conversion.findings or (None,)
    said = {i.code: i.text for i in conversion.issues if i.code.startswith("flag.age")}
    if finding is None:
        return None, None, said
    return finding.code, finding.rule, said


@pytest.mark.parametrize(
    ("born", "drawn", "code", "value", "span"),
    [
        # a girl born on 20 October, drawn in November: 12 to 41 days old, a WBC of 8,000 is L
        # in the first month (9,000-30,000) and N from one month (5,000-19,500); it was judged
        # L as of 1 November alone
        ("20261020", "202611", _WBC, "8.0", "2026-11-01 to 2026-11-30"),
        # born on 17 November, drawn in November: day 0 to 13 (the message is of the 30th), an
        # ANC of 4,000 is first-week neutropenia or normal; it was judged as an adult's with
        # 'the birth date 2026-11-17 is after the result date 2026-11-01'
        ("20261117", "202611", _ANC, "4.0", "2026-11-17 to 2026-11-30"),
        # a young woman born 1 June 2008, drawn in 2026: 17 or 18; a WBC of 4,200 is leukopenia
        # at 17 (below the band's 4,500) but not for a woman of 18 (below 4,000 only); it was
        # judged a 17-year-old's leukopenia
        ("20080601", "2026", _WBC, "4.2", "2026-01-01 to 2026-11-30"),
    ],
)
def test_a_result_time_sent_as_a_month_or_year_judges_every_age_it_allows(
    born: str, drawn: str, code: str, value: str, span: str
) -> None:
    shown = f"{drawn[:4]}-{drawn[4:]}" if len(drawn) == 6 else drawn
    code_given, rule, said = _judged(_message(born=born, drawn=drawn, code=code, value=value))
    assert (code_given, rule, list(said)) == (None, None, ["flag.age-imprecise"])
    assert said["flag.age-imprecise"] == (
        f"not flagged: the result time was sent as {shown}, so the result's date may be {span}, "
        "and the age-dependent rules differ within that span"
    )


def test_a_result_month_whose_ages_agree_is_judged_by_the_older_age_with_a_note() -> None:
    # born 20 October, drawn in November: an ANC of 300 is LL at every age of the month
    code_given, rule, said = _judged(
        _message(born="20261020", drawn="202611", code=_ANC, value="0.3")
    )
    assert (code_given, rule) == ("LL", "anc-critical-low")
    assert list(said) == ["flag.age-imprecise-agreed"]
    assert said["flag.age-imprecise-agreed"].startswith(
        "the result time was sent as 2026-11, so the result's date may be 2026-11-01 to "
        "2026-11-30, and the age-dependent rules differ within that span, but give the same "
        "code LL at either end: judged by the rules of ages 1 month to 3 months"
    )


def test_a_result_month_of_an_adult_is_judged_as_before() -> None:
    code_given, rule, said = _judged(
        _message(born="19610719", drawn="202611", code=_WBC, value="3.1", sex="M")
    )
    assert (code_given, rule, said) == ("L", "wbc-leukopenia-adult", {})


def test_a_fhir_effective_month_judges_every_age_it_allows() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:5d0f0a52-3a55-4f1c-9d43-8e2b2f0c7a01",
                "resource": {
                    "resourceType": "Patient",
                    "gender": "female",
                    "birthDate": "2026-10-20",
                },
            },
            {
                "fullUrl": "urn:uuid:5d0f0a52-3a55-4f1c-9d43-8e2b2f0c7a02",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                    "subject": {"reference": "urn:uuid:5d0f0a52-3a55-4f1c-9d43-8e2b2f0c7a01"},
                    "effectiveDateTime": "2026-11",
                    "valueQuantity": {
                        "value": 8.0,
                        "unit": "10*3/uL",
                        "system": "http://unitsofmeasure.org",
                        "code": "10*3/uL",
                    },
                },
            },
        ],
    }
    code_given, rule, said = _judged(json.dumps(bundle))
    assert (code_given, rule, list(said)) == (None, None, ["flag.age-imprecise"])
    assert (
        "the result time was sent as 2026-11, so the result's date may be 2026-11-01 to "
        in (said["flag.age-imprecise"])
    )


def _observation_bundle(*, born: str, effective: str, issued: str) -> str:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": "urn:uuid:5d0f0a52-3a55-4f1c-9d43-8e2b2f0c7a11",
                    "resource": {"resourceType": "Patient", "gender": "male", "birthDate": born},
                },
                {
                    "fullUrl": "urn:uuid:5d0f0a52-3a55-4f1c-9d43-8e2b2f0c7a12",
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
                        "subject": {"reference": "urn:uuid:5d0f0a52-3a55-4f1c-9d43-8e2b2f0c7a11"},
                        "effectiveDateTime": effective,
                        "issued": issued,
                        "valueQuantity": {
                            "value": 4.0,
                            "unit": "10*3/uL",
                            "system": "http://unitsofmeasure.org",
                            "code": "10*3/uL",
                        },
                    },
                },
            ],
        }
    )


@pytest.mark.parametrize("effective", ["2026-11", "2026"])
def test_a_result_month_or_year_is_not_dated_after_the_result_was_issued(effective: str) -> None:
    # a boy born on 10 November whose ANC of 4,000 was reported on the 15th: drawn at 0 to 5
    # days old, first-week neutropenia (L) whatever the day; the draw was dated up to 30
    # November (31 December for '2026'), after its report, and left unjudged as imprecise
    code_given, rule, said = _judged(
        _observation_bundle(
            born="2026-11-10", effective=effective, issued="2026-11-15T10:12:00-05:00"
        )
    )
    assert (code_given, rule) == ("L", "anc-neutropenia-first-week")
    assert said == {}


def test_a_result_month_is_not_dated_after_its_order_results_were_reported() -> None:
    # the same boy in HL7 v2: OBR-22 (results reported) 15 November, MSH-7 30 November
    text = _message(born="20261110", drawn="202611", code=_ANC, value="4.0", sex="M")
    text = text.replace("|" * 18 + "F", "|" * 15 + "20261115101200-0500|||F")
    assert "||20261115101200-0500|||F" in text
    code_given, rule, said = _judged(text)
    assert (code_given, rule) == ("L", "anc-neutropenia-first-week")
    assert said == {}
