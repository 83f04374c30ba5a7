"""FHIR input: of a lab's age- and sex-specific reference ranges, the one judged with is the
patient's own; none is used (leukoflag's default range, with an Issue) when none is known to be."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import leukoflag
from leukoflag import fhir

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
EXPLANATION = "http://leukoflag.org/fhir/StructureDefinition/interpretation-explanation"
BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"


def quantity(value: str, code: str) -> dict[str, Any]:
    return {"value": Decimal(value), "unit": code, "system": UCUM, "code": code}


def lab_range(
    low: str,
    high: str,
    ages: tuple[str | None, str | None, str] | None = None,
    applies_to: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A referenceRange in 10*3/uL, for ages (low, high, UCUM unit) and appliesTo concepts."""
    entry: dict[str, Any] = {"low": quantity(low, "10*3/uL"), "high": quantity(high, "10*3/uL")}
    if ages is not None:
        age_low, age_high, unit = ages
        entry["age"] = {}
        if age_low is not None:
            entry["age"]["low"] = quantity(age_low, unit)
        if age_high is not None:
            entry["age"]["high"] = quantity(age_high, unit)
    if applies_to is not None:
        entry["appliesTo"] = applies_to
    return entry


def sex(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": SNOMED, "code": code, "display": display}]}


MALE = sex("248153007", "Male")
FEMALE = sex("248152002", "Female")
PREGNANT = sex("77386006", "Pregnant")

# A children's hospital lab: one WBC band per age, as its LIS sends them
BANDS = [
    lab_range("9.0", "30.0", ("0", "0", "mo")),  # first month
    lab_range("6.0", "17.5", ("1", "11", "mo")),
    lab_range("6.0", "17.0", ("1", "2", "a")),
    lab_range("4.5", "13.5", ("3", "17", "a")),
    lab_range("4.5", "11.0", ("18", None, "a")),
]


def bundle(
    value: str,
    ranges: list[dict[str, Any]],
    *,
    birth: str | None,
    gender: str = "male",
    code: str = "6690-2",
    effective: str = "2026-11-20T07:45:00-05:00",
    birth_time: str | None = None,
) -> bytes:
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "pt-ward7", "gender": gender}
    if birth is not None:
        patient["birthDate"] = birth
    if birth_time is not None:
        extension = {"url": BIRTH_TIME, "valueDateTime": birth_time}
        patient["_birthDate"] = {"extension": [extension]}
    observation = {
        "resourceType": "Observation",
        "id": "wbc-ward7",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/pt-ward7"},
        "effectiveDateTime": effective,
        "valueQuantity": quantity(value, "10*3/uL"),
        "referenceRange": ranges,
    }
    document = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "https://fhir.example.org/Patient/pt-ward7", "resource": patient},
            {"fullUrl": "https://fhir.example.org/Observation/wbc-ward7", "resource": observation},
        ],
    }
    return fhir.dumps(document)


def judged(data: bytes) -> tuple[dict[str, Any], list[leukoflag.Issue]]:
    conversion = leukoflag.convert(data)
    assert not conversion.rejected
    (output,) = conversion.bundles
    return output["entry"][1]["resource"], list(conversion.issues)


def explanation(observation: dict[str, Any]) -> dict[str, Any]:
    (extension,) = [e for e in observation["extension"] if e["url"] == EXPLANATION]
    return {
        part["url"]: next(v for k, v in part.items() if k.startswith("value"))
        for part in extension["extension"]
    }


def normalized(observation: dict[str, Any]) -> list[tuple[Decimal, Decimal]]:
    """The referenceRange entries leukoflag rewrote in cells/µL, as (low, high)."""
    return [
        (entry["low"]["value"], entry["high"]["value"])
        for entry in observation["referenceRange"]
        if entry.get("low", {}).get("code") == "/uL"
    ]


def not_applicable(issues: list[leukoflag.Issue]) -> list[leukoflag.Issue]:
    return [i for i in issues if i.code == "fhir.range-not-applicable"]


