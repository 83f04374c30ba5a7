"""Age bands by calendar age on the result day: each band edge, the day before and the day of."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.flagging._rules import load_rules
from leukoflag.model import PatientContext
from leukoflag.testing import builders
from leukoflag.testing.builders import oru_message

from .build import ANC, WBC, born, code_of, issue_codes, one, range_of, result, specimen

BIRTH = "2025-01-15"


def judged(
    code: str, value: str, day: str, birth: str = BIRTH, sex: str = "female"
) -> tuple[str, str, str]:
    evaluation = one(result(value, code=code, day=day), context=born(birth, sex))
    finding = evaluation.finding
    assert finding is not None
    return finding.code, finding.rule, range_of(evaluation).source


@pytest.mark.parametrize(
    ("day", "value", "expected"),
    [
        # birth to 1 month: 9,000-30,000; from 1 month: 5,000-19,500
        ("2025-02-14", "8000", ("L", "wbc-leukopenia-pediatric", "age-band")),
        ("2025-02-15", "8000", ("N", "wbc-within-range", "age-band")),
        # 1-3 months low 5,000; 3-12 months low 6,000
        ("2025-04-14", "5500", ("N", "wbc-within-range", "age-band")),
        ("2025-04-15", "5500", ("L", "wbc-leukopenia-pediatric", "age-band")),
    ],
)
def test_wbc_band_edges_at_one_and_three_months(
    day: str, value: str, expected: tuple[str, str, str]
) -> None:
    assert judged(WBC, value, day) == expected


@pytest.mark.parametrize(
    ("day", "value", "code"),
    [
        ("2026-01-14", "17200", "N"),  # 3-12 months: high 17,500
        ("2026-01-15", "17200", "H"),  # 1-2 years: high 17,000
        ("2027-01-14", "5800", "L"),  # 1-2 years: low 6,000
        ("2027-01-15", "5800", "N"),  # 2-4 years: low 5,500
        ("2029-01-14", "5000", "L"),  # 2-4 years: low 5,500
        ("2029-01-15", "5000", "N"),  # 4-10 years: low 4,500
        ("2035-01-14", "12000", "N"),  # 4-10 years: high 13,500
        ("2035-01-15", "12000", "H"),  # 10-18 years: high 11,100
    ],
)
def test_wbc_band_edges_in_years(day: str, value: str, code: str) -> None:
    assert judged(WBC, value, day)[0] == code


def test_eighteenth_birthday_switches_to_adult_default() -> None:
    # 10-18 years: 4,500-11,100 for everyone; adult men: 5,000-10,000.
    before = judged(WBC, "10500", "2043-01-14", sex="male")
    on = judged(WBC, "10500", "2043-01-15", sex="male")
    assert before == ("N", "wbc-within-range", "age-band")
    assert on == ("H", "wbc-above-range", "default")


def test_pediatric_leukopenia_uses_the_band_low_limit_until_18() -> None:
    assert judged(WBC, "4200", "2043-01-14")[:2] == ("L", "wbc-leukopenia-pediatric")
    assert judged(WBC, "4200", "2043-01-15")[:2] == ("L", "wbc-below-range")


@pytest.mark.parametrize(
    ("day", "value", "expected"),
    [
        # first week of life: neutropenia below 5,000
        ("2025-01-21", "4999", ("L", "anc-neutropenia-first-week", "age-band")),
        ("2025-01-21", "5000", ("N", "anc-within-range", "age-band")),
        ("2025-01-22", "4999", ("N", "anc-within-range", "age-band")),
        # from day 7 to 1 year: below 1,000
        ("2025-01-22", "999", ("LU", "anc-significantly-low", "age-band")),
        ("2025-01-22", "1000", ("N", "anc-within-range", "age-band")),
        # 1 month: high 20,000 → 9,000
        ("2025-02-14", "10000", ("N", "anc-within-range", "age-band")),
        ("2025-02-15", "10000", ("H", "anc-above-range", "age-band")),
        # 3 months: high 9,000 → 8,500
        ("2025-04-14", "8700", ("N", "anc-within-range", "age-band")),
        ("2025-04-15", "8700", ("H", "anc-above-range", "age-band")),
        # 1 year: neutropenia below 1,000 → below 1,500
        ("2026-01-14", "1200", ("N", "anc-within-range", "age-band")),
        ("2026-01-15", "1200", ("L", "anc-neutropenia", "age-band")),
        # 5 years: low 1,500 → 1,700
        ("2030-01-14", "1600", ("N", "anc-within-range", "age-band")),
        ("2030-01-15", "1600", ("L", "anc-below-range", "age-band")),
        # 18 years: 1,700-7,500 → adult (no upper limit)
        ("2043-01-14", "8000", ("H", "anc-above-range", "age-band")),
        ("2043-01-15", "8000", ("N", "anc-within-range", "default")),
    ],
)
def test_anc_band_and_threshold_edges(day: str, value: str, expected: tuple[str, str, str]) -> None:
    assert judged(ANC, value, day) == expected


def test_first_week_neutropenia_gives_finding_without_severity() -> None:
    evaluation = one(result("3000", code=ANC, day="2025-01-18"), context=born(BIRTH))
    finding = evaluation.finding
    assert finding is not None
    assert finding.condition is not None
    assert finding.condition.code == "165517008"
    assert finding.severity == ""


def test_birth_day_itself_is_age_zero() -> None:
    assert judged(WBC, "8000", BIRTH)[:2] == ("L", "wbc-leukopenia-pediatric")


def test_leap_day_birthday_is_reached_on_28_february() -> None:
    # born 29 Feb 2024: one year old on 28 Feb 2025 (1-2 years: high 17,000)
    assert judged(WBC, "17200", "2025-02-27", birth="2024-02-29")[0] == "N"
    assert judged(WBC, "17200", "2025-02-28", birth="2024-02-29")[0] == "H"


def test_age_band_range_cites_its_source() -> None:
    evaluation = one(result("12000", day="2026-03-10"), context=born("2021-03-10"))
    reference = range_of(evaluation)
    assert (reference.low, reference.high, reference.source) == (
        Decimal(4500),
        Decimal(13500),
        "age-band",
    )
    assert "Davis" in reference.citation


def test_result_time_falls_back_to_message_day() -> None:
    evaluation = one(
        result("8000", day=None),
        context=born(BIRTH),
        fallback_day=dt.date(2025, 2, 1),
    )
    assert code_of(evaluation) == "L"
    assert "flag.age-unknown" not in issue_codes(evaluation)


def test_result_time_prefers_obx14_over_specimen_and_order() -> None:
    evaluation = one(
        result("8000", day="2025-02-20"),  # 1 month old: 8,000 is normal
        context=born(BIRTH),
        specimens=(specimen("BLD", collected="2025-02-01"),),
    )
    assert code_of(evaluation) == "N"


def test_specimen_collection_dates_a_result_without_obx14() -> None:
    evaluation = one(
        result("8000", day=None),
        context=born(BIRTH),
        specimens=(specimen("BLD", collected="2025-02-01"),),
        fallback_day=dt.date(2025, 6, 1),
    )
    assert code_of(evaluation) == "L"  # 17 days old, not the message's 4 months


def test_unknown_birth_date_is_judged_as_adult_with_an_issue() -> None:
    evaluation = one(result("4200"), context=PatientContext(sex="male"))
    assert code_of(evaluation) == "L"
    assert range_of(evaluation).source == "default"
    assert "flag.age-unknown" in issue_codes(evaluation)


def test_result_without_any_date_is_judged_as_adult_with_an_issue() -> None:
    evaluation = one(result("8000", day=None), context=born(BIRTH))
    assert range_of(evaluation).source == "default"
    assert "flag.age-unknown" in issue_codes(evaluation)


def test_birth_after_result_is_reported() -> None:
    evaluation = one(result("8000", day="2024-12-01"), context=born(BIRTH))
    issues = [i for i in evaluation.issues if i.code == "flag.age-unknown"]
    assert issues
    assert "after the result date" in issues[0].text


def test_year_only_birth_date_of_an_adult_is_judged_normally() -> None:
    context = PatientContext(
        birth_date=dt.date(1980, 1, 1), birth_date_latest=dt.date(1980, 12, 31), sex="female"
    )
    evaluation = one(result("3999"), context=context)
    assert code_of(evaluation) == "L"
    assert "flag.age-imprecise" not in issue_codes(evaluation)


def test_year_only_birth_date_of_an_infant_is_not_guessed() -> None:
    context = PatientContext(
        birth_date=dt.date(2025, 1, 1), birth_date_latest=dt.date(2025, 12, 31), sex="female"
    )
    evaluation = one(result("8000", day="2026-01-20"), context=context)
    assert evaluation.finding is None
    assert "flag.age-imprecise" in issue_codes(evaluation)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("19000101", "1900-01-01"),  # a database's default date
        ("18991231", "1899-12-31"),  # a spreadsheet's day zero
        ("00010101", "0001-01-01"),  # the first date there is
        ("19051115", "1905-11-15"),  # 121 years old on the result day
        ("1904", "1904-01-01 to 1904-12-31"),  # 121 even at its last possible day
    ],
)
def test_a_placeholder_birth_date_is_no_age(sent: str, shown: str) -> None:
    # judged as an adult either way, but silently, as if the patient were over 120
    msg = oru_message(
        patient=builders.patient(birth_date=sent, sex="F"),
        results=[builders.wbc("10.0", "10*9/L", reference_range="4.0-11.0", flag=None)],
        collected="202611150830-0500",
    )
    conversion = leukoflag.convert(msg.text)
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("N", "wbc-within-range")
    (issue,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert (issue.severity, issue.location) == ("warning", "MSG[1]/OBX[1]")
    assert issue.text == (
        f"the birth date {shown} would make the patient over 120 years old on the result date "
        "2026-11-15, so it is taken for a feed's placeholder, not a birth date: judged with adult "
        "ranges and thresholds"
    )


@pytest.mark.parametrize("sent", ["19051116", "1905"])
def test_a_patient_of_120_years_has_an_age(sent: str) -> None:
    msg = oru_message(
        patient=builders.patient(birth_date=sent, sex="F"),
        results=[builders.wbc("10.0", "10*9/L", reference_range="4.0-11.0", flag=None)],
        collected="202611150830-0500",
    )
    conversion = leukoflag.convert(msg.text)
    assert [f.code for f in conversion.findings] == ["N"]
    assert not [i for i in conversion.issues if i.code.startswith("flag.age-")]


def test_year_only_birth_date_judges_a_code_both_ages_agree_on() -> None:
    # Born "2008": on 15 November 2026 an adult (born 1 January) or 17 (born 31 December). A
    # woman's WBC of 10,000 is N in the adult range 4,500-11,000 and in the band 4,500-11,100:
    # it was left unflagged (flag.age-imprecise) because the two ranges differ.
    msg = oru_message(
        patient=builders.patient(birth_date="2008", sex="F"),
        results=[builders.wbc("10.0", "10*9/L", reference_range="", flag=None)],
        collected="202611150830-0500",
    )
    conversion = leukoflag.convert(msg.text)
    (finding,) = conversion.findings
    assert finding.range is not None
    assert (finding.code, finding.rule, finding.range.source) == (
        "N",
        "wbc-within-range",
        "default",
    )
    assert (finding.range.low, finding.range.high) == (Decimal(4500), Decimal(11000))
    assert not [i for i in conversion.issues if i.code == "flag.age-imprecise"]
    (issue,) = [i for i in conversion.issues if i.code == "flag.age-imprecise-agreed"]
    assert (issue.severity, issue.location) == ("information", "MSG[1]/OBX[1]")
    assert issue.text == (
        "the birth date was sent as 2008-01-01 to 2008-12-31, and the age-dependent rules differ "
        "within that span, but give the same code N at either end: judged by the rules of ages "
        "18 years and older, as born on 2008-01-01 (wbc-within-range, leukoflag's adult range, "
        "4,500–11,000 cells/µL); as born on 2008-12-31, those of ages 10 years to 18 years give N "
        "too (wbc-within-range, the age band, 4,500–11,100 cells/µL)"
    )


def test_year_only_birth_date_of_a_teenager_with_an_anc_low_for_one_age_only_is_not_flagged() -> (
    None
):
    # ANC 1,600: N for an adult (from 1,500), L for a 17-year-old (band from 1,700)
    msg = oru_message(
        patient=builders.patient(birth_date="2008", sex="F"),
        results=[builders.anc("1.6", "10*9/L", reference_range="", flag=None)],
        collected="202611150830-0500",
    )
    conversion = leukoflag.convert(msg.text)
    assert conversion.findings == []
    assert [i.code for i in conversion.issues if i.code.startswith("flag.age-")] == [
        "flag.age-imprecise"
    ]


def test_year_only_birth_date_does_not_flag_a_finding_one_age_lacks() -> None:
    # WBC 4,200 beside the lab's 4.0-11.0: L for both, but leukopenia (below 4,500) only for the
    # 17-year-old; the finding would reach conclusionCode for a patient who may not have it
    msg = oru_message(
        patient=builders.patient(birth_date="2008", sex="F"),
        results=[builders.wbc("4.2", "10*9/L", reference_range="4.5-11.0", flag=None)],
        collected="202611150830-0500",
    )
    conversion = leukoflag.convert(msg.text)
    assert conversion.findings == []
    assert "flag.age-imprecise" in [i.code for i in conversion.issues]


def test_month_only_birth_date_in_the_result_month_includes_the_first_week() -> None:
    # Born "202611", ANC 3,000/µL on 24 November: a baby born on the 20th is in its first week
    # (neutropenia below 5,000), one born on the 1st is not; no birth after the result counts.
    msg = oru_message(
        patient=builders.patient(birth_date="202611"),
        results=[builders.anc("3.0", "10*9/L", flag=None)],
        collected="202611240900-0500",
    )
    conversion = leukoflag.convert(msg.text)
    assert conversion.findings == []
    issues = [i for i in conversion.issues if i.code == "flag.age-imprecise"]
    assert [i.location for i in issues] == ["MSG[1]/OBX[1]"]
    assert "2026-11-01 to 2026-11-24" in issues[0].text


def _neonate_anc(drawn: str) -> str:
    """A NICU ANC of 2.0 x10^3/uL for a baby born 17 Nov 2026 01:30 -05:00, drawn at ``drawn``
    (stamped in UTC, as the lab's system sends it)."""
    segments = [
        f"MSH|^~\\&|NICULAB|RIVERSIDE|EHR|RIVERSIDE|{drawn}||ORU^R01^ORU_R01|NICU-{drawn[:12]}|P|2.5.1",
        "PID|1||NB-30917^^^RIVERSIDE^MR||QUINTERO^BABY GIRL||202611170130-0500|F",
        f"OBR|1|NB-ORD-88|NB-F-88|58410-2^CBC panel - Blood by Automated count^LN|||{drawn}",
        "OBX|1|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||2.0|10*3/uL|||||F",
    ]
    return "\r".join(segments) + "\r"


@pytest.mark.parametrize(
    ("drawn", "expected"),
    [
        # 23 Nov 22:00 -05:00: 6 days old, in the first week (neutropenia below 5,000), although
        # the UTC date is the 24th (7 days)
        ("20261124030000+0000", ("L", "anc-neutropenia-first-week", Decimal(5000))),
        # 24 Nov 02:00 -05:00: 7 days old, infant threshold 1,000
        ("20261124070000+0000", ("N", "anc-within-range", None)),
    ],
)
def test_birth_time_offset_dates_a_result_sent_in_utc(
    drawn: str, expected: tuple[str, str, Decimal | None]
) -> None:
    (finding,) = leukoflag.convert(_neonate_anc(drawn)).findings
    assert (finding.code, finding.rule, finding.threshold) == expected


def _born_at(birth: str, drawn: str, *results: str) -> str:
    """A NICU message for a baby born at ``birth`` (PID-7 with its offset), drawn at ``drawn``."""
    segments = [
        f"MSH|^~\\&|NICULAB|RIVERSIDE|EHR|RIVERSIDE|{drawn}||ORU^R01^ORU_R01|NICU-{drawn[:12]}|P|2.5.1",
        f"PID|1||NB-30944^^^RIVERSIDE^MR||ABARA^BABY BOY||{birth}|M",
        f"OBR|1|NB-ORD-91|NB-F-91|58410-2^CBC panel - Blood by Automated count^LN|||{drawn}",
        *results,
    ]
    return "\r".join(segments) + "\r"


_ANC_2000 = (
    "OBX|1|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||2.0|10*3/uL|||||F"
)


@pytest.mark.parametrize(
    ("birth", "drawn", "said"),
    [
        # born at 10:00, drawn at 07:00 the same day
        (
            "202611241000-0500",
            "202611240700-0500",
            (
                "the birth time 2026-11-24T10:00:00-05:00 is after the result time "
                "2026-11-24T07:00:00-05:00"
            ),
        ),
        # the birth day in the birth time's offset (00:30 +01:00 on the 25th), an hour early
        (
            "202611250130+0100",
            "202611241830-0500",
            (
                "the birth time 2026-11-25T01:30:00+01:00 is after the result time "
                "2026-11-24T18:30:00-05:00"
            ),
        ),
    ],
)
def test_a_result_drawn_before_the_birth_time_of_the_birth_day_is_of_unknown_age(
    birth: str, drawn: str, said: str
) -> None:
    # judged as day 0 without a word (ANC 2,000 a first-week neutropenia), whereas a collection
    # date before the birth date gives flag.age-unknown and adult rules
    conversion = leukoflag.convert(_born_at(birth, drawn, _ANC_2000))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("N", "anc-within-range")
    (issue,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBX[1]",
        f"{said}: judged with adult ranges and thresholds",
    )


def test_a_result_drawn_after_the_birth_time_of_the_birth_day_is_of_day_0() -> None:
    conversion = leukoflag.convert(_born_at("202611241000-0500", "202611241100-0500", _ANC_2000))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "anc-neutropenia-first-week")
    assert "flag.age-unknown" not in [i.code for i in conversion.issues]


