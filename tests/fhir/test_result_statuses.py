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


# The lab's first report of an order, then, in a message of its own, its correction: leukoflag
# converts each message alone, so the second cannot change what the first one's Bundle says.
_PATIENT = (
    "PID|1||WB-300418^^^WESTBROOK^MR||HALVORSEN^INGRID||19720915|F",
    "ORC|RE|PO-7731^EHR|FO-7731^HEMLAB||CM",
)
_ORDER = (
    "OBR|1|PO-7731^EHR|FO-7731^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN"
    "|||20261124080500-0500|||||||||||||||{issued}|||{report}"
)
_FIRST = er7(
    "MSH|^~\\&|HEMLAB|WESTBROOK|EHR|WESTBROOK|20261124091500-0500||ORU^R01^ORU_R01|WB-55090|P|2.5.1",
    *_PATIENT,
    _ORDER.format(issued="20261124091000-0500", report="F"),
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.1|10*3/uL^^UCUM"
    "|4.0-11.0|L|||F|||20261124080500-0500",
    "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||2.4|10*3/uL^^UCUM"
    "|1.8-7.7|N|||F|||20261124080500-0500",
)


def _later(report: str, *obx: str) -> bytes:
    return er7(
        "MSH|^~\\&|HEMLAB|WESTBROOK|EHR|WESTBROOK|20261124143000-0500||ORU^R01^ORU_R01|WB-55131"
        "|P|2.5.1",
        *_PATIENT,
        _ORDER.format(issued="20261124142500-0500", report=report),
        *obx,
    )


_CORRECTED_WBC = (
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.0|10*3/uL^^UCUM"
    "|4.0-11.0|N|||C|||20261124080500-0500"
)


def test_a_correction_in_a_later_message_is_a_report_of_its_own_beside_the_earlier_one() -> None:
    # docs/output.md: each message is converted on its own, under its own ids; the earlier
    # report keeps its finding and the correction's report has none, under another id
    conv = leukoflag.convert(_FIRST + _later("C", _CORRECTED_WBC))
    first, corrected = conv.bundles
    assert _conclusion(first) == ["Leukopenia"]
    assert _conclusion(corrected) == []
    (first_report,) = resources(first, "DiagnosticReport")
    (corrected_report,) = resources(corrected, "DiagnosticReport")
    assert first_report["id"] != corrected_report["id"]
    assert first_report["identifier"] == corrected_report["identifier"]  # placer and filler
    assert [(f.location, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[1]", "LU"),
        ("MSG[1]/OBX[2]", "N"),
        ("MSG[2]/OBX[1]", "N"),
    ]
    assert [i.code for i in conv.issues if i.location.startswith("MSG[2]/OBX")] == []
