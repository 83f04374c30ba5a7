"""The output contract for in-scope WBC/ANC results written from an HL7 v2 message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fhir_builders import (
    ANC,
    EXPLANATION,
    K_PER_UL,
    LOINC,
    ORIGINAL_TEXT,
    PQ,
    RANGE_SOURCE,
    SENDER,
    UCUM,
    V3,
    assert_valid,
    extension,
    judged,
    lab_range,
    local,
    message,
    obr,
    obx,
    one,
    part,
    resources,
    target,
    write,
)

from leukoflag import fhir
from leukoflag.model import (
    Analyte,
    Coding,
    Evaluation,
    NormalizedQuantity,
    NormalizedRange,
    ResultStatus,
)

LOW_WBC = obx(1, "2.8", reference=lab_range("4.0-10.0", "4.0", "10.0"), flags=("L",))
LAB_RANGE = NormalizedRange(Decimal("4.0E+3"), Decimal("1.00E+4"), "lab", text="4.0-10.0")


def _low_wbc_bundle() -> dict[str, object]:
    evaluation = judged(
        LOW_WBC.location,
        "2.8E+3",
        "LU",
        reference=LAB_RANGE,
        rule="wbc-significantly-low",
        threshold="3000",
        grade=2,
    )
    bundle, _ = write(message(obr(LOW_WBC)), (evaluation,))
    return bundle


def test_in_scope_wbc_is_normalized_to_cells_per_ul_with_the_original_kept() -> None:
    observation = one(_low_wbc_bundle(), "Observation")
    quantity = observation["valueQuantity"]
    assert quantity["value"] == Decimal("2800")
    assert (quantity["unit"], quantity["system"], quantity["code"]) == ("cells/µL", UCUM, "/uL")
    (translation,) = extension(quantity, PQ)
    assert translation["valueQuantity"] == {
        "value": Decimal("2.8"),
        "unit": "K/uL",
        "system": UCUM,
        "code": "10*3/uL",
    }


def test_serialized_values_are_exact_plain_decimals() -> None:
    text = fhir.dumps(_low_wbc_bundle()).decode()
    assert '"value":2800,"unit":"cells/µL"' in text
    assert '"value":2.8,"unit":"K/uL"' in text
    assert '"value":4.0,"unit":"K/uL"' in text  # the lab's limit, digit for digit
    assert "E+" not in text


def test_exactly_one_computed_interpretation_and_the_senders_flag_in_an_extension() -> None:
    observation = one(_low_wbc_bundle(), "Observation")
    assert observation["interpretation"] == [
        {"coding": [{"system": V3, "code": "LU", "display": "Significantly low"}]}
    ]
    (sender,) = extension(observation, SENDER)
    assert sender["valueCodeableConcept"] == {
        "coding": [{"system": V3, "code": "L", "display": "Low"}]
    }


def test_explanation_names_rule_threshold_range_finding_and_ctcae_grade() -> None:
    observation = one(_low_wbc_bundle(), "Observation")
    (explained,) = extension(observation, EXPLANATION)
    assert part(explained, "rule") == "wbc-significantly-low"
    assert part(explained, "threshold")["value"] == Decimal("3000")
    assert part(explained, "thresholdSource").startswith("Cleveland Clinic")
    assert part(explained, "rangeSource") == "lab"
    assert part(explained, "range")["low"]["value"] == Decimal("4000")
    assert part(explained, "finding") == {
        "system": "http://snomed.info/sct",
        "code": "84828003",
        "display": "Leukopenia",
    }
    assert part(explained, "ctcaeGrade")["code"] == "C41339"  # NCIt: CTCAE grade 2
    assert part(explained, "ctcaeVersion") == "5.0"
    assert part(explained, "ctcaeTerm")["code"] == "C143948"
    assert part(explained, "derived") is None


def test_lab_range_is_normalized_keeping_its_text_and_limits_as_sent() -> None:
    observation = one(_low_wbc_bundle(), "Observation")
    (written,) = observation["referenceRange"]
    assert written["text"] == "4.0-10.0"
    assert written["low"]["value"] == Decimal("4000")
    assert written["high"]["value"] == Decimal("10000")
    assert extension(written["low"], PQ)[0]["valueQuantity"]["value"] == Decimal("4.0")
    assert extension(written, RANGE_SOURCE) == []


def test_range_supplied_by_leukoflag_says_so_and_the_labs_range_follows() -> None:
    result = obx(1, "3.1", reference=lab_range("see lab manual", None, None))
    evaluation = judged(result.location, "3.1E+3", "L")
    bundle, _ = write(message(obr(result)), (evaluation,))
    first, second = one(bundle, "Observation")["referenceRange"]
    (source,) = extension(first, RANGE_SOURCE)
    assert part(source, "source") == "default"
    assert part(source, "citation").startswith("Cleveland Clinic")
    assert (first["low"]["value"], first["high"]["value"]) == (4000, 11000)
    assert "text" not in first
    assert second == {"text": "see lab manual"}


def test_comparator_value_keeps_its_text_as_sent() -> None:
    result = obx(1, "<0.5", code=ANC)
    evaluation = judged(
        result.location,
        "5E+2",
        "LL",
        analyte=Analyte.ANC,
        comparator="<",
        rule="anc-critical-low",
        threshold="500",
    )
    bundle, _ = write(message(obr(result)), (evaluation,))
    quantity = one(bundle, "Observation")["valueQuantity"]
    assert quantity["comparator"] == "<"
    assert quantity["value"] == Decimal("500")
    assert extension(quantity, ORIGINAL_TEXT) == [
        {"url": ORIGINAL_TEXT, "valueString": "<0.5 K/uL"}
    ]
    assert extension(quantity, PQ) == []


def test_local_code_gets_the_loinc_coding_added() -> None:
    result = obx(1, "3.2", code=local("WBCC", "White cell count"))
    evaluation = judged(
        result.location,
        "3.2E+3",
        "L",
        loinc_added=Coding("26464-8", "Leukocytes [#/volume] in Blood", LOINC),
    )
    bundle, _ = write(message(obr(result)), (evaluation,))
    code = one(bundle, "Observation")["code"]
    assert code == {
        "coding": [
            {
                "system": "http://leukoflag.org/fhir/CodeSystem/v2-named/99RVS",
                "code": "WBCC",
                "display": "White cell count",
            },
            {"system": LOINC, "code": "26464-8", "display": "Leukocytes [#/volume] in Blood"},
        ],
        "text": "White cell count",
    }


def test_report_conclusion_code_lists_each_finding_of_its_low_results_once() -> None:
    wbc = obx(1, "2.1")
    anc = obx(2, "0.9", code=ANC)
    second_wbc = obx(3, "2.2")
    evaluations = (
        judged(wbc.location, "2.1E+3", "L"),
        judged(anc.location, "9E+2", "L", analyte=Analyte.ANC, rule="anc-neutropenia"),
        judged(second_wbc.location, "2.2E+3", "L"),
    )
    bundle, _ = write(message(obr(wbc, anc, second_wbc)), evaluations)
    report = one(bundle, "DiagnosticReport")
    assert [c["coding"][0]["code"] for c in report["conclusionCode"]] == ["84828003", "165517008"]


def test_report_with_only_normal_results_has_no_conclusion_code() -> None:
    result = obx(1, "6.4")
    evaluation = judged(result.location, "6.4E+3", "N", low=False, rule="wbc-normal")
    bundle, _ = write(message(obr(result)), (evaluation,))
    assert "conclusionCode" not in one(bundle, "DiagnosticReport")
    assert part(extension(one(bundle, "Observation"), EXPLANATION)[0], "finding") is None


def test_in_scope_result_not_judged_keeps_the_senders_flags_as_interpretation() -> None:
    result = obx(1, "2.9", flags=("L",))
    evaluation = Evaluation(
        result.location,
        Analyte.WBC,
        quantity=NormalizedQuantity(Decimal("2.9E+3")),
    )
    bundle, _ = write(message(obr(result)), (evaluation,))
    observation = one(bundle, "Observation")
    assert observation["valueQuantity"]["value"] == Decimal("2900")
    assert observation["interpretation"] == [
        {"coding": [{"system": V3, "code": "L", "display": "Low"}]}
    ]
    assert extension(observation, EXPLANATION) == []
    assert extension(observation, SENDER) == []


def test_derived_anc_is_its_own_observation_derived_from_its_sources() -> None:
    wbc = obx(1, "3.0")
    percent = obx(2, "30", code=ANC, unit=None)
    derived = Evaluation(
        location=f"{obr().location}/ANC[derived]",
        analyte=Analyte.ANC,
        loinc=Coding("26499-4", "Neutrophils [#/volume] in Blood", LOINC),
        quantity=NormalizedQuantity(Decimal("900")),
        reference_range=NormalizedRange(Decimal("1500"), None, "default"),
        finding=judged(
            "x", "900", "L", analyte=Analyte.ANC, rule="anc-neutropenia", derived=True
        ).finding,
        derived_from=(wbc.location, percent.location),
    )
    bundle, issues = write(message(obr(wbc, percent)), (derived,))
    assert issues == ()
    observations = resources(bundle, "Observation")
    assert len(observations) == 3
    made = observations[2]
    assert made["code"]["coding"] == [
        {"system": LOINC, "code": "26499-4", "display": "Neutrophils [#/volume] in Blood"}
    ]
    assert made["valueQuantity"]["value"] == Decimal("900")
    assert [target(bundle, r)["id"] for r in made["derivedFrom"]] == [
        observations[0]["id"],
        observations[1]["id"],
    ]
    assert part(extension(made, EXPLANATION)[0], "derived") is True
    report = one(bundle, "DiagnosticReport")
    assert {"reference": f"urn:uuid:{made['id']}"} in report["result"]
    assert report["conclusionCode"][0]["coding"][0]["code"] == "165517008"


@pytest.mark.parametrize(
    ("wbc_status", "percent_status", "written"),
    [
        (ResultStatus.FINAL, ResultStatus.FINAL, "final"),
        (ResultStatus.CORRECTED, ResultStatus.FINAL, "corrected"),
        (ResultStatus.FINAL, ResultStatus.AMENDED, "amended"),
        (ResultStatus.CORRECTED, ResultStatus.PRELIMINARY, "preliminary"),
    ],
)
def test_a_derived_anc_takes_the_status_its_sources_give_it(
    wbc_status: ResultStatus, percent_status: ResultStatus, written: str
) -> None:
    # a corrected WBC corrects the ANC computed from it: it was written as final
    wbc = obx(1, "3.0", status=wbc_status)
    percent = obx(2, "30", code=ANC, unit=None, status=percent_status)
    derived = Evaluation(
        location=f"{obr().location}/ANC[derived]",
        analyte=Analyte.ANC,
        quantity=NormalizedQuantity(Decimal("900")),
        derived_from=(wbc.location, percent.location),
    )
    bundle, _ = write(message(obr(wbc, percent)), (derived,))
    assert resources(bundle, "Observation")[2]["status"] == written
    assert_valid(bundle)


def test_bundles_with_in_scope_results_validate_in_r4_and_r5() -> None:
    for version in ("R4", "R5"):
        evaluation = judged(LOW_WBC.location, "2.8E+3", "LU", reference=LAB_RANGE, grade=2)
        bundle, _ = write(message(obr(LOW_WBC)), (evaluation,), fhir_version=version)
        assert_valid(bundle, version)


def test_unit_spelled_only_as_text_keeps_no_code_in_the_translation() -> None:
    result = obx(1, "1.2", code=ANC, unit=K_PER_UL.__class__("x10E3/uL"))
    evaluation = judged(result.location, "1.2E+3", "L", analyte=Analyte.ANC)
    bundle, _ = write(message(obr(result)), (evaluation,))
    (translation,) = extension(one(bundle, "Observation")["valueQuantity"], PQ)
    assert translation["valueQuantity"] == {"value": Decimal("1.2"), "unit": "x10E3/uL"}
