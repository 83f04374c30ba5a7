"""Reading FHIR input: Observations (R4, R5), panels, Bundles, NDJSON, arrays; what is rejected."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir_builders import finding_and_range

import leukoflag
from leukoflag import fhir
from leukoflag._quote import quoted
from leukoflag.fhir import FhirItem, _read
from leukoflag.fhir._elements import BIRTH_TIME, ORIGINAL_TEXT, PQ_TRANSLATION
from leukoflag.model import (
    CodedResult,
    Issue,
    LabResult,
    NoValue,
    Number,
    NumberRange,
    Patient,
    PatientResult,
    Rejected,
    ReportStatus,
    ResultStatus,
    Severity,
    Text,
    Unit,
)
from leukoflag.settings import Settings

INPUTS = Path(__file__).parent / "inputs"
UCUM = "http://unitsofmeasure.org"


def read(data: bytes) -> list[FhirItem | Rejected]:
    return list(fhir.read_items(io.BytesIO(data), source="<test>", settings=Settings()))


def read_file(name: str) -> list[FhirItem | Rejected]:
    return read((INPUTS / name).read_bytes())


def only_item(name: str) -> FhirItem:
    (item,) = read_file(name)
    assert isinstance(item, FhirItem), item
    return item


def only_group(name: str) -> tuple[PatientResult, Patient]:
    """The one PATIENT_RESULT group of input file ``name``, and its patient (which it must have)."""
    (group,) = only_item(name).groups
    assert group.patient is not None
    return group, group.patient


def birth_date(patient: Patient) -> str:
    assert patient.birth_date is not None
    return patient.birth_date.fhir


def results(item: FhirItem) -> list[LabResult]:
    return [r for group in item.groups for order in group.orders for r in order.results]


def test_r4_observation_is_one_result_with_value_unit_range_and_flags() -> None:
    item = only_item("r4-wbc-observation.json")
    (result,) = results(item)
    assert result.location == "ITEM[1]/Observation"
    assert result.code.code_in("http://loinc.org") == "6690-2"
    assert result.value == Number(Decimal("2.85"), "2.85")
    assert result.unit == Unit("10^3/uL", "10*3/uL", UCUM)
    assert result.status is ResultStatus.FINAL
    assert result.reference_range is not None
    assert (result.reference_range.low, result.reference_range.high) == (
        Decimal("4.50"),
        Decimal("11.00"),
    )
    assert result.reference_range.text == "4.50 - 11.00 10^3/uL"
    assert result.reference_range.unit == Unit("10^3/uL", "10*3/uL", UCUM)
    assert [(f.code, f.system) for f in result.sender_flags] == [
        ("L", "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation")
    ]
    assert result.effective is not None
    assert result.effective.fhir == "2026-11-24T06:15:00-06:00"
    assert result.notes == ("Result verified by repeat analysis.",)
    assert item.issues == ()


def test_r5_observation_resolves_contained_patient_and_specimen() -> None:
    group, patient = only_group("r5-anc-observation.json")
    assert patient.sex == "male"
    assert birth_date(patient) == "2019-03"
    assert patient.identifiers[0].value == "MT-2209913"
    (order,) = group.orders
    (specimen,) = order.specimens
    assert specimen.location == "ITEM[1]/Observation.contained[1]"
    assert specimen.type is not None
    assert specimen.type.codings[0].code == "119297000"
    assert specimen.source_site is not None
    assert specimen.source_site.text == "left arm"
    assert specimen.collected is not None
    assert specimen.collected.day.isoformat() == "2026-11-23"
    assert not specimen.is_control
    (result,) = order.results
    assert result.specimen == specimen.location
    assert result.status is ResultStatus.PRELIMINARY
    assert result.unit == Unit("G/L")


def test_cbc_panel_components_are_results_at_component_locations() -> None:
    item = only_item("cbc-panel-components.json")
    found = results(item)
    assert [r.location for r in found] == [
        "ITEM[1]/Observation.component[0]",
        "ITEM[1]/Observation.component[1]",
        "ITEM[1]/Observation.component[2]",
    ]
    wbc = found[0]
    assert wbc.value == Number(Decimal("3.6"), "3.6")
    assert wbc.status is ResultStatus.FINAL  # a component takes its Observation's status
    assert wbc.effective is not None
    assert wbc.effective.fhir == "2026-11-24T10:05:00+09:00"
    assert wbc.reference_range is not None
    assert wbc.reference_range.unit == Unit("x10^9/L")
    assert [f.code for f in found[2].sender_flags] == ["N"]


def test_bundle_reads_patient_specimen_and_orders_by_report() -> None:
    group, patient = only_group("bundle-with-patient.json")
    assert patient.location == "ITEM[1]/Bundle.entry[0].resource"
    assert birth_date(patient) == "2021-08-14"
    assert patient.sex == "female"
    report, loose = group.orders
    assert report.location == "ITEM[1]/Bundle.entry[2].resource"
    assert report.status is ReportStatus.FINAL
    assert report.filler_id is not None
    assert report.filler_id.value == "SM-L-26-8812"
    assert [r.location for r in report.results] == [
        "ITEM[1]/Bundle.entry[3].resource",
        "ITEM[1]/Bundle.entry[4].resource",
        "ITEM[1]/Bundle.entry[5].resource",
    ]
    assert [s.location for s in report.specimens] == ["ITEM[1]/Bundle.entry[1].resource"]
    assert report.results[0].specimen == "ITEM[1]/Bundle.entry[1].resource"
    assert loose.location == "ITEM[1]/Bundle"
    assert [r.location for r in loose.results] == ["ITEM[1]/Bundle.entry[6].resource"]


def test_legacy_interpretation_is_read_with_an_issue() -> None:
    item = only_item("stu3-legacy-interpretation.json")
    (result,) = results(item)
    assert [(f.code, f.system) for f in result.sender_flags] == [
        ("L", "http://hl7.org/fhir/v2/0078")
    ]
    assert [(i.code, i.location) for i in item.issues] == [
        ("fhir.legacy-interpretation", "ITEM[1]/Observation.interpretation")
    ]


def test_ndjson_bad_lines_are_rejected_and_the_rest_go_through() -> None:
    items = read_file("bulk-export.ndjson")
    assert [type(i).__name__ for i in items] == [
        "FhirItem",
        "Rejected",
        "FhirItem",
        "Rejected",
        "Rejected",
        "FhirItem",
    ]
    assert [i.index for i in items] == [1, 2, 3, 4, 5, 6]
    bad_json, not_fhir, malformed = (i for i in items if isinstance(i, Rejected))
    assert bad_json.reason.startswith("not valid JSON")
    assert bad_json.raw.startswith(b'{"resourceType":"Observation","id":"bulk-a2"')
    assert not_fhir.reason == "not a FHIR resource: no resourceType"
    assert malformed.reason == (
        "malformed Observation at ITEM[5]/Observation.valueQuantity.value: "
        "'3.3' is not a JSON number"
    )
    assert malformed.location == "ITEM[5]"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b'{"resourceType": "LabResult", "wbc": 3.2}',
            "not a FHIR resource: unknown resourceType 'LabResult'",
        ),
        (b'{"resourceType": 12}', "not a FHIR resource: unknown resourceType 12"),
        (b"{}", "not a FHIR resource: no resourceType"),
        (b'["a", "b"]', "not a FHIR resource: a JSON string, not an object"),
        (
            b'{"resourceType": "Observation", "status": "final"}',
            "malformed Observation at ITEM[1]/Observation.code: Observation.code is required",
        ),
        (
            b'{"resourceType": "Observation", "status": 1, "code": {"text": "WBC"}}',
            "malformed Observation at ITEM[1]/Observation.status: 1 is not a status code",
        ),
        (
            b'{"resourceType": "Observation", "status": "final", "code": "6690-2"}',
            "malformed Observation at ITEM[1]/Observation.code: '6690-2' is not a CodeableConcept",
        ),
        (
            (
                b'{"resourceType": "Observation", "code": {"text": "WBC"}, "status": "final", '
                b'"valueString": "x", "valueQuantity": {"value": 1}}'
            ),
            (
                "malformed Observation at ITEM[1]/Observation: more than one value[x]: "
                "valueQuantity, valueString"
            ),
        ),
        (
            (
                b'{"resourceType": "Observation", "code": {"text": "WBC"}, "status": "final", '
                b'"effectiveDateTime": "2026-11-30T08:15:00Z", '
                b'"effectivePeriod": {"start": "2025-11-30T08:15:00Z"}, '
                b'"valueQuantity": {"value": 5.0, "unit": "10*3/uL"}}'
            ),
            (
                "malformed Observation at ITEM[1]/Observation: more than one effective[x]: "
                "effectiveDateTime, effectivePeriod"
            ),
        ),
        (
            b'{"resourceType": "Observation", "status": "final",\n "code": {"text": "WBC"},\n',
            "not valid JSON",
        ),
    ],
)
def test_input_that_is_not_a_fhir_resource_is_rejected_with_its_reason(
    data: bytes, reason: str
) -> None:
    first = read(data)[0]
    assert isinstance(first, Rejected)
    assert first.reason.startswith(reason)


@pytest.mark.parametrize(
    ("quantity", "location"),
    [
        ('"valueQuantity": {"value": 3.1, "unit": 5}', "valueQuantity.unit"),
        ('"valueQuantity": {"value": 3.1, "unit": {"text": "K/uL"}}', "valueQuantity.unit"),
        ('"valueQuantity": {"value": 3.1, "unit": "K/uL", "code": 1}', "valueQuantity.code"),
        (
            '"valueQuantity": {"value": 3.1, "code": "10*3/uL", "system": [1]}',
            "valueQuantity.system",
        ),
        (
            (
                '"valueQuantity": {"value": 3.1, "unit": "K/uL"}, '
                '"referenceRange": [{"low": {"value": 4.5, "unit": 4.5}}]'
            ),
            "referenceRange[0].low.unit",
        ),
    ],
)
def test_a_quantity_unit_of_the_wrong_json_type_is_malformed(quantity: str, location: str) -> None:
    # a WBC of 3.1 with "unit": 5 was read as sent without unit: judged 3,100 cells/µL by an
    # inferred unit ('no unit sent'), and its PQ translation written with the number as unit
    data = (
        '{"resourceType": "Observation", "status": "final", '
        '"code": {"coding": [{"system": "http://loinc.org", "code": "26464-8"}]}, ' + quantity + "}"
    ).encode()
    (first,) = read(data)
    assert isinstance(first, Rejected)
    assert first.reason == f"malformed Observation at ITEM[1]/Observation.{location}: not a string"


def test_a_json_value_that_is_no_object_is_named_in_json_words() -> None:
    # the reasons said Python's names: 'a JSON NoneType', 'a JSON Decimal', 'a JSON bool'
    data = _BULK_LINES[0] + b'\n42\n4.5e3\n"WBC 3.1"\nnull\ntrue\n[1]\n'
    assert [(i.index, i.reason) for i in read(data) if isinstance(i, Rejected)] == [
        (2, "not a FHIR resource: a JSON number, not an object"),
        (3, "not a FHIR resource: a JSON number, not an object"),
        (4, "not a FHIR resource: a JSON string, not an object"),
        (5, "not a FHIR resource: JSON null, not an object"),
        (6, "not a FHIR resource: JSON true, not an object"),
        (7, "not a FHIR resource: an array, not an object"),
    ]
    (element,) = read(b"[false]")
    assert isinstance(element, Rejected)
    assert element.reason == "not a FHIR resource: JSON false, not an object"


def test_json_array_gives_one_item_per_resource() -> None:
    data = b"""[
      {"resourceType": "Observation", "status": "final", "code": {"text": "WBC"},
       "valueQuantity": {"value": 4.1, "unit": "K/uL"}},
      {"resourceType": "Patient", "id": "p"},
      42
    ]"""
    first, second, third = read(data)
    assert isinstance(first, FhirItem)
    assert first.index == 1
    assert results(first)[0].value == Number(Decimal("4.1"), "4.1")
    assert isinstance(second, FhirItem)
    assert second.groups == ()
    assert [i.code for i in second.issues] == ["fhir.no-results"]
    assert isinstance(third, Rejected)
    assert third.index == 3
    assert third.raw == b"42"


def test_pretty_printed_document_with_bom_and_blank_lines_is_one_item() -> None:
    data = b"\xef\xbb\xbf\n\n" + (INPUTS / "bundle-with-patient.json").read_bytes() + b"\n\n"
    (item,) = read(data)
    assert isinstance(item, FhirItem)
    assert item.resource["id"] == "sm-results-20261124-17"


def test_ndjson_with_cr_line_ends_is_one_item_per_line() -> None:
    # an export written with classic Mac line ends: it was one 'Extra data' rejection
    lines = (INPUTS / "bulk-export.ndjson").read_bytes().splitlines()
    items = read(b"\xef\xbb\xbf" + b"\r".join(lines) + b"\r\r")
    assert [(i.index, type(i).__name__) for i in items] == [
        (1, "FhirItem"),
        (2, "Rejected"),
        (3, "FhirItem"),
        (4, "Rejected"),
        (5, "Rejected"),
        (6, "FhirItem"),
    ]
    assert items == read(b"\n".join(lines))
    assert list(fhir.split_items(io.BytesIO(b"\r".join(lines)))) == [
        line.strip() for line in lines if line.strip()
    ]


def test_pretty_printed_document_with_cr_line_ends_is_one_item() -> None:
    text = (INPUTS / "bundle-with-patient.json").read_bytes().replace(b"\r\n", b"\n")
    (item,) = read(text.replace(b"\n", b"\r"))
    assert isinstance(item, FhirItem)
    assert item.resource["id"] == "sm-results-20261124-17"


def test_empty_input_holds_no_items() -> None:
    assert read(b"  \n\n") == []


class _CountingStream(io.BytesIO):
    """A stream that counts how many lines were read from it."""

    lines_read = 0

    def readline(self, size: int | None = -1) -> bytes:
        self.lines_read += 1
        return super().readline(size)

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("NDJSON must be read line by line, not whole")


def test_ndjson_is_read_line_by_line() -> None:
    line = (INPUTS / "bulk-export.ndjson").read_bytes().splitlines()[0]
    stream = _CountingStream(b"\n".join([line] * 1000))
    items = fhir.read_items(stream, source="<test>", settings=Settings())
    next(items)
    next(items)
    assert stream.lines_read <= 3
    assert sum(1 for _ in items) == 998


@pytest.mark.parametrize(
    ("element", "value", "unit"),
    [
        (
            (
                '"valueRange": {"low": {"value": 1.0, "unit": "K/uL"}, '
                '"high": {"value": 2.0, "unit": "K/uL"}}'
            ),
            NumberRange(Decimal("1.0"), Decimal("2.0"), "1.0-2.0"),
            Unit("K/uL"),
        ),
        ('"valueString": "see comment"', Text("see comment"), None),
        (
            '"valueCodeableConcept": {"text": "clumped"}',
            CodedResult(
                __import__("leukoflag.model", fromlist=["Concept"]).Concept(text="clumped")
            ),
            None,
        ),
        (
            '"valueQuantity": {"value": 0.5, "comparator": "<", "unit": "K/uL"}',
            Number(Decimal("0.5"), "<0.5", "<"),
            Unit("K/uL"),
        ),
        ('"valueInteger": 4200', Number(Decimal(4200), "4200"), None),
        (
            '"dataAbsentReason": {"coding": [{"code": "error"}], "text": "clotted"}',
            NoValue("error", "clotted"),
            None,
        ),
        ('"valueBoolean": true', Text("true"), None),
    ],
)
def test_value_types_become_model_values(element: str, value: object, unit: Unit | None) -> None:
    data = (
        '{"resourceType": "Observation", "status": "final", "code": {"text": "WBC"}, '
        + element
        + "}"
    ).encode()
    (item,) = read(data)
    assert isinstance(item, FhirItem)
    (result,) = results(item)
    assert (result.value, result.unit) == (value, unit)


def test_unknown_status_is_read_as_unknown_with_an_issue() -> None:
    (item,) = read(b'{"resourceType": "Observation", "status": "done", "code": {"text": "WBC"}}')
    assert isinstance(item, FhirItem)
    assert results(item)[0].status is ResultStatus.UNKNOWN
    assert [i.code for i in item.issues] == ["fhir.status-unknown"]


def _modified_report() -> dict[str, Any]:
    """An R5 DiagnosticReport "modified" (changed after it was issued, before it is final)
    containing a WBC of 2,900/uL."""
    return {
        "resourceType": "DiagnosticReport",
        "status": "modified",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": "Patient/rv-5521"},
        "result": [{"reference": "#wbc"}],
        "contained": [
            {
                "resourceType": "Observation",
                "id": "wbc",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "valueQuantity": {
                    "value": 2.9,
                    "unit": "10*3/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                },
            }
        ],
    }


def test_an_r5_report_modified_before_it_is_final_is_read_as_partial() -> None:
    # R5 added "modified": reported as "not a FHIR report status" and read as unknown
    report = _modified_report()
    (item,) = read(json.dumps(report).encode())
    assert isinstance(item, FhirItem)
    (group,) = item.groups
    (order,) = group.orders
    assert (order.status, order.status_text) == (ReportStatus.PARTIAL, "modified")
    assert "fhir.status-unknown" not in [i.code for i in item.issues]


@pytest.mark.parametrize(("version", "rejected"), [("R4", True), ("R5", False)])
def test_a_report_modified_is_refused_only_by_strict_validation_as_r4(
    version: str, rejected: bool
) -> None:
    # the JSON does not say its version: "modified" is read as partial in any input, and R4's
    # value set, which lacks it, is checked by strict validation of the version the user sets
    report = _modified_report()
    settings = Settings(strict=True, fhir_version="R4" if version == "R4" else "R5")
    conv = leukoflag.convert(json.dumps(report), settings=settings)
    assert [r.reason.startswith("strict FHIR validation failed:") for r in conv.rejected] == (
        [True] if rejected else []
    )
    if rejected:
        assert "'modified' is not in the required value set" in conv.rejected[0].reason
    assert "fhir.status-unknown" not in [i.code for i in conv.issues]


def test_malformed_observation_inside_a_bundle_is_an_issue_and_the_rest_is_read() -> None:
    data = b"""{"resourceType": "Bundle", "type": "collection", "entry": [
      {"resource": {"resourceType": "Observation", "status": "final",
                    "valueQuantity": {"value": 2}}},
      {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "WBC"},
                    "valueQuantity": {"value": 2.2, "unit": "K/uL"}}}
    ]}"""
    (item,) = read(data)
    assert isinstance(item, FhirItem)
    assert [r.location for r in results(item)] == ["ITEM[1]/Bundle.entry[1].resource"]
    assert [(i.code, i.location) for i in item.issues] == [
        ("fhir.observation-malformed", "ITEM[1]/Bundle.entry[0].resource.code")
    ]


@pytest.mark.parametrize(("element", "text"), [("contained", "1.5"), ("component", '{"a": 1}')])
def test_observation_whose_contained_or_component_is_not_a_list_is_malformed(
    element: str, text: str
) -> None:
    # Alone it is rejected; inside a Bundle it is passed through unread with an error Issue.
    observation = (
        '{"resourceType": "Observation", "status": "final", "code": {"text": "WBC"}, '
        f'"valueQuantity": {{"value": 2.2, "unit": "K/uL"}}, "{element}": {text}}}'
    )
    (alone,) = read(observation.encode())
    assert isinstance(alone, Rejected)
    assert f"Observation.{element} is not a list" in alone.reason
    entry = f'{{"resource": {observation}}}'
    bundle = f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entry}]}}'
    (item,) = read(bundle.encode())
    assert isinstance(item, FhirItem)
    assert results(item) == []
    assert [(i.code, i.location) for i in item.issues] == [
        ("fhir.observation-malformed", f"ITEM[1]/Bundle.entry[0].resource.{element}"),
    ]


def test_a_bundle_of_message_bundles_says_they_are_not_read_not_that_it_holds_no_result() -> None:
    # an interface engine's batch: each message Bundle holds a critically low ANC, which goes
    # out unflagged; "the Bundle holds no Observation" beside it told the reader nothing was there
    anc = (
        '{"resourceType": "Observation", "status": "final", '
        '"code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}, '
        '"valueQuantity": {"value": 0.3, "unit": "10*3/uL"}}'
    )
    message = f'{{"resourceType": "Bundle", "type": "message", "entry": [{{"resource": {anc}}}]}}'
    batch = (
        f'{{"resourceType": "Bundle", "type": "collection", "entry": [{{"resource": {message}}}]}}'
    )
    conversion = leukoflag.convert(batch.encode())
    assert conversion.findings == []
    # a warning, as for other results set aside unflagged: not information a reader may skip
    assert [(i.severity, i.code, i.location, i.text) for i in conversion.issues] == [
        (
            Severity.WARNING,
            "fhir.nested-bundle-not-read",
            "ITEM[1]/Bundle.entry[0].resource",
            (
                "a Bundle inside a Bundle is passed through unread: the results it holds are "
                "not flagged"
            ),
        )
    ]
    assert conversion.bundles == [json.loads(batch, parse_float=Decimal)]


def test_a_parameters_holding_counts_says_they_are_not_read_not_that_it_holds_no_result() -> None:
    # an operation's output (a custom $cbc-results, a $process-message reply) returns the
    # Observations as Parameters.parameter.resource, some in a part: the critically low ANC and
    # the WBC go out unflagged, and "the Parameters holds no Observation" said nothing was there
    anc = (
        '{"resourceType": "Observation", "id": "anc-1", "status": "final", '
        '"code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}, '
        '"valueQuantity": {"value": 0.3, "unit": "10*3/uL"}}'
    )
    wbc = anc.replace("anc-1", "wbc-1").replace("751-8", "6690-2").replace("0.3", "1.1")
    patient = '{"resourceType": "Patient", "id": "p-1", "birthDate": "1971-02-03"}'
    parameters = (
        '{"resourceType": "Parameters", "parameter": ['
        f'{{"name": "patient", "resource": {patient}}}, '
        f'{{"name": "result", "resource": {anc}}}, '
        f'{{"name": "panel", "part": [{{"name": "wbc", "resource": {wbc}}}]}}]}}'
    )
    text = "a resource inside a Parameters is passed through unread: its results are not flagged"
    conversion = leukoflag.convert(parameters.encode())
    assert conversion.findings == []
    assert [(i.severity, i.code, i.location, i.text) for i in conversion.issues] == [
        (
            Severity.WARNING,
            "fhir.parameters-not-read",
            "ITEM[1]/Parameters.parameter[1].resource",
            text,
        ),
        (
            Severity.WARNING,
            "fhir.parameters-not-read",
            "ITEM[1]/Parameters.parameter[2].part[0].resource",
            text,
        ),
    ]
    assert conversion.bundles == [json.loads(parameters, parse_float=Decimal)]
    # a Parameters sent as a Bundle entry: the same, at its place in the Bundle
    bundle = (
        '{"resourceType": "Bundle", "type": "collection", '
        f'"entry": [{{"resource": {parameters}}}]}}'
    )
    conversion = leukoflag.convert(bundle.encode())
    assert conversion.findings == []
    assert [(i.code, i.location) for i in conversion.issues] == [
        ("fhir.parameters-not-read", "ITEM[1]/Bundle.entry[0].resource.parameter[1].resource"),
        (
            "fhir.parameters-not-read",
            "ITEM[1]/Bundle.entry[0].resource.parameter[2].part[0].resource",
        ),
    ]
    # a Parameters holding no result (a Patient only, a parameter list not sent as a list)
    for holding in (f'[{{"name": "patient", "resource": {patient}}}]', '{"name": "x"}'):
        only = f'{{"resourceType": "Parameters", "parameter": {holding}}}'
        issues = leukoflag.convert(only.encode()).issues
        assert [(i.code, i.location) for i in issues] == [("fhir.no-results", "ITEM[1]/Parameters")]


def test_observation_whose_code_coding_is_one_object_is_malformed_not_silently_skipped() -> None:
    # A lone Coding where FHIR has a list (an XML-to-JSON converter's singleton): read as no
    # coding at all, this critically low ANC went out unflagged without a word.
    observation = (
        '{"resourceType": "Observation", "status": "final", '
        '"code": {"coding": {"system": "http://loinc.org", "code": "751-8"}}, '
        '"valueQuantity": {"value": 0.2, "unit": "10*3/uL"}}'
    )
    (alone,) = read(observation.encode())
    assert isinstance(alone, Rejected)
    assert alone.reason == (
        "malformed Observation at ITEM[1]/Observation.code.coding: code.coding is not a list"
    )
    component = (
        '{"resourceType": "Observation", "status": "final", "code": {"text": "CBC"}, '
        '"component": [{"code": {"coding": {"system": "http://loinc.org", "code": "751-8"}}, '
        '"valueQuantity": {"value": 0.2, "unit": "10*3/uL"}}]}'
    )
    entry = f'{{"resource": {component}}}'
    bundle = f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entry}]}}'
    (item,) = read(bundle.encode())
    assert isinstance(item, FhirItem)
    assert [(i.code, i.location) for i in item.issues] == [
        ("fhir.observation-malformed", "ITEM[1]/Bundle.entry[0].resource.component[0].code.coding"),
    ]


@pytest.mark.parametrize(
    ("coding", "at", "why"),
    [
        ('{"system": "http://loinc.org", "code": ["6690-2"]}', "[0].code", "not a string"),
        ('{"system": "http://loinc.org", "code": 6690}', "[0].code", "not a string"),
        ('{"system": ["http://loinc.org"], "code": "6690-2"}', "[0].system", "not a string"),
        ('"6690-2"', "[0]", "a Coding is not a JSON object"),
    ],
)
def test_observation_whose_code_is_not_a_string_is_malformed_not_silently_skipped(
    coding: str, at: str, why: str
) -> None:
    # a WBC of 3,200 whose LOINC code an export wrote as a list or a number was read as no
    # code at all and went out unflagged without an Issue
    observation = (
        '{"resourceType": "Observation", "status": "final", '
        f'"code": {{"coding": [{coding}]}}, '
        '"valueQuantity": {"value": 3.2, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", '
        '"code": "10*3/uL"}}'
    )
    (alone,) = read(observation.encode())
    assert isinstance(alone, Rejected)
    assert alone.reason == f"malformed Observation at ITEM[1]/Observation.code.coding{at}: {why}"
    entry = f'{{"resource": {observation}}}'
    bundle = f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entry}]}}'
    (item,) = read(bundle.encode())
    assert isinstance(item, FhirItem)
    assert [(i.code, i.location) for i in item.issues] == [
        ("fhir.observation-malformed", f"ITEM[1]/Bundle.entry[0].resource.code.coding{at}"),
    ]


def test_unresolvable_local_reference_is_reported() -> None:
    (item,) = read(
        b'{"resourceType": "Observation", "status": "final", "code": {"text": "WBC"}, '
        b'"subject": {"reference": "#nobody"}}'
    )
    assert isinstance(item, FhirItem)
    assert item.groups[0].patient is None
    assert [i.code for i in item.issues] == ["fhir.reference-unresolved"]


def test_a_panel_member_missing_from_the_bundle_is_reported_when_no_report_lists_the_panel() -> (
    None
):
    # the WBC of a CBC panel was left out of the Bundle: a report's panel said so, a panel sent
    # without report did not, and the count the lab sent was missing without a word
    panel = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "hasMember": [
            {"reference": "urn:uuid:2c9e7f30-5b1d-4e8a-9f62-0d4b3a1c7e55"},
            {"reference": "Observation/plt-elsewhere"},  # may be on the server: not an error
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:2c9e7f30-5b1d-4e8a-9f62-0d4b3a1c7e54", "resource": panel}],
    }
    (item,) = read(json.dumps(bundle).encode())
    assert isinstance(item, FhirItem)
    assert [(i.code, i.location) for i in item.issues] == [
        ("fhir.reference-unresolved", "ITEM[1]/Bundle.entry[0].resource.hasMember[0]")
    ]


def test_a_result_whose_effective_period_has_only_an_end_is_dated_by_it_for_the_age() -> None:
    # a 10-day-old's WBC of 7,000 sent with effectivePeriod.end only: the result had no date, so
    # the newborn was judged with adult ranges (N) instead of its age band (L)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:8a41c6d2-93b0-4f7e-a1d5-6e2f0c9b3a10",
                "resource": {
                    "resourceType": "Patient",
                    "gender": "male",
                    "birthDate": "2026-11-14",
                },
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                    "subject": {"reference": "urn:uuid:8a41c6d2-93b0-4f7e-a1d5-6e2f0c9b3a10"},
                    "effectivePeriod": {"end": "2026-11-24T06:40:00-05:00"},
                    "valueQuantity": {
                        "value": 7.0,
                        "unit": "10*3/uL",
                        "system": UCUM,
                        "code": "10*3/uL",
                    },
                }
            },
        ],
    }
    conv = leukoflag.convert(json.dumps(bundle))
    finding, applied = finding_and_range(conv)
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    assert applied.source == "age-band"
    assert "flag.age-unknown" not in [i.code for i in conv.issues]


def _newborns_wbc_timed(timing: Mapping[str, object]) -> dict[str, object]:
    """A boy born 2026-11-14 and his WBC of 7,000 (low for a newborn, normal for an adult)
    dated by ``timing`` alone (Observation.effectiveTiming)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:b71d0e43-5a2c-4f98-8e16-3c9a0d7f2b61",
                "resource": {
                    "resourceType": "Patient",
                    "gender": "male",
                    "birthDate": "2026-11-14",
                },
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                    "subject": {"reference": "urn:uuid:b71d0e43-5a2c-4f98-8e16-3c9a0d7f2b61"},
                    "effectiveTiming": timing,
                    "valueQuantity": {
                        "value": 7.0,
                        "unit": "10*3/uL",
                        "system": UCUM,
                        "code": "10*3/uL",
                    },
                }
            },
        ],
    }


