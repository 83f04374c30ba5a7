"""The FHIR step's code tables (``data/*.csv``, ``data/*.toml``), read once per process.

Nothing here is built at import: each loader is ``functools.cache``d and runs on first use.
"""

from __future__ import annotations

import csv
import functools
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from leukoflag.errors import DataFileError
from leukoflag.model import Coding

__all__ = [
    "DAR",
    "EFFECTIVE",
    "LEGACY_INTERPRETATION",
    "LEGACY_V2_0078",
    "LOINC",
    "SNOMED",
    "UCUM",
    "UCUM_OID",
    "V2_0078",
    "V2_0203",
    "V3_INTERPRETATION",
    "VALUE_ELEMENTS",
    "Binding",
    "Tables",
    "bindings",
    "resource_types",
    "tables",
]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
UCUM_OID = "urn:oid:2.16.840.1.113883.6.8"  # as some senders name UCUM: read, never written
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V2_0078 = "http://terminology.hl7.org/CodeSystem/v2-0078"
LEGACY_V2_0078 = "http://hl7.org/fhir/v2/0078"  # DSTU2/STU3 URI: read, never written
# Other names senders give the interpretation code systems (read, never written): what each is,
# and the system its codes are written back in
LEGACY_INTERPRETATION = {
    LEGACY_V2_0078: ("the legacy system", V2_0078),
    "http://hl7.org/fhir/v3/ObservationInterpretation": ("the legacy system", V3_INTERPRETATION),
    "urn:oid:2.16.840.1.113883.12.78": ("the OID", V2_0078),
    "urn:oid:2.16.840.1.113883.5.83": ("the OID", V3_INTERPRETATION),
    "http://hl7.org/fhir/ValueSet/observation-interpretation": (
        "the value set URL",
        V3_INTERPRETATION,
    ),
}
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
DAR = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# Observation.effective[x] choices of R4, R4B and R5 (a DiagnosticReport's are of them)
EFFECTIVE = ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "effectiveTiming")
# Observation.value[x] (and component.value[x]) choices of R4, R4B and R5, in FHIR's order.
VALUE_ELEMENTS = (
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
    "valueAttachment",
    "valueReference",
)


@dataclass(frozen=True, slots=True)
class Tables:
    """The code tables, each keyed by the code it translates."""

    interpretation: Mapping[str, Coding]  # table 0078 / v3 code → the coding to write
    deprecated_interpretation: Mapping[str, Coding]  # legacy L< / H> → the v3 code replacing it
    encounter_class: Mapping[str, Coding]  # table 0004 → Encounter.class
    data_absent_reason: Mapping[str, str]  # code → display
    control_roles: frozenset[str]  # table 0369 codes of control/calibrator material
    control_type_codes: frozenset[str]  # Specimen.type codes of control material, upper-cased
    control_type_words: frozenset[str]  # words of a Specimen.type text naming it, lower-cased
    identifier_type: Mapping[str, str]  # table 0203 code → display
    range_sex: Mapping[tuple[str, str], str]  # appliesTo (system, code) → male / female
    age_units: Mapping[str, str]  # referenceRange.age UCUM code → year, month, week, day, hour
    service_section: Mapping[str, str]  # table 0074 code (OBR-24) → display
    system_oids: Mapping[str, str]  # a code system's urn:oid: → its FHIR URI


@dataclass(frozen=True, slots=True)
class Binding:
    """A required binding: ``path`` of ``resource`` takes only ``codes`` in ``version``."""

    resource: str
    path: tuple[str, ...]
    codes: frozenset[str]
    source: str


def _text(name: str) -> str:
    return resources.files("leukoflag.fhir").joinpath("data", name).read_text(encoding="utf-8")


def _rows(name: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(_text(name))))
    for number, row in enumerate(rows, start=2):
        if any(
            value is None or not value.strip() for key, value in row.items() if key != "display"
        ):
            raise DataFileError(f"{name}:{number}: every column needs a value: {row}")
    return rows


def _toml(name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(name))
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{name}: {exc}") from exc


