"""A derived ANC: WBC × neutrophil %, or segmented + band counts, only when no ANC was sent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal

import pytest

import leukoflag
from leukoflag._quote import quoted
from leukoflag.model import (
    Coding,
    Concept,
    Evaluation,
    Issue,
    LabResult,
    NoValue,
    PatientContext,
    ResultStatus,
    Timestamp,
    Unit,
)

from . import build
from .build import (
    ANC,
    K_PER_UL,
    NEUT_PCT,
    ORDER,
    code_of,
    evaluate,
    issue_codes,
    local,
    result,
    specimen,
)

PCT = Unit("%", "%", "http://unitsofmeasure.org")


def test_wbc_times_neutrophil_percent_gives_a_derived_anc() -> None:
    wbc = result("4.0", unit=K_PER_UL, n=1)
    neut = result("30", code=NEUT_PCT, unit=PCT, n=2)
    evaluations = evaluate(wbc, neut)
    assert len(evaluations) == 3
    derived = evaluations[2]
    assert derived.location == f"{ORDER}/ANC[derived]"
    assert derived.derived_from == ("MSG[1]/OBX[1]", "MSG[1]/OBX[2]")
    assert derived.quantity is not None
    assert derived.quantity.value == 1200
    assert derived.loinc is not None
    assert derived.loinc.code == "26499-4"
    finding = derived.finding
    assert finding is not None
    assert finding.derived
    assert (finding.code, finding.rule, finding.severity) == ("L", "anc-neutropenia", "mild")
    assert derived.issues[0].code == "flag.anc-derived"
    assert derived.issues[0].severity.value == "information"
    assert evaluations[1].analyte is None  # the percent itself is never a count


def test_derived_anc_is_flagged_by_the_same_rules() -> None:
    evaluations = evaluate(
        result("2.0", unit=K_PER_UL, n=1), result("20", code=NEUT_PCT, unit=PCT, n=2)
    )
    assert code_of(evaluations[2]) == "LL"  # 400 cells/µL


def test_no_derived_anc_when_the_lab_sent_one() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
        result("1.2", code=ANC, unit=K_PER_UL, n=3),
    )
    assert len(evaluations) == 3
    assert all(not e.derived_from for e in evaluations)


def test_results_at_different_times_are_not_combined() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, day="2026-03-10"),
        result("30", code=NEUT_PCT, unit=PCT, n=2, day="2026-03-11"),
    )
    assert len(evaluations) == 2


def test_results_from_different_specimens_are_not_combined() -> None:
    first, second = specimen("BLD", n=1), specimen("BLD", n=2)
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, specimen=first.location),
        result("30", code=NEUT_PCT, unit=PCT, n=2, specimen=second.location),
        specimens=(first, second),
    )
    assert len(evaluations) == 2


def test_segmented_plus_band_counts_give_a_derived_anc() -> None:
    evaluations = evaluate(
        result("0.9", code="30451-9", unit=K_PER_UL, n=1),
        result("0.2", code="26507-4", unit=K_PER_UL, n=2),
    )
    derived = evaluations[2]
    assert derived.quantity is not None
    assert derived.quantity.value == 1100
    assert derived.derived_from == ("MSG[1]/OBX[1]", "MSG[1]/OBX[2]")
    assert "segmented + band" in derived.issues[0].text


def test_segmented_plus_band_counts_above_the_wbc_of_their_draw_give_no_anc() -> None:
    # a manual differential of 1.5 segmented and 0.3 band neutrophils x10^3/µL beside a WBC of
    # 1.0 x10^3/µL of the same draw: 1,800 neutrophils among 1,000 white cells cannot be. The
    # ANC derived from the counts, 1,800/µL, was judged N beside the WBC judged LL.
    evaluations = evaluate(
        result("1.0", unit=K_PER_UL, n=1),
        result("1.5", code="30451-9", unit=K_PER_UL, n=2),
        result("0.3", code="26507-4", unit=K_PER_UL, n=3),
    )
    assert len(evaluations) == 3  # no derived ANC
    assert code_of(evaluations[0]) == "LL"
    (issue,) = not_derived(evaluations)
    assert issue.text == (
        "the order has no measured ANC, and none was derived from WBC MSG[1]/OBX[1], "
        "segmented neutrophil count MSG[1]/OBX[2], band neutrophil count MSG[1]/OBX[3]: "
        "segmented neutrophil count MSG[1]/OBX[2] and band neutrophil count MSG[1]/OBX[3] at "
        "2026-03-10 add up to 1,800 cells/µL, more than WBC MSG[1]/OBX[1] (1,000 cells/µL): "
        "one of them is wrong"
    )


def test_segmented_plus_band_counts_above_the_wbc_only_as_it_was_rounded_give_an_anc() -> None:
    # a WBC written with one decimal, 0.6 x10^3/µL (0.55 to 0.65), and counts with two, 0.61
    # and 0.03 (95 % neutrophils of a WBC of 0.64): 640 is above 600 only by the WBC's rounding.
    # No ANC was derived and the Issue said 'one of them is wrong'; the ANC of 640/µL, a
    # moderate neutropenia, was lost
    evaluations = evaluate(
        result("0.6", unit=K_PER_UL, n=1),
        result("0.61", code="30451-9", unit=K_PER_UL, n=2),
        result("0.03", code="26507-4", unit=K_PER_UL, n=3),
    )
    assert not_derived(evaluations) == []
    derived = evaluations[3]
    assert derived.quantity is not None
    assert (derived.quantity.value, code_of(derived)) == (decimal.Decimal(640), "LU")


def test_segmented_plus_band_counts_above_the_wbc_beyond_its_rounding_give_no_anc() -> None:
    # 0.65 + 0.06 is at least 0.705 as written, above the 0.65 a WBC written 0.6 can be
    evaluations = evaluate(
        result("0.6", unit=K_PER_UL, n=1),
        result("0.65", code="30451-9", unit=K_PER_UL, n=2),
        result("0.06", code="26507-4", unit=K_PER_UL, n=3),
    )
    assert len(evaluations) == 3  # no derived ANC
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        "add up to 710 cells/µL, more than WBC MSG[1]/OBX[1] (600 cells/µL): one of them is wrong"
    )


def test_segmented_plus_band_counts_equal_to_the_wbc_give_an_anc() -> None:
    evaluations = evaluate(
        result("1.8", unit=K_PER_UL, n=1),
        result("1.5", code="30451-9", unit=K_PER_UL, n=2),
        result("0.3", code="26507-4", unit=K_PER_UL, n=3),
    )
    derived = evaluations[3]
    assert derived.quantity is not None
    assert derived.quantity.value == 1800


def test_segmented_plus_band_counts_keep_their_sum_to_the_fraction_of_a_cell() -> None:
    evaluations = evaluate(
        result("1.234", code="30451-9", unit=K_PER_UL, n=1),
        result("0.0567", code="26507-4", unit=K_PER_UL, n=2),
    )
    derived = evaluations[2]
    assert derived.quantity is not None
    assert str(derived.quantity.value) == "1290.7"  # 1,234 + 56.7, as judged
    assert "ANC 1,290.7 cells/µL" in derived.issues[0].text


@pytest.mark.parametrize(
    ("wbc", "percent", "value", "code", "rule"),
    [
        # 3,000 × 49.99 % = 1,499.7: below 1,500 (neutropenia); rounded first, 1,500 was N
        ("3.0", "49.99", "1499.7", "L", "anc-neutropenia"),
        # 2,350 × 21.27 % = 499.845: below the critical low of 500; rounded first, 500 was LU
        ("2.35", "21.27", "499.845", "LL", "anc-critical-low"),
        # 1,999 × 50 % = 999.5: below 1,000 (LU); rounded half to even, 1,000 was L
        ("1.999", "50", "999.5", "LU", "anc-significantly-low"),
    ],
)
def test_a_derived_anc_is_judged_as_computed_not_rounded_across_a_threshold(
    wbc: str, percent: str, value: str, code: str, rule: str
) -> None:
    evaluations = evaluate(
        result(wbc, unit=K_PER_UL, n=1), result(percent, code=NEUT_PCT, unit=PCT, n=2)
    )
    derived = evaluations[2]
    assert derived.quantity is not None
    assert str(derived.quantity.value) == value
    assert derived.finding is not None
    assert (derived.finding.value_per_ul, derived.finding.code, derived.finding.rule) == (
        decimal.Decimal(value),
        code,
        rule,
    )


def test_segmented_count_alone_is_not_an_anc() -> None:
    evaluations = evaluate(result("0.9", code="30451-9", unit=K_PER_UL, n=1))
    assert len(evaluations) == 1
    assert evaluations[0].analyte is None


def test_segmented_plus_band_percent_of_wbc() -> None:
    evaluations = evaluate(
        result("5.0", unit=K_PER_UL, n=1),
        result("20", code="26505-8", unit=PCT, n=2),
        result("4", code="26508-2", unit=PCT, n=3),
    )
    derived = evaluations[3]
    assert derived.quantity is not None
    assert derived.quantity.value == 1200
    assert len(derived.derived_from) == 3


def test_a_whole_derived_value_is_written_as_a_whole_number() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("30.0", code=NEUT_PCT, unit=PCT, n=2)
    )
    assert evaluations[2].quantity is not None
    assert str(evaluations[2].quantity.value) == "1200"  # not 1200.00 (4.0 × 30.0)


def test_a_derived_value_keeps_its_fraction_of_a_cell() -> None:
    evaluations = evaluate(
        result("3.33", unit=K_PER_UL, n=1), result("45.5", code=NEUT_PCT, unit=PCT, n=2)
    )
    assert evaluations[2].quantity is not None
    assert str(evaluations[2].quantity.value) == "1515.15"


_CALLER_CONTEXTS = {
    "round-down": {"rounding": decimal.ROUND_DOWN},
    "two-digits": {"prec": 2},
    "inexact-trapped": {"traps": [decimal.Inexact, decimal.Rounded]},
}


@pytest.mark.parametrize("context", list(_CALLER_CONTEXTS))
@pytest.mark.parametrize(
    ("wbc", "parts", "value"),
    [
        # 2,350 × 21.27 % = 499.845: below the ANC critical low of 500, whatever the context
        ("2.35", [("21.27", NEUT_PCT, PCT)], "499.845"),
        ("2.35", [("0.2127", NEUT_PCT, Unit("1", "1", "http://unitsofmeasure.org"))], "499.845"),
        ("2.35", [("19.13", "26505-8", PCT), ("2.14", "26508-2", PCT)], "499.845"),
        (None, [("0.4634", "30451-9", K_PER_UL), ("0.0365", "26507-4", K_PER_UL)], "499.9"),
    ],
)
def test_the_callers_decimal_context_does_not_change_a_derived_anc(
    context: str, wbc: str | None, parts: list[tuple[str, str, Unit]], value: str
) -> None:
    # an integration engine's thread may set its own precision, rounding or traps
    results = [result(wbc, unit=K_PER_UL, n=1)] if wbc else []
    results += [
        result(sent, code=code, unit=unit, n=len(results) + n)
        for n, (sent, code, unit) in enumerate(parts, 1)
    ]
    with decimal.localcontext(**_CALLER_CONTEXTS[context]):  # type: ignore[arg-type]
        derived = evaluate(*results)[-1]
    assert derived.quantity is not None
    assert derived.analyte is not None
    assert str(derived.quantity.value) == value
    assert code_of(derived) == "LL"


def test_percent_with_a_comparator_is_not_used() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1),
        result("1", code=NEUT_PCT, unit=PCT, n=2, comparator="<"),
    )
    assert len(evaluations) == 2


def test_percent_above_100_is_not_used() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("130", code=NEUT_PCT, unit=PCT, n=2)
    )
    assert len(evaluations) == 2


def test_percent_sent_in_a_count_unit_is_not_used() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("1.2", code=NEUT_PCT, unit=K_PER_UL, n=2)
    )
    assert len(evaluations) == 2


def test_cancelled_percent_is_not_used() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1),
        result("30", code=NEUT_PCT, unit=PCT, n=2, status=ResultStatus.CANCELLED),
    )
    assert len(evaluations) == 2


def test_wbc_with_a_comparator_is_not_used() -> None:
    evaluations = evaluate(
        result("1.0", unit=K_PER_UL, n=1, comparator="<"),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
    )
    assert len(evaluations) == 2


def test_local_percent_text_derives_too() -> None:
    evaluations = evaluate(
        result("4.0", code=local("WBC"), unit=K_PER_UL, n=1),
        result("30", code=local("2003", "Neut %"), unit=PCT, n=2),
    )
    assert len(evaluations) == 3
    assert evaluations[2].quantity is not None
    assert evaluations[2].quantity.value == 1200


def test_two_result_times_give_two_derived_ancs() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, day="2026-03-10"),
        result("30", code=NEUT_PCT, unit=PCT, n=2, day="2026-03-10"),
        result("6.0", unit=K_PER_UL, n=3, day="2026-03-11"),
        result("60", code=NEUT_PCT, unit=PCT, n=4, day="2026-03-11"),
    )
    derived = [e for e in evaluations if e.derived_from]
    assert [e.location for e in derived] == [f"{ORDER}/ANC[derived]", f"{ORDER}/ANC[derived-2]"]
    assert [e.quantity.value for e in derived if e.quantity] == [1200, 3600]


@pytest.mark.parametrize(
    "percent_time",
    [
        "2026-03-10T13:05:00+00:00",  # the same instant in UTC
        "2026-03-10T13:05:00Z",
        "2026-03-10T08:05:00.000-05:00",  # with milliseconds
    ],
)
def test_results_at_one_instant_written_differently_are_combined(percent_time: str) -> None:
    def at(fhir_time: str) -> Timestamp:
        return Timestamp(fhir_time, fhir_time, dt.date(2026, 3, 10))

    wbc = result("4.0", unit=K_PER_UL, n=1)
    percent = result("30", code=NEUT_PCT, unit=PCT, n=2)
    evaluations = evaluate(
        dataclasses.replace(wbc, effective=at("2026-03-10T08:05:00-05:00")),
        dataclasses.replace(percent, effective=at(percent_time)),
    )
    assert len(evaluations) == 3
    assert evaluations[2].quantity is not None
    assert evaluations[2].quantity.value == 1200


@pytest.mark.parametrize(
    ("fhir_time", "day"),
    [
        ("9999-12-31T23:30:00-01:00", dt.date(9999, 12, 31)),  # past year 9999 in UTC
        ("0001-01-01T00:30:00+01:00", dt.date(1, 1, 1)),  # before year 1 in UTC
    ],
)
def test_results_whose_utc_instant_is_past_the_calendar_still_give_a_derived_anc(
    fhir_time: str, day: dt.date
) -> None:
    # A time a sender mistyped at the calendar's edge: no OverflowError, the one time is one.
    stamp = Timestamp(fhir_time, fhir_time, day)
    evaluations = evaluate(
        dataclasses.replace(result("4.0", unit=K_PER_UL, n=1), effective=stamp),
        dataclasses.replace(result("30", code=NEUT_PCT, unit=PCT, n=2), effective=stamp),
    )
    assert len(evaluations) == 3
    assert evaluations[2].quantity is not None
    assert evaluations[2].quantity.value == 1200


def test_results_a_second_apart_are_not_combined() -> None:
    def at(fhir_time: str) -> Timestamp:
        return Timestamp(fhir_time, fhir_time, dt.date(2026, 3, 10))

    evaluations = evaluate(
        dataclasses.replace(
            result("4.0", unit=K_PER_UL, n=1), effective=at("2026-03-10T08:05:00-05:00")
        ),
        dataclasses.replace(
            result("30", code=NEUT_PCT, unit=PCT, n=2), effective=at("2026-03-10T08:05:01-05:00")
        ),
    )
    assert len(evaluations) == 2


def test_derived_anc_of_an_adult_without_birth_date_says_so() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
        context=PatientContext(),
    )
    assert "flag.age-unknown" in issue_codes(evaluations[2])


def test_neutrophil_fraction_counts_as_its_percent() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1),
        result("0.30", code=NEUT_PCT, unit=Unit("1", "1", "http://unitsofmeasure.org"), n=2),
    )
    assert len(evaluations) == 3
    assert evaluations[2].quantity is not None
    assert evaluations[2].quantity.value == 1200


def test_percent_in_a_unit_spelling_units_does_not_know_is_not_used() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("30", code=NEUT_PCT, unit=Unit("pct"), n=2)
    )
    assert len(evaluations) == 2


def test_percent_without_unit_is_read_as_a_percent() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("30", code=NEUT_PCT, unit=None, n=2)
    )
    assert evaluations[2].quantity is not None
    assert evaluations[2].quantity.value == 1200


def test_derived_anc_is_numbered_in_result_order() -> None:
    # The first result's time gives the first derived ANC, whatever kind of result it is.
    evaluations = evaluate(
        result("60", code=NEUT_PCT, unit=PCT, n=1, day="2026-03-11"),
        result("4.0", unit=K_PER_UL, n=2, day="2026-03-10"),
        result("30", code=NEUT_PCT, unit=PCT, n=3, day="2026-03-10"),
        result("6.0", unit=K_PER_UL, n=4, day="2026-03-11"),
    )
    derived = [e for e in evaluations if e.derived_from]
    assert [e.derived_from for e in derived] == [
        ("MSG[1]/OBX[4]", "MSG[1]/OBX[1]"),
        ("MSG[1]/OBX[2]", "MSG[1]/OBX[3]"),
    ]
    assert [e.quantity.value for e in derived if e.quantity] == [3600, 1200]


def test_segmented_count_without_unit_is_not_used() -> None:
    evaluations = evaluate(
        result("0.9", code="30451-9", unit=None, n=1),
        result("0.2", code="26507-4", unit=K_PER_UL, n=2),
    )
    assert len(evaluations) == 2


@pytest.mark.parametrize(
    ("segmented", "band", "derived"), [("1.200", "0.100", None), ("1200", "100", 1300)]
)
def test_segmented_and_band_counts_per_microlitre_with_decimals_derive_no_anc(
    segmented: str, band: str, derived: int | None
) -> None:
    # 1.200 + 0.100 /µl (thousands dots) derived an ANC of 1 cell/µL: LL, profound neutropenia
    per_ul = build.PER_UL
    evaluations = evaluate(
        result(segmented, code="30451-9", unit=per_ul, n=1),
        result(band, code="26507-4", unit=per_ul, n=2),
    )
    values = [e.quantity.value for e in evaluations if e.derived_from and e.quantity]
    assert values == ([] if derived is None else [derived])


def test_a_percent_that_is_not_a_number_gives_no_derived_anc() -> None:
    # A Number built by hand may hold NaN (the readers refuse it): no derived ANC, no exception.
    wbc = result("6.0", unit=K_PER_UL, n=1)
    evaluations = evaluate(wbc, result("NaN", code=NEUT_PCT, unit=PCT, n=2))
    assert len(evaluations) == 2
    assert code_of(evaluations[0]) == "N"
    assert evaluations[1].analyte is None


# --------------------------------------------------------------------------- corrections


def test_a_corrected_wbc_replaces_its_original_in_the_derived_anc() -> None:
    evaluations = evaluate(
        result("3.1", unit=K_PER_UL, n=1),  # the original, OBX-11 F
        result("3.4", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED),  # its correction, C
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    derived = evaluations[3]
    assert derived.derived_from == ("MSG[1]/OBX[2]", "MSG[1]/OBX[3]")
    assert derived.quantity is not None
    assert derived.quantity.value == 1360  # 3,400 × 40 %, not 3,100 × 40 %


def test_an_amended_percent_replaces_its_original_in_the_derived_anc() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1),
        result("30", code=NEUT_PCT, unit=PCT, n=2, status=ResultStatus.AMENDED),
        result("25", code=NEUT_PCT, unit=PCT, n=3),
    )
    derived = evaluations[3]
    assert derived.derived_from == ("MSG[1]/OBX[1]", "MSG[1]/OBX[2]")
    assert derived.quantity is not None
    assert derived.quantity.value == 1200


def test_two_final_wbcs_at_one_time_give_no_anc_and_say_so() -> None:
    evaluations = evaluate(
        result("3.1", unit=K_PER_UL, n=1),
        result("3.4", unit=K_PER_UL, n=2),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 3
    (issue,) = not_derived(evaluations)
    assert issue.text == (
        "the order has no measured ANC, and none was derived from WBC MSG[1]/OBX[1], "
        "WBC MSG[1]/OBX[2], neutrophils % MSG[1]/OBX[3]: 2 WBC results at 2026-03-10 "
        "(MSG[1]/OBX[1], MSG[1]/OBX[2]): which one to use is not known (a corrected result "
        "of the same code, OBX-4 sub-ID, specimen and time would replace the others)"
    )


@pytest.mark.parametrize(
    "corrected",
    [
        build.loinc("33256-9"),
        build.loinc("12227-5"),
        # a lab's own code with its LOINC translation (OBX-3.4-6): LOINC decides
        Concept(
            (
                Coding("WBCC", "WBC corrected", "", "99LAB"),
                Coding("33256-9", "Leukocytes corrected for nRBC", build.LOINC, "LN"),
            )
        ),
    ],
)
def test_the_wbc_corrected_for_nucleated_red_cells_derives_the_anc(corrected: Concept) -> None:
    # the analyzer's WBC (6690-2) counts nucleated red cells as white cells; the differential's
    # percents are of the corrected WBC, so its ANC is of that one, not "which one is not known"
    evaluations = evaluate(
        result("3.4", unit=K_PER_UL, n=1),
        result("3.1", code=corrected, unit=K_PER_UL, n=2),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 4
    derived = evaluations[3]
    assert derived.derived_from == ("MSG[1]/OBX[2]", "MSG[1]/OBX[3]")
    assert derived.quantity is not None
    assert derived.quantity.value == 1240
    assert code_of(derived) == "L"
    assert not_derived(evaluations) == []
    (note,) = [i for i in derived.issues if i.code == "flag.anc-derived"]
    assert "derived as WBC corrected for nucleated red cells × neutrophils % from" in note.text


def test_two_wbcs_both_corrected_for_nucleated_red_cells_give_no_anc() -> None:
    evaluations = evaluate(
        result("3.4", code="33256-9", unit=K_PER_UL, n=1),
        result("3.1", code="12227-5", unit=K_PER_UL, n=2),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 3
    (issue,) = not_derived(evaluations)
    assert "2 WBC results at 2026-03-10 (MSG[1]/OBX[1], MSG[1]/OBX[2])" in issue.text


@pytest.mark.parametrize(
    ("corrected", "why"),
    [
        # nucleated red cells counted as white cells: the corrected count is below 1.0
        (result("1.0", code="33256-9", unit=K_PER_UL, n=2, comparator="<"), "a bound"),
        (
            result("1.9", code="33256-9", unit=K_PER_UL, n=2, status=ResultStatus.CANCELLED),
            "flag.status-not-flaggable",
        ),
    ],
)
def test_an_unusable_corrected_wbc_keeps_the_uncorrected_one_from_deriving(
    corrected: LabResult, why: str
) -> None:
    # the percents are of the corrected count: 40 % of the analyzer's 3.4 (an ANC of 1,360)
    # overstates neutrophils that are 40 % of fewer than 1,000 white cells
    evaluations = evaluate(
        result("3.4", unit=K_PER_UL, n=1),
        corrected,
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 3  # no ANC
    (issue,) = not_derived(evaluations)
    assert why in issue.text
    assert (
        "WBC MSG[1]/OBX[1] is not corrected for nucleated red cells, and the differential's "
        "percents are of the corrected WBC at 2026-03-10, which is not used" in issue.text
    )


def test_a_corrected_wbc_of_another_draw_leaves_the_uncorrected_one_deriving() -> None:
    evaluations = evaluate(
        result("3.4", unit=K_PER_UL, n=1),
        result("1.0", code="33256-9", unit=K_PER_UL, n=2, comparator="<", day="2026-03-11"),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    derived = evaluations[3]
    assert derived.derived_from == ("MSG[1]/OBX[1]", "MSG[1]/OBX[3]")
    assert derived.quantity is not None
    assert derived.quantity.value == 1360


def test_two_corrected_wbcs_at_one_time_give_no_anc() -> None:
    evaluations = evaluate(
        result("3.1", unit=K_PER_UL, n=1),
        result("3.4", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED),
        result("3.6", unit=K_PER_UL, n=3, status=ResultStatus.CORRECTED),
        result("40", code=NEUT_PCT, unit=PCT, n=4),
    )
    assert len(evaluations) == 4
    (issue,) = not_derived(evaluations)
    # the original is set aside by both; which correction stands is not known
    assert "WBC MSG[1]/OBX[1] is not used (not judged: flag.result-superseded)" in issue.text
    for location in ("MSG[1]/OBX[2]", "MSG[1]/OBX[3]"):
        assert (
            f"WBC {location} is not used (MSG[1]/OBX[2], MSG[1]/OBX[3] each correct the same "
            "result, and which one stands is not known)"
        ) in issue.text


def test_a_correction_known_only_by_a_bound_leaves_its_sibling_undecided_for_the_anc() -> None:
    # F 3.0 corrected twice, to <1.0 and to 3.6: if the <1.0 stands the ANC is under 400, so
    # no ANC of 1,440 from the 3.6 as if it stood
    evaluations = evaluate(
        result("3.0", unit=K_PER_UL, n=1),
        result("1.0", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED, comparator="<"),
        result("3.6", unit=K_PER_UL, n=3, status=ResultStatus.CORRECTED),
        result("40", code=NEUT_PCT, unit=PCT, n=4),
    )
    assert len(evaluations) == 4
    assert not [e for e in evaluations if e.derived_from]
    assert code_of(evaluations[1]) == "LL"  # each correction is still judged
    assert code_of(evaluations[2]) == "L"
    (issue,) = not_derived(evaluations)
    assert issue.location == ORDER
    assert "WBC MSG[1]/OBX[2] is not used (<1,000 cells/µL is known only by a bound)" in issue.text
    assert issue.text.endswith(
        "WBC MSG[1]/OBX[3] is not used (MSG[1]/OBX[2], MSG[1]/OBX[3] each correct the same "
        "result, and which one stands is not known)"
    )


def test_two_corrections_of_one_neutrophil_percent_give_no_anc() -> None:
    # the 40 % is corrected to <5 % and to 45 %: which stands is not known
    evaluations = evaluate(
        result("3.0", unit=K_PER_UL, n=1),
        result("40", code=NEUT_PCT, unit=PCT, n=2),
        result("5", code=NEUT_PCT, unit=PCT, n=3, status=ResultStatus.CORRECTED, comparator="<"),
        result("45", code=NEUT_PCT, unit=PCT, n=4, status=ResultStatus.AMENDED),
    )
    assert len(evaluations) == 4
    (issue,) = not_derived(evaluations)
    assert "neutrophils % MSG[1]/OBX[3] is not used (its value '<5' is known only by a bound)" in (
        issue.text
    )
    assert issue.text.endswith(
        "neutrophils % MSG[1]/OBX[4] is not used (MSG[1]/OBX[3], MSG[1]/OBX[4] each correct the "
        "same result, and which one stands is not known)"
    )


def test_a_corrected_wbc_sets_aside_the_final_one_it_replaces() -> None:
    # F 2.4 then C 6.4 of the same WBC: the leukopenia of the original is no longer the patient's
    original, corrected = evaluate(
        result("2.4", unit=K_PER_UL, n=1, flags=("L",)),
        result("6.4", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED),
    )
    assert original.finding is None
    assert original.quantity is not None
    assert original.quantity.value == 2400  # the value is still normalized
    (issue,) = original.issues
    assert (issue.code, issue.severity.value, issue.location) == (
        "flag.result-superseded",
        "information",
        "MSG[1]/OBX[1]-11",
    )
    assert issue.text.startswith(
        "not flagged: this final result is replaced by MSG[1]/OBX[2] (corrected) of the same "
        "code, OBX-4 sub-ID, specimen and time"
    )
    assert code_of(corrected) == "N"
    assert corrected.issues == ()  # one correction: nothing in doubt


def test_two_corrections_of_one_wbc_are_both_judged_and_the_later_says_which_is_unclear() -> None:
    # F 2.4, then C 6.4 and C 1.8 of the same WBC: the lab did not say which correction stands
    original, first, second = evaluate(
        result("2.4", unit=K_PER_UL, n=1),
        result("6.4", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED),
        result("1.8", unit=K_PER_UL, n=3, status=ResultStatus.CORRECTED),
    )
    assert original.finding is None
    assert code_of(first) == "N"
    assert code_of(second) == "LL"  # still judged: hiding a low count is the worse error
    assert "flag.correction-ambiguous" not in issue_codes(first)
    (issue,) = [i for i in second.issues if i.code == "flag.correction-ambiguous"]
    assert (issue.severity.value, issue.location) == ("warning", "MSG[1]/OBX[3]-11")
    assert issue.text == (
        "this corrected result and MSG[1]/OBX[2] (corrected) of the same code, OBX-4 sub-ID, "
        "specimen and time each replace the same result: which one stands is not known; none is "
        "set aside, so a low one puts its finding in the report's conclusion"
    )


def test_a_masked_second_correction_names_why_it_is_not_used_for_the_anc() -> None:
    evaluations = evaluate(
        result("0", n=1, status=ResultStatus.CORRECTED, data_absent_reason="not-performed"),
        result("0", n=2, status=ResultStatus.CORRECTED, data_absent_reason="not-performed"),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert "flag.correction-ambiguous" in issue_codes(evaluations[1])
    (issue,) = not_derived(evaluations)
    assert "WBC MSG[1]/OBX[2] is not used (not judged: flag.data-absent)" in issue.text


def test_an_amendment_and_a_correction_of_one_wbc_without_the_original_are_ambiguous() -> None:
    amended, corrected = evaluate(
        result("3.9", unit=K_PER_UL, n=1, status=ResultStatus.AMENDED),
        result("5.0", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED),
    )
    assert code_of(amended) == "L"
    assert code_of(corrected) == "N"
    assert issue_codes(amended) == []
    (issue,) = [i for i in corrected.issues if i.code == "flag.correction-ambiguous"]
    assert "and MSG[1]/OBX[1] (amended) of the same code" in issue.text


def test_corrections_of_two_sub_ids_are_not_ambiguous() -> None:
    evaluations = evaluate(
        dataclasses.replace(
            result("3.9", unit=K_PER_UL, n=1, status=ResultStatus.CORRECTED), sub_id="1"
        ),
        dataclasses.replace(
            result("5.0", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED), sub_id="2"
        ),
    )
    assert [issue_codes(e) for e in evaluations] == [[], []]


def test_a_correction_sent_before_its_original_still_replaces_it() -> None:
    amended, original = evaluate(
        result("5.2", unit=K_PER_UL, n=1, status=ResultStatus.AMENDED),
        result("1.1", unit=K_PER_UL, n=2, status=ResultStatus.PRELIMINARY),
    )
    assert code_of(amended) == "N"
    assert original.finding is None
    assert [i.code for i in original.issues] == ["flag.result-superseded"]


def test_a_final_result_sets_aside_its_preliminary_one_and_derives_the_anc() -> None:
    # P then F of the same WBC and of the same percent: the final values stand
    evaluations = evaluate(
        result("1.6", unit=K_PER_UL, n=1, status=ResultStatus.PRELIMINARY),
        result("6.4", unit=K_PER_UL, n=2),
        result("10", code=NEUT_PCT, unit=PCT, n=3, status=ResultStatus.PRELIMINARY),
        result("40", code=NEUT_PCT, unit=PCT, n=4),
    )
    preliminary, final, _, _, derived = evaluations
    assert preliminary.finding is None
    assert [i.code for i in preliminary.issues] == ["flag.result-superseded"]
    assert code_of(final) == "N"
    assert derived.derived_from == ("MSG[1]/OBX[2]", "MSG[1]/OBX[4]")
    assert derived.quantity is not None
    assert derived.quantity.value == 2560


def test_a_preliminary_result_without_its_final_one_is_still_judged() -> None:
    preliminary, other_day = evaluate(
        result("1.6", unit=K_PER_UL, n=1, status=ResultStatus.PRELIMINARY),
        result("6.4", unit=K_PER_UL, n=2, day="2026-03-11"),
    )
    assert code_of(preliminary) == "LL"
    assert code_of(other_day) == "N"


@pytest.mark.parametrize(
    ("changed", "why"),
    [
        ({"code": "26464-8"}, "another code: another measurement"),
        ({"day": "2026-03-11"}, "another time"),
        ({"specimen": "MSG[1]/SPM[2]"}, "another specimen"),
        ({"sub_id": "2"}, "another OBX-4 sub-ID"),
    ],
)
def test_a_correction_of_another_result_does_not_set_aside_a_final_one(
    changed: dict[str, str], why: str
) -> None:
    first, second = specimen("BLD", n=1), specimen("BLD", n=2)
    original = dataclasses.replace(
        result("2.4", unit=K_PER_UL, n=1, specimen=first.location), sub_id="1"
    )
    corrected = dataclasses.replace(
        result(
            "6.4",
            unit=K_PER_UL,
            n=2,
            status=ResultStatus.CORRECTED,
            code=changed.get("code", build.WBC),
            day=changed.get("day", build.DAY),
            specimen=changed.get("specimen", first.location),
        ),
        sub_id=changed.get("sub_id", "1"),
    )
    evaluations = evaluate(original, corrected, specimens=(first, second))
    assert code_of(evaluations[0]) == "LU", why
    assert "flag.result-superseded" not in issue_codes(evaluations[0])


def test_a_final_wbc_known_only_by_its_replaced_value_derives_no_anc() -> None:
    # the correction is a bound, so it derives nothing; the original it replaced must not either
    evaluations = evaluate(
        result("2.0", unit=K_PER_UL, n=1),
        result("0.5", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED, comparator="<"),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 3
    assert not [e for e in evaluations if e.derived_from]
    (issue,) = not_derived(evaluations)
    assert "WBC MSG[1]/OBX[1] is not used (not judged: flag.result-superseded)" in issue.text


def test_a_corrected_wbc_of_another_sub_id_does_not_replace_the_original_in_the_anc() -> None:
    evaluations = evaluate(
        dataclasses.replace(result("3.1", unit=K_PER_UL, n=1), sub_id="1"),
        dataclasses.replace(
            result("3.4", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED), sub_id="2"
        ),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 3
    (issue,) = not_derived(evaluations)
    assert "2 WBC results at 2026-03-10" in issue.text
    assert issue.text.endswith(
        "(a corrected result of the same code, OBX-4 sub-ID, specimen and time would replace "
        "the others)"
    )


def test_a_corrected_wbc_of_another_code_does_not_replace_the_original() -> None:
    evaluations = evaluate(
        result("3.1", unit=K_PER_UL, n=1),  # 6690-2, automated count
        result("3.4", code="26464-8", unit=K_PER_UL, n=2, status=ResultStatus.CORRECTED),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    assert len(evaluations) == 3
    (issue,) = not_derived(evaluations)
    assert "2 WBC results at 2026-03-10" in issue.text


# --------------------------------------------------------------------------- withdrawn sources


@pytest.mark.parametrize(
    ("wbc_status", "percent_status"),
    [
        (ResultStatus.ENTERED_IN_ERROR, ResultStatus.FINAL),
        (ResultStatus.FINAL, ResultStatus.ENTERED_IN_ERROR),
        (ResultStatus.ENTERED_IN_ERROR, ResultStatus.ENTERED_IN_ERROR),
    ],
)
def test_an_anc_of_entered_in_error_sources_is_given_withdrawn(
    wbc_status: ResultStatus, percent_status: ResultStatus
) -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, status=wbc_status),
        result("30", code=NEUT_PCT, unit=PCT, n=2, status=percent_status),
    )
    assert len(evaluations) == 3
    withdrawn = evaluations[2]
    assert withdrawn.location == f"{ORDER}/ANC[withdrawn]"
    assert withdrawn.derived_from == ("MSG[1]/OBX[1]", "MSG[1]/OBX[2]")
    assert withdrawn.quantity is not None
    assert withdrawn.quantity.value == 1200
    assert withdrawn.finding is None
    assert issue_codes(withdrawn) == ["flag.anc-withdrawn"]


def test_a_replaced_entered_in_error_wbc_gives_the_new_anc_and_withdraws_the_old() -> None:
    evaluations = evaluate(
        result("1.0", unit=K_PER_UL, n=1, status=ResultStatus.ENTERED_IN_ERROR),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
        result("5.0", unit=K_PER_UL, n=3),
    )
    derived, withdrawn = evaluations[3:]
    assert derived.derived_from == ("MSG[1]/OBX[3]", "MSG[1]/OBX[2]")
    assert code_of(derived) == "N"  # 1,500
    assert withdrawn.derived_from == ("MSG[1]/OBX[1]", "MSG[1]/OBX[2]")
    assert withdrawn.quantity is not None
    assert withdrawn.quantity.value == 300


def test_no_withdrawn_anc_when_the_lab_measured_one_or_nothing_would_combine() -> None:
    measured = evaluate(
        result("4.0", unit=K_PER_UL, n=1, status=ResultStatus.ENTERED_IN_ERROR),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
        result("1.2", code=ANC, unit=K_PER_UL, n=3),
    )
    alone = evaluate(result("4.0", unit=K_PER_UL, n=1, status=ResultStatus.ENTERED_IN_ERROR))
    other_day = evaluate(
        result("4.0", unit=K_PER_UL, n=1, status=ResultStatus.ENTERED_IN_ERROR),
        result("30", code=NEUT_PCT, unit=PCT, n=2, day="2026-03-11"),
    )
    for evaluations in (measured, alone, other_day):
        assert not [e for e in evaluations if e.derived_from]


# --------------------------------------------------------------------------- why none was derived


def not_derived(evaluations: tuple[Evaluation, ...]) -> list[Issue]:
    return [i for e in evaluations for i in e.issues if i.code == "flag.anc-not-derived"]


def test_a_percent_over_100_is_named_as_why_no_anc_was_derived() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("387", code=NEUT_PCT, unit=PCT, n=2)
    )
    (issue,) = not_derived(evaluations)
    assert issue.severity.value == "information"
    assert issue.location == ORDER
    assert issue.text == (
        "the order has no measured ANC, and none was derived from WBC MSG[1]/OBX[1], "
        "neutrophils % MSG[1]/OBX[2]: neutrophils % MSG[1]/OBX[2] is not used (387 % is not "
        "a percent from 0 to 100)"
    )
    assert issue in evaluations[0].issues  # carried by the order's first WBC


def test_a_percent_in_a_unit_that_is_not_read_is_named() -> None:
    fraction = Unit("{fraction}", "{fraction}", "http://unitsofmeasure.org")
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("0.3", code=NEUT_PCT, unit=fraction, n=2)
    )
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        "neutrophils % MSG[1]/OBX[2] is not used (its unit '{fraction}' is not one leukoflag knows)"
    )


@pytest.mark.parametrize(
    ("unit", "why"),
    [
        # a neutrophil % row whose unit names lymphocytes: known, and refused for that
        (
            Unit("%{Lymphocytes}", "%{Lymphocytes}", "http://unitsofmeasure.org"),
            "names another analyte in its annotation {Lymphocytes}",
        ),
        (Unit("/L"), "a count per litre without its power of ten"),
        (Unit("K/uL", "%", "http://unitsofmeasure.org"), "the unit's code and text disagree"),
    ],
)
def test_a_percent_in_a_unit_refused_for_a_reason_is_named_with_the_reason(
    unit: Unit, why: str
) -> None:
    # it was 'its unit '%{Lymphocytes}' is not one leukoflag knows', though the units table
    # knows it and refuses it for what it says
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("30", code=NEUT_PCT, unit=unit, n=2)
    )
    (issue,) = not_derived(evaluations)
    assert "not one leukoflag knows" not in issue.text
    assert f"is not used (its unit {quoted(unit.text)} is refused: " in issue.text
    assert why in issue.text


def test_a_percent_of_one_or_less_without_unit_is_not_used() -> None:
    # 0.45 without a unit is 45 % written as a fraction or 0.45 %: a hundredfold apart, and
    # read as 0.45 % a WBC of 3,000 would give a critical ANC of 14 cells/µL
    evaluations = evaluate(
        result("3.0", unit=K_PER_UL, n=1), result("0.45", code=NEUT_PCT, unit=None, n=2)
    )
    assert len(evaluations) == 2
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        "neutrophils % MSG[1]/OBX[2] is not used (0.45 without a unit could be a fraction "
        "(45 %) or a percent (0.45 %))"
    )


@pytest.mark.parametrize(("percent", "anc"), [("45", 1350), ("1.5", 45), ("0", 0)])
def test_a_percent_without_unit_above_one_or_zero_is_used(percent: str, anc: int) -> None:
    evaluations = evaluate(
        result("3.0", unit=K_PER_UL, n=1), result(percent, code=NEUT_PCT, unit=None, n=2)
    )
    assert len(evaluations) == 3
    assert evaluations[2].quantity is not None
    assert evaluations[2].quantity.value == anc


def test_a_percent_in_a_count_unit_is_named() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1), result("1.2", code=NEUT_PCT, unit=K_PER_UL, n=2)
    )
    (issue,) = not_derived(evaluations)
    assert "(its unit '10*3/uL' is not a percent or a fraction)" in issue.text


def test_a_cancelled_wbc_is_named_with_the_issue_that_stopped_it() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, status=ResultStatus.CANCELLED),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
    )
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        ": WBC MSG[1]/OBX[1] is not used (not judged: flag.status-not-flaggable)"
    )


def test_a_wbc_of_a_non_blood_specimen_is_named() -> None:
    urine = specimen("UR", n=1)
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, specimen=urine.location),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
        specimens=(urine,),
    )
    (issue,) = not_derived(evaluations)
    assert "WBC MSG[1]/OBX[1] is not used (not judged: flag.specimen-not-blood)" in issue.text


def test_a_wbc_known_only_by_a_bound_is_named() -> None:
    evaluations = evaluate(
        result("1.0", unit=K_PER_UL, n=1, comparator="<"),
        result("30", code=NEUT_PCT, unit=PCT, n=2),
    )
    (issue,) = not_derived(evaluations)
    assert "WBC MSG[1]/OBX[1] is not used (<1,000 cells/µL is known only by a bound)" in issue.text


def test_a_wbc_and_a_percent_at_different_times_name_both_times() -> None:
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, day="2026-03-10"),
        result("30", code=NEUT_PCT, unit=PCT, n=2, day="2026-03-11"),
    )
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        ": neutrophils % MSG[1]/OBX[2] has no usable WBC at 2026-03-11 (WBC MSG[1]/OBX[1] is at "
        "2026-03-10)"
    )


def test_a_wbc_and_a_percent_of_different_specimens_name_both_specimens() -> None:
    first, second = specimen("BLD", n=1), specimen("BLD", n=2)
    evaluations = evaluate(
        result("4.0", unit=K_PER_UL, n=1, specimen=first.location),
        result("30", code=NEUT_PCT, unit=PCT, n=2, specimen=second.location),
        specimens=(first, second),
    )
    (issue,) = not_derived(evaluations)
    assert f"has no usable WBC at 2026-03-10 of specimen {second.location} (WBC " in issue.text
    assert f"is at 2026-03-10 of specimen {first.location})" in issue.text


def test_a_segmented_count_without_band_count_is_named() -> None:
    evaluations = evaluate(result("0.9", code="30451-9", unit=K_PER_UL, n=1))
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        "segmented neutrophil count MSG[1]/OBX[1] has no band neutrophil count at 2026-03-10 "
        "(both are needed)"
    )
    assert issue in evaluations[0].issues  # no WBC: carried by the part itself


def test_a_segmented_percent_without_band_percent_is_named() -> None:
    evaluations = evaluate(
        result("5.0", unit=K_PER_UL, n=1), result("20", code="26505-8", unit=PCT, n=2)
    )
    (issue,) = not_derived(evaluations)
    assert "has no band neutrophils % at 2026-03-10 (both are needed)" in issue.text


def test_segmented_and_band_percents_adding_to_over_100_give_no_anc() -> None:
    # a manual differential of 80 % segmented and 30 % band neutrophils (a band count of 3 %
    # keyed as 30): 110 % of the white cells, which no differential holds. The ANC derived from
    # it, 2,200 x 110 % = 2,420/µL, was above the WBC itself and judged N.
    evaluations = evaluate(
        result("2.2", unit=K_PER_UL, n=1),
        result("80", code="769-0", unit=PCT, n=2),
        result("30", code="764-1", unit=PCT, n=3),
    )
    assert len(evaluations) == 3  # no derived ANC
    (issue,) = not_derived(evaluations)
    assert issue.text == (
        "the order has no measured ANC, and none was derived from WBC MSG[1]/OBX[1], "
        "segmented neutrophils % MSG[1]/OBX[2], band neutrophils % MSG[1]/OBX[3]: segmented "
        "neutrophils % MSG[1]/OBX[2] and band neutrophils % MSG[1]/OBX[3] at 2026-03-10 add "
        "up to 110 %, more than all the white cells: one of them is wrong"
    )
    assert issue in evaluations[0].issues


def test_segmented_and_band_percents_adding_to_100_give_an_anc() -> None:
    evaluations = evaluate(
        result("2.2", unit=K_PER_UL, n=1),
        result("92", code="769-0", unit=PCT, n=2),
        result("8", code="764-1", unit=PCT, n=3),
    )
    derived = evaluations[3]
    assert derived.quantity is not None
    assert derived.quantity.value == 2200


def test_a_cbc_without_differential_raises_nothing_about_the_anc() -> None:
    evaluations = evaluate(result("4.0", unit=K_PER_UL, n=1), result("13.9", code="718-7", n=2))
    assert not_derived(evaluations) == []


def test_a_percent_without_any_wbc_raises_nothing_about_the_anc() -> None:
    evaluations = evaluate(result("30", code=NEUT_PCT, unit=PCT, n=1))
    assert not_derived(evaluations) == []


def test_a_percent_whose_wbc_is_in_another_order_of_the_message_says_so() -> None:
    # A CBC order holding the WBC and a differential order holding the neutrophils %, one
    # specimen drawn at 08:05: an ANC is derived only within one order, and the differential's
    # 22 % of a WBC of 2,200 (484/µL, a severe neutropenia) went without a word
    msh = (
        "MSH|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124091047-0500||ORU^R01^ORU_R01|"
        "RS24-000311|P|2.5.1"
    )
    pid = "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M"
    cbc = (
        "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
        "20261124080500-0500||||||||||||||||||F"
    )
    wbc = (
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.2|"
        "10*3/uL^^UCUM|4.0-11.0|L|||F|||20261124080500-0500"
    )
    diff = (
        "OBR|2|ORD55378^EHR|LAB88165^CORELAB|57021-8^CBC W Auto Differential panel - Blood^LN"
        "|||20261124080500-0500||||||||||||||||||F"
    )
    percent = (
        "OBX|1|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||22|%^^UCUM|"
        "40-75|L|||F|||20261124080500-0500"
    )
    message = "\r".join((msh, pid, cbc, wbc, diff, percent))
    conversion = leukoflag.convert(message + "\r")
    assert [(f.location, f.code) for f in conversion.findings] == [("MSG[1]/OBX[1]", "LU")]
    (issue,) = [i for i in conversion.issues if i.code == "flag.anc-not-derived"]
    assert (issue.severity, issue.location) == ("information", "MSG[1]/OBR[2]")
    assert issue.text == (
        "the order has no measured ANC, and none was derived from neutrophils % MSG[1]/OBX[2]: "
        "neutrophils % MSG[1]/OBX[2] has no usable WBC at 2026-11-24T08:05:00-05:00; WBC "
        "MSG[1]/OBX[1] is of another order, MSG[1]/OBR[1], and an ANC is derived only from the "
        "results of one order"
    )


def test_a_percent_whose_wbc_is_in_another_order_beside_a_measured_anc_raises_nothing() -> None:
    # The CBC order holds the WBC and a measured ANC of the same draw: the patient's ANC is
    # known (500/µL), yet the differential order's 22 % was said to have given no ANC, 'the
    # order has no measured ANC, and none was derived', as if the ANC were missing
    msh = (
        "MSH|^~\\&|CORELAB|RIVERSIDE|EHR|RIVERSIDE|20261124091047-0500||ORU^R01^ORU_R01|"
        "RS24-000312|P|2.5.1"
    )
    pid = "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M"
    cbc = (
        "OBR|1|ORD55379^EHR|LAB88166^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
        "20261124080500-0500||||||||||||||||||F"
    )
    wbc = (
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.2|"
        "10*3/uL^^UCUM|4.0-11.0|L|||F|||20261124080500-0500"
    )
    anc = (
        "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||0.5|"
        "10*3/uL^^UCUM|1.8-7.7|L|||F|||20261124080500-0500"
    )
    diff = (
        "OBR|2|ORD55380^EHR|LAB88167^CORELAB|57021-8^CBC W Auto Differential panel - Blood^LN"
        "|||20261124080500-0500||||||||||||||||||F"
    )
    percent = (
        "OBX|1|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||22|%^^UCUM|"
        "40-75|L|||F|||20261124080500-0500"
    )
    conversion = leukoflag.convert("\r".join((msh, pid, cbc, wbc, anc, diff, percent)) + "\r")
    assert [(f.location, f.code, f.derived) for f in conversion.findings] == [
        ("MSG[1]/OBX[1]", "LU", False),
        ("MSG[1]/OBX[2]", "LU", False),
    ]
    assert [i for i in conversion.issues if i.code == "flag.anc-not-derived"] == []


def test_an_order_with_a_derived_or_measured_anc_raises_nothing_about_it() -> None:
    wbc, percent = result("4.0", unit=K_PER_UL, n=1), result("30", code=NEUT_PCT, unit=PCT, n=2)
    assert not_derived(evaluate(wbc, percent)) == []
    unusable = result("387", code=NEUT_PCT, unit=PCT, n=2)
    measured = result("1.2", code=ANC, unit=K_PER_UL, n=3)
    assert not_derived(evaluate(wbc, unusable, measured)) == []


def test_many_unusable_percents_are_listed_ten_at_most() -> None:
    percents = [result("387", code=NEUT_PCT, unit=PCT, n=n) for n in range(2, 32)]
    evaluations = evaluate(result("4.0", unit=K_PER_UL, n=1), *percents)
    (issue,) = not_derived(evaluations)
    assert "neutrophils % MSG[1]/OBX[10], and 21 more:" in issue.text
    assert issue.text.endswith("; and 20 more")


def test_a_result_entered_in_error_after_its_final_one_withdraws_it() -> None:
    # OBX-11 D (or W) after the final result of the same code and sub-ID: the lab deletes it
    # (table 0085); the final 1.1 was still judged LL and put leukopenia in the conclusion
    evaluations = evaluate(
        result("1.1", unit=K_PER_UL, n=1),
        result("1.1", unit=K_PER_UL, n=2, status=ResultStatus.ENTERED_IN_ERROR),
        result("40", code=NEUT_PCT, unit=PCT, n=3),
    )
    judged = evaluations[0]
    assert judged.finding is None
    assert judged.quantity is not None
    assert judged.quantity.value == 1100  # written as sent, without a code
    (issue,) = [i for i in judged.issues if i.code == "flag.result-superseded"]
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert "withdrawn by MSG[1]/OBX[2] (entered-in-error) of the same code" in issue.text
    # no ANC derived from the withdrawn WBC; the one it would give is written withdrawn
    assert [e.location for e in evaluations[3:]] == [f"{ORDER}/ANC[withdrawn]"]
    assert all(e.finding is None for e in evaluations)


def test_a_final_result_followed_by_a_cancelled_one_is_judged_and_put_in_doubt() -> None:
    # OBX-11 X (results cannot be obtained) after the final 1.1 of the same code and sub-ID:
    # the LL reached the conclusion with nothing saying the lab may have withdrawn it
    evaluations = evaluate(
        result("1.1", unit=K_PER_UL, n=1),
        result("1.1", unit=K_PER_UL, n=2, status=ResultStatus.CANCELLED),
    )
    judged = evaluations[0]
    assert code_of(judged) == "LL"  # a low count hidden is the worse error
    (issue,) = [i for i in judged.issues if i.code == "flag.result-cancelled-after"]
    assert issue.severity.value == "warning"
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert issue.text.startswith(
        "this final result is followed by MSG[1]/OBX[2], cancelled (results cannot be "
        "obtained), of the same code, OBX-4 sub-ID, specimen and time"
    )


def test_a_final_result_followed_by_one_not_asked_is_not_said_to_be_unobtainable() -> None:
    # OBX-11 N (not asked: the result was not sought, data-absent-reason not-asked) after the
    # final 1.1 was said to be 'cancelled (results cannot be obtained)', which is OBX-11 X
    not_asked = dataclasses.replace(
        result(
            NoValue("empty"),
            unit=K_PER_UL,
            n=2,
            status=ResultStatus.CANCELLED,
            data_absent_reason="not-asked",
        ),
        status_text="N",
    )
    evaluations = evaluate(result("1.1", unit=K_PER_UL, n=1), not_asked)
    assert code_of(evaluations[0]) == "LL"
    (issue,) = [i for i in evaluations[0].issues if i.code == "flag.result-cancelled-after"]
    assert issue.text.startswith(
        "this final result is followed by MSG[1]/OBX[2] (OBX-11 'N'), cancelled (not asked: "
        "the result was not sought), of the same code, OBX-4 sub-ID, specimen and time"
    )


@pytest.mark.parametrize("cancelled", ["WBC", "neutrophils %"])
def test_an_anc_derived_from_a_result_cancelled_after_it_says_its_source_is_in_doubt(
    cancelled: str,
) -> None:
    # the WBC of 1.1 (or the 40 %) followed by a cancelled one (OBX-11 X): the WBC said so, but
    # the ANC of 440 derived from it reached the conclusion as LL with nothing in doubt
    wbc = result("1.1", unit=K_PER_UL, n=1)
    percent = result("40", code=NEUT_PCT, unit=PCT, n=2)
    source = wbc if cancelled == "WBC" else percent
    again = dataclasses.replace(
        source, location="MSG[1]/OBX[3]", status=ResultStatus.CANCELLED, status_text="X"
    )
    evaluations = evaluate(wbc, percent, again)
    derived = evaluations[3]
    assert derived.location == f"{ORDER}/ANC[derived]"
    assert code_of(derived) == "LL"  # judged as derived, as its source is
    (issue,) = [i for i in derived.issues if i.code == "flag.result-cancelled-after"]
    assert issue.severity.value == "warning"
    assert issue.location == derived.location
    assert issue.text.startswith(
        f"this ANC is derived from a result that may be withdrawn: {source.location} is "
        "followed by MSG[1]/OBX[3] (OBX-11 'X'), cancelled (results cannot be obtained), of "
        "the same code, OBX-4 sub-ID, specimen and time; whether the lab withdrew it is not "
        "known"
    )


def test_an_anc_derived_from_results_cancelled_before_them_says_nothing() -> None:
    cancelled = result("1.1", unit=K_PER_UL, n=1, status=ResultStatus.CANCELLED)
    evaluations = evaluate(
        cancelled, result("1.1", unit=K_PER_UL, n=2), result("40", code=NEUT_PCT, unit=PCT, n=3)
    )
    assert code_of(evaluations[3]) == "LL"
    assert "flag.result-cancelled-after" not in [i.code for e in evaluations for i in e.issues]


@pytest.mark.parametrize("other", ["cancelled first", "another day"])
def test_a_cancelled_result_before_the_final_one_or_of_another_time_says_nothing(
    other: str,
) -> None:
    final = result("1.1", unit=K_PER_UL, n=2)
    cancelled = result(
        "1.1",
        unit=K_PER_UL,
        n=1 if other == "cancelled first" else 3,
        status=ResultStatus.CANCELLED,
        day="2026-03-09" if other == "another day" else build.DAY,
    )
    pair = (cancelled, final) if other == "cancelled first" else (final, cancelled)
    evaluations = evaluate(*pair)
    assert "flag.result-cancelled-after" not in [i.code for e in evaluations for i in e.issues]


def test_an_entered_in_error_result_of_another_sub_id_withdraws_nothing() -> None:
    final = result("1.1", unit=K_PER_UL, n=1)
    other = dataclasses.replace(
        result("5.1", unit=K_PER_UL, n=2, status=ResultStatus.ENTERED_IN_ERROR), sub_id="2"
    )
    evaluations = evaluate(final, other)
    assert code_of(evaluations[0]) == "LL"
    assert "flag.result-superseded" not in issue_codes(evaluations[0])


def test_a_wbc_of_no_specimen_beside_a_percent_after_spm_is_named_as_of_no_specimen() -> None:
    # OBX-1 WBC before the SPM, OBX-2 neutrophils % after it: same time, but the WBC belongs to
    # the order, not the specimen, so "(WBC … is at <the same time>)" alone denied a WBC sent
    blood = specimen("BLD", n=1)
    evaluations = evaluate(
        result("3.0", unit=K_PER_UL, n=1),
        result("40", code=NEUT_PCT, unit=PCT, n=2, specimen=blood.location),
        specimens=(blood,),
    )
    (issue,) = not_derived(evaluations)
    assert issue.text.endswith(
        f"has no usable WBC at 2026-03-10 of specimen {blood.location} "
        "(WBC MSG[1]/OBX[1] is at 2026-03-10 of no specimen)"
    )
