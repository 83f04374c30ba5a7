"""A lab range labelled for adults (``4.0-11.0 (adult)``, ``Adult: 4.0-11.0``) is not a child's:
under 18 the age band judges, with flag.lab-range-adults; adults keep the lab's range."""

from __future__ import annotations

from decimal import Decimal

import pytest

import leukoflag
from leukoflag._range_text import read_range_text
from leukoflag.model import NormalizedRange, Unit
from leukoflag.testing import builders
from leukoflag.testing.builders import oru_message

# Results are collected on 2026-11-24: born 2026-06-01, the child is 5 months old (WBC band
# 3 months to 1 year: 6,000-17,500 cells/µL).
INFANT = builders.patient(birth_date="20260601", sex="M")


def _convert(patient: builders.PatientSpec, result: builders.ResultSpec) -> leukoflag.Conversion:
    """The conversion of an ORU^R01 of ``patient`` with the one result ``result``."""
    return leukoflag.convert(oru_message(patient=patient, results=[result]).text)


def _only_finding(conversion: leukoflag.Conversion) -> leukoflag.Finding:
    (finding,) = conversion.findings
    return finding


def _finding_and_range(
    conversion: leukoflag.Conversion,
) -> tuple[leukoflag.Finding, NormalizedRange]:
    """The one finding and the range it was judged with, which there must be."""
    finding = _only_finding(conversion)
    assert finding.range is not None
    return finding, finding.range


@pytest.mark.parametrize(
    "sent",
    [
        "4.0-11.0 10*9/L (adult)",
        "Adult: 4.0-11.0",
        "Adults 4.0-11.0",
        "4.0-11.0 [adults]",
        "4.0-11.0 [18 y and over]",
        "4.0-11.0 18+",  # read as the unit '18+' before
        "4.0-11.0 (adult).",  # the full stop hid the label: 12.5 was H against 4.0-11.0
    ],
)
def test_infant_wbc_above_an_adult_range_is_judged_by_the_age_band(sent: str) -> None:
    conversion = _convert(INFANT, builders.wbc("12.5", "10*9/L", reference_range=sent, flag="H"))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, finding.rule, applied.source) == (
        "N",
        "wbc-within-range",
        "age-band",
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-adults"]
    assert issue.location == "MSG[1]/OBX[1]-7"
    assert issue.severity == "warning"
    assert issue.text == (
        f"the lab's reference range '{sent}' is for adults, and the patient (born 2026-06-01) is "
        "under 18 on the result date 2026-11-24: judged with the age band 3 months to 1 year, "
        "6,000–17,500 cells/µL, instead"
    )


def test_adult_lln_does_not_grade_a_child() -> None:
    # 4.4 is below the adult LLN 4.5 (CTCAE grade 1 for an adult) but not the grade 2 limit, and
    # the band's low 6,000 makes it leukopenia for the infant: no grade from the adult range.
    finding = _only_finding(
        _convert(
            INFANT, builders.wbc("4.4", "10*9/L", reference_range="4.5-11.0 (adult)", flag="L")
        )
    )
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    assert finding.ctcae_grade is None


def test_adult_keeps_a_range_labelled_for_adults() -> None:
    # "Adult: 4.0-11.0" was read as no range at all (flag.lab-range-unusable) before
    conversion = _convert(
        builders.patient(birth_date="19840312", sex="M"),
        builders.wbc("10.5", "10*9/L", reference_range="Adult: 4.0-11.0", flag="N"),
    )
    finding, applied = _finding_and_range(conversion)
    # the man's default range (5,000-10,000) would make it H
    assert (finding.code, applied.source) == ("N", "lab")
    assert (applied.low, applied.high) == (Decimal(4000), Decimal(11000))
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


def test_unlabelled_adult_looking_range_still_judges_a_child() -> None:
    conversion = _convert(INFANT, builders.wbc("12.5", "10*9/L", reference_range="4.0-11.0"))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("H", "lab")
    assert not [i for i in conversion.issues if i.code == "flag.lab-range-adults"]


@pytest.mark.parametrize(
    ("text", "adults"),
    [
        ("Adult: 4.0-11.0 x10^9/L", True),
        ("4.0-11.0 (Adults)", True),
        ("Adults: >1.8", True),
        ("Adult reference interval", False),  # words only: no limits, no label
        ("6.0-17.5 (3-12 mo)", False),
        ("4.0-11.0 x10(9)/L", False),
    ],
)
def test_range_text_says_when_it_is_for_adults(text: str, adults: bool) -> None:
    read = read_range_text(text)[0]
    assert read.adults is adults
    assert read.text == text
    if adults:
        assert read.low is not None


def test_fhir_range_text_adult_beside_its_limits_is_not_the_childs() -> None:
    bundle = builders.fhir_bundle(
        [builders.wbc("12.5", "10*3/uL", reference_range="4.0-11.0", flag=None)],
        patient=builders.patient(birth_date="20150905", sex="F"),  # 11 years: 4,500-11,100
    )
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation":
            quantity = {"unit": "10*3/uL", "system": "http://unitsofmeasure.org"}
            resource["referenceRange"] = [
                {
                    "low": {"value": Decimal("4.0"), **quantity, "code": "10*3/uL"},
                    "high": {"value": Decimal("13.0"), **quantity, "code": "10*3/uL"},
                    "text": "Adult",
                }
            ]
    conversion = leukoflag.convert(bundle.encode())
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source, applied.high) == (
        "H",
        "age-band",
        Decimal(11100),
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-adults"]
    assert "'Adult' is for adults" in issue.text
    assert "age band 10 years to 18 years, 4,500–11,100 cells/µL" in issue.text


@pytest.mark.parametrize(
    ("text", "group", "unit"),
    [
        ("4.0-11.0 [18 y and over]", "adults", None),
        ("4.0-11.0 (18 years and over)", "adults", None),
        ("4.0-11.0 (>=18 y)", "adults", None),
        ("4.0-11.0 adult", "adults", None),
        ("4.0-11.0 10*9/L adult", "adults", "10*9/L"),
        ("Child: 5.0-15.0", "children", None),
        ("Children 5.0-15.0 10*9/L", "children", "10*9/L"),
        ("5.0-15.0 (pediatric)", "children", None),
        ("Paediatric: 5.0-15.0", "children", None),
        ("6.0-17.5 (3-12 mo)", "", None),  # an age band: not read
        ("4.0-11.0 (16 y and over)", "", None),  # includes children of 16 and 17
        ("Childhood 5.0-15.0", "", None),  # a word, not the label
    ],
)
def test_range_text_says_whom_it_is_for(text: str, group: str, unit: str | None) -> None:
    # all were read as ranges for everyone, or (a label before, a bare word after) as no range
    read = read_range_text(text)[0]
    assert (read.adults, read.children) == (group == "adults", group == "children")
    assert read.text == text
    if group:
        assert (read.low, read.high) in (
            (Decimal("4.0"), Decimal("11.0")),
            (Decimal("5.0"), Decimal("15.0")),
        )
        assert read.unit == (Unit(unit) if unit else None)


def test_adult_prefix_before_ranges_per_sex_reads_both_as_adults() -> None:
    read = read_range_text("Adult M: 4.0-10.0 F: 4.5-11.0")[0]
    assert read.adults
    assert [(sex, one.low, one.high, one.adults) for sex, one in read.by_sex] == [
        ("male", Decimal("4.0"), Decimal("10.0"), True),
        ("female", Decimal("4.5"), Decimal("11.0"), True),
    ]


def test_man_is_judged_by_his_range_under_an_adult_label() -> None:
    # 'Adult M: 4.0-10.0 F: 4.5-11.0' gave no limits: his 4.2 was L against 5,000-10,000
    conversion = _convert(
        builders.patient(birth_date="19840312", sex="M"),
        builders.wbc("4.2", "10*9/L", reference_range="Adult M: 4.0-10.0 F: 4.5-11.0", flag="N"),
    )
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source, applied.sex) == ("N", "lab", "male")
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


