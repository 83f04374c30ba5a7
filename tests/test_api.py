"""The public entry points: convert, convert_file, Conversion, and how api.py joins the steps."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import leukoflag
from cli.messages import ShareGoneAfter
from leukoflag import api, fhir, hl7v2
from leukoflag.model import Message, Severity

MSH = (
    "MSH|^~\\&|HEMLAB|NORTHGATE^2.16.840.1.113883.19.77^ISO|EHR|NORTHGATE|20261203141522-0600||"
    "ORU^R01^ORU_R01|NG2612030044|P|2.5.1|||||USA|UNICODE UTF-8"
)
PID = "PID|1||NG-771204^^^NORTHGATE^MR||BRANDVOLD^INGRID^M||19670302|F"
OBR = (
    "OBR|1|PL-4471^EHR|FL-9902^HEMLAB|57021-8^CBC W Auto Differential panel - Blood^LN|||"
    "20261203130000-0600|||||||||7720^OYELARAN^TUNDE^^^^MD||||||20261203140500-0600|||F"
)
WBC = (
    "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||2.9|10*3/uL^^UCUM|"
    "4.0-11.0|L|||F|||20261203130000-0600"
)
ANC = (
    "OBX|2|NM|751-8^Neutrophils [#/volume] in Blood by Automated count^LN||1.45|10*3/uL^^UCUM|"
    "1.80-7.70|L|||F|||20261203130000-0600"
)
CBC = "\r".join((MSH, PID, OBR, WBC, ANC)) + "\r"
SECOND = CBC.replace("NG2612030044", "NG2612030045").replace("|2.9|", "|6.3|")


def observation(value: float, text: str = "Leukocytes") -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "6690-2"}],
            "text": text,
        },
        "subject": {"reference": "Patient/ng-771204"},
        "effectiveDateTime": "2026-12-03T13:00:00-06:00",
        "valueQuantity": {
            "value": value,
            "unit": "10*3/uL",
            "system": "http://unitsofmeasure.org",
            "code": "10*3/uL",
        },
    }


# --------------------------------------------------------------------------- convert


def test_text_and_its_utf8_bytes_convert_alike() -> None:
    from_text = leukoflag.convert(CBC)
    from_bytes = leukoflag.convert(CBC.encode("utf-8"))
    assert from_text.bundles == from_bytes.bundles
    assert from_text.findings == from_bytes.findings
    assert [f.location for f in from_text.findings] == ["MSG[1]/OBX[1]", "MSG[1]/OBX[2]"]


def test_text_read_with_surrogateescape_converts_its_original_bytes() -> None:
    # A Latin-1 file read as UTF-8 with errors="surrogateescape": byte 0xD6 (Ö) is kept as the
    # lone surrogate U+DCD6, which str.encode("utf-8") refused: convert raised
    # UnicodeEncodeError. The byte goes back as it was and MSH-18 decodes it.
    latin1 = CBC.replace("UNICODE UTF-8", "8859/1").replace("BRANDVOLD", "BRANDV\u00d6LD")
    text = latin1.encode("latin-1").decode("utf-8", "surrogateescape")
    assert "\udcd6" in text
    conversion = leukoflag.convert(text)
    assert conversion.rejected == []
    (patient,) = [
        entry["resource"]
        for entry in conversion.bundles[0]["entry"]
        if entry["resource"]["resourceType"] == "Patient"
    ]
    assert patient["name"][0]["family"] == "BRANDV\u00d6LD"
    message = hl7v2.read_message(text, index=1, source="<t>", settings=leukoflag.Settings())
    assert isinstance(message, Message)


def test_text_with_a_lone_surrogate_is_read_with_an_issue_or_rejected() -> None:
    cut = CBC.replace("BRANDVOLD", "BRANDVOLD \ud83d")  # half of a surrogate pair
    conversion = leukoflag.convert(cut)
    assert len(conversion.bundles) == 1
    fallback = [i for i in conversion.issues if i.code == "hl7v2.charset-fallback"]
    assert [i.location for i in fallback] == ["MSG[1]/MSH[1]-18"]
    fhir.dumps(conversion.bundles[0])
    observation_text = json.dumps(observation(2.9, "Leukocytes \ud83d"), ensure_ascii=False)
    conversion = leukoflag.convert(observation_text)
    assert conversion.bundles == []
    (rejected,) = conversion.rejected
    assert "holds a lone UTF-16 surrogate" in rejected.reason


def test_text_of_a_latin1_message_is_read_as_its_characters_not_as_msh18_bytes() -> None:
    # An integration engine hands over the message already decoded from ISO 8859-1 (as its
    # MSH-18 says). Its characters were re-read as ISO 8859-1 bytes of their UTF-8: the name
    # became 'BRANDVÃ\x96LD', the unit 'x10Â³/ÂµL' was unknown and the WBC was not flagged.
    text = (
        CBC.replace("UNICODE UTF-8", "8859/1")
        .replace("BRANDVOLD^INGRID", "BRANDV\u00d6LD^\\XC9\\LISE")  # Ö as text, É as an escape
        .replace("|10*3/uL^^UCUM|4.0-11.0|", "|x10\u00b3/\u00b5L|4.0-11.0|")
    )
    conversion = leukoflag.convert(text)
    (patient,) = [
        entry["resource"]
        for entry in conversion.bundles[0]["entry"]
        if entry["resource"]["resourceType"] == "Patient"
    ]
    assert patient["name"][0] == {"family": "BRANDV\u00d6LD", "given": ["\u00c9LISE", "M"]}
    assert [(f.location, f.value_per_ul, f.code) for f in conversion.findings] == [
        ("MSG[1]/OBX[1]", Decimal(2900), "LU"),
        ("MSG[1]/OBX[2]", Decimal(1450), "L"),
    ]
    assert not [i for i in conversion.issues if i.code.startswith("hl7v2.charset")]
    # The same message as the bytes a sender puts on the wire converts alike.
    assert leukoflag.convert(text.encode("latin-1")).bundles == conversion.bundles


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (Path("examples/messages/leukopenic-adult.hl7"), "leukoflag.convert_file"),
        (io.BytesIO(CBC.encode()), r"\.read\(\)"),
        (12, "bytes or str"),  # bytes(12) would be twelve NUL bytes, rejected as binary content
        ({"resourceType": "Observation"}, "bytes or str"),
        (None, "bytes or str"),
    ],
)
def test_convert_refuses_what_is_not_content(data: object, hint: str) -> None:
    # A path given to convert was converted as the text of its name: one Rejected saying
    # "content starts with 'examples/messages/…'", as if the file held that.
    with pytest.raises(TypeError, match=hint):
        leukoflag.convert(data)  # type: ignore[arg-type]


def test_bytearray_and_memoryview_are_read_like_bytes() -> None:
    expected = leukoflag.convert(CBC.encode()).bundles
    assert leukoflag.convert(bytearray(CBC.encode())).bundles == expected
    assert leukoflag.convert(memoryview(CBC.encode())).bundles == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "",
        b"   \r\n\t\n",
        "\n\n",
        # an empty file saved "with BOM" (Notepad writes one): rejected as "empty input"
        b"\xef\xbb\xbf",
        "\ufeff\r\n",
        "\r\n".encode("utf-16"),
        b"\xff\xfe\x00\x00",  # a UTF-32-LE byte-order mark alone
    ],
)
def test_empty_input_holds_no_items(data: bytes | str) -> None:
    conversion = leukoflag.convert(data)
    assert (conversion.bundles, conversion.rejected, conversion.issues) == ([], [], [])


def test_every_message_ends_as_a_bundle_or_a_rejection_in_input_order() -> None:
    junk = "a note typed between two frames"
    data = f"\x0b{CBC}\x1c\r{junk}\r\n\x0b{SECOND}\x1c\r"
    conversion = leukoflag.convert(data, source="night-feed.hl7")
    assert len(conversion.bundles) == 2
    assert [r.index for r in conversion.rejected] == [2]
    rejected = conversion.rejected[0]
    assert rejected.source == "night-feed.hl7"
    assert rejected.raw == junk.encode()
    assert any(i.code == "input.rejected" and i.location == "MSG[2]" for i in conversion.issues)


def test_conversion_without_settings_uses_the_defaults() -> None:
    assert api.default_settings() == leukoflag.Settings()
    assert api.default_settings() is api.default_settings()  # immutable: built once
    assert leukoflag.convert(CBC).bundles == leukoflag.convert(CBC, leukoflag.Settings()).bundles


@pytest.mark.parametrize(
    "settings",
    [
        {"fhir_version": "R5"},  # the keyword arguments of Settings, passed as they are
        {},  # empty: was taken for "no settings" and converted with the defaults, silently
        "R5",
        ("R5", "collection"),
    ],
)
def test_settings_that_are_not_a_settings_object_are_a_type_error_naming_them(
    settings: object,
) -> None:
    # A dict reached the pipeline and failed there: AttributeError: 'dict' object has no
    # attribute 'fhir_version', an exception docs/errors.md does not list, naming no argument.
    with pytest.raises(TypeError, match=r"^convert\(\): settings must be a leukoflag\.Settings"):
        leukoflag.convert(CBC, settings)  # type: ignore[arg-type]


def test_a_source_that_is_not_text_is_a_type_error_naming_it() -> None:
    # source names the input in every Rejected: None was kept there as the file's name
    with pytest.raises(TypeError, match=r"^convert\(\): source must be str, not NoneType"):
        leukoflag.convert(CBC, source=None)  # type: ignore[arg-type]


def test_two_conversions_with_different_settings_side_by_side() -> None:
    r4 = leukoflag.Settings()
    r5_collection = leukoflag.Settings(fhir_version="R5", bundle_type="collection")
    critical = leukoflag.Settings(critical_low={"wbc": 3000})
    results = {
        name: leukoflag.convert(CBC, settings)
        for name, settings in (("r4", r4), ("r5", r5_collection), ("critical", critical))
    }
    assert results["r4"].bundles[0]["type"] == "transaction"
    assert results["r5"].bundles[0]["type"] == "collection"
    wbc = {name: c.findings[0] for name, c in results.items()}
    assert wbc["r4"].code != "LL"
    assert wbc["critical"].code == "LL"  # 2900/µL is under this conversion's own limit
    # ... and the first conversion's settings are untouched by the others.
    assert leukoflag.convert(CBC, r4).findings[0].code == wbc["r4"].code


def test_strict_mode_rejects_a_message_with_a_broken_structure_and_says_why() -> None:
    out_of_order = "\r".join((MSH, OBR, PID, WBC, ANC)) + "\r"
    lenient = leukoflag.convert(out_of_order)
    strict = leukoflag.convert(out_of_order, leukoflag.Settings(strict=True))
    assert len(lenient.bundles) == 1
    assert strict.bundles == []
    (rejected,) = strict.rejected
    assert rejected.reason.startswith("strict structure failed: ")
    assert rejected.raw == out_of_order.encode()
    assert rejected.location == "MSG[1]"
    (issue,) = [i for i in strict.issues if i.code == "input.rejected"]
    assert (issue.severity, issue.text) == (Severity.ERROR, rejected.reason)


def test_strict_mode_accepts_a_well_formed_message() -> None:
    strict = leukoflag.convert(CBC, leukoflag.Settings(strict=True))
    assert (len(strict.bundles), strict.rejected) == (1, [])


# A ward feed's Z-segments: ZPI after the PID (isolation status), ZBX after the results (smear
# review), as the sending lab's interface specification defines them.
ZPI = "ZPI|1|ISO^Neutropenic precautions^99NGH|Y"
ZBX = "ZBX|1|SMEAR^Manual smear reviewed^99NGH|TECH-114|20261203135000-0600"
SECOND_PATIENT = (
    "PID|2||NG-880413^^^NORTHGATE^MR||OYELOWO^FEMI||20190822|M",
    OBR.replace("OBR|1|PL-4471", "OBR|2|PL-4472").replace("FL-9902", "FL-9903"),
    WBC.replace("|2.9|", "|5.6|").replace("|L|", "|N|"),
)


def test_strict_mode_accepts_z_segments_wherever_the_sender_puts_them() -> None:
    with_z = "\r".join((MSH, PID, ZPI, OBR, WBC, ANC, ZBX, "ZEN|end of report")) + "\r"
    strict = leukoflag.convert(with_z, leukoflag.Settings(strict=True))
    assert (len(strict.bundles), strict.rejected) == (1, [])
    unmapped = [i.location for i in strict.issues if i.code == "hl7v2.segment-unmapped"]
    assert unmapped == ["MSG[1]/ZPI[1]", "MSG[1]/ZBX[1]", "MSG[1]/ZEN[1]"]


def test_strict_mode_checks_segments_sent_in_lower_case_as_the_reader_reads_them() -> None:
    # zpi| was given to hl7apy as sent and rejected ("Missing required child …OBR"), pid| was
    # not taken for a patient's start, though the reader reads both (hl7v2.segment-id-case)
    lower = (ZPI.replace("ZPI", "zpi"), SECOND_PATIENT[0].replace("PID", "pid", 1))
    two = "\r".join((MSH, PID, lower[0], OBR, WBC, ANC, lower[1], *SECOND_PATIENT[1:])) + "\r"
    strict = leukoflag.convert(two, leukoflag.Settings(strict=True))
    assert strict.rejected == []
    (bundle,) = strict.bundles
    patients = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert [p["identifier"][0]["value"] for p in patients] == ["NG-771204", "NG-880413"]
    case = [i.location for i in strict.issues if i.code == "hl7v2.segment-id-case"]
    assert case == ["MSG[1]/ZPI[1]", "MSG[1]/PID[2]"]


def test_strict_mode_checks_indented_segments_as_the_reader_reads_them() -> None:
    # ' ZPI|' and '\tPID|' must reach hl7apy without their indentation, as the reader reads them
    indented = (" " + ZPI, "\t" + SECOND_PATIENT[0])
    two = "\r".join((MSH, PID, indented[0], OBR, WBC, ANC, indented[1], *SECOND_PATIENT[1:]))
    strict = leukoflag.convert(two + "\r", leukoflag.Settings(strict=True))
    assert strict.rejected == []
    found = [i.location for i in strict.issues if i.code == "hl7v2.segment-indented"]
    assert found == ["MSG[1]/ZPI[1]", "MSG[1]/PID[2]"]
    (finding, *_) = strict.findings
    assert finding.location == "MSG[1]/OBX[1]"


def test_strict_mode_accepts_a_message_about_several_patients() -> None:
    two = "\r".join((MSH, PID, OBR, WBC, ANC, *SECOND_PATIENT)) + "\r"
    strict = leukoflag.convert(two, leukoflag.Settings(strict=True))
    assert strict.rejected == []
    (bundle,) = strict.bundles
    patients = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert [p["identifier"][0]["value"] for p in patients] == ["NG-771204", "NG-880413"]


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ("2.8", "requires a TXA document segment"),
        ("2.8.2", "requires a TXA document segment"),
        ("2.9", "hl7apy knows HL7 v2 releases up to 2.8.2"),
        ("2.7.1", "hl7apy has no definitions for HL7 v2.7.1"),  # a release between two it knows
        # releases of table 0104 before the first it knows: were rejected as no HL7 v2 release
        ("2.0", "hl7apy has no definitions for HL7 v2.0"),
        ("2.0D", "hl7apy has no definitions for HL7 v2.0D"),
    ],
)
def test_strict_mode_converts_versions_hl7apy_cannot_check_and_says_so(
    version: str, why: str
) -> None:
    message = CBC.replace("|P|2.5.1|", f"|P|{version}|")
    strict = leukoflag.convert(message, leukoflag.Settings(strict=True))
    assert (len(strict.bundles), strict.rejected) == (1, [])
    assert [f.code for f in strict.findings] == ["LU", "L"]  # WBC 2,900, ANC 1,450
    (issue,) = [i for i in strict.issues if i.code == "hl7v2.structure-unchecked"]
    assert (issue.severity, issue.location) == (Severity.WARNING, "MSG[1]/MSH[1]-12")
    assert issue.text.startswith(f"HL7 v{version} structure not checked in strict mode: ")
    assert why in issue.text
    lenient = leukoflag.convert(message)
    assert not [i for i in lenient.issues if i.code == "hl7v2.structure-unchecked"]


# A point-of-care analyser's result (ORU^R31: one order, ORC required, OBX-4 filled).
POC = (
    "\r".join(
        (
            MSH.replace("ORU^R01^ORU_R01", "ORU^R31^ORU_R30"),
            PID,
            "PV1|1|I|ICU^12^1^NORTHGATE",
            "ORC|NW|PL-4471^EHR",
            OBR.replace("|FL-9902^HEMLAB|", "||"),
            WBC.replace("LN||", "LN|1|"),
            ANC.replace("LN||", "LN|1|"),
        )
    )
    + "\r"
)


@pytest.mark.parametrize("version", ["2.6", "2.7"])
@pytest.mark.parametrize("message_type", ["ORU^R31^ORU_R30", "ORU^R30^ORU_R30", "ORU^R32"])
def test_strict_mode_converts_point_of_care_results_hl7apy_cannot_check(
    version: str, message_type: str
) -> None:
    # hl7apy's ORU^R30 definitions from 2.6 take the order's OBX for patient observations: every
    # such message was rejected ("Missing required child ORU_R30.ORU_R30_OBSERVATION").
    message = POC.replace("|P|2.5.1|", f"|P|{version}|").replace("ORU^R31^ORU_R30", message_type)
    strict = leukoflag.convert(message, leukoflag.Settings(strict=True))
    assert (len(strict.bundles), strict.rejected) == (1, [])
    assert [f.code for f in strict.findings] == ["LU", "L"]  # WBC 2,900, ANC 1,450
    (issue,) = [i for i in strict.issues if i.code == "hl7v2.structure-unchecked"]
    assert issue.location == "MSG[1]/MSH[1]-12"
    assert f"hl7apy's ORU^R30 definition for v{version}" in issue.text


def test_strict_mode_checks_point_of_care_results_of_2_5_1() -> None:
    strict = leukoflag.convert(POC, leukoflag.Settings(strict=True))
    assert (len(strict.bundles), strict.rejected) == (1, [])
    assert not [i for i in strict.issues if i.code == "hl7v2.structure-unchecked"]
    misplaced = POC.replace("ORC|NW|PL-4471^EHR\r", "")  # ORU^R30 requires its ORC
    (rejected,) = leukoflag.convert(misplaced, leukoflag.Settings(strict=True)).rejected
    assert rejected.reason == (
        "strict structure failed: ORC segment missing: ORU_R30 in HL7 v2.5.1 requires one in "
        "the message"
    )


@pytest.mark.parametrize(
    ("message_type", "reason"),
    [
        (
            "ORU^R31",
            (
                "hl7apy finds no message structure for MSH-9 'ORU^R31' in HL7 v2.5.1: MSH-9.3, "
                "where it reads the structure (ORU_R30 for ORU^R31 and ORU^R32), is empty"
            ),
        ),
        (
            "ORU^R01^ORU_R3O",
            "hl7apy has no message structure ORU_R3O for HL7 v2.5.1 (MSH-9 'ORU^R01^ORU_R3O')",
        ),
    ],
)
def test_strict_mode_says_which_message_structure_hl7apy_cannot_find(
    message_type: str, reason: str
) -> None:
    # The reason was hl7apy's own "Unknown element found: None.<Message >".
    message = POC.replace("ORU^R31^ORU_R30", message_type)
    (rejected,) = leukoflag.convert(message, leukoflag.Settings(strict=True)).rejected
    assert rejected.reason == f"strict structure failed: {reason}"
    assert leukoflag.convert(message).rejected == []  # the structure check's finding only


@pytest.mark.parametrize(
    ("version", "change", "words"),
    [
        ("2.3.1", ("", ""), "OBX[1]-4 (observation sub id) is empty"),
        ("2.7", ("", ""), "OBX[1]-4 (observation sub id) is empty"),
        ("2.6", ("ORU^R01^ORU_R01", "ORU^R01"), "MSH[1]-9.3 (message structure) is empty"),
        ("2.7", ("ORU^R01^ORU_R01", "ORU^R01"), "MSH[1]-9.3 (message structure) is empty"),
        ("2.7", ("", ""), "OBR[1]-16.7 'MD': XCN.7 (degree) is withdrawn in HL7 v2.7"),
        ("2.3", ("", ""), "OBR[1]-27 (quantity timing) is empty"),
        (
            "2.3",
            ("", ""),
            "MSH[1]-9.3 'ORU_R01': MSH-9 (message type, CM_MSG) has 2 components in HL7 v2.3",
        ),
        (
            "2.7",
            ("ORC|NW|PL-4471^EHR\r", "ORC|NW|PL-4471^EHR\rTQ1|1||||||20261203130000-0600\r"),
            ("hl7apy cannot parse the message: TypeError: 'NoneType' object is not iterable"),
        ),
        (
            "2.5.1",
            ("|L|||F", "|L^Low^HL70078|||F"),
            (
                "OBX[1]-8 'L^Low^HL70078' has components, but OBX-8 (abnormal flags) is of type "
                "IS, which has none in HL7 v2.5.1"
            ),
        ),
    ],
)
def test_strict_mode_rejects_what_docs_list_as_hl7apy_version_limits(
    version: str, change: tuple[str, str], words: str
) -> None:
    # docs/hl7v2.md lists these: a change of hl7apy that lifts one must update the table.
    message = POC.replace("ORU^R31^ORU_R30", "ORU^R01^ORU_R01").replace(
        "|P|2.5.1|", f"|P|{version}|"
    )
    message = message.replace("LN|1|", "LN||").replace(*change)
    (rejected,) = leukoflag.convert(message, leukoflag.Settings(strict=True)).rejected
    assert words in rejected.reason
    assert len(leukoflag.convert(message).bundles) == 1


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("3.0", "MSH-12 version '3.0' is not an HL7 v2 release (table 0104)"),
        ("2.5.1X", "MSH-12 version '2.5.1X' is not an HL7 v2 release (table 0104)"),
        ("3.0^^HL70104", "MSH-12 version '3.0' is not an HL7 v2 release (table 0104)"),
        ("", "MSH-12 (version ID) is empty"),
    ],
)
def test_strict_mode_rejects_a_version_that_is_no_hl7_v2_release_naming_msh_12(
    version: str, said: str
) -> None:
    # the reason was hl7apy's 'UnsupportedVersion: The version  is not supported', which names
    # no field and, for an empty MSH-12, shows nothing at all
    message = CBC.replace("|P|2.5.1|", f"|P|{version}|")
    (rejected,) = leukoflag.convert(message, leukoflag.Settings(strict=True)).rejected
    assert rejected.reason == (
        f"strict structure failed: {said}: the structure is checked against the definition of "
        "the HL7 v2 version MSH-12 names"
    )


# An admission system's visit with PV1-18 (patient type) sent as a coded value, as some send it.
PV1 = "PV1|1|I|HEM^4^B^NORTHGATE|||||||||||||||ONC^Oncology inpatient^99NGH|V5512^^^NORTHGATE^VN"
PV1_WRONG_TYPE = (
    "PV1[1]-18 'ONC^Oncology inpatient^99NGH' has components, but PV1-18 (patient type) "
)


@pytest.mark.parametrize(
    ("segments", "reason"),
    [
        (  # hl7apy: "Datatype None is not correct for PV1.PV1_18 (it must be None); Invalid
            # children detected for <Segment OBX>: [None]"
            (PID, PV1, OBR, WBC, ANC + "|" * 15 + "LRI-2026"),
            (
                f"{PV1_WRONG_TYPE}is of type IS, which has none in HL7 v2.5.1; "
                "OBX[2]-29 'LRI-2026': OBX has 25 fields in HL7 v2.5.1"
            ),
        ),
        (  # hl7apy: "Missing required child ORU_R01_PATIENT.PID"
            ("PV1|1|I|HEM^4^B^NORTHGATE", OBR, WBC, ANC),
            (
                "PID segment missing: ORU_R01 in HL7 v2.5.1 requires one in each PATIENT group "
                "(the one at PV1[1])"
            ),
        ),
        (  # hl7apy: "Missing required child ORU_R01_ORDER_OBSERVATION.OBR"
            (PID, "ORC|RE|PL-4471^EHR|FL-9902^HEMLAB||CM", WBC, ANC),
            (
                "OBR segment missing: ORU_R01 in HL7 v2.5.1 requires one in each "
                "ORDER_OBSERVATION group (the one at ORC[1])"
            ),
        ),
        (  # hl7apy: "Child limit exceeded ORU_R01_PATIENT.ORU_R01_VISIT"
            (PID, "PV1|1|O", "PV1|2|I", OBR, WBC, ANC),
            "PV1[2]: ORU_R01 in HL7 v2.5.1 allows 1 VISIT group in each PATIENT group",
        ),
        (  # hl7apy dropped the segment and said "Missing required child
            # ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION", though the OBR is there
            (PID, "IAM|1|DA|1605^Penicillin^99NGH", OBR, WBC, ANC),
            "IAM[1]: ORU_R01 in HL7 v2.5.1 has no IAM segment",
        ),
        (  # hl7apy: "Child limit exceeded PID.PID_8"
            (PID.replace("|F", "|F~U"), OBR, WBC, ANC),
            "PID[1]-8[2] 'U': PID-8 (administrative sex) does not repeat in ORU_R01 in HL7 v2.5.1",
        ),
        (  # hl7apy: "Invalid children detected for <Field PID_5 (PATIENT_NAME) of type XPN>:
            # [None]", and the component it names is not the one sent
            (PID.replace("INGRID^M", "INGRID^M" + "^" * 15 + "ROSE"), OBR, WBC, ANC),
            "PID[1]-5.18 'ROSE': PID-5 (patient name, XPN) has 14 components in HL7 v2.5.1",
        ),
        (  # hl7apy: "Invalid children detected for <Component CX_4 (ASSIGNING_AUTHORITY) of
            # type HD>: ['ST']"
            (PID.replace("NORTHGATE^MR", "NORTHGATE&2.16.840.1.113883.19.77&ISO&X^MR"), OBR, WBC),
            "PID[1]-3.4.4 'X': CX.4 (assigning authority, HD) has 3 subcomponents in HL7 v2.5.1",
        ),
        (  # hl7apy: "Datatype None is not correct for CE.CE_1 (it must be None)"
            (PID, OBR, WBC.replace("10*3/uL^^UCUM", "10*3/uL&K/uL^^UCUM")),
            (
                "OBX[1]-6.1 '10*3/uL&K/uL' has subcomponents, but CE.1 (identifier) is of type ST, "
                "which has none in HL7 v2.5.1"
            ),
        ),
    ],
)
def test_strict_mode_says_where_and_what_is_wrong_in_plain_words(
    segments: tuple[str, ...], reason: str
) -> None:
    message = "\r".join((MSH, *segments)) + "\r"
    (rejected,) = leukoflag.convert(message, leukoflag.Settings(strict=True)).rejected
    assert rejected.reason == f"strict structure failed: {reason}"


def test_strict_mode_names_the_patient_whose_results_are_misplaced() -> None:
    pid, _, wbc = SECOND_PATIENT  # the second patient's result without its order (OBR)
    misplaced = "\r".join((MSH, PID, OBR, WBC, ANC, pid, wbc)) + "\r"
    strict = leukoflag.convert(misplaced, leukoflag.Settings(strict=True))
    (rejected,) = strict.rejected
    assert rejected.reason.startswith("strict structure failed: patient 2 (PID[2]): ")
    assert "patient 1" not in rejected.reason


def test_fhir_input_keeps_its_shape() -> None:
    conversion = leukoflag.convert(json.dumps(observation(2.9)))
    (output,) = conversion.bundles
    assert output["resourceType"] == "Observation"
    (finding,) = conversion.findings
    assert finding.value_per_ul == Decimal(2900)
    assert finding.code != "N"


# --------------------------------------------------------------------------- UTF-16 / UTF-32


def with_byte_order_mark(text: str, codec: str) -> bytes:
    """``text`` in ``codec``, starting with exactly one byte-order mark."""
    data = text.encode(codec)
    if codec in ("utf-16", "utf-32"):  # these codecs write the mark themselves
        return data
    return "\ufeff".encode(codec) + data


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_wide_hl7_file_with_byte_order_mark_reaches_the_reader(codec: str) -> None:
    text = (CBC + SECOND).replace("BRANDVOLD", "BRÅTHEN")
    data = with_byte_order_mark(text, codec)
    conversion = leukoflag.convert(data)
    assert conversion.rejected == []
    assert len(conversion.bundles) == 2
    assert conversion.bundles == leukoflag.convert(text).bundles
    assert "BRÅTHEN" in fhir.dumps(conversion.bundles[0]).decode("utf-8")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_wide_json_with_byte_order_mark_is_read_as_fhir(codec: str) -> None:
    document = json.dumps(observation(2.9, "Leukozyten (Säule Ä)"), ensure_ascii=False)
    data = with_byte_order_mark(document, codec)
    conversion = leukoflag.convert(data)
    assert conversion.rejected == []
    assert conversion.bundles == leukoflag.convert(document).bundles
    assert conversion.bundles[0]["code"]["text"] == "Leukozyten (Säule Ä)"


def test_wide_ndjson_is_read_line_by_line() -> None:
    lines = [json.dumps(observation(value)) for value in (2.9, 6.4, 1.7)]
    data = ("\n".join(lines) + "\n").encode("utf-16")
    conversion = leukoflag.convert(data)
    assert [f.value_per_ul for f in conversion.findings] == [Decimal(2900), Decimal(6400), 1700]
    assert [f.location.split("/")[0] for f in conversion.findings] == [
        "ITEM[1]",
        "ITEM[2]",
        "ITEM[3]",
    ]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_ndjson_without_byte_order_mark_is_read_line_by_line(codec: str) -> None:
    # a Windows export tool writing "Unicode" without a mark: LE was one 'Extra data'
    # rejection, BE 'binary content'
    lines = [json.dumps(observation(value)) for value in (2.9, 6.4, 1.7)]
    data = ("\r\n".join(lines) + "\r\n").encode(codec)
    conversion = leukoflag.convert(data)
    assert conversion.rejected == []
    assert conversion.bundles == leukoflag.convert("\n".join(lines)).bundles
    assert [f.value_per_ul for f in conversion.findings] == [Decimal(2900), Decimal(6400), 1700]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_wide_json_document_without_byte_order_mark_is_read_as_fhir(codec: str) -> None:
    document = json.dumps(observation(2.9, "Leukozyten (Säule Ä)"), ensure_ascii=False, indent=2)
    conversion = leukoflag.convert(document.encode(codec))
    assert conversion.rejected == []
    assert conversion.bundles[0]["code"]["text"] == "Leukozyten (Säule Ä)"


def _outcomes_in_two_steps(data: bytes, settings: leukoflag.Settings) -> list[api.Outcome]:
    """FHIR as ``--jobs`` converts it: split here, each line converted on its own."""
    outcomes: list[api.Outcome] = []
    for index, part in enumerate(api.split_fhir(io.BytesIO(data)), start=1):
        if isinstance(part, fhir.Document):
            outcomes.extend(api.convert_fhir_document(part, "feed.ndjson", settings))
        else:
            outcomes.append(api.convert_fhir_line(part, index, "feed.ndjson", settings))
    return outcomes


@pytest.mark.parametrize("codec", ["", "utf-8", "utf-16", "utf-32-be", "bare-utf-16-be"])
def test_fhir_lines_converted_one_by_one_give_the_streamed_outcomes(codec: str) -> None:
    lines = [json.dumps(observation(value)) for value in (2.9, 6.4)]
    lines[1:1] = ['{"resourceType": "Observation", "status": "fin', "", '{"patientId": "p-4"}']
    text = "\r\n".join(lines) + "\r\n"
    if codec.startswith("bare-"):
        data = text.encode(codec.removeprefix("bare-"))
    else:
        data = with_byte_order_mark(text, codec) if codec else text.encode()
    settings = leukoflag.Settings(fhir_version="R5")
    outcomes = _outcomes_in_two_steps(data, settings)
    assert outcomes == list(api.iter_outcomes(io.BytesIO(data), settings, source="feed.ndjson"))
    assert [o.index for o in outcomes] == [1, 2, 3, 4]
    assert [o.rejected is None for o in outcomes] == [True, False, False, True]
    assert [f.value_per_ul for o in outcomes for f in o.findings] == [Decimal(2900), 6400]


def test_a_fhir_document_is_converted_whole_in_two_steps_too() -> None:
    document = json.dumps([observation(1.7), observation(8.2)], indent=2).encode()
    outcomes = _outcomes_in_two_steps(document, leukoflag.Settings())
    assert outcomes == list(
        api.iter_outcomes(io.BytesIO(document), leukoflag.Settings(), source="feed.ndjson")
    )
    assert [f.value_per_ul for o in outcomes for f in o.findings] == [Decimal(1700), 8200]


def test_wide_text_that_is_neither_is_described_by_its_text() -> None:
    conversion = leukoflag.convert("patient,wbc\nBRANDVOLD,2.9\n".encode("utf-16"))
    (rejected,) = conversion.rejected
    assert rejected.reason == "not HL7 v2 or FHIR JSON: content starts with 'patient,wbc'"


@pytest.mark.parametrize(
    ("first", "reasons"),
    [
        (b"42", ["not a FHIR resource: a JSON number, not an object"]),
        (b'"bulk export 2026-12-03"', ["not a FHIR resource: a JSON string, not an object"]),
        (b"[1]", ["not a FHIR resource: an array, not an object"]),
        (
            b"null\r\n\r\n[]",
            [
                "not a FHIR resource: JSON null, not an object",
                "not a FHIR resource: an array, not an object",
            ],
        ),
    ],
)
def test_ndjson_whose_first_lines_are_json_but_no_objects_converts_the_rest(
    first: bytes, reasons: list[str]
) -> None:
    # An export with a stray count or array on top was rejected whole: the counts below were lost
    lines = [json.dumps(observation(value)).encode() for value in (2.9, 6.4)]
    data = first + b"\n" + b"\n".join(lines) + b"\n"
    conversion = leukoflag.convert(data, source="export.ndjson")
    assert [(r.location, r.reason) for r in conversion.rejected] == [
        (f"ITEM[{n}]", reason) for n, reason in enumerate(reasons, start=1)
    ]
    assert [r.raw for r in conversion.rejected] == [line for line in first.splitlines() if line]
    assert [f.value_per_ul for f in conversion.findings] == [2900, 6400]
    assert [b["resourceType"] for b in conversion.bundles] == ["Observation", "Observation"]
    assert _outcomes_in_two_steps(data, leukoflag.Settings()) == list(
        api.iter_outcomes(io.BytesIO(data), leukoflag.Settings(), source="feed.ndjson")
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_content_starting_with_a_unicode_line_separator_is_quoted_as_it_starts(
    separator: str,
) -> None:
    # Text copied out of a web page (U+2028), or a cp1252 ellipsis read as Latin-1 (U+0085):
    # str.splitlines() ends a line there too, so the reason read "content starts with ''".
    text = f"{separator}WBC 3.1 K/uL (L)\nANC 1.2 K/uL (L)\n"
    (rejected,) = leukoflag.convert(text).rejected
    shown = separator + "WBC 3.1 K/uL (L)"
    assert rejected.reason == f"not HL7 v2 or FHIR JSON: content starts with {shown!r}"


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"2026-12-03 14:15:22 INFO sent", "content starts with '2026-12-03 14:15:22 INFO sent'"),
        (b"patient,wbc\nng-771204,2.9", "content starts with 'patient,wbc'"),
        (b"42,2.9", "content starts with '42,2.9'"),
        (b"2 results: MSH|^~\\&|CORELAB|", "MSH segment found at line 1, after other text"),
        (b'42\n{\n  "resourceType": "Observation"\n}', "content starts with '42'"),
        (b"NaN", "content starts with 'NaN'"),
    ],
)
def test_text_that_is_not_json_before_fhir_lines_is_still_rejected_whole(
    head: bytes, reason: str
) -> None:
    data = head + b"\n" + json.dumps(observation(2.9)).encode() + b"\n"
    conversion = leukoflag.convert(data)
    (rejected,) = conversion.rejected
    assert reason in rejected.reason
    assert rejected.raw == data
    assert conversion.bundles == []


# --------------------------------------------------------------------------- other content


def test_content_that_is_neither_is_one_rejection_with_the_raw_kept() -> None:
    csv = b"patient,wbc\nBRANDVOLD,2.9\n"
    conversion = leukoflag.convert(csv)
    (rejected,) = conversion.rejected
    assert rejected.raw == csv
    assert rejected.location == "ITEM[1]"
    assert "content starts with 'patient,wbc'" in rejected.reason
    assert "bytes" not in rejected.reason  # nothing was cut


def test_hl7_saved_as_utf16_without_byte_order_mark_is_one_rejection_that_says_so() -> None:
    message = (
        "MSH|^~\\&|HEMLAB|NORTHGATE|EHR|NORTHGATE|20261203081500-0500||ORU^R01|HL-9|P|2.5.1\r"
        "PID|1||NG4471^^^NORTHGATE^MR||HALVORSEN^ERIK||19580402|M\r"
    ).encode("utf-16-le")
    conversion = leukoflag.convert(message)
    assert conversion.bundles == []
    (rejected,) = conversion.rejected
    assert rejected.raw == message
    assert rejected.reason.startswith("HL7 v2 in UTF-16-LE without a byte-order mark, starting ")
    assert "binary" not in rejected.reason


def test_large_content_that_is_neither_keeps_only_its_head() -> None:
    row = b"2026-12-03 14:15:22 INFO heartbeat ok\n"
    data = row * (3 * api.REJECTED_RAW_LIMIT // len(row))
    conversion = leukoflag.convert(data)
    (rejected,) = conversion.rejected
    assert len(rejected.raw) == api.REJECTED_RAW_LIMIT
    assert data.startswith(rejected.raw)
    assert rejected.reason.endswith(
        f"(input of {len(data)} bytes: only its first {api.REJECTED_RAW_LIMIT} bytes are kept "
        "with this rejection)"
    )


class _Pipe(io.RawIOBase):
    """A stream that cannot seek and hands out data in pieces, like a pipe."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self.pieces = pieces
        self.left = b""
        self.handed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self.left:
            self.left = next(self.pieces, b"")
        piece, self.left = self.left[: len(buffer)], self.left[len(buffer) :]
        buffer[: len(piece)] = piece
        self.handed += len(piece)
        return len(piece)