def test_a_result_dated_by_an_effective_timing_event_is_judged_for_the_age() -> None:
    # effectiveTiming was not read: the newborn's result had no date and he was judged with
    # adult ranges (N, flag.age-unknown) instead of his age band (L)
    timing = {"event": ["2026-11-24T06:40:00-05:00"]}
    conv = leukoflag.convert(json.dumps(_newborns_wbc_timed(timing)))
    finding, applied = finding_and_range(conv)
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    assert applied.source == "age-band"
    assert "flag.age-unknown" not in [i.code for i in conv.issues]


def test_an_effective_timing_without_event_dates_nothing() -> None:
    timing = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
    conv = leukoflag.convert(json.dumps(_newborns_wbc_timed(timing)))
    finding, _ = finding_and_range(conv)
    assert (finding.code, finding.rule) == ("N", "wbc-within-range")
    assert ("flag.age-unknown", "ITEM[1]/Bundle.entry[1].resource") in [
        (i.code, i.location) for i in conv.issues
    ]


def test_an_effective_timing_event_that_is_no_date_is_reported_and_not_used() -> None:
    conv = leukoflag.convert(json.dumps(_newborns_wbc_timed({"event": ["24/11/2026 06:40"]})))
    assert (
        "fhir.timestamp-invalid",
        "ITEM[1]/Bundle.entry[1].resource.effectiveTiming.event[0]",
    ) in [(i.code, i.location) for i in conv.issues]
    assert [f.code for f in conv.findings] == ["N"]


_NEWBORN = "urn:uuid:5c0e7f3a-2d41-4b8e-9f6a-71c2d8e4b905"
_UNDATED_WBC = "urn:uuid:e3b9a1c4-6f2d-4a87-b0e5-9d4c3f1a7b28"


def _newborn_bundle(
    kind: str,
    *,
    wbc: dict[str, str],
    report: dict[str, str] | None = None,
    timestamp: str | None = None,
) -> dict[str, object]:
    """A Bundle of a girl born 2026-03-01 and her WBC of 7,000 with no effective[x] (7,000 is
    low in her first week, normal for an adult), ``wbc`` and ``report`` adding their times."""
    entries: list[dict[str, object]] = [
        {
            "fullUrl": _NEWBORN,
            "resource": {"resourceType": "Patient", "gender": "female", "birthDate": "2026-03-01"},
        },
        {
            "fullUrl": _UNDATED_WBC,
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "subject": {"reference": _NEWBORN},
                "valueQuantity": {
                    "value": 7.0,
                    "unit": "10*3/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                },
                **wbc,
            },
        },
    ]
    if report is not None:
        entries.append(
            {
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                    "subject": {"reference": _NEWBORN},
                    "result": [{"reference": _UNDATED_WBC}],
                    **report,
                }
            }
        )
    bundle: dict[str, object] = {"resourceType": "Bundle", "type": kind, "entry": entries}
    if timestamp is not None:
        bundle["timestamp"] = timestamp
    return bundle


@pytest.mark.parametrize(
    "bundle",
    [
        _newborn_bundle("collection", wbc={"issued": "2026-03-04T09:12:00+01:00"}),
        _newborn_bundle("collection", wbc={}, report={"issued": "2026-03-04T09:12:00+01:00"}),
        _newborn_bundle("message", wbc={}, timestamp="2026-03-04T09:15:00+01:00"),
    ],
    ids=["observation-issued", "report-issued", "message-timestamp"],
)
def test_a_result_with_no_effective_is_dated_by_when_it_was_issued_for_the_age(
    bundle: dict[str, object],
) -> None:
    # drawn on or before it was issued, as an HL7 v2 result on or before MSH-7: the 3-day-old's
    # 7,000 was judged with adult ranges (N, flag.age-unknown) instead of her age band (L)
    conv = leukoflag.convert(json.dumps(bundle))
    finding, applied = finding_and_range(conv)
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    assert applied.source == "age-band"
    assert "flag.age-unknown" not in [i.code for i in conv.issues]


