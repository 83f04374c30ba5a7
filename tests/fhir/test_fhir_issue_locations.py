"""FHIR input: an Issue about one element of a count (its value, unit, reference range, code,
status or interpretation) is located at that element, as HL7 v2 names the OBX field."""

from __future__ import annotations

import json
from typing import Any

import pytest

import leukoflag

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
WBC = {"coding": [{"system": LOINC, "code": "6690-2"}]}
NEUTROPHIL_PERCENT = {"coding": [{"system": LOINC, "code": "770-8"}]}
OBSERVATION = "ITEM[1]/Bundle.entry[1].resource"


def observation(**elements: Any) -> dict[str, Any]:
    """A final WBC of a Lakeview clinic patient, drawn on 2026-03-10, with ``elements``."""
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": WBC,
        "subject": {"reference": "Patient/lv-20931"},
        "effectiveDateTime": "2026-03-10T08:15:00-05:00",
        **elements,
    }


def issues_of(
    resource: dict[str, Any], birth: str = "1979-06-14", gender: str = "female"
) -> list[leukoflag.Issue]:
    patient = {"resourceType": "Patient", "id": "lv-20931", "birthDate": birth, "gender": gender}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "Patient/lv-20931", "resource": patient}, {"resource": resource}],
    }
    conversion = leukoflag.convert(json.dumps(bundle))
    assert len(conversion.bundles) == 1
    return list(conversion.issues)


def located(issues: list[leukoflag.Issue], code: str) -> str:
    (issue,) = [i for i in issues if i.code == code]
    return issue.location


@pytest.mark.parametrize(
    ("elements", "code", "element"),
    [
        # a unit leukoflag does not know: at the quantity holding it (HL7 v2: OBX-6)
        ({"valueQuantity": {"value": 4.2, "unit": "Zellen/nl?"}}, "units.unknown-unit", ""),
        ({"valueQuantity": {"value": 7}}, "units.no-unit", ""),
        ({"valueQuantity": {"value": 41, "unit": "%"}}, "units.percent", ""),
        (
            {"valueQuantity": {"value": -4.2, "unit": "10*3/uL", "system": UCUM}},
            "units.implausible",
            "",
        ),
        (
            {"valueQuantity": {"value": 4.2, "unit": "10 ^3 / uL"}},
            "units.unit-matched-tolerantly",
            "",
        ),
        # a count per µL written with decimals, a thousands dot: at its quantity
        ({"valueQuantity": {"value": 4.5, "unit": "/uL"}}, "flag.scale-suspect", ""),
        (
            {
                "valueQuantity": {"value": 3.2, "unit": "/uL"},
                "referenceRange": [
                    {"low": {"value": 4.0, "unit": "/uL"}, "high": {"value": 11.0, "unit": "/uL"}}
                ],
            },
            "flag.scale-suspect",
            "",
        ),
        (
            {"valueQuantity": {"value": 1.0, "comparator": "<", "unit": "10*3/uL"}},
            "flag.bound-interpreted",
            "",
        ),
        (
            {
                "valueRange": {
                    "low": {"value": 1.0, "unit": "10*3/uL"},
                    "high": {"value": 5.0, "unit": "10*3/uL"},
                }
            },
            "flag.bound-inconclusive",
            ".valueRange",
        ),
        ({"valueString": "4.2"}, "flag.value-not-numeric", ".valueString"),
        (
            {"dataAbsentReason": {"coding": [{"code": "not-performed"}]}},
            "flag.data-absent",
            ".dataAbsentReason",
        ),
        (
            {"code": NEUTROPHIL_PERCENT, "valueQuantity": {"value": 4.5, "unit": "10*3/uL"}},
            "flag.percent-count-unit",
            "",
        ),
        (
            {"code": NEUTROPHIL_PERCENT, "valueQuantity": {"value": 150, "unit": "%"}},
            "flag.percent-implausible",
            "",
        ),
    ],
)
def test_an_issue_about_a_fhir_value_or_unit_is_located_at_the_value_element(
    elements: dict[str, Any], code: str, element: str
) -> None:
    issues = issues_of(observation(**elements))
    assert located(issues, code) == OBSERVATION + (element or ".valueQuantity")