def _table(data: dict[str, Any], name: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    rows = data.get(name)
    if not isinstance(rows, list) or not rows:
        raise DataFileError(f"tables.toml: [[{name}]] is missing")
    for row in rows:
        missing = [f for f in (*fields, "source") if not str(row.get(f, "")).strip()]
        if missing:
            raise DataFileError(f"tables.toml: [[{name}]] {row} lacks {', '.join(missing)}")
    return rows


@functools.cache
def tables() -> Tables:
    """The packaged code tables (``data/interpretation.csv``, ``data/tables.toml``)."""
    interpretation: dict[str, Coding] = {}
    for row in _rows("interpretation.csv"):
        if row["v3"] not in ("yes", "no"):
            raise DataFileError(f"interpretation.csv: v3 must be yes or no: {row}")
        system = V3_INTERPRETATION if row["v3"] == "yes" else V2_0078
        interpretation[row["code"]] = Coding(row["code"], row["display"], system)
    data = _toml("tables.toml")
    deprecated: dict[str, Coding] = {}
    for row in _table(data, "interpretation_deprecated", ("code", "current")):
        current = interpretation.get(row["current"])
        if current is None or current.system != V3_INTERPRETATION:
            raise DataFileError(f"tables.toml: [[interpretation_deprecated]] {row}: no v3 code")
        deprecated[row["code"]] = current
    classes = {
        row["v2"]: Coding(row["code"], row["display"], row["system"])
        for row in _table(data, "encounter_class", ("v2", "system", "code", "display"))
    }
    absent = {
        row["code"]: row["display"]
        for row in _table(data, "data_absent_reason", ("code", "display"))
    }
    roles = frozenset(row["code"] for row in _table(data, "control_role", ("code", "display")))
    control_types = _table(data, "control_specimen_type", ("code", "kind"))
    if not {row["kind"] for row in control_types} <= {"code", "word"}:
        raise DataFileError("tables.toml: [[control_specimen_type]] kind must be code or word")
    types = {
        row["code"]: row["display"] for row in _table(data, "identifier_type", ("code", "display"))
    }
    sexes = {
        (row["system"], row["code"]): row["sex"]
        for row in _table(data, "range_sex", ("system", "code", "sex"))
    }
    if not set(sexes.values()) <= {"male", "female"}:
        raise DataFileError(f"tables.toml: [[range_sex]] sex must be male or female: {sexes}")
    ages = {row["code"]: row["unit"] for row in _table(data, "age_unit", ("code", "unit"))}
    if not set(ages.values()) <= {"year", "month", "week", "day", "hour"}:
        raise DataFileError(
            f"tables.toml: [[age_unit]] unit must be year/month/week/day/hour: {ages}"
        )
    return Tables(
        interpretation=MappingProxyType(interpretation),
        deprecated_interpretation=MappingProxyType(deprecated),
        encounter_class=MappingProxyType(classes),
        data_absent_reason=MappingProxyType(absent),
        control_roles=roles,
        control_type_codes=frozenset(
            r["code"].upper() for r in control_types if r["kind"] == "code"
        ),
        control_type_words=frozenset(
            r["code"].lower() for r in control_types if r["kind"] == "word"
        ),
        identifier_type=MappingProxyType(types),
        range_sex=MappingProxyType(sexes),
        age_units=MappingProxyType(ages),
        service_section=MappingProxyType(
            {
                row["code"]: row["display"]
                for row in _table(data, "service_section", ("code", "display"))
            }
        ),
        system_oids=MappingProxyType(
            {row["oid"]: row["system"] for row in _table(data, "system_oid", ("oid", "system"))}
        ),
    )


@functools.cache
def resource_types() -> frozenset[str]:
    """Every resource type name of FHIR R4, R4B and R5 (``data/resource_types.csv``)."""
    return frozenset(row["name"] for row in _rows("resource_types.csv"))


@functools.cache
def bindings(version: str) -> tuple[Binding, ...]:
    """The required bindings checked for ``version`` (``R4`` or ``R5``)."""
    found: list[Binding] = []
    for row in _toml("bindings.toml").get("binding", []):
        if not all(row.get(f) for f in ("resource", "path", "versions", "codes", "source")):
            raise DataFileError(f"bindings.toml: incomplete binding {row}")
        if version in row["versions"]:
            path = tuple(str(row["path"]).split("."))
            found.append(Binding(row["resource"], path, frozenset(row["codes"]), row["source"]))
    return tuple(found)