_BATCH = ("BHS|^~\\&|CORELAB|RIVERSIDE\r" + CBC + SECOND + "BTS|2\r").encode()
_NDJSON = (json.dumps(observation(2.9)) + "\n" + json.dumps(observation(6.3)) + "\n").encode()


@pytest.mark.parametrize(
    ("data", "first"),
    [
        (b"\r\n" + _BATCH, 2),  # a blank line on its own
        ((CBC + SECOND).encode(), 1),  # 'M'
        (_BATCH, 2),  # 'BH'
        (b"\xef\xbb\xbf" + _BATCH, 1),  # a byte of the byte-order mark
        (b"\xef\xbb\xbf\r\n" + _BATCH, 5),
        (b"\r\n" + _BATCH, 4),  # '\r\nBH'
        # UTF-16 (with its byte-order mark): a blank line is a line of zero bytes, not blank
        (("\r\n" + _BATCH.decode()).encode("utf-16"), 6),
        (("\ufeff\r\n\r\n" + _BATCH.decode()).encode("utf-16-be"), 4),
        (("\n\n" + _NDJSON.decode()).encode("utf-16"), 6),
        (("\r\n" + _BATCH.decode()).encode("utf-32"), 12),
    ],
)
def test_a_pipe_whose_first_read_tells_nothing_is_read_on_to_tell_its_format(
    data: bytes, first: int
) -> None:
    # told from the first read alone ('\r\n': blank, 'M': unknown), the whole stream was one
    # Rejected "not HL7 v2 or FHIR JSON: content starts with 'MSH|^~\\&|…'"
    pipe = _Pipe(iter([data[:first], data[first : first + 20], data[first + 20 :]]))
    outcomes = list(leukoflag.iter_convert(io.BufferedReader(pipe)))
    assert [o.rejected for o in outcomes] == [None, None]
    assert pipe.handed == len(data)
    assert [o.output for o in outcomes] == [o.output for o in leukoflag.iter_convert(data)]


