"""Every output is its own JSON tree: no dict or list is used twice, within one output or across
outputs (integration engines add ``meta``, tags and identifiers to what they get, and rewrite
references; a change to one Observation must never show in another, nor in a later Bundle).

The tree walk collects the ``id`` of every dict and list; immutable leaves (str, int, bool,
Decimal) may be shared and are not looked at.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir_builders import (
    ADULT,
    ANC,
    HGB,
    K_PER_UL,
    MSG,
    NEUT_PCT,
    VISIT,
    judged,
    lab_range,
    message,
    obr,
    obx,
    spm,
    ts,
    write,
)
from fhir_messages import (
    DERIVED_ANC,
    ONCOLOGY_CBC,
    PEDIATRIC_LOCAL_CODES,
    STATUSES,
    batch,
    benchmark_cbc,
)

import leukoflag
from leukoflag import fhir, flagging
from leukoflag.model import (
    Analyte,
    Coding,
    Concept,
    Evaluation,
    NormalizedQuantity,
    NormalizedRange,
)
from leukoflag.settings import Settings

INPUTS = Path(__file__).parent / "inputs"
UCUM = "http://unitsofmeasure.org"
SETTINGS = [
    pytest.param({}, id="R4-transaction"),
    pytest.param({"bundle_type": "collection"}, id="R4-collection"),
    pytest.param({"fhir_version": "R5"}, id="R5-transaction"),
    pytest.param({"fhir_version": "R5", "bundle_type": "collection"}, id="R5-collection"),
]
MESSAGES = {
    "benchmark-cbc": benchmark_cbc(),
    "derived-anc": DERIVED_ANC,
    "obx-after-spm": ONCOLOGY_CBC,
    "pediatric-local-codes": PEDIATRIC_LOCAL_CODES,
    "statuses": STATUSES,
}


# --------------------------------------------------------------------------- the tree walk


def containers(tree: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any] | list[Any]]]:
    """Every dict and list of ``tree`` with its path (``entry[3].resource.code``), each time it
    is reached: a node reached twice is listed twice."""
    stack: list[tuple[str, Any]] = [(path, tree)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            yield where, node
            stack.extend((f"{where}.{key}" if where else key, v) for key, v in node.items())
        elif isinstance(node, list):
            yield where, node
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(node))


def assert_independent(*outputs: Any) -> None:
    """No dict/list appears twice within one output, and none in two of ``outputs``."""
    owner: dict[int, str] = {}  # id → where it was first seen
    for number, output in enumerate(outputs):
        for where, node in containers(output):
            here = f"output {number}: {where or '(root)'}"
            seen = owner.get(id(node))
            assert seen is None, f"{here} is the same {type(node).__name__} as {seen}"
            owner[id(node)] = here


def test_the_walk_sees_a_node_used_twice() -> None:
    # the helper itself: a shared coding, in one tree and across two trees, is found
    coding = {"system": "http://loinc.org", "code": "6690-2"}
    one = {"a": {"coding": [coding]}, "b": {"coding": [coding]}}
    with pytest.raises(AssertionError, match=r"b\.coding\[0\]|a\.coding\[0\]"):
        assert_independent(one)
    with pytest.raises(AssertionError, match="output 1"):
        assert_independent({"coding": [coding]}, {"x": [coding]})
    assert_independent({"coding": [dict(coding)]}, {"coding": [dict(coding)]}, {"s": "same"})


# --------------------------------------------------------------------------- HL7 v2 Bundles


def _bundles(data: bytes, **settings: Any) -> list[dict[str, Any]]:
    conversion = leukoflag.convert(data, Settings(**settings))
    assert conversion.rejected == []
    return conversion.bundles


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("name", list(MESSAGES))
def test_a_message_converted_twice_gives_two_independent_bundles(
    name: str, settings: dict[str, Any]
) -> None:
    (first,) = _bundles(MESSAGES[name], **settings)
    (second,) = _bundles(MESSAGES[name], **settings)
    assert first == second
    assert_independent(first, second)


@pytest.mark.parametrize("settings", SETTINGS)
def test_messages_sharing_codes_units_and_patient_give_independent_bundles(
    settings: dict[str, Any],
) -> None:
    # the benchmark CBC and the oncology CBC share the patient, OBX-3 codes, units and ranges;
    # the statuses and derived-ANC messages share codes with both; converted in one batch
    # (the reader shares what repeats) and one by one
    together = _bundles(
        batch(benchmark_cbc(), ONCOLOGY_CBC, STATUSES, DERIVED_ANC, benchmark_cbc()), **settings
    )
    assert len(together) == 5
    apart = [
        bundle
        for data in (benchmark_cbc(), ONCOLOGY_CBC, STATUSES, DERIVED_ANC)
        for bundle in _bundles(data, **settings)
    ]
    assert_independent(*together, *apart)


def _shared_objects_message() -> tuple[Any, tuple[Evaluation, ...]]:
    """Two orders whose results all use the very same model objects (code, unit, range, flags,
    analysis time, method, category), two specimens, and a derived ANC."""
    same_range = lab_range("4.0-11.0", "4.0", "11.0")
    analysed = ts("2026-11-24T08:10:00-05:00")
    method = Concept((Coding("AUTO", "Automated count", "", "99LAB"),))
    category = Concept((Coding("laboratory", "Laboratory", "", ""),))
    shared: dict[str, Any] = {
        "reference": same_range,
        "flags": ("L", "ZZ"),
        "analysis_time": analysed,
        "method": method,
        "category": category,
    }
    first = obr(
        obx(1, "3.1", **shared),
        obx(2, "3.2", **shared),
        obx(3, "41", code=NEUT_PCT, unit=None, **shared),
        obx(4, "11.6", code=HGB, specimen=f"{MSG}/SPM[2]", **shared),
        obx(5, "<0.5", code=ANC, **shared),
        specimens=(spm(1), spm(2)),
    )
    second = obr(obx(6, "3.3", order=2, **shared), obx(7, "3.4", order=2, **shared), n=2)
    evaluations = (
        judged(f"{MSG}/OBX[1]", "3.1E+3", "L", grade=2),
        judged(
            f"{MSG}/OBX[2]",
            "3.2E+3",
            "L",
            reference=NormalizedRange(Decimal("4.0E+3"), Decimal("1.10E+4"), "lab", "4.0-11.0"),
            loinc_added=Coding("26464-8", "Leukocytes [#/volume] in Blood", "http://loinc.org"),
        ),
        judged(f"{MSG}/OBX[5]", "5E+2", "LL", analyte=Analyte.ANC, comparator="<", grade=4),
        judged(f"{MSG}/OBX[6]", "3.3E+3", "L", grade=2),
        judged(f"{MSG}/OBX[7]", "3.4E+3", "L", grade=2),
        Evaluation(
            location=f"{MSG}/OBR[1]/ANC[derived]",
            analyte=Analyte.ANC,
            loinc=Coding("26499-4", "Neutrophils [#/volume] in Blood", "http://loinc.org"),
            quantity=NormalizedQuantity(Decimal("1271")),
            reference_range=NormalizedRange(Decimal("1800"), Decimal("7700"), "default"),
            derived_from=(f"{MSG}/OBX[1]", f"{MSG}/OBX[3]"),
        ),
    )
    return message(first, second, patient=ADULT, visit=VISIT), evaluations


@pytest.mark.parametrize("settings", SETTINGS)
def test_results_sharing_every_model_object_are_written_as_separate_trees(
    settings: dict[str, Any],
) -> None:
    msg, evaluations = _shared_objects_message()
    first, _ = write(msg, evaluations, **settings)
    second, _ = write(msg, evaluations, **settings)
    other, _ = write(
        message(obr(obx(1, "3.1", reference=lab_range("4.0-11.0", "4.0", "11.0"), unit=K_PER_UL))),
        **settings,
    )
    assert first == second
    assert (
        len(first["entry"]) == 17
    )  # Patient, Encounter, 2 SR, 2 Specimens, 2 reports, 8 Obs, Prov
    assert_independent(first, second, other)


# --------------------------------------------------------------------------- behaviour


def _observations(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]


def _tamper(bundle: dict[str, Any]) -> None:
    """What an integration engine does to the Bundle it got: all in place."""
    wbc, rbc = _observations(bundle)[:2]
    bundle["entry"][0]["resource"]["meta"] = {"tag": [{"code": "seen"}]}
    wbc["category"][0]["coding"].append({"system": "urn:engine", "code": "routed"})
    wbc["code"]["coding"][0]["code"] = "TAMPERED"
    wbc["valueQuantity"]["unit"] = "tampered"
    wbc["referenceRange"][0]["low"]["value"] = Decimal(0)
    wbc["interpretation"][0]["coding"][0]["display"] = "tampered"
    wbc["subject"]["reference"] = "Patient/elsewhere"
    wbc["specimen"]["reference"] = "Specimen/elsewhere"
    wbc["extension"][1]["extension"].append({"url": "engine", "valueString": "x"})  # explanation
    wbc["extension"][2]["valueCodeableConcept"]["coding"][0]["code"] = "tampered"  # sender's flag
    rbc["code"]["coding"][0]["code"] = "TAMPERED"
    rbc["valueQuantity"]["code"] = "tampered"
    rbc["referenceRange"][0]["high"]["unit"] = "tampered"
    rbc["interpretation"][0]["coding"][0]["code"] = "tampered"
    rbc["extension"][0]["valueDateTime"] = "1900-01-01"
    report = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    report["result"][0]["reference"] = "Observation/elsewhere"
    report["identifier"][0]["type"]["coding"][0]["code"] = "tampered"
    report["conclusionCode"][0]["coding"][0]["code"] = "tampered"
    provenance = bundle["entry"][-1]["resource"]
    provenance["activity"]["coding"][0]["code"] = "tampered"
    provenance["agent"][-1]["who"]["display"] = "tampered"
    provenance["target"][1]["reference"] = "Encounter/elsewhere"


@pytest.mark.parametrize("settings", SETTINGS)
def test_changing_one_bundle_changes_nothing_else(settings: dict[str, Any]) -> None:
    (a,) = _bundles(benchmark_cbc(), **settings)
    original = copy.deepcopy(a)
    oncology = copy.deepcopy(_bundles(ONCOLOGY_CBC, **settings))  # shares codes and patient
    _tamper(a)
    # within the Bundle: only what was changed changed
    observations, before = _observations(a), _observations(original)
    assert observations[2:] == before[2:]
    assert observations[0]["subject"] != before[0]["subject"]
    assert a["entry"][1] == original["entry"][1]  # the Encounter's subject is its own
    # and the next conversion, of this message or another sharing its codes, is untouched
    (b,) = _bundles(benchmark_cbc(), **settings)
    assert b == original
    assert fhir.dumps(b) == fhir.dumps(original)
    assert _bundles(ONCOLOGY_CBC, **settings) == oncology
    assert_independent(a, b)


def test_changing_a_derived_anc_changes_nothing_else() -> None:
    (a,) = _bundles(DERIVED_ANC)
    original = copy.deepcopy(a)
    derived = _observations(a)[-1]
    assert derived["derivedFrom"]
    derived["derivedFrom"][0]["reference"] = "Observation/elsewhere"
    derived["category"][0]["coding"][0]["code"] = "tampered"
    derived["valueQuantity"]["system"] = "tampered"
    derived["interpretation"][0]["coding"][0]["code"] = "tampered"
    assert _observations(a)[:-1] == _observations(original)[:-1]
    (b,) = _bundles(DERIVED_ANC)
    assert b == original


# --------------------------------------------------------------------------- FHIR input


def _flagged(data: bytes, **settings: Any) -> list[dict[str, Any]]:
    conversion = leukoflag.convert(data, Settings(**settings))
    assert conversion.bundles  # (bulk-export.ndjson holds broken lines too: those are rejected)
    return conversion.bundles


def _derived_entry_bundle() -> bytes:
    """bundle-with-patient.json with a neutrophil % instead of the ANC: a derived ANC entry is
    added, taking its subject, times and specimen from its first source."""
    bundle = fhir.loads((INPUTS / "bundle-with-patient.json").read_bytes())
    anc = next(e for e in bundle["entry"] if e["resource"]["id"] == "sm-anc")["resource"]
    anc["code"] = {"coding": [{"system": "http://loinc.org", "code": "770-8"}]}
    anc["valueQuantity"] = {"value": 12.0, "unit": "%", "system": UCUM, "code": "%"}
    wbc = next(e for e in bundle["entry"] if e["resource"]["id"] == "sm-wbc")["resource"]
    wbc["encounter"] = {"reference": "Encounter/sm-enc-1"}
    for source in (wbc, anc):
        source["specimen"] = {"reference": "Specimen/sm-sp-99", "display": "whole blood"}
    return fhir.dumps(bundle)


FHIR_INPUTS = {
    **{path.name: path.read_bytes() for path in sorted(INPUTS.iterdir())},
    "bundle-with-derived-entry": _derived_entry_bundle(),
    "leukoflag-bundle-flagged-again": fhir.dumps(_bundles(benchmark_cbc())[0]),
}


@pytest.mark.parametrize("name", list(FHIR_INPUTS))
def test_fhir_input_flagged_twice_gives_independent_outputs(name: str) -> None:
    first = _flagged(FHIR_INPUTS[name])
    second = _flagged(FHIR_INPUTS[name])
    assert first == second
    assert_independent(*first, *second)


def test_derived_entry_takes_copies_of_its_sources_elements() -> None:
    (output,) = _flagged(FHIR_INPUTS["bundle-with-derived-entry"])
    added = output["entry"][-1]["resource"]
    wbc = next(e["resource"] for e in output["entry"] if e["resource"].get("id") == "sm-wbc")
    for key in ("subject", "encounter", "specimen"):
        # the same resource, named by its entry's fullUrl when the Bundle holds it
        assert added[key]["reference"].endswith(wbc[key]["reference"])
        assert added[key] is not wbc[key]
    added["subject"]["reference"] = "Patient/elsewhere"
    assert wbc["subject"] == {"reference": "Patient/sm-40517"}


def test_changing_a_flagged_resource_changes_nothing_else() -> None:
    data = (INPUTS / "bundle-with-patient.json").read_bytes()
    (a,) = _flagged(data)
    original = copy.deepcopy(a)
    for entry in a["entry"]:
        resource = entry["resource"]
        for key in ("category", "interpretation", "conclusionCode"):
            for concept in resource.get(key, ()):
                concept.setdefault("coding", []).append({"code": "tampered"})
        quantity = resource.get("valueQuantity")
        if quantity is not None:
            quantity["unit"] = "tampered"
        for extension in resource.get("extension", ()):
            extension.setdefault("extension", []).append({"url": "x", "valueString": "tampered"})
    (b,) = _flagged(data)
    assert b == original


def test_flag_in_place_output_shares_nothing_with_a_later_output_of_the_same_item() -> None:
    # the library form: one item, flagged twice (its own unchanged subtrees may be shared with
    # it, but what leukoflag adds is made for each output)
    (item,) = fhir.read_items(
        io.BytesIO((INPUTS / "cbc-panel-components.json").read_bytes()),
        source="<test>",
        settings=Settings(),
    )
    assert isinstance(item, fhir.FhirItem)
    settings = Settings()
    evaluations: dict[str, Evaluation] = {}
    for group in item.groups:
        context = flagging.patient_context(group.patient, settings)
        for order in group.orders:
            evaluations.update(
                (e.location, e) for e in flagging.evaluate_order(order, context, settings)
            )
    first, _ = fhir.flag_in_place(item, evaluations, settings)
    second, _ = fhir.flag_in_place(item, evaluations, settings)
    assert first == second
    input_nodes = {id(node) for _, node in containers(item.resource)}
    added = [(where, node) for where, node in containers(first) if id(node) not in input_nodes]
    assert added  # the normalized components, the derived ANC …
    assert {id(node) for _, node in containers(second)}.isdisjoint(id(n) for _, n in added)
    assert_independent(first)