def test_an_observation_issued_picks_the_labs_range_for_the_newborns_age() -> None:
    bundle = _newborn_bundle("collection", wbc={"issued": "2026-03-04T09:12:00+01:00"})
    wbc = bundle["entry"][1]["resource"]  # type: ignore[index]
    wbc["referenceRange"] = [
        {
            "low": {"value": 9.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
            "high": {"value": 30.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
            "age": {
                "low": {"value": 0, "unit": "d", "system": UCUM, "code": "d"},
                "high": {"value": 6, "unit": "d", "system": UCUM, "code": "d"},
            },
        },
        {
            "low": {"value": 4.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
            "high": {"value": 11.0, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        },
    ]
    conv = leukoflag.convert(json.dumps(bundle))
    finding, applied = finding_and_range(conv)
    assert (finding.code, applied.source, applied.low) == ("L", "lab", Decimal(9000))


def test_a_searchset_timestamp_does_not_date_a_result() -> None:
    # a searchset's timestamp is when the search ran, maybe years after the blood was drawn
    bundle = _newborn_bundle("searchset", wbc={}, timestamp="2026-03-04T09:15:00+01:00")
    conv = leukoflag.convert(json.dumps(bundle))
    (finding,) = conv.findings
    assert finding.code == "N"
    (age,) = [i for i in conv.issues if i.code == "flag.age-unknown"]
    assert age.text.startswith(
        "the result has no date (its own time, its specimen's collection, its order's or "
        "report's time, or its message's time)"
    )


def test_an_observation_issued_that_is_no_instant_is_reported_and_not_used() -> None:
    bundle = _newborn_bundle("collection", wbc={"issued": "04.03.2026"})
    conv = leukoflag.convert(json.dumps(bundle))
    codes = [(i.code, i.location) for i in conv.issues]
    assert ("fhir.timestamp-invalid", "ITEM[1]/Bundle.entry[1].resource.issued") in codes
    assert conv.findings[0].code == "N"


_MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.7741.2"


def _bundle_of_subject_by_identifier(*patients: dict[str, object]) -> dict[str, object]:
    """``patients``, then a WBC of 7,000 on 2026-03-04 whose subject is an identifier only
    (low for a 3-day-old, normal for an adult)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            *({"resource": patient} for patient in patients),
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                    "subject": {"identifier": {"system": _MRN_SYSTEM, "value": "MRN-30417"}},
                    "effectiveDateTime": "2026-03-04T07:30:00+01:00",
                    "valueQuantity": {
                        "value": 7.0,
                        "unit": "10*3/uL",
                        "system": UCUM,
                        "code": "10*3/uL",
                    },
                }
            },
        ],
    }


def _patient_with_mrn(mrn: str, birth: str = "2026-03-01") -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:2.16.840.1.113883.3.7741.9", "value": "PT-55"},
            {"system": _MRN_SYSTEM, "value": mrn},
        ],
        "gender": "female",
        "birthDate": birth,
    }


def test_a_subject_sent_as_an_identifier_is_the_patient_of_the_bundle_carrying_it() -> None:
    # the subject had no reference, so the 3-day-old was judged as an adult (N, flag.age-unknown)
    bundle = _bundle_of_subject_by_identifier(
        _patient_with_mrn("MRN-99812", birth="1970-05-05"), _patient_with_mrn("MRN-30417")
    )
    conv = leukoflag.convert(json.dumps(bundle))
    (finding,) = conv.findings
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    assert conv.issues == []


def test_a_subject_identifier_two_patients_carry_names_neither_and_says_so() -> None:
    bundle = _bundle_of_subject_by_identifier(
        _patient_with_mrn("MRN-30417", birth="1970-05-05"), _patient_with_mrn("MRN-30417")
    )
    conv = leukoflag.convert(json.dumps(bundle))
    assert conv.findings[0].code == "N"
    ambiguous, age = conv.issues
    assert (ambiguous.code, ambiguous.severity, ambiguous.location) == (
        "fhir.subject-ambiguous",
        Severity.WARNING,
        "ITEM[1]/Bundle.entry[2].resource.subject.identifier",
    )
    assert "2 Patients of the item carry (ITEM[1]/Bundle.entry[0].resource, " in ambiguous.text
    assert age.code == "flag.age-unknown"


def test_a_subject_identifier_without_system_names_no_patient_and_says_why() -> None:
    # only flag.age-unknown was said: nothing named the subject the MRN was not matched from
    bundle = _bundle_of_subject_by_identifier(_patient_with_mrn("MRN-30417"))
    subject = bundle["entry"][1]["resource"]["subject"]  # type: ignore[index]
    del subject["identifier"]["system"]
    subject["identifier"]["type"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
    }
    conv = leukoflag.convert(json.dumps(bundle))
    assert conv.findings[0].code == "N"
    incomplete, age = conv.issues
    assert (incomplete.code, incomplete.severity, incomplete.location) == (
        "fhir.subject-identifier-incomplete",
        Severity.INFORMATION,
        "ITEM[1]/Bundle.entry[1].resource.subject.identifier",
    )
    assert incomplete.text == (
        "the subject is sent as identifier 'MRN-30417' (type 'MR') without a system: a value "
        "may be another register's number, so no Patient of the item is taken for it "
        f"(ITEM[1]/Bundle.entry[0].resource under system '{_MRN_SYSTEM}' carries that value), "
        "and the patient's age and sex are not known"
    )
    assert age.code == "flag.age-unknown"


def test_a_subject_identifier_without_value_names_no_patient_and_says_why() -> None:
    bundle = _bundle_of_subject_by_identifier(_patient_with_mrn("MRN-30417"))
    subject = bundle["entry"][1]["resource"]["subject"]  # type: ignore[index]
    del subject["identifier"]["value"]
    conv = leukoflag.convert(json.dumps(bundle))
    assert [(i.code, i.text) for i in conv.issues] == [
        (
            "fhir.subject-identifier-incomplete",
            (
                "the subject is sent as an identifier without a value: no Patient is taken "
                "for it, and the patient's age and sex are not known"
            ),
        ),
        (
            "flag.age-unknown",
            "the patient's birth date is not known: judged with adult ranges and thresholds",
        ),
    ]


def test_a_urn_reference_of_a_lone_observation_is_not_said_to_miss_a_bundle_entry() -> None:
    # the Issue said the reference "names no entry of the Bundle", though there is no Bundle
    panel = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": "urn:uuid:9d2f4a61-0b7e-4c3a-8e15-2f6b7c9d0a14"},
        "hasMember": [{"reference": "urn:uuid:3e8c1b72-5a4d-4f09-b6e3-71d0a2c4f5e8"}],
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "valueQuantity": {
                    "value": 5.1,
                    "unit": "10*3/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                },
            }
        ],
    }
    conv = leukoflag.convert(json.dumps(panel))
    unresolved = [
        (i.location, i.text) for i in conv.issues if i.code == "fhir.reference-unresolved"
    ]
    assert unresolved == [
        (
            f"ITEM[1]/Observation.{element}",
            (
                f"reference 'urn:uuid:{uuid}' names nothing in the item: a urn: reference names "
                "a Bundle entry by its fullUrl, and the item is an Observation, not a Bundle"
            ),
        )
        for element, uuid in (
            ("hasMember[0]", "3e8c1b72-5a4d-4f09-b6e3-71d0a2c4f5e8"),
            ("subject", "9d2f4a61-0b7e-4c3a-8e15-2f6b7c9d0a14"),
        )
    ]


def test_ndjson_whose_first_line_is_broken_still_reads_the_rest() -> None:
    lines = (INPUTS / "bulk-export.ndjson").read_bytes().splitlines()
    first, second = read(lines[1] + b"\n" + lines[0] + b"\n")
    assert isinstance(first, Rejected)
    assert first.reason.startswith("not valid JSON")
    assert isinstance(second, FhirItem)
    assert second.index == 2


def _in_two_steps(data: bytes) -> list[FhirItem | Rejected]:
    """What ``--jobs`` does: split in one place, read each part in another."""
    items: list[FhirItem | Rejected] = []
    for index, part in enumerate(fhir.split_items(io.BytesIO(data)), start=1):
        if isinstance(part, fhir.Document):
            items.extend(fhir.read_document(part, source="<test>"))
        else:
            items.append(fhir.read_line(part, index=index, source="<test>"))
    return items


_BULK = (INPUTS / "bulk-export.ndjson").read_bytes()
_BULK_LINES = _BULK.splitlines()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_BULK, id="ndjson-with-bad-lines"),
        pytest.param(_BULK_LINES[1] + b"\n" + _BULK_LINES[0] + b"\n", id="broken-first-line"),
        pytest.param(
            b"\xef\xbb\xbf\r\n\r\n" + b"\r\n\r\n".join(_BULK_LINES) + b"\r\n", id="bom-crlf-blanks"
        ),
        pytest.param(b'{"resourceType": "Observation", oops}\n"status": "final"\n', id="not-json"),
        pytest.param((INPUTS / "bundle-with-patient.json").read_bytes(), id="pretty-bundle"),
        pytest.param(b"[" + b",".join(_BULK_LINES[i] for i in (0, 2, 5)) + b"]", id="array"),
        pytest.param(b"\n  \n", id="blank"),
        pytest.param(b"42\n[1]\n" + _BULK, id="values-before-objects"),
        pytest.param(b"[" + _BULK_LINES[0] + b"]\n" + _BULK_LINES[5], id="array-line-then-object"),
    ],
)
def test_split_then_read_gives_exactly_what_read_items_gives(data: bytes) -> None:
    assert _in_two_steps(data) == read(data)


def test_split_items_yields_ndjson_lines_stripped_and_numbered_without_blanks() -> None:
    data = b"\xef\xbb\xbf" + _BULK_LINES[1] + b"\r\n\r\n  " + _BULK_LINES[0] + b"\t\r\n"
    assert list(fhir.split_items(io.BytesIO(data))) == [_BULK_LINES[1], _BULK_LINES[0]]
    rejected = fhir.read_line(_BULK_LINES[1], index=1, source="feed.ndjson")
    assert isinstance(rejected, Rejected)
    assert (rejected.index, rejected.location) == (1, "ITEM[1]")
    assert rejected.reason.startswith("not valid JSON")
    item = fhir.read_line(_BULK_LINES[0], index=2, source="feed.ndjson")
    assert isinstance(item, FhirItem)
    assert (item.index, item.raw, item.resource["id"]) == (2, _BULK_LINES[0], "bulk-a1")


def test_split_items_gives_a_document_whole() -> None:
    data = (INPUTS / "bundle-with-patient.json").read_bytes()
    (part,) = fhir.split_items(io.BytesIO(b"\n\n" + data))
    assert part == fhir.Document(data)


def test_lone_surrogate_escape_rejects_the_line_and_the_rest_go_through() -> None:
    # A sender that cut "😀" (\ud83d\ude00) in half: the Observation cannot be written back as
    # UTF-8 (orjson refused it, so the command line ended in a traceback).
    cut = (
        b'{"resourceType":"Observation","id":"wbc-cut","status":"final","code":{"coding":'
        b'[{"system":"http://loinc.org","code":"6690-2"}],"text":"WBC \\ud83d"},'
        b'"valueQuantity":{"value":3.1,"unit":"10*3/uL","system":"http://unitsofmeasure.org",'
        b'"code":"10*3/uL"}}'
    )
    whole = cut.replace(b'"wbc-cut"', b'"wbc-whole"').replace(b"\\ud83d", b"\\ud83d\\ude00")
    first, second = read(cut + b"\n" + whole + b"\n")
    assert isinstance(first, Rejected)
    assert first.reason == (
        "not valid JSON: the string 'WBC \\ud83d' holds a lone UTF-16 surrogate (one half of a "
        "pair, escaped or as its bytes), which is not Unicode text"
    )
    # The same half pair as its three bytes: json.loads decodes bytes with "surrogatepass".
    (raw_bytes,) = read(cut.replace(b"\\ud83d", "\ud83d".encode("utf-8", "surrogatepass")))
    assert isinstance(raw_bytes, Rejected)
    assert raw_bytes.reason == first.reason
    assert first.location == "ITEM[1]"
    assert isinstance(second, FhirItem)
    (result,) = results(second)
    assert result.code.text == "WBC \U0001f600"


def test_json_nested_past_the_depth_limit_is_rejected() -> None:
    # Extensions nested 130 levels (260 arrays and objects): orjson writes at most 254, and
    # deeper still the stdlib parser raised RecursionError out of convert.
    def observation(levels: int) -> bytes:
        nested = b'{"url":"http://example.org/fhir/StructureDefinition/x","valueString":"v"}'
        for _ in range(levels):
            nested = b'{"url":"http://example.org/fhir/StructureDefinition/x","extension":[%s]}' % (
                nested
            )
        return (
            b'{"resourceType":"Observation","status":"final","code":{"coding":[{"system":'
            b'"http://loinc.org","code":"751-8"}]},"valueQuantity":{"value":0.4,"unit":"10*3/uL"},'
            b'"extension":[' + nested + b"]}"
        )

    for levels in (130, 5000):
        (rejected,) = read(observation(levels))
        assert isinstance(rejected, Rejected)
        assert rejected.reason == (
            "not valid JSON: arrays and objects nested 255 levels deep or more"
        )
    (item,) = read(observation(100))
    assert isinstance(item, FhirItem)
    assert [r.location for r in results(item)] == ["ITEM[1]/Observation"]


def _cbc_observation(rid: str, value: float, subject: str, **more: object) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": value, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        **more,
    }


def test_contained_references_resolve_in_their_own_resource_to_the_first_with_the_id() -> None:
    def patient(family: str) -> dict[str, object]:
        return {"resourceType": "Patient", "id": "pt", "name": [{"family": family}]}

    entries = [
        {
            "fullUrl": f"urn:uuid:7d1c0e52-2f4a-4c1e-9b0a-5e8f0c3d7a1{n}",
            "resource": _cbc_observation(
                f"wbc-{n}",
                value,
                "#pt",
                contained=[{"resourceType": "Device", "id": "pt"}, patient(first), patient("X")],
            ),
        }
        for n, (value, first) in enumerate(((6.1, "OKAFOR"), (2.9, "LINDQVIST")))
    ]
    # the second entry sends no fullUrl: its path is found among the entries
    del entries[1]["fullUrl"]
    (item,) = read(json.dumps({"resourceType": "Bundle", "entry": entries}).encode())
    assert isinstance(item, FhirItem)
    patients = [group.patient for group in item.groups]
    # a Device first with the id: the reference is to it, not a Patient (set aside, said so);
    # next a Patient each
    assert patients == []
    assert [i.code for i in item.issues] == ["fhir.subject-not-patient"] * 2
    entries[0]["resource"]["contained"].pop(0)  # type: ignore[index]
    entries[1]["resource"]["contained"].pop(0)  # type: ignore[index]
    (item,) = read(json.dumps({"resourceType": "Bundle", "entry": entries}).encode())
    assert isinstance(item, FhirItem)
    assert [(g.patient.family, g.patient.location) for g in item.groups if g.patient] == [
        ("OKAFOR", "ITEM[1]/Bundle.entry[0].resource.contained[0]"),
        ("LINDQVIST", "ITEM[1]/Bundle.entry[1].resource.contained[0]"),
    ]


def test_malformed_observations_in_a_bundle_drop_only_their_own_results() -> None:
    component = {"code": {"text": "Neutrophils"}, "valueQuantity": {"value": 3.2}}
    entries = [
        {"resource": _cbc_observation("wbc-1", 6.1, "Patient/pt")},
        {"resource": _cbc_observation("wbc-2", 6.4, "Patient/pt", component=[component, "?"])},
        {"resource": _cbc_observation("wbc-3", 5.8, "Patient/pt")},
        {"resource": _cbc_observation("wbc-4", 5.5, "Patient/pt", component=[component, 7])},
    ]
    (item,) = read(json.dumps({"resourceType": "Bundle", "entry": entries}).encode())
    assert isinstance(item, FhirItem)
    assert sorted(item.nodes) == [
        "ITEM[1]/Bundle.entry[0].resource",
        "ITEM[1]/Bundle.entry[2].resource",
    ]
    assert [i.location for i in item.issues if i.code == "fhir.observation-malformed"] == [
        "ITEM[1]/Bundle.entry[1].resource.component[1]",
        "ITEM[1]/Bundle.entry[3].resource.component[1]",
    ]


# A LIS that appends a corrected value as a second member instead of replacing the first: a
# JSON parser keeps the last one silently, so 1.2 (leukopenic) would read as 7.5 (normal).
DOUBLED = (
    '{"resourceType": "Observation", "id": "wbc-dbl", "status": "final",'
    ' "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},'
    ' "valueQuantity": {"value": 1.2, "unit": "10*3/uL", "system": "UCUM", "code": "10*3/uL"},'
    ' "valueQuantity": {"value": 7.5, "unit": "10*3/uL", "system": "UCUM", "code": "10*3/uL"}}'
).replace("UCUM", UCUM)
SINGLE = (
    '{"resourceType": "Observation", "id": "wbc-one", "status": "final",'
    ' "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},'
    ' "valueQuantity": {"value": 3.4, "unit": "10*3/uL", "system": "UCUM", "code": "10*3/uL"}}'
).replace("UCUM", UCUM)
DOUBLED_REASON = (
    "malformed Observation at ITEM[%d]/Observation.valueQuantity: valueQuantity appears more "
    "than once in one object (JSON parsers keep only the last): which value the lab meant is "
    "unknown"
)


def test_an_ndjson_line_with_valuequantity_twice_is_rejected_and_the_rest_read() -> None:
    first, second = read(f"{DOUBLED}\n{SINGLE}\n".encode())
    assert isinstance(first, Rejected)
    assert first.reason == DOUBLED_REASON % 1
    assert first.raw == DOUBLED.encode()
    assert isinstance(second, FhirItem)
    assert [r.value for r in results(second)] == [Number(Decimal("3.4"), "3.4")]


def test_an_array_element_with_valuequantity_twice_is_rejected_alone() -> None:
    first, second = read(f"[\n {SINGLE},\n {DOUBLED}\n]".encode())
    assert isinstance(first, FhirItem)
    assert isinstance(second, Rejected)
    assert second.reason == DOUBLED_REASON % 2


def test_valuequantity_twice_is_found_when_a_key_spells_a_letter_as_an_escape() -> None:
    # JSON allows "value\u0051uantity" for the key (an encoder escaping more than it needs):
    # it is the same key, and the parse keeps the last value (7.5) as for a plain repeat
    line = DOUBLED.replace('"valueQuantity": {"value": 7.5', '"value\\u0051uantity": {"value": 7.5')
    element = DOUBLED.replace(
        '"valueQuantity": {"value": 7.5', '"\\u0076alue\\u0051uantity": {"value": 7.5'
    )
    first, second = read(f"{line}\n{SINGLE}\n".encode())
    assert isinstance(first, Rejected)
    assert first.reason == DOUBLED_REASON % 1
    assert isinstance(second, FhirItem)
    # in an array, and beside a unit sent escaped (\u00b5L), which is no repeat
    escaped = SINGLE.replace('"unit": "10*3/uL"', '"unit": "10^3/\\u00b5L"')
    third, fourth = read(f"[{escaped}, {element}]".encode())
    assert isinstance(third, FhirItem)
    assert [r.value for r in results(third)] == [Number(Decimal("3.4"), "3.4")]
    assert isinstance(fourth, Rejected)
    assert fourth.reason == DOUBLED_REASON % 2


def test_a_bundle_entry_with_valuequantity_twice_is_passed_through_unread() -> None:
    entries = ", ".join(f'{{"resource": {r}}}' for r in (DOUBLED, SINGLE))
    (item,) = read(f'{{"resourceType": "Bundle", "type": "batch", "entry": [{entries}]}}'.encode())
    assert isinstance(item, FhirItem)
    assert [r.location for r in results(item)] == ["ITEM[1]/Bundle.entry[1].resource"]
    (issue,) = [i for i in item.issues if i.code == "fhir.observation-malformed"]
    assert issue.location == "ITEM[1]/Bundle.entry[0].resource.valueQuantity"
    assert issue.text.startswith("valueQuantity appears more than once in one object")
    assert item.resource["entry"][0]["resource"]["valueQuantity"]["value"] == Decimal("7.5")


def test_valuequantity_in_extensions_is_no_repeated_key() -> None:
    # leukoflag's own output read back: each count carries its sent value as an extension's
    # valueQuantity, so the text holds more valueQuantity keys than values read
    (flagged,) = leukoflag.convert(SINGLE).bundles
    (item,) = read(fhir.dumps(flagged))
    assert isinstance(item, FhirItem)
    assert [r.value for r in results(item)] == [Number(Decimal(3400), "3400")]
    assert not [i for i in item.issues if i.code == "fhir.observation-malformed"]


# A WBC with its range, one key at a time sent twice the way a LIS appending a correction would:
# the parse keeps the last, so each (1.2 -> 7.5, 10*3/uL -> /uL, ANC -> WBC...) changed the
# verdict without a word.
WBC_LINE = (
    '{"resourceType": "Observation", "id": "wbc-2207", "status": "final",'
    ' "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},'
    ' "subject": {"reference": "Patient/pt-4471"}, "effectiveDateTime": "2026-11-24T08:10:00Z",'
    ' "valueQuantity": {"value": 1.2, "unit": "10*3/uL", "system": "UCUM", "code": "10*3/uL"},'
    ' "interpretation": [{"coding": [{"code": "L"}]}],'
    ' "referenceRange": [{"low": {"value": 4.0, "unit": "10*3/uL"},'
    ' "high": {"value": 11.0, "unit": "10*3/uL"}}]}'
).replace("UCUM", UCUM)


@pytest.mark.parametrize(
    ("sent", "twice", "location"),
    [
        ('"value": 1.2,', '"value": 1.2, "value": 7.5,', "valueQuantity.value"),
        ('"unit": "10*3/uL",', '"unit": "10*3/uL", "unit": "/uL",', "valueQuantity.unit"),
        (
            '"value": 1.2,',
            '"value": 1.2, "comparator": ">", "comparator": "<",',
            "valueQuantity.comparator",
        ),
        (f'"system": "{UCUM}"', f'"system": "urn:lab", "system": "{UCUM}"', "valueQuantity.system"),
        ('"status": "final",', '"status": "cancelled", "status": "final",', "status"),
        ('"code": "6690-2"}', '"code": "751-8", "code": "6690-2"}', "code.coding[0].code"),
        (' "subject":', ' "subject": {"reference": "Patient/pt-90"}, "subject":', "subject"),
        (
            ' "effectiveDateTime": "2026',
            ' "effectiveDateTime": "2024-01-02", "effectiveDateTime": "2026',
            "effectiveDateTime",
        ),
        (
            '"effectiveDateTime": "2026-11-24T08:10:00Z",',
            '"effectiveTiming": {"event": ["2024-01-02"]}, "effectiveTiming": {"event": []},',
            "effectiveTiming",
        ),
        (' "interpretation":', ' "interpretation": [], "interpretation":', "interpretation"),
        (' "referenceRange":', ' "referenceRange": [], "referenceRange":', "referenceRange"),
        (
            '"low": {"value": 4.0,',
            '"low": {"value": 0.4, "value": 4.0,',
            "referenceRange[0].low.value",
        ),
        # the key spelled with an escape (\u0061 is a) is the same key
        ('"value": 1.2,', '"value": 1.2, "v\\u0061lue": 7.5,', "valueQuantity.value"),
    ],
)
def test_an_observation_with_a_deciding_key_twice_is_rejected_at_that_key(
    sent: str, twice: str, location: str
) -> None:
    line = WBC_LINE.replace(sent, twice, 1)
    assert line != WBC_LINE
    first, second = read(f"{line}\n{SINGLE}\n".encode())
    assert isinstance(first, Rejected)
    key = location.rsplit(".", 1)[-1]
    assert first.reason == (
        f"malformed Observation at ITEM[1]/Observation.{location}: {key} appears more than once "
        "in one object (JSON parsers keep only the last): which value the lab meant is unknown"
    )
    assert isinstance(second, FhirItem)
    assert [r.value for r in results(second)] == [Number(Decimal("3.4"), "3.4")]


def test_a_component_with_its_value_twice_sets_its_observation_aside_in_a_bundle() -> None:
    panel = (
        '{"resourceType": "Observation", "id": "cbc-1", "status": "final",'
        ' "code": {"text": "CBC"}, "component": ['
        '{"code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},'
        ' "valueQuantity": {"value": 0.4, "unit": "10*3/uL", "value": 4.1}}]}'
    )
    entries = ", ".join(f'{{"resource": {r}}}' for r in (panel, WBC_LINE))
    (item,) = read(
        f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entries}]}}'.encode()
    )
    assert isinstance(item, FhirItem)
    assert [r.location for r in results(item)] == ["ITEM[1]/Bundle.entry[1].resource"]
    (issue,) = [i for i in item.issues if i.code == "fhir.observation-malformed"]
    assert issue.location == "ITEM[1]/Bundle.entry[0].resource.component[0].valueQuantity.value"
    assert issue.text.startswith("value appears more than once in one object")


def test_a_key_repeated_that_decides_nothing_is_read_as_usual() -> None:
    # a display or a note sent twice changes no verdict: the last is kept, the count judged
    line = WBC_LINE.replace(
        '"code": "6690-2"}', '"code": "6690-2", "display": "WBC", "display": "Leukocytes"}'
    )
    escaped = WBC_LINE.replace(
        '"id": "wbc-2207"', '"id": "wbc-2207", "note": [{"text": "\\u0022clotted\\u0022?"}]'
    )
    for item in read(f"{line}\n{escaped}\n".encode()):
        assert isinstance(item, FhirItem)
        assert [r.value for r in results(item)] == [Number(Decimal("1.2"), "1.2")]
        assert not [i for i in item.issues if i.code == "fhir.observation-malformed"]


def test_a_bundle_entry_with_two_resources_is_passed_through_unread() -> None:
    # the parse kept the second (a WBC of 7.5, normal) and the first (1.2, leukopenic) vanished:
    # the normal one was judged and nothing said the other was sent
    low = WBC_LINE
    normal = SINGLE.replace('"value": 3.4', '"value": 7.5')
    entries = f'{{"resource": {low}, "resource": {normal}}}, {{"resource": {SINGLE}}}'
    sent = f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entries}]}}'
    (item,) = read(sent.encode())
    assert isinstance(item, FhirItem)
    assert [r.location for r in results(item)] == ["ITEM[1]/Bundle.entry[1].resource"]
    (issue,) = [i for i in item.issues if i.code == "fhir.bundle-malformed"]
    assert (issue.severity, issue.location) == (
        Severity.WARNING,
        "ITEM[1]/Bundle.entry[0].resource",
    )
    assert issue.text == (
        "resource appears more than once in one object (JSON parsers keep only the last): which "
        "resource the sender meant is unknown: this entry is passed through unread"
    )
    (output,) = leukoflag.convert(sent).bundles
    assert "interpretation" not in output["entry"][0]["resource"]


def test_a_bundle_entry_that_holds_no_fhir_resource_is_said_not_passed_over_in_silence() -> None:
    # an exporter that dropped resourceType from a critically low WBC, wrote the resource as a
    # string of JSON, or padded the list with null: each went out unread without a word, beside
    # the WBC of the next entry, which is read
    untyped = WBC_LINE.replace('"resourceType": "Observation", ', "")
    entries = [
        f'{{"fullUrl": "urn:uuid:0b5c7f52-5d4e-4c1a-9f0e-000000000001", "resource": {untyped}}}',
        '{"resource": {"resourceType": "LabResult", "id": "x-1"}}',
        f'{{"resource": {json.dumps(WBC_LINE)}}}',
        "null",
        '{"request": {"method": "DELETE", "url": "Observation/wbc-9"}}',  # no resource: fine
        f'{{"resource": {SINGLE}}}',
    ]
    sent = f'{{"resourceType": "Bundle", "type": "collection", "entry": [{", ".join(entries)}]}}'
    conversion = leukoflag.convert(sent)
    assert [f.location for f in conversion.findings] == ["ITEM[1]/Bundle.entry[5].resource"]
    said = [
        (i.severity, i.location, i.text)
        for i in conversion.issues
        if i.code == "fhir.bundle-malformed"
    ]
    unread = "this entry is passed through unread"
    assert said == [
        (
            Severity.WARNING,
            "ITEM[1]/Bundle.entry[0].resource",
            f"not a FHIR resource: no resourceType: {unread}",
        ),
        (
            Severity.WARNING,
            "ITEM[1]/Bundle.entry[1].resource",
            f"not a FHIR resource: unknown resourceType 'LabResult': {unread}",
        ),
        (
            Severity.WARNING,
            "ITEM[1]/Bundle.entry[2].resource",
            f"not a FHIR resource: a JSON string, not an object: {unread}",
        ),
        (
            Severity.WARNING,
            "ITEM[1]/Bundle.entry[3]",
            "not a Bundle entry: JSON null, not an object: passed through unread",
        ),
    ]
    # passed through as sent
    assert conversion.bundles[0]["entry"][:5] == json.loads(sent, parse_float=Decimal)["entry"][:5]


def test_a_reference_to_a_contained_object_that_is_no_fhir_resource_is_said_unresolved() -> None:
    # a report whose contained WBC (critically low) lost its resourceType: it was "the
    # DiagnosticReport holds no Observation", and a result's contained Patient without it was
    # read as a patient of unknown age without a word of why
    untyped = WBC_LINE.replace('"resourceType": "Observation", ', "").replace("wbc-2207", "w1")
    report = (
        '{"resourceType": "DiagnosticReport", "id": "r1", "status": "final", '
        f'"code": {{"text": "CBC"}}, "contained": [{untyped}], "result": [{{"reference": "#w1"}}]}}'
    )
    conversion = leukoflag.convert(report)
    assert conversion.findings == []
    assert [(i.severity, i.code, i.location, i.text) for i in conversion.issues] == [
        (
            Severity.WARNING,
            "fhir.reference-unresolved",
            "ITEM[1]/DiagnosticReport.result[0]",
            (
                "reference '#w1' names a contained object that is no FHIR resource (no "
                "resourceType): not read"
            ),
        )
    ]
    assert conversion.bundles == [json.loads(report, parse_float=Decimal)]
    patient = '{"resourceType": "Pateint", "id": "p", "birthDate": "2024-03-02"}'
    wbc = SINGLE.replace('"id": "wbc-one", ', f'"id": "wbc-one", "contained": [{patient}], ')
    wbc = wbc.replace('"status": "final",', '"status": "final", "subject": {"reference": "#p"},')
    issues = leukoflag.convert(wbc).issues
    assert [(i.code, i.location, i.text) for i in issues] == [
        (
            "fhir.reference-unresolved",
            "ITEM[1]/Observation.subject",
            (
                "reference '#p' names a contained object that is no FHIR resource (unknown "
                "resourceType 'Pateint'): not read"
            ),
        ),
        (
            "flag.age-unknown",
            "ITEM[1]/Observation",
            "the patient's birth date is not known: judged with adult ranges and thresholds",
        ),
    ]


def test_a_bundle_with_its_entries_sent_twice_reads_none_of_them() -> None:
    sent = (
        f'{{"resourceType": "Bundle", "type": "collection", "entry": [{{"resource": {WBC_LINE}}}],'
        f' "entry": [{{"resource": {SINGLE}}}]}}'
    )
    (item,) = read(sent.encode())
    assert isinstance(item, FhirItem)
    assert results(item) == []
    (issue,) = [i for i in item.issues if i.code == "fhir.bundle-malformed"]
    assert issue.location == "ITEM[1]/Bundle.entry"
    assert issue.text == (
        "entry appears more than once in one object (JSON parsers keep only the last): which "
        "entries the sender meant are unknown: nothing read from it"
    )


def test_a_repeat_is_found_beside_quotes_sent_as_escapes() -> None:
    # the repeat is found by the quotes the parse written back lost: two quotes sent as \u0022
    # (written back as \") must not make up for the two of the value dropped
    line = WBC_LINE.replace('"value": 1.2,', '"value": 1.2, "value": 7.5,').replace(
        '"id": "wbc-2207"', '"id": "wbc-2207", "note": [{"text": "\\u0022hemolysed\\u0022"}]'
    )
    (item,) = read(line.encode())
    assert isinstance(item, Rejected)
    assert item.reason.startswith(
        "malformed Observation at ITEM[1]/Observation.valueQuantity.value: value appears more"
    )


def test_leukoflags_own_output_read_back_takes_no_parse_noting_repeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # its extensions hold valueQuantity keys beside the value read, which cost a second, slower
    # parse looking for repeats in every Bundle leukoflag wrote and read back
    (flagged,) = leukoflag.convert(WBC_LINE).bundles

    def slow(data: bytes) -> object:
        raise AssertionError("parsed again noting repeats")

    monkeypatch.setattr(_read, "loads_noting_repeats", slow)
    (item,) = read(fhir.dumps(flagged, pretty=True))
    assert isinstance(item, FhirItem)
    assert [r.value for r in results(item)] == [Number(Decimal(1200), "1200")]


# A child's CBC as a LIS sends it: the girl (born 2023-05-02, 3 years old), the venous specimen,
# the report and its WBC and ANC, each a Bundle entry; a test sends one key of it twice.
CHILD_PATIENT = (
    '{"resourceType": "Patient", "id": "pt-318", "gender": "female", "birthDate": "2023-05-02"}'
)
CHILD_SPECIMEN = (
    '{"resourceType": "Specimen", "id": "sp-5521", "type": {"coding": [{"system":'
    ' "http://terminology.hl7.org/CodeSystem/v2-0487", "code": "BLDV"}]},'
    ' "collection": {"collectedDateTime": "2026-11-24T08:05:00Z"}}'
)
CHILD_REPORT = (
    '{"resourceType": "DiagnosticReport", "id": "dr-5521", "status": "final",'
    ' "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},'
    ' "subject": {"reference": "Patient/pt-318"}, "effectiveDateTime": "2026-11-24T08:05:00Z",'
    ' "specimen": [{"reference": "Specimen/sp-5521"}],'
    ' "result": [{"reference": "Observation/wbc-5521"}, {"reference": "Observation/anc-5521"}]}'
)
CHILD_COUNT = (
    '{"resourceType": "Observation", "id": "ID", "status": "final",'
    ' "code": {"coding": [{"system": "http://loinc.org", "code": "LOINC"}]},'
    ' "subject": {"reference": "Patient/pt-318"}, "specimen": {"reference": "Specimen/sp-5521"},'
    ' "valueQuantity": {"value": VALUE, "unit": "10*3/uL", "system": "UCUM", "code": "10*3/uL"}}'
).replace("UCUM", UCUM)
CHILD_WBC = CHILD_COUNT.replace("ID", "wbc-5521").replace("LOINC", "6690-2").replace("VALUE", "5.2")
CHILD_ANC = CHILD_COUNT.replace("ID", "anc-5521").replace("LOINC", "751-8").replace("VALUE", "1.3")


def child_cbc(
    patient: str = CHILD_PATIENT,
    specimen: str = CHILD_SPECIMEN,
    report: str = CHILD_REPORT,
    wbc: str = CHILD_WBC,
    anc: str = CHILD_ANC,
) -> str:
    """The child's CBC Bundle, with any of its resources replaced."""
    named = zip(
        ("Patient/pt-318", "Specimen/sp-5521", "DiagnosticReport/dr-5521"),
        (patient, specimen, report),
        strict=True,
    )
    entries = ", ".join(
        [
            *(f'{{"fullUrl": "https://lis.example/fhir/{n}", "resource": {r}}}' for n, r in named),
            *(f'{{"resource": {r}}}' for r in (wbc, anc)),
        ]
    )
    return f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entries}]}}'