def test_large_piped_content_that_is_neither_is_counted_not_kept() -> None:
    block = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 255
    count = 3 * api.REJECTED_RAW_LIMIT // len(block)
    pipe = _Pipe(iter([block] * count))
    outcomes = list(api.iter_outcomes(pipe, leukoflag.Settings(), source="-"))  # type: ignore[arg-type]
    (outcome,) = outcomes
    assert outcome.rejected is not None
    assert len(outcome.rejected.raw) <= api.REJECTED_RAW_LIMIT
    assert pipe.handed == count * len(block)  # read to its end, to count it
    assert outcome.rejected.reason.startswith("not HL7 v2 or FHIR JSON: binary content (input of ")


# --------------------------------------------------------------------------- files


def test_convert_file_reads_like_convert(tmp_path: Path) -> None:
    path = tmp_path / "feed.hl7"
    path.write_bytes((CBC + SECOND).encode())
    from_file = leukoflag.convert_file(path)
    assert len(from_file.bundles) == 2
    assert from_file.bundles == leukoflag.convert(CBC + SECOND).bundles
    assert leukoflag.convert_file(str(path)).findings == from_file.findings


def test_content_after_more_blank_lines_than_the_look_ahead_is_still_detected(
    tmp_path: Path,
) -> None:
    # An export that starts with 3000 blank lines: the first 4 KiB were blank, so the file was
    # rejected whole as "not HL7 v2 or FHIR JSON: content starts with 'MSH|^~\\&|…'"
    padded = b"\r\n" * 3000 + (CBC + SECOND).encode()
    path = tmp_path / "padded.hl7"
    path.write_bytes(padded)
    for conversion in (
        leukoflag.convert(padded),
        leukoflag.convert_file(path),
        leukoflag.convert(b"\xef\xbb\xbf" + b" " * 5000 + b"\n" + (CBC + SECOND).encode()),
    ):
        assert (len(conversion.bundles), conversion.rejected) == (2, [])
    assert [o.output is not None for o in leukoflag.iter_file(path)] == [True, True]
    resource = json.dumps(observation(2.9)).encode()
    assert len(leukoflag.convert(b"\n" * 5000 + resource).bundles) == 1


