"""What is a blood WBC/ANC count: LOINC, local codes and texts, specimens, control material."""

from __future__ import annotations

import pytest

import leukoflag
from leukoflag.flagging import _scope
from leukoflag.model import Analyte, Coding, Concept, Severity, Specimen, Unit
from leukoflag.testing import builders
from leukoflag.testing.builders import oru_message

from .build import (
    K_PER_UL,
    LOINC,
    SNOMED,
    code_of,
    evaluate,
    issue_codes,
    local,
    loinc,
    one,
    result,
    specimen,
)


@pytest.mark.parametrize(
    ("code", "analyte"),
    [
        ("6690-2", Analyte.WBC),
        ("26464-8", Analyte.WBC),
        ("804-5", Analyte.WBC),
        ("33256-9", Analyte.WBC),
        ("12227-5", Analyte.WBC),
        ("49498-9", Analyte.WBC),
        ("751-8", Analyte.ANC),
        ("26499-4", Analyte.ANC),
        ("753-4", Analyte.ANC),
        ("752-6", Analyte.ANC),
    ],
)
def test_blood_count_loincs_are_in_scope(code: str, analyte: Analyte) -> None:
    evaluation = one(result("6.0", code=code, unit=K_PER_UL))
    assert evaluation.analyte is analyte
    assert evaluation.loinc is None  # the sender's LOINC is enough
    assert code_of(evaluation) is not None


@pytest.mark.parametrize(
    "code",
    [
        "777-3",  # platelets, in the same 10*3/uL as a WBC
        "26515-7",
        "789-8",  # red cells
        "5821-4",  # urine WBC per HPF
        "30405-5",  # urine WBC
        "26466-3",  # body fluid
        "30469-1",
        "26465-5",  # CSF
        "92635-2",  # buffy coat
        "74398-9",  # cord blood
        "718-7",  # hemoglobin: not in the table at all
    ],
)
def test_other_loincs_are_simply_out_of_scope(code: str) -> None:
    evaluation = one(result("250", code=code, unit=K_PER_UL))
    assert evaluation.analyte is None
    assert evaluation.finding is None
    assert evaluation.issues == ()


@pytest.mark.parametrize("code", ["770-8", "26511-6", "23761-0", "71676-1", "26505-8", "764-1"])
@pytest.mark.parametrize("unit", [K_PER_UL, Unit("K/uL", ""), Unit("/uL", "/uL"), Unit("x10^9/L")])
def test_a_percent_code_in_a_count_unit_is_never_judged_but_said_at_the_unit(
    code: str, unit: Unit
) -> None:
    # neutrophils % 1.8 '10*3/uL': a mislabelled ANC or unit, out of scope without a word
    evaluation = one(result("1.8", code=code, unit=unit, n=4))
    assert evaluation.analyte is None
    assert evaluation.finding is None
    (issue,) = evaluation.issues
    assert (issue.code, issue.severity, issue.location) == (
        "flag.percent-count-unit",
        Severity.WARNING,
        "MSG[1]/OBX[4]-6",
    )
    assert issue.text == (
        f"not flagged: LOINC {code} is a percent or fraction of the white cells, never a count, "
        f"but its unit '{unit.text or unit.code}' is a count per volume: the code or the unit "
        "is wrong, so the value is neither judged as a count nor used for a derived ANC"
    )


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ("41", Unit("%", "%")),
        ("100", Unit("%", "%")),
        ("0", Unit("%", "%")),
        ("0.41", Unit("{ratio}", "{ratio}")),
        ("41", None),
        ("41", Unit("furlongs")),
        ("410", Unit("g/dL")),
    ],
)
def test_a_percent_code_with_a_share_of_the_white_cells_raises_nothing(
    value: str, unit: Unit | None
) -> None:
    evaluation = one(result(value, code="770-8", unit=unit))
    assert evaluation.issues == ()


