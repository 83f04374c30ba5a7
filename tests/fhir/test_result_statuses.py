"""Result and report statuses end to end: which counts a correction, deletion or cancellation
leaves judged, and what the report concludes from them."""

from __future__ import annotations

from typing import Any

from fhir_builders import resources
from fhir_messages import er7

import leukoflag

# No OBX-14, no SPM and no OBR-7: the results carry only OBX-19, the time the analyser ran.
_HEAD = (
    "MSH|^~\\&|HEMLAB|WESTBROOK|EHR|WESTBROOK|20261124103000-0500||ORU^R01^ORU_R01|WB-55102|P|2.5.1",
    "PID|1||WB-300418^^^WESTBROOK^MR||HALVORSEN^INGRID||19720915|F",
    "ORC|RE|PO-7731^EHR|FO-7731^HEMLAB||CM",
)
_OBR = (
    "OBR|1|PO-7731^EHR|FO-7731^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "||||||||||||||||||20261124102500-0500|||{report}"
)
_WBC = (
    "OBX|{n}|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||{value}"
    "|10*3/uL^^UCUM|4.0-11.0|{flag}|||{status}||||||||{analysed}"
)


def _message(report: str, *results: tuple[str, str, str, str]) -> bytes:
    segments = [*_HEAD, _OBR.format(report=report)]
    for n, (value, flag, status, analysed) in enumerate(results, 1):
        segments.append(_WBC.format(n=n, value=value, flag=flag, status=status, analysed=analysed))
    return er7(*segments)


def _conclusion(bundle: dict[str, Any]) -> list[str]:
    (report,) = resources(bundle, "DiagnosticReport")
    return [c["coding"][0]["display"] for c in report.get("conclusionCode", ())]


def test_a_correction_rerun_at_another_analysis_time_replaces_the_original_count() -> None:
    # F 2.1 analysed at 08:30, corrected to 5.0 on a rerun at 10:15: OBX-19 is when each run
    # was analysed, not which draw the count is of, so the correction replaces the original
    conv = leukoflag.convert(
        _message(
            "C",
            ("2.1", "L", "F", "20261124083000-0500"),
            ("5.0", "N", "C", "20261124101500-0500"),
        )
    )
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == []
    assert [(f.location, f.code) for f in conv.findings] == [("MSG[1]/OBX[2]", "N")]
    (issue,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert "replaced by MSG[1]/OBX[2] (corrected)" in issue.text


def test_a_deletion_without_an_analysis_time_withdraws_the_count_it_deletes() -> None:
    # F 2.1 analysed at 08:30, then the lab deletes it (OBX-11 D) in a segment without OBX-19
    conv = leukoflag.convert(
        _message("F", ("2.1", "L", "F", "20261124083000-0500"), ("2.1", "L", "D", ""))
    )
    (bundle,) = conv.bundles
    assert _conclusion(bundle) == []
    assert conv.findings == []
    (issue,) = [i for i in conv.issues if i.code == "flag.result-superseded"]
    assert issue.location == "MSG[1]/OBX[1]-11"
    assert "withdrawn by MSG[1]/OBX[2] (entered-in-error, OBX-11 'D')" in issue.text


def test_a_status_change_to_final_without_an_analysis_time_completes_the_preliminary() -> None:
    # P 2.1 analysed at 08:30, then U with OBX-5 empty and no OBX-19: final without the value
    # sent again; the preliminary is that result, of the same draw, and is made final
    conv = leukoflag.convert(
        _message("F", ("2.1", "L", "P", "20261124083000-0500"), ("", "", "U", ""))
    )
    (bundle,) = conv.bundles
    (observation,) = resources(bundle, "Observation")
    assert (observation["status"], observation["valueQuantity"]["value"]) == ("final", 2100)
    assert _conclusion(bundle) == ["Leukopenia"]
    (issue,) = [i for i in conv.issues if i.code == "hl7v2.result-made-final"]
    assert issue.location == "MSG[1]/OBX[2]-11"
    assert "hl7v2.result-not-retransmitted" not in [i.code for i in conv.issues]
