"""A patient without a birth date whose order sends their age as a result (LOINC 30525-0, an
ask-at-order-entry answer) is judged at that age, not as an adult (flag.age-from-result)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import leukoflag
from leukoflag import fhir

_TIME = "20261124080500-0500"


def _cbc(pid7: str, age: str, unit: str, *results: str) -> str:
    """An ORU^R01 of a patient born ``pid7`` whose order sends ``age`` ``unit`` as OBX-1."""
    segments = [
        "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261124091047-0500||ORU^R01^ORU_R01|NG24-000311|P|2.5.1",
        f"PID|1||MRN200417^^^NORTHGATE^MR||ADEYEMI^TOBI||{pid7}|M",
        "ORC|RE|ORD60112^EHR|LAB90214^CORELAB||CM",
        (
            "OBR|1|ORD60112^EHR|LAB90214^CORELAB|58410-2^CBC panel - Blood by Automated count^LN"
            f"|||{_TIME}||||||||||||||20261124090500-0500|||F"
        ),
        f"OBX|1|NM|30525-0^Age^LN||{age}|{unit}|||||F|||{_TIME}",
    ]
    segments += [f"OBX|{n}|NM|{r}|||||F|||{_TIME}" for n, r in enumerate(results, start=2)]
    return "\r".join(segments) + "\r"


_WBC = "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.2|10*3/uL^^UCUM"
_ANC = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN||1.2|10*3/uL^^UCUM"


def _findings(message: str) -> dict[str, leukoflag.Finding]:
    return {f.analyte.value: f for f in leukoflag.convert(message).findings}


def test_a_two_year_olds_wbc_is_judged_by_the_age_sent_in_obx() -> None:
    # 5,200 is N for a man (5,000-10,000) but below the band of 2 to 4 years (5,500-15,500)
    conversion = leukoflag.convert(_cbc("", "2", "a^year^UCUM", _WBC))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule, finding.threshold) == (
        "L",
        "wbc-leukopenia-pediatric",
        Decimal(5500),
    )
    assert finding.range is not None
    assert finding.range.source == "age-band"
    codes = {issue.code for issue in conversion.issues}
    assert "flag.age-unknown" not in codes
    (said,) = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert said.location == "MSG[1]/OBX[2]"
    assert "'2' 'a' sent in MSG[1]/OBX[1]" in said.text
    assert "2023-11-25 to 2024-11-24" in said.text


def test_a_neonates_anc_is_judged_by_the_first_week_threshold_from_an_age_in_days() -> None:
    findings = _findings(_cbc("", "3", "d^day^UCUM", _ANC))
    anc = findings["anc"]
    assert (anc.code, anc.rule, anc.threshold) == ("L", "anc-neutropenia-first-week", Decimal(5000))


def test_an_age_of_under_one_year_leaves_a_count_the_bands_disagree_on_unjudged() -> None:
    conversion = leukoflag.convert(_cbc("", "0", "a", _WBC))
    assert list(conversion.findings) == []
    (undecided,) = [i for i in conversion.issues if i.code == "flag.age-imprecise"]
    assert "the age '0' 'a' sent in MSG[1]/OBX[1]" in undecided.text
    assert "2025-11-25 to 2026-11-24" in undecided.text


def test_the_birth_date_sent_in_pid_wins_over_the_age_result() -> None:
    findings = _findings(_cbc("19800615", "2", "a", _WBC))
    assert (findings["wbc"].code, findings["wbc"].rule) == ("N", "wbc-within-range")


def test_an_age_result_that_contradicts_the_birth_date_is_said() -> None:
    # PID-7 makes a 5-month-old (ANC 1,200 judged by the infant band), the order says 40 years
    # (1,200 is below the adult 1,500): one of them is wrong, and the reader must be told
    conversion = leukoflag.convert(_cbc("20260601", "40", "a^year^UCUM", _ANC))
    (said,) = [i for i in conversion.issues if i.code == "flag.age-result-disagrees"]
    assert said.severity is leukoflag.Severity.WARNING
    assert said.location == "MSG[1]/OBX[1]"
    assert "'40' 'a'" in said.text
    assert "1985-11-25 to 1986-11-24" in said.text
    assert "2026-06-01" in said.text
    assert "judged by the birth date sent" in said.text


def test_an_age_result_that_agrees_with_the_birth_date_says_nothing() -> None:
    # born 2024-06-15, 2 years old on 2026-11-24
    conversion = leukoflag.convert(_cbc("20240615", "2", "a", _WBC))
    codes = {issue.code for issue in conversion.issues}
    assert "flag.age-result-disagrees" not in codes
    assert "flag.age-from-result" not in codes


@pytest.mark.parametrize(("age", "unit"), [("2.5", "a"), ("2", "Y"), ("<2", "a")])
def test_an_age_that_gives_no_span_dates_nothing(age: str, unit: str) -> None:
    conversion = leukoflag.convert(_cbc("", age, unit, _WBC))
    codes = {issue.code for issue in conversion.issues}
    assert "flag.age-unknown" in codes
    assert "flag.age-from-result" not in codes


def test_a_fhir_age_observation_dates_a_patient_without_birth_date() -> None:
    def quantity(value: float, unit: str) -> dict[str, object]:
        return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}

    def observation(ident: str, loinc: str, value: dict[str, object]) -> dict[str, object]:
        return {
            "resourceType": "Observation",
            "id": ident,
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-11-24T07:50:00+01:00",
            "valueQuantity": value,
        }

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female"}},
            {"resource": observation("age", "30525-0", quantity(2, "a"))},
            {"resource": observation("wbc", "6690-2", quantity(5.2, "10*3/uL"))},
        ],
    }
    (finding,) = leukoflag.convert(json.dumps(bundle)).findings
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")


@pytest.mark.parametrize("unit", ["Y^Years^L", "years", "YRS", "^year"])
def test_an_age_in_years_spelled_in_words_is_read(unit: str) -> None:
    findings = _findings(_cbc("", "2", unit, _WBC))
    assert (findings["wbc"].code, findings["wbc"].rule) == ("L", "wbc-leukopenia-pediatric")


def test_an_age_sent_in_another_obr_of_the_patient_dates_the_counts() -> None:
    # the ask-at-order-entry age under the CBC's OBR, the differential under its own OBR
    message = _cbc("", "3", "d^day^UCUM", _WBC.replace("5.2", "12.0")) + "\r".join(
        [
            "ORC|RE|ORD60113^EHR|LAB90215^CORELAB||CM",
            (
                "OBR|2|ORD60113^EHR|LAB90215^CORELAB|57021-8^CBC W Auto Differential panel^LN"
                f"|||{_TIME}||||||||||||||20261124090500-0500|||F"
            ),
            f"OBX|1|NM|751-8^Neutrophils [#/volume] in Blood^LN||3.1|10*3/uL^^UCUM|||||F|||{_TIME}",
        ]
    )
    conversion = leukoflag.convert(message + "\r")
    anc = {f.analyte.value: f for f in conversion.findings}["anc"]
    # 3,100 is N for an adult (1,500) but below the first week's 5,000
    assert (anc.code, anc.rule) == ("L", "anc-neutropenia-first-week")
    said = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert {i.location for i in said} == {"MSG[1]/OBX[2]", "MSG[1]/OBX[3]"}
    assert all("sent in MSG[1]/OBX[1]" in i.text for i in said)
    assert "flag.age-unknown" not in {i.code for i in conversion.issues}


@pytest.mark.parametrize("pid7", ["19000101", "20301010"])
def test_an_age_result_dates_a_patient_whose_birth_date_gives_no_age(pid7: str) -> None:
    # a feed's placeholder birth date (or one after the result) gives no age: the age sent
    # in the order does, as when PID-7 is empty
    conversion = leukoflag.convert(_cbc(pid7, "2", "a^year^UCUM", _WBC))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    (said,) = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert "2023-11-25 to 2024-11-24" in said.text
    codes = {issue.code for issue in conversion.issues}
    assert "flag.age-result-disagrees" not in codes


@pytest.mark.parametrize(
    ("age", "unit", "status", "why"),
    [
        ("2.5", "a", "F", "'2.5' 'a' sent in MSG[1]/OBX[1] (LOINC 30525-0) is not a whole number"),
        (
            "2",
            "Y",
            "F",
            (
                "'2' 'Y' sent in MSG[1]/OBX[1] (LOINC 30525-0) is in a unit that is not read "
                "as an age"
            ),
        ),
        (">89", "a", "F", "'>89' 'a' sent in MSG[1]/OBX[1] (LOINC 30525-0) is a bound"),
        (
            "2",
            "a",
            "X",
            "'2' 'a' sent in MSG[1]/OBX[1] (LOINC 30525-0) has the status cancelled",
        ),
    ],
)
def test_an_age_result_not_used_is_named_by_flag_age_unknown(
    age: str, unit: str, status: str, why: str
) -> None:
    message = _cbc("", age, unit, _WBC).replace(f"|{unit}|||||F|", f"|{unit}|||||{status}|")
    conversion = leukoflag.convert(message)
    (said,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert said.location == "MSG[1]/OBX[2]"
    assert said.text == (
        f"the patient's birth date is not known, and the age {why}: judged with adult ranges "
        "and thresholds"
    )


def _ages_then_wbc(pid7: str, *ages: tuple[str, str]) -> str:
    """An ORU^R01 of a patient born ``pid7`` whose order sends each (age in years, OBX-11) in
    turn, then a WBC of 5,200 cells/µL."""
    head = _cbc(pid7, "", "a")
    head = head[: head.index("OBX|1|")]
    obx = [
        f"OBX|{n}|NM|30525-0^Age^LN||{age}|a|||||{status}|||{_TIME}"
        for n, (age, status) in enumerate(ages, start=1)
    ]
    obx.append(f"OBX|{len(ages) + 1}|NM|{_WBC}|||||F|||{_TIME}")
    return head + "\r".join(obx) + "\r"


def test_an_age_corrected_later_in_the_order_dates_the_birth_by_the_correction() -> None:
    # OBX|1 '40' 'a' F, then OBX|2 '2' 'a' C: the lab corrected the age to 2 years; 5,200 is
    # below the band of 2 to 4 years (5,500), so the child's low count must not be judged N
    conversion = leukoflag.convert(_ages_then_wbc("", ("40", "F"), ("2", "C")))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    (said,) = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert "'2' 'a' sent in MSG[1]/OBX[2]" in said.text
    assert "flag.age-unknown" not in {i.code for i in conversion.issues}


def test_an_age_deleted_later_in_the_order_dates_nothing() -> None:
    # OBX|1 '2' 'a' F, then OBX|2 with OBX-11 D (deletes it): the patient's age is not known
    conversion = leukoflag.convert(_ages_then_wbc("", ("2", "F"), ("", "D")))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("N", "wbc-within-range")
    (unknown,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert "MSG[1]/OBX[2] (LOINC 30525-0) has the status entered-in-error" in unknown.text
    assert "flag.age-from-result" not in {i.code for i in conversion.issues}


def test_an_age_corrected_to_agree_with_the_birth_date_is_not_said_to_disagree() -> None:
    # PID-7 1986-01-01; OBX|1 '2' 'a' F corrected by OBX|2 '40' 'a' C: the age standing agrees
    conversion = leukoflag.convert(_ages_then_wbc("19860101", ("2", "F"), ("40", "C")))
    assert "flag.age-result-disagrees" not in {i.code for i in conversion.issues}
    (finding,) = conversion.findings
    assert finding.code == "N"


# ANC of 3,000 cells/µL: below the first week's 5,000 (L), above the 1,000 of the rest of the
# first year (N). 160 hours is 6 days and 16 hours: the first week; 170 hours is past it.
_ANC_3000 = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN||3.0|10*3/uL^^UCUM"


@pytest.mark.parametrize("unit", ["h^hours^UCUM", "hr", "hours", "HRS"])
def test_a_newborns_age_in_hours_dates_the_birth(unit: str) -> None:
    conversion = leukoflag.convert(_cbc("", "36", unit, _ANC_3000))
    anc = {f.analyte.value: f for f in conversion.findings}["anc"]
    assert (anc.code, anc.rule, anc.threshold) == ("L", "anc-neutropenia-first-week", Decimal(5000))
    codes = {issue.code for issue in conversion.issues}
    assert "flag.age-unknown" not in codes
    (said,) = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert "'36'" in said.text
    assert "2026-11-23" in said.text


def test_an_age_of_160_hours_is_in_the_first_week_even_past_seven_calendar_days() -> None:
    # drawn 2026-11-24 08:05: 160 hours before is 2026-11-17 16:05, seven calendar days, but
    # six days and sixteen hours of life
    findings = _findings(_cbc("", "160", "h^hours^UCUM", _ANC_3000))
    anc = findings["anc"]
    assert (anc.code, anc.rule, anc.threshold) == ("L", "anc-neutropenia-first-week", Decimal(5000))


def test_an_age_of_170_hours_is_past_the_first_week() -> None:
    findings = _findings(_cbc("", "170", "h^hours^UCUM", _ANC_3000))
    assert findings["anc"].code == "N"
    assert findings["anc"].rule != "anc-neutropenia-first-week"


def test_an_adults_low_count_is_not_hidden_by_an_age_in_hours_beside_the_birth_date() -> None:
    conversion = leukoflag.convert(_cbc("19800615", "36", "h", _ANC))
    anc = {f.analyte.value: f for f in conversion.findings}["anc"]
    assert anc.code == "L"
    (said,) = [i for i in conversion.issues if i.code == "flag.age-result-disagrees"]
    assert said.location == "MSG[1]/OBX[1]"


def test_a_fraction_of_an_hour_dates_nothing() -> None:
    conversion = leukoflag.convert(_cbc("", "36.5", "h", _ANC_3000))
    (unknown,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert "'36.5' 'h' sent in MSG[1]/OBX[1] (LOINC 30525-0) is not a whole number" in unknown.text


def test_an_age_in_hours_agrees_with_the_birth_date_of_its_hours_not_of_its_whole_days() -> None:
    # 36 hours before 2026-11-24 08:05-05:00 is 2026-11-22 20:05: born on the 22nd
    agrees = leukoflag.convert(_cbc("20261122", "36", "h^hours^UCUM", _ANC_3000))
    assert "flag.age-result-disagrees" not in {i.code for i in agrees.issues}
    disagrees = leukoflag.convert(_cbc("20261123", "36", "h^hours^UCUM", _ANC_3000))
    (said,) = [i for i in disagrees.issues if i.code == "flag.age-result-disagrees"]
    assert "2026-11-22 to 2026-11-22" in said.text
    assert said.location == "MSG[1]/OBX[1]"


def test_an_age_in_hours_of_a_day_only_result_time_allows_that_days_window() -> None:
    message = _cbc("20261121", "36", "h", _ANC_3000).replace(_TIME, "20261124")
    (said,) = [i for i in leukoflag.convert(message).issues if "age-result" in i.code]
    assert said.code == "flag.age-result-disagrees"
    # from 37 hours before 2026-11-24 00:00 to 36 before its end
    assert "2026-11-22 to 2026-11-23" in said.text


def test_an_age_in_hours_is_read_back_from_the_bundle() -> None:
    first = leukoflag.convert(_cbc("", "160", "h^hours^UCUM", _ANC_3000))
    bundle = fhir.dumps(first.bundles[0])
    again = leukoflag.convert(bundle)
    assert [(f.analyte, f.code, f.rule) for f in again.findings] == [
        (f.analyte, f.code, f.rule) for f in first.findings
    ]
    assert first.findings[0].rule == "anc-neutropenia-first-week"


def _age_then_cbc(pid7: str, age: str, unit: str, count: str) -> str:
    """An ORU^R01 whose first OBR holds only the patient's age (an ask-at-order-entry answer)
    and whose second OBR holds the count."""
    segments = [
        "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261124091047-0500||ORU^R01^ORU_R01|NG24-000312|P|2.5.1",
        f"PID|1||MRN200418^^^NORTHGATE^MR||OKAFOR^ADA||{pid7}|F",
        "ORC|RE|ORD60120^EHR|LAB90220^CORELAB||CM",
        f"OBR|1|ORD60120^EHR|LAB90220^CORELAB|30525-0^Age^LN|||{_TIME}||||||||||||||20261124090500-0500|||F",
        f"OBX|1|NM|30525-0^Age^LN||{age}|{unit}|||||F|||{_TIME}",
        "ORC|RE|ORD60121^EHR|LAB90221^CORELAB||CM",
        (
            "OBR|2|ORD60121^EHR|LAB90221^CORELAB|58410-2^CBC panel - Blood by Automated count^LN"
            f"|||{_TIME}||||||||||||||20261124090500-0500|||F"
        ),
        f"OBX|1|NM|{count}|||||F|||{_TIME}",
    ]
    return "\r".join(segments) + "\r"


def test_an_age_in_another_order_that_contradicts_the_birth_date_is_said() -> None:
    # PID-7 makes a 5-month-old (an ANC of 1,200 judged by the infant band, N); the age under
    # the first OBR says 40 years (1,200 is below the adult 1,500): one of them is wrong
    conversion = leukoflag.convert(_age_then_cbc("20260601", "40", "a^year^UCUM", _ANC))
    (said,) = [i for i in conversion.issues if i.code == "flag.age-result-disagrees"]
    assert said.location == "MSG[1]/OBX[1]"
    assert "the age '40' 'a' sent in MSG[1]/OBX[1]" in said.text
    assert "the birth date sent is 2026-06-01" in said.text
    # read back from the Bundle: the same verdict
    (bundle,) = conversion.bundles
    again = leukoflag.convert(fhir.dumps(bundle))
    assert [i.code for i in again.issues if i.code == "flag.age-result-disagrees"] == [
        "flag.age-result-disagrees"
    ]


def test_an_age_in_another_order_that_agrees_with_the_birth_date_is_not_said() -> None:
    conversion = leukoflag.convert(_age_then_cbc("19800615", "46", "a^year^UCUM", _ANC))
    assert "flag.age-result-disagrees" not in {i.code for i in conversion.issues}
    (anc,) = conversion.findings
    assert anc.code == "L"  # an adult's 1,200: the birth date sent judges it


def test_an_age_in_another_order_is_said_once_when_both_orders_hold_counts() -> None:
    message = _age_then_cbc("20260601", "40", "a", _ANC).replace(
        "F|||20261124080500-0500\rORC|",
        f"F|||{_TIME}\rOBX|2|NM|{_WBC}|||||F|||{_TIME}\rORC|",
        1,
    )
    conversion = leukoflag.convert(message)
    assert len(conversion.findings) == 2
    said = [i for i in conversion.issues if i.code == "flag.age-result-disagrees"]
    assert [i.location for i in said] == ["MSG[1]/OBX[1]"]


@pytest.mark.parametrize("pid7", ["19000101", "20301010"])
def test_an_age_in_another_order_dates_a_patient_whose_birth_date_gives_no_age(pid7: str) -> None:
    # a placeholder birth date (or one after the result) is as none: the age sent under the
    # first OBR dates the 2-year-old, whose WBC of 5,200 is below the band of 2 to 4 years
    conversion = leukoflag.convert(_age_then_cbc(pid7, "2", "a^year^UCUM", _WBC))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    (said,) = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert "sent in MSG[1]/OBX[1]" in said.text
    codes = {issue.code for issue in conversion.issues}
    assert not codes & {"flag.age-unknown", "flag.age-result-disagrees"}


def _reported(message: str) -> str:
    """``message`` with its age sent as LOINC 21612-7 (Age - Reported) instead of 30525-0."""
    return message.replace("30525-0^Age^LN", "21612-7^Age - Reported^LN")


def test_a_two_year_olds_wbc_is_judged_by_an_age_sent_as_loinc_21612_7() -> None:
    # 5,200 is N for a man but below the band of 2 to 4 years (5,500-15,500): an age reported
    # (21612-7) dates the patient as the age (30525-0) does, not as an adult
    conversion = leukoflag.convert(_reported(_cbc("", "2", "a^year^UCUM", _WBC)))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule, finding.threshold) == (
        "L",
        "wbc-leukopenia-pediatric",
        Decimal(5500),
    )
    codes = {issue.code for issue in conversion.issues}
    assert "flag.age-unknown" not in codes
    (said,) = [i for i in conversion.issues if i.code == "flag.age-from-result"]
    assert "'2' 'a' sent in MSG[1]/OBX[1] (LOINC 21612-7)" in said.text
    assert "2023-11-25 to 2024-11-24" in said.text
    again = leukoflag.convert(fhir.dumps(conversion.bundles[0]))
    assert [(f.code, f.rule) for f in again.findings] == [("L", "wbc-leukopenia-pediatric")]


def test_an_age_sent_as_loinc_21612_7_that_contradicts_the_birth_date_is_said() -> None:
    conversion = leukoflag.convert(_reported(_cbc("20260601", "40", "a^year^UCUM", _ANC)))
    (said,) = [i for i in conversion.issues if i.code == "flag.age-result-disagrees"]
    assert said.location == "MSG[1]/OBX[1]"
    assert "'40' 'a'" in said.text
    assert "1985-11-25 to 1986-11-24" in said.text


def test_an_age_sent_as_loinc_21612_7_that_gives_no_span_is_named_by_flag_age_unknown() -> None:
    conversion = leukoflag.convert(_reported(_cbc("", "2.5", "a", _WBC)))
    (unknown,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert "'2.5' 'a' sent in MSG[1]/OBX[1] (LOINC 21612-7) is not a whole number" in unknown.text
