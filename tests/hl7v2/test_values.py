"""OBX-2 value types, OBX-6 units, OBX-7 ranges, OBX-8 flags, OBX-11/OBR-25 status tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import leukoflag
from leukoflag import fhir
from leukoflag.model import (
    Analyte,
    CodedResult,
    Coding,
    NoValue,
    Number,
    NumberRange,
    Ratio,
    ReferenceRange,
    ReportStatus,
    ResultStatus,
    Severity,
    Text,
    Unit,
    Value,
)

from .messages import (
    OBR,
    PID,
    WBC,
    codes,
    finding_and_range,
    first_result,
    issue,
    message,
    obx,
    only_order,
    read,
)

V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
UCUM = "http://unitsofmeasure.org"


def test_nm_keeps_the_decimal_as_sent() -> None:
    result, _ = first_result(obx("8.20"))
    assert result.value == Number(Decimal("8.20"), "8.20")
    assert str(result.value.value) == "8.20"


@pytest.mark.parametrize("sent", ["4,2,1", "1e3", "NaN", "4.5.1", "12 000", "pending"])
def test_nm_that_is_not_a_decimal_is_text_with_an_issue(sent: str) -> None:
    result, read_message = first_result(obx(sent))
    assert result.value == Text(sent)
    assert issue(read_message, "hl7v2.value-not-numeric").location == "MSG[1]/OBX[1]-5"


@pytest.mark.parametrize(
    ("value_type", "sent", "value", "comparator", "shown"),
    [
        ("NM", "2,1", "2.1", "", "2.1"),
        ("NM", "0,05", "0.05", "", "0.05"),
        ("NM", "<0,5", "0.5", "<", "0.5"),
        ("SN", "^2,1", "2.1", "", "2.1"),
        ("SN", "<^0,5", "0.5", "<", "<0.5"),
        ("SN", "<0,5", "0.5", "<", "<0.5"),
        ("ST", "2,1", "2.1", "", "2.1"),
        ("ST", "0,5 or less", "0.5", "<=", "0.5"),
    ],
)
def test_a_value_with_a_decimal_comma_is_read_as_that_decimal_with_an_issue(
    value_type: str, sent: str, value: str, comparator: str, shown: str
) -> None:
    # a European lab's 2,1 G/L was text, not normalized and not flagged
    result, read_message = first_result(obx(sent, value_type=value_type, unit="G/L"))
    assert isinstance(result.value, Number)
    assert (result.value.value, result.value.comparator) == (Decimal(value), comparator)
    assert str(result.value.value) == value  # significant figures as sent: 0,05 is 0.05
    text = sent.replace("^", "")
    assert result.value.text == text  # as sent, with its comma
    found = issue(read_message, "hl7v2.value-decimal-comma")
    assert (found.severity, found.location) == (Severity.INFORMATION, "MSG[1]/OBX[1]-5")
    assert found.text == (
        f"{value_type} value {text!r} was sent with a decimal comma, which HL7 numbers do not "
        f"have: read as {shown}"
    )
    assert "hl7v2.value-not-numeric" not in codes(read_message.issues)


def test_sn_range_with_decimal_commas_is_read_as_a_range() -> None:
    result, read_message = first_result(obx("^2,1^-^3,5", value_type="SN", unit="G/L"))
    assert result.value == NumberRange(Decimal("2.1"), Decimal("3.5"), "2,1-3,5")
    assert issue(read_message, "hl7v2.value-decimal-comma").text == (
        "SN value '2,1-3,5' was sent with a decimal comma, which HL7 numbers do not have: read "
        "as 2.1-3.5"
    )


@pytest.mark.parametrize("value_type", ["NM", "ST", "SN"])
def test_leukopenic_wbc_sent_with_a_decimal_comma_is_normalized_and_flagged(
    value_type: str,
) -> None:
    # 2,1 G/L is 2,100 cells/µL: it escaped flagging as text 'not a number'
    conversion = leukoflag.convert(
        message(PID, OBR, obx("2,1", value_type=value_type, unit="G/L", reference="4,0-11,0"))
    )
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (Decimal(2100), "LU")
    assert "flag.value-not-numeric" not in codes(conversion.issues)
    (bundle,) = conversion.bundles
    (written,) = (
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert written["valueQuantity"]["value"] == Decimal(2100)
    assert written["valueQuantity"]["code"] == "/uL"
    assert written["interpretation"][0]["coding"][0]["code"] == "LU"


@pytest.mark.parametrize(
    ("value_type", "sent", "code", "said"),
    [
        ("NM", "4,200", "hl7v2.value-not-numeric", "NM value '4,200' kept as text"),
        ("NM", "1,500", "hl7v2.value-not-numeric", "NM value '1,500' kept as text"),
        ("NM", "<1,500", "hl7v2.value-not-numeric", "NM value '<1,500' kept as text"),
        ("SN", "^1,500", "hl7v2.value-sn-invalid", "SN value '1,500' kept as text"),
        ("SN", "<^1,500", "hl7v2.value-sn-invalid", "SN value '<1,500' kept as text"),
        ("SN", "<1,500", "hl7v2.value-sn-invalid", "SN value '<1,500' kept as text"),
    ],
)
def test_a_value_with_a_comma_before_three_digits_is_not_read_and_says_why(
    value_type: str, sent: str, code: str, said: str
) -> None:
    # 1,500 is fifteen hundred or 1.5: neither is chosen (fail closed), as in a reference range
    result, read_message = first_result(obx(sent, value_type=value_type))
    assert result.value == Text(sent.replace("^", ""))
    number = sent.lstrip("<^")
    assert issue(read_message, code).text == (
        f"{said}: the comma in {number!r} may separate thousands or be a decimal comma"
    )
    assert "hl7v2.value-decimal-comma" not in codes(read_message.issues)
    conversion = leukoflag.convert(message(PID, OBR, obx(sent, value_type=value_type)))
    assert conversion.findings == []


@pytest.mark.parametrize(
    ("value_type", "sent"), [("NM", "4,200"), ("ST", "1,500"), ("ST", "<1,500")]
)
def test_wbc_with_a_comma_before_three_digits_says_why_it_is_not_flagged(
    value_type: str, sent: str
) -> None:
    # the WBC value '1,500' "is not a number" said nothing of the comma that made it so
    conversion = leukoflag.convert(message(PID, OBR, obx(sent, value_type=value_type)))
    assert conversion.findings == []
    (found,) = [i for i in conversion.issues if i.code == "flag.value-not-numeric"]
    assert found.location == "MSG[1]/OBX[1]-5"
    number = sent.lstrip("<")
    assert found.text == (
        f"not flagged: the WBC value {sent!r} is not read as a number: its comma may separate "
        f"thousands or be a decimal comma; the sender should send {number.replace(',', '')!r} "
        f"(no thousands separator) or {number.replace(',', '.')!r} (a decimal point): a number "
        "has neither in HL7 v2 or FHIR"
    )


def test_nm_that_is_a_decimal_once_its_escapes_are_decoded_is_a_number() -> None:
    # An engine that hex-escapes every character it is unsure of, and a trailing escaped space.
    for sent, text in (("\\X34\\.1", "4.1"), ("4.1\\X20\\", "4.1")):
        result, read_message = first_result(obx(sent))
        assert result.value == Number(Decimal("4.1"), text)
        assert "hl7v2.value-not-numeric" not in codes(read_message.issues)


def test_nm_with_a_comparator_is_read_with_an_issue() -> None:
    result, read_message = first_result(obx("<0.5"))
    assert result.value == Number(Decimal("0.5"), "<0.5", "<")
    assert issue(read_message, "hl7v2.value-comparator-in-nm").location == "MSG[1]/OBX[1]-5"


@pytest.mark.parametrize(
    ("sent", "value"),
    [
        ("<^0.1", Number(Decimal("0.1"), "<0.1", "<")),
        ("<=^0.1", Number(Decimal("0.1"), "<=0.1", "<=")),
        (">^100", Number(Decimal("100"), ">100", ">")),
        (">=^100", Number(Decimal("100"), ">=100", ">=")),
        ("=^4.5", Number(Decimal("4.5"), "=4.5")),
        ("^4.5", Number(Decimal("4.5"), "4.5")),
        ("^1.5^-^2.5", NumberRange(Decimal("1.5"), Decimal("2.5"), "1.5-2.5")),
        ("^1^:^128", Ratio(Decimal("1"), Decimal("128"), "1:128")),
        ("^1^/^2", Ratio(Decimal("1"), Decimal("2"), "1/2")),
        ("<>^5", Text("<>5")),
        ("^2^+", Text("2+")),
    ],
)
def test_sn_forms(sent: str, value: Value) -> None:
    result, read_message = first_result(obx(sent, value_type="SN"))
    assert result.value == value
    assert result.value_type == "SN"
    assert not [c for c in codes(read_message.issues) if c.startswith("hl7v2.value")]


def test_sn_sent_as_plain_text_is_read_with_an_issue() -> None:
    result, read_message = first_result(obx("<0.5", value_type="SN"))
    assert result.value == Number(Decimal("0.5"), "<0.5", "<")
    assert "hl7v2.value-sn-unstructured" in codes(read_message.issues)


@pytest.mark.parametrize("sent", ["<^abc", "!^5", "<^1^-^2", "^1^-^x"])
def test_sn_that_cannot_be_read_is_text_with_an_issue(sent: str) -> None:
    result, read_message = first_result(obx(sent, value_type="SN"))
    assert isinstance(result.value, Text)
    assert "hl7v2.value-sn-invalid" in codes(read_message.issues)


@pytest.mark.parametrize("sent", ["^2.5^-^1.5", "2.5-1.5"])
def test_sn_range_whose_low_is_above_its_high_is_text_with_an_issue(sent: str) -> None:
    # It was a FHIR valueRange with low 2.5 and high 1.5, which Range (rng-2) forbids.
    segment = obx(sent, value_type="SN", code="11156-7^Leukocytes [#/volume] in Blood^LN")
    result, read_message = first_result(segment)
    assert result.value == Text("2.5-1.5")
    assert issue(read_message, "hl7v2.value-sn-invalid").location == "MSG[1]/OBX[1]-5"
    (bundle,) = leukoflag.convert(message(PID, OBR, segment)).bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["valueString"] == "2.5-1.5"
    assert "valueRange" not in observation


@pytest.mark.parametrize("value_type", ["ST", "TX", "FT"])
def test_text_is_kept(value_type: str) -> None:
    result, read_message = first_result(obx("Clumped platelets seen", value_type=value_type))
    assert result.value == Text("Clumped platelets seen")
    assert "hl7v2.value-number-in-text" not in codes(read_message.issues)


def test_text_with_an_unambiguous_leading_number_becomes_a_number() -> None:
    result, read_message = first_result(obx("3.4 (verified on repeat)", value_type="ST"))
    assert result.value == Number(
        Decimal("3.4"), "3.4 (verified on repeat)", comment="(verified on repeat)"
    )
    found = issue(read_message, "hl7v2.value-number-in-text")
    assert found.location == "MSG[1]/OBX[1]-5"


def _unit_conflict(segment: str) -> tuple[leukoflag.Conversion, leukoflag.Issue]:
    """The message of one OBX ``segment`` converted: asserts its count was not judged, and
    returns the conversion with its one units.unit-conflict Issue, at OBX-6."""
    conversion = leukoflag.convert(message(PID, OBR, segment))
    assert conversion.findings == []
    (conflict,) = [i for i in conversion.issues if i.code == "units.unit-conflict"]
    assert conflict.location == "MSG[1]/OBX[1]-6"
    return conversion, conflict


def _observation(conversion: leukoflag.Conversion) -> dict[str, Any]:
    (bundle,) = conversion.bundles
    (observation,) = (
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert isinstance(observation, dict)
    return observation


@pytest.mark.parametrize("sent", ["3.2 H", "3.2 (H)", "3.2 [H]"])
def test_text_number_with_a_flag_after_it_is_compared_as_the_senders_flag(sent: str) -> None:
    # An ST '3.2 H' (a lab that writes its flag after the number) was judged L by the lab's
    # 4.0-11.0 with the sender's H kept only as a note: no flag.sender-disagrees, no
    # sender-interpretation, though the same H sent in OBX-8 gives both.
    conversion = leukoflag.convert(message(PID, OBR, obx(sent, value_type="ST")))
    (finding,) = conversion.findings
    assert (finding.code, finding.sender_flags) == ("L", ("H",))
    said = [(i.code, i.location, i.text) for i in conversion.issues if i.code.endswith("-text")]
    assert said == [
        (
            "hl7v2.value-number-in-text",
            "MSG[1]/OBX[1]-5",
            f"ST value '{sent}' read as the number 3.2 with the comment '{sent[4:]}'",
        ),
        (
            "hl7v2.value-flag-in-text",
            "MSG[1]/OBX[1]-5",
            (
                f"ST value '{sent}': the comment '{sent[4:]}' after the number is an abnormal "
                "flag of HL7 table 0078 (H), read as the sender's flag, as OBX-8 (empty) would "
                "carry it"
            ),
        ),
    ]
    (disagrees,) = (i for i in conversion.issues if i.code == "flag.sender-disagrees")
    assert (disagrees.location, disagrees.text) == (
        "MSG[1]/OBX[1]-5",
        "the sender flagged H; leukoflag computed L",
    )
    observation = _observation(conversion)
    sender = [
        e
        for e in observation["extension"]
        if e["url"] == "http://leukoflag.org/fhir/StructureDefinition/sender-interpretation"
    ]
    assert [e["valueCodeableConcept"]["coding"][0]["code"] for e in sender] == ["H"]
    assert observation["note"] == [{"text": sent[4:]}]


def test_text_number_with_a_flag_agreeing_is_the_senders_flag_without_disagreement() -> None:
    result, _ = first_result(obx("3.2 L", value_type="TX"))
    assert [(c.code, c.system) for c in result.sender_flags] == [
        ("L", "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation")
    ]
    conversion = leukoflag.convert(message(PID, OBR, obx("3.2 L", value_type="TX")))
    assert "flag.sender-disagrees" not in codes(conversion.issues)


@pytest.mark.parametrize(
    "sent", ["3.2 (verified)", "3.2 low", "3.2 K/uL", "3.2 S", "3.2 (H", "<0.5 or less"]
)
def test_text_number_with_a_comment_that_is_no_flag_has_no_senders_flag(sent: str) -> None:
    result, read_message = first_result(obx(sent, value_type="ST"))
    assert result.sender_flags == ()
    assert "hl7v2.value-flag-in-text" not in codes(read_message.issues)


@pytest.mark.parametrize(
    ("sent", "unit"),
    [("1.5 L", ""), ("1.5 L", "L"), ("1.5 (L)", "l^liter^UCUM"), ("2 H", "H")],
)
def test_text_number_whose_comment_may_be_its_unit_has_no_senders_flag(
    sent: str, unit: str
) -> None:
    # '1.5 L' without OBX-6 (a urine volume in litres), or with OBX-6 naming L itself, is a
    # number and its unit, not a Low flag: the flag is read only beside another unit
    result, read_message = first_result(
        obx(sent, value_type="ST", code="3167-4^Volume of 24 hour Urine^LN", unit=unit)
    )
    assert result.sender_flags == ()
    assert "hl7v2.value-flag-in-text" not in codes(read_message.issues)


def test_text_number_with_a_flag_beside_obx_8_keeps_obx_8_as_the_senders_flags() -> None:
    # OBX-8 is where the flags go: a comment flag beside it is only the note it was
    result, read_message = first_result(obx("3.2 H", value_type="ST", flags="L"))
    assert [c.code for c in result.sender_flags] == ["L"]
    assert "hl7v2.value-flag-in-text" not in codes(read_message.issues)


@pytest.mark.parametrize("value_type", ["ST", "TX"])
def test_text_number_padded_with_leading_spaces_becomes_a_number(value_type: str) -> None:
    result, read_message = first_result(obx("   3.4", value_type=value_type))
    assert result.value == Number(Decimal("3.4"), "   3.4")
    assert "hl7v2.value-number-in-text" in codes(read_message.issues)


@pytest.mark.parametrize(
    ("sent", "value", "comparator"),
    [
        ("4.0 or less", "4.0", "<="),
        ("0.5 or below", "0.5", "<="),
        ("1.2 and under", "1.2", "<="),
        ("20.0 and above", "20.0", ">="),
        ("1.5 or more", "1.5", ">="),
        ("12 Or Greater.", "12", ">="),
    ],
)
def test_text_number_with_a_plain_english_bound_becomes_that_bound(
    sent: str, value: str, comparator: str
) -> None:
    result, read_message = first_result(obx(sent, value_type="ST"))
    assert result.value == Number(Decimal(value), sent, comparator)
    found = issue(read_message, "hl7v2.value-number-in-text")
    assert found.text.startswith(f"ST value '{sent}' read as the bound {comparator}{value} (")
    assert "hl7v2.value-bound-in-words" not in codes(read_message.issues)


@pytest.mark.parametrize(
    "sent", ["4.0 +", "0.5 max", "0.5 or less (verified)", "2.0 minimum", "<0.5 or less"]
)
def test_text_number_stated_as_a_bound_in_other_words_stays_text(sent: str) -> None:
    result, read_message = first_result(obx(sent, value_type="ST"))
    assert result.value == Text(sent)
    found = issue(read_message, "hl7v2.value-bound-in-words")
    assert found.location == "MSG[1]/OBX[1]-5"
    assert found.text.startswith(f"ST value '{sent}' is a bound")
    assert "hl7v2.value-number-in-text" not in codes(read_message.issues)


def test_text_number_stated_as_a_bound_in_words_is_judged_as_that_bound() -> None:
    # "4.0 or less" read as 4,000 would be N against the lab's 4.0-11.0: it may be far lower
    conversion = leukoflag.convert(message(PID, OBR, obx("4.0 or less", value_type="TX")))
    (bundle,) = conversion.bundles
    (observation,) = (
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert observation["valueQuantity"]["comparator"] == "<="
    assert observation["valueQuantity"]["value"] == Decimal(4000)
    assert "interpretation" not in observation
    assert conversion.findings == []
    assert "flag.bound-inconclusive" in codes(conversion.issues)
    # a bound that proves the count low is judged
    conversion = leukoflag.convert(message(PID, OBR, obx("2.0 or less", value_type="TX")))
    (finding,) = conversion.findings
    assert (finding.code, finding.comparator) == ("LU", "<=")


def test_text_value_naming_its_unit_with_the_unit_field_empty_is_read_in_that_unit() -> None:
    # ST '450 cells/uL', OBX-6 empty: 450 alone could be 450 or 450,000 cells/µL (no-unit), but
    # the lab wrote its unit: a critical ANC of 450 cells/µL, not a result left unjudged
    anc = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"
    sent = obx("450 cells/uL", value_type="ST", unit="", reference="", code=anc)
    conversion = leukoflag.convert(message(PID, OBR, sent))
    (finding,) = conversion.findings
    assert (finding.analyte, finding.value_per_ul, finding.code) == (
        Analyte.ANC,
        Decimal(450),
        "LL",
    )
    assert not {"units.no-unit", "units.unit-inferred"} & set(codes(conversion.issues))


@pytest.mark.parametrize(
    ("sent", "per_ul", "code", "comparator"),
    [
        # the SI unit written with its power of ten: 'not a number', the critical ANC unflagged
        ("0.4 x10\\S\\9/L", Decimal(400), "LL", ""),
        ("0.4 x10E9/L", Decimal(400), "LL", ""),
        ("<0.5 10*9/L", Decimal(500), "LL", "<"),
        ("0.4 ×10⁹/L", Decimal(400), "LL", ""),
        ("1.2 x 10\\S\\3/uL", Decimal(1200), "L", ""),
        ("1.2 10³/µL", Decimal(1200), "L", ""),
    ],
)
def test_text_value_naming_a_unit_written_with_digits_is_read_in_that_unit(
    sent: str, per_ul: Decimal, code: str, comparator: str
) -> None:
    # ST '0.4 x10^9/L' with OBX-6 empty was 'not a number' (flag.value-not-numeric) while
    # '0.4 G/L', the same unit, was read: a comment holding digits was never read as a unit
    anc = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"
    sent_obx = obx(sent, value_type="ST", unit="", reference="1.8-7.7", code=anc)
    conversion = leukoflag.convert(message(PID, OBR, sent_obx))
    (finding,) = conversion.findings
    assert (finding.analyte, finding.value_per_ul, finding.code, finding.comparator) == (
        Analyte.ANC,
        per_ul,
        code,
        comparator,
    )
    assert not {"flag.value-not-numeric", "units.no-unit", "units.unit-inferred"} & set(
        codes(conversion.issues)
    )
    assert [i.location for i in conversion.issues if i.code == "hl7v2.value-number-in-text"] == [
        "MSG[1]/OBX[1]-5"
    ]


@pytest.mark.parametrize(
    ("sent", "per_ul", "code"),
    [
        # each was 'not a number' (flag.value-not-numeric), the critical ANC unflagged
        ("0.4K/uL", Decimal(400), "LL"),  # the unit written against the number
        ("0.4x10\\S\\9/L", Decimal(400), "LL"),
        ("0.4\u00a0x10\\S\\9/L", Decimal(400), "LL"),  # a no-break space before the unit
        ("0.4\u00a0K/uL", Decimal(400), "LL"),
        ("0.4 x10\\S\\9/L.", Decimal(400), "LL"),  # a full stop after the unit
        ("1.2 10*3/uL.", Decimal(1200), "L"),
        # was read with the comment 'K/uL.' and its unit inferred from the magnitude
        ("1.2 K/uL.", Decimal(1200), "L"),
    ],
)
def test_text_value_with_its_unit_glued_or_before_a_stop_is_read_in_that_unit(
    sent: str, per_ul: Decimal, code: str
) -> None:
    anc = "751-8^Neutrophils [#/volume] in Blood by Automated count^LN"
    sent_obx = obx(sent, value_type="ST", unit="", reference="1.8-7.7", code=anc)
    conversion = leukoflag.convert(message(PID, OBR, sent_obx))
    (finding,) = conversion.findings
    assert (finding.analyte, finding.value_per_ul, finding.code) == (Analyte.ANC, per_ul, code)
    assert not {"flag.value-not-numeric", "units.no-unit", "units.unit-inferred"} & set(
        codes(conversion.issues)
    )
    assert [i.location for i in conversion.issues if i.code == "hl7v2.value-number-in-text"] == [
        "MSG[1]/OBX[1]-5"
    ]


@pytest.mark.parametrize(
    "sent",
    [
        "3.1abc",  # no unit after the number
        "3.110*3/uL",  # 3.110 of '*3/uL' or 3.1 of 10*3/uL: not told
        "3.1K/uL 2.9",  # a second number
        "0.4 x10^9/L. 2.9",
        "0.4 x10^9/L..",
    ],
)
def test_text_value_whose_unit_is_not_told_apart_stays_text(sent: str) -> None:
    result, _ = first_result(obx(sent.replace("^", "\\S\\"), value_type="ST", unit=""))
    assert isinstance(result.value, Text)


@pytest.mark.parametrize(
    ("sent", "number", "comment"),
    [
        # a second number after the first is no unit: '3.1 1' is not 3.1 in UCUM's unity
        ("3.1 1", None, ""),
        ("3.1 2.9", None, ""),
        ("3.1 (was 2.9)", None, ""),
        ("3.1 x10^9/L", Decimal("3.1"), "x10^9/L"),
        ("3.1 10*12/L", Decimal("3.1"), "10*12/L"),
    ],
)
def test_text_value_comment_holding_digits_is_read_only_when_it_is_a_unit(
    sent: str, number: Decimal | None, comment: str
) -> None:
    result, _ = first_result(obx(sent.replace("^", "\\S\\"), value_type="ST", unit=""))
    if number is None:
        assert isinstance(result.value, Text)
    else:
        assert isinstance(result.value, Number)
        assert (result.value.value, result.value.comment) == (number, comment)


@pytest.mark.parametrize(
    ("sent", "code", "location"),
    [
        # a differential percent in a WBC's slot was judged a leukopenia of 3,100 cells/µL
        ("3.1 %", "units.percent", "MSG[1]/OBX[1]-5"),
        ("3.1 g/dL", "units.wrong-analyte", "MSG[1]/OBX[1]-5"),
        # 1.2 million cells/µL as written, read as a critical 1,200 from its magnitude
        ("1200 K/uL", "units.implausible", "MSG[1]/OBX[1]-5"),
        ("3.2 /L", "units.refused-unit", "MSG[1]/OBX[1]-5"),
        # the thousandfold read as 3,100: in the unit written it is a count per µL with decimals
        ("3.1 cells/uL", "flag.scale-suspect", "MSG[1]/OBX[1]-5"),
    ],
)
def test_text_value_naming_a_unit_that_is_no_plausible_count_is_not_flagged(
    sent: str, code: str, location: str
) -> None:
    conversion = leukoflag.convert(
        message(PID, OBR, obx(sent, value_type="ST", unit="", reference="4.0-11.0"))
    )
    assert conversion.findings == []
    found = [i for i in conversion.issues if i.code == code]
    assert [i.location for i in found] == [location]
    assert "units.unit-inferred" not in codes(conversion.issues)


def test_text_values_naming_their_units_give_a_derived_anc() -> None:
    # WBC '2.35 K/uL' and segmented/band counts '0.47 K/uL', '120 cells/uL', all with OBX-6 empty
    wbc = obx("2.35 K/uL", value_type="ST", unit="", reference="")
    seg = obx(
        "0.47 K/uL",
        value_type="ST",
        unit="",
        reference="",
        code="768-2^Segmented neutrophils [#/volume] in Blood by Manual count^LN",
        set_id="2",
    )
    band = obx(
        "120 cells/uL",
        value_type="ST",
        unit="",
        reference="",
        code="763-3^Band form neutrophils [#/volume] in Blood by Manual count^LN",
        set_id="3",
    )
    conversion = leukoflag.convert(message(PID, OBR, wbc, seg, band))
    derived = [f for f in conversion.findings if f.derived]
    assert [(f.value_per_ul, f.code) for f in derived] == [(Decimal(590), "LU")]


@pytest.mark.parametrize("sent", ["3.4-5.0", "1:128", "3.4 or 3.9", "2+", "Negative"])
def test_ambiguous_text_stays_text(sent: str) -> None:
    result, _ = first_result(obx(sent, value_type="ST"))
    assert result.value == Text(sent)


def test_formatted_text_repetitions_are_lines() -> None:
    result, _ = first_result(obx("Smear:~\\.br\\Toxic granulation", value_type="FT"))
    assert result.value == Text("Smear:\n\nToxic granulation")


def test_coded_value_is_a_concept() -> None:
    result, _ = first_result(
        obx("260385009^Negative^SCT^NEG^negative^L", value_type="CWE", unit="", reference="")
    )
    assert isinstance(result.value, CodedResult)
    assert result.value.concept.codings == (
        Coding("260385009", "Negative", "http://snomed.info/sct", "SCT"),
        Coding("NEG", "negative", "", "L"),
    )


@pytest.mark.parametrize("sent", ["***.**", "-----", "***", "--.--"])
def test_masked_values_are_no_value(sent: str) -> None:
    result, _ = first_result(obx(sent))
    assert result.value == NoValue("masked", sent)
    assert result.data_absent_reason == "masked"


def test_empty_value_is_no_value() -> None:
    result, _ = first_result(obx("", status="X", flags=""))
    assert result.value == NoValue("empty")
    assert result.status is ResultStatus.CANCELLED
    assert result.data_absent_reason == "not-performed"


def test_missing_value_type_is_inferred_with_an_issue() -> None:
    result, read_message = first_result(obx("7.3", value_type=""))
    assert result.value == Number(Decimal("7.3"), "7.3")
    assert "hl7v2.value-type-missing" in codes(read_message.issues)


@pytest.mark.parametrize(
    ("sent", "unit", "rejoined"),
    [
        ("10*3/uL^^UCUM", Unit("10*3/uL", "10*3/uL", UCUM), False),
        ("K/uL", Unit("K/uL"), False),
        ("10^3/uL", Unit("10^3/uL"), True),
        ("x10^9/L", Unit("x10^9/L"), True),
        ("x10\\S\\9/L", Unit("x10^9/L"), False),
        ("10*9/L^x10E9/L^UCUM", Unit("x10E9/L", "10*9/L", UCUM), False),
        ("^cells/uL", Unit("cells/uL"), False),
        (
            "THOU/uL^thousand per microliter^99RSLAB",
            Unit("thousand per microliter", "THOU/uL", "99RSLAB"),
            False,
        ),
        ("10^3/uL^10^3/uL^L", Unit("10^3/uL", "10^3/uL", "L"), True),
        # a cubic millimetre's unescaped "^3", as US labs spell cells/mm³
        ("/mm^3", Unit("/mm^3"), True),
        ("K/MM^3", Unit("K/MM^3"), True),
        ("10^3/mm^3^^L", Unit("10^3/mm^3", "10^3/mm^3", "L"), True),
        ("/mm3^cells per mm3^L", Unit("cells per mm3", "/mm3", "L"), False),
        ("K/uL^K/uL", Unit("K/uL"), False),
        # without CWE.3, a CWE.1 other than CWE.2 is kept so that units can compare them
        ("/uL^K/uL", Unit("K/uL", "/uL"), False),
    ],
)
def test_units(sent: str, unit: Unit, rejoined: bool) -> None:
    result, read_message = first_result(obx("5.0", unit=sent))
    assert result.unit == unit
    assert ("hl7v2.unit-rejoined" in codes(read_message.issues)) is rejoined


@pytest.mark.parametrize(
    ("sent", "value"),
    [("/uL^K/uL", "3.9"), ("K/uL^/uL", "3.9"), ("10*9/L^g/L", "3.9"), ("g/L^G/L", "3.9")],
)
def test_a_unit_whose_code_and_text_disagree_without_a_coding_system_is_not_flagged(
    sent: str, value: str
) -> None:
    # /uL and K/uL are a thousandfold apart: taking CWE.2 alone read 3.9 as 3,900 or 3.9 cells/µL
    _unit_conflict(obx(value, unit=sent, reference=""))


@pytest.mark.parametrize(
    ("sent", "coded", "original"),
    [
        ("10*3/uL^^UCUM^^^^^^cells/uL", "'10*3/uL' (OBX-6.1)", "'cells/uL'"),
        ("10*3/uL^^UCUM^^^^^^/uL", "'10*3/uL' (OBX-6.1)", "'/uL'"),
        ("/uL^^UCUM^^^^^^K/uL", "'/uL' (OBX-6.1)", "'K/uL'"),
        ("^10*9/L^^^^^^^cells/uL", "'10*9/L' (OBX-6.2)", "'cells/uL'"),
    ],
)
def test_a_unit_whose_original_text_names_another_scale_is_not_flagged(
    sent: str, coded: str, original: str
) -> None:
    # 3.1 in 10*3/uL is 3,100 cells/µL (leukopenia), but the lab's own text says 3.1 cells/µL:
    # a thousandfold apart, so neither is trusted, as an alternate coding that disagrees
    conversion, conflict = _unit_conflict(obx("3.1", unit=sent, reference=""))
    assert f"the unit and its original text disagree: {coded}" in conflict.text
    assert f"the original text {original} (OBX-6.9)" in conflict.text
    assert "alternate" not in conflict.text
    (bundle,) = conversion.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert "interpretation" not in observation or not any(
        c.get("code") in {"L", "LL"}
        for i in observation["interpretation"]
        for c in i.get("coding", [])
    )
    kept = observation["valueQuantity"]["extension"]
    assert {
        "url": "http://leukoflag.org/fhir/StructureDefinition/unit-original-text-sent",
        "valueString": original.strip("'"),
    } in kept
    # read back, the unit and its original text disagree again: refused again, not judged
    again = leukoflag.convert(fhir.dumps(bundle))
    assert again.findings == []
    assert "units.unit-conflict" in codes(again.issues)


@pytest.mark.parametrize(
    ("value", "sent", "code", "said"),
    [
        # a neutrophil percentage whose LIS row is mapped to the ANC code and 10*3/uL: 38,000 N
        ("38", "10*3/uL^^UCUM^^^^^^%", "751-8^Neutrophils^LN", "is % (percent"),
        ("3.1", "10*9/L^^UCUM^^^^^^g/L", "6690-2^WBC^LN", "is g/L (grams per litre"),
        ("3.1", "10*3/uL^^UCUM^^^^^^x10E6/uL", "6690-2^WBC^LN", "is 10*6/uL (millions"),
        ("3.1", "10*3/uL^^UCUM^^^^^^/hpf", "6690-2^WBC^LN", "is /[HPF] (per high-power"),
        ("3.1", "10*3/uL^^UCUM^^^^^^/L", "6690-2^WBC^LN", "is refused: a count per litre"),
        (
            "150",
            "10*3/uL^^UCUM^^^^^^10*3{Platelets}/uL",
            "6690-2^WBC^LN",
            "names another analyte in its annotation {Platelets}",
        ),
    ],
)
def test_a_count_unit_whose_original_text_is_no_count_or_refused_is_not_flagged(
    value: str, sent: str, code: str, said: str
) -> None:
    # the lab's own text says a percentage, a mass, red cells, a microscope field, a count per
    # litre without its 10^9 or platelets: the coded count unit is not trusted over it
    conversion, conflict = _unit_conflict(obx(value, unit=sent, code=code, reference=""))
    assert "the unit and its original text disagree: " in conflict.text
    assert f"(OBX-6.9) {said}" in conflict.text
    (bundle,) = conversion.bundles
    again = leukoflag.convert(fhir.dumps(bundle))
    assert again.findings == []
    assert "units.unit-conflict" in codes(again.issues)


@pytest.mark.parametrize(
    ("value", "sent", "code", "said"),
    [
        # an ANC row mapped to the WBC code: the lab's other words for its unit say neutrophils
        (
            "1.2",
            "10*3/uL^^UCUM^10*3{Neutrophils}/uL^^UCUM",
            "6690-2^WBC^LN",
            (
                "the unit and its alternate coding disagree: '10*3/uL' is 10*3/uL (thousands "
                "of cells per microlitre) but the alternate '10*3{Neutrophils}/uL' names "
                "neutrophils (an ANC) in its annotation (units.toml [annotations]), not all "
                "white cells (a WBC)"
            ),
        ),
        (
            "1.2",
            "10*3/uL^^UCUM^^^^^^10*3{Neutrophils}/uL",
            "6690-2^WBC^LN",
            (
                "the unit and its original text disagree: '10*3/uL' (OBX-6.1) is 10*3/uL "
                "(thousands of cells per microlitre) but the original text "
                "'10*3{Neutrophils}/uL' (OBX-6.9) names neutrophils (an ANC) in its annotation "
                "(units.toml [annotations]), not all white cells (a WBC)"
            ),
        ),
        # a WBC row mapped to the ANC code
        (
            "3.1",
            "10*9/L^^UCUM^^^^^^10*9{WBCs}/L",
            "751-8^Neutrophils^LN",
            (
                "the original text '10*9{WBCs}/L' (OBX-6.9) names all white cells (a WBC) in its "
                "annotation (units.toml [annotations]), not neutrophils (an ANC)"
            ),
        ),
        (
            "3.1",
            "10*3/uL^^UCUM^10*3{Leukocytes}/uL^^UCUM",
            "751-8^Neutrophils^LN",
            "the alternate '10*3{Leukocytes}/uL' names all white cells (a WBC)",
        ),
    ],
)
def test_a_count_whose_alternate_or_original_text_names_the_other_count_is_not_flagged(
    value: str, sent: str, code: str, said: str
) -> None:
    # a WBC of 1.2 10*3/uL whose lab also calls its unit 10*3{Neutrophils}/uL is an ANC row
    # under the WBC code, not a WBC of 1,200 (LL), as the unit itself so annotated is refused
    conversion, conflict = _unit_conflict(obx(value, unit=sent, code=code, reference=""))
    assert said in conflict.text
    (bundle,) = conversion.bundles
    again = leukoflag.convert(fhir.dumps(bundle))
    assert again.findings == []
    assert "units.unit-conflict" in codes(again.issues)


@pytest.mark.parametrize(
    ("value", "sent", "code", "per_ul"),
    [
        ("0.4", "10*3/uL^^UCUM^10*3{Neutrophils}/uL^^UCUM", "751-8^Neutrophils^LN", "400"),
        ("0.4", "10*3/uL^^UCUM^^^^^^10*3{Neutrophils}/uL", "751-8^Neutrophils^LN", "400"),
        ("1.2", "10*3/uL^^UCUM^^^^^^10*3{WBCs}/uL", "6690-2^WBC^LN", "1200"),
    ],
)
def test_a_count_whose_alternate_or_original_text_names_the_count_itself_is_flagged(
    value: str, sent: str, code: str, per_ul: str
) -> None:
    conversion = leukoflag.convert(
        message(PID, OBR, obx(value, unit=sent, code=code, reference=""))
    )
    (finding,) = conversion.findings
    assert finding.value_per_ul == Decimal(per_ul)
    assert "units.unit-conflict" not in codes(conversion.issues)


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        # the lab's own text says lymphocytes: 30 % of them is no neutrophil percentage
        ("%^^UCUM^^^^^^%{Lymphocytes}", "names another analyte in its annotation {Lymphocytes}"),
        # the lab's own text says a count: 30 thousand per µL is no percentage
        ("%^^UCUM^^^^^^10*3/uL", "is 10*3/uL (thousands of cells per microlitre)"),
        ("%^^UCUM^^^^^^/L", "is refused: a count per litre"),
    ],
)
def test_a_percent_unit_whose_original_text_is_another_unit_derives_no_anc(
    sent: str, said: str
) -> None:
    # WBC 4.0 10*3/uL with 770-8 30 '%' whose OBX-6.9 names something else: an ANC of 1,200
    # (L) derived from it would rest on a unit its own sender contradicts, as an alternate
    # coding '%{Lymphocytes}' is refused
    percent = obx(
        "30", unit=sent, code="770-8^Neutrophils/100 leukocytes^LN", reference="", set_id="2"
    )
    conversion = leukoflag.convert(message(PID, OBR, obx("4.0", reference=""), percent))
    assert [(f.value_per_ul, f.derived) for f in conversion.findings] == [(Decimal(4000), False)]
    (not_derived,) = [i for i in conversion.issues if i.code == "flag.anc-not-derived"]
    assert not_derived.location == "MSG[1]/OBR[1]"
    assert (
        "neutrophils % MSG[1]/OBX[2] is not used (its unit '%' is refused: the unit and its "
        "original text disagree: '%' (OBX-6.1) is % (percent"
    ) in not_derived.text
    assert f"(OBX-6.9) {said}" in not_derived.text


@pytest.mark.parametrize("sent", ["%^^UCUM^^^^^^%", "%^^UCUM^^^^^^%{Neutrophils}"])
def test_a_percent_unit_whose_original_text_is_a_percent_derives_the_anc(sent: str) -> None:
    percent = obx(
        "30", unit=sent, code="770-8^Neutrophils/100 leukocytes^LN", reference="", set_id="2"
    )
    conversion = leukoflag.convert(message(PID, OBR, obx("4.0", reference=""), percent))
    assert [(f.value_per_ul, f.derived) for f in conversion.findings] == [
        (Decimal(4000), False),
        (Decimal(1200), True),
    ]
    assert "units.unit-conflict" not in codes(conversion.issues)


@pytest.mark.parametrize(
    "sent", ["10*3/uL^^UCUM^^^^^^K/uL", "10*3/uL^^UCUM^^^^^^x10E3/uL", "10*3/uL^^UCUM^^^^^^WBC"]
)
def test_a_unit_whose_original_text_is_of_the_same_scale_or_unknown_is_flagged(
    sent: str,
) -> None:
    # K/uL and x10E3/uL are 10*3/uL; 'WBC' is no unit the table reads: as before, 3,100 cells/µL
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", unit=sent, reference="")))
    assert [f.code for f in conversion.findings] != []
    assert "units.unit-conflict" not in codes(conversion.issues)
    (unmapped,) = [i for i in conversion.issues if i.location == "MSG[1]/OBX[1]-6.9"]
    assert unmapped.code == "hl7v2.component-unmapped"


@pytest.mark.parametrize(
    ("sent", "low", "high", "unit"),
    [
        ("4.0-11.0", "4.0", "11.0", None),
        ("4.0 - 11.0", "4.0", "11.0", None),
        ("4.0 to 11.0", "4.0", "11.0", None),
        ("[4.0-11.0]", "4.0", "11.0", None),
        ("(4.0-11.0)", "4.0", "11.0", None),
        ("4.0-11.0 x10\\S\\9/L", "4.0", "11.0", Unit("x10^9/L")),
        ("4.0–11.0", "4.0", "11.0", None),  # an en dash, as some labs send
        ("4.0-11.0 x10\\S\\9/L (adult)", "4.0", "11.0", Unit("x10^9/L")),  # a note, no unit
        ("4.0-11.0 10*9/L [18 y and over]", "4.0", "11.0", Unit("10*9/L")),
        ("4.0-11.0 x10(9)/L (adult)", "4.0", "11.0", Unit("x10(9)/L")),
        (">4.0", "4.0", None, None),
        (">= 1.8", "1.8", None, None),
        ("<11", None, "11", None),
        ("<=11 K/uL", None, "11", Unit("K/uL")),
        ("-2.0--0.5", "-2.0", "-0.5", None),
        ("-3 - 3", "-3", "3", None),
    ],
)
def test_reference_ranges(sent: str, low: str | None, high: str | None, unit: Unit | None) -> None:
    result, _ = first_result(obx("5.0", reference=sent))
    text = sent.replace("\\S\\", "^")
    assert result.reference_range == ReferenceRange(
        text,
        Decimal(low) if low else None,
        Decimal(high) if high else None,
        unit,
        adults=sent.endswith(("(adult)", "[18 y and over]")),  # for adults: not a child's range
    )


@pytest.mark.parametrize(
    ("sent", "low", "high", "unit"),
    [
        ("4,0-11,0", "4.0", "11.0", None),
        ("4,0 - 11,0", "4.0", "11.0", None),
        ("1,8–7,7", "1.8", "7.7", None),  # en dash
        ("4,0-11,0 G/L", "4.0", "11.0", Unit("G/L")),
        ("4,0-11,0 G/L (Erwachsene, ab 18 J.)", "4.0", "11.0", Unit("G/L")),
        ("[1,50-7,70]", "1.50", "7.70", None),
        (">1,8", "1.8", None, None),
        ("-2,0--0,5", "-2.0", "-0.5", None),
    ],
)
def test_reference_ranges_with_decimal_commas(
    sent: str, low: str, high: str | None, unit: Unit | None
) -> None:
    # European labs write 4,0-11,0: it was kept as text only, and the default range judged
    result, _ = first_result(obx("5.0", reference=sent))
    assert result.reference_range == ReferenceRange(
        sent, Decimal(low), Decimal(high) if high else None, unit
    )


@pytest.mark.parametrize(
    ("unit", "reference"),
    [
        # a European lab's decimal commas: no limits were read, and the default range judged
        ("G/L", "4,0-11,0 G/L"),
        # the note after the unit was read as part of it: '10*9/L (adult)', no unit, default range
        ("10*9/L", "4.0-11.0 10*9/L (adult)"),
    ],
)
def test_wbc_judged_with_a_labs_range_in_a_form_once_unread(unit: str, reference: str) -> None:
    # 4,200 is within the lab's 4.0-11.0 x10^9/L but below leukoflag's default 5,000 for a man
    conversion = leukoflag.convert(message(PID, OBR, obx("4.2", unit=unit, reference=reference)))
    assert "flag.lab-range-unusable" not in codes(conversion.issues)
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "lab",
        Decimal(4000),
        Decimal(11000),
    )
    assert finding.code == "N"


@pytest.mark.parametrize(
    ("sent", "low", "high", "unit"),
    [
        ("4.0-11.0.", "4.0", "11.0", None),
        ("4.0-11.0 10*9/L.", "4.0", "11.0", Unit("10*9/L")),
        ("4,0-11,0 G/L.", "4.0", "11.0", Unit("G/L")),
        ("4,0-11,0.", "4.0", "11.0", None),  # the full stop was the unit '.'
        (">4.0.", "4.0", None, None),
        ("4.0-11.", "4.0", "11", None),  # '11.' is 11 with or without its point
    ],
)
def test_reference_range_ending_a_sentence_is_read_without_its_full_stop(
    sent: str, low: str, high: str | None, unit: Unit | None
) -> None:
    # '4.0-11.0.' gave no limits and '10*9/L.' an unknown unit: the default range judged
    result, _ = first_result(obx("4.2", unit="10*9/L", reference=sent))
    assert result.reference_range == ReferenceRange(
        sent, Decimal(low), Decimal(high) if high else None, unit
    )


@pytest.mark.parametrize(
    "sent",
    [
        "4.0-11.0.",
        "4.0-11.0 10*9/L.",
        "Adult: 4.0-11.0.",
        # the unit in brackets was a note: 4000-11000 read in the value's 10^9/L
        "4000-11000 (/uL)",
    ],
)
def test_wbc_judged_with_a_labs_range_ending_in_a_full_stop_or_a_unit_in_brackets(
    sent: str,
) -> None:
    # 4,200 is within the lab's 4,000-11,000 but below leukoflag's default 5,000 for a man
    conversion = leukoflag.convert(message(PID, OBR, obx("4.2", unit="10*9/L", reference=sent)))
    assert not [c for c in codes(conversion.issues) if c.startswith(("flag.lab-range", "units."))]
    finding, applied = finding_and_range(conversion)
    assert (finding.code, applied.source, applied.low, applied.high) == (
        "N",
        "lab",
        Decimal(4000),
        Decimal(11000),
    )


def test_reference_range_ending_in_an_unknown_word_and_a_full_stop_keeps_it_in_the_unit() -> None:
    # only a number or a unit of the table loses its full stop: 'cells.' is not 'cells'
    result, _ = first_result(obx("4.2", unit="10*9/L", reference="4.0-11.0 cells."))
    assert result.reference_range is not None
    assert result.reference_range.unit == Unit("cells.")


@pytest.mark.parametrize(
    ("sent", "unit", "adults"),
    [
        ("4.0-11.0 (10*9/L)", "10*9/L", False),
        ("4.5-11.0 [x10\\S\\9/L]", "x10^9/L", False),
        ("4.0-11.0 (x10(9)/L)", "x10(9)/L", False),  # the note ended at its inner bracket
        ("4.0-11.0 (10*9/L) (adult)", "10*9/L", True),
        ("4.0-11.0 (adult) (G/L)", "G/L", True),
    ],
)
def test_reference_range_unit_in_brackets_after_the_limits_is_their_unit(
    sent: str, unit: str, adults: bool
) -> None:
    # '(10*9/L)' was read as a note, so the limits were read in the value's unit, silently
    result, _ = first_result(obx("4.2", unit="10*9/L", reference=sent))
    assert result.reference_range is not None
    assert result.reference_range.unit == Unit(unit)
    assert (result.reference_range.low, result.reference_range.adults) == (
        Decimal("4.5" if "4.5" in sent else "4.0"),
        adults,
    )


@pytest.mark.parametrize(
    ("sent", "ages"),
    [("4.0-11.0 (3-12 mo)", "3-12 mo"), ("4.0-11.0 (see note)", ""), ("4.0-11.0 (cells)", "")],
)
def test_reference_range_note_in_brackets_that_is_no_unit_is_still_a_note(
    sent: str, ages: str
) -> None:
    result, _ = first_result(obx("4.2", unit="10*9/L", reference=sent))
    assert result.reference_range == ReferenceRange(
        sent, Decimal("4.0"), Decimal("11.0"), ages=ages
    )


def test_reference_range_refused_unit_in_brackets_is_not_used_and_says_why() -> None:
    # '(/L)' was a note, so 4.0-11.0 was read in the value's unit: the lab wrote a unit it refuses
    conversion = leukoflag.convert(
        message(PID, OBR, obx("4.2", unit="10*9/L", reference="4.0-11.0 (/L)"))
    )
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert "refused-unit: unit '/L' is a count per litre without its power of ten" in found.text
    _, applied = finding_and_range(conversion)
    assert applied.source == "default"


@pytest.mark.parametrize(
    ("sent", "number"),
    [("4,000-11,000", "4,000"), ("4,0-11,000", "11,000"), ("<1,500", "1,500")],
)
def test_reference_range_with_a_comma_before_three_digits_is_not_read_and_says_why(
    sent: str, number: str
) -> None:
    # 4,000 is four thousand or 4.000: neither is chosen, the default range judges
    result, _ = first_result(obx("3.6", reference=sent))
    assert result.reference_range == ReferenceRange(sent)
    conversion = leukoflag.convert(message(PID, OBR, obx("3.6", reference=sent)))
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert found.text == (
        f"the lab's reference range {sent!r} is not used (the comma in {number!r} may separate "
        "thousands or be a decimal comma: no numeric limits were read from it); leukoflag's "
        "default range applies"
    )
    _, applied = finding_and_range(conversion)
    assert applied.source == "default"


@pytest.mark.parametrize("sent", ["4,0-11.0", "4,5-11", "4-11,0", "4,0000-11,0", "4.0,5-11,0"])
def test_reference_range_with_a_decimal_comma_in_one_limit_only_is_not_read(sent: str) -> None:
    result, _ = first_result(obx("5.0", reference=sent))
    assert result.reference_range == ReferenceRange(sent)


@pytest.mark.parametrize(
    "sent",
    [
        "M: 4.0-10.0 F: 4.5-11.0",
        "M 4.0-10.0; F 4.5-11.0",
        "Male 4.0-10.0 / Female 4.5-11.0",
        "F: 4,5-11,0 M: 4,0-10,0",
        "M:4.0-10.0 F:4.5-11.0",  # no space after the colon: was read as no range at all
    ],
)
@pytest.mark.parametrize(
    ("sex", "low", "high", "code"),
    [("M", 4000, 10000, "N"), ("F", 4500, 11000, "L")],
)
def test_wbc_judged_with_the_labs_range_for_the_patients_sex(
    sent: str, sex: str, low: int, high: int, code: str
) -> None:
    # a range per sex gave no limits: a man's 4,200 was L against the default 5,000-10,000
    pid = PID.replace("|19610719|M", f"|19610719|{sex}")
    conversion = leukoflag.convert(message(pid, OBR, obx("4.2", reference=sent)))
    assert "flag.lab-range-unusable" not in codes(conversion.issues)
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "lab",
        Decimal(low),
        Decimal(high),
    )
    assert applied.sex == ("male" if sex == "M" else "female")
    assert finding.code == code
    (bundle,) = conversion.bundles
    (written,) = (
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert written["referenceRange"][0]["text"] == sent  # as sent, both sexes
    parts = written["extension"][0]["extension"]
    assert {"url": "rangeSex", "valueCode": applied.sex} in parts


@pytest.mark.parametrize(("sex", "gender"), [("U", "unknown"), ("", "unknown"), ("O", "other")])
@pytest.mark.parametrize(("value", "code"), [("4.2", "N"), ("3.9", "L")])
def test_range_per_sex_for_a_patient_neither_male_nor_female_is_their_union(
    sex: str, gender: str, value: str, code: str
) -> None:
    # neither range was used: 4,200 was L against leukoflag's 4,500-11,000, though normal for men
    pid = PID.replace("|19610719|M", f"|19610719|{sex}")
    sent = "M: 4.0-10.0 F: 4.5-11.0"
    conversion = leukoflag.convert(message(pid, OBR, obx(value, reference=sent)))
    assert "flag.lab-range-unusable" not in codes(conversion.issues)
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-sex-union"]
    assert (found.severity, found.location) == (Severity.INFORMATION, "MSG[1]/OBX[1]-7")
    assert found.text == (
        f"the lab's reference range {sent!r} gives one range for men and one for women, read "
        f"from 'M' and 'F' in English, and the patient's sex is {gender!r}: judged with their "
        "union, 4,000–11,000 cells/µL (a value normal for either sex is not flagged)"
    )
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high, applied.sex) == (
        "lab",
        Decimal(4000),
        Decimal(11000),
        "",
    )
    assert finding.code == code
    (bundle,) = conversion.bundles
    (written,) = (
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    )
    assert written["referenceRange"][0]["text"] == sent
    assert (
        written["referenceRange"][0]["low"]["value"],
        written["referenceRange"][0]["high"]["value"],
    ) == (
        Decimal(4000),
        Decimal(11000),
    )
    parts = written["extension"][0]["extension"]
    assert "rangeSex" not in {p["url"] for p in parts}  # no one sex's range claimed


def test_range_per_sex_in_two_units_is_their_union_in_cells_per_ul() -> None:
    pid = PID.replace("|19610719|M", "|19610719|U")
    sent = "M: 4.0-10.0 10*3/uL F: 4500-11000 /uL"
    conversion = leukoflag.convert(message(pid, OBR, obx("4.2", reference=sent)))
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "lab",
        Decimal(4000),
        Decimal(11000),
    )
    assert finding.code == "N"


def test_range_per_sex_with_one_range_unusable_is_not_used_for_a_patient_of_unknown_sex() -> None:
    pid = PID.replace("|19610719|M", "|19610719|U")
    sent = "M: 4.0-10.0 G/dL F: 4.5-11.0 10*3/uL"
    conversion = leukoflag.convert(message(pid, OBR, obx("4.2", reference=sent)))
    assert "flag.lab-range-sex-union" not in codes(conversion.issues)
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    # the men's range's own reason, given once, inside the one Issue
    assert found.text == (
        f"the lab's reference range {sent!r} is not used (it gives one range for men and one for "
        "women, read from 'M' and 'F' in English, and the patient's sex is 'unknown'; its range "
        "for men, '4.0-10.0 G/dL', cannot be "
        "used: unknown-unit: unit 'G/dL' is not in leukoflag's unit table; add a row to "
        "leukoflag/units/data/units.toml if a lab uses it); leukoflag's default range applies"
    )
    finding, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "default",
        Decimal(4500),
        Decimal(11000),
    )
    assert finding.code == "L"


@pytest.mark.parametrize(
    "sent",
    [
        "M: 4.0-10.0",
        "M: see comment F: 4.5-11.0",
        "M 4.0-10.0; M 4.5-11.0",
        "M:4.0-10.0:F:4.5-11.0",
    ],
)
def test_range_text_not_one_range_per_sex_gives_no_limits(sent: str) -> None:
    result, _ = first_result(obx("4.2", reference=sent))
    assert result.reference_range == ReferenceRange(sent)


@pytest.mark.parametrize("sent", ["Negative", "See report", "5", "4.0^11.0", "4.0-", "-11.0"])
def test_reference_range_text_without_bounds_is_kept(sent: str) -> None:
    result, _ = first_result(obx("5.0", reference=sent))
    assert result.reference_range == ReferenceRange(sent)


@pytest.mark.parametrize("padding", ["^", "^^", "^^^"])
def test_reference_range_padded_with_empty_components_is_read_without_them(padding: str) -> None:
    # Some senders pad OBX-7 like a coded field: the empty components are no unit.
    result, _ = first_result(obx("3.1", reference=f"4.0-11.0{padding}"))
    assert result.reference_range == ReferenceRange("4.0-11.0", Decimal("4.0"), Decimal("11.0"))
    assert first_result(obx("3.1", reference=padding))[0].reference_range is None
    # A WBC judged against the lab's own range: 3.1 x10^3/uL is below 4.0.
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", reference=f"4.0-11.0{padding}")))
    assert "flag.lab-range-unusable" not in codes(conversion.issues)
    _, applied = finding_and_range(conversion)
    assert (applied.source, applied.low) == ("lab", Decimal(4000))


@pytest.mark.parametrize(
    ("sent", "unit"),
    [
        ("4.0-11.0^10*3/uL", "10*3/uL"),
        ("4.0-11.0^10^9/L", "10^9/L"),
        ("<11^K/uL^", "K/uL"),
        ("4.0-11.0^x", "x"),
    ],
)
def test_reference_range_unit_sent_as_a_further_component_is_read_without_the_separator(
    sent: str, unit: str
) -> None:
    # OBX-7 written like a CWE: the unit was read as '^10*3/uL', which no unit table holds, so
    # the lab's own range was never used.
    result, _ = first_result(obx("3.1", reference=sent))
    assert result.reference_range is not None
    assert result.reference_range.text == sent.rstrip("^")
    assert result.reference_range.unit == Unit(unit)
    assert result.reference_range.high == Decimal(11)


def test_reference_range_with_its_unit_in_a_further_component_judges_the_count() -> None:
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", reference="4.0-11.0^10*3/uL")))
    assert "flag.lab-range-unusable" not in codes(conversion.issues)
    _, applied = finding_and_range(conversion)
    assert (applied.source, applied.low, applied.high) == (
        "lab",
        Decimal(4000),
        Decimal(11000),
    )


def test_reference_range_unit_that_is_no_unit_names_the_unit_without_the_separator() -> None:
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", reference="4.0-11.0^x")))
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert "unit 'x' is not in leukoflag's unit table" in found.text


@pytest.mark.parametrize("sent", ["4.0^11.0", "4.0-", "-11.0"])
def test_reference_range_read_without_limits_says_so(sent: str) -> None:
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", reference=sent)))
    (found,) = [i for i in conversion.issues if i.code == "flag.lab-range-unusable"]
    assert found.text == (
        f"the lab's reference range {sent!r} is not used (no numeric limits were read from it); "
        "leukoflag's default range applies"
    )


def test_flag_repetitions_are_all_kept() -> None:
    result, read_message = first_result(obx("2.1", flags="L~A"))
    assert result.sender_flags == (
        Coding("L", "Low", V3, "HL70078"),
        Coding("A", "Abnormal", V3, "HL70078"),
    )
    assert not [c for c in codes(read_message.issues) if c.startswith("hl7v2.flag")]


@pytest.mark.parametrize("code", ["AC", "HM", "OBX", "QCF", "TOX"])
def test_flags_without_a_v3_equivalent_keep_the_v2_table(code: str) -> None:
    result, read_message = first_result(obx("2.1", flags=code))
    (flag,) = result.sender_flags
    assert (flag.code, flag.system, flag.system_name) == (code, "", "HL70078")
    assert "hl7v2.flag-unmapped" in codes(read_message.issues)


def test_unknown_flag_is_kept_with_an_issue() -> None:
    result, read_message = first_result(obx("2.1", flags="LOW"))
    assert result.sender_flags == (Coding("LOW", "", "", "HL70078"),)
    assert issue(read_message, "hl7v2.flag-unknown").location == "MSG[1]/OBX[1]-8"


@pytest.mark.parametrize(
    ("sent", "read_as"),
    [
        ("l", Coding("L", "Low", V3, "HL70078")),
        ("ll", Coding("LL", "Critically low", V3, "HL70078")),
        ("h^high^hl70078", Coding("H", "high", V3, "hl70078")),
        ("n", Coding("N", "Normal", V3, "HL70078")),
        ("tox", Coding("TOX", "Cytotoxic substance present", "", "HL70078")),
    ],
)
def test_flags_sent_in_lower_case_are_read_as_their_table_code(sent: str, read_as: Coding) -> None:
    result, read_message = first_result(obx("2.1", flags=sent))
    assert result.sender_flags == (read_as,)
    assert "hl7v2.flag-unknown" not in codes(read_message.issues)


def test_a_lower_case_high_flag_on_a_low_wbc_is_a_disagreement_quoted_as_sent() -> None:
    # 3.1 x10^3/uL is below the 4.0 low limit; the sender's `h` says high.
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", flags="h")))
    (found,) = [i for i in conversion.issues if i.code == "flag.sender-disagrees"]
    assert (found.location, found.text) == (
        "MSG[1]/OBX[1]-8",
        "the sender flagged h; leukoflag computed L",
    )


@pytest.mark.parametrize(
    ("sent", "value", "text"),
    [
        ("L<", "7.2", "the sender flagged L<; leukoflag computed N"),
        ("H>~n", "2.9", "the sender flagged H>~n; leukoflag computed LU"),
        ("l~LL", "7.2", "the sender flagged l~LL; leukoflag computed N"),
    ],
)
def test_sender_disagreement_quotes_obx_8_as_sent_not_as_read(
    sent: str, value: str, text: str
) -> None:
    # L< was quoted as LU and l as L: a text the interface analyst could not find in OBX-8
    conversion = leukoflag.convert(message(PID, OBR, obx(value, flags=sent)))
    (found,) = [i for i in conversion.issues if i.code == "flag.sender-disagrees"]
    assert (found.location, found.text) == ("MSG[1]/OBX[1]-8", text)
    (bundle,) = conversion.bundles  # the FHIR interpretation is still the v3 code
    (wbc,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    sender = [c["code"] for i in wbc.get("interpretation", []) for c in i["coding"]]
    assert not {"L<", "H>", "l", "n"} & set(sender)


def test_cwe_flag_with_its_own_system() -> None:
    result, _ = first_result(obx("2.1", flags="LL^Critically low^HL70078"))
    assert result.sender_flags == (Coding("LL", "Critically low", V3, "HL70078"),)


@pytest.mark.parametrize(
    ("sent", "status", "absent"),
    [
        ("F", ResultStatus.FINAL, ""),
        ("C", ResultStatus.CORRECTED, ""),
        ("A", ResultStatus.AMENDED, ""),
        ("P", ResultStatus.PRELIMINARY, ""),
        ("D", ResultStatus.ENTERED_IN_ERROR, ""),
        ("W", ResultStatus.ENTERED_IN_ERROR, ""),
        ("X", ResultStatus.CANCELLED, "not-performed"),
        ("N", ResultStatus.CANCELLED, "not-asked"),
        ("I", ResultStatus.REGISTERED, ""),
        ("R", ResultStatus.PRELIMINARY, ""),
        ("S", ResultStatus.PRELIMINARY, ""),
        ("V", ResultStatus.FINAL, ""),
        ("U", ResultStatus.FINAL, ""),
        ("B", ResultStatus.FINAL, ""),
        ("O", ResultStatus.REGISTERED, ""),
    ],
)
def test_result_status_table_0085(sent: str, status: ResultStatus, absent: str) -> None:
    result, _ = first_result(obx("5.0", status=sent))
    assert (result.status, result.status_text, result.data_absent_reason) == (status, sent, absent)


def test_corrected_and_deleted_results_keep_their_values() -> None:
    read_message = read(
        message(PID, OBR, obx("3.9", status="C"), obx("3.1", status="D", set_id="2"))
    )
    corrected, deleted = only_order(read_message).results
    assert (corrected.status, corrected.value) == (
        ResultStatus.CORRECTED,
        Number(Decimal("3.9"), "3.9"),
    )
    assert (deleted.status, deleted.value) == (
        ResultStatus.ENTERED_IN_ERROR,
        Number(Decimal("3.1"), "3.1"),
    )


@pytest.mark.parametrize("sent", ["U", "u", "U^Status change to final^HL70085"])
def test_status_change_to_final_without_its_value_says_the_value_was_sent_before(
    sent: str,
) -> None:
    result, read_message = first_result(obx("", status=sent))
    assert (result.status, result.value, result.data_absent_reason) == (
        ResultStatus.FINAL,
        NoValue("sent-before"),
        "",
    )
    found = issue(read_message, "hl7v2.result-not-retransmitted")
    assert (found.severity.value, found.location) == ("warning", "MSG[1]/OBX[1]-11")
    assert "not sent again" in found.text


def test_status_change_to_final_with_its_value_sent_again_is_an_ordinary_final_result() -> None:
    result, read_message = first_result(obx("3.1", status="U"))
    assert (result.status, result.value) == (ResultStatus.FINAL, Number(Decimal("3.1"), "3.1"))
    assert "hl7v2.result-not-retransmitted" not in codes(read_message.issues)


def test_an_empty_final_result_is_not_said_to_be_sent_before() -> None:
    result, read_message = first_result(obx("", status="F"))
    assert result.value == NoValue("empty")
    assert "hl7v2.result-not-retransmitted" not in codes(read_message.issues)


def test_order_detail_result_is_kept_with_an_issue() -> None:
    result, read_message = first_result(obx("CBC ordered", value_type="ST", status="O"))
    assert result.status is ResultStatus.REGISTERED
    assert "hl7v2.result-order-detail" in codes(read_message.issues)


@pytest.mark.parametrize(
    ("sent", "code"), [("", "hl7v2.status-missing"), ("Q", "hl7v2.status-unknown")]
)
def test_missing_or_unknown_result_status_is_unknown_with_an_issue(sent: str, code: str) -> None:
    result, read_message = first_result(obx("5.0", status=sent))
    assert result.status is ResultStatus.UNKNOWN
    assert issue(read_message, code).location == "MSG[1]/OBX[1]-11"


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        ("f", ResultStatus.FINAL),
        ("c", ResultStatus.CORRECTED),
        ("F^Final^HL70085", ResultStatus.FINAL),
        ("p^Preliminary", ResultStatus.PRELIMINARY),
    ],
)
def test_result_status_in_lower_case_or_as_a_coded_value_is_read(
    sent: str, status: ResultStatus
) -> None:
    result, read_message = first_result(obx("3.1", status=sent))
    assert (result.status, result.status_text) == (status, sent)
    assert not [c for c in codes(read_message.issues) if "status" in c]


@pytest.mark.parametrize(
    ("sent", "obx_5", "value"),
    [
        ("NM^Numeric^HL70125", "3.1", Number(Decimal("3.1"), "3.1")),
        ("SN^Structured Numeric^HL70125", "<^0.5", Number(Decimal("0.5"), "<0.5", "<")),
        ("st^String Data", "3.1", Number(Decimal("3.1"), "3.1")),
    ],
)
def test_value_type_sent_as_a_coded_value_is_read_by_its_code(
    sent: str, obx_5: str, value: Number
) -> None:
    # A sender writing every code as CWE (as OBX-11 'F^Final^HL70085' is read) had its NM read
    # as text of an unknown type 'NM^NUMERIC^HL70125', so a WBC of 3.1 was never flagged.
    segment = obx(obx_5, value_type=sent)
    result, read_message = first_result(segment)
    assert result.value == value
    assert result.value_type == sent.split("^", 1)[0]
    assert "hl7v2.value-type-unmapped" not in codes(read_message.issues)
    conversion = leukoflag.convert(message(PID, OBR, segment))
    assert [f.code for f in conversion.findings] == ["LL" if value.comparator else "L"]


def test_coded_result_status_with_an_unknown_code_is_unknown_and_quoted() -> None:
    result, read_message = first_result(obx("3.1", status="Q^Queued^L"))
    assert result.status is ResultStatus.UNKNOWN
    assert issue(read_message, "hl7v2.status-unknown").text == (
        "OBX-11 'Q^Queued^L' is not in HL7 table 0085: status unknown"
    )


@pytest.mark.parametrize(
    "sent", ["P^Preliminary^HL70085~F^Final^HL70085", "F^Final~C", "c^Corrected~F"]
)
def test_a_coded_result_status_sent_with_a_second_repetition_is_unknown_as_a_plain_one_is(
    sent: str,
) -> None:
    # OBX-11 'F~C' is unknown (which status holds is not known), but 'P^Preliminary^HL70085~F^…'
    # was read as P by its first component, the final status sent beside it dropped unsaid
    result, read_message = first_result(obx("3.1", status=sent))
    assert (result.status, result.status_text) == (ResultStatus.UNKNOWN, sent)
    found = issue(read_message, "hl7v2.status-unknown")
    assert found.location == "MSG[1]/OBX[1]-11"
    assert found.text == f"OBX-11 '{sent}' is not in HL7 table 0085: status unknown"


@pytest.mark.parametrize(
    "sent", ["F^Final^HL70085~", "F^Final^HL70085~F^Final^HL70085", "F~", "F~F", "~F", "f~F^Final"]
)
def test_a_result_status_repeated_alike_or_with_an_empty_repetition_is_that_status(
    sent: str,
) -> None:
    # an interface that ends a coded OBX-11 with a repetition separator ('F^Final^HL70085~') or
    # sends it twice: one status, nothing beside it; since a1fb0a5 it was unknown (and before
    # it 'F~' and 'F~F' were), so a final WBC of 3.1 went unflagged
    result, read_message = first_result(obx("3.1", status=sent))
    assert result.status is ResultStatus.FINAL
    assert not [i for i in read_message.issues if i.code == "hl7v2.status-unknown"]


@pytest.mark.parametrize("sent", ["F^Final^HL70123~", "F~F"])
def test_a_report_status_repeated_alike_or_with_an_empty_repetition_is_that_status(
    sent: str,
) -> None:
    obr = OBR[: OBR.rindex("|") + 1] + sent
    read_message = read(message(PID, obr, WBC))
    assert only_order(read_message).status is ReportStatus.FINAL
    assert not [i for i in read_message.issues if i.code == "hl7v2.report-status-unknown"]


@pytest.mark.parametrize("sent", ["F^Final^HL70123~P^Preliminary^HL70123", "X^Cancelled~F"])
def test_a_coded_report_status_sent_with_a_second_repetition_is_unknown_as_a_plain_one_is(
    sent: str,
) -> None:
    obr = OBR[: OBR.rindex("|") + 1] + sent
    read_message = read(message(PID, obr, WBC))
    order = only_order(read_message)
    assert (order.status, order.status_text) == (ReportStatus.UNKNOWN, sent)
    found = issue(read_message, "hl7v2.report-status-unknown")
    assert found.location == "MSG[1]/OBR[1]-25"
    assert found.text == f"OBR-25 '{sent}' has no DiagnosticReport status: unknown"


@pytest.mark.parametrize(
    ("sent", "status"), [("f", ReportStatus.FINAL), ("C^Corrected^HL70123", ReportStatus.CORRECTED)]
)
def test_report_status_in_lower_case_or_as_a_coded_value_is_read(
    sent: str, status: ReportStatus
) -> None:
    obr = OBR[: OBR.rindex("|") + 1] + sent
    read_message = read(message(PID, obr, WBC))
    assert (only_order(read_message).status, only_order(read_message).status_text) == (status, sent)
    assert not [c for c in codes(read_message.issues) if "status" in c]


@pytest.mark.parametrize(
    ("sent", "status", "issue_code"),
    [
        ("O", ReportStatus.REGISTERED, ""),
        ("I", ReportStatus.REGISTERED, ""),
        ("S", ReportStatus.REGISTERED, ""),
        ("P", ReportStatus.PRELIMINARY, ""),
        ("C", ReportStatus.CORRECTED, ""),
        ("R", ReportStatus.PARTIAL, ""),
        ("A", ReportStatus.PARTIAL, ""),
        ("F", ReportStatus.FINAL, ""),
        ("X", ReportStatus.CANCELLED, ""),
        ("Y", ReportStatus.UNKNOWN, "hl7v2.report-status-unknown"),
        ("Q", ReportStatus.UNKNOWN, "hl7v2.report-status-unknown"),
        ("", ReportStatus.UNKNOWN, "hl7v2.report-status-missing"),
    ],
)
def test_report_status_table_0123(sent: str, status: ReportStatus, issue_code: str) -> None:
    obr = OBR[: OBR.rindex("|") + 1] + sent
    read_message = read(message(PID, obr, WBC))
    order = only_order(read_message)
    assert (order.status, order.status_text) == (status, sent)
    if issue_code:
        assert issue(read_message, issue_code).location == "MSG[1]/OBR[1]-25"
    else:
        assert not [c for c in codes(read_message.issues) if "report-status" in c]


@pytest.mark.parametrize(
    ("name", "system"),
    [
        ("LN", "http://loinc.org"),
        ("SCT", "http://snomed.info/sct"),
        ("SNM", "http://snomed.info/sct"),
        ("HL70487", "http://terminology.hl7.org/CodeSystem/v2-0487"),
        ("UCUM", UCUM),
        ("I10", "http://hl7.org/fhir/sid/icd-10"),
        # OIDs in place of the name: LOINC's and SNOMED CT's are their URIs, a lab's own urn:oid:
        ("2.16.840.1.113883.6.1", "http://loinc.org"),
        ("2.16.840.1.113883.6.96", "http://snomed.info/sct"),
        ("1.3.6.1.4.1.55921.7.2", "urn:oid:1.3.6.1.4.1.55921.7.2"),
        ("2.16.840", "urn:oid:2.16.840"),
        ("2.16.", ""),
        ("3.1.4", ""),
        # FHIR system URIs in place of the name (feeds bridged from FHIR): the system as sent
        ("http://loinc.org", "http://loinc.org"),
        ("urn:oid:2.16.840.1.113883.6.1", "http://loinc.org"),
        ("urn:oid:1.3.6.1.4.1.55921.7.2", "urn:oid:1.3.6.1.4.1.55921.7.2"),
        (
            "https://lab.riverside.example/fhir/CodeSystem/tests",
            ("https://lab.riverside.example/fhir/CodeSystem/tests"),
        ),
        ("L", ""),
        ("99RSLAB", ""),
        ("RIVERSIDE", ""),
    ],
)
def test_coding_system_names(name: str, system: str) -> None:
    result, _ = first_result(obx("5.0", code=f"WBC1^White cells^{name}"))
    assert result.code.codings == (Coding("WBC1", "White cells", system, name),)


def test_a_loinc_code_named_by_its_uri_is_loinc_and_flagged() -> None:
    # 'http://loinc.org' in CWE.3 was read as a local system's name: the ANC's LOINC lost its
    # system in the output and, its text in no table, the count was not judged at all.
    code = "751-8^Neutrophils auto^http://loinc.org"
    result, _ = first_result(obx("1.1", code=code, reference="1.8-7.7"))
    assert result.code.codings == (
        Coding("751-8", "Neutrophils auto", "http://loinc.org", "http://loinc.org"),
    )
    conversion = leukoflag.convert(message(PID, OBR, obx("1.1", code=code, reference="1.8-7.7")))
    assert [(f.analyte, f.code) for f in conversion.findings] == [("anc", "L")]


def test_a_known_oid_in_cwe_14_beside_a_local_name_is_that_system_uri() -> None:
    code = "6690-2^WBC^LABLN^^^^^^^^^^^2.16.840.1.113883.6.1"
    result, _ = first_result(obx("5.0", code=code))
    assert result.code.codings == (Coding("6690-2", "WBC", "http://loinc.org", "LABLN"),)


def test_a_ucum_unit_named_by_its_oid_keeps_the_ucum_system() -> None:
    result, _ = first_result(obx("5.0", unit="10*3/uL^^2.16.840.1.113883.6.8"))
    assert result.unit == Unit("10*3/uL", "10*3/uL", UCUM)


def test_a_unit_sent_only_as_the_alternate_is_read_from_it() -> None:
    result, read_message = first_result(obx("5.0", unit="^^^10*3/uL^10*3/uL^UCUM"))
    assert result.unit == Unit("10*3/uL", "10*3/uL", UCUM)
    found = issue(read_message, "hl7v2.unit-alternate")
    assert found.location == "MSG[1]/OBX[1]-6"
    assert "'10*3/uL^10*3/uL^UCUM'" in found.text
    assert "hl7v2.component-unmapped" not in codes(read_message.issues)


def test_a_unit_sent_only_as_the_original_text_is_read_from_it() -> None:
    # OBX-6 '^^^^^^^^K/uL': no code, the unit as the lab wrote it in CWE.9 (original text, which
    # a CWE without a code carries); it was 'not carried' and the unit inferred ('no unit sent')
    result, read_message = first_result(obx("5.0", unit="^^^^^^^^K/uL"))
    assert result.unit == Unit("K/uL")
    found = issue(read_message, "hl7v2.unit-original-text")
    assert (found.location, found.severity) == ("MSG[1]/OBX[1]-6", Severity.INFORMATION)
    assert "'K/uL'" in found.text
    assert "hl7v2.component-unmapped" not in codes(read_message.issues)


@pytest.mark.parametrize(
    ("unit", "text", "location", "said"),
    [
        ("^^^10*3/uL^^99LAB", "10*3/uL", "-6.6", "'99LAB' (OBX-6.6)"),
        ("^^^THOU/uL^thousand/uL^99LAB", "thousand/uL", "-6.4", "'THOU/uL' (OBX-6.4)"),
    ],
)
def test_an_alternate_units_part_not_carried_is_located_where_it_was_sent(
    unit: str, text: str, location: str, said: str
) -> None:
    # OBX-6 '^^^10*3/uL^^99LAB': the alternate read as the unit, its system 99LAB (no URI) not
    # carried, but said to be at OBX-6.3, which is empty: it was sent in OBX-6.6 (so its local
    # code THOU/uL, said to be OBX-6.1, beside '99LAB' said to be OBX-6.3)
    result, read_message = first_result(obx("5.0", unit=unit))
    assert result.unit is not None
    assert result.unit.text == text
    (dropped,) = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert dropped.location == f"MSG[1]/OBX[1]{location}"
    assert said in dropped.text
    assert "OBX-6.1" not in dropped.text
    assert "OBX-6.3" not in dropped.text


@pytest.mark.parametrize("system", ["99LAB", "UCUM"])
def test_a_system_sent_beside_an_alternate_read_as_the_unit_is_said_not_carried(
    system: str,
) -> None:
    # OBX-6 '^^99LAB^10*3/uL^^UCUM': the alternate read as the unit with "OBX-6.1-3 are empty",
    # though OBX-6.3 names 99LAB, which was then dropped without an Issue
    result, read_message = first_result(obx("5.0", unit=f"^^{system}^10*3/uL^^UCUM"))
    assert result.unit == Unit("10*3/uL", "10*3/uL", UCUM)
    found = issue(read_message, "hl7v2.unit-alternate")
    assert "6.1-3 are empty" not in found.text
    (dropped,) = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert dropped.location == "MSG[1]/OBX[1]-6.3"
    assert f"'{system}' (OBX-6.3)" in dropped.text


def test_a_unit_sent_as_the_original_text_beside_a_system_alone_says_the_system_is_dropped() -> (
    None
):
    # OBX-6 '^^UCUM^^^^^^K/uL': CWE.9 was read as the unit with 'OBX-6.1-6 are empty', though
    # OBX-6.3 names UCUM, and that UCUM (the system of no code) was dropped without an Issue
    result, read_message = first_result(obx("5.0", unit="^^UCUM^^^^^^K/uL"))
    assert result.unit is not None
    assert result.unit.text == "K/uL"
    found = issue(read_message, "hl7v2.unit-original-text")
    assert "6.1-6 are empty" not in found.text
    assert "'K/uL'" in found.text
    (dropped,) = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert dropped.location == "MSG[1]/OBX[1]-6.3"
    assert "'UCUM'" in dropped.text


@pytest.mark.parametrize(("unit", "location"), [("^K/uL^UCUM", "-6.3"), ("^^^^K/uL^UCUM", "-6.6")])
def test_a_unit_system_sent_without_a_unit_code_is_said_not_carried(
    unit: str, location: str
) -> None:
    # a unit text with a system but no code: FHIR writes a Quantity's system only with its code,
    # so the output said K/uL alone and UCUM was dropped without an Issue
    result, read_message = first_result(obx("5.0", unit=unit))
    assert result.unit is not None
    assert result.unit.text == "K/uL"
    (dropped,) = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert dropped.location == f"MSG[1]/OBX[1]{location}"
    assert "'UCUM'" in dropped.text


@pytest.mark.parametrize(
    ("value", "unit", "analyte", "judged", "refusal"),
    [
        # a differential percent in a WBC's slot was judged a leukopenia of 3,100 cells/µL
        ("3.1", "^^^^^^^^%", "wbc", None, "units.percent"),
        # a red-cell count unit: judged a WBC of 3,100, L
        ("3.1", "^^^^^^^^10*12/L", "wbc", None, "units.wrong-analyte"),
        # 450 alone could be 450 or 450,000 cells/µL: left unjudged as sent without unit
        ("450", "^^^^^^^^cells/uL", "anc", (Decimal(450), "LL"), None),
        ("3.1", "^^^^^^^^K/uL", "wbc", (Decimal(3100), "L"), None),
    ],
)
def test_a_count_whose_unit_is_sent_only_as_the_original_text_is_read_in_it(
    value: str,
    unit: str,
    analyte: str,
    judged: tuple[Decimal, str] | None,
    refusal: str | None,
) -> None:
    code = {
        "wbc": "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN",
        "anc": "751-8^Neutrophils [#/volume] in Blood by Automated count^LN",
    }[analyte]
    sent = obx(value, unit=unit, reference="", code=code)
    conversion = leukoflag.convert(message(PID, OBR, sent))
    assert [(f.value_per_ul, f.code) for f in conversion.findings] == ([judged] if judged else [])
    found = codes(conversion.issues)
    assert "units.unit-inferred" not in found
    assert "units.no-unit" not in found
    if refusal is not None:
        assert refusal in found


def test_an_alternate_beside_a_unit_is_not_carried_but_kept_for_the_units_step() -> None:
    result, read_message = first_result(obx("5.0", unit="K/uL^^L^10*3/uL^^UCUM"))
    alternate = Unit("10*3/uL", "10*3/uL", "http://unitsofmeasure.org")
    assert result.unit == Unit("K/uL", "K/uL", "L", alternate)
    assert issue(read_message, "hl7v2.component-unmapped").location == "MSG[1]/OBX[1]-6.4"
    assert "hl7v2.unit-alternate" not in codes(read_message.issues)


def test_local_code_with_loinc_alternate_and_original_text() -> None:
    code = "WBC^White blood count^99RSLAB^6690-2^Leukocytes^LN^^2.76^WBC (auto)"
    result, _ = first_result(obx("5.0", code=code))
    assert result.code.codings == (
        Coding("WBC", "White blood count", "", "99RSLAB"),
        Coding("6690-2", "Leukocytes", "http://loinc.org", "LN", "2.76"),
    )
    assert result.code.text == "WBC (auto)"
    assert result.code.code_in("http://loinc.org") == "6690-2"


def test_a_unit_split_once_is_rejoined_with_the_note_quoting_it() -> None:
    result, read_message = first_result(obx("5.0", unit="10^3/uL"))
    assert result.unit == Unit("10^3/uL")
    assert [i.text for i in read_message.issues if i.code == "hl7v2.unit-rejoined"] == [
        (
            "unit '10^3/uL' was sent with an unescaped component separator (should be "
            "'10\\\\S\\\\3/uL'); re-joined"
        )
    ]


def test_every_unescaped_power_of_ten_in_a_unit_field_is_rejoined_with_one_note() -> None:
    # OBX-6.1 and OBX-6.2 each split at their unescaped "^", OBX-6.2 twice (a chain of joins)
    result, read_message = first_result(obx("5.0", unit="x10^9/L^x10^9 x10^3/mL^L"))
    assert result.unit == Unit("x10^9 x10^3/mL", "x10^9/L", "L")
    assert [i.text for i in read_message.issues if i.code == "hl7v2.unit-rejoined"] == [
        (
            "units in 'x10^9/L^x10^9 x10^3/mL^L' were sent with 3 unescaped component separators "
            "(should be 'x10\\\\S\\\\9/L^x10\\\\S\\\\9 x10\\\\S\\\\3/mL^L'); re-joined"
        )
    ]


@pytest.mark.parametrize(
    ("value", "unit", "separators"),
    [
        ("3200", "/mm^3", "an unescaped component separator"),
        ("3200", "cells/mm^3", "an unescaped component separator"),
        ("3.2", "10^3/mm^3", "2 unescaped component separators"),
    ],
)
def test_an_unescaped_cubic_millimetre_is_rejoined_and_the_count_judged(
    value: str, unit: str, separators: str
) -> None:
    # '/mm^3' split into '/mm' and '3': the count was refused as "unit '3' / '/mm'", a unit no
    # one sent, and a WBC of 3,200 cells/µL was not judged.
    segment = obx(value, unit=unit)
    result, read_message = first_result(segment)
    assert result.unit == Unit(unit)
    escaped = unit.replace("^", "\\\\S\\\\")  # as the note quotes it (repr)
    assert [i.text for i in read_message.issues if i.code == "hl7v2.unit-rejoined"] == [
        f"unit {unit!r} was sent with {separators} (should be '{escaped}'); re-joined"
    ]
    conversion = leukoflag.convert(message(PID, OBR, segment))
    assert [(f.value_per_ul, f.code) for f in conversion.findings] == [(Decimal(3200), "L")]


def test_a_chain_of_joins_in_one_unit_gives_one_note_with_a_bounded_quote() -> None:
    # 2,001 unescaped "x10^9" powers in one unit: a note per join, each quoting the unit joined
    # so far, made 2,001 Issues and some 30 MB of text
    sent = "x10" + "^9 x10" * 2000 + "^3/uL"
    result, read_message = first_result(obx("5.0", unit=sent))
    assert result.unit == Unit(sent)
    (note,) = [i.text for i in read_message.issues if i.code == "hl7v2.unit-rejoined"]
    assert note.startswith("unit 'x10^9 x10^9 x10^9 x10^9")
    assert f"… ({len(sent):,} characters)" in note
    assert "with 2,001 unescaped component separators" in note
    assert len(note) < 400  # two quotes of 80 characters and the words around them


@pytest.mark.parametrize(
    ("unit", "kept"),
    [
        ("K/uL~/uL", "K/uL~/uL"),  # a thousandfold apart
        ("10*3/uL~10*3/uL~/uL", "10*3/uL~/uL"),
        ("fL~pg", "fL~pg"),  # neither has a factor to cells/µL: not known to be one unit
        ("10*3/uL~M/uL", "10*3/uL~M/uL"),  # a white-cell and a red-cell count unit
    ],
)
def test_unit_sent_with_repetitions_naming_different_units_is_not_read(
    unit: str, kept: str
) -> None:
    # OBX-6 does not repeat: '10*3/uL~K/uL' was one unknown unit with "add a row" advice
    result, read_message = first_result(obx("3.1", unit=unit))
    assert result.unit == Unit(kept)
    found = issue(read_message, "hl7v2.unit-repeated")
    assert (found.severity, found.location) == (Severity.WARNING, "MSG[1]/OBX[1]-6")
    assert found.text.startswith(f"unit '{unit}' holds repetitions, which OBX-6 does not have")
    assert found.text.endswith("which one applies is unknown, so the value is not normalized")
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", unit=unit)))
    (refused,) = [i for i in conversion.issues if i.code.startswith("units.")]
    assert (refused.code, refused.location) == ("units.unknown-unit", "MSG[1]/OBX[1]-6")
    assert "which one applies is unknown" in refused.text
    assert "add a row" not in refused.text
    assert conversion.findings == []  # a count of unknown magnitude is not judged


@pytest.mark.parametrize(
    ("unit", "read_as", "dropped", "location"),
    [
        ("10\\S\\3/uL~K/uL", Unit("10^3/uL"), "K/uL", "MSG[1]/OBX[1]-6[2]"),
        ("10*3/uL^^UCUM~K/uL", Unit("10*3/uL", "10*3/uL", UCUM), "K/uL", "MSG[1]/OBX[1]-6[2]"),
        ("K/uL~K/uL~10*9/L", Unit("K/uL"), "10*9/L", "MSG[1]/OBX[1]-6[3]"),
        ("x10E3/uL~~thou/uL", Unit("x10E3/uL"), "thou/uL", "MSG[1]/OBX[1]-6[3]"),
    ],
)
def test_unit_whose_repetitions_spell_one_unit_two_ways_is_read_as_the_first(
    unit: str, read_as: Unit, dropped: str, location: str
) -> None:
    # '10\S\3/uL~K/uL' was refused as "naming 2 different units": the WBC of 3.1 thousand per
    # µL was left unjudged though both spellings are 1000 cells/µL
    result, read_message = first_result(obx("3.1", unit=unit))
    assert result.unit == read_as
    assert ("hl7v2.unit-repeated" in codes(read_message.issues)) is False
    unmapped = [i for i in read_message.issues if i.code == "hl7v2.repetition-unmapped"]
    (note,) = [i for i in unmapped if dropped in i.text]
    assert (note.severity, note.location) == (Severity.INFORMATION, location)
    assert f"'{dropped}' is not carried" in note.text
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", unit=unit)))
    assert [i.code for i in conversion.issues if i.code.startswith("units.")] == []
    (finding,) = conversion.findings
    assert finding.value_per_ul == Decimal(3100)
    assert finding.code == "L"


@pytest.mark.parametrize(
    ("unit", "read_as", "noted"),
    [
        ("K/uL~K/uL", Unit("K/uL"), True),
        ("10*3/uL^^UCUM~10*3/uL^^UCUM", Unit("10*3/uL", "10*3/uL", UCUM), True),
        ("K/uL~", Unit("K/uL"), False),  # an empty repetition carries nothing
        ("~x10\\S\\9/L", Unit("x10^9/L"), False),
    ],
)
def test_unit_whose_repetitions_name_the_same_unit_is_read_once(
    unit: str, read_as: Unit, noted: bool
) -> None:
    result, read_message = first_result(obx("3.1", unit=unit))
    assert result.unit == read_as
    assert ("hl7v2.unit-repeated" in codes(read_message.issues)) is False
    assert ("hl7v2.repetition-unmapped" in codes(read_message.issues)) is noted
    (finding,) = leukoflag.convert(message(PID, OBR, obx("3.1", unit=unit))).findings
    assert finding.value_per_ul == Decimal(3100)


@pytest.mark.parametrize(
    ("segment", "kept"),
    [
        (obx("2.1~6.0"), "2.1~6.0"),
        (obx("^2.1~^6.0", value_type="SN"), "^2.1~^6.0"),
        (obx("2.1~~6.0~2.1"), "2.1~6.0~2.1"),  # the empty one carries nothing
    ],
)
def test_numeric_value_whose_repetitions_differ_is_kept_as_text_and_not_judged(
    segment: str, kept: str
) -> None:
    # '2.1~6.0' was judged from its first repetition (LU, leukopenia in conclusionCode) with
    # only an information Issue about the 6.0, though OBX-6 repetitions leave a count unjudged
    result, read_message = first_result(segment)
    sent = kept.count("~") + 1
    assert result.value == Text(kept, sent)
    found = issue(read_message, "hl7v2.value-repeated")
    assert (found.severity, found.location) == (Severity.WARNING, "MSG[1]/OBX[1]-5")
    assert found.text.endswith(
        f"value '{kept}' holds {kept.count('~') + 1} repetitions with different values: which "
        "one is the result is unknown, so it is kept as text and not judged"
    )
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)
    conversion = leukoflag.convert(message(PID, OBR, segment))
    assert conversion.findings == []
    # numbers, just different ones: the count's Issue said "… is not a number"
    (not_judged,) = [i for i in conversion.issues if i.code == "flag.value-not-numeric"]
    assert not_judged.text == (
        f"not flagged: the WBC value '{kept}' holds {sent} repetitions, not all the same "
        "number: which one is the result is unknown"
    )
    (bundle,) = conversion.bundles
    (report,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    ]
    assert "conclusionCode" not in report


@pytest.mark.parametrize("sent", ["2.1~2.1", "2.1~2.10", "<^0.5~<^0.50"])
def test_numeric_value_repeating_one_value_is_judged_by_it(sent: str) -> None:
    value_type = "SN" if "^" in sent else "NM"
    result, read_message = first_result(obx(sent, value_type=value_type))
    assert isinstance(result.value, Number)
    assert "hl7v2.value-repeated" not in codes(read_message.issues)
    assert "hl7v2.repetition-unmapped" in codes(read_message.issues)


@pytest.mark.parametrize(
    ("sent", "value_type", "value"),
    [
        ('3.1~""', "NM", Number(Decimal("3.1"), "3.1")),
        ('""~3.1', "NM", Number(Decimal("3.1"), "3.1")),
        ('<^0.5~""', "SN", Number(Decimal("0.5"), "<0.5", "<")),
    ],
)
def test_numeric_value_beside_an_hl7_null_repetition_is_that_value(
    sent: str, value_type: str, value: Value
) -> None:
    # '3.1~""' (a LIS clearing a repetition) was 'holds 2 repetitions with different values'
    # and left unjudged: "" is HL7's null, which carries nothing (as in OBX-8, 'L~""')
    result, read_message = first_result(obx(sent, value_type=value_type))
    assert result.value == value
    assert "hl7v2.value-repeated" not in codes(read_message.issues)
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)
    (finding,) = leukoflag.convert(message(PID, OBR, obx(sent, value_type=value_type))).findings
    assert finding.code == ("LL" if value_type == "SN" else "L")


def test_coded_value_after_an_hl7_null_repetition_is_that_value() -> None:
    # '""~POS^Positive^L' was read as no value (data-absent, its text '""') and the coded
    # value sent was only quoted in hl7v2.repetition-unmapped
    result, read_message = first_result(
        obx('""~POS^Positive^L', value_type="CWE", code="7902-6^Smudge cells^LN", unit="")
    )
    assert result.value == CodedResult(
        leukoflag.model.Concept((Coding("POS", "Positive", "", "L"),))
    )
    assert "hl7v2.repetition-unmapped" not in codes(read_message.issues)


@pytest.mark.parametrize("sent", ['""~""', '""~'])
def test_numeric_value_of_hl7_null_repetitions_only_is_empty(sent: str) -> None:
    # '""~""' was the text '""', written as valueString '""' with hl7v2.value-not-numeric
    result, read_message = first_result(obx(sent))
    assert isinstance(result.value, NoValue)
    assert result.value.reason == "empty"
    assert "hl7v2.value-not-numeric" not in codes(read_message.issues)


def test_reference_range_sent_with_repetitions_has_no_limits() -> None:
    # OBX-7 does not repeat: '4.0-11.0~3.5-10.5' was read as 4.0-11.0 in the unit '~3.5-10.5'.
    result, read_message = first_result(obx("3.1", reference="4.0-11.0~3.5-10.5"))
    assert result.reference_range == ReferenceRange("4.0-11.0~3.5-10.5")
    found = issue(read_message, "hl7v2.range-repeated")
    assert (found.severity, found.location, found.text) == (
        Severity.WARNING,
        "MSG[1]/OBX[1]-7",
        (
            "reference range '4.0-11.0~3.5-10.5' holds repetitions, which OBX-7 does not have: "
            "no limits read from it"
        ),
    )


def test_observation_code_sent_with_repetitions_keeps_the_first() -> None:
    # OBX-3 does not repeat: the LOINC coding's system was read as 'LN~WBC' (no system), and
    # a second coding was made of the local code and the system name 'L'.
    segment = obx("3.1", code="6690-2^Leukocytes^LN~WBC^WBC count^L")
    result, read_message = first_result(segment)
    assert result.code.codings == (Coding("6690-2", "Leukocytes", "http://loinc.org", "LN"),)
    found = issue(read_message, "hl7v2.repetition-unmapped")
    assert (found.location, found.text) == (
        "MSG[1]/OBX[1]-3",
        "OBX-3 repetitions after the first are not carried: 'WBC^WBC count^L'",
    )


@pytest.mark.parametrize(
    "sent", ["~6690-2^Leukocytes^LN", "6690-2^Leukocytes^LN~", "~~6690-2^Leukocytes^LN"]
)
def test_observation_code_padded_with_empty_repetitions_is_the_one_sent(sent: str) -> None:
    # A LIS padding repeating fields with an empty repetition: OBX-3 was read as the empty
    # first one, so the WBC lost its code (hl7v2.code-missing) and was not flagged.
    result, read_message = first_result(obx("3.1", code=sent))
    assert result.code.codings == (Coding("6690-2", "Leukocytes", "http://loinc.org", "LN"),)
    assert [i.code for i in read_message.issues if i.location.startswith("MSG[1]/OBX[1]")] == []


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        ("THOU/uL^thousand per microliter^99RSLAB", "OBX-6.3 '99RSLAB' has no such URI"),
        ("K/uL^thousand per microliter^L", "OBX-6.3 'L' has no such URI"),
        # a table 0396 name without a FHIR URI is not a local system: the text must not say so
        ("K/uL^thousand per microliter^ISO+", "OBX-6.3 'ISO+' has no such URI"),
        ("/uL^K/uL", "OBX-6.3 is empty"),
    ],
)
def test_a_unit_code_fhir_cannot_hold_is_named_by_an_issue(sent: str, named: str) -> None:
    # Quantity.code needs a URI system: the lab's CWE.1 must not vanish from the output silently
    _, read_message = first_result(obx("3.1", unit=sent))
    (found,) = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    code = sent.split("^", maxsplit=1)[0]
    assert found.location == "MSG[1]/OBX[1]-6.1"
    assert found.text.startswith(
        f"unit code '{code}' (OBX-6.1) is not written as the Quantity's code"
    )
    assert found.text.endswith(named)


@pytest.mark.parametrize(
    "sent", ["10*3/uL^thousand per microliter^UCUM", "K/uL^K/uL^L", "10*3/uL^^UCUM", "K/uL"]
)
def test_a_unit_code_that_is_written_or_repeats_the_text_raises_no_issue(sent: str) -> None:
    _, read_message = first_result(obx("3.1", unit=sent))
    unmapped = [i.location for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert "MSG[1]/OBX[1]-6.1" not in unmapped
    assert ("MSG[1]/OBX[1]-6.3" in unmapped) is sent.endswith("^L")  # the system: see below


@pytest.mark.parametrize(
    ("sent", "system"),
    [("10*3/uL^^99LAB", "99LAB"), ("g/dL^^ISO+", "ISO+"), ("K/uL^K/uL^L", "L")],
)
def test_a_unit_system_fhir_has_no_uri_for_is_named_by_an_issue(sent: str, system: str) -> None:
    # the unit text is written, but OBX-6.3 vanished from the output without a word
    _, read_message = first_result(obx("3.1", unit=sent))
    (found,) = [i for i in read_message.issues if i.code == "hl7v2.component-unmapped"]
    assert (found.severity, found.location, found.text) == (
        Severity.INFORMATION,
        "MSG[1]/OBX[1]-6.3",
        (
            f"unit coding system '{system}' (OBX-6.3) is not carried: a FHIR Quantity names its "
            f"system by URI, and '{system}' has none"
        ),
    )


@pytest.mark.parametrize(
    ("code", "sent", "unit", "reads_as", "may_mean"),
    [
        ("6690-2^Leukozyten^LN", "4.500", "/µl", "4.5", "4,500"),
        ("751-8^Neutrophile^LN", "1.200", "/µl", "1.2", "1,200"),
        ("6690-2^Leukozyten^LN", "3.000", "/µl", "3", "3,000"),
        ("6690-2^Leukocytes^LN", "4.5", "/mm3", "4.5", "4,500"),
        ("751-8^Neutrophils^LN", "0.8", "cells/uL", "0.8", "800"),
    ],
)
def test_a_count_per_microlitre_written_with_decimals_is_not_judged(
    code: str, sent: str, unit: str, reads_as: str, may_mean: str
) -> None:
    # '4.500 /µl' (a German thousands dot) was read as 4.5 cells/µL: LL, CTCAE grade 4, leukopenia;
    # '3.000 /µl' as a whole 3 cells/µL
    conversion = leukoflag.convert(message(PID, OBR, obx(sent, code=code, unit=unit, reference="")))
    assert conversion.findings == []
    (found,) = [i for i in conversion.issues if i.code == "flag.scale-suspect"]
    assert (found.severity, found.location) == (Severity.WARNING, "MSG[1]/OBX[1]-6")
    assert (
        f"the value {sent!r} reads as {reads_as} cells/µL in the unit sent {unit!r}" in found.text
    )
    assert f"it may mean {may_mean} cells/µL (" in found.text
    # three decimals may be a thousands dot; fewer only a count in 10³/µL under a per-µL unit
    assert ("a thousands separator, or" in found.text) == (len(sent.partition(".")[2]) == 3)
    (bundle,) = conversion.bundles
    written = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    assert written["Observation"]["valueQuantity"] == {"value": Decimal(sent), "unit": unit}
    assert "interpretation" not in written["Observation"]
    assert "conclusionCode" not in written["DiagnosticReport"]


@pytest.mark.parametrize(
    ("code", "sent", "judged", "rule", "finding"),
    [
        # a lab's calculated ANC: 1,250,500 cells/µL is no blood count, so 1250.5 is meant
        ("751-8^Neutrophils^LN", "1250.5", "L", "anc-neutropenia", "Neutropenia"),
        ("751-8^Neutrophils^LN", "1000.5", "L", "anc-neutropenia", "Neutropenia"),
        ("6690-2^Leukocytes^LN", "3999.5", "L", "wbc-leukopenia-adult", "Leukopenia"),
        ("6690-2^Leukocytes^LN", "6512.25", "N", "wbc-within-range", None),
    ],
)
def test_a_count_per_microlitre_with_a_fraction_whose_thousandfold_is_implausible_is_judged(
    code: str, sent: str, judged: str, rule: str, finding: str | None
) -> None:
    # '1250.5' '/uL' was flag.scale-suspect 'it may mean 1,250,500 cells/µL' (above the
    # 1,000,000 plausibility bound) and left unjudged: a mild neutropenia went unflagged
    conversion = leukoflag.convert(
        message(PID, OBR, obx(sent, code=code, unit="/uL", reference=""))
    )
    (found,) = conversion.findings
    assert (found.value_per_ul, found.code, found.rule) == (Decimal(sent), judged, rule)
    assert (found.condition.display if found.condition else None) == finding
    assert "flag.scale-suspect" not in codes(conversion.issues)


@pytest.mark.parametrize(
    ("sent", "unit", "code", "per_ul"),
    [
        ("6500", "/uL", "N", Decimal(6500)),  # a whole count per µL is judged as sent
        ("6500.000", "/uL", "N", Decimal(6500)),  # 6,500,000 is not plausible: as sent
        # a lab's fixed decimals: a whole count padded with zeros, judged as sent (a severe
        # leukopenia written 450.0 was left unjudged while 1250.0 beside it was judged)
        ("450.0", "/uL", "LL", Decimal(450)),
        ("950.00", "/uL", "LL", Decimal(950)),
        ("0.0", "/uL", "LL", Decimal(0)),  # no cells, in any unit
        ("350", "/uL", "LL", Decimal(350)),  # a true aplastic count stays critical
        ("6.5", "10*3/uL^^UCUM", "N", Decimal(6500)),  # converted from another unit: judged
    ],
)
def test_a_whole_count_per_microlitre_or_one_converted_is_judged(
    sent: str, unit: str, code: str, per_ul: Decimal
) -> None:
    conversion = leukoflag.convert(message(PID, OBR, obx(sent, unit=unit, reference="")))
    (finding,) = conversion.findings
    assert (finding.value_per_ul, finding.code) == (per_ul, code)
    assert "flag.scale-suspect" not in codes(conversion.issues)


def _observations(text: str) -> list[dict[str, Any]]:
    conversion = leukoflag.convert(text)
    return [
        e["resource"]
        for e in conversion.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]


def test_a_flag_under_a_local_system_keeps_it_and_is_not_read_as_table_0078() -> None:
    # V2-to-FHIR IG: OBX-8 → interpretation by CWE[CodeableConcept], CWE.3 the system; the
    # ConceptMap to v3-ObservationInterpretation is from HL70078 only. 'L^Low^99LOC' was written
    # as v3 L, the lab's own system dropped, and compared as if table 0078's L.
    platelets = obx("95", code="777-3^Platelets^LN", reference="150-400", flags="L^Low^99LOC")
    (observation,) = _observations(message(PID, OBR, platelets))
    assert observation["interpretation"] == [
        {
            "coding": [
                {
                    "system": "http://leukoflag.org/fhir/CodeSystem/v2-named/99LOC",
                    "code": "L",
                    "display": "Low",
                }
            ]
        }
    ]
    wbc = obx("3.1", flags="H^High^99LOC")
    conversion = leukoflag.convert(message(PID, OBR, wbc))
    assert "flag.sender-disagrees" not in {i.code for i in conversion.issues}
    assert "fhir.interpretation-unknown" not in {i.code for i in conversion.issues}
    (finding,) = conversion.findings
    assert finding.code == "L"


def test_a_flag_of_table_0078_named_in_lower_case_is_still_compared() -> None:
    conversion = leukoflag.convert(message(PID, OBR, obx("3.1", flags="H^High^hl70078")))
    assert "flag.sender-disagrees" in {i.code for i in conversion.issues}