def test_a_unit_refused_in_a_panel_component_is_located_at_that_components_quantity() -> None:
    panel = observation(
        code={"coding": [{"system": LOINC, "code": "58410-2"}]},
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "718-7"}]},
                "valueQuantity": {"value": 13.1, "unit": "g/dL"},
            },
            {"code": WBC, "valueQuantity": {"value": 4.2, "unit": "Zellen/nl?"}},
        ],
    )
    issues = issues_of(panel)
    assert located(issues, "units.unknown-unit") == f"{OBSERVATION}.component[1].valueQuantity"


def quantity(value: float, code: str = "10*3/uL") -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def for_sex(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": "http://snomed.info/sct", "code": code}]}]


MEN = for_sex("248153007")
WOMEN = for_sex("248152002")


@pytest.mark.parametrize(
    ("ranges", "birth", "code", "element"),
    [
        # a caption for its other range first, then the adults' range, for a girl of 11
        (
            [{"text": "see lab handbook"}, {"text": "4.0-11.0 (adult)"}],
            "2015-01-01",
            "flag.lab-range-adults",
            ".referenceRange[1]",
        ),
        (
            [{"low": quantity(5.0), "high": quantity(15.0), "text": "Pediatric"}],
            "1979-06-14",
            "flag.lab-range-children",
            ".referenceRange[0]",
        ),
    ],
)
def test_a_lab_range_labelled_for_other_ages_is_said_at_its_reference_range_element(
    ranges: list[dict[str, Any]], birth: str, code: str, element: str
) -> None:
    issues = issues_of(observation(valueQuantity=quantity(5.0), referenceRange=ranges), birth)
    assert located(issues, code) == OBSERVATION + element


def test_the_union_of_a_fhir_range_for_men_and_one_for_women_is_said_at_the_ranges() -> None:
    ranges = [
        {"low": quantity(4.0), "high": quantity(10.0), "appliesTo": MEN},
        {"low": quantity(4.5), "high": quantity(11.0), "appliesTo": WOMEN},
    ]
    issues = issues_of(
        observation(valueQuantity=quantity(5.0), referenceRange=ranges), gender="unknown"
    )
    assert located(issues, "flag.lab-range-sex-union") == f"{OBSERVATION}.referenceRange"


def test_the_womens_range_that_cannot_be_used_in_a_union_is_said_at_its_element() -> None:
    # the women's range in mmol/L: the men's element was fine, the women's is refused
    ranges = [
        {"low": quantity(4.0), "high": quantity(10.0), "appliesTo": MEN},
        {"low": quantity(4.5, "mmol/L"), "high": quantity(11.0, "mmol/L"), "appliesTo": WOMEN},
    ]
    issues = issues_of(
        observation(valueQuantity=quantity(5.0), referenceRange=ranges), gender="other"
    )
    assert located(issues, "flag.lab-range-unusable") == f"{OBSERVATION}.referenceRange[1]"


SENDER_HIGH = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                "code": "H",
            }
        ]
    }
]


@pytest.mark.parametrize(
    ("elements", "code", "element"),
    [
        # LOINC for a WBC and for an ANC in one code: at the code (HL7 v2: OBX-3)
        (
            {
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "6690-2"},
                        {"system": LOINC, "code": "751-8"},
                    ]
                },
                "valueQuantity": quantity(4.2),
            },
            "flag.code-conflict",
            ".code",
        ),
        # the sender's H beside a leukopenic 2.0: at its interpretation (HL7 v2: OBX-8)
        (
            {"valueQuantity": quantity(2.0), "interpretation": SENDER_HIGH},
            "flag.sender-disagrees",
            ".interpretation",
        ),
        # a result not yet available: at its status (HL7 v2: OBX-11)
        (
            {"status": "registered", "valueQuantity": quantity(4.2)},
            "flag.status-not-flaggable",
            ".status",
        ),
    ],
)
def test_an_issue_about_a_fhir_code_status_or_interpretation_is_located_at_that_element(
    elements: dict[str, Any], code: str, element: str
) -> None:
    issues = issues_of(observation(**elements))
    assert located(issues, code) == OBSERVATION + element


def test_the_status_of_a_panel_component_is_said_at_its_observations_status() -> None:
    # a component has no status of its own: 'component[0]' named an element without one
    panel = observation(
        status="registered",
        code={"coding": [{"system": LOINC, "code": "58410-2"}]},
        component=[{"code": WBC, "valueQuantity": quantity(4.2)}],
    )
    issues = issues_of(panel)
    assert located(issues, "flag.status-not-flaggable") == f"{OBSERVATION}.status"