# The tail of a message before the first MSH, as a capture rotated by size or cut starts.
_TAIL = (
    "OBX|7|NM|26499-4^Neutrophils [#/volume] in Blood^LN||1.1|10*3/uL^^UCUM|1.8-7.7|L|||F\r"
    "SPM|1|SP7790^HEMLAB||BLDV^Blood, venous^HL70487\r"
)


@pytest.mark.parametrize(
    ("capture", "found"),
    [
        (_TAIL + CBC + SECOND, "OBX"),
        ((_TAIL + CBC + SECOND).replace("\r", "\n"), "OBX"),
        ((_TAIL + CBC + SECOND).replace("\r", "\r\n"), "OBX"),
        ("\r\n" + PID + "\r" + OBR + "\r" + WBC + "\r" + CBC + SECOND, "PID"),
        ("NTE|1||Specimen slightly hemolyzed\r" + CBC + SECOND, "NTE"),
        ("ZLB|1|HEMATOLOGY BENCH 2\r" + CBC + SECOND, "ZLB"),
        (_TAIL + "\x1c\r\x0b" + CBC + "\x1c\r\x0b" + SECOND + "\x1c\r", "OBX"),
    ],
    ids=["cr", "lf", "crlf", "pid", "nte", "z-segment", "mllp"],
)
def test_a_capture_that_starts_mid_message_converts_the_messages_after_it(
    tmp_path: Path, capture: str, found: str
) -> None:
    # its first line is a segment: detected as a log quoting HL7 and rejected whole, losing the
    # intact messages after it
    path = tmp_path / "capture-0003.hl7"
    path.write_bytes(capture.encode())
    expected = leukoflag.convert(CBC + SECOND).bundles
    pipe = _Pipe(iter([capture.encode()[:50], capture.encode()[50:]]))
    for outcomes in (
        list(leukoflag.iter_file(path)),
        list(leukoflag.iter_convert(capture)),
        list(leukoflag.iter_convert(io.BufferedReader(pipe))),
    ):
        conversion = leukoflag.Conversion()
        for outcome in outcomes:
            conversion.add(outcome)
        assert [o.index for o in outcomes] == [1, 2, 3]
        assert conversion.bundles == expected
    for conversion in (leukoflag.convert(capture.encode()), leukoflag.convert_file(path)):
        assert conversion.bundles == expected
        (rejected,) = conversion.rejected
        assert (rejected.index, rejected.location) == (1, "MSG[1]")
        assert rejected.reason == (
            f"segment {found} before MSH: a message must start with an MSH segment "
            "(header missing, or the message was cut at its start)"
        )
        # the fragment, all of it and nothing of the message after it
        assert rejected.raw == capture[: capture.index("MSH")].strip("\r\n\x1c\x0b").encode()