def test_an_anc_derived_from_blood_drawn_before_the_birth_time_is_of_unknown_age() -> None:
    conversion = leukoflag.convert(
        _born_at(
            "202611241000-0500",
            "202611240700-0500",
            "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||10.0|10*3/uL|||||F",
            "OBX|2|NM|770-8^Neutrophils/100 leukocytes in Blood^LN||20|%|||||F",
        )
    )
    derived = [f for f in conversion.findings if f.derived]
    assert [(f.value_per_ul, f.code, f.rule) for f in derived] == [
        (Decimal(2000), "N", "anc-within-range")
    ]
    assert "MSG[1]/OBR[1]/ANC[derived]" in [
        i.location for i in conversion.issues if i.code == "flag.age-unknown"
    ]


@pytest.mark.parametrize(
    ("range_sent", "why"),
    [
        ("6.0-17.5 (0-1 y)", "it is for ages '0-1 y'"),
        ("0-1 y: 6.0-17.5; 1-5 y: 5.5-15.5", "it gives ranges for the ages '0-1 y' and '1-5 y'"),
    ],
)
def test_a_range_for_ages_is_not_used_for_blood_drawn_before_the_birth_time(
    range_sent: str, why: str
) -> None:
    # the rules take such a result for one of unknown age (adult rules), but the range of the
    # first year was chosen as if at day 0: 5.0 was L below 6.0, neither by the rules' age
    wbc = f"OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||5.0|10*3/uL|{range_sent}||||F"
    conversion = leukoflag.convert(_born_at("202611241000-0500", "202611240700-0500", wbc))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("N", "wbc-within-range")
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert (issue.location, issue.text) == (
        "MSG[1]/OBX[1]-7",
        (
            f"the lab's reference range {range_sent!r} is not used ({why}, and the birth time "
            "2026-11-24T10:00:00-05:00 is after the result time 2026-11-24T07:00:00-05:00); "
            "leukoflag's default range applies"
        ),
    )