def interpretations(bundle: dict[str, Any]) -> dict[str, str]:
    """The interpretation code of each Observation of a flagged Bundle, by its id."""
    return {
        e["resource"]["id"]: e["resource"]["interpretation"][0]["coding"][0]["code"]
        for e in bundle["entry"]
        if "interpretation" in e["resource"]
    }


def test_the_child_cbc_is_judged_by_the_age_band() -> None:
    # the Bundle the tests below send a key twice in: a WBC of 5.2 is low at 3 years
    (bundle,) = leukoflag.convert(child_cbc()).bundles
    assert interpretations(bundle) == {"wbc-5521": "L", "anc-5521": "L"}


def _repeated_and_age_unknown(
    conversion: leukoflag.Conversion, repeated_at: str
) -> tuple[Issue, Issue]:
    """The fhir.key-repeated Issue at ``repeated_at`` (under ITEM[1]/Bundle.) and the first
    flag.age-unknown of the child's WBC and ANC (entries 3 and 4), judged with adult rules."""
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {"wbc-5521": "N", "anc-5521": "L"}  # adult rules
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert (repeated.severity, repeated.location) == (
        Severity.WARNING,
        f"ITEM[1]/Bundle.{repeated_at}",
    )
    unknown = [i for i in conversion.issues if i.code == "flag.age-unknown"]
    assert [i.location for i in unknown] == [
        "ITEM[1]/Bundle.entry[3].resource",
        "ITEM[1]/Bundle.entry[4].resource",
    ]
    return repeated, unknown[0]


@pytest.mark.parametrize(
    ("sent", "twice", "key"),
    [
        # the adult's date kept: the child's WBC of 5.2 was judged N with an adult's range
        (
            '"birthDate": "2023-05-02"',
            '"birthDate": "2023-05-02", "birthDate": "1980-05-02"',
            "birthDate",
        ),
        (
            '"birthDate": "2023-05-02"',
            (
                '"birthDate": "2023-05-02", "_birthDate": {"extension": [{"url": "BT",'
                ' "valueDateTime": "2023-05-02T06:10:00+01:00"}]}, "_birthDate": {"extension":'
                ' [{"url": "BT", "valueDateTime": "2023-05-02T23:40:00-05:00"}]}'
            ),
            "_birthDate",
        ),
    ],
)
def test_a_patient_with_a_birth_date_twice_is_one_of_unknown_age(
    sent: str, twice: str, key: str
) -> None:
    patient = CHILD_PATIENT.replace(sent, twice.replace("BT", BIRTH_TIME))
    conversion = leukoflag.convert(child_cbc(patient=patient))
    repeated, unknown = _repeated_and_age_unknown(conversion, f"entry[0].resource.{key}")
    assert repeated.text.startswith(f"{key} appears more than once in one object")
    assert repeated.text.endswith("read as not known (flag.age-unknown)")
    assert unknown.text.startswith("the patient's birth date is not known")


