"""OBR-14 specimen received time beside SPM segments (V2-to-FHIR IG OBR[Specimen])."""

from __future__ import annotations

from typing import Literal

import pytest

import leukoflag
from leukoflag.fhir import validate
from leukoflag.settings import Settings

_MESSAGE = (
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20261124101522-0600||ORU^R01|M1|P|2.5.1\r"
    "PID|1||123^^^HOSP^MR||DOE^JANE||19700101|F\r"
    "OBR|1|O1^EHR|F1^LAB|57021-8^CBC^LN|||20261124093000-0600|||||||20261124094500-0600"
    "||||||||20261124101000-0600|||F\r"
    "OBX|1|NM|6690-2^WBC^LN||2.1|10*3/uL^^UCUM|4.0-10.0|L|||F\r"
    "SPM|1|SP1^LAB||BLDV^Blood venous^HL70487|||||||P^Patient^HL70369||||||"
    "20261124093000-0600|{spm18}\r"
)


def _received(
    spm18: str, version: Literal["R4", "R5"]
) -> tuple[object, list[tuple[str, str, str]]]:
    result = leukoflag.convert(_MESSAGE.format(spm18=spm18), Settings(fhir_version=version))
    assert validate(result.bundles[0], version) == []
    specimens = [
        e["resource"]
        for e in result.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Specimen"
    ]
    assert len(specimens) == 1
    issues = [(i.code, i.location, i.text) for i in result.issues if i.location.endswith("-14")]
    return specimens[0].get("receivedTime"), issues


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_obr_14_is_the_received_time_of_an_spm_without_spm_18(version: Literal["R4", "R5"]) -> None:
    received, issues = _received("", version)
    assert received == "2026-11-24T09:45:00-06:00"
    assert issues == []


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_spm_18_wins_over_a_different_obr_14_which_is_said(version: Literal["R4", "R5"]) -> None:
    received, issues = _received("20261124095000-0600", version)
    assert received == "2026-11-24T09:50:00-06:00"
    assert len(issues) == 1
    code, location, text = issues[0]
    assert (code, location) == ("hl7v2.field-unmapped", "MSG[1]/OBR[1]-14")
    assert "'20261124094500-0600' differs from the SPM-18 of SPM[1]" in text


def test_obr_14_equal_to_spm_18_loses_nothing() -> None:
    received, issues = _received("20261124094500-0600", "R4")
    assert received == "2026-11-24T09:45:00-06:00"
    assert issues == []


def test_obr_14_of_an_order_without_specimen_is_said_not_carried() -> None:
    message = _MESSAGE.split("SPM|", 1)[0]
    result = leukoflag.convert(message)
    found = [(i.code, i.location) for i in result.issues if i.location.endswith("-14")]
    assert found == [("hl7v2.field-unmapped", "MSG[1]/OBR[1]-14")]