def test_a_range_for_ages_refused_for_a_birth_after_the_result_date_says_so() -> None:
    # said 'the patient's birth date 2026-11-24 is not usable', not why, as flag.age-unknown does
    wbc = "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||5.0|10*3/uL|6.0-17.5 (0-1 y)||||F"
    conversion = leukoflag.convert(_born_at("20261124", "202611230700-0500", wbc))
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        "the lab's reference range '6.0-17.5 (0-1 y)' is not used (it is for ages '0-1 y', and "
        "the birth date 2026-11-24 is after the result date 2026-11-23); leukoflag's default "
        "range applies"
    )


def test_a_range_for_ages_refused_for_a_placeholder_birth_date_says_why_as_age_unknown_does() -> (
    None
):
    # said 'the patient's birth date 1900-01-01 is not usable', the FHIR reader 'is not a
    # plausible one', flag.age-unknown why: now all three say it alike
    wbc = "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||5.0|10*3/uL|4.5-11.0 (18-99 y)||||F"
    conversion = leukoflag.convert(_born_at("19000101", "202611230700-0500", wbc))
    why = (
        "the birth date 1900-01-01 would make the patient over 120 years old on the result date "
        "2026-11-23, so it is taken for a feed's placeholder, not a birth date"
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range '4.5-11.0 (18-99 y)' is not used (it is for ages '18-99 y', "
        f"and {why}); leukoflag's default range applies"
    )
    (unknown,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert unknown.text == f"{why}: judged with adult ranges and thresholds"


def test_a_range_for_ages_is_used_for_blood_drawn_after_the_birth_time() -> None:
    wbc = "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood^LN||5.0|10*3/uL|6.0-17.5 (0-1 y)||||F"
    conversion = leukoflag.convert(_born_at("202611241000-0500", "202611241100-0500", wbc))
    (finding,) = conversion.findings
    assert finding.code == "L"
    assert finding.range is not None
    assert (finding.range.source, finding.range.low) == ("lab", Decimal(6000))
    assert "flag.lab-range-unusable" not in [i.code for i in conversion.issues]


def test_a_fhir_result_drawn_before_the_birth_time_is_of_unknown_age() -> None:
    data = _fhir_neonate_anc("2026-11-24", "2026-11-24T10:00:00-05:00", "2026-11-24T07:00:00-05:00")
    conversion = leukoflag.convert(data)
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("N", "anc-within-range")
    (issue,) = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert issue.text.startswith("the birth time 2026-11-24T10:00:00-05:00 is after the result")


def test_fhir_birth_time_extension_dates_a_neonates_result() -> None:
    # A FHIR lab sends the birth time as the patient-birthTime extension of birthDate (as
    # leukoflag writes PID-7's): 6 days old at 03:00Z on the 24th, so 2,000 is first-week low.
    bundle = builders.fhir_bundle(
        [builders.anc("2.0", "10*3/uL", reference_range=None, flag=None)],
        patient=builders.patient(birth_date="20261117", sex="F"),
        collected=dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC),
    )
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["_birthDate"] = {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                        "valueDateTime": "2026-11-17T01:30:00-05:00",
                    }
                ]
            }
    (finding,) = leukoflag.convert(bundle.encode()).findings
    assert (finding.code, finding.rule) == ("L", "anc-neutropenia-first-week")


