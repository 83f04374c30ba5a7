"""A critical low (LL) is a degree of low: a count the range used holds is not critical, even
below a critical limit set above a lab's own low limit (Settings.critical_low, docs/settings.md)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import leukoflag
from leukoflag import Settings

CRITICAL_WBC_3000 = Settings(critical_low={"wbc": 3000})


def _oru(value: str, reference: str) -> str:
    # a lab whose adult WBC range starts at 2.5 x 10^3/uL (its own population's LLN)
    return (
        "\r".join(
            (
                (
                    r"MSH|^~\&|CORELAB|EASTFIELD|EHR|EASTFIELD|20261124093000-0500||ORU^R01^ORU_R01|"
                    "EF-4401|P|2.5.1"
                ),
                "PID|1||MRN200188^^^EASTFIELD^MR||TESTCASE^ROWAN||19750604|F",
                "OBR|1|EO-4401^EHR|EL-4401^CORELAB|58410-2^CBC panel^LN|||20261124081000-0500",
                (
                    f"OBX|1|NM|6690-2^Leukocytes^LN||{value}|10*3/uL^^UCUM|{reference}||||F|||"
                    "20261124081000-0500"
                ),
            )
        )
        + "\r"
    )


def test_a_wbc_within_the_labs_range_is_not_critical_below_a_higher_critical_limit() -> None:
    conversion = leukoflag.convert(_oru("2.8", "2.5-9.0"), settings=CRITICAL_WBC_3000)
    (finding,) = conversion.findings
    # below 3,000: CTCAE grade 2, significantly low; not critical (LL) inside 2,500-9,000
    assert (finding.code, finding.rule) == ("LU", "wbc-significantly-low")
    (held,) = [i for i in conversion.issues if i.code == "flag.critical-within-range"]
    assert (str(held.severity), held.location) == ("warning", "MSG[1]/OBX[1]")
    assert held.text == (
        "WBC 2,800 cells/µL is below the critical low of 3,000 cells/µL "
        "(Settings.critical_low) but not below 2,500 cells/µL, the low limit of the range it "
        "is judged by (the lab's reference range, as sent): a critical low is a degree of "
        "low, so it is LU (wbc-significantly-low), not LL"
    )
    (observation,) = [
        e["resource"]
        for e in conversion.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["interpretation"][0]["coding"][0]["code"] == "LU"


def test_a_wbc_below_the_labs_range_and_the_critical_limit_is_critical() -> None:
    conversion = leukoflag.convert(_oru("2.4", "2.5-9.0"), settings=CRITICAL_WBC_3000)
    assert [(f.code, f.rule) for f in conversion.findings] == [("LL", "wbc-critical-low")]
    assert [i for i in conversion.issues if i.code == "flag.critical-within-range"] == []


def test_without_a_lab_range_the_critical_limit_applies_below_the_supplied_range() -> None:
    # the supplied adult female range starts at 4,500: 2,800 is low by it, and critical
    conversion = leukoflag.convert(_oru("2.8", ""), settings=CRITICAL_WBC_3000)
    assert [(f.code, f.rule) for f in conversion.findings] == [("LL", "wbc-critical-low")]


def _anc(value: float) -> bytes:
    """A FHIR ANC whose lab range starts at 0.8 x 10^3/uL, of a woman born in 1975."""
    ten3 = {"unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"}
    observation = {
        "resourceType": "Observation",
        "id": "anc-4402",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "subject": {"reference": "#pt"},
        "effectiveDateTime": "2026-11-24T08:10:00-05:00",
        "valueQuantity": {"value": value, **ten3},
        "referenceRange": [{"low": {"value": 0.8, **ten3}, "high": {"value": 6.0, **ten3}}],
        "contained": [
            {"resourceType": "Patient", "id": "pt", "gender": "female", "birthDate": "1975-06-04"}
        ],
    }
    return json.dumps(observation).encode()


def test_a_fhir_anc_within_the_labs_range_is_not_critical_below_a_higher_critical_limit() -> None:
    settings = Settings(critical_low={"anc": 1000})
    held = leukoflag.convert(_anc(0.9), settings=settings)
    assert [(f.code, f.rule) for f in held.findings] == [("LU", "anc-significantly-low")]
    (issue,) = [i for i in held.issues if i.code == "flag.critical-within-range"]
    assert issue.location == "ITEM[1]/Observation"
    assert issue.text.startswith(
        "ANC 900 cells/µL is below the critical low of 1,000 cells/µL (Settings.critical_low) "
        "but not below 800 cells/µL"
    )
    critical = leukoflag.convert(_anc(0.7), settings=settings)
    assert [(f.code, f.rule) for f in critical.findings] == [("LL", "anc-critical-low")]


@pytest.mark.parametrize("reference", ["0-9.0", "0.0-9.0", "<9.0"])
@pytest.mark.parametrize("value", ["0.9", "0"])
def test_a_labs_range_starting_at_zero_holds_no_count_from_a_critical_low(
    reference: str, value: str
) -> None:
    # a low limit of 0 is no low limit (no count is below it), as '<9.0' sends none: a WBC of
    # 900 (or none at all) is below the default critical low of 2,000 and critical either way
    conversion = leukoflag.convert(_oru(value, reference))
    assert [(f.code, f.rule) for f in conversion.findings] == [("LL", "wbc-critical-low")]
    assert [i for i in conversion.issues if i.code == "flag.critical-within-range"] == []


def test_a_bound_held_by_the_labs_range_is_quoted_as_sent() -> None:
    # '<2.9' is a count below 2,900, not 2,900: the warning quotes the bound with its comparator
    conversion = leukoflag.convert(_oru("<2.9", "2.5-9.0"), settings=CRITICAL_WBC_3000)
    assert [(f.code, f.value_per_ul, f.comparator) for f in conversion.findings] == [
        ("LU", Decimal(2900), "<")
    ]
    (held,) = [i for i in conversion.issues if i.code == "flag.critical-within-range"]
    assert held.text.startswith(
        "WBC <2,900 cells/µL is below the critical low of 3,000 cells/µL "
        "(Settings.critical_low) but not below 2,500 cells/µL"
    )


@pytest.mark.parametrize(
    ("value", "reference", "settings"),
    [
        ("1.8", "1.5-9.0", Settings()),  # a lab's range starting below the default 2,000
        ("1.8", "1.5-9.0", CRITICAL_WBC_3000),  # below the default, under a raised limit too
        ("0.4", "0.1-9.0", Settings(critical_low={"wbc": 1000})),  # a lowered limit
    ],
)
def test_below_the_default_critical_low_a_labs_range_holds_no_wbc_from_ll(
    value: str, reference: str, settings: Settings
) -> None:
    # Only a limit raised above the sourced default (clinical.md: WBC 2,000) gives way to a lab's
    # range: a WBC of 1,800 beside '1.5-9.0' was LU with flag.critical-within-range, though any
    # critical-value list calls it critical
    conversion = leukoflag.convert(_oru(value, reference), settings=settings)
    assert [(f.code, f.rule) for f in conversion.findings] == [("LL", "wbc-critical-low")]
    assert [i for i in conversion.issues if i.code == "flag.critical-within-range"] == []


def test_a_fhir_anc_below_the_default_critical_low_is_critical_whatever_the_labs_range() -> None:
    # an ANC of 300 is severe neutropenia (clinical.md: < 500): beside a lab range starting at
    # 100 it was LU, not LL, under the default settings
    observation = json.loads(_anc(0.3))
    for limit in ("low", "high"):
        observation["referenceRange"][0][limit]["value"] = {"low": 0.1, "high": 6.0}[limit]
    conversion = leukoflag.convert(json.dumps(observation).encode())
    assert [(f.code, f.rule, f.value_per_ul) for f in conversion.findings] == [
        ("LL", "anc-critical-low", Decimal(300))
    ]
    assert [i for i in conversion.issues if i.code == "flag.critical-within-range"] == []
    # under a raised limit of 1,000, 300 is still below the default: LL
    raised_limit = Settings(critical_low={"anc": 1000})
    held = leukoflag.convert(json.dumps(observation).encode(), settings=raised_limit)
    assert [(f.code, f.rule) for f in held.findings] == [("LL", "anc-critical-low")]
    # between the default 500 and the raised 1,000, the lab's range holds 700 from LL
    observation["valueQuantity"]["value"] = 0.7
    raised = leukoflag.convert(json.dumps(observation).encode(), settings=raised_limit)
    assert [(f.code, f.rule) for f in raised.findings] == [("LU", "anc-significantly-low")]
    assert [i.code for i in raised.issues if i.code == "flag.critical-within-range"] == [
        "flag.critical-within-range"
    ]
