"""Delimiters from MSH-1/MSH-2, escape sequences, MSH-18 character sets and the fallback."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import leukoflag
from leukoflag._quote import quoted
from leukoflag.hl7v2._er7 import read_delimiters, segment_breaks
from leukoflag.model import Number, Severity, Text, Unit
from leukoflag.settings import Settings

from .messages import MSH, OBR, PID, WBC, codes, first_result, issue, message, obx, read, results

LATIN1_MSH = MSH.replace("UNICODE UTF-8", "8859/1")
LATIN1_PID = "PID|1||MRN5501^^^RIVERSIDE^MR||MÜLLER^JOSÉ^RENÉ||19800101|M"


def test_escape_sequences_are_decoded_after_splitting() -> None:
    note = (
        "NTE|1||Ratio 1\\S\\2 \\T\\ pipe \\F\\ tilde \\R\\ backslash \\E\\ "
        "\\H\\bold\\N\\ line\\.br\\two \\X4F4B\\"
    )
    read_message = read(message(PID, OBR, WBC, note))
    (result,) = results(read_message)
    assert result.notes == ("Ratio 1^2 & pipe | tilde ~ backslash \\ bold line\ntwo OK",)


def test_escaped_unit_and_code_text() -> None:
    segment = "OBX|1|NM|WBC^WBC \\T\\ diff^99RSLAB||6.1|x10\\S\\3/uL|4.0-11.0|N|||F"
    result, read_message = first_result(segment)
    assert result.unit == Unit("x10^3/uL")
    assert result.code.codings[0].display == "WBC & diff"
    assert "hl7v2.unit-rejoined" not in codes(read_message.issues)


def test_unknown_or_unterminated_escape_is_kept_with_an_issue() -> None:
    result, read_message = first_result(obx("C:\\lab\\Q7 and \\zz", value_type="ST"))
    assert result.value == Text("C:\\lab\\Q7 and \\zz")
    assert issue(read_message, "hl7v2.escape-invalid").location == "MSG[1]/OBX[1]-5"


_BAD = "\\Q\\"  # an escape sequence HL7 v2 does not define


@pytest.mark.parametrize(
    ("segments", "location"),
    [
        ((f"PID|1||MRN1^^^RIVERSIDE^MR||OKA{_BAD}FOR^DANIEL||19610719|M", OBR, WBC), "PID[1]-5"),
        ((f"PID|1||MRN{_BAD}1^^^RIVERSIDE^MR||OKAFOR^DANIEL||19610719|M", OBR, WBC), "PID[1]-3"),
        ((PID, f"PV1|1|O|ONC{_BAD}^12", OBR, WBC), "PV1[1]-3"),
        ((PID, f"PV1|1|O|ONC||||||||||||||||V{_BAD}7", OBR, WBC), "PV1[1]-19"),
        ((PID, OBR.replace("CBC panel", f"CBC {_BAD}panel"), WBC), "OBR[1]-4"),
        ((PID, OBR.replace("LAB88164^CORELAB", f"LAB{_BAD}88164^CORELAB"), WBC), "OBR[1]-3"),
        ((PID, OBR.replace("VARGA", f"VA{_BAD}RGA"), WBC), "OBR[1]-16"),
        ((PID, f"ORC|RE|ORD55377^EHR|LAB88164^CORELAB|GRP{_BAD}1", OBR, WBC), "ORC[1]-4"),
        ((PID, OBR, WBC + f"||5820^VA{_BAD}RGA"), "OBX[1]-16"),
        ((PID, OBR, WBC + f"||||XN{_BAD}1"), "OBX[1]-18"),
        ((PID, OBR, WBC + f"|||||||||CORE{_BAD}LAB"), "OBX[1]-23"),
        ((PID, OBR, WBC, f"SPM|1|SP{_BAD}1^CORELAB||BLDV^Blood^HL70487"), "SPM[1]-2"),
        ((PID, OBR, WBC, f"SPM|1|SP1^CORELAB||BLDV^Blood^HL70487||||ACF{_BAD}"), "SPM[1]-8"),
    ],
)
def test_escape_problem_is_reported_at_its_field(segments: tuple[str, ...], location: str) -> None:
    # These were reported at the segment (MSG[1]/PID[1]), leaving the field to be searched for.
    found = issue(read(message(*segments)), "hl7v2.escape-invalid")
    assert found.location == f"MSG[1]/{location}"
    assert found.text.startswith("unknown escape sequence \\Q\\")


def test_line_and_space_counts_of_formatting_commands_are_applied() -> None:
    note = "NTE|1|L|Film reviewed.\\.sp2\\Platelet clumps seen;\\.sk3\\recount advised."
    (result,) = results(read(message(PID, OBR, WBC, note)))
    assert result.notes == ("Film reviewed.\n\nPlatelet clumps seen;   recount advised.",)


@pytest.mark.parametrize("command", ["\\.in 4\\", "\\.ti 2\\", "\\.in -2\\"])
def test_an_indent_after_text_on_its_line_is_a_line_break_with_an_issue(command: str) -> None:
    # HL7 v2 allows .in and .ti only before a line's first printable character; the sender
    # meant the next words to start an indented line, not to follow "noted." unspaced.
    note = f"NTE|1|L|Film noted.{command}Toxic granulation present."
    read_message = read(message(PID, OBR, WBC, note))
    (result,) = results(read_message)
    assert result.notes == ("Film noted.\nToxic granulation present.",)
    found = issue(read_message, "hl7v2.escape-invalid")
    assert (found.location, found.text) == (
        "MSG[1]/NTE[1]-3",
        (
            f"formatting command {command} comes after text on its line, where HL7 v2 does not "
            "allow it: read as a line break"
        ),
    )


def test_an_indent_at_the_start_of_a_line_is_dropped_without_an_issue() -> None:
    note = "NTE|1|L|\\.in 4\\Film noted.\\.br\\\\.ti 2\\Toxic granulation present."
    read_message = read(message(PID, OBR, WBC, note))
    (result,) = results(read_message)
    assert result.notes == ("Film noted.\nToxic granulation present.",)
    assert "hl7v2.escape-invalid" not in codes(read_message.issues)


@pytest.mark.parametrize(
    ("command", "read_as", "what"),
    [
        ("\\.sp -1\\", "\n", "line break"),
        ("\\.sp two\\", "\n", "line break"),
        ("\\.sk -3\\", " ", "space"),
    ],
)
def test_a_line_or_space_count_that_is_not_a_positive_number_is_invalid(
    command: str, read_as: str, what: str
) -> None:
    note = f"NTE|1|L|Film noted.{command}Toxic granulation present."
    read_message = read(message(PID, OBR, WBC, note))
    (result,) = results(read_message)
    assert result.notes == (f"Film noted.{read_as}Toxic granulation present.",)
    found = issue(read_message, "hl7v2.escape-invalid")
    assert found.text == (
        f"formatting command {command} has no valid count (a positive whole number): read as "
        f"one {what}"
    )


def test_formatting_command_with_a_huge_count_is_kept_as_sent() -> None:
    # 24 bytes of escape once asked for a billion line breaks (a MemoryError out of convert) or
    # more than the index range (OverflowError): a count above 99 is not applied.
    note = "NTE|1|L|Recounted.\\.sp1000000000000\\ Film reviewed by haematology."
    read_message = read(message(PID, OBR, WBC, note))
    (result,) = results(read_message)
    assert result.notes == ("Recounted.\\.sp1000000000000\\ Film reviewed by haematology.",)
    found = issue(read_message, "hl7v2.escape-invalid")
    assert found.location == "MSG[1]/NTE[1]-3"
    assert found.text.startswith(
        "formatting command \\.sp1000000000000\\ asks for 1000000000000 line breaks, more than "
        "the 99 leukoflag gives"
    )


def test_a_sequence_leukoflag_cannot_decode_ends_at_its_closing_escape() -> None:
    # \Zxx\ (locally defined), an over-long \.sp\ and bad hex are kept whole: their closing
    # backslash no longer opened a bogus sequence ("unknown escape sequence \ then \") and
    # the next real escape (\T\) is decoded. An unknown one (a path) still may not be one.
    note = "NTE|1|L|Smear \\ZHEM01\\ reviewed \\T\\ \\.sp500\\ recount \\XZZ\\ see C:\\lab\\T\\x"
    read_message = read(message(PID, OBR, WBC, note))
    (result,) = results(read_message)
    assert result.notes == ("Smear \\ZHEM01\\ reviewed & \\.sp500\\ recount \\XZZ\\ see C:\\lab&x",)
    found = issue(read_message, "hl7v2.escape-invalid")
    assert found.text == (
        "locally defined escape \\ZHEM01\\ has no agreed meaning; formatting command "
        "\\.sp500\\ asks for 500 line breaks, more than the 99 leukoflag gives; invalid "
        "hexadecimal escape \\XZZ\\; unknown escape sequence \\lab\\"
    )


def test_long_escape_problems_quote_their_start_and_say_they_are_cut() -> None:
    note = f"NTE|1|L|See \\q{'w' * 40}\\ and \\.sp{'9' * 40}\\ done"
    found = issue(read(message(PID, OBR, WBC, note)), "hl7v2.escape-invalid")
    assert found.text.startswith(f"unknown escape sequence \\q{'w' * 19}… (41 characters)\\")
    assert found.text.endswith(
        f"formatting command \\.sp{'9' * 17}… (43 characters)\\ asks for "
        f"{'9' * 20}… (40 characters) line breaks, more than the 99 leukoflag gives"
    )
    assert read_delimiters(f"MSH|^~\\&{'x' * 30}|HEMLAB") == (
        "MSH-2 encoding characters '^~\\\\&xxxxxxxx'… (34 characters) are too long (4, or 5 "
        "with the v2.7 truncation character): the field separator after MSH-2 is missing or wrong"
    )


def test_formatting_count_in_superscript_digits_is_one_line_break() -> None:
    # '²' passes str.isdigit() but int() refuses it: the message used to be rejected.
    note = "NTE|1|L|Recounted.\\.sp\u00b2\\Film reviewed."
    (result,) = results(read(message(PID, OBR, WBC, note)))
    assert result.notes == ("Recounted.\nFilm reviewed.",)


def test_non_default_delimiters_are_honoured() -> None:
    msh = (
        "MSH#$*@%#CORELAB#RIVERSIDE#EHR#RIVERSIDE#20261124091047-0500##ORU$R01$ORU_R01#"
        "RS24-7#P#2.5.1"
    )
    pid = "PID#1##MRN9$$$RIVERSIDE$MR##DOE$JOHN##19700101#M"
    obr = "OBR#1#ORD1$EHR#LAB1$CORELAB#58410-2$CBC panel$LN#########################F"
    wbc = "OBX#1#NM#6690-2$Leukocytes$LN##4.2#10^3/uL#4.0-11.0 @F@ adult#N*A###F"
    note = "NTE#1##a^b|c@S@d"
    read_message = read(message(pid, obr, wbc, note, msh=msh))
    assert read_message.message_type == "ORU^R01^ORU_R01"
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("DOE", ("JOHN",))
    (result,) = results(read_message)
    assert result.value == Number(Decimal("4.2"), "4.2")
    assert result.unit == Unit("10^3/uL")  # ^ is plain data with $ as component separator
    assert result.reference_range is not None
    assert result.reference_range.text == "4.0-11.0 # adult"
    assert [f.code for f in result.sender_flags] == ["N", "A"]
    assert result.notes == ("a^b|c$d",)
    assert "hl7v2.unit-rejoined" not in codes(read_message.issues)


# HL7 v2.7 names a fifth encoding character in MSH-2, the truncation character: the last
# character of a value the sender cut at its length limit (a '#' that is data is sent \P\).
V27_MSH = MSH.replace("|^~\\&|", "|^~\\&#|").replace("|2.5.1|", "|2.7|")


def test_a_value_ending_with_the_truncation_character_is_said_to_be_cut() -> None:
    pid = PID.replace("OKAFOR^DANIEL^C", "WOLFESCHLEGELSTEINHAUSENBERGERDORF#^HUBERT")
    note = "NTE|1||Toxic granulation and Dohle bodies seen; pathologist review of the periph#"
    read_message = read(message(pid, OBR, WBC, note, msh=V27_MSH))
    patient = read_message.groups[0].patient
    assert patient is not None
    # the values are kept as sent, the mark too: the Issue says what it means
    assert patient.family == "WOLFESCHLEGELSTEINHAUSENBERGERDORF#"
    assert results(read_message)[0].notes == (note.split("|")[3],)
    found = [i for i in read_message.issues if i.code == "hl7v2.value-truncated"]
    said = (
        "holds a value ending with the truncation character '#' (MSH-2): the sender cut it at "
        "its length"
    )
    assert [(i.severity, i.location, i.text) for i in found] == [
        (
            Severity.WARNING,
            "MSG[1]/PID[1]-5",
            f"PID-5 {said} limit and did not send the rest: 'WOLFESCHLEGELSTEINHAUSENBERGERDORF#'",
        ),
        (
            Severity.WARNING,
            "MSG[1]/NTE[1]-3",
            f"NTE-3 {said} limit and did not send the rest: {note.split('|')[3]!r}",
        ),
    ]


@pytest.mark.parametrize(
    ("msh", "note", "text"),
    [
        (V27_MSH, "NTE|1||Specimen #2 received", "Specimen #2 received"),  # not at the end
        (V27_MSH, "NTE|1||Bed 4 \\P\\", "Bed 4 #"),  # the character as data, escaped
        (MSH, "NTE|1||Bed 4 #", "Bed 4 #"),  # no truncation character declared
    ],
)
def test_a_truncation_character_that_marks_no_cut_value_is_not_reported(
    msh: str, note: str, text: str
) -> None:
    read_message = read(message(PID, OBR, WBC, note, msh=msh))
    assert results(read_message)[0].notes == (text,)
    assert "hl7v2.value-truncated" not in codes(read_message.issues)


def test_latin1_message_with_msh18_8859_1() -> None:
    data = message(LATIN1_PID, OBR, WBC, msh=LATIN1_MSH).encode("latin-1")
    read_message = read(data)
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("MÜLLER", ("JOSÉ", "RENÉ"))
    assert read_message.charset == "8859/1"
    assert not [c for c in codes(read_message.issues) if "charset" in c]


def test_hex_escape_uses_the_message_charset() -> None:
    note = "NTE|1||Dr. M\\XFC\\ller"
    data = message(PID, OBR, WBC, note, msh=LATIN1_MSH).encode("latin-1")
    assert results(read(data))[0].notes == ("Dr. Müller",)


def test_a_character_sent_as_one_hex_escape_per_byte_is_read_as_the_character() -> None:
    # An interface that escapes every byte above 0x7F alone: Ü is \XC3\\X9C\, ö \XC3\\XB6\.
    pid = PID.replace("OKAFOR^DANIEL^C", "M\\XC3\\\\X9C\\LLER^J\\XC3\\\\X9C\\RGEN")
    note = "NTE|1||D\\XC3\\\\XB6\\hle bodies, 2\\XE2\\\\X80\\\\X93\\3 per field"
    read_message = read(message(pid, OBR, WBC, note))
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("MÜLLER", ("JÜRGEN",))
    assert results(read_message)[0].notes == ("Döhle bodies, 2\u20133 per field",)
    assert "hl7v2.escape-invalid" not in codes(read_message.issues)


def test_hex_escapes_that_form_no_character_together_are_each_read_alone() -> None:
    note = "NTE|1||M\\XC3\\\\X41\\ller"  # a lead byte, then an ASCII byte: no UTF-8
    read_message = read(message(PID, OBR, WBC, note))
    assert results(read_message)[0].notes == ("MÃAller",)  # as the raw bytes C3 41 would be
    assert issue(read_message, "hl7v2.escape-invalid").text == (
        "hexadecimal escape \\XC3\\ is not valid utf-8: read with the fallback character set cp1252"
    )
    ascii_only = read(message(PID, OBR, WBC, note), Settings(fallback_charset="ascii"))
    assert results(ascii_only)[0].notes == ("M\\XC3\\Aller",)
    assert issue(ascii_only, "hl7v2.escape-invalid").text == (
        "hexadecimal escape \\XC3\\ is not valid utf-8"
    )


@pytest.mark.parametrize("declared", ["UNICODE UTF-8", ""])
def test_a_hex_escape_not_valid_utf8_is_read_with_the_fallback_as_raw_bytes_are(
    declared: str,
) -> None:
    # A sender escaping µ and the umlauts by their Windows-1252 bytes in a UTF-8 message: the
    # same bytes sent raw are read with the fallback (with a warning); so are these, and the
    # WBC of 3,100/µL is normalized and flagged instead of refused for an unknown unit.
    msh = MSH.replace("UNICODE UTF-8", declared)
    pid = PID.replace("OKAFOR", "M\\XDC\\LLER")
    note = "NTE|1||Dr. M\\XFC\\ller"
    read_message = read(message(pid, OBR, obx("3.1", unit="10*3/\\XB5\\L"), note, msh=msh))
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    (result,) = results(read_message)
    assert result.notes == ("Dr. Müller",)
    assert result.unit is not None
    assert result.unit.text == "10*3/µL"
    found = [(i.location, i.text) for i in read_message.issues if i.code == "hl7v2.escape-invalid"]
    said = "is not valid utf-8: read with the fallback character set cp1252"
    assert found == [
        ("MSG[1]/PID[1]-5", f"hexadecimal escape \\XDC\\ {said}"),
        ("MSG[1]/OBX[1]-6", f"hexadecimal escape \\XB5\\ {said}"),
        ("MSG[1]/NTE[1]-3", f"hexadecimal escape \\XFC\\ {said}"),
    ]
    import leukoflag

    conversion = leukoflag.convert(message(pid, OBR, obx("3.1", unit="10*3/\\XB5\\L"), msh=msh))
    assert [(f.code, f.value_per_ul) for f in conversion.findings] == [("L", Decimal(3100))]


def test_a_hex_escape_not_valid_ascii_under_an_ascii_label_is_read_as_utf8() -> None:
    msh = MSH.replace("UNICODE UTF-8", "ASCII")
    note = "NTE|1||Dr. M\\XC3BC\\ller"
    read_message = read(message(PID, OBR, WBC, note, msh=msh))
    assert results(read_message)[0].notes == ("Dr. Müller",)
    assert issue(read_message, "hl7v2.escape-invalid").text == (
        "hexadecimal escape \\XC3BC\\ is not valid ascii: read as UTF-8"
    )


def test_hex_escapes_per_byte_under_an_ascii_label_are_read_as_utf8_as_one_escape_is() -> None:
    # \XC3BC\ under MSH-18 ASCII is read as UTF-8 (as the raw bytes would be); the same bytes
    # escaped one each (an interface escaping every byte above 0x7F alone) are the same text.
    msh = MSH.replace("UNICODE UTF-8", "ASCII")
    pid = PID.replace("OKAFOR^DANIEL^C", "M\\XC3\\\\X9C\\LLER^J\\XC3\\\\X9C\\RGEN")
    read_message = read(message(pid, OBR, WBC, "NTE|1||Dr. M\\XC3\\\\XBC\\ller", msh=msh))
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("MÜLLER", ("JÜRGEN",))
    assert results(read_message)[0].notes == ("Dr. Müller",)
    found = {(i.location, i.text) for i in read_message.issues if i.code == "hl7v2.escape-invalid"}
    assert found == {
        ("MSG[1]/PID[1]-5", "hexadecimal escape \\XC3\\\\X9C\\ is not valid ascii: read as UTF-8"),
        ("MSG[1]/NTE[1]-3", "hexadecimal escape \\XC3\\\\XBC\\ is not valid ascii: read as UTF-8"),
    }


@pytest.mark.parametrize("escaped", ["M\\XC3BC\\ller", "M\\XC3\\\\XBC\\ller"])
def test_a_hex_escape_of_utf8_bytes_under_a_latin1_label_is_flagged_as_suspect(
    escaped: str,
) -> None:
    # The escape's bytes are read as MSH-18 says, as raw bytes are; that they form UTF-8 is
    # said, as hl7v2.charset-suspect says it of raw bytes (which are all ASCII here).
    read_message = read(message(PID, OBR, WBC, f"NTE|1||Dr. {escaped}", msh=LATIN1_MSH))
    assert results(read_message)[0].notes == ("Dr. MÃ¼ller",)
    found = issue(read_message, "hl7v2.escape-invalid")
    shown = escaped.removeprefix("M").removesuffix("ller")
    assert found.location == "MSG[1]/NTE[1]-3"
    assert found.text == (
        f"hexadecimal escape {shown} gives 'Ã¼' in iso8859-1, but its bytes form UTF-8 'ü': "
        "read as iso8859-1 as MSH-18 says; check the sender's encoding"
    )
    plain = read(message(PID, OBR, WBC, "NTE|1||Dr. M\\XFC\\ller", msh=LATIN1_MSH))
    assert results(plain)[0].notes == ("Dr. Müller",)
    assert "hl7v2.escape-invalid" not in codes(plain.issues)


def test_utf8_without_msh18_is_read_silently() -> None:
    msh = MSH.replace("UNICODE UTF-8", "")
    data = message(LATIN1_PID, OBR, WBC, msh=msh).encode("utf-8")
    read_message = read(data)
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert read_message.charset == ""
    assert not [c for c in codes(read_message.issues) if "charset" in c]


def test_absent_msh18_and_not_utf8_uses_the_fallback_with_an_issue() -> None:
    msh = MSH.replace("UNICODE UTF-8", "")
    data = message(LATIN1_PID, OBR, WBC, msh=msh).encode("cp1252")
    read_message = read(data, Settings(fallback_charset="cp1252"))
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    found = issue(read_message, "hl7v2.charset-fallback")
    assert found.location == "MSG[1]/MSH[1]-18"
    assert "cp1252" in found.text


@pytest.mark.parametrize("declared", ["UNICODE UTF-8", ""])
def test_a_stray_byte_of_another_charset_leaves_the_utf8_text_read_as_utf8(declared: str) -> None:
    # A UTF-8 message whose comment was pasted from a Windows-1252 application: the name and
    # the unit are UTF-8 and stay so; only the bytes that are not UTF-8 take the fallback.
    msh = MSH.replace("UNICODE UTF-8", declared)
    note = "NTE|1||Smear reviewed by Dr. Hernández"
    text = message(LATIN1_PID, OBR, obx("3.1", unit="10*3/µL"), note, msh=msh)
    data = text.encode("utf-8").replace("Hernández".encode(), "Hernández".encode("cp1252"))
    read_message = read(data)
    patient = read_message.groups[0].patient
    assert patient is not None
    assert (patient.family, patient.given) == ("MÜLLER", ("JOSÉ", "RENÉ"))
    (result,) = results(read_message)
    assert result.unit is not None
    assert result.unit.text == "10*3/µL"
    assert result.notes == ("Smear reviewed by Dr. Hernández",)
    (found,) = [i for i in read_message.issues if "charset" in i.code]
    offset = data.index("Hernández".encode("cp1252")) + len("Hern")
    why = (
        "the message is not valid 'UNICODE UTF-8'"
        if declared
        else ("MSH-18 is empty and the message is not UTF-8")
    )
    assert (found.code, found.location) == ("hl7v2.charset-fallback", "MSG[1]/MSH[1]-18")
    assert found.text == (
        f"{why}: its bytes that are not UTF-8 (1 byte, the first 0xe1 at offset {offset}) read "
        "with the fallback character set cp1252, the rest as UTF-8"
    )


def test_wrong_msh18_falls_back_with_an_issue() -> None:
    msh = MSH.replace("UNICODE UTF-8", "ASCII")
    data = message(LATIN1_PID, OBR, WBC, msh=msh).encode("latin-1")
    read_message = read(data, Settings(fallback_charset="latin-1"))
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert issue(read_message, "hl7v2.charset-fallback").severity is Severity.WARNING


def test_utf8_bytes_under_a_latin1_label_are_flagged_as_suspect() -> None:
    data = message(LATIN1_PID, OBR, WBC, msh=LATIN1_MSH).encode("utf-8")
    read_message = read(data)
    assert read_message.groups[0].patient.family == "MÃ\x9cLLER"  # type: ignore[union-attr]
    assert "hl7v2.charset-suspect" in codes(read_message.issues)


def test_unknown_and_nonstandard_charset_names() -> None:
    unknown = read(message(LATIN1_PID, OBR, WBC, msh=MSH.replace("UNICODE UTF-8", "EBCDIC")))
    assert "hl7v2.charset-unknown" in codes(unknown.issues)
    assert unknown.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    iana = read(message(LATIN1_PID, OBR, WBC, msh=MSH.replace("UNICODE UTF-8", "UTF-8")))
    assert codes([i for i in iana.issues if "charset" in i.code]) == ["hl7v2.charset-nonstandard"]


def test_iso_ir192_is_the_table_0211_name_of_utf8() -> None:
    # v2 table 0211 registers 'ISO IR192' (ISO-IR 192, UTF-8) as DICOM names it; a PACS-side
    # engine sends it. It was 'not one leukoflag knows' (hl7v2.charset-unknown) though read as
    # UTF-8 anyway.
    msh = MSH.replace("UNICODE UTF-8", "ISO IR192")
    read_message = read(message(LATIN1_PID, OBR, WBC, msh=msh).encode("utf-8"))
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert [i.code for i in read_message.issues if "charset" in i.code] == []
    assert read_message.charset == "ISO IR192"


@pytest.mark.parametrize(
    ("segment", "location"),
    [
        (obx("\ufeff2.1"), "OBX[1]-5"),  # a count pasted from a UTF-8 file with its mark
        (obx("2.1", code="\ufeff6690-2^Leukocytes [#/volume] in Blood^LN"), "OBX[1]-3"),
    ],
)
def test_a_byte_order_mark_inside_a_field_is_removed_with_an_issue(
    segment: str, location: str
) -> None:
    # U+FEFF inside a field (not at the start of the file: text pasted from a file saved with
    # a mark) was kept silently: the WBC '\ufeff2.1' was 'not a decimal number' and left
    # unjudged, and a code '\ufeff6690-2' was no LOINC the flagging knows (no finding)
    text = message(PID, OBR, segment)
    for conv in (leukoflag.convert(text.encode("utf-8")), leukoflag.convert(text)):
        assert [(f.analyte.value, f.code) for f in conv.findings] == [("wbc", "LU")]
        (found,) = [i for i in conv.issues if i.code == "hl7v2.byte-order-mark"]
        assert found.location == f"MSG[1]/{location}"
        assert found.severity is Severity.WARNING
        name = location.split("[", maxsplit=1)[0] + location.split("]")[1]
        assert found.text == (
            f"{name} holds a byte-order mark (U+FEFF, an invisible zero-width no-break space) "
            "inside its text: removed"
        )
        (bundle,) = conv.bundles
        assert "\ufeff" not in json.dumps(bundle, ensure_ascii=False, default=str)


def test_a_segment_line_starting_with_a_byte_order_mark_is_read_as_its_segment() -> None:
    # A result line pasted from a file saved with a mark starts with U+FEFF: the line was
    # skipped as 'not a segment' and the WBC of 2.1 10*3/uL (leukopenia) went unjudged, while
    # the same mark one field on was removed. It is the segment it names, read without the mark.
    wbc = obx("2.1", reference="4.0-11.0")
    anc = obx("1.20", code="751-8^Neutrophils [#/volume] in Blood^LN", set_id="2")
    text = message(PID, OBR, "\ufeff" + wbc, anc)
    for conv in (leukoflag.convert(text.encode("utf-8")), leukoflag.convert(text)):
        assert [(f.location, f.analyte.value, f.code) for f in conv.findings] == [
            ("MSG[1]/OBX[1]", "wbc", "LU"),
            ("MSG[1]/OBX[2]", "anc", "L"),
        ]
        assert [i.code for i in conv.issues if i.code == "hl7v2.line-not-segment"] == []
        (found,) = [i for i in conv.issues if i.code == "hl7v2.byte-order-mark"]
        assert (found.location, found.severity) == ("MSG[1]/OBX[1]", Severity.WARNING)
        assert found.text == (
            "segment OBX starts with a byte-order mark (U+FEFF, an invisible zero-width no-break "
            "space) before its ID: removed, read as OBX"
        )
        (bundle,) = conv.bundles
        assert "\ufeff" not in json.dumps(bundle, ensure_ascii=False, default=str)


def test_latin15_euro_sign() -> None:
    msh = MSH.replace("UNICODE UTF-8", "8859/15")
    note = "NTE|1||Fee 5 €"
    data = message(PID, OBR, WBC, note, msh=msh).encode("iso8859-15")
    assert results(read(data))[0].notes == ("Fee 5 €",)


def test_utf16_message_with_byte_order_mark() -> None:
    msh = MSH.replace("UNICODE UTF-8", "UNICODE UTF-16")
    data = message(LATIN1_PID, OBR, WBC, msh=msh).encode("utf-16")
    read_message = read(data)
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert not [c for c in codes(read_message.issues) if "charset" in c]


@pytest.mark.parametrize(
    ("declared", "escape"), [("UNICODE UTF-16", "\\X00FC\\"), ("UNICODE UTF-32", "\\X000000FC\\")]
)
@pytest.mark.parametrize("order", ["le", "be"])
def test_hex_escape_in_a_utf16_or_utf32_message_is_read_big_endian(
    declared: str, escape: str, order: str
) -> None:
    # The escape's bytes carry no byte-order mark: RFC 2781 (4.3) reads such UTF-16 as
    # big-endian, whatever the message's own order (and not the machine's).
    msh = MSH.replace("UNICODE UTF-8", declared)
    note = f"NTE|1||Dr. M{escape}ller"
    text = message(PID, OBR, WBC, note, msh=msh)
    codec = f"{declared.removeprefix('UNICODE ').lower()}-{order}"  # utf-16-le, utf-32-be …
    read_message = read("\ufeff".encode(codec) + text.encode(codec))
    assert results(read_message)[0].notes == ("Dr. Müller",)
    assert not [c for c in codes(read_message.issues) if "escape" in c or "charset" in c]


@pytest.mark.parametrize(
    ("declared", "escape"), [("UNICODE UTF-16", "\\X00FC\\"), ("UNICODE UTF-32", "\\X000000FC\\")]
)
@pytest.mark.parametrize("family", ["OKAFOR", "ÖZDEMIR"])
def test_hex_escape_in_a_utf16_or_utf32_message_given_as_text(
    declared: str, escape: str, family: str
) -> None:
    # The caller decoded the UTF-16 bytes; the text is read as its characters without an Issue
    # (docs/hl7v2.md), ASCII or not, and MSH-18 still decides the escapes.
    import leukoflag

    msh = MSH.replace("UNICODE UTF-8", declared)
    note = f"NTE|1||Dr. M{escape}ller"
    conversion = leukoflag.convert(message(PID.replace("OKAFOR", family), OBR, WBC, note, msh=msh))
    (bundle,) = conversion.bundles
    (observation,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["note"] == [{"text": "Dr. Müller"}]
    assert not [i.code for i in conversion.issues if "escape" in i.code or "charset" in i.code]


@pytest.mark.parametrize("declared", ["UNICODE UTF-16", "UNICODE UTF-32"])
@pytest.mark.parametrize("padding", ["", "X", "XY", "XYZ"])
def test_utf16_or_utf32_declared_over_utf8_bytes_is_read_as_utf8(
    declared: str, padding: str
) -> None:
    # An engine re-encoded the message as UTF-8 and left MSH-18. Whatever the byte count (a
    # strict UTF-16 decoding of an even count succeeds, into CJK), the message is read.
    msh = MSH.replace("UNICODE UTF-8", declared)
    note = f"NTE|1||Smear reviewed{padding}"
    data = message(LATIN1_PID, OBR, WBC, note, msh=msh).encode("utf-8")
    read_message = read(data)
    assert read_message.groups[0].patient.family == "MÜLLER"  # type: ignore[union-attr]
    assert "hl7v2.charset-wrong" in codes(read_message.issues)


@pytest.mark.parametrize("terminator", ["\r", "\n", "\r\n"])
def test_segment_terminators(terminator: str) -> None:
    read_message = read(message(PID, OBR, WBC, terminator=terminator))
    assert results(read_message)[0].value == Number(Decimal("3.1"), "3.1")
    assert not [c for c in codes(read_message.issues) if c == "hl7v2.line-not-segment"]


# A raw line feed typed into a field (a comment on two lines) in a message whose segments end
# with CR or CRLF: kept in the value, not a segment break that cuts the field and those after it.
SMEAR_COMMENT = (
    "OBX|1|FT|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||"
    "Leukocytes low.\nConfirmed by manual smear|10*3/uL^^UCUM|4.0-11.0|L|||F|||"
    "20261124080500-0500"
)


@pytest.mark.parametrize("terminator", ["\r", "\r\n"])
def test_raw_line_feed_in_a_note_is_kept_in_the_note(terminator: str) -> None:
    note = "NTE|1|L|Specimen slightly hemolyzed.\nRecollection advised if potassium is needed."
    read_message = read(message(PID, OBR, WBC, note, terminator=terminator))
    (result,) = results(read_message)
    assert result.notes == (
        "Specimen slightly hemolyzed.\nRecollection advised if potassium is needed.",
    )
    found = issue(read_message, "hl7v2.line-break-raw")
    assert found.location == "MSG[1]/NTE[1]-3"
    assert found.severity is Severity.WARNING
    assert "hl7v2.line-not-segment" not in codes(read_message.issues)


def test_raw_line_feed_in_obx5_keeps_the_fields_after_it() -> None:
    read_message = read(message(PID, OBR, SMEAR_COMMENT))
    (result,) = results(read_message)
    assert result.value == Text("Leukocytes low.\nConfirmed by manual smear")
    # OBX-6 to OBX-14 are read from the same segment: unit, range, flag, status and time
    assert result.unit == Unit("10*3/uL", "10*3/uL", "http://unitsofmeasure.org")
    assert result.reference_range is not None
    assert result.reference_range.high == Decimal("11.0")
    assert [flag.code for flag in result.sender_flags] == ["L"]
    assert result.status_text == "F"
    assert result.effective is not None
    assert result.effective.text == "20261124080500-0500"
    assert [i.location for i in read_message.issues if i.code == "hl7v2.line-break-raw"] == [
        "MSG[1]/OBX[1]-5"
    ]


def test_lone_line_feed_before_a_segment_still_ends_it() -> None:
    # a file that mixes terminators: CR for most segments, a lone LF before the OBX
    data = "\r".join((MSH, PID, OBR)) + "\n" + WBC + "\r"
    read_message = read(data)
    assert results(read_message)[0].value == Number(Decimal("3.1"), "3.1")
    assert "hl7v2.line-break-raw" not in codes(read_message.issues)


def test_line_feeds_in_two_fields_of_one_segment_give_one_issue_each() -> None:
    segment = "NTE|1|L\nP|first line\nsecond line\nthird line"
    read_message = read(message(PID, OBR, WBC, segment))
    assert [i.location for i in read_message.issues if i.code == "hl7v2.line-break-raw"] == [
        "MSG[1]/NTE[1]-2",
        "MSG[1]/NTE[1]-3",
    ]
    assert results(read_message)[0].notes == ("first line\nsecond line\nthird line",)


def test_line_feeds_in_fields_far_apart_are_each_located_in_their_own_field() -> None:
    segment = (
        "OBX|1|TX|18314-7^Morphology^LN||Neutrophils: toxic granulation.\nLymphocytes: "
        "reactive forms.\nPlatelets: adequate.||||||F||||CL-HEM^Core lab\nHematology|"
        "7741^NGUYEN^THANH^^^^MD"
    )
    read_message = read(message(PID, OBR, WBC, segment))
    assert [i.location for i in read_message.issues if i.code == "hl7v2.line-break-raw"] == [
        "MSG[1]/OBX[2]-5",
        "MSG[1]/OBX[2]-15",
    ]
    assert results(read_message)[1].value == Text(
        "Neutrophils: toxic granulation.\nLymphocytes: reactive forms.\nPlatelets: adequate."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MSH|^~\\&|A\nPID|1\nOBX|1\n", "MSH|^~\\&|A\rPID|1\rOBX|1\r"),  # LF terminators
        ("MSH|^~\\&|A\r\nPID|1\r\n", "MSH|^~\\&|A\rPID|1\r"),  # CRLF
        ("MSH|^~\\&|A\rNTE|1||one\ntwo\r", "MSH|^~\\&|A\rNTE|1||one\ntwo\r"),  # kept
        ("MSH|^~\\&|A\rPID|1\nOBX|1\r", "MSH|^~\\&|A\rPID|1\rOBX|1\r"),  # mixed terminators
        ("MSH|^~\\&|A\rPID|1\n\n  \rOBX|1\n", "MSH|^~\\&|A\rPID|1\r\r  \rOBX|1\r"),  # blanks, end
        ("MSH#^~\\&#A\rNTE#1##one\nZLX#2\r", "MSH#^~\\&#A\rNTE#1##one\rZLX#2\r"),  # own separator
        ("MSH#^~\\&#A\rNTE#1##one\nPID|2\r", "MSH#^~\\&#A\rNTE#1##one\nPID|2\r"),  # not a segment
    ],
)
def test_segment_breaks(text: str, expected: str) -> None:
    assert segment_breaks(text) == expected


def test_raw_control_characters_are_replaced_with_an_issue_at_their_field() -> None:
    # A NUL byte padding the name and a BEL in a comment, as a terminal-fed system sent them.
    pid = PID.replace("OKAFOR", "OKAFOR\x00\x00")
    note = "NTE|1||Sample slightly\x07 hemolysed\tby courier"
    read_message = read(message(pid, OBR, WBC, note))
    assert read_message.groups[0].patient.family == "OKAFOR\ufffd\ufffd"  # type: ignore[union-attr]
    assert results(read_message)[0].notes == ("Sample slightly\ufffd hemolysed\tby courier",)
    found = [i for i in read_message.issues if i.code == "hl7v2.control-character"]
    said = ", which FHIR strings do not allow: replaced with U+FFFD"
    assert [(i.severity, i.location, i.text) for i in found] == [
        (Severity.WARNING, "MSG[1]/PID[1]-5", f"PID-5 holds control character U+0000{said}"),
        (Severity.WARNING, "MSG[1]/NTE[1]-3", f"NTE-3 holds control character U+0007{said}"),
    ]


def test_hex_escapes_giving_control_characters_are_replaced_and_line_breaks_kept() -> None:
    note = "NTE|1||Recheck\\X00\\ requested\\X0D0A\\by ward\\X0B07\\"
    read_message = read(message(PID, OBR, WBC, note))
    assert results(read_message)[0].notes == ("Recheck\ufffd requested\r\nby ward\ufffd\ufffd",)
    found = issue(read_message, "hl7v2.escape-invalid")
    assert found.location == "MSG[1]/NTE[1]-3"
    assert found.text == (
        "hexadecimal escape \\X00\\ gives control character U+0000, which FHIR strings do not "
        "allow: replaced with U+FFFD; hexadecimal escape \\X0B07\\ gives control characters "
        "U+0007, U+000B, which FHIR strings do not allow: replaced with U+FFFD"
    )
    assert "hl7v2.control-character" not in codes(read_message.issues)


def test_a_hex_escaped_control_character_after_a_run_spoils_only_itself() -> None:
    # é escaped one byte each, then the vertical tab a word processor writes for Shift+Enter.
    note = "NTE|1||Smear reviewed by Dr. Ren\\XC3\\\\XA9\\\\X0B\\Toxic granulation noted."
    read_message = read(message(PID, OBR, WBC, note))
    assert results(read_message)[0].notes == (
        "Smear reviewed by Dr. Ren\u00e9\ufffdToxic granulation noted.",
    )
    found = issue(read_message, "hl7v2.escape-invalid")
    assert found.location == "MSG[1]/NTE[1]-3"
    assert found.text == (
        "hexadecimal escape \\X0B\\ gives control character U+000B, which FHIR strings do not "
        "allow: replaced with U+FFFD"
    )


@pytest.mark.parametrize("strict", [False, True])
def test_output_holds_no_control_character_fhir_forbids(strict: bool) -> None:
    import leukoflag
    from leukoflag.fhir._json import dumps

    pid = PID.replace("OKAFOR", "OKA\x01FOR")
    data = message(pid, OBR, obx("3.1\\X00\\", value_type="ST"), "NTE|1||ok\\X1F\\").encode()
    conversion = leukoflag.convert(data, Settings(strict=strict))
    assert not conversion.rejected
    (bundle,) = conversion.bundles
    text = dumps(bundle).decode()
    assert not [c for c in ("\\u0000", "\\u0001", "\\u001f") if c in text]
    assert "OKA\ufffdFOR" in text


@pytest.mark.parametrize(
    ("invisible", "named"),
    [
        ("\u200b", "a zero-width space (U+200B)"),  # pasted from a web page
        ("\u00ad", "a soft hyphen (U+00AD)"),  # from a word processor
        ("\u2060", "a word joiner (U+2060)"),
        ("\u200e", "a left-to-right mark (U+200E)"),
    ],
)
def test_an_invisible_character_in_a_result_code_is_removed_with_an_issue(
    invisible: str, named: str
) -> None:
    # OBX-3 '6690-2' + U+200B (or any Unicode format character, category Cf) was no LOINC the
    # flagging knows: the WBC of 2.1 10*3/uL went unjudged and nothing was said, while U+FEFF
    # alone was removed (hl7v2.byte-order-mark) and the FHIR reader removes every Cf
    code = f"6690-2{invisible}^Leukocytes [#/volume] in Blood^LN"
    text = message(PID, OBR, obx("2.1", code=code))
    for conv in (leukoflag.convert(text.encode("utf-8")), leukoflag.convert(text)):
        assert [(f.analyte.value, f.code) for f in conv.findings] == [("wbc", "LU")]
        (found,) = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
        assert (found.location, found.severity) == ("MSG[1]/OBX[1]-3", Severity.WARNING)
        assert found.text == (
            f"OBX-3 holds {named} in its codes, which shows nothing but makes the code another: "
            "removed from OBX-3.1, read as '6690-2^Leukocytes [#/volume] in Blood^LN'"
        )
        (bundle,) = conv.bundles
        assert invisible not in json.dumps(bundle, ensure_ascii=False, default=str)


@pytest.mark.parametrize(
    ("segments", "location", "read_as"),
    [
        # a unit: 'unit not in leukoflag's table', unjudged
        (
            (OBR, obx("2.1", unit="10*3/uL\u200b^^UCUM")),
            "OBX[1]-6",
            "OBX-6.1, read as '10*3/uL^^UCUM'",
        ),
        # a urine specimen: the code was none leukoflag knows, so the count was judged as blood
        (
            (
                OBR,
                obx("2.1"),
                "SPM|1|SP7790^CORELAB||UR\u200b^Urine^HL70487|||||||P^Patient^HL70369",
            ),
            "SPM[1]-4",
            "SPM-4.1, read as 'UR^Urine^HL70487'",
        ),
        # a result status: 'not in HL7 table 0085', unjudged
        ((OBR, obx("2.1", status="F\u00ad")), "OBX[1]-11", "OBX-11.1, read as 'F'"),
        # a coding system: LN + U+200B was a local system, 6690-2 'a code of a local system'
        (
            (OBR, obx("2.1", code="6690-2^Leukocytes [#/volume] in Blood^LN\u200b")),
            "OBX[1]-3",
            "OBX-3.3, read as '6690-2^Leukocytes [#/volume] in Blood^LN'",
        ),
    ],
)
def test_an_invisible_character_in_a_code_the_reader_matches_on_is_removed(
    segments: tuple[str, ...], location: str, read_as: str
) -> None:
    conv = leukoflag.convert(message(PID, *segments))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
    assert found.location == f"MSG[1]/{location}"
    assert found.text.endswith(f": removed from {read_as}")
    if location.startswith("SPM"):
        assert conv.findings == []  # urine is not blood: not judged
        assert "flag.specimen-not-blood" in codes(conv.issues)
    else:
        assert [(f.analyte.value, f.code) for f in conv.findings] == [("wbc", "LU")]


def test_joiners_in_free_text_and_display_names_are_kept() -> None:
    # A zero-width joiner and non-joiner are part of the spelling of Indic and Persian text:
    # only the codes lose them, a comment, a name or a code's display text keeps them.
    display = "Leuko\u200dcytes"
    note = "NTE|1|L|\u0645\u06cc\u200c\u0634\u0648\u062f"
    pid = "PID|1||MRN100871^^^RIVERSIDE^MR||\u0938\u093f\u0902\u0939\u200d^ANIL||19610719|M"
    conv = leukoflag.convert(message(pid, OBR, obx("2.1", code=f"6690-2^{display}^LN"), note))
    assert [(f.analyte.value, f.code) for f in conv.findings] == [("wbc", "LU")]
    assert "hl7v2.code-invisible-character" not in codes(conv.issues)
    dumped = json.dumps(conv.bundles[0], ensure_ascii=False, default=str)
    assert display in dumped
    assert "\u0645\u06cc\u200c\u0634\u0648\u062f" in dumped
    assert "\u0938\u093f\u0902\u0939\u200d" in dumped


@pytest.mark.parametrize(
    ("declared", "text", "family"),
    [
        ("ISO_IR 192", "MÜLLER", "MÜLLER"),  # UTF-8
        ("ISO_IR 100", "MÜLLER", "MÜLLER"),  # Latin-1: it was read with the fallback, cp1252
        ("ISO_IR 144", "ЖУКОВ", "ЖУКОВ"),  # Cyrillic (8859/5): cp1252 garbled it
        ("ISO_IR 126", "ΠΑΠΑΔΟΠΟΥΛΟΣ", "ΠΑΠΑΔΟΠΟΥΛΟΣ"),  # Greek (8859/7)
        ("GB18030", "王", "王"),
    ],
)
def test_dicom_defined_terms_in_msh18_are_read_as_the_set_they_name(
    declared: str, text: str, family: str
) -> None:
    # A PACS-side interface engine writes DICOM's Specific Character Set defined terms (PS3.3
    # C.12.1.1.2) in MSH-18. 'ISO_IR 192' was 'not one leukoflag knows' though read as UTF-8,
    # and 'ISO_IR 144' (8859/5) was read with the fallback character set: ЖУКОВ came out as
    # cp1252 letters. Each is now read as the set it names, said to be no table 0211 value.
    codec = {"ISO_IR 192": "utf-8", "ISO_IR 100": "iso8859-1", "ISO_IR 144": "iso8859-5"}
    codec |= {"ISO_IR 126": "iso8859-7", "GB18030": "gb18030"}
    pid = f"PID|1||MRN5501^^^RIVERSIDE^MR||{text}^ANNA||19800101|F"
    raw = message(pid, OBR, WBC, msh=MSH.replace("UNICODE UTF-8", declared))
    read_message = read(raw.encode(codec[declared]))
    assert read_message.groups[0].patient.family == family  # type: ignore[union-attr]
    said = [(i.code, i.text) for i in read_message.issues if "charset" in i.code]
    assert said == [
        (
            "hl7v2.charset-nonstandard",
            f"MSH-18 '{declared}' is not an HL7 table 0211 value; read as {codec[declared]}",
        )
    ]


@pytest.mark.parametrize("sent", ["KOWALCZYK\\Q\\", "KOWAL\\Q\\CZYK"])
def test_an_unknown_escape_is_one_problem_when_its_closing_character_opens_nothing(
    sent: str,
) -> None:
    # 'KOWALCZYK\Q\' (a sender's own escape at the end of a family name) gave one Issue naming
    # two problems, 'unknown escape sequence \Q\; unterminated escape sequence '\\'': the
    # closing backslash was tried as the start of another sequence and, none following, said
    # to be unterminated, a second escape the sender never wrote.
    pid = f"PID|1||MRN100872^^^RIVERSIDE^MR||{sent}^EWA||19720409|F"
    read_message = read(message(pid, OBR, WBC))
    assert read_message.groups[0].patient.family == sent  # type: ignore[union-attr]
    (found,) = [i for i in read_message.issues if i.code == "hl7v2.escape-invalid"]
    assert (found.location, found.text) == ("MSG[1]/PID[1]-5", "unknown escape sequence \\Q\\")


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("\u200bOBX|", "a zero-width space (U+200B)"),  # a result line pasted from a web page
        ("OBX\u2060|", "a word joiner (U+2060)"),
    ],
)
def test_a_segment_id_holding_an_invisible_character_is_read_as_its_segment(
    line: str, named: str
) -> None:
    # The line was skipped as 'not a segment' (hl7v2.line-not-segment) and the WBC of 2.1
    # 10*3/uL went unjudged, while the same line starting with U+FEFF is read as its segment
    wbc = obx("2.1").replace("OBX|", line, 1)
    conv = leukoflag.convert(message(PID, OBR, wbc))
    assert [(f.location, f.analyte.value, f.code) for f in conv.findings] == [
        ("MSG[1]/OBX[1]", "wbc", "LU")
    ]
    assert "hl7v2.line-not-segment" not in codes(conv.issues)
    (found,) = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
    assert (found.location, found.severity) == ("MSG[1]/OBX[1]", Severity.WARNING)
    assert found.text == (
        f"segment ID {quoted(line[:-1])} holds {named}, which shows nothing: removed, read as OBX"
    )


@pytest.mark.parametrize(
    ("segments", "location", "read_as", "unsaid"),
    [
        # 'patient class 'O\u200b' is not in HL7 table 0004': Encounter.class not set
        (
            (PID, "PV1|1|O\u200b|ONC^12^B^RIVERSIDE", OBR, WBC),
            "PV1[1]-2",
            "PV1-2.1, read as 'O'",
            "fhir.patient-class-unknown",
        ),
        # 'identifier type 'MR\u200b' is not in HL7 table 0203': no v2-0203 coding
        (
            ("PID|1||MRN100871^^^RIVERSIDE^MR\u200b||OKAFOR^DANIEL^C||19610719|M", OBR, WBC),
            "PID[1]-3",
            "PID-3.5, read as 'MRN100871^^^RIVERSIDE^MR'",
            "hl7v2.identifier-type-unknown",
        ),
    ],
)
def test_an_invisible_character_in_a_patient_or_visit_code_is_removed(
    segments: tuple[str, ...], location: str, read_as: str, unsaid: str
) -> None:
    conv = leukoflag.convert(message(*segments))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
    assert found.location == f"MSG[1]/{location}"
    assert found.text.endswith(f": removed from {read_as}")
    assert unsaid not in codes(conv.issues)


_VENOUS_FA = (
    "\u0646\u0645\u0648\u0646\u0647\u200c\u06cc \u062e\u0648\u0646 \u0648\u0631\u06cc\u062f\u06cc"
)


@pytest.mark.parametrize(
    ("source", "said"),
    [
        # only the display text holds a joiner: nothing to remove, nothing to say
        (f"BLDV&{_VENOUS_FA}&HL70070", None),
        # the code holds a zero-width space: the code alone loses it
        (f"BLDV\u200b&{_VENOUS_FA}&HL70070", f"BLDV&{_VENOUS_FA}&HL70070"),
    ],
)
def test_the_display_text_of_an_obr_15_specimen_source_keeps_its_joiners(
    source: str, said: str | None
) -> None:
    # OBR-15.1 (SPS) is a CWE sent as subcomponents, code&text&system: its text subcomponent
    # is a display text, as SPM-4.2 is. A Persian 'venous blood sample' spelled with a
    # zero-width non-joiner (U+200C) lost it, and hl7v2.code-invisible-character said the
    # field 'holds a zero-width non-joiner (U+200C) in its codes', which it did not.
    fields = OBR.split("|") + [""] * 16
    fields[15] = source
    msh = MSH.replace("|2.5.1|", "|2.3|")
    conv = leukoflag.convert(message(PID, "|".join(fields[:26]), WBC, msh=msh))
    found = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
    if said is None:
        assert found == []
    else:
        ((location, text),) = [(i.location, i.text) for i in found]
        assert location == "MSG[1]/OBR[1]-15"
        assert text == (
            "OBR-15 holds a zero-width space (U+200B) in its codes, which shows nothing but "
            f"makes the code another: removed from OBR-15.1, read as {quoted(said, 80)}"
        )
    (specimen,) = [
        e["resource"]
        for e in conv.bundles[0]["entry"]
        if e["resource"]["resourceType"] == "Specimen"
    ]
    assert specimen["type"]["coding"][0]["code"] == "BLDV"
    assert specimen["type"]["coding"][0]["display"] == _VENOUS_FA


_THREE_IDS = (
    "MRN100871^^^RIVERSIDE&2.16.840.1.113883.3.8821&ISO^MR~D4410287^^^IL^DL~"
    "998877665^^^SSA&2.16.840.1.113883.4.1&ISO^SS"
)
_TWO_CODINGS = (
    "6690-2^Leukocytes [#/volume] in Blood by Automated count^LN^WBC^White blood cell count^99LAB"
)


@pytest.mark.parametrize(
    ("segments", "field", "part", "read_as"),
    [
        # the third identifier's type, past the 80 characters the field is quoted to
        (
            (
                f"PID|1||{_THREE_IDS}\u200b||OKAFOR^DANIEL^C||19610719|M",
                OBR,
                WBC,
            ),
            "PID[1]-3",
            "PID-3[3].5",
            _THREE_IDS,
        ),
        # the local coding's system, after the LOINC coding and its long display
        (
            (
                PID,
                OBR,
                obx(
                    "2.1",
                    code=f"{_TWO_CODINGS}\u200b",
                ),
            ),
            "OBX[1]-3",
            "OBX-3.6",
            _TWO_CODINGS,
        ),
    ],
)
def test_an_invisible_character_removed_from_a_code_is_said_with_the_part_it_was_in(
    segments: tuple[str, ...], field: str, part: str, read_as: str
) -> None:
    # The Issue quoted the field as read, cut at 80 characters, and named no part: where in
    # PID-3's three identifiers, or OBX-3's two codings, the character was removed was not
    # said, since the place was beyond the quote.
    conv = leukoflag.convert(message(*segments))
    (found,) = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
    assert found.location == f"MSG[1]/{field}"
    name = field.split("[", maxsplit=1)[0]
    number = field.split("-")[1]
    assert found.text == (
        f"{name}-{number} holds a zero-width space (U+200B) in its codes, which shows nothing "
        f"but makes the code another: removed from {part}, read as {quoted(read_as, 80)}"
    )


@pytest.mark.parametrize(
    ("segments", "field", "part", "resource", "code"),
    [
        # PV1-19 visit number: 'VN' + U+200B was 'not in HL7 table 0203', the Encounter's
        # identifier typed by the text 'VN\u200b' alone, no v2-0203 VN coding
        (
            (PID, "PV1|1|O|ONC^12^B^RIVERSIDE||||||||||||||||V7788^^^RIVERSIDE^VN\u200b", OBR, WBC),
            "PV1[1]-19",
            "PV1-19.5",
            "Encounter",
            "VN",
        ),
        # PID-2 (an MRN copied there) and PID-4, typed as PID-3's are
        (
            (
                "PID|1|MRN100871^^^RIVERSIDE^MR\u200b|D4410287^^^IL^DL||OKAFOR^DANIEL^C||19610719|M",
                OBR,
                WBC,
            ),
            "PID[1]-2",
            "PID-2.5",
            "Patient",
            "MR",
        ),
        (
            (
                "PID|1||D4410287^^^IL^DL|MRN100871^^^RIVERSIDE^MR\u2060|OKAFOR^DANIEL^C||19610719|M",
                OBR,
                WBC,
            ),
            "PID[1]-4",
            "PID-4.5",
            "Patient",
            "MR",
        ),
    ],
)
def test_an_invisible_character_in_any_identifier_type_is_removed(
    segments: tuple[str, ...], field: str, part: str, resource: str, code: str
) -> None:
    # 0755730 read PID-3's CX.5 without it, but the other CX fields typed on HL7 table 0203
    # (PID-2, PID-4, PV1-19) still gave hl7v2.identifier-type-unknown for the code they show
    conv = leukoflag.convert(message(*segments))
    assert "hl7v2.identifier-type-unknown" not in codes(conv.issues)
    (found,) = [i for i in conv.issues if i.code == "hl7v2.code-invisible-character"]
    assert found.location == f"MSG[1]/{field}"
    assert f": removed from {part}, read as " in found.text
    (written,) = [
        e["resource"] for e in conv.bundles[0]["entry"] if e["resource"]["resourceType"] == resource
    ]
    types = [
        coding["code"]
        for identifier in written["identifier"]
        for coding in identifier.get("type", {}).get("coding", [])
    ]
    assert code in types
    dumped = json.dumps(written, ensure_ascii=False)
    assert [c for c in ("\u200b", "\u2060") if c in dumped] == []