def test_a_patient_with_a_gender_twice_is_one_of_unknown_sex() -> None:
    patient = CHILD_PATIENT.replace('"gender": "female"', '"gender": "female", "gender": "male"')
    (item,) = read(child_cbc(patient=patient).encode())
    assert isinstance(item, FhirItem)
    (group,) = item.groups
    assert group.patient is not None
    assert (group.patient.sex, group.patient.sex_text) == ("unknown", "")
    assert birth_date(group.patient) == "2023-05-02"
    (repeated,) = [i for i in item.issues if i.code == "fhir.key-repeated"]
    assert repeated.location == "ITEM[1]/Bundle.entry[0].resource.gender"
    assert repeated.text.endswith("the patient's sex is read as not known")


@pytest.mark.parametrize("gender", ['"Male"', '"M"', '"man"', '{"code": "male"}', '["male"]'])
def test_a_gender_that_is_no_administrative_gender_code_is_read_as_unknown_and_said(
    gender: str,
) -> None:
    # a man of 45 (Patient.gender sent as v2's 'M', or 'Male'): judged silently with the range
    # of either sex, so his WBC of 4,700 (below the men's 5,000) was N without a word
    patient = (
        '{"resourceType": "Patient", "id": "pt-318", "gender": GENDER, "birthDate": "1981-05-02"}'
    ).replace("GENDER", gender)
    conversion = leukoflag.convert(child_cbc(patient=patient, wbc=CHILD_WBC.replace("5.2", "4.7")))
    (wbc,) = (f for f in conversion.findings if f.analyte.value == "wbc")
    assert (wbc.code, wbc.range.low if wbc.range else None) == ("N", Decimal(4500))
    (said,) = (i for i in conversion.issues if i.code == "fhir.gender-unknown")
    assert said.severity.value == "warning"
    assert said.location == "ITEM[1]/Bundle.entry[0].resource.gender"
    assert said.text == (
        f"{quoted(json.loads(gender))} is not a FHIR "
        "administrative-gender code (male, female, other, unknown): the patient's sex is read "
        "as unknown, judged by the ranges of either sex"
    )


@pytest.mark.parametrize("gender", ["male", "female", "other", "unknown"])
def test_an_administrative_gender_code_is_read_without_a_word(gender: str) -> None:
    patient = CHILD_PATIENT.replace('"female"', f'"{gender}"')
    conversion = leukoflag.convert(child_cbc(patient=patient))
    assert not [i for i in conversion.issues if i.code == "fhir.gender-unknown"]


def test_a_patient_without_repeats_is_read_as_sent() -> None:
    (item,) = read(child_cbc().encode())
    assert isinstance(item, FhirItem)
    (group,) = item.groups
    assert group.patient is not None
    assert (group.patient.sex, birth_date(group.patient)) == ("female", "2023-05-02")
    assert not [i for i in item.issues if i.code == "fhir.key-repeated"]


MRN = "http://hosp.example/mrn"
# the girl's mother, whose record a LIS merge left with a second id (the girl's) or identifier
MOTHER = (
    '{"resourceType": "Patient", "id": "pt-900", "gender": "female", "birthDate": "1991-03-14"}'
)


def with_mother(bundle: str, mother: str) -> str:
    """``bundle`` (a child_cbc) with ``mother`` as its first entry."""
    return bundle.replace('"entry": [', f'"entry": [{{"resource": {mother}}}, ', 1)


def test_a_patient_with_its_id_twice_is_named_by_no_reference() -> None:
    # the mother's record, its id sent again as the girl's, answered Patient/pt-318 (the first
    # entry of that id): the girl's WBC of 5.2 was judged N by an adult's rules without a word
    mother = MOTHER.replace("}", ', "id": "pt-318"}')
    conversion = leukoflag.convert(with_mother(child_cbc(), mother))
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {"wbc-5521": "L", "anc-5521": "L"}
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert (repeated.severity, repeated.location) == (
        Severity.WARNING,
        "ITEM[1]/Bundle.entry[0].resource.id",
    )
    assert repeated.text == (
        "id appears more than once in one object (JSON parsers keep only the last): which value "
        "the sender meant is unknown: no reference by its id names it (only by its fullUrl, "
        "when sent)"
    )


def test_a_patient_with_its_identifier_twice_is_named_by_no_identifier() -> None:
    # the girl's MRN appended to her mother's record made two Patients carry it: the subject
    # was ambiguous and the girl's counts judged by an adult's rules
    girl_mrn = f'[{{"system": "{MRN}", "value": "C-318"}}]'
    mother = MOTHER.replace(
        "}",
        f', "identifier": [{{"system": "{MRN}", "value": "M-5531"}}], "identifier": {girl_mrn}}}',
    )
    girl = CHILD_PATIENT.replace("}", f', "identifier": {girl_mrn}}}')
    by_mrn = f'{{"identifier": {{"system": "{MRN}", "value": "C-318"}}}}'
    sent = with_mother(child_cbc(patient=girl), mother).replace(
        '{"reference": "Patient/pt-318"}', by_mrn
    )
    conversion = leukoflag.convert(sent)
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {"wbc-5521": "L", "anc-5521": "L"}
    assert not [i for i in conversion.issues if i.code == "fhir.subject-ambiguous"]
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert repeated.location == "ITEM[1]/Bundle.entry[0].resource.identifier"
    assert repeated.text.endswith(
        "the patient's identifiers are read as not sent (a subject naming it by identifier names "
        "no Patient, and settings.duffy_null cannot name it)"
    )


def test_an_entry_with_its_resource_type_twice_is_passed_through_unread() -> None:
    # the WBC, its type sent again as Basic, was read as a Basic: unflagged, and nothing said
    wbc = CHILD_WBC.replace("}}", '}, "resourceType": "Basic"}')
    conversion = leukoflag.convert(child_cbc(wbc=wbc))
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {"anc-5521": "L"}
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert (repeated.severity, repeated.location) == (
        Severity.WARNING,
        "ITEM[1]/Bundle.entry[3].resource.resourceType",
    )
    assert repeated.text.endswith(": passed through unread, and no reference names it")


def test_an_item_with_its_resource_type_twice_is_rejected() -> None:
    # it was read as a Basic, "holds no Observation", the WBC neither flagged nor rejected
    sent = CHILD_WBC.replace("}}", '}, "resourceType": "Basic"}')
    (rejected,) = leukoflag.convert(sent).rejected
    assert rejected.reason == (
        "not a FHIR resource: resourceType appears more than once in one object (JSON parsers "
        "keep only the last): which resource type the sender meant is unknown"
    )


def test_a_contained_patient_with_its_id_twice_is_named_by_no_reference() -> None:
    # "#mom" named the report's contained record sent with two ids (the girl's first) without
    # a word: whose record it is is not known
    girl = CHILD_PATIENT.replace('"id": "pt-318"', '"id": "pt", "id": "mom"')
    report = CHILD_REPORT.replace(
        '"subject": {"reference": "Patient/pt-318"}',
        f'"contained": [{girl}], "subject": {{"reference": "#mom"}}',
    )
    conversion = leukoflag.convert(child_cbc(report=report))
    issues = [(i.code, i.location) for i in conversion.issues if i.code.startswith("fhir.")]
    assert issues == [
        ("fhir.key-repeated", "ITEM[1]/Bundle.entry[2].resource.contained[0].id"),
        ("fhir.reference-unresolved", "ITEM[1]/Bundle.entry[2].resource.subject"),
    ]


def test_an_observation_whose_contained_resource_has_its_id_twice_is_malformed() -> None:
    # its subject "#mom" named a record sent with two ids (the girl's first) without a word
    girl = CHILD_PATIENT.replace('"id": "pt-318"', '"id": "pt", "id": "mom"')
    wbc = CHILD_WBC.replace(
        '"subject": {"reference": "Patient/pt-318"}',
        f'"contained": [{girl}], "subject": {{"reference": "#mom"}}',
    )
    (rejected,) = leukoflag.convert(wbc).rejected
    assert rejected.reason == (
        "malformed Observation at ITEM[1]/Observation.contained[0].id: id appears more than once "
        "in one object (JSON parsers keep only the last): which value the lab meant is unknown"
    )


# The report without a time of its own: the specimen's collection dates the counts.
UNDATED_REPORT = CHILD_REPORT.replace(' "effectiveDateTime": "2026-11-24T08:05:00Z",', "")


@pytest.mark.parametrize(
    ("sent", "twice", "key"),
    [
        # the year mistyped, then the LIS appended the collection again: a girl of 18 in 2041,
        # her WBC of 5.2 K/uL judged N with adult rules, dated by the second
        (
            '"collectedDateTime": "2026-11-24T08:05:00Z"',
            (
                '"collectedDateTime": "2026-11-24T08:05:00Z",'
                ' "collectedDateTime": "2041-11-24T08:05:00Z"'
            ),
            "collection.collectedDateTime",
        ),
        (
            '"collection": {"collectedDateTime": "2026-11-24T08:05:00Z"}',
            (
                '"collection": {"collectedDateTime": "2026-11-24T08:05:00Z"},'
                ' "collection": {"collectedPeriod": {"start": "2041-11-24T08:05:00Z"}}'
            ),
            "collection",
        ),
    ],
)
def test_a_specimen_collected_twice_dates_nothing(sent: str, twice: str, key: str) -> None:
    specimen = CHILD_SPECIMEN.replace(sent, twice)
    conversion = leukoflag.convert(child_cbc(specimen=specimen, report=UNDATED_REPORT))
    repeated, unknown = _repeated_and_age_unknown(conversion, f"entry[1].resource.{key}")
    assert repeated.text.startswith(f"{key.rsplit('.', 1)[-1]} appears more than once")
    assert unknown.text.startswith("the result has no date")


def test_a_specimen_dated_once_dates_its_results() -> None:
    (bundle,) = leukoflag.convert(child_cbc(report=UNDATED_REPORT)).bundles
    assert interpretations(bundle) == {"wbc-5521": "L", "anc-5521": "L"}


CSF_TYPE = (
    '"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0487",'
    ' "code": "CSF"}]}, '
)


@pytest.mark.parametrize(
    "specimen",
    [
        # a cerebrospinal fluid count whose type the LIS appended as blood, or the reverse: read
        # as of no type, its WBC of 5.2 and ANC of 1.3 were judged L as a girl's blood counts
        CHILD_SPECIMEN.replace('"type":', CSF_TYPE + '"type":', 1),
        CHILD_SPECIMEN.replace('"collection":', CSF_TYPE + '"collection":', 1),
    ],
)
def test_the_results_of_a_specimen_with_its_type_twice_are_not_judged(specimen: str) -> None:
    sent = child_cbc(specimen=specimen)
    conversion = leukoflag.convert(sent)
    assert conversion.findings == []
    (bundle,) = conversion.bundles
    assert bundle == json.loads(sent, parse_float=Decimal)
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert (repeated.severity, repeated.location) == (
        Severity.WARNING,
        "ITEM[1]/Bundle.entry[1].resource.type",
    )
    assert repeated.text.endswith(
        "whether the specimen is blood is not known: passed through unchanged, and the results "
        "and reports naming it as their specimen or focus unread and unflagged"
    )
    assert not [i for i in conversion.issues if i.code == "fhir.no-results"]


@pytest.mark.parametrize(
    ("sent", "twice", "key"),
    [
        # sent for the mother, then for the girl: whose counts they are is not known
        (
            '"subject": {"reference": "Patient/pt-318"}',
            (
                '"subject": {"reference": "Patient/pt-317"},'
                ' "subject": {"reference": "Patient/pt-318"}'
            ),
            "subject",
        ),
        # withdrawn, then the status the LIS appended: whether the results stand is not known
        ('"status": "final"', '"status": "entered-in-error", "status": "final"', "status"),
        # the specimens listed twice (the counts name none): which specimen they are of, so
        # whether they are blood and when drawn, is not known (was: dated by the second's year)
        (
            '"specimen": [{"reference": "Specimen/sp-5521"}],',
            (
                '"specimen": [{"reference": "Specimen/sp-5520"}],'
                ' "specimen": [{"reference": "Specimen/sp-5521"}],'
            ),
            "specimen",
        ),
    ],
)
def test_a_report_with_its_subject_status_or_specimen_twice_sets_its_results_aside(
    sent: str, twice: str, key: str
) -> None:
    report = CHILD_REPORT.replace(sent, twice)
    conversion = leukoflag.convert(child_cbc(report=report))
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {}
    assert "conclusionCode" not in bundle["entry"][2]["resource"]
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert (repeated.severity, repeated.location) == (
        Severity.WARNING,
        f"ITEM[1]/Bundle.entry[2].resource.{key}",
    )
    assert repeated.text == (
        f"{key} appears more than once in one object (JSON parsers keep only the last): which "
        "value the sender meant is unknown: the report is passed through unchanged, and the "
        "results it lists unread and unflagged"
    )
    assert not [i for i in conversion.issues if i.code == "fhir.no-results"]


def test_a_report_with_its_result_twice_orders_none_of_them() -> None:
    # the WBC's list lost: the report concluded on the ANC alone, the WBC read as listed by none
    report = CHILD_REPORT.replace(
        '"result": [{"reference": "Observation/wbc-5521"}, ',
        '"result": [{"reference": "Observation/wbc-5521"}], "result": [',
    )
    conversion = leukoflag.convert(child_cbc(report=report))
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {"wbc-5521": "L", "anc-5521": "L"}
    assert "conclusionCode" not in bundle["entry"][2]["resource"]
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert repeated.location == "ITEM[1]/Bundle.entry[2].resource.result"
    assert repeated.text.endswith(
        "the report is passed through unchanged (no conclusionCode), and the Observations it "
        "lists are read as those no report lists"
    )


# The specimen without its collection, and counts naming none: the report dates them.
NO_COLLECTION = CHILD_SPECIMEN.replace(
    ', "collection": {"collectedDateTime": "2026-11-24T08:05:00Z"}', ""
)
UNNAMED = ' "specimen": {"reference": "Specimen/sp-5521"},'


@pytest.mark.parametrize(
    ("sent", "twice", "key", "specimen"),
    [
        # the year mistyped and appended again: the girl judged as an adult of 18
        (
            '"effectiveDateTime": "2026-11-24T08:05:00Z"',
            '"effectiveDateTime": "2026-11-24T08:05:00Z", "effectiveDateTime": "2041-11-24"',
            "effectiveDateTime",
            NO_COLLECTION,
        ),
        (
            ' "effectiveDateTime": "2026-11-24T08:05:00Z",',
            ' "issued": "2026-11-24T10:00:00Z", "issued": "2041-11-24T10:00:00Z",',
            "issued",
            NO_COLLECTION,
        ),
    ],
)
def test_a_report_with_its_time_twice_dates_its_results_not(
    sent: str, twice: str, key: str, specimen: str
) -> None:
    report = CHILD_REPORT.replace(sent, twice)
    assert report != CHILD_REPORT
    wbc, anc = CHILD_WBC.replace(UNNAMED, ""), CHILD_ANC.replace(UNNAMED, "")
    conversion = leukoflag.convert(child_cbc(specimen=specimen, report=report, wbc=wbc, anc=anc))
    (bundle,) = conversion.bundles
    assert interpretations(bundle)["wbc-5521"] == "N"  # adult rules
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert repeated.location == f"ITEM[1]/Bundle.entry[2].resource.{key}"
    (unknown,) = [
        i
        for i in conversion.issues
        if i.code == "flag.age-unknown" and i.location == "ITEM[1]/Bundle.entry[3].resource"
    ]
    assert unknown.text.startswith("the result has no date")


def test_an_observation_with_contained_twice_is_malformed_at_it() -> None:
    # the girl's WBC with her record contained, then a contained record of an adult appended
    # (a LIS merging two lists): the parse kept the adult's, and the WBC of 5.2 K/uL was judged
    # N by it; whose result it is is not known
    girl = CHILD_PATIENT.replace('"id": "pt-318"', '"id": "pt"')
    adult = girl.replace("2023-05-02", "1980-05-02")
    wbc = CHILD_WBC.replace(
        f' "subject": {{"reference": "Patient/pt-318"}},{UNNAMED}',
        f' "contained": [{girl}], "contained": [{adult}], "subject": {{"reference": "#pt"}},'
        ' "effectiveDateTime": "2026-11-24T08:05:00Z",',
    )
    assert wbc != CHILD_WBC
    (rejected,) = leukoflag.convert(wbc).rejected
    assert rejected.reason == (
        "malformed Observation at ITEM[1]/Observation.contained: contained appears more than "
        "once in one object (JSON parsers keep only the last): which value the lab meant is "
        "unknown"
    )
    entries = ", ".join(f'{{"resource": {r}}}' for r in (wbc, CHILD_ANC))
    conversion = leukoflag.convert(
        f'{{"resourceType": "Bundle", "type": "collection", "entry": [{entries}]}}'
    )
    (bundle,) = conversion.bundles
    assert interpretations(bundle) == {"anc-5521": "L"}  # the WBC unflagged
    (malformed,) = [i for i in conversion.issues if i.code == "fhir.observation-malformed"]
    assert malformed.location == "ITEM[1]/Bundle.entry[0].resource.contained"
    # sent once, the contained girl is the WBC's patient
    once = wbc.replace(f' "contained": [{adult}],', "")
    (bundle,) = leukoflag.convert(once).bundles
    assert bundle["interpretation"][0]["coding"][0]["code"] == "L"


# A modifier a LIS puts on what is not the patient's own (a sample of another patient run
# under her order), and the empty list it appended after it when it merged two records.
NOT_HERS = (
    '"modifierExtension": [{"url": "https://lis.example/fhir/StructureDefinition/'
    'sample-of-another-patient", "valueBoolean": true}], '
)
EMPTIED = '"modifierExtension": [], '
CHILD_ENCOUNTER = (
    '{"resourceType": "Encounter", "id": "enc-5521", "status": "finished",'
    ' "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},'
    ' "subject": {"reference": "Patient/pt-318"}}'
)


