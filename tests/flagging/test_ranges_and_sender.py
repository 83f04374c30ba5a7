"""The lab's range (policy, conversion, fallback) and the sender's own flag."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from leukoflag.model import Severity, Unit
from leukoflag.settings import Settings

from .build import (
    ANC,
    K_PER_UL,
    NEUT_PCT,
    PER_UL,
    UCUM,
    WBC,
    adult,
    code_of,
    evaluate,
    issue_codes,
    lab_range,
    one,
    range_of,
    result,
)


def test_lab_range_is_converted_with_the_result_unit() -> None:
    evaluation = one(result("4.2", unit=K_PER_UL, reference=lab_range("4.0-11.0", "4.0", "11.0")))
    reference = range_of(evaluation)
    assert (reference.low, reference.high) == (Decimal(4000), Decimal(11000))
    assert (reference.source, reference.text, reference.citation) == ("lab", "4.0-11.0", "")
    assert code_of(evaluation) == "N"  # 4,200 is low for the default female range, not the lab's


def test_lab_range_unit_inside_the_range_wins() -> None:
    sent = lab_range("4000-11000 /uL", "4000", "11000", PER_UL)
    evaluation = one(result("4.2", unit=K_PER_UL, reference=sent))
    assert (range_of(evaluation).low, range_of(evaluation).high) == (Decimal(4000), Decimal(11000))


def test_finding_names_the_lab_range_as_source() -> None:
    evaluation = one(result("12.5", unit=K_PER_UL, reference=lab_range("4.0-11.0", "4.0", "11.0")))
    finding = evaluation.finding
    assert finding is not None
    assert (finding.code, finding.rule, finding.threshold) == (
        "H",
        "wbc-above-range",
        Decimal(11000),
    )
    assert finding.range is not None
    assert finding.range.source == "lab"


def test_lab_range_with_only_a_low_limit() -> None:
    evaluation = one(result("50", unit=K_PER_UL, reference=lab_range(">4.0", "4.0", None)))
    assert (range_of(evaluation).low, range_of(evaluation).high) == (Decimal(4000), None)
    assert code_of(evaluation) == "N"


@pytest.mark.parametrize(
    ("code", "value", "sent", "low", "high"),
    [
        (WBC, "4.0", ">4.0", "4.0", None),
        (WBC, "11.0", "<11.0", None, "11.0"),
        (ANC, "1.5", ">1.5", "1.5", None),
    ],
)
def test_a_one_limit_lab_range_holds_its_limit(
    code: str, value: str, sent: str, low: str | None, high: str | None
) -> None:
    # '>' is the only way HL7 v2 OBX-7 writes a range with a lower limit only; a lab's '>4.0' is
    # clinical.md's threshold (a WBC below 4,000 is low), and FHIR writes it as
    # referenceRange.low, which holds its value: a WBC of exactly 4.0 is N, as the written range
    # says (a session of 2026-12-07 read it as excluding its limit, which gave L beside a written
    # low of 4,000, and was reverted)
    evaluation = one(result(value, code=code, unit=K_PER_UL, reference=lab_range(sent, low, high)))
    assert range_of(evaluation).source == "lab"
    assert code_of(evaluation) == "N"


def test_default_policy_ignores_the_lab_range() -> None:
    evaluation = one(
        result("4.2", unit=K_PER_UL, reference=lab_range("4.0-11.0", "4.0", "11.0")),
        settings=Settings(range_policy="default"),
    )
    assert range_of(evaluation).source == "default"
    assert code_of(evaluation) == "L"
    assert evaluation.issues == ()


@pytest.mark.parametrize(
    ("sent", "unit", "why"),
    [
        (lab_range("see report", None, None), K_PER_UL, "no numeric limits were read from it"),
        (lab_range("4.0-11.0", "4.0", "11.0", Unit("bananas")), K_PER_UL, "bananas"),
        (lab_range("4.0-11.0", "4.0", "11.0"), PER_UL, "not a plausible"),
        # a low limit alone, in 10*3/uL next to a value in cells/µL: not a WBC lower limit of 4
        (lab_range(">4.0", "4.0", None), PER_UL, "not a plausible"),
        (lab_range("11.0-4.0", "11.0", "4.0"), K_PER_UL, "not below"),
    ],
)
def test_unusable_lab_range_falls_back_to_the_default(sent: object, unit: Unit, why: str) -> None:
    value = "4200" if unit is PER_UL else "4.2"
    evaluation = one(result(value, unit=unit, reference=sent))  # type: ignore[arg-type]
    assert range_of(evaluation).source == "default"
    assert code_of(evaluation) == "L"
    issue = next(i for i in evaluation.issues if i.code == "flag.lab-range-unusable")
    assert issue.location == "MSG[1]/OBX[1]-7"
    assert why in issue.text


@pytest.mark.parametrize(
    ("value", "code", "sent", "read_as"),
    [
        ("3.2", WBC, lab_range("4.0-11.0", "4.0", "11.0"), "3.2 cells/µL"),
        # a German lab's thousands dots: '4.500 cells/µL' in the text read as the 4,500 meant
        ("4.500", WBC, lab_range("4.000-10.000", "4.000", "10.000"), "4.5 cells/µL and"),
        ("0.3", ANC, lab_range("1.5-7.5", "1.5", "7.5"), "0.3 cells/µL"),
        ("1.1", ANC, lab_range("<7.5", None, "7.5"), "1.1 cells/µL"),
        ("3.2", WBC, lab_range(">4.0", "4.0", None), "3.2 cells/µL"),
        ("1.2", ANC, lab_range(">=1.5", "1.5", None), "1.2 cells/µL"),
    ],
)
def test_value_and_range_both_too_small_in_the_unit_sent_are_not_flagged(
    value: str, code: str, sent: object, read_as: str
) -> None:
    # '3.2' '/uL' with '4.0-11.0': the lab measured in 10*3/uL; read as sent it was a WBC of
    # 3 cells/µL, critical low (LL) with CTCAE grade 4
    evaluation = one(result(value, code=code, unit=PER_UL, reference=sent))  # type: ignore[arg-type]
    assert evaluation.analyte is not None
    assert (evaluation.finding, evaluation.quantity) == (None, None)
    (issue,) = [i for i in evaluation.issues if i.code == "flag.scale-suspect"]
    assert (issue.severity.value, issue.location) == ("warning", "MSG[1]/OBX[1]-6")
    assert f"the value reads as {read_as}" in issue.text
    assert "flag.lab-range-unusable" not in issue_codes(evaluation)


def test_a_true_small_count_next_to_a_mislabelled_range_is_still_judged() -> None:
    # 200 cells/µL is a severe neutropenia; the range 1.5-7.5 is far from its scale
    evaluation = one(
        result("200", code=ANC, unit=PER_UL, reference=lab_range("1.5-7.5", "1.5", "7.5"))
    )
    assert code_of(evaluation) == "LL"
    assert "flag.lab-range-unusable" in issue_codes(evaluation)


def test_a_wbc_whose_unit_is_suspect_derives_no_anc() -> None:
    wbc = result("3.2", unit=PER_UL, reference=lab_range("4.0-11.0", "4.0", "11.0"), n=1)
    neut = result("30", code=NEUT_PCT, unit=Unit("%", "%", UCUM), n=2)
    evaluations = evaluate(wbc, neut)
    assert len(evaluations) == 2
    assert "flag.scale-suspect" in issue_codes(evaluations[0])


PER_LITRE_1E9 = Unit("10*9/L", "10*9/L", UCUM)


@pytest.mark.parametrize(
    ("value", "code", "unit", "read_as", "meant"),
    [
        ("0.0045", WBC, PER_LITRE_1E9, "4.5 cells/µL", "4,500 cells/µL"),
        ("0.0045", WBC, K_PER_UL, "4.5 cells/µL", "4,500 cells/µL"),
        ("0.0455", WBC, PER_LITRE_1E9, "45.5 cells/µL", "45,500 cells/µL"),
    ],
)
def test_a_count_reading_as_a_fraction_of_a_cell_per_microlitre_is_not_flagged(
    value: str, code: str, unit: Unit, read_as: str, meant: str
) -> None:
    # 0.0045 10*9/L was judged LL with CTCAE grade 4: 4.5 cells/µL, half a cell short of a
    # whole one, is no count; a WBC of 4.5 x10^9/L sent in 10^12/L reads so
    evaluation = one(result(value, code=code, unit=unit))
    assert evaluation.analyte is not None
    assert (evaluation.finding, evaluation.quantity) == (None, None)
    (issue,) = [i for i in evaluation.issues if i.code == "flag.scale-suspect"]
    assert (issue.severity.value, issue.location) == ("warning", "MSG[1]/OBX[1]-6")
    assert f"reads as {read_as}, a fraction of a cell" in issue.text
    assert f"it may mean {meant}" in issue.text


@pytest.mark.parametrize(
    ("value", "unit", "per_ul"),
    [
        ("0.0045", PER_LITRE_1E9, Decimal("4.5")),  # WBC 0.05 x10^9/L x 9 % neutrophils
        ("0.0035", K_PER_UL, Decimal("3.5")),  # WBC 0.07 K/uL x 5 %
        ("0.0455", PER_LITRE_1E9, Decimal("45.5")),  # WBC 0.35 x10^9/L x 13 %
    ],
)
def test_a_lab_calculated_anc_in_aplasia_reading_as_a_fraction_of_a_cell_is_judged(
    value: str, unit: Unit, per_ul: Decimal
) -> None:
    # an ANC is WBC x neutrophil share, so 0.05 x 0.09 = 0.0045 x10^9/L is a lab's true
    # count (4.5 cells/µL, as leukoflag derives from the same WBC and %): a profound
    # neutropenia, hidden as flag.scale-suspect
    evaluation = one(
        result(value, code=ANC, unit=unit, reference=lab_range("1.8-7.7", "1.8", "7.7"))
    )
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == per_ul
    assert code_of(evaluation) == "LL"
    assert "flag.scale-suspect" not in issue_codes(evaluation)


@pytest.mark.parametrize(
    ("value", "per_ul", "code"),
    [
        ("0.045", Decimal("45"), "LL"),  # a whole count: a profound neutropenia
        ("0.45678", Decimal("456.78"), "LL"),  # a calculated ANC, of more digits than measured
        ("1.23669", Decimal("1236.69"), "L"),  # its thousandfold is no plausible count
        ("0.00", Decimal(0), "LL"),
    ],
)
def test_small_counts_in_thousands_that_are_whole_or_calculated_are_judged(
    value: str, per_ul: Decimal, code: str
) -> None:
    evaluation = one(result(value, code=ANC, unit=PER_LITRE_1E9))
    assert evaluation.quantity is not None
    assert evaluation.quantity.value == per_ul
    assert code_of(evaluation) == code
    assert "flag.scale-suspect" not in issue_codes(evaluation)


@pytest.mark.parametrize(
    ("value", "sent", "issue"),
    [
        ("4200", ("L",), None),
        ("4200", ("A",), None),
        ("4200", ("N",), "warning"),
        ("4200", ("H",), "warning"),
        ("4200", ("LL",), "information"),
        ("1500", ("L",), "information"),
        ("1500", ("LL",), None),
        ("1500", ("L", "AA"), "information"),
        ("7000", ("N",), None),
        ("7000", ("L",), "warning"),
        ("7000", ("A",), "warning"),
        ("12000", ("H",), None),
        ("12000", ("HH",), "information"),
        ("7000", (), None),
        ("7000", ("XYZ",), None),  # a code leukoflag cannot compare
    ],
)
def test_sender_flag_disagreement_is_an_issue(
    value: str, sent: tuple[str, ...], issue: str | None
) -> None:
    evaluation = one(result(value, flags=sent), context=adult("female"))
    found = [i for i in evaluation.issues if i.code == "flag.sender-disagrees"]
    assert [i.severity.value for i in found] == ([issue] if issue else [])
    if found:
        assert found[0].location == "MSG[1]/OBX[1]-8"
    assert evaluation.finding is not None
    assert evaluation.finding.sender_flags == sent


@pytest.mark.parametrize(
    ("value", "sent", "against"),
    [
        ("3100", ("N", "L"), "the sender's N disagrees with"),  # computed L
        ("3100", ("H", "L"), "the sender's H disagrees with"),
        ("3100", ("L", "N", "H"), "the sender's N~H disagree with"),
        ("7000", ("N", "A"), "the sender's A disagrees with"),  # computed N
    ],
)
def test_contradictory_sender_flags_disagree_even_when_one_matches(
    value: str, sent: tuple[str, ...], against: str
) -> None:
    # N~L beside a computed L raised nothing: the flag that matched hid the one that did not
    reference = lab_range("4.0-11.0", "4.0", "11.0", K_PER_UL)
    evaluation = one(result(value, flags=sent, reference=reference), context=adult("female"))
    (issue,) = [i for i in evaluation.issues if i.code == "flag.sender-disagrees"]
    assert (issue.severity, issue.location) == (Severity.WARNING, "MSG[1]/OBX[1]-8")
    assert issue.text.startswith(f"the sender flagged {'~'.join(sent)}, flags that contradict")
    assert issue.text.endswith(against)


@pytest.mark.parametrize(
    ("value", "sent", "text"),
    [
        (
            "3100",
            ("H", "A"),
            "the sender flagged H~A; leukoflag computed L, which the sender's H disagrees with",
        ),
        (
            "3100",
            ("AA", "HH"),
            "the sender flagged AA~HH; leukoflag computed L, which the sender's HH disagrees with",
        ),
        (
            "7000",
            ("L", "A", "LL"),
            "the sender flagged L~A~LL; leukoflag computed N",
        ),
    ],
)
def test_sender_flags_that_agree_with_each_other_are_not_called_contradictory(
    value: str, sent: tuple[str, ...], text: str
) -> None:
    # H~A (high, and abnormal as any high is) beside a computed L was said to be 'flags that
    # contradict each other', sending the reader to the sender's flags instead of the count
    reference = lab_range("4.0-11.0", "4.0", "11.0", K_PER_UL)
    evaluation = one(result(value, flags=sent, reference=reference), context=adult("female"))
    (issue,) = [i for i in evaluation.issues if i.code == "flag.sender-disagrees"]
    assert (issue.severity, issue.location) == (Severity.WARNING, "MSG[1]/OBX[1]-8")
    assert issue.text == text


def test_each_result_gets_its_own_sender_disagreement() -> None:
    fhir = dataclasses.replace(result("7000", flags=("L",), n=3), location="Bundle.entry[3]")
    evaluations = evaluate(result("7000", flags=("L",)), result("7000", flags=("L",), n=2), fhir)
    located = [
        [(i.location, i.text) for i in e.issues if i.code == "flag.sender-disagrees"]
        for e in evaluations
    ]
    text = "the sender flagged L; leukoflag computed N"
    assert located == [
        [("MSG[1]/OBX[1]-8", text)],
        [("MSG[1]/OBX[2]-8", text)],
        [("Bundle.entry[3]", "the sender's interpretation is L; leukoflag computed N")],
    ]


def test_sender_flags_are_quoted_as_the_input_wrote_them() -> None:
    # OBX-8 repetitions are L~L in HL7 v2; a FHIR Observation has a list of interpretations.
    v2 = result("1400", flags=("L", "L"))
    fhir = dataclasses.replace(result("1400", flags=("L", "L"), n=2), location="Bundle.entry[2]")
    texts = [
        [i.text for i in e.issues if i.code == "flag.sender-disagrees"] for e in evaluate(v2, fhir)
    ]
    assert texts == [
        ["the sender flagged L~L; leukoflag computed LL (same side, other level)"],
        ["the sender's interpretation is L, L; leukoflag computed LL (same side, other level)"],
    ]


def test_computed_code_is_kept_apart_from_the_sender_flag() -> None:
    evaluation = one(result("1400", code=ANC, flags=("N",)))
    assert code_of(evaluation) == "L"
    assert evaluation.finding is not None
    assert evaluation.finding.sender_flags == ("N",)
    assert "flag.sender-disagrees" in issue_codes(evaluation)