@pytest.mark.parametrize(
    ("code", "value", "unit", "said"),
    [
        ("770-8", "150", Unit("%", "%"), "150 '%' is not from 0 to 100"),
        ("26511-6", "-3", Unit("%", "%"), "-3 '%' is not from 0 to 100"),
        ("770-8", "412", None, "412 (no unit) is not from 0 to 100"),
        ("26508-2", "1.5", Unit("{ratio}", "{ratio}"), "1.5 '{ratio}' is not from 0 to 1"),
    ],
)
def test_a_percent_code_whose_value_is_no_share_of_the_white_cells_is_said_at_the_value(
    code: str, value: str, unit: Unit | None, said: str
) -> None:
    # neutrophils 150 % with no WBC beside it: no Issue at all named the impossible value
    evaluation = one(result(value, code=code, unit=unit, n=2))
    assert (evaluation.analyte, evaluation.finding) == (None, None)
    (issue,) = evaluation.issues
    assert (issue.code, issue.severity, issue.location) == (
        "flag.percent-implausible",
        Severity.WARNING,
        "MSG[1]/OBX[2]-5",
    )
    assert issue.text == (
        f"LOINC {code} is a percent or fraction of the white cells, but its value {said}: the "
        "value or the unit is wrong, so it is not used for a derived ANC"
    )


def test_an_impossible_value_of_a_fraction_code_that_never_gives_an_anc_is_said() -> None:
    (issue,) = one(result("130", code="71676-1", unit=Unit("%", "%"))).issues
    assert issue.text == (
        "LOINC 71676-1 is a percent or fraction of the white cells, but its value 130 '%' is not "
        "from 0 to 100: the value or the unit is wrong"
    )


def test_specimen_unspecified_loinc_is_not_flagged_and_says_so() -> None:
    evaluation = one(result("3.0", code="20584-9", unit=K_PER_UL))
    assert evaluation.analyte is None
    assert issue_codes(evaluation) == ["flag.specimen-unspecified"]


def test_a_loinc_code_decides_over_a_text_that_says_wbc() -> None:
    concept = Concept((Coding("777-3", "WBC", LOINC),), text="WBC")
    assert one(result("250", code=concept, unit=K_PER_UL)).analyte is None


@pytest.mark.parametrize(
    ("concept", "analyte"),
    [
        (local("WBC", "White Blood Count"), Analyte.WBC),
        (local("wbc"), Analyte.WBC),
        (local("WCC"), Analyte.WBC),
        (local("1001", "White cell count"), Analyte.WBC),
        (local("1001", "Leucócitos"), Analyte.WBC),
        (local("1001", "LEUCOCITOS"), Analyte.WBC),
        (local("1001", "Leukozyten"), Analyte.WBC),
        (local("GB"), Analyte.WBC),
        (local("1001", "WBC, blood"), Analyte.WBC),
        (local("1001", "", text="White blood cell count"), Analyte.WBC),  # CWE.9 original text
        (Concept(text="WBC"), Analyte.WBC),  # OBX-3 text only
        (local("ANC"), Analyte.ANC),
        (local("NEUT#"), Analyte.ANC),
        (local("2002", "Neut #"), Analyte.ANC),
        (local("2002", "Neutrophils, absolute"), Analyte.ANC),
        (local("2002", "Absolute neutrophils"), Analyte.ANC),
        # the short form LIS and EHR result names use: an ANC of 300 went unjudged, no Issue
        (local("2002", "Abs Neutrophils"), Analyte.ANC),
        (local("2002", "Neutrophils, Abs"), Analyte.ANC),
    ],
)
def test_local_codes_and_texts_are_recognized(concept: Concept, analyte: Analyte) -> None:
    evaluation = one(result("3.2", code=concept, unit=K_PER_UL))
    assert evaluation.analyte is analyte
    assert evaluation.loinc is not None
    expected = "26464-8" if analyte is Analyte.WBC else "26499-4"
    assert (evaluation.loinc.code, evaluation.loinc.system) == (expected, LOINC)
    assert evaluation.loinc.display.endswith("in Blood")
    assert code_of(evaluation) is not None


