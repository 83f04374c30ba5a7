"""leukoflag.fhir.validate on JSON that is not valid FHIR: what it finds, and where it says."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.settings import Settings
from leukoflag.testing import assert_valid_fhir

VERSIONS = ("R4", "R5")


def _wbc() -> dict[str, Any]:
    """An R4/R5 WBC Observation as an EHR feed would send it: valid in both versions."""
    return {
        "resourceType": "Observation",
        "id": "wbc-20260301-0800",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "6690-2",
                    "display": "Leukocytes [#/volume] in Blood by Automated count",
                }
            ],
            "text": "WBC",
        },
        "subject": {"reference": "Patient/mrn-100871"},
        "effectiveDateTime": "2026-03-01T08:00:00-05:00",
        "issued": "2026-03-01T09:12:44-05:00",
        "valueQuantity": {
            "value": 3200,
            "unit": "/uL",
            "system": "http://unitsofmeasure.org",
            "code": "/uL",
        },
        "referenceRange": [{"low": {"value": 4000}, "high": {"value": 11000}}],
    }


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": "feed-7781",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{n:08d}-0000-4000-8000-000000000000", "resource": r}
            for n, r in enumerate(resources)
        ],
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_the_sample_observation_is_valid(version: str) -> None:
    assert fhir.validate(_wbc(), version) == []
    assert fhir.validate(_bundle(_wbc()), version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_problem_inside_an_array_is_named_by_its_element_path(version: str) -> None:
    # the models' own problems said 'code.coding.0.code' while the bindings' said
    # 'code.coding[0].code' and the entries 'entry[0].resource': one path style for all
    obs = _wbc()
    obs["code"]["coding"][0]["code"] = "6690-2 "  # a code has no trailing space
    obs["referenceRange"][0]["low"]["value"] = True
    problems = fhir.validate(_bundle(obs), version)
    where = [p.split(": ", 1)[0] for p in problems]
    assert "Bundle.entry[0].resource (Observation).code.coding[0].code" in where
    assert "Bundle.entry[0].resource (Observation).referenceRange[0].low.value" in where
    assert not [p for p in problems if ".0." in p.split(": ", 1)[0]]


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "mrn-100871",
        "active": True,
        "gender": "female",
        "birthDate": "1961-04-19",
        "multipleBirthInteger": 2,
    }


def _set(path: str, value: Any) -> Any:
    """A change of one element of the sample resources, by its dotted path (an int: an index)."""

    def change(resource: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")[1:]]
        node: Any = resource
        for part in parents:
            node = node[part]
        node[last] = value

    return change


# each: a value the models coerce, and how FHIR JSON (json.html) writes that element instead
COERCED = [
    (
        "Observation.valueQuantity.value",
        "3200",
        "the string '3200': FHIR JSON writes a decimal as a number",
    ),
    (
        "Observation.referenceRange.0.low.value",
        "4000",
        "the string '4000': FHIR JSON writes a decimal as a number",
    ),
    ("Patient.active", "true", "the string 'true': FHIR JSON writes a boolean as true or false"),
    ("Patient.active", 1, "the number 1: FHIR JSON writes a boolean as true or false"),
    (
        "Patient.multipleBirthInteger",
        "2",
        "the string '2': FHIR JSON writes an integer as a number without a fraction or exponent",
    ),
    (
        "Patient.multipleBirthInteger",
        Decimal("2.0"),
        "the number 2.0: FHIR JSON writes an integer as a number without a fraction or exponent",
    ),
    (
        "Patient.multipleBirthInteger",
        True,
        "true: FHIR JSON writes an integer as a number without a fraction or exponent",
    ),
    ("Observation.id", 123, "the number 123: FHIR JSON writes an id as a string"),
    (
        "Observation.code.coding.0.code",
        6690,
        "the number 6690: FHIR JSON writes a code as a string",
    ),
    (
        "Observation.issued",
        1772373164,
        "the number 1772373164: FHIR JSON writes an instant as a string",
    ),
    ("Patient.birthDate", 1961, "the number 1961: FHIR JSON writes a date as a string"),
    (
        "Observation.code",
        '{"text": "WBC"}',
        'the string \'{"text": "WBC"}\': FHIR JSON writes a CodeableConcept as an object',
    ),
    (
        "Observation.code.coding",
        {"system": "http://loinc.org", "code": "6690-2"},
        "an object: FHIR JSON writes an element that repeats as an array",
    ),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "value", "said"), COERCED)
def test_a_value_of_another_json_type_is_refused_once_at_its_path(
    version: str, path: str, value: Any, said: str
) -> None:
    # fhir.resources' models coerce these (even the string of JSON, which they parse): the
    # check passed them, and strict mode and assert_valid_fhir with it
    resource = _wbc() if path.startswith("Observation") else _patient()
    _set(path, value)(resource)
    where = path.replace(".0.", "[0].")
    assert fhir.validate(resource, version) == [f"{where}: {said}"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_decimal_from_the_stdlib_parser_or_leukoflags_is_a_number(version: str) -> None:
    obs = _wbc()
    for value in (3200, 3200.0, Decimal("3.20E+3"), Decimal("3200.00"), 10**400):
        obs["valueQuantity"]["value"] = value
        assert fhir.validate(obs, version) == [], value


def test_a_strict_conversion_of_fhir_input_rejects_a_boolean_sent_as_a_string() -> None:
    # the reader passes a Patient it does not read through as sent (by design); strict mode
    # promises output that validates, and "active": "true" does not
    patient = _patient()
    patient["active"] = "true"
    data = json.dumps(_bundle(patient, _wbc()))
    assert leukoflag.convert(data).bundles[0]["entry"][0]["resource"]["active"] == "true"
    (rejected,) = leukoflag.convert(data, Settings(strict=True)).rejected
    assert rejected.reason == (
        "strict FHIR validation failed: Bundle.entry[0].resource (Patient).active: "
        "the string 'true': FHIR JSON writes a boolean as true or false"
    )


def test_assert_valid_fhir_fails_a_count_sent_as_a_string() -> None:
    obs = _wbc()
    obs["valueQuantity"]["value"] = "3200"
    with pytest.raises(AssertionError) as caught:
        assert_valid_fhir(obs)
    assert "Observation.valueQuantity.value: the string '3200'" in str(caught.value)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_extension_of_a_primitive_is_checked_too(version: str) -> None:
    obs = _wbc()
    obs["_status"] = {
        "extension": [{"url": "http://example.org/fhir/verified-by-lis", "valueBoolean": "yes"}]
    }
    said = "the string 'yes': FHIR JSON writes a boolean as true or false"
    assert fhir.validate(obs, version) == [f"Observation._status.extension[0].valueBoolean: {said}"]


NO_VALUE = "FHIR JSON leaves out an element that has no value"

# json.html: a property is absent or has a value; none of these is an element's value
EMPTY = [
    ("Observation.implicitRules", "", "an empty string"),  # uri: the models allow ''
    ("Observation.code.text", "", "an empty string"),
    ("Observation.subject", {}, "an empty object"),
    ("Observation.note", [], "an empty array"),
    ("Observation.issued", None, "null"),
    ("Observation.valueQuantity.unit", None, "null"),
    ("Patient.birthDate", "", "an empty string"),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "value", "shown"), EMPTY)
def test_an_element_without_a_value_is_refused(
    version: str, path: str, value: Any, shown: str
) -> None:
    resource = _wbc() if path.startswith("Observation") else _patient()
    _set(path, value)(resource)
    assert fhir.validate(resource, version) == [f"{path}: {shown}: {NO_VALUE}"]


@pytest.mark.parametrize("version", VERSIONS)
def test_null_in_an_array_only_lines_a_primitive_up_with_its_extension(version: str) -> None:
    patient = _patient()
    absent = {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason"}
    absent["valueCode"] = "masked"
    patient["name"] = [{"family": "Castellanos", "given": ["Ana", None], "_given": [None, {}]}]
    patient["name"][0]["_given"][1] = {"extension": [absent]}
    assert fhir.validate(patient, version) == []
    patient["name"][0]["given"].append(None)  # no extension stands for it
    patient["telecom"] = [None]
    lined_up = "FHIR JSON has null in a primitive's array only where its extension stands"
    only = "FHIR JSON has null in an array only for a primitive, not in telecom's"
    assert fhir.validate(patient, version) == [
        f"Patient.name[0].given[2]: null, and '_given' has nothing at the same place: {lined_up}",
        f"Patient.telecom[0]: null: {only}",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_contained_that_is_not_an_array_of_resources_is_refused(version: str) -> None:
    # 'contained' was taken out to be checked resource by resource, and anything but a list
    # was dropped unchecked
    obs = _wbc()
    obs["contained"] = {"resourceType": "Specimen", "id": "sp1"}
    assert fhir.validate(obs, version) == [
        "Observation.contained: an object: FHIR JSON writes an element that repeats as an array"
    ]
    obs["contained"] = []
    assert fhir.validate(obs, version) == [f"Observation.contained: an empty array: {NO_VALUE}"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "value", "control"),
    [
        ("Observation.code.text", "WBC\x00", "0000"),  # a C string's end, carried over
        ("Observation.note", [{"text": "Specimen\x07 hemolyzed"}], "0007"),
        ("Observation.valueQuantity.unit", "10*3/\x0buL", "000B"),
        ("Observation.subject.display", "Castel\x1blanos, Ana", "001B"),
    ],
)
def test_a_control_character_in_a_string_is_refused(
    version: str, path: str, value: Any, control: str
) -> None:
    # the FHIR string type (datatypes.html): nothing below U+0020 but tab, CR and LF; the
    # models' pattern ('[ \r\n\t\S]+', searched, not matched whole) let each of these through
    obs = _wbc()
    _set(path, value)(obs)
    where = f"{path}[0].text" if path.endswith("note") else path
    (problem,) = fhir.validate(obs, version)
    assert problem.startswith(f"{where}: the string ")
    assert problem.endswith(
        f" holds U+{control}: a FHIR string holds no control character but tab, CR and LF"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_tab_cr_and_lf_in_a_string_are_valid(version: str) -> None:
    obs = _wbc()
    obs["note"] = [{"text": "Smear reviewed.\r\n\tClumped platelets."}]
    assert fhir.validate(obs, version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_python_name_of_an_element_is_no_fhir_key(version: str) -> None:
    # the models populate fields by their Python names as well: JSON made from a model's
    # dict(), not its JSON, validated, though no FHIR reader knows these keys
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "visit-55123",
        "status": "in-progress",
        "class_fhir": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    }
    if version == "R5":
        encounter["class_fhir"] = [{"coding": [encounter["class_fhir"]]}]
    patient = _patient()
    patient["active__ext"] = {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}
    obs = _wbc()
    obs["fhir_comments"] = ["entered by night shift"]
    assert fhir.validate(encounter, version) == [
        "Encounter.class_fhir: no FHIR element: fhir.resources' Python name for 'class'"
    ]
    assert fhir.validate(patient, version) == [
        "Patient.active__ext: no FHIR element: fhir.resources' Python name for '_active'"
    ]
    assert fhir.validate(obs, version) == [
        "Observation.fhir_comments: no FHIR element in R4 or R5 (DSTU2 JSON's comments)"
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Observation.code.coding.0.system", "http://loinc.org "),  # a trailing space pasted in
        ("Observation.valueQuantity.system", "http://unitsofmeasure.org\n"),
        ("Observation.implicitRules", "http://lab.example.org/wbc rules"),
    ],
)
def test_whitespace_in_a_uri_is_refused(version: str, path: str, value: str) -> None:
    # datatypes.html: a uri matches \S* whole; the models search that pattern, which any value
    # matches, so a system with a trailing space (no terminology server knows it) validated
    obs = _wbc()
    _set(path, value)(obs)
    where = path.replace(".0.", "[0].")
    assert fhir.validate(obs, version) == [
        f"{where}: the string {value!r}: a FHIR uri holds no whitespace (datatypes.html)"
    ]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Observation.code.coding.0.code", "WBC\tCNT"),  # a fixed-width local code's tab
        ("Observation.valueQuantity.code", "10*3/\nuL"),  # a line break from a wrapped field
    ],
)
def test_whitespace_other_than_single_spaces_in_a_code_is_refused(
    version: str, path: str, value: str
) -> None:
    # datatypes.html: a code matches [^\s]+( [^\s]+)* (single spaces only); the models' pattern
    # takes \s for the space, so a tab, CR or LF inside a code validated
    obs = _wbc()
    _set(path, value)(obs)
    where = path.replace(".0.", "[0].")
    spaces = "a FHIR code holds no whitespace but single spaces between its characters"
    assert fhir.validate(obs, version) == [
        f"{where}: the string {value!r}: {spaces} (datatypes.html)"
    ]
    _set(path, " ".join(value.split()))(obs)
    assert fhir.validate(obs, version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_an_id_longer_than_64_characters_is_refused(version: str) -> None:
    # datatypes.html: an id is 1 to 64 characters; fhir.resources allows 255
    obs = _wbc()
    obs["id"] = "wbc-" + "0123456789" * 6 + "-1"  # 66 characters
    (problem,) = fhir.validate(obs, version)
    assert problem.startswith("Observation.id: the string 'wbc-0123456789")
    assert problem.endswith(
        " is 66 characters long: a FHIR id is at most 64 characters (datatypes.html)"
    )
    obs["id"] = obs["id"][:64]
    assert fhir.validate(obs, version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_bundle_entry_holding_only_its_resource_is_no_empty_object(version: str) -> None:
    # an R4 collection or export Bundle may send its entries without fullUrl: {"resource": …}
    # is an entry with a value; the resource is checked at its own path, not taken for nothing
    bundle = _bundle(_patient(), _wbc())
    for entry in bundle["entry"]:
        del entry["fullUrl"]
    assert fhir.validate(bundle, version) == []
    bundle["entry"][1]["resource"]["valueQuantity"]["value"] = "3200"
    refused = (
        "Bundle.entry[1].resource (Observation).valueQuantity.value: the string '3200': "
        "FHIR JSON writes a decimal as a number"
    )
    assert fhir.validate(bundle, version) == [refused]
    bundle["entry"].append({})  # an entry holding nothing at all stays refused
    assert fhir.validate(bundle, version)[0] == f"Bundle.entry[2]: an empty object: {NO_VALUE}"


def test_a_strict_conversion_passes_a_bundle_whose_entries_send_no_full_url() -> None:
    bundle = _bundle(_patient(), _wbc())
    for entry in bundle["entry"]:
        del entry["fullUrl"]
    conversion = leukoflag.convert(json.dumps(bundle), Settings(strict=True))
    assert conversion.rejected == []
    (flagged,) = conversion.bundles
    assert flagged["entry"][1]["resource"]["interpretation"][0]["coding"][0]["code"] == "L"


def _request() -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": "cbc-order-5521",
        "status": "completed",
        "intent": "order",
        "priority": "stat",
        "subject": {"reference": "Patient/mrn-100871"},
    }


# each: a code outside the required value set of an element leukoflag writes (and so the
# official validator refuses), as feeds send them: a contact point's use sent as its system, v2
# names and codes sent for FHIR's
OUT_OF_VALUE_SET = [
    ("Patient.telecom", [{"system": "mobile", "value": "+1 217 555 0101"}],
     ".telecom[0].system: 'mobile'", "contact-point-system"),
    ("Patient.telecom", [{"system": "phone", "value": "+1 217 555 0101", "use": "PRN"}],
     ".telecom[0].use: 'PRN'", "contact-point-use"),
    ("Patient.name", [{"use": "legal", "family": "OKAFOR"}], ".name[0].use: 'legal'", "name-use"),
    ("Patient.address", [{"use": "residence", "city": "SPRINGFIELD"}],
     ".address[0].use: 'residence'", "address-use"),
    ("Patient.address", [{"type": "mailing", "city": "SPRINGFIELD"}],
     ".address[0].type: 'mailing'", "address-type"),
    ("ServiceRequest.priority", "S", ".priority: 'S'", "request-priority"),
]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "value", "said", "value_set"), OUT_OF_VALUE_SET)
def test_a_code_outside_a_required_value_set_the_writer_uses_is_refused(
    version: Literal["R4", "R5"], path: str, value: Any, said: str, value_set: str
) -> None:
    # leukoflag writes these elements (PID-5, PID-11, PID-13/14, OBR-27 / TQ1-9) and
    # strict mode promises output that validates; their bindings were not checked, so a FHIR
    # input carrying a code outside them passed strict=True as valid
    resource = _request() if path.startswith("ServiceRequest") else _patient()
    resource[path.split(".")[1]] = value
    assert fhir.validate(_request(), version) == fhir.validate(_patient(), version) == []
    kind = resource["resourceType"]
    source = "; ".join(f"https://hl7.org/fhir/{v}/valueset-{value_set}.html" for v in VERSIONS)
    assert fhir.validate(resource, version) == [
        f"{kind}{said} is not in the required value set ({source})"
    ]
    data = json.dumps(_bundle(resource, _wbc()))
    (rejected,) = leukoflag.convert(data, Settings(fhir_version=version, strict=True)).rejected
    # named as the models name what they refuse in an entry: with the resource's type
    assert f"Bundle.entry[0].resource ({kind}){said} is not in" in rejected.reason


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Observation.code.coding.0.system", "LN"),  # HL7 v2's coding system name pasted in
        ("Observation.category.0.coding.0.system", "observation-category"),
        ("Observation.valueQuantity.system", "UCUM"),
    ],
)
def test_a_relative_system_of_a_coding_or_quantity_is_refused(
    version: str, path: str, value: str
) -> None:
    # datatypes.html: Coding.system and Quantity.system are URIs that name the code system; the
    # FHIR validator refuses a relative one ('LN' names no code system), the models take any uri
    obs = _wbc()
    _set(path, value)(obs)
    where = path.replace(".0.", "[0].")
    absolute = "a code system is named by an absolute URI (datatypes.html), as 'http://loinc.org'"
    assert fhir.validate(obs, version) == [f"{where}: the string {value!r}: {absolute}"]
    _set(path, "urn:oid:2.16.840.1.113883.6.1")(obs)
    assert fhir.validate(obs, version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_quantity_with_a_code_but_no_system_is_refused(version: str) -> None:
    # FHIR invariant qty-3 (R4 and R5): a Quantity's code SHALL come with its system; the models
    # do not check invariants, so a WBC of '3200 /uL' without UCUM's system validated
    obs = _wbc()
    del obs["valueQuantity"]["system"]
    obs["referenceRange"][0]["low"] = {"value": 4000, "code": "/uL"}
    assert fhir.validate(obs, version) == [
        f"{where}.code: the string '/uL' without a system: FHIR invariant qty-3 (datatypes.html: "
        "if a code for the unit is present, the system SHALL also be present)"
        for where in ("Observation.valueQuantity", "Observation.referenceRange[0].low")
    ]


def test_a_strict_conversion_rejects_an_observation_coded_with_a_relative_system() -> None:
    obs = _wbc()
    obs["code"]["coding"][0]["system"] = "LN"
    conv = leukoflag.convert(json.dumps(obs), settings=Settings(strict=True))
    assert conv.bundles == []
    assert len(conv.rejected) == 1
    assert "Observation.code.coding[0].system: the string 'LN'" in conv.rejected[0].reason