def test_an_adult_is_judged_with_the_adult_band_not_the_first_one() -> None:
    # 8.0 is low against the first-month band 9.0-30.0, within the adult one
    observation, issues = judged(bundle("8.0", BANDS, birth="1971-05-02"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.5E+3"), Decimal("1.10E+4"))]
    assert observation["referenceRange"][4]["low"]["value"] == Decimal("4.5E+3")
    assert not not_applicable(issues)


def test_an_age_in_whole_years_counts_completed_years() -> None:
    # 2 years and 5 months: in "1-2 a" (6.0-17.0), where 5.8 is low
    observation, _ = judged(bundle("5.8", BANDS, birth="2024-06-20"))
    assert normalized(observation) == [(Decimal("6.0E+3"), Decimal("1.70E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    assert explanation(observation)["rule"] == "wbc-below-range"


def test_on_the_third_birthday_the_next_band_applies() -> None:
    observation, _ = judged(
        bundle("5.8", BANDS, birth="2023-11-20", effective="2026-11-20T07:45:00-05:00")
    )
    assert normalized(observation) == [(Decimal("4.5E+3"), Decimal("1.35E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"


def test_a_newborn_in_its_first_days_gets_the_band_in_days() -> None:
    ranges = [lab_range("9.0", "30.0", ("0", "6", "d")), lab_range("5.0", "21.0", ("7", "27", "d"))]
    observation, _ = judged(
        bundle("8.2", ranges, birth="2026-11-17", effective="2026-11-20T06:10:00-05:00")
    )
    assert normalized(observation) == [(Decimal("9.0E+3"), Decimal("3.00E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"


def test_without_a_birth_date_no_age_band_is_used_and_an_issue_says_why() -> None:
    observation, issues = judged(bundle("8.0", BANDS, birth=None))
    assert explanation(observation)["rangeSource"] == "default"
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    (issue,) = not_applicable(issues)
    assert issue.severity is leukoflag.Severity.WARNING
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.referenceRange"
    assert "[0] for ages 0 mo-0 mo, and the patient's birth date is not known" in issue.text
    assert "[4] for ages from 18 a" in issue.text
    assert issue.text.endswith(
        "judged with leukoflag's adult range, 5,000–10,000 cells/µL, instead"
    )


def test_a_childs_issue_for_adult_ranges_names_the_birth_date_and_the_age_band() -> None:
    # said only "for ages from 18 a ...: judged with leukoflag's default range", while the age
    # band judged and flag.lab-range-adults names the birth date, result date and band
    ranges = [lab_range("4.0", "11.0", ("18", None, "a"))]
    observation, issues = judged(bundle("12.5", ranges, birth="2020-03-01"))
    assert explanation(observation)["rangeSource"] == "age-band"
    (issue,) = not_applicable(issues)
    assert issue.text == (
        "none of the lab's reference ranges is known to be this patient's (referenceRange[0] for "
        "ages from 18 a, and the patient (born 2020-03-01) is not of those ages on the result "
        "date 2026-11-20): judged with the age band, 4,500–13,500 cells/µL, instead"
    )
    observation, issues = judged(
        bundle("12.5", ranges, birth="2008", effective="2026-06-20T07:45:00-05:00")
    )
    (issue,) = not_applicable(issues)
    assert (
        "(born 2008-01-01 to 2008-12-31) may not be of those ages on the result date" in issue.text
    )


def test_a_placeholder_birth_date_meets_no_age_band() -> None:
    # 1900-01-01 stands for "not known": the lab's band "from 18 a" is not known to be the
    # patient's (the rules take no age from it either)
    observation, issues = judged(bundle("8.0", BANDS, birth="1900-01-01"))
    assert explanation(observation)["rangeSource"] == "default"
    (issue,) = not_applicable(issues)
    # as flag.age-unknown says it (was 'is not a plausible one')
    assert (
        "[4] for ages from 18 a, and the birth date 1900-01-01 would make the patient over 120 "
        "years old on the result date 2026-11-20, so it is taken for a feed's placeholder, not a "
        "birth date" in issue.text
    )
    assert [i.code for i in issues if i.code.startswith("flag.age-")] == ["flag.age-unknown"]


def test_a_birth_year_that_spans_two_bands_uses_neither() -> None:
    # born in 2023: on 2026-06-01 two or three years old, "1-2 a" or "3-17 a"
    observation, issues = judged(
        bundle("5.8", BANDS, birth="2023", effective="2026-06-01T09:00:00-05:00")
    )
    assert explanation(observation)["rangeSource"] != "lab"
    assert "[2] for ages 1 a-2 a" in not_applicable(issues)[0].text


def test_the_patients_sex_chooses_between_sex_specific_ranges() -> None:
    ranges = [
        lab_range("4.5", "11.0", applies_to=[FEMALE]),
        lab_range("5.0", "10.0", applies_to=[MALE]),
    ]
    observation, issues = judged(bundle("4.8", ranges, birth="1980-01-09", gender="male"))
    assert normalized(observation) == [(Decimal("5.0E+3"), Decimal("1.00E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    observation, _ = judged(bundle("4.8", ranges, birth="1980-01-09", gender="female"))
    assert normalized(observation) == [(Decimal("4.5E+3"), Decimal("1.10E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert not not_applicable(issues)


V2_SEX = "http://terminology.hl7.org/CodeSystem/v2-0001"


@pytest.mark.parametrize(
    ("male", "female"),
    [
        # a v2-to-FHIR converter codes the sex in HL7 table 0001, as PID-8 is
        (
            {"coding": [{"system": V2_SEX, "code": "M"}]},
            {"coding": [{"system": V2_SEX, "code": "F"}]},
        ),
        # an EHR export sends the label of the range as text only
        ({"text": "Male"}, {"text": "Female"}),
        ({"text": "Men"}, {"text": "Women"}),
        ({"text": "Männer"}, {"text": "Frauen"}),
    ],
)
def test_ranges_per_sex_coded_in_table_0001_or_named_in_text_judge_by_the_patients_sex(
    male: dict[str, Any], female: dict[str, Any]
) -> None:
    # a woman's WBC of 4.2 against the lab's range for women, 3.9-11.0: N; the two ranges were
    # 'for 'F', which leukoflag cannot check', and the default 4,500-11,000 judged it L
    ranges = [
        lab_range("4.0", "10.0", applies_to=[male]),
        lab_range("3.9", "11.0", applies_to=[female]),
    ]
    observation, issues = judged(bundle("4.2", ranges, birth="1980-01-09", gender="female"))
    assert normalized(observation) == [(Decimal("3.9E+3"), Decimal("1.10E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert explanation(observation)["rangeSource"] == "lab"
    assert not not_applicable(issues)
    observation, issues = judged(bundle("4.2", ranges, birth="1980-01-09", gender="male"))
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.00E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"


def test_an_applies_to_text_beside_codings_or_a_lone_letter_is_not_read_as_a_sex() -> None:
    # the codings say what the concept is (pregnancy, a local code): its text is not read over
    # them; 'M' alone is men in English and women in Spanish (mujeres): no sex alone
    local = {"coding": [{"system": "http://lis.example/fhir/population", "code": "P"}]}
    for concept in ({**PREGNANT, "text": "Female"}, {**local, "text": "Female"}, {"text": "M"}):
        ranges = [lab_range("5.7", "15.0", applies_to=[concept])]
        observation, issues = judged(bundle("5.2", ranges, birth="1994-02-11", gender="female"))
        assert explanation(observation)["rangeSource"] == "default"
        assert "which leukoflag cannot check" in not_applicable(issues)[0].text


def test_a_range_for_everyone_serves_a_patient_no_specific_range_fits() -> None:
    ranges = [lab_range("4.5", "11.0", applies_to=[FEMALE]), lab_range("4.0", "10.5")]
    observation, issues = judged(bundle("4.2", ranges, birth="1980-01-09", gender="unknown"))
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.05E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert not not_applicable(issues)


def test_a_restriction_leukoflag_cannot_check_is_not_assumed_to_hold() -> None:
    ranges = [lab_range("5.7", "15.0", applies_to=[FEMALE, PREGNANT])]
    observation, issues = judged(bundle("5.2", ranges, birth="1994-02-11", gender="female"))
    assert explanation(observation)["rangeSource"] == "default"
    assert "for 'Pregnant', which leukoflag cannot check" in not_applicable(issues)[0].text


def test_results_that_are_not_counts_raise_no_issue_for_their_ranges() -> None:
    hemoglobin = [lab_range("11.0", "14.5", ("1", "2", "a"))]
    conversion = leukoflag.convert(bundle("12.1", hemoglobin, birth=None, code="718-7"))
    assert not not_applicable(list(conversion.issues))


@pytest.mark.parametrize(
    "age",
    [
        {"low": {"value": "two", "code": "a", "system": UCUM}},
        {"low": {"value": 2, "code": "min", "system": UCUM}},
        {"low": {"value": 2, "code": ["a"], "system": UCUM}},
        {"high": {"value": -1, "code": "a", "system": UCUM}},
        "18 years and over",
    ],
)
def test_an_age_range_that_cannot_be_read_is_not_used(age: Any) -> None:
    entry = lab_range("4.5", "11.0")
    entry["age"] = age
    observation, issues = judged(bundle("4.2", [entry], birth="1980-01-09"))
    assert explanation(observation)["rangeSource"] == "default"
    assert "[0] its age range cannot be read" in not_applicable(issues)[0].text


def test_a_range_whose_high_is_in_another_unit_reads_each_limit_in_its_own() -> None:
    # the LIS writes the low in 10*3/uL and the high in /uL: 10.8 is above 10,500/uL
    mixed = {"low": quantity("4.5", "10*3/uL"), "high": quantity("10500", "/uL")}
    observation, issues = judged(bundle("10.8", [mixed], birth="1971-05-02"))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.5E+3"), Decimal("10500"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "H"
    assert not [i for i in issues if i.code == "flag.lab-range-unusable"]


def test_a_range_whose_high_cannot_be_read_names_each_limits_unit() -> None:
    mixed = {"low": quantity("4.5", "10*3/uL"), "high": quantity("70", "%")}
    observation, issues = judged(bundle("10.8", [mixed], birth="1971-05-02"))
    assert explanation(observation)["rangeSource"] == "default"
    (issue,) = [i for i in issues if i.code == "flag.lab-range-unusable"]
    assert "'4.5 10*3/uL-70 %' is not used (percent:" in issue.text


def test_a_birth_month_that_holds_the_result_day_is_judged_down_to_that_day() -> None:
    # born "2026-11", result on 20 November: 0 to 19 days old, in the "0-27 d" band (a birth
    # later in November, after the result, is no birth at all), as flagging takes the age
    ranges = [
        lab_range("9.0", "30.0", ("0", "27", "d")),
        lab_range("5.0", "19.5", ("28", "364", "d")),
    ]
    observation, issues = judged(
        bundle("8.2", ranges, birth="2026-11", effective="2026-11-20T06:10:00-05:00")
    )
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("9.0E+3"), Decimal("3.00E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    assert not not_applicable(issues)


@pytest.mark.parametrize(
    ("high", "unit"), [("9.9e999999", "wk"), ("1e999999999", "a"), ("1e999999", "mo")]
)
def test_an_age_bound_beyond_the_calendar_is_an_open_end(high: str, unit: str) -> None:
    # a LIS writing "no upper age" as a huge number: the range is the adult's (no arithmetic
    # error out of convert, no million-digit year)
    entry = lab_range("4.5", "11.0", ("18", "0", unit))
    data = bundle("4.2", [entry], birth="1980-01-09").replace(
        b'"value":0,', f'"value":{high},'.encode()
    )
    assert f'"value":{high}'.encode() in data
    observation, issues = judged(data)
    assert explanation(observation)["rangeSource"] == "lab"
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    assert not not_applicable(issues)


def test_an_age_low_bound_beyond_the_calendar_is_never_reached() -> None:
    entry = lab_range("4.5", "11.0", ("0", None, "d"))
    data = bundle("4.2", [entry], birth="1980-01-09").replace(
        b'"value":0,', b'"value":1e999999999,'
    )
    observation, issues = judged(data)
    assert explanation(observation)["rangeSource"] == "default"
    assert "[0] for ages from 1E+999999999 d" in not_applicable(issues)[0].text


def test_a_result_without_a_date_takes_its_reports_for_the_age_band() -> None:
    # the report is dated, the Observation is not: flagging knew the child's age, the range
    # chooser did not, and passed over every band
    data = bundle("5.8", BANDS, birth="2024-06-20")
    document = fhir.loads(data)
    observation = document["entry"][1]["resource"]
    del observation["effectiveDateTime"]
    document["entry"].append(
        {
            "fullUrl": "https://fhir.example.org/DiagnosticReport/cbc-ward7",
            "resource": {
                "resourceType": "DiagnosticReport",
                "id": "cbc-ward7",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                "subject": {"reference": "Patient/pt-ward7"},
                "effectiveDateTime": "2026-11-20T07:45:00-05:00",
                "result": [{"reference": "Observation/wbc-ward7"}],
            },
        }
    )
    output, issues = judged(fhir.dumps(document))
    assert normalized(output) == [(Decimal("6.0E+3"), Decimal("1.70E+4"))]
    assert output["interpretation"][0]["coding"][0]["code"] == "L"
    assert not not_applicable(issues)


@pytest.mark.parametrize(
    ("gender", "said"),
    [
        ("other", "and the patient's gender is 'other'"),
        ("unknown", "and the patient's gender is 'unknown'"),
        # a v2 administrative sex copied into Patient.gender by a converter
        ("F", "and the patient's gender 'F' is not a FHIR administrative gender"),
    ],
)
def test_a_sex_specific_range_passed_over_names_the_gender_that_was_sent(
    gender: str, said: str
) -> None:
    # 'other' was reported as "the patient's sex is not known": the sender did say something
    ranges = [lab_range("4.5", "11.0", applies_to=[FEMALE])]
    observation, issues = judged(bundle("4.8", ranges, birth="1980-01-09", gender=gender))
    assert explanation(observation)["rangeSource"] == "default"
    (issue,) = not_applicable(issues)
    assert f"[0] for female patients, {said}):" in issue.text
    assert "sex is not known" not in issue.text


def test_a_sex_specific_range_passed_over_for_a_patient_without_gender_says_it_is_unknown() -> None:
    ranges = [lab_range("4.5", "11.0", applies_to=[FEMALE])]
    document = fhir.loads(bundle("4.8", ranges, birth="1980-01-09"))
    del document["entry"][0]["resource"]["gender"]
    _, issues = judged(fhir.dumps(document))
    (issue,) = not_applicable(issues)
    assert "[0] for female patients, and the patient's sex is not known):" in issue.text


# A lab's adult WBC ranges for men and for women, each for that sex only
BY_SEX = [
    lab_range("4.5", "11.0", applies_to=[FEMALE]),
    lab_range("4.0", "10.0", applies_to=[MALE]),
]
RANGE_SOURCE = "http://leukoflag.org/fhir/StructureDefinition/reference-range-source"


def sex_union(issues: list[leukoflag.Issue]) -> list[leukoflag.Issue]:
    return [i for i in issues if i.code == "flag.lab-range-sex-union"]


@pytest.mark.parametrize("gender", ["unknown", "other"])
@pytest.mark.parametrize(("value", "code"), [("4.2", "N"), ("3.9", "L")])
def test_ranges_for_men_and_women_judge_a_patient_of_neither_sex_with_their_union(
    gender: str, value: str, code: str
) -> None:
    # neither was used: 4,200 was L against leukoflag's 4,500-11,000, though normal for men
    observation, issues = judged(bundle(value, BY_SEX, birth="1980-01-09", gender=gender))
    assert observation["interpretation"][0]["coding"][0]["code"] == code
    parts = explanation(observation)
    assert parts["rangeSource"] == "lab"
    assert "rangeSex" not in parts  # no one sex's range claimed
    assert (parts["range"]["low"]["value"], parts["range"]["high"]["value"]) == (
        Decimal(4000),
        Decimal(11000),
    )
    # the union comes first, said to be leukoflag's; the lab's two ranges follow as sent
    union = observation["referenceRange"][0]
    assert union["extension"] == [
        {"url": RANGE_SOURCE, "extension": [{"url": "source", "valueCode": "lab"}]}
    ]
    assert (union["low"]["value"], union["high"]["value"]) == (Decimal(4000), Decimal(11000))
    assert observation["referenceRange"][1:] == BY_SEX
    assert not not_applicable(issues)
    (said,) = sex_union(issues)
    assert said.severity is leukoflag.Severity.INFORMATION
    assert said.text == (
        "the lab's reference range 'male 4.0-10.0 10*3/uL, female 4.5-11.0 10*3/uL' gives one "
        f"range for men and one for women, and the patient's sex is {gender!r}: judged with their "
        "union, 4,000–11,000 cells/µL (a value normal for either sex is not flagged)"
    )


def test_the_union_of_ranges_per_sex_is_taken_in_cells_per_ul_across_units() -> None:
    women = {
        "low": quantity("4500", "/uL"),
        "high": quantity("11000", "/uL"),
        "appliesTo": [FEMALE],
    }
    ranges = [women, lab_range("4.0", "10.0", applies_to=[MALE])]
    observation, _ = judged(bundle("4.2", ranges, birth="1980-01-09", gender="unknown"))
    union = observation["referenceRange"][0]
    assert (union["low"]["value"], union["high"]["value"]) == (Decimal(4000), Decimal(11000))
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"


def test_flagging_the_union_again_gives_the_same_observation() -> None:
    first, _ = judged(bundle("3.9", BY_SEX, birth="1980-01-09", gender="unknown"))
    document = fhir.loads(bundle("3.9", BY_SEX, birth="1980-01-09", gender="unknown"))
    document["entry"][1]["resource"] = first
    again, issues = judged(fhir.dumps(document))
    assert again == first
    assert len(sex_union(issues)) == 1


# each range text per sex, with the labels read for men and for women (rangeSexLabel)
_LABELS_READ = {
    "M: 4.0-10.0 F: 4.5-11.0": ("M (English)", "F (English)"),
    "M: 4.0-10.0 F: 4.5-11.0 10*3/uL": ("M (English)", "F (English)"),
    "Männer: 4,0-10,0 Frauen: 4,5-11,0": ("Männer (German)", "Frauen (German)"),
    # M is women beside H: read so again, not as the English M
    "M: 4,5-11,0 H: 4,0-10,0 10*3/uL": ("H (Spanish, Portuguese)", "M (Spanish, Portuguese)"),
}


@pytest.mark.parametrize("text", list(_LABELS_READ))
@pytest.mark.parametrize(
    ("gender", "code", "range_sex", "limits"),
    [
        ("male", "N", "male", (Decimal(4000), Decimal(10000))),
        ("female", "L", "female", (Decimal(4500), Decimal(11000))),
        ("unknown", "N", None, (Decimal(4000), Decimal(11000))),
    ],
)
def test_flagging_a_range_text_per_sex_again_changes_nothing(
    text: str, gender: str, code: str, range_sex: str | None, limits: tuple[Decimal, Decimal]
) -> None:
    # the limits written beside the text were read back as an ordinary lab range: rangeSex or
    # flag.lab-range-sex-union lost, and the limits given a translation of themselves
    first = leukoflag.convert(bundle("4.2", [{"text": text}], birth="1970-01-01", gender=gender))
    again = leukoflag.convert(fhir.dumps(first.bundles[0]))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(first.bundles[0])
    for conversion in (first, again):
        observation = conversion.bundles[0]["entry"][1]["resource"]
        assert observation["interpretation"][0]["coding"][0]["code"] == code
        assert explanation(observation).get("rangeSex") == range_sex
        label = dict(zip(("male", "female"), _LABELS_READ[text], strict=True)).get(gender)
        assert explanation(observation).get("rangeSexLabel") == label
        assert normalized(observation) == [limits]
        assert len(sex_union(list(conversion.issues))) == (range_sex is None)
    (entry,) = first.bundles[0]["entry"][1]["resource"]["referenceRange"]
    # each limit kept as sent, in the chosen range's unit (the value's when the text has none)
    kept = [entry[name]["extension"][0]["valueQuantity"] for name in ("low", "high")]
    assert [(q["value"], q["unit"]) for q in kept] == [(n / 1000, "10*3/uL") for n in limits]


_V2_BY_SEX = (
    "MSH|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124091047-0500||ORU^R01^ORU_R01|RS24-000311|"
    "P|2.5.1\r"
    "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|{sex}\r"
    "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel^LN|||20261124080500-0500\r"
    "OBX|1|NM|6690-2^Leukocytes^LN||4.2|10*3/uL^^UCUM|M: 4.0-10.0 F: 4.5-11.0||||F\r"
)


@pytest.mark.parametrize(("sex", "range_sex"), [("M", "male"), ("F", "female"), ("U", None)])
def test_flagging_the_bundle_of_a_v2_range_per_sex_again_changes_nothing(
    sex: str, range_sex: str | None
) -> None:
    first = leukoflag.convert(_V2_BY_SEX.format(sex=sex))
    again = leukoflag.convert(fhir.dumps(first.bundles[0]))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(first.bundles[0])
    assert [(f.code, f.range and f.range.sex) for f in again.findings] == [
        (f.code, f.range and f.range.sex) for f in first.findings
    ]
    assert [f.range and f.range.sex for f in first.findings] == [range_sex or ""]
    assert len(sex_union(list(again.issues))) == (range_sex is None)


_V2_LATIN_1 = (
    "MSH|^~\\&|LABOR|KLINIKUM NORD|KIS|KLINIKUM NORD|20261124091047+0100||ORU^R01^ORU_R01|"
    "KN-0044817|P|2.5|||||DEU|8859/1\r"
    "PID|1||4471203^^^KLINIKUM NORD^MR||Müller^Jürgen||19610719|{sex}\r"
    "OBR|1|A7721^KIS|L5512^LABOR|58410-2^Blutbild^LN|||20261124080500+0100\r"
    "OBX|1|NM|6690-2^Leukozyten^LN||4,2|G/L|{reference}||||F\r"
)


@pytest.mark.parametrize(
    "reference",
    [
        "Männer: 4,0-10,0 Frauen: 4,5-11,0",
        "H 4,0-10,0 M 4,5-11,0 G/L",
        "Varón 4,0-10,0 Mujer 4,5-11,0",
    ],
)
@pytest.mark.parametrize(("sex", "range_sex"), [("M", "male"), ("F", "female"), ("U", None)])
def test_flagging_the_bundle_of_a_latin_1_range_per_sex_again_changes_nothing(
    reference: str, sex: str, range_sex: str | None
) -> None:
    data = _V2_LATIN_1.format(sex=sex, reference=reference).encode("latin-1")
    first = leukoflag.convert(data)
    again = leukoflag.convert(fhir.dumps(first.bundles[0]))
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(first.bundles[0])
    assert [f.range and (f.range.sex, f.range.low, f.range.high) for f in again.findings] == [
        f.range and (f.range.sex, f.range.low, f.range.high) for f in first.findings
    ]
    assert [f.range and f.range.sex for f in first.findings] == [range_sex or ""]
    assert len(sex_union(list(again.issues))) == (range_sex is None)


def test_ranges_per_sex_for_adults_judge_an_adult_of_unknown_sex_with_their_union() -> None:
    ranges = [
        lab_range("6.0", "17.0", ("1", "17", "a"), applies_to=[FEMALE]),
        lab_range("6.0", "17.0", ("1", "17", "a"), applies_to=[MALE]),
        lab_range("4.5", "11.0", ("18", None, "a"), applies_to=[FEMALE]),
        lab_range("4.0", "10.0", ("18", None, "a"), applies_to=[MALE]),
    ]
    observation, issues = judged(bundle("4.2", ranges, birth="1980-01-09", gender="unknown"))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]
    assert len(sex_union(issues)) == 1
    # without a birth date neither adult range is known to apply: the default, as before
    document = fhir.loads(bundle("4.2", ranges, birth=None, gender="unknown"))
    observation, issues = judged(fhir.dumps(document))
    assert explanation(observation)["rangeSource"] == "default"
    assert not sex_union(issues)
    assert len(not_applicable(issues)) == 1


@pytest.mark.parametrize(
    "ranges",
    [
        # the women's range is for pregnancy too: not only a sex apart
        [lab_range("4.5", "11.0", applies_to=[FEMALE, PREGNANT]), BY_SEX[1]],
        # two ranges for men: which one is not known
        [*BY_SEX, lab_range("3.8", "10.5", applies_to=[MALE])],
    ],
)
def test_ranges_per_sex_that_differ_by_more_than_sex_are_not_united(
    ranges: list[dict[str, Any]],
) -> None:
    observation, issues = judged(bundle("4.2", ranges, birth="1980-01-09", gender="unknown"))
    assert explanation(observation)["rangeSource"] == "default"
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    assert not sex_union(issues)
    assert len(not_applicable(issues)) == 1


def test_ranges_per_sex_with_one_unusable_are_not_united_and_issues_say_why() -> None:
    women = {**lab_range("4.5", "11.0", applies_to=[FEMALE])}
    women["high"] = quantity("11.0", "g/dL")
    observation, issues = judged(
        bundle("4.2", [women, BY_SEX[1]], birth="1980-01-09", gender="unknown")
    )
    assert explanation(observation)["rangeSource"] == "default"
    assert not sex_union(issues)
    assert len(not_applicable(issues)) == 1
    (unusable,) = [i for i in issues if i.code == "flag.lab-range-unusable"]
    assert "and the patient's sex is 'unknown'; its range for women, " in unusable.text


# A LIS marking a range as one it has not validated (a modifier FHIR requires a reader to
# understand before it acts on the element): made up for these tests.
UNVALIDATED = {
    "url": "http://lis.example/fhir/StructureDefinition/unvalidated",
    "valueBoolean": True,
}


def test_a_range_with_a_modifier_extension_is_not_used_and_an_issue_says_so() -> None:
    # 4.8 is low against the range the LIS qualified, normal against the lab's other one: the
    # qualified range was read as if nothing had been said of it
    ranges = [{**lab_range("5.0", "10.0"), "modifierExtension": [UNVALIDATED]}]
    ranges.append(lab_range("4.5", "11.0"))
    observation, issues = judged(bundle("4.8", ranges, birth="1980-01-09"))
    assert normalized(observation) == [(Decimal("4.5E+3"), Decimal("1.10E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert observation["referenceRange"][0] == ranges[0]  # kept as sent
    (issue,) = [i for i in issues if i.code == "fhir.modifier-extension-unknown"]
    assert issue.severity is leukoflag.Severity.WARNING
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.referenceRange[0].modifierExtension"
    assert "'http://lis.example/fhir/StructureDefinition/unvalidated'" in issue.text
    assert issue.text.endswith(
        "may change what this reference range means, and leukoflag does not know it: not used"
    )


def test_a_count_whose_only_range_has_a_modifier_extension_is_judged_with_the_default() -> None:
    ranges = [{**lab_range("5.0", "10.0"), "modifierExtension": [UNVALIDATED]}]
    observation, issues = judged(bundle("4.8", ranges, birth="1980-01-09"))
    assert explanation(observation)["rangeSource"] == "default"
    assert observation["referenceRange"][1] == ranges[0]
    assert [i.code for i in issues if i.code.startswith("fhir.")] == [
        "fhir.modifier-extension-unknown"
    ]


def test_a_range_with_a_modifier_extension_of_a_result_that_is_no_count_raises_nothing() -> None:
    hemoglobin = [{**lab_range("11.0", "14.5"), "modifierExtension": [UNVALIDATED]}]
    conversion = leukoflag.convert(bundle("12.1", hemoglobin, birth="1980-01-09", code="718-7"))
    assert not [i for i in conversion.issues if i.code.startswith("fhir.")]


MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"


@pytest.mark.parametrize(
    "kind",
    [
        {"coding": [{"system": MEANING, "code": "therapeutic"}]},
        {"coding": [{"system": MEANING, "code": "treatment"}]},
        {"text": "Target on hydroxyurea"},  # no coding: still a type other than normal
    ],
)
def test_a_range_of_another_type_than_normal_does_not_judge_the_count(kind: Any) -> None:
    # the haematology clinic's target during hydroxyurea, sent before the lab's normal range
    target = lab_range("2.5", "4.0")
    target["type"] = kind
    ranges = [target, lab_range("4.0", "11.0")]
    observation, _ = judged(bundle("3.2", ranges, birth="1958-06-30"))
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]
    judged_with = explanation(observation)
    assert judged_with["rangeSource"] == "lab"
    assert judged_with["range"]["low"]["value"] == Decimal("4.0E+3")
    assert judged_with["ctcaeGrade"]["code"] == "C41338"  # 3,200 is below the lab's LLN 4,000


@pytest.mark.parametrize(
    "kind",
    [
        [{"coding": [{"system": MEANING, "code": "treatment"}]}],  # a list: R4 has one type
        {"coding": {"system": MEANING, "code": "treatment"}},  # a lone coding, not a list
        "treatment",
    ],
)
def test_a_range_whose_type_cannot_be_read_makes_the_observation_malformed(kind: Any) -> None:
    # read as no type, the clinic's target during hydroxyurea judged the count as its normal range
    target = lab_range("2.5", "4.0")
    target["type"] = kind
    conversion = leukoflag.convert(bundle("3.2", [target, lab_range("4.0", "11.0")], birth=None))
    assert conversion.findings == []
    (malformed,) = [i for i in conversion.issues if i.code == "fhir.observation-malformed"]
    assert malformed.location == "ITEM[1]/Bundle.entry[1].resource.referenceRange[0].type"
    assert malformed.text == (
        "referenceRange.type is not a CodeableConcept: this Observation is passed through "
        "unread and unflagged"
    )
    observation = conversion.bundles[0]["entry"][1]["resource"]
    assert observation["referenceRange"][0]["type"] == kind
    assert "interpretation" not in observation


@pytest.mark.parametrize("text", ["Normal", "normal range"])
def test_a_range_whose_type_says_normal_in_text_only_judges_the_count(text: str) -> None:
    entry = lab_range("4.0", "11.0")
    entry["type"] = {"text": text}
    observation, _ = judged(bundle("3.2", [entry], birth="1958-06-30"))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]


@pytest.mark.parametrize(
    "text",
    ["Reference range", "Reference Interval", "Normal reference range", "reference intervals"],
)
def test_a_range_whose_type_text_names_the_reference_range_judges_the_count(text: str) -> None:
    # an EHR export captions the lab's interval as its "Reference range": a WBC of 4,200 is within
    # the lab's 3.5-10.5, but the range was passed over without a word and judged L against the
    # default 4,500-11,000
    entry = lab_range("3.5", "10.5")
    entry["type"] = {"text": text}
    observation, issues = judged(bundle("4.2", [entry], birth="1971-05-02"))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("3.5E+3"), Decimal("1.05E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert observation["referenceRange"][0]["type"] == {"text": text}
    assert [i.code for i in issues] == []


@pytest.mark.parametrize(
    ("text", "label"),
    [("Adult reference range", "adults"), ("Pediatric normal range", "children")],
)
def test_a_range_whose_type_text_names_a_reference_range_for_adults_or_children_is_labelled(
    text: str, label: str
) -> None:
    # the lab's range captioned for adults and the one for children, as an EHR export sends
    # them: each was passed over for its type, and the default range judged both patients
    adults = lab_range("3.5", "10.5")
    adults["type"] = {"text": "Adult reference range"}
    children = lab_range("5.0", "14.5")
    children["type"] = {"text": "Pediatric normal range"}
    observation, issues = judged(bundle("4.2", [adults, children], birth="1971-05-02"))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("3.5E+3"), Decimal("1.05E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert [i.code for i in issues] == []
    observation, issues = judged(bundle("4.8", [adults, children], birth="2019-05-02"))
    assert normalized(observation) == [(Decimal("5.0E+3"), Decimal("1.45E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    # sent alone, each is labelled for its patients: not the other's range
    alone = adults if label == "adults" else children
    alone = {**alone, "type": {"text": text}}
    birth = "2019-05-02" if label == "adults" else "1971-05-02"
    observation, issues = judged(bundle("4.8", [alone], birth=birth))
    assert explanation(observation)["rangeSource"] != "lab"
    assert f"flag.lab-range-{label}" in [i.code for i in issues]


def test_a_range_sent_as_words_only_gives_way_to_the_labs_range_with_limits() -> None:
    # the LIS sends a caption before the numeric interval: judged with 4.0-11.0, not the default
    ranges = [{"text": "Adult reference interval"}, lab_range("4.0", "11.0")]
    observation, issues = judged(bundle("4.2", ranges, birth="1971-05-02"))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]
    assert observation["referenceRange"][0] == {"text": "Adult reference interval"}
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert not [i for i in issues if i.code == "flag.lab-range-unusable"]


def test_a_range_sent_as_words_only_is_still_reported_when_it_is_the_only_one() -> None:
    observation, issues = judged(bundle("4.2", [{"text": "see lab comment"}], birth="1971-05-02"))
    assert explanation(observation)["rangeSource"] == "default"
    (issue,) = [i for i in issues if i.code == "flag.lab-range-unusable"]
    assert "'see lab comment' is not used (no numeric limits were read from it)" in issue.text


def test_a_patients_own_range_sent_as_words_gives_way_to_a_range_with_limits() -> None:
    ranges = [
        {"text": "Men: see comment", "appliesTo": [MALE]},
        lab_range("4.0", "10.5", applies_to=[MALE]),
        lab_range("4.5", "11.0"),
    ]
    observation, _ = judged(bundle("4.2", ranges, birth="1971-05-02"))
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.05E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"


def _labelled(low: str, high: str, where: str, text: str) -> dict[str, Any]:
    """A range whose appliesTo or type is sent as text only (``Adults``, ``Pediatric``)."""
    entry = lab_range(low, high)
    entry[where] = [{"text": text}] if where == "appliesTo" else {"text": text}
    return entry


@pytest.mark.parametrize(("where", "text"), [("appliesTo", "Adults"), ("type", "adult")])
def test_a_range_for_adults_by_its_applies_to_or_type_text_judges_an_adult(
    where: str, text: str
) -> None:
    # never used: appliesTo 'Adults' could not be checked, type 'adult' was not a normal range;
    # the man's 10.5 was H against the default 5,000-10,000
    observation, issues = judged(
        bundle("10.5", [_labelled("4.0", "11.0", where, text)], birth="1971-05-02")
    )
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]
    assert not not_applicable(issues)


@pytest.mark.parametrize(("where", "text"), [("appliesTo", "Adults"), ("type", "adult")])
def test_a_range_for_adults_by_its_applies_to_or_type_text_does_not_judge_a_child(
    where: str, text: str
) -> None:
    observation, issues = judged(
        bundle("12.5", [_labelled("4.0", "11.0", where, text)], birth="2020-03-01")
    )
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"  # band 4,500-13,500
    assert explanation(observation)["rangeSource"] == "age-band"
    (issue,) = [i for i in issues if i.code == "flag.lab-range-adults"]
    assert issue.text.startswith(
        "the lab's reference range 4,000–11,000 cells/µL is for adults, and the patient (born "
        "2020-03-01) is under 18 on the result date 2026-11-20"
    )


@pytest.mark.parametrize(
    ("birth", "low", "high"),
    [
        ("2020-03-01", "5.0E+3", "1.50E+4"),
        ("1971-05-02", "4.0E+3", "1.10E+4"),
        (None, "4.0E+3", "1.10E+4"),
    ],
)
def test_of_ranges_for_adults_and_for_children_each_patient_gets_their_own(
    birth: str | None, low: str, high: str
) -> None:
    ranges = [
        _labelled("4.0", "11.0", "appliesTo", "Adult"),
        _labelled("5.0", "15.0", "appliesTo", "Pediatric"),
    ]
    observation, issues = judged(bundle("10.5", ranges, birth=birth))
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal(low), Decimal(high))]
    assert not [i for i in issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


# A lab's adult WBC ranges for men, for women, and for women of 60 and over
BY_SEX_AND_AGE = [
    lab_range("4.0", "10.0", applies_to=[MALE]),
    lab_range("4.5", "11.0", applies_to=[FEMALE]),
    lab_range("3.8", "10.5", ("60", None, "a"), applies_to=[FEMALE]),
]


@pytest.mark.parametrize(
    ("gender", "birth", "code", "source", "limits"),
    [
        # the most specific range the patient is known to belong to: at 65 the one for women
        # of 60 and over (the women's, sent first, judged her 4.2 L), at 30 the women's
        ("female", "1961-03-04", "N", "lab", (Decimal(3800), Decimal(10500))),
        ("female", "1996-05-05", "L", "lab", (Decimal(4500), Decimal(11000))),
        # neither sex, 30: the range for women of 60 and over is not theirs, left aside
        ("other", "1996-05-05", "N", "lab", (Decimal(4000), Decimal(11000))),
        # neither sex, 65: two ranges for women meet the age, which is whose is not known
        ("other", "1961-03-04", "L", "default", (Decimal(4500), Decimal(11000))),
    ],
)
def test_ranges_for_men_women_and_older_women_are_chosen_as_documented(
    gender: str, birth: str, code: str, source: str, limits: tuple[Decimal, Decimal]
) -> None:
    observation, issues = judged(bundle("4.2", BY_SEX_AND_AGE, birth=birth, gender=gender))
    assert observation["interpretation"][0]["coding"][0]["code"] == code
    parts = explanation(observation)
    assert parts["rangeSource"] == source
    assert (parts["range"]["low"]["value"], parts["range"]["high"]["value"]) == limits
    union = gender == "other" and source == "lab"
    assert len(sex_union(issues)) == union
    assert len(not_applicable(issues)) == (source == "default")


@pytest.mark.parametrize("reverse", [False, True])
def test_of_ranges_for_women_and_older_women_an_older_woman_gets_hers_in_either_order(
    reverse: bool,
) -> None:
    ranges = BY_SEX_AND_AGE[::-1] if reverse else BY_SEX_AND_AGE
    observation, issues = judged(bundle("4.2", ranges, birth="1961-03-04", gender="female"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert normalized(observation) == [(Decimal("3.8E+3"), Decimal("1.05E+4"))]
    assert not [i for i in issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


@pytest.mark.parametrize("reverse", [False, True])
def test_of_two_age_ranges_a_child_fits_the_narrower_judges_in_either_order(reverse: bool) -> None:
    # 0-18 a sent first judged a child of 3 with 4.5-13.5: 5.0 was N, L against the lab's 1-5 a
    ranges = [
        lab_range("4.5", "13.5", ("0", "18", "a")),
        lab_range("5.5", "15.5", ("1", "5", "a")),
    ]
    observation, issues = judged(
        bundle("5.0", ranges[::-1] if reverse else ranges, birth="2023-06-10")
    )
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("5.5E+3"), Decimal("1.55E+4"))]
    assert not not_applicable(issues)


def test_a_boy_is_judged_with_the_childrens_range_not_one_for_adult_men() -> None:
    # appliesTo [Adult, Male] fitted the boy by sex and was chosen: the age band judged him
    # (N against 4,500-13,500), the lab's own children's range sent beside it left aside
    ranges = [
        _labelled("4.0", "10.0", "appliesTo", "Adult"),
        _labelled("5.0", "15.0", "appliesTo", "Pediatric"),
    ]
    ranges[0]["appliesTo"].append(MALE)
    observation, issues = judged(bundle("4.6", ranges, birth="2020-03-01"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "L"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("5.0E+3"), Decimal("1.50E+4"))]
    assert not [i for i in issues if i.code.startswith(("flag.lab-range", "fhir.range"))]
    # a man gets the adult men's range, and a boy with no children's range the age band
    observation, _ = judged(bundle("4.6", ranges, birth="1971-05-02"))
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.00E+4"))]
    observation, issues = judged(bundle("4.6", ranges[:1], birth="2020-03-01"))
    assert explanation(observation)["rangeSource"] == "age-band"
    assert [i.code for i in issues if i.code.startswith("flag.lab-range")] == [
        "flag.lab-range-adults"
    ]


def test_a_range_for_everyone_without_label_judges_a_boy_before_one_for_adult_men() -> None:
    # FHIR: a range without appliesTo or age is the lab's for its whole population, children
    # included, as it is when sent alone; appliesTo [Adult, Male] is not the boy's (docs said
    # only a range labelled Pediatric took over)
    ranges = [_labelled("4.5", "10.0", "appliesTo", "Adult"), lab_range("4.0", "11.0")]
    ranges[0]["appliesTo"].append(MALE)
    for sent in (ranges, ranges[::-1], ranges[1:]):
        observation, issues = judged(bundle("12.0", sent, birth="2023-06-01"))
        assert observation["interpretation"][0]["coding"][0]["code"] == "H"
        assert explanation(observation)["rangeSource"] == "lab"
        assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]
        assert not [i for i in issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


# A neonatal unit's LIS: a band for the first 72 hours, then its range for everyone
NEONATAL = [lab_range("9.0", "30.0", ("0", "72", "h")), lab_range("4.0", "11.0")]


@pytest.mark.parametrize(
    ("birth", "code", "limits"),
    [
        # born the day before: 12.0 was H against the range for everyone, 4.0-11.0
        ("2026-11-19", "N", (Decimal("9.0E+3"), Decimal("3.00E+4"))),
        ("2026-11-18", "N", (Decimal("9.0E+3"), Decimal("3.00E+4"))),
        ("1971-05-02", "H", (Decimal("4.0E+3"), Decimal("1.10E+4"))),
    ],
)
def test_an_age_range_in_hours_judges_only_a_patient_known_to_be_of_those_hours(
    birth: str, code: str, limits: tuple[Decimal, Decimal]
) -> None:
    observation, issues = judged(bundle("12.0", NEONATAL, birth=birth))
    assert observation["interpretation"][0]["coding"][0]["code"] == code
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [limits]
    assert not not_applicable(issues)


def test_a_day_that_may_be_past_an_age_in_hours_does_not_meet_it() -> None:
    # born on the 17th, sampled on the 20th: 48 to 96 hours old, the dates tell no more
    observation, issues = judged(bundle("12.0", NEONATAL[:1], birth="2026-11-17"))
    assert explanation(observation)["rangeSource"] == "age-band"
    (issue,) = not_applicable(issues)
    assert (
        "(referenceRange[0] for ages 0 h-72 h, and the patient (born 2026-11-17) may not be of "
        "those ages on the result date 2026-11-20)"
    ) in issue.text


# A NICU's LIS: the first week's band, then the rest of the first month's
FIRST_WEEKS = [
    lab_range("9.0", "30.0", ("0", "6", "d")),
    lab_range("5.0", "19.5", ("7", "27", "d")),
]


@pytest.mark.parametrize(
    ("birth", "birth_time", "effective", "code", "limits"),
    [
        # born 23:30 -05:00 on the 17th, drawn 22:00 -05:00 on the 23rd (day 6) sent in UTC (the
        # 24th): the range of days 7-27 was chosen, 20.0 H above 19.5, for a first-week baby
        (
            "2026-11-17",
            "2026-11-17T23:30:00-05:00",
            "2026-11-24T03:00:00Z",
            "N",
            (Decimal("9.0E+3"), Decimal("3.00E+4")),
        ),
        # born 00:30 +01:00 on the 17th, drawn 00:30 +01:00 on the 24th (day 7) sent in UTC (the
        # 23rd): the first week's range was chosen, 20.0 N, for a baby of day 7
        (
            "2026-11-17",
            "2026-11-17T00:30:00+01:00",
            "2026-11-23T23:30:00Z",
            "H",
            (Decimal("5.0E+3"), Decimal("1.95E+4")),
        ),
    ],
)
def test_an_age_range_is_chosen_by_the_day_in_the_birth_times_offset_as_the_rules_count_it(
    birth: str, birth_time: str, effective: str, code: str, limits: tuple[Decimal, Decimal]
) -> None:
    data = bundle("20.0", FIRST_WEEKS, birth=birth, birth_time=birth_time, effective=effective)
    observation, issues = judged(data)
    assert observation["interpretation"][0]["coding"][0]["code"] == code
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [limits]
    assert not not_applicable(issues)


@pytest.mark.parametrize(
    ("birth", "birth_time", "effective", "why"),
    [
        # drawn at 07:00 on the day of a birth at 10:00
        (
            "2026-11-24",
            "2026-11-24T10:00:00-05:00",
            "2026-11-24T07:00:00-05:00",
            (
                "the birth time 2026-11-24T10:00:00-05:00 is after the result time "
                "2026-11-24T07:00:00-05:00"
            ),
        ),
        # drawn the day before the birth date
        (
            "2026-11-24",
            None,
            "2026-11-23T07:00:00-05:00",
            "the birth date 2026-11-24 is after the result date 2026-11-23",
        ),
    ],
)
def test_an_age_range_is_not_used_for_blood_drawn_before_the_birth(
    birth: str, birth_time: str | None, effective: str, why: str
) -> None:
    # the rules judge such a result of unknown age (adult rules), but the range of the first
    # year was chosen as if at day 0: 5.0 was L below 6.0
    ranges = [lab_range("6.0", "17.5", (None, "1", "a"))]
    data = bundle("5.0", ranges, birth=birth, birth_time=birth_time, effective=effective)
    observation, issues = judged(data)
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert explanation(observation)["rangeSource"] == "default"
    assert "flag.age-unknown" in [i.code for i in issues]
    (issue,) = not_applicable(issues)
    assert issue.text == (
        "none of the lab's reference ranges is known to be this patient's (referenceRange[0] "
        f"for ages up to 1 a, and {why}): judged with leukoflag's adult range, "
        "5,000–10,000 cells/µL, instead"
    )


def test_a_range_for_children_does_not_judge_blood_drawn_before_the_birth_time() -> None:
    # of ranges labelled for adults and for children, a result of unknown age (judged as an
    # adult) takes the adults': the children's was chosen as for a baby of day 0
    ranges = [
        {**lab_range("6.0", "17.5"), "appliesTo": [{"text": "Pediatric"}]},
        {**lab_range("4.0", "11.0"), "appliesTo": [{"text": "Adult"}]},
    ]
    data = bundle(
        "5.0",
        ranges,
        birth="2026-11-24",
        birth_time="2026-11-24T10:00:00-05:00",
        effective="2026-11-24T07:00:00-05:00",
    )
    observation, issues = judged(data)
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.10E+4"))]
    assert "flag.lab-range-children" not in [i.code for i in issues]


def _preschool(text: str) -> list[dict[str, Any]]:
    """A lab's range for ages 2-5 a, 5.0-14.5, beside a ``text`` listing its ranges per age."""
    return [{**lab_range("5.0", "14.5", ("2", "5", "a")), "text": text}]


@pytest.mark.parametrize(
    "text",
    [
        # the text's band of the patient's age gives the same limits
        "0-1 y: 6.0-17.5; 2-5 y: 5.0-14.5",
        # no band of the text is the patient's: the age element says whose the limits are
        "0-1 y: 6.0-17.5; 6-11 y: 4.5-13.5",
    ],
)
def test_a_range_for_an_age_the_patient_meets_is_used_beside_a_text_of_ranges_per_age(
    text: str,
) -> None:
    # refused ('which of them its own limits are is not known') though its age says it: a
    # WBC of 15.0 in a child of 3 was N by the age band, 5,500-15,500, not H above 14.5
    observation, issues = judged(bundle("15.0", _preschool(text), birth="2023-03-10"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "H"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("5.0E+3"), Decimal("1.45E+4"))]
    assert not [i for i in issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


def test_a_range_for_an_age_whose_text_gives_other_limits_for_the_patient_is_not_used() -> None:
    # the text gives 5.5-15.5 for the child's ages, the limits 5.0-14.5: which is theirs is not
    # known, so neither judges (the age band does)
    ranges = _preschool("0-1 y: 6.0-17.5; 2-5 y: 5.5-15.5")
    observation, issues = judged(bundle("15.0", ranges, birth="2023-03-10"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert explanation(observation)["rangeSource"] == "age-band"
    (issue,) = not_applicable(issues)
    assert issue.text == (
        "none of the lab's reference ranges is known to be this patient's (referenceRange[0] "
        "for ages 2 a-5 a, but its text gives '5.5-15.5' for the patient's ages '2-5 y', not "
        "its limits): judged with the age band, 5,500–15,500 cells/µL, instead"
    )


def test_flagging_a_range_for_an_age_beside_its_text_again_changes_nothing() -> None:
    # its limits are written in cells/µL, the lab's kept as translations: read back, they agree
    data = bundle("15.0", _preschool("0-1 y: 6.0-17.5; 2-5 y: 5.0-14.5"), birth="2023-03-10")
    (first,) = leukoflag.convert(data).bundles
    conversion = leukoflag.convert(fhir.dumps(first))
    (again,) = conversion.bundles
    assert again == first
    assert not [i for i in conversion.issues if i.code.startswith(("flag.lab-range", "fhir."))]


def neonatal_report(
    observation_extra: dict[str, Any],
    report_extra: dict[str, Any],
    collection: dict[str, Any] | None = None,
) -> bytes:
    """A NICU CBC: the DiagnosticReport names the Specimen, drawn 22:00 on day 6 (the 23rd), and
    the Observation (WBC 20.0, the first weeks' bands) names none of its own."""
    patient = {"resourceType": "Patient", "id": "nb-cot4", "gender": "female"}
    patient["birthDate"] = "2026-11-17"
    specimen = {
        "resourceType": "Specimen",
        "id": "heel-0411",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0487", "code": "BLD"}]
        },
        "collection": collection or {"collectedDateTime": "2026-11-23T22:00:00-05:00"},
    }
    observation = {
        "resourceType": "Observation",
        "id": "wbc-cot4",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "subject": {"reference": "Patient/nb-cot4"},
        "valueQuantity": quantity("20.0", "10*3/uL"),
        "referenceRange": FIRST_WEEKS,
        **observation_extra,
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-cot4",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": "Patient/nb-cot4"},
        "specimen": [{"reference": "Specimen/heel-0411"}],
        "result": [{"reference": "Observation/wbc-cot4"}],
        **report_extra,
    }
    resources = [patient, report, observation, specimen]
    entries = [
        {"fullUrl": f"https://fhir.example.org/{r['resourceType']}/{r['id']}", "resource": r}
        for r in resources
    ]
    return fhir.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


@pytest.mark.parametrize(
    ("observation_extra", "report_extra"),
    [
        # the report's effective is when it was resulted, on day 7: the rules take the drawing
        ({}, {"effectiveDateTime": "2026-11-24T08:15:00-05:00"}),
        # no effective anywhere, issued on day 7
        ({"issued": "2026-11-24T09:05:00-05:00"}, {}),
        # the Observation's Specimen is not in the Bundle: the report's is what the rules take
        ({"issued": "2026-11-24T09:05:00-05:00", "specimen": {"reference": "Specimen/lost-7"}}, {}),
    ],
)
def test_an_age_range_is_chosen_by_the_report_specimens_collection_as_the_rules_date_it(
    observation_extra: dict[str, Any], report_extra: dict[str, Any]
) -> None:
    # drawn on day 6: the first week's 9.0-30.0, where 20.0 is N (was 7-27 d's 5.0-19.5, H)
    observation, issues = judged_report(neonatal_report(observation_extra, report_extra))
    assert normalized(observation) == [(Decimal("9.0E+3"), Decimal("3.00E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert explanation(observation)["rangeSource"] == "lab"
    assert not not_applicable(issues)


def judged_report(data: bytes) -> tuple[dict[str, Any], list[leukoflag.Issue]]:
    conversion = leukoflag.convert(data)
    assert not conversion.rejected
    (output,) = conversion.bundles
    (observation,) = [
        e["resource"] for e in output["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    return observation, list(conversion.issues)


@pytest.mark.parametrize(
    ("ranges", "index", "why"),
    [
        # the lab's one range, in a unit not for a count: refused at the range, not the Observation
        (
            [{"low": quantity("4.0", "mmol/L"), "high": quantity("11.0", "mmol/L")}],
            0,
            "mmol/L",
        ),
        # the band of the patient's age chosen of two, its text noting other ages
        (
            [
                lab_range("9.0", "30.0", ("0", "6", "d")),
                {**lab_range("5.0", "19.5", ("7", "27", "d")), "text": "5.0-19.5 (3-12 mo)"},
            ],
            1,
            "it is for ages '3-12 mo'",
        ),
    ],
)
def test_a_refused_lab_range_is_located_at_its_reference_range_element(
    ranges: list[dict[str, Any]], index: int, why: str
) -> None:
    data = bundle("12.0", ranges, birth="2026-11-10", effective="2026-11-20T07:45:00-05:00")
    observation, issues = judged(data)
    assert explanation(observation)["rangeSource"] == "age-band"  # a neonate: leukoflag's band
    (issue,) = [i for i in issues if i.code == "flag.lab-range-unusable"]
    assert issue.location == f"ITEM[1]/Bundle.entry[1].resource.referenceRange[{index}]"
    assert why in issue.text


def test_a_specimen_collected_over_a_period_sent_with_its_end_only_dates_the_result() -> None:
    # a heel prick logged when it ended: was not read, and the neonate judged as an adult
    # (flag.age-unknown, the result has no date) with the adult range, 20.0 H
    collection = {"collectedPeriod": {"end": "2026-11-23T22:05:00-05:00"}}
    observation, issues = judged_report(neonatal_report({}, {}, collection))
    assert normalized(observation) == [(Decimal("9.0E+3"), Decimal("3.00E+4"))]
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert [i.code for i in issues if i.code.startswith("flag.age-")] == []


def test_an_unreadable_collection_period_start_is_located_at_it() -> None:
    # was located at collection.collectedDateTime, an element the Specimen does not have
    collection = {"collectedPeriod": {"start": "23/11/2026 22:00"}}
    _, issues = judged_report(neonatal_report({}, {}, collection))
    (issue,) = [i for i in issues if i.code == "fhir.timestamp-invalid"]
    assert issue.location == "ITEM[1]/Bundle.entry[3].resource.collection.collectedPeriod.start"
    assert issue.text == "'23/11/2026 22:00' is not a FHIR date/dateTime; not used"


@pytest.mark.parametrize(
    ("ranges", "birth"),
    [
        # 17 months: past the end of "0-1 a" (1.42 a is not in the Range 0-1 a), in "1-5 a"
        (
            [lab_range("6.0", "17.5", ("0", "1", "a")), lab_range("5.0", "15.0", ("1", "5", "a"))],
            "2025-06-15",
        ),
        # the first birthday itself: the band that starts there
        (
            [lab_range("6.0", "17.5", ("0", "1", "a")), lab_range("5.0", "15.0", ("1", "5", "a"))],
            "2025-11-20",
        ),
        # the bands meet at one age written in two units (12 mo is 1 a)
        (
            [
                lab_range("6.0", "17.5", ("3", "12", "mo")),
                lab_range("5.0", "15.0", ("1", "5", "a")),
            ],
            "2025-11-01",
        ),
    ],
)
@pytest.mark.parametrize("reverse", [False, True])
def test_of_age_ranges_that_meet_at_an_age_a_child_of_that_age_is_judged_by_the_later(
    ranges: list[dict[str, Any]], birth: str, reverse: bool
) -> None:
    # A lab's bands "0-1 a" and "1-5 a" meet at 1 year: a child of 17 months was judged
    # silently by the infants' 6.0-17.5 (the narrower span when 0-1 a is read in completed
    # years), so a WBC of 16.0 was N, though it is H against the band of their age, 5.0-15.0
    observation, issues = judged(bundle("16.0", ranges[::-1] if reverse else ranges, birth=birth))
    assert observation["interpretation"][0]["coding"][0]["code"] == "H"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("5.0E+3"), Decimal("1.50E+4"))]
    assert not [i for i in issues if i.code.startswith(("flag.lab-range", "fhir.range"))]


def test_of_age_ranges_that_meet_at_an_age_a_child_before_it_keeps_the_earlier() -> None:
    # 11 months: "0-1 a" only (the child has not reached "1-5 a")
    ranges = [lab_range("6.0", "17.5", ("0", "1", "a")), lab_range("5.0", "15.0", ("1", "5", "a"))]
    observation, _ = judged(bundle("16.0", ranges, birth="2025-12-20"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "N"
    assert normalized(observation) == [(Decimal("6.0E+3"), Decimal("1.75E+4"))]


def test_of_age_ranges_that_meet_at_an_age_neither_judges_a_birth_year_spanning_both() -> None:
    # born in 2025: 10 to 22 months old on 2026-11-20, of "0-1 a" or of "1-5 a": "0-1 a" judged
    ranges = [lab_range("6.0", "17.5", ("0", "1", "a")), lab_range("5.0", "15.0", ("1", "5", "a"))]
    observation, issues = judged(bundle("16.0", ranges, birth="2025"))
    assert explanation(observation)["rangeSource"] == "age-band"
    (issue,) = not_applicable(issues)
    assert (
        "[0] for ages 0 a-1 a, and the patient (born 2025-01-01 to 2025-12-31) may not be of "
        "those ages on the result date 2026-11-20" in issue.text
    )


def test_ranges_per_sex_coded_under_the_snomed_oid_judge_each_sex() -> None:
    # SNOMED CT sent as its OID 2.16.840.1.113883.6.96 (as C-CDA to FHIR converters write it):
    # still SNOMED's Female and Male, so a woman's 10.5 is H against the lab's 4.0-10.0 for women
    oid = "urn:oid:2.16.840.1.113883.6.96"
    women = {"coding": [{"system": oid, "code": "248152002", "display": "Female"}]}
    men = {"coding": [{"system": oid, "code": "248153007", "display": "Male"}]}
    ranges = [
        lab_range("4.0", "10.0", applies_to=[women]),
        lab_range("4.5", "11.5", applies_to=[men]),
    ]
    observation, issues = judged(bundle("10.5", ranges, birth="1980-01-09", gender="female"))
    assert observation["interpretation"][0]["coding"][0]["code"] == "H"
    assert explanation(observation)["rangeSource"] == "lab"
    assert normalized(observation) == [(Decimal("4.0E+3"), Decimal("1.00E+4"))]
    assert not not_applicable(issues)