@pytest.mark.parametrize("sex", ["M", "U"])
def test_infant_is_not_judged_by_adult_ranges_per_sex(sex: str) -> None:
    conversion = _convert(
        builders.patient(birth_date="20260601", sex=sex),
        builders.wbc("12.5", "10*9/L", reference_range="Adult M: 4.0-10.0 F: 4.5-11.0"),
    )
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "age-band")
    assert [i.code for i in conversion.issues if i.code == "flag.lab-range-adults"] == [
        "flag.lab-range-adults"
    ]


@pytest.mark.parametrize(
    ("birth", "sex", "value", "sent", "limits"),
    [
        # its unit was read as '10*9/L adult': flag.lab-range-unusable, and a man's 10.5 was H
        # against 5,000-10,000
        ("19840312", "M", "10.5", "4.0-11.0 10*9/L adult", (4000, 11000, "")),
        # 7 years old: 14,000 is H in the band 4,500-13,500, N in the lab's own 5.0-15.0, which
        # 'Children 5.0-15.0' was not read as
        ("20190801", "F", "14.0", "Children 5.0-15.0", (5000, 15000, "")),
        # the unit 'adult' made the lab's range unusable: 10.5 was H against 5,000-10,000
        ("19840312", "M", "10.5", "M: 4.0-11.0 F: 4.5-11.5 adult", (4000, 11000, "male")),
    ],
)
def test_patient_is_judged_by_the_labs_range_labelled_for_their_age(
    birth: str, sex: str, value: str, sent: str, limits: tuple[int, int, str]
) -> None:
    conversion = _convert(
        builders.patient(birth_date=birth, sex=sex),
        builders.wbc(value, "10*9/L", reference_range=sent, flag="N"),
    )
    finding, applied = _finding_and_range(conversion)
    low, high, range_sex = limits
    assert (finding.code, applied.source) == ("N", "lab")
    assert (applied.low, applied.high, applied.sex) == (
        Decimal(low),
        Decimal(high),
        range_sex,
    )
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