@pytest.mark.parametrize(
    "cut",
    [
        _TAIL.index("L|||F"),  # inside OBX-8
        _TAIL.index("3/uL^^UCUM"),  # inside OBX-6, the unit
    ],
)
def test_a_capture_cut_inside_a_segment_converts_the_messages_after_it(
    tmp_path: Path, cut: int
) -> None:
    # its first line is no segment: rejected whole as a log quoting HL7, losing both CBCs
    capture = _TAIL[cut:] + CBC + SECOND
    path = tmp_path / "capture-0004.hl7"
    path.write_bytes(capture.encode())
    expected = leukoflag.convert(CBC + SECOND).bundles
    pipe = _Pipe(iter([capture.encode()[:30], capture.encode()[30:]]))
    line_end = capture.index("\r") + 1  # a first read of the tail alone, its line after it
    piped_line = _Pipe(iter([capture[:line_end].encode(), capture[line_end:].encode()]))
    for outcomes in (
        list(leukoflag.iter_file(path)),
        list(leukoflag.iter_convert(io.BufferedReader(pipe))),
        list(leukoflag.iter_convert(io.BufferedReader(piped_line))),
    ):
        assert [o.rejected is None for o in outcomes] == [False, True, True]
    for conversion in (leukoflag.convert(capture.encode()), leukoflag.convert_file(path)):
        assert conversion.bundles == expected
        (rejected,) = conversion.rejected
        assert (rejected.index, rejected.location) == (1, "MSG[1]")
        first = _TAIL[cut : _TAIL.index("\r")]
        assert rejected.reason.startswith(
            f"not an HL7 v2 message: no MSH segment; text starts with '{first}' and segments "
            "follow it (SPM): the rest of a message cut inside a segment (an input that starts "
            "inside a message, a capture rotated or cut there"
        )
        assert rejected.raw == _TAIL[cut:].strip("\r").encode()


