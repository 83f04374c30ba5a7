"""Values read once per process (coded OBX fields, plain numbers, providers) stay correct: each
OBX gets its own Issues, and a cached reading never crosses delimiters or character sets."""

from __future__ import annotations

from .messages import MSH, OBR, PID, message, obx, read


def test_repeated_coded_fields_raise_their_issues_at_each_obx() -> None:
    odd = obx("3.1", status="Q", flags="ZZ")
    first = read(message(PID, OBR, odd, odd.replace("OBX|1|", "OBX|2|")))
    second = read(message(PID, OBR, odd))  # the same fields again, in the next message
    found = [(i.code, i.location) for i in first.issues if i.code != "hl7v2.field-unmapped"]
    assert found == [
        ("hl7v2.flag-unknown", "MSG[1]/OBX[1]-8"),
        ("hl7v2.status-unknown", "MSG[1]/OBX[1]-11"),
        ("hl7v2.flag-unknown", "MSG[1]/OBX[2]-8"),
        ("hl7v2.status-unknown", "MSG[1]/OBX[2]-11"),
    ]
    again = [(i.code, i.location) for i in second.issues if i.code != "hl7v2.field-unmapped"]
    assert again == found[:2]


def test_code_missing_comes_before_the_value_issues_of_its_obx() -> None:
    result = read(message(PID, OBR, obx("many", code="", status="")))
    codes = [(i.code, i.location) for i in result.issues if i.location.startswith("MSG[1]/OBX")]
    assert codes == [
        ("hl7v2.code-missing", "MSG[1]/OBX[1]-3"),
        ("hl7v2.value-not-numeric", "MSG[1]/OBX[1]-5"),
        ("hl7v2.status-missing", "MSG[1]/OBX[1]-11"),
    ]


def test_a_cached_reading_follows_each_messages_escape_character() -> None:
    code = "6690-2^Leukocytes \\T\\ precursors^LN"
    usual = read(message(PID, OBR, obx("3.1", code=code)))
    # The same OBX-3 text in a message whose escape character is '#': '\T\' is plain text there.
    other = read(message(PID, OBR, obx("3.1", code=code), msh=MSH.replace("^~\\&", "^~#&", 1)))
    usual_code = usual.groups[0].orders[0].results[0].code.codings[0]
    other_code = other.groups[0].orders[0].results[0].code.codings[0]
    assert usual_code.display == "Leukocytes & precursors"
    assert other_code.display == "Leukocytes \\T\\ precursors"


def test_a_cached_number_keeps_the_text_as_sent() -> None:
    plain = read(message(PID, OBR, obx("3.10"), obx(" 3.10 ", set_id="2")))
    first, second = plain.groups[0].orders[0].results
    assert first.value == second.value
    assert (first.value.text, second.value.text) == ("3.10", "3.10")  # type: ignore[union-attr]
    assert str(first.value.value) == "3.10"  # type: ignore[union-attr]