@pytest.mark.parametrize(
    ("code", "analyte"),
    [
        ("751-8", Analyte.ANC),
        ("6690-2", Analyte.WBC),
        ("26464-8", Analyte.WBC),
        (" 753-4", Analyte.ANC),
    ],
)
def test_a_loinc_count_code_sent_without_its_system_is_recognized(
    code: str, analyte: Analyte
) -> None:
    # OBX-3 "751-8^Neutrophils^" with an empty coding system: an ANC of 900 went unflagged
    concept = Concept((Coding(code, "Neutrophils" if analyte is Analyte.ANC else "WBC"),))
    evaluation = one(result("0.9", code=concept, unit=K_PER_UL))
    assert evaluation.analyte is analyte
    assert evaluation.loinc is not None
    assert evaluation.loinc.code == ("26499-4" if analyte is Analyte.ANC else "26464-8")
    assert evaluation.finding is not None


@pytest.mark.parametrize("code", ["770-8", "789-8", "5821-4"])
def test_other_loinc_codes_without_their_system_stay_out(code: str) -> None:
    # a percent, an RBC count, a urine WBC: the table's own rows keep them out as with LOINC
    evaluation = one(result("0.9", code=Concept((Coding(code),)), unit=K_PER_UL))
    assert evaluation.analyte is None
    assert evaluation.finding is None


@pytest.mark.parametrize(
    ("concept", "named"),
    [
        (local("6690-2"), 'code "6690-2" of the coding system "99LAB", which is LOINC 6690-2'),
        (local("751-8", "Diff 2"), 'code "751-8" of the coding system "99LAB"'),
        (
            Concept((Coding("6690-2", system="https://lis.example.org/codes"),)),
            'coding system "https://lis.example.org/codes"',
        ),
    ],
)
def test_a_loinc_count_code_under_a_local_system_is_not_judged_but_said(
    concept: Concept, named: str
) -> None:
    # OBX-3 "6690-2^^99LAB": a lab's own code, not flagged as LOINC, but without a word; its
    # FHIR output (no system) was then read as LOINC and judged
    evaluation = one(result("2.1", code=concept, unit=K_PER_UL))
    assert (evaluation.analyte, evaluation.finding) == (None, None)
    (issue,) = evaluation.issues
    assert (issue.code, issue.severity.value) == ("flag.loinc-code-local", "warning")
    assert issue.location.endswith("-3")
    assert named in issue.text
    assert "not read as LOINC" in issue.text


@pytest.mark.parametrize(
    "concept",
    [
        local("6690-2", "White blood cell count"),  # its text names the count
        local("718-7", "Hgb"),  # hemoglobin: not a row of the table
        local("770-8", "Neut %"),  # a percent's name: excluded by its text
    ],
)
def test_a_loinc_shaped_local_code_beside_a_known_name_or_outside_the_table_is_not_warned(
    concept: Concept,
) -> None:
    evaluation = one(result("2.1", code=concept, unit=K_PER_UL))
    assert "flag.loinc-code-local" not in issue_codes(evaluation)


@pytest.mark.parametrize(
    "concept",
    [
        local("1001", "Urine WBC"),
        local("1001", "WBC urine"),
        local("1001", "WBC (urine)"),
        local("1001", "WBC esterase"),
        local("1001", "Leukocyte esterase"),
        local("1001", "WBC casts"),
        local("1001", "WBC clumps"),
        local("1001", "Platelets"),
        local("PLT", "Platelet count"),
        local("1001", "RBC"),
        local("1001", "NRBC"),
        local("1001", "Neut %"),
        local("1001", "Neutrophils"),
        local("1001", "Cord blood WBC"),
        local("LEU", "Leukocytes"),  # the urine dipstick parameter
        local("WBC", "", text="Urine WBC"),  # one excluding name is enough
        Concept(text="White"),
    ],
)
def test_look_alike_names_are_not_a_wbc_or_anc(concept: Concept) -> None:
    evaluation = one(result("3.2", code=concept, unit=K_PER_UL))
    assert evaluation.analyte is None
    assert evaluation.finding is None