def with_modifier_twice(resource: str, before: str, first: str = NOT_HERS) -> str:
    """``resource`` with modifierExtension sent twice (``first`` and the other copy) before
    key ``before``."""
    other = EMPTIED if first == NOT_HERS else NOT_HERS
    sent = resource.replace(f'"{before}"', f'{first}{other}"{before}"', 1)
    assert sent != resource
    return sent


def cbc_with_encounter(encounter: str) -> str:
    """The child's CBC, its WBC of a visit: an Encounter entry first, which the WBC names."""
    wbc = CHILD_WBC.replace(
        '"specimen"', '"encounter": {"reference": "Encounter/enc-5521"}, "specimen"'
    )
    first = (
        f'{{"fullUrl": "https://lis.example/fhir/Encounter/enc-5521", "resource": {encounter}}}, '
    )
    return child_cbc(wbc=wbc).replace('"entry": [', f'"entry": [{first}', 1)


@pytest.mark.parametrize(
    ("bundle", "key", "flagged"),
    [
        # the parse kept the empty list: the girl's counts were judged as hers
        (child_cbc(patient=with_modifier_twice(CHILD_PATIENT, "gender")), "entry[0].resource", {}),
        (
            child_cbc(patient=with_modifier_twice(CHILD_PATIENT, "gender", EMPTIED)),
            "entry[0].resource",
            {},
        ),
        (child_cbc(specimen=with_modifier_twice(CHILD_SPECIMEN, "type")), "entry[1].resource", {}),
        (
            child_cbc(specimen=with_modifier_twice(CHILD_SPECIMEN, "collectedDateTime")),
            "entry[1].resource.collection",
            {},
        ),
        (child_cbc(report=with_modifier_twice(CHILD_REPORT, "status")), "entry[2].resource", {}),
        (
            child_cbc().replace(
                '{"resource": {"resourceType": "Observation", "id": "wbc-5521"',
                "{"
                + NOT_HERS
                + EMPTIED
                + '"resource": {"resourceType": "Observation", "id": "wbc-5521"',
            ),
            "entry[3]",
            {"anc-5521": "L"},
        ),
        (
            cbc_with_encounter(with_modifier_twice(CHILD_ENCOUNTER, "status")),
            "entry[0].resource",
            {"anc-5521": "L"},
        ),
    ],
    ids=[
        "patient",
        "patient-emptied-first",
        "specimen",
        "collection",
        "report",
        "entry",
        "encounter",
    ],
)
def test_a_modifier_extension_sent_twice_sets_aside_what_it_qualifies(
    bundle: str, key: str, flagged: dict[str, str]
) -> None:
    conversion = leukoflag.convert(bundle)
    (written,) = conversion.bundles
    assert interpretations(written) == flagged
    (repeated,) = [i for i in conversion.issues if i.code == "fhir.key-repeated"]
    assert (repeated.severity, repeated.location) == (
        Severity.WARNING,
        f"ITEM[1]/Bundle.{key}.modifierExtension",
    )
    assert repeated.text.startswith(
        "modifierExtension appears more than once in one object (JSON parsers keep only the "
        "last): which extensions the sender meant are unknown, and they may change what this "
    )
    assert "read as a modifierExtension leukoflag does not know: passed through" in repeated.text
    # said once, as a repeat: the copy kept does not name what the sender meant
    assert not [i for i in conversion.issues if i.code == "fhir.modifier-extension-unknown"]
    assert not [i for i in conversion.issues if i.code == "fhir.no-results"]


def test_a_modifier_extension_sent_once_empty_qualifies_nothing() -> None:
    patient = CHILD_PATIENT.replace('"gender"', EMPTIED + '"gender"')
    conversion = leukoflag.convert(
        cbc_with_encounter(CHILD_ENCOUNTER.replace('"status"', EMPTIED + '"status"')).replace(
            CHILD_PATIENT, patient
        )
    )
    (written,) = conversion.bundles
    assert interpretations(written) == {"wbc-5521": "L", "anc-5521": "L"}
    assert not [i for i in conversion.issues if i.code.startswith("fhir.")]


def test_a_reader_defect_rejects_that_ndjson_line_and_the_rest_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an exception inside the reader (an age bound too large for arithmetic was one) escaped
    # convert and took the rest of the file with it
    read = _read._ItemReader.read

    def failing(self: _read._ItemReader) -> object:
        if self.prefix == "ITEM[2]":
            raise ArithmeticError("decimal overflow in an age bound")
        return read(self)

    monkeypatch.setattr(_read._ItemReader, "read", failing)
    line = b'{"resourceType": "Observation", "status": "final", "code": {"text": "WBC"}}'
    conversion = leukoflag.convert(line + b"\n" + line + b"\n" + line + b"\n")
    assert len(conversion.bundles) == 2
    (rejected,) = conversion.rejected
    assert (rejected.index, rejected.location) == (2, "ITEM[2]")
    assert rejected.reason == (
        "leukoflag could not read this item (ArithmeticError: decimal overflow in an age bound); "
        "please report it"
    )


_DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# a final WBC of a patient, without a value: each test adds its own value, or its absence
_WBC_HEAD: dict[str, Any] = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
    "subject": {"reference": "Patient/rv-5521"},
    "effectiveDateTime": "2026-11-24T07:10:00-05:00",
}


@pytest.mark.parametrize(
    "value",
    [
        # the value absent, its reason on the absent primitive (a LIS masking a clotted sample)
        {"valueQuantity": {"_value": {"extension": [{"url": _DAR, "valueCode": "error"}]}}},
        {
            "valueQuantity": {
                "extension": [{"url": _DAR, "valueCode": "error"}],
                "unit": "10^3/uL",
                "system": UCUM,
                "code": "10*3/uL",
            }
        },
        {"_valueInteger": {"extension": [{"url": _DAR, "valueCode": "error"}]}},
    ],
)
def test_a_value_absent_with_a_data_absent_reason_extension_says_the_reason(
    value: dict[str, object],
) -> None:
    # the Issue said "no WBC value (empty)", as if nothing had been sent
    observation = {
        **_WBC_HEAD,
        **value,
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    (output,) = conversion.bundles
    assert output == observation
    (absent,) = [i for i in conversion.issues if i.code == "flag.data-absent"]
    assert absent.text == "not flagged: no WBC value (data absent: error)"
    (item,) = read(fhir.dumps(observation))
    assert isinstance(item, FhirItem)
    (result,) = results(item)
    assert (result.value, result.data_absent_reason) == (NoValue("error"), "error")


@pytest.mark.parametrize(
    ("value", "at"),
    [
        # a placeholder 0 whose reason sits on the value: judged as a WBC of 0, critically low
        (
            {
                "valueQuantity": {
                    "value": 0,
                    "_value": {"extension": [{"url": _DAR, "valueCode": "not-performed"}]},
                    "unit": "10^3/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                }
            },
            "valueQuantity",
        ),
        (
            {
                "valueQuantity": {
                    "extension": [{"url": _DAR, "valueCode": "not-performed"}],
                    "value": 0,
                    "unit": "10^3/uL",
                    "system": UCUM,
                    "code": "10*3/uL",
                }
            },
            "valueQuantity",
        ),
        (
            {
                "valueInteger": 0,
                "_valueInteger": {"extension": [{"url": _DAR, "valueCode": "not-performed"}]},
            },
            "valueInteger",
        ),
    ],
)
def test_a_value_sent_with_a_data_absent_reason_extension_is_not_judged(
    value: dict[str, object], at: str
) -> None:
    # dataAbsentReason beside a value set it aside, the same reason on the value did not: LL
    observation = {
        **_WBC_HEAD,
        **value,
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert conversion.findings == []
    (output,) = conversion.bundles
    assert output == observation
    (absent,) = [i for i in conversion.issues if i.code == "flag.data-absent"]
    assert absent.location == f"ITEM[1]/Observation.{at}"
    assert absent.text == (
        "not flagged: the WBC value was sent with a data-absent reason (not-performed), "
        "which says there is none"
    )


def test_a_value_with_an_extension_that_is_no_data_absent_reason_is_judged() -> None:
    observation = {
        **_WBC_HEAD,
        "valueQuantity": {
            "value": 2.1,
            "_value": {"extension": [{"url": "http://lis.example/precision", "valueInteger": 1}]},
            "unit": "10^3/uL",
            "system": UCUM,
            "code": "10*3/uL",
        },
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert [(f.value_per_ul, f.code) for f in conversion.findings] == [(Decimal("2100"), "LU")]


@pytest.mark.parametrize(
    "reference",
    [
        "Patient?identifier=http://hosp.example.org/mrn|12345",
        "Patient?identifier=http%3A%2F%2Fhosp.example.org%2Fmrn%7C12345",
    ],
)
def test_a_transactions_conditional_subject_is_the_patient_of_the_bundle_it_searches(
    reference: str,
) -> None:
    # An EHR's transaction POSTs the Patient (ifNoneExist) and names it by a search: read as a
    # patient not known, a girl of 21 months' 5,000/µL was judged N against the adult range
    child = {
        "resourceType": "Patient",
        "identifier": [{"system": "http://hosp.example.org/mrn", "value": "12345"}],
        "birthDate": "2024-06-01",
        "gender": "female",
    }
    count = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "subject": {"reference": reference},
        "effectiveDateTime": "2026-03-02T08:00:00Z",
        "valueQuantity": {"value": 5.0, "unit": "10*3/uL"},
    }
    other = {**child, "identifier": [{"system": "http://hosp.example.org/mrn", "value": "12346"}]}
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {**other, "birthDate": "1961-02-14"}, "request": {"method": "PUT"}},
            {
                "fullUrl": "urn:uuid:7b1c0d1e-3f57-4c9a-9b51-4a0e2f6f1a11",
                "resource": child,
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": "identifier=http://hosp.example.org/mrn|12345",
                },
            },
            {"resource": count, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    conversion = leukoflag.convert(json.dumps(transaction))
    (finding,) = conversion.findings
    assert (finding.code, finding.rule) == ("L", "wbc-leukopenia-pediatric")
    assert conversion.issues == []


def _wbc_range_value(low: dict[str, Any], high: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
            "effectiveDateTime": "2026-11-20T08:00:00Z",
            "valueRange": {"low": low, "high": high},
        }
    ).encode()


def test_a_range_value_whose_limits_are_in_two_units_reads_each_in_its_own() -> None:
    # low 2.1 10*3/uL, high 3500 /uL: 2,100 to 3,500 cells/µL, below 4,500 either way
    data = _wbc_range_value(
        {"value": 2.1, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        {"value": 3500, "unit": "/uL", "system": UCUM, "code": "/uL"},
    )
    conversion = leukoflag.convert(data)
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(3500), "L")
    assert [i for i in conversion.issues if i.code.startswith("units.")] == []
    (bound,) = [i for i in conversion.issues if i.code == "flag.bound-interpreted"]
    assert "2,100–3,500 cells/µL" in bound.text
    # read back: the Observation keeps both limits in their own units, the same verdict
    again = leukoflag.convert(fhir.dumps(conversion.bundles[0]))
    assert [(f.value_per_ul, f.code) for f in again.findings] == [(Decimal(3500), "L")]


def test_a_range_value_whose_high_is_in_an_unknown_unit_names_that_unit() -> None:
    data = _wbc_range_value(
        {"value": 2.1, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        {"value": 3500, "unit": "cells per mcl", "system": "http://lab.example.org/units"},
    )
    conversion = leukoflag.convert(data)
    assert conversion.findings == []
    (unknown,) = [i for i in conversion.issues if i.code.startswith("units.")]
    assert unknown.code == "units.unknown-unit"
    assert "'cells per mcl'" in unknown.text
    assert "10*3/uL" not in unknown.text


def _wbc_coded(system: str, code: str = "6690-2") -> dict[str, Any]:
    """A WBC of 2.8 10*3/uL coded under ``system`` (as a C-CDA to FHIR converter writes it)."""
    return {
        "resourceType": "Observation",
        "id": "wbc-cda-7710",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code, "display": "WBC # Bld Auto"}]},
        "effectiveDateTime": "2026-11-20T08:15:00-05:00",
        "valueQuantity": {"value": 2.8, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
    }


def test_a_count_coded_under_the_loinc_oid_is_read_as_loinc() -> None:
    # 2.16.840.1.113883.6.1 is LOINC's OID (HL7 OID registry; the identifier of FHIR's LOINC
    # code system), as HL7 v2 reads it in OBX-3.3: not a local system
    conversion = leukoflag.convert(json.dumps(_wbc_coded("urn:oid:2.16.840.1.113883.6.1")))
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(2800), "LU")
    assert [i.code for i in conversion.issues if i.code == "flag.loinc-code-local"] == []
    # the code is left as sent: no http://loinc.org coding is added beside it
    (output,) = conversion.bundles
    assert output["code"] == _wbc_coded("urn:oid:2.16.840.1.113883.6.1")["code"]


def test_a_loinc_code_under_another_oid_is_still_local() -> None:
    conversion = leukoflag.convert(json.dumps(_wbc_coded("urn:oid:2.16.840.1.113883.6.12")))
    assert conversion.findings == []
    (local,) = [i for i in conversion.issues if i.code == "flag.loinc-code-local"]
    assert local.location == "ITEM[1]/Observation.code"


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ({"text": "Specimen clotted"}, "data absent: unknown 'Specimen clotted'"),
        (
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                        "code": "error",
                    }
                ],
                "text": "Specimen clotted",
            },
            "data absent: error 'Specimen clotted'",
        ),
    ],
)
def test_a_data_absent_reason_sent_with_a_text_is_said_with_it(
    reason: dict[str, Any], said: str
) -> None:
    # the lab's reason ('Specimen clotted') was dropped: 'no WBC value (data absent: unknown)'
    observation = {
        **_WBC_HEAD,
        "dataAbsentReason": reason,
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    (absent,) = [i for i in conversion.issues if i.code == "flag.data-absent"]
    assert absent.location == "ITEM[1]/Observation.dataAbsentReason"
    assert absent.text == f"not flagged: no WBC value ({said})"


def test_a_loinc_code_under_the_hl7v2_name_ln_is_told_the_fhir_system() -> None:
    # a v2-to-FHIR converter copying OBX-3.3 'LN' into Coding.system: the warning told it to
    # "send LOINC codes with the system LN", which it had done
    conversion = leukoflag.convert(json.dumps(_wbc_coded("LN")))
    (local,) = [i for i in conversion.issues if i.code == "flag.loinc-code-local"]
    assert local.location == "ITEM[1]/Observation.code"
    assert local.text.endswith("(send LOINC codes with the system http://loinc.org)")


def _csf_count(specimen: Any) -> dict[str, Any]:
    """A CSF WBC of 5 cells/µL (0.005 10*3/uL) whose contained Specimen is named by
    ``specimen``: judged as blood, it would be critically low leukopenia."""
    return {
        "resourceType": "Observation",
        "id": "csf-wbc-3391",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "subject": {"reference": "#pt"},
        "specimen": specimen,
        "effectiveDateTime": "2026-11-24T03:40:00-05:00",
        "valueQuantity": {"value": 0.005, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
        "contained": [
            {"resourceType": "Patient", "id": "pt", "gender": "male", "birthDate": "1969-04-02"},
            {
                "resourceType": "Specimen",
                "id": "csf",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0487",
                            "code": "CSF",
                            "display": "Cerebrospinal fluid",
                        }
                    ]
                },
            },
        ],
    }


@pytest.mark.parametrize(
    ("key", "sent", "at", "why"),
    [
        # a 0..1 Reference sent as a list (an XML-to-JSON singleton) or as its reference text:
        # read as no specimen, a CSF count was judged as blood (LL) without a word
        ("specimen", [{"reference": "#csf"}], "specimen", "is not a Reference (a JSON object)"),
        ("specimen", "#csf", "specimen", "is not a Reference (a JSON object)"),
        ("specimen", {"reference": ["#csf"]}, "specimen.reference", "not a string"),
        # read as no subject, the patient's age and sex were not known (adult rules, unsaid why)
        ("subject", [{"reference": "#pt"}], "subject", "is not a Reference (a JSON object)"),
        ("subject", {"reference": 5}, "subject.reference", "not a string"),
    ],
)
def test_a_subject_or_specimen_that_is_not_a_reference_makes_the_observation_malformed(
    key: str, sent: Any, at: str, why: str
) -> None:
    observation = _csf_count({"reference": "#csf"})
    observation[key] = sent
    conversion = leukoflag.convert(json.dumps(observation))
    assert conversion.bundles == []
    (rejected,) = conversion.rejected
    assert rejected.reason.startswith(f"malformed Observation at ITEM[1]/Observation.{at}: ")
    assert why in rejected.reason
    # in a Bundle: passed through unread and unflagged, said at the element
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
    conversion = leukoflag.convert(json.dumps(bundle))
    (output,) = conversion.bundles
    assert output == fhir.loads(json.dumps(bundle))
    assert conversion.findings == []
    (malformed,) = [i for i in conversion.issues if i.code == "fhir.observation-malformed"]
    assert malformed.location == f"ITEM[1]/Bundle.entry[0].resource.{at}"


def test_a_csf_count_whose_specimen_is_a_reference_is_not_judged_as_blood() -> None:
    conversion = leukoflag.convert(json.dumps(_csf_count({"reference": "#csf"})))
    assert conversion.findings == []
    assert "flag.specimen-not-blood" in [i.code for i in conversion.issues]


_CSF_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/v2-0487",
    "code": "CSF",
    "display": "Cerebrospinal fluid",
}


@pytest.mark.parametrize(
    ("kind", "at"),
    [
        # a CodeableConcept sent as a list, as its code alone, or with a lone coding: read as
        # no type, the specimen was taken for blood and the CSF count judged LL without a word
        ([{"coding": [_CSF_TYPE]}], "type"),
        ("CSF", "type"),
        ({"coding": _CSF_TYPE}, "type.coding"),
        ({"coding": ["CSF"]}, "type.coding[0]"),
    ],
)
def test_a_specimen_type_that_is_not_a_codeable_concept_sets_its_results_aside(
    kind: Any, at: str
) -> None:
    observation = _csf_count({"reference": "#csf"})
    observation["contained"][1]["type"] = kind
    conversion = leukoflag.convert(json.dumps(observation))
    (output,) = conversion.bundles
    assert output == fhir.loads(json.dumps(observation))
    assert conversion.findings == []
    (said,) = [i for i in conversion.issues if i.code == "fhir.specimen-type-malformed"]
    assert said.severity is Severity.WARNING
    assert said.location == f"ITEM[1]/Observation.contained[1].{at}"
    assert "whether the specimen is blood is not known" in said.text


