"""The serialized output, byte for byte: writer and serializer changes must not move one byte.

Each case is compared with a file in ``tests/fhir/golden/``: the exact ``fhir.dumps`` bytes, one
NDJSON line per Bundle, then one line with the Issues. The end-to-end cases run the whole
pipeline (reader, units, flagging, writer); the writer cases build the model objects directly, so
they pin the writer alone and cover what the messages do not (every value type, odd decimals,
specimens, a derived ANC, R5).

A change that is meant to alter the output regenerates the files with
``LEUKOFLAG_UPDATE_GOLDEN=1 .venv/bin/pytest tests/fhir/test_fhir_golden.py`` and shows the
difference in its commit.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir_builders import (
    ADULT,
    ANC,
    HGB,
    MSG,
    NEUT_PCT,
    PER_UL,
    UCUM,
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
    VERSION_DIFFERENCES,
    batch,
    benchmark_cbc,
)

import leukoflag
from leukoflag import fhir
from leukoflag._version import __version__
from leukoflag.model import (
    Analyte,
    CodedResult,
    Coding,
    Concept,
    Evaluation,
    Identifier,
    Issue,
    NormalizedQuantity,
    NormalizedRange,
    NoValue,
    Number,
    NumberRange,
    Patient,
    Ratio,
    ReferenceRange,
    ResultStatus,
    Specimen,
    Text,
    Timestamp,
    Unit,
    Visit,
)
from leukoflag.settings import Settings
from leukoflag.testing import oru_message, wbc
from leukoflag.testing.conversion import input_bytes

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LEUKOFLAG_UPDATE_GOLDEN") == "1"


def _converted(data: bytes, **settings: Any) -> bytes:
    conversion = leukoflag.convert(data, Settings(**settings))
    assert conversion.rejected == []
    return _lines(conversion.bundles, conversion.issues)


def _lines(
    bundles: Iterable[dict[str, Any]], issues: Iterable[Issue], *, pretty: bool = False
) -> bytes:
    """The Bundles as NDJSON, then one line with the Issues (which must not move either)."""
    written = b"".join(fhir.dumps(bundle, pretty=pretty, newline=True) for bundle in bundles)
    return written + orjson.dumps([list(dataclasses.astuple(i)) for i in issues]) + b"\n"


def _written(*outputs: tuple[dict[str, Any], tuple[Issue, ...]], pretty: bool = False) -> bytes:
    return _lines(
        [bundle for bundle, _ in outputs],
        [issue for _, issues in outputs for issue in issues],
        pretty=pretty,
    )


# --------------------------------------------------------------------------- writer-only cases

_UNIT_G_DL = Unit("g/dL", "g/dL", UCUM)
_LOCAL_UNIT = Unit("x10^3/mm3", "K/MM3", "99LAB")
_STAMP = ts("2026-11-24T07:50:00-05:00")


def _every_value_type() -> bytes:
    """One order with every value type, odd decimals, specimens with OBX after SPM and OBR-15."""
    results = (
        obx(
            1,
            Number(Decimal("2.40"), "2.40"),
            reference=lab_range("4.0-11.0", "4.0", "11.0"),
            flags=("L",),
            sub_id="1",
            analysis_time=ts("2026-11-24T08:10:00-05:00"),
            method=Concept((Coding("AUTO", "Automated count", "", "99LAB"),)),
            device="XN-1000 #4411",
            performers=("Riverside Core Lab",),
            notes=("Repeated on a second analyzer.", "Smear reviewed."),
        ),
        obx(2, "<0.5", code=ANC, reference=lab_range("1.8-7.7", "1.8", "7.7"), flags=("LL",)),
        obx(
            3,
            Number(Decimal("12.0"), "12.0 g/dL after dilution", comment="after dilution"),
            code=HGB,
            unit=_UNIT_G_DL,
            reference=lab_range("12.0-16.0 g/dL", "12.0", "16.0", _UNIT_G_DL),
            category=Concept((Coding("laboratory", "", "", ""),), text="lab"),
        ),
        obx(4, NumberRange(Decimal("1.0"), Decimal("2.0E+1"), "1.0-20"), code=HGB, unit=None),
        obx(5, Ratio(Decimal(1), Decimal("1.28E+2"), "1:128"), code=HGB, unit=None),
        obx(6, Text("see comment"), code=HGB, unit=None, effective=_STAMP),
        obx(
            7,
            CodedResult(Concept((Coding("260385009", "Negative", "http://snomed.info/sct"),))),
            code=HGB,
            unit=None,
        ),
        obx(8, NoValue("masked", "***.**"), code=HGB, unit=None),
        obx(9, NoValue("empty"), code=HGB, status=ResultStatus.CANCELLED),
        obx(
            10,
            Number(Decimal("-0"), "-0"),
            code=Concept(text="Odd number"),
            unit=_LOCAL_UNIT,
            reference=ReferenceRange("0.000-10", Decimal("0E-3"), Decimal("1E+1")),
            flags=("ZZ",),
        ),
        obx(11, Number(Decimal("0.00041"), "0.00041"), code=HGB, unit=_LOCAL_UNIT),
        obx(12, Number(Decimal("NaN"), "NaN"), code=HGB, unit=None),
        obx(
            13,
            "41",
            code=NEUT_PCT,
            unit=Unit("%", "%", UCUM),
            reference=lab_range("40-75", "40", "75"),
        ),
        obx(
            14,
            "3.20",
            specimen=f"{MSG}/SPM[2]",
            effective=Timestamp("2026112", "2026-11-2x", _STAMP.day),
        ),
    )
    order = obr(
        *results,
        specimens=(
            spm(1, collected=_STAMP, received=ts("2026-11-24T08:05:00-05:00")),
            spm(
                2,
                "QC",
                "Control material",
                role=Concept((Coding("Q", "Control specimen", "", "HL70369"),)),
                source_site=Concept((Coding("LA", "Left arm", "", "HL70163"),)),
                notes=("Level 2 control.",),
                is_control=True,
            ),
        ),
        specimen_source=Concept((Coding("BLD", "Whole blood", "", "HL70070"),)),
        notes=("Sample slightly hemolyzed.",),
        effective_end=ts("2026-11-24T07:55:00-05:00"),
    )
    evaluations = (
        judged(
            results[0].location,
            "2.40E+3",
            "L",
            reference=NormalizedRange(
                Decimal("4.0E+3"), Decimal("1.10E+4"), "lab", text="4.0-11.0"
            ),
            grade=2,
        ),
        judged(
            results[1].location,
            "5E+2",
            "LL",
            analyte=Analyte.ANC,
            comparator="<",
            rule="anc-neutropenia-severe",
            threshold="500",
            severity="severe",
            grade=4,
        ),
        judged(
            results[13].location,
            "3200",
            "L",
            loinc_added=Coding("26464-8", "Leukocytes [#/volume] in Blood", "http://loinc.org"),
        ),
        Evaluation(
            location=f"{MSG}/OBR[1]/ANC[derived]",
            analyte=Analyte.ANC,
            loinc=Coding("26499-4", "Neutrophils [#/volume] in Blood", "http://loinc.org"),
            quantity=NormalizedQuantity(Decimal("984.00")),
            reference_range=NormalizedRange(
                Decimal("1800"), Decimal("7700"), "age-band", citation="Pediatric bands"
            ),
            derived_from=(results[0].location, results[12].location),
        ),
        Evaluation(location=f"{MSG}/OBX[99]", analyte=Analyte.WBC),
    )
    second = obr(
        obx(15, "7.1", order=2),
        n=2,
        placer_id=None,
        order_control="",
        ordering_provider="",
        group_id=Identifier("GRP-1"),
        issued=Timestamp("20261124", "2026-11-24", _STAMP.day),
    )
    msg = message(order, second)
    return _written(
        write(msg, evaluations),
        write(msg, evaluations, fhir_version="R5", bundle_type="collection"),
    )


def _odd_patient_without_control_id() -> bytes:
    """No MSH-10 (ids from content), a birth time, an unknown sex and patient class, no PID in a
    second group (no ServiceRequest), and an order without OBR-4."""
    patient = Patient(
        location=f"{MSG}/PID[1]",
        identifiers=(
            Identifier("RVS-77", "RVS", "MR"),
            Identifier("", "urn:oid:1.2.3"),
            Identifier("123-45-6789", "http://hl7.org/fhir/sid/us-ssn", "SS", "SSA"),
        ),
        given=("Ana",),
        birth_date=ts("2025-06-18T04:12:00+01:00"),
        sex="X",
        sex_text="X",
        notes=("Twin B",),
    )
    visit = Visit(location=f"{MSG}/PV1[1]", patient_class="Z")
    first = message(
        obr(obx(1, "5.2", code=Concept((Coding("WCC", "White cells", "", "L"),)), unit=PER_UL)),
        patient=patient,
        visit=visit,
        control_id="",
        timestamp=Timestamp("202611", "2026-11", _STAMP.day),
    )
    orphan = message(
        obr(obx(1, "6.0"), code=Concept(), specimens=(Specimen(f"{MSG}/SPM[1]"),)),
        patient=None,
        visit=None,
        sending_facility="",
        message_type="",
    )
    plain = message(obr(obx(1, "6.0")), patient=ADULT, visit=VISIT, charset="UNICODE UTF-8")
    return _written(write(first), write(orphan), write(plain))


def _pretty() -> bytes:
    written = write(message(obr(obx(1, "3.2"))), (judged(f"{MSG}/OBX[1]", "3.2E+3", "L"),))
    return _written(written, pretty=True)


CASES: dict[str, Callable[[], bytes]] = {
    "benchmark-cbc": lambda: _converted(benchmark_cbc()),
    "benchmark-cbc-r5-collection": lambda: _converted(
        benchmark_cbc(), fhir_version="R5", bundle_type="collection"
    ),
    "version-differences-r5": lambda: _converted(VERSION_DIFFERENCES, fhir_version="R5"),
    "oncology-cbc": lambda: _converted(ONCOLOGY_CBC),
    "pediatric-local-codes": lambda: _converted(PEDIATRIC_LOCAL_CODES),
    "statuses-batch": lambda: _converted(batch(STATUSES, DERIVED_ANC)),
    "obr15-specimen-v2.4": lambda: _converted(
        input_bytes(oru_message(version="2.4", results=[wbc(3.2)]))
    ),
    "writer-every-value-type": _every_value_type,
    "writer-odd-messages": _odd_patient_without_control_id,
    "writer-pretty": _pretty,
}


# The Provenance names the leukoflag version: the files hold a placeholder, so a release does
# not touch them.
_ASSEMBLER = f"leukoflag {__version__}".encode()
_ASSEMBLER_PLACEHOLDER = b"leukoflag <version>"


@pytest.mark.parametrize("name", list(CASES))
def test_serialized_output_is_byte_identical_to_the_golden_file(name: str) -> None:
    produced = CASES[name]().replace(_ASSEMBLER, _ASSEMBLER_PLACEHOLDER)
    path = GOLDEN / f"{name}.ndjson"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(produced)
    expected = path.read_bytes()
    assert produced == expected, f"{name}: output differs from {path.name}"


def test_golden_files_hold_decimals_in_plain_notation() -> None:
    written = (GOLDEN / "writer-every-value-type.ndjson").read_bytes()
    assert b'"value":2400' in written
    assert b'"value":2.40' in written
    assert b'"value":0.00041' in written
    assert b'"value":-0' in written
    assert b'"value":0.000' in written
    assert b'"value":984.00' in written
    assert b"E+" not in written