def test_missing_file_is_a_read_error_and_an_os_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-feed.hl7"
    with pytest.raises(leukoflag.ReadError) as caught:
        leukoflag.convert_file(missing)
    assert isinstance(caught.value, OSError)
    assert isinstance(caught.value, leukoflag.Error)
    assert str(missing) in str(caught.value)
    assert caught.value.errno == errno.ENOENT  # kept from the OS error


def test_settings_of_convert_file_that_are_not_a_settings_object_are_a_type_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feed.hl7"
    path.write_bytes(CBC.encode())
    with pytest.raises(TypeError, match=r"^convert_file\(\): settings must be a leukoflag\."):
        leukoflag.convert_file(path, {"fhir_version": "R5"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "said"),
    [
        (b"feeds/night.hl7", "not bytes$"),  # os.fspath took it, then pathlib refused it
        (None, "not NoneType$"),
        (io.BytesIO(CBC.encode()), r"for an open file, use leukoflag\.convert\(stream\.read\(\)\)"),
    ],
)
def test_convert_file_refuses_what_is_not_a_path_and_names_itself(path: object, said: str) -> None:
    # The errors came from os.fspath and pathlib ("expected str, bytes or os.PathLike object,
    # not BytesIO"), naming neither convert_file nor what to call instead.
    with pytest.raises(TypeError, match=r"^convert_file\(\) takes a path as str or os\.PathLike, "):
        leukoflag.convert_file(path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=said):
        leukoflag.convert_file(path)  # type: ignore[arg-type]