def _cbc_bundle(report_changes: dict[str, Any]) -> dict[str, Any]:
    """A Bundle of a woman's CBC report listing her WBC of 2.1 10*3/uL, the report changed."""
    loinc = "http://loinc.org"
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-7731",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "58410-2"}]},
        "subject": {"reference": "Patient/pt-7731"},
        "effectiveDateTime": "2026-11-24T06:20:00-05:00",
        "result": [{"reference": "Observation/wbc-7731"}],
        **report_changes,
    }
    wbc = {
        "resourceType": "Observation",
        "id": "wbc-7731",
        "status": "final",
        "code": {"coding": [{"system": loinc, "code": "6690-2"}]},
        "subject": {"reference": "Patient/pt-7731"},
        "effectiveDateTime": "2026-11-24T06:20:00-05:00",
        "valueQuantity": {"value": 2.1, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
    }
    patient = {"resourceType": "Patient", "id": "pt-7731", "gender": "female"}
    patient["birthDate"] = "1988-02-14"
    base = "https://lis.example.org/fhir"
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in (patient, report, wbc)
        ],
    }


@pytest.mark.parametrize(
    ("changes", "at", "judged"),
    [
        # its subject a list: read as no subject, its WBC was judged as a patient of no known
        # age (flag.age-unknown), though the WBC names her, and nothing said why
        ({"subject": [{"reference": "Patient/pt-7731"}]}, "subject", False),
        ({"subject": {"reference": 7731}}, "subject.reference", False),
        # its result not a list of References: read as listing nothing, without a word
        ({"result": {"reference": "Observation/wbc-7731"}}, "result", True),
        ({"result": ["Observation/wbc-7731"]}, "result[0]", True),
    ],
)
def test_a_report_whose_subject_or_result_is_not_a_reference_is_said(
    changes: dict[str, Any], at: str, judged: bool
) -> None:
    bundle = _cbc_bundle(changes)
    conversion = leukoflag.convert(json.dumps(bundle))
    (output,) = conversion.bundles
    report = output["entry"][1]["resource"]
    assert "conclusionCode" not in report  # passed through unchanged
    (said,) = [i for i in conversion.issues if i.code == "fhir.report-malformed"]
    assert said.location == f"ITEM[1]/Bundle.entry[1].resource.{at}"
    # a subject not known: its results unread and unflagged; a result list not known: each
    # result read by its own subject, as no report lists it (the woman's LU)
    assert [f.code for f in conversion.findings] == (["LU"] if judged else [])
    assert "flag.age-unknown" not in [i.code for i in conversion.issues]


@pytest.mark.parametrize(
    ("specimen", "at"),
    [
        # specimen is 0..*: a lone Reference (an XML-to-JSON singleton) or a reference's text
        # was read as no specimen, so the CSF count of 5 cells/uL was judged LL as blood
        ({"reference": "Specimen/csf-7731"}, "specimen"),
        (["Specimen/csf-7731"], "specimen[0]"),
        ([{"reference": ["Specimen/csf-7731"]}], "specimen[0].reference"),
    ],
)
def test_a_report_whose_specimen_is_not_a_list_of_references_sets_its_results_aside(
    specimen: Any, at: str
) -> None:
    bundle = _cbc_bundle({"specimen": specimen})
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 0.005
    csf = {
        "resourceType": "Specimen",
        "id": "csf-7731",
        "type": {"coding": [_CSF_TYPE]},
    }
    bundle["entry"].append(
        {"fullUrl": "https://lis.example.org/fhir/Specimen/csf-7731", "resource": csf}
    )
    conversion = leukoflag.convert(json.dumps(bundle))
    (output,) = conversion.bundles
    assert output == fhir.loads(json.dumps(bundle))  # passed through unchanged
    assert conversion.findings == []
    assert [(i.code, i.location) for i in conversion.issues] == [
        ("fhir.report-malformed", f"ITEM[1]/Bundle.entry[1].resource.{at}")
    ]
    assert "the results it lists unread and unflagged" in conversion.issues[0].text
    # the same list sent as References: the CSF count is not judged as blood
    bundle = _cbc_bundle({"specimen": [{"reference": "Specimen/csf-7731"}]})
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 0.005
    bundle["entry"].append(
        {"fullUrl": "https://lis.example.org/fhir/Specimen/csf-7731", "resource": csf}
    )
    conversion = leukoflag.convert(json.dumps(bundle))
    assert conversion.findings == []
    assert "flag.specimen-not-blood" in [i.code for i in conversion.issues]


@pytest.mark.parametrize(
    ("members", "at", "why"),
    [
        # References sent as their text: the members lost the panel's time without a word, so
        # the WBC and neutrophil % were draws of their own and no ANC was derived
        (["#wbc", "#neut"], "hasMember[0]", "'#wbc' is not a Reference (a JSON object)"),
        ({"reference": "#wbc"}, "hasMember", "is not a list of References"),
    ],
)
def test_a_panel_whose_has_member_is_not_a_list_of_references_is_malformed(
    members: Any, at: str, why: str
) -> None:
    quantity = {"unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"}
    panel = {
        "resourceType": "Observation",
        "id": "cbc-5120",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "effectiveDateTime": "2026-11-24T06:20:00-05:00",
        "hasMember": members,
        "contained": [
            {
                "resourceType": "Observation",
                "id": "wbc",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "valueQuantity": {"value": 2.1, **quantity},
            },
            {
                "resourceType": "Observation",
                "id": "neut",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "770-8"}]},
                "valueQuantity": {"value": 30, "unit": "%", "system": UCUM, "code": "%"},
            },
        ],
    }
    conversion = leukoflag.convert(json.dumps(panel))
    (rejected,) = conversion.rejected
    assert rejected.reason.startswith(f"malformed Observation at ITEM[1]/Observation.{at}: ")
    assert why in rejected.reason


def test_a_subject_specimen_or_has_member_of_null_is_read_as_not_sent() -> None:
    # JSON null, as a status or code of null is read: not sent (no "None is not a Reference")
    observation = _csf_count(None)
    observation["hasMember"] = None
    conversion = leukoflag.convert(json.dumps(observation))
    assert conversion.rejected == []
    assert [f.code for f in conversion.findings] == ["LL"]  # no specimen: judged as blood


@pytest.mark.parametrize(
    ("sent", "shown"), [("3.8", "3.8"), ("3.0", "3.0"), ("3.8e3", "3.8E+3"), ("-0.0", "-0.0")]
)
def test_a_value_integer_that_is_no_integer_is_malformed(sent: str, shown: str) -> None:
    # an analyzer interface wrote its WBC in 10^3/uL into valueInteger: 3.8 was judged as 3,800
    # cells/µL by an inferred unit; FHIR's integer is '-?([0]|([1-9][0-9]*))' (3.0 is none)
    head = fhir.dumps(_WBC_HEAD)[:-1].decode()
    data = (head + ', "valueInteger": ' + sent + "}").encode()
    (first,) = read(data)
    assert isinstance(first, Rejected)
    assert first.reason == (
        f"malformed Observation at ITEM[1]/Observation.valueInteger: {shown} is not an integer "
        "(FHIR's integer is a JSON number without fraction or exponent)"
    )
    bundle = b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": '
    conversion = leukoflag.convert(bundle + data + b"}]}")
    assert conversion.findings == []
    assert [(i.code, i.location) for i in conversion.issues if i.severity == "error"] == [
        ("fhir.observation-malformed", "ITEM[1]/Bundle.entry[0].resource.valueInteger")
    ]


def test_a_value_integer_is_read_as_its_integer() -> None:
    observation = {**_WBC_HEAD, "valueInteger": 3800}
    (item,) = read(fhir.dumps(observation))
    assert isinstance(item, FhirItem)
    (result,) = results(item)
    assert result.value == Number(Decimal(3800), "3800")


def test_a_report_with_its_specimen_twice_sets_its_results_aside() -> None:
    # a LIS appended the specimen instead of replacing it: the parse kept the blood one, and
    # the woman's CSF count of 5 cells/uL was judged LL as blood with only fhir.key-repeated
    bundle = _cbc_bundle({"specimen": [{"reference": "Specimen/csf-7731"}]})
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 0.005
    csf = {"resourceType": "Specimen", "id": "csf-7731", "type": {"coding": [_CSF_TYPE]}}
    blood = {"resourceType": "Specimen", "id": "bld-7731", "type": {"text": "Whole blood"}}
    base = "https://lis.example.org/fhir/Specimen"
    bundle["entry"].extend({"fullUrl": f"{base}/{s['id']}", "resource": s} for s in (csf, blood))
    sent = json.dumps(bundle)
    once = '"specimen": [{"reference": "Specimen/csf-7731"}]'
    assert sent.count(once) == 1
    twice = sent.replace(once, f'{once}, "specimen": [{{"reference": "Specimen/bld-7731"}}]')
    conversion = leukoflag.convert(twice)
    (output,) = conversion.bundles
    assert output == fhir.loads(twice)  # passed through unchanged
    assert conversion.findings == []
    assert [(i.code, i.location) for i in conversion.issues] == [
        ("fhir.key-repeated", "ITEM[1]/Bundle.entry[1].resource.specimen")
    ]
    assert conversion.issues[0].text == (
        "specimen appears more than once in one object (JSON parsers keep only the last): which "
        "value the sender meant is unknown: the report is passed through unchanged, and the "
        "results it lists unread and unflagged"
    )


_V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@pytest.mark.parametrize(
    ("interpretation", "at", "why"),
    [
        # a blank code: the sender's flag said nothing, and nothing said so
        ([{"coding": [{"system": _V3, "code": ""}]}], "[0].coding[0].code", "the blank code ''"),
        ([{"coding": [{"system": _V3, "code": "  "}]}], "[0].coding[0].code", "the blank code"),
        ([{"coding": [{}], "text": "High"}], "[0].coding[0].code", "no code"),
        # malformed codings were dropped without a word, as a result code's are not
        ([{"coding": ["H"]}], "[0].coding[0]", "'H' is not a Coding"),
        ([{"coding": [{"system": _V3, "code": 5}]}], "[0].coding[0].code", "5 is not a string"),
        ([{"coding": [{"system": 78, "code": "H"}]}], "[0].coding[0].system", "78 is not a"),
        ([{"coding": {"system": _V3, "code": "H"}}], "[0].coding", "not a list of Codings"),
    ],
)
def test_an_interpretation_coding_that_says_no_code_is_said_at_it(
    interpretation: list[Any], at: str, why: str
) -> None:
    observation = {
        **_WBC_HEAD,
        "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
        "interpretation": interpretation,
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    (finding,) = conversion.findings
    assert finding.code == "LL"
    said = [i for i in conversion.issues if i.code.startswith("fhir.interpretation")]
    assert [(i.code, i.severity, i.location) for i in said] == [
        (
            "fhir.interpretation-coding-malformed",
            Severity.WARNING,
            f"ITEM[1]/Observation.interpretation{at}",
        )
    ]
    assert why in said[0].text
    assert said[0].text.endswith(
        "the interpretation coding is kept as sent, and not compared with the computed code"
    )
    assert "flag.sender-disagrees" not in [i.code for i in conversion.issues]
    (output,) = conversion.bundles
    (kept,) = [e for e in output["extension"] if e["url"].endswith("/sender-interpretation")]
    assert kept["valueCodeableConcept"] == interpretation[0]


@pytest.mark.parametrize(
    ("coding", "said"),
    [
        ({"system": _V3, "display": "Low"}, f"system '{_V3}', display 'Low'"),
        ({"display": "Critically low"}, "display 'Critically low'"),
    ],
)
def test_an_interpretation_coding_without_a_code_is_valid_and_said_not_compared(
    coding: dict[str, Any], said: str
) -> None:
    # valid FHIR (every element of a Coding is optional) was said to be malformed, a warning
    observation = {
        **_WBC_HEAD,
        "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
        "interpretation": [{"coding": [coding]}],
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert [f.code for f in conversion.findings] == ["LL"]
    (issue,) = [i for i in conversion.issues if i.code.startswith("fhir.interpretation")]
    assert (issue.code, issue.severity, issue.location) == (
        "fhir.interpretation-coding-uncoded",
        Severity.INFORMATION,
        "ITEM[1]/Observation.interpretation[0].coding[0]",
    )
    assert issue.text == (
        f"the interpretation coding has no code ({said}): kept as sent, and not compared with "
        "the computed code, as only a code is"
    )
    (output,) = conversion.bundles
    (kept,) = [e for e in output["extension"] if e["url"].endswith("/sender-interpretation")]
    assert kept["valueCodeableConcept"] == {"coding": [coding]}


@pytest.mark.parametrize("system", ["", "  "])
def test_an_interpretation_coding_with_a_blank_system_is_compared_as_sent_without_one(
    system: str,
) -> None:
    # '  ' was neither table 0078's nor compared: the sender's H beside a critically low WBC of
    # 1,200 went without flag.sender-disagrees
    observation = {
        **_WBC_HEAD,
        "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
        "interpretation": [{"coding": [{"system": system, "code": "H"}]}],
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert [(i.code, i.location) for i in conversion.issues if i.code.startswith("fhir.")] == [
        (
            "fhir.interpretation-coding-malformed",
            "ITEM[1]/Observation.interpretation[0].coding[0].system",
        )
    ]
    (disagrees,) = [i for i in conversion.issues if i.code == "flag.sender-disagrees"]
    assert disagrees.severity == Severity.WARNING
    assert "the sender's interpretation is H" in disagrees.text


_SCT = "http://snomed.info/sct"


@pytest.mark.parametrize(
    ("system", "code", "analyte", "loinc"),
    [
        # a GP system's pathology feed codes its FBC in SNOMED CT only: a WBC of 1.2 10^9/L and
        # an ANC of 0.3 10^9/L went out unjudged, as results leukoflag does not know
        (_SCT, "1022541000000102", "wbc", "26464-8"),
        (_SCT, "767002", "wbc", "26464-8"),
        ("urn:oid:2.16.840.1.113883.6.96", "767002", "wbc", "26464-8"),
        (_SCT, "1022551000000104", "anc", "26499-4"),
    ],
)
def test_a_count_coded_in_snomed_ct_only_is_judged(
    system: str, code: str, analyte: str, loinc: str
) -> None:
    observation = {
        **_WBC_HEAD,
        "code": {"coding": [{"system": system, "code": code}]},
        "valueQuantity": {"value": 0.3, "unit": "10^9/L", "system": UCUM, "code": "10*9/L"},
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    (finding,) = conversion.findings
    assert (finding.analyte.value, finding.value_per_ul, finding.code) == (
        analyte,
        Decimal(300),
        "LL",
    )
    (output,) = conversion.bundles
    assert output["code"]["coding"][0] == {"system": system, "code": code}  # kept as sent
    assert [c["code"] for c in output["code"]["coding"][1:]] == [loinc]  # LOINC added


@pytest.mark.parametrize(
    "code",
    [
        "104112007",  # White blood cell count, automated, cerebrospinal fluid (procedure)
        "1022651000000100",  # Platelet count (observable entity): shares 10*9/L, never a WBC
    ],
)
def test_other_snomed_ct_counts_stay_unjudged(code: str) -> None:
    observation = {
        **_WBC_HEAD,
        "code": {"coding": [{"system": _SCT, "code": code}]},
        "valueQuantity": {"value": 0.3, "unit": "10^9/L", "system": UCUM, "code": "10*9/L"},
    }
    assert leukoflag.convert(fhir.dumps(observation)).findings == []


_ANC_HEAD = {**_WBC_HEAD, "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]}}


@pytest.mark.parametrize(
    ("sent", "per_ul", "code", "kept"),
    [
        # an interface engine that writes OBX-5 ST as valueString: the HL7 v2 reader judges the
        # same text, the FHIR reader left a critical ANC of 400 unflagged ('is not a number')
        (
            "0.4 x10^9/L",
            Decimal(400),
            "LL",
            {"url": PQ_TRANSLATION, "valueQuantity": {"value": Decimal("0.4"), "unit": "x10^9/L"}},
        ),
        (
            "3.1K/uL",
            Decimal(3100),
            "N",
            {"url": PQ_TRANSLATION, "valueQuantity": {"value": Decimal("3.1"), "unit": "K/uL"}},
        ),
        (
            "2800 /uL",
            Decimal(2800),
            "N",
            {"url": PQ_TRANSLATION, "valueQuantity": {"value": 2800, "unit": "/uL"}},
        ),
        (
            "<0.5 x10*3/uL",
            Decimal(500),
            "LL",
            {"url": ORIGINAL_TEXT, "valueString": "<0.5 x10*3/uL"},
        ),
    ],
)
def test_a_count_sent_as_text_with_its_unit_is_read_as_hl7_v2_reads_it(
    sent: str, per_ul: Decimal, code: str, kept: dict[str, Any]
) -> None:
    observation = {**_ANC_HEAD, "valueString": sent}
    conversion = leukoflag.convert(fhir.dumps(observation))
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (per_ul, code)
    (read,) = [i for i in conversion.issues if i.code == "fhir.value-number-in-text"]
    assert (read.severity, read.location) == (
        Severity.INFORMATION,
        "ITEM[1]/Observation.valueString",
    )
    assert read.text.startswith(f"valueString {sent!r} read as the number ")
    (output,) = conversion.bundles
    assert "valueString" not in output  # one value[x]: the quantity, the text its original
    assert output["valueQuantity"]["extension"] == [kept]
    assert output["valueQuantity"]["value"] == per_ul
    # read back, the same
    again = leukoflag.convert(fhir.dumps(output))
    assert again.bundles == [output]
    assert [(f.value_per_ul, f.code) for f in again.findings] == [(per_ul, code)]


@pytest.mark.parametrize(
    "sent",
    [
        "0.4",  # no unit: not inferred from a text
        "1,500 /uL",  # a thousands separator or a decimal comma
        "0,4 x10^9/L",
        "3.1 (verified)",
        "3.1 kc/ul",  # a unit the table does not read
        "0.5 or less",
        "see comment",
    ],
)
def test_a_text_that_is_no_count_with_its_unit_stays_text(sent: str) -> None:
    observation = {**_ANC_HEAD, "valueString": sent}
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert conversion.findings == []
    assert conversion.bundles == [fhir.loads(fhir.dumps(observation))]
    (said,) = [i for i in conversion.issues if i.code == "flag.value-not-numeric"]
    assert said.location == "ITEM[1]/Observation.valueString"
    assert "fhir.value-number-in-text" not in [i.code for i in conversion.issues]


@pytest.mark.parametrize(
    ("sent", "codes", "findings"),
    [
        # a sign before the number: the HL7 v2 ST reader reads '+0.4 x10^9/L' (400, LL) and
        # refuses '-0.4 x10^9/L' as implausible; the valueString was 'not a number' unread
        ("+0.4 x10^9/L", ["fhir.value-number-in-text"], [(Decimal(400), "LL")]),
        ("-0.4 x10^9/L", ["fhir.value-number-in-text", "units.implausible"], []),
    ],
)
def test_a_count_as_text_with_a_sign_reads_as_the_hl7_v2_st_reader_reads_it(
    sent: str, codes: list[str], findings: list[tuple[Decimal, str]]
) -> None:
    observation = {**_ANC_HEAD, "valueString": sent}
    conversion = leukoflag.convert(fhir.dumps(observation))
    at_value = [i.code for i in conversion.issues if i.location.endswith(".valueString")]
    assert at_value == codes
    assert "flag.value-not-numeric" not in [i.code for i in conversion.issues]
    assert [(f.value_per_ul, f.code) for f in conversion.findings] == findings
    segment = f"OBX|1|ST|751-8^Neutrophils [#/volume] in Blood^LN||{sent}||||||F"
    message = "\r".join(
        (
            "MSH|^~\\&|LIS|CORELAB|EHR|RIVERSIDE|20261124103000-0500||ORU^R01^ORU_R01|M1|P|2.5.1",
            "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M",
            "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC^LN|||20261124083000-0500",
            segment,
        )
    )
    v2 = leukoflag.convert(message)
    assert [(f.value_per_ul, f.code) for f in v2.findings] == findings


@pytest.mark.parametrize(
    ("element", "sent"),
    [("valueString", "0.4 x10^9/L"), ("status", "done")],
)
def test_a_malformed_observation_in_a_bundle_is_said_malformed_only(
    element: str, sent: str
) -> None:
    # 'valueString … read as the number 0.4' (or 'status … read as unknown') was told of an
    # Observation then passed through unread and unflagged for its referenceRange.type
    observation = {
        **_ANC_HEAD,
        "valueString": "0.4 x10^9/L",
        element: sent,
        "referenceRange": [{"low": {"value": 1.8}, "type": [{"text": "normal"}]}],
    }
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
    conversion = leukoflag.convert(fhir.dumps(bundle))
    assert conversion.findings == []
    assert [(i.code, i.location) for i in conversion.issues] == [
        ("fhir.observation-malformed", "ITEM[1]/Bundle.entry[0].resource.referenceRange[0].type")
    ]
    assert conversion.bundles == [fhir.loads(fhir.dumps(bundle))]


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ("\ufeff6690-2", "byte-order mark (U+FEFF)"),
        ("6690-2\u200b", "zero-width space (U+200B)"),
        # a soft hyphen from a word processor, a direction mark from a right-to-left page
        ("6690\u00ad-2", "a soft hyphen (U+00AD)"),
        ("\u200e6690-2", "a left-to-right mark (U+200E)"),
    ],
)
def test_count_code_with_invisible_character_is_judged_and_said_keeping_sent_code(
    sent: str, named: str
) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "wbc1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": sent, "display": "WBC"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-24T08:00:00Z",
        "valueQuantity": {"value": 2.1, "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"},
    }
    conversion = leukoflag.convert(json.dumps(observation))
    assert [(f.code, f.value_per_ul) for f in conversion.findings] == [("LU", Decimal(2100))]
    (issue,) = [i for i in conversion.issues if i.code == "fhir.code-invisible-character"]
    assert issue.severity is Severity.WARNING
    assert issue.location == "ITEM[1]/Observation.code.coding[0].code"
    assert named in issue.text
    assert "read as '6690-2'" in issue.text
    (written,) = conversion.bundles
    assert written["code"]["coding"][0]["code"] == sent  # flagged in place: as sent
    assert written["interpretation"][0]["coding"][0]["code"] == "LU"


@pytest.mark.parametrize(
    ("effective", "issued", "at", "said"),
    [
        # drawn the day after it was issued: a wrong date
        (
            {"effectiveDateTime": "2026-11-25T07:10:00-05:00"},
            "2026-11-24T09:00:00-05:00",
            "effectiveDateTime",
            (
                "effectiveDateTime '2026-11-25T07:10:00-05:00' is after its issued "
                "'2026-11-24T09:00:00-05:00': "
            ),
        ),
        # 15:00 UTC is after 09:00 -05:00 (14:00 UTC): a period's start, in another offset
        (
            {"effectivePeriod": {"start": "2026-11-24T15:00:00Z"}},
            "2026-11-24T09:00:00-05:00",
            "effectivePeriod.start",
            (
                "effectivePeriod.start '2026-11-24T15:00:00Z' is after its issued "
                "'2026-11-24T09:00:00-05:00': "
            ),
        ),
    ],
)
def test_an_effective_time_after_the_result_was_issued_is_said_at_it(
    effective: dict[str, Any], issued: str, at: str, said: str
) -> None:
    head = {k: v for k, v in _WBC_HEAD.items() if k != "effectiveDateTime"}
    observation = {
        **head,
        **effective,
        "issued": issued,
        "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert [f.code for f in conversion.findings] == ["LL"]  # judged as sent
    (issue,) = [i for i in conversion.issues if i.code == "fhir.result-time-after-report"]
    assert (issue.severity, issue.location) == (Severity.WARNING, f"ITEM[1]/Observation.{at}")
    assert issue.text.startswith(said)


def test_an_effective_date_on_the_issued_day_of_a_zone_east_of_its_offset_is_not_said() -> None:
    # drawn in Tokyo on the morning of 25 November (a date: the lab keeps no time), issued at
    # 07:30 there, which the server writes in UTC as 22:30 on the 24th: the 25th had begun east
    # of UTC, so the date is not known to be after the issued time
    observation = {
        **{k: v for k, v in _WBC_HEAD.items() if k != "effectiveDateTime"},
        "effectiveDateTime": "2026-11-25",
        "issued": "2026-11-24T22:30:00Z",
        "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert [f.code for f in conversion.findings] == ["LL"]
    assert "fhir.result-time-after-report" not in [i.code for i in conversion.issues]


def test_an_effective_time_before_the_result_was_issued_in_another_offset_is_not_said() -> None:
    observation = {
        **_WBC_HEAD,  # 07:10 -05:00 is 12:10 UTC
        "issued": "2026-11-24T12:30:00Z",
        "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
    }
    conversion = leukoflag.convert(fhir.dumps(observation))
    assert "fhir.result-time-after-report" not in [i.code for i in conversion.issues]


def _dated_bundle(*resources: dict[str, Any]) -> bytes:
    """A collection Bundle of a patient and ``resources``, each under its RESTful fullUrl."""
    patient = {"resourceType": "Patient", "id": "rv-5521", "birthDate": "1970-03-02"}
    base = "https://lis.example/fhir"
    return fhir.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
                for r in (patient, *resources)
            ],
        }
    )


_CBC_CODE = {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]}
_WBC_WITHOUT_TIME = {
    **{k: v for k, v in _WBC_HEAD.items() if k != "effectiveDateTime"},
    "id": "wbc",
    "valueQuantity": {"value": 1.2, "unit": "10^3/uL", "system": UCUM, "code": "10*3/uL"},
}