def _fhir_neonate_anc(born: str, birth_time: str, drawn: str) -> bytes:
    """A FHIR ANC of 2.0 x10^3/uL for a girl born on ``born`` at ``birth_time`` (the
    patient-birthTime extension), drawn at ``drawn`` (the Observation's effectiveDateTime)."""
    bundle = builders.fhir_bundle(
        [builders.anc("2.0", "10*3/uL", reference_range=None, flag=None)],
        patient=builders.patient(birth_date=born.replace("-", ""), sex="F"),
    )
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            resource["_birthDate"] = {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                        "valueDateTime": birth_time,
                    }
                ]
            }
        if resource["resourceType"] == "Observation":
            resource["effectiveDateTime"] = drawn
    return bundle.encode()


@pytest.mark.parametrize(
    ("born", "birth_time", "drawn"),
    [
        # a leap second (valid in FHIR) in the birth time
        ("2026-11-17", "2026-11-17T01:30:60-05:00", "2026-11-24T03:00:00Z"),
        # and in the result time, counted in the birth time's offset: 18:59:60 -05:00 on day 6
        ("2026-12-25", "2026-12-25T01:30:00-05:00", "2026-12-31T23:59:60Z"),
    ],
)
def test_a_leap_second_beside_a_birth_time_is_read_not_rejected(
    born: str, birth_time: str, drawn: str
) -> None:
    # the item was rejected: 'leukoflag could not convert this item (ValueError: second must
    # be in 0..59); please report it'
    conversion = leukoflag.convert(_fhir_neonate_anc(born, birth_time, drawn))
    assert conversion.rejected == []
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "anc-neutropenia-first-week")