@pytest.mark.parametrize("sent", ["Child: 5.0-15.0", "5.0-15.0 (pediatric)"])
def test_adult_is_not_judged_by_a_childrens_range(sent: str) -> None:
    # a woman's 4.8 was L below the children's 5.0, N in the adult range 4,500-11,000
    conversion = _convert(
        builders.patient(birth_date="19840312", sex="F"),
        builders.wbc("4.8", "10*9/L", reference_range=sent, flag="L"),
    )
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "default")
    assert finding.ctcae_grade is None
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-children"]
    assert (issue.severity, issue.location) == ("warning", "MSG[1]/OBX[1]-7")
    assert issue.text == (
        f"the lab's reference range '{sent}' is for children, and the patient (born 1984-03-12) "
        "is 18 or older on the result date 2026-11-24: judged with leukoflag's adult range, "
        "4,500–11,000 cells/µL, instead"
    )


def test_patient_of_unknown_age_is_not_judged_by_a_childrens_range() -> None:
    conversion = _convert(
        builders.patient(birth_date=None, sex="F"),
        builders.wbc("4.8", "10*9/L", reference_range="Child: 5.0-15.0", flag="L"),
    )
    assert _only_finding(conversion).code == "N"
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-children"]
    assert "the patient's age is not known (judged as an adult)" in issue.text


def test_fhir_range_text_pediatric_beside_its_limits_is_not_the_adults() -> None:
    bundle = builders.fhir_bundle(
        [builders.wbc("4.8", "10*3/uL", reference_range="5.0-15.0", flag=None)],
        patient=builders.patient(birth_date="19840312", sex="F"),
    )
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation":
            resource["referenceRange"][0]["text"] = "Pediatric"
    conversion = leukoflag.convert(bundle.encode())
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "default")
    assert [i.code for i in conversion.issues if i.code.startswith("flag.lab-range")] == [
        "flag.lab-range-children"
    ]


@pytest.mark.parametrize(
    ("sent", "unit"),
    [
        ("M: 4.0-10.0 F: 4.5-11.0 (adult)", None),
        ("M 4.0-10.0 F 4.5-11.0 10*9/L [18 y and over]", "10*9/L"),
        ("M: 4.0-10.0 F: 4.5-11.0 adult", None),
        ("Male 4.0-10.0 / Female 4.5-11.0 10*9/L Adults", "10*9/L"),
    ],
)
def test_ranges_per_sex_followed_by_an_adult_label_are_both_adults(
    sent: str, unit: str | None
) -> None:
    # the label after the ranges per sex was dropped (a note) or read as both ranges' unit
    read = read_range_text(sent)[0]
    assert read.adults
    assert [(sex, one.low, one.high, one.unit, one.adults) for sex, one in read.by_sex] == [
        ("male", Decimal("4.0"), Decimal("10.0"), Unit(unit) if unit else None, True),
        ("female", Decimal("4.5"), Decimal("11.0"), Unit(unit) if unit else None, True),
    ]


@pytest.mark.parametrize(
    "sent", ["M: 4.0-10.0 F: 4.5-11.0 (adult)", "M: 4.0-10.0 F: 4.5-11.0 adult"]
)
def test_infant_is_not_judged_by_ranges_per_sex_labelled_adult_after_them(sent: str) -> None:
    # the boy's 12.5 was H against the men's 4.0-10.0 (a note), or the range was unusable with
    # the unit 'adult' (a bare word); the band 6,000-17,500 makes it N
    conversion = _convert(INFANT, builders.wbc("12.5", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "age-band")
    assert [i.code for i in conversion.issues if i.code.startswith("flag.lab-range")] == [
        "flag.lab-range-adults"
    ]


def test_childrens_range_issue_does_not_say_a_birth_year_makes_the_patient_an_adult() -> None:
    # born '2008': 18 on 2026-11-24 if born by 24 November, 17 if born later. Both ends give N,
    # judged by the older age (leukoflag's adult range); the Issue said she 'is 18 or older'
    conversion = _convert(
        builders.patient(birth_date="2008", sex="F"),
        builders.wbc("10.0", "10*9/L", reference_range="Child: 5.0-15.0", flag="N"),
    )
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "default")
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-children"]
    assert issue.text == (
        "the lab's reference range 'Child: 5.0-15.0' is for children, and the patient (born "
        "2008-01-01 to 2008-12-31) may be 18 or older on the result date 2026-11-24: judged with "
        "leukoflag's adult range, 4,500–11,000 cells/µL, instead"
    )