@pytest.mark.parametrize(
    "text",
    ["CSF WBC", "Urine leukocytes", "WBC, body fluid", "Cord blood WBC", "WBC pleural fluid"],
)
def test_local_wbc_code_whose_own_name_is_another_specimen_is_not_a_blood_count(text: str) -> None:
    # OBX-3 "WBC^CSF WBC^99LAB" in an order of a local panel without SPM: the local code alone
    # reads as a blood WBC, its name says it is not one.
    msg = oru_message(
        orders=[
            builders.order(
                [builders.result(builders.local_code("WBC", text), "2.0", "10*9/L", flag=None)],
                code=builders.local_code("LAB7", "Cell counts"),
                specimen=None,
            )
        ]
    )
    conversion = leukoflag.convert(msg.text)
    assert conversion.findings == []
    assert not [i for i in conversion.issues if i.code.startswith("flag.")]


def test_local_wbc_code_with_a_blood_name_is_still_a_blood_count() -> None:
    msg = oru_message(
        orders=[
            builders.order(
                [builders.result(builders.local_code("WBC", "WBC, blood"), "2.0", "10*9/L")],
                code=builders.local_code("LAB7", "Cell counts"),
                specimen=None,
            )
        ]
    )
    assert [f.code for f in leukoflag.convert(msg.text).findings] == ["LU"]


def test_codes_naming_different_counts_conflict() -> None:
    evaluation = one(result("3.2", code=local("WBC", "ANC"), unit=K_PER_UL))
    assert evaluation.analyte is None
    issue = evaluation.issues[0]
    assert issue.code == "flag.code-conflict"
    assert issue.location == "MSG[1]/OBX[1]-3"


def test_name_key_separates_hash_and_percent() -> None:
    assert _scope.name_key("Neut#") == _scope.name_key("neut #") == ("#", "neut")
    assert _scope.name_key("Neut%") != _scope.name_key("Neut#")
    assert _scope.name_key("Leucócitos") == ("leucocitos",)


@pytest.mark.parametrize(
    ("spm", "system"),
    [
        ("UR", "http://terminology.hl7.org/CodeSystem/v2-0487"),
        ("CSF", "http://terminology.hl7.org/CodeSystem/v2-0487"),
        ("BLDCO", "http://terminology.hl7.org/CodeSystem/v2-0487"),
        ("FLU", "http://terminology.hl7.org/CodeSystem/v2-0487"),
        ("122575003", SNOMED),
        ("258450006", SNOMED),
    ],
)
def test_blood_count_code_from_a_non_blood_specimen_is_not_flagged(spm: str, system: str) -> None:
    evaluation = one(result("25", unit=K_PER_UL), specimens=(specimen(spm, system=system),))
    assert evaluation.analyte is None
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["flag.specimen-not-blood"]


def test_blood_specimen_is_flagged() -> None:
    spm = specimen("BLDV", "Blood venous")
    assert code_of(one(result("1.5", unit=K_PER_UL), specimens=(spm,))) == "LL"


def test_specimen_text_without_code_is_read_by_its_words() -> None:
    spm = Specimen(location="MSG[1]/SPM[1]", type=Concept(text="Cord blood"))
    evaluation = one(result("25", unit=K_PER_UL), specimens=(spm,))
    assert issue_codes(evaluation) == ["flag.specimen-not-blood"]


def test_obr15_specimen_source_is_checked() -> None:
    source = Concept((Coding("UR", "Urine"),))
    evaluation = one(result("25", unit=K_PER_UL), specimen_source=source)
    assert issue_codes(evaluation) == ["flag.specimen-not-blood"]