def test_reflagging_the_output_keeps_the_birth_time() -> None:
    (bundle,) = leukoflag.convert(_neonate_anc("20261124030000+0000")).bundles
    (finding,) = leukoflag.convert(fhir.dumps(bundle)).findings
    assert (finding.code, finding.rule) == ("L", "anc-neutropenia-first-week")


def test_a_neonate_is_judged_on_the_day_the_blood_was_drawn_not_the_day_it_was_analysed() -> None:
    # Drawn at 23:00 on day 6 (OBR-7), analysed at 06:40 on day 7 (OBX-19), no OBX-14: an ANC of
    # 2,000 is first-week neutropenia (below 5,000) on the day of drawing, normal a day later.
    msg = (
        "MSH|^~\\&|LAB|NICU|EHR|NICU|20261124090000-0500||ORU^R01|N7|P|2.5.1\r"
        "PID|1||NB77^^^NICU^MR||BABY^GIRL||20261117|F\r"
        "OBR|1|P7|F7|58410-2^CBC^LN|||20261123230000-0500||||||||||||||||F\r"
        "OBX|1|NM|751-8^Neutrophils [#/volume] in Blood^LN||2.0|10*3/uL|||||F"
        "||||||||20261124064000-0500\r"
    )
    conversion = leukoflag.convert(msg)
    (finding,) = conversion.findings
    assert (finding.code, finding.rule, finding.value_per_ul) == (
        "L",
        "anc-neutropenia-first-week",
        Decimal("2000"),
    )
    (observation,) = [
        entry["resource"]
        for entry in conversion.bundles[0]["entry"]
        if entry["resource"]["resourceType"] == "Observation"
    ]
    assert observation["effectiveDateTime"] == "2026-11-23T23:00:00-05:00"


