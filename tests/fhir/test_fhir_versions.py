"""R4 and R5 Bundles of the same messages: they differ only where the versions do.

docs/output.md ("R4 and R5") lists the elements whose form changed between the versions. Each
R4 Bundle is rewritten here by that table alone; the result must be the R5 Bundle, element for
element, and every row of the table must have been needed, so that the messages reach every
version-specific branch of the writer.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

import pytest
from fhir_builders import assert_valid
from fhir_messages import VERSION_DIFFERENCES

import leukoflag
from leukoflag import Settings, fhir

_NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
_XVER = "http://hl7.org/fhir/5.0/StructureDefinition/extension-"
_R4_TO_R5_ENCOUNTER_STATUS = {"finished": "completed"}  # the codes that differ, of those written


def _without(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The values of the extensions ``url`` of ``resource``, removed from it."""
    found = [e for e in resource.get("extension", []) if e["url"] == url]
    kept = [e for e in resource.get("extension", []) if e["url"] != url]
    if kept:
        resource["extension"] = kept
    else:
        resource.pop("extension", None)
    return found


def _as_r5(bundle: dict[str, Any], rows: set[str]) -> dict[str, Any]:
    """``bundle`` (R4) rewritten by the table of docs/output.md; ``rows`` gets each row used."""
    bundle = copy.deepcopy(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Encounter":
            klass = resource.pop("class")
            if klass["system"] == _NULL_FLAVOR:  # R4's required class, PV1-2 empty: none in R5
                rows.add("Encounter.class UNK")
            else:
                resource["class"] = [{"coding": [klass]}]
                rows.add("Encounter.class")
            for participant in resource.get("participant", []):
                participant["actor"] = participant.pop("individual")
                rows.add("Encounter.participant")
            if "period" in resource:
                resource["actualPeriod"] = resource.pop("period")
                rows.add("Encounter.period")
            if resource["status"] in _R4_TO_R5_ENCOUNTER_STATUS:
                resource["status"] = _R4_TO_R5_ENCOUNTER_STATUS[resource["status"]]
                rows.add("Encounter.status")
        elif kind == "ServiceRequest" and "code" in resource:
            resource["code"] = {"concept": resource["code"]}
            rows.add("ServiceRequest.code")
        elif kind == "Specimen":
            roles = _without(resource, _XVER + "Specimen.role")
            if roles:
                resource["role"] = [role["valueCodeableConcept"] for role in roles]
                rows.add("Specimen.role")
            collection = resource.get("collection", {})
            if "bodySite" in collection:
                collection["bodySite"] = {"concept": collection["bodySite"]}
                rows.add("Specimen.collection.bodySite")
        elif kind == "DiagnosticReport":
            notes = _without(resource, _XVER + "DiagnosticReport.note")
            if notes:
                resource["note"] = [note["valueAnnotation"] for note in notes]
                rows.add("DiagnosticReport.note")
        elif kind == "Provenance" and "_recorded" in resource:
            del resource["_recorded"]  # R4's required recorded, said unknown: optional in R5
            rows.add("Provenance.recorded")
    return bundle


def _ordered(resource: Any) -> Any:
    """A resource with every object's keys sorted (FHIR JSON gives their order no meaning)."""
    if isinstance(resource, dict):
        return {key: _ordered(resource[key]) for key in sorted(resource)}
    if isinstance(resource, list):
        return [_ordered(item) for item in resource]
    return resource


def test_r4_and_r5_bundles_differ_only_in_the_elements_the_versions_changed() -> None:
    for bundle_type in ("transaction", "collection"):
        r4 = leukoflag.convert(VERSION_DIFFERENCES, Settings(bundle_type=bundle_type))
        r5 = leukoflag.convert(
            VERSION_DIFFERENCES, Settings(fhir_version="R5", bundle_type=bundle_type)
        )
        assert r4.rejected == r5.rejected == []
        assert r4.issues == r5.issues
        rows: set[str] = set()
        for written_r4, written_r5 in zip(r4.bundles, r5.bundles, strict=True):
            assert_valid(written_r4, "R4")
            assert_valid(written_r5, "R5")
            expected = _as_r5(written_r4, rows)
            for want, got in zip(expected["entry"], written_r5["entry"], strict=True):
                assert _ordered(got) == _ordered(want), want["resource"]["resourceType"]
            assert _ordered(written_r5) == _ordered(expected)
        assert rows == {
            "Encounter.class",
            "Encounter.class UNK",
            "Encounter.participant",
            "Encounter.period",
            "Encounter.status",
            "ServiceRequest.code",
            "Specimen.role",
            "Specimen.collection.bodySite",
            "DiagnosticReport.note",
            "Provenance.recorded",
        }


def test_r5_bundle_carries_each_version_specific_element_with_its_value() -> None:
    conversion = leukoflag.convert(VERSION_DIFFERENCES, Settings(fhir_version="R5"))
    first, second = conversion.bundles
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in first["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    (encounter,) = by_type["Encounter"]
    assert encounter["status"] == "completed"
    assert encounter["class"] == [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                    "display": "inpatient encounter",
                }
            ]
        }
    ]
    assert [(p["type"][0]["coding"][0]["code"], p["actor"]) for p in encounter["participant"]] == [
        ("ATND", {"display": "DR LINH NGUYEN (1234)"}),
        ("REF", {"display": "DR CARLA RUIZ (5678)"}),
        ("CON", {"display": "DR PAUL SMITH (9012)"}),
        ("ADM", {"display": "DR KIM ADAMS (3456)"}),
    ]
    assert encounter["actualPeriod"] == {
        "start": "2026-11-20T08:00:00-06:00",
        "end": "2026-11-24T09:00:00-06:00",
    }
    (request,) = by_type["ServiceRequest"]
    assert request["code"]["concept"]["coding"][0]["code"] == "57021-8"
    assert request["requisition"]["value"] == "GRP77"
    assert request["priority"] == "stat"
    (specimen,) = by_type["Specimen"]
    assert specimen["collection"]["bodySite"] == {
        "concept": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0163",
                    "code": "LACF",
                    "display": "Left antecubital fossa",
                }
            ]
        }
    }
    assert specimen["collection"]["collector"] == {"display": "LUZ QUINTERO (PB117)"}
    assert specimen["collection"]["collectedPeriod"] == {
        "start": "2026-11-24T08:30:00-06:00",
        "end": "2026-11-24T08:32:00-06:00",
    }
    assert specimen["role"][0]["coding"][0]["code"] == "P"
    assert specimen["note"] == [{"text": "Drawn above the IV site."}]
    assert "extension" not in specimen
    (report,) = by_type["DiagnosticReport"]
    assert report["note"] == [{"text": "Specimen slightly hemolyzed; results not affected."}]
    assert report["resultsInterpreter"] == [{"display": "DR RAVI PATEL (7777)"}]
    assert "extension" not in report
    on_specimen = [o for o in by_type["Observation"] if "focus" in o]
    assert [o["focus"] for o in on_specimen] == [[{"reference": first["entry"][3]["fullUrl"]}]]
    assert first["entry"][3]["resource"] is specimen
    (provenance,) = by_type["Provenance"]
    assert provenance["recorded"] == "2026-11-24T10:15:00-06:00"
    # the second message: no PV1-2, no time in MSH-7
    encounter = next(
        e["resource"] for e in second["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    assert "class" not in encounter
    assert encounter["status"] == "unknown"
    provenance = second["entry"][-1]["resource"]
    assert "recorded" not in provenance
    assert "_recorded" not in provenance


_V2_0369 = "http://terminology.hl7.org/CodeSystem/v2-0369"
_PATIENT_ROLE = {"coding": [{"system": _V2_0369, "code": "P", "display": "Patient"}]}
_CONTROL_ROLE = {"coding": [{"system": _V2_0369, "code": "Q", "display": "Control specimen"}]}


def _wbc_of(specimen: dict[str, Any]) -> dict[str, Any]:
    """A WBC of 2,100 cells/µL (low for anyone) on ``specimen``, contained with its patient."""
    return {
        "resourceType": "Observation",
        "id": "wbc-qc-0712",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        "subject": {"reference": "#pt"},
        "effectiveDateTime": "2026-11-24T07:00:00-05:00",
        "valueQuantity": {
            "value": 2.1,
            "unit": "10*3/uL",
            "system": "http://unitsofmeasure.org",
            "code": "10*3/uL",
        },
        "specimen": {"reference": "#spec"},
        "contained": [
            {"resourceType": "Patient", "id": "pt", "gender": "female", "birthDate": "1980-01-01"},
            {"resourceType": "Specimen", "id": "spec", **specimen},
        ],
    }


@pytest.mark.parametrize("control_first", [True, False])
@pytest.mark.parametrize("version", ["R4", "R5"])
def test_a_control_role_among_a_specimens_roles_marks_control_material_in_r4_and_r5(
    version: Literal["R4", "R5"], control_first: bool
) -> None:
    # Specimen.role repeats (R5 role, R4 its cross-version extension): R5 read the first role
    # only and R4 the last, so the same QC specimen was control material in one version and
    # the patient's leukopenia (LU) in the other, depending on the order of its roles.
    roles = [_CONTROL_ROLE, _PATIENT_ROLE] if control_first else [_PATIENT_ROLE, _CONTROL_ROLE]
    if version == "R5":
        specimen: dict[str, Any] = {"role": roles}
    else:
        url = _XVER + "Specimen.role"
        specimen = {"extension": [{"url": url, "valueCodeableConcept": r} for r in roles]}
    # each asked for in its own version (R5 asked for R4 is fhir.version-kept too)
    settings = Settings(fhir_version=version)
    conversion = leukoflag.convert(json.dumps(_wbc_of(specimen)), settings=settings)
    assert conversion.findings == []
    assert [i.code for i in conversion.issues] == ["flag.control-material"]


def _r5_report(**r5: Any) -> dict[str, Any]:
    """A collection Bundle of a CBC report (R5: its DiagnosticReport.note, the lab's comment,
    is R5's only) with a WBC of 2,100 cells/µL, in ``r5`` the elements to set on the report."""
    wbc = _wbc_of({"type": {"text": "Venous blood"}})
    wbc["id"] = "wbc-r5-0713"
    report = {
        "resourceType": "DiagnosticReport",
        "id": "cbc-r5-0713",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
        "subject": {"reference": "Patient/pt-0713"},
        "result": [{"reference": "Observation/wbc-r5-0713"}],
        **r5,
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "https://lab.example.org/fhir/DiagnosticReport/cbc-r5-0713",
             "resource": report},
            {"fullUrl": "https://lab.example.org/fhir/Observation/wbc-r5-0713", "resource": wbc},
        ],
    }  # fmt: skip