def test_a_panel_time_after_its_member_was_issued_is_said_at_the_panel_time() -> None:
    # the WBC has no time of its own: the CBC panel's, a day after the WBC was issued, dates it
    panel = {
        "resourceType": "Observation",
        "id": "cbc",
        "status": "final",
        "code": _CBC_CODE,
        "subject": {"reference": "Patient/rv-5521"},
        "effectiveDateTime": "2026-11-25T07:10:00-05:00",
        "hasMember": [{"reference": "Observation/wbc"}],
    }
    wbc = {**_WBC_WITHOUT_TIME, "issued": "2026-11-24T09:00:00-05:00"}
    conversion = leukoflag.convert(_dated_bundle(panel, wbc))
    assert [f.code for f in conversion.findings] == ["LL"]  # judged as sent
    (issue,) = [i for i in conversion.issues if i.code == "fhir.result-time-after-report"]
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.effectiveDateTime"
    assert issue.text.startswith(
        "the panel's effectiveDateTime '2026-11-25T07:10:00-05:00' (the time of "
        "ITEM[1]/Bundle.entry[2].resource, sent without one) is after that result's issued "
        "'2026-11-24T09:00:00-05:00': "
    )


def test_a_specimen_collection_after_its_result_was_issued_is_said_at_the_collection() -> None:
    # the WBC has no time of its own: its specimen's collection, a day after it was issued,
    # dates it (and gives the age)
    specimen = {
        "resourceType": "Specimen",
        "id": "sp-41",
        "type": {"text": "Venous blood"},
        "collection": {"collectedDateTime": "2026-11-25T07:10:00-05:00"},
    }
    wbc = {
        **_WBC_WITHOUT_TIME,
        "issued": "2026-11-24T09:00:00-05:00",
        "specimen": {"reference": "Specimen/sp-41"},
    }
    conversion = leukoflag.convert(_dated_bundle(specimen, wbc))
    assert [f.code for f in conversion.findings] == ["LL"]
    (issue,) = [i for i in conversion.issues if i.code == "fhir.result-time-after-report"]
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.collection.collectedDateTime"
    assert issue.text.startswith(
        "the specimen's collection.collectedDateTime '2026-11-25T07:10:00-05:00' (the time of "
        "ITEM[1]/Bundle.entry[2].resource, sent without one) is after that result's issued "
        "'2026-11-24T09:00:00-05:00': "
    )


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_a_result_its_transaction_deletes_is_passed_through_unread(kind: str) -> None:
    # a LIS retracting a WBC sent to the wrong chart: the DELETE entry carries the resource
    # removed, which was flagged LL as if the Bundle created it
    patient = {"resourceType": "Patient", "id": "rv-5521", "birthDate": "1970-03-02"}
    base = "https://lis.example/fhir"
    bundle = {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": f"{base}/Patient/rv-5521",
                "resource": patient,
                "request": {"method": "PUT", "url": "Patient/rv-5521"},
            },
            {
                "fullUrl": f"{base}/Observation/wbc",
                "resource": _WBC_WITHOUT_TIME,
                "request": {"method": "DELETE", "url": "Observation/wbc"},
            },
        ],
    }
    conversion = leukoflag.convert(fhir.dumps(bundle))
    assert conversion.findings == []
    assert [(i.code, i.severity, i.location, i.text) for i in conversion.issues] == [
        (
            "fhir.entry-deleted",
            Severity.INFORMATION,
            "ITEM[1]/Bundle.entry[1].resource",
            (
                "the entry's request deletes 'Observation/wbc': this Observation is passed "
                "through unread and unflagged"
            ),
        )
    ]
    (written,) = conversion.bundles
    assert fhir.dumps(written) == fhir.dumps(bundle)  # as sent


_INVERTED = {"start": "2026-11-24T09:00:00-05:00", "end": "2026-11-24T07:00:00-05:00"}


@pytest.mark.parametrize(
    ("resource", "at"),
    [
        # a LIS writing the draw and the analysis the wrong way round
        ({**_WBC_WITHOUT_TIME, "effectivePeriod": _INVERTED}, "entry[1].resource.effectivePeriod"),
        (
            {
                "resourceType": "DiagnosticReport",
                "id": "cbc-report",
                "status": "final",
                "code": _CBC_CODE,
                "effectivePeriod": _INVERTED,
                "result": [{"reference": "Observation/wbc"}],
            },
            "entry[1].resource.effectivePeriod",
        ),
        (
            {
                "resourceType": "Specimen",
                "id": "sp-41",
                "type": {"text": "Venous blood"},
                "collection": {"collectedPeriod": _INVERTED},
            },
            "entry[1].resource.collection.collectedPeriod",
        ),
    ],
)
def test_a_period_ending_before_it_starts_is_said_at_its_end(
    resource: dict[str, Any], at: str
) -> None:
    wbc = {**_WBC_WITHOUT_TIME, "specimen": {"reference": "Specimen/sp-41"}}
    sent = (resource,) if resource["resourceType"] == "Observation" else (resource, wbc)
    conversion = leukoflag.convert(_dated_bundle(*sent))
    assert [f.code for f in conversion.findings] == ["LL"]  # dated by the start, as sent
    (issue,) = [i for i in conversion.issues if i.code == "fhir.period-inverted"]
    assert (issue.severity, issue.location) == (Severity.WARNING, f"ITEM[1]/Bundle.{at}.end")
    assert issue.text == (
        "end '2026-11-24T07:00:00-05:00' is before start '2026-11-24T09:00:00-05:00': a FHIR "
        "Period cannot end before it starts, so one of them is wrong; its start is read as the "
        "time, and the Period passed through as sent"
    )
    (written,) = conversion.bundles
    kept = written["entry"][1]["resource"]
    for key in at.split("resource.")[1].split("."):
        kept = kept[key]
    assert kept == _INVERTED  # passed through as sent


def test_a_report_time_after_the_report_was_issued_is_said_at_the_report_time() -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-report",
        "status": "final",
        "code": _CBC_CODE,
        "subject": {"reference": "Patient/rv-5521"},
        "effectiveDateTime": "2026-11-25T07:10:00-05:00",
        "issued": "2026-11-24T09:00:00-05:00",
        "result": [{"reference": "Observation/wbc"}],
    }
    conversion = leukoflag.convert(_dated_bundle(report, _WBC_WITHOUT_TIME))
    assert [f.code for f in conversion.findings] == ["LL"]
    (issue,) = [i for i in conversion.issues if i.code == "fhir.result-time-after-report"]
    assert issue.location == "ITEM[1]/Bundle.entry[1].resource.effectiveDateTime"
    assert issue.text.startswith(
        "the report's effectiveDateTime '2026-11-25T07:10:00-05:00' is after its issued "
        "'2026-11-24T09:00:00-05:00': "
    )


@pytest.mark.parametrize(
    ("died", "said"),
    [
        ("1960-11-25T06:12:00-05:00", "1960-11-25T06:12:00-05:00"),  # a year's digit mistyped
        ("1960", "1960"),
    ],
)
def test_a_patient_who_died_before_birth_is_said_as_for_hl7_v2_and_passed_through(
    died: str, said: str
) -> None:
    # the same patient as PID-7 19610719 with PID-29 before it, which HL7 v2 input warns of
    # (fhir.death-before-birth): in FHIR input he passed through without a word
    patient = (
        '{"resourceType": "Patient", "id": "pt-318", "gender": "male", "birthDate": "1961-07-19",'
        ' "deceasedDateTime": "DIED"}'
    ).replace("DIED", died)
    conversion = leukoflag.convert(child_cbc(patient=patient))
    (said_issue,) = (i for i in conversion.issues if i.code == "fhir.death-before-birth")
    assert said_issue.severity.value == "warning"
    assert said_issue.location == "ITEM[1]/Bundle.entry[0].resource.deceasedDateTime"
    assert said_issue.text == (
        f"deceasedDateTime {said} is before birthDate 1961-07-19: one of them is wrong, and "
        "which is not known; the Patient passed through unchanged"
    )
    (bundle,) = conversion.bundles
    (written,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert (written["birthDate"], written["deceasedDateTime"]) == ("1961-07-19", died)


@pytest.mark.parametrize("died", ["1961-07-19T23:15:00-05:00", "1961", "2026-11-25"])
def test_a_patient_who_died_on_or_after_the_day_of_birth_is_read_without_a_word(
    died: str,
) -> None:
    patient = (
        '{"resourceType": "Patient", "id": "pt-318", "gender": "male", "birthDate": "1961-07-19",'
        ' "deceasedDateTime": "DIED"}'
    ).replace("DIED", died)
    conversion = leukoflag.convert(child_cbc(patient=patient))
    assert "fhir.death-before-birth" not in {i.code for i in conversion.issues}


@pytest.mark.parametrize(
    ("died", "warned"),
    [("1960-11-25T06:12:00", False), ("1960-11-25T06:12:00-05:00", True)],
)
def test_a_death_time_without_offset_beside_a_birth_time_is_compared_not_a_rejected_bundle(
    died: str, warned: bool
) -> None:
    # a Patient with a birth time (the patient-birthTime extension, with its offset) and a
    # deceasedDateTime whose time has no offset (invalid FHIR, sent by a hand-written feed):
    # comparing the two raised TypeError (offset-naive against offset-aware) and the whole
    # Bundle, the WBC with it, was rejected as "could not read this item"; a time without
    # offset is not surely before anything, as time_after says, so only the sound one warns
    patient = (
        '{"resourceType": "Patient", "id": "pt-318", "gender": "male", "birthDate": "1961-07-19",'
        ' "_birthDate": {"extension": [{"url": '
        '"http://hl7.org/fhir/StructureDefinition/patient-birthTime", '
        '"valueDateTime": "1961-07-19T10:00:00-05:00"}]}, "deceasedDateTime": "DIED"}'
    ).replace("DIED", died)
    conversion = leukoflag.convert(child_cbc(patient=patient))
    assert conversion.rejected == []
    assert len(conversion.bundles) == 1
    assert ("fhir.death-before-birth" in {i.code for i in conversion.issues}) is warned