def test_a_childs_neutropenia_graded_by_the_adult_guideline_is_cited_as_adult() -> None:
    # a girl of six months with an ANC of 700: LU, moderate neutropenia, by ASCO/IDSA 2018, a
    # guideline for adults treated for malignancy; its citation (thresholdSource) named it
    # without a word that no pediatric source stands behind the level for a child
    evaluation = one(result("700", code=ANC, day="2025-07-20"), context=born(BIRTH))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.rule, finding.severity) == (
        "LU",
        "anc-significantly-low",
        "moderate",
    )
    assert "ASCO/IDSA" in finding.threshold_source
    assert finding.threshold_source.endswith(
        "an adult guideline: leukoflag reference/clinical.md cites no pediatric source for these "
        "bands, so leukoflag applies them to children as well (leukoflag decision, not a "
        "pediatric recommendation)"
    )


@pytest.mark.parametrize(
    ("birth", "source"),
    [
        # a boy of 12: leukopenia below the age band's low limit, 4,500 (Davis, 10-18 years)
        ("2014-06-01", "davis-lab"),
        # a boy of 6: 4,500 of the band of 4-10 years, Davis's too
        ("2020-06-01", "davis-lab"),
        # a boy of 3: 5,500 of the band of 2-4 years, Iowa's
        ("2023-06-01", "iowa-pediatric"),
    ],
)
def test_a_childs_leukopenia_cites_the_source_of_the_age_band_limit_it_is_below(
    birth: str, source: str
) -> None:
    # the threshold of wbc-leukopenia-pediatric is the age band's low limit; from 4 years that
    # limit is Davis's, but thresholdSource cited the University of Iowa's table for it
    rules = load_rules()
    evaluation = one(result("4000", day="2026-11-24"), context=born(birth, "male"))
    finding = evaluation.finding
    assert finding is not None
    band = range_of(evaluation)
    assert (finding.code, finding.rule, finding.threshold) == (
        "L",
        "wbc-leukopenia-pediatric",
        band.low,
    )
    assert finding.threshold_source == rules.sources[source] == band.citation