_R5_NOTE = {"note": [{"text": "Sample re-run after clot check."}]}


def test_r5_input_written_in_r5_when_r4_is_asked_for_says_so_at_the_item() -> None:
    # an integration engine asking for R4 (the default) got R5 back without a word
    conversion = leukoflag.convert(json.dumps(_r5_report(**_R5_NOTE)))
    (bundle,) = conversion.bundles
    assert bundle["entry"][0]["resource"]["note"] == _R5_NOTE["note"]  # not down-converted
    (kept,) = [i for i in conversion.issues if i.code == "fhir.version-kept"]
    assert (str(kept.severity), kept.location) == ("warning", "ITEM[1]")
    assert kept.text == (
        "the item is FHIR R5 (ITEM[1]/Bundle.entry[0].resource.note is R5's only): it is "
        "flagged in place and written in R5, its own version, not in R4 "
        "(Settings.fhir_version): leukoflag does not convert resources between FHIR versions"
    )
    assert [f.code for f in conversion.findings] == ["LU"]  # flagged all the same


@pytest.mark.parametrize(
    ("r5", "element"),
    [
        ({"status": "modified"}, "Bundle.entry[0].resource.status"),
        ({"contained": [{"resourceType": "Specimen", "id": "s", "role": [_PATIENT_ROLE]}]},
         "Bundle.entry[0].resource.contained[0].role"),
    ],
)  # fmt: skip
def test_r5_codes_and_contained_r5_elements_say_the_item_is_r5(
    r5: dict[str, Any], element: str
) -> None:
    conversion = leukoflag.convert(json.dumps(_r5_report(**r5)))
    (kept,) = [i for i in conversion.issues if i.code == "fhir.version-kept"]
    assert f"(ITEM[1]/{element} is R5's only)" in kept.text


