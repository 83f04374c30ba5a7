"""The CBC with differential of the speed benchmarks: its 20 LOINC results, and the values two
labs send for them (Riverside's in ``bench_hl7v2``, Lakeside's in ``bench_fhir``)."""

from __future__ import annotations

from typing import NamedTuple


class Analyte(NamedTuple):
    """One OBX of the CBC: LOINC code, display and UCUM unit, then each lab's value, reference
    range and OBX-8 flag."""

    code: str
    name: str
    unit: str
    riverside: tuple[str, str, str]
    lakeside: tuple[str, str, str]


ANALYTES = (
    Analyte(
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("3.8", "4.0-11.0", "L"),
        ("3.2", "4.0-11.0", "L"),
    ),
    Analyte(
        "789-8",
        "Erythrocytes [#/volume] in Blood by Automated count",
        "10*6/uL",
        ("4.62", "4.50-5.90", "N"),
        ("3.91", "4.20-5.40", "L"),
    ),
    Analyte(
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        "g/dL",
        ("13.9", "13.5-17.5", "N"),
        ("11.6", "12.0-16.0", "L"),
    ),
    Analyte(
        "4544-3",
        "Hematocrit [Volume Fraction] of Blood by Automated count",
        "%",
        ("41.2", "41.0-53.0", "N"),
        ("35.0", "36.0-46.0", "L"),
    ),
    Analyte(
        "787-2",
        "MCV [Entitic volume] by Automated count",
        "fL",
        ("89.2", "80.0-100.0", "N"),
        ("89.5", "80.0-100.0", "N"),
    ),
    Analyte(
        "785-6",
        "MCH [Entitic mass] by Automated count",
        "pg",
        ("30.1", "26.0-34.0", "N"),
        ("29.7", "26.0-34.0", "N"),
    ),
    Analyte(
        "786-4",
        "MCHC [Mass/volume] by Automated count",
        "g/dL",
        ("33.7", "31.0-37.0", "N"),
        ("33.1", "31.0-37.0", "N"),
    ),
    Analyte(
        "788-0",
        "Erythrocyte distribution width [Ratio] by Automated count",
        "%",
        ("13.1", "11.5-14.5", "N"),
        ("14.9", "11.5-14.5", "H"),
    ),
    Analyte(
        "777-3",
        "Platelets [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("212", "150-400", "N"),
        ("141", "150-400", "L"),
    ),
    Analyte(
        "32623-1",
        "Platelet mean volume [Entitic volume] in Blood by Automated count",
        "fL",
        ("10.4", "7.5-11.5", "N"),
        ("10.9", "7.5-11.5", "N"),
    ),
    Analyte(
        "770-8",
        "Neutrophils/100 leukocytes in Blood by Automated count",
        "%",
        ("41.5", "40.0-75.0", "N"),
        ("36.2", "40.0-75.0", "L"),
    ),
    Analyte(
        "736-9",
        "Lymphocytes/100 leukocytes in Blood by Automated count",
        "%",
        ("44.0", "20.0-45.0", "N"),
        ("48.1", "20.0-45.0", "H"),
    ),
    Analyte(
        "5905-5",
        "Monocytes/100 leukocytes in Blood by Automated count",
        "%",
        ("9.8", "2.0-10.0", "N"),
        ("11.0", "2.0-10.0", "H"),
    ),
    Analyte(
        "713-8",
        "Eosinophils/100 leukocytes in Blood by Automated count",
        "%",
        ("4.1", "0.0-6.0", "N"),
        ("3.9", "0.0-6.0", "N"),
    ),
    Analyte(
        "706-2",
        "Basophils/100 leukocytes in Blood by Automated count",
        "%",
        ("0.6", "0.0-2.0", "N"),
        ("0.8", "0.0-2.0", "N"),
    ),
    Analyte(
        "751-8",
        "Neutrophils [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("1.58", "1.80-7.70", "L"),
        ("1.16", "1.80-7.70", "L"),
    ),
    Analyte(
        "731-0",
        "Lymphocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("1.67", "1.00-4.80", "N"),
        ("1.54", "1.00-4.80", "N"),
    ),
    Analyte(
        "742-7",
        "Monocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("0.37", "0.20-1.00", "N"),
        ("0.35", "0.20-1.00", "N"),
    ),
    Analyte(
        "711-2",
        "Eosinophils [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("0.16", "0.00-0.50", "N"),
        ("0.12", "0.00-0.50", "N"),
    ),
    Analyte(
        "704-7",
        "Basophils [#/volume] in Blood by Automated count",
        "10*3/uL",
        ("0.02", "0.00-0.20", "N"),
        ("0.03", "0.00-0.20", "N"),
    ),
)

# Lakeside's display of the mean platelet volume leaves out LOINC's "by Automated count"
_LAKESIDE_NAMES = {"32623-1": "Platelet mean volume [Entitic volume] in Blood"}

Result = tuple[str, str, str, str, str, str]


def riverside_results() -> tuple[Result, ...]:
    """(code, display, value, unit, reference range, flag) of each OBX of Riverside's CBC."""
    return tuple((a.code, a.name, a.riverside[0], a.unit, *a.riverside[1:]) for a in ANALYTES)


def lakeside_results() -> tuple[Result, ...]:
    """The same for Lakeside's CBC, with its own displays."""
    return tuple(
        (a.code, _LAKESIDE_NAMES.get(a.code, a.name), a.lakeside[0], a.unit, *a.lakeside[1:])
        for a in ANALYTES
    )


def obx(set_id: int, result: Result, taken: str, done: str) -> str:
    """An NM OBX of ``result`` (a final count), observed at ``taken`` and analysed at ``done``."""
    code, name, value, unit, reference, flag = result
    return (
        f"OBX|{set_id}|NM|{code}^{name}^LN||{value}|{unit}^^UCUM|{reference}|{flag}|||F|||"
        f"{taken}|||||{done}"
    )