def test_an_adults_neutropenia_cites_the_adult_guideline_without_the_childrens_caveat() -> None:
    # a man of 65 on chemotherapy with an ANC of 800: LU, moderate neutropenia, by ASCO/IDSA
    # 2018, a guideline for adults: its citation said it was applied "to children as well", a
    # caveat that is not true of him and reads as if he were a child
    evaluation = one(result("800", code=ANC, day="2026-11-24"), context=born("1961-07-19", "male"))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.rule, finding.severity) == (
        "LU",
        "anc-significantly-low",
        "moderate",
    )
    assert finding.threshold_source.startswith("Taplitz RA et al., Outpatient management")
    assert "children" not in finding.threshold_source
    assert "pediatric" not in finding.threshold_source
    # a child of the same day keeps the caveat
    child = one(result("800", code=ANC, day="2026-11-24"), context=born("2020-03-02", "male"))
    assert child.finding is not None
    assert child.finding.rule == "anc-significantly-low"
    assert "applies them to children as well" in child.finding.threshold_source


def test_year_only_birth_date_judged_by_one_rule_at_both_ages_says_no_difference() -> None:
    # Born "2008": an adult or 17 on 15 November 2026. An ANC of 800 beside the lab's 1.8-7.7 is
    # LU by anc-significantly-low at 1,000 at either age, against the same lab range: nothing
    # differs but the words of the citation (the child's says the adult guideline is applied to
    # children), which is no age-dependent rule and no reason for flag.age-imprecise-agreed
    msg = oru_message(
        patient=builders.patient(birth_date="2008", sex="F"),
        results=[builders.anc("0.8", "10*9/L", reference_range="1.8-7.7", flag=None)],
        collected="202611150830-0500",
    )
    conversion = leukoflag.convert(msg.text)
    (finding,) = conversion.findings
    assert (finding.code, finding.rule, finding.threshold, finding.severity) == (
        "LU",
        "anc-significantly-low",
        Decimal(1000),
        "moderate",
    )
    assert not [i for i in conversion.issues if i.code.startswith("flag.age-")]