def test_r5_input_asked_for_in_r5_and_r4_input_say_nothing_of_versions() -> None:
    r5 = leukoflag.convert(json.dumps(_r5_report(**_R5_NOTE)), settings=Settings(fhir_version="R5"))
    r4 = leukoflag.convert(json.dumps(_r5_report()))
    assert [i for i in (*r5.issues, *r4.issues) if i.code == "fhir.version-kept"] == []


@pytest.mark.parametrize(
    ("asked", "other", "said"),
    [
        # leukoflag's own R5 Bundle (the visit in Encounter.actualPeriod), fed to an R4 feed
        ("R5", "R4", "is FHIR R5 (ITEM[1]/Bundle.entry[1].resource.actualPeriod is R5's only)"),
        # its own R4 Bundle (the visit in Encounter.period), fed to an R5 feed
        ("R4", "R5", "is FHIR R4 or R4B (ITEM[1]/Bundle.entry[1].resource.period is not in R5)"),
    ],
)
def test_a_bundle_of_one_version_converted_in_the_other_says_so(
    asked: Literal["R4", "R5"], other: Literal["R4", "R5"], said: str
) -> None:
    written = leukoflag.convert(VERSION_DIFFERENCES, settings=Settings(fhir_version=asked))
    sent = leukoflag.fhir.dumps(written.bundles[0])
    conversion = leukoflag.convert(sent, settings=Settings(fhir_version=other))
    encounter = written.bundles[0]["entry"][1]["resource"]
    assert conversion.bundles[0]["entry"][1]["resource"] == encounter  # not converted
    (kept,) = [i for i in conversion.issues if i.code == "fhir.version-kept"]
    assert (str(kept.severity), kept.location) == ("warning", "ITEM[1]")
    assert said in kept.text
    assert kept.text.endswith(
        f"not in {other} (Settings.fhir_version): leukoflag does not convert resources "
        "between FHIR versions"
    )