def test_convert_file_refuses_a_path_object_giving_bytes_and_names_itself(tmp_path: Path) -> None:
    # an engine scanning its drop folder by bytes name: os.scandir(b"...") gives DirEntry
    # objects, PathLike with bytes, and pathlib's TypeError named neither convert_file nor a fix
    (tmp_path / "night.hl7").write_bytes(CBC.encode())
    (entry,) = os.scandir(os.fsencode(tmp_path))
    with pytest.raises(
        TypeError,
        match=r"^convert_file\(\) takes a path as str or os\.PathLike, not DirEntry giving bytes: "
        r"for a bytes path, pass os\.fsdecode\(path\)$",
    ):
        leukoflag.convert_file(entry)  # type: ignore[arg-type]
    assert len(leukoflag.convert_file(os.fsdecode(entry)).bundles) == 1


def test_a_file_that_fails_while_it_is_read_is_a_read_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The open succeeded and a later read failed: the bare OSError "[Errno 5] Input/output
    # error" came out, not the ReadError docs/errors.md promise, and it named no file.
    path = tmp_path / "night-feed.hl7"
    path.write_bytes((CBC + SECOND).encode())
    opened = Path.open

    def open_on_share(self: Path, *args: object, **kwargs: object) -> object:
        if self == path:
            return io.BufferedReader(ShareGoneAfter(path, len(CBC)), 1024)
        return opened(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", open_on_share)
    with pytest.raises(leukoflag.ReadError) as caught:
        leukoflag.convert_file(path)
    assert caught.value.errno == errno.EIO
    assert caught.value.strerror == f"cannot read '{path}': Input/output error"


def test_a_path_holding_a_nul_is_a_read_error() -> None:
    # A NUL (a name built from a message field, say) made pathlib raise a bare ValueError:
    # "embedded null byte", neither a leukoflag.Error nor the OSError docs/errors.md promise.
    with pytest.raises(leukoflag.ReadError) as caught:
        leukoflag.convert_file("feeds/night\x00.hl7")
    assert caught.value.errno == errno.EINVAL
    assert caught.value.strerror == "cannot read 'feeds/night\\x00.hl7': embedded null byte"


def test_an_empty_path_is_a_read_error_that_says_the_path_is_empty() -> None:
    # Path("") is the working directory: the error said "cannot read : Is a directory"
    with pytest.raises(leukoflag.ReadError) as caught:
        leukoflag.convert_file("")
    assert caught.value.errno == errno.ENOENT
    assert caught.value.strerror == "cannot read '': the path is empty (no file named)"


def test_a_path_of_blanks_is_quoted_in_the_read_error() -> None:
    with pytest.raises(leukoflag.ReadError) as caught:
        leukoflag.convert_file(" ")
    assert caught.value.strerror == "cannot read ' ': No such file or directory"


def test_rejected_items_of_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.hl7"
    broken = "MSH|^~|HEMLAB|NORTHGATE\rPID|1||NG-771204\r"
    path.write_bytes((CBC + broken + SECOND).encode())
    conversion = leukoflag.convert_file(path)
    assert len(conversion.bundles) == 2
    (rejected,) = conversion.rejected
    assert (rejected.source, rejected.index) == (str(path), 2)
    assert rejected.raw == broken.encode()
    assert "MSH-2 encoding characters" in rejected.reason


# --------------------------------------------------------------------------- splitting in memory


def test_in_memory_split_gives_the_chunks_of_the_stream_split() -> None:
    data = (
        b"\xef\xbb\xbf"
        b"\x0b"
        + CBC.encode()
        + b"\x1c\r"
        + b"stray words\r\n"
        + b"BHS|^~\\&|HEMLAB\r"
        + SECOND.replace("\r", "\n").encode()
        + b"BTS|1\r"
    )
    from_stream = list(hl7v2.split_stream(io.BytesIO(data)))
    assert list(hl7v2.split_bytes(data)) == from_stream
    assert len(from_stream) == 3


def test_message_shorter_than_a_block_is_not_copied() -> None:
    raw = CBC.encode()
    (chunk,) = hl7v2.split_bytes(raw)
    assert chunk is raw


def test_a_batch_cut_short_keeps_its_messages_and_rejects_its_trailer() -> None:
    data = b"BHS|^~\\&|HEMLAB\r" + CBC.encode() + b"BTS|2\r"
    conversion = leukoflag.convert(data)
    assert len(conversion.bundles) == 1
    (rejected,) = conversion.rejected
    assert rejected.location == "MSG[2]"
    assert rejected.raw == b"BTS|2"
    assert rejected.reason.startswith(
        "batch trailer BTS-1 counts 2 messages but the batch held 1; 1 message missing"
    )
    assert [i.code for i in conversion.issues if i.severity is Severity.ERROR] == ["input.rejected"]


def test_a_file_missing_a_batch_keeps_its_messages_and_rejects_its_trailer() -> None:
    data = (
        b"FHS|^~\\&|HEMLAB|LAKESIDE\r"
        b"BHS|^~\\&|HEMLAB\r"
        + CBC.encode()
        + b"BTS|1\r"
        + b"BHS|^~\\&|HEMLAB\r"
        + SECOND.encode()
        + b"BTS|1\r"
        + b"FTS|3\r"
    )
    conversion = leukoflag.convert(data)
    assert len(conversion.bundles) == 2
    (rejected,) = conversion.rejected
    assert len(conversion.bundles) + len(conversion.rejected) == 3
    assert rejected.location == "MSG[3]"
    assert rejected.raw == b"FTS|3"
    assert rejected.reason.startswith(
        "file trailer FTS-1 counts 3 batches but the file held 2; 1 batch missing"
    )
    assert [i.code for i in conversion.issues if i.severity is Severity.ERROR] == ["input.rejected"]


# --------------------------------------------------------------------------- reprs

ADMISSION = "\r".join(
    (MSH.replace("ORU^R01^ORU_R01|NG2612030044", "ADT^A01^ADT_A01|NG2612030046"), PID)
)


def test_reprs_of_what_a_conversion_gives_show_no_patient_data() -> None:
    # An engine logging repr(outcome) or repr(conversion) wrote the message's PID (name, MRN,
    # birth date) to its log: Rejected.raw whole, the output Bundle with its Patient.
    conversion = leukoflag.convert(CBC + ADMISSION + "\r")
    (rejected,) = conversion.rejected
    outcomes = list(
        api.iter_outcomes(
            io.BytesIO((CBC + ADMISSION).encode()), leukoflag.Settings(), source="feed"
        )
    )
    shown = [repr(conversion), repr(rejected), *map(repr, outcomes)]
    for text in shown:
        for phi in ("BRANDVOLD", "INGRID", "NG-771204", "19670302", "1967-03-02"):
            assert phi not in text
    assert repr(conversion) == (
        f"Conversion(bundles=<1 output>, findings=<2 findings>, issues=<{len(conversion.issues)} "
        "issues>, rejected=<1 rejected item>, fhir_version='R4')"
    )
    digest = hashlib.sha256(rejected.raw).hexdigest()[:12]
    assert f"raw=<{len(rejected.raw)} bytes, sha256 {digest}>, location='MSG[2]')" in repr(rejected)
    assert repr(outcomes[0]).startswith("Outcome(index=1, source='feed', output=<Bundle, ")
    assert repr(outcomes[1]) == (
        f"Outcome(index=2, source='feed', output=None, rejected={outcomes[1].rejected!r}, "
        "findings=<0 findings>, issues=<1 issue>, fhir_version='R4')"
    )


def test_a_rejected_repr_tells_items_apart_by_digest_and_keeps_its_fields() -> None:
    first = leukoflag.Rejected(1, "feed.hl7", "not a lab result", b"MSH|^~\\&|A", "MSG[1]")
    second = leukoflag.Rejected(1, "feed.hl7", "not a lab result", b"MSH|^~\\&|B", "MSG[1]")
    assert repr(first) != repr(second)
    assert repr(first).startswith(
        "Rejected(index=1, source='feed.hl7', reason='not a lab result', raw=<10 bytes, sha256 "
    )
    assert repr(first).endswith(">, location='MSG[1]')")
    # only the repr is new: the fields, equality and hash are the dataclass's
    assert first.raw == b"MSH|^~\\&|A"
    assert first == leukoflag.Rejected(1, "feed.hl7", "not a lab result", b"MSH|^~\\&|A", "MSG[1]")
    assert hash(first) == hash(
        leukoflag.Rejected(1, "feed.hl7", "not a lab result", b"MSH|^~\\&|A", "MSG[1]")
    )
