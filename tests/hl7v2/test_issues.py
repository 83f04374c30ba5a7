"""Each hl7v2 Issue code is raised where docs/issues.md says, with its location."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import leukoflag
from leukoflag.model import Number, Severity
from leukoflag.settings import Settings

from .messages import (
    MSH,
    OBR,
    ORC,
    PID,
    PV1,
    SPM,
    WBC,
    codes,
    issue,
    message,
    obx,
    only_order,
    read,
)

SN_RANGE = "OBX|1|SN|6690-2^WBC^LN||^4^-^2|10*3/uL^^UCUM|11.0-4.0||||F"


@pytest.mark.parametrize(
    ("segments", "code", "location"),
    [
        ((OBR, WBC), "hl7v2.patient-missing", "MSG[1]/OBR[1]"),
        ((PID, SPM, OBR, WBC), "hl7v2.spm-without-obr", "MSG[1]/SPM[1]"),
        (
            (PID, "OBR|1|ORD1^EHR|LAB1^CORELAB||||||||||||||||||||||F", WBC),
            "hl7v2.code-missing",
            "MSG[1]/OBR[1]-4",
        ),
        ((PID, OBR, obx("5.0", code="")), "hl7v2.code-missing", "MSG[1]/OBX[1]-3"),
        ((PID, OBR, obx("5.0", reference="11.0-4.0")), "hl7v2.range-inverted", "MSG[1]/OBX[1]-7"),
        (
            (PID, OBR, obx("20261124", value_type="DT")),
            "hl7v2.value-type-unmapped",
            "MSG[1]/OBX[1]-5",
        ),
        ((PID, OBR, obx("5.0~5.00")), "hl7v2.repetition-unmapped", "MSG[1]/OBX[1]-5"),
        ((PID, OBR, obx("5.0~5.1")), "hl7v2.value-repeated", "MSG[1]/OBX[1]-5"),
        (
            (PID, OBR, obx("5.0", unit="10*3/uL^^UCUM^K/uL^^L")),
            "hl7v2.component-unmapped",
            "MSG[1]/OBX[1]-6.4",
        ),
        (
            (PID, ORC.replace("ORD55377", "ORD99999"), OBR, WBC),
            "hl7v2.order-id-mismatch",
            "MSG[1]/OBR[1]-2",
        ),
        (
            ("PID|1||MRN1||DOE^JOHN^^JR^DR^MD^L^A||19700101|M", OBR, WBC),
            "hl7v2.component-unmapped",
            "MSG[1]/PID[1]-5.8",
        ),
        (
            ("PID|1||MRN1||DOE^JOHN~^^^JR||19700101|M", OBR, WBC),
            "hl7v2.repetition-unmapped",
            "MSG[1]/PID[1]-5",
        ),
        (
            (PID, OBR, WBC, "NTE|1||bad \\Zlocal\\ escape"),
            "hl7v2.escape-invalid",
            "MSG[1]/NTE[1]-3",
        ),
    ],
)
def test_issue_is_raised_with_its_location(
    segments: tuple[str, ...], code: str, location: str
) -> None:
    read_message = read(message(*segments))
    assert location in [i.location for i in read_message.issues if i.code == code], codes(
        read_message.issues
    )


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        ("3.0", "'3.0' is not an HL7 v2 version (table 0104)"),
        ("V2.5", "'V2.5' is not"),
        ("", "is empty"),
    ],
)
def test_an_unknown_or_empty_msh_12_is_said_and_the_message_still_read(
    sent: str, said: str
) -> None:
    read_message = read(message(PID, OBR, WBC, msh=MSH.replace("|2.5.1|", f"|{sent}|")))
    (found,) = [i for i in read_message.issues if i.code == "hl7v2.version-unknown"]
    assert (found.severity, found.location) == (Severity.WARNING, "MSG[1]/MSH[1]-12")
    assert f"MSH-12 version ID {said}" in found.text
    assert read_message.version == sent
    assert len(read_message.groups[0].orders[0].results) == 1


@pytest.mark.parametrize("kind", ["ORU^R01^ORU_R01", "ORU^R32^ORU_R30", "ORU^R30"])
def test_an_unknown_msh_12_names_the_message_type_read(kind: str) -> None:
    # a point-of-care ORU^R32 was said to be "read as an ORU^R01"
    msh = MSH.replace("|2.5.1|", "|V2.5|").replace("ORU^R01^ORU_R01", kind)
    read_message = read(message(PID, OBR, WBC, msh=msh))
    (found,) = [i for i in read_message.issues if i.code == "hl7v2.version-unknown"]
    type_read = "^".join(kind.split("^")[:2])
    assert found.text == (
        f"MSH-12 version ID 'V2.5' is not an HL7 v2 version (table 0104); read as an "
        f"{type_read} of any v2 version, which leukoflag reads the same way"
    )


@pytest.mark.parametrize("sent", ["2.3", "2.5.1^USA", "2.7.1", "2.9"])
def test_a_known_version_raises_nothing(sent: str) -> None:
    read_message = read(message(PID, OBR, WBC, msh=MSH.replace("|2.5.1|", f"|{sent}|")))
    assert "hl7v2.version-unknown" not in codes(read_message.issues)


def test_utf8_under_an_ascii_label_is_read_as_utf8() -> None:
    msh = MSH.replace("UNICODE UTF-8", "ASCII")
    data = message("PID|1||MRN1||MÜLLER^JOSÉ||19800101|M", OBR, WBC, msh=msh).encode("utf-8")
    read_message = read(data)
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert issue(read_message, "hl7v2.charset-wrong").location == "MSG[1]/MSH[1]-18"


def test_undecodable_bytes_are_replaced_with_an_error() -> None:
    msh = MSH.replace("UNICODE UTF-8", "")
    data = message("PID|1||MRN1||DOE\x81^JOHN||19800101|M", OBR, WBC, msh=msh).encode("latin-1")
    read_message = read(data, Settings(fallback_charset="cp1252"))
    assert read_message.groups[0].patient.family == "DOE\ufffd"  # type: ignore[union-attr]
    assert issue(read_message, "hl7v2.charset-undecodable").severity is Severity.ERROR


def test_byte_order_mark_wins_over_msh18() -> None:
    msh = MSH.replace("UNICODE UTF-8", "8859/1")
    data = (
        b"\xef\xbb\xbf" + message("PID|1||MRN1||MÜLLER^JO||19800101|M", OBR, WBC, msh=msh).encode()
    )
    read_message = read(data)
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert "hl7v2.charset-bom-mismatch" in codes(read_message.issues)


def test_sn_with_inverted_range_is_still_a_range() -> None:
    read_message = read(message(PID, OBR, SN_RANGE))
    assert "hl7v2.range-inverted" in codes(read_message.issues)


def test_every_issue_code_is_documented() -> None:
    from pathlib import Path

    documented = (Path(__file__).parents[2] / "docs" / "issues.md").read_text("utf-8")
    source = Path(__file__).parents[2] / "src" / "leukoflag" / "hl7v2"
    import re

    used = set()
    for path in source.glob("*.py"):
        used.update(re.findall(r'"(hl7v2\.[a-z0-9-]+)"', path.read_text("utf-8")))
    used.update({"hl7v2.obx-without-obr", "hl7v2.spm-without-obr"})
    missing = sorted(c for c in used if f"`{c}`" not in documented)
    assert not missing


def test_explicit_nulls_in_msh_are_empty_too() -> None:
    # MSH-3 '""' became the Provenance's sending application '""'; MSH-12 '""' a version '""'
    msh = MSH.replace("CORELAB", '""').replace("|2.5.1|", '|""|')
    read_message = read(message(PID, OBR, WBC, msh=msh))
    assert (read_message.sending_application, read_message.version) == ("", "")
    (found,) = [i for i in read_message.issues if i.code == "hl7v2.version-unknown"]
    assert "MSH-12 version ID is empty" in found.text


@pytest.mark.parametrize(
    ("unit", "text", "code"),
    [('""^""^""', None, None), ('K/uL^""^""', "K/uL", ""), ('""^K/uL^""', "K/uL", "")],
)
def test_explicit_nulls_in_obx_6_components_are_empty_too(
    unit: str, text: str | None, code: str | None
) -> None:
    # '""^""^""' was read as the unit '""' (units.unknown-unit), and 'K/uL^""^""' kept '""' as
    # the unit text of the original quantity: a component of "" is HL7's null, as a field is
    read_message = read(message(PID, OBR, obx("3.1", unit=unit)))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    if text is None:
        assert result.unit is None
    else:
        assert result.unit is not None
        assert (result.unit.text, result.unit.code) == (text, code)
    conv = leukoflag.convert(message(PID, OBR, obx("3.1", unit=unit)))
    assert conv.findings[0].value_per_ul == Decimal("3100")
    assert "units.unknown-unit" not in codes(conv.issues)


def test_explicit_nulls_in_coded_components_and_flag_repetitions_are_empty_too() -> None:
    # a LIS clearing the alternate triplet of OBX-3, OBR-4 and SPM-4 ('^""^""^""') wrote each as
    # a coding '""' of a system named '""', and OBX-8 'L~""' gave hl7v2.flag-unknown for '""'
    wbc = obx(
        "3.1",
        code='6690-2^Leukocytes [#/volume] in Blood by Automated count^LN^""^""^""',
        flags='L~""',
    )
    obr = OBR.replace("by Automated count^LN|", 'by Automated count^LN^""^""^""|')
    spm = SPM.replace("^HL70487|", '^HL70487^""^""^""|')
    read_message = read(message(PID, obr, wbc, spm))
    (order,) = [o for g in read_message.groups for o in g.orders]
    (result,) = order.results
    assert [c.code for c in result.code.codings] == ["6690-2"]
    assert [c.code for c in order.code.codings] == ["58410-2"]
    (specimen,) = order.specimens
    assert specimen.type is not None
    assert [c.code for c in specimen.type.codings] == ["BLDV"]
    assert [c.code for c in result.sender_flags] == ["L"]
    conv = leukoflag.convert(message(PID, obr, wbc, spm))
    assert conv.findings[0].code == "L"
    assert "hl7v2.flag-unknown" not in codes(conv.issues)
    assert "%22%22" not in json.dumps(conv.bundles[0], default=str)  # no system named '""'


def test_two_quotes_sent_escaped_in_obx_6_and_obx_8_are_text_not_a_null() -> None:
    # \X22\" is the text '""' (as in a CWE display, a name or a note): it was told as a null
    # after decoding, so OBX-6 read as no unit, the WBC judged in one inferred from its
    # magnitude ('no unit sent'), and OBX-8's unknown flag '""' was dropped without a word
    escaped = '\\X22\\"'
    wbc = obx("3.1", unit=f"{escaped}^^UCUM", flags=escaped)
    read_message = read(message(PID, OBR, wbc))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    assert result.unit is not None
    assert result.unit.text == '""'
    assert [c.code for c in result.sender_flags] == ['""']
    conv = leukoflag.convert(message(PID, OBR, wbc))
    assert conv.findings == []
    found = [(i.code, i.location) for i in conv.issues]
    assert not [f for f in found if f[0] == "units.unit-inferred"]
    assert ("units.unknown-unit", "MSG[1]/OBX[1]-6") in found
    assert ("hl7v2.flag-unknown", "MSG[1]/OBX[1]-8") in found


@pytest.mark.parametrize(
    ("sent", "value"),
    [("~2.1", "2.1"), ("2.1~", "2.1"), ("~~2.1~", "2.1")],
)
def test_empty_obx_5_repetitions_carry_nothing_and_the_value_is_the_one_sent(
    sent: str, value: str
) -> None:
    read_message = read(message(PID, OBR, obx(sent)))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    assert result.value == Number(Decimal(value), value)
    assert [i for i in read_message.issues if "OBX" in i.location] == []


def test_empty_repetitions_of_a_name_and_an_ordering_provider_are_passed_over() -> None:
    # A LIS that starts repeating fields with an empty repetition: '~KOWALSKI^ROSA'.
    pid = "PID|1||MRN2290^^^RIVERSIDE^MR||~KOWALSKI^ROSA^M||19720409|F"
    obr = OBR.replace("5820^VARGA^ILONA^^^^MD", "~5820^VARGA^ILONA^^^^MD~")
    read_message = read(message(pid, obr, obx("2.9~")))
    (group,) = read_message.groups
    assert group.patient is not None
    assert (group.patient.family, group.patient.given) == ("KOWALSKI", ("ROSA", "M"))
    assert group.orders[0].ordering_provider == "ILONA VARGA, MD (5820)"
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)


def test_an_order_code_and_specimen_padded_with_an_empty_repetition_are_read() -> None:
    # The same LIS pads OBR-4 and SPM-2, SPM-4 and SPM-8 (which do not repeat) with an empty
    # first repetition: the empty one was read, so the report had no code (hl7v2.code-missing),
    # the specimen no ID, type or site, and what was sent was quoted as 'repetitions after the
    # first'. docs/hl7v2.md: such a field is read from its first repetition that holds something.
    obr = OBR.replace("|58410-2^", "|~58410-2^")
    spm = (
        "SPM|1|~SP7790^CORELAB||~BLDV^Blood, venous^HL70487||||~LACF^Fossa, antecubital, "
        "left^HL70550|||P^Patient^HL70369||||||20261124080500-0500|20261124081900-0500"
    )
    read_message = read(message(PID, PV1, ORC, obr, obx("4.2"), spm))
    order = only_order(read_message)
    assert order.code.code_in("http://loinc.org") == "58410-2"
    (specimen,) = order.specimens
    assert specimen.identifier is not None
    assert (specimen.identifier.value, specimen.identifier.assigner) == ("SP7790", "CORELAB")
    assert specimen.type is not None
    assert [(c.code, c.display) for c in specimen.type.codings] == [("BLDV", "Blood, venous")]
    assert specimen.source_site is not None
    assert [c.code for c in specimen.source_site.codings] == ["LACF"]
    assert not [
        i
        for i in read_message.issues
        if i.code in {"hl7v2.code-missing", "hl7v2.repetition-unmapped"}
    ]


def test_an_obr_15_specimen_source_padded_with_an_empty_repetition_is_read() -> None:
    # An HL7 v2.3 order's specimen (OBR-15, which does not repeat) sent after an empty
    # repetition: the order had no specimen, its type quoted as 'repetitions after the first'.
    obr = (
        "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
        "20261124080500-0500|||||||20261124081900-0500|~BLDV&Blood venous&HL70070"
    )
    read_message = read(message(PID, PV1, ORC, obr, obx("4.2")))
    (specimen,) = only_order(read_message).specimens
    assert specimen.location == "MSG[1]/OBR[1]-15"
    assert specimen.type is not None
    assert [(c.code, c.display) for c in specimen.type.codings] == [("BLDV", "Blood venous")]
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)


def test_parts_not_carried_of_a_padded_name_and_visit_number_are_at_their_repetition() -> None:
    # A LIS that pads PID-5 and PV1-19 with an empty first repetition: the name and visit number
    # read are the second sent, and a part of them not carried is there, as PID-3's is
    # ('PID-3[2].6'); it was said to be at the first ('PID-5.8', 'PV1-19.6'), which is empty.
    pid = "PID|1||~MRN2290^^^RIVERSIDE^MR^CORELAB||~KOWALSKI^ROSA^^^^^L^A||19720409|F"
    pv1 = "PV1|1|O|ONC^12^B^RIVERSIDE||||||||||||||||~V7788^^^RIVERSIDE^VN^WARD4"
    read_message = read(message(pid, pv1, OBR, obx("4.2")))
    assert {
        i.location: i.text for i in read_message.issues if i.code == "hl7v2.component-unmapped"
    } == {
        "MSG[1]/PID[1]-3[2].6": "PID-3[2].6 is not carried: 'CORELAB'",
        "MSG[1]/PID[1]-5[2].8": "PID-5[2].8 is not carried: 'A'",
        "MSG[1]/PV1[1]-19[2].6": "PV1-19[2].6 is not carried: 'WARD4'",
    }


def test_parts_not_carried_of_a_padded_doctor_specimen_role_method_or_device_are_there() -> None:
    # The same LIS pads the other repeating fields it reads one repetition of (the first
    # attending doctor, the collector, the ordering provider, the specimen role, the method and
    # the instrument) with an empty first repetition: a part of the one read that is not carried
    # is at the second, where it was sent; it was said to be at the first ('PV1-7.13',
    # 'OBR-10.10', 'OBR-16.13', 'SPM-11.7', 'OBX-17.7', 'OBX-18.5'), which is empty, though
    # docs/issues.md locates a part of PV1-7 from the second repetition on at it.
    pv1 = "PV1|1|O|ONC^12^B^RIVERSIDE||||~5820^VARGA^ILONA^^^DR^MD^^^^^^NPI"
    obr = (
        "OBR|1|ORD55377^EHR|LAB88164^CORELAB|58410-2^CBC panel - Blood by Automated count^LN|||"
        "20261124080500-0500|||~7001^OSEI^KWAME^^^^^^^L||||||~5820^VARGA^ILONA^^^^MD^^^^^^NPI|||||"
        "|20261124090500-0500|||F"
    )
    wbc = (
        "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||3.1|"
        "10*3/uL^^UCUM|4.0-11.0|L|||F|||20261124080500-0500|||"
        "~AMP^Automated count^^^^^2.1|~XN1000^SYSMEX^^^SN44109"
    )
    spm = SPM.replace("P^Patient^HL70369", "~P^Patient^^^^^2.9")
    read_message = read(message(PID, pv1, ORC, obr, wbc, spm))
    assert {
        i.location: i.text for i in read_message.issues if i.code == "hl7v2.component-unmapped"
    } == {
        "MSG[1]/PV1[1]-7[2].13": "PV1-7[2].13 is not carried: 'NPI'",
        "MSG[1]/OBR[1]-10[2].10": "OBR-10[2].10 is not carried: 'L'",
        "MSG[1]/OBR[1]-16[2].13": "OBR-16[2].13 is not carried: 'NPI'",
        "MSG[1]/OBX[1]-17[2].7": "OBX-17[2].7 is not carried: '2.1'",
        "MSG[1]/OBX[1]-18[2].5": "OBX-18[2].5 is not carried: 'SN44109'",
        "MSG[1]/SPM[1]-11[2].7": "SPM-11[2].7 is not carried: '2.9'",
    }
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)


def test_parts_not_carried_of_padded_timing_and_order_fields_are_at_their_repetition() -> None:
    # The same LIS pads the order's quantity/timing (OBR-27, ORC-7: v2.3-2.4) and the other
    # fields that do not repeat with an empty first repetition: a part of the one read that is
    # not carried is at the second, where it was sent, as for OBR-16 above; it was said to be at
    # the field ('OBR-27.1', 'ORC-7.4', 'OBR-24.2', 'OBR-29.3', 'OBR-32.2', 'PID-30.2', 'PV1-3.5',
    # 'OBR-2.2', 'ORC-4.3', 'OBR-4.7', 'SPM-2.1', 'SPM-4.7', 'SPM-27.7', 'NTE-5.10').
    pid = "PID|1||MRN2290^^^RIVERSIDE^MR||KOWALSKI^ROSA||19720409|F" + "|" * 22 + "~Y^Yes"
    pv1 = "PV1|1|O|~ONC^12^B^RIVERSIDE^WARD"
    orc = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB|~GRP12^EHR^^X|CM||~^^^20261124080000-0500^^S"
    obr = (
        "OBR|1|~ORD55377^EHR^^X|LAB88164^CORELAB|~58410-2^CBC panel^^^^^2.74|||"
        "20261124080500-0500|||||||||||||||20261124090500-0500||~HM^Hematology|F||"
        "~1^^^20261124080000-0500^^S||~ORD1&EHR^LAB1&CORELAB^X|||~3310&NAKAMURA&HANA^20261124"
    )
    nte = "NTE|1||Smear reviewed.||~7001^OSEI^KWAME^^^^^^^L"
    spm = (
        "SPM|1|~SP1&EHR^SP7790&CORELAB||~BLDV^Blood, venous^^^^^2.9||||||||||||||"
        "20261124081900-0500|||||||||~SST^Serum separator tube^^^^^2.9"
    )
    read_message = read(message(pid, pv1, orc, obr, obx("4.2"), nte, spm))
    assert {
        i.location: i.text for i in read_message.issues if i.code == "hl7v2.component-unmapped"
    } == {
        "MSG[1]/PID[1]-30[2].2": "PID-30[2].2 is not carried (an ID: its code is read): 'Yes'",
        "MSG[1]/PV1[1]-3[2].5": "PV1-3[2].5 is not carried: 'WARD'",
        "MSG[1]/ORC[1]-4[2].4": "ORC-4[2].4 is not carried: 'X'",
        "MSG[1]/ORC[1]-7[2].4": "ORC-7[2].4 is not carried: '20261124080000-0500'",
        "MSG[1]/OBR[1]-2[2].4": "OBR-2[2].4 is not carried: 'X'",
        "MSG[1]/OBR[1]-4[2].7": "OBR-4[2].7 is not carried: '2.74'",
        "MSG[1]/OBR[1]-24[2].2": (
            "OBR-24[2].2 is not carried (an ID: its code is read): 'Hematology'"
        ),
        "MSG[1]/OBR[1]-27[2].1": "OBR-27[2].1 is not carried: '1'",
        "MSG[1]/OBR[1]-27[2].4": "OBR-27[2].4 is not carried: '20261124080000-0500'",
        "MSG[1]/OBR[1]-29[2].3": "OBR-29[2].3 is not carried: 'X'",
        "MSG[1]/OBR[1]-32[2].2": "OBR-32[2].2 is not carried: '20261124'",
        "MSG[1]/NTE[1]-5[2].10": "NTE-5[2].10 is not carried: 'L'",
        "MSG[1]/SPM[1]-2[2].1": (
            "SPM-2[2].1 placer's specimen ID is not carried (the filler's, SPM-2[2].2, is): "
            "'SP1&EHR'"
        ),
        "MSG[1]/SPM[1]-4[2].7": "SPM-4[2].7 is not carried: '2.9'",
        "MSG[1]/SPM[1]-27[2].7": "SPM-27[2].7 is not carried: '2.9'",
    }
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)


def test_a_priority_the_ig_does_not_map_after_an_empty_repetition_is_named_at_it() -> None:
    # OBR-27.6 'P' (preop) and ORC-7.6 'R' beside OBR-27.6 'S': each is said not carried at
    # the repetition read, and named so in the text.
    orc = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB||CM||~^^^^^R"
    obr = OBR.removesuffix("|||F") + "|||F||~^^^^^P"
    read_message = read(message(PID, orc, obr, obx("4.2")))
    assert [
        (i.location, i.text) for i in read_message.issues if i.code == "hl7v2.component-unmapped"
    ] == [
        (
            "MSG[1]/OBR[1]-27[2].6",
            (
                "OBR-27[2].6 priority 'P' is not one the V2-to-FHIR IG maps to "
                "ServiceRequest.priority (HL7 table 0485: S stat, A asap, R routine): not carried"
            ),
        ),
    ]
    orc = "ORC|RE|ORD55377^EHR|LAB88164^CORELAB||CM||~^^^^^R"
    obr = OBR.removesuffix("|||F") + "|||F||~^^^^^S"
    read_message = read(message(PID, orc, obr, obx("4.2")))
    assert [
        (i.location, i.text) for i in read_message.issues if i.code == "hl7v2.component-unmapped"
    ] == [
        (
            "MSG[1]/ORC[1]-7[2].6",
            (
                "ORC-7[2].6 priority routine is not carried: the order's priority is stat, from "
                "OBR[1]-27[2].6"
            ),
        ),
    ]


def test_a_second_visit_number_is_not_dropped_without_an_issue() -> None:
    # PV1-19 is read once: the visit number after the first was dropped silently, though
    # docs/hl7v2.md lists PV1-19 among the fields whose other repetitions are reported.
    pv1 = "PV1|1|O|ONC^12^B^RIVERSIDE||||||||||||||||V7788^^^RIVERSIDE^VN~V7790^^^RIVERSIDE^VN"
    read_message = read(message(PID, pv1, OBR, obx("4.2")))
    (group,) = read_message.groups
    assert group.visit is not None
    assert group.visit.visit_number is not None
    assert group.visit.visit_number.value == "V7788"
    found = issue(read_message, "hl7v2.repetition-unmapped")
    assert (found.location, found.text) == (
        "MSG[1]/PV1[1]-19",
        "PV1-19 repetitions after the first are not carried: 'V7790^^^RIVERSIDE^VN'",
    )


def test_obx_5_repetitions_not_carried_are_quoted_bounded_saying_they_were_cut() -> None:
    read_message = read(message(PID, OBR, obx("4.1~" * 41)))
    text = issue(read_message, "hl7v2.repetition-unmapped").text
    assert text.startswith("OBX-5 repetitions after the first are not carried: '4.1~4.1~")
    assert text.endswith("… (159 characters)")


def test_an_observation_type_sent_as_a_coded_element_keeps_its_code_and_reports_the_rest() -> None:
    # OBX-29 (ID, table 0936) sent as 'RSLT^Result^HL70936': the text and system were dropped
    # without an Issue, and 'RSLT~AOE' became the one code 'RSLT~AOE'.
    coded = obx("4.2", status="F") + "|" * 18 + "RSLT^Result^HL70936"
    read_message = read(message(PID, OBR, coded))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    assert result.category is not None
    assert [c.code for c in result.category.codings] == ["RSLT"]
    assert [(i.code, i.location, i.text) for i in read_message.issues if "OBX" in i.location] == [
        (
            "hl7v2.component-unmapped",
            "MSG[1]/OBX[1]-29.2",
            "OBX-29.2 is not carried (OBX-29 is an ID of table 0936): 'Result'",
        ),
        (
            "hl7v2.component-unmapped",
            "MSG[1]/OBX[1]-29.3",
            "OBX-29.3 is not carried (OBX-29 is an ID of table 0936): 'HL70936'",
        ),
    ]


def test_a_repeated_observation_type_is_read_from_its_first_repetition() -> None:
    repeated = obx("4.2", status="F") + "|" * 18 + "~RSLT~AOE"
    read_message = read(message(PID, OBR, repeated))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    assert result.category is not None
    assert [c.code for c in result.category.codings] == ["RSLT"]
    found = issue(read_message, "hl7v2.repetition-unmapped")
    assert (found.location, found.text) == (
        "MSG[1]/OBX[1]-29",
        "OBX-29 repetitions after the first are not carried: 'AOE'",
    )


@pytest.mark.parametrize(
    ("sent", "code", "escape_issue"),
    [
        ("\\H\\RSLT\\N\\", "RSLT", False),  # highlighting: dropped, as in every field
        ("AOE\\T\\1", "AOE&1", False),  # a local code holding the subcomponent separator
        ("SCI\\Zlab\\", "SCI\\Zlab\\", True),  # a local escape: kept as sent, with an Issue
    ],
)
def test_an_observation_type_is_unescaped(sent: str, code: str, escape_issue: bool) -> None:
    # OBX-29 was the one coded field read without decoding its escapes: 'RSLT' arrived in the
    # category as '\H\RSLT\N\'
    typed = obx("4.2", status="F") + "|" * 18 + sent
    read_message = read(message(PID, OBR, typed))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    assert result.category is not None
    assert [c.code for c in result.category.codings] == [code]
    found = [(i.code, i.location) for i in read_message.issues if "OBX" in i.location]
    assert found == ([("hl7v2.escape-invalid", "MSG[1]/OBX[1]-29")] if escape_issue else [])


@pytest.mark.parametrize(
    ("sent", "unmapped"),
    [("~", []), ("~~", []), ("^Result^HL70936", ["MSG[1]/OBX[1]-29.2", "MSG[1]/OBX[1]-29.3"])],
)
def test_an_observation_type_without_its_code_is_no_category(
    sent: str, unmapped: list[str]
) -> None:
    # empty repetitions, or a CWE whose first component is empty, name no type of table 0936:
    # the count keeps the category every in-scope count gets (laboratory), not a codeless one
    typed = obx("4.2", status="F") + "|" * 18 + sent
    read_message = read(message(PID, OBR, typed))
    (result,) = [r for g in read_message.groups for o in g.orders for r in o.results]
    assert result.category is None
    found = [i for i in read_message.issues if "OBX" in i.location]
    assert [(i.code, i.location) for i in found] == [
        ("hl7v2.component-unmapped", location) for location in unmapped
    ]
    (bundle,) = leukoflag.convert(message(PID, OBR, typed)).bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["category"][0]["coding"][0]["code"] == "laboratory"


@pytest.mark.parametrize(
    ("control", "meaning"),
    [("OC", "order cancelled"), ("CA", "cancel order request"), ("OD", "order discontinued")],
)
def test_an_orc_1_cancelling_the_order_of_final_results_is_said_and_the_results_still_judged(
    control: str, meaning: str
) -> None:
    # ORC-1 is not written (output.md): a cancelled order beside final results would be lost
    conv = leukoflag.convert(message(PID, ORC.replace("ORC|RE|", f"ORC|{control}|"), OBR, WBC))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert (found.severity, found.location) == (Severity.WARNING, "MSG[1]/ORC[1]-1")
    assert f"'{control}' ({meaning})" in found.text
    assert "(OBR-25 'F', OBX-11)" in found.text
    (wbc,) = conv.findings
    assert (wbc.location, wbc.code, f"{wbc.value_per_ul:f}") == ("MSG[1]/OBX[1]", "L", "3100")


def test_an_orc_1_cancelling_an_order_whose_results_are_cancelled_too_does_not_say_judged() -> None:
    # OBR-25 X and OBX-11 X: nothing is judged, and the warning must not say it is
    obr = OBR.removesuffix("|||F") + "|||X"
    sent = message(PID, ORC.replace("ORC|RE|", "ORC|OC|"), obr, WBC.replace("|F|", "|X|"))
    conv = leukoflag.convert(sent)
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert "their own status decides whether they are judged (OBR-25 'X', OBX-11)" in found.text
    assert conv.findings == []


@pytest.mark.parametrize("control", ["RE", "SC", ""])
def test_an_orc_1_that_does_not_cancel_the_order_raises_nothing(control: str) -> None:
    conv = leukoflag.convert(message(PID, ORC.replace("ORC|RE|", f"ORC|{control}|"), OBR, WBC))
    assert "hl7v2.order-control-cancelled" not in codes(conv.issues)


def test_an_orc_1_cancelling_an_order_orc_5_calls_cancelled_does_not_deny_it_is_written() -> None:
    # ORC-5 CA is written as ServiceRequest.status revoked: the warning said the output did not
    # carry the cancellation
    orc = ORC.replace("ORC|RE|", "ORC|CA|").removesuffix("|CM") + "|CA"
    conv = leukoflag.convert(message(PID, orc, OBR, WBC))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert found.text == (
        "ORC-1 'CA' (cancel order request) says the order was cancelled or discontinued, as "
        "ORC-5 'CA' does (ServiceRequest.status revoked): its results are kept, and their own "
        "status decides whether they are judged (OBR-25 'F', OBX-11)"
    )
    (bundle,) = conv.bundles
    (request,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert request["status"] == "revoked"


def test_an_orc_1_cancelling_an_order_orc_5_calls_completed_says_the_fields_disagree() -> None:
    # ORC-1 CA beside ORC-5 CM: ServiceRequest.status is written completed, and the warning said
    # only that the cancellation 'is not carried', hiding that ORC-5 says otherwise
    conv = leukoflag.convert(message(PID, ORC.replace("ORC|RE|", "ORC|CA|"), OBR, WBC))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert found.text == (
        "ORC-1 'CA' (cancel order request) says the order was cancelled or discontinued, but "
        "ORC-5 'CM' does not (ServiceRequest.status completed is written from it, and the "
        "cancellation is not carried): its results are kept, and their own status decides "
        "whether they are judged (OBR-25 'F', OBX-11)"
    )
    (bundle,) = conv.bundles
    (request,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert request["status"] == "completed"


def test_an_orc_1_cancelling_an_order_without_orc_5_says_the_output_does_not_carry_it() -> None:
    orc = ORC.replace("ORC|RE|", "ORC|DC|").removesuffix("|CM")
    conv = leukoflag.convert(message(PID, orc, OBR, WBC))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert "discontinued, which the FHIR output does not carry: its results" in found.text


def test_the_version_of_a_local_code_is_written_with_its_v2_named_system() -> None:
    # A v2.7 CWE.7 beside a local system (99CORE) is written: the FHIR Coding has the system
    # http://leukoflag.org/fhir/CodeSystem/v2-named/99CORE (649d78f), so the version means
    # something there. It was still said 'not carried' (hl7v2.component-unmapped at OBR-4.7
    # and OBX-3.7) while the Bundle carried it.
    local_obr = OBR.replace(
        "58410-2^CBC panel - Blood by Automated count^LN", "CBC^Complete blood count^99CORE^^^^7.2"
    )
    local_obx = obx("3.1", code="WBC^White blood cell count^99CORE^^^^7.2^^Leukocytes")
    conv = leukoflag.convert(message(PID, local_obr, local_obx))
    (bundle,) = conv.bundles
    written = {
        e["resource"]["resourceType"]: e["resource"]["code"]["coding"][0]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] in ("Observation", "DiagnosticReport")
    }
    system = "http://leukoflag.org/fhir/CodeSystem/v2-named/99CORE"
    assert written["DiagnosticReport"] == {
        "system": system,
        "version": "7.2",
        "code": "CBC",
        "display": "Complete blood count",
    }
    assert written["Observation"] == {
        "system": system,
        "version": "7.2",
        "code": "WBC",
        "display": "White blood cell count",
    }
    assert [i for i in conv.issues if i.code == "hl7v2.component-unmapped"] == []


def test_the_version_of_an_alternate_local_code_is_written_with_its_v2_named_system() -> None:
    code = "6690-2^Leukocytes^LN^WBC^White cells^99CORE^2.78^4.1"
    conv = leukoflag.convert(message(PID, OBR, obx("3.1", code=code)))
    (observation,) = [
        e["resource"]
        for e in conv.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["code"]["coding"][1] == {
        "system": "http://leukoflag.org/fhir/CodeSystem/v2-named/99CORE",
        "version": "4.1",
        "code": "WBC",
        "display": "White cells",
    }
    assert [i.location for i in conv.issues if i.code == "hl7v2.component-unmapped"] == []


def test_the_version_of_a_code_sent_without_system_is_said_not_carried() -> None:
    # no CWE.3 name or OID: the Coding is written without system, and a version without one
    # means nothing, so it is not written
    local_obx = obx("3.1", code="WBC^White blood cell count^^^^^7.2")
    read_message = read(message(PID, OBR, local_obx))
    (result,) = read_message.groups[0].orders[0].results
    assert result.code is not None
    assert result.code.codings[0].version == "7.2"  # kept in the model, only FHIR cannot hold it
    unmapped = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert [(i.location, i.text) for i in unmapped] == [
        ("MSG[1]/OBX[1]-3.7", "OBX-3.7 is not carried: '7.2'")
    ]
    conv = leukoflag.convert(message(PID, OBR, local_obx))
    (observation,) = [
        e["resource"]
        for e in conv.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert "version" not in observation["code"]["coding"][0]


def test_parts_of_obx_3_and_obx_6_not_carried_are_located_at_the_part() -> None:
    # docs/issues.md: "located at the part"; OBX-3.8 and OBX-6.7-9 were located at the field
    # (the alternate coding sent without a system: its version is not written)
    code = "6690-2^Leukocytes^LN^WBC^White cells^^2.78^4.1"
    unit = "10*3/uL^^UCUM^K/uL^thousand per uL^99CORE^2.1^v3^thou/uL"
    read_message = read(message(PID, OBR, obx("6.5", code=code, unit=unit)))
    unmapped = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert [(i.location, i.text) for i in unmapped] == [
        ("MSG[1]/OBX[1]-3.8", "OBX-3.8 is not carried: '4.1'"),
        (
            "MSG[1]/OBX[1]-6.4",
            (
                "alternate unit 'K/uL^thousand per uL^99CORE' (OBX-6.4-6) is checked against the "
                "unit (OBX-6.1-3) but not written beside it, except in the unit-alternate-sent "
                "extension when they disagree"
            ),
        ),
        ("MSG[1]/OBX[1]-6.7", "OBX-6.7 is not carried: '2.1'"),
        ("MSG[1]/OBX[1]-6.8", "OBX-6.8 is not carried: 'v3'"),
        (
            "MSG[1]/OBX[1]-6.9",
            (
                "original text 'thou/uL' (OBX-6.9) is checked against the unit (OBX-6.1-2) but "
                "not written beside it, except in the unit-original-text-sent extension when "
                "they disagree"
            ),
        ),
    ]


def test_an_alternate_unit_checked_and_kept_on_a_conflict_is_not_said_to_be_dropped() -> None:
    # OBX-6.4-6 is read and checked against OBX-6.1-3 (units.unit-conflict), and kept in the
    # unit-alternate-sent extension when they disagree (docs/output.md): the Issue said "is not
    # carried" beside the very extension that carries it
    unit = "/uL^/uL^UCUM^10*3/uL^10*3/uL^UCUM"
    conversion = leukoflag.convert(message(PID, OBR, obx("4", unit=unit)))
    ((location, text),) = [
        (i.location, i.text) for i in conversion.issues if i.code == "hl7v2.component-unmapped"
    ]
    assert location == "MSG[1]/OBX[1]-6.4"
    assert text == (
        "alternate unit '10*3/uL^10*3/uL^UCUM' (OBX-6.4-6) is checked against the unit "
        "(OBX-6.1-3) but not written beside it, except in the unit-alternate-sent extension "
        "when they disagree"
    )
    assert "units.unit-conflict" in codes(conversion.issues)
    (bundle,) = conversion.bundles
    (wbc,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    (kept,) = wbc["valueQuantity"]["extension"]
    assert kept["url"].endswith("/unit-alternate-sent")
    assert kept["valueCoding"]["code"] == "10*3/uL"


def test_an_original_unit_text_checked_and_kept_on_a_conflict_is_not_said_to_be_dropped() -> None:
    # OBX-6.9 beside a unit in OBX-6.1-2 is checked against it (units.unit-conflict when it
    # names another scale or no count) and kept in the unit-original-text-sent extension then:
    # the Issue said "OBX-6.9 is not carried: 'cells/uL'" beside the extension that carries it
    conversion = leukoflag.convert(
        message(PID, OBR, obx("3.1", unit="10*3/uL^^UCUM^^^^^^cells/uL"))
    )
    ((location, text),) = [
        (i.location, i.text) for i in conversion.issues if i.code == "hl7v2.component-unmapped"
    ]
    assert location == "MSG[1]/OBX[1]-6.9"
    assert text == (
        "original text 'cells/uL' (OBX-6.9) is checked against the unit (OBX-6.1-2) but not "
        "written beside it, except in the unit-original-text-sent extension when they disagree"
    )
    assert "units.unit-conflict" in codes(conversion.issues)
    (bundle,) = conversion.bundles
    (wbc,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    (kept,) = wbc["valueQuantity"]["extension"]
    assert kept == {
        "url": "http://leukoflag.org/fhir/StructureDefinition/unit-original-text-sent",
        "valueString": "cells/uL",
    }


def test_an_alternate_given_only_as_a_system_is_said_not_carried() -> None:
    read_message = read(message(PID, OBR, obx("6.5", unit="10*3/uL^^UCUM^^^99CORE")))
    unmapped = [i.text for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert unmapped == ["alternate unit '99CORE' (OBX-6.4-6) is not carried"]


def test_the_version_of_a_code_with_a_system_is_carried() -> None:
    versioned = obx("3.1", code="6690-2^Leukocytes^LN^WBC^White blood cell count^99CORE^2.78")
    read_message = read(message(PID, OBR, versioned))
    assert "hl7v2.component-unmapped" not in codes(read_message.issues)
    coding = read_message.groups[0].orders[0].results[0].code.codings[0]
    assert (coding.system, coding.version) == ("http://loinc.org", "2.78")


def test_a_problem_sent_in_each_of_thousands_of_repetitions_is_one_issue() -> None:
    # An LIS repeating its local flag CRIT and a note's \Z\ escape 2,000 times: one Issue per
    # problem and location, not 2,000 identical ones each (a report of megabytes)
    conv = leukoflag.convert(
        message(
            PID,
            OBR,
            obx("1.2", flags="~".join(["CRIT"] * 2_000)),
            "NTE|1||" + "~".join(["see \\Zcomment\\"] * 2_000),
        )
    )
    assert [(i.code, i.location, i.text) for i in conv.issues if "MSH" not in i.location] == [
        ("hl7v2.flag-unknown", "MSG[1]/OBX[1]-8", "abnormal flag 'CRIT' is not in HL7 table 0078"),
        (
            "hl7v2.escape-invalid",
            "MSG[1]/NTE[1]-3",
            "locally defined escape \\Zcomment\\ has no agreed meaning",
        ),
        (
            "fhir.interpretation-unknown",
            "MSG[1]/OBX[1]-8",
            (
                "the sender's flag 'CRIT' is in neither HL7 table 0078 nor "
                "v3-ObservationInterpretation; written without a system"
            ),
        ),
    ]


def test_thousands_of_different_local_flags_in_one_obx_8_are_a_few_issues() -> None:
    # An analyzer dumping 2,000 suspect-flag codes of its own into OBX-8: 2,000
    # hl7v2.flag-unknown and 2,000 fhir.interpretation-unknown Issues at one location (a report
    # growing with the field, 100,000 Issues for 50,000 codes), where the codes beyond the
    # first few are one Issue naming the first of them and how many more
    flags = [f"IP{n:04}" for n in range(2_000)]
    conv = leukoflag.convert(message(PID, OBR, obx("1.2", flags="~".join(flags))))
    found = [(i.code, i.location, i.text) for i in conv.issues if "-8" in i.location]
    unknown = [text for code, _, text in found if code == "hl7v2.flag-unknown"]
    assert unknown == [
        *(f"abnormal flag 'IP000{n}' is not in HL7 table 0078" for n in range(5)),
        (
            "1,995 more abnormal flags are not in HL7 table 0078: 'IP0005', 'IP0006', 'IP0007' "
            "and 1,992 more"
        ),
    ]
    written = [text for code, _, text in found if code == "fhir.interpretation-unknown"]
    assert len(written) == 6
    assert written[5] == (
        "1,995 more of the sender's flags are in neither HL7 table 0078 nor "
        "v3-ObservationInterpretation; written without a system: 'IP0005', 'IP0006', 'IP0007' "
        "and 1,992 more"
    )
    assert {location for _, location, _ in found} == {"MSG[1]/OBX[1]-8"}
    (bundle,) = conv.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    sent = [
        e["valueCodeableConcept"]["coding"][0]["code"]
        for e in observation["extension"]
        if e["url"].endswith("/sender-interpretation")
    ]
    assert sent == flags  # every flag is still written


def test_different_bad_escapes_in_thousands_of_repetitions_are_a_few_issues() -> None:
    # A comment whose 2,000 repetitions each hold a local escape of their own (\Z0\ to \Z1999\):
    # 2,000 hl7v2.escape-invalid Issues at MSG[1]/NTE[1]-3, where many in one repetition were
    # already one Issue naming five and how many more
    note = "NTE|1||" + "~".join(f"see \\Z{n}\\" for n in range(2_000))
    conv = leukoflag.convert(message(PID, OBR, obx("1.2"), note))
    found = [(i.location, i.text) for i in conv.issues if i.code == "hl7v2.escape-invalid"]
    said = "has no agreed meaning"
    assert found == [
        *((("MSG[1]/NTE[1]-3", f"locally defined escape \\Z{n}\\ {said}")) for n in range(5)),
        (
            "MSG[1]/NTE[1]-3",
            "; ".join(f"locally defined escape \\Z{n}\\ {said}" for n in range(5, 10))
            + " (+1,990 more)",
        ),
    ]


@pytest.mark.parametrize(
    ("segment", "location"),
    [
        ("PID|1||MRN100871^^^RIVERSIDE^MR||OKAFOR\\Q\\^DANIEL\\Q\\^C||19610719|M", "PID[1]-5"),
        ("NTE|1||See C:\\lab\\Q\\x~Refer C:\\lab\\Q\\x", "NTE[1]-3"),
        (obx("3.1", unit="10*3/uL\\Q\\^10*3/uL\\Q\\^UCUM"), "OBX[1]-6"),
    ],
)
def test_the_same_escape_problem_in_two_parts_of_a_field_is_one_issue(
    segment: str, location: str
) -> None:
    # a sender's unknown escape \Q\ in the family and the given name (or in two repetitions of
    # a note, in a unit's code and text): read_message gave two hl7v2.escape-invalid Issues
    # with the same text at the same field, one problem said twice (convert merged them)
    segments = [segment, OBR, WBC] if segment.startswith("PID") else [PID, OBR, segment]
    if segment.startswith("NTE"):
        segments = [PID, OBR, WBC, segment]
    for issues in (read(message(*segments)).issues, leukoflag.convert(message(*segments)).issues):
        found = [(i.location, i.text) for i in issues if i.code == "hl7v2.escape-invalid"]
        assert len(found) == 1
        assert found[0][0] == f"MSG[1]/{location}"
        assert "unknown escape sequence \\Q\\" in found[0][1]


def test_a_repeated_obx_15_is_read_once_its_other_repetitions_one_issue() -> None:
    # OBX-15 (producer's ID, CWE) does not repeat: sent with two producing labs, it was read as
    # one CWE split at '^' across the '~', so the second lab's code was said as OBX-15.3
    # ('99LAB~REF') and its text as OBX-15.4, and 20,000 repetitions gave 39,999 such Issues
    producers = "CORE^Core Laboratory^99LAB~REF^Reference Laboratory^99LAB"
    conv = leukoflag.convert(message(PID, OBR, obx("1.2") + "||||" + producers))
    found = [(i.code, i.location, i.text) for i in conv.issues if "OBX[1]-15" in i.location]
    assert found == [
        (
            "hl7v2.repetition-unmapped",
            "MSG[1]/OBX[1]-15",
            "OBX-15 repetitions after the first are not carried: 'REF^Reference Laboratory^99LAB'",
        ),
        (
            "hl7v2.component-unmapped",
            "MSG[1]/OBX[1]-15.3",
            "OBX-15.3 is not carried (the producer is written as CWE.1): '99LAB'",
        ),
    ]
    (bundle,) = conv.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["performer"] == [{"display": "Core Laboratory (CORE)"}]


def test_a_part_not_carried_of_a_later_repetition_is_located_at_that_repetition() -> None:
    # PID-3's second identifier's assigning facility (CX.6) was said at 'PID[1]-3.6', and the
    # assigning authority of a third repetition without ID at 'PID[1]-3.4', which the first
    # identifier carried: which identifier lost what could not be told. Located as
    # hl7v2.identifier-type-unknown is, at the repetition (OBX-16 and OBX-23 too).
    pid = (
        "PID|1||MRN100871^^^RIVERSIDE^MR~123-45-6789^^^USSSA^SS^SSA OFFICE~^^^RIVERSIDE^PI||"
        "OKAFOR^DANIEL^C||19610719|M"
    )
    result = (
        "OBX|1|NM|6690-2^Leukocytes^LN||3.1|10*3/uL^^UCUM|4.0-11.0|L|||F||||"
        "|7702^HADDAD^SAMIR~7703^NOVAK^EVA^^^^^^^^^^^^^^^^^^2020|||||||"
        "CORE LAB~SATELLITE LAB^L"
    )
    read_message = read(message(pid, OBR, result))
    unmapped = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert [(i.location, i.text) for i in unmapped] == [
        ("MSG[1]/PID[1]-3[2].6", "PID-3[2].6 is not carried: 'SSA OFFICE'"),
        ("MSG[1]/PID[1]-3[3].4", "PID-3[3].4 is not carried: 'RIVERSIDE'"),
        ("MSG[1]/PID[1]-3[3].5", "PID-3[3].5 is not carried: 'PI'"),
        ("MSG[1]/OBX[1]-16[2].21", "OBX-16[2].21 is not carried: '2020'"),
        ("MSG[1]/OBX[1]-23[2].2", "OBX-23[2].2 is not carried: 'L'"),
    ]


def test_an_orc_12_repeating_the_obr_16_ordering_provider_is_not_said_to_be_lost() -> None:
    # Most senders fill ORC-12 and OBR-16 with the same doctor: written once as the
    # ServiceRequest's requester, nothing of ORC-12 is lost, yet it was said 'not carried'
    provider = "5820^VARGA^ILONA^^^^MD"
    orc = f"{ORC}|||||||{provider}"
    conv = leukoflag.convert(message(PID, orc, OBR, WBC))
    assert [i for i in conv.issues if i.location.startswith("MSG[1]/ORC[1]-12")] == []
    (bundle,) = conv.bundles
    (request,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert request["requester"] == {"display": "ILONA VARGA, MD (5820)"}


def test_an_orc_12_naming_another_provider_than_obr_16_is_said_not_carried() -> None:
    orc = f"{ORC}|||||||4410^OKAFOR^NGOZI^^^DR"
    conv = leukoflag.convert(message(PID, orc, OBR, WBC))
    (found,) = [i for i in conv.issues if i.location == "MSG[1]/ORC[1]-12"]
    assert found.code == "hl7v2.field-unmapped"
    assert found.text == (
        "ORC-12 ordering provider is not carried when OBR-16 is sent (OBR-16 is used): "
        "'4410^OKAFOR^NGOZI^^^DR'"
    )


def test_an_orc_1_cancelling_an_order_obr_25_calls_cancelled_does_not_deny_it_is_written() -> None:
    # ORC-1 CA, no ORC-5, OBR-25 X: the ServiceRequest is written revoked from OBR-25, yet the
    # warning said the FHIR output did not carry the cancellation
    orc = ORC.replace("ORC|RE|", "ORC|CA|").removesuffix("|CM")
    obr = OBR.removesuffix("|||F") + "|||X"
    conv = leukoflag.convert(message(PID, orc, obr, WBC.replace("|F|", "|X|")))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert found.text == (
        "ORC-1 'CA' (cancel order request) says the order was cancelled or discontinued, as "
        "OBR-25 'X' does (ServiceRequest.status revoked): its results are kept, and their own "
        "status decides whether they are judged (OBR-25 'X', OBX-11)"
    )
    (bundle,) = conv.bundles
    (request,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert request["status"] == "revoked"


@pytest.mark.parametrize(
    ("sent", "status", "rest"),
    [("~CA", "revoked", None), ("CA~", "revoked", None), ("CA~CM", "revoked", "'CM'")],
)
def test_an_orc_5_sent_padded_or_repeated_is_read_from_its_first_status_sent(
    sent: str, status: str, rest: str | None
) -> None:
    # ORC-5 (an ID) does not repeat: a cancelled order padded '~CA' was 'not an order status
    # of table 0038' and written completed from OBR-25 F
    conv = leukoflag.convert(message(PID, ORC.removesuffix("|CM") + f"|{sent}", OBR, WBC))
    (bundle,) = conv.bundles
    (request,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert request["status"] == status
    assert "hl7v2.order-status-unknown" not in codes(conv.issues)
    said = [i.text for i in conv.issues if i.code == "hl7v2.repetition-unmapped"]
    expected = (
        [] if rest is None else [f"ORC-5 repetitions after the first are not carried: {rest}"]
    )
    assert said == expected


def test_an_orc_1_cancelling_an_order_orc_5_calls_complete_names_the_report_cancelled() -> None:
    # ORC-1 CA, ORC-5 CM, OBR-25 X: the ServiceRequest is completed from ORC-5, but the
    # DiagnosticReport is written cancelled from OBR-25, so the cancellation is carried there
    orc = ORC.replace("ORC|RE|", "ORC|CA|")
    obr = OBR.removesuffix("|||F") + "|||X"
    conv = leukoflag.convert(message(PID, orc, obr, WBC))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.order-control-cancelled"]
    assert found.text == (
        "ORC-1 'CA' (cancel order request) says the order was cancelled or discontinued, but "
        "ORC-5 'CM' does not (ServiceRequest.status completed is written from it), as OBR-25 "
        "'X' does (DiagnosticReport.status cancelled): its results are kept, and their own "
        "status decides whether they are judged (OBR-25 'X', OBX-11)"
    )
    (bundle,) = conv.bundles
    statuses = {e["resource"]["resourceType"]: e["resource"].get("status") for e in bundle["entry"]}
    assert statuses["ServiceRequest"] == "completed"
    assert statuses["DiagnosticReport"] == "cancelled"