@pytest.mark.parametrize(
    ("r4", "element"),
    [
        ({"imagingStudy": [{"reference": "ImagingStudy/us-spleen-0713"}]}, "imagingStudy"),
        (
            {"contained": [{"resourceType": "Specimen", "id": "s", "container": [
                {"type": {"text": "Lavender-top EDTA tube"}}]}]},
            "contained[0].container[0].type",
        ),
    ],
)  # fmt: skip
def test_r4_elements_say_the_item_is_r4_when_r5_is_asked_for(
    r4: dict[str, Any], element: str
) -> None:
    sent = json.dumps(_r5_report(**r4))
    r5 = leukoflag.convert(sent, settings=Settings(fhir_version="R5"))
    (kept,) = [i for i in r5.issues if i.code == "fhir.version-kept"]
    assert f"(ITEM[1]/Bundle.entry[0].resource.{element} is not in R5)" in kept.text
    r4_asked = leukoflag.convert(sent)
    assert [i for i in r4_asked.issues if i.code == "fhir.version-kept"] == []


@pytest.mark.parametrize(
    ("encounter", "version", "element"),
    [
        # the shapes of one element R5 changed: Encounter.class a list of CodeableConcept in R5, a
        # Coding in R4; Encounter.participant's actor in R5, individual in R4
        ({"class": [{"coding": [{"code": "IMP"}]}]}, "R4", "class[0].coding is R5's only"),
        ({"class": {"code": "IMP"}}, "R5", "class.code is not in R5"),
        ({"participant": [{"actor": {"reference": "Practitioner/p1"}}]}, "R4",
         "participant[0].actor is R5's only"),
    ],
)  # fmt: skip
def test_an_element_shaped_as_the_other_version_says_the_item_is_of_that_version(
    encounter: dict[str, Any], version: Literal["R4", "R5"], element: str
) -> None:
    contained = {"resourceType": "Encounter", "id": "e", "status": "in-progress", **encounter}
    sent = json.dumps(_r5_report(contained=[contained]))
    conversion = leukoflag.convert(sent, settings=Settings(fhir_version=version))
    (kept,) = [i for i in conversion.issues if i.code == "fhir.version-kept"]
    assert f"(ITEM[1]/Bundle.entry[0].resource.contained[0].{element})" in kept.text


def _r4_order(**r4: Any) -> dict[str, Any]:
    """A collection Bundle of a CBC report on a WBC of 2,100 cells/µL, its ServiceRequest and
    Specimen with ``r4`` set on them (``request`` and ``specimen``: elements to set)."""
    bundle = _r5_report(basedOn=[{"reference": "ServiceRequest/sr-0714"}])
    request = {
        "resourceType": "ServiceRequest",
        "id": "sr-0714",
        "status": "completed",
        "intent": "order",
        "subject": {"reference": "Patient/pt-0713"},
        **r4.get("request", {}),
    }
    specimen = {"resourceType": "Specimen", "id": "spec-0714", **r4.get("specimen", {})}
    bundle["entry"].extend(
        {"fullUrl": f"https://lab.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
        for r in (request, specimen)
    )
    return bundle


_CBC = {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]}
_ARM = {"coding": [{"system": "http://snomed.info/sct", "code": "368208006"}]}