def test_childrens_range_issue_says_a_birth_month_long_past_18_makes_an_adult() -> None:
    conversion = _convert(
        builders.patient(birth_date="200805", sex="F"),
        builders.wbc("10.0", "10*9/L", reference_range="Child: 5.0-15.0", flag="N"),
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-children"]
    assert "(born 2008-05-01 to 2008-05-31) is 18 or older on the result date" in issue.text


@pytest.mark.parametrize(
    ("sent", "unit"),
    [
        # an age of 18 and over after the limits, without brackets: it was read as the unit '18+'
        # (flag.lab-range-unusable), so the label was lost
        pytest.param("4.0-11.0 18+", None, id="18-and-over-without-brackets"),
        pytest.param(
            "4.0-11.0 10*9/L 18 years and over",
            "10*9/L",
            id="18-years-and-over-after-a-unit-without-brackets",
        ),
        # a full stop after the label: '(adult).' was not read as a note (a child was judged by
        # the adults' range), and 'adult.' was read as the unit (flag.lab-range-unusable)
        pytest.param("4.0-11.0 (adult).", None, id="full-stop-after-a-bracketed-label"),
        pytest.param("4.0-11.0 adult.", None, id="full-stop-after-a-bare-label"),
        pytest.param("4.0-11.0 10*9/L [adults].", "10*9/L", id="full-stop-after-a-unit-and-label"),
    ],
)
def test_an_adult_label_after_the_limits_is_read_as_a_label(sent: str, unit: str | None) -> None:
    read = read_range_text(sent)[0]
    assert (read.adults, read.low, read.high, read.unit, read.text) == (
        True,
        Decimal("4.0"),
        Decimal("11.0"),
        Unit(unit) if unit else None,
        sent,
    )


@pytest.mark.parametrize(
    ("sent", "adults", "birth"),
    [
        ("4.0 - 11.0 (adult) 10*9/L", True, "19840312"),
        ("6.0-11.0 (3-12 mo) 10*9/L", False, "20260601"),
    ],
)
def test_a_unit_after_a_note_is_the_ranges_unit(sent: str, adults: bool, birth: str) -> None:
    # the unit after the note was dropped, so the range was read in the value's unit: a man's
    # 10,500 /uL against 4-11 cells/µL (not plausible), judged H by the default range instead
    read = read_range_text(sent)[0]
    assert (read.adults, read.unit) == (adults, Unit("10*9/L"))
    conversion = _convert(
        builders.patient(birth_date=birth, sex="M"),
        builders.wbc("10500", "/uL", reference_range=sent),
    )
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source, applied.high) == ("N", "lab", Decimal(11000))
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


def _range_unusable_for_a_woman(sent: str) -> tuple[leukoflag.Conversion, leukoflag.Issue]:
    """A woman's WBC of 4.8 10*9/L sent with the range text ``sent``: asserts it was judged N
    in leukoflag's default range, the lab's said unusable at OBX-7; the conversion and that
    Issue."""
    conversion = _convert(
        builders.patient(birth_date="19840312", sex="F"),
        builders.wbc("4.8", "10*9/L", reference_range=sent),
    )
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "default")
    (issue,) = [i for i in conversion.issues if i.code.startswith("flag.lab-range")]
    assert (issue.code, issue.location) == ("flag.lab-range-unusable", "MSG[1]/OBX[1]-7")
    return conversion, issue


@pytest.mark.parametrize(
    ("sent", "adult", "child"),
    [
        ("Adult: 4.0-11.0 (child)", "Adult", "child"),
        ("Child: 5.0-15.0 (adult)", "adult", "Child"),
        ("4.0-11.0 (adults) [pediatric]", "adults", "pediatric"),
        ("Adult M: 4.0-10.0 F: 4.5-11.0 (child)", "Adult", "child"),
    ],
)
def test_a_range_labelled_both_for_adults_and_for_children_is_not_used(
    sent: str, adult: str, child: str
) -> None:
    # it was read silently as the first label's range: a woman's 4.8 was L below the children's
    # 5.0 of 'Child: 5.0-15.0 (adult)'; neither range is known to be hers
    _, issue = _range_unusable_for_a_woman(sent)
    assert issue.text == (
        f"the lab's reference range '{sent}' is not used (it is labelled for adults ('{adult}') "
        f"and for children ('{child}'): whose range it is is not known); leukoflag's default "
        "range applies"
    )


ADULT = builders.patient(birth_date="19840312", sex="M")