def test_result_after_its_own_spm_uses_that_specimen() -> None:
    blood = specimen("BLD", n=1)
    urine = specimen("UR", n=2)
    in_blood = result("1.5", unit=K_PER_UL, n=1, specimen=blood.location)
    in_urine = result("25", unit=K_PER_UL, n=2, specimen=urine.location)
    first, second = evaluate(in_blood, in_urine, specimens=(blood, urine))
    assert code_of(first) == "LL"
    assert issue_codes(second) == ["flag.specimen-not-blood"]


def test_each_count_of_an_order_is_checked_by_how_it_was_recognized() -> None:
    urinalysis = loinc("24356-8", "Urinalysis complete panel - Urine")
    by_loinc = result("1.5", unit=K_PER_UL, n=1)
    by_local = result("12", code=local("1001", "WBC"), unit=K_PER_UL, n=2)
    first, second = evaluate(by_loinc, by_local, code=urinalysis)
    assert code_of(first) == "LL"
    assert issue_codes(second) == ["flag.order-not-blood"]


def test_mixed_specimens_for_an_order_level_result_are_ambiguous() -> None:
    evaluation = one(result("1.5", unit=K_PER_UL), specimens=(specimen("BLD"), specimen("UR", n=2)))
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["flag.specimen-ambiguous"]


def test_control_material_is_never_flagged() -> None:
    evaluation = one(result("1.5", unit=K_PER_UL), specimens=(specimen("BLD", control=True),))
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["flag.control-material"]


def test_unknown_specimen_type_is_judged_with_a_note() -> None:
    evaluation = one(result("1.5", unit=K_PER_UL), specimens=(specimen("XYZ", "Tube 7"),))
    assert code_of(evaluation) == "LL"
    assert issue_codes(evaluation) == ["flag.specimen-unrecognized"]


def test_local_wbc_in_a_urinalysis_order_is_not_a_blood_count() -> None:
    evaluation = one(
        result("12", code=local("1001", "WBC"), unit=K_PER_UL),
        code=loinc("24356-8", "Urinalysis complete panel - Urine"),
    )
    assert evaluation.finding is None
    assert issue_codes(evaluation) == ["flag.order-not-blood"]


def test_local_wbc_in_an_order_named_urine_microscopy_is_not_a_blood_count() -> None:
    evaluation = one(
        result("12", code=local("1001", "WBC"), unit=K_PER_UL),
        code=local("UAMIC", "Urine microscopy"),
    )
    assert issue_codes(evaluation) == ["flag.order-not-blood"]


def test_loinc_coded_wbc_is_trusted_whatever_the_order_name() -> None:
    evaluation = one(result("1.5", unit=K_PER_UL), code=local("PANEL", "Fluid balance panel"))
    assert code_of(evaluation) == "LL"


def test_a_snomed_coded_wbc_of_a_csf_order_is_not_said_to_be_a_local_code() -> None:
    # 484ed27 reads SNOMED CT rows: its Issue said 'SNOMED CT 767002 was recognized from a
    # local code or text', though it names the SNOMED CT concept the count was read by
    message = "\r".join(
        (
            "MSH|^~\\&|LIS|CORELAB|EHR|RIVERSIDE|20261124103000-0500||ORU^R01^ORU_R01|M1|P|2.5.1",
            "PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR^DANIEL^C||19610719|M",
            "OBR|1|ORD55377^EHR|LAB88164^CORELAB|CSFCC^CSF cell count^L|||20261124083000-0500",
            "OBX|1|NM|767002^White blood cell count^SCT||0.3|10*9/L|||||F",
        )
    )
    conversion = leukoflag.convert(message)
    assert conversion.findings == []
    (said,) = (i for i in conversion.issues if i.code == "flag.order-not-blood")
    assert said.text == (
        "not flagged: SNOMED CT 767002 names a count but not its specimen, as a local code "
        'does, and its order "CSFCC" (CSF cell count) is not a blood test'
    )