@pytest.mark.parametrize(
    ("r4", "said"),
    [
        ({"request": {"code": _CBC}},
         "ITEM[1]/Bundle.entry[2].resource.code.coding is not in R5"),
        ({"request": {"reasonCode": [{"text": "Chemotherapy monitoring"}]}},
         "ITEM[1]/Bundle.entry[2].resource.reasonCode is not in R5"),
        ({"specimen": {"collection": {"bodySite": _ARM}}},
         "ITEM[1]/Bundle.entry[3].resource.collection.bodySite.coding is not in R5"),
        ({"specimen": {"container": [{"type": {"text": "Lavender top tube"}}]}},
         "ITEM[1]/Bundle.entry[3].resource.container[0].type is not in R5"),
    ],
)  # fmt: skip
def test_r4_input_written_in_r4_when_r5_is_asked_for_says_so_at_the_item(
    r4: dict[str, Any], said: str
) -> None:
    # an engine asking for R5 got its R4 input back as R4 without a word, though the reverse
    # (R5 input, R4 asked for) is fhir.version-kept: an R4 ServiceRequest.code or Specimen
    # bodySite, a CodeableConcept where R5 has a CodeableReference, tells the version as well
    r5 = Settings(fhir_version="R5")
    conversion = leukoflag.convert(json.dumps(_r4_order(**r4)), settings=r5)
    (bundle,) = conversion.bundles
    written = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    request, specimen = r4.get("request", {}), r4.get("specimen", {})
    assert {k: written["ServiceRequest"][k] for k in request} == request  # not up-converted
    assert {k: written["Specimen"][k] for k in specimen} == specimen
    (kept,) = [i for i in conversion.issues if i.code == "fhir.version-kept"]
    assert (str(kept.severity), kept.location) == ("warning", "ITEM[1]")
    assert kept.text == (
        f"the item is FHIR R4 or R4B ({said}): it is flagged in place and written in its own "
        "version, not in R5 (Settings.fhir_version): leukoflag does not convert resources "
        "between FHIR versions"
    )
    assert [f.code for f in conversion.findings] == ["LU"]  # flagged all the same


def test_r4_input_asked_for_in_r4_and_r5_forms_asked_for_in_r5_say_nothing_of_versions() -> None:
    r4 = _r4_order(request={"code": _CBC}, specimen={"collection": {"bodySite": _ARM}})
    r5 = _r4_order(
        request={"code": {"concept": _CBC}},
        specimen={"collection": {"bodySite": {"concept": _ARM}}},
    )
    quiet = [
        leukoflag.convert(json.dumps(r4)),
        leukoflag.convert(json.dumps(r5), settings=Settings(fhir_version="R5")),
    ]
    assert [i for c in quiet for i in c.issues if i.code == "fhir.version-kept"] == []


_CBC_ORDER = (
    "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261124091047-0500||ORU^R01^ORU_R01|NG24-000117|"
    "P|2.5.1\r"
    "PID|1||MRN100871^^^NORTHGATE^MR||OKAFOR^DANIEL^C||19610719|M\r"
    "ORC|RE|ORD55377^EHR|LAB88164^CORELAB||CM\r"
    "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    "20261124080500-0500|||||||||5820^VARGA^ILONA^^^^MD||||||20261124090500-0500|||F\r"
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261124080500-0500\r"
)


def test_an_r5_bundle_leukoflag_wrote_flagged_again_as_r4_says_it_stays_r5() -> None:
    # its ServiceRequest.code is a CodeableReference ({"concept": …}), R5's form, and it has no
    # note or specimen role: flagged again with the default (R4), it came back R5 unsaid (and
    # Settings(strict=True) rejected it as invalid R4)
    (r5,) = leukoflag.convert(_CBC_ORDER, Settings(fhir_version="R5")).bundles
    assert r5["entry"][1]["resource"]["code"].keys() == {"concept"}
    again = leukoflag.convert(fhir.dumps(r5))
    assert again.bundles == [r5]  # flagged in place as it was: nothing converted
    (kept,) = [i for i in again.issues if i.code == "fhir.version-kept"]
    assert (kept.location, kept.text.split(": it is")[0]) == (
        "ITEM[1]",
        "the item is FHIR R5 (ITEM[1]/Bundle.entry[1].resource.code.concept is R5's only)",
    )
    (r4,) = leukoflag.convert(_CBC_ORDER).bundles
    as_r4 = leukoflag.convert(fhir.dumps(r4))
    assert [i for i in as_r4.issues if i.code == "fhir.version-kept"] == []