@pytest.mark.parametrize(
    ("sent", "patient", "born", "code", "limits"),
    [
        # an infants' range judged a man: 5.2 was L against 6.0-17.5
        ("6.0-17.5 (3-12 mo)", ADULT, "1984-03-12", "N", (5000, 10000)),
        ("Age 0-1 y: 6.0-17.5", ADULT, "1984-03-12", "N", (5000, 10000)),
        ("6.0-17.5 [3 - 12 months] 10*9/L", ADULT, "1984-03-12", "N", (5000, 10000)),
        # a range for ages 1 to 5 judged an infant of 5 months: 5.2 was N against 5.0-15.0
        ("5.0-15.0 (1-5 y)", INFANT, "2026-06-01", "L", (6000, 17500)),
    ],
)
def test_a_range_noted_for_other_ages_does_not_judge_the_patient(
    sent: str, patient: builders.PatientSpec, born: str, code: str, limits: tuple[int, int]
) -> None:
    conversion = _convert(patient, builders.wbc("5.2", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert finding.code == code
    assert applied.source != "lab"
    assert (applied.low, applied.high) == tuple(map(Decimal, limits))
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert (issue.location, issue.severity) == ("MSG[1]/OBX[1]-7", "warning")
    note = read_range_text(sent)[0].ages
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used (it is for ages {note!r}, and the patient "
        f"(born {born}) is not of those ages on the result date 2026-11-24); leukoflag's default "
        "range applies"
    )


@pytest.mark.parametrize(
    "sent",
    ["6.0-17.5 (3-12 mo)", "Age 0-1 y: 6.0-17.5", "6.0-17.5 (0 - 1 y).", "6.0-17.5 (<1 y)"],
)
def test_a_range_noted_for_the_patients_ages_judges_them(sent: str) -> None:
    conversion = _convert(INFANT, builders.wbc("5.2", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("L", "lab")
    assert (applied.low, applied.high) == (Decimal(6000), Decimal(17500))
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        (
            "6.0-17.5 (3-12 mo)",
            "it is for ages '3-12 mo', and the patient's birth date is not known",
        ),
        ("4.0-11.0 (>60 y)", "it is noted for ages '>60 y', which leukoflag cannot read"),
        (
            "4.0-11.0 (3-12 mo) (1-5 y)",
            # each note is read: what is not is a range for two spans of ages at once
            (
                "it is noted for the ages '1-5 y' and '3-12 mo' at once, which leukoflag does "
                "not read as one span of ages"
            ),
        ),
    ],
)
def test_a_range_noted_for_ages_not_known_to_be_the_patients_is_not_used(
    sent: str, why: str
) -> None:
    patient = builders.patient(birth_date=None if "birth" in why else "19840312", sex="M")
    conversion = _convert(patient, builders.wbc("5.2", "10*9/L", reference_range=sent))
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used ({why}); leukoflag's default range applies"
    )
    _, applied = _finding_and_range(conversion)
    assert (applied.source, applied.low) == ("default", Decimal(5000))


# born 2023-06-01: 3 years old on the result date 2026-11-24
TODDLER = builders.patient(birth_date="20230601", sex="F")


@pytest.mark.parametrize(
    "sent",
    [
        "5.0-15.0 (1-5 Jahre)",
        "5.0-15.0 (1-5 ans)",
        "5.0-15.0 (1-5 años)",
        "5.0-15.0 (1-5 anos)",
        "5.0-15.0 (1-5 anni)",
        "5.0-15.0 (1-5 lat)",
        "1-5 Jahre: 5.0-15.0",
    ],
)
def test_an_age_note_in_another_language_judges_only_a_patient_of_those_ages(sent: str) -> None:
    # the note was not read: the children's range judged the man of 42 (12.0 N against 5.0-15.0)
    for patient, code, source in ((ADULT, "H", "default"), (TODDLER, "N", "lab")):
        conversion = _convert(patient, builders.wbc("12.0", "10*9/L", reference_range=sent))
        finding, applied = _finding_and_range(conversion)
        assert (finding.code, applied.source) == (code, source)
        unusable = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
        assert len(unusable) == (source == "default")


@pytest.mark.parametrize(
    ("sent", "note"),
    [
        ("6.0-17.5 (0-1 an)", "0-1 an"),
        ("5.0-15.0 (1-5 Lebensjahre)", "1-5 Lebensjahre"),
        ("6.0-17.5 (<1 J.)", "<1 J."),
    ],
)
def test_an_age_note_in_a_word_leukoflag_does_not_know_is_not_used(sent: str, note: str) -> None:
    # the note was not read: an infants' range judged the man of 42 (5.2 L against 6.0-17.5)
    conversion = _convert(ADULT, builders.wbc("5.2", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source, applied.low) == (
        "N",
        "default",
        Decimal(5000),
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used (its note {note!r} may give ages, in a "
        "word leukoflag does not know); leukoflag's default range applies"
    )


@pytest.mark.parametrize(
    ("sent", "note"),
    [("9.0-30.0 (0-72 h)", "0-72 h"), ("9.0-30.0 (<24 hours)", "<24 hours")],
)
def test_an_age_note_in_hours_is_not_used_and_the_issue_says_hours(sent: str, note: str) -> None:
    # the reason was 'in a word leukoflag does not know', though it knows 'h' (in a FHIR age)
    conversion = _convert(ADULT, builders.wbc("12.0", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("H", "default")
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used (its note {note!r} gives ages in hours, "
        "which leukoflag reads in a FHIR age only); leukoflag's default range applies"
    )


@pytest.mark.parametrize("sent", ["4.0-11.0 (see note 3)", "4.0-11.0 (2 tests)"])
def test_a_note_of_a_number_that_gives_no_ages_leaves_the_range_used(sent: str) -> None:
    _, applied = _finding_and_range(
        _convert(ADULT, builders.wbc("5.2", "10*9/L", reference_range=sent))
    )
    assert (applied.source, applied.low) == ("lab", Decimal(4000))


BANDS_TEXT = "0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0; >=18 y: 4.0-11.0"


@pytest.mark.parametrize(
    ("sent", "patient", "limits"),
    [
        (BANDS_TEXT, INFANT, (6000, 17500)),
        (BANDS_TEXT, TODDLER, (5000, 15000)),
        (BANDS_TEXT, ADULT, (4000, 11000)),
        ("0-1 y: 6,0-17,5, 1-5 y: 5,0-15,0", TODDLER, (5000, 15000)),
        ("0-1 y: 6.0-17.5 / 1-5 y: 5.0-15.0 10*9/L", TODDLER, (5000, 15000)),
    ],
)
def test_a_text_of_ranges_per_age_judges_with_the_patients_own(
    sent: str, patient: builders.PatientSpec, limits: tuple[int, int]
) -> None:
    # refused with the reason 'unknown unit' ('; 1-5 y: 5.0-15.0; …' read as the first's unit)
    conversion = _convert(patient, builders.wbc("5.2", "10*9/L", reference_range=sent))
    _, applied = _finding_and_range(conversion)
    assert applied.source == "lab"
    assert (applied.low, applied.high) == tuple(map(Decimal, limits))
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


@pytest.mark.parametrize(
    ("sent", "patient", "why"),
    [
        (
            "0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0; >18 y: 4.0-11.0",
            ADULT,
            (
                # 'is of none of them ('>18 y' cannot be read)': untrue, he may be of '>18 y'
                "it gives ranges for the ages '0-1 y', '1-5 y' and '>18 y', and the patient "
                "(born 1984-03-12) is of none of '0-1 y' and '1-5 y' on the result date "
                "2026-11-24, but leukoflag cannot read '>18 y', which may be theirs"
            ),
        ),
        (
            "0-1 y: 6.0-17.5; >18 y: 4.0-11.0",
            ADULT,
            (
                "it gives ranges for the ages '0-1 y' and '>18 y', and the patient (born "
                "1984-03-12) is not of '0-1 y' on the result date 2026-11-24, but leukoflag "
                "cannot read '>18 y', which may be theirs"
            ),
        ),
        (
            "0-1 y: 6.0-17.5; >18 y: 4.0-11.0",
            builders.patient(birth_date=None, sex="M"),
            (
                "it gives ranges for the ages '0-1 y' and '>18 y', and the patient's birth date "
                "is not known ('>18 y' cannot be read)"
            ),
        ),
        (
            # a birth year: at neither end of 1984 is he of these bands ('may be of none of them')
            "0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0",
            builders.patient(birth_date="1984", sex="M"),
            (
                "it gives ranges for the ages '0-1 y' and '1-5 y', and the patient (born "
                "1984-01-01 to 1984-12-31) is of none of them on the result date 2026-11-24"
            ),
        ),
        (
            BANDS_TEXT,
            builders.patient(birth_date=None, sex="M"),
            (
                "it gives ranges for the ages '0-1 y', '1-5 y' and '>=18 y', and the patient's "
                "birth date is not known"
            ),
        ),
        (
            # completed years: a child of 17 months is of 0-2 y and of 1-5 y, which do not meet
            "0-2 y: 6.0-17.0; 1-5 y: 5.0-15.0",
            builders.patient(birth_date="20250615", sex="M"),
            (
                "it gives ranges for the ages '0-2 y' and '1-5 y', and the patient is of "
                "'0-2 y' and '1-5 y' at once: which one is theirs is not known"
            ),
        ),
        (
            "0-1 y: 6.0-17.5; 1-5 y: see note",
            ADULT,
            (
                "it gives ranges under the ages '0-1 y' and '1-5 y', not each with limits "
                "leukoflag can read"
            ),
        ),
        # labels not each read as a band: read as the first range, for ages '0-1 y' in the unit
        # '; 1-5 y: …', the Issue said 'it is for ages '0-1 y', and the patient … is not of those
        # ages' (or 'unknown unit'), untrue of a text that also gives the patient's band
        (
            "0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0; Adult: 4.0-11.0",
            TODDLER,
            (
                "it gives ranges under '0-1 y', '1-5 y' and 'Adult', not each for ages and with "
                "limits leukoflag can read"
            ),
        ),
        (
            "Adult: 4.0-11.0; 1-5 y: 5.0-15.0",
            TODDLER,
            (
                "it gives ranges under 'Adult' and '1-5 y', not each for ages and with limits "
                "leukoflag can read"
            ),
        ),
        (
            "0-1 y: 6.0-17.5; >=18 y: M: 4.0-10.0 F: 4.5-11.0",
            ADULT,
            (
                "it gives ranges under '0-1 y' and '>=18 y', not each for ages and with limits "
                "leukoflag can read"
            ),
        ),
    ],
)
def test_a_text_of_ranges_per_age_none_known_to_be_the_patients_is_not_used(
    sent: str, patient: builders.PatientSpec, why: str
) -> None:
    conversion = _convert(patient, builders.wbc("5.2", "10*9/L", reference_range=sent))
    _, applied = _finding_and_range(conversion)
    assert applied.source != "lab"
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used ({why}); leukoflag's default range applies"
    )


@pytest.mark.parametrize(
    ("birth", "how"),
    [
        # born in 2024: 1 or 2 years old on 2026-11-24 ('may be not of those ages')
        ("2024", "(born 2024-01-01 to 2024-12-31) may not be of those ages"),
        # born in 2020: 6 years old at either end of the year ('may be not', as if unsure)
        ("2020", "(born 2020-01-01 to 2020-12-31) is not of those ages"),
        ("20240101", "(born 2024-01-01) is not of those ages"),
    ],
)
def test_an_age_note_says_in_plain_words_whether_the_patient_may_be_of_its_ages(
    birth: str, how: str
) -> None:
    patient = builders.patient(birth_date=birth, sex="F")
    conversion = _convert(
        patient, builders.wbc("5.2", "10*9/L", reference_range="6.0-17.5 (0-1 y)")
    )
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        "the lab's reference range '6.0-17.5 (0-1 y)' is not used (it is for ages '0-1 y', and "
        f"the patient {how} on the result date 2026-11-24); leukoflag's default range applies"
    )


# born 2026-11-22: 2 days old on the result date 2026-11-24
NEONATE = builders.patient(birth_date="20261122", sex="M")


@pytest.mark.parametrize(
    ("sent", "shown", "unread"),
    [
        ("0-1 y: 6.0-17.5; 0-72 h: 9.0-30.0", "'0-1 y' and '0-72 h'", "'0-72 h'"),
        ("0-1 y: 6.0-17.5; 0-7 Tg: 9.0-30.0", "'0-1 y' and '0-7 Tg'", "'0-7 Tg'"),
        (
            "0-7 Tg.: 9.0-30.0; 0-1 y: 6.0-17.5; >18 y: 4.0-11.0",
            "'0-7 Tg.', '0-1 y' and '>18 y'",
            "'0-7 Tg.' and '>18 y'",
        ),
    ],
)
def test_a_band_of_ages_not_read_may_be_the_patients_so_no_band_judges(
    sent: str, shown: str, unread: str
) -> None:
    # the neonate of 2 days was judged with the band 0-1 y, 20.0 H against 6.0-17.5, the band
    # for the first days (N against 9.0-30.0) left aside because its label was not read
    conversion = _convert(NEONATE, builders.wbc("20.0", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "age-band")
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used (it gives ranges for the ages {shown}, "
        f"and the patient is of '0-1 y', but leukoflag cannot read {unread}, which may be "
        "theirs); leukoflag's default range applies"
    )


@pytest.mark.parametrize(
    "sent",
    [
        "4.0-11.0 (a 2nd sample is required above 11)",
        "4.0-11.0 10*9/L (let stand 2 h before counting)",  # 'let': Czech for years
        "4.0-11.0 (dia 2 of the new method)",  # 'dia': Portuguese for day
    ],
)
def test_a_note_using_an_age_word_as_prose_is_no_age_note(sent: str) -> None:
    # the English article 'a' (or 'let', 'dia') and a digit anywhere in the note made it a note
    # of ages: the range was not used, 'it is noted for ages 'a 2nd sample …', which leukoflag
    # cannot read', and the man's 10.5 was H against the default 5,000-10,000
    conversion = _convert(ADULT, builders.wbc("10.5", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("N", "lab")
    assert (applied.low, applied.high) == (Decimal(4000), Decimal(11000))
    assert read_range_text(sent)[0].ages == ""
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


@pytest.mark.parametrize(
    ("sent", "birth"),
    [
        # 17 months: 0-1 y ends where 1-5 y starts, so the child is of 1-5 y
        (BANDS_TEXT, "20250615"),
        # the first birthday itself
        (BANDS_TEXT, "20251124"),
        # the fifth birthday is past 1-5 y when 5-18 y starts there
        ("0-1 y: 6.0-17.5; 1-5 y: 6.0-17.5; 5-18 y: 5.0-15.0", "20211124"),
        # the bands meet at one age written in two units (12 mo is 1 y)
        ("3-12 mo: 6.0-17.5; 1-5 y: 5.0-15.0", "20251101"),
    ],
)
def test_a_text_of_ranges_per_age_that_meet_at_an_age_judges_a_child_of_it_by_the_later(
    sent: str, birth: str
) -> None:
    # A WBC of 16.0 in a child of 17 months beside '0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0': the
    # lab's range was refused ("the patient is of '0-1 y' and '1-5 y' at once"), the age band
    # 6,000-17,000 judged it N, though the lab's band of the child's age, 5.0-15.0, makes it H
    patient = builders.patient(birth_date=birth, sex="M")
    conversion = _convert(patient, builders.wbc("16.0", "10*9/L", reference_range=sent))
    finding, applied = _finding_and_range(conversion)
    assert applied.source == "lab"
    assert (applied.low, applied.high) == (Decimal(5000), Decimal(15000))
    assert (finding.code, finding.rule) == ("H", "wbc-above-range")
    assert not [i for i in conversion.issues if i.code.startswith("flag.lab-range")]


def test_a_text_of_ranges_per_age_that_meet_is_not_used_for_a_birth_year_spanning_both() -> None:
    # born in 2025: 10 months to 1 year 10 months old on 2026-11-24, of '0-1 y' or of '1-5 y';
    # '0-1 y' (held until the second birthday in completed years) judged the WBC of 16.0 N
    patient = builders.patient(birth_date="2025", sex="M")
    sent = "0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0"
    conversion = _convert(patient, builders.wbc("16.0", "10*9/L", reference_range=sent))
    _, applied = _finding_and_range(conversion)
    assert applied.source != "lab"
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.text == (
        f"the lab's reference range {sent!r} is not used (it gives ranges for the ages '0-1 y' "
        "and '1-5 y', and the patient (born 2025-01-01 to 2025-12-31) may be of '0-1 y' or of "
        "'1-5 y', and is not known to be of one of them on the result date 2026-11-24); "
        "leukoflag's default range applies"
    )


@pytest.mark.parametrize(
    "sent", ["0-1 y: 6.0-17.5; 1-5 y: 5.0-15.0", "1-5 y: 5.0-15.0; 0-1 y: 6.0-17.5"]
)
def test_the_reason_no_age_band_is_used_weighs_every_band_in_any_order(sent: str) -> None:
    # born in 2020: 5 years 11 months to 6 years 10 months old on 2026-11-24, so of '1-5 y'
    # (completed years) when born in December; the reason weighed the first band written only,
    # saying 'is of none of them' (untrue) when '0-1 y' came first, 'may be of none of them'
    # when '1-5 y' did
    patient = builders.patient(birth_date="2020", sex="M")
    conversion = _convert(patient, builders.wbc("16.0", "10*9/L", reference_range=sent))
    (issue,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert issue.location == "MSG[1]/OBX[1]-7"
    assert (
        "and the patient (born 2020-01-01 to 2020-12-31) may not be of '1-5 y' on the result "
        "date 2026-11-24); leukoflag's default range applies" in issue.text
    )


def _sent_range_written(conversion: leukoflag.Conversion) -> list[dict[str, object]]:
    """The lab's referenceRange written on the one Observation (the one with a text)."""
    (bundle,) = conversion.bundles
    observations = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    (observation,) = observations
    return [r for r in observation.get("referenceRange", []) if "text" in r]


@pytest.mark.parametrize(
    ("sent", "limits", "after"),
    [
        ("Adult 4.0-11.0 Child 5.0-15.0", "4.0-11.0", "Child 5.0-15.0"),
        ("Adult: 4.0-11.0 Child: 5.0-15.0", "4.0-11.0", "Child: 5.0-15.0"),
        ("4.0-11.0 Adult 5.0-15.0 Child", "4.0-11.0", "Adult 5.0-15.0 Child"),
        ("4.0-11.0 10*9/L Child 5.0-15.0", "4.0-11.0", "10*9/L Child 5.0-15.0"),
    ],
)
def test_a_text_of_two_ranges_without_their_labels_read_is_not_one_range_with_a_unit(
    sent: str, limits: str, after: str
) -> None:
    # the second range was read as the first one's unit: written as low 4.0 and high 11.0 in the
    # unit 'Child 5.0-15.0', and the Issue asked for a row of the unit table for it
    conversion, issue = _range_unusable_for_a_woman(sent)
    assert issue.text == (
        f"the lab's reference range '{sent}' is not used ('{after}' after its limits "
        f"{limits} is no unit: it holds limits of another range, and which range is the "
        "patient's is not known); leukoflag's default range applies"
    )
    assert _sent_range_written(conversion) == [{"text": sent}]


def test_ages_written_after_the_limits_without_brackets_are_no_unit() -> None:
    # '3-12 mo' was read as the unit of 6.0-17.5: written so, and the Issue asked for a unit row
    conversion = _convert(INFANT, builders.wbc("5.2", "10*9/L", reference_range="6.0-17.5 3-12 mo"))
    finding, applied = _finding_and_range(conversion)
    assert (finding.code, applied.source) == ("L", "age-band")
    (issue,) = [i for i in conversion.issues if i.code.startswith("flag.lab-range")]
    assert issue.text == (
        "the lab's reference range '6.0-17.5 3-12 mo' is not used ('3-12 mo' after its limits "
        "6.0-17.5 is no unit: it may give ages, which leukoflag reads in brackets after the limits "
        "or as a label before them); leukoflag's default range applies"
    )
    assert _sent_range_written(conversion) == [{"text": "6.0-17.5 3-12 mo"}]
