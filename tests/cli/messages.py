"""HL7 v2 and FHIR inputs written for the command-line tests."""

from __future__ import annotations

import errno
import io
import json
from pathlib import Path
from typing import Any

MLLP_START = b"\x0b"
MLLP_END = b"\x1c\r"


def oru(
    control_id: str,
    *,
    mrn: str = "MRN200101",
    birth: str = "19750604",
    sex: str = "F",
    wbc: str = "6.8",
    wbc_unit: str = "10*3/uL^^UCUM",
    wbc_range: str = "4.0-11.0",
    anc: str = "3.9",
    anc_unit: str = "10*3/uL^^UCUM",
    anc_range: str = "1.8-7.7",
    status: str = "F",
    eol: str = "\r",
) -> bytes:
    """An ORU^R01 CBC with a WBC, a hemoglobin and an ANC result."""
    taken = "20261124081000-0500"
    obr_22_to_25 = "|" * 15 + f"20261124092500-0500|||{status}"
    obx_tail = f"||||{status}|||{taken}"
    segments = [
        (
            r"MSH|^~\&|CORELAB|EASTFIELD|EHR|EASTFIELD|20261124093000-0500||ORU^R01^ORU_R01|"
            rf"{control_id}|P|2.5.1|||AL|NE||UNICODE UTF-8"
        ),
        f"PID|1||{mrn}^^^EASTFIELD^MR||TESTCASE^RIVER||{birth}|{sex}",
        f"ORC|RE|EO-{control_id}^EHR|EL-{control_id}^CORELAB||CM",
        (
            f"OBR|1|EO-{control_id}^EHR|EL-{control_id}^CORELAB|"
            f"58410-2^CBC panel - Blood by Automated count^LN|||{taken}{obr_22_to_25}"
        ),
        (
            "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||"
            f"{wbc}|{wbc_unit}|{wbc_range}{obx_tail}"
        ),
        f"OBX|2|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||13.1|g/dL^^UCUM|12.0-15.5{obx_tail}",
        (
            "OBX|3|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||"
            f"{anc}|{anc_unit}|{anc_range}{obx_tail}"
        ),
    ]
    return (eol.join(segments) + eol).encode("utf-8")


def batch(*messages: bytes) -> bytes:
    """An FHS/BHS batch file around ``messages`` (CR segment ends)."""
    head = (
        b"FHS|^~\\&|CORELAB|EASTFIELD|EHR|EASTFIELD|20261124120000-0500||batch-7.hl7\r"
        b"BHS|^~\\&|CORELAB|EASTFIELD|EHR|EASTFIELD|20261124120000-0500\r"
    )
    tail = f"BTS|{len(messages)}\rFTS|1\r".encode()
    return head + b"".join(messages) + tail


def mllp(*messages: bytes) -> bytes:
    """``messages`` in MLLP frames, as read from a TCP capture."""
    return b"".join(MLLP_START + message + MLLP_END for message in messages)


def observation(
    identifier: str, value: float | int, unit: str, code: str = "6690-2"
) -> dict[str, Any]:
    """A FHIR R4 count Observation with a UCUM quantity."""
    return {
        "resourceType": "Observation",
        "id": identifier,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/cli-test-1"},
        "effectiveDateTime": "2026-11-24T08:10:00-05:00",
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def ndjson(*resources: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(resource).encode() + b"\n" for resource in resources)


LOG_QUOTING_HL7 = (
    b"2026-11-24 09:30:01 INFO listener started on port 2575\n"
    b"2026-11-24 09:30:04 DEBUG got MSH|^~\\&|CORELAB|EASTFIELD|EHR|EASTFIELD|20261124093000\n"
)


def cbc_bundle(
    number: int,
    *,
    wbc: float,
    wbc_unit: str,
    anc: float,
    anc_unit: str,
    sex: str = "female",
    birth: str = "1968-02-11",
) -> dict[str, Any]:
    """A FHIR R4 transaction Bundle as an integration engine exports it: a Patient, a CBC
    DiagnosticReport and its WBC and ANC Observations (no lab ranges: age and sex decide)."""
    base = "http://fhir.riverside.example"
    patient = f"rv-p-{number:05d}"

    def count(kind: str, code: str, value: float, unit: str) -> dict[str, Any]:
        return {
            "fullUrl": f"{base}/Observation/rv-{kind}-{number:05d}",
            "resource": {
                "resourceType": "Observation",
                "id": f"rv-{kind}-{number:05d}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                "subject": {"reference": f"Patient/{patient}"},
                "effectiveDateTime": "2026-11-24T07:45:00-05:00",
                "valueQuantity": {"value": value, "unit": unit},
            },
            "request": {"method": "PUT", "url": f"Observation/rv-{kind}-{number:05d}"},
        }

    return {
        "resourceType": "Bundle",
        "id": f"rv-export-{number:05d}",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"{base}/Patient/{patient}",
                "resource": {
                    "resourceType": "Patient",
                    "id": patient,
                    "identifier": [{"system": f"{base}/mrn", "value": f"RV{number:06d}"}],
                    "gender": sex,
                    "birthDate": birth,
                },
                "request": {"method": "PUT", "url": f"Patient/{patient}"},
            },
            {
                "fullUrl": f"{base}/DiagnosticReport/rv-dr-{number:05d}",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "id": f"rv-dr-{number:05d}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]},
                    "subject": {"reference": f"Patient/{patient}"},
                    "result": [
                        {"reference": f"Observation/rv-wbc-{number:05d}"},
                        {"reference": f"Observation/rv-anc-{number:05d}"},
                    ],
                },
                "request": {"method": "PUT", "url": f"DiagnosticReport/rv-dr-{number:05d}"},
            },
            count("wbc", "6690-2", wbc, wbc_unit),
            count("anc", "751-8", anc, anc_unit),
        ],
    }


class ShareGoneAfter(io.FileIO):
    """An input on a network share that fails with EIO once ``good`` bytes were read."""

    def __init__(self, path: Path, good: int) -> None:
        super().__init__(path, "rb")
        self._good = good

    def readinto(self, buffer: Any) -> int:
        if self.tell() >= self._good:
            raise OSError(errno.EIO, "Input/output error")
        return super().readinto(memoryview(buffer)[: self._good - self.tell()])