# an outpatient CBC with a visit (PV1) and no order (no ORC, no placer number): no ServiceRequest
_VISIT_CBC = (
    "MSH|^~\\&|CORELAB|NORTHGATE|EHR|NORTHGATE|20261124091047-0500||ORU^R01^ORU_R01|NG24-000118|"
    "P|2.5.1\r"
    "PID|1||MRN100872^^^NORTHGATE^MR||NOWAK^EWA||19720409|F\r"
    "PV1|1|O|ONCCLINIC^^^NORTHGATE||||5820^VARGA^ILONA^^^^MD\r"
    "OBR|1||LAB88165^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    "20261124080500-0500||||||||||||||20261124090500-0500|||F\r"
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261124080500-0500\r"
)


@pytest.mark.parametrize(
    ("written", "asked", "said"),
    [
        ("R4", "R5", ("the item is FHIR R4 or R4B (ITEM[1]/Bundle.entry[1].resource.class"
                      ".code is not in R5)")),
        ("R5", "R4", ("the item is FHIR R5 (ITEM[1]/Bundle.entry[1].resource.class[0].coding "
                      "is R5's only)")),
    ],
)  # fmt: skip
def test_a_bundle_leukoflag_wrote_flagged_again_in_the_other_version_says_so_by_its_encounter(
    written: Literal["R4", "R5"], asked: Literal["R4", "R5"], said: str
) -> None:
    # without an order (no ServiceRequest), a note or a specimen role, only the Encounter told
    # the version, and it was not looked at: the Bundle came back in its version unsaid
    (bundle,) = leukoflag.convert(_VISIT_CBC, Settings(fhir_version=written)).bundles
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Patient", "Encounter", "DiagnosticReport", "Observation", "Provenance"
    ]  # fmt: skip
    again = leukoflag.convert(fhir.dumps(bundle), Settings(fhir_version=asked))
    assert again.bundles == [bundle]
    (kept,) = [i for i in again.issues if i.code == "fhir.version-kept"]
    assert (kept.location, kept.text.split(": it is")[0]) == ("ITEM[1]", said)
    same = leukoflag.convert(fhir.dumps(bundle), Settings(fhir_version=written))
    assert [i for i in same.issues if i.code == "fhir.version-kept"] == []


@pytest.mark.parametrize(
    ("status", "version", "said"),
    [
        # a stub Encounter (no class, R5 makes it optional; no period) tells its version by its
        # status alone: R5's codes on-hold, discharged, completed, discontinued are not R4's, R4's
        # arrived, triaged, onleave, finished not R5's (hl7.org/fhir/R4 and R5 encounter-status)
        ("completed", "R4", "status is R5's only"),
        ("discharged", "R4", "status is R5's only"),
        ("finished", "R5", "status is not in R5"),
        ("onleave", "R5", "status is not in R5"),
    ],
)  # fmt: skip
def test_an_encounter_status_of_one_version_says_the_item_is_of_that_version(
    status: str, version: Literal["R4", "R5"], said: str
) -> None:
    visit = {"resourceType": "Encounter", "id": "visit-0713", "status": status,
             "subject": {"reference": "Patient/pt-0713"}}  # fmt: skip
    sent = _r5_report(encounter={"reference": "Encounter/visit-0713"})
    sent["entry"].append(
        {"fullUrl": "https://lab.example.org/fhir/Encounter/visit-0713", "resource": visit}
    )
    conversion = leukoflag.convert(json.dumps(sent), settings=Settings(fhir_version=version))
    (bundle,) = conversion.bundles
    assert bundle["entry"][2]["resource"]["status"] == status  # kept in its own version
    (kept,) = [i for i in conversion.issues if i.code == "fhir.version-kept"]
    assert f"(ITEM[1]/Bundle.entry[2].resource.{said})" in kept.text
    other: Literal["R4", "R5"] = "R5" if version == "R4" else "R4"
    same = leukoflag.convert(json.dumps(sent), settings=Settings(fhir_version=other))
    assert [i for i in same.issues if i.code == "fhir.version-kept"] == []
    assert [f.code for f in conversion.findings] == ["LU"]
