"""leukoflag's FHIR output of HL7 v2, flagged again: the same Bundle, findings and Issues."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.fhir._terms import tables
from leukoflag.hl7v2._tables import load_tables


def er7(*segments: str) -> bytes:
    return ("\r".join(segments) + "\r").encode("utf-8")


MSH = "MSH|^~\\&|HEMLAB|ELMWOOD|EHR|ELMWOOD|20261124101500-0600||ORU^R01^ORU_R01|EW-{n}|P|2.5.1"
PID = "PID|1||EW-2231^^^ELMWOOD^MR||MARTINEZ^LUCIA||19840412|F"
OBR = (
    "OBR|1|PO-61^EHR|FO-61^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN|||"
    "20261124090000-0600|||||||||||||||20261124100000-0600|||F"
)
WBC = (
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261124090000-0600"
)


@pytest.mark.parametrize(
    "kind", ["QC^Quality control material^L", "LVL1^Control material, level 1^99EWLAB"]
)
def test_a_control_run_read_back_is_still_control_material_not_a_leukopenia(kind: str) -> None:
    # SPM-4 names QC material: not flagged from HL7 v2; its Bundle read back judged the control's
    # 3,100 cells/µL as the patient's leukopenia (L, conclusionCode) beside an unrecognized type
    first = leukoflag.convert(er7(MSH.format(n=1), PID, OBR, WBC, f"SPM|1|QC-77^HEMLAB||{kind}"))
    assert first.findings == []
    second = leukoflag.convert(fhir.dumps(first.bundles[0]))
    assert second.findings == []
    (control,) = (i for i in second.issues if i.code == "flag.control-material")
    assert control.location == "ITEM[1]/Bundle.entry[4].resource"
    assert [i.code for i in second.issues] == ["flag.control-material"]
    assert fhir.dumps(second.bundles[0]) == fhir.dumps(first.bundles[0])


def test_fhir_and_hl7v2_name_the_same_specimen_types_control_material() -> None:
    v2 = load_tables()
    assert tables().control_type_codes == v2.control_codes
    assert tables().control_type_words == v2.control_words


# A WBC of 3,100 and 22 % neutrophils: no ANC measured, leukoflag derives 682 cells/µL.
_DERIVED = er7(
    MSH.format(n=2),
    PID,
    OBR,
    WBC,
    (
        "OBX|2|NM|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||22|%^^UCUM|"
        "40-75|L|||F|||20261124090000-0600"
    ),
)


def _anc(conv: leukoflag.Conversion) -> leukoflag.Finding:
    (anc,) = (f for f in conv.findings if f.analyte.value == "anc")
    return anc


@pytest.mark.parametrize(
    ("settings", "code", "grade"),
    [
        (leukoflag.Settings(), "LU", 3),
        (leukoflag.Settings(ctcae_version="6.0"), "LU", 2),
        (leukoflag.Settings(critical_low={"anc": 700, "wbc": 2000}), "LL", 3),
    ],
)
def test_a_derived_anc_read_back_is_judged_again_as_a_fresh_conversion_judges_it(
    settings: leukoflag.Settings, code: str, grade: int
) -> None:
    # re-flagged after a rule change (CTCAE 6.0, a critical low of 700), the derived ANC kept
    # the interpretation and grade written before (LU, grade 3) while the findings said LL or
    # grade 2; and its finding was no longer derived
    (stored,) = leukoflag.convert(_DERIVED).bundles
    again = leukoflag.convert(fhir.dumps(stored), settings)
    fresh = leukoflag.convert(_DERIVED, settings)
    anc = _anc(again)
    assert (anc.value_per_ul, anc.code, anc.ctcae_grade, anc.derived) == (
        Decimal(682),
        code,
        grade,
        True,
    )
    assert (anc.code, anc.ctcae_grade, anc.derived) == (
        _anc(fresh).code,
        _anc(fresh).ctcae_grade,
        _anc(fresh).derived,
    )
    assert fhir.dumps(again.bundles[0]) == fhir.dumps(fresh.bundles[0])


@pytest.mark.parametrize(
    ("sex", "value", "code"),
    [("M", "NM|12.5", "N"), ("U", "NM|12.5", "N"), ("F", "SN|<^0.5", "LL")],
)
def test_a_range_per_sex_for_adults_beside_a_childs_count_is_read_back_in_the_sent_unit(
    sex: str, value: str, code: str
) -> None:
    # an infant's 12.5 10*9/L (or <0.5, kept as original text) beside a lab range for adults:
    # judged with the age band, the range text left without limits; read back, '4.0-10.0' was
    # read in cells/µL and the warning became 'not a plausible WBC range (sent in another unit
    # than the value?)'
    infant = f"PID|1||EW-7781^^^ELMWOOD^MR||OKAFOR^ADA||20260601|{sex}"
    kind, number = value.split("|")
    wbc = (
        f"OBX|1|{kind}|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||{number}|"
        "10*9/L|Adult M: 4.0-10.0 F: 4.5-11.0||||F|||20261124090000-0600"
    )
    first = leukoflag.convert(er7(MSH.format(n=7), infant, OBR, wbc))
    second = leukoflag.convert(fhir.dumps(first.bundles[0]))
    for conv in (first, second):
        (finding,) = conv.findings
        assert finding.range is not None
        assert (finding.code, finding.range.source) == (code, "age-band")
        assert "flag.lab-range-adults" in [i.code for i in conv.issues]
        assert "flag.lab-range-unusable" not in [i.code for i in conv.issues]
    (adults,) = (i for i in second.issues if i.code == "flag.lab-range-adults")
    assert adults.location == "ITEM[1]/Bundle.entry[3].resource"
    assert "is for adults, and the patient (born 2026-06-01) is under 18" in adults.text
    assert fhir.dumps(second.bundles[0]) == fhir.dumps(first.bundles[0])


# No OBX-14, SPM-17, OBR-7 or OBR-22: MSH-7 alone dates the infant's WBC (5,500: L at 3 months).
_UNDATED = (
    "PID|1||EW-5512^^^ELMWOOD^MR||OKONJO^TOBI||20260815|M",
    "OBR|1|PO-3^EHR|FO-3^HEMLAB|58410-2^CBC panel - Blood by Automated count^LN",
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||5.5|10*3/uL|||||F",
)


@pytest.mark.parametrize("bundle_type", ["transaction", "collection"])
def test_a_result_dated_only_by_msh7_is_judged_at_the_same_age_read_back(
    bundle_type: Literal["transaction", "collection"],
) -> None:
    # read back, Bundle.timestamp (MSH-7) was ignored as not a message Bundle's, so the count
    # was judged with adult ranges (N) under flag.age-unknown
    settings = leukoflag.Settings(bundle_type=bundle_type)
    first = leukoflag.convert(er7(MSH.format(n=3), *_UNDATED), settings)
    assert first.bundles[0]["timestamp"] == "2026-11-24T10:15:00-06:00"
    second = leukoflag.convert(fhir.dumps(first.bundles[0]), settings)
    for conv in (first, second):
        (finding,) = conv.findings
        assert finding.range is not None
        assert (finding.code, finding.rule, finding.range.source) == (
            "L",
            "wbc-leukopenia-pediatric",
            "age-band",
        )
    assert [i.code for i in second.issues] == []
    assert fhir.dumps(second.bundles[0]) == fhir.dumps(first.bundles[0])


def test_the_timestamp_of_a_collection_leukoflag_did_not_write_still_dates_nothing() -> None:
    # a collection Bundle of another source: its timestamp says when it was assembled
    settings = leukoflag.Settings(bundle_type="collection")
    (stored,) = leukoflag.convert(er7(MSH.format(n=4), *_UNDATED), settings).bundles
    stored["entry"] = [e for e in stored["entry"] if e["resource"]["resourceType"] != "Provenance"]
    conv = leukoflag.convert(fhir.dumps(stored))
    (finding,) = conv.findings
    assert (finding.code, finding.rule) == ("N", "wbc-within-range")
    assert [i.code for i in conv.issues] == ["flag.age-unknown"]
